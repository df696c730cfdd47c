/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_flamegraph.c - `smolder flamegraph (--store DIR | FILE..)`: render profiles as
 * an SVG flame graph (or merge them into folded text), like flamegraph.pl FILE >
 * out.svg. FILEs may be smolder profiles, folded text or gzip pprof, told apart by
 * content; a store is read over --from/--to with label filters.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "flamegraph.h"
#include "profile.h"
#include "store.h"

static const char flamegraph_usage[] =
	"usage: smolder flamegraph (--store DIR | FILE..) [options]\n"
	"       smolder flamegraph --diff BEFORE AFTER [options]\n"
	"  FILE                    smolder profile, folded stacks or gzip pprof ('-': stdin)\n"
	"      --store DIR         read the profile store in DIR\n"
	"      --from TIME         only samples at or after TIME (RFC 3339, unix seconds,\n"
	"                          -15m, -2h, now)\n"
	"      --to TIME           only samples before TIME\n"
	"      --service NAME      only samples of this service\n"
	"      --pid PID           only samples of this process\n"
	"      --comm NAME         only samples of processes with this name\n"
	"      --label K=V         only samples with this label (repeatable)\n"
	"Differential flame graphs (widths from AFTER; colour: change in each frame's share\n"
	"of all samples, after% - before%: red grew, blue shrank, near-white unchanged,\n"
	"strongest at the largest change; a button in the SVG shows BEFORE's shape):\n"
	"      --diff BEFORE AFTER two input FILEs of any kind\n"
	"      --baseline-from TIME --baseline-to TIME\n"
	"                          before = this range, after = --from/--to (same filters)\n"
	"      --palette red-blue|blue-orange\n"
	"                          diff colours (default red-blue, difffolded.pl's; it does\n"
	"                          not rely on red against green, but blue-orange is the\n"
	"                          clearest for red/green colour-blind readers)\n"
	"      --peak DURATION     show the DURATION (90s, 15m, 2h) window with the most\n"
	"                          samples inside --from/--to (the after side of a diff)\n"
	"      --title TEXT        title of the graph (default \"Flame Graph\")\n"
	"      --subtitle TEXT     second line under the title (default: range and filters)\n"
	"      --icicle            root at the top, stacks growing down\n"
	"      --width PX          image width (default 1200)\n"
	"  -o, --output FILE       where to write (default: standard output)\n"
	"      --format svg|folded output format (default: from -o's suffix, else svg)\n";

/* "A to B, service=x, pid=1, 99 Hz, N samples": what @p shows, for its subtitle; the
 * range is the one asked for [@from_ns, @to_ns), the samples' own where not given. */
static void describe(const struct profile *p, uint64_t from_ns, uint64_t to_ns,
		     const struct profile_filter *f, char *buf, size_t len)
{
	struct profile_info info;
	char a[40], b[40];
	size_t off = 0;

	profile__info(p, &info);
#define ADD(...)                                                                    \
	do {                                                                        \
		if (off < len)                                                      \
			off += (size_t)snprintf(buf + off, len - off, __VA_ARGS__); \
	} while (0)
	buf[0] = '\0';
	if (info.start_ns || (from_ns && to_ns)) {
		profile__format_time(from_ns ? from_ns : info.start_ns, a, sizeof(a));
		profile__format_time(to_ns ? to_ns : info.end_ns, b, sizeof(b));
		ADD("%s to %s", a, b);
	}
	if (f->service)
		ADD("%sservice=%s", off ? ", " : "", f->service);
	if (f->pid)
		ADD("%spid=%d", off ? ", " : "", f->pid);
	if (f->comm)
		ADD("%scomm=%s", off ? ", " : "", f->comm);
	for (size_t i = 0; i < f->nlabels; i++)
		ADD("%s%s=%s", off ? ", " : "", f->labels[i].key, f->labels[i].value);
	if (info.period_ns)
		ADD("%s%.0f Hz", off ? ", " : "", 1e9 / (double)info.period_ns);
	/* Samples as the graph counts them: weights (a folded line's count). */
	ADD("%s%llu samples", off ? ", " : "", (unsigned long long)profile__total_weight(p));
#undef ADD
}

/* A DURATION: a number with s, m, h or d (seconds without). @return 0 or -EINVAL. */
static int parse_duration(const char *s, uint64_t *out_ns)
{
	char *end;
	double v, unit = 1;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v > 0) || v > 1e7)
		return -EINVAL;
	if (*end && end[1])
		return -EINVAL;
	switch (*end) {
	case '\0': case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: return -EINVAL;
	}
	if (v * unit > 1e8)
		return -EINVAL;
	*out_ns = (uint64_t)(v * unit * 1e9);
	return 0;
}

/* "15m", "90s", "2h": a duration as the user would write it. */
static void format_duration(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / 1000000000ull;

	if (s && s % 3600 == 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(s / 3600));
	else if (s && s % 60 == 0)
		snprintf(buf, len, "%llum", (unsigned long long)(s / 60));
	else
		snprintf(buf, len, "%llus", (unsigned long long)s);
}

/* Read the store or files over [@from_ns, @to_ns) with the other filters of @in. */
static int load_range(const struct cli_inputs *in, uint64_t from_ns, uint64_t to_ns,
		      struct profile *p, char **files, int nfiles)
{
	struct cli_inputs r = *in;

	r.filter.from_ns = from_ns;
	r.filter.to_ns = to_ns;
	return cli_inputs_load(&r, p, files, nfiles);
}

/*
 * --peak: keep in *@pp only the busiest @len_ns of it inside [@from_ns, @to_ns), and
 * say which in @note. @return 0, or -1 after saying what failed.
 */
static int pick_peak(struct profile **pp, uint64_t from_ns, uint64_t to_ns, uint64_t len_ns,
		     uint64_t *win_from, uint64_t *win_to, char *note, size_t len)
{
	struct flamegraph_window w;
	struct profile_filter f = { 0 };
	struct profile *peak;
	char a[40], b[40], d[16];
	int err = flamegraph__peak_window(*pp, from_ns, to_ns, len_ns, &w);

	if (err == -ENODATA) {
		cli_error("--peak: no timed samples in the range to choose from (folded text "
			  "has no times; use a store or smolder files)");
		return -1;
	}
	if (err) {
		cli_error("--peak: %s", strerror(-err));
		return -1;
	}
	peak = profile__new();
	f.from_ns = w.start_ns;
	f.to_ns = w.end_ns;
	if (!peak || profile__merge(peak, *pp, &f)) {
		cli_error("out of memory");
		profile__free(peak);
		return -1;
	}
	profile__free(*pp);
	*pp = peak;
	*win_from = w.start_ns;
	*win_to = w.end_ns;
	profile__format_time(w.start_ns, a, sizeof(a));
	profile__format_time(w.end_ns, b, sizeof(b));
	format_duration(len_ns, d, sizeof(d));
	snprintf(note, len, "peak: the busiest %s, %s to %s", d, a, b);
	return 0;
}

int cmd_flamegraph(int argc, char **argv)
{
	enum {
		OPT_TITLE = 256, OPT_SUBTITLE, OPT_ICICLE, OPT_WIDTH, OPT_FORMAT, OPT_DIFF,
		OPT_PALETTE, OPT_BASE_FROM, OPT_BASE_TO, OPT_PEAK,
	};
	static const struct option longopts[] = {
		{ "title", required_argument, NULL, OPT_TITLE },
		{ "subtitle", required_argument, NULL, OPT_SUBTITLE },
		{ "icicle", no_argument, NULL, OPT_ICICLE },
		{ "width", required_argument, NULL, OPT_WIDTH },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "diff", no_argument, NULL, OPT_DIFF },
		{ "palette", required_argument, NULL, OPT_PALETTE },
		{ "baseline-from", required_argument, NULL, OPT_BASE_FROM },
		{ "baseline-to", required_argument, NULL, OPT_BASE_TO },
		{ "peak", required_argument, NULL, OPT_PEAK },
		CLI_INPUT_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct flamegraph_opts fo = { 0 };
	struct cli_inputs in;
	enum profile_format format = PROFILE_FORMAT_NONE;
	const char *output = "-";
	char subtitle[2048], before_desc[512], after_desc[512], note[256] = "";
	struct cli_output out;
	struct profile *p = NULL, *base = NULL;
	bool diff = false;
	uint64_t base_from = 0, base_to = 0, peak_ns = 0, from_ns, to_ns;
	char **files;
	int nfiles;
	char *end;
	int c, err, ret = EXIT_FAIL;

	cli_inputs_init(&in);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_TITLE:
			fo.title = optarg;
			break;
		case OPT_SUBTITLE:
			fo.subtitle = optarg;
			break;
		case OPT_ICICLE:
			fo.icicle = true;
			break;
		case OPT_WIDTH: {
			errno = 0;
			long w = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || w < 100 || w > 100000) {
				cli_error("--width takes 100 to 100000 pixels, not '%s'", optarg);
				return EXIT_USAGE;
			}
			fo.width = (int)w;
			break;
		}
		case 'o':
			output = optarg;
			break;
		case OPT_FORMAT:
			format = profile__format_from_name(optarg);
			if (format != PROFILE_FORMAT_SVG && format != PROFILE_FORMAT_FOLDED) {
				cli_error("--format takes svg or folded, not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_DIFF:
			diff = true;
			break;
		case OPT_PALETTE:
			if (!strcmp(optarg, "red-blue")) {
				fo.palette = FLAMEGRAPH_PALETTE_RED_BLUE;
			} else if (!strcmp(optarg, "blue-orange")) {
				fo.palette = FLAMEGRAPH_PALETTE_BLUE_ORANGE;
			} else {
				cli_error("--palette takes red-blue or blue-orange, not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_BASE_FROM:
		case OPT_BASE_TO:
			if (profile__parse_time(optarg, in.now_ns,
						c == OPT_BASE_FROM ? &base_from : &base_to)) {
				cli_error("--%s takes a TIME (2026-11-23T15:04:05Z, unix seconds, "
					  "-15m, -2h or now), not '%s'",
					  c == OPT_BASE_FROM ? "baseline-from" : "baseline-to", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_PEAK:
			if (parse_duration(optarg, &peak_ns)) {
				cli_error("--peak takes a DURATION (90s, 15m, 2h), not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case CLI_OPT_STORE:
		case CLI_OPT_FROM:
		case CLI_OPT_TO:
		case CLI_OPT_SERVICE:
		case CLI_OPT_PID:
		case CLI_OPT_COMM:
		case CLI_OPT_LABEL:
			if (cli_inputs_option(&in, c, optarg))
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(flamegraph_usage, stdout);
			return EXIT_OK;
		case ':':
			cli_error("option %s needs a value (see 'smolder flamegraph --help')",
				  argv[optind - 1]);
			return EXIT_USAGE;
		default:
			cli_error("unknown option '%s' (see 'smolder flamegraph --help')",
				  argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	files = argv + optind;
	nfiles = argc - optind;
	from_ns = in.filter.from_ns;
	to_ns = in.filter.to_ns;
	if (diff && (in.store_dir || nfiles != 2)) {
		cli_error("--diff takes two input FILEs, BEFORE and AFTER (for a store: "
			  "--baseline-from/--baseline-to or --diff-deploy)");
		return EXIT_USAGE;
	}
	if (diff && peak_ns) {
		cli_error("--peak chooses a window of one input; with --diff give the windows "
			  "as FILEs, or use --baseline-from/--baseline-to");
		return EXIT_USAGE;
	}
	if ((base_from || base_to) && (diff || !base_from || !base_to || base_from >= base_to)) {
		cli_error("--baseline-from and --baseline-to go together, the first before the "
			  "second, and not with --diff");
		return EXIT_USAGE;
	}
	if (cli_inputs_check(&in, "flamegraph", nfiles))
		return EXIT_USAGE;
	if (format == PROFILE_FORMAT_NONE)
		format = profile__format_from_suffix(output);
	if (format != PROFILE_FORMAT_FOLDED) /* anything else -o names (x.pb.gz) still gets SVG */
		format = PROFILE_FORMAT_SVG;
	if ((diff || base_from) && format == PROFILE_FORMAT_FOLDED) {
		cli_error("a differential graph is written as SVG only (drop --format folded or "
			  "the .folded suffix)");
		return EXIT_USAGE;
	}

	p = profile__new();
	if (!p || ((diff || base_from) && !(base = profile__new()))) {
		cli_error("out of memory");
		goto cleanup;
	}
	if (diff) {
		if (cli_inputs_load(&in, base, files, 1) || cli_inputs_load(&in, p, files + 1, 1))
			goto cleanup;
	} else {
		if (base_from && load_range(&in, base_from, base_to, base, files, nfiles))
			goto cleanup;
		if (cli_inputs_load(&in, p, files, nfiles))
			goto cleanup;
		if (peak_ns && pick_peak(&p, from_ns, to_ns, peak_ns, &from_ns, &to_ns, note,
					 sizeof(note)))
			goto cleanup;
	}

	/* Folded text alone gets no subtitle, as with flamegraph.pl. */
	struct profile_info info;
	profile__info(p, &info);
	const struct profile_filter *f = &in.filter;
	if (!fo.subtitle && base) {
		describe(base, diff ? 0 : base_from, diff ? 0 : base_to, f, before_desc,
			 sizeof(before_desc));
		describe(p, from_ns, to_ns, f, after_desc, sizeof(after_desc));
		snprintf(subtitle, sizeof(subtitle), "before: %s\nafter: %s%s%s", before_desc,
			 after_desc, *note ? "\n" : "", note);
		fo.subtitle = subtitle;
	} else if (!fo.subtitle && (in.store_dir || info.start_ns || f->from_ns || f->to_ns ||
				    f->service || f->pid || f->comm || f->nlabels)) {
		describe(p, from_ns, to_ns, f, after_desc, sizeof(after_desc));
		snprintf(subtitle, sizeof(subtitle), "%s%s%s", after_desc, *note ? "\n" : "",
			 note);
		fo.subtitle = subtitle;
	}
	if (cli_output_open(&out, output))
		goto cleanup;
	if (format == PROFILE_FORMAT_FOLDED)
		err = profile__write_folded(p, out.f);
	else if (base)
		err = flamegraph__write_diff_svg(base, p, &fo, out.f);
	else
		err = flamegraph__write_svg(p, &fo, out.f);
	if (err) {
		cli_error("cannot write %s: %s", output, strerror(-err));
		cli_output_abort(&out);
		goto cleanup;
	}
	if (cli_output_commit(&out) == 0)
		ret = EXIT_OK;
cleanup:
	profile__free(p);
	profile__free(base);
	return ret;
}

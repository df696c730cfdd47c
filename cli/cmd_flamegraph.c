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
	"      --palette red-blue|blue-orange\n"
	"                          diff colours (default red-blue, difffolded.pl's; it does\n"
	"                          not rely on red against green, but blue-orange is the\n"
	"                          clearest for red/green colour-blind readers)\n"
	"      --title TEXT        title of the graph (default \"Flame Graph\")\n"
	"      --subtitle TEXT     second line under the title (default: range and filters)\n"
	"      --icicle            root at the top, stacks growing down\n"
	"      --width PX          image width (default 1200)\n"
	"  -o, --output FILE       where to write (default: standard output)\n"
	"      --format svg|folded output format (default: from -o's suffix, else svg)\n";

/* "from A to B, service=x, pid=1, 99 Hz": what the graph shows, for its subtitle. */
static void describe(const struct profile *p, const struct profile_filter *f, char *buf,
		     size_t len)
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
	if (info.start_ns) {
		profile__format_time(f->from_ns > info.start_ns ? f->from_ns : info.start_ns, a,
				     sizeof(a));
		profile__format_time(f->to_ns && f->to_ns < info.end_ns ? f->to_ns : info.end_ns, b,
				     sizeof(b));
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
	ADD("%s%zu samples", off ? ", " : "", profile__sample_count(p));
#undef ADD
}

int cmd_flamegraph(int argc, char **argv)
{
	enum {
		OPT_TITLE = 256, OPT_SUBTITLE, OPT_ICICLE, OPT_WIDTH, OPT_FORMAT, OPT_STORE,
		OPT_FROM, OPT_TO, OPT_SERVICE, OPT_PID, OPT_COMM, OPT_LABEL, OPT_DIFF, OPT_PALETTE,
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
		CLI_INPUT_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct flamegraph_opts fo = { 0 };
	struct cli_inputs in;
	enum profile_format format = PROFILE_FORMAT_NONE;
	const char *output = "-";
	char subtitle[512];
	struct cli_output out;
	struct profile *p, *base = NULL;
	bool diff = false;
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
		case OPT_FORMAT:
			format = profile__format_from_name(optarg);
			if (format != PROFILE_FORMAT_SVG && format != PROFILE_FORMAT_FOLDED) {
				cli_error("--format takes svg or folded, not '%s'", optarg);
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
	if (diff && (in.store_dir || argc - optind != 2)) {
		cli_error("--diff takes two input FILEs, BEFORE and AFTER (for a store: "
			  "--baseline-from/--baseline-to or --diff-deploy)");
		return EXIT_USAGE;
	}
	if (cli_inputs_check(&in, "flamegraph", argc - optind))
		return EXIT_USAGE;
	if (format == PROFILE_FORMAT_NONE)
		format = profile__format_from_suffix(output);
	if (format != PROFILE_FORMAT_FOLDED) /* anything else -o names (x.pb.gz) still gets SVG */
		format = PROFILE_FORMAT_SVG;
	if (diff && format == PROFILE_FORMAT_FOLDED) {
		cli_error("a differential graph is written as SVG only (drop --format folded or "
			  "the .folded suffix)");
		return EXIT_USAGE;
	}

	p = profile__new();
	if (!p || (diff && !(base = profile__new()))) {
		cli_error("out of memory");
		goto cleanup;
	}
	if (diff) {
		if (cli_inputs_load(&in, base, argv + optind, 1) ||
		    cli_inputs_load(&in, p, argv + optind + 1, 1))
			goto cleanup;
	} else if (cli_inputs_load(&in, p, argv + optind, argc - optind)) {
		goto cleanup;
	}
	/* Folded text alone gets no subtitle, as with flamegraph.pl. */
	struct profile_info info;
	profile__info(p, &info);
	const struct profile_filter *f = &in.filter;
	if (!fo.subtitle && (in.store_dir || info.start_ns || f->from_ns || f->to_ns ||
			     f->service || f->pid || f->comm || f->nlabels)) {
		describe(p, f, subtitle, sizeof(subtitle));
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

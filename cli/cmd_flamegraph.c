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
#include <unistd.h>

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
	"      --diff-deploy VERSION\n"
	"                          what changed with the deploy of VERSION of --service S\n"
	"                          (from DIR/deploys.jsonl, written by 'smolder deploy'):\n"
	"                          before = the --window ending at the deploy, after = as\n"
	"                          long, starting when the warm-up is over\n"
	"      --window D          length of both windows (default 15m: at the agent's\n"
	"                          19 Hz that is ~17,000 samples per busy core, enough for\n"
	"                          1%-of-total frames to be measured to about 0.1 points,\n"
	"                          and short enough that a daily traffic cycle barely moves\n"
	"                          between the two windows)\n"
	"      --warmup auto|D     skip D after the deploy, or (auto, the default) the first\n"
	"                          whole minutes until every minute's mix of self frames is\n"
	"                          within total variation 0.1 (plus sampling noise) of the\n"
	"                          rest of the window; at most 10m. The subtitle says which\n"
	"      --peak DURATION     show the DURATION (90s, 15m, 2h) window with the most\n"
	"                          samples inside --from/--to (the after side of a diff)\n"
	"      --title TEXT        title of the graph (default \"Flame Graph\")\n"
	"      --subtitle TEXT     lines under the title (default: host, time range in UTC,\n"
	"                          filters, rate, samples, lost samples; a newline breaks)\n"
	"      --icicle            root at the top, stacks growing down\n"
	"      --width PX          image width (default 1200)\n"
	"  -o, --output FILE       where to write (default: standard output)\n"
	"      --format svg|folded output format (default: from -o's suffix, else svg)\n";

static void top_value(const struct profile *p, const char *key, char *buf, size_t len);

/* The host a store is read on: the agent keeps its store on the node it profiles. */
static const char *store_host;

/*
 * "host h, A to B, service=x, pid=1, 99 Hz, N samples, M lost": what @p shows (its
 * samples weighing @weight), for its subtitle. The host is the samples' "host" label, else the machine a store is read
 * on; the range is the one asked for [@from_ns, @to_ns), the samples' own where not
 * given (RFC 3339, UTC).
 */
static void describe_weight(const struct profile *p, uint64_t weight, uint64_t from_ns,
			    uint64_t to_ns, const struct profile_filter *f, char *buf, size_t len)
{
	struct profile_info info;
	char a[40], b[40], host[96];
	size_t off = 0;

	profile__info(p, &info);
#define ADD(...)                                                                    \
	do {                                                                        \
		if (off < len)                                                      \
			off += (size_t)snprintf(buf + off, len - off, __VA_ARGS__); \
	} while (0)
	buf[0] = '\0';
	top_value(p, "host", host, sizeof(host));
	if (strcmp(host, "unknown"))
		ADD("host %s", host);
	else if (store_host)
		ADD("host %s", store_host);
	if (info.start_ns || (from_ns && to_ns)) {
		profile__format_time(from_ns ? from_ns : info.start_ns, a, sizeof(a));
		profile__format_time(to_ns ? to_ns : info.end_ns, b, sizeof(b));
		ADD("%s%s to %s", off ? ", " : "", a, b);
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
	ADD("%s%llu samples", off ? ", " : "", (unsigned long long)weight);
	if (profile__counts(p)->lost)
		ADD(", %llu lost", (unsigned long long)profile__counts(p)->lost);
#undef ADD
}

/* describe_weight() of the samples @p holds. */
static void describe(const struct profile *p, uint64_t from_ns, uint64_t to_ns,
		     const struct profile_filter *f, char *buf, size_t len)
{
	describe_weight(p, profile__total_weight(p), from_ns, to_ns, f, buf, len);
}

/* A DURATION (cli_parse_duration's) of more than nothing, in ns. @return 0 or -EINVAL. */
static int parse_duration(const char *s, uint64_t *out_ns)
{
	double secs;

	if (cli_parse_duration(s, &secs) || !(secs > 0) || secs > 1e8)
		return -EINVAL;
	*out_ns = (uint64_t)(secs * 1e9);
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

/* The deploy --diff-deploy names: its last event, and the event before it. */
struct deploy_find {
	const char *version;
	struct deploy_event ev, prev;
	char prev_buf[4096];
	bool found, have_prev;
	struct deploy_event last; /* the latest event seen so far */
	char last_buf[4096];
	bool have_last;
};

static int find_deploy(const struct deploy_event *ev, void *ctx)
{
	struct deploy_find *d = ctx;

	if (!strcmp(ev->version, d->version)) {
		d->found = true;
		d->ev.time_ns = ev->time_ns;
		d->have_prev = d->have_last && d->last.time_ns <= ev->time_ns &&
			       strcmp(d->last_buf, ev->version);
		if (d->have_prev) {
			d->prev.time_ns = d->last.time_ns;
			snprintf(d->prev_buf, sizeof(d->prev_buf), "%s", d->last_buf);
		}
	}
	if (!d->have_last || ev->time_ns >= d->last.time_ns) {
		d->last.time_ns = ev->time_ns;
		snprintf(d->last_buf, sizeof(d->last_buf), "%s", ev->version);
		d->have_last = true;
	}
	return 0;
}

/* The label values of @key in a profile by weight, for "build 1a2b (+1 more)". */
#define TOP_VALUES 16

struct top_value {
	const struct profile *p;
	const char *key;
	const char *values[TOP_VALUES]; /* interned by the profile: compared as pointers */
	uint64_t weights[TOP_VALUES];
	size_t n;
	bool more; /* values beyond TOP_VALUES */
};

static int count_value(const struct profile_sample *s, void *ctx)
{
	struct top_value *t = ctx;
	const char *v = profile__label_value(t->p, s->label_set, t->key);
	size_t i;

	if (!v)
		return 0;
	for (i = 0; i < t->n && t->values[i] != v && strcmp(t->values[i], v); i++)
		;
	if (i == t->n) {
		if (t->n == TOP_VALUES) {
			t->more = true;
			return 0;
		}
		t->values[t->n++] = v;
	}
	t->weights[i] += s->weight;
	return 0;
}

static void top_value(const struct profile *p, const char *key, char *buf, size_t len)
{
	struct top_value t = { .p = p, .key = key };
	size_t best = 0;

	profile__for_each_sample(p, count_value, &t);
	if (!t.n) {
		snprintf(buf, len, "unknown");
		return;
	}
	for (size_t i = 1; i < t.n; i++)
		if (t.weights[i] > t.weights[best])
			best = i;
	if (t.n > 1 || t.more)
		snprintf(buf, len, "%.40s (+%zu%s more)", t.values[best], t.n - 1, t.more ? "+" : "");
	else
		snprintf(buf, len, "%.40s", t.values[best]);
}

#define MINUTE_NS (60ull * 1000000000ull)
#define DEFAULT_WINDOW_NS (15 * MINUTE_NS)
#define WARMUP_CAP_NS (10 * MINUTE_NS)
#define WARMUP_TV 0.1

/*
 * --diff-deploy: find the deploy, read the window before it and the candidates after
 * it, choose the warm-up, and keep in *@after the window after it. Writes the title
 * (when not given) and the subtitle. @return 0, or -1 after saying what failed.
 */
static int deploy_windows(const struct cli_inputs *in, const char *version, uint64_t window_ns,
			  bool warmup_auto, uint64_t warmup_ns, struct profile **before,
			  struct profile **after, struct flamegraph_opts *fo, char *subtitle,
			  size_t len)
{
	static char title[256];
	struct deploy_find d = { .version = version };
	struct flamegraph_warmup wu = { 0 };
	struct profile_filter f = { 0 };
	struct profile *post = NULL, *win = NULL;
	char when[40], wdur[16], udur[16], cap[16];
	char bdesc[512], adesc[512], bbuild[96], abuild[96], how[256];
	uint64_t dep, after_from;
	int err;

	err = store__for_each_deploy(in->store_dir, 0, 0, in->filter.service, find_deploy, &d,
				     NULL);
	if (err) {
		cli_error("cannot read the deploy log of %s: %s", in->store_dir, strerror(-err));
		return -1;
	}
	if (!d.found) {
		cli_error("no deploy of version '%s' of service '%s' in %s/deploys.jsonl (record "
			  "one with 'smolder deploy --store DIR --service S --version V')",
			  version, in->filter.service, in->store_dir);
		return -1;
	}
	dep = d.ev.time_ns;
	if (dep < window_ns) {
		cli_error("the deploy of '%s' is too close to 1970 for a %llu s window", version,
			  (unsigned long long)(window_ns / 1000000000ull));
		return -1;
	}
	if (load_range(in, dep - window_ns, dep, *before, NULL, 0))
		return -1;
	post = profile__new();
	win = profile__new();
	if (!post || !win) {
		cli_error("out of memory");
		goto fail;
	}
	if (load_range(in, dep, dep + WARMUP_CAP_NS + window_ns, post, NULL, 0))
		goto fail;
	format_duration(WARMUP_CAP_NS, cap, sizeof(cap));
	if (warmup_auto) {
		err = flamegraph__warmup(post, dep, window_ns, WARMUP_CAP_NS, WARMUP_TV, &wu);
		if (err) {
			cli_error("cannot choose the warm-up: %s", strerror(-err));
			goto fail;
		}
		warmup_ns = wu.warmup_ns;
	}
	after_from = dep + warmup_ns;
	f.from_ns = after_from;
	f.to_ns = after_from + window_ns;
	if (profile__merge(win, post, &f)) {
		cli_error("out of memory");
		goto fail;
	}
	profile__free(post);
	profile__free(*after);
	*after = win;

	profile__format_time(dep, when, sizeof(when));
	format_duration(window_ns, wdur, sizeof(wdur));
	format_duration(warmup_ns, udur, sizeof(udur));
	top_value(*before, "build_id", bbuild, sizeof(bbuild));
	top_value(*after, "build_id", abuild, sizeof(abuild));
	describe(*before, dep - window_ns, dep, &in->filter, bdesc, sizeof(bdesc));
	describe(*after, after_from, after_from + window_ns, &in->filter, adesc, sizeof(adesc));
	if (!warmup_auto)
		snprintf(how, sizeof(how), "warm-up skipped: %s (fixed, --warmup)", udur);
	else if (wu.settled && !warmup_ns)
		snprintf(how, sizeof(how),
			 "warm-up skipped: none (auto: every minute's self-frame mix is within "
			 "TV %.2f + noise of the rest of the window; largest %.2f)",
			 WARMUP_TV, wu.worst_tv);
	else if (wu.settled)
		snprintf(how, sizeof(how),
			 "warm-up skipped: %s (auto: from then on every minute's self-frame mix "
			 "is within TV %.2f + noise of the rest of the window; before, %.2f off)",
			 udur, WARMUP_TV, wu.first_tv);
	else
		snprintf(how, sizeof(how),
			 "warm-up skipped: %s (auto: the profile did not settle within %s, the "
			 "cap; read the after side with care)",
			 udur, cap);
	snprintf(subtitle, len,
		 "deploy of %.100s%s%.100s%s at %s, %s windows\nbefore (build %s): %s\n"
		 "after (build %s): %s\n%s",
		 version, d.have_prev ? " (replacing " : "", d.have_prev ? d.prev_buf : "",
		 d.have_prev ? ")" : "", when, wdur, bbuild, bdesc, abuild, adesc, how);
	if (!fo->title) {
		snprintf(title, sizeof(title), "Differential Flame Graph: %s, deploy of %s",
			 in->filter.service, version);
		fo->title = title;
	}
	if (!fo->subtitle)
		fo->subtitle = subtitle;
	return 0;

fail:
	profile__free(post);
	profile__free(win);
	return -1;
}

static int add_to_graph(const struct profile_sample *s, void *fg)
{
	return flamegraph__add_sample(fg, s);
}

int cmd_flamegraph(int argc, char **argv)
{
	enum {
		OPT_TITLE = 256, OPT_SUBTITLE, OPT_ICICLE, OPT_WIDTH, OPT_FORMAT, OPT_DIFF,
		OPT_PALETTE, OPT_BASE_FROM, OPT_BASE_TO, OPT_PEAK, OPT_DEPLOY, OPT_WINDOW,
		OPT_WARMUP,
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
		{ "diff-deploy", required_argument, NULL, OPT_DEPLOY },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "warmup", required_argument, NULL, OPT_WARMUP },
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
	struct flamegraph *fg = NULL; /* folded FILEs streamed into a plain graph */
	bool diff = false;
	uint64_t base_from = 0, base_to = 0, peak_ns = 0, from_ns, to_ns;
	const char *deploy = NULL, *window_arg = NULL, *warmup_arg = NULL;
	uint64_t window_ns = DEFAULT_WINDOW_NS, warmup_ns = 0;
	bool warmup_auto = true;
	static char hostname[256];
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
		case OPT_DEPLOY:
			deploy = optarg;
			break;
		case OPT_WINDOW:
			window_arg = optarg;
			if (parse_duration(optarg, &window_ns) || window_ns < 2 * MINUTE_NS) {
				cli_error("--window takes a DURATION of 2m or more (15m, 1h), not "
					  "'%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_WARMUP:
			warmup_arg = optarg;
			warmup_auto = !strcmp(optarg, "auto");
			if (!warmup_auto && strcmp(optarg, "0") &&
			    parse_duration(optarg, &warmup_ns)) {
				cli_error("--warmup takes auto or a DURATION (0, 90s, 5m), not '%s'",
					  optarg);
				return EXIT_USAGE;
			}
			if (!strcmp(optarg, "0"))
				warmup_ns = 0;
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
	if (in.store_dir && gethostname(hostname, sizeof(hostname)) == 0) {
		hostname[sizeof(hostname) - 1] = '\0';
		store_host = hostname;
	}
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
	if ((window_arg || warmup_arg) && !deploy) {
		cli_error("--window and --warmup go with --diff-deploy VERSION");
		return EXIT_USAGE;
	}
	if (deploy && (!in.store_dir || !in.filter.service || diff || base_from || peak_ns ||
		       from_ns || to_ns)) {
		cli_error("--diff-deploy VERSION takes --store DIR and --service NAME, and "
			  "chooses its own windows (no --from/--to, --baseline-*, --peak, --diff)");
		return EXIT_USAGE;
	}
	if (cli_inputs_check(&in, "flamegraph", nfiles))
		return EXIT_USAGE;
	if (format == PROFILE_FORMAT_NONE)
		format = profile__format_from_suffix(output);
	if (format != PROFILE_FORMAT_FOLDED) /* anything else -o names (x.pb.gz) still gets SVG */
		format = PROFILE_FORMAT_SVG;
	if ((diff || base_from || deploy) && format == PROFILE_FORMAT_FOLDED) {
		cli_error("a differential graph is written as SVG only (drop --format folded or "
			  "the .folded suffix)");
		return EXIT_USAGE;
	}

	p = profile__new();
	if (!p || ((diff || base_from || deploy) && !(base = profile__new()))) {
		cli_error("out of memory");
		goto cleanup;
	}
	if (deploy) {
		if (deploy_windows(&in, deploy, window_ns, warmup_auto, warmup_ns, &base, &p,
				   &fo, subtitle, sizeof(subtitle)))
			goto cleanup;
	} else if (diff) {
		if (cli_inputs_load(&in, base, files, 1) || cli_inputs_load(&in, p, files + 1, 1))
			goto cleanup;
	} else {
		if (base_from && load_range(&in, base_from, base_to, base, files, nfiles))
			goto cleanup;
		/* A plain graph of folded files needs each line once, not a profile of
		 * them: the parser hands the lines straight to the graph, and @p only
		 * names their frames (half the time of a 1M-line file goes to the
		 * profile's per-sample tables otherwise). */
		if (!base && !peak_ns && format == PROFILE_FORMAT_SVG) {
			if (!(fg = flamegraph__new(p))) {
				cli_error("out of memory");
				goto cleanup;
			}
			err = cli_inputs_scan(&in, p, add_to_graph, fg, files, nfiles);
			if (err < 0)
				goto cleanup;
			if (err) {
				flamegraph__free(fg);
				fg = NULL;
			}
		}
		if (!fg && cli_inputs_load(&in, p, files, nfiles))
			goto cleanup;
		if (peak_ns && pick_peak(&p, from_ns, to_ns, peak_ns, &from_ns, &to_ns, note,
					 sizeof(note)))
			goto cleanup;
	}

	/* Every graph says what it shows, so one pasted into a review months later can
	 * still be read; --subtitle replaces it. */
	const struct profile_filter *f = &in.filter;
	if (deploy) {
		/* deploy_windows() wrote the subtitle. */
	} else if (!fo.subtitle && base) {
		describe(base, diff ? 0 : base_from, diff ? 0 : base_to, f, before_desc,
			 sizeof(before_desc));
		describe(p, from_ns, to_ns, f, after_desc, sizeof(after_desc));
		snprintf(subtitle, sizeof(subtitle), "before: %s\nafter: %s%s%s", before_desc,
			 after_desc, *note ? "\n" : "", note);
		fo.subtitle = subtitle;
	} else if (!fo.subtitle) {
		describe_weight(p, fg ? flamegraph__total_weight(fg) : profile__total_weight(p),
				from_ns, to_ns, f, after_desc, sizeof(after_desc));
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
	else if (fg)
		err = flamegraph__write(fg, &fo, out.f);
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
	flamegraph__free(fg);
	profile__free(p);
	profile__free(base);
	return ret;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_timeline.c - `smolder timeline --store DIR [filters] -o FILE.svg`: samples per
 * second over time, stacked by service, with a marker per deploy from the store's
 * deploy log: where to look before asking for a flame graph of a window.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "flamegraph.h"
#include "profile.h"
#include "store.h"
#include "vec.h"

static const char timeline_usage[] =
	"usage: smolder timeline --store DIR [options] -o FILE.svg\n"
	"  Samples per second over time, stacked by service (the busiest on their own, the\n"
	"  rest as \"other\"), with a dashed line per deploy (DIR/deploys.jsonl, written by\n"
	"  'smolder deploy' and the agent). Hover a bar or a marker for its details.\n"
	"      --store DIR         read the profile store in DIR\n"
	"      --from TIME         only samples at or after TIME (RFC 3339, unix seconds,\n"
	"                          -15m, -2h, now); without --to, up to now\n"
	"      --to TIME           only samples before TIME\n"
	"      --service NAME      only samples and deploys of this service\n"
	"      --pid PID           only samples of this process\n"
	"      --comm NAME         only samples of processes with this name\n"
	"      --label K=V         only samples with this label (repeatable)\n"
	"      --bucket D          width of one bar (1s, 10s, 5m; default: from the range,\n"
	"                          at most 600 bars)\n"
	"      --top N             services drawn on their own (1 to 12, default 8)\n"
	"      --title TEXT        title (default \"Timeline\")\n"
	"      --width PX          image width (default 1200)\n"
	"  -o, --output FILE       where to write the SVG (default: standard output)\n";

/* Deploys marked at most; a log with more in the range is cut, and the subtitle says. */
#define MAX_DEPLOYS 4096

struct deploys {
	VEC(struct timeline_deploy) v;
	size_t dropped;
	int err;
};

static int collect_deploy(const struct deploy_event *ev, void *ctx)
{
	struct deploys *d = ctx;
	struct timeline_deploy td = { .time_ns = ev->time_ns };

	if (d->v.len == MAX_DEPLOYS) {
		d->dropped++;
		return 0;
	}
	td.service = strdup(ev->service);
	td.version = strdup(ev->version);
	if (!td.service || !td.version || VEC_PUSH(d->v, td)) {
		free((char *)td.service);
		free((char *)td.version);
		d->err = -ENOMEM;
		return -ENOMEM;
	}
	return 0;
}

static void deploys_free(struct deploys *d)
{
	for (size_t i = 0; i < d->v.len; i++) {
		free((char *)d->v.v[i].service);
		free((char *)d->v.v[i].version);
	}
	VEC_FREE(d->v);
}

struct host {
	const struct profile *p;
	const char *value;
};

static int find_host(const struct profile_sample *s, void *ctx)
{
	struct host *h = ctx;

	h->value = profile__label_value(h->p, s->label_set, "host");
	return h->value != NULL;
}

/*
 * "host h, A to B, service=x, pid=1, 19 Hz, N samples, M lost": the first subtitle
 * line, as flame graphs have it. The host is a sample's "host" label, else this
 * machine (an agent keeps its store on the node it profiles).
 */
static void describe(const struct profile *p, uint64_t from_ns, uint64_t to_ns,
		     const struct profile_filter *f, char *buf, size_t len)
{
	struct profile_info info;
	struct host h = { .p = p };
	char a[40], b[40], host[256];
	size_t off = 0;

#define ADD(...)                                                                    \
	do {                                                                        \
		if (off < len)                                                      \
			off += (size_t)snprintf(buf + off, len - off, __VA_ARGS__); \
	} while (0)
	buf[0] = '\0';
	profile__info(p, &info);
	profile__for_each_sample(p, find_host, &h);
	if (h.value) {
		ADD("host %.100s", h.value);
	} else if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		ADD("host %s", host);
	}
	if (from_ns || info.start_ns) {
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
	ADD("%s%" PRIu64 " samples", off ? ", " : "", profile__total_weight(p));
	ADD(", %" PRIu64 " lost", profile__counts(p)->lost);
#undef ADD
}

int cmd_timeline(int argc, char **argv)
{
	enum { OPT_TITLE = 256, OPT_WIDTH, OPT_BUCKET, OPT_TOP };
	static const struct option longopts[] = {
		{ "title", required_argument, NULL, OPT_TITLE },
		{ "width", required_argument, NULL, OPT_WIDTH },
		{ "bucket", required_argument, NULL, OPT_BUCKET },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "output", required_argument, NULL, 'o' },
		CLI_INPUT_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct timeline_opts to = { 0 };
	struct deploys d = { 0 };
	struct cli_inputs in;
	struct cli_output out;
	struct profile *p = NULL;
	const char *output = "-", *bucket_arg = NULL;
	char subtitle[4096], line[2048];
	enum profile_format format;
	double secs;
	char *end;
	long v;
	int c, err, ret = EXIT_FAIL;

	cli_inputs_init(&in);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_TITLE:
			to.title = optarg;
			break;
		case OPT_WIDTH:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 400 || v > 100000) {
				cli_error("--width takes 400 to 100000 pixels, not '%s'", optarg);
				return EXIT_USAGE;
			}
			to.width = (int)v;
			break;
		case OPT_BUCKET:
			bucket_arg = optarg;
			if (cli_parse_duration(optarg, &secs) || secs < 1 || secs > 1e8 ||
			    secs != (double)(uint64_t)secs) {
				cli_error("--bucket takes a DURATION of whole seconds, 1s or more "
					  "(10s, 5m, 1h), not '%s'", optarg);
				return EXIT_USAGE;
			}
			to.bucket_ns = (uint64_t)secs * 1000000000ull;
			break;
		case OPT_TOP:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 1 || v > 12) {
				cli_error("--top takes 1 to 12 services, not '%s'", optarg);
				return EXIT_USAGE;
			}
			to.max_series = (size_t)v;
			break;
		case 'o':
			output = optarg;
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
			fputs(timeline_usage, stdout);
			return EXIT_OK;
		case ':':
			cli_error("option %s needs a value (see 'smolder timeline --help')",
				  argv[optind - 1]);
			return EXIT_USAGE;
		default:
			cli_error("unknown option '%s' (see 'smolder timeline --help')",
				  argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (!in.store_dir || optind < argc) {
		cli_error("timeline reads a store: --store DIR, and no FILE arguments (see "
			  "'smolder timeline --help')");
		return EXIT_USAGE;
	}
	if (cli_inputs_check(&in, "timeline", 0))
		return EXIT_USAGE;
	format = profile__format_from_suffix(output);
	if (format != PROFILE_FORMAT_NONE && format != PROFILE_FORMAT_SVG) {
		cli_error("timeline writes SVG only; name the output FILE.svg, not '%s'", output);
		return EXIT_USAGE;
	}
	/* --from -1h means the last hour: up to now, not up to the last sample. */
	to.from_ns = in.filter.from_ns;
	to.to_ns = in.filter.to_ns;
	if (to.from_ns && !to.to_ns) {
		if (to.from_ns >= in.now_ns) {
			cli_error("--from is in the future; give --to as well");
			return EXIT_USAGE;
		}
		to.to_ns = in.now_ns;
	}

	p = profile__new();
	if (!p) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	if (cli_inputs_load(&in, p, NULL, 0))
		goto cleanup;
	err = store__for_each_deploy(in.store_dir, to.from_ns, to.to_ns, in.filter.service,
				     collect_deploy, &d, NULL);
	if (err) {
		cli_error("cannot read the deploy log of %s: %s", in.store_dir,
			  strerror(d.err ? -d.err : -err));
		goto cleanup;
	}
	to.deploys = d.v.v;
	to.ndeploys = d.v.len;

	describe(p, to.from_ns, to.to_ns, &in.filter, line, sizeof(line));
	if (d.dropped)
		snprintf(subtitle, sizeof(subtitle), "%s\n%zu deploys marked; %zu more in the "
			 "range are not (narrow --from/--to)", line, d.v.len, d.dropped);
	else
		snprintf(subtitle, sizeof(subtitle), "%s", line);
	to.subtitle = subtitle;

	if (cli_output_open(&out, output))
		goto cleanup;
	err = flamegraph__write_timeline_svg(p, &to, out.f);
	if (err) {
		cli_output_abort(&out);
		if (err == -E2BIG) {
			cli_error("--bucket %s makes more than %d bars over the range; give a wider "
				  "one or a shorter --from/--to", bucket_arg, TIMELINE_MAX_BUCKETS);
			ret = EXIT_USAGE;
		} else {
			cli_error("cannot write %s: %s", output, strerror(-err));
		}
		goto cleanup;
	}
	if (cli_output_commit(&out) == 0)
		ret = EXIT_OK;
cleanup:
	deploys_free(&d);
	profile__free(p);
	return ret;
}

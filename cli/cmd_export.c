/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_export.c - `smolder export (--store DIR | FILE..) [filters] --format
 * pprof|folded|smolder -o FILE`: convert profiles, or a slice of a store, into a format
 * other tools read (gzip pprof for `go tool pprof`, Parca, Pyroscope; folded text for
 * FlameGraph, inferno, speedscope) or into one .smolder file.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "profile.h"
#include "store.h"

#define MAX_LABEL_FILTERS 16

enum export_format { EXPORT_NONE, EXPORT_PPROF, EXPORT_FOLDED, EXPORT_SMOLDER };

static const char export_usage[] =
	"usage: smolder export (--store DIR | FILE..) [filters] --format pprof|folded|smolder\n"
	"                      -o FILE\n"
	"  FILE                    smolder profile, folded stacks or gzip pprof ('-': stdin)\n"
	"      --store DIR         read the profile store in DIR\n"
	"      --from TIME         only samples at or after TIME (RFC 3339, unix seconds,\n"
	"                          -15m, -2h, now)\n"
	"      --to TIME           only samples before TIME\n"
	"      --service NAME      only samples of this service\n"
	"      --pid PID           only samples of this process\n"
	"      --comm NAME         only samples of processes with this name\n"
	"      --label K=V         only samples with this label (repeatable)\n"
	"      --format FMT        pprof (gzip profile.proto), folded or smolder\n"
	"                          (default: from -o's suffix: .pb.gz/.pprof, .folded, .smolder)\n"
	"  -o, --output FILE       where to write (default: standard output)\n";

static uint64_t wall_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static enum export_format parse_format(const char *s)
{
	if (!strcmp(s, "pprof"))
		return EXPORT_PPROF;
	if (!strcmp(s, "folded"))
		return EXPORT_FOLDED;
	if (!strcmp(s, "smolder"))
		return EXPORT_SMOLDER;
	return EXPORT_NONE;
}

static enum export_format format_from_name(const char *path)
{
	size_t n = strlen(path);
#define ENDS(sfx) (n >= strlen(sfx) && !strcmp(path + n - strlen(sfx), sfx))
	if (ENDS(".pb.gz") || ENDS(".pprof") || ENDS(".pb"))
		return EXPORT_PPROF;
	if (ENDS(".smolder"))
		return EXPORT_SMOLDER;
	if (ENDS(".folded") || ENDS(".txt") || ENDS(".collapsed"))
		return EXPORT_FOLDED;
#undef ENDS
	return EXPORT_NONE;
}

static int load_inputs(struct profile *p, const char *store_dir, char **files, int nfiles,
		       const struct profile_filter *f)
{
	int err = 0;

	if (store_dir) {
		struct store_opts so = { .read_only = true };
		struct store *s = store__open(store_dir, &so);
		if (!s) {
			err = -errno;
			cli_error("cannot open store %s: %s (is it a directory made by smolder agent?)",
				  store_dir, strerror(errno));
			return err;
		}
		err = store__query(s, f, p, NULL);
		if (err)
			cli_error("cannot read store %s: %s", store_dir, strerror(-err));
		store__close(s);
		return err;
	}
	for (int i = 0; i < nfiles && !err; i++) {
		size_t bad = 0;
		err = profile__load(p, files[i], f, NULL, NULL, &bad);
		if (err == -EINVAL && bad)
			cli_error("%s:%zu: not folded stacks (expected 'frame;frame;... COUNT')",
				  files[i], bad);
		else if (err == -EINVAL)
			cli_error("cannot read %s: malformed profile (damaged smolder or pprof file)",
				  files[i]);
		else if (err)
			cli_error("cannot read %s: %s", files[i], strerror(-err));
	}
	return err;
}

int cmd_export(int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_STORE, OPT_FROM, OPT_TO, OPT_SERVICE, OPT_PID, OPT_COMM,
	       OPT_LABEL };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "service", required_argument, NULL, OPT_SERVICE },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "comm", required_argument, NULL, OPT_COMM },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct profile_label labels[MAX_LABEL_FILTERS];
	struct profile_filter filter = { .labels = labels };
	enum export_format format = EXPORT_NONE;
	const char *output = "-", *store_dir = NULL;
	uint64_t now = wall_now_ns();
	struct cli_output out;
	struct profile *p;
	char *end;
	int c, err, ret = EXIT_FAIL;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case OPT_FORMAT:
			format = parse_format(optarg);
			if (format == EXPORT_NONE) {
				cli_error("--format takes pprof, folded or smolder, not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_STORE:
			store_dir = optarg;
			break;
		case OPT_FROM:
		case OPT_TO:
			if (profile__parse_time(optarg, now, c == OPT_FROM ? &filter.from_ns
									 : &filter.to_ns)) {
				cli_error("--%s takes a TIME (2026-11-23T15:04:05Z, unix seconds, "
					  "-15m, -2h or now), not '%s'",
					  c == OPT_FROM ? "from" : "to", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_SERVICE:
			filter.service = optarg;
			break;
		case OPT_PID: {
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v <= 0 || v > INT_MAX) {
				cli_error("--pid takes a process ID, not '%s'", optarg);
				return EXIT_USAGE;
			}
			filter.pid = (pid_t)v;
			break;
		}
		case OPT_COMM:
			filter.comm = optarg;
			break;
		case OPT_LABEL: {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg || filter.nlabels == MAX_LABEL_FILTERS) {
				cli_error("--label takes KEY=VALUE (at most %d), not '%s'",
					  MAX_LABEL_FILTERS, optarg);
				return EXIT_USAGE;
			}
			*eq = '\0';
			labels[filter.nlabels++] = (struct profile_label){ optarg, eq + 1 };
			break;
		}
		case 'h':
			fputs(export_usage, stdout);
			return EXIT_OK;
		case ':':
			cli_error("option %s needs a value (see 'smolder export --help')",
				  argv[optind - 1]);
			return EXIT_USAGE;
		default:
			cli_error("unknown option '%s' (see 'smolder export --help')",
				  argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (!store_dir && optind >= argc) {
		cli_error("export needs --store DIR or at least one input FILE (see 'smolder export --help')");
		return EXIT_USAGE;
	}
	if (store_dir && optind < argc) {
		cli_error("export takes --store DIR or FILEs, not both");
		return EXIT_USAGE;
	}
	if (filter.from_ns && filter.to_ns && filter.from_ns >= filter.to_ns) {
		cli_error("--from must be before --to");
		return EXIT_USAGE;
	}
	if (format == EXPORT_NONE)
		format = format_from_name(output);
	if (format == EXPORT_NONE) {
		cli_error("export needs --format pprof|folded|smolder (or an -o name ending in "
			  ".pb.gz, .folded or .smolder)");
		return EXIT_USAGE;
	}

	p = profile__new();
	if (!p) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	if (load_inputs(p, store_dir, argv + optind, argc - optind, &filter))
		goto cleanup;
	if (cli_output_open(&out, output))
		goto cleanup;
	err = format == EXPORT_PPROF   ? profile__write_pprof(p, out.f)
	      : format == EXPORT_FOLDED ? profile__write_folded(p, out.f)
					: profile__write_file(p, out.f, 0);
	if (err) {
		cli_error("cannot write %s: %s", output, strerror(-err));
		cli_output_abort(&out);
		goto cleanup;
	}
	if (cli_output_commit(&out) == 0)
		ret = EXIT_OK;
cleanup:
	profile__free(p);
	return ret;
}

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

/* SVG is the flamegraph command's. */
static bool exportable(enum profile_format f)
{
	return f == PROFILE_FORMAT_PPROF || f == PROFILE_FORMAT_FOLDED ||
	       f == PROFILE_FORMAT_SMOLDER;
}

int cmd_export(int argc, char **argv)
{
	enum { OPT_FORMAT = 256, OPT_STORE, OPT_FROM, OPT_TO, OPT_SERVICE, OPT_PID, OPT_COMM,
	       OPT_LABEL };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		CLI_INPUT_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct cli_inputs in;
	enum profile_format format = PROFILE_FORMAT_NONE;
	const char *output = "-";
	struct cli_output out;
	struct profile *p;
	int c, err, ret = EXIT_FAIL;

	cli_inputs_init(&in);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case OPT_FORMAT:
			format = profile__format_from_name(optarg);
			if (!exportable(format)) {
				cli_error("--format takes pprof, folded or smolder, not '%s'", optarg);
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
	if (cli_inputs_check(&in, "export", argc - optind))
		return EXIT_USAGE;
	if (format == PROFILE_FORMAT_NONE)
		format = profile__format_from_suffix(output);
	if (format == PROFILE_FORMAT_SVG) {
		cli_error("export writes pprof, folded or smolder; for an SVG use 'smolder "
			  "flamegraph -o %s'", output);
		return EXIT_USAGE;
	}
	if (!exportable(format)) {
		cli_error("export needs --format pprof|folded|smolder (or an -o name ending in "
			  ".pb.gz, .folded or .smolder)");
		return EXIT_USAGE;
	}

	p = profile__new();
	if (!p) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	if (cli_inputs_load(&in, p, argv + optind, argc - optind))
		goto cleanup;
	if (cli_output_open(&out, output))
		goto cleanup;
	err = format == PROFILE_FORMAT_PPROF    ? profile__write_pprof(p, out.f)
	      : format == PROFILE_FORMAT_FOLDED ? profile__write_folded(p, out.f)
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

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_flamegraph.c - `smolder flamegraph FILE..`: render profiles as an SVG flame
 * graph (or merge them into folded text), like flamegraph.pl FILE > out.svg.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flamegraph.h"
#include "profile.h"

static const char flamegraph_usage[] =
	"usage: smolder flamegraph FILE.. [options]\n"
	"  FILE                    folded stacks ('-' for standard input)\n"
	"      --title TEXT        title of the graph (default \"Flame Graph\")\n"
	"      --subtitle TEXT     second line under the title\n"
	"      --icicle            root at the top, stacks growing down\n"
	"      --width PX          image width (default 1200)\n"
	"  -o, --output FILE       where to write (default: standard output)\n"
	"      --format svg|folded output format (default: from -o's suffix, else svg)\n";

static int read_input(struct profile *p, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	size_t bad = 0;
	int err;

	if (!f) {
		cli_error("cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	err = profile__read_folded(p, f, &bad);
	if (f != stdin)
		fclose(f);
	if (err == -EINVAL)
		cli_error("%s:%zu: not folded stacks (expected 'frame;frame;... COUNT')",
			  path, bad);
	else if (err)
		cli_error("cannot read %s: %s", path, strerror(-err));
	return err;
}

int cmd_flamegraph(int argc, char **argv)
{
	enum { OPT_TITLE = 256, OPT_SUBTITLE, OPT_ICICLE, OPT_WIDTH, OPT_FORMAT };
	static const struct option longopts[] = {
		{ "title", required_argument, NULL, OPT_TITLE },
		{ "subtitle", required_argument, NULL, OPT_SUBTITLE },
		{ "icicle", no_argument, NULL, OPT_ICICLE },
		{ "width", required_argument, NULL, OPT_WIDTH },
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct flamegraph_opts fo = { 0 };
	enum output_format format = FORMAT_NONE;
	const char *output = "-";
	struct cli_output out;
	struct profile *p;
	char *end;
	int c, err, ret = EXIT_FAIL;

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
			format = cli_parse_format(optarg);
			if (format == FORMAT_NONE) {
				cli_error("--format takes svg or folded, not '%s'", optarg);
				return EXIT_USAGE;
			}
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
	if (optind >= argc) {
		cli_error("flamegraph needs at least one input FILE (see 'smolder flamegraph --help')");
		return EXIT_USAGE;
	}
	if (format == FORMAT_NONE)
		format = cli_format_from_name(output);
	if (format == FORMAT_NONE)
		format = FORMAT_SVG;

	p = profile__new();
	if (!p) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	for (int i = optind; i < argc; i++)
		if (read_input(p, argv[i]))
			goto cleanup;
	if (cli_output_open(&out, output))
		goto cleanup;
	err = format == FORMAT_FOLDED ? profile__write_folded(p, out.f)
				      : flamegraph__write_svg(p, &fo, out.f);
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

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_deploy.c - `smolder deploy --store DIR --service NAME --version V [--time T]`:
 * record that a service was deployed, in the store's deploy log, so flame graphs and
 * timelines can compare before and after.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "profile.h"
#include "store.h"

static const char deploy_usage[] =
	"usage: smolder deploy --store DIR --service NAME --version VERSION [--time TIME]\n"
	"      --store DIR         the profile store (created if missing)\n"
	"      --service NAME      the service that was deployed\n"
	"      --version VERSION   the version now running\n"
	"      --time TIME         when (RFC 3339, unix seconds, -15m, now; default now)\n";

int cmd_deploy(int argc, char **argv)
{
	enum { OPT_STORE = 256, OPT_SERVICE, OPT_VERSION, OPT_TIME };
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, OPT_STORE },
		{ "service", required_argument, NULL, OPT_SERVICE },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct deploy_event ev = { 0 };
	const char *dir = NULL, *when = "now";
	struct timespec ts;
	char shown[64];
	uint64_t now;
	int c, err;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_STORE:
			dir = optarg;
			break;
		case OPT_SERVICE:
			ev.service = optarg;
			break;
		case OPT_VERSION:
			ev.version = optarg;
			break;
		case OPT_TIME:
			when = optarg;
			break;
		case 'h':
			fputs(deploy_usage, stdout);
			return EXIT_OK;
		case ':':
			cli_error("option %s needs a value (see 'smolder deploy --help')",
				  argv[optind - 1]);
			return EXIT_USAGE;
		default:
			cli_error("unknown option '%s' (see 'smolder deploy --help')",
				  argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		cli_error("deploy takes no arguments besides its options, not '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (!dir || !ev.service || !ev.version || !*ev.service || !*ev.version) {
		cli_error("deploy needs --store DIR, --service NAME and --version VERSION "
			  "(see 'smolder deploy --help')");
		return EXIT_USAGE;
	}
	if (profile__parse_time(when, now, &ev.time_ns)) {
		cli_error("--time takes a TIME (2026-11-23T15:04:05Z, unix seconds, -15m, now), "
			  "not '%s'", when);
		return EXIT_USAGE;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		cli_error("cannot create store %s: %s", dir, strerror(errno));
		return EXIT_FAIL;
	}
	err = store__add_deploy(dir, &ev);
	if (err == -EINVAL) {
		cli_error("--service and --version must be UTF-8 text of at most 4096 bytes");
		return EXIT_USAGE;
	}
	if (err) {
		cli_error("cannot record the deploy in %s/deploys.jsonl: %s%s", dir, strerror(-err),
			  err == -ENOSPC ? " (free some space or lower the store's retention)" : "");
		return EXIT_FAIL;
	}
	profile__format_time(ev.time_ns, shown, sizeof(shown));
	fprintf(stderr, "smolder: recorded deploy of %s version %s at %s\n", ev.service,
		ev.version, shown);
	return EXIT_OK;
}

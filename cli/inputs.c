/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inputs.c - what `flamegraph` and `export` read: --store DIR or FILEs (smolder
 * profiles, folded text, gzip pprof, told apart by content), narrowed by --from/--to
 * and label filters.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "store.h"

void cli_inputs_init(struct cli_inputs *in)
{
	struct timespec ts;

	memset(in, 0, sizeof(*in));
	in->filter.labels = in->labels;
	clock_gettime(CLOCK_REALTIME, &ts);
	in->now_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int cli_inputs_option(struct cli_inputs *in, int opt, char *arg)
{
	struct profile_filter *f = &in->filter;
	char *end;

	switch (opt) {
	case CLI_OPT_STORE:
		in->store_dir = arg;
		return 0;
	case CLI_OPT_FROM:
	case CLI_OPT_TO:
		if (profile__parse_time(arg, in->now_ns, opt == CLI_OPT_FROM ? &f->from_ns
									   : &f->to_ns)) {
			cli_error("--%s takes a TIME (2026-11-23T15:04:05Z, unix seconds, -15m, "
				  "-2h or now), not '%s'",
				  opt == CLI_OPT_FROM ? "from" : "to", arg);
			return -EINVAL;
		}
		return 0;
	case CLI_OPT_SERVICE:
		f->service = arg;
		return 0;
	case CLI_OPT_PID: {
		errno = 0;
		long v = strtol(arg, &end, 10);
		if (errno || *end || end == arg || v <= 0 || v > INT_MAX) {
			cli_error("--pid takes a process ID, not '%s'", arg);
			return -EINVAL;
		}
		f->pid = (pid_t)v;
		return 0;
	}
	case CLI_OPT_COMM:
		f->comm = arg;
		return 0;
	case CLI_OPT_LABEL: {
		char *eq = strchr(arg, '=');
		if (!eq || eq == arg || f->nlabels == CLI_MAX_LABEL_FILTERS) {
			cli_error("--label takes KEY=VALUE (at most %d), not '%s'",
				  CLI_MAX_LABEL_FILTERS, arg);
			return -EINVAL;
		}
		*eq = '\0';
		in->labels[f->nlabels++] = (struct profile_label){ arg, eq + 1 };
		return 0;
	}
	}
	return -ENOENT;
}

int cli_inputs_check(const struct cli_inputs *in, const char *cmd, int nfiles)
{
	if (!in->store_dir && nfiles <= 0) {
		cli_error("%s needs --store DIR or at least one input FILE (see 'smolder %s "
			  "--help')", cmd, cmd);
		return -EINVAL;
	}
	if (in->store_dir && nfiles > 0) {
		cli_error("%s takes --store DIR or FILEs, not both", cmd);
		return -EINVAL;
	}
	if (in->filter.from_ns && in->filter.to_ns && in->filter.from_ns >= in->filter.to_ns) {
		cli_error("--from must be before --to");
		return -EINVAL;
	}
	return 0;
}

/* Say why FILE @path could not be read (@err from profile__load(), 0: it could). */
static void read_error(const char *path, int err, size_t bad_line)
{
	if (err == -EINVAL && bad_line)
		cli_error("%s:%zu: not folded stacks (expected 'frame;frame;... COUNT')", path,
			  bad_line);
	else if (err == -EINVAL)
		cli_error("cannot read %s: malformed profile (damaged smolder or pprof file)",
			  path);
	else if (err)
		cli_error("cannot read %s: %s", path, strerror(-err));
}

int cli_inputs_load(const struct cli_inputs *in, struct profile *p, char **files, int nfiles)
{
	int err = 0;

	if (in->store_dir) {
		struct store_opts so = { .read_only = true };
		struct store *s = store__open(in->store_dir, &so);
		if (!s) {
			err = -errno;
			cli_error("cannot open store %s: %s (is it a directory made by smolder?)",
				  in->store_dir, strerror(errno));
			return err;
		}
		err = store__query(s, &in->filter, p, NULL);
		if (err)
			cli_error("cannot read store %s: %s", in->store_dir, strerror(-err));
		store__close(s);
		return err;
	}
	for (int i = 0; i < nfiles && !err; i++) {
		size_t bad = 0;
		err = profile__load(p, files[i], &in->filter, NULL, NULL, &bad);
		read_error(files[i], err, bad);
	}
	return err;
}

int cli_inputs_scan(const struct cli_inputs *in, struct profile *p,
		    int (*fn)(const struct profile_sample *s, void *ctx), void *ctx, char **files,
		    int nfiles)
{
	const struct profile_filter *f = &in->filter;
	FILE **streams;
	int err = 0, n;

	if (in->store_dir || nfiles <= 0 || f->from_ns || f->to_ns || f->pid || f->comm ||
	    f->service || f->nlabels)
		return 1;
	streams = calloc((size_t)nfiles, sizeof(*streams));
	if (!streams) {
		cli_error("out of memory");
		return -ENOMEM;
	}
	/* All or nothing: a FILE of another kind (or one that cannot be opened, which
	 * cli_inputs_load() then explains) sends every FILE through the profile. */
	for (n = 0; n < nfiles && (streams[n] = profile__open_folded(files[n])); n++)
		;
	for (int i = 0; n == nfiles && i < nfiles && !err; i++) {
		size_t bad = 0;

		err = profile__scan_folded(p, streams[i], fn, ctx, &bad);
		read_error(files[i], err, bad);
	}
	for (int i = 0; i < n; i++)
		fclose(streams[i]);
	free(streams);
	return n < nfiles ? 1 : err;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* cli.h - what the subcommands of the smolder binary share. */
#ifndef SMOLDER_CLI_H
#define SMOLDER_CLI_H

#include <stdio.h>

#include <stdint.h>

#include "profile.h"

/* Exit codes (README, "Usage"): 0 ok, 1 runtime failure, 2 bad usage. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

int cmd_record(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
int cmd_symbolize(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_deploy(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_timeline(int argc, char **argv);

/* Print "smolder: <message>\n" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A byte count: digits and an optional binary unit (K/KiB, M/MiB, G/GiB).
 * @return 0, or -EINVAL. */
int cli_parse_size(const char *s, uint64_t *out);

/* A duration: a number and an optional unit (s, m, h, d, w; none: seconds), e.g.
 * "90", "15m", "7d". @return 0, or -EINVAL. */
int cli_parse_duration(const char *s, double *seconds);

/*
 * An output file written safely: to PATH.tmp.XXXXXX beside it, renamed into place
 * only when everything was written and flushed, so a failure never leaves a torn
 * file under the real name. "-" means stdout.
 */
struct cli_output {
	FILE *f;
	char *path;
	char *tmp;
};
/* Open @path for writing; on failure prints one line and returns -errno. */
int cli_output_open(struct cli_output *o, const char *path);
/* Flush, fsync and rename into place; on failure prints one line, removes the
 * temporary file and returns -errno. Always releases @o. */
int cli_output_commit(struct cli_output *o);
/* Give up: remove the temporary file and release @o. */
void cli_output_abort(struct cli_output *o);

/* ---- inputs of flamegraph and export (inputs.c) ---- */

#define CLI_MAX_LABEL_FILTERS 16

/* Option codes for getopt_long; CLI_INPUT_LONGOPTS lists them. */
enum {
	CLI_OPT_STORE = 1000,
	CLI_OPT_FROM,
	CLI_OPT_TO,
	CLI_OPT_SERVICE,
	CLI_OPT_PID,
	CLI_OPT_COMM,
	CLI_OPT_LABEL,
};

#define CLI_INPUT_LONGOPTS                                        \
	{ "store", required_argument, NULL, CLI_OPT_STORE },      \
	{ "from", required_argument, NULL, CLI_OPT_FROM },        \
	{ "to", required_argument, NULL, CLI_OPT_TO },            \
	{ "service", required_argument, NULL, CLI_OPT_SERVICE },  \
	{ "pid", required_argument, NULL, CLI_OPT_PID },          \
	{ "comm", required_argument, NULL, CLI_OPT_COMM },        \
	{ "label", required_argument, NULL, CLI_OPT_LABEL }

struct cli_inputs {
	const char *store_dir;
	struct profile_label labels[CLI_MAX_LABEL_FILTERS];
	struct profile_filter filter; /* its labels point into labels[] */
	uint64_t now_ns;              /* what relative TIMEs are relative to */
};

void cli_inputs_init(struct cli_inputs *in);
/* Take input option @opt (a CLI_OPT_*) with @arg. @return 0, -EINVAL (a bad value,
 * said on stderr) or -ENOENT (not an input option). */
int cli_inputs_option(struct cli_inputs *in, int opt, char *arg);
/* Check the inputs against @nfiles FILE arguments; says what is wrong on stderr.
 * @return 0 or -EINVAL. */
int cli_inputs_check(const struct cli_inputs *in, const char *cmd, int nfiles);
/* Read the store or @files into @p through the filter; says what failed on stderr.
 * @return 0 or a negative errno. */
int cli_inputs_load(const struct cli_inputs *in, struct profile *p, char **files, int nfiles);
/*
 * Hand each sample of @files to @fn without keeping them, when that can be done: every
 * FILE is a regular file of folded text and nothing is filtered. Frames are interned
 * in @p (profile__scan_folded), which keeps no sample. Says what failed on stderr, as
 * cli_inputs_load() does. @return 0, 1 when the inputs cannot be streamed (nothing
 * was read: use cli_inputs_load()), or a negative errno.
 */
int cli_inputs_scan(const struct cli_inputs *in, struct profile *p,
		    int (*fn)(const struct profile_sample *s, void *ctx), void *ctx, char **files,
		    int nfiles);

#endif /* SMOLDER_CLI_H */

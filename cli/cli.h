/* SPDX-License-Identifier: Apache-2.0 */
/* cli.h - what the subcommands of the smolder binary share. */
#ifndef SMOLDER_CLI_H
#define SMOLDER_CLI_H

#include <stdio.h>

#include "profile.h"

/* Exit codes (DESIGN.md): 0 ok, 1 runtime failure, 2 bad usage. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

enum output_format { FORMAT_NONE, FORMAT_SVG, FORMAT_FOLDED, FORMAT_PPROF, FORMAT_SMOLDER };

int cmd_record(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
int cmd_symbolize(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_deploy(int argc, char **argv);

/* Print "smolder: <message>\n" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse a --format value. FORMAT_NONE when unknown. */
enum output_format cli_parse_format(const char *s);
/* Format implied by an output file name's suffix; FORMAT_NONE when none is. */
enum output_format cli_format_from_name(const char *path);

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

#endif /* SMOLDER_CLI_H */

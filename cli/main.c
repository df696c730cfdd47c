/* SPDX-License-Identifier: Apache-2.0 */
/* main.c - the smolder binary: dispatch to one subcommand per file in cli/. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
	"usage: smolder <command> [options]\n"
	"\n"
	"commands:\n"
	"  record      sample processes and write a flame graph or folded stacks\n"
	"              smolder record (-p PID[,PID..] | -a | -- CMD [ARGS..]) [-F HZ]\n"
	"                     [-d SECONDS] [--unwind auto|fp|dwarf] [--no-kernel]\n"
	"                     [-o FILE] [--format svg|folded|pprof|smolder]\n"
	"  flamegraph  render profiles (smolder, folded, pprof, or a store) as an SVG\n"
	"              smolder flamegraph (--store DIR | FILE..) [--from TIME] [--to TIME]\n"
	"                     [--service NAME] [--pid PID] [--comm NAME] [--label K=V]\n"
	"                     [--title TEXT] [--icicle] [--width PX] [-o FILE]\n"
	"  timeline    samples per second over time by service, with deploy markers (SVG)\n"
	"              smolder timeline --store DIR [filters as flamegraph] -o FILE.svg\n"
	"  export      convert profiles: smolder export (--store DIR | FILE..) [filters]\n"
	"                     --format pprof|folded -o FILE\n"
	"  deploy      record a deploy: smolder deploy --store DIR --service NAME\n"
	"                     --version VERSION [--time TIME]\n"
	"  agent       sample every process, always, into a bounded local store\n"
	"              smolder agent [--store DIR] [-F HZ] [--flush SECONDS]\n"
	"                     [--retention DURATION] [--max-size BYTES] [--max-memory BYTES]\n"
	"                     [--listen ADDR:PORT] [--push URL] [--config FILE]\n"
	"  symbolize   smolder symbolize (--pid PID | --elf FILE) ADDR..\n"
	"  info        summarise a profile or store: smolder info FILE|DIR\n"
	"\n"
	"Run 'smolder <command> --help' for a command's options.\n";

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("smolder: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = { { "", 0 },   { "K", 10 }, { "KiB", 10 }, { "M", 20 },
		      { "MiB", 20 }, { "G", 30 }, { "GiB", 30 } };
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix))
			continue;
		if (v > (UINT64_MAX >> units[i].shift))
			return -EINVAL;
		*out = (uint64_t)v << units[i].shift;
		return 0;
	}
	return -EINVAL;
}

int cli_parse_duration(const char *s, double *seconds)
{
	static const struct {
		const char *suffix;
		double scale;
	} units[] = { { "", 1 },       { "s", 1 },       { "m", 60 },
		      { "h", 3600 },   { "d", 86400 },   { "w", 604800 } };
	double v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || !(v >= 0) || v > 1e9)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix))
			continue;
		*seconds = v * units[i].scale;
		return 0;
	}
	return -EINVAL;
}

int cli_output_open(struct cli_output *o, const char *path)
{
	int fd, err;

	memset(o, 0, sizeof(*o));
	if (!strcmp(path, "-")) {
		o->f = stdout;
		return 0;
	}
	/* A device, FIFO or the like (/dev/null, /dev/stdout) is written in place:
	 * renaming a temporary file over it would replace the node itself. */
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		o->f = fopen(path, "we");
		if (!o->f) {
			err = errno;
			cli_error("cannot write %s: %s", path, strerror(err));
			return -err;
		}
		return 0;
	}
	o->path = strdup(path);
	if (!o->path || asprintf(&o->tmp, "%s.tmp.XXXXXX", path) < 0) {
		o->tmp = NULL;
		err = ENOMEM;
		goto fail;
	}
	fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		cli_error("cannot write %s: %s", path, strerror(err));
		free(o->tmp);
		o->tmp = NULL;
		goto fail_quiet;
	}
	fchmod(fd, 0644);
	o->f = fdopen(fd, "w");
	if (!o->f) {
		err = errno;
		close(fd);
		goto fail;
	}
	return 0;
fail:
	cli_error("cannot write %s: %s", path, strerror(err));
fail_quiet:
	cli_output_abort(o);
	return -err;
}

void cli_output_abort(struct cli_output *o)
{
	if (o->f && o->f != stdout)
		fclose(o->f);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
}

int cli_output_commit(struct cli_output *o)
{
	int err = 0;

	if (o->f && !o->tmp && o->f != stdout) { /* written in place (see open) */
		errno = 0;
		if (fflush(o->f) == EOF || ferror(o->f))
			err = errno ? errno : EIO;
		if (fclose(o->f) && !err)
			err = errno ? errno : EIO;
		o->f = NULL;
		if (err)
			cli_error("cannot write: %s", strerror(err));
		cli_output_abort(o);
		return -err;
	}
	if (o->f == stdout) {
		if (fflush(stdout) == EOF || ferror(stdout))
			err = errno ? errno : EIO;
		if (err)
			cli_error("cannot write to standard output: %s", strerror(err));
		memset(o, 0, sizeof(*o));
		return -err;
	}
	errno = 0;
	if (fflush(o->f) == EOF || ferror(o->f) || fsync(fileno(o->f)))
		err = errno ? errno : EIO;
	if (fclose(o->f) && !err)
		err = errno ? errno : EIO;
	o->f = NULL;
	if (!err && rename(o->tmp, o->path))
		err = errno;
	if (err) {
		cli_error("cannot write %s: %s", o->path, strerror(err));
		cli_output_abort(o);
		return -err;
	}
	free(o->tmp);
	o->tmp = NULL;
	cli_output_abort(o);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd || !strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		fputs(usage, cmd ? stdout : stderr);
		return cmd ? EXIT_OK : EXIT_USAGE;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("smolder %s\n", SMOLDER_VERSION);
		return EXIT_OK;
	}
	/* Blocks of 256 KiB and more (an ELF file's tables while it is parsed, a library's
	 * unwind tables, a chunk being compressed) come from mmap and go back to the
	 * kernel when freed. glibc's default raises that threshold to the largest block
	 * freed so far, after which such blocks come from the heap and the holes they
	 * leave stay resident: 15 MiB more RSS after a few minutes of recording a machine
	 * that runs compilers (docs/platform.md). */
	mallopt(M_MMAP_THRESHOLD, 256 << 10);
	if (!strcmp(cmd, "record"))
		return cmd_record(argc - 1, argv + 1);
	if (!strcmp(cmd, "flamegraph"))
		return cmd_flamegraph(argc - 1, argv + 1);
	if (!strcmp(cmd, "symbolize"))
		return cmd_symbolize(argc - 1, argv + 1);
	if (!strcmp(cmd, "info"))
		return cmd_info(argc - 1, argv + 1);
	if (!strcmp(cmd, "timeline"))
		return cmd_timeline(argc - 1, argv + 1);
	if (!strcmp(cmd, "export"))
		return cmd_export(argc - 1, argv + 1);
	if (!strcmp(cmd, "deploy"))
		return cmd_deploy(argc - 1, argv + 1);
	if (!strcmp(cmd, "agent"))
		return cmd_agent(argc - 1, argv + 1);
	cli_error("unknown command '%s' (see 'smolder --help')", cmd);
	return EXIT_USAGE;
}

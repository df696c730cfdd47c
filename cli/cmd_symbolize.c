/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_symbolize.c - `smolder symbolize (--pid PID | --elf FILE) ADDR..`: resolve
 * addresses the way the profiler does and print "ADDR NAME+0xOFF (FILE)", one line per
 * address, for debugging the symbolizer and for scripts (it is also what
 * scripts/bench-symbolize.sh measures against addr2line and llvm-symbolizer).
 *
 * Not on a sampling path, so it may fetch debug files through debuginfod when
 * DEBUGINFOD_URLS is set (bounded by --debuginfod-timeout).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "symbolizer.h"

#define MAX_DEBUG_DIRS 16
/* Addresses read from standard input ("-") are bounded per line. */
#define LINE_MAX_LEN 256

static const char symbolize_usage[] =
	"usage: smolder symbolize (--pid PID | --elf FILE) [options] ADDR..\n"
	"  -p, --pid PID            addresses in process PID (kernel addresses too)\n"
	"  -e, --elf FILE           ELF virtual addresses of FILE\n"
	"  ADDR                     hex, with or without 0x; '-' reads them from stdin\n"
	"      --debug-dir DIR      root of separate debug files (repeatable;\n"
	"                           default /usr/lib/debug)\n"
	"      --no-demangle        print C++/Rust names as they are in the file\n"
	"      --inline             also print inlined functions (--pid), innermost first\n"
	"      --no-debuginfod      never fetch through debuginfod (DEBUGINFOD_URLS)\n"
	"      --debuginfod-timeout MS  give up a fetch after MS ms (default 10000)\n"
	"      --stats              print cache statistics to stderr at the end\n"
	"\n"
	"Prints 'ADDR NAME+0xOFF (FILE)' per address, 'ADDR [unknown] (FILE)' when no\n"
	"symbol covers it, 'ADDR [unknown]' when it is in no mapped file.\n";

struct sym_ctx {
	struct symbolizer *s;
	struct elf_symtab *t;
	const char *elf;
	pid_t pid;
	bool demangle, inl;
};

static bool parse_addr(const char *arg, uint64_t *out)
{
	const char *p = arg;
	char *end;
	unsigned long long v;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	if (!*p || strchr(p, '-') || strchr(p, '+') || strchr(p, ' '))
		return false;
	errno = 0;
	v = strtoull(p, &end, 16);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* "ADDR" as the user gave it, always with 0x. */
static void print_addr(const char *arg)
{
	if (arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X'))
		fputs(arg, stdout);
	else
		printf("0x%s", arg);
}

/* "ADDR NAME+0xOFF (FILE)"; with a @suffix (" (inlined)"), "ADDR NAME (inlined) (FILE)". */
static void print_symbol(const char *arg, const char *name, uint64_t off, const char *module,
			 const char *suffix)
{
	print_addr(arg);
	if (name && suffix[0])
		printf(" %s%s", name, suffix); /* inlined: perf's "NAME (inlined)" */
	else if (name)
		printf(" %s+0x%" PRIx64, name, off);
	else
		fputs(" [unknown]", stdout);
	if (module)
		printf(" (%s)", module);
	putchar('\n');
}

/* @return 0, or a negative errno worth stopping for (the process is unknown). */
static int symbolize_one(struct sym_ctx *c, const char *arg, uint64_t addr)
{
	struct symbol sym, inl[32];
	int err, n;

	if (c->t) {
		uint64_t off = 0;
		const char *name = elf_symtab__resolve(c->t, addr, &off, c->demangle);

		print_symbol(arg, name, off, c->elf, "");
		return 0;
	}
	/* The kernel's half of the address space (x86-64, arm64). */
	if (addr >= 0xffff800000000000ull)
		err = symbolizer__resolve_kernel(c->s, addr, &sym);
	else
		err = symbolizer__resolve_user(c->s, c->pid, addr, &sym);
	if (err == -ESRCH) {
		cli_error("symbolize: no process %d (is it running? its maps were never read)",
			  (int)c->pid);
		return err;
	}
	if (err == -EACCES || err == -EPERM) {
		cli_error("symbolize: cannot read %s of process %d: %s (run as root or as its "
			  "user)",
			  addr >= 0xffff800000000000ull ? "kernel symbols" : "the mappings",
			  (int)c->pid, strerror(-err));
		return err;
	}
	if (err) {
		print_symbol(arg, NULL, 0, NULL, "");
		return 0;
	}
	if (c->inl && sym.name) {
		n = symbolizer__inline_frames(c->s, c->pid, addr, inl, 32);
		for (int i = 0; i < n; i++)
			print_symbol(arg, inl[i].name, 0, inl[i].module, " (inlined)");
	}
	print_symbol(arg, sym.name, sym.offset, sym.module, "");
	return 0;
}

static int symbolize_stdin(struct sym_ctx *c)
{
	char line[LINE_MAX_LEN];
	int err;

	while (fgets(line, sizeof(line), stdin)) {
		uint64_t addr;
		char *tok = strtok(line, " \t\r\n");

		if (!tok)
			continue;
		if (!parse_addr(tok, &addr)) {
			cli_error("symbolize: '%s' on standard input is not a hex address", tok);
			return -EINVAL;
		}
		err = symbolize_one(c, tok, addr);
		if (err)
			return err;
	}
	return 0;
}

int cmd_symbolize(int argc, char **argv)
{
	enum { OPT_DEBUG_DIR = 256, OPT_NO_DEMANGLE, OPT_INLINE, OPT_NO_DEBUGINFOD,
	       OPT_DEBUGINFOD_TIMEOUT, OPT_STATS };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "elf", required_argument, NULL, 'e' },
		{ "debug-dir", required_argument, NULL, OPT_DEBUG_DIR },
		{ "no-demangle", no_argument, NULL, OPT_NO_DEMANGLE },
		{ "inline", no_argument, NULL, OPT_INLINE },
		{ "no-debuginfod", no_argument, NULL, OPT_NO_DEBUGINFOD },
		{ "debuginfod-timeout", required_argument, NULL, OPT_DEBUGINFOD_TIMEOUT },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dirs[MAX_DEBUG_DIRS];
	struct sym_ctx c = { .pid = -1, .demangle = true };
	bool debuginfod = true, stats = false, have_pid = false;
	unsigned long timeout_ms = 10000;
	size_t ndirs = 0;
	int opt, i, err = 0, rc = EXIT_OK;
	char *end;
	long v;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "p:e:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v <= 0 || v > INT_MAX) {
				cli_error("symbolize: --pid wants a process id, not '%s'", optarg);
				return EXIT_USAGE;
			}
			c.pid = (pid_t)v;
			have_pid = true;
			break;
		case 'e':
			c.elf = optarg;
			break;
		case OPT_DEBUG_DIR:
			if (ndirs == MAX_DEBUG_DIRS) {
				cli_error("symbolize: at most %d --debug-dir", MAX_DEBUG_DIRS);
				return EXIT_USAGE;
			}
			dirs[ndirs++] = optarg;
			break;
		case OPT_NO_DEMANGLE:
			c.demangle = false;
			break;
		case OPT_INLINE:
			c.inl = true;
			break;
		case OPT_NO_DEBUGINFOD:
			debuginfod = false;
			break;
		case OPT_DEBUGINFOD_TIMEOUT:
			errno = 0;
			timeout_ms = strtoul(optarg, &end, 10);
			if (errno || *end || timeout_ms == 0 || timeout_ms > 3600000) {
				cli_error("symbolize: --debuginfod-timeout wants milliseconds "
					  "(1..3600000), not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_STATS:
			stats = true;
			break;
		case 'h':
			fputs(symbolize_usage, stdout);
			return EXIT_OK;
		default:
			fputs(symbolize_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (have_pid == !!c.elf) {
		cli_error("symbolize: give exactly one of --pid PID and --elf FILE "
			  "(see 'smolder symbolize --help')");
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		cli_error("symbolize: no addresses given (see 'smolder symbolize --help')");
		return EXIT_USAGE;
	}
	for (i = optind; i < argc; i++) {
		uint64_t addr;

		if (strcmp(argv[i], "-") && !parse_addr(argv[i], &addr)) {
			cli_error("symbolize: '%s' is not a hex address", argv[i]);
			return EXIT_USAGE;
		}
	}

	if (c.elf) {
		struct elf_symtab_opts eo = {
			.debug_dirs = ndirs ? dirs : NULL,
			.ndebug_dirs = ndirs,
			.debuginfod = debuginfod,
			.debuginfod_timeout_ms = (unsigned)timeout_ms,
		};

		c.t = elf_symtab__open_opts(c.elf, &eo);
		if (!c.t) {
			err = errno;
			cli_error("symbolize: cannot read %s: %s", c.elf,
				  err == ENOEXEC ? "not a complete ELF executable or shared object"
						 : strerror(err));
			return EXIT_FAIL;
		}
	} else {
		struct symbolizer_opts so = {
			.debug_dirs = ndirs ? dirs : NULL,
			.ndebug_dirs = ndirs,
			.raw_names = !c.demangle,
			.debuginfod = debuginfod,
			.debuginfod_timeout_ms = (unsigned)timeout_ms,
			.inline_frames = c.inl,
		};

		c.s = symbolizer__new(&so);
		if (!c.s) {
			cli_error("symbolize: %s", strerror(errno));
			return EXIT_FAIL;
		}
		/* Read the process's maps (and open its files) once, up front. */
		err = symbolizer__load_process(c.s, c.pid);
		if (err == -ESRCH) {
			cli_error("symbolize: no process %d (is it running?)", (int)c.pid);
			rc = EXIT_FAIL;
			goto out;
		}
		if (err) {
			cli_error("symbolize: cannot read the mappings of process %d: %s (run as "
				  "root or as its user)", (int)c.pid, strerror(-err));
			rc = EXIT_FAIL;
			goto out;
		}
	}

	for (i = optind; i < argc && !err; i++) {
		uint64_t addr = 0;

		if (!strcmp(argv[i], "-"))
			err = symbolize_stdin(&c);
		else if (parse_addr(argv[i], &addr))
			err = symbolize_one(&c, argv[i], addr);
	}
	if (err)
		rc = err == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	if (fflush(stdout) == EOF || ferror(stdout)) {
		cli_error("symbolize: cannot write to standard output: %s", strerror(errno));
		rc = EXIT_FAIL;
	}
	if (stats && c.s) {
		struct symbolizer_stats st;

		symbolizer__stats(c.s, &st);
		fprintf(stderr,
			"smolder: symbolizer: %zu ELF files (%zu bytes), %zu processes, %zu JIT "
			"maps (%zu bytes), %" PRIu64 " lookups, hit rate %.1f%%, %zu bytes in "
			"all\n",
			st.elf_files, st.elf_bytes, st.processes, st.jit_maps, st.jit_bytes,
			st.lookups, 100.0 * st.hit_rate, st.bytes);
	}
out:
	elf_symtab__free(c.t);
	symbolizer__free(c.s);
	return rc;
}

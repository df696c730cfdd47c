/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_record.c - `smolder record`: sample target processes (or every process) for
 * a while and write a flame graph or folded stacks. Ends at -d, on SIGINT/SIGTERM,
 * or when every target has exited, and always writes what it collected.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"
#include "flamegraph.h"
#include "profile.h"
#include "symbolizer.h"

#define DEFAULT_FREQ 99
#define DEFAULT_STACK_BYTES 16384
#define DEFAULT_OUTPUT "smolder.svg"
#define MAX_PIDS 1024
#define DRAIN_INTERVAL_MS 100
#define PRUNE_INTERVAL_NS 250000000LL

static const char record_usage[] =
	"usage: smolder record (-p PID[,PID..] | -a | -- CMD [ARGS..]) [options]\n"
	"  -p, --pid PID[,PID..]   sample these processes (and children they fork)\n"
	"  -a, --all-cpus          sample every process on the machine\n"
	"  -F, --freq HZ           samples per second per CPU (default 99)\n"
	"  -d, --duration SECONDS  stop after this long (default: until Ctrl-C or exit)\n"
	"      --unwind auto|fp|dwarf  user stacks: DWARF over a stack snapshot where\n"
	"                          possible, else frame pointers (auto, the default);\n"
	"                          frame pointers only (fp); DWARF only (dwarf)\n"
	"      --stack-bytes N     user stack copied per sample for DWARF unwinding\n"
	"                          (default 16384, multiple of 8, at most 65536)\n"
	"      --sampler auto|bpf|perf  how samples are taken: a BPF program (bpf),\n"
	"                          perf_event_open ring buffers (perf), or BPF where it\n"
	"                          can be loaded, else perf (auto, the default)\n"
	"      --no-kernel         leave out kernel stacks\n"
	"      --inline            show functions inlined into each frame, from DWARF\n"
	"                          debug information, as \"NAME (inlined)\"\n"
	"  -o, --output FILE       where to write (default " DEFAULT_OUTPUT "; - for stdout)\n"
	"      --format FORMAT     svg, folded, pprof (gzip profile.proto) or smolder\n"
	"                          (default: from -o's suffix: .svg .folded .pb.gz\n"
	"                          .smolder; else svg)\n";

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

struct record_opts {
	pid_t pids[MAX_PIDS];
	size_t npids;
	bool all;
	unsigned int freq;
	double duration; /* seconds; 0 = until stopped */
	bool kernel;
	enum unwind_mode unwind;
	enum sampler_backend backend;
	unsigned int stack_bytes;
	bool inline_frames;
	const char *output;
	enum profile_format format;
	char **cmd; /* NULL-terminated argv after -- */
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The process (thread group) @tid belongs to, from /proc; 0 when unknown. */
static pid_t thread_group(pid_t tid)
{
	char path[64], line[256];
	pid_t tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

static int parse_pids(struct record_opts *o, const char *arg)
{
	const char *p = arg;

	for (;;) {
		char *end;
		long v;

		errno = 0;
		v = (*p >= '0' && *p <= '9') ? strtol(p, &end, 10) : 0;
		if (v <= 0 || errno || v > INT_MAX || (*end && (*end != ',' || !end[1]))) {
			cli_error("-p takes process IDs separated by commas, not '%s'", arg);
			return -EINVAL;
		}
		if (o->npids == MAX_PIDS) {
			cli_error("-p: at most %d processes (use -a for all)", MAX_PIDS);
			return -EINVAL;
		}
		o->pids[o->npids++] = (pid_t)v;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

static int parse_args(struct record_opts *o, int argc, char **argv)
{
	enum { OPT_UNWIND = 256, OPT_NO_KERNEL, OPT_FORMAT, OPT_STACK_BYTES, OPT_SAMPLER,
	       OPT_INLINE };
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "all-cpus", no_argument, NULL, 'a' },
		{ "freq", required_argument, NULL, 'F' },
		{ "duration", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "unwind", required_argument, NULL, OPT_UNWIND },
		{ "stack-bytes", required_argument, NULL, OPT_STACK_BYTES },
		{ "sampler", required_argument, NULL, OPT_SAMPLER },
		{ "inline", no_argument, NULL, OPT_INLINE },
		{ "no-kernel", no_argument, NULL, OPT_NO_KERNEL },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char *end;
	int c;

	*o = (struct record_opts){
		.freq = DEFAULT_FREQ,
		.kernel = true,
		.unwind = UNWIND_AUTO,
		.stack_bytes = DEFAULT_STACK_BYTES,
	};
	opterr = 0;
	optind = 1;
	/* '+': stop at the first non-option, which starts the command to run. */
	while ((c = getopt_long(argc, argv, "+:p:aF:d:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_pids(o, optarg))
				return -EINVAL;
			break;
		case 'a':
			o->all = true;
			break;
		case 'F': {
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || v == 0 || v > 100000) {
				cli_error("-F takes a rate from 1 to 100000 Hz, not '%s'", optarg);
				return -EINVAL;
			}
			o->freq = (unsigned int)v;
			break;
		}
		case 'd':
			errno = 0;
			o->duration = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(o->duration > 0) ||
			    o->duration > 1e7 || isnan(o->duration)) {
				cli_error("-d takes a positive number of seconds, not '%s'", optarg);
				return -EINVAL;
			}
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_UNWIND:
			if (!strcmp(optarg, "auto")) {
				o->unwind = UNWIND_AUTO;
			} else if (!strcmp(optarg, "fp")) {
				o->unwind = UNWIND_FP;
			} else if (!strcmp(optarg, "dwarf")) {
				o->unwind = UNWIND_DWARF;
			} else {
				cli_error("--unwind takes auto, fp or dwarf, not '%s'", optarg);
				return -EINVAL;
			}
			break;
		case OPT_SAMPLER:
			if (!strcmp(optarg, "auto")) {
				o->backend = SAMPLER_AUTO;
			} else if (!strcmp(optarg, "bpf")) {
				o->backend = SAMPLER_BPF;
			} else if (!strcmp(optarg, "perf")) {
				o->backend = SAMPLER_PERF;
			} else {
				cli_error("--sampler takes auto, bpf or perf, not '%s'", optarg);
				return -EINVAL;
			}
			break;
		case OPT_STACK_BYTES: {
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || v == 0 || v % 8 ||
			    v > SMOLDER_MAX_STACK_BYTES) {
				cli_error("--stack-bytes takes a multiple of 8 from 8 to %d, "
					  "not '%s'", SMOLDER_MAX_STACK_BYTES, optarg);
				return -EINVAL;
			}
			o->stack_bytes = (unsigned int)v;
			break;
		}
		case OPT_INLINE:
			o->inline_frames = true;
			break;
		case OPT_NO_KERNEL:
			o->kernel = false;
			break;
		case OPT_FORMAT:
			o->format = profile__format_from_name(optarg);
			if (o->format == PROFILE_FORMAT_NONE) {
				cli_error("--format takes svg, folded, pprof or smolder, not '%s'",
					  optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			fputs(record_usage, stdout);
			exit(EXIT_OK);
		case ':':
			cli_error("option %s needs a value (see 'smolder record --help')",
				  argv[optind - 1]);
			return -EINVAL;
		default:
			cli_error("unknown option '%s' (see 'smolder record --help')",
				  argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc)
		o->cmd = argv + optind;
	if ((o->npids > 0) + o->all + (o->cmd != NULL) != 1) {
		cli_error("record needs exactly one of -p PID, -a, or -- CMD "
			  "(see 'smolder record --help')");
		return -EINVAL;
	}
	if (!o->output)
		o->output = DEFAULT_OUTPUT;
	if (o->format == PROFILE_FORMAT_NONE)
		o->format = profile__format_from_suffix(o->output);
	if (o->format == PROFILE_FORMAT_NONE)
		o->format = PROFILE_FORMAT_SVG;
	return 0;
}

/*
 * Fork the command stopped before exec; it runs once start_child() lets it go,
 * which is after sampling is attached, so its first instructions are sampled.
 */
struct child {
	pid_t pid;
	int go_fd;   /* write a byte: exec now */
	int err_fd;  /* the child writes errno here if exec fails; EOF means it ran */
	bool reaped;
	int status;
};

static int fork_child(struct child *ch, char **cmd)
{
	int go[2], errp[2];

	int err;

	if (pipe2(go, O_CLOEXEC)) {
		err = errno;
		cli_error("cannot start %s: %s", cmd[0], strerror(err));
		return -err;
	}
	if (pipe2(errp, O_CLOEXEC)) {
		err = errno;
		close(go[0]);
		close(go[1]);
		cli_error("cannot start %s: %s", cmd[0], strerror(err));
		return -err;
	}
	ch->pid = fork();
	if (ch->pid < 0) {
		err = errno;
		close(go[0]);
		close(go[1]);
		close(errp[0]);
		close(errp[1]);
		cli_error("cannot start %s: %s", cmd[0], strerror(err));
		return -err;
	}
	if (ch->pid == 0) {
		char b;
		int e;

		close(go[1]);
		close(errp[0]);
		signal(SIGPIPE, SIG_DFL);
		if (read(go[0], &b, 1) != 1)
			_exit(127); /* the parent gave up before starting us */
		execvp(cmd[0], cmd);
		e = errno;
		if (write(errp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(errp[1]);
	ch->go_fd = go[1];
	ch->err_fd = errp[0];
	return 0;
}

static int start_child(struct child *ch, const char *name)
{
	int e = 0;
	ssize_t n;

	if (write(ch->go_fd, "g", 1) != 1) {
		cli_error("cannot start %s: %s", name, strerror(errno));
		return -EIO;
	}
	close(ch->go_fd);
	ch->go_fd = -1;
	n = read(ch->err_fd, &e, sizeof(e));
	close(ch->err_fd);
	ch->err_fd = -1;
	if (n == sizeof(e)) {
		cli_error("cannot run %s: %s", name, strerror(e));
		waitpid(ch->pid, NULL, 0);
		ch->reaped = true;
		return -e;
	}
	return 0;
}

struct run {
	struct collector *collector;
	int err;
};

static int on_sample(const struct smolder_sample *s, void *ctx)
{
	struct run *r = ctx;
	int err = collector__add(r->collector, s);

	if (err && !r->err)
		r->err = err;
	return err;
}

static void describe_targets(const struct record_opts *o, char *buf, size_t len)
{
	size_t off = 0;

	if (o->all) {
		snprintf(buf, len, "all processes");
		return;
	}
	if (o->cmd) {
		snprintf(buf, len, "%s", o->cmd[0]);
		return;
	}
	off = snprintf(buf, len, "pid ");
	for (size_t i = 0; i < o->npids && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%d", i ? "," : "", o->pids[i]);
}

/* Write @p to @out (opened before sampling, so a bad -o fails at once) and commit it. */
static int write_output(const struct record_opts *o, struct cli_output *out,
			const struct profile *p, double seconds, uint64_t lost, int64_t start_wall)
{
	char targets[256], subtitle[512], when[64];
	struct tm tm;
	time_t t = (time_t)start_wall;
	int err;

	if (o->format == PROFILE_FORMAT_FOLDED) {
		err = profile__write_folded(p, out->f);
	} else if (o->format == PROFILE_FORMAT_PPROF) {
		err = profile__write_pprof(p, out->f);
	} else if (o->format == PROFILE_FORMAT_SMOLDER) {
		err = profile__write_file(p, out->f, 0);
	} else {
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		describe_targets(o, targets, sizeof(targets));
		snprintf(subtitle, sizeof(subtitle),
			 "%s, %u Hz, %.1f s from %s, %zu samples, %llu lost", targets,
			 o->freq, seconds, when, profile__sample_count(p),
			 (unsigned long long)lost);
		struct flamegraph_opts fo = { .title = "CPU Flame Graph", .subtitle = subtitle };
		err = flamegraph__write_svg(p, &fo, out->f);
	}
	if (err) {
		cli_error("cannot write %s: %s", o->output, strerror(-err));
		cli_output_abort(out);
		return err;
	}
	return cli_output_commit(out);
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o;
	struct sampler_opts so;
	struct sampler *sampler = NULL;
	struct symbolizer *sym = NULL;
	struct unwinder *unwinder = NULL;
	struct ksym *ksym = NULL;
	struct profile *profile = NULL;
	struct sampler_stats stats;
	struct child child = { .pid = 0, .go_fd = -1, .err_fd = -1 };
	struct run run = { 0 };
	struct sigaction sa = { .sa_handler = on_stop_signal };
	struct cli_output out = { 0 };
	bool out_open = false;
	char msg[512], note[768];
	int64_t start, deadline = 0, next_prune = 0, next_progress = 0, start_wall;
	bool tty = isatty(STDERR_FILENO);
	int ret = EXIT_FAIL, err;

	if (parse_args(&o, argc, argv))
		return EXIT_USAGE;

	for (size_t i = 0; i < o.npids; i++) {
		pid_t tgid;

		if (kill(o.pids[i], 0) && errno == ESRCH) {
			cli_error("no process with PID %d (is it running? check 'ps -p %d')",
				  o.pids[i], o.pids[i]);
			return EXIT_FAIL;
		}
		/* Targets are processes: a thread ID means its process. */
		tgid = thread_group(o.pids[i]);
		if (tgid > 0 && tgid != o.pids[i]) {
			cli_error("note: %d is a thread of process %d: sampling process %d",
				  o.pids[i], tgid, tgid);
			o.pids[i] = tgid;
		}
	}

	/* Open the output first: a bad -o should fail now, not after the run. */
	if (cli_output_open(&out, o.output))
		return EXIT_FAIL;
	out_open = true;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	profile = profile__new();
	struct symbolizer_opts symo = { .inline_frames = o.inline_frames };
	sym = symbolizer__new(&symo);
	if (!profile || !sym) {
		cli_error("out of memory");
		goto cleanup;
	}
	if (o.unwind != UNWIND_FP) {
		unwinder = unwinder__new(sym, NULL);
		if (!unwinder) {
			cli_error("out of memory");
			goto cleanup;
		}
	}
	run.collector = collector__new(profile, sym, unwinder, o.unwind);
	if (!run.collector) {
		cli_error("out of memory");
		goto cleanup;
	}
	collector__set_inline(run.collector, o.inline_frames);
	/* Kernel frames named by the kernel itself when BPF allows it: reading
	 * /proc/kallsyms instead would be most of a short run's CPU. */
	if (o.kernel && (ksym = ksym__new()))
		collector__set_ksym(run.collector, ksym);

	so = (struct sampler_opts){
		.backend = o.backend,
		.freq = o.freq,
		.all = o.all,
		.kernel_stacks = o.kernel,
		.stack_bytes = o.unwind == UNWIND_FP ? 0 : o.stack_bytes,
	};
	sampler = sampler__open(&so, msg, sizeof(msg), note, sizeof(note));
	if (!sampler) {
		cli_error("%s", msg);
		goto cleanup;
	}
	if (note[0])
		cli_error("%s", note);

	if (o.cmd) {
		if (fork_child(&child, o.cmd))
			goto cleanup;
		err = sampler__add_target(sampler, child.pid);
		if (err) {
			cli_error("cannot follow %s: %s", o.cmd[0], strerror(-err));
			goto cleanup;
		}
		if (start_child(&child, o.cmd[0]))
			goto cleanup;
	}
	for (size_t i = 0; i < o.npids; i++) {
		err = sampler__add_target(sampler, o.pids[i]);
		if (err == -ESRCH) {
			cli_error("no process with PID %d (it exited before sampling started)",
				  o.pids[i]);
			goto cleanup;
		}
		if (err) {
			cli_error("cannot follow PID %d: %s", o.pids[i], strerror(-err));
			goto cleanup;
		}
		/* Read its mappings now: it may exit before its first sample is read. */
		symbolizer__load_process(sym, o.pids[i]);
	}

	start = now_ns();
	start_wall = time(NULL);
	if (o.duration > 0)
		deadline = start + (int64_t)(o.duration * 1e9);
	while (!stop_signal) {
		int64_t now;

		err = sampler__drain(sampler, DRAIN_INTERVAL_MS, on_sample, &run);
		if (err < 0 && err != -EINTR && !run.err) {
			cli_error("reading samples failed: %s", strerror(-err));
			run.err = err; /* what was read is still written; the exit code says 1 */
			break;
		}
		if (run.err) {
			cli_error("recording samples failed: %s", strerror(-run.err));
			break;
		}
		if (child.pid && !child.reaped && waitpid(child.pid, &child.status, WNOHANG) > 0)
			child.reaped = true;
		now = now_ns();
		if (deadline && now >= deadline)
			break;
		if (!o.all && now >= next_prune) {
			if (sampler__prune_targets(sampler) == 0)
				break; /* every target has exited */
			next_prune = now + PRUNE_INTERVAL_NS;
		}
		if (tty && now >= next_progress) {
			fprintf(stderr, "\rsmolder: recording, %.0f s, %zu samples ",
				(now - start) / 1e9, profile__sample_count(profile));
			next_progress = now + 1000000000LL;
		}
	}
	/* What is still in the ring buffer was collected too. */
	if (!run.err)
		sampler__drain(sampler, 0, on_sample, &run);
	double seconds = (now_ns() - start) / 1e9;
	if (tty)
		fputs("\r\033[K", stderr);

	memset(&stats, 0, sizeof(stats));
	if (sampler__stats(sampler, &stats) == 0) {
		struct profile_counts c = { .lost = stats.counter[SMOLDER_CNT_LOST] };
		uint64_t short_copies = stats.counter[SMOLDER_CNT_STACK_SHORT];
		uint64_t failed_copies = stats.counter[SMOLDER_CNT_STACK_ERR];

		profile__add_counts(profile, &c);
		if (stats.counter[SMOLDER_CNT_TARGETS_FULL])
			cli_error("note: %llu child processes of targets were not followed: "
				  "more than %d targets at once",
				  (unsigned long long)stats.counter[SMOLDER_CNT_TARGETS_FULL],
				  SMOLDER_MAX_TARGETS);
		if (stats.counter[SMOLDER_CNT_KSTACK_TRUNC])
			cli_error("note: %llu kernel stacks were deeper than %d frames and "
				  "were cut",
				  (unsigned long long)stats.counter[SMOLDER_CNT_KSTACK_TRUNC],
				  SMOLDER_MAX_STACK_DEPTH);
		if (short_copies || failed_copies)
			cli_error("note: %llu user-stack copies were cut short and %llu failed "
				  "(unreadable stack memory); such stacks end in [truncated] "
				  "or fall back to frame pointers",
				  (unsigned long long)short_copies,
				  (unsigned long long)failed_copies);
	}
	struct profile_info info = {
		.period_ns = 1000000000ull / o.freq,
		.start_ns = (uint64_t)start_wall * 1000000000ull,
		.end_ns = (uint64_t)time(NULL) * 1000000000ull,
	};
	profile__set_info(profile, &info);
	out_open = false; /* write_output commits or aborts it */
	if (write_output(&o, &out, profile, seconds, profile__counts(profile)->lost, start_wall))
		goto cleanup;
	fprintf(stderr, "smolder: %zu samples (%llu lost, %llu truncated) from %zu process%s "
		"in %.1f s, %.1f KiB per sample from the kernel, wrote %s\n",
		profile__sample_count(profile),
		(unsigned long long)profile__counts(profile)->lost,
		(unsigned long long)profile__counts(profile)->truncated,
		collector__process_count(run.collector),
		collector__process_count(run.collector) == 1 ? "" : "es", seconds,
		stats.records ? stats.bytes / 1024.0 / stats.records : 0.0,
		!strcmp(o.output, "-") ? "to stdout" : o.output);
	ret = run.err ? EXIT_FAIL : EXIT_OK;

cleanup:
	if (child.pid > 0 && !child.reaped) {
		/* We stopped first (-d or a signal): end the command we started. */
		if (child.go_fd >= 0)
			close(child.go_fd);
		else
			kill(child.pid, SIGTERM);
		/* A command that ignores SIGTERM gets SIGKILL after 5 s, not an
		 * endless wait after its profile is written. */
		for (int i = 0; i < 500 && waitpid(child.pid, NULL, WNOHANG) == 0; i++)
			usleep(10000);
		if (waitpid(child.pid, NULL, WNOHANG) == 0) {
			kill(child.pid, SIGKILL);
			waitpid(child.pid, NULL, 0);
		}
	}
	if (out_open)
		cli_output_abort(&out);
	if (child.err_fd >= 0)
		close(child.err_fd);
	sampler__free(sampler);
	collector__free(run.collector);
	ksym__free(ksym);
	unwinder__free(unwinder);
	symbolizer__free(sym);
	profile__free(profile);
	return ret;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_record.c - `smolder record`: sample target processes (or every process) for
 * a while and write a flame graph, folded stacks, pprof or a .smolder file, or append
 * a batch per interval to a store. The run loop is agent/'s session; this file parses
 * the flags, writes what each flush hands over and prints. Ends at -d, on SIGINT,
 * SIGTERM, SIGHUP or SIGQUIT, or when every target has exited, and always writes what
 * it collected.
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
#include <sys/resource.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"
#include "flamegraph.h"
#include "profile.h"
#include "store.h"

#define DEFAULT_FREQ 99
#define DEFAULT_STACK_BYTES 16384
#define DEFAULT_OUTPUT "smolder.svg"
#define MAX_PIDS 1024
/* Below this the libraries alone do not fit (their code is ~12 MiB of RSS). */
#define MIN_MAX_MEMORY (16 << 20)
#define MAX_FLUSH_SECONDS 86400
#define SPILL_SECONDS 30 /* -o: seconds between moves of samples to the spill file */
#define STR_(x) #x
#define STR(x) STR_(x)

static const char record_usage[] =
	"usage: smolder record (-p PID[,PID..] | -a | -- CMD [ARGS..]) [options]\n"
	"  -p, --pid PID[,PID..]   sample these processes (and children they fork)\n"
	"      --children          with -p, also the children those processes have now\n"
	"                          (children they fork later are always followed)\n"
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
	"      --python-native     in CPython processes, keep the interpreter's native\n"
	"                          frames beside the Python ones that replace them\n"
	"      --no-python         native frames only, even in CPython processes\n"
	"  -o, --output FILE       where to write (default " DEFAULT_OUTPUT "; - for stdout)\n"
	"      --store DIR         instead, append the samples to the store in DIR, one\n"
	"                          batch per --flush interval (see smolder flamegraph)\n"
	"      --flush SECONDS     with --store: seconds between batches (default 10);\n"
	"                          with -o: seconds between moves of the samples so far\n"
	"                          to a temporary file beside the output, which keeps a\n"
	"                          long run's memory flat (default " STR(SPILL_SECONDS) ")\n"
	"      --max-memory BYTES  memory smolder's caches are sized to (K, M, G units;\n"
	"                          default 32M, with -a 64M); what they evict is counted\n"
	"  -v, --verbose           also print libbpf's and the sampler's detail\n"
	"      --format FORMAT     svg, folded, pprof (gzip profile.proto) or smolder\n"
	"                          (default: from -o's suffix: .svg .folded .pb.gz\n"
	"                          .smolder; else svg)\n";

/* The signals that end a run. SIGHUP (a closed terminal) and SIGQUIT (Ctrl-\) end it
 * like Ctrl-C: what was collected is still written, and SIGQUIT dumps no core. */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static struct session *volatile running; /* for the signal handler */
static volatile sig_atomic_t stop_requested; /* a stop signal came before the run */

static void on_stop_signal(int sig)
{
	struct session *s = running;

	(void)sig;
	stop_requested = 1;
	if (s)
		session__stop(s);
}

struct record_opts {
	pid_t pids[MAX_PIDS];
	size_t npids;
	bool all;
	bool children;
	unsigned int freq;
	double duration; /* seconds; 0 = until stopped */
	bool kernel;
	enum unwind_mode unwind;
	enum sampler_backend backend;
	unsigned int stack_bytes;
	bool inline_frames;
	bool python_native, no_python;
	const char *output;
	enum profile_format format;
	const char *store_dir;
	double flush;     /* seconds between store batches */
	bool verbose;
	uint64_t max_memory; /* 0: the session's default */
	char **cmd; /* NULL-terminated argv after -- */
};

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
	       OPT_INLINE, OPT_CHILDREN, OPT_STORE, OPT_FLUSH, OPT_MAX_MEMORY,
	       OPT_PYTHON_NATIVE, OPT_NO_PYTHON };
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
		{ "python-native", no_argument, NULL, OPT_PYTHON_NATIVE },
		{ "no-python", no_argument, NULL, OPT_NO_PYTHON },
		{ "no-kernel", no_argument, NULL, OPT_NO_KERNEL },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "children", no_argument, NULL, OPT_CHILDREN },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "flush", required_argument, NULL, OPT_FLUSH },
		{ "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
		{ "verbose", no_argument, NULL, 'v' },
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
	while ((c = getopt_long(argc, argv, "+:p:aF:d:o:vh", longopts, NULL)) != -1) {
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
			if (errno || *end || end == optarg || v > UINT_MAX) {
				cli_error("-F takes a rate in Hz, not '%s'", optarg);
				return -EINVAL;
			}
			o->freq = (unsigned int)v; /* its range: sampler_opts_check */
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
			if (errno || *end || end == optarg || v == 0 || v > UINT_MAX) {
				cli_error("--stack-bytes takes a number of bytes, not '%s'",
					  optarg);
				return -EINVAL;
			}
			o->stack_bytes = (unsigned int)v; /* its range: sampler_opts_check */
			break;
		}
		case OPT_INLINE:
			o->inline_frames = true;
			break;
		case OPT_PYTHON_NATIVE:
			o->python_native = true;
			break;
		case OPT_NO_PYTHON:
			o->no_python = true;
			break;
		case OPT_NO_KERNEL:
			o->kernel = false;
			break;
		case OPT_CHILDREN:
			o->children = true;
			break;
		case OPT_STORE:
			o->store_dir = optarg;
			break;
		case OPT_FLUSH:
			errno = 0;
			o->flush = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(o->flush >= 0.1) ||
			    o->flush > MAX_FLUSH_SECONDS) {
				cli_error("--flush takes seconds from 0.1 to %d, not '%s'",
					  MAX_FLUSH_SECONDS, optarg);
				return -EINVAL;
			}
			break;
		case OPT_MAX_MEMORY:
			if (cli_parse_size(optarg, &o->max_memory) ||
			    o->max_memory < MIN_MAX_MEMORY) {
				cli_error("--max-memory takes a size of at least %dM (such as 64M), "
					  "not '%s'", MIN_MAX_MEMORY >> 20, optarg);
				return -EINVAL;
			}
			break;
		case 'v':
			o->verbose = true;
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
	if (o->children && !o->npids) {
		cli_error("--children goes with -p PID (see 'smolder record --help')");
		return -EINVAL;
	}
	if (o->store_dir && (o->output || o->format != PROFILE_FORMAT_NONE)) {
		cli_error("--store writes to the store; leave out -o and --format");
		return -EINVAL;
	}
	if (o->store_dir && !o->flush)
		o->flush = 10;
	if (!o->flush)
		o->flush = SPILL_SECONDS;
	if (!o->output)
		o->output = DEFAULT_OUTPUT;
	if (o->format == PROFILE_FORMAT_NONE)
		o->format = profile__format_from_suffix(o->output);
	if (o->format == PROFILE_FORMAT_NONE)
		o->format = PROFILE_FORMAT_SVG;
	return 0;
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


/* What a flush writes to: the -o file (one flush, at the end) or the store. */
struct record_run {
	const struct record_opts *o;
	struct session *session;
	struct cli_output out;
	bool out_open;
	struct store *store;
	/* -o: the intervals so far, on disk (NULL: none could be opened), and those
	 * kept in memory once the spill file could not take them */
	struct profile_spill *spill;
	uint64_t spilled;
	struct profile *kept;
	bool tty;
};

static void print_log(enum agent_log_level level, const char *line, void *ctx)
{
	const struct record_opts *o = ctx;

	if (level == AGENT_LOG_NOTE || o->verbose)
		cli_error("%s", line);
}

static void on_progress(double seconds, uint64_t samples, void *ctx)
{
	struct record_run *r = ctx;

	if (r->tty)
		fprintf(stderr, "\rsmolder: recording, %.0f s, %llu samples ", seconds,
			(unsigned long long)samples);
}

/* The spill file of a run written to @output: beside it (same file system, not a
 * tmpfs that would hold it in memory), or in $TMPDIR for stdout. NULL when it cannot
 * be made: the run then keeps its samples in memory. */
static struct profile_spill *open_spill(const char *output)
{
	char dir[4096];
	const char *slash = strrchr(output, '/');

	if (!strcmp(output, "-"))
		snprintf(dir, sizeof(dir), "%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	else if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash == output ? 1 : slash - output),
			 output);
	return profile_spill__open(dir);
}

/* Write the whole run's profile @p to -o, which was opened before sampling so that a
 * bad path failed at once, and commit it. */
static int write_output(struct record_run *r, const struct profile *p)
{
	const struct record_opts *o = r->o;
	char targets[256], subtitle[512], when[64];
	struct session_stats st;
	struct profile_info info;
	struct tm tm;
	time_t t;
	int err;

	profile__info(p, &info);
	t = (time_t)(info.start_ns / 1000000000ull);
	if (o->format == PROFILE_FORMAT_FOLDED) {
		err = profile__write_folded(p, r->out.f);
	} else if (o->format == PROFILE_FORMAT_PPROF) {
		err = profile__write_pprof(p, r->out.f);
	} else if (o->format == PROFILE_FORMAT_SMOLDER) {
		err = profile__write_file(p, r->out.f, 0);
	} else {
		session__stats(r->session, &st);
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		describe_targets(o, targets, sizeof(targets));
		snprintf(subtitle, sizeof(subtitle),
			 "%s, %u Hz, %.1f s from %s, %zu samples, %llu lost", targets,
			 o->freq, st.seconds, when, profile__sample_count(p),
			 (unsigned long long)profile__counts(p)->lost);
		struct flamegraph_opts fo = { .title = "CPU Flame Graph", .subtitle = subtitle };
		err = flamegraph__write_svg(p, &fo, r->out.f);
	}
	r->out_open = false; /* committed or aborted below */
	if (err) {
		cli_error("cannot write %s: %s", o->output, strerror(-err));
		cli_output_abort(&r->out);
		return err;
	}
	return cli_output_commit(&r->out);
}

/* Keep interval @p of a -o run until the end: in the spill file, or in memory when
 * there is none or it cannot take more (a full disk costs memory, never samples). */
static int keep_interval(struct record_run *r, const struct profile *p)
{
	int err = r->spill ? profile_spill__append(r->spill, p) : -ENOENT;

	if (!err) {
		r->spilled++;
		return 0;
	}
	if (r->spill) {
		cli_error("note: cannot move samples to a temporary file beside %s (%s); "
			  "keeping the rest of the run in memory", r->o->output, strerror(-err));
		profile_spill__close(r->spill);
		r->spill = NULL;
	}
	if (!r->kept && !(r->kept = profile__new()))
		return -ENOMEM;
	return profile__merge(r->kept, p, NULL);
}

/* The last interval @p of a -o run: with the intervals kept before it, the output. */
static int finish_output(struct record_run *r, struct profile *p)
{
	struct profile *all;
	int err;

	if (!r->spilled && !r->kept)
		return write_output(r, p); /* a run within one interval */
	all = profile__new();
	err = all ? 0 : -ENOMEM;
	if (!err && r->spilled)
		err = profile_spill__read(r->spill, all);
	if (!err && r->kept)
		err = profile__merge(all, r->kept, NULL);
	if (!err)
		err = profile__merge(all, p, NULL);
	if (err) {
		cli_error("cannot read back the recording's samples: %s", strerror(-err));
		cli_output_abort(&r->out);
		r->out_open = false;
	} else {
		err = write_output(r, all);
	}
	profile__free(all);
	return err;
}

static int on_flush(struct profile *p, bool last, void *ctx)
{
	struct record_run *r = ctx;
	int err;

	if (!r->store)
		return last ? finish_output(r, p) : keep_interval(r, p);
	if (!profile__sample_count(p) && !profile__counts(p)->lost)
		return 0; /* nothing to store for this interval */
	err = store__append(r->store, p);
	if (err)
		cli_error("cannot append to the store in %s: %s", r->o->store_dir,
			  strerror(-err));
	return err;
}

/* The closing notes: what the counters say the user should know. */
static void print_notes(const struct record_opts *o, const struct session_stats *st)
{
	const uint64_t *cnt = st->sampler.counter;

	if (cnt[SMOLDER_CNT_TARGETS_FULL])
		cli_error("note: %llu child processes of targets were not followed: more "
			  "than %d targets at once",
			  (unsigned long long)cnt[SMOLDER_CNT_TARGETS_FULL], SMOLDER_MAX_TARGETS);
	if (cnt[SMOLDER_CNT_KSTACK_TRUNC])
		cli_error("note: %llu kernel stacks were deeper than %d frames and were cut",
			  (unsigned long long)cnt[SMOLDER_CNT_KSTACK_TRUNC],
			  SMOLDER_MAX_STACK_DEPTH);
	if (cnt[SMOLDER_CNT_STACK_SHORT] || cnt[SMOLDER_CNT_STACK_ERR])
		cli_error("note: %llu user-stack copies were cut short and %llu failed "
			  "(unreadable stack memory); such stacks end in [truncated] or fall "
			  "back to frame pointers",
			  (unsigned long long)cnt[SMOLDER_CNT_STACK_SHORT],
			  (unsigned long long)cnt[SMOLDER_CNT_STACK_ERR]);
	if (st->sample_errors)
		cli_error("note: %llu samples could not be recorded (the first: %s); the "
			  "rest are in the profile", (unsigned long long)st->sample_errors,
			  strerror(-st->first_sample_err));
	if (st->flush_dropped)
		cli_error("note: %llu intervals (%llu samples) were dropped unwritten: writing "
			  "to the store fell behind", (unsigned long long)st->flush_dropped,
			  (unsigned long long)st->flush_dropped_samples);
	if (st->peak_rss > st->max_memory)
		cli_error("note: smolder's memory peaked at %.1f MiB, over its budget of "
			  "%.0f MiB (--max-memory)", st->peak_rss / 1048576.0,
			  st->max_memory / 1048576.0);
	if (st->pre_exec)
		cli_error("note: %llu samples of %s before its exec were left out (they "
			  "show smolder starting it)", (unsigned long long)st->pre_exec,
			  o->cmd[0]);
	if (st->samples || !o->npids)
		return;
	/* The targets never ran: a shell waiting for its child, say. Name the
	 * children that did run, so the user can rerun with the right one. */
	if (!st->nbusy_children) {
		cli_error("note: the target%s used no CPU while sampled: nothing to show",
			  o->npids > 1 ? "s" : "");
		return;
	}
	char list[512];
	size_t off = 0;

	for (size_t i = 0; i < st->nbusy_children && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d (%s, %.1f s CPU)",
					i ? ", " : "", st->busy_children[i].pid,
					st->busy_children[i].comm,
					st->busy_children[i].cpu_seconds);
	cli_error("note: the target%s used no CPU while sampled, but %s child%s did: %s; "
		  "rerun with -p %d, or add --children", o->npids > 1 ? "s" : "",
		  o->npids > 1 ? "their" : "its", st->nbusy_children > 1 ? "ren" : "", list,
		  st->busy_children[0].pid);
}

/* Kilobytes of the "VmRSS:" / "VmHWM:" line of /proc/self/status, or 0. */
static unsigned long self_status_kib(const char *key)
{
	char line[256];
	unsigned long kib = 0;
	size_t klen = strlen(key);
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && sscanf(line + klen, "%lu", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/*
 * With -v: what the engine did, one "smolder: stats" line per part, as key=value
 * pairs that scripts read (scripts/bench-engine.sh): CPU per sample, memory, and each
 * cache's hits and misses.
 */
static void print_stats(const struct session_stats *st)
{
	const struct registry_stats *r = &st->registry;
	const struct collector_stats *c = &st->collector;
	const struct unwind_stats *u = &st->unwind;
	const struct symbolizer_stats *y = &st->symbolizer;
	const uint64_t *cnt = st->sampler.counter;
	struct rusage ru;
	double user, sys;

	getrusage(RUSAGE_SELF, &ru);
	user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	fprintf(stderr, "smolder: stats cpu_user_s=%.3f cpu_sys_s=%.3f us_per_sample=%.1f "
		"rss_kib=%lu peak_rss_kib=%lu max_memory_kib=%zu samples=%llu lost=%llu "
		"events_lost=%llu sample_errors=%llu\n",
		user, sys, st->samples ? (user + sys) * 1e6 / (double)st->samples : 0.0,
		self_status_kib("VmRSS:"), self_status_kib("VmHWM:"), st->max_memory / 1024,
		(unsigned long long)st->samples, (unsigned long long)st->lost,
		(unsigned long long)cnt[SMOLDER_CNT_EVENTS_LOST],
		(unsigned long long)st->sample_errors);
	fprintf(stderr, "smolder: stats processes_live=%llu images=%llu exits=%llu "
		"evictions=%llu proc_reads=%llu labels_known=%llu labels_from_parent=%llu "
		"labels_from_event=%llu env_from_exec=%llu unlabelled=%llu "
		"images_dropped=%llu labels_known_unchecked=%llu labels_known_recent=%llu "
		"labels_shared=%llu\n",
		(unsigned long long)r->live, (unsigned long long)r->images,
		(unsigned long long)r->exits, (unsigned long long)r->evictions,
		(unsigned long long)r->proc_reads, (unsigned long long)r->from_known,
		(unsigned long long)r->from_parent, (unsigned long long)r->from_event,
		(unsigned long long)r->env_from_exec, (unsigned long long)r->unlabelled,
		(unsigned long long)r->pending_dropped, (unsigned long long)r->known_unchecked,
		(unsigned long long)r->known_recent,
		(unsigned long long)r->labels_shared);
	fprintf(stderr, "smolder: stats frame_cache_hits=%llu frame_cache_file_hits=%llu "
		"frame_cache_misses=%llu "
		"frame_cache_resets=%llu symbol_cache_hits=%llu symbol_cache_misses=%llu "
		"elf_parses=%llu elf_evictions=%llu symbolizer_kib=%zu ident_kernel=%llu "
		"ident_hits=%llu ident_misses=%llu maps_pushed=%llu maps_read=%llu "
		"mmap_records=%llu mmap_lost=%llu mmap_resets=%llu mmap_head_reads=%llu "
		"pushed_processes=%zu "
		"pushed_kib=%zu pushed_evictions=%llu kernel_asks=%llu\n",
		(unsigned long long)c->addr_cache_hits,
		(unsigned long long)c->addr_cache_file_hits,
		(unsigned long long)c->addr_cache_misses,
		(unsigned long long)c->addr_cache_resets, (unsigned long long)y->hits,
		(unsigned long long)(y->lookups - y->hits), (unsigned long long)y->elf_parses,
		(unsigned long long)y->elf_evictions, y->bytes / 1024,
		(unsigned long long)y->ident_kernel, (unsigned long long)y->ident_hits,
		(unsigned long long)y->ident_misses, (unsigned long long)y->maps_pushed,
		(unsigned long long)y->maps_read, (unsigned long long)st->mmap_events.records,
		(unsigned long long)st->mmap_events.lost,
		(unsigned long long)st->mmap_events.resets,
		(unsigned long long)st->mmap_events.head_reads, y->pushed_processes,
		y->pushed_bytes / 1024, (unsigned long long)y->pushed_evictions,
		(unsigned long long)y->kernel_asks);
	fprintf(stderr, "smolder: stats unwinds=%llu unwind_truncated=%llu unwind_failed=%llu "
		"unwind_elf_loads=%llu unwind_elfs_cached=%llu unwind_elf_failed=%llu "
		"unwind_elf_evictions=%llu unwind_kib=%llu unwind_file_reads=%llu "
		"unwind_row_hits=%llu unwind_row_misses=%llu unwind_fallbacks=%llu "
		"unwind_no_info=%llu\n",
		(unsigned long long)u->unwinds, (unsigned long long)u->truncated,
		(unsigned long long)u->failed, (unsigned long long)u->elf_loads,
		(unsigned long long)u->elfs_cached, (unsigned long long)u->elf_failed,
		(unsigned long long)u->elf_evictions, (unsigned long long)(u->elf_bytes / 1024),
		(unsigned long long)u->file_reads, (unsigned long long)u->row_hits,
		(unsigned long long)u->row_misses, (unsigned long long)u->fallbacks,
		(unsigned long long)u->no_info);
	fprintf(stderr, "smolder: stats python_processes=%llu python_unsupported=%llu "
		"python_probe_errors=%llu python_samples=%llu python_frames=%llu "
		"python_no_thread=%llu python_read_errors=%llu python_truncated=%llu "
		"python_codes_read=%llu python_code_errors=%llu python_unnamed_runs=%llu "
		"python_unknown=%llu python_wakeups=%llu\n",
		(unsigned long long)st->python.processes, (unsigned long long)st->python.unsupported,
		(unsigned long long)st->python.probe_errors,
		(unsigned long long)cnt[SMOLDER_CNT_PY_SAMPLES],
		(unsigned long long)cnt[SMOLDER_CNT_PY_FRAMES],
		(unsigned long long)cnt[SMOLDER_CNT_PY_NO_THREAD],
		(unsigned long long)cnt[SMOLDER_CNT_PY_READ_ERR],
		(unsigned long long)cnt[SMOLDER_CNT_PY_TRUNC],
		(unsigned long long)st->python.codes_read, (unsigned long long)st->python.code_errors,
		(unsigned long long)c->python_unnamed, (unsigned long long)c->python_unknown,
		(unsigned long long)cnt[SMOLDER_CNT_PY_WAKEUPS]);
}

int cmd_record(int argc, char **argv)
{
	struct record_opts o;
	struct record_run run = { .o = &o, .tty = isatty(STDERR_FILENO) };
	struct session_opts so;
	struct session_stats st;
	/* SA_RESTART: a stop signal must not fail a read or write under way (a second
	 * Ctrl-C during the final write); the run loop's poll returns on it all the same. */
	struct sigaction sa = { .sa_handler = on_stop_signal, .sa_flags = SA_RESTART };
	char msg[512];
	int ret = EXIT_FAIL, err;

	if (parse_args(&o, argc, argv))
		return EXIT_USAGE;
	agent__set_log(print_log, &o);

	so = (struct session_opts){
		.sampler = {
			.backend = o.backend,
			.freq = o.freq,
			.all = o.all,
			.kernel_stacks = o.kernel,
			.stack_bytes = o.unwind == UNWIND_FP ? 0 : o.stack_bytes,
		},
		.collector = { .unwind = o.unwind, .inline_frames = o.inline_frames,
			       .python_native = o.python_native, .no_python = o.no_python },
		.pids = o.pids,
		.npids = o.npids,
		.children = o.children,
		.cmd = o.cmd,
		.duration = o.duration,
		.flush_interval = o.flush,
		.max_memory = (size_t)o.max_memory,
		.flush = on_flush,
		.progress = on_progress,
		.ctx = &run,
	};
	if (sampler_opts_check(&so.sampler, msg, sizeof(msg))) {
		cli_error("%s", msg);
		return EXIT_USAGE;
	}
	/* Before the output is opened: from the moment its temporary file exists, a stop
	 * signal must end in the output written (or the temporary removed), never in a
	 * process killed with the temporary left behind. One that comes before the
	 * session runs stops it as soon as it exists. */
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaction(stop_signals[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Open the output first: a bad -o or store should fail now, not after the run. */
	if (o.store_dir) {
		run.store = store__open(o.store_dir, NULL);
		if (!run.store) {
			cli_error("cannot open the store in %s: %s", o.store_dir,
				  errno == EBUSY ? "another smolder writes to it" : strerror(errno));
			return EXIT_FAIL;
		}
	} else {
		if (cli_output_open(&run.out, o.output))
			return EXIT_FAIL;
		run.out_open = true;
		run.spill = open_spill(o.output);
	}

	run.session = session__open(&so, msg, sizeof(msg));
	if (!run.session) {
		cli_error("%s", msg);
		goto cleanup;
	}
	running = run.session;
	if (stop_requested)
		session__stop(run.session);

	err = session__run(run.session, msg, sizeof(msg));
	running = NULL;
	if (run.tty)
		fputs("\r\033[K", stderr);
	if (err && msg[0])
		cli_error("%s", msg);
	session__stats(run.session, &st);
	print_notes(&o, &st);
	if (o.verbose)
		print_stats(&st);
	if (o.verbose && (run.spilled || run.kept))
		fprintf(stderr, "smolder: stats spill_intervals=%llu spill_kib=%llu spill_files=%zu "
			"kept_in_memory=%s\n", (unsigned long long)run.spilled,
			(unsigned long long)(run.spill ? profile_spill__bytes(run.spill) / 1024 : 0),
			run.spill ? profile_spill__segments(run.spill) : 0, run.kept ? "yes" : "no");
	if (run.out_open)
		goto cleanup; /* the final flush never ran */
	fprintf(stderr, "smolder: %llu samples (%llu lost, %llu truncated) from %zu process%s "
		"in %.1f s, %.1f KiB per sample from the kernel, %s %s\n",
		(unsigned long long)st.samples, (unsigned long long)st.lost,
		(unsigned long long)st.truncated, st.processes,
		st.processes == 1 ? "" : "es", st.seconds,
		st.sampler.records ? st.sampler.bytes / 1024.0 / st.sampler.records : 0.0,
		o.store_dir ? "stored in" : "wrote",
		o.store_dir ? o.store_dir : !strcmp(o.output, "-") ? "to stdout" : o.output);
	ret = err ? EXIT_FAIL : EXIT_OK;

cleanup:
	running = NULL;
	session__free(run.session);
	if (run.out_open)
		cli_output_abort(&run.out);
	store__close(run.store);
	profile_spill__close(run.spill);
	profile__free(run.kept);
	agent__set_log(NULL, NULL);
	return ret;
}

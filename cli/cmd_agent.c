/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_agent.c - `smolder agent`: the node daemon. Samples every process at a low
 * rate, all the time, into a bounded local store (agent/daemon.c), serves /metrics,
 * /healthz, /deploy, /flamegraph and /profile on a local HTTP endpoint
 * (agent_routes.c), and optionally pushes each interval to a Pyroscope server.
 *
 * Options come from the command line and from --config FILE (the same names,
 * "key = value" per line); the command line wins. SIGHUP rereads the file (the
 * retention bounds apply at once; other changes need a restart, which the log
 * says) and reopens --log. SIGTERM and SIGINT flush the interval under way and exit.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "agent_routes.h"
#include "cli.h"
#include "httpd.h"
#include "push.h"

#define DEFAULT_STORE "/var/lib/smolder"
#define DEFAULT_LISTEN "127.0.0.1:7071"
#define DEFAULT_FREQ 19
#define DEFAULT_FLUSH 10
#define MAX_FREQ 1000
#define MAX_FLUSH 3600
#define MIN_MAX_MEMORY (16 << 20)
#define PUSH_GRACE_S 1.0 /* at exit, time given to deliver what is queued */

static const char agent_usage[] =
	"usage: smolder agent [options]\n"
	"Sample every process on this machine, all the time, into a local store.\n"
	"      --store DIR         the store (default " DEFAULT_STORE ")\n"
	"  -F, --freq HZ           samples per second per CPU (default 19: a prime\n"
	"                          below 20, so sampling does not beat with timers at\n"
	"                          10, 20, 50 or 100 Hz; 19 Hz on every CPU costs a\n"
	"                          fraction of a percent of one)\n"
	"      --flush SECONDS     seconds between batches in the store (default 10)\n"
	"      --retention DURATION  delete what is older (e.g. 7d, 12h; default: keep)\n"
	"      --max-size BYTES    bound on the store's size (K, M, G units; default:\n"
	"                          none); the oldest segments go first\n"
	"      --max-memory BYTES  memory the caches are sized to (default 64M)\n"
	"      --listen ADDR:PORT  the HTTP endpoint (default " DEFAULT_LISTEN "; 'off'\n"
	"                          for none). Serves /metrics, /healthz, POST /deploy,\n"
	"                          /flamegraph and /profile\n"
	"      --push URL          also send each interval, per service, to the Grafana\n"
	"                          Pyroscope server at URL (its /ingest API)\n"
	"      --config FILE       options as 'key = value' lines, the long names above\n"
	"                          (and log, sampler); SIGHUP rereads it\n"
	"      --log FILE          write the log there instead of stderr (SIGHUP reopens)\n"
	"      --sampler auto|bpf|perf  how samples are taken (default auto)\n"
	"      --keep-capabilities  do not drop capabilities after attaching\n"
	"  -v, --verbose           also log libbpf's detail\n";

struct agent_opts {
	const char *store_dir;
	unsigned int freq;
	double flush;
	double retention; /* seconds; 0: keep */
	uint64_t max_size;
	uint64_t max_memory;
	const char *listen;
	const char *push;
	const char *config;
	const char *log;
	enum sampler_backend backend;
	bool keep_caps;
	bool verbose;
	/* Which options the command line gave: the config file does not override them. */
	unsigned int set;
};

enum { OPT_STORE = 1, OPT_FREQ, OPT_FLUSH, OPT_RETENTION, OPT_MAX_SIZE, OPT_MAX_MEMORY,
       OPT_LISTEN, OPT_PUSH, OPT_CONFIG, OPT_LOG, OPT_SAMPLER, OPT_KEEP_CAPS, OPT_HELP,
       OPT_VERBOSE };

static const struct option long_opts[] = {
	{ "store", required_argument, NULL, OPT_STORE },
	{ "freq", required_argument, NULL, OPT_FREQ },
	{ "flush", required_argument, NULL, OPT_FLUSH },
	{ "retention", required_argument, NULL, OPT_RETENTION },
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
	{ "max-memory", required_argument, NULL, OPT_MAX_MEMORY },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "push", required_argument, NULL, OPT_PUSH },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "sampler", required_argument, NULL, OPT_SAMPLER },
	{ "keep-capabilities", no_argument, NULL, OPT_KEEP_CAPS },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* ---- the log: one line per event, to stderr or --log ---- */

static FILE *log_file; /* NULL: stderr */
static bool log_verbose;
/* Lines come from the run loop, the writer, HTTP and push threads, and SIGHUP swaps
 * the file under them. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...)
{
	FILE *f;
	va_list ap;

	pthread_mutex_lock(&log_lock);
	f = log_file ? log_file : stderr;
	fputs("smolder: ", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
	pthread_mutex_unlock(&log_lock);
}

static void agent_log_cb(enum agent_log_level level, const char *line, void *ctx)
{
	(void)ctx;
	if (level == AGENT_LOG_NOTE || log_verbose)
		log_line("%s", line);
}

/* (Re)open the log at @path (NULL: stderr). @return 0 or -errno (errno kept). */
static int open_log(const char *path)
{
	FILE *f;

	if (!path)
		return 0;
	f = fopen(path, "ae");
	if (!f)
		return -errno;
	pthread_mutex_lock(&log_lock);
	if (log_file)
		fclose(log_file);
	log_file = f;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

/* ---- options ---- */

/* Take option @opt with value @arg; @where names its source for errors. */
static int take_option(struct agent_opts *o, int opt, const char *arg, const char *where)
{
	char *end;
	unsigned long v;
	double secs;

	switch (opt) {
	case OPT_STORE:
		o->store_dir = arg;
		break;
	case OPT_FREQ:
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno || *end || end == arg || v < 1 || v > MAX_FREQ) {
			cli_error("%s: -F takes 1 to %d samples per second, not '%s'", where,
				  MAX_FREQ, arg);
			return -EINVAL;
		}
		o->freq = (unsigned int)v;
		break;
	case OPT_FLUSH:
		if (cli_parse_duration(arg, &secs) || secs < 1 || secs > MAX_FLUSH) {
			cli_error("%s: --flush takes 1 to %d seconds, not '%s'", where,
				  MAX_FLUSH, arg);
			return -EINVAL;
		}
		o->flush = secs;
		break;
	case OPT_RETENTION:
		if (cli_parse_duration(arg, &secs) || (secs > 0 && secs < 60)) {
			cli_error("%s: --retention takes a duration of at least a minute (e.g. "
				  "7d, 12h, 90m) or 0 to keep everything, not '%s'", where, arg);
			return -EINVAL;
		}
		o->retention = secs;
		break;
	case OPT_MAX_SIZE:
		if (cli_parse_size(arg, &o->max_size) || (o->max_size && o->max_size < (1 << 20))) {
			cli_error("%s: --max-size takes a size of at least 1M (K, M, G units), "
				  "or 0 for no bound, not '%s'", where, arg);
			return -EINVAL;
		}
		break;
	case OPT_MAX_MEMORY:
		if (cli_parse_size(arg, &o->max_memory) || o->max_memory < MIN_MAX_MEMORY) {
			cli_error("%s: --max-memory takes a size of at least 16M, not '%s'",
				  where, arg);
			return -EINVAL;
		}
		break;
	case OPT_LISTEN:
		o->listen = arg;
		break;
	case OPT_PUSH:
		o->push = arg;
		break;
	case OPT_CONFIG:
		o->config = arg;
		break;
	case OPT_LOG:
		o->log = arg;
		break;
	case OPT_SAMPLER:
		if (!strcmp(arg, "auto"))
			o->backend = SAMPLER_AUTO;
		else if (!strcmp(arg, "bpf"))
			o->backend = SAMPLER_BPF;
		else if (!strcmp(arg, "perf"))
			o->backend = SAMPLER_PERF;
		else {
			cli_error("%s: --sampler takes auto, bpf or perf, not '%s'", where, arg);
			return -EINVAL;
		}
		break;
	case OPT_KEEP_CAPS:
		o->keep_caps = true;
		break;
	case OPT_VERBOSE:
		o->verbose = true;
		break;
	default:
		return -ENOENT;
	}
	return 0;
}

/*
 * Read --config @path into @o, leaving the options the command line set alone.
 * "key = value" per line (key: a long option name), '#' starts a comment. Values
 * are kept in @storage (freed by the caller, also on failure).
 * @return 0, or -EINVAL / -errno with one line said.
 */
static int read_config(const char *path, struct agent_opts *o, char **storage)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, where[4200];
	size_t cap = 0, lineno = 0, used = 0, total = 0;
	ssize_t n;
	int err = 0;

	*storage = NULL;
	if (!f) {
		err = -errno;
		cli_error("cannot read the config %s: %s", path, strerror(errno));
		return err;
	}
	/* Values point into one buffer as big as the file, so they outlive the read. */
	if (fseek(f, 0, SEEK_END) == 0 && (total = (size_t)ftell(f)) > (1 << 20)) {
		cli_error("config %s: larger than 1 MiB; is it the right file?", path);
		fclose(f);
		return -EFBIG;
	}
	rewind(f);
	*storage = malloc(total + 1);
	if (!*storage) {
		fclose(f);
		return -ENOMEM;
	}
	while (!err && (n = getline(&line, &cap, f)) > 0) {
		char *key = line, *val, *eq, *hash;
		const struct option *opt;

		lineno++;
		snprintf(where, sizeof(where), "%s:%zu", path, lineno);
		if ((hash = strchr(line, '#')))
			*hash = '\0';
		key += strspn(key, " \t");
		key[strcspn(key, "\r\n")] = '\0';
		if (!*key)
			continue;
		eq = strchr(key, '=');
		val = eq ? eq + 1 : key + strlen(key);
		if (eq)
			*eq = '\0';
		for (char *e = key + strlen(key); e > key && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		val += strspn(val, " \t");
		for (char *e = val + strlen(val); e > val && (e[-1] == ' ' || e[-1] == '\t');)
			*--e = '\0';
		for (opt = long_opts; opt->name && strcmp(opt->name, key); opt++)
			;
		if (!opt->name || opt->val == OPT_CONFIG || opt->val == OPT_HELP) {
			cli_error("%s: unknown setting '%s' (see 'smolder agent --help')", where,
				  key);
			err = -EINVAL;
			break;
		}
		if ((opt->has_arg == required_argument) != (eq != NULL)) {
			cli_error("%s: '%s' %s", where, key,
				  eq ? "takes no value" : "needs '= VALUE'");
			err = -EINVAL;
			break;
		}
		if (o->set & (1u << opt->val))
			continue; /* the command line said otherwise */
		if (!eq && opt->val == OPT_KEEP_CAPS) {
			o->keep_caps = true;
			continue;
		}
		size_t len = strlen(val) + 1;
		char *copy = *storage + used;

		memcpy(copy, val, len);
		used += len;
		err = take_option(o, opt->val, copy, where);
	}
	free(line);
	fclose(f);
	return err;
}

static void opts_defaults(struct agent_opts *o)
{
	*o = (struct agent_opts){
		.store_dir = DEFAULT_STORE,
		.freq = DEFAULT_FREQ,
		.flush = DEFAULT_FLUSH,
		.listen = DEFAULT_LISTEN,
	};
}

/* What the command line alone said: a reloaded --config applies over it. */
static struct agent_opts cmdline_opts;

/* @return 0, 1 after --help, or -EINVAL. @storage: see read_config. */
static int parse_args(struct agent_opts *o, int argc, char **argv, char **storage)
{
	int opt;

	opts_defaults(o);
	*storage = NULL;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "F:vh", long_opts, NULL)) != -1) {
		if (opt == 'F')
			opt = OPT_FREQ;
		else if (opt == 'v')
			opt = OPT_VERBOSE;
		else if (opt == 'h')
			opt = OPT_HELP;
		if (opt == OPT_HELP) {
			fputs(agent_usage, stdout);
			return 1;
		}
		if (opt == '?' || take_option(o, opt, optarg, "agent")) {
			if (opt == '?')
				fputs(agent_usage, stderr);
			return -EINVAL;
		}
		o->set |= 1u << opt;
	}
	if (optind < argc) {
		cli_error("agent takes no arguments ('%s'); see 'smolder agent --help'",
			  argv[optind]);
		return -EINVAL;
	}
	cmdline_opts = *o;
	if (o->config)
		return read_config(o->config, o, storage);
	return 0;
}

/* ---- signals ---- */

static struct daemon *volatile running;
static volatile sig_atomic_t stop_requested, reload_requested;

static void on_stop_signal(int sig)
{
	struct daemon *d = running;

	(void)sig;
	stop_requested = 1;
	if (d)
		daemon__stop(d);
}

static void on_hup(int sig)
{
	(void)sig;
	reload_requested = 1;
}

/* SIGHUP, acted on from the run loop: reread --config and reopen --log. */
static void on_tick(void *ctx)
{
	struct agent_run *run = ctx;
	const struct agent_opts *cur = run->opts;
	struct agent_opts o = { 0 };
	char *storage = NULL;

	if (!reload_requested)
		return;
	reload_requested = 0;
	if (cur->log && open_log(cur->log))
		log_line("cannot reopen the log %s: %s", cur->log, strerror(errno));
	if (!cur->config) {
		log_line("SIGHUP: logs reopened; no --config to reread");
		return;
	}
	o = cmdline_opts;
	if (read_config(cur->config, &o, &storage)) {
		log_line("SIGHUP: kept the running configuration");
		free(storage);
		return;
	}
	daemon__set_retention(run->daemon, (uint64_t)(o.retention * 1e9), o.max_size);
	run->retention = o.retention;
	run->max_size = o.max_size;
	if (o.freq != cur->freq || o.flush != cur->flush || strcmp(o.store_dir, cur->store_dir) ||
	    strcmp(o.listen, cur->listen) || (!o.push) != (!cur->push) ||
	    (o.push && strcmp(o.push, cur->push)) || o.max_memory != cur->max_memory ||
	    o.backend != cur->backend)
		log_line("SIGHUP: %s reread; retention and max-size apply now, the rest "
			 "of its changes after a restart", cur->config);
	else
		log_line("SIGHUP: %s reread; retention %.0f s, max-size %llu bytes",
			 cur->config, o.retention, (unsigned long long)o.max_size);
	free(storage);
}

/* Each flushed interval, to the pusher's queue (it never waits on the network). */
static void on_interval(const struct profile *p, uint64_t from_ns, uint64_t to_ns, void *ctx)
{
	struct agent_run *run = ctx;

	if (run->pusher)
		pusher__push(run->pusher, p, from_ns, to_ns);
}

int cmd_agent(int argc, char **argv)
{
	struct agent_opts o;
	struct agent_run run = { .opts = &o };
	struct sigaction stop = { .sa_handler = on_stop_signal, .sa_flags = SA_RESTART };
	struct sigaction hup = { .sa_handler = on_hup, .sa_flags = SA_RESTART };
	char *storage = NULL, msg[512];
	int ret = EXIT_FAIL, err;

	err = parse_args(&o, argc, argv, &storage);
	if (err) {
		free(storage);
		return err > 0 ? EXIT_OK : EXIT_USAGE;
	}
	log_verbose = o.verbose;
	if (o.log && open_log(o.log)) {
		cli_error("cannot open the log %s: %s", o.log, strerror(errno));
		free(storage);
		return EXIT_FAIL;
	}
	agent__set_log(agent_log_cb, NULL);
	run.retention = o.retention;
	run.max_size = o.max_size;

	if (daemon__check_pid_namespace(msg, sizeof(msg))) {
		log_line("agent %s", msg);
		goto out;
	}
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGQUIT, &stop, NULL);
	sigaction(SIGHUP, &hup, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct daemon_opts dopts = {
		.store_dir = o.store_dir,
		.backend = o.backend,
		.freq = o.freq,
		.flush_interval = o.flush,
		.retention_ns = (uint64_t)(o.retention * 1e9),
		.max_size = o.max_size,
		.max_memory = (size_t)o.max_memory,
		.drop_capabilities = !o.keep_caps,
		.interval = on_interval,
		.tick = on_tick,
		.ctx = &run,
	};
	run.daemon = daemon__open(&dopts, msg, sizeof(msg));
	if (!run.daemon) {
		log_line("%s", msg);
		goto out;
	}
	running = run.daemon;
	if (stop_requested)
		daemon__stop(run.daemon);

	if (strcmp(o.listen, "off")) {
		run.httpd = agent_routes__start(&run, o.listen, msg, sizeof(msg));
		if (!run.httpd) {
			log_line("--listen %s: %s", o.listen, msg);
			goto out;
		}
	}
	/* After daemon__open: the threads started from here on (HTTP, push) have only
	 * the capabilities it kept. */
	if (o.push) {
		struct pusher_opts po = { .url = o.push, .sample_rate = o.freq };

		run.pusher = pusher__new(&po, msg, sizeof(msg));
		if (!run.pusher) {
			log_line("--push: %s", msg);
			goto out;
		}
	}

	{
		struct daemon_stats st;
		char keep[64], size[64];

		daemon__stats(run.daemon, &st);
		snprintf(keep, sizeof(keep), o.retention ? "%.0f s" : "none", o.retention);
		snprintf(size, sizeof(size), o.max_size ? "%llu bytes" : "none",
			 (unsigned long long)o.max_size);
		log_line("agent started: %s sampler at %u Hz on every CPU, store %s (flush %.0f s, "
			 "retention %s, max-size %s)%s", st.session.backend, o.freq, o.store_dir,
			 o.flush, keep, size,
			 /* not the URL: it may carry credentials */
			 o.push ? ", pushing to Pyroscope" : "");
		if (run.httpd)
			log_line("http endpoint on %s (port %u)", o.listen, httpd__port(run.httpd));
	}

	err = daemon__run(run.daemon, msg, sizeof(msg));
	running = NULL;
	if (err && msg[0])
		log_line("%s", msg);
	ret = err ? EXIT_FAIL : EXIT_OK;
	{
		struct daemon_stats st;

		daemon__stats(run.daemon, &st);
		log_line("agent stopped: %llu samples (%llu lost) in %.0f s, %llu intervals stored, "
			 "%llu store errors, %llu deploys detected",
			 (unsigned long long)st.session.samples, (unsigned long long)st.session.lost,
			 st.uptime, (unsigned long long)st.store_appends,
			 (unsigned long long)st.store_errors, (unsigned long long)st.deploys_detected);
	}

out:
	running = NULL;
	httpd__stop(run.httpd);
	if (run.pusher) {
		struct push_stats ps;

		pusher__stats(run.pusher, &ps);
		pusher__free(run.pusher, PUSH_GRACE_S);
		if (ps.queued)
			log_line("push: %llu bodies were still queued at exit",
				 (unsigned long long)ps.queued);
	}
	daemon__free(run.daemon);
	agent__set_log(NULL, NULL);
	free(storage);
	if (log_file)
		fclose(log_file);
	log_file = NULL;
	return ret;
}

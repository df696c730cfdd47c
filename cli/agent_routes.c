/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent_routes.c - the HTTP handlers of `smolder agent`:
 *   GET  /metrics     every counter, Prometheus text format 0.0.4
 *   GET  /healthz     200 when sampling runs and the store takes writes, else 503
 *   POST /deploy      ?service=S&version=V[&time=T]: a deploy event in the store's log
 *   GET  /flamegraph  ?service=&pid=&comm=&label=K=V&from=&to=: an SVG from the store
 *   GET  /profile     the same filters (and seconds=N: the last N s), gzip pprof, as
 *                     `go tool pprof http://127.0.0.1:7071/profile` reads it
 * The handlers run on the HTTP server's threads: they read the daemon's snapshot
 * (thread-safe) and open the store read-only, as any reader may while it is written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "agent_routes.h"
#include "flamegraph.h"
#include "httpd.h"
#include "profile.h"
#include "push.h"
#include "store.h"

#define DEFAULT_WINDOW "-15m"
/* One request reads at most this much time from the store: the agent's memory is
 * bounded, and longer reviews belong to `smolder flamegraph --store`. */
#define MAX_WINDOW_NS (24ull * 3600 * 1000000000ull)

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- /metrics ---- */

static void metric(FILE *f, const char *name, const char *type, const char *help, double v)
{
	fprintf(f, "# HELP smolder_%s %s\n# TYPE smolder_%s %s\nsmolder_%s %.12g\n", name, help,
		name, type, name, v);
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	metric(f, name, "counter", help, (double)v);
}

static void gauge(FILE *f, const char *name, const char *help, double v)
{
	metric(f, name, "gauge", help, v);
}

static void get_metrics(const struct httpd_request *req, struct httpd_response *resp, void *ctx)
{
	struct agent_run *run = ctx;
	struct daemon_stats st;
	const struct session_stats *s = &st.session;
	const uint64_t *cnt = s->sampler.counter;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)req;
	if (!f) {
		httpd_respond(resp, 500, "out of memory\n");
		return;
	}
	daemon__stats(run->daemon, &st);
	counter(f, "samples_total", "Samples added to profiles.", s->samples);
	counter(f, "lost_samples_total", "Samples the kernel dropped (ring buffer full).",
		s->lost);
	counter(f, "truncated_stacks_total", "Stacks cut short.", s->truncated);
	counter(f, "sample_errors_total", "Samples and events that could not be recorded.",
		s->sample_errors);
	counter(f, "process_events_lost_total", "Process events the kernel dropped.",
		cnt[SMOLDER_CNT_EVENTS_LOST]);
	fprintf(f, "# HELP smolder_cpu_seconds_total The agent's own CPU time.\n"
		"# TYPE smolder_cpu_seconds_total counter\n"
		"smolder_cpu_seconds_total{mode=\"user\"} %.6f\n"
		"smolder_cpu_seconds_total{mode=\"system\"} %.6f\n", st.cpu_user, st.cpu_sys);
	gauge(f, "cpu_seconds_per_sample", "The agent's CPU time per sample, over its life.",
	      s->samples ? (st.cpu_user + st.cpu_sys) / (double)s->samples : 0);
	metric(f, "bpf_run_seconds_total", "counter", "Run time of the BPF sampling program "
	       "(needs kernel.bpf_stats_enabled=1).", s->sampler.bpf_run_ns / 1e9);
	counter(f, "bpf_runs_total", "Runs of the BPF sampling program (needs "
		"kernel.bpf_stats_enabled=1).", s->sampler.bpf_runs);
	gauge(f, "bpf_run_seconds_per_sample", "BPF sampling program run time per run.",
	      s->sampler.bpf_runs ? s->sampler.bpf_run_ns / 1e9 / s->sampler.bpf_runs : 0);
	gauge(f, "processes_tracked", "Processes the registry tracks now.",
	      (double)s->registry.live);
	counter(f, "process_images_total", "Program images seen (exec or new pid).",
		s->registry.images);
	counter(f, "process_exits_total", "Processes freed on their exit.", s->registry.exits);
	counter(f, "process_evictions_total", "Processes dropped because the registry was full.",
		s->registry.evictions);
	counter(f, "frame_cache_hits_total", "Frames named from the collector's cache.",
		s->collector.addr_cache_hits);
	counter(f, "frame_cache_misses_total", "Frames the collector had to symbolize.",
		s->collector.addr_cache_misses);
	counter(f, "symbol_cache_hits_total", "Symbolizer lookups answered from its cache.",
		s->symbolizer.hits);
	counter(f, "symbol_cache_misses_total", "Symbolizer lookups that read ELF files.",
		s->symbolizer.lookups - s->symbolizer.hits);
	counter(f, "symbolizer_elf_evictions_total", "ELF files the symbolizer dropped.",
		s->symbolizer.elf_evictions);
	counter(f, "unwinder_elf_evictions_total", "ELF files the unwinder dropped.",
		s->unwind.elf_evictions);
	counter(f, "unwinds_total", "DWARF unwinds.", s->unwind.unwinds);
	counter(f, "unwind_failures_total", "DWARF unwinds that stopped on an error.",
		s->unwind.failed);
	counter(f, "python_processes_total", "CPython processes whose Python frames are read.",
		s->python.processes);
	counter(f, "python_unsupported_total", "CPython processes of a version not supported "
		"(native frames only).", s->python.unsupported);
	counter(f, "python_probe_errors_total", "CPython interpreters that could not be found "
		"or read (native frames only).", s->python.probe_errors);
	counter(f, "python_wakeups_total", "Samples of young CPython processes that woke "
		"the agent to find and name their Python frames while they run.",
		s->sampler.counter[SMOLDER_CNT_PY_WAKEUPS]);
	counter(f, "python_code_objects_read_total", "Python code objects named.",
		s->python.codes_read);
	counter(f, "python_unnamed_runs_total", "Runs of Python frames left as the native eval "
		"loop frame: the process's memory could not be read (gone).",
		s->collector.python_unnamed);
	counter(f, "python_frames_unknown_total", "Python frames whose code object was freed "
		"before it was named.", s->collector.python_unknown);
	gauge(f, "resident_memory_bytes", "The agent's resident memory.", (double)s->rss);
	gauge(f, "resident_memory_peak_bytes", "Its peak.", (double)s->peak_rss);
	gauge(f, "memory_budget_bytes", "What the caches are sized to (--max-memory).",
	      (double)s->max_memory);
	counter(f, "intervals_total", "Intervals flushed.", st.intervals);
	counter(f, "intervals_dropped_total", "Intervals dropped before the store saw them "
		"(the writer fell behind).", s->flush_dropped);
	counter(f, "store_appends_total", "Intervals written to the store.", st.store_appends);
	counter(f, "store_write_errors_total", "Flushes whose store write failed.",
		st.store_errors);
	gauge(f, "store_bytes", "Size of the store's segments.", (double)st.store_bytes);
	gauge(f, "store_segments", "Segments in the store.", (double)st.store_segments);
	gauge(f, "store_backlog_intervals", "Intervals held in memory until the store takes "
	      "them.", (double)st.backlog);
	counter(f, "store_backlog_dropped_intervals_total", "Intervals lost because the "
		"backlog was full.", st.backlog_dropped);
	counter(f, "store_backlog_dropped_samples_total", "Their samples.",
		st.backlog_dropped_samples);
	gauge(f, "store_last_write_age_seconds", "Seconds since the store last took an "
	      "interval.", st.store_ok_age);
	counter(f, "retention_deleted_segments_total", "Segments deleted by retention.",
		st.retention_segments);
	counter(f, "retention_deleted_bytes_total", "Their bytes.", st.retention_bytes);
	counter(f, "disk_full_deleted_segments_total", "Segments deleted to make room on a "
		"full disk (also in retention_deleted_segments_total).", st.disk_full_segments);
	counter(f, "deploys_detected_total", "Deploys detected from changed build-ids.",
		st.deploys_detected);
	if (run->pusher) {
		struct push_stats ps;

		pusher__stats(run->pusher, &ps);
		gauge(f, "push_queue_bodies", "Profiles waiting to be pushed.", (double)ps.queued);
		gauge(f, "push_queue_bytes", "Their bytes.", (double)ps.queued_bytes);
		counter(f, "push_sent_total", "Profiles delivered.", ps.sent);
		counter(f, "push_sent_bytes_total", "Their bytes.", ps.bytes_sent);
		counter(f, "push_failures_total", "Failed push attempts.", ps.failures);
		counter(f, "push_dropped_total", "Profiles given up undelivered.", ps.dropped);
	}
	gauge(f, "uptime_seconds", "Seconds since the agent started sampling.", st.uptime);
	if (fclose(f)) {
		free(buf);
		httpd_respond(resp, 500, "out of memory\n");
		return;
	}
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	resp->body = buf;
	resp->len = len;
}

/* ---- /healthz ---- */

static void get_healthz(const struct httpd_request *req, struct httpd_response *resp, void *ctx)
{
	struct agent_run *run = ctx;
	char msg[512];
	bool ok = daemon__healthy(run->daemon, msg, sizeof(msg));

	(void)req;
	httpd_respond(resp, ok ? 200 : 503, "%s\n", msg);
}

/* ---- POST /deploy ---- */

static void post_deploy(const struct httpd_request *req, struct httpd_response *resp, void *ctx)
{
	struct agent_run *run = ctx;
	const char *service = httpd_query(req, "service");
	const char *version = httpd_query(req, "version");
	const char *when = httpd_query(req, "time");
	struct deploy_event ev = { .service = service, .version = version };
	char stamp[64];
	int err;

	if (!service || !*service || !version || !*version) {
		httpd_respond(resp, 400, "POST /deploy?service=NAME&version=VERSION[&time=TIME]\n");
		return;
	}
	ev.time_ns = wall_ns();
	if (when && profile__parse_time(when, ev.time_ns, &ev.time_ns)) {
		httpd_respond(resp, 400, "time: RFC 3339, unix seconds or relative (-5m), "
			      "not '%s'\n", when);
		return;
	}
	err = store__add_deploy(daemon__opts(run->daemon)->store_dir, &ev);
	if (err) {
		httpd_respond(resp, err == -EINVAL ? 400 : 500, "cannot record the deploy: %s\n",
			      strerror(-err));
		return;
	}
	profile__format_time(ev.time_ns, stamp, sizeof(stamp));
	httpd_respond(resp, 201, "deploy of %s %s at %s recorded\n", service, version, stamp);
}

/* ---- /flamegraph and /profile: a window of the store ---- */

struct query {
	struct profile_filter f;
	struct profile_label label;
	char label_buf[512]; /* "KEY\0VALUE" */
	char desc[512]; /* the filters, for a subtitle */
};

/* The filters of @req into @q. @return 0, or -EINVAL with a 400 answer in @resp. */
static int parse_query(const struct httpd_request *req, struct query *q,
		       struct httpd_response *resp)
{
	const char *from = httpd_query(req, "from"), *to = httpd_query(req, "to");
	const char *seconds = httpd_query(req, "seconds"), *pid = httpd_query(req, "pid");
	const char *label = httpd_query(req, "label");
	uint64_t now = wall_ns();
	size_t off = 0;
	char *end;

	memset(q, 0, sizeof(*q));
	q->f.service = httpd_query(req, "service");
	q->f.comm = httpd_query(req, "comm");
	if (seconds) {
		double s = strtod(seconds, &end);

		if (*end || end == seconds || !(s > 0) || s * 1e9 > (double)MAX_WINDOW_NS) {
			httpd_respond(resp, 400, "seconds: 1 to 86400, not '%s'\n", seconds);
			return -EINVAL;
		}
		q->f.from_ns = now - (uint64_t)(s * 1e9);
	} else if (profile__parse_time(from ? from : DEFAULT_WINDOW, now, &q->f.from_ns)) {
		httpd_respond(resp, 400, "from: RFC 3339, unix seconds or relative (-15m), "
			      "not '%s'\n", from);
		return -EINVAL;
	}
	q->f.to_ns = now;
	if (to && profile__parse_time(to, now, &q->f.to_ns)) {
		httpd_respond(resp, 400, "to: RFC 3339, unix seconds or relative, not '%s'\n", to);
		return -EINVAL;
	}
	if (q->f.to_ns <= q->f.from_ns || q->f.to_ns - q->f.from_ns > MAX_WINDOW_NS) {
		httpd_respond(resp, 400, "from..to must be a window of at most 24 h "
			      "(smolder flamegraph --store reads longer ones)\n");
		return -EINVAL;
	}
	if (pid) {
		long v = strtol(pid, &end, 10);

		if (*end || end == pid || v <= 0 || v > 4194304) {
			httpd_respond(resp, 400, "pid: a process id, not '%s'\n", pid);
			return -EINVAL;
		}
		q->f.pid = (pid_t)v;
	}
	if (label) {
		char *eq;

		snprintf(q->label_buf, sizeof(q->label_buf), "%s", label);
		eq = strchr(q->label_buf, '=');
		if (!eq || eq == q->label_buf || strlen(label) >= sizeof(q->label_buf)) {
			httpd_respond(resp, 400, "label: KEY=VALUE, not '%s'\n", label);
			return -EINVAL;
		}
		*eq = '\0';
		q->label = (struct profile_label){ q->label_buf, eq + 1 };
		q->f.labels = &q->label;
		q->f.nlabels = 1;
	}
	if (q->f.service)
		off += (size_t)snprintf(q->desc + off, sizeof(q->desc) - off, ", service %s",
					q->f.service);
	if (q->f.pid && off < sizeof(q->desc))
		off += (size_t)snprintf(q->desc + off, sizeof(q->desc) - off, ", pid %d",
					(int)q->f.pid);
	if (q->f.comm && off < sizeof(q->desc))
		off += (size_t)snprintf(q->desc + off, sizeof(q->desc) - off, ", comm %s",
					q->f.comm);
	if (label && off < sizeof(q->desc))
		snprintf(q->desc + off, sizeof(q->desc) - off, ", %s=%s", q->label.key,
			 q->label.value);
	return 0;
}

/* Read the window of @q from the store into a new profile, or answer 500 and NULL. */
static struct profile *load_window(struct agent_run *run, const struct query *q,
				   struct httpd_response *resp)
{
	struct store_opts so = { .read_only = true };
	const char *dir = daemon__opts(run->daemon)->store_dir;
	struct store *s = store__open(dir, &so);
	struct profile *p = s ? profile__new() : NULL;
	int err = p ? store__query(s, &q->f, p, NULL) : -errno;

	store__close(s);
	if (err) {
		profile__free(p);
		httpd_respond(resp, 500, "cannot read the store in %s: %s\n", dir, strerror(-err));
		return NULL;
	}
	return p;
}

/* Answer with a window of the store, as an SVG flame graph or as gzip pprof. */
static void respond_window(const struct httpd_request *req, struct httpd_response *resp,
			   struct agent_run *run, bool svg)
{
	struct query q;
	struct profile *p;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	if (parse_query(req, &q, resp) || !(p = load_window(run, &q, resp)))
		return;
	f = open_memstream(&buf, &len);
	if (!f) {
		profile__free(p);
		httpd_respond(resp, 500, "out of memory\n");
		return;
	}
	if (svg) {
		char host[256] = "", from[64], to[64], subtitle[1024];

		gethostname(host, sizeof(host) - 1);
		profile__format_time(q.f.from_ns, from, sizeof(from));
		profile__format_time(q.f.to_ns, to, sizeof(to));
		snprintf(subtitle, sizeof(subtitle),
			 "%s, %s to %s UTC%s, %u Hz, %zu samples, %llu lost", host, from, to,
			 q.desc, daemon__opts(run->daemon)->freq, profile__sample_count(p),
			 (unsigned long long)profile__counts(p)->lost);
		struct flamegraph_opts fo = { .title = "CPU Flame Graph", .subtitle = subtitle };

		err = flamegraph__write_svg(p, &fo, f);
	} else {
		err = profile__write_pprof(p, f);
	}
	profile__free(p);
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (err) {
		free(buf);
		httpd_respond(resp, 500, "cannot render: %s\n", strerror(-err));
		return;
	}
	resp->status = 200;
	resp->content_type = svg ? "image/svg+xml" : "application/octet-stream";
	resp->body = buf;
	resp->len = len;
}

static void get_flamegraph(const struct httpd_request *req, struct httpd_response *resp,
			   void *ctx)
{
	respond_window(req, resp, ctx, true);
}

static void get_profile(const struct httpd_request *req, struct httpd_response *resp, void *ctx)
{
	respond_window(req, resp, ctx, false);
}

static const struct httpd_route routes[] = {
	{ "GET", "/metrics", get_metrics },
	{ "GET", "/healthz", get_healthz },
	{ "POST", "/deploy", post_deploy },
	{ "GET", "/flamegraph", get_flamegraph },
	{ "GET", "/profile", get_profile },
};

struct httpd *agent_routes__start(struct agent_run *run, const char *listen, char *msg,
				  size_t msglen)
{
	return httpd__start(listen, routes, sizeof(routes) / sizeof(routes[0]), run, msg, msglen);
}

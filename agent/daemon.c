/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon.c - the node agent's engine: the session run for good over every process,
 * each flushed interval appended to the store (or held in a bounded backlog while the
 * store cannot take it), retention enforced at every flush, deploys detected from
 * the build-ids samples carry, and a snapshot of every counter for /metrics and
 * /healthz.
 *
 * Threads: the session's loop (daemon__run's caller) refreshes the snapshot about
 * once a second; the session's writer thread runs on_flush; any thread may read the
 * snapshot. One mutex guards the snapshot and nothing else is shared.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "hash.h"
#include "log.h"
#include "store.h"
#include "vec.h"

#define DEFAULT_FREQ 19
#define DEFAULT_FLUSH 10.0
#define DEFAULT_BACKLOG 32
#define DEFAULT_STACK_BYTES 16384
/* What deploy detection remembers: (service, executable) pairs, and build-ids per pair. */
#define DEPLOY_KEYS 4096
#define DEPLOY_BUILDS 4
/* A build-id not seen for this long counts as new when it comes back (a rollback). */
#define DEPLOY_FORGET_NS (3600ull * 1000000000ull)
/* /proc/sys/kernel/ns_last_pid's owner: the initial PID namespace's inode. */
#define PROC_PID_INIT_INO 0xEFFFFFFCu

struct build_seen {
	char build_id[2 * SYMBOLIZER_BUILD_ID_MAX + 1];
	uint64_t last_ns; /* wall clock */
};

/* One (service, executable) pair and the build-ids it ran lately. */
struct deploy_key {
	uint64_t hash; /* 0: empty slot */
	char *service, *exe;
	struct build_seen builds[DEPLOY_BUILDS];
};

struct daemon {
	struct daemon_opts opts;
	struct session *session;
	struct store *store;
	VEC(struct profile *) backlog; /* intervals the store did not take yet, oldest first */
	struct deploy_key *keys;       /* DEPLOY_KEYS slots, open addressing */
	size_t nkeys;
	uint64_t last_sweep_ns; /* wall clock */
	uint64_t start_mono;

	bool writer_dropped;  /* the writer thread gave up its capabilities */

	pthread_mutex_t lock; /* guards snap and what follows it */
	struct daemon_stats snap;
	uint64_t last_tick_mono, last_store_ok_mono;
	int last_store_err;
};

static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- deploy detection ---- */

static struct deploy_key *key_find(struct daemon *d, const char *service, const char *exe,
				   bool *created)
{
	uint64_t h = hash_fnv1a_str(exe, hash_fnv1a_str(service, 0)) | 1;
	size_t i = hash_reduce(h, DEPLOY_KEYS);

	*created = false;
	for (size_t probe = 0; probe < DEPLOY_KEYS; probe++, i = (i + 1) % DEPLOY_KEYS) {
		struct deploy_key *k = &d->keys[i];

		if (k->hash == h && !strcmp(k->service, service) && !strcmp(k->exe, exe))
			return k;
		if (k->hash)
			continue;
		/* Full: keep what is known rather than thrash (counted, never silent). */
		if (d->nkeys >= DEPLOY_KEYS * 3 / 4)
			return NULL;
		k->service = strdup(service);
		k->exe = strdup(exe);
		if (!k->service || !k->exe) {
			free(k->service);
			free(k->exe);
			k->service = k->exe = NULL;
			return NULL;
		}
		k->hash = h;
		d->nkeys++;
		*created = true;
		return k;
	}
	return NULL;
}

/* The newest time any build of @k was seen. */
static uint64_t key_last_seen(const struct deploy_key *k)
{
	uint64_t last = 0;

	for (size_t i = 0; i < DEPLOY_BUILDS; i++)
		if (k->builds[i].last_ns > last)
			last = k->builds[i].last_ns;
	return last;
}

/*
 * The table is three quarters full: forget the pairs not seen within the hour (a
 * container's service name dies with it) and rehash the rest. A pair that comes back
 * later starts over: its first build is not a deploy.
 */
static void keys_sweep(struct daemon *d, uint64_t now)
{
	struct deploy_key *old = d->keys, *fresh = calloc(DEPLOY_KEYS, sizeof(*fresh));

	if (!fresh)
		return;
	d->nkeys = 0;
	for (size_t i = 0; i < DEPLOY_KEYS; i++) {
		struct deploy_key *k = &old[i];
		size_t j;

		if (!k->hash)
			continue;
		if (now - key_last_seen(k) >= DEPLOY_FORGET_NS) {
			free(k->service);
			free(k->exe);
			continue;
		}
		for (j = hash_reduce(k->hash, DEPLOY_KEYS); fresh[j].hash; j = (j + 1) % DEPLOY_KEYS)
			;
		fresh[j] = *k;
		d->nkeys++;
	}
	free(old);
	d->keys = fresh;
}

/* The version a deploy event names: the process's own (SMOLDER_VERSION, OTel's
 * service.version), else the first 12 hex digits of the new build-id. */
static void deploy_version(const char *version, const char *build_id, char *buf, size_t len)
{
	if (version && *version)
		snprintf(buf, len, "%s", version);
	else
		snprintf(buf, len, "%.12s", build_id);
}

/*
 * A service whose executable (same path) now runs a build-id it did not run within
 * the last hour has been deployed. Keyed by (service, path) so that the several
 * programs of one systemd unit or container are not taken for versions of each
 * other; builds seen within the hour are remembered so that old and new processes
 * running side by side during a rolling restart make one event, not one per flush.
 */
static void detect_deploys(struct daemon *d, const struct profile *p, uint64_t now)
{
	size_t nsets = profile__label_set_count(p);

	/* At most every ten minutes: a table full of live pairs stays full. */
	if (d->nkeys >= DEPLOY_KEYS * 3 / 4 && now - d->last_sweep_ns > 600 * 1000000000ull) {
		keys_sweep(d, now);
		d->last_sweep_ns = now;
	}
	for (uint32_t id = 1; id <= nsets; id++) {
		const char *svc = profile__label_value(p, id, "service");
		const char *exe = profile__label_value(p, id, "exe");
		const char *bid = profile__label_value(p, id, "build_id");
		const char *ver = profile__label_value(p, id, "version");
		struct build_seen *slot = NULL, *oldest = NULL;
		struct deploy_key *k;
		bool created;

		if (!svc || !*svc || !exe || !*exe || !bid || !*bid)
			continue;
		k = key_find(d, svc, exe, &created);
		if (!k) {
			pthread_mutex_lock(&d->lock);
			d->snap.deploy_keys_full++;
			pthread_mutex_unlock(&d->lock);
			continue;
		}
		for (size_t i = 0; i < DEPLOY_BUILDS; i++) {
			struct build_seen *b = &k->builds[i];

			if (!strcmp(b->build_id, bid))
				slot = b;
			if (!oldest || b->last_ns < oldest->last_ns)
				oldest = b;
		}
		if (slot && now - slot->last_ns < DEPLOY_FORGET_NS) {
			slot->last_ns = now;
			continue;
		}
		/* New to this pair (or back after an hour away). The first build a pair is
		 * seen with is where the agent came in, not a deploy. */
		if (!slot)
			slot = oldest;
		snprintf(slot->build_id, sizeof(slot->build_id), "%s", bid);
		slot->last_ns = now;
		if (created)
			continue;
		char version[256];
		struct deploy_event ev = { .time_ns = now, .service = svc, .version = version };
		int err;

		deploy_version(ver, bid, version, sizeof(version));
		err = store__add_deploy(d->opts.store_dir, &ev);
		pthread_mutex_lock(&d->lock);
		if (err)
			d->snap.deploy_errors++;
		else
			d->snap.deploys_detected++;
		pthread_mutex_unlock(&d->lock);
		if (err)
			agent_log(AGENT_LOG_NOTE, "cannot record the deploy of %s %s: %s", svc,
				  version, strerror(-err));
		else
			agent_log(AGENT_LOG_NOTE, "deploy detected: %s now runs %s (%s, build-id %.12s)",
				  svc, version, exe, bid);
	}
}

/* ---- the store ---- */

static int sum_segment(const struct store_segment *seg, void *ctx)
{
	uint64_t *sum = ctx;

	sum[0] += seg->bytes;
	sum[1]++;
	return 0;
}

/* Keep @p for a later try: the store would not take it. The oldest interval goes
 * when the backlog is full (counted). */
static void backlog_keep(struct daemon *d, const struct profile *p)
{
	struct profile *copy = profile__new();

	if (copy && profile__merge(copy, p, NULL) == 0) {
		struct profile_info info;

		profile__info(p, &info);
		profile__set_info(copy, &info);
		if (d->backlog.len >= d->opts.max_backlog) {
			struct profile *old = d->backlog.v[0];

			pthread_mutex_lock(&d->lock);
			d->snap.backlog_dropped++;
			d->snap.backlog_dropped_samples += profile__sample_count(old);
			pthread_mutex_unlock(&d->lock);
			profile__free(old);
			memmove(d->backlog.v, d->backlog.v + 1,
				(d->backlog.len - 1) * sizeof(d->backlog.v[0]));
			d->backlog.len--;
		}
		if (VEC_PUSH(d->backlog, copy) == 0)
			return;
	}
	profile__free(copy);
	pthread_mutex_lock(&d->lock);
	d->snap.backlog_dropped++;
	d->snap.backlog_dropped_samples += profile__sample_count(p);
	pthread_mutex_unlock(&d->lock);
}

/*
 * The disk is full: give back the store's oldest sealed segments, down to three
 * quarters of what it holds, so that the newest intervals can be written (a profiler
 * that keeps last week's profiles and loses this minute's has it the wrong way round).
 * @return the segments deleted.
 */
static size_t make_room(struct daemon *d, uint64_t now)
{
	struct store_retention_stats rs = { 0 };
	uint64_t seg[2] = { 0, 0 }, age, size;

	pthread_mutex_lock(&d->lock);
	age = d->opts.retention_ns;
	size = d->opts.max_size;
	pthread_mutex_unlock(&d->lock);
	store__for_each_segment(d->store, sum_segment, seg);
	store__set_retention(d->store, age, seg[0] / 4 * 3);
	store__retention(d->store, now, &rs);
	store__set_retention(d->store, age, size);
	pthread_mutex_lock(&d->lock);
	d->snap.retention_segments += rs.segments_deleted;
	d->snap.retention_bytes += rs.bytes_deleted;
	d->snap.disk_full_segments += rs.segments_deleted;
	pthread_mutex_unlock(&d->lock);
	if (rs.segments_deleted)
		agent_log(AGENT_LOG_NOTE, "disk full: deleted the %zu oldest segments (%llu bytes) "
			  "of the store in %s to make room", rs.segments_deleted,
			  (unsigned long long)rs.bytes_deleted, d->opts.store_dir);
	return rs.segments_deleted;
}

/* Append the backlog, oldest first, then @p; on a full disk make room once and try
 * again; what still fails waits for the next flush.
 * @return 0 or the first failure's negative errno. */
static int store_interval(struct daemon *d, const struct profile *p, uint64_t now)
{
	bool want = profile__sample_count(p) || profile__counts(p)->lost;
	int err = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		size_t done = 0;

		err = 0;
		while (done < d->backlog.len &&
		       !(err = store__append(d->store, d->backlog.v[done])))
			profile__free(d->backlog.v[done++]);
		if (done) { /* (an empty backlog has no array to move) */
			memmove(d->backlog.v, d->backlog.v + done,
				(d->backlog.len - done) * sizeof(d->backlog.v[0]));
			d->backlog.len -= done;
		}
		if (!err && want)
			err = store__append(d->store, p);
		if (!err)
			want = false; /* written */
		if ((err != -ENOSPC && err != -EDQUOT) || !make_room(d, now))
			break;
	}
	if (err && want)
		backlog_keep(d, p);
	return err;
}

static int on_flush(struct profile *p, bool last, void *ctx)
{
	struct daemon *d = ctx;
	struct store_retention_stats rs = { 0 };
	struct profile_info info;
	uint64_t now = clock_ns(CLOCK_REALTIME), seg[2] = { 0, 0 };
	char msg[256];
	int err, rerr;

	/* Capabilities are per thread: this one was started before daemon__open
	 * dropped them, so it drops its own. */
	if (d->opts.drop_capabilities && !d->writer_dropped) {
		d->writer_dropped = true;
		if (daemon__drop_capabilities(msg, sizeof(msg)))
			agent_log(AGENT_LOG_NOTE, "writer thread: %s", msg);
	}
	detect_deploys(d, p, now);
	err = store_interval(d, p, now);
	rerr = store__retention(d->store, now, &rs);
	store__for_each_segment(d->store, sum_segment, seg);

	pthread_mutex_lock(&d->lock);
	d->snap.intervals++;
	d->snap.samples_flushed += profile__sample_count(p);
	d->snap.store_bytes = seg[0];
	d->snap.store_segments = seg[1];
	d->snap.backlog = d->backlog.len;
	d->snap.retention_segments += rs.segments_deleted;
	d->snap.retention_bytes += rs.bytes_deleted;
	if (err) {
		/* One line when writing starts failing, not one per interval. */
		if (!d->last_store_err)
			agent_log(AGENT_LOG_NOTE, "cannot append to the store in %s: %s; "
				  "keeping up to %zu intervals in memory until it can",
				  d->opts.store_dir, strerror(-err), d->opts.max_backlog);
		d->snap.store_errors++;
	} else {
		if (d->last_store_err)
			agent_log(AGENT_LOG_NOTE, "the store in %s takes writes again",
				  d->opts.store_dir);
		d->snap.store_appends++;
		d->last_store_ok_mono = clock_ns(CLOCK_MONOTONIC);
	}
	d->last_store_err = err;
	if (rerr)
		d->snap.retention_errors++;
	pthread_mutex_unlock(&d->lock);

	if (last && d->backlog.len) {
		uint64_t samples = 0;

		for (size_t i = 0; i < d->backlog.len; i++)
			samples += profile__sample_count(d->backlog.v[i]);
		pthread_mutex_lock(&d->lock);
		d->snap.backlog_dropped += d->backlog.len;
		d->snap.backlog_dropped_samples += samples;
		pthread_mutex_unlock(&d->lock);
		agent_log(AGENT_LOG_NOTE, "%zu intervals (%llu samples) could not be stored and "
			  "are lost: %s", d->backlog.len, (unsigned long long)samples,
			  strerror(-err));
	}
	profile__info(p, &info);
	if (d->opts.interval && profile__sample_count(p))
		d->opts.interval(p, info.start_ns, info.end_ns ? info.end_ns : now, d->opts.ctx);
	return 0; /* failures are counted and retried, never the end of the run */
}

/* ---- the snapshot ---- */

static void on_progress(double seconds, uint64_t samples, void *ctx)
{
	struct daemon *d = ctx;
	struct session_stats st;
	struct rusage ru;

	(void)seconds;
	/* /metrics shows the kernel side's counters (lost samples, BPF run time) as
	 * of this tick, not of the last flush, which may be a minute ago. */
	session__refresh_sampler_stats(d->session);
	session__stats(d->session, &st);
	st.samples = samples; /* with the interval under way, not only those flushed */
	getrusage(RUSAGE_SELF, &ru);
	pthread_mutex_lock(&d->lock);
	d->snap.session = st;
	d->snap.cpu_user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	d->snap.cpu_sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	d->last_tick_mono = clock_ns(CLOCK_MONOTONIC);
	pthread_mutex_unlock(&d->lock);
	if (d->opts.tick)
		d->opts.tick(d->opts.ctx);
}

/* ---- the API ---- */

int daemon__check_pid_namespace(char *msg, size_t msglen)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st))
		return 0; /* no namespaces to tell apart */
	if (st.st_ino == PROC_PID_INIT_INO)
		return 0;
	snprintf(msg, msglen, "runs in a PID namespace of its own (a container without "
		 "hostPID?): it would see only its own processes; run it in the host's "
		 "(Kubernetes: hostPID: true; docker: --pid=host)");
	return -EPERM;
}

struct daemon *daemon__open(const struct daemon_opts *opts, char *msg, size_t msglen)
{
	struct daemon *d = calloc(1, sizeof(*d));
	struct store_opts so = { 0 };
	struct session_opts sess;
	int err;

	if (!d) {
		snprintf(msg, msglen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	d->opts = *opts;
	if (!d->opts.freq)
		d->opts.freq = DEFAULT_FREQ;
	if (!(d->opts.flush_interval > 0))
		d->opts.flush_interval = DEFAULT_FLUSH;
	if (!d->opts.max_backlog)
		d->opts.max_backlog = DEFAULT_BACKLOG;
	pthread_mutex_init(&d->lock, NULL);
	d->keys = calloc(DEPLOY_KEYS, sizeof(*d->keys));
	if (!d->keys) {
		snprintf(msg, msglen, "out of memory");
		err = ENOMEM;
		goto fail;
	}

	so.max_age_ns = d->opts.retention_ns;
	so.max_bytes = d->opts.max_size;
	/* Retention deletes whole sealed segments: keep them small beside the size
	 * bound, so that it is enforced within an eighth of it. */
	if (so.max_bytes) {
		so.max_segment_bytes = so.max_bytes / 8;
		if (so.max_segment_bytes < (256u << 10))
			so.max_segment_bytes = 256u << 10;
		if (so.max_segment_bytes > (64u << 20))
			so.max_segment_bytes = 64u << 20;
	}
	if (mkdir(d->opts.store_dir, 0755) && errno != EEXIST) {
		err = errno;
		snprintf(msg, msglen, "cannot create the store %s: %s", d->opts.store_dir,
			 strerror(err));
		goto fail;
	}
	d->store = store__open(d->opts.store_dir, &so);
	if (!d->store) {
		err = errno;
		snprintf(msg, msglen, "cannot open the store in %s: %s", d->opts.store_dir,
			 err == EBUSY ? "another smolder writes to it" : strerror(err));
		goto fail;
	}

	sess = (struct session_opts){
		.sampler = {
			.backend = d->opts.backend,
			.freq = d->opts.freq,
			.all = true,
			.kernel_stacks = true,
			.stack_bytes = DEFAULT_STACK_BYTES,
		},
		.collector = { .unwind = UNWIND_AUTO },
		.flush_interval = d->opts.flush_interval,
		.max_memory = d->opts.max_memory,
		.flush = on_flush,
		.progress = on_progress,
		.ctx = d,
	};
	d->session = session__open(&sess, msg, msglen);
	if (!d->session) {
		err = errno;
		goto fail;
	}
	d->start_mono = d->last_tick_mono = d->last_store_ok_mono = clock_ns(CLOCK_MONOTONIC);
	session__stats(d->session, &d->snap.session);
	if (d->opts.drop_capabilities && daemon__drop_capabilities(msg, msglen))
		agent_log(AGENT_LOG_NOTE, "%s; going on with them", msg);
	return d;

fail:
	daemon__free(d);
	errno = err;
	return NULL;
}

int daemon__run(struct daemon *d, char *msg, size_t msglen)
{
	struct session_stats st;
	int err = session__run(d->session, msg, msglen);

	/* Every interval is flushed now: the final figures. */
	session__stats(d->session, &st);
	pthread_mutex_lock(&d->lock);
	d->snap.session = st;
	pthread_mutex_unlock(&d->lock);
	return err;
}

void daemon__stop(struct daemon *d)
{
	session__stop(d->session);
}

void daemon__set_retention(struct daemon *d, uint64_t retention_ns, uint64_t max_size)
{
	/* The writer thread reads these at its next flush: a torn pair would at worst
	 * apply one bound one interval early. */
	pthread_mutex_lock(&d->lock);
	d->opts.retention_ns = retention_ns;
	d->opts.max_size = max_size;
	store__set_retention(d->store, retention_ns, max_size);
	pthread_mutex_unlock(&d->lock);
}

void daemon__stats(struct daemon *d, struct daemon_stats *out)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);

	pthread_mutex_lock(&d->lock);
	*out = d->snap;
	out->uptime = (now - d->start_mono) / 1e9;
	out->loop_age = (now - d->last_tick_mono) / 1e9;
	out->store_ok_age = (now - d->last_store_ok_mono) / 1e9;
	out->store_err = d->last_store_err;
	pthread_mutex_unlock(&d->lock);
}

bool daemon__healthy(struct daemon *d, char *msg, size_t msglen)
{
	struct daemon_stats st;
	double max_age = 3 * d->opts.flush_interval + 5;
	int fd;

	daemon__stats(d, &st);
	if (st.loop_age > 10) {
		snprintf(msg, msglen, "sampling stalled: the run loop last reported %.0f s ago",
			 st.loop_age);
		return false;
	}
	/* Can a file be made in the store now? O_TMPFILE leaves nothing behind. */
	fd = open(d->opts.store_dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EOPNOTSUPP && errno != EISDIR) {
		snprintf(msg, msglen, "store %s not writable: %s", d->opts.store_dir,
			 strerror(errno));
		return false;
	}
	if (fd >= 0)
		close(fd);
	if (st.store_err && st.store_ok_age > max_age) {
		snprintf(msg, msglen, "no interval stored for %.0f s: %s", st.store_ok_age,
			 strerror(-st.store_err));
		return false;
	}
	snprintf(msg, msglen, "ok: sampling with %s at %u Hz, %llu samples, last stored "
		 "%.0f s ago", st.session.backend ? st.session.backend : "?", d->opts.freq,
		 (unsigned long long)st.session.samples, st.store_ok_age);
	return true;
}

const struct daemon_opts *daemon__opts(const struct daemon *d)
{
	return &d->opts;
}

/* Capabilities the agent still uses once sampling runs: reading other processes'
 * /proc files (SYS_PTRACE), opening their files through /proc/PID/root and cgroups
 * by id (DAC_READ_SEARCH), /proc/PID/map_files of deleted files
 * (CHECKPOINT_RESTORE), kallsyms addresses (SYSLOG), and naming kernel addresses
 * with a BPF program run on demand (BPF, PERFMON). */
static const cap_value_t kept_caps[] = {
	CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_CHECKPOINT_RESTORE, CAP_SYSLOG,
	CAP_BPF, CAP_PERFMON,
};

int daemon__drop_capabilities(char *msg, size_t msglen)
{
	cap_t caps = cap_init(); /* all clear */
	int err = 0;

	if (!caps) {
		snprintf(msg, msglen, "cannot drop capabilities: %s", strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++) {
		cap_value_t c = kept_caps[i];
		cap_flag_value_t have = CAP_CLEAR;

		if (!CAP_IS_SUPPORTED(c))
			continue;
		cap_t cur = cap_get_proc();
		if (cur) {
			cap_get_flag(cur, c, CAP_PERMITTED, &have);
			cap_free(cur);
		}
		if (have == CAP_SET) {
			cap_set_flag(caps, CAP_PERMITTED, 1, &c, CAP_SET);
			cap_set_flag(caps, CAP_EFFECTIVE, 1, &c, CAP_SET);
		}
	}
	/* Out of the bounding set too, so no exec can get them back; needs SETPCAP,
	 * which goes last. Failures here leave the sets below doing the work. */
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		bool keep = false;

		for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++)
			keep |= kept_caps[i] == c;
		if (!keep && CAP_IS_SUPPORTED(c))
			prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (cap_set_proc(caps)) {
		err = -errno;
		snprintf(msg, msglen, "cannot drop capabilities: %s", strerror(errno));
	}
	cap_free(caps);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return err;
}

void daemon__free(struct daemon *d)
{
	if (!d)
		return;
	session__free(d->session);
	for (size_t i = 0; i < d->backlog.len; i++)
		profile__free(d->backlog.v[i]);
	VEC_FREE(d->backlog);
	store__close(d->store);
	if (d->keys)
		for (size_t i = 0; i < DEPLOY_KEYS; i++) {
			free(d->keys[i].service);
			free(d->keys[i].exe);
		}
	free(d->keys);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

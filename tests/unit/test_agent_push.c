/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_agent_push.c - the pusher (agent/push.h) against a real HTTP receiver on an
 * ephemeral 127.0.0.1 port (libmicrohttpd, in this file): one gzip pprof POST per
 * service with Pyroscope's query parameters, bodies that read back with the same
 * samples and time range (and that `go tool pprof` reads, where go is installed), a
 * backlog delivered in order after 503s and after the receiver was down, the queue
 * bound dropping the oldest, failures logged once a minute rather than per failure,
 * and pusher__free bounded when the receiver hangs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "agent.h"
#include "profile.h"
#include "push.h"

#define SEC 1000000000ull
#define T0 (1795000000ull * SEC) /* 2026-11-18 11:06:40 UTC */
#define FLUSH (10 * SEC)
#define MAX_REQS 64
#define WAIT_S 60.0 /* for anything that happens on another thread: generous */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Poll @cond for up to WAIT_S: these tests must pass on a busy machine. */
#define WAIT_UNTIL(cond)                                                \
	do {                                                            \
		double __end = now_s() + WAIT_S;                        \
		while (!(cond) && now_s() < __end)                      \
			usleep(10000);                                  \
		assert_true(cond);                                      \
	} while (0)

/* ---- the receiver ---- */

struct request {
	char name[512], from[32], until[32], rate[32], spy[64], format[32], ctype[128];
	char *body;
	size_t len;
};

struct receiver {
	struct MHD_Daemon *d;
	uint16_t port;
	pthread_mutex_t lock;
	struct request reqs[MAX_REQS]; /* the requests answered 200, in order */
	size_t n;
	size_t attempts;               /* every request */
	size_t fail_first;             /* answer the first this many with an error: */
	unsigned int fail_status[8];   /* these (0: 503) */
};

struct upload {
	char *buf;
	size_t len, cap;
};

static void copy_arg(struct MHD_Connection *c, enum MHD_ValueKind kind, const char *key,
		     char *out, size_t len)
{
	const char *v = MHD_lookup_connection_value(c, kind, key);
	snprintf(out, len, "%s", v ? v : "");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **con_cls)
{
	static char busy[] = "try again later\n", bad[] = "invalid profile\n";
	struct receiver *r = cls;
	struct upload *u = *con_cls;
	struct MHD_Response *resp;
	unsigned int status = MHD_HTTP_OK;
	enum MHD_Result ret;

	(void)version;
	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return MHD_NO;
		*con_cls = u;
		return MHD_YES;
	}
	if (*upload_size) {
		if (u->len + *upload_size > u->cap) {
			size_t cap = 2 * (u->len + *upload_size);
			char *b = realloc(u->buf, cap);
			if (!b)
				return MHD_NO;
			u->buf = b;
			u->cap = cap;
		}
		memcpy(u->buf + u->len, upload_data, *upload_size);
		u->len += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&r->lock);
	r->attempts++;
	if (r->attempts <= r->fail_first) {
		status = r->attempts <= 8 && r->fail_status[r->attempts - 1]
				 ? r->fail_status[r->attempts - 1]
				 : MHD_HTTP_SERVICE_UNAVAILABLE;
	} else if (strcmp(method, "POST") || strcmp(url, "/ingest")) {
		status = MHD_HTTP_NOT_FOUND;
	} else if (r->n < MAX_REQS) {
		struct request *q = &r->reqs[r->n++];
		copy_arg(c, MHD_GET_ARGUMENT_KIND, "name", q->name, sizeof(q->name));
		copy_arg(c, MHD_GET_ARGUMENT_KIND, "from", q->from, sizeof(q->from));
		copy_arg(c, MHD_GET_ARGUMENT_KIND, "until", q->until, sizeof(q->until));
		copy_arg(c, MHD_GET_ARGUMENT_KIND, "sampleRate", q->rate, sizeof(q->rate));
		copy_arg(c, MHD_GET_ARGUMENT_KIND, "spyName", q->spy, sizeof(q->spy));
		copy_arg(c, MHD_GET_ARGUMENT_KIND, "format", q->format, sizeof(q->format));
		copy_arg(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE, q->ctype,
			 sizeof(q->ctype));
		q->body = u->buf;
		q->len = u->len;
		u->buf = NULL;
		u->len = u->cap = 0;
	}
	pthread_mutex_unlock(&r->lock);
	if (status == MHD_HTTP_SERVICE_UNAVAILABLE || status == MHD_HTTP_TOO_MANY_REQUESTS)
		resp = MHD_create_response_from_buffer(strlen(busy), busy, MHD_RESPMEM_PERSISTENT);
	else if (status != MHD_HTTP_OK)
		resp = MHD_create_response_from_buffer(strlen(bad), bad, MHD_RESPMEM_PERSISTENT);
	else
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;

	(void)cls, (void)c, (void)toe;
	if (u) {
		free(u->buf);
		free(u);
		*con_cls = NULL;
	}
}

/* Listen on 127.0.0.1:@port (0: any free port). */
static void receiver_start(struct receiver *r, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	const union MHD_DaemonInfo *info;

	r->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, port, NULL, NULL,
				on_request, r, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, r,
				MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
				MHD_OPTION_END);
	assert_non_null(r->d);
	info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	r->port = info->port;
}

static struct receiver *receiver_new(void)
{
	struct receiver *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

static void receiver_free(struct receiver *r)
{
	if (r->d)
		MHD_stop_daemon(r->d);
	for (size_t i = 0; i < r->n; i++)
		free(r->reqs[i].body);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static size_t received(struct receiver *r)
{
	size_t n;
	pthread_mutex_lock(&r->lock);
	n = r->n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

/* A port that refuses connections: a socket bound to it that does not listen (so no
 * one else takes the port before the receiver comes up on it). */
static int refusing_port(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* ---- the log ---- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_lines[32][512];
static size_t log_n;

static void on_log(enum agent_log_level level, const char *line, void *ctx)
{
	(void)level, (void)ctx;
	pthread_mutex_lock(&log_lock);
	if (log_n < 32)
		snprintf(log_lines[log_n++], sizeof(log_lines[0]), "%s", line);
	pthread_mutex_unlock(&log_lock);
}

static void log_reset(void)
{
	pthread_mutex_lock(&log_lock);
	log_n = 0;
	pthread_mutex_unlock(&log_lock);
	agent__set_log(on_log, NULL);
}

/* Lines containing @needle; the first such into @first (may be NULL). */
static size_t log_count(const char *needle, char *first, size_t len)
{
	size_t n = 0;
	pthread_mutex_lock(&log_lock);
	for (size_t i = 0; i < log_n; i++) {
		if (strstr(log_lines[i], needle)) {
			if (!n && first)
				snprintf(first, len, "%s", log_lines[i]);
			n++;
		}
	}
	pthread_mutex_unlock(&log_lock);
	return n;
}

/* ---- profiles ---- */

static void add(struct profile *p, const uint32_t *f, size_t n, const char *comm,
		const char *service, uint64_t t, unsigned count)
{
	struct profile_label labels[] = { { "service", service }, { "exe", "/usr/bin/x" } };
	struct sample_meta m = { .time_ns = t, .pid = 42, .tid = 43, .comm = comm,
				 .labels = labels, .nlabels = service ? 2 : 0 };

	for (unsigned i = 0; i < count; i++)
		assert_int_equal(profile__add_sample(p, f, n, &m, 1), 0);
}

/* Interval @i: [T0 + i * FLUSH, + FLUSH). Service "api": 7 samples, "db worker": 3
 * (with @two), and with @unlabelled 2 samples of comm "kworker/0:1" with no service. */
static struct profile *make_interval(unsigned i, bool two, bool unlabelled)
{
	struct profile *p = profile__new();
	struct profile_mapping m = { .path = "/usr/lib/libc.so.6", .build_id = "abcd" };
	struct profile_info info = { .period_ns = SEC / 19 };
	uint64_t t = T0 + i * FLUSH + SEC;
	uint32_t f[4], map;

	assert_non_null(p);
	assert_int_equal(profile__intern_frame(p, "main", FRAME_USER, &f[0]), 0);
	assert_int_equal(profile__intern_frame(p, "hot", FRAME_USER, &f[1]), 0);
	assert_int_equal(profile__intern_mapping(p, &m, &map), 0);
	assert_int_equal(profile__intern_unresolved(p, map, 0x2a1f0, &f[2]), 0);
	assert_int_equal(profile__intern_frame(p, "do_syscall_64", FRAME_KERNEL, &f[3]), 0);
	profile__set_info(p, &info);
	add(p, f, 2, "api", "api", t, 5);
	add(p, f, 4, "api", "api", t + 2 * SEC, 2);
	if (two)
		add(p, (uint32_t[]){ f[0], f[2] }, 2, "worker", "db worker", t, 3);
	if (unlabelled)
		add(p, (uint32_t[]){ f[3] }, 1, "kworker/0:1", NULL, t, 2);
	return p;
}

static struct pusher *pusher_to(uint16_t port, const char *userinfo, size_t max_queue,
				double timeout)
{
	struct pusher_opts o = { .sample_rate = 19, .hostname = "test-host",
				 .max_queue_bytes = max_queue, .timeout = timeout,
				 .backoff_min = 0.01, .backoff_max = 0.05 };
	char url[128], err[256];
	struct pusher *p;

	snprintf(url, sizeof(url), "http://%s127.0.0.1:%u/", userinfo ? userinfo : "", port);
	o.url = url;
	p = pusher__new(&o, err, sizeof(err));
	if (!p)
		fail_msg("pusher__new: %s", err);
	return p;
}

static void push(struct pusher *p, unsigned i, bool two, bool unlabelled)
{
	struct profile *prof = make_interval(i, two, unlabelled);
	assert_int_equal(pusher__push(p, prof, T0 + i * FLUSH, T0 + (i + 1) * FLUSH), 0);
	profile__free(prof);
}

/* The counters once nothing is queued: the receiver records a request before the
 * pusher has read the answer, so its counters lag behind what the receiver saw. */
static struct push_stats settled(struct pusher *p)
{
	struct push_stats st;

	WAIT_UNTIL((pusher__stats(p, &st), st.queued == 0));
	return st;
}

static unsigned long long from_of(unsigned i)
{
	return (T0 + i * FLUSH) / SEC;
}

/* Request @q is interval @i of service @name, complete with Pyroscope's parameters,
 * and its body reads back with @weight samples over the interval. */
static void check_request(const struct request *q, unsigned i, const char *name,
			  uint64_t weight)
{
	char want[128];
	struct profile *back = profile__new();
	struct profile_info info;

	snprintf(want, sizeof(want), "%s{hostname=test-host}", name);
	assert_string_equal(q->name, want);
	snprintf(want, sizeof(want), "%llu", from_of(i));
	assert_string_equal(q->from, want);
	snprintf(want, sizeof(want), "%llu", from_of(i + 1));
	assert_string_equal(q->until, want);
	assert_string_equal(q->rate, "19");
	assert_string_equal(q->spy, "smolder");
	assert_string_equal(q->format, "pprof");
	assert_string_equal(q->ctype, "application/octet-stream");

	assert_non_null(back);
	assert_true(q->len > 2);
	assert_int_equal((unsigned char)q->body[0], 0x1f); /* gzip */
	assert_int_equal((unsigned char)q->body[1], 0x8b);
	assert_int_equal(profile__decode_pprof(back, q->body, q->len, NULL), 0);
	assert_int_equal(profile__total_weight(back), weight);
	profile__info(back, &info);
	assert_int_equal(info.start_ns, T0 + i * FLUSH);
	assert_int_equal(info.end_ns, T0 + (i + 1) * FLUSH);
	assert_int_equal(info.period_ns, SEC / 19);
	profile__free(back);
}

/* ---- tests ---- */

static void test_bad_options_are_refused(void **state)
{
	const char *bad[] = { NULL, "", "ftp://127.0.0.1:4040", "127.0.0.1:4040", "http://",
			      "http:///ingest", "http://h:4040/?x=1", "http://h:4040 /" };
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pusher_opts o = { .url = bad[i], .sample_rate = 19 };

		err[0] = '\0';
		errno = 0;
		assert_null(pusher__new(&o, err, sizeof(err)));
		assert_int_equal(errno, EINVAL);
		assert_true(strlen(err) > 10);
		assert_null(strchr(err, '\n'));
	}
	struct pusher_opts o = { .url = "http://127.0.0.1:1", .timeout = -1 };
	assert_null(pusher__new(&o, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	pusher__free(NULL, 0);
}

static void test_two_services_become_two_posts(void **state)
{
	struct receiver *r = receiver_new();
	struct pusher *p;
	struct push_stats st;

	(void)state;
	log_reset();
	receiver_start(r, 0);
	p = pusher_to(r->port, NULL, 0, 30);
	push(p, 0, true, false);
	WAIT_UNTIL(received(r) == 2);
	st = settled(p);
	assert_int_equal(st.intervals, 1);
	assert_int_equal(st.sent, 2);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.queued_bytes, 0);
	assert_int_equal(st.bytes_sent, r->reqs[0].len + r->reqs[1].len);
	/* In order of first appearance; "db worker" sanitised for Pyroscope. */
	check_request(&r->reqs[0], 0, "api", 7);
	check_request(&r->reqs[1], 0, "db_worker", 3);

	/* The samples keep their stacks, labels and unresolved frames. */
	struct profile *back = profile__new();
	char folded[256] = "";
	FILE *f = fmemopen(folded, sizeof(folded) - 1, "w");
	assert_int_equal(profile__decode_pprof(back, r->reqs[0].body, r->reqs[0].len, NULL), 0);
	assert_int_equal(profile__write_folded(back, f), 0);
	fclose(f);
	assert_string_equal(folded, "api;main;hot 5\n"
				    "api;main;hot;[libc.so.6+0x2a1f0];do_syscall_64_[k] 2\n");
	struct profile_filter flt = { .service = "api" };
	struct profile *only = profile__new();
	assert_int_equal(profile__merge(only, back, &flt), 0);
	assert_int_equal(profile__total_weight(only), 7);
	profile__free(only);
	profile__free(back);

	/* An empty interval queues nothing; it still counts as an interval. */
	struct profile *empty = profile__new();
	assert_int_equal(pusher__push(p, empty, T0, T0 + FLUSH), 0);
	profile__free(empty);
	pusher__free(p, 5);
	assert_int_equal(received(r), 2);
	assert_int_equal(log_count("push", NULL, 0), 0);
	receiver_free(r);
}

static void test_unlabelled_samples_go_by_comm(void **state)
{
	struct receiver *r = receiver_new();
	struct pusher *p;

	(void)state;
	receiver_start(r, 0);
	p = pusher_to(r->port, NULL, 0, 30);
	push(p, 3, false, true);
	WAIT_UNTIL(received(r) == 2);
	check_request(&r->reqs[0], 3, "api", 7);
	check_request(&r->reqs[1], 3, "kworker/0_1", 2);
	pusher__free(p, 5);
	receiver_free(r);
}

/* The 503s come first: the backlog then arrives whole and in order, the failures are
 * counted, and logged in one line (not one per failure) and one when it recovers. */
static void test_backlog_after_503s_arrives_in_order(void **state)
{
	struct receiver *r = receiver_new();
	struct push_stats st;
	struct pusher *p;
	char line[512];

	(void)state;
	log_reset();
	r->fail_first = 4;
	receiver_start(r, 0);
	p = pusher_to(r->port, NULL, 0, 30);
	for (unsigned i = 0; i < 5; i++)
		push(p, i, true, false);
	WAIT_UNTIL(received(r) == 10);
	st = settled(p);
	assert_int_equal(st.intervals, 5);
	assert_int_equal(st.sent, 10);
	assert_true(st.failures >= 4);
	assert_int_equal(st.dropped, 0);
	for (unsigned i = 0; i < 5; i++) {
		check_request(&r->reqs[2 * i], i, "api", 7);
		check_request(&r->reqs[2 * i + 1], i, "db_worker", 3);
	}
	WAIT_UNTIL(log_count("recovered", NULL, 0) == 1);
	assert_int_equal(log_count("failing", line, sizeof(line)), 1);
	assert_non_null(strstr(line, "HTTP 503: try again later"));
	pusher__free(p, 5);
	receiver_free(r);
}

/* 429 is retried; a 400 drops that body (counted) and the next one goes through. */
static void test_refused_body_is_dropped_and_the_next_sent(void **state)
{
	struct receiver *r = receiver_new();
	struct push_stats st;
	struct pusher *p;
	char line[512];

	(void)state;
	log_reset();
	r->fail_first = 2;
	r->fail_status[0] = MHD_HTTP_TOO_MANY_REQUESTS;
	r->fail_status[1] = MHD_HTTP_BAD_REQUEST;
	receiver_start(r, 0);
	p = pusher_to(r->port, NULL, 0, 30);
	push(p, 0, false, false);
	push(p, 1, false, false);
	WAIT_UNTIL(received(r) == 1);
	st = settled(p);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.failures, 2);
	assert_int_equal(st.dropped, 1);
	check_request(&r->reqs[0], 1, "api", 7);
	assert_int_equal(log_count("failing", line, sizeof(line)), 1);
	assert_non_null(strstr(line, "HTTP 429: try again later"));
	pusher__free(p, 5);
	receiver_free(r);
}

/* Nothing listens at first: the intervals wait, and arrive when the receiver comes up.
 * The credentials in the URL stay out of the log. */
static void test_backlog_after_receiver_was_down(void **state)
{
	struct receiver *r = receiver_new();
	struct push_stats st;
	struct pusher *p;
	uint16_t port;
	char line[512], want[128];
	int fd = refusing_port(&port);

	(void)state;
	log_reset();
	p = pusher_to(port, "user:s3cret@", 0, 30);
	for (unsigned i = 0; i < 3; i++)
		push(p, i, true, false);
	WAIT_UNTIL((pusher__stats(p, &st), st.failures >= 3));
	assert_int_equal(st.queued, 6);
	assert_int_equal(st.sent, 0);
	WAIT_UNTIL(log_count("failing", NULL, 0) == 1);
	close(fd);
	receiver_start(r, port);
	WAIT_UNTIL(received(r) == 6);
	for (unsigned i = 0; i < 3; i++) {
		check_request(&r->reqs[2 * i], i, "api", 7);
		check_request(&r->reqs[2 * i + 1], i, "db_worker", 3);
	}
	st = settled(p);
	assert_int_equal(st.sent, 6);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(log_count("failing", line, sizeof(line)), 1);
	assert_null(strstr(line, "s3cret"));
	snprintf(want, sizeof(want), "push to http://127.0.0.1:%u failing: ", port);
	assert_non_null(strstr(line, want));
	pusher__free(p, 5);
	receiver_free(r);
}

/* With room for two bodies, five intervals pushed while the receiver is down leave
 * the newest two: three are dropped and counted. */
static void test_queue_bound_drops_the_oldest(void **state)
{
	struct receiver *r = receiver_new();
	struct push_stats st;
	struct pusher *p;
	uint16_t port;
	int fd = refusing_port(&port);
	size_t one;

	(void)state;
	log_reset();
	p = pusher_to(port, NULL, 0, 30);
	push(p, 0, false, false);
	pusher__stats(p, &st);
	one = st.queued_bytes;
	assert_true(one > 0);
	pusher__free(p, 0);

	p = pusher_to(port, NULL, 2 * one + one / 2, 30);
	for (unsigned i = 0; i < 5; i++)
		push(p, i, false, false);
	pusher__stats(p, &st);
	assert_int_equal(st.intervals, 5);
	assert_int_equal(st.dropped, 3);
	assert_int_equal(st.queued, 2);
	close(fd);
	receiver_start(r, port);
	WAIT_UNTIL(received(r) == 2);
	st = settled(p);
	assert_int_equal(st.sent, 2);
	assert_int_equal(st.dropped, 3);
	/* The newest survived (with whichever was being sent), in order. */
	assert_true(strtoull(r->reqs[0].from, NULL, 10) < strtoull(r->reqs[1].from, NULL, 10));
	check_request(&r->reqs[1], 4, "api", 7);
	pusher__free(p, 5);
	receiver_free(r);
}

/* A receiver that takes the connection and never answers: pusher__free returns
 * soon after its grace, long before the request timeout, and says what it dropped. */
static void test_free_is_bounded_when_the_receiver_hangs(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct pusher *p;
	double t0, took;

	(void)state;
	log_reset();
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0); /* and never accept */
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	p = pusher_to(ntohs(sa.sin_port), NULL, 0, 120);
	push(p, 0, true, false);
	usleep(200000); /* let the request start (it need not have) */
	t0 = now_s();
	pusher__free(p, 0.5);
	took = now_s() - t0;
	/* The bound is the grace (0.5 s) plus a little: far below the 120 s timeout. */
	if (took > 60)
		fail_msg("pusher__free took %.1f s with a 0.5 s grace", took);
	assert_int_equal(log_count("left undelivered at exit: 2;", NULL, 0), 1);
	close(fd);
}

/* `go tool pprof`, the reference reader, reads a pushed body with its time range. */
static void test_go_tool_pprof_reads_a_pushed_body(void **state)
{
	struct receiver *r = receiver_new();
	char dir[] = "/tmp/smolder-push.XXXXXX", path[128], cmd[1024], out[8192];
	struct pusher *p;
	size_t n;
	FILE *f;

	(void)state;
	if (system("command -v go >/dev/null 2>&1")) {
		receiver_free(r);
		skip(); /* Debian package golang-go */
	}
	receiver_start(r, 0);
	p = pusher_to(r->port, NULL, 0, 30);
	push(p, 1, true, false);
	WAIT_UNTIL(received(r) == 2);
	pusher__free(p, 5);

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/api.pb.gz", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(r->reqs[0].body, 1, r->reqs[0].len, f), r->reqs[0].len);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && HOME=%s GOCACHE=%s/gocache PPROF_TMPDIR=%s PPROF_BINARY_PATH=/nonexistent "
		 "TZ=UTC timeout 120 go tool pprof -raw -symbolize=none %s 2>&1 && "
		 "TZ=UTC timeout 120 go tool pprof -top -symbolize=none -sample_index=samples %s 2>&1",
		 dir, dir, dir, dir, path, path);
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	if (pclose(f) != 0)
		fail_msg("go tool pprof failed:\n%s", out);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	/* Interval 1: 2026-11-18 11:06:50 UTC for 10 s, 7 samples of api. */
	if (!strstr(out, "Time: 2026-11-18 11:06:50 +0000 UTC") ||
	    !strstr(out, "Duration: 10s") || !strstr(out, "of 7 total") ||
	    !strstr(out, "service:[api]"))
		fail_msg("unexpected go tool pprof output:\n%s", out);
	receiver_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_options_are_refused),
		cmocka_unit_test(test_two_services_become_two_posts),
		cmocka_unit_test(test_unlabelled_samples_go_by_comm),
		cmocka_unit_test(test_backlog_after_503s_arrives_in_order),
		cmocka_unit_test(test_refused_body_is_dropped_and_the_next_sent),
		cmocka_unit_test(test_backlog_after_receiver_was_down),
		cmocka_unit_test(test_queue_bound_drops_the_oldest),
		cmocka_unit_test(test_free_is_bounded_when_the_receiver_hangs),
		cmocka_unit_test(test_go_tool_pprof_reads_a_pushed_body),
	};

	/* The receiver is on 127.0.0.1: a proxy from the environment is not wanted. */
	unsetenv("http_proxy");
	unsetenv("all_proxy");
	unsetenv("ALL_PROXY");
	return cmocka_run_group_tests(tests, NULL, NULL);
}

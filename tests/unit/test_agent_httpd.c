/* SPDX-License-Identifier: Apache-2.0 */
/* test_agent_httpd.c - the agent's HTTP server layer (agent/httpd.h) on loopback,
 * driven with libcurl and with raw sockets: dispatch, query decoding, the error
 * replies, the limits, binding, and stopping with clients connected. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "agent.h"
#include "httpd.h"

/* ---- the routes under test ---- */

struct server {
	struct httpd *h;
	uint16_t port;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int calls;    /* handler calls, every route */
	int deploys;  /* POST /deploy calls */
	bool slow_in; /* /slow is running */
	bool slow_go; /* /slow may return */
};

static void count(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	s->calls++;
	pthread_mutex_unlock(&s->lock);
}

static void h_healthz(const struct httpd_request *req, struct httpd_response *resp, void *ctx)
{
	(void)req;
	count(ctx);
	httpd_respond(resp, 200, "ok\n");
}

static const char *q(const struct httpd_request *req, const char *key)
{
	const char *v = httpd_query(req, key);

	return v ? v : "(none)";
}

static void h_echo(const struct httpd_request *req, struct httpd_response *resp, void *ctx)
{
	count(ctx);
	httpd_respond(resp, 200, "%s %s a=[%s] b=[%s] c=[%s] d=[%s]", httpd_request_method(req),
		      httpd_request_path(req), q(req, "a"), q(req, "b"), q(req, "c"), q(req, "d"));
}

static void h_deploy(const struct httpd_request *req, struct httpd_response *resp, void *ctx)
{
	struct server *s = ctx;

	count(s);
	pthread_mutex_lock(&s->lock);
	s->deploys++;
	pthread_mutex_unlock(&s->lock);
	httpd_respond(resp, 200, "deployed %s %s\n", q(req, "service"), q(req, "version"));
}

static const char svg[] = "<svg>\0binary</svg>";

static void h_svg(const struct httpd_request *req, struct httpd_response *resp, void *ctx)
{
	(void)req;
	count(ctx);
	resp->status = 201;
	resp->content_type = "image/svg+xml";
	resp->body = malloc(sizeof(svg));
	assert_non_null(resp->body);
	memcpy(resp->body, svg, sizeof(svg));
	resp->len = sizeof(svg);
}

static void h_bad_status(const struct httpd_request *req, struct httpd_response *resp, void *ctx)
{
	(void)req;
	count(ctx);
	httpd_respond(resp, 42, "no such status\n");
}

#define BIG_BODY (8u << 20)

static void h_big(const struct httpd_request *req, struct httpd_response *resp, void *ctx)
{
	(void)req;
	count(ctx);
	resp->body = malloc(BIG_BODY);
	assert_non_null(resp->body);
	memset(resp->body, 'x', BIG_BODY);
	resp->len = BIG_BODY;
}

/* Blocks its server thread until the test lets it go (at most 20 s). */
static void h_slow(const struct httpd_request *req, struct httpd_response *resp, void *ctx)
{
	struct server *s = ctx;
	struct timespec until;

	(void)req;
	count(s);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 20;
	pthread_mutex_lock(&s->lock);
	s->slow_in = true;
	pthread_cond_broadcast(&s->cond);
	while (!s->slow_go && pthread_cond_timedwait(&s->cond, &s->lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&s->lock);
	httpd_respond(resp, 200, "slow done\n");
}

/* clang-format off */
static const struct httpd_route routes[] = {
	{ "GET", "/healthz", h_healthz },
	{ "GET", "/echo", h_echo },
	{ "POST", "/deploy", h_deploy },
	{ "GET", "/svg", h_svg },
	{ "GET", "/bad", h_bad_status },
	{ "GET", "/big", h_big },
	{ "GET", "/slow", h_slow },
};
/* clang-format on */
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static struct server *server_new(const char *listen)
{
	struct server *s = calloc(1, sizeof(*s));
	char err[256];

	assert_non_null(s);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->h = httpd__start(listen, routes, NROUTES, s, err, sizeof(err));
	if (!s->h) {
		int e = errno;

		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		free(s);
		errno = e;
		return NULL;
	}
	s->port = httpd__port(s->h);
	assert_true(s->port > 0);
	return s;
}

static void server_free(struct server *s)
{
	if (!s)
		return;
	httpd__stop(s->h);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int calls(struct server *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->calls;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static int setup(void **state)
{
	*state = server_new("127.0.0.1:0");
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	server_free(*state);
	return 0;
}

/* ---- a libcurl client ---- */

struct reply {
	CURLcode rc;
	long status;
	char content_type[128];
	char allow[128];
	char nosniff[32];
	char *body;
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct reply *r = ctx;
	char *b = realloc(r->body, r->len + size * n + 1);

	assert_non_null(b);
	memcpy(b + r->len, p, size * n);
	r->len += size * n;
	b[r->len] = '\0';
	r->body = b;
	return size * n;
}

struct upload {
	size_t left;
};

static size_t on_read(char *p, size_t size, size_t n, void *ctx)
{
	struct upload *u = ctx;
	size_t k = size * n < u->left ? size * n : u->left;

	memset(p, 'b', k);
	u->left -= k;
	return k;
}

static void header(CURL *c, const char *name, char *out, size_t outlen)
{
	struct curl_header *h;

	out[0] = '\0';
	if (curl_easy_header(c, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
		snprintf(out, outlen, "%s", h->value);
}

enum body_kind { NO_BODY, BODY, CHUNKED };

/* @method @url, with @body_len bytes of body sent as told. */
static void request(const char *method, const char *url, enum body_kind kind, size_t body_len,
		    struct reply *r)
{
	struct curl_slist *headers = NULL;
	struct upload up = { .left = body_len };
	char *content_type = NULL;
	char *body = NULL;
	CURL *c = curl_easy_init();

	assert_non_null(c);
	memset(r, 0, sizeof(*r));
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (kind == BODY) {
		body = malloc(body_len + 1);
		assert_non_null(body);
		memset(body, 'b', body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else if (kind == CHUNKED) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
		headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
	}
	/* No "Expect: 100-continue" wait before a body. */
	headers = curl_slist_append(headers, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);

	r->rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK && content_type)
		snprintf(r->content_type, sizeof(r->content_type), "%s", content_type);
	header(c, "Allow", r->allow, sizeof(r->allow));
	header(c, "X-Content-Type-Options", r->nosniff, sizeof(r->nosniff));
	curl_slist_free_all(headers);
	curl_easy_cleanup(c);
	free(body);
}

static void get(struct server *s, const char *method, const char *path, struct reply *r)
{
	char url[512];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", s->port, path);
	request(method, url, NO_BODY, 0, r);
}

static void reply_free(struct reply *r)
{
	free(r->body);
	r->body = NULL;
}

/* ---- raw sockets, for what curl hides ---- */

static int tcp_connect(const char *ip, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

static void send_str(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Read from @fd until @buf holds @want, EOF, or @timeout_ms without data.
 * @return true when @want arrived. */
static bool read_until(int fd, char *buf, size_t size, const char *want, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t len = 0;
	ssize_t n;

	buf[0] = '\0';
	while (!strstr(buf, want) && len + 1 < size) {
		if (poll(&p, 1, timeout_ms) <= 0)
			return false;
		n = recv(fd, buf + len, size - 1 - len, 0);
		if (n <= 0)
			return false;
		len += (size_t)n;
		buf[len] = '\0';
	}
	return strstr(buf, want) != NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the log hook ---- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_lines[4096];

static void on_log(enum agent_log_level level, const char *line, void *ctx)
{
	(void)level;
	(void)ctx;
	pthread_mutex_lock(&log_lock);
	if (strlen(log_lines) + strlen(line) + 2 < sizeof(log_lines)) {
		strcat(log_lines, line);
		strcat(log_lines, "\n");
	}
	pthread_mutex_unlock(&log_lock);
}

/* ---- tests ---- */

static void test_dispatch(void **state)
{
	struct server *s = *state;
	struct reply r;
	char url[256];

	get(s, "GET", "/healthz", &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "ok\n");
	assert_string_equal(r.content_type, "text/plain; charset=utf-8");
	assert_string_equal(r.nosniff, "nosniff");
	reply_free(&r);

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/deploy?service=api&version=v2", s->port);
	request("POST", url, NO_BODY, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "deployed api v2\n");
	assert_int_equal(s->deploys, 1);
	reply_free(&r);

	/* HEAD reaches the GET route; the reply has no body. */
	get(s, "HEAD", "/echo?a=1", &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, 0);
	assert_int_equal(calls(s), 3);
	reply_free(&r);
}

static void test_query_decoding(void **state)
{
	struct server *s = *state;
	struct reply r;

	get(s, "GET", "/echo?a=hello%20world&b=x+y%2Bz&c&a=second", &r);
	assert_int_equal(r.status, 200);
	/* %20 and + are spaces, %2B a plus; a key without "=" is ""; of a repeated key,
	 * the first; a missing one NULL. */
	assert_string_equal(r.body, "GET /echo a=[hello world] b=[x y+z] c=[] d=[(none)]");
	reply_free(&r);

	/* The path is decoded too. */
	get(s, "GET", "/%65cho?d=%C3%A9", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "GET /echo a=[(none)] b=[(none)] c=[(none)] d=[\xc3\xa9]");
	reply_free(&r);
}

static void test_nul_in_query_is_refused(void **state)
{
	struct server *s = *state;
	struct reply r;

	get(s, "GET", "/echo?a=api%00evil", &r);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "NUL"));
	assert_int_equal(calls(s), 0);
	reply_free(&r);
}

static void test_not_found(void **state)
{
	struct server *s = *state;
	struct reply r;

	get(s, "GET", "/nope", &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.content_type, "text/plain; charset=utf-8");
	reply_free(&r);
	/* Paths match exactly. */
	get(s, "GET", "/healthz/", &r);
	assert_int_equal(r.status, 404);
	reply_free(&r);
	assert_int_equal(calls(s), 0);
}

static void test_method_not_allowed(void **state)
{
	struct server *s = *state;
	struct reply r;

	get(s, "GET", "/deploy?service=api&version=v2", &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "POST");
	reply_free(&r);

	get(s, "DELETE", "/healthz", &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "GET, HEAD");
	reply_free(&r);
	assert_int_equal(calls(s), 0);
}

static void test_request_body_limit(void **state)
{
	struct server *s = *state;
	struct reply r;
	char url[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/deploy?service=api&version=v3", s->port);
	/* A small body is ignored. */
	request("POST", url, BODY, 100, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "deployed api v3\n");
	reply_free(&r);
	request("POST", url, CHUNKED, 100, &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	assert_int_equal(s->deploys, 2);

	/* A declared one over the limit is refused before it is read. */
	request("POST", url, BODY, 16 * 1024, &r);
	assert_int_equal(r.status, 413);
	assert_non_null(strstr(r.body, "too large"));
	reply_free(&r);
	/* A chunked one is cut off: the connection is closed, no handler runs. */
	request("POST", url, CHUNKED, 64 * 1024, &r);
	assert_true(r.rc != CURLE_OK || r.status != 200);
	reply_free(&r);
	assert_int_equal(s->deploys, 2);

	/* The server still answers. */
	get(s, "GET", "/healthz", &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
}

static void test_handler_status_and_type(void **state)
{
	struct server *s = *state;
	struct reply r;

	get(s, "GET", "/svg", &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.content_type, "image/svg+xml");
	assert_int_equal(r.len, sizeof(svg));
	assert_memory_equal(r.body, svg, sizeof(svg));
	reply_free(&r);

	/* A status HTTP has not is a server error, not a malformed reply. */
	get(s, "GET", "/bad", &r);
	assert_int_equal(r.status, 500);
	reply_free(&r);
}

static void *slow_client(void *arg)
{
	struct server *s = arg;
	struct reply *r = malloc(sizeof(*r));

	assert_non_null(r);
	get(s, "GET", "/slow", r);
	return r;
}

/* A handler that takes long holds up its own thread only: /healthz is answered by
 * the other one meanwhile. */
static void test_slow_handler_does_not_block_healthz(void **state)
{
	struct server *s = *state;
	struct reply r, *slow;
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, slow_client, s), 0);
	pthread_mutex_lock(&s->lock);
	while (!s->slow_in)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);

	get(s, "GET", "/healthz", &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	reply_free(&r);

	pthread_mutex_lock(&s->lock);
	assert_false(s->slow_go); /* /healthz came back while /slow still ran */
	s->slow_go = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	assert_int_equal(pthread_join(t, (void **)&slow), 0);
	assert_int_equal(slow->status, 200);
	assert_string_equal(slow->body, "slow done\n");
	reply_free(slow);
	free(slow);
}

/* A client that hangs up in the middle of a large reply costs that reply: no SIGPIPE
 * (its disposition is left as it was), and the server goes on. */
static void test_client_gone_mid_reply(void **state)
{
	struct server *s = *state;
	struct sigaction before, after;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct reply r;
	char buf[4096];
	int fd;

	assert_int_equal(sigaction(SIGPIPE, NULL, &before), 0);
	fd = tcp_connect("127.0.0.1", s->port);
	assert_true(fd >= 0);
	send_str(fd, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_true(read_until(fd, buf, sizeof(buf), "\r\n\r\n", 20000));
	/* Reset, with megabytes of the reply still to send. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);

	get(s, "GET", "/healthz", &r);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	assert_int_equal(sigaction(SIGPIPE, NULL, &after), 0);
	assert_ptr_equal(after.sa_handler, before.sa_handler);
}

/* Past HTTPD_MAX_CONNECTIONS open connections, new ones wait in the kernel's backlog
 * until others close. */
static void test_connection_limit(void **state)
{
	struct server *s = *state;
	enum { N = HTTPD_MAX_CONNECTIONS + 6 };
	bool answered[N];
	int fd[N], i, n = 0, late = 0;
	char buf[1024];

	for (i = 0; i < N; i++) {
		fd[i] = tcp_connect("127.0.0.1", s->port);
		assert_true(fd[i] >= 0);
		send_str(fd[i], "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
	}
	/* Wait bounds, not measurements: an accepted connection is answered at once, so
	 * once one has waited a second unanswered, the rest need not wait as long. */
	for (i = 0; i < N; i++) {
		answered[i] = read_until(fd[i], buf, sizeof(buf), "ok\n",
					 i < 2   ? 10000
					 : n < i ? 50
						 : 1000);
		n += answered[i];
	}
	assert_true(n >= 2);
	assert_true(n <= HTTPD_MAX_CONNECTIONS);
	/* Closing the answered ones lets the others in. */
	for (i = 0; i < N; i++)
		if (answered[i])
			close(fd[i]);
	for (i = 0; i < N; i++) {
		if (answered[i])
			continue;
		late += read_until(fd[i], buf, sizeof(buf), "ok\n", 10000);
		close(fd[i]);
	}
	assert_int_equal(n + late, N);
}

/* Bound to the address given only: another loopback address is refused. */
static void test_binds_only_the_address_given(void **state)
{
	struct server *s = *state;
	int fd = tcp_connect("127.0.0.2", s->port);

	if (fd >= 0)
		close(fd);
	assert_int_equal(fd, -ECONNREFUSED);
}

static void test_ipv6_loopback(void **state)
{
	struct server *s;
	struct reply r;
	char url[128];

	(void)state;
	s = server_new("[::1]:0");
	if (!s && (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT))
		skip(); /* no IPv6 loopback on this machine */
	assert_non_null(s);
	snprintf(url, sizeof(url), "http://[::1]:%u/healthz", s->port);
	request("GET", url, NO_BODY, 0, &r);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	server_free(s);
}

static void assert_one_line(const char *err)
{
	assert_true(err[0] != '\0');
	assert_null(strchr(err, '\n'));
}

static void test_bad_listen(void **state)
{
	static const char *const bad[] = {
		"",
		"7071",
		"127.0.0.1",
		"127.0.0.1:",
		"127.0.0.1:70000",
		"127.0.0.1:-1",
		"127.0.0.1:80x",
		"127.0.0.1: 80",
		"localhost:7071",
		"127.1:7071",
		"::1:7071",
		"[::1]7071",
		"[::1",
		"[]:7071",
		"[127.0.0.1]:7071",
		"[nothex]:1",
		":7071",
		"0.0.0.0:1234567",
	};
	struct httpd_route bad_route = { "GET", "healthz", h_healthz };
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(httpd__start(bad[i], routes, NROUTES, NULL, err, sizeof(err)));
		assert_int_equal(errno, EINVAL);
		assert_one_line(err);
		assert_non_null(strstr(err, "--listen"));
	}
	assert_null(httpd__start("127.0.0.1:0", &bad_route, 1, NULL, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_one_line(err);
}

static void test_port_in_use(void **state)
{
	struct server *s = *state;
	char listen[64], err[256], port[16];

	snprintf(listen, sizeof(listen), "127.0.0.1:%u", s->port);
	snprintf(port, sizeof(port), "%u", s->port);
	assert_null(httpd__start(listen, routes, NROUTES, NULL, err, sizeof(err)));
	assert_int_equal(errno, EADDRINUSE);
	assert_one_line(err);
	assert_non_null(strstr(err, "in use"));
	assert_non_null(strstr(err, port));

	/* An address no interface has (TEST-NET-1). */
	assert_null(httpd__start("192.0.2.1:0", routes, NROUTES, NULL, err, sizeof(err)));
	assert_int_equal(errno, EADDRNOTAVAIL);
	assert_one_line(err);
}

static void alarm_fail(int sig)
{
	(void)sig;
	static const char msg[] = "httpd__stop hung with a client connected\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

/* An idle keep-alive client neither holds httpd__stop up for its timeout nor keeps its
 * connection: the server closes it. */
static void test_stop_with_idle_keepalive_client(void **state)
{
	struct server *s;
	struct sigaction sa = { .sa_handler = alarm_fail }, old;
	char buf[1024];
	double t0, took;
	int fd;

	(void)state;
	s = server_new("127.0.0.1:0");
	assert_non_null(s);
	fd = tcp_connect("127.0.0.1", s->port);
	assert_true(fd >= 0);
	send_str(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_true(read_until(fd, buf, sizeof(buf), "ok\n", 10000));
	assert_null(strstr(buf, "Connection: close"));

	/* A guard: a hang would otherwise last until the client's 30 s timeout. */
	sigaction(SIGALRM, &sa, &old);
	alarm(HTTPD_TIMEOUT_SECONDS / 2);
	t0 = now_s();
	server_free(s);
	took = now_s() - t0;
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	assert_true(took < HTTPD_TIMEOUT_SECONDS / 2);

	/* The server closed the connection: EOF (or a reset). */
	assert_false(read_until(fd, buf, sizeof(buf), "never", 10000));
	assert_true(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0);
	close(fd);
}

/* MHD's own messages go through the agent's log hook, prefixed. */
static void test_mhd_messages_reach_the_log_hook(void **state)
{
	struct server *s = *state;
	int fd;
	char buf[256];

	log_lines[0] = '\0';
	agent__set_log(on_log, NULL);
	/* A request line MHD refuses and reports. */
	fd = tcp_connect("127.0.0.1", s->port);
	assert_true(fd >= 0);
	send_str(fd, "GET /healthz HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n");
	read_until(fd, buf, sizeof(buf), "\r\n\r\n", 10000);
	close(fd);
	agent__set_log(NULL, NULL);
	pthread_mutex_lock(&log_lock);
	assert_non_null(strstr(log_lines, "http: "));
	pthread_mutex_unlock(&log_lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dispatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_decoding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nul_in_query_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_not_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_body_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_status_and_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_handler_does_not_block_healthz, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_client_gone_mid_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binds_only_the_address_given, setup, teardown),
		cmocka_unit_test(test_ipv6_loopback),
		cmocka_unit_test(test_bad_listen),
		cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
		cmocka_unit_test(test_stop_with_idle_keepalive_client),
		cmocka_unit_test_setup_teardown(test_mhd_messages_reach_the_log_hook, setup,
						teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd.c - the agent's local HTTP endpoint on libmicrohttpd (httpd.h): parsing
 * --listen, binding the socket, the limits, route dispatch and the error replies.
 *
 * The socket is bound here rather than by MHD so that a failure has its errno (MHD
 * only logs it) and the user gets one line that says what to do.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "httpd.h"
#include "log.h"

#define DEFAULT_CONTENT_TYPE "text/plain; charset=utf-8"
#define MAX_ROUTES 64
#define MAX_METHOD 16
#define LISTEN_BACKLOG 16
/* MHD's memory per connection: the request line and headers must fit (the default). */
#define CONNECTION_MEMORY (32 * 1024)

struct httpd {
	struct MHD_Daemon *mhd;
	struct httpd_route *routes;
	size_t nroutes;
	void *ctx;
	uint16_t port;
};

struct httpd_request {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	size_t body; /* request body bytes seen (and dropped) */
};

const char *httpd_request_method(const struct httpd_request *r)
{
	return r->method;
}

const char *httpd_request_path(const struct httpd_request *r)
{
	return r->path;
}

const char *httpd_query(const struct httpd_request *r, const char *key)
{
	const char *value = NULL;
	size_t len = 0;

	if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, key, strlen(key), &value,
					  &len) != MHD_YES)
		return NULL;
	return value ? value : ""; /* "?key" without "=" */
}

void httpd_respond(struct httpd_response *resp, int status, const char *fmt, ...)
{
	va_list ap;
	int n;

	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
	resp->status = status;
	resp->content_type = DEFAULT_CONTENT_TYPE;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(resp->body = malloc((size_t)n + 1))) {
		resp->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(resp->body, (size_t)n + 1, fmt, ap);
	va_end(ap);
	resp->len = (size_t)n;
}

/* ---- replies ---- */

/* Queue @resp (its body is handed to MHD, which frees it) with @allow as the Allow
 * header when not NULL. */
static enum MHD_Result reply(struct MHD_Connection *conn, struct httpd_response *resp,
			     const char *allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (resp->status < 200 || resp->status > 599 || (!resp->body && resp->len)) {
		agent_log(AGENT_LOG_NOTE,
			  "http: a handler's reply is invalid (status %d, %zu "
			  "bytes%s): sent 500 instead",
			  resp->status, resp->len, resp->body ? "" : ", no body");
		httpd_respond(resp, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
	}
	r = MHD_create_response_from_buffer_with_free_callback(resp->len, resp->body, free);
	if (!r) {
		free(resp->body);
		resp->body = NULL;
		return MHD_NO; /* out of memory: MHD closes the connection */
	}
	resp->body = NULL;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				    resp->content_type ? resp->content_type
						       : DEFAULT_CONTENT_TYPE) != MHD_YES ||
	    /* The flame graph is a scripted SVG: a browser must not guess another type
	     * for any answer from here. */
	    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff") != MHD_YES ||
	    (allow && MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, (unsigned int)resp->status, r);
	MHD_destroy_response(r); /* the queued response holds its own reference */
	return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *conn, int status, const char *allow,
				   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum MHD_Result reply_error(struct MHD_Connection *conn, int status, const char *allow,
				   const char *fmt, ...)
{
	struct httpd_response resp = { .status = status };
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	httpd_respond(&resp, status, "%s\n", line);
	return reply(conn, &resp, allow);
}

/* ---- dispatch ---- */

static bool method_matches(const char *route, const char *method)
{
	/* MHD answers HEAD with the headers of the GET response. */
	return !strcmp(route, method) || (!strcmp(route, "GET") && !strcmp(method, "HEAD"));
}

/* MHD_KeyValueIteratorN: stops at a query parameter holding a NUL byte ("%00"). A
 * C string would silently cut it there ("api%00x" would read as "api"). */
static enum MHD_Result find_nul(void *cls, enum MHD_ValueKind kind, const char *key,
				size_t key_size, const char *value, size_t value_size)
{
	bool *bad = cls;

	(void)kind;
	if (strlen(key) != key_size || (value && strlen(value) != value_size)) {
		*bad = true;
		return MHD_NO;
	}
	return MHD_YES;
}

/* Whether a route before @i has the same path and method (for the Allow list). */
static bool listed_before(const struct httpd *h, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (!strcmp(h->routes[j].path, h->routes[i].path) &&
		    !strcmp(h->routes[j].method, h->routes[i].method))
			return true;
	return false;
}

static enum MHD_Result dispatch(struct httpd *h, struct httpd_request *req)
{
	struct httpd_response resp = { .status = MHD_HTTP_OK };
	const struct httpd_route *route = NULL;
	char allow[MAX_ROUTES * (MAX_METHOD + 2) + 8] = "";
	bool known_path = false, has_get = false, has_head = false, bad = false;
	size_t i;

	MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, find_nul, &bad);
	if (bad)
		return reply_error(req->conn, MHD_HTTP_BAD_REQUEST, NULL,
				   "bad request: a query parameter holds a NUL byte (%%00)");
	for (i = 0; i < h->nroutes; i++) {
		const struct httpd_route *rt = &h->routes[i];

		if (strcmp(rt->path, req->path))
			continue;
		known_path = true;
		if (!route && method_matches(rt->method, req->method))
			route = rt;
		if (listed_before(h, i))
			continue;
		if (*allow)
			strcat(allow, ", ");
		strcat(allow, rt->method);
		has_get |= !strcmp(rt->method, "GET");
		has_head |= !strcmp(rt->method, "HEAD");
	}
	if (!known_path)
		return reply_error(req->conn, MHD_HTTP_NOT_FOUND, NULL, "not found: %s", req->path);
	if (!route) {
		if (has_get && !has_head)
			strcat(allow, ", HEAD");
		return reply_error(req->conn, MHD_HTTP_METHOD_NOT_ALLOWED, allow,
				   "method %s not allowed on %s (allowed: %s)", req->method,
				   req->path, allow);
	}
	route->fn(req, &resp, h->ctx);
	return reply(req->conn, &resp, NULL);
}

/* A declared body over the limit (or a Content-Length MHD would not have let through,
 * which cannot be trusted). Chunked bodies are counted as they arrive. */
static bool body_too_big(struct MHD_Connection *conn)
{
	const char *cl =
		MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long n;
	char *end;

	if (!cl)
		return false;
	errno = 0;
	n = strtoull(cl, &end, 10);
	return errno || end == cl || *end || n > HTTPD_MAX_BODY;
}

/* MHD_AccessHandlerCallback: MHD calls it once when the headers are in, once per
 * piece of body, and once more when the request is complete. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct httpd *h = cls;
	struct httpd_request *req = *req_cls;

	(void)version;
	(void)upload_data;
	if (!req) {
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		req->conn = conn;
		req->method = method;
		req->path = url;
		*req_cls = req; /* freed by on_completed */
		/* Answered before the body is read: MHD then neither reads it nor
		 * sends "100 Continue", and closes the connection after the reply. */
		if (body_too_big(conn))
			return reply_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
					   "request body too large: the limit is %d bytes "
					   "(parameters go in the query string)",
					   HTTPD_MAX_BODY);
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* No endpoint reads a body: it is dropped, up to the limit. A chunked
		 * one can only be cut off here (MHD accepts no reply mid-body). */
		req->body += *upload_data_size;
		*upload_data_size = 0;
		if (req->body > HTTPD_MAX_BODY) {
			agent_log(AGENT_LOG_DEBUG,
				  "http: %s %s: request body over %d bytes: connection closed",
				  method, url, HTTPD_MAX_BODY);
			return MHD_NO;
		}
		return MHD_YES;
	}
	return dispatch(h, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	free(*req_cls);
	*req_cls = NULL;
}

/* ---- the listening socket ---- */

static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	const char *p;

	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

#define LISTEN_EXAMPLE "e.g. 127.0.0.1:7071 or [::1]:7071"

/* "ADDR:PORT" or "[IPv6]:PORT" with a numeric address (a name could resolve to
 * several, or to an address the user did not mean to expose). */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen,
			uint16_t *port, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1]; /* room for a "%scope" */
	const char *host_start, *host_end, *port_str;
	bool v6 = spec[0] == '[';
	size_t hlen;

	if (v6) {
		host_start = spec + 1;
		host_end = strchr(spec, ']');
		if (!host_end || host_end[1] != ':') {
			snprintf(err, errlen, "--listen '%s': expected [IPv6]:PORT, %s", spec,
				 LISTEN_EXAMPLE);
			return -EINVAL;
		}
		port_str = host_end + 2;
	} else {
		host_start = spec;
		host_end = strrchr(spec, ':');
		if (!host_end) {
			snprintf(err, errlen, "--listen '%s': expected ADDR:PORT, %s", spec,
				 LISTEN_EXAMPLE);
			return -EINVAL;
		}
		if (memchr(spec, ':', (size_t)(host_end - spec))) {
			snprintf(err, errlen,
				 "--listen '%s': put an IPv6 address in brackets, e.g. [::1]:7071",
				 spec);
			return -EINVAL;
		}
		port_str = host_end + 1;
	}
	hlen = (size_t)(host_end - host_start);
	if (!hlen) {
		snprintf(err, errlen, "--listen '%s': no address, %s", spec, LISTEN_EXAMPLE);
		return -EINVAL;
	}
	if (parse_port(port_str, port)) {
		snprintf(err, errlen,
			 "--listen '%s': the port must be a number from 0 to 65535 "
			 "(0: any free port), %s",
			 spec, LISTEN_EXAMPLE);
		return -EINVAL;
	}
	if (hlen >= sizeof(host))
		hlen = sizeof(host) - 1; /* too long for an address: fails below */
	memcpy(host, host_start, hlen);
	host[hlen] = '\0';

	memset(ss, 0, sizeof(*ss));
	if (!v6) {
		/* inet_pton, not getaddrinfo: it takes no shorthand such as "127.1". */
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			snprintf(err, errlen,
				 "--listen '%s': '%s' is not a numeric IPv4 address, %s", spec,
				 host, LISTEN_EXAMPLE);
			return -EINVAL;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons(*port);
		*sslen = sizeof(*sin);
	} else {
		/* getaddrinfo for the scope of a link-local address ("fe80::1%eth0"). */
		struct addrinfo hints = {
			.ai_family = AF_INET6,
			.ai_socktype = SOCK_STREAM,
			.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
		};
		struct addrinfo *ai = NULL;
		char serv[8];

		snprintf(serv, sizeof(serv), "%u", *port);
		if (getaddrinfo(host, serv, &hints, &ai) || !ai || ai->ai_addrlen > sizeof(*ss)) {
			if (ai)
				freeaddrinfo(ai);
			snprintf(err, errlen,
				 "--listen '%s': '%s' is not a numeric IPv6 address, %s", spec,
				 host, LISTEN_EXAMPLE);
			return -EINVAL;
		}
		memcpy(ss, ai->ai_addr, ai->ai_addrlen);
		*sslen = ai->ai_addrlen;
		freeaddrinfo(ai);
	}
	return 0;
}

static void explain_bind(int e, const char *spec, uint16_t port, char *err, size_t errlen)
{
	switch (e) {
	case EADDRINUSE:
		snprintf(err, errlen,
			 "cannot listen on %s: port %u is in use (another smolder "
			 "agent?); choose another with --listen ADDR:PORT",
			 spec, port);
		break;
	case EADDRNOTAVAIL:
		snprintf(err, errlen,
			 "cannot listen on %s: no interface of this machine has "
			 "that address; give --listen one of its addresses",
			 spec);
		break;
	case EACCES:
		snprintf(err, errlen,
			 "cannot listen on %s: ports below 1024 need "
			 "CAP_NET_BIND_SERVICE; choose a port from 1024 up with --listen",
			 spec);
		break;
	case EAFNOSUPPORT:
		snprintf(err, errlen,
			 "cannot listen on %s: IPv6 is not available here; give "
			 "--listen an IPv4 address",
			 spec);
		break;
	default:
		snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(e));
	}
}

/* @return a bound, listening, non-blocking socket, or a negative errno. */
static int open_socket(const char *spec, const struct sockaddr_storage *ss, socklen_t sslen,
		       uint16_t port, char *err, size_t errlen)
{
	int fd, one = 1, zero = 0, e;

	/* Non-blocking: every thread of MHD's pool accepts on it, and all but one lose. */
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		explain_bind(e, spec, port, err, errlen);
		return -e;
	}
	/* A restarted agent binds again while connections of the old one linger in
	 * TIME_WAIT. (Two sockets still cannot listen on one port.) */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    /* [::] is every interface of both families, whatever net.ipv6.bindv6only
	     * says; for any other IPv6 address the option changes nothing. */
	    (ss->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero))) ||
	    bind(fd, (const struct sockaddr *)ss, sslen) || listen(fd, LISTEN_BACKLOG)) {
		e = errno;
		close(fd);
		explain_bind(e, spec, port, err, errlen);
		return -e;
	}
	return fd;
}

/* ---- the server ---- */

static int check_routes(const struct httpd_route *routes, size_t n)
{
	size_t i;

	if (n > MAX_ROUTES || (n && !routes))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		const struct httpd_route *r = &routes[i];

		if (!r->fn || !r->method || !*r->method || strlen(r->method) > MAX_METHOD ||
		    !r->path || r->path[0] != '/')
			return -EINVAL;
	}
	return 0;
}

/* The first message MHD logs while httpd__start runs, for @err. Thread-local: what
 * MHD's own threads log meanwhile is not a reason for the start to fail. */
static _Thread_local char *start_msg;
static _Thread_local size_t start_msglen;

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (start_msg && !*start_msg) {
		snprintf(start_msg, start_msglen, "%s", line);
		start_msg[strcspn(start_msg, "\n")] = '\0';
	}
	agent_log(AGENT_LOG_NOTE, "http: %s", line); /* agent_log drops the newline */
}

/* Whether @fd still is the socket whose inode is @ino. MHD closes a listening socket
 * it was given on some of its failure paths and not on others; socket inodes are not
 * reused while the kernel runs, so this tells whether the fd is still ours to close. */
static bool same_socket(int fd, ino_t ino)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISSOCK(st.st_mode) && st.st_ino == ino;
}

struct httpd *httpd__start(const char *spec, const struct httpd_route *routes, size_t nroutes,
			   void *ctx, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	struct httpd *h = NULL;
	char mhd_msg[256] = "";
	struct stat st;
	uint16_t port;
	int fd = -1, e;

	if (errlen)
		err[0] = '\0';
	if (!spec || check_routes(routes, nroutes)) {
		snprintf(err, errlen, "httpd: %s", spec ? "invalid routes" : "no listen address");
		e = -EINVAL;
		goto fail;
	}
	e = parse_listen(spec, &ss, &sslen, &port, err, errlen);
	if (e)
		goto fail;
	h = calloc(1, sizeof(*h));
	if (!h || !(h->routes = calloc(nroutes ? nroutes : 1, sizeof(*routes)))) {
		snprintf(err, errlen, "cannot start the HTTP server: out of memory");
		e = -ENOMEM;
		goto fail;
	}
	if (nroutes)
		memcpy(h->routes, routes, nroutes * sizeof(*routes));
	h->nroutes = nroutes;
	h->ctx = ctx;

	fd = open_socket(spec, &ss, sslen, port, err, errlen);
	if (fd < 0) {
		e = fd;
		goto fail;
	}
	sslen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) || fstat(fd, &st)) {
		e = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(-e));
		goto fail;
	}
	h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);

	start_msg = mhd_msg;
	start_msglen = sizeof(mhd_msg);
	errno = 0;
	/* MHD's threads block SIGPIPE and it sends with MSG_NOSIGNAL: a client that goes
	 * away mid-reply costs that reply, and no signal disposition is touched. */
	/* One option and its values a line. */
	/* clang-format off */
	h->mhd = MHD_start_daemon(
		MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		on_request, h,
		/* first, so that even MHD's start-up messages go through the log hook */
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)HTTPD_THREADS,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTPD_MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTPD_TIMEOUT_SECONDS,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
		MHD_OPTION_END);
	/* clang-format on */
	e = errno ? -errno : -EIO;
	start_msg = NULL;
	if (!h->mhd) {
		snprintf(err, errlen, "cannot start the HTTP server on %s: %s", spec,
			 *mhd_msg ? mhd_msg : strerror(-e));
		if (!same_socket(fd, st.st_ino))
			fd = -1; /* MHD closed it */
		goto fail;
	}
	return h; /* MHD owns fd now */

fail:
	if (fd >= 0)
		close(fd);
	if (h)
		free(h->routes);
	free(h);
	errno = -e;
	return NULL;
}

uint16_t httpd__port(const struct httpd *h)
{
	return h->port;
}

void httpd__stop(struct httpd *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	free(h->routes);
	free(h);
}

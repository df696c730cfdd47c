/* SPDX-License-Identifier: Apache-2.0 */
/*
 * httpd.h - the node agent's local HTTP endpoint: a small server on libmicrohttpd
 * that dispatches requests to a table of routes. It owns what a hostile or broken
 * client could abuse (bounded connections, a timeout per connection, request bodies
 * refused past a few KiB, query strings with NUL bytes refused) so that handlers see
 * only well-formed requests. Internal to agent/ (the daemon's endpoints use it).
 *
 * Handlers run on the server's threads (a pool of HTTPD_THREADS), possibly two at
 * once: what they share with each other or with the daemon must be locked. One slow
 * handler holds up the connections of its own thread only.
 */
#ifndef SMOLDER_AGENT_HTTPD_H
#define SMOLDER_AGENT_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#define HTTPD_THREADS 2          /* handlers that may run at once */
#define HTTPD_MAX_CONNECTIONS 32 /* past it, new ones wait in the listen backlog */
#define HTTPD_TIMEOUT_SECONDS 30 /* an idle or stalled connection is closed */
#define HTTPD_MAX_BODY 4096      /* bigger request bodies get 413 (none is used) */

struct httpd;
struct httpd_request; /* opaque, valid during the handler call */

/* "GET", "POST", ... (a HEAD request reaches its GET route as "HEAD"; the server
 * sends the headers of the handler's response without its body). */
const char *httpd_request_method(const struct httpd_request *r);
/* The path, URL-decoded, without the query string ("/metrics"). */
const char *httpd_request_path(const struct httpd_request *r);
/* The query parameter @key (URL-decoded: "%20" and "+" are spaces), or NULL when the
 * query has no @key. "?key" alone gives "". Of repeated keys, the first. Valid during
 * the handler call. */
const char *httpd_query(const struct httpd_request *r, const char *key);

struct httpd_response {
	int status;               /* 200 unless set; 200-599, else the client gets 500 */
	const char *content_type; /* static string; default "text/plain; charset=utf-8" */
	char *body;               /* malloc'd; the server frees it */
	size_t len;
};

/* Set a plain-text body with printf formatting (also sets status, and the content
 * type back to plain text). A body set before is freed. Out of memory, the body is
 * empty and the status 500. */
void httpd_respond(struct httpd_response *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fill @resp (status, content type, body) for @req. @ctx: httpd__start's. */
typedef void (*httpd_handler_fn)(const struct httpd_request *req, struct httpd_response *resp,
				 void *ctx);

struct httpd_route {
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* matched exactly: "/metrics" */
	httpd_handler_fn fn;
};

/*
 * Listen on @listen: "ADDR:PORT" or "[IPv6]:PORT", with a numeric address (port 0:
 * any free port, see httpd__port). Only the address given is bound: every interface
 * only when ADDR is 0.0.0.0 or [::] (which also takes IPv4). Requests go to the
 * route whose path and method match; a path no route has gets 404, a known path with
 * another method 405 with an Allow header.
 * @routes is copied (its strings and @ctx are borrowed: they must outlive the server).
 * @return the server, or NULL with errno set and one line for the user in @err:
 * EINVAL when @listen is malformed or @routes invalid (a usage error), otherwise why
 * the socket could not be bound (EADDRINUSE, EADDRNOTAVAIL, EACCES, ...) or the
 * server not started.
 */
struct httpd *httpd__start(const char *listen, const struct httpd_route *routes, size_t nroutes,
			   void *ctx, char *err, size_t errlen);

/* The port bound (the one chosen when @listen asked for port 0). */
uint16_t httpd__port(const struct httpd *h);

/* Close the socket and every connection, and free @h (NULL: nothing). Connected clients,
 * idle or not, do not hold it up; a handler that is running is waited for. */
void httpd__stop(struct httpd *h);

#endif /* SMOLDER_AGENT_HTTPD_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * push.c - delivers flushed intervals to Grafana Pyroscope's /ingest API (push.h).
 *
 * One request per service and interval, as current Grafana Pyroscope reads it
 * (pkg/ingester/pyroscope/ingest_handler.go, docs/sources/configure-server/
 * about-server-api.md):
 *
 *   POST {url}/ingest?name=SERVICE{hostname=H}&from=UNIX_S&until=UNIX_S
 *        &sampleRate=HZ&spyName=smolder&format=pprof
 *   Content-Type: application/octet-stream
 *   <gzip profile.proto>
 *
 * With format=pprof the server takes the raw body as the profile; the multipart form
 * (a "profile" field beside a "sample_type_config" one) is read only when format is
 * not pprof, for clients that need a custom sample-type mapping, which ours
 * (samples/count, cpu/nanoseconds) does not. The server names the profile type from
 * the pprof's sample types (cpu -> process_cpu) and takes the part of name before '{'
 * as service_name, so name carries the service alone: the series shows as
 * SERVICE.cpu{...}, where a name of "SERVICE.cpu" would make the service "SERVICE.cpu".
 * The string labels of the samples (comm, exe, container_id, ...) become series labels
 * there; pid and tid are numeric pprof labels, which it does not turn into series.
 *
 * Threads: pusher__push splits and encodes on the caller's thread and takes the lock
 * only to queue; one sending thread owns the curl handle (kept alive between requests)
 * and takes the lock only between requests.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "hash.h"
#include "list.h"
#include "log.h"
#include "push.h"
#include "vec.h"

#define DEFAULT_MAX_QUEUE (16u << 20)
#define DEFAULT_TIMEOUT 10.0
#define DEFAULT_BACKOFF_MIN 1.0
#define DEFAULT_BACKOFF_MAX 60.0
#define MAX_WAIT_S 86400.0           /* bound on any of the above */
#define LOG_EVERY_NS (60 * NS)       /* failures are logged at most this often */
#define MAX_NAME 255                 /* bytes of a sanitised service name or label */
#define MAX_REPLY 160                /* bytes of an error reply kept for the log */
#define NS 1000000000ull
#define MAX_SOCKS 4                  /* sockets of one transfer (happy eyeballs opens 2) */

/* One request waiting: the full URL and the encoded profile. */
struct body {
	struct list_node node;
	char *url;
	char *data;
	size_t len;
	size_t size; /* what it takes in memory, for max_queue_bytes */
};

struct pusher {
	char *ingest;          /* {url}/ingest */
	char *shown;           /* the URL for messages: no user:password@ */
	char host[MAX_NAME + 1];
	unsigned int rate;
	size_t max_bytes;
	long timeout_ms;
	uint64_t backoff_min, backoff_max; /* ns */

	CURL *curl;            /* the sending thread's */
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	char reply[MAX_REPLY + 1];
	size_t reply_len;
	uint64_t rng;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;   /* a body was queued, or stop */
	pthread_cond_t done;   /* the sending thread is finishing */
	struct list_node queue; /* newest at the front, oldest at the back */
	bool stop, finished;
	uint64_t deadline;     /* with stop: CLOCK_MONOTONIC ns when delivery ends */
	_Atomic uint64_t abort_at; /* the same, for the transfer callback; 0: none */
	int socks[MAX_SOCKS];  /* curl's open sockets, so that pusher__free can cut a
				  hung transfer short (-1: none) */
	struct push_stats st;

	/* the sending thread's log state */
	uint64_t logged_at;    /* when the last "failing" line went out; 0: never */
	bool failing_logged;   /* a "failing" line was written since the last success */
	uint64_t dropped_logged;
	uint64_t failed_run;   /* failed attempts since the last success */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static uint64_t seconds_ns(double s)
{
	return (uint64_t)(s * 1e9);
}

/* ---- names and URLs ---- */

/* Pyroscope takes service names of [A-Za-z0-9_./-] (labelset.ValidateServiceName):
 * anything else becomes '_'. */
static void sanitise_service(const char *in, char *out)
{
	size_t n = 0;

	for (; *in && n < MAX_NAME; in++) {
		unsigned char c = (unsigned char)*in;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '/' || c == '-';
		out[n++] = ok ? (char)c : '_';
	}
	if (!n)
		memcpy(out, "unknown", (n = 7));
	out[n] = '\0';
}

/* A label value in name's {k=v,...}: the parser ends a value at ',' or '}' and trims
 * spaces, so those (and braces, '=', quotes, controls) become '_'. */
static void sanitise_value(const char *in, char *out)
{
	size_t n = 0;

	for (; *in && n < MAX_NAME; in++) {
		unsigned char c = (unsigned char)*in;
		out[n++] = c <= ' ' || c == 0x7f || strchr(",{}=\"", c) ? '_' : (char)c;
	}
	if (!n)
		memcpy(out, "unknown", (n = 7));
	out[n] = '\0';
}

/* Check @url and make {url}/ingest and the URL to show in messages. */
static int parse_url(struct pusher *p, const char *url, char *err, size_t errlen)
{
	const char *rest, *at, *slash;
	size_t len;

	if (!url || !*url) {
		snprintf(err, errlen, "push: no server URL given (http://HOST:PORT of a "
			 "Pyroscope server)");
		return -EINVAL;
	}
	if (!strncasecmp(url, "http://", 7)) {
		rest = url + 7;
	} else if (!strncasecmp(url, "https://", 8)) {
		curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
		bool https = false;

		for (const char *const *pr = v->protocols; pr && *pr; pr++)
			https |= !strcmp(*pr, "https");
		if (!https) {
			snprintf(err, errlen, "push URL %s: this libcurl has no https support; "
				 "use http:// or a libcurl built with TLS", url);
			return -EINVAL;
		}
		rest = url + 8;
	} else {
		snprintf(err, errlen, "push URL %s: must start with http:// or https:// "
			 "(e.g. http://127.0.0.1:4040)", url);
		return -EINVAL;
	}
	if (!*rest || *rest == '/') {
		snprintf(err, errlen, "push URL %s: no host (e.g. http://127.0.0.1:4040)", url);
		return -EINVAL;
	}
	for (const char *c = url; *c; c++) {
		if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '?' || *c == '#') {
			snprintf(err, errlen, "push URL %s: give the server's base URL, without "
				 "spaces, query or fragment (/ingest is added)", url);
			return -EINVAL;
		}
	}
	len = strlen(url);
	while (len && url[len - 1] == '/')
		len--;
	if (asprintf(&p->ingest, "%.*s/ingest", (int)len, url) < 0) {
		p->ingest = NULL;
		return -ENOMEM;
	}
	/* Credentials stay out of the log. */
	slash = strchr(rest, '/');
	at = memchr(rest, '@', slash ? (size_t)(slash - rest) : strlen(rest));
	if (asprintf(&p->shown, "%.*s%.*s", (int)(rest - url), url,
		     (int)(len - (size_t)((at ? at + 1 : rest) - url)), at ? at + 1 : rest) < 0) {
		p->shown = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int make_url(const struct pusher *p, const char *service, uint64_t from_ns,
		    uint64_t until_ns, char **out)
{
	char name[2 * MAX_NAME + 32];
	uint64_t from = from_ns / NS, until = (until_ns + NS - 1) / NS;
	char *esc;
	int n;

	/* The part before '{' is the service; the server appends the type (.cpu). */
	snprintf(name, sizeof(name), "%s{hostname=%s}", service, p->host);
	esc = curl_easy_escape(NULL, name, 0);
	if (!esc)
		return -ENOMEM;
	if (until < from)
		until = from;
	n = asprintf(out, "%s?name=%s&from=%" PRIu64 "&until=%" PRIu64
		     "&sampleRate=%u&spyName=smolder&format=pprof",
		     p->ingest, esc, from, until, p->rate);
	curl_free(esc);
	if (n < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* ---- splitting an interval by service ---- */

/* The samples of one service, copied into a profile of their own. */
struct part {
	char name[MAX_NAME + 1]; /* sanitised service */
	struct profile *dst;
};

/* (part, id in the interval) -> id in that part's profile: open addressing, keys
 * stored + 1 (0: empty), capacity a power of two at most half full. */
struct idmap {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, len;
};

static int idmap_grow(struct idmap *m)
{
	size_t cap = m->cap ? 2 * m->cap : 256;
	uint64_t *keys = calloc(cap, sizeof(*keys));
	uint32_t *vals = malloc(cap * sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->keys[i])
			continue;
		for (j = hash_reduce(hash_mix64(m->keys[i]), cap); keys[j]; j = (j + 1) & (cap - 1))
			;
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return 0;
}

/* The value slot of (@part, @id): *@found says whether it holds one; a new slot must
 * be filled before the next call. NULL when out of memory. */
static uint32_t *idmap_at(struct idmap *m, uint32_t part, uint32_t id, bool *found)
{
	uint64_t key = ((uint64_t)part << 32 | id) + 1; /* part < UINT32_MAX: no wrap */
	size_t i;

	if (2 * (m->len + 1) > m->cap && idmap_grow(m))
		return NULL;
	for (i = hash_reduce(hash_mix64(key), m->cap); m->keys[i]; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key) {
			*found = true;
			return &m->vals[i];
		}
	}
	m->keys[i] = key;
	m->len++;
	*found = false;
	return &m->vals[i];
}

static void idmap_free(struct idmap *m)
{
	free(m->keys);
	free(m->vals);
}

struct split {
	const struct profile *src;
	struct profile_info info;  /* each part's: the interval's period, [from, until) */
	VEC(struct part) parts;    /* in order of first appearance */
	uint32_t *slots;           /* parts by name: index + 1, 0 empty (power of two) */
	size_t nslots;
	uint32_t *set_part;        /* label set -> part + 1, for sets with a service */
	size_t nsets;
	struct idmap frames, mappings, sets;
	uint32_t stack[PROFILE_MAX_STACK_DEPTH];
};

static int find_part(struct split *sp, const char *name, uint32_t *out)
{
	size_t i;
	int err;

	if (2 * (sp->parts.len + 1) > sp->nslots) {
		size_t n = sp->nslots ? 2 * sp->nslots : 64;
		uint32_t *slots = calloc(n, sizeof(*slots));

		if (!slots)
			return -ENOMEM;
		for (size_t g = 0; g < sp->parts.len; g++) {
			i = hash_reduce(hash_mix64(hash_fnv1a_str(sp->parts.v[g].name, 0)), n);
			while (slots[i])
				i = (i + 1) & (n - 1);
			slots[i] = (uint32_t)g + 1;
		}
		free(sp->slots);
		sp->slots = slots;
		sp->nslots = n;
	}
	for (i = hash_reduce(hash_mix64(hash_fnv1a_str(name, 0)), sp->nslots); sp->slots[i];
	     i = (i + 1) & (sp->nslots - 1)) {
		if (!strcmp(sp->parts.v[sp->slots[i] - 1].name, name)) {
			*out = sp->slots[i] - 1;
			return 0;
		}
	}
	if (sp->parts.len >= UINT32_MAX - 1)
		return -ENOMEM;
	err = VEC_RESERVE(sp->parts, sp->parts.len + 1);
	if (err)
		return err;
	struct part *pt = &sp->parts.v[sp->parts.len];
	pt->dst = profile__new();
	if (!pt->dst)
		return -ENOMEM;
	profile__set_info(pt->dst, &sp->info);
	strcpy(pt->name, name);
	*out = (uint32_t)sp->parts.len++;
	sp->slots[i] = *out + 1;
	return 0;
}

/* The part a record belongs to: its "service" label's, else its comm's. */
static int part_of(struct split *sp, const struct profile_sample *s, uint32_t *out)
{
	const char *svc;
	char name[MAX_NAME + 1];
	bool labelled;
	int err;

	if (s->label_set && s->label_set <= sp->nsets && sp->set_part[s->label_set]) {
		*out = sp->set_part[s->label_set] - 1;
		return 0;
	}
	svc = profile__label_value(sp->src, s->label_set, "service");
	labelled = svc && *svc;
	if (!labelled)
		svc = s->comm && *s->comm ? s->comm : "unknown";
	sanitise_service(svc, name);
	err = find_part(sp, name, out);
	if (!err && labelled && s->label_set <= sp->nsets)
		sp->set_part[s->label_set] = *out + 1;
	return err;
}

static int map_mapping(struct split *sp, uint32_t part, uint32_t id, uint32_t *out)
{
	struct profile_mapping m;
	bool found;
	uint32_t *slot = idmap_at(&sp->mappings, part, id, &found);
	int err;

	if (!slot)
		return -ENOMEM;
	if (!found) {
		err = profile__mapping(sp->src, id, &m);
		if (!err)
			err = profile__intern_mapping(sp->parts.v[part].dst, &m, slot);
		if (err)
			return err;
	}
	*out = *slot;
	return 0;
}

static int map_frame(struct split *sp, uint32_t part, uint32_t id, uint32_t *out)
{
	struct profile_frame_info fi;
	bool found;
	uint32_t *slot = idmap_at(&sp->frames, part, id, &found);
	int err = 0;

	if (!slot)
		return -ENOMEM;
	if (!found) {
		/* (An unresolved frame comes back named "[lib+0xOFF]": the same name.) */
		profile__frame_info(sp->src, id, &fi);
		if (fi.mapping)
			err = map_mapping(sp, part, fi.mapping, &fi.mapping);
		if (!err)
			err = profile__intern_frame_info(sp->parts.v[part].dst, &fi, slot);
		if (err)
			return err;
	}
	*out = *slot;
	return 0;
}

static int map_labels(struct split *sp, uint32_t part, uint32_t set, uint32_t *out)
{
	struct profile_label labels[PROFILE_MAX_LABELS];
	bool found;
	uint32_t *slot;
	size_t n;

	if (!set) {
		*out = 0;
		return 0;
	}
	slot = idmap_at(&sp->sets, part, set, &found);
	if (!slot)
		return -ENOMEM;
	if (!found) {
		int err;

		n = profile__label_set_len(sp->src, set);
		if (n > PROFILE_MAX_LABELS)
			n = PROFILE_MAX_LABELS;
		for (size_t i = 0; i < n; i++)
			if (profile__label_set_get(sp->src, set, i, &labels[i]))
				return -EINVAL;
		err = profile__intern_labels(sp->parts.v[part].dst, labels, n, slot);
		if (err)
			return err;
	}
	*out = *slot;
	return 0;
}

/* Add a record to its service's part, its frames, mappings and labels copied over. */
static int add_record(const struct profile_sample *s, void *ctx)
{
	struct split *sp = ctx;
	struct sample_meta meta = { .time_ns = s->time_ns, .pid = s->pid, .tid = s->tid,
				    .comm = s->comm };
	size_t n = s->nframes, skip = 0;
	uint32_t part;
	int err;

	err = part_of(sp, s, &part);
	if (err)
		return err;
	/* Deeper than a profile takes: keep the innermost frames, as profile__merge. */
	if (n > PROFILE_MAX_STACK_DEPTH) {
		skip = n - PROFILE_MAX_STACK_DEPTH;
		n = PROFILE_MAX_STACK_DEPTH;
	}
	for (size_t i = 0; i < n; i++) {
		err = map_frame(sp, part, s->frames[skip + i], &sp->stack[i]);
		if (err)
			return err;
	}
	err = map_labels(sp, part, s->label_set, &meta.label_set);
	if (err)
		return err;
	return profile__add_sample(sp->parts.v[part].dst, sp->stack, n, &meta, s->weight);
}

static void body_free(struct body *b)
{
	if (!b)
		return;
	free(b->url);
	free(b->data);
	free(b);
}

/* Encode @pt as a body for [from_ns, until_ns). */
static int encode_part(struct pusher *p, const struct part *pt, uint64_t from_ns,
		       uint64_t until_ns, struct body **out)
{
	struct body *b = calloc(1, sizeof(*b));
	FILE *f = NULL;
	int err = -ENOMEM;

	if (!b)
		goto cleanup;
	f = open_memstream(&b->data, &b->len);
	if (!f)
		goto cleanup;
	err = profile__write_pprof(pt->dst, f);
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (err)
		goto cleanup;
	err = make_url(p, pt->name, from_ns, until_ns, &b->url);
	if (err)
		goto cleanup;
	b->size = sizeof(*b) + b->len + strlen(b->url) + 1;
	*out = b;
	b = NULL;
cleanup:
	body_free(b);
	return err;
}

/* Split @interval by service in one pass over its records, and encode each part, in
 * order of first appearance, into @bodies (oldest at the back, as the queue keeps
 * them). */
static int encode(struct pusher *p, const struct profile *interval, uint64_t from_ns,
		  uint64_t until_ns, struct list_node *bodies)
{
	struct split *sp = calloc(1, sizeof(*sp)); /* (its stack buffer is 32 KiB) */
	int err = -ENOMEM;

	if (!sp)
		return -ENOMEM;
	sp->src = interval;
	profile__info(interval, &sp->info);
	sp->info.start_ns = from_ns;
	sp->info.end_ns = until_ns;
	sp->nsets = profile__label_set_count(interval);
	sp->set_part = calloc(sp->nsets + 1, sizeof(*sp->set_part));
	if (!sp->set_part)
		goto cleanup;
	err = profile__for_each_sample(interval, add_record, sp);
	for (size_t i = 0; !err && i < sp->parts.len; i++) {
		struct body *b;

		err = encode_part(p, &sp->parts.v[i], from_ns, until_ns, &b);
		if (!err)
			list_add_front(bodies, &b->node);
		profile__free(sp->parts.v[i].dst);
		sp->parts.v[i].dst = NULL;
	}
cleanup:
	for (size_t i = 0; i < sp->parts.len; i++)
		profile__free(sp->parts.v[i].dst);
	VEC_FREE(sp->parts);
	idmap_free(&sp->frames);
	idmap_free(&sp->mappings);
	idmap_free(&sp->sets);
	free(sp->slots);
	free(sp->set_part);
	free(sp);
	return err;
}

/* ---- the queue (lock held) ---- */

static void drop_body(struct pusher *p, struct body *b)
{
	p->st.queued--;
	p->st.queued_bytes -= b->size;
	p->st.dropped++;
	body_free(b);
}

/* Past the bound, drop the oldest waiting bodies; the newest stays whatever its size. */
static void trim_queue(struct pusher *p)
{
	while (p->st.queued_bytes > p->max_bytes) {
		struct list_node *n = list_last(&p->queue);

		if (!n || n == p->queue.next)
			break;
		list_del(n);
		drop_body(p, container_of(n, struct body, node));
	}
}

int pusher__push(struct pusher *p, const struct profile *interval, uint64_t from_ns,
		 uint64_t until_ns)
{
	struct list_node bodies, *n;
	int err = 0;

	pthread_mutex_lock(&p->lock);
	p->st.intervals++;
	pthread_mutex_unlock(&p->lock);
	if (!profile__sample_count(interval))
		return 0;

	list_init(&bodies);
	err = encode(p, interval, from_ns, until_ns, &bodies);
	if (err) {
		while ((n = list_last(&bodies))) {
			list_del(n);
			body_free(container_of(n, struct body, node));
		}
		return err;
	}

	pthread_mutex_lock(&p->lock);
	while ((n = list_last(&bodies))) {
		struct body *b = container_of(n, struct body, node);

		list_del(n);
		list_add_front(&p->queue, n);
		p->st.queued++;
		p->st.queued_bytes += b->size;
	}
	trim_queue(p);
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

void pusher__stats(struct pusher *p, struct push_stats *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->st;
	pthread_mutex_unlock(&p->lock);
}

/* ---- the sending thread ---- */

enum outcome {
	SENT,
	RETRY,   /* the server may take it later: connection errors, 408, 429, 5xx */
	REFUSED, /* it never will: other statuses */
	ABORTED, /* pusher__free's grace ran out */
};

static size_t on_reply(char *data, size_t size, size_t nmemb, void *arg)
{
	struct pusher *p = arg;
	size_t n = size * nmemb, room = MAX_REPLY - p->reply_len;

	memcpy(p->reply + p->reply_len, data, n < room ? n : room);
	p->reply_len += n < room ? n : room;
	return n;
}

/* Aborts the transfer once pusher__free's grace has run out: libcurl calls this about
 * once a second while it waits, which is what bounds a request stuck in name
 * resolution or connecting; an established connection is cut at once (below). */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct pusher *p = arg;
	uint64_t at = atomic_load_explicit(&p->abort_at, memory_order_relaxed);

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return at && now_ns() >= at;
}

/* curl's sockets, recorded so that pusher__free can shut a hung one down: the
 * transfer then ends at once instead of at the next progress call. */
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose,
				    struct curl_sockaddr *addr)
{
	struct pusher *p = arg;
	curl_socket_t fd;

	(void)purpose;
	fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
	if (fd < 0)
		return CURL_SOCKET_BAD;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < MAX_SOCKS; i++) {
		if (p->socks[i] < 0) {
			p->socks[i] = fd;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return fd;
}

static int on_close_socket(void *arg, curl_socket_t fd)
{
	struct pusher *p = arg;

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < MAX_SOCKS; i++)
		if (p->socks[i] == fd)
			p->socks[i] = -1;
	pthread_mutex_unlock(&p->lock);
	return close(fd);
}

static enum outcome send_body(struct pusher *p, const struct body *b, char *why,
			      size_t whylen)
{
	uint64_t at = atomic_load(&p->abort_at), now = now_ns();
	long timeout = p->timeout_ms, code = 0;
	CURLcode rc;

	/* Stopping: the request must end with the grace, even if the transfer callback
	 * is not called in time. */
	if (at) {
		uint64_t left_ms = at > now ? (at - now) / 1000000 + 1 : 1;
		if ((uint64_t)timeout > left_ms)
			timeout = (long)left_ms;
	}
	curl_easy_setopt(p->curl, CURLOPT_URL, b->url);
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDS, b->data);
	curl_easy_setopt(p->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
	curl_easy_setopt(p->curl, CURLOPT_TIMEOUT_MS, timeout);
	curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout);
	p->errbuf[0] = '\0';
	p->reply_len = 0;
	rc = curl_easy_perform(p->curl);
	at = atomic_load(&p->abort_at);
	if (rc != CURLE_OK && at && now_ns() >= at)
		return ABORTED;
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc));
		return RETRY;
	}
	curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300)
		return SENT;
	/* The first line of the reply says why (Pyroscope answers in plain text). */
	p->reply[p->reply_len] = '\0';
	for (size_t i = 0; i < p->reply_len; i++) {
		if (p->reply[i] == '\n' || p->reply[i] == '\r') {
			p->reply[i] = '\0';
			break;
		}
		if ((unsigned char)p->reply[i] < ' ')
			p->reply[i] = ' ';
	}
	snprintf(why, whylen, "HTTP %ld%s%s", code, p->reply[0] ? ": " : "", p->reply);
	return code == 408 || code == 429 || code >= 500 ? RETRY : REFUSED;
}

/* A uniformly drawn wait in [0, min(backoff_max, backoff_min * 2^(failures-1))]. */
static uint64_t backoff(struct pusher *p, uint64_t failures)
{
	uint64_t cap = p->backoff_min;

	for (uint64_t i = 1; i < failures && cap < p->backoff_max; i++)
		cap *= 2;
	if (cap > p->backoff_max)
		cap = p->backoff_max;
	p->rng += 0x9e3779b97f4a7c15ull;
	return hash_reduce(hash_mix64(p->rng), (size_t)cap + 1);
}

static void wait_until(struct pusher *p, uint64_t at)
{
	struct timespec ts;

	if (at == UINT64_MAX) {
		pthread_cond_wait(&p->wake, &p->lock);
		return;
	}
	ts.tv_sec = (time_t)(at / NS);
	ts.tv_nsec = (long)(at % NS);
	pthread_cond_timedwait(&p->wake, &p->lock, &ts);
}

/* Log, with the lock dropped around the callback (which may read the stats). */
static void log_unlocked(struct pusher *p, const char *line)
{
	pthread_mutex_unlock(&p->lock);
	agent_log(AGENT_LOG_NOTE, "%s", line);
	pthread_mutex_lock(&p->lock);
}

/* After an attempt: at most one line a minute while failing or dropping, and one when
 * delivery works again after such a line. */
static void report(struct pusher *p, enum outcome out, const char *why)
{
	uint64_t now = now_ns();
	char line[512];

	if (out == SENT) {
		if (p->failing_logged) {
			snprintf(line, sizeof(line),
				 "push to %s recovered after %" PRIu64 " failed attempts; queued: %"
				 PRIu64 ", dropped so far: %" PRIu64,
				 p->shown, p->failed_run, p->st.queued, p->st.dropped);
			p->failing_logged = false;
			p->dropped_logged = p->st.dropped;
			log_unlocked(p, line);
		}
		p->failed_run = 0;
		if (p->st.dropped == p->dropped_logged ||
		    (p->logged_at && now - p->logged_at < LOG_EVERY_NS))
			return;
		snprintf(line, sizeof(line),
			 "push to %s is falling behind: dropped so far: %" PRIu64 " (queue "
			 "over its bound of %zu bytes); queued: %" PRIu64,
			 p->shown, p->st.dropped, p->max_bytes, p->st.queued);
	} else {
		p->failed_run++;
		if (p->logged_at && now - p->logged_at < LOG_EVERY_NS)
			return;
		snprintf(line, sizeof(line),
			 "push to %s failing: %s; queued: %" PRIu64 ", dropped: %" PRIu64,
			 p->shown, why, p->st.queued, p->st.dropped);
		p->failing_logged = true;
	}
	p->logged_at = now;
	p->dropped_logged = p->st.dropped;
	log_unlocked(p, line);
}

static void *sender(void *arg)
{
	struct pusher *p = arg;
	uint64_t failures = 0, retry_at = 0, left;
	char why[CURL_ERROR_SIZE + MAX_REPLY + 32], line[512];

	pthread_mutex_lock(&p->lock);
	for (;;) {
		uint64_t now = now_ns();
		struct list_node *n;
		struct body *b;
		enum outcome out;

		if (p->stop && (list_empty(&p->queue) || now >= p->deadline))
			break;
		if (list_empty(&p->queue) || now < retry_at) {
			uint64_t at = list_empty(&p->queue) ? UINT64_MAX : retry_at;
			if (p->stop && p->deadline < at)
				at = p->deadline;
			wait_until(p, at);
			continue;
		}
		n = list_last(&p->queue);
		list_del(n);
		b = container_of(n, struct body, node);
		pthread_mutex_unlock(&p->lock);

		out = send_body(p, b, why, sizeof(why));

		pthread_mutex_lock(&p->lock);
		if (out == SENT) {
			p->st.sent++;
			p->st.bytes_sent += b->len;
			p->st.queued--;
			p->st.queued_bytes -= b->size;
			body_free(b);
			failures = 0;
			retry_at = 0;
		} else if (out == REFUSED) {
			/* The server will never take this body; the next one may be fine. */
			p->st.failures++;
			drop_body(p, b);
		} else {
			list_add_front(p->queue.prev, n); /* back where it was: the oldest */
			trim_queue(p);
			if (out == ABORTED)
				continue; /* and drop it with the rest */
			p->st.failures++;
			retry_at = now_ns() + backoff(p, ++failures);
		}
		report(p, out, why);
	}
	left = 0;
	while (!list_empty(&p->queue)) {
		struct list_node *n = list_last(&p->queue);

		list_del(n);
		drop_body(p, container_of(n, struct body, node));
		left++;
	}
	if (left) {
		snprintf(line, sizeof(line),
			 "push to %s: left undelivered at exit: %" PRIu64 "; sent: %" PRIu64
			 ", dropped in all: %" PRIu64,
			 p->shown, left, p->st.sent, p->st.dropped);
		log_unlocked(p, line);
	}
	p->finished = true;
	pthread_cond_signal(&p->done);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* ---- life ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Seconds from the options: 0 takes @def; negative, NaN or absurd is refused. */
static int check_seconds(double v, double def, const char *what, double *out, char *err,
			 size_t errlen)
{
	if (!(v >= 0 && v <= MAX_WAIT_S)) {
		snprintf(err, errlen, "push: %s must be between 0 and %.0f seconds", what,
			 MAX_WAIT_S);
		return -EINVAL;
	}
	*out = v ? v : def;
	return 0;
}

static int setup_curl(struct pusher *p)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h;

	if (!c)
		return -ENOMEM;
	p->curl = c;
	h = curl_slist_append(NULL, "Content-Type: application/octet-stream");
	if (!h)
		return -ENOMEM;
	p->headers = h;
	/* No "Expect: 100-continue" round trip before large bodies. */
	h = curl_slist_append(p->headers, "Expect:");
	if (!h)
		return -ENOMEM;
	p->headers = h;
	if (curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(c, CURLOPT_POST, 1L) ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->headers) ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "smolder") ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, p->errbuf) ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_reply) ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, p) ||
	    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) ||
	    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) ||
	    curl_easy_setopt(c, CURLOPT_XFERINFODATA, p) ||
	    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket) ||
	    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, p) ||
	    curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket) ||
	    curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, p) ||
	    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L))
		return -EINVAL;
	return 0;
}

static void free_fields(struct pusher *p)
{
	if (p->curl)
		curl_easy_cleanup(p->curl);
	curl_slist_free_all(p->headers);
	free(p->ingest);
	free(p->shown);
}

struct pusher *pusher__new(const struct pusher_opts *opts, char *err, size_t errlen)
{
	struct pusher *p = NULL;
	double timeout, bmin, bmax;
	char host[MAX_NAME + 1] = "";
	pthread_condattr_t attr;
	int rc;

	if (errlen)
		err[0] = '\0';
	if (!opts) {
		snprintf(err, errlen, "push: no options");
		errno = EINVAL;
		return NULL;
	}
	if ((rc = check_seconds(opts->timeout, DEFAULT_TIMEOUT, "the request timeout",
				&timeout, err, errlen)) ||
	    (rc = check_seconds(opts->backoff_min, DEFAULT_BACKOFF_MIN, "the first retry wait",
				&bmin, err, errlen)) ||
	    (rc = check_seconds(opts->backoff_max, DEFAULT_BACKOFF_MAX, "the longest retry wait",
				&bmax, err, errlen))) {
		errno = -rc;
		return NULL;
	}
	if (bmax < bmin)
		bmax = bmin;
	if (opts->hostname) {
		snprintf(host, sizeof(host), "%s", opts->hostname);
	} else if (gethostname(host, sizeof(host) - 1) < 0) {
		int e = errno;

		snprintf(err, errlen, "push: cannot read the host name: %s; set it "
			 "explicitly", strerror(e));
		errno = e;
		return NULL;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		snprintf(err, errlen, "push: libcurl failed to initialise: %s",
			 curl_easy_strerror(curl_init_rc));
		errno = ENOMEM;
		return NULL;
	}

	p = calloc(1, sizeof(*p));
	if (!p) {
		rc = -ENOMEM;
		goto fail;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &attr);
	pthread_cond_init(&p->done, &attr);
	pthread_condattr_destroy(&attr);
	rc = parse_url(p, opts->url, err, errlen);
	if (rc)
		goto fail;
	sanitise_value(host, p->host);
	p->rate = opts->sample_rate;
	p->max_bytes = opts->max_queue_bytes ? opts->max_queue_bytes : DEFAULT_MAX_QUEUE;
	p->timeout_ms = (long)(timeout * 1000);
	if (p->timeout_ms < 1)
		p->timeout_ms = 1;
	p->backoff_min = seconds_ns(bmin);
	p->backoff_max = seconds_ns(bmax);
	p->rng = now_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)p;
	list_init(&p->queue);
	for (size_t i = 0; i < MAX_SOCKS; i++)
		p->socks[i] = -1;
	rc = setup_curl(p);
	if (!rc)
		rc = -pthread_create(&p->thread, NULL, sender, p);
	if (rc)
		goto fail;
	return p;
fail:
	if (errlen && !err[0])
		snprintf(err, errlen, "push: cannot start: %s", strerror(-rc));
	if (p) {
		free_fields(p);
		pthread_cond_destroy(&p->wake);
		pthread_cond_destroy(&p->done);
		pthread_mutex_destroy(&p->lock);
	}
	free(p);
	errno = -rc;
	return NULL;
}

void pusher__free(struct pusher *p, double grace)
{
	uint64_t g;

	if (!p)
		return;
	g = grace > 0 ? seconds_ns(grace < MAX_WAIT_S ? grace : MAX_WAIT_S) : 0;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	p->deadline = now_ns() + g;
	atomic_store(&p->abort_at, p->deadline);
	pthread_cond_signal(&p->wake);
	while (!p->finished) {
		struct timespec ts = { .tv_sec = (time_t)(p->deadline / NS),
				       .tv_nsec = (long)(p->deadline % NS) };

		if (now_ns() >= p->deadline) {
			/* A request still under way: end it now. The sockets stay curl's
			 * to close (the lock keeps them from being closed meanwhile). */
			for (size_t i = 0; i < MAX_SOCKS; i++)
				if (p->socks[i] >= 0)
					shutdown(p->socks[i], SHUT_RDWR);
			break;
		}
		pthread_cond_timedwait(&p->done, &p->lock, &ts);
	}
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);

	free_fields(p); /* first: closing curl's sockets takes the lock */
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

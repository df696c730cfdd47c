/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops.c - operations over whole profiles: sample filters, merging one profile into
 * another, TIME parsing, reading any supported format by content, and the small
 * byte-buffer helpers the encoders share.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "profile_internal.h"
#include "varint.h"

/* ---- filters ---- */

static bool label_matches(const struct profile *p, const struct profile_sample *s,
			  const struct profile_label *l)
{
	char num[24];
	const char *v;

	if (!strcmp(l->key, "pid") || !strcmp(l->key, "tid")) {
		snprintf(num, sizeof(num), "%d", l->key[0] == 'p' ? s->pid : s->tid);
		return !strcmp(num, l->value);
	}
	if (!strcmp(l->key, "comm"))
		return !strcmp(s->comm, l->value);
	v = profile__label_value(p, s->label_set, l->key);
	return v && !strcmp(v, l->value);
}

bool profile__sample_matches(const struct profile *p, const struct profile_sample *s,
			     const struct profile_filter *f)
{
	if (!f)
		return true;
	if (s->time_ns) {
		if (f->from_ns && s->time_ns < f->from_ns)
			return false;
		if (f->to_ns && s->time_ns >= f->to_ns)
			return false;
	}
	if (f->pid && s->pid != f->pid)
		return false;
	if (f->comm && strcmp(s->comm, f->comm))
		return false;
	if (f->service) {
		const char *v = profile__label_value(p, s->label_set, "service");
		if (!v || strcmp(v, f->service))
			return false;
	}
	for (size_t i = 0; i < f->nlabels; i++)
		if (!label_matches(p, s, &f->labels[i]))
			return false;
	return true;
}

/* ---- merge ---- */

#define UNMAPPED UINT32_MAX

struct merge {
	struct profile *dst;
	const struct profile *src;
	uint32_t *strings, *mappings, *frames, *stacks, *labels, *series; /* src -> dst id */
	uint32_t *scratch;                                       /* one stack */
};

static int map_string(struct merge *m, uint32_t id, uint32_t *out)
{
	if (m->strings[id] == UNMAPPED) {
		const struct pstring *ps = &m->src->strings.v[id];
		int err = profile__intern_string(m->dst, m->src->chars.v + ps->off, ps->len,
						 &m->strings[id]);
		if (err)
			return err;
	}
	*out = m->strings[id];
	return 0;
}

static int map_frame(struct merge *m, uint32_t id, uint32_t *out)
{
	if (m->frames[id] == UNMAPPED) {
		struct pframe f = m->src->frames.v[id];
		int err = map_string(m, f.name, &f.name);
		if (!err)
			err = map_string(m, f.file, &f.file);
		if (!err && f.mapping) {
			uint32_t mi = f.mapping - 1;
			if (m->mappings[mi] == UNMAPPED) {
				struct pmapping pm = m->src->mappings.v[mi];
				err = map_string(m, pm.path, &pm.path);
				if (!err)
					err = map_string(m, pm.build_id, &pm.build_id);
				if (!err)
					err = profile__intern_pmapping(m->dst, &pm, &m->mappings[mi]);
			}
			f.mapping = m->mappings[mi];
		}
		if (!err)
			err = profile__intern_pframe(m->dst, &f, &m->frames[id]);
		if (err)
			return err;
	}
	*out = m->frames[id];
	return 0;
}

static int map_labels(struct merge *m, uint32_t id, uint32_t *out)
{
	if (!id) {
		*out = 0;
		return 0;
	}
	if (m->labels[id - 1] == UNMAPPED) {
		const struct plabels *ls = &m->src->labelsets.v[id - 1];
		uint32_t pairs[2 * PROFILE_MAX_LABELS];
		int err = 0;

		/* Sets are sorted by key text, which does not depend on the ids. */
		for (size_t i = 0; !err && i < 2 * (size_t)ls->len && i < 2 * PROFILE_MAX_LABELS; i++)
			err = map_string(m, m->src->label_pairs.v[ls->off + i], &pairs[i]);
		if (!err)
			err = profile__intern_label_ids(m->dst, pairs, ls->len, &m->labels[id - 1]);
		if (err)
			return err;
	}
	*out = m->labels[id - 1];
	return 0;
}

static uint32_t *unmapped_array(size_t n)
{
	uint32_t *a = malloc((n ? n : 1) * sizeof(*a));
	if (a)
		memset(a, 0xff, (n ? n : 1) * sizeof(*a));
	return a;
}

static int map_stack(struct merge *m, uint32_t id, uint32_t *out)
{
	if (m->stacks[id] == UNMAPPED) {
		const struct pstack *st = &m->src->stacks.v[id];
		const uint32_t *frames = m->src->stack_frames.v + st->off;
		/* Stacks deeper than the bound cannot be built by our own readers; cut the
		 * outermost frames rather than fail the whole merge. */
		size_t n = st->len, skip = 0;
		int err = 0;

		if (n > PROFILE_MAX_STACK_DEPTH) {
			skip = n - PROFILE_MAX_STACK_DEPTH;
			n = PROFILE_MAX_STACK_DEPTH;
		}
		for (size_t j = 0; j < n && !err; j++)
			err = map_frame(m, frames[skip + j], &m->scratch[j]);
		if (!err)
			err = profile__intern_stack(m->dst, m->scratch, n, &m->stacks[id]);
		if (err)
			return err;
	}
	*out = m->stacks[id];
	return 0;
}

static int map_series(struct merge *m, uint32_t id, uint32_t *out)
{
	if (m->series[id] == UNMAPPED) {
		struct pseries se = m->src->series.v[id];
		int err = map_stack(m, se.stack, &se.stack);
		if (!err)
			err = map_string(m, se.comm, &se.comm);
		if (!err)
			err = map_labels(m, se.labels, &se.labels);
		if (!err)
			err = profile__intern_series(m->dst, &se, &m->series[id]);
		if (err)
			return err;
	}
	*out = m->series[id];
	return 0;
}

int profile__merge(struct profile *dst, const struct profile *src,
		   const struct profile_filter *f)
{
	struct merge m = { .dst = dst, .src = src };
	int err = -ENOMEM;

	m.strings = unmapped_array(src->strings.len);
	m.mappings = unmapped_array(src->mappings.len);
	m.frames = unmapped_array(src->frames.len);
	m.stacks = unmapped_array(src->stacks.len);
	m.labels = unmapped_array(src->labelsets.len);
	m.series = unmapped_array(src->series.len);
	m.scratch = malloc(PROFILE_MAX_STACK_DEPTH * sizeof(uint32_t));
	if (!m.strings || !m.mappings || !m.frames || !m.stacks || !m.labels || !m.series ||
	    !m.scratch)
		goto cleanup;
	err = f ? 0 : profile__reserve_samples(dst, src->samples.len);
	for (size_t i = 0; i < src->samples.len && !err; i++) {
		const struct psample *ps = &src->samples.v[i];
		struct profile_sample s;
		uint32_t series;

		profile__view_sample(src, ps, &s);
		if (!profile__sample_matches(src, &s, f))
			continue;
		err = map_series(&m, ps->series, &series);
		if (!err)
			err = profile__push_samples(dst, series, ps->time_ns, ps->count,
						    ps->weight);
	}
	if (err)
		goto cleanup;
	profile__add_counts(dst, &src->counts);
	for (size_t i = 0; i < src->lost.len && !err; i++)
		err = profile__add_lost_interval(dst, src->lost.v[i].start_ns, src->lost.v[i].end_ns,
						 src->lost.v[i].lost);
	if (err)
		goto cleanup;
	profile__widen_range(dst, src->info.start_ns, src->info.end_ns);
	if (!dst->info.period_ns)
		dst->info.period_ns = src->info.period_ns;
cleanup:
	free(m.strings);
	free(m.mappings);
	free(m.frames);
	free(m.stacks);
	free(m.labels);
	free(m.series);
	free(m.scratch);
	return err;
}

/* ---- aggregation ---- */

#define SAMPLE_AGG_KEY_LEN offsetof(struct sample_agg, weight)

static int agg_eq(uint32_t id, const void *key, void *ctx)
{
	const struct sample_aggs *a = ctx;
	return !memcmp(&a->items.v[id], key, SAMPLE_AGG_KEY_LEN);
}

int profile__aggregate(const struct profile *p, bool with_labels, struct sample_aggs *out)
{
	for (size_t i = 0; i < p->samples.len; i++) {
		const struct psample *s = &p->samples.v[i];
		const struct pseries *se = &p->series.v[s->series];
		struct sample_agg key = {
			.stack = se->stack, .comm = se->comm, .weight = s->weight
		};
		uint64_t h;
		uint32_t id;
		int err;

		if (with_labels) {
			key.labels = se->labels;
			key.pid = se->pid;
			key.tid = se->tid;
		}
		h = intern_hash(&key, SAMPLE_AGG_KEY_LEN, 5);
		if (intern_table__find(&out->index, h, &key, agg_eq, out, &id)) {
			out->items.v[id].weight += s->weight;
			continue;
		}
		err = VEC_RESERVE(out->items, out->items.len + 1);
		if (!err)
			err = intern_table__insert(&out->index, h, out->items.len);
		if (err)
			return err;
		out->items.v[out->items.len++] = key;
	}
	return 0;
}

void sample_aggs__free(struct sample_aggs *a)
{
	VEC_FREE(a->items);
	intern_table__free(&a->index);
}

/* ---- TIME ---- */

static int parse_digits(const char **s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return -EINVAL;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

/* ".123456789" -> ns; advances *s. */
static uint64_t parse_fraction(const char **s)
{
	uint64_t ns = 0, scale = 100000000;
	if (**s != '.')
		return 0;
	(*s)++;
	while (isdigit((unsigned char)**s)) {
		ns += (uint64_t)(**s - '0') * scale;
		scale /= 10;
		(*s)++;
	}
	return ns;
}

static int parse_rfc3339(const char *s, uint64_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	uint64_t frac;
	int64_t t;

	if (parse_digits(&s, 4, &y) || *s++ != '-' || parse_digits(&s, 2, &mo) || *s++ != '-' ||
	    parse_digits(&s, 2, &d) || (*s != 'T' && *s != 't' && *s != ' '))
		return -EINVAL;
	s++;
	if (parse_digits(&s, 2, &h) || *s++ != ':' || parse_digits(&s, 2, &mi) || *s++ != ':' ||
	    parse_digits(&s, 2, &sec))
		return -EINVAL;
	frac = parse_fraction(&s);
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (parse_digits(&s, 2, &oh) || *s++ != ':' || parse_digits(&s, 2, &om))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
	    oh > 23 || om > 59 || y < 1970)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60);
	if (t < 0)
		return -EINVAL;
	*out = (uint64_t)t * 1000000000ull + frac;
	return 0;
}

int profile__parse_time(const char *s, uint64_t now_ns, uint64_t *out_ns)
{
	const char *q = s;
	uint64_t v = 0;

	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "now")) {
		*out_ns = now_ns;
		return 0;
	}
	if (!strncmp(s, "now-", 4))
		q = s + 3;
	if (*q == '-') {
		uint64_t unit;
		char *end;
		errno = 0;
		unsigned long long n = strtoull(q + 1, &end, 10);
		if (errno || end == q + 1 || !isdigit((unsigned char)q[1]))
			return -EINVAL;
		switch (*end) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: return -EINVAL;
		}
		if (end[1] || n > UINT64_MAX / 1000000000ull / unit)
			return -EINVAL;
		v = n * unit * 1000000000ull;
		*out_ns = v > now_ns ? 0 : now_ns - v;
		return 0;
	}
	if (strchr(s, '-') || strchr(s, 'T'))
		return parse_rfc3339(s, out_ns);
	/* Unix seconds, fraction allowed. */
	while (isdigit((unsigned char)*q)) {
		if (v > (UINT64_MAX / 1000000000ull - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*q++ - '0');
	}
	if (q == s)
		return -EINVAL;
	v = v * 1000000000ull + parse_fraction(&q);
	if (*q)
		return -EINVAL;
	*out_ns = v;
	return 0;
}

void profile__format_time(uint64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%llu", (unsigned long long)(ns / 1000000000ull));
}

/* ---- byte buffers and varints ---- */

int profile__stdio_error(FILE *f)
{
	(void)f;
	/* stdio leaves the failed write's errno behind (ENOSPC, EDQUOT, EIO, ...). */
	return errno > 0 ? -errno : -EIO;
}

int wbuf_reserve(struct wbuf *w, size_t n)
{
	if (!w->err)
		w->err = VEC_RESERVE(w->buf, w->buf.len + n);
	return w->err;
}

void wbuf_bytes(struct wbuf *w, const void *data, size_t n)
{
	if (wbuf_reserve(w, n))
		return;
	if (n)
		memcpy(w->buf.v + w->buf.len, data, n);
	w->buf.len += n;
}

void wbuf_varint(struct wbuf *w, uint64_t v)
{
	uint8_t b[VARINT_MAX];

	wbuf_bytes(w, b, varint_put_uleb(b, v));
}

uint64_t rbuf_varint(struct rbuf *r)
{
	const uint8_t *p = r->b + r->pos;
	uint64_t v;

	if (r->err)
		return 0;
	if (!varint_get_uleb(&p, r->b + r->len, &v)) {
		r->err = -EINVAL; /* ran past the end, or overflows 64 bits */
		return 0;
	}
	r->pos = (size_t)(p - r->b);
	return v;
}

uint64_t rbuf_bounded(struct rbuf *r, uint64_t limit)
{
	uint64_t v = rbuf_varint(r);
	if (!r->err && v >= limit)
		r->err = -EINVAL;
	return r->err ? 0 : v;
}

const unsigned char *rbuf_bytes(struct rbuf *r, size_t n)
{
	if (r->err || n > r->len - r->pos) {
		r->err = -EINVAL;
		return NULL;
	}
	r->pos += n;
	return r->b + r->pos - n;
}

/* ---- files ---- */

int profile__slurp(const char *path, size_t max, unsigned char **out, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	struct stat st;
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto cleanup;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		err = -EFBIG;
		goto cleanup;
	}
	/* A regular file fits at once; one byte more shows that it did not grow. */
	err = file_read_fd(fd, S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536, max, 0,
			   out, len);
cleanup:
	if (fd != STDIN_FILENO)
		close(fd);
	return err;
}

enum profile_format profile__format_from_name(const char *name)
{
	static const char *const names[] = {
		[PROFILE_FORMAT_SVG] = "svg",
		[PROFILE_FORMAT_FOLDED] = "folded",
		[PROFILE_FORMAT_PPROF] = "pprof",
		[PROFILE_FORMAT_SMOLDER] = "smolder",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i] && !strcmp(name, names[i]))
			return (enum profile_format)i;
	return PROFILE_FORMAT_NONE;
}

enum profile_format profile__format_from_suffix(const char *path)
{
	static const struct {
		const char *suffix;
		enum profile_format format;
	} suffixes[] = {
		{ ".svg", PROFILE_FORMAT_SVG },
		{ ".folded", PROFILE_FORMAT_FOLDED },
		{ ".txt", PROFILE_FORMAT_FOLDED },
		{ ".collapsed", PROFILE_FORMAT_FOLDED },
		{ ".pb.gz", PROFILE_FORMAT_PPROF },
		{ ".pprof", PROFILE_FORMAT_PPROF },
		{ ".smolder", PROFILE_FORMAT_SMOLDER },
	};
	size_t n = strlen(path);

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t k = strlen(suffixes[i].suffix);

		if (n >= k && !strcmp(path + n - k, suffixes[i].suffix))
			return suffixes[i].format;
	}
	return PROFILE_FORMAT_NONE;
}

enum profile_format profile__detect_format(const void *buf, size_t len)
{
	const unsigned char *b = buf;

	if (profile__is_smolder(buf, len))
		return PROFILE_FORMAT_SMOLDER;
	if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return PROFILE_FORMAT_PPROF;
	return PROFILE_FORMAT_FOLDED;
}

/*
 * A regular file of folded text is read through the folded reader's 4 MiB buffer
 * rather than slurped, since a 361 MB file would otherwise cost 361 MB of fresh memory
 * (each page faulted in and zeroed by the kernel) and a copy.
 */
FILE *profile__open_folded(const char *path)
{
	unsigned char head[SMOLDER_PREAMBLE_LEN];
	struct stat st;
	ssize_t n;
	FILE *in = NULL;
	int fd, err = EMEDIUMTYPE;

	if (!strcmp(path, "-")) {
		errno = EMEDIUMTYPE;
		return NULL;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &st))
		err = errno;
	else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > PROFILE_FILE_MAX_BYTES)
		err = EMEDIUMTYPE;
	else if ((n = pread(fd, head, sizeof(head), 0)) < 0)
		err = errno;
	else if (profile__detect_format(head, (size_t)n) == PROFILE_FORMAT_FOLDED &&
		 !(in = fdopen(fd, "r")))
		err = errno;
	if (!in) {
		close(fd);
		errno = err;
	}
	return in;
}

int profile__load(struct profile *p, const char *path, const struct profile_filter *f,
		  enum profile_format *format, struct profile_read_stats *stats,
		  size_t *bad_line)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	struct profile *tmp = NULL;
	enum profile_format fmt = PROFILE_FORMAT_FOLDED;
	FILE *in;
	int err;

	in = profile__open_folded(path);
	if (!in) {
		err = profile__slurp(path, PROFILE_FILE_MAX_BYTES, &buf, &len);
		if (err)
			return err;
		fmt = profile__detect_format(buf, len);
	}
	if (format)
		*format = fmt;
	switch (fmt) {
	case PROFILE_FORMAT_SMOLDER:
		err = profile__decode(p, buf, len, f, stats);
		break;
	case PROFILE_FORMAT_PPROF:
		err = profile__decode_pprof(p, buf, len, f);
		break;
	default:
		/* Folded text has no filter of its own: read it whole, then merge
		 * (straight into @p when nothing is filtered out). */
		tmp = f && !(f->from_ns == 0 && f->to_ns == 0 && !f->pid && !f->comm &&
			     !f->service && !f->nlabels)
			      ? profile__new()
			      : p;
		if (!tmp) {
			err = -ENOMEM;
			break;
		}
		err = in ? profile__read_folded(tmp, in, bad_line)
			 : profile__read_folded_mem(tmp, (const char *)buf, len, bad_line);
		if (!err && tmp != p)
			err = profile__merge(p, tmp, f);
		break;
	}
	if (in)
		fclose(in);
	if (tmp && tmp != p)
		profile__free(tmp);
	free(buf);
	return err;
}

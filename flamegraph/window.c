/* SPDX-License-Identifier: Apache-2.0 */
/*
 * window.c - choosing which time windows a flame graph shows: the busiest window of a
 * given length (--peak), and where a new version's profile settles after a deploy
 * (--warmup auto), so a diff does not blame the deploy for cold caches, JIT and
 * connection pools.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"
#include "hash.h"
#include "vec.h"

/* ---- the busiest window ---- */

struct timed {
	uint64_t time_ns, weight;
};

struct collect_times {
	uint64_t from_ns, to_ns;
	VEC(struct timed) v;
};

static int collect_time(const struct profile_sample *s, void *ctx)
{
	struct collect_times *c = ctx;

	if (!s->time_ns || s->time_ns < c->from_ns || (c->to_ns && s->time_ns >= c->to_ns))
		return 0;
	return VEC_PUSH(c->v, ((struct timed){ s->time_ns, s->weight }));
}

static int cmp_timed(const void *a, const void *b)
{
	const struct timed *x = a, *y = b;

	return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

int flamegraph__peak_window(const struct profile *p, uint64_t from_ns, uint64_t to_ns,
			    uint64_t len_ns, struct flamegraph_window *out)
{
	struct collect_times c = { .from_ns = from_ns, .to_ns = to_ns };
	uint64_t sum = 0, lo, hi;
	size_t j = 0;
	int err;

	if (!p || !out || !len_ns || (to_ns && from_ns >= to_ns))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	err = profile__for_each_sample(p, collect_time, &c);
	if (err)
		goto cleanup;
	if (!c.v.len) {
		err = -ENODATA;
		goto cleanup;
	}
	qsort(c.v.v, c.v.len, sizeof(*c.v.v), cmp_timed);
	/* The range the window must stay in: as given, else the samples' own. */
	lo = from_ns ? from_ns : c.v.v[0].time_ns;
	hi = to_ns ? to_ns : c.v.v[c.v.len - 1].time_ns + PROFILE_BUCKET_NS;
	if (hi - lo <= len_ns) {
		out->start_ns = lo;
		out->end_ns = hi;
		for (size_t i = 0; i < c.v.len; i++)
			out->weight += c.v.v[i].weight;
		goto cleanup;
	}
	/* The best window can always start at a sample (or end at the range's end, where
	 * a window starting at a late sample would run past it). Starts only grow, so two
	 * pointers keep the window's sum. */
	for (size_t i = 0, l = 0; i < c.v.len; i++) {
		uint64_t start = c.v.v[i].time_ns < hi - len_ns ? c.v.v[i].time_ns : hi - len_ns;

		while (l < j && c.v.v[l].time_ns < start)
			sum -= c.v.v[l++].weight;
		while (j < c.v.len && c.v.v[j].time_ns < start + len_ns)
			sum += c.v.v[j++].weight;
		if (sum > out->weight || !out->end_ns) {
			out->start_ns = start;
			out->end_ns = start + len_ns;
			out->weight = sum;
		}
		if (start == hi - len_ns)
			break; /* later starts give the same window */
	}

cleanup:
	VEC_FREE(c.v);
	return err;
}

/* ---- where a new version settles ---- */

#define MINUTE_NS (60ull * 1000000000ull)
#define WARMUP_MIN_SAMPLES 30 /* a minute with fewer tells nothing about its mix */

struct minutes {
	uint64_t start_ns;
	size_t nmin;
	/* Dense ids for self frames (the stack's innermost frame id, or UINT32_MAX for an
	 * empty stack), through a small open-addressing table. */
	uint32_t *keys; /* frame + 1; 0 empty */
	uint32_t *ids;
	size_t cap, nkeys;
	VEC(uint64_t) counts; /* nmin rows of ncols */
	size_t ncols;
	uint64_t *totals;     /* per minute */
};

static int minutes_grow(struct minutes *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256, ncols = m->ncols ? m->ncols * 2 : 64;
	uint32_t *keys = calloc(cap, sizeof(*keys)), *ids = calloc(cap, sizeof(*ids));
	int err;

	if (!keys || !ids) {
		free(keys);
		free(ids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->keys[i])
			continue;
		for (j = hash_reduce(hash_mix64(m->keys[i]), cap); keys[j]; j = (j + 1) % cap)
			;
		keys[j] = m->keys[i];
		ids[j] = m->ids[i];
	}
	free(m->keys);
	free(m->ids);
	m->keys = keys;
	m->ids = ids;
	m->cap = cap;
	if (m->nkeys < m->ncols)
		return 0;
	/* Widen the matrix: rows move apart. */
	err = VEC_RESERVE(m->counts, m->nmin * ncols);
	if (err)
		return err;
	for (size_t r = m->nmin; r-- > 0;) {
		memmove(&m->counts.v[r * ncols], &m->counts.v[r * m->ncols],
			m->ncols * sizeof(uint64_t));
		memset(&m->counts.v[r * ncols + m->ncols], 0, (ncols - m->ncols) * sizeof(uint64_t));
	}
	m->counts.len = m->nmin * ncols;
	m->ncols = ncols;
	return 0;
}

static int minute_sample(const struct profile_sample *s, void *ctx)
{
	struct minutes *m = ctx;
	uint32_t key = s->nframes ? s->frames[s->nframes - 1] : UINT32_MAX - 1;
	uint64_t minute;
	size_t j;
	int err;

	if (s->time_ns < m->start_ns)
		return 0;
	minute = (s->time_ns - m->start_ns) / MINUTE_NS;
	if (minute >= m->nmin)
		return 0;
	if ((m->nkeys + 1) * 2 > m->cap || m->nkeys + 1 > m->ncols) {
		err = minutes_grow(m);
		if (err)
			return err;
	}
	for (j = hash_reduce(hash_mix64(key + 1), m->cap); m->keys[j]; j = (j + 1) % m->cap)
		if (m->keys[j] == key + 1)
			break;
	if (!m->keys[j]) {
		m->keys[j] = key + 1;
		m->ids[j] = (uint32_t)m->nkeys++;
	}
	m->counts.v[minute * m->ncols + m->ids[j]] += s->weight;
	m->totals[minute] += s->weight;
	return 0;
}

/*
 * Total variation between minute @i and the rest of minutes [@a, @b), and the
 * distance that sampling noise alone would give: for each frame, the expected
 * |difference of two sample shares| of a multinomial with the pooled share q
 * (sqrt(2/pi) standard deviations, at most 2q where the normal approximation
 * overshoots), halved and summed as the distance is.
 */
static void minute_tv(const struct minutes *m, const uint64_t *window, uint64_t window_total,
		      size_t i, double *tv, double *noise)
{
	const uint64_t *row = &m->counts.v[i * m->ncols];
	double ni = (double)m->totals[i], nr = (double)(window_total - m->totals[i]);

	*tv = 0;
	*noise = 0;
	for (size_t k = 0; k < m->nkeys; k++) {
		double pi = row[k] / ni, pr = (window[k] - row[k]) / nr;
		double q = window[k] / (double)window_total;
		double sd = sqrt(q * (1 - q) * (1 / ni + 1 / nr));
		double e = sqrt(2 / M_PI) * sd;

		*tv += fabs(pi - pr);
		*noise += e < 2 * q ? e : 2 * q;
	}
	*tv /= 2;
	*noise /= 2;
}

int flamegraph__warmup(const struct profile *p, uint64_t deploy_ns, uint64_t window_ns,
		       uint64_t cap_ns, double threshold, struct flamegraph_warmup *out)
{
	struct minutes m = { .start_ns = deploy_ns };
	size_t wmin = window_ns / MINUTE_NS, capmin = cap_ns / MINUTE_NS;
	uint64_t *window = NULL;
	int err;

	if (!p || !out || !deploy_ns || wmin < 2 || !(threshold >= 0))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->warmup_ns = capmin * MINUTE_NS;
	m.nmin = capmin + wmin;
	m.totals = calloc(m.nmin, sizeof(*m.totals));
	if (!m.totals)
		return -ENOMEM;
	err = profile__for_each_sample(p, minute_sample, &m);
	if (err)
		goto cleanup;
	window = calloc(m.ncols ? m.ncols : 1, sizeof(*window));
	if (!window) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t k = 0; k <= capmin; k++) {
		size_t end = k + wmin, judged = 0;
		uint64_t total = 0;
		bool ok = true;
		double worst = 0;

		memset(window, 0, m.ncols * sizeof(*window));
		for (size_t i = k; i < end; i++) {
			for (size_t c = 0; c < m.nkeys; c++)
				window[c] += m.counts.v[i * m.ncols + c];
			total += m.totals[i];
		}
		for (size_t i = k; i < end && ok; i++) {
			double tv, noise;

			if (m.totals[i] < WARMUP_MIN_SAMPLES ||
			    total - m.totals[i] < WARMUP_MIN_SAMPLES)
				continue;
			minute_tv(&m, window, total, i, &tv, &noise);
			judged++;
			if (tv > worst)
				worst = tv;
			if (tv > threshold + 1.5 * noise) {
				ok = false;
				if (k == 0)
					out->first_tv = tv;
			}
		}
		if (k == 0 && ok)
			out->first_tv = worst;
		if (ok && judged >= 2) {
			out->warmup_ns = k * MINUTE_NS;
			out->settled = true;
			out->worst_tv = worst;
			break;
		}
	}

cleanup:
	free(window);
	free(m.keys);
	free(m.ids);
	free(m.totals);
	VEC_FREE(m.counts);
	return err;
}

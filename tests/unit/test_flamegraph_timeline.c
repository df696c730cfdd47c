/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_flamegraph_timeline.c - unit tests for the timeline SVG (flamegraph/timeline.c)
 * on profiles with planted times: well-formed, bars that add up to the samples, the
 * busiest services stacked and the rest as "other", deploy markers where their time
 * is, hostile names inert, empty ranges and bad arguments.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flamegraph.h"
#include "profile.h"
#include "xml_check.h"

#define S 1000000000ull
#define T0 (1795000020ull * S) /* a whole minute: 2026-11-18T11:07:00Z */

/* @weight samples of service @service (NULL: no label) at @t. */
static void add_at(struct profile *p, uint64_t t, const char *service, uint64_t weight)
{
	struct profile_label l = { "service", service };
	struct sample_meta meta = { .comm = "app", .time_ns = t, .labels = &l,
				    .nlabels = service ? 1 : 0 };
	uint32_t id;

	assert_int_equal(profile__intern_frame(p, "main", FRAME_USER, &id), 0);
	assert_int_equal(profile__add_sample(p, &id, 1, &meta, weight), 0);
}

/* The timeline of @p as a string (free it); asserts it was written and well-formed. */
static char *render(const struct profile *p, const struct timeline_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(flamegraph__write_timeline_svg(p, o, f), 0);
	fclose(f);
	assert_true(xml_well_formed(buf));
	xmllint_if_present(buf);
	return buf;
}

/* The value of attribute @name in the tag that starts at @tag, as a double; NAN if none. */
static double attr(const char *tag, const char *name)
{
	const char *end = strchr(tag, '>');
	char key[64];
	const char *a;

	snprintf(key, sizeof(key), " %s=\"", name);
	a = strstr(tag, key);
	if (!a || (end && a > end))
		return NAN;
	return strtod(a + strlen(key), NULL);
}

/* The text of the first element after @from that starts with @prefix, up to '<'. */
static void text_after(const char *from, const char *prefix, char *buf, size_t len)
{
	const char *s = strstr(from, prefix);
	size_t n = 0;

	assert_non_null(s);
	s = strchr(s, '>') + 1;
	while (s[n] && s[n] != '<' && n + 1 < len)
		n++;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

struct bars {
	uint64_t total;      /* data-n of every bar, summed */
	uint64_t rects;      /* data-n of every rect, summed */
	uint64_t per_slot[16];
	size_t nbars;
};

/*
 * Walk the bars: each bar's rects add up to its data-n, are stacked from the zero line
 * without gaps, and their heights are proportional to their samples.
 */
static void check_bars(const char *svg, struct bars *b)
{
	const char *g = strstr(svg, "<g id=\"bars\">");
	const char *end;

	assert_non_null(g);
	end = strstr(g, "</g>\n</g>");
	assert_non_null(end);
	memset(b, 0, sizeof(*b));
	while ((g = strstr(g + 1, "<g data-t0=")) && g < end) {
		const char *close = strstr(g, "</g>"), *r = g;
		double n = attr(g, "data-n"), t0 = attr(g, "data-t0"), t1 = attr(g, "data-t1");
		double bottom = NAN, per = NAN, sum = 0, top;

		assert_false(isnan(n));
		assert_true(t1 > t0);
		r = strstr(g, "class=\"hit\"");
		assert_true(r && r < close);
		bottom = attr(r - 6, "y") + attr(r - 6, "height");
		top = bottom;
		while ((r = strstr(r + 1, "<rect x=")) && r < close) {
			double rn = attr(r, "data-n"), h = attr(r, "height"), y = attr(r, "y");
			int slot = (int)attr(r, "data-s");

			assert_true(rn > 0 && slot >= 0 && slot < 16);
			assert_true(fabs(y + h - top) < 0.01); /* stacked on the one below */
			top = y;
			if (isnan(per))
				per = h / rn;
			assert_true(fabs(h / rn - per) < 1e-3 * per);
			sum += rn;
			b->per_slot[slot] += (uint64_t)rn;
		}
		assert_true(sum == n);
		b->total += (uint64_t)n;
		b->rects += (uint64_t)sum;
		b->nbars++;
	}
}

static void test_bucket_width(void **state)
{
	(void)state;
	assert_int_equal(flamegraph__timeline_bucket(60 * S), S);
	assert_int_equal(flamegraph__timeline_bucket(600 * S), S);
	assert_int_equal(flamegraph__timeline_bucket(601 * S), 2 * S);
	assert_int_equal(flamegraph__timeline_bucket(900 * S), 2 * S);
	assert_int_equal(flamegraph__timeline_bucket(3600 * S), 10 * S);
	assert_int_equal(flamegraph__timeline_bucket(86400 * S), 300 * S);
	assert_int_equal(flamegraph__timeline_bucket(7 * 86400 * S), 1800 * S);
	/* Beyond the ladder: whole weeks, still at most 600 bars. */
	uint64_t b = flamegraph__timeline_bucket(3650 * 86400 * S);
	assert_int_equal(b % (604800 * S), 0);
	assert_true(3650 * 86400 * S / b <= 600);
	for (uint64_t r = S; r < 400 * 86400 * S; r = r * 3 / 2 + 7)
		assert_true((r + flamegraph__timeline_bucket(r) - 1) / flamegraph__timeline_bucket(r) <= 600);
}

static void test_bars_add_up(void **state)
{
	struct profile *p = profile__new();
	struct timeline_opts o = { 0 };
	struct bars b;
	char *svg;

	(void)state;
	/* An hour: api 5 a second, db 2 every third second, a minute's burst of batch. */
	for (uint64_t s = 0; s < 3600; s++) {
		add_at(p, T0 + s * S, "api", 5);
		if (s % 3 == 0)
			add_at(p, T0 + s * S + 500000000ull, "db", 2);
		if (s >= 1200 && s < 1260)
			add_at(p, T0 + s * S, "batch", 50);
	}
	svg = render(p, &o);
	check_bars(svg, &b);
	assert_int_equal(b.total, profile__total_weight(p));
	assert_int_equal(b.rects, profile__total_weight(p));
	assert_int_equal(b.nbars, 360); /* 10 s bars */
	const char *plot = strstr(svg, "<g id=\"plot\"");
	assert_true(attr(plot, "data-bucket") == 10);
	assert_true(attr(plot, "data-from") == (double)(T0 / S));
	assert_true(attr(plot, "data-to") == (double)(T0 / S + 3600));
	/* Slots by weight: api, then batch (3,000), then db (2,400). */
	assert_int_equal(b.per_slot[0], 3600 * 5);
	assert_int_equal(b.per_slot[1], 60 * 50);
	assert_int_equal(b.per_slot[2], 1200 * 2);
	/* The y axis reaches the busiest bar (55.8 a second) in steps of 20. */
	assert_non_null(strstr(svg, ">60</text>"));
	assert_null(strstr(svg, ">80</text>"));
	/* The tooltip of the burst's first bar. */
	assert_non_null(strstr(svg, "<title>2026-11-18T11:27:00Z to 2026-11-18T11:27:10Z: 558 "
				    "samples, 55.8 per second\napi: 50\nbatch: 500\ndb: 8</title>"));
	assert_null(strstr(svg, "id=\"lost\""));
	free(svg);
	profile__free(p);
}

static void test_top_services_and_other(void **state)
{
	struct profile *p = profile__new();
	struct timeline_opts o = { 0 };
	struct bars b;
	char name[16], buf[256], *svg;

	(void)state;
	/* Eleven services, s0 the busiest (11 a second) .. s10 (1 a second), and samples
	 * without a service. */
	for (uint64_t s = 0; s < 600; s++) {
		for (int k = 0; k < 11; k++) {
			snprintf(name, sizeof(name), "s%d", k);
			add_at(p, T0 + s * S, name, 11 - k);
		}
		add_at(p, T0 + s * S, NULL, 1);
	}
	svg = render(p, &o); /* 8 of their own by default */
	check_bars(svg, &b);
	assert_int_equal(b.total, profile__total_weight(p));
	for (int k = 0; k < 8; k++)
		assert_int_equal(b.per_slot[k], 600 * (11 - k));
	/* s8 (3), s9 (2), s10 (1) and "(no service)" (1) are "other". */
	assert_int_equal(b.per_slot[8], 600 * (3 + 2 + 1 + 1));
	const char *legend = strstr(svg, "<g id=\"legend\">");
	for (int k = 0; k < 8; k++) {
		char want[16];
		snprintf(want, sizeof(want), "<g data-s=\"%d\">", k);
		const char *e = strstr(legend, want);
		assert_non_null(e);
		text_after(e, "<text", buf, sizeof(buf));
		snprintf(want, sizeof(want), "s%d", k);
		assert_string_equal(buf, want);
	}
	text_after(strstr(legend, "<g data-s=\"8\">"), "<text", buf, sizeof(buf));
	assert_string_equal(buf, "other (4 services)");
	assert_null(strstr(legend, "<g data-s=\"9\">"));
	free(svg);

	/* --top 3; and with no more services than that, no "other". */
	o.max_series = 3;
	svg = render(p, &o);
	check_bars(svg, &b);
	assert_int_equal(b.per_slot[3], profile__total_weight(p) - 600 * (11 + 10 + 9));
	free(svg);
	profile__free(p);

	p = profile__new();
	add_at(p, T0, "a", 3);
	add_at(p, T0 + 5 * S, "b", 4);
	svg = render(p, &o);
	assert_null(strstr(svg, "other ("));
	check_bars(svg, &b);
	assert_int_equal(b.per_slot[0], 4);
	assert_int_equal(b.per_slot[1], 3);
	free(svg);
	profile__free(p);
}

static void test_deploy_markers(void **state)
{
	struct profile *p = profile__new();
	struct timeline_deploy d[] = {
		{ T0 + 600 * S, "api", "v1" },
		{ T0 + 1234 * S + 500000000ull, "api", "v2" },
		{ T0 + 1240 * S, "db", "7.1" }, /* close by: its label takes another row */
		{ T0 - S, "api", "v0" },        /* before the range */
		{ T0 + 3600 * S, "api", "v3" }, /* at its end: outside [from, to) */
	};
	struct timeline_opts o = { .from_ns = T0, .to_ns = T0 + 3600 * S, .deploys = d,
				   .ndeploys = 5, .width = 1000 };
	char buf[256], *svg;
	double x0, x1, y[3];

	(void)state;
	for (uint64_t s = 0; s < 3600; s += 7)
		add_at(p, T0 + s * S, "api", 1);
	svg = render(p, &o);
	const char *plot = strstr(svg, "<g id=\"plot\"");
	x0 = attr(plot, "data-x0");
	x1 = attr(plot, "data-x1");
	assert_true(x0 > 0 && x1 > x0 && x1 < 1000);
	for (size_t i = 0; i < 3; i++) {
		char key[64];
		const char *g, *line;
		double want = x0 + (double)(d[i].time_ns - T0) / (3600.0 * S) * (x1 - x0);

		snprintf(key, sizeof(key), "<g data-t=\"%.3f\">", (double)d[i].time_ns / 1e9);
		g = strstr(svg, key);
		assert_non_null(g);
		line = strstr(g, "<line class=\"mark\"");
		assert_true(fabs(attr(line, "x1") - want) < 0.01);
		assert_true(fabs(attr(line, "x2") - want) < 0.01);
		text_after(g, "<title", buf, sizeof(buf));
		char title[128], when[40];
		profile__format_time(d[i].time_ns, when, sizeof(when));
		snprintf(title, sizeof(title), "deploy of %s, version %s, at %s", d[i].service,
			 d[i].version, when);
		assert_string_equal(buf, title);
		text_after(g, "<text", buf, sizeof(buf));
		assert_string_equal(buf, d[i].version);
		y[i] = attr(strstr(g, "<text"), "y");
	}
	assert_true(y[1] != y[2]); /* labels 6 s apart do not overlap */
	assert_null(strstr(svg, ">v0<"));
	assert_null(strstr(svg, ">v3<"));
	free(svg);
	profile__free(p);
}

static void test_hostile_names_are_inert(void **state)
{
	static const char evil[] = "<script>alert(1)</script>&amp;\"'><g onload=\"x\">";
	struct profile *p = profile__new();
	char *longv = malloc(5001), *svg;
	struct timeline_deploy d[2] = { { T0 + 10 * S, evil, evil }, { T0 + 20 * S, "x", NULL } };
	struct timeline_opts o = { .deploys = d, .ndeploys = 2, .title = evil,
				   .subtitle = "line one <b>\nline two & three" };

	(void)state;
	memset(longv, 'v', 5000);
	longv[5000] = '\0';
	d[1].version = longv;
	add_at(p, T0, evil, 5);
	add_at(p, T0 + 30 * S, longv, 5);
	add_at(p, T0 + 40 * S, "bad\xff\x01utf8", 5);
	svg = render(p, &o);
	assert_null(strstr(svg, "<script>alert"));
	assert_null(strstr(svg, "<g onload"));
	assert_null(strstr(svg, "<b>"));
	assert_non_null(strstr(svg, "&lt;script&gt;alert(1)&lt;/script&gt;&amp;amp;&quot;&apos;"));
	/* One <script> only: the timeline's own. */
	assert_non_null(strstr(svg, "<script type="));
	assert_null(strstr(strstr(svg, "</script>") + 1, "<script"));
	/* A long name is cut where it is shown: 24 characters beside a marker, 32 in
	 * the legend, 512 in a tooltip. */
	char run[600];
	memset(run, 'v', 513);
	run[513] = '\0';
	assert_null(strstr(svg, run));
	snprintf(run, sizeof(run), ">%.24s...</text>", longv);
	assert_non_null(strstr(svg, run));
	snprintf(run, sizeof(run), ">%.32s...</text>", longv);
	assert_non_null(strstr(svg, run));
	assert_true(strlen(svg) < 200000);
	free(svg);
	free(longv);
	profile__free(p);
}

static void test_empty_and_notes(void **state)
{
	struct profile *p = profile__new();
	struct timeline_opts o = { 0 };
	struct profile_counts c = { .lost = 1234 };
	struct timeline_deploy d = { T0 + 60 * S, "api", "v9" };
	char *svg;

	(void)state;
	svg = render(p, &o);
	assert_non_null(strstr(svg, "id=\"nosamples\""));
	assert_non_null(strstr(svg, ">No samples<"));
	assert_null(strstr(svg, "id=\"plot\""));
	free(svg);

	/* Samples without a time (folded text) have no place on a timeline: counted. */
	add_at(p, 0, "api", 7);
	svg = render(p, &o);
	assert_non_null(strstr(svg, ">No samples<"));
	assert_non_null(strstr(svg, "not drawn: 7 samples without a time</text>"));
	free(svg);
	profile__free(p);
	p = profile__new();

	/* A range with nothing in it still has its axes and deploys. */
	o.from_ns = T0;
	o.to_ns = T0 + 3600 * S;
	o.deploys = &d;
	o.ndeploys = 1;
	svg = render(p, &o);
	assert_non_null(strstr(svg, ">No samples in this range<"));
	assert_non_null(strstr(svg, "id=\"plot\""));
	assert_non_null(strstr(svg, ">v9</text>"));
	free(svg);

	/* Lost samples in red; samples with no time or outside the range are counted. */
	profile__add_counts(p, &c);
	add_at(p, 0, "api", 7);
	add_at(p, T0 + 7200 * S, "api", 3);
	add_at(p, T0 + 10 * S, "api", 2);
	svg = render(p, &o);
	assert_non_null(strstr(svg, "<text id=\"lost\""));
	assert_non_null(strstr(svg, ">1,234 samples lost while this was recorded"));
	assert_non_null(strstr(svg, "not drawn: 7 samples without a time, 3 samples outside the "
				    "range</text>"));
	assert_null(strstr(svg, "id=\"nosamples\""));
	free(svg);
	profile__free(p);
}

static void test_bad_arguments(void **state)
{
	struct profile *p = profile__new();
	struct timeline_opts o = { 0 };
	FILE *f = fopen("/dev/null", "w");

	(void)state;
	add_at(p, T0, "api", 1);
	assert_int_equal(flamegraph__write_timeline_svg(NULL, &o, f), -EINVAL);
	assert_int_equal(flamegraph__write_timeline_svg(p, &o, NULL), -EINVAL);
	o.width = 100;
	assert_int_equal(flamegraph__write_timeline_svg(p, &o, f), -EINVAL);
	o.width = 0;
	o.max_series = 13;
	assert_int_equal(flamegraph__write_timeline_svg(p, &o, f), -EINVAL);
	o.max_series = 0;
	o.from_ns = T0 + S;
	o.to_ns = T0;
	assert_int_equal(flamegraph__write_timeline_svg(p, &o, f), -EINVAL);
	o.to_ns = T0 + 2 * 86400 * S;
	o.bucket_ns = S;
	assert_int_equal(flamegraph__write_timeline_svg(p, &o, f), -E2BIG);
	o.bucket_ns = S / 2;
	assert_int_equal(flamegraph__write_timeline_svg(p, &o, f), -EINVAL);
	o.bucket_ns = 60 * S;
	assert_int_equal(flamegraph__write_timeline_svg(p, &o, f), 0);
	fclose(f);
	/* Decades: a few thousand bars at most, ticks by date. */
	o.bucket_ns = 0;
	o.from_ns = S;
	o.to_ns = T0;
	char *svg = render(p, &o);
	assert_true(attr(strstr(svg, "<g id=\"plot\""), "data-bucket") >= 604800);
	assert_non_null(strstr(svg, ">2001-"));
	free(svg);
	o.from_ns = 0;
	o.to_ns = 0;
	o.bucket_ns = 60 * S;
	/* A full disk is reported. */
	f = fopen("/dev/full", "w");
	if (f) {
		assert_int_equal(flamegraph__write_timeline_svg(p, &o, f), -EIO);
		fclose(f);
	}
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_width),
		cmocka_unit_test(test_bars_add_up),
		cmocka_unit_test(test_top_services_and_other),
		cmocka_unit_test(test_deploy_markers),
		cmocka_unit_test(test_hostile_names_are_inert),
		cmocka_unit_test(test_empty_and_notes),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

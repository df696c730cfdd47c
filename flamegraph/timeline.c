/* SPDX-License-Identifier: Apache-2.0 */
/*
 * timeline.c - samples per second over time as a self-contained SVG: one bar per time
 * bucket, stacked by service (the busiest few on their own, the rest as "other"), a
 * marked line per deploy, lost samples in red (under the bars of the batches that lost
 * them, where the profile knows when), tooltips on every bar and marker.
 *
 * Three passes over the profile's records: the samples' time range (when the caller
 * gives none), the weight of each service inside the range (to pick the busiest), and
 * the weight per (bucket, drawn series). Memory is one slot per label set, one per
 * service and one per (bucket, drawn series): bounded by the profile and by
 * TIMELINE_MAX_BUCKETS, never by the samples.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"
#include "flamegraph_internal.h"
#include "hash.h"
#include "vec.h"

#define NS 1000000000ull

#define DEFAULT_WIDTH 1200
#define MIN_WIDTH 400
#define DEFAULT_SERIES 8
#define MAX_SERIES 12       /* as many as there are colours */
#define AUTO_BUCKETS 600    /* at most this many bars when the width is chosen */
#define XPAD_LEFT 70        /* room for the y axis' labels */
#define XPAD_RIGHT 20
#define PLOT_HEIGHT 300
#define LINE 16             /* one line of 12 px text */
#define CHAR_PX 7.2         /* rough width of a 12 px Verdana character, for layout */
#define LABEL_ROWS 3        /* rows of deploy labels above the plot */
#define LABEL_UNITS 24      /* characters of a version shown beside its marker */
#define LEGEND_UNITS 32     /* characters of a service name in the legend */
#define TITLE_UNITS 512     /* characters of a name in a tooltip */

/* Colours of the series, busiest first; red is kept for lost samples. */
static const char *const colours[MAX_SERIES] = {
	"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948",
	"#9c755f", "#ff9da7", "#1f3b73", "#b6992d", "#86bcb6", "#d4a6c8",
};
#define OTHER_COLOUR "#bab0ac"
#define LOST_COLOUR "#d62728"
#define LOST_MARK 4 /* px: height of a lost-samples mark under the bars */

static const char style[] =
	"text { font-family:Verdana, sans-serif; font-size:12px; fill:rgb(0,0,0); }\n"
	"#title { text-anchor:middle; font-size:17px; }\n"
	".sub { text-anchor:middle; fill:rgb(110,110,110); }\n"
	"#lost { text-anchor:middle; fill:" LOST_COLOUR "; font-weight:bold; }\n"
	".note { text-anchor:middle; fill:rgb(110,110,110); }\n"
	"#nosamples { text-anchor:middle; font-size:15px; }\n"
	".axis text { font-size:11px; fill:rgb(60,60,60); }\n"
	".axis line { stroke:rgb(200,200,200); stroke-width:0.5; }\n"
	"#bars > g > rect.hit { fill:transparent; }\n"
	"#bars > g:hover > rect.hit { fill:rgba(0,0,0,0.06); }\n"
	"#bars > g:hover > rect { stroke:black; stroke-width:0.3; }\n"
	"#deploys line.mark { stroke:rgb(40,40,40); stroke-width:1.2; stroke-dasharray:4,2; }\n"
	"#deploys line.hit { stroke:transparent; stroke-width:8; }\n"
	"#deploys > g:hover line.mark { stroke:rgb(0,0,200); stroke-width:2; }\n"
	"#deploys text { font-size:11px; }\n"
	"#legend text { font-size:11px; }\n"
	"#lostmarks > g:hover > rect { stroke:black; stroke-width:0.5; }\n";

/* Hover shows a tooltip's text on the details line too (native tooltips are slow and
 * absent in some viewers). No data lives in the script: it reads the <title>s. */
static const char script[] =
	"\"use strict\";\n"
	"var details;\n"
	"function init(evt) {\n"
	"\tdetails = document.getElementById(\"details\");\n"
	"\tvar gs = document.querySelectorAll(\"#bars > g, #deploys > g, #legend > g, \" +\n"
	"\t\t\"#lostmarks > g\");\n"
	"\tfor (var i = 0; i < gs.length; i++) {\n"
	"\t\tgs[i].addEventListener(\"mouseover\", show);\n"
	"\t\tgs[i].addEventListener(\"mouseout\", clear);\n"
	"\t}\n"
	"}\n"
	"function show(e) {\n"
	"\tvar t = this.querySelector(\"title\");\n"
	"\tif (details && t)\n"
	"\t\tdetails.textContent = t.textContent.replace(/\\n/g, \";  \");\n"
	"}\n"
	"function clear(e) {\n"
	"\tif (details)\n"
	"\t\tdetails.textContent = \" \";\n"
	"}\n";

struct series {
	const char *name; /* NULL: samples without a service */
	uint64_t total;   /* weight inside the range */
	uint32_t slot;    /* drawn as slot (0 .. nshown-1), or nshown: "other" */
};

struct tl {
	const struct profile *p;
	VEC(struct series) series;
	uint32_t *by_set;      /* label set id -> series index + 1; 0: not looked up */
	uint32_t *names;       /* open addressing over series by name: index + 1 */
	size_t names_cap;
	uint32_t none;         /* series index + 1 of "(no service)"; 0: none yet */

	uint64_t from, to;     /* the range drawn */
	uint64_t min_t, max_t; /* timed samples' times; min_t UINT64_MAX when none */
	uint64_t untimed, outside, total; /* weights: no time, outside the range, drawn */
	uint64_t bucket, first;           /* bar width; start of the first bar */
	size_t nb;                        /* bars */
	size_t nshown, nslots;            /* series on their own; + "other" when any */
	uint32_t shown[MAX_SERIES];       /* slot -> series index */
	uint64_t *cells;                  /* nb x nslots weights */
	uint64_t *lost;                   /* nb lost samples, spread from their batches */
	uint64_t lost_drawn;              /* lost samples in the bars; the rest of the
					     total: outside the range or not known when */
	int err;
};

uint64_t flamegraph__timeline_bucket(uint64_t range_ns)
{
	static const uint64_t steps[] = {
		1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
		43200, 86400, 172800, 604800,
	};
	const uint64_t week = 604800 * NS;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (range_ns / AUTO_BUCKETS <= steps[i] * NS &&
		    (range_ns + steps[i] * NS - 1) / (steps[i] * NS) <= AUTO_BUCKETS)
			return steps[i] * NS;
	return (range_ns / AUTO_BUCKETS / week + 1) * week;
}

/* ---- output ---- */

__attribute__((format(printf, 2, 3))) static void out(FILE *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
}

/*
 * Write @n bytes of @s escaped, cut after @max units with "..." (never inside an
 * entity or a character). @return the units written.
 */
static size_t put_cut(FILE *f, const char *s, size_t n, size_t max)
{
	const char *end = s + n;
	size_t units = 0;

	while (s < end && *s) {
		const char *text;
		size_t len, used;

		if (units == max) {
			fputs("...", f);
			return units + 3;
		}
		used = fg_escape_unit(s, &text, &len);
		if (used > (size_t)(end - s)) /* a character cut by @n: not ours to show */
			break;
		fwrite(text, 1, len, f);
		s += used;
		units++;
	}
	return units;
}

static size_t put_str(FILE *f, const char *s, size_t max)
{
	return put_cut(f, s, strlen(s), max);
}

/* 1234567 -> "1,234,567". */
static const char *count_str(uint64_t v, char *buf, size_t len)
{
	char digits[24];
	size_t n = (size_t)snprintf(digits, sizeof(digits), "%" PRIu64, v), o = 0;

	for (size_t i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static const char *series_name(const struct series *s)
{
	return s->name ? s->name : "(no service)";
}

/* ---- reading the profile ---- */

static int range_pass(const struct profile_sample *s, void *ctx)
{
	struct tl *t = ctx;

	if (!s->time_ns)
		return 0;
	if (s->time_ns < t->min_t)
		t->min_t = s->time_ns;
	if (s->time_ns > t->max_t)
		t->max_t = s->time_ns;
	return 0;
}

/* The series of label set @set, created at its first sample. @return index or -1. */
static long series_of(struct tl *t, uint32_t set)
{
	const char *name;
	uint32_t *slot;
	struct series s = { 0 };

	if (t->by_set[set])
		return t->by_set[set] - 1;
	name = profile__label_value(t->p, set, "service");
	if (!name) {
		slot = &t->none;
	} else {
		size_t i = hash_reduce(hash_fnv1a_str(name, 0), t->names_cap);

		while (t->names[i] && strcmp(t->series.v[t->names[i] - 1].name, name))
			i = (i + 1) & (t->names_cap - 1);
		slot = &t->names[i];
	}
	if (!*slot) {
		s.name = name;
		if (VEC_PUSH(t->series, s)) {
			t->err = -ENOMEM;
			return -1;
		}
		*slot = (uint32_t)t->series.len;
	}
	t->by_set[set] = *slot;
	return *slot - 1;
}

static bool in_range(const struct tl *t, const struct profile_sample *s)
{
	return s->time_ns >= t->from && s->time_ns < t->to;
}

static int total_pass(const struct profile_sample *s, void *ctx)
{
	struct tl *t = ctx;
	long i;

	if (!s->time_ns) {
		t->untimed += s->weight;
		return 0;
	}
	if (!in_range(t, s)) {
		t->outside += s->weight;
		return 0;
	}
	i = series_of(t, s->label_set);
	if (i < 0)
		return t->err;
	t->series.v[i].total += s->weight;
	t->total += s->weight;
	return 0;
}

static int bucket_pass(const struct profile_sample *s, void *ctx)
{
	struct tl *t = ctx;
	size_t b;

	if (!s->time_ns || !in_range(t, s))
		return 0;
	b = (size_t)((s->time_ns - t->first) / t->bucket);
	t->cells[b * t->nslots + t->series.v[t->by_set[s->label_set] - 1].slot] += s->weight;
	return 0;
}

static int by_total(const void *a, const void *b, void *ctx)
{
	const struct series *v = ctx;
	const struct series *x = &v[*(const uint32_t *)a], *y = &v[*(const uint32_t *)b];

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(series_name(x), series_name(y));
}

/* Give the busiest @max series slots of their own, the rest the "other" slot. */
static int rank(struct tl *t, size_t max)
{
	size_t n = t->series.len;
	uint32_t *order = malloc((n ? n : 1) * sizeof(*order));

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, n, sizeof(*order), by_total, t->series.v);
	t->nshown = n < max ? n : max;
	t->nslots = t->nshown + (n > max);
	for (size_t i = 0; i < n; i++) {
		t->series.v[order[i]].slot = (uint32_t)(i < max ? i : max);
		if (i < max)
			t->shown[i] = order[i];
	}
	free(order);
	return 0;
}

/* ---- layout ---- */

struct layout {
	int width, height;
	double x0, x1;       /* plot's left and right */
	double top, bottom;  /* plot's top and bottom (the zero line) */
	double ymax;         /* samples per second at the top */
	double ystep;        /* between gridlines */
	int sub_y, notes_y, legend_y, labels_y, axis_y, details_y;
	int legend_rows;
};

static double xof(const struct tl *t, const struct layout *l, uint64_t ns)
{
	return l->x0 + (double)(ns - t->from) / (double)(t->to - t->from) * (l->x1 - l->x0);
}

/* 1, 2, 5 x 10^k at or above @v (> 0). */
static double nice_ceil(double v)
{
	double e = pow(10, floor(log10(v))), m = v / e;

	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e;
}

static int subtitle_lines(const char *s)
{
	int n = 0;

	for (; s; n++) {
		s = strchr(s, '\n');
		if (s)
			s++;
	}
	return n;
}

static double legend_entry_px(const struct tl *t, size_t slot)
{
	size_t units = LEGEND_UNITS + 3;
	const char *name = slot < t->nshown ? series_name(&t->series.v[t->shown[slot]]) : NULL;

	if (name) {
		size_t len = strlen(name);
		units = len < units ? len : units; /* bytes: a rough upper bound of units */
	} else {
		units = 24;
	}
	return 18 + (double)units * CHAR_PX + 14;
}

static void layout(const struct tl *t, const struct timeline_opts *o, struct layout *l,
		   bool lost_line, bool note_line)
{
	int y = 2 * LINE + 12; /* the first subtitle line */
	double x;

	l->x0 = XPAD_LEFT;
	l->x1 = l->width - XPAD_RIGHT;
	l->sub_y = y;
	if (o->subtitle)
		y += subtitle_lines(o->subtitle) * LINE;
	l->notes_y = y;
	y += (lost_line + note_line) * LINE;
	l->legend_y = y + 4;
	l->legend_rows = t->nslots ? 1 : 0;
	x = l->x0;
	for (size_t i = 0; i < t->nslots; i++) {
		double w = legend_entry_px(t, i);
		if (x + w > l->x1 && x > l->x0) {
			l->legend_rows++;
			x = l->x0;
		}
		x += w;
	}
	y = l->legend_y + l->legend_rows * (LINE + 2);
	l->labels_y = y + 6;
	l->top = l->labels_y + LABEL_ROWS * 14 + 4;
	l->bottom = l->top + PLOT_HEIGHT;
	l->axis_y = (int)l->bottom + LINE;
	l->details_y = l->axis_y + 2 * LINE + 4;
	l->height = l->details_y + LINE / 2;
}

/* ---- drawing ---- */

static void put_header(FILE *f, const struct timeline_opts *o, const struct layout *l,
		       const char *title)
{
	const char *line;
	int k = 0;

	out(f, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
	       "<svg version=\"1.1\" width=\"%d\" height=\"%d\" onload=\"init(evt)\" "
	       "viewBox=\"0 0 %d %d\" xmlns=\"http://www.w3.org/2000/svg\">\n",
	    l->width, l->height, l->width, l->height);
	fputs("<!-- Timeline written by smolder: samples per second over time, stacked by "
	      "service, with a dashed line per deploy. Hover a bar or a marker for details. "
	      "-->\n<style type=\"text/css\">\n", f);
	fputs(style, f);
	fputs("</style>\n<script type=\"text/ecmascript\">\n<![CDATA[\n", f);
	fputs(script, f);
	fputs("]]>\n</script>\n", f);
	out(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"rgb(250,250,250)\"/>\n",
	    l->width, l->height);
	out(f, "<text id=\"title\" x=\"%.1f\" y=\"%d\">", l->width / 2.0, 24);
	put_str(f, title, TITLE_UNITS);
	fputs("</text>\n", f);
	for (line = o->subtitle; line; k++) {
		const char *nl = strchr(line, '\n');

		out(f, "<text class=\"sub\"%s x=\"%.1f\" y=\"%d\">", k ? "" : " id=\"subtitle\"",
		    l->width / 2.0, l->sub_y + k * LINE);
		put_cut(f, line, nl ? (size_t)(nl - line) : strlen(line), 4 * TITLE_UNITS);
		fputs("</text>\n", f);
		line = nl ? nl + 1 : NULL;
	}
}

static void put_notes(FILE *f, const struct tl *t, const struct layout *l, uint64_t lost)
{
	char a[32], b[32];
	int y = l->notes_y;

	if (lost) {
		out(f, "<text id=\"lost\" x=\"%.1f\" y=\"%d\">%s samples lost while this was "
		       "recorded (a full ring buffer; any process)",
		    l->width / 2.0, y, count_str(lost, a, sizeof(a)));
		if (!t->lost_drawn)
			fputs(": only their total is known here, not when they were lost", f);
		else if (t->lost_drawn == lost)
			fputs(": red marks along the time axis show when, per recording batch", f);
		else
			out(f, ": red marks along the time axis show when for %s, per recording batch; "
			       "the rest were outside the range or at unknown times",
			    count_str(t->lost_drawn, b, sizeof(b)));
		fputs("</text>\n", f);
		y += LINE;
	}
	if (t->untimed || t->outside) {
		out(f, "<text class=\"note\" x=\"%.1f\" y=\"%d\">not drawn: ", l->width / 2.0, y);
		if (t->untimed)
			out(f, "%s samples without a time%s", count_str(t->untimed, a, sizeof(a)),
			    t->outside ? ", " : "");
		if (t->outside)
			out(f, "%s samples outside the range", count_str(t->outside, b, sizeof(b)));
		fputs("</text>\n", f);
	}
}

static const char *slot_colour(const struct tl *t, size_t slot)
{
	return slot < t->nshown ? colours[slot] : OTHER_COLOUR;
}

static void put_legend(FILE *f, const struct tl *t, const struct layout *l)
{
	double x = l->x0;
	int y = l->legend_y;
	char n[32];

	fputs("<g id=\"legend\">\n", f);
	for (size_t i = 0; i < t->nslots; i++) {
		double w = legend_entry_px(t, i);
		uint64_t total = 0;
		size_t members = 0;

		if (x + w > l->x1 && x > l->x0) {
			x = l->x0;
			y += LINE + 2;
		}
		if (i < t->nshown) {
			total = t->series.v[t->shown[i]].total;
		} else {
			for (size_t j = 0; j < t->series.len; j++) {
				if (t->series.v[j].slot < t->nshown)
					continue;
				total += t->series.v[j].total;
				members++;
			}
		}
		out(f, "<g data-s=\"%zu\"><title>", i);
		if (i < t->nshown)
			put_str(f, series_name(&t->series.v[t->shown[i]]), TITLE_UNITS);
		else
			out(f, "other: %zu services", members);
		out(f, ": %s samples, %.2f%%</title>", count_str(total, n, sizeof(n)),
		    t->total ? 100.0 * (double)total / (double)t->total : 0.0);
		out(f, "<rect x=\"%.1f\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>", x, y,
		    slot_colour(t, i));
		out(f, "<text x=\"%.1f\" y=\"%d\">", x + 16, y + 10);
		if (i < t->nshown)
			put_str(f, series_name(&t->series.v[t->shown[i]]), LEGEND_UNITS);
		else
			out(f, "other (%zu services)", members);
		fputs("</text></g>\n", f);
		x += w;
	}
	fputs("</g>\n", f);
}

/* "HH:MM", "HH:MM:SS" or "MM-DD HH:MM": an axis label for @ns. */
static void tick_label(uint64_t ns, uint64_t step, uint64_t range, char *buf, size_t len)
{
	char full[40];

	profile__format_time(ns, full, sizeof(full)); /* YYYY-MM-DDTHH:MM:SSZ */
	if (range >= 180 * 86400 * NS)
		snprintf(buf, len, "%.10s", full);
	else if (range >= 2 * 86400 * NS)
		snprintf(buf, len, "%.5s %.5s", full + 5, full + 11);
	else if (step < 60 * NS)
		snprintf(buf, len, "%.8s", full + 11);
	else
		snprintf(buf, len, "%.5s", full + 11);
}

static void put_axes(FILE *f, const struct tl *t, const struct layout *l)
{
	uint64_t range = t->to - t->from;
	uint64_t step = flamegraph__timeline_bucket(range > UINT64_MAX / 60 ? UINT64_MAX
									   : range * 60);
	char buf[40], day[40];

	/* ~6-10 ticks: the bar widths' ladder, at 1/60 of the bars. */
	while (range / step > 10)
		step *= 2;
	fputs("<g class=\"axis\">\n", f);
	for (int i = 0; i <= 5 && i * l->ystep <= l->ymax * (1 + 1e-9); i++) {
		double v = i * l->ystep, y = l->bottom - (l->bottom - l->top) * v / l->ymax;
		out(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", l->x0, y, l->x1,
		    y);
		out(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", l->x0 - 4,
		    y + 4, v);
	}
	for (uint64_t tk = (t->from + step - 1) / step * step; tk <= t->to; tk += step) {
		double x = xof(t, l, tk);
		tick_label(tk, step, range, buf, sizeof(buf));
		out(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, l->top, x,
		    l->bottom + 3);
		out(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x, l->axis_y,
		    buf);
	}
	profile__format_time(t->from, day, sizeof(day));
	out(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 %.1f "
	       "%.1f)\">samples per second</text>\n",
	    14.0, (l->top + l->bottom) / 2, 14.0, (l->top + l->bottom) / 2);
	{
		uint64_t b = t->bucket / NS;
		const char *unit = " s";
		if (b % 86400 == 0)
			b /= 86400, unit = " d";
		else if (b % 3600 == 0)
			b /= 3600, unit = " h";
		else if (b % 60 == 0)
			b /= 60, unit = " min";
		out(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">time (UTC%s%.10s), one "
		       "bar per %" PRIu64 "%s</text>\n",
		    (l->x0 + l->x1) / 2, l->axis_y + LINE, range >= 2 * 86400 * NS ? "" : ", ",
		    range >= 2 * 86400 * NS ? "" : day, b, unit);
	}
	fputs("</g>\n", f);
}

static void put_bars(FILE *f, const struct tl *t, const struct layout *l)
{
	char a[40], b[40], n[32];

	fputs("<g id=\"bars\">\n", f);
	for (size_t i = 0; i < t->nb; i++) {
		const uint64_t *row = t->cells + i * t->nslots;
		uint64_t s0 = t->first + i * t->bucket, s1 = s0 + t->bucket;
		uint64_t c0 = s0 > t->from ? s0 : t->from, c1 = s1 < t->to ? s1 : t->to;
		double secs = (double)(c1 - c0) / 1e9, xa = xof(t, l, c0), xb = xof(t, l, c1);
		double w = xb - xa > 4 ? xb - xa - 0.5 : xb - xa, y = l->bottom;
		uint64_t sum = 0;

		for (size_t k = 0; k < t->nslots; k++)
			sum += row[k];
		profile__format_time(c0, a, sizeof(a));
		profile__format_time(c1, b, sizeof(b));
		out(f, "<g data-t0=\"%.3f\" data-t1=\"%.3f\" data-n=\"%" PRIu64 "\"><title>%s to %s: "
		       "%s samples, %.1f per second",
		    (double)c0 / 1e9, (double)c1 / 1e9, sum, a, b, count_str(sum, n, sizeof(n)),
		    (double)sum / secs);
		for (size_t k = 0; k < t->nslots; k++) {
			if (!row[k])
				continue;
			fputs("\n", f);
			if (k < t->nshown)
				put_str(f, series_name(&t->series.v[t->shown[k]]), TITLE_UNITS);
			else
				fputs("other", f);
			out(f, ": %s", count_str(row[k], n, sizeof(n)));
		}
		if (t->lost && t->lost[i])
			out(f, "\n%s samples lost", count_str(t->lost[i], n, sizeof(n)));
		out(f, "</title><rect class=\"hit\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
		       "height=\"%d\"/>",
		    xa, l->top, xb - xa, PLOT_HEIGHT);
		for (size_t k = 0; k < t->nslots; k++) {
			double h;

			if (!row[k])
				continue;
			h = (double)row[k] / secs * PLOT_HEIGHT / l->ymax;
			y -= h;
			out(f, "<rect x=\"%.2f\" y=\"%.3f\" width=\"%.2f\" height=\"%.3f\" fill=\"%s\" "
			       "data-s=\"%zu\" data-n=\"%" PRIu64 "\"/>",
			    xa, y, w, h, slot_colour(t, k), k, row[k]);
		}
		fputs("</g>\n", f);
	}
	fputs("</g>\n", f);
}

/* A red mark under each bar whose time lost samples, with its own tooltip. */
static void put_lost(FILE *f, const struct tl *t, const struct layout *l)
{
	char a[40], b[40], n[32];

	if (!t->lost_drawn)
		return;
	fputs("<g id=\"lostmarks\">\n", f);
	for (size_t i = 0; i < t->nb; i++) {
		uint64_t s0 = t->first + i * t->bucket, s1 = s0 + t->bucket;
		uint64_t c0 = s0 > t->from ? s0 : t->from, c1 = s1 < t->to ? s1 : t->to;
		double xa = xof(t, l, c0), xb = xof(t, l, c1);

		if (!t->lost[i])
			continue;
		profile__format_time(c0, a, sizeof(a));
		profile__format_time(c1, b, sizeof(b));
		out(f, "<g data-t0=\"%.3f\" data-t1=\"%.3f\" data-n=\"%" PRIu64 "\"><title>%s to %s: "
		       "%s samples lost (a full ring buffer; any process; counted per recording "
		       "batch and spread over its bars)</title>",
		    (double)c0 / 1e9, (double)c1 / 1e9, t->lost[i], a, b,
		    count_str(t->lost[i], n, sizeof(n)));
		out(f, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%d\" fill=\"%s\"/>"
		       "</g>\n",
		    xa, l->bottom + 1, xb - xa > 1 ? xb - xa : 1, LOST_MARK, LOST_COLOUR);
	}
	fputs("</g>\n", f);
}

/* Characters (escaping units) of @s, counted up to @max + 1. */
static size_t units_of(const char *s, size_t max)
{
	size_t n = 0;

	while (*s && n <= max) {
		const char *text;
		size_t len;

		s += fg_escape_unit(s, &text, &len);
		n++;
	}
	return n;
}

static void put_deploys(FILE *f, const struct tl *t, const struct timeline_opts *o,
			const struct layout *l)
{
	double row_end[LABEL_ROWS];
	char when[40];

	for (size_t r = 0; r < LABEL_ROWS; r++)
		row_end[r] = -1e9;
	fputs("<g id=\"deploys\">\n", f);
	for (size_t i = 0; i < o->ndeploys; i++) {
		const struct timeline_deploy *d = &o->deploys[i];
		const char *version = d->version ? d->version : "";
		const char *service = d->service ? d->service : "";
		size_t units = units_of(version, LABEL_UNITS);
		double x, wpx = (double)(units > LABEL_UNITS ? LABEL_UNITS + 3 : units) * 6.6;
		size_t r = 0;
		bool left;
		int ty;

		if (d->time_ns < t->from || d->time_ns >= t->to)
			continue;
		x = xof(t, l, d->time_ns);
		left = x + 3 + wpx > l->width - 2; /* no room on the right: label on the left */
		for (size_t k = 0; k < LABEL_ROWS; k++) {
			if (row_end[k] <= (left ? x - 3 - wpx : x)) {
				r = k;
				break;
			}
			if (row_end[k] < row_end[r])
				r = k;
		}
		row_end[r] = left ? x + 4 : x + 3 + wpx + 6;
		ty = l->labels_y + 11 + (int)r * 14;
		profile__format_time(d->time_ns, when, sizeof(when));
		out(f, "<g data-t=\"%.3f\"><title>deploy of ", (double)d->time_ns / 1e9);
		put_str(f, service, TITLE_UNITS);
		fputs(", version ", f);
		put_str(f, version, TITLE_UNITS);
		out(f, ", at %s</title>", when);
		out(f, "<line class=\"hit\" x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%.2f\"/>", x, ty - 10,
		    x, l->bottom);
		out(f, "<line class=\"mark\" x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%.2f\"/>", x,
		    ty - 10, x, l->bottom);
		out(f, "<text x=\"%.2f\" y=\"%d\"%s>", left ? x - 3 : x + 3, ty,
		    left ? " text-anchor=\"end\"" : "");
		put_str(f, version, LABEL_UNITS);
		fputs("</text></g>\n", f);
	}
	fputs("</g>\n", f);
}

static void tl_free(struct tl *t)
{
	VEC_FREE(t->series);
	free(t->by_set);
	free(t->names);
	free(t->cells);
	free(t->lost);
}

/* floor(@lost * @part / @whole) without overflow (@part <= @whole, @whole > 0). */
static uint64_t share(uint64_t lost, uint64_t part, uint64_t whole)
{
	return (uint64_t)((unsigned __int128)lost * part / whole);
}

/*
 * Spread each batch's lost samples over the bars its interval overlaps, in proportion
 * to the overlap: a batch only counts its losses, not when in it they happened. The
 * shares are differences of rounded-down running totals, so a batch's bars add up
 * to its count exactly (when the whole batch is in the range).
 */
static int spread_lost(struct tl *t)
{
	const struct profile_lost *v;
	size_t n = profile__lost_intervals(t->p, &v);

	if (!n || !t->nb)
		return 0;
	t->lost = calloc(t->nb, sizeof(*t->lost));
	if (!t->lost)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint64_t s = v[i].start_ns, e = v[i].end_ns, a, z;

		if (!s || e <= s)
			continue; /* not known when */
		a = s > t->from ? s : t->from;
		z = e < t->to ? e : t->to;
		if (a >= z)
			continue;
		for (size_t b = (size_t)((a - t->first) / t->bucket);
		     b < t->nb && t->first + b * t->bucket < z; b++) {
			uint64_t b0 = t->first + b * t->bucket, b1 = b0 + t->bucket;
			uint64_t c0 = b0 > a ? b0 : a, c1 = b1 < z ? b1 : z;
			uint64_t k = share(v[i].lost, c1 - s, e - s) - share(v[i].lost, c0 - s, e - s);

			t->lost[b] += k;
			t->lost_drawn += k;
		}
	}
	return 0;
}

/*
 * The range to draw and its bars. @return 0 (t->to 0: no range known, nothing to
 * draw), or -EINVAL, -E2BIG.
 */
static int choose_range(struct tl *t, const struct timeline_opts *o)
{
	struct profile_info info;
	uint64_t lo = o->from_ns, hi = o->to_ns, data_lo = UINT64_MAX, data_hi = 0;

	profile__for_each_sample(t->p, range_pass, t);
	profile__info(t->p, &info);
	if (info.start_ns)
		data_lo = info.start_ns;
	if (t->min_t < data_lo)
		data_lo = t->min_t;
	data_hi = info.end_ns;
	if (t->min_t != UINT64_MAX && t->max_t + PROFILE_BUCKET_NS > data_hi)
		data_hi = t->max_t + PROFILE_BUCKET_NS;
	if (!lo)
		lo = data_lo;
	if (!hi)
		hi = data_hi;
	if (lo == UINT64_MAX || !hi || lo >= hi)
		return 0; /* nothing known to draw (both given and inverted: checked before) */
	t->bucket = o->bucket_ns ? o->bucket_ns : flamegraph__timeline_bucket(hi - lo);
	if (hi > UINT64_MAX - t->bucket)
		return -EINVAL;
	/* A range taken from the data starts and ends on whole bars. */
	if (!o->from_ns)
		lo -= lo % t->bucket;
	if (!o->to_ns)
		hi = (hi + t->bucket - 1) / t->bucket * t->bucket;
	t->first = lo - lo % t->bucket;
	if ((hi - t->first + t->bucket - 1) / t->bucket > TIMELINE_MAX_BUCKETS)
		return -E2BIG;
	t->nb = (size_t)((hi - t->first + t->bucket - 1) / t->bucket);
	t->from = lo;
	t->to = hi;
	return 0;
}

static int count_series(struct tl *t, size_t max)
{
	size_t sets = profile__label_set_count(t->p) + 1;
	int err;

	t->names_cap = 16;
	while (t->names_cap < 2 * sets)
		t->names_cap *= 2;
	t->by_set = calloc(sets, sizeof(*t->by_set));
	t->names = calloc(t->names_cap, sizeof(*t->names));
	if (!t->by_set || !t->names)
		return -ENOMEM;
	err = profile__for_each_sample(t->p, total_pass, t);
	if (!err)
		err = rank(t, max);
	if (err || !t->nslots || !t->nb) /* no range: every sample is untimed or outside */
		return err;
	t->cells = calloc(t->nb * t->nslots, sizeof(*t->cells));
	if (!t->cells)
		return -ENOMEM;
	return profile__for_each_sample(t->p, bucket_pass, t);
}

static void scale(struct tl *t, struct layout *l)
{
	double peak = 0;

	for (size_t i = 0; i < t->nb; i++) {
		uint64_t s0 = t->first + i * t->bucket, s1 = s0 + t->bucket, sum = 0;
		uint64_t c0 = s0 > t->from ? s0 : t->from, c1 = s1 < t->to ? s1 : t->to;

		for (size_t k = 0; k < t->nslots; k++)
			sum += t->cells[i * t->nslots + k];
		if (sum && (double)sum / ((double)(c1 - c0) / 1e9) > peak)
			peak = (double)sum / ((double)(c1 - c0) / 1e9);
	}
	/* Gridlines every 1, 2 or 5 x 10^k, at most 5 of them up to the busiest bar. */
	l->ystep = peak > 0 ? nice_ceil(peak / 5) : 0.2;
	l->ymax = l->ystep * ceil(peak / l->ystep - 1e-9);
	if (l->ymax < l->ystep)
		l->ymax = l->ystep;
}

int flamegraph__write_timeline_svg(const struct profile *p, const struct timeline_opts *opts,
				   FILE *f)
{
	static const struct timeline_opts defaults;
	struct tl t = { .p = p, .min_t = UINT64_MAX };
	struct layout l = { 0 };
	uint64_t lost;
	size_t max;
	int err;

	if (!p || !f)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	l.width = opts->width ? opts->width : DEFAULT_WIDTH;
	max = opts->max_series ? opts->max_series : DEFAULT_SERIES;
	if (l.width < MIN_WIDTH || l.width > 100000 || max > MAX_SERIES ||
	    (opts->from_ns && opts->to_ns && opts->from_ns >= opts->to_ns) ||
	    opts->bucket_ns % NS || (opts->ndeploys && !opts->deploys))
		return -EINVAL;
	err = choose_range(&t, opts);
	if (!err)
		err = count_series(&t, max);
	if (!err)
		err = spread_lost(&t);
	if (err)
		goto cleanup;
	scale(&t, &l);
	lost = profile__counts(p)->lost;
	layout(&t, opts, &l, lost != 0, t.untimed || t.outside);

	put_header(f, opts, &l, opts->title ? opts->title : "Timeline");
	put_notes(f, &t, &l, lost);
	put_legend(f, &t, &l);
	if (t.to) {
		out(f, "<g id=\"plot\" data-from=\"%.3f\" data-to=\"%.3f\" data-x0=\"%.2f\" "
		       "data-x1=\"%.2f\" data-bucket=\"%" PRIu64 "\">\n",
		    (double)t.from / 1e9, (double)t.to / 1e9, l.x0, l.x1, (uint64_t)(t.bucket / NS));
		put_axes(f, &t, &l);
		put_bars(f, &t, &l);
		put_lost(f, &t, &l);
		put_deploys(f, &t, opts, &l);
		fputs("</g>\n", f);
	}
	if (!t.total)
		out(f, "<text id=\"nosamples\" x=\"%.1f\" y=\"%.1f\">No samples%s</text>\n",
		    (l.x0 + l.x1) / 2, (l.top + l.bottom) / 2, t.to ? " in this range" : "");
	out(f, "<text id=\"details\" x=\"%.1f\" y=\"%d\"> </text>\n</svg>\n", l.x0, l.details_y);
	if (fflush(f) || ferror(f))
		err = -EIO;
cleanup:
	tl_free(&t);
	return err;
}

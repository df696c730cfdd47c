/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flamegraph.c - lay a stack tree out as flamegraph.pl's SVG: one <g> per frame with a
 * <title> tooltip, a <rect> whose fill tells the frame's kind and a fitted <text> label,
 * under the title, subtitle, zoom/search controls and details line its script drives.
 * The geometry (16 px rows, 12 px Verdana, 10 px margins) is flamegraph.pl's, so the
 * graphs look familiar and tools that post-process FlameGraph SVGs keep working.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"
#include "flamegraph_internal.h"
#include "hash.h"

#define DEFAULT_WIDTH 1200
#define DEFAULT_MIN_WIDTH_PX 0.1
#define XPAD 10            /* left and right margin */
#define FRAME_HEIGHT 16    /* row pitch; the script's FRAME_HEIGHT must match */
#define FRAME_PAD 1        /* gap between rows */
#define FONT_SIZE 12
#define FONT_WIDTH 0.59    /* average glyph width per px of font size, for label fitting */
#define YPAD_TOP (FONT_SIZE * 3)          /* title row */
#define YPAD_SUBTITLE (FONT_SIZE * 2)     /* added when there is a subtitle */
#define YPAD_BOTTOM (FONT_SIZE * 2 + 10)  /* details row */
#define CONTROL_WIDTH 100  /* room kept at the right for "Search" and "Matched" */
#define FLUSH_AT 65536

/* Output is built in a buffer and written in large pieces. */
struct svg {
	FILE *out;
	VEC(char) buf;
	int err; /* first error; later writes are skipped */
};

struct layout {
	int width;
	bool icicle;
	const char *title, *subtitle, *unit;
	double min_width_px;
	double px_per_weight;
	int ypad_top, height;
	uint64_t total;
};

static void svg_reserve(struct svg *s, size_t n)
{
	if (!s->err)
		s->err = VEC_RESERVE(s->buf, s->buf.len + n);
}

static void svg_flush(struct svg *s)
{
	if (!s->err && s->buf.len && fwrite(s->buf.v, 1, s->buf.len, s->out) != s->buf.len)
		s->err = -EIO;
	s->buf.len = 0;
}

static void put(struct svg *s, const char *str, size_t n)
{
	if (s->err)
		return;
	svg_reserve(s, n);
	if (s->err)
		return;
	memcpy(s->buf.v + s->buf.len, str, n);
	s->buf.len += n;
	if (s->buf.len >= FLUSH_AT)
		svg_flush(s);
}

static void puts_(struct svg *s, const char *str)
{
	put(s, str, strlen(str));
}

__attribute__((format(printf, 2, 3))) static void putf(struct svg *s, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		s->err = s->err ? s->err : -EINVAL;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		put(s, small, n);
		return;
	}
	/* Rare (the SVG prologue): format again, straight into the buffer. */
	svg_reserve(s, n + 1);
	if (s->err)
		return;
	va_start(ap, fmt);
	vsnprintf(s->buf.v + s->buf.len, n + 1, fmt, ap);
	va_end(ap);
	s->buf.len += n;
}

/* Write @str escaped; at most @max_units units of it, then @tail. */
static void put_escaped_cut(struct svg *s, const char *str, size_t max_units, const char *tail)
{
	size_t units = 0;

	while (*str && units < max_units) {
		const char *text;
		size_t len;

		str += fg_escape_unit(str, &text, &len);
		put(s, text, len);
		units++;
	}
	if (tail)
		puts_(s, tail);
}

static void put_escaped(struct svg *s, const char *str)
{
	put_escaped_cut(s, str ? str : "", SIZE_MAX, NULL);
}

static size_t count_units(const char *str)
{
	size_t n = 0;
	const char *text;
	size_t len;

	while (*str) {
		str += fg_escape_unit(str, &text, &len);
		n++;
	}
	return n;
}

/* flamegraph.pl's label rule: as many characters as fit at the average glyph width,
 * the last two replaced by ".." when the name is longer; nothing under three. */
static void put_label(struct svg *s, const char *name, double width_px)
{
	double fit = width_px / (FONT_SIZE * FONT_WIDTH);
	/* (double)SIZE_MAX rounds up to 2^64: anything below it converts. */
	size_t chars = fit >= (double)SIZE_MAX ? SIZE_MAX : (size_t)fit;

	if (chars < 3)
		return;
	if (count_units(name) <= chars)
		put_escaped(s, name);
	else
		put_escaped_cut(s, name, chars - 2, "..");
}

/* "1,234,567", as flamegraph.pl writes counts. */
static void format_count(uint64_t v, char out[32])
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%" PRIu64, v), o = 0;

	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

/*
 * Colours come from a hash of the bare name, so a function keeps its colour across
 * graphs and runs, inside a band per kind that the bands never share: user frames warm
 * (red to yellow, red >= 205, flamegraph.pl's "hot"), kernel frames a darker burnt
 * orange (red 180-200, green 95-135), JIT frames green, unknown frames grey.
 */
static void frame_color(const struct fg_name *n, unsigned rgb[3])
{
	/* Plain FNV-1a (seed 0): changing it would recolour every graph. */
	uint64_t h = hash_fnv1a_str(n->bare, 0);
	unsigned v0, v1, v2;

	h ^= h >> 32;
	v0 = h & 0xff;
	v1 = (h >> 8) & 0xff;
	v2 = (h >> 16) & 0xff;

	switch (n->kind) {
	case FRAME_KERNEL:
		rgb[0] = 180 + 20 * v0 / 255;
		rgb[1] = 95 + 40 * v1 / 255;
		rgb[2] = 20 * v2 / 255;
		break;
	case FRAME_JIT:
		rgb[0] = 50 + 60 * v0 / 255;
		rgb[1] = 200 + 55 * v1 / 255;
		rgb[2] = 50 + 60 * v2 / 255;
		break;
	case FRAME_UNKNOWN:
		rgb[0] = rgb[1] = rgb[2] = 170 + 40 * v0 / 255;
		break;
	default:
		rgb[0] = 205 + 50 * v0 / 255;
		rgb[1] = 230 * v1 / 255;
		rgb[2] = 55 * v2 / 255;
		break;
	}
}

static void put_header(struct svg *s, const struct layout *l, bool script)
{
	putf(s, "<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%d\"%s viewBox=\"0 0 %d %d\" "
		"xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n",
	     l->width, l->height, script ? " onload=\"init()\"" : "", l->width, l->height);
	puts_(s, "<!-- Flame graph written by smolder. Each box is a stack frame, as wide as its "
		 "share of the samples, with the functions it called stacked on it. Click a box "
		 "to zoom, Ctrl-F to search. -->\n"
		 "<defs>\n"
		 "\t<linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">\n"
		 "\t\t<stop stop-color=\"#eeeeee\" offset=\"5%\"/>\n"
		 "\t\t<stop stop-color=\"#eeeeb0\" offset=\"95%\"/>\n"
		 "\t</linearGradient>\n"
		 "</defs>\n"
		 "<style type=\"text/css\">\n");
	puts_(s, fg_svg_style);
	puts_(s, "</style>\n");
	if (script) {
		puts_(s, "<script type=\"text/ecmascript\">\n<![CDATA[\n");
		puts_(s, fg_svg_script);
		puts_(s, "]]>\n</script>\n");
	}
	putf(s, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"url(#background)\"/>\n",
	     l->width, l->height);
	putf(s, "<text id=\"title\" x=\"%.2f\" y=\"%d\">", l->width / 2.0, FONT_SIZE * 2);
	put_escaped(s, l->title);
	puts_(s, "</text>\n");
	if (l->subtitle) {
		putf(s, "<text id=\"subtitle\" x=\"%.2f\" y=\"%d\">", l->width / 2.0, FONT_SIZE * 4);
		put_escaped(s, l->subtitle);
		puts_(s, "</text>\n");
	}
}

static void put_controls(struct svg *s, const struct layout *l)
{
	int bottom = l->height - YPAD_BOTTOM / 2;
	double right = l->width - XPAD - CONTROL_WIDTH;

	putf(s, "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n", XPAD, bottom);
	putf(s, "<text id=\"unzoom\" x=\"%d\" y=\"%d\" class=\"hide\">Reset Zoom</text>\n", XPAD,
	     FONT_SIZE * 2);
	putf(s, "<text id=\"search\" x=\"%.2f\" y=\"%d\">Search</text>\n", right, FONT_SIZE * 2);
	putf(s, "<text id=\"matched\" x=\"%.2f\" y=\"%d\"> </text>\n", right, bottom);
}

static void put_frame(struct svg *s, const struct stacktree *t, const struct layout *l,
		      const struct fg_frame *f)
{
	const struct fg_name *name = &t->names.v[f->name];
	double x = XPAD + f->offset * l->px_per_weight;
	double w = f->weight * l->px_per_weight;
	double y;
	char count[32];
	unsigned rgb[3];

	if (l->icicle)
		y = l->ypad_top + (double)f->depth * FRAME_HEIGHT + FRAME_PAD;
	else
		y = l->height - YPAD_BOTTOM - (f->depth + 1.0) * FRAME_HEIGHT + FRAME_PAD;
	format_count(f->weight, count);
	frame_color(name, rgb);

	puts_(s, "<g><title>");
	put_escaped(s, name->text);
	putf(s, " (%s ", count);
	put_escaped(s, l->unit);
	if (f->node == FG_ROOT)
		puts_(s, ", 100%)");
	else
		putf(s, ", %.2f%%)", 100.0 * f->weight / l->total);
	putf(s, "</title><rect x=\"%.4f\" y=\"%.1f\" width=\"%.4f\" height=\"%.1f\" "
		"fill=\"rgb(%u,%u,%u)\" rx=\"2\" ry=\"2\"/><text x=\"%.2f\" y=\"%.2f\">",
	     x, y, w, (double)(FRAME_HEIGHT - FRAME_PAD), rgb[0], rgb[1], rgb[2], x + 3,
	     y + (FRAME_HEIGHT - FRAME_PAD) / 2.0 + 3);
	put_label(s, name->text, w);
	puts_(s, "</text></g>\n");
}

static int finish(struct svg *s)
{
	svg_flush(s);
	if (!s->err && (fflush(s->out) || ferror(s->out)))
		s->err = -EIO;
	return s->err;
}

static int write_empty(struct svg *s, struct layout *l)
{
	l->height = l->ypad_top + FRAME_HEIGHT + YPAD_BOTTOM;
	put_header(s, l, false);
	putf(s, "<text id=\"nosamples\" x=\"%.2f\" y=\"%d\">No samples</text>\n", l->width / 2.0,
	     l->ypad_top + FRAME_HEIGHT);
	puts_(s, "</svg>\n");
	return finish(s);
}

int flamegraph__write_svg(const struct profile *p, const struct flamegraph_opts *opts,
			  FILE *out)
{
	static const struct flamegraph_opts defaults;
	struct svg s = { .out = out };
	struct layout l = { 0 };
	struct stacktree t;
	struct fg_frame *frames = NULL;
	size_t nframes = 0;
	uint32_t max_depth = 0;
	int err;

	if (!p || !out)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	l.width = opts->width ? opts->width : DEFAULT_WIDTH;
	l.min_width_px = opts->min_width_px ? opts->min_width_px : DEFAULT_MIN_WIDTH_PX;
	if (l.width <= 2 * XPAD || !(l.min_width_px > 0))
		return -EINVAL;
	l.icicle = opts->icicle;
	l.title = opts->title ? opts->title : "Flame Graph";
	l.subtitle = opts->subtitle;
	l.unit = opts->unit ? opts->unit : "samples";
	l.ypad_top = YPAD_TOP + (l.subtitle ? YPAD_SUBTITLE : 0);

	err = stacktree__build(&t, p);
	if (err)
		return err;
	l.total = t.total;
	if (l.total == 0) {
		err = write_empty(&s, &l);
		goto cleanup;
	}
	l.px_per_weight = (double)(l.width - 2 * XPAD) / l.total;
	err = stacktree__frames(&t, l.min_width_px / l.px_per_weight, &frames, &nframes);
	if (err)
		goto cleanup;
	for (size_t i = 0; i < nframes; i++)
		if (frames[i].depth > max_depth)
			max_depth = frames[i].depth;

	l.height = (max_depth + 1) * FRAME_HEIGHT + l.ypad_top + YPAD_BOTTOM;
	put_header(&s, &l, true);
	put_controls(&s, &l);
	puts_(&s, "<g id=\"frames\">\n");
	for (size_t i = 0; i < nframes && !s.err; i++)
		put_frame(&s, &t, &l, &frames[i]);
	puts_(&s, "</g>\n</svg>\n");
	err = finish(&s);

cleanup:
	VEC_FREE(s.buf);
	free(frames);
	stacktree__free(&t);
	return err;
}

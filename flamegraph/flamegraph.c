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
#include <math.h>
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
#define SUBTITLE_LINE 16                  /* added per further line of it */
#define YPAD_LEGEND (FONT_SIZE * 2)       /* a diff's legend and shape button */
#define LEGEND_SWATCHES 9                 /* from the largest drop to the largest gain */
#define LEGEND_SWATCH_W 18
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
	/* Differential graphs only. */
	bool diff;
	enum flamegraph_palette palette;
	uint64_t base_total;
	double base_px_per_weight;
	double max_delta; /* largest |after share - before share|, in [0, 1] */
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

/* Write the first @n bytes of @str escaped (@n ends at a character boundary). */
static void put_escaped_n(struct svg *s, const char *str, size_t n)
{
	const char *end = str + n;

	while (str < end && *str) {
		const char *text;
		size_t len;

		str += fg_escape_unit(str, &text, &len);
		put(s, text, len);
	}
}

static int subtitle_lines(const char *subtitle)
{
	int n = 1;

	if (!subtitle)
		return 0;
	for (const char *c = subtitle; *c; c++)
		n += *c == '\n';
	return n;
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
 * orange (red 180-200, green 95-135), JIT frames green, Python frames blue-teal
 * (flamegraph.pl's "aqua" pushed towards blue, blue >= 200, so it stays apart from
 * the JIT green), unknown frames grey.
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
	case FRAME_PYTHON:
		rgb[0] = 40 + 50 * v0 / 255;
		rgb[1] = 150 + 60 * v1 / 255;
		rgb[2] = 200 + 55 * v2 / 255;
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
	if (l->diff)
		puts_(s, fg_svg_diff_style);
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
	/* Further lines repeat #subtitle's style as attributes, so the CSS every graph
	 * carries stays as it is. */
	int k = 0;
	for (const char *line = l->subtitle; line; k++) {
		const char *nl = strchr(line, '\n');

		if (k == 0)
			putf(s, "<text id=\"subtitle\" x=\"%.2f\" y=\"%d\">", l->width / 2.0,
			     FONT_SIZE * 4);
		else
			putf(s, "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\" "
				"fill=\"rgb(110,110,110)\">",
			     l->width / 2.0, FONT_SIZE * 4 + k * SUBTITLE_LINE);
		put_escaped_n(s, line, nl ? (size_t)(nl - line) : strlen(line));
		puts_(s, "</text>\n");
		line = nl ? nl + 1 : NULL;
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

static double frame_y(const struct layout *l, uint32_t depth)
{
	if (l->icicle)
		return l->ypad_top + (double)depth * FRAME_HEIGHT + FRAME_PAD;
	return l->height - YPAD_BOTTOM - (depth + 1.0) * FRAME_HEIGHT + FRAME_PAD;
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

	y = frame_y(l, f->depth);
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

static int init_layout(struct layout *l, const struct flamegraph_opts *opts,
		       const char *default_title)
{
	static const struct flamegraph_opts defaults;

	if (!opts)
		opts = &defaults;
	l->width = opts->width ? opts->width : DEFAULT_WIDTH;
	l->min_width_px = opts->min_width_px ? opts->min_width_px : DEFAULT_MIN_WIDTH_PX;
	if (l->width <= 2 * XPAD || !(l->min_width_px > 0))
		return -EINVAL;
	if (opts->palette != FLAMEGRAPH_PALETTE_RED_BLUE &&
	    opts->palette != FLAMEGRAPH_PALETTE_BLUE_ORANGE)
		return -EINVAL;
	l->palette = opts->palette;
	l->icicle = opts->icicle;
	l->title = opts->title ? opts->title : default_title;
	l->subtitle = opts->subtitle;
	l->unit = opts->unit ? opts->unit : "samples";
	l->ypad_top = YPAD_TOP;
	if (l->subtitle)
		l->ypad_top += YPAD_SUBTITLE + (subtitle_lines(l->subtitle) - 1) * SUBTITLE_LINE;
	return 0;
}

/* Lay @g's samples out and write them as a plain graph. */
static int write_plain(struct flamegraph *g, const struct flamegraph_opts *opts, FILE *out)
{
	struct svg s = { .out = out };
	struct layout l = { 0 };
	struct stacktree t;
	struct fg_frame *frames = NULL;
	size_t nframes = 0;
	uint32_t max_depth = 0;
	int err;

	if (!out)
		return -EINVAL;
	err = init_layout(&l, opts, "Flame Graph");
	if (err)
		return err;

	err = stacktree__plain_frames(&t, g, (double)(l.width - 2 * XPAD), l.min_width_px,
				      &frames, &nframes);
	if (err)
		return err;
	l.total = t.total;
	if (l.total == 0) {
		err = write_empty(&s, &l);
		goto cleanup;
	}
	l.px_per_weight = (double)(l.width - 2 * XPAD) / l.total;
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

static int gather(const struct profile_sample *s, void *ctx)
{
	return fg_gather(ctx, s);
}

int flamegraph__write_svg(const struct profile *p, const struct flamegraph_opts *opts,
			  FILE *out)
{
	/* The profile outlives the graph: its stacks are not copied. */
	struct flamegraph g = { .p = p, .borrow = true };
	int err;

	if (!p || !out)
		return -EINVAL;
	err = profile__for_each_sample(p, gather, &g);
	if (!err)
		err = write_plain(&g, opts, out);
	fg_gather_free(&g);
	return err;
}

struct flamegraph *flamegraph__new(const struct profile *names)
{
	struct flamegraph *g;

	if (!names) {
		errno = EINVAL;
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		errno = ENOMEM;
		return NULL;
	}
	g->p = names;
	return g;
}

int flamegraph__add_sample(struct flamegraph *g, const struct profile_sample *s)
{
	return fg_gather(g, s);
}

uint64_t flamegraph__total_weight(const struct flamegraph *g)
{
	return g->total;
}

int flamegraph__write(struct flamegraph *g, const struct flamegraph_opts *opts, FILE *out)
{
	return write_plain(g, opts, out);
}

void flamegraph__free(struct flamegraph *g)
{
	if (!g)
		return;
	fg_gather_free(g);
	free(g);
}

/* ---- differential graphs ---- */

/* A frame of a diff, placed in both shapes; a weight of 0 hides it in that shape. */
struct diff_frame {
	uint32_t node, name, depth;
	uint64_t a_offset, a_weight; /* the after shape (what the SVG shows first) */
	uint64_t b_offset, b_weight; /* the before shape */
};

/* Shares of node @node in each profile, and the change. */
static double diff_delta(const struct stacktree *t, const struct layout *l, uint32_t node,
			 uint64_t *a, uint64_t *b)
{
	*a = node == FG_ROOT ? l->total : t->nodes[node].weight;
	*b = node == FG_ROOT ? l->base_total : t->base[node];
	return (l->total ? (double)*a / l->total : 0) -
	       (l->base_total ? (double)*b / l->base_total : 0);
}

/*
 * The colour of a change @delta in share: near-white for none, then linearly to the
 * palette's end colour at the graph's largest change (difffolded.pl scales the same
 * way), so the strongest colour always marks the biggest mover.
 */
static void diff_color(const struct layout *l, double delta, unsigned rgb[3])
{
	static const unsigned neutral[3] = { 250, 250, 250 };
	/* [palette][grew] */
	static const unsigned ends[2][2][3] = {
		[FLAMEGRAPH_PALETTE_RED_BLUE] = { { 40, 90, 230 }, { 230, 40, 40 } },
		[FLAMEGRAPH_PALETTE_BLUE_ORANGE] = { { 30, 110, 220 }, { 245, 135, 0 } },
	};
	const unsigned *end = ends[l->palette][delta > 0];
	double f = 0;

	/* Shares are ratios of integers: anything this small is rounding, not change. */
	if (l->max_delta > 0 && fabs(delta) > 1e-12)
		f = fabs(delta) / l->max_delta;
	if (f > 1)
		f = 1;
	for (int i = 0; i < 3; i++)
		rgb[i] = (unsigned)lround(neutral[i] + f * ((double)end[i] - (double)neutral[i]));
}

static void put_diff_frame(struct svg *s, const struct stacktree *t, const struct layout *l,
			   const struct diff_frame *f)
{
	const struct fg_name *name = &t->names.v[f->name];
	double full = l->width - 2 * XPAD;
	double xa = XPAD, wa = full, xb = XPAD, wb = full;
	double y = frame_y(l, f->depth), delta;
	char ca[32], cb[32];
	uint64_t a, b;
	unsigned rgb[3];

	if (f->node != FG_ROOT) {
		xa = XPAD + f->a_offset * l->px_per_weight;
		wa = f->a_weight * l->px_per_weight;
		xb = XPAD + f->b_offset * l->base_px_per_weight;
		wb = f->b_weight * l->base_px_per_weight;
	}
	delta = diff_delta(t, l, f->node, &a, &b);
	diff_color(l, delta, rgb);
	format_count(a, ca);
	format_count(b, cb);

	/* The tooltip starts as flamegraph.pl's "(N samples, P%", with the after counts
	 * the widths show, so tools that read it find what they expect. */
	puts_(s, f->a_weight || f->node == FG_ROOT ? "<g><title>" : "<g class=\"hide\"><title>");
	put_escaped(s, name->text);
	putf(s, " (%s ", ca);
	put_escaped(s, l->unit);
	putf(s, ", %.2f%%; before %s ", l->total ? 100.0 * a / l->total : 0.0, cb);
	put_escaped(s, l->unit);
	putf(s, ", %.2f%%; %+.2f points)", l->base_total ? 100.0 * b / l->base_total : 0.0,
	     100.0 * delta);
	putf(s, "</title><rect x=\"%.4f\" y=\"%.1f\" width=\"%.4f\" height=\"%.1f\" "
		"fill=\"rgb(%u,%u,%u)\" rx=\"2\" ry=\"2\" data-bx=\"%.4f\" data-bw=\"%.4f\"/>"
		"<text x=\"%.2f\" y=\"%.2f\">",
	     xa, y, wa, (double)(FRAME_HEIGHT - FRAME_PAD), rgb[0], rgb[1], rgb[2], xb, wb,
	     xa + 3, y + (FRAME_HEIGHT - FRAME_PAD) / 2.0 + 3);
	put_label(s, name->text, wa);
	puts_(s, "</text></g>\n");
}

/* The row under the subtitle: the shape button and what the colours mean. */
static void put_legend(struct svg *s, const struct layout *l)
{
	double y = l->ypad_top - YPAD_LEGEND + FONT_SIZE;
	double x = XPAD + 150;
	char ca[32], cb[32];

	format_count(l->total, ca);
	format_count(l->base_total, cb);
	putf(s, "<text id=\"shape\" x=\"%d\" y=\"%.1f\">Show before shape</text>\n", XPAD, y);
	puts_(s, "<g id=\"legend\">\n");
	putf(s, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">shrank</text>\n", x - 4, y);
	for (int i = 0; i < LEGEND_SWATCHES; i++) {
		double d = l->max_delta * (2.0 * i / (LEGEND_SWATCHES - 1) - 1);
		unsigned rgb[3];

		diff_color(l, d, rgb);
		putf(s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" "
			"fill=\"rgb(%u,%u,%u)\" stroke=\"rgb(160,160,160)\" stroke-width=\"0.5\"/>\n",
		     x + i * LEGEND_SWATCH_W, y - FONT_SIZE + 1, LEGEND_SWATCH_W, FONT_SIZE,
		     rgb[0], rgb[1], rgb[2]);
	}
	x += LEGEND_SWATCHES * LEGEND_SWATCH_W + 4;
	putf(s, "<text x=\"%.1f\" y=\"%.1f\">grew (colour: change in share of all ", x, y);
	put_escaped(s, l->unit);
	putf(s, ", after%% \xe2\x88\x92 before%%; full colour \xc2\xb1%.2f points). Widths: after, "
		"%s ", 100.0 * l->max_delta, ca);
	put_escaped(s, l->unit);
	putf(s, "; before: %s ", cb);
	put_escaped(s, l->unit);
	puts_(s, ".</text>\n</g>\n");
}

/* Index, by node slot, of the frames in @f (their index + 1; 0 for none). */
static uint32_t *index_frames(const struct stacktree *t, const struct fg_frame *f, size_t n)
{
	uint32_t *ix = calloc(t->nodes_cap ? t->nodes_cap : 1, sizeof(*ix));

	if (!ix)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (f[i].node != FG_ROOT)
			ix[f[i].node] = (uint32_t)i + 1;
	return ix;
}

int flamegraph__write_diff_svg(const struct profile *before, const struct profile *after,
			       const struct flamegraph_opts *opts, FILE *out)
{
	struct svg s = { .out = out };
	struct layout l = { 0 };
	struct stacktree t;
	struct fg_frame *fa = NULL, *fb = NULL;
	size_t na = 0, nb = 0;
	uint32_t *a_ix = NULL, *b_ix = NULL, max_depth = 0;
	VEC(struct diff_frame) frames = { 0 };
	double full;
	int err;

	if (!before || !after || !out)
		return -EINVAL;
	err = init_layout(&l, opts, "Differential Flame Graph");
	if (err)
		return err;
	l.diff = true;
	full = (double)(l.width - 2 * XPAD);

	err = stacktree__build_diff(&t, after, before);
	if (err)
		return err;
	l.total = t.total;
	l.base_total = t.base_total;
	if (!l.total && !l.base_total) {
		err = write_empty(&s, &l);
		goto cleanup;
	}
	/* Each shape is laid out on its own, as the plain graph would be. */
	if (l.total) {
		l.px_per_weight = full / l.total;
		err = stacktree__frames(&t, l.min_width_px / l.px_per_weight, &fa, &na);
	}
	if (!err && l.base_total) {
		l.base_px_per_weight = full / l.base_total;
		stacktree__swap_base(&t);
		err = stacktree__frames(&t, l.min_width_px / l.base_px_per_weight, &fb, &nb);
		stacktree__swap_base(&t);
	}
	if (err)
		goto cleanup;
	a_ix = index_frames(&t, fa, na);
	b_ix = index_frames(&t, fb, nb);
	if (!a_ix || !b_ix) {
		err = -ENOMEM;
		goto cleanup;
	}

	/* The root, the after shape's frames, then those only the before shape has: each
	 * list has parents before children, and so has the union. */
	err = VEC_PUSH(frames, ((struct diff_frame){ .node = FG_ROOT, .name = t.root_name }));
	for (size_t i = 0; !err && i < na; i++) {
		const struct fg_frame *f = &fa[i];
		uint32_t j = f->node == FG_ROOT ? 0 : b_ix[f->node];

		if (f->node == FG_ROOT)
			continue;
		err = VEC_PUSH(frames, ((struct diff_frame){
					       .node = f->node, .name = f->name, .depth = f->depth,
					       .a_offset = f->offset, .a_weight = f->weight,
					       .b_offset = j ? fb[j - 1].offset : 0,
					       .b_weight = j ? fb[j - 1].weight : 0 }));
	}
	for (size_t i = 0; !err && i < nb; i++) {
		const struct fg_frame *f = &fb[i];

		if (f->node == FG_ROOT || a_ix[f->node])
			continue;
		err = VEC_PUSH(frames, ((struct diff_frame){
					       .node = f->node, .name = f->name, .depth = f->depth,
					       .b_offset = f->offset, .b_weight = f->weight }));
	}
	if (err)
		goto cleanup;
	for (size_t i = 0; i < frames.len; i++) {
		uint64_t a, b;
		double d = fabs(diff_delta(&t, &l, frames.v[i].node, &a, &b));

		if (d > l.max_delta)
			l.max_delta = d;
		if (frames.v[i].depth > max_depth)
			max_depth = frames.v[i].depth;
	}

	l.ypad_top += YPAD_LEGEND;
	l.height = (max_depth + 1) * FRAME_HEIGHT + l.ypad_top + YPAD_BOTTOM;
	put_header(&s, &l, true);
	put_legend(&s, &l);
	put_controls(&s, &l);
	puts_(&s, "<g id=\"frames\">\n");
	for (size_t i = 0; i < frames.len && !s.err; i++)
		put_diff_frame(&s, &t, &l, &frames.v[i]);
	puts_(&s, "</g>\n</svg>\n");
	err = finish(&s);

cleanup:
	VEC_FREE(s.buf);
	VEC_FREE(frames);
	free(fa);
	free(fb);
	free(a_ix);
	free(b_ix);
	stacktree__free(&t);
	return err;
}

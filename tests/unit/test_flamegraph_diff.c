/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_flamegraph_diff.c - unit tests for differential flame graphs: widths from the
 * after profile, colours from the change in share (red grew, blue shrank, near-white
 * unchanged, the other palette), the before shape kept for frames that vanished,
 * tooltips with both sides, the legend, escaping of hostile names, error paths; and
 * subtitles of several lines.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flamegraph.h"
#include "profile.h"
#include "xml_check.h"

#define FULL_WIDTH 1180.0 /* default width 1200 less the two 10 px margins */

/* One frame of the SVG, read back by attribute, not by its exact spelling. */
struct drawn {
	char name[256];
	bool hidden;
	double x, w, bx, bw;
	unsigned r, g, b;
	char title[1024];
};

static void add(struct profile *p, const char *comm, uint64_t weight, ...)
{
	struct sample_meta meta = { .comm = comm };
	uint32_t ids[64];
	size_t n = 0;
	const char *frame;
	va_list ap;

	va_start(ap, weight);
	while ((frame = va_arg(ap, const char *)) && n < 64) {
		assert_int_equal(profile__intern_frame(p, frame, FRAME_USER, &ids[n]), 0);
		n++;
	}
	va_end(ap);
	assert_int_equal(profile__add_sample(p, ids, n, &meta, weight), 0);
}

static char *render_diff(const struct profile *before, const struct profile *after,
			 const struct flamegraph_opts *opts)
{
	static char *buf;
	static size_t len;
	char *svg;
	FILE *f;

	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(flamegraph__write_diff_svg(before, after, opts, f), 0);
	assert_int_equal(fclose(f), 0);
	svg = buf;
	buf = NULL;
	assert_true(xml_well_formed(svg));
	return svg;
}

/* The value of attribute @name in the tag starting at @tag, or NULL. */
static const char *attr(const char *tag, const char *name, char *out, size_t size)
{
	const char *end = strchr(tag, '>');
	char needle[64];
	const char *a;
	size_t n;

	snprintf(needle, sizeof(needle), " %s=\"", name);
	a = strstr(tag, needle);
	if (!a || a > end)
		return NULL;
	a += strlen(needle);
	n = strcspn(a, "\"");
	assert_true(n < size);
	memcpy(out, a, n);
	out[n] = '\0';
	return out;
}

/* Find the frame whose title starts "@name (" inside #frames. */
static int find(const char *svg, const char *name, struct drawn *d)
{
	const char *frames = strstr(svg, "<g id=\"frames\">");
	char needle[300], v[64];
	const char *t, *g, *rect, *end;
	size_t n;

	assert_non_null(frames);
	snprintf(needle, sizeof(needle), "<title>%s (", name);
	t = strstr(frames, needle);
	if (!t)
		return 0;
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	/* The <g> right before it. */
	for (g = t; g > frames && strncmp(g, "<g", 2); g--)
		;
	d->hidden = strncmp(g, "<g class=\"hide\">", 16) == 0;
	end = strstr(t, "</title>");
	n = (size_t)(end - t - 7);
	assert_true(n < sizeof(d->title));
	memcpy(d->title, t + 7, n);
	rect = strstr(t, "<rect ");
	assert_non_null(attr(rect, "x", v, sizeof(v)));
	d->x = atof(v);
	assert_non_null(attr(rect, "width", v, sizeof(v)));
	d->w = atof(v);
	assert_non_null(attr(rect, "data-bx", v, sizeof(v)));
	d->bx = atof(v);
	assert_non_null(attr(rect, "data-bw", v, sizeof(v)));
	d->bw = atof(v);
	assert_non_null(attr(rect, "fill", v, sizeof(v)));
	assert_int_equal(sscanf(v, "rgb(%u,%u,%u)", &d->r, &d->g, &d->b), 3);
	return 1;
}

/* before: a 10%, b 60%, c 30%, gone 0 -> after: a 60%, b 10%, c 30% (same share), new.
 * Totals differ (100 vs 200 + new) so shares, not counts, must decide. */
static void plant(struct profile *before, struct profile *after)
{
	add(before, "app", 10, "main", "a", NULL);
	add(before, "app", 60, "main", "b", NULL);
	add(before, "app", 25, "main", "c", NULL);
	add(before, "app", 5, "main", "gone", NULL);
	add(after, "app", 120, "main", "a", NULL);
	add(after, "app", 20, "main", "b", NULL);
	add(after, "app", 60, "main", "c", NULL);
}

static bool is_red(const struct drawn *d)
{
	return d->r > 200 && d->g < 100 && d->b < 100;
}

static bool is_blue(const struct drawn *d)
{
	return d->b > 200 && d->r < 100;
}

static bool is_neutral(const struct drawn *d)
{
	return d->r >= 235 && d->g >= 235 && d->b >= 235;
}

static void test_diff_colours_grew_red_shrank_blue(void **state)
{
	struct profile *before = profile__new(), *after = profile__new();
	struct drawn a, b, c, main_;
	char *svg;

	(void)state;
	plant(before, after);
	svg = render_diff(before, after, NULL);
	assert_true(find(svg, "a", &a));
	assert_true(find(svg, "b", &b));
	assert_true(find(svg, "c", &c));
	assert_true(find(svg, "main", &main_));
	/* a: 10% -> 60%, the largest change: full red. b: 60% -> 10%: full blue. */
	assert_true(is_red(&a));
	assert_true(is_blue(&b));
	/* c: 25% -> 30%, a tenth of the largest change: much lighter, still reddish. */
	assert_true(c.r > c.b && c.b > 200);
	/* main: 100% on both sides. */
	assert_true(is_neutral(&main_));
	assert_int_equal(main_.r, 250);
	assert_int_equal(main_.b, 250);
	/* The title says the default. */
	assert_non_null(strstr(svg, "<text id=\"title\" x=\"600.00\" y=\"24\">Differential Flame Graph"));
	free(svg);
	profile__free(before);
	profile__free(after);
}

static void test_diff_widths_from_after_and_before_shape(void **state)
{
	struct profile *before = profile__new(), *after = profile__new();
	struct drawn a, b, c, gone, root;
	char *svg;

	(void)state;
	plant(before, after);
	svg = render_diff(before, after, NULL);
	assert_true(find(svg, "a", &a));
	assert_true(find(svg, "b", &b));
	assert_true(find(svg, "c", &c));
	assert_true(find(svg, "all", &root));
	/* After shape: 120, 20, 60 of 200; before shape: 10, 60, 25 of 100. */
	assert_true(fabs(a.w - FULL_WIDTH * 120 / 200) < 0.001);
	assert_true(fabs(b.w - FULL_WIDTH * 20 / 200) < 0.001);
	assert_true(fabs(c.w - FULL_WIDTH * 60 / 200) < 0.001);
	assert_true(fabs(a.bw - FULL_WIDTH * 10 / 100) < 0.001);
	assert_true(fabs(b.bw - FULL_WIDTH * 60 / 100) < 0.001);
	assert_true(fabs(c.bw - FULL_WIDTH * 25 / 100) < 0.001);
	/* Siblings in name order, left to right, in both shapes. */
	assert_true(fabs(b.x - (a.x + a.w)) < 0.001 && fabs(c.x - (b.x + b.w)) < 0.001);
	assert_true(fabs(b.bx - (a.bx + a.bw)) < 0.001 && fabs(c.bx - (b.bx + b.bw)) < 0.001);
	assert_true(fabs(root.w - FULL_WIDTH) < 0.001 && fabs(root.bw - FULL_WIDTH) < 0.001);
	assert_false(a.hidden);
	/* gone: not in the after profile, so zero-wide and hidden there, yet in the SVG
	 * with its before place and width (5 of 100, right of c), and its colour says it
	 * shrank. */
	assert_true(find(svg, "gone", &gone));
	assert_true(gone.hidden);
	assert_true(gone.w == 0);
	assert_true(fabs(gone.bw - FULL_WIDTH * 5 / 100) < 0.001);
	assert_true(fabs(gone.bx - (c.bx + c.bw)) < 0.001);
	assert_true(gone.b > gone.r);
	/* The button that shows it, and the script that reads the before shape. */
	assert_non_null(strstr(svg, "<text id=\"shape\""));
	assert_non_null(strstr(svg, "function fg_set_shape(before)"));
	free(svg);
	profile__free(before);
	profile__free(after);
}

static void test_diff_tooltips_give_both_sides(void **state)
{
	struct profile *before = profile__new(), *after = profile__new();
	struct drawn a, b, gone;
	char *svg;

	(void)state;
	plant(before, after);
	svg = render_diff(before, after, NULL);
	assert_true(find(svg, "a", &a));
	assert_string_equal(a.title,
			    "a (120 samples, 60.00%; before 10 samples, 10.00%; +50.00 points)");
	assert_true(find(svg, "b", &b));
	assert_string_equal(b.title,
			    "b (20 samples, 10.00%; before 60 samples, 60.00%; -50.00 points)");
	assert_true(find(svg, "gone", &gone));
	assert_string_equal(gone.title,
			    "gone (0 samples, 0.00%; before 5 samples, 5.00%; -5.00 points)");
	/* The legend names both ends and the scale. */
	assert_non_null(strstr(svg, "<g id=\"legend\">"));
	assert_non_null(strstr(svg, ">shrank</text>"));
	assert_non_null(strstr(svg, "full colour \xc2\xb1" "50.00 points"));
	free(svg);
	profile__free(before);
	profile__free(after);
}

static void test_diff_blue_orange_palette(void **state)
{
	struct profile *before = profile__new(), *after = profile__new();
	struct flamegraph_opts opts = { .palette = FLAMEGRAPH_PALETTE_BLUE_ORANGE };
	struct drawn a, b, main_;
	char *svg;

	(void)state;
	plant(before, after);
	svg = render_diff(before, after, &opts);
	assert_true(find(svg, "a", &a));
	assert_true(find(svg, "b", &b));
	assert_true(find(svg, "main", &main_));
	/* Orange: much red, some green, no blue. */
	assert_true(a.r > 220 && a.g > 100 && a.g < 180 && a.b < 40);
	assert_true(is_blue(&b));
	assert_true(is_neutral(&main_));
	free(svg);
	profile__free(before);
	profile__free(after);
}

static void test_diff_same_profile_is_all_neutral(void **state)
{
	struct profile *before = profile__new(), *after = profile__new();
	const char *frames;
	char *svg;

	(void)state;
	plant(before, after);
	svg = render_diff(after, after, NULL);
	frames = strstr(svg, "<g id=\"frames\">");
	assert_non_null(frames);
	assert_null(strstr(frames, "class=\"hide\""));
	for (const char *f = strstr(frames, "fill=\""); f; f = strstr(f + 1, "fill=\""))
		assert_int_equal(strncmp(f, "fill=\"rgb(250,250,250)\"", 23), 0);
	free(svg);
	profile__free(before);
	profile__free(after);
}

static void test_diff_empty_sides(void **state)
{
	struct profile *before = profile__new(), *after = profile__new(),
		       *empty = profile__new();
	struct drawn a, root;
	char *svg;

	(void)state;
	plant(before, after);
	svg = render_diff(empty, empty, NULL);
	assert_non_null(strstr(svg, "No samples"));
	free(svg);
	/* Nothing after: every frame hidden but the root, all reachable by shape. */
	svg = render_diff(before, empty, NULL);
	assert_true(find(svg, "all", &root));
	assert_false(root.hidden);
	assert_true(find(svg, "a", &a));
	assert_true(a.hidden && a.bw > 0 && a.b > a.r);
	free(svg);
	/* Nothing before: everything grew by its whole share. */
	svg = render_diff(empty, after, NULL);
	assert_true(find(svg, "a", &a));
	assert_false(a.hidden);
	assert_true(a.bw == 0 && a.r > a.b);
	free(svg);
	profile__free(before);
	profile__free(after);
	profile__free(empty);
}

static void test_diff_hostile_names_stay_text(void **state)
{
	struct profile *before = profile__new(), *after = profile__new();
	size_t big_len = PROFILE_MAX_STRING - 1;
	char *big = malloc(big_len + 1), *svg;
	const char *hostile[] = { "<script>alert(1)</script>", "a&b", "\"quoted\" 'single'",
				  "x]]>y", "<g><title>fake</title></g>" };

	(void)state;
	assert_non_null(big);
	memset(big, '<', big_len);
	big[big_len] = '\0';
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		add(before, hostile[i], 1, "main", hostile[i], NULL);
		add(after, "app", 2, "main", hostile[i], NULL);
	}
	add(after, big, 1, big, NULL);
	svg = render_diff(before, after, NULL);
	xmllint_if_present(svg);
	/* The one <script> element is the graph's own; no name opened a tag. */
	assert_non_null(strstr(svg, "<script type=\"text/ecmascript\">"));
	assert_null(strstr(svg, "<script>"));
	assert_null(strstr(svg, "<g><title>fake"));
	assert_non_null(strstr(svg, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(svg, "a&amp;b"));
	assert_non_null(strstr(svg, "&quot;quoted&quot; &apos;single&apos;"));
	free(svg);
	free(big);
	profile__free(before);
	profile__free(after);
}

static void test_diff_errors(void **state)
{
	struct profile *p = profile__new();
	struct flamegraph_opts bad_palette = { .palette = 7 }, bad_width = { .width = 5 };
	FILE *f = fopen("/dev/null", "w");

	(void)state;
	assert_non_null(f);
	assert_int_equal(flamegraph__write_diff_svg(NULL, p, NULL, f), -EINVAL);
	assert_int_equal(flamegraph__write_diff_svg(p, NULL, NULL, f), -EINVAL);
	assert_int_equal(flamegraph__write_diff_svg(p, p, NULL, NULL), -EINVAL);
	assert_int_equal(flamegraph__write_diff_svg(p, p, &bad_palette, f), -EINVAL);
	assert_int_equal(flamegraph__write_diff_svg(p, p, &bad_width, f), -EINVAL);
	assert_int_equal(flamegraph__write_svg(p, &bad_palette, f), -EINVAL);
	fclose(f);
	profile__free(p);
}

static void test_subtitle_of_several_lines(void **state)
{
	struct profile *before = profile__new(), *after = profile__new();
	struct flamegraph_opts opts = { .subtitle = "before: x <1>\nafter: y & z" };
	struct drawn root;
	char *svg;

	(void)state;
	plant(before, after);
	svg = render_diff(before, after, &opts);
	assert_non_null(strstr(svg, "<text id=\"subtitle\" x=\"600.00\" y=\"48\">before: x &lt;1&gt;</text>"));
	assert_non_null(strstr(svg, "y=\"64\" text-anchor=\"middle\" fill=\"rgb(110,110,110)\">after: y &amp; z</text>"));
	/* The rows below keep clear of both lines and the legend. */
	assert_true(find(svg, "all", &root));
	free(svg);
	/* A plain graph too, and its frames move down by the extra line. */
	{
		FILE *f;
		char *buf = NULL;
		size_t len = 0;

		f = open_memstream(&buf, &len);
		assert_int_equal(flamegraph__write_svg(after, &opts, f), 0);
		fclose(f);
		assert_true(xml_well_formed(buf));
		assert_non_null(strstr(buf, ">after: y &amp; z</text>"));
		free(buf);
	}
	profile__free(before);
	profile__free(after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diff_colours_grew_red_shrank_blue),
		cmocka_unit_test(test_diff_widths_from_after_and_before_shape),
		cmocka_unit_test(test_diff_tooltips_give_both_sides),
		cmocka_unit_test(test_diff_blue_orange_palette),
		cmocka_unit_test(test_diff_same_profile_is_all_neutral),
		cmocka_unit_test(test_diff_empty_sides),
		cmocka_unit_test(test_diff_hostile_names_stay_text),
		cmocka_unit_test(test_diff_errors),
		cmocka_unit_test(test_subtitle_of_several_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_flamegraph.c - unit tests for the SVG flame graph writer: escaping, the frames'
 * titles, geometry and colours, options, error paths, and a golden file.
 *
 * Regenerate the golden file after an intended change of output with
 *   SMOLDER_UPDATE_GOLDEN=1 ./build/tests/test_flamegraph
 * and review the diff of tests/data/golden/small.svg.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "flamegraph.h"
#include "profile.h"
#include "xml_check.h"

#define GOLDEN_SMALL TEST_DATA_DIR "/golden/small.svg"

/* ---- helpers ---- */

/* A frame as drawn: what the tests read back out of the SVG. */
struct drawn {
	double x, y, w;
	unsigned r, g, b;
	char label[512];
};

/* Add one sample whose stack is the NULL-terminated list of "name" or "name:k|j|p|u". */
static void add(struct profile *p, const char *comm, uint64_t weight, ...)
{
	struct sample_meta meta = { .comm = comm };
	uint32_t ids[64];
	size_t n = 0;
	const char *frame;
	va_list ap;

	va_start(ap, weight);
	while ((frame = va_arg(ap, const char *)) && n < 64) {
		enum frame_kind kind = FRAME_USER;
		char name[256];
		const char *colon = strrchr(frame, ':');

		snprintf(name, sizeof(name), "%s", frame);
		if (colon && colon[1] && !colon[2] && colon > frame && colon[-1] != ':') {
			kind = colon[1] == 'k' ? FRAME_KERNEL :
			       colon[1] == 'j' ? FRAME_JIT :
			       colon[1] == 'p' ? FRAME_PYTHON : FRAME_UNKNOWN;
			name[colon - frame] = '\0';
		}
		assert_int_equal(profile__intern_frame(p, name, kind, &ids[n]), 0);
		n++;
	}
	va_end(ap);
	assert_int_equal(profile__add_sample(p, ids, n, &meta, weight), 0);
}

/*
 * Render @p to a NUL-terminated string the caller frees.
 *
 * The stream's buffer pointer lives in a static, not on render()'s stack: gcc 12 at
 * -O3 inlines render() and, not knowing that open_memstream() stores a heap pointer
 * through &buf, assumes the returned string may point at buf itself and reports every
 * later use as -Wdangling-pointer. Tests are single-threaded and take the pointer out
 * before the next render.
 */
static char *render(const struct profile *p, const struct flamegraph_opts *opts)
{
	static char *buf;
	static size_t len;
	char *svg;
	FILE *f;

	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(flamegraph__write_svg(p, opts, f), 0);
	assert_int_equal(fclose(f), 0);
	svg = buf;
	buf = NULL;
	return svg;
}

/* Find the frame whose title starts with "@title_prefix" and read its geometry. */
static int find_frame(const char *svg, const char *title_prefix, struct drawn *d)
{
	char needle[512];
	const char *g, *rect, *text, *end;
	size_t n;

	snprintf(needle, sizeof(needle), "<g><title>%s", title_prefix);
	g = strstr(svg, needle);
	if (!g)
		return 0;
	rect = strstr(g, "<rect ");
	assert_non_null(rect);
	assert_int_equal(sscanf(rect,
				"<rect x=\"%lf\" y=\"%lf\" width=\"%lf\" height=\"15.0\" "
				"fill=\"rgb(%u,%u,%u)\" rx=\"2\" ry=\"2\"/>",
				&d->x, &d->y, &d->w, &d->r, &d->g, &d->b),
			 6);
	text = strstr(rect, "\">") + 2;
	end = strstr(text, "</text></g>\n");
	assert_non_null(end);
	n = (size_t)(end - text);
	assert_true(n < sizeof(d->label));
	memcpy(d->label, text, n);
	d->label[n] = '\0';
	return 1;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle))
		n++;
	return n;
}

/* The graph most tests use: 5 samples of "app", 3 of them in main;compute. */
static struct profile *small_profile(void)
{
	struct profile *p = profile__new();

	assert_non_null(p);
	add(p, "app", 2, "main", "compute", NULL);
	add(p, "app", 1, "main", "compute", NULL);
	add(p, "app", 1, "main", "std::vector<int, std::allocator<int> >::push_back", NULL);
	add(p, "app", 1, "start_thread", "worker", "write", "do_syscall_64:k", "ksys_write:k",
	    NULL);
	return p;
}

/* ---- escaping ---- */

static void test_escape_replaces_xml_specials(void **state)
{
	char out[128];
	const char *want = "&lt;a &amp; &apos;b&apos; &quot;c&quot;&gt;";

	(void)state;
	assert_int_equal(flamegraph__escape("<a & 'b' \"c\">", out, sizeof(out)), strlen(want));
	assert_string_equal(out, want);
	assert_int_equal(flamegraph__escape("plain::name(int)", out, sizeof(out)), 16);
	assert_string_equal(out, "plain::name(int)");
}

static void test_escape_replaces_invalid_utf8_and_controls(void **state)
{
	char out[128];

	(void)state;
	/* Valid multi-byte characters stay; tab stays. */
	flamegraph__escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5\tx", out, sizeof(out));
	assert_string_equal(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5\tx");
	/* Each invalid byte becomes one '?': stray continuation, bad lead, truncated
	 * sequence, overlong, surrogate, beyond U+10FFFF, U+FFFF. */
	flamegraph__escape("a\x80 b\xff c\xe2\x82 d\xc0\xaf e\xed\xa0\x80 f\xf4\x90\x80\x80", out,
			   sizeof(out));
	assert_string_equal(out, "a? b? c?? d?? e??? f????");
	flamegraph__escape("\xef\xbf\xbf", out, sizeof(out));
	assert_string_equal(out, "???");
	/* Control characters other than tab, and DEL. */
	assert_int_equal(flamegraph__escape("a\nb\rc\x01\x1f\x7f", out, sizeof(out)), 8);
	assert_string_equal(out, "a?b?c???");
}

static void test_escape_cut_never_splits_an_entity(void **state)
{
	char out[16];

	(void)state;
	/* "a&lt;b" needs 6 bytes; with less room the cut falls before the entity. */
	assert_int_equal(flamegraph__escape("a<b", NULL, 0), 6);
	assert_int_equal(flamegraph__escape("a<b", out, 3), 6);
	assert_string_equal(out, "a");
	assert_int_equal(flamegraph__escape("a<b", out, 5), 6);
	assert_string_equal(out, "a");
	assert_int_equal(flamegraph__escape("a<b", out, 6), 6);
	assert_string_equal(out, "a&lt;");
	assert_int_equal(flamegraph__escape("a<b", out, 7), 6);
	assert_string_equal(out, "a&lt;b");
	/* Nor a UTF-8 character, and nothing after a unit that did not fit. */
	assert_int_equal(flamegraph__escape("\xc3\xa9z", out, 2), 3);
	assert_string_equal(out, "");
	assert_int_equal(flamegraph__escape("&x", out, 2), 6);
	assert_string_equal(out, "");
	assert_int_equal(flamegraph__escape("x", out, 1), 1);
	assert_string_equal(out, "");
}

/* ---- the SVG ---- */

static void test_svg_titles_give_counts_and_percentages(void **state)
{
	struct profile *p = small_profile();
	char *svg = render(p, NULL);

	(void)state;
	assert_non_null(strstr(svg, "<g><title>all (5 samples, 100%)</title><rect "));
	assert_non_null(strstr(svg, "<g><title>app (5 samples, 100.00%)</title><rect "));
	assert_non_null(strstr(svg, "<g><title>main (4 samples, 80.00%)</title><rect "));
	/* Two samples of the same stack merged: 2 + 1. */
	assert_non_null(strstr(svg, "<g><title>compute (3 samples, 60.00%)</title><rect "));
	assert_non_null(strstr(svg, "<g><title>worker (1 samples, 20.00%)</title><rect "));
	/* all, app, main, compute, push_back, start_thread, worker, write, 2 kernel. */
	assert_int_equal(count_of(svg, "<g><title>"), 10);
	free(svg);
	profile__free(p);
}

static void test_svg_counts_use_thousands_separators_and_unit(void **state)
{
	struct profile *p = profile__new();
	struct flamegraph_opts opts = { .unit = "ms" };
	char *svg;

	(void)state;
	add(p, "", 1234567, "main", NULL);
	add(p, "", 1000, "other", NULL);
	svg = render(p, NULL);
	assert_non_null(strstr(svg, "<title>all (1,235,567 samples, 100%)</title>"));
	assert_non_null(strstr(svg, "<title>main (1,234,567 samples, 99.92%)</title>"));
	assert_non_null(strstr(svg, "<title>other (1,000 samples, 0.08%)</title>"));
	free(svg);
	svg = render(p, &opts);
	assert_non_null(strstr(svg, "<title>main (1,234,567 ms, 99.92%)</title>"));
	free(svg);
	profile__free(p);
}

static void test_svg_escapes_cpp_template_names(void **state)
{
	struct profile *p = small_profile();
	char *svg = render(p, NULL);

	(void)state;
	assert_null(strstr(svg, "std::vector<int"));
	assert_null(strstr(svg, "std::allocator<int> >"));
	assert_non_null(strstr(svg, "<g><title>std::vector&lt;int, std::allocator&lt;int&gt; "
				    "&gt;::push_back (1 samples, 20.00%)</title>"));
	free(svg);
	profile__free(p);
}

static void test_svg_title_and_subtitle_are_escaped(void **state)
{
	struct profile *p = small_profile();
	struct flamegraph_opts opts = { .title = "CPU <api> & \"db\"", .subtitle = "x\x01y 'z'" };
	char *svg = render(p, &opts);

	(void)state;
	assert_non_null(strstr(svg, ">CPU &lt;api&gt; &amp; &quot;db&quot;</text>"));
	assert_non_null(strstr(svg, "<text id=\"subtitle\""));
	assert_non_null(strstr(svg, ">x?y &apos;z&apos;</text>"));
	free(svg);
	svg = render(p, NULL);
	assert_non_null(strstr(svg, ">Flame Graph</text>"));
	assert_null(strstr(svg, "id=\"subtitle\""));
	free(svg);
	profile__free(p);
}

static void test_svg_kernel_frames_get_suffix_and_own_fill_band(void **state)
{
	static const char *const names[] = { "a", "do_syscall_64", "ksys_write", "vfs_read",
					     "x", "schedule", "__memcpy", "zz_top" };
	struct profile *p = profile__new();
	char *svg, title[64];
	struct drawn d;

	(void)state;
	/* Each name as a user frame under u and a kernel frame under k. */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char kname[64];

		snprintf(kname, sizeof(kname), "%s:k", names[i]);
		add(p, "", 1, "u", names[i], NULL);
		add(p, "", 1, "k", kname, NULL);
	}
	svg = render(p, NULL);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(title, sizeof(title), "%s (", names[i]);
		assert_true(find_frame(svg, title, &d));
		assert_in_range(d.r, 205, 255); /* user: warm */
		snprintf(title, sizeof(title), "%s_[k] (", names[i]);
		assert_true(find_frame(svg, title, &d));
		assert_in_range(d.r, 180, 200); /* kernel: burnt orange */
		assert_in_range(d.g, 95, 135);
		assert_in_range(d.b, 0, 20);
		/* Frames are 1/16 of 1,180 px: short names show whole, suffix included. */
		if (strlen(names[i]) <= 6)
			assert_non_null(strstr(d.label, "_[k]"));
	}
	free(svg);
	profile__free(p);
}

static void test_svg_jit_frames_green_unknown_grey(void **state)
{
	struct profile *p = profile__new();
	struct drawn d;
	char *svg;

	(void)state;
	add(p, "", 1, "Interpreter:j", "[unknown]:u", NULL);
	svg = render(p, NULL);
	assert_true(find_frame(svg, "Interpreter_[j] (", &d));
	assert_true(d.g >= 200 && d.r <= 110 && d.b <= 110);
	assert_true(find_frame(svg, "[unknown] (", &d));
	assert_true(d.r == d.g && d.g == d.b);
	free(svg);
	profile__free(p);
}

static void test_svg_python_frames_get_suffix_and_blue_teal_fill(void **state)
{
	static const char *const names[] = { "handle (app/server.py:120)", "main (x.py:1)",
					     "run", "a", "_bootstrap (threading.py:995)", "zz" };
	struct profile *p = profile__new();
	char *svg, title[128];
	struct drawn d;

	(void)state;
	/* Each name as a Python frame, beside the same name as user and JIT frames. */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char pname[96], jname[96];

		snprintf(pname, sizeof(pname), "%s:p", names[i]);
		snprintf(jname, sizeof(jname), "%s:j", names[i]);
		add(p, "", 1, "py", pname, NULL);
		add(p, "", 1, "jit", jname, NULL);
		add(p, "", 1, "user", names[i], NULL);
	}
	svg = render(p, NULL);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(title, sizeof(title), "%s_[p] (", names[i]);
		assert_true(find_frame(svg, title, &d));
		/* Python: blue-teal, a band no other kind reaches (blue >= 200). */
		assert_in_range(d.r, 40, 90);
		assert_in_range(d.g, 150, 210);
		assert_in_range(d.b, 200, 255);
		if (strlen(names[i]) <= 6)
			assert_non_null(strstr(d.label, "_[p]"));
		snprintf(title, sizeof(title), "%s_[j] (", names[i]);
		assert_true(find_frame(svg, title, &d));
		assert_true(d.g >= 200 && d.b <= 110); /* JIT stays green */
		snprintf(title, sizeof(title), "%s (", names[i]);
		assert_true(find_frame(svg, title, &d));
		assert_in_range(d.r, 205, 255); /* user stays warm */
	}
	free(svg);
	profile__free(p);
}

static void test_svg_colour_is_stable_across_graphs(void **state)
{
	struct profile *a = profile__new(), *b = profile__new();
	struct drawn da, db;
	char *sa, *sb;

	(void)state;
	add(a, "one", 7, "main", "hash_lookup", NULL);
	add(b, "", 1, "other", "x", "y", "hash_lookup", NULL);
	add(b, "", 100, "z", NULL);
	sa = render(a, NULL);
	sb = render(b, NULL);
	assert_true(find_frame(sa, "hash_lookup (", &da));
	assert_true(find_frame(sb, "hash_lookup (", &db));
	assert_int_equal(da.r, db.r);
	assert_int_equal(da.g, db.g);
	assert_int_equal(da.b, db.b);
	free(sa);
	free(sb);
	profile__free(a);
	profile__free(b);
}

static void test_svg_comm_is_the_frame_below_the_outermost(void **state)
{
	struct profile *p = profile__new();
	struct drawn all, comm, outer, bare;
	char *svg;

	(void)state;
	add(p, "nginx", 1, "main", "serve", NULL);
	add(p, "", 1, "bare_main", NULL);
	svg = render(p, NULL);
	assert_true(find_frame(svg, "all (", &all));
	assert_true(find_frame(svg, "nginx (", &comm));
	assert_true(find_frame(svg, "main (", &outer));
	assert_true(find_frame(svg, "bare_main (", &bare));
	assert_true(comm.y == all.y - 16 && outer.y == all.y - 32);
	/* Without a comm the outermost frame sits right on the root. */
	assert_true(bare.y == all.y - 16);
	free(svg);
	profile__free(p);
}

static void test_svg_sorts_siblings_by_name(void **state)
{
	struct profile *p = profile__new();
	struct drawn a, b, c;
	char *svg;

	(void)state;
	add(p, "", 5, "gamma", NULL);
	add(p, "", 1, "alpha", NULL);
	add(p, "", 3, "beta", NULL);
	svg = render(p, NULL);
	assert_true(find_frame(svg, "alpha (", &a));
	assert_true(find_frame(svg, "beta (", &b));
	assert_true(find_frame(svg, "gamma (", &c));
	/* 1180 px over 9 samples, left to right in name order. */
	assert_float_equal(a.x, 10, 1e-3);
	assert_float_equal(b.x, 10 + 1180.0 / 9, 1e-3);
	assert_float_equal(c.x, 10 + 4 * 1180.0 / 9, 1e-3);
	assert_float_equal(c.w, 5 * 1180.0 / 9, 1e-3);
	free(svg);
	profile__free(p);
}

static void test_svg_icicle_flips_y(void **state)
{
	struct profile *p = small_profile();
	struct flamegraph_opts icicle = { .icicle = true };
	struct drawn root, leaf, iroot, ileaf;
	char *svg, *isvg;

	(void)state;
	svg = render(p, NULL);
	isvg = render(p, &icicle);
	assert_true(find_frame(svg, "all (", &root));
	assert_true(find_frame(svg, "ksys_write_[k] (", &leaf));
	assert_true(find_frame(isvg, "all (", &iroot));
	assert_true(find_frame(isvg, "ksys_write_[k] (", &ileaf));
	/* Flame: root at the bottom, 6 rows below the deepest frame; icicle: the other way. */
	assert_float_equal(root.y - leaf.y, 6 * 16, 1e-9);
	assert_float_equal(ileaf.y - iroot.y, 6 * 16, 1e-9);
	/* Icicle's root row is right under the title. */
	assert_float_equal(iroot.y, 36 + 1, 1e-9);
	/* Same x and width either way. */
	assert_float_equal(leaf.x, ileaf.x, 1e-9);
	assert_float_equal(leaf.w, ileaf.w, 1e-9);
	free(svg);
	free(isvg);
	profile__free(p);
}

static void test_svg_omits_narrow_frames_but_keeps_their_weight(void **state)
{
	struct profile *p = profile__new();
	struct flamegraph_opts finer = { .min_width_px = 0.001 };
	struct drawn d;
	char *svg;

	(void)state;
	/* 1 sample of 100,001 is 0.0118 px wide at 1,180 px: under the 0.1 px default. */
	add(p, "", 1, "main", "aaa_tiny", "tiny_child", NULL);
	add(p, "", 100000, "main", "zzz_big", NULL);
	svg = render(p, NULL);
	assert_null(strstr(svg, "aaa_tiny"));
	assert_null(strstr(svg, "tiny_child"));
	assert_non_null(strstr(svg, "<title>main (100,001 samples, 100.00%)</title>"));
	/* The omitted frame still takes its place: the big sibling starts after it. */
	assert_true(find_frame(svg, "zzz_big (", &d));
	assert_float_equal(d.x, 10 + 1180.0 / 100001, 1e-4);
	free(svg);

	svg = render(p, &finer);
	assert_true(find_frame(svg, "aaa_tiny (", &d));
	assert_true(find_frame(svg, "tiny_child (", &d));
	free(svg);
	profile__free(p);
}

static void test_svg_labels_fit_frame_width(void **state)
{
	struct profile *p = profile__new();
	struct drawn d;
	char *svg;

	(void)state;
	/* 1,180 samples: one px each. 7.08 px per character. */
	add(p, "", 50, "a_really_long_function_name", NULL);   /* 7 chars fit */
	add(p, "", 20, "b_narrow", NULL);                      /* 2 chars: no label */
	add(p, "", 60, "c<short>", NULL);                      /* 8 chars fit, 8 needed */
	add(p, "", 29, "d\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x", NULL); /* 4 fit of 6 */
	add(p, "", 1021, "e", NULL);
	svg = render(p, NULL);
	assert_true(find_frame(svg, "a_really_long_function_name (", &d));
	assert_string_equal(d.label, "a_rea..");
	assert_true(find_frame(svg, "b_narrow (", &d));
	assert_string_equal(d.label, "");
	assert_true(find_frame(svg, "c&lt;short&gt; (", &d));
	assert_string_equal(d.label, "c&lt;short&gt;");
	/* Cut in characters, not bytes. */
	assert_true(find_frame(svg, "d\xc3\xa9", &d));
	assert_string_equal(d.label, "d\xc3\xa9..");
	free(svg);
	profile__free(p);
}

static void test_svg_parses_as_xml(void **state)
{
	struct profile *p = small_profile();
	struct flamegraph_opts opts = { .title = "<&>", .subtitle = "\"'\xff", .icicle = true };
	char *svg;

	(void)state;
	add(p, "weird<comm>&", 3, "bad\xc3utf8", "ctl\x1b[0m", "quote\"'", NULL);
	svg = render(p, &opts);
	assert_int_equal(strncmp(svg, "<?xml ", 6), 0);
	assert_true(xml_well_formed(svg));
	/* The checker itself rejects what it should. */
	assert_false(xml_well_formed("<svg><g></svg>"));
	assert_false(xml_well_formed("<svg>a < b</svg>"));
	assert_false(xml_well_formed("<svg>a ]]> b</svg>"));
	assert_false(xml_well_formed("<svg x=\"&bad;\"/>"));
	xmllint_if_present(svg);
	free(svg);
	profile__free(p);
}

static void test_svg_empty_profile_says_no_samples(void **state)
{
	struct profile *p = profile__new();
	char *svg;

	(void)state;
	svg = render(p, NULL);
	assert_non_null(strstr(svg, ">No samples</text>"));
	assert_null(strstr(svg, "<g><title>"));
	assert_true(xml_well_formed(svg));
	xmllint_if_present(svg);
	free(svg);
	/* Samples of weight 0 are no samples either. */
	add(p, "app", 0, "main", NULL);
	svg = render(p, NULL);
	assert_non_null(strstr(svg, ">No samples</text>"));
	free(svg);
	profile__free(p);
}

static void test_svg_write_error_returns_eio(void **state)
{
	struct profile *p = small_profile();
	FILE *f;

	(void)state;
	/* /dev/full fails every write with ENOSPC; the error may surface at the flush. */
	f = fopen("/dev/full", "w");
	if (!f) {
		profile__free(p);
		skip();
	}
	assert_int_equal(flamegraph__write_svg(p, NULL, f), -EIO);
	fclose(f);
	/* A stream opened for reading cannot be written at all. */
	f = fopen("/dev/null", "r");
	assert_non_null(f);
	assert_int_equal(flamegraph__write_svg(p, NULL, f), -EIO);
	fclose(f);
	profile__free(p);
}

static void test_svg_rejects_bad_arguments(void **state)
{
	struct profile *p = small_profile();
	struct flamegraph_opts neg_width = { .width = -5 };
	struct flamegraph_opts neg_min = { .min_width_px = -1 };

	(void)state;
	assert_int_equal(flamegraph__write_svg(NULL, NULL, stdout), -EINVAL);
	assert_int_equal(flamegraph__write_svg(p, NULL, NULL), -EINVAL);
	assert_int_equal(flamegraph__write_svg(p, &neg_width, stdout), -EINVAL);
	assert_int_equal(flamegraph__write_svg(p, &neg_min, stdout), -EINVAL);
	profile__free(p);
}

static void test_svg_width_option_scales_frames(void **state)
{
	struct profile *p = small_profile();
	struct flamegraph_opts opts = { .width = 600 };
	struct drawn d;
	char *svg = render(p, &opts);

	(void)state;
	assert_non_null(strstr(svg, "width=\"600\""));
	assert_true(find_frame(svg, "all (", &d));
	assert_float_equal(d.w, 580, 1e-9);
	assert_true(find_frame(svg, "main (", &d));
	assert_float_equal(d.w, 580 * 0.8, 1e-3);
	free(svg);
	profile__free(p);
}

static void test_svg_has_controls_and_inline_script(void **state)
{
	struct profile *p = small_profile();
	char *svg = render(p, NULL);

	(void)state;
	assert_non_null(strstr(svg, "<script type=\"text/ecmascript\">\n<![CDATA["));
	assert_non_null(strstr(svg, "<style type=\"text/css\">"));
	assert_non_null(strstr(svg, ">Reset Zoom</text>"));
	assert_non_null(strstr(svg, ">Search</text>"));
	assert_non_null(strstr(svg, "<text id=\"details\""));
	assert_non_null(strstr(svg, "<text id=\"matched\""));
	assert_non_null(strstr(svg, "<g id=\"frames\">"));
	/* Self-contained: nothing to fetch. */
	assert_null(strstr(svg, "href="));
	assert_null(strstr(svg, "@import"));
	assert_null(strstr(svg, "url(http"));
	free(svg);
	profile__free(p);
}

/*
 * Names that print alike are ordered by when the samples first met them, and one
 * name shared by two kinds shows the kind met first: here a comm "x_[k]" beside a
 * kernel frame x of a sample without comm, and a comm "[unknown]" (user) beside an
 * unknown frame.
 */
static void test_svg_names_printing_alike_keep_first_met_order(void **state)
{
	struct profile *p = profile__new();
	struct drawn comm, kernel, unknown;
	char *svg;

	(void)state;
	assert_non_null(p);
	add(p, "x_[k]", 1, "a", NULL);
	add(p, "", 1, "x:k", "b", NULL);
	add(p, "[unknown]", 1, "c", NULL);
	add(p, "", 1, "[unknown]:u", "d", NULL);
	svg = render(p, NULL);
	assert_true(find_frame(svg, "x_[k] (1 samples", &comm));
	assert_true(find_frame(strstr(svg, "<g><title>x_[k] (1 samples") + 1, "x_[k] (1 samples",
			       &kernel));
	assert_true(comm.r >= 205);                  /* the comm: user code's band */
	assert_true(kernel.r >= 180 && kernel.r <= 200); /* the kernel frame's */
	assert_true(comm.x < kernel.x);
	assert_true(find_frame(svg, "[unknown] (2 samples", &unknown));
	assert_true(unknown.r >= 205);
	free(svg);
	profile__free(p);
}

static int stream_line(const struct profile_sample *s, void *fg)
{
	return flamegraph__add_sample(fg, s);
}

/* @text as flamegraph__write_svg() draws it after profile__read_folded(), and as a
 * graph the lines are streamed into (profile__scan_folded) draws it: both in *@a, *@b. */
static void render_both(const char *text, const struct flamegraph_opts *opts, char **a,
			char **b)
{
	static char *buf;
	static size_t len;
	struct profile *p = profile__new(), *names = profile__new();
	struct flamegraph *fg = flamegraph__new(names);
	FILE *in, *out;

	assert_non_null(p);
	assert_non_null(fg);
	in = fmemopen((void *)text, strlen(text), "r");
	assert_int_equal(profile__read_folded(p, in, NULL), 0);
	fclose(in);
	*a = render(p, opts);

	in = fmemopen((void *)text, strlen(text), "r");
	assert_int_equal(profile__scan_folded(names, in, stream_line, fg, NULL), 0);
	fclose(in);
	assert_int_equal(profile__record_count(names), 0);
	assert_int_equal(flamegraph__total_weight(fg), profile__total_weight(p));
	buf = NULL;
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	assert_int_equal(flamegraph__write(fg, opts, out), 0);
	assert_int_equal(fclose(out), 0);
	*b = buf;
	buf = NULL;
	flamegraph__free(fg);
	profile__free(names);
	profile__free(p);
}

/*
 * Folded text streamed into a graph draws the SVG its profile draws, byte for byte:
 * every kind of frame, comms (none, and one printing like a kernel frame), repeated
 * and unsorted lines, blank lines, zero counts, frames merged away for narrowness.
 */
static void test_svg_streamed_folded_is_the_profiles(void **state)
{
	static const char small[] =
		"a;b;c 5\na;b 3\n;x;y 2\na;b;c_[k] 1\na;b;c 4\nb;[unknown] 1\n\n"
		"a;b;d_[p] 7\nz;[libc.so.6+0x1a2b];f_[j] 2\na;b;c_[i] 3\nx_[k];x_[k];b 2\n"
		"a;zero 0\na;b;c 1\n";
	const struct flamegraph_opts opts[] = {
		{ 0 },
		{ .icicle = true, .width = 400, .title = "t & <u>", .subtitle = "s\nt" },
		{ .min_width_px = 3 },
	};
	char *big = NULL, *a, *b;
	size_t len = 0;
	FILE *f = open_memstream(&big, &len);
	unsigned x = 1;

	(void)state;
	assert_non_null(f);
	for (int i = 0; i < 20000; i++) {
		x = x * 1103515245 + 12345;
		fprintf(f, "%s;main", (x >> 16) % 3 ? "app" : "db");
		for (unsigned d = 0, n = 2 + (x >> 8) % 12; d < n; d++) {
			x = x * 1103515245 + 12345;
			fprintf(f, ";fn%u%s", (x >> 16) % (40 + 10 * d),
				(x >> 4) % 9 == 0 ? "_[k]" : (x >> 4) % 9 == 1 ? "_[j]" :
				(x >> 4) % 9 == 2 ? "_[p]" : "");
		}
		fprintf(f, " %u\n", 1 + (x >> 20) % 50);
	}
	assert_int_equal(fclose(f), 0);

	for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
		render_both(small, &opts[k], &a, &b);
		assert_string_equal(b, a);
		free(a);
		free(b);
		render_both(big, &opts[k], &a, &b);
		assert_true(count_of(a, "<g><title>") > 50); /* narrow frames merged, many left */
		assert_string_equal(b, a);
		free(a);
		free(b);
	}
	free(big);
}

/* A streamed graph checks what a profile would have refused, and can be written twice. */
static void test_svg_streamed_graph_checks_samples(void **state)
{
	struct profile *names = profile__new();
	struct flamegraph *fg = flamegraph__new(names);
	uint32_t ids[2] = { 0, 7 };
	struct profile_sample s = { .frames = ids, .nframes = 1, .comm = "app", .weight = 3 };
	char *one, *two;
	static char *buf;
	static size_t len;
	FILE *out;

	(void)state;
	assert_non_null(fg);
	assert_int_equal(profile__intern_frame(names, "main", FRAME_USER, &ids[0]), 0);
	assert_int_equal(flamegraph__add_sample(fg, &s), 0);
	s.nframes = 2; /* frame 7 is not the profile's */
	assert_int_equal(flamegraph__add_sample(fg, &s), -EINVAL);
	s.nframes = 1;
	s.weight = UINT64_MAX;
	assert_int_equal(flamegraph__add_sample(fg, &s), -EOVERFLOW);
	assert_int_equal(flamegraph__total_weight(fg), 3);
	for (int i = 0; i < 2; i++) {
		buf = NULL;
		out = open_memstream(&buf, &len);
		assert_non_null(out);
		assert_int_equal(flamegraph__write(fg, NULL, out), 0);
		assert_int_equal(fclose(out), 0);
		*(i ? &two : &one) = buf;
	}
	assert_non_null(strstr(one, "<g><title>main (3 samples, 100.00%)</title>"));
	assert_string_equal(one, two);
	free(one);
	free(two);
	flamegraph__free(fg);
	profile__free(names);
	assert_null(flamegraph__new(NULL));
	assert_int_equal(errno, EINVAL);
}

/* The golden profile touches every kind of frame and every escape. */
static void test_svg_matches_golden_file(void **state)
{
	struct profile *p = small_profile();
	struct flamegraph_opts opts = { .title = "smolder golden",
					.subtitle = "2026-11-23T15:04:05Z +30s, 99 Hz, service=api & db" };
	const char *update = getenv("SMOLDER_UPDATE_GOLDEN");
	char *svg, *want;
	size_t want_len;
	bool same = false;
	FILE *f;

	(void)state;
	add(p, "python3", 4, "_start", "PyEval_EvalFrame:j", "[libfoo.so+0x1a2b]:u", NULL);
	add(p, "python3", 2, "_start", "PyEval_EvalFrame:j", "entry_SYSCALL_64:k", NULL);
	svg = render(p, &opts);

	if (update && !strcmp(update, "1")) {
		f = fopen(GOLDEN_SMALL, "w");
		assert_non_null(f);
		assert_int_equal(fputs(svg, f) >= 0, 1);
		assert_int_equal(fclose(f), 0);
		print_message("rewrote %s\n", GOLDEN_SMALL);
	}

	f = fopen(GOLDEN_SMALL, "r");
	if (f) {
		want = malloc(strlen(svg) + 2);
		assert_non_null(want);
		want_len = fread(want, 1, strlen(svg) + 1, f);
		fclose(f);
		same = want_len == strlen(svg) && !memcmp(want, svg, want_len);
		free(want);
	} else {
		print_error("cannot open %s: %s\n", GOLDEN_SMALL, strerror(errno));
	}
	free(svg);
	profile__free(p);
	if (!same)
		fail_msg("SVG differs from %s; if the change is intended, rerun with "
			 "SMOLDER_UPDATE_GOLDEN=1 and review the diff", GOLDEN_SMALL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_replaces_xml_specials),
		cmocka_unit_test(test_escape_replaces_invalid_utf8_and_controls),
		cmocka_unit_test(test_escape_cut_never_splits_an_entity),
		cmocka_unit_test(test_svg_titles_give_counts_and_percentages),
		cmocka_unit_test(test_svg_counts_use_thousands_separators_and_unit),
		cmocka_unit_test(test_svg_escapes_cpp_template_names),
		cmocka_unit_test(test_svg_title_and_subtitle_are_escaped),
		cmocka_unit_test(test_svg_kernel_frames_get_suffix_and_own_fill_band),
		cmocka_unit_test(test_svg_jit_frames_green_unknown_grey),
		cmocka_unit_test(test_svg_python_frames_get_suffix_and_blue_teal_fill),
		cmocka_unit_test(test_svg_colour_is_stable_across_graphs),
		cmocka_unit_test(test_svg_comm_is_the_frame_below_the_outermost),
		cmocka_unit_test(test_svg_sorts_siblings_by_name),
		cmocka_unit_test(test_svg_icicle_flips_y),
		cmocka_unit_test(test_svg_omits_narrow_frames_but_keeps_their_weight),
		cmocka_unit_test(test_svg_labels_fit_frame_width),
		cmocka_unit_test(test_svg_parses_as_xml),
		cmocka_unit_test(test_svg_empty_profile_says_no_samples),
		cmocka_unit_test(test_svg_write_error_returns_eio),
		cmocka_unit_test(test_svg_rejects_bad_arguments),
		cmocka_unit_test(test_svg_width_option_scales_frames),
		cmocka_unit_test(test_svg_has_controls_and_inline_script),
		cmocka_unit_test(test_svg_matches_golden_file),
		cmocka_unit_test(test_svg_names_printing_alike_keep_first_met_order),
		cmocka_unit_test(test_svg_streamed_folded_is_the_profiles),
		cmocka_unit_test(test_svg_streamed_graph_checks_samples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flamegraph.h - render a profile as a self-contained, interactive SVG flame graph.
 *
 * The SVG has the DOM flamegraph.pl emits (one <g> per frame holding <title>,
 * <rect fill=...> and <text>), inline CSS and JavaScript and nothing fetched from the
 * network: click to zoom, reset zoom, regex search with the matched percentage,
 * tooltips with sample counts and percentages. Frames are coloured by kind (user,
 * kernel, JIT, Python, unknown). Every string that reaches the SVG is escaped.
 *
 * Error contract: 0 on success or a negative errno.
 */
#ifndef SMOLDER_FLAMEGRAPH_H
#define SMOLDER_FLAMEGRAPH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "profile.h"

/* Colours of a differential graph (the change in a frame's share of the samples). */
enum flamegraph_palette {
	/* difffolded.pl's: red grew, blue shrank, near-white unchanged. Red and blue stay
	 * apart for red/green colour-blind readers too, but red reads dark to them. */
	FLAMEGRAPH_PALETTE_RED_BLUE = 0,
	/* Orange grew, blue shrank: the pair every common colour-vision deficiency keeps
	 * apart most clearly. */
	FLAMEGRAPH_PALETTE_BLUE_ORANGE,
};

struct flamegraph_opts {
	const char *title;    /* NULL: "Flame Graph" */
	const char *subtitle; /* NULL: none; e.g. time range, filters, rate. Each '\n'
				 starts another line */
	int width;            /* image width in px; 0: 1200 */
	bool icicle;          /* root at the top, stacks grow down */
	double min_width_px;  /* frames narrower than this are merged away; 0: 0.1 */
	const char *unit;     /* what a weight counts; NULL: "samples" */
	enum flamegraph_palette palette; /* differential graphs only */
};

/*
 * Write @p as an SVG flame graph to @out. Samples' comm becomes the frame below their
 * outermost frame when not empty (as flamegraph.pl shows folded input's first element).
 * An empty profile still gives a valid SVG that says there are no samples.
 * @return 0, or -EINVAL (NULL @p or @out; @opts->width negative or too small for the
 * margins; @opts->min_width_px negative or NaN), -ENOMEM, -EIO (writing or flushing
 * @out failed).
 */
int flamegraph__write_svg(const struct profile *p, const struct flamegraph_opts *opts,
			  FILE *out);

/*
 * A plain flame graph built from samples handed over one at a time, for input that is
 * never kept whole as a profile: profile__scan_folded() hands each line of a folded
 * file straight to it, which skips the profile's per-sample tables (the 1M-line bench
 * input renders in about half the time and memory). The SVG is the one
 * flamegraph__write_svg() writes for a profile holding the same samples, byte for
 * byte.
 */
struct flamegraph;

/*
 * A graph whose samples' frame ids are @names' (profile__frame_name() and
 * profile__frame_kind() name them). @names may gain frames while samples are added,
 * must not change while the graph is written, and must outlive the graph.
 * @return the graph, or NULL with errno set (EINVAL: NULL @names; ENOMEM).
 */
struct flamegraph *flamegraph__new(const struct profile *names);

/*
 * Add sample @s: its comm, frames and weight (the other fields are not used). Its
 * frames and comm are copied; @s need not outlive the call.
 * @return 0, or -EINVAL (a frame id @names does not have), -EOVERFLOW (the total
 * weight would wrap), -ENOMEM; on error the sample is not added.
 */
int flamegraph__add_sample(struct flamegraph *fg, const struct profile_sample *s);

/* The weights of the samples added, summed (what the root frame counts). */
uint64_t flamegraph__total_weight(const struct flamegraph *fg);

/*
 * Write the graph to @out as flamegraph__write_svg() does; may be called again.
 * @return as flamegraph__write_svg().
 */
int flamegraph__write(struct flamegraph *fg, const struct flamegraph_opts *opts, FILE *out);

void flamegraph__free(struct flamegraph *fg);

/*
 * Write a differential flame graph of @before -> @after to @out, with difffolded.pl's
 * semantics: frames are as wide as in @after; a frame's colour is the change in its
 * share of all samples (its weight, with everything it called, over its profile's
 * total: after% - before%), red (or orange) where it grew and blue where it shrank,
 * the intensity scaled to the largest change in the graph and near-white where
 * nothing changed. The <title> tooltips give both weights, both shares and the change
 * in percentage points. Frames only @before has are in the SVG too, zero-wide and
 * hidden: a button in the SVG ("Before shape") lays the graph out with @before's
 * widths, kept in each <rect>'s data-bx and data-bw attributes. A legend says what
 * the colours mean. @opts->title NULL gives "Differential Flame Graph".
 * @return as flamegraph__write_svg() (-EINVAL also for a NULL @before or a palette
 * out of range).
 */
int flamegraph__write_diff_svg(const struct profile *before, const struct profile *after,
			       const struct flamegraph_opts *opts, FILE *out);

/* ---- choosing windows (window.c) ---- */

struct flamegraph_window {
	uint64_t start_ns, end_ns; /* [start, end) */
	uint64_t weight;           /* the samples' weights in it */
};

/*
 * The window of @len_ns with the most sample weight (ties: the earliest) among @p's
 * samples with times in [@from_ns, @to_ns) (0: unbounded on that side, the samples'
 * own first or last time instead); it stays inside that range, and is the whole range
 * when that is no longer than @len_ns. Samples without a time (0) do not count.
 * @return 0 and *@out, or -EINVAL (@len_ns 0, an empty range), -ENODATA (no timed
 * sample in the range), -ENOMEM.
 */
int flamegraph__peak_window(const struct profile *p, uint64_t from_ns, uint64_t to_ns,
			    uint64_t len_ns, struct flamegraph_window *out);

struct flamegraph_warmup {
	uint64_t warmup_ns; /* the warm-up to skip: whole minutes from the deploy */
	bool settled;       /* false: no minute up to the cap passed; warmup_ns is the cap */
	double worst_tv;    /* settled: the largest distance in the window it chose */
	double first_tv;    /* without skipping anything: the largest distance found */
};

/*
 * Where a new version's profile settles after a deploy at @deploy_ns: the first whole
 * minute k (0 .. @cap_ns in minutes) such that, over the @window_ns after it, every
 * minute's distribution of self frames (each sample's innermost frame, by weight) is
 * within @threshold total variation, plus 1.5 times what sampling noise alone gives
 * for the minute's sample count, of the rest of that window. Minutes with fewer than
 * 30 samples are not judged, and at least two must be. @p holds the samples after
 * the deploy (those outside [deploy, deploy + cap + window) are ignored).
 * @return 0 and *@out, or -EINVAL (@window_ns under two minutes, @deploy_ns 0, a
 * negative or NaN @threshold), -ENOMEM.
 */
int flamegraph__warmup(const struct profile *p, uint64_t deploy_ns, uint64_t window_ns,
		       uint64_t cap_ns, double threshold, struct flamegraph_warmup *out);

/*
 * Escape @in for use in SVG text and attribute values (&, <, >, ", '), writing at most
 * @size bytes including the terminating NUL to @out. Invalid UTF-8 bytes are replaced
 * by '?', as are control characters other than tab (XML cannot carry them).
 * @return the length the full escaped string needs (excluding the NUL), like
 * snprintf, so a return value >= @size means it was cut (never inside an entity or a
 * UTF-8 character; nothing after the cut is written).
 */
size_t flamegraph__escape(const char *in, char *out, size_t size);

/* ---- timeline (timeline.c) ---- */

/* A deploy to mark on a timeline (store__for_each_deploy()'s events fit). */
struct timeline_deploy {
	uint64_t time_ns;
	const char *service;
	const char *version;
};

struct timeline_opts {
	const char *title;    /* NULL: "Timeline" */
	const char *subtitle; /* NULL: none; each '\n' starts another line */
	int width;            /* image width in px; 0: 1200 */
	/* The range drawn, [from_ns, to_ns); 0: the profile's own (profile__info(), widened
	 * to its samples' times) on that side. */
	uint64_t from_ns, to_ns;
	uint64_t bucket_ns;   /* width of one bar; 0: flamegraph__timeline_bucket() */
	size_t max_series;    /* services drawn on their own, the busiest; the rest are
				 stacked as one "other" series; 0: 8 */
	const struct timeline_deploy *deploys; /* marked where in the range; borrowed */
	size_t ndeploys;
};

/* Most bars a timeline draws (a bucket_ns that gives more is refused). */
#define TIMELINE_MAX_BUCKETS 5000

/*
 * The bar width for a timeline over @range_ns: the smallest of 1 s, 2 s, 5 s, 10 s,
 * 15 s, 30 s, 1 min, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1 day, 2 days, 1 week, and
 * then whole weeks, that cuts the range into at most 600 bars (a range of an hour
 * gets 10 s bars, a day 5 min bars).
 */
uint64_t flamegraph__timeline_bucket(uint64_t range_ns);

/*
 * Write @p as a timeline to @out: a self-contained SVG (inline CSS and script) of the
 * samples per second over time, one bar per bucket (bucket boundaries at whole
 * multiples of the bucket width since the epoch; a bar's rate is its weight over the
 * part of the bucket inside the range), stacked by the "service" label: the
 * @opts->max_series busiest services on their own, the others together as "other",
 * samples without a service as "(no service)". Each bar's <title> (its tooltip) says
 * its time range in UTC and its samples per series; each deploy in the range is a
 * vertical line with its version as a label and a <title> with service, version and
 * time. Lost samples (profile__counts()) are counted in red under the title, and where
 * the profile knows when (profile__lost_intervals(): a batch read from a store or
 * file) a red mark along the time axis under each bar they fall in, with a tooltip
 * "N samples lost", each batch's count spread over its bars in proportion to the
 * overlap (<g id="lostmarks">, data-t0, data-t1, data-n per mark; bars with lost samples
 * say so in their tooltip too). Samples without a time (0) or
 * outside the range are not drawn; a note counts them. A range with no samples still
 * gives a valid SVG that says so. The plot's <g id="plot"> carries data-from and
 * data-to (unix seconds), data-x0 and data-x1 (their x), and data-bucket (seconds).
 * Every string is escaped.
 * @return 0, or -EINVAL (NULL @p or @out; @opts->width negative or under 400; a range
 * with from >= to), -E2BIG (more than TIMELINE_MAX_BUCKETS bars), -ENOMEM, -EIO
 * (writing or flushing @out failed).
 */
int flamegraph__write_timeline_svg(const struct profile *p, const struct timeline_opts *opts,
				   FILE *out);

#endif /* SMOLDER_FLAMEGRAPH_H */

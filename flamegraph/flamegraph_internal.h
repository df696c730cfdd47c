/* SPDX-License-Identifier: Apache-2.0 */
/*
 * flamegraph_internal.h - pieces shared inside the flamegraph module only: the escaping
 * unit, the stack tree the SVG is laid out from, and the SVG's inline style and script.
 */
#ifndef SMOLDER_FLAMEGRAPH_INTERNAL_H
#define SMOLDER_FLAMEGRAPH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"
#include "vec.h"

/*
 * Escaping works one unit at a time: a unit is one character of the output text (an
 * ASCII byte, a whole valid UTF-8 sequence, an entity, or '?' for a byte that cannot
 * reach XML). Labels are cut in units so they never split an entity or a character,
 * and a unit is what the viewer's script counts as one character.
 *
 * fg_escape_unit() looks at the non-empty string @s and returns how many input bytes
 * the unit covers; *@text / *@len is the unit's output.
 */
size_t fg_escape_unit(const char *s, const char **text, size_t *len);

/*
 * The stack tree. Its nodes live in one open-addressing hash table keyed by (parent,
 * name): a node's id is its slot, so finding a child costs one probe and there is no
 * separate node array to keep in step. The table is sized once, from an upper bound on
 * the node count, because moving a node would change its id.
 */
#define FG_ROOT UINT32_MAX /* id of the root ("all"), which has no slot */

struct fg_node {
	uint32_t parent; /* FG_ROOT for the root's children */
	uint32_t name1;  /* index into stacktree.names, plus 1; 0 marks an empty slot */
	uint64_t weight; /* own weight plus all descendants' */
};

/* A distinct displayed name: frames with equal display names share one. */
struct fg_name {
	const char *text;     /* display name, e.g. "do_syscall_64_[k]"; owned when suffixed */
	const char *bare;     /* the frame name without the kind's suffix (colour hash) */
	enum frame_kind kind; /* comm and "all" count as FRAME_USER */
	uint64_t hash;
};

struct stacktree {
	struct fg_node *nodes; /* nodes_cap slots, mmap()ed */
	size_t nodes_cap, nnodes;
	uint64_t total;  /* the root's weight */
	uint32_t root_name;
	VEC(struct fg_name) names;
	uint32_t *name_slots; /* open addressing over names: index + 1, 0 empty */
	size_t name_slots_cap;
	/* A diff's baseline: its weight per node slot (nodes_cap of them, mmap()ed) and
	 * its total; NULL and 0 for a plain tree. */
	uint64_t *base;
	uint64_t base_total;
};

/*
 * Build the tree of @p's samples: root "all", then the sample's comm when not empty,
 * then its frames outermost first; equal paths merge and weights add up. The tree
 * borrows @p's strings: free it before @p.
 * @return 0, or -ENOMEM (also when the tree would outgrow 32-bit node ids), -EINVAL
 * for a frame id the profile does not know. On error @t is left freed.
 */
int stacktree__build(struct stacktree *t, const struct profile *p);
void stacktree__free(struct stacktree *t);

/*
 * The tree of two profiles for a differential graph: @p's weights in the nodes and
 * total as stacktree__build() gives them, @base's in t->base and t->base_total. A
 * path present in one profile only has weight 0 on the other side.
 * @return as stacktree__build().
 */
int stacktree__build_diff(struct stacktree *t, const struct profile *p,
			  const struct profile *base);
/* Swap the two sides of a diff tree, so stacktree__frames() lays out the baseline. */
void stacktree__swap_base(struct stacktree *t);

/* A frame to draw, in weight units: it starts @offset from the left edge. */
struct fg_frame {
	uint32_t node;   /* id, FG_ROOT for the root */
	uint32_t name;   /* index into stacktree.names */
	uint32_t depth;  /* 0 for the root */
	uint64_t offset; /* weight of everything left of it */
	uint64_t weight;
};

/*
 * The frames at least @min_weight heavy, parents before children and siblings left to
 * right in name order (bytewise, like sorted folded text). A lighter frame is left out
 * with its subtree, but its weight keeps its place, so the others do not move.
 * @return 0 and a malloc()ed array in *@out of *@n frames, or -ENOMEM.
 */
int stacktree__frames(const struct stacktree *t, double min_weight, struct fg_frame **out,
		      size_t *n);

/* One sample of a plain graph: its comm (an index into flamegraph.comms; NO_NAME in
 * stacktree.c: none), then its frames, outermost first. */
struct fg_seq {
	const uint32_t *frames;
	uint32_t nframes;
	uint32_t comm;
	uint64_t weight;
};

/*
 * The samples of a plain graph, gathered one at a time (flamegraph.h's struct
 * flamegraph): each sample's path, the distinct comms, and the order in which frames
 * and comms were first met, which numbers the names as stacktree__build() would.
 */
struct flamegraph {
	const struct profile *p; /* names the frames */
	bool borrow;             /* the samples' frames stay valid (they are @p's own):
				    kept as pointers, not copied */
	uint64_t total;
	VEC(struct fg_seq) seqs;
	VEC(char *) comms;       /* copies */
	uint32_t *comm_slots;    /* open addressing over comms: index + 1, 0 empty */
	size_t comm_slots_cap;
	uint32_t last_comm;
	VEC(uint64_t) order;     /* frame ids, and comms as 1 << 32 | index */
	uint8_t *seen;           /* frame id -> in order yet */
	size_t seen_len;
	struct frame_block *blocks; /* copied frames */
};

/* Add @s to @g. @return 0, or -EINVAL (a frame id @g->p does not know), -EOVERFLOW
 * (the total weight would wrap), -ENOMEM (then @s is not added). */
int fg_gather(struct flamegraph *g, const struct profile_sample *s);
void fg_gather_free(struct flamegraph *g);

/*
 * The frames of a plain graph of @g's samples, as stacktree__build() then
 * stacktree__frames() with min_weight = @min_width_px / (@full_px / total) give them
 * for a profile holding those samples (the same frames in the same order), but
 * without building the tree: see stacktree.c. *@t gets the names, the total and the
 * root's name, and no nodes; a frame's node is FG_ROOT for the root and 0 for the
 * others. @g->p must not change meanwhile; @g's samples are left sorted. Free *@t
 * (before @g and @g->p) and *@out afterwards.
 * @return 0 or -ENOMEM; on error *@t is left freed.
 */
int stacktree__plain_frames(struct stacktree *t, struct flamegraph *g, double full_px,
			    double min_width_px, struct fg_frame **out, size_t *n);

/* The SVG's inline CSS and JavaScript (svg_assets.c); contain no "]]>". */
extern const char fg_svg_style[];
extern const char fg_svg_diff_style[]; /* added for differential graphs */
extern const char fg_svg_script[];

#endif /* SMOLDER_FLAMEGRAPH_INTERNAL_H */

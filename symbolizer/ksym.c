/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ksym.c - kernel symbol names from the kernel itself, one address at a time, through
 * ksym.bpf.c: symbolizer__resolve_kernel's first choice, before /proc/kallsyms.
 * The collector caches every address it resolves, but only for one profile (an
 * interval, or 30 s of a spilled recording); the answers are cached here too, so a
 * long recording asks the kernel once per distinct function, not once per address
 * and interval: each ask is a system call (a BPF test run) that costs some 25 us
 * here. An answer gives the function's size too, so the function's other addresses
 * (its other call sites, on other stacks) are named from it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ksym.h"
#include "symbolizer_int.h"
#include "vec.h"
#include "ksym.skel.h"

/* Answers cached by address, direct-mapped; names and modules in an arena that starts
 * over (with the slots) when it reaches KSYM_ARENA_MAX. */
#define KSYM_CACHE_SLOTS 4096
#define KSYM_ARENA_MAX (1u << 20)

struct ksym_slot {
	uint64_t addr;   /* 0: empty */
	uint64_t offset;
	uint32_t name;   /* into the arena; UINT32_MAX: no symbol covers addr */
	uint32_t module; /* into the arena; UINT32_MAX: "[kernel]" */
};

/* A function the kernel named: its addresses [start, end). */
struct ksym_range {
	uint64_t start, end;
	uint32_t name, module; /* as in struct ksym_slot */
};

#define KSYM_RANGES_MAX 16384 /* functions kept; beyond them, addresses only */

struct ksym {
	struct ksym_bpf *skel;
	int prog_fd;
	char name[SMOLDER_KSYM_LEN];
	char module[64];
	struct ksym_slot *slots;
	VEC(struct ksym_range) ranges; /* sorted by start, not overlapping */
	char *arena;
	size_t arena_len;
	size_t arena_peak; /* written this far since the start: resident */
	uint64_t asks;
};

struct ksym *ksym__new(void)
{
	struct ksym *k = calloc(1, sizeof(*k));
	int err;

	if (!k) {
		errno = ENOMEM;
		return NULL;
	}
	k->skel = ksym_bpf__open_and_load();
	if (!k->skel) {
		err = errno;
		free(k);
		errno = err;
		return NULL;
	}
	k->prog_fd = bpf_program__fd(k->skel->progs.ksym_resolve);
	k->slots = calloc(KSYM_CACHE_SLOTS, sizeof(*k->slots));
	k->arena = malloc(KSYM_ARENA_MAX);
	if (!k->slots || !k->arena) {
		ksym__free(k);
		errno = ENOMEM;
		return NULL;
	}
	return k;
}

void ksym__free(struct ksym *k)
{
	if (!k)
		return;
	ksym_bpf__destroy(k->skel);
	free(k->slots);
	VEC_FREE(k->ranges);
	free(k->arena);
	free(k);
}

/* Copy @str into the arena. @return its offset, or UINT32_MAX when it is full. */
static uint32_t arena_add(struct ksym *k, const char *str)
{
	size_t len = strlen(str) + 1;
	uint32_t off = (uint32_t)k->arena_len;

	if (len > KSYM_ARENA_MAX - k->arena_len)
		return UINT32_MAX;
	memcpy(k->arena + off, str, len);
	k->arena_len += len;
	return off;
}

static int ask_kernel(struct ksym *k, uint64_t addr, const char **name, uint64_t *offset,
		      uint64_t *size, const char **module);

/* The index of the first range that ends after @addr (k->ranges.len: none). */
static size_t range_at(const struct ksym *k, uint64_t addr)
{
	size_t lo = 0, hi = k->ranges.len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->ranges.v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Remember the function [@start, @end) named by slot @s: only the kernel's own text,
 * which stays where it is while we run. A module's or a BPF program's ("[bpf]") may
 * be unloaded and its place given to other code, which must then not be named after
 * it (the address cache keeps such an answer for its one address only). */
static void range_add(struct ksym *k, uint64_t start, uint64_t end, const struct ksym_slot *s)
{
	size_t i = range_at(k, start);

	if (end <= start || s->name == UINT32_MAX || s->module != UINT32_MAX ||
	    k->ranges.len >= KSYM_RANGES_MAX ||
	    (i < k->ranges.len && k->ranges.v[i].start < end) ||
	    VEC_RESERVE(k->ranges, k->ranges.len + 1))
		return;
	memmove(&k->ranges.v[i + 1], &k->ranges.v[i],
		(k->ranges.len - i) * sizeof(k->ranges.v[0]));
	k->ranges.v[i] = (struct ksym_range){ start, end, s->name, s->module };
	k->ranges.len++;
}

int ksym__resolve(struct ksym *k, uint64_t addr, const char **name, uint64_t *offset,
		  const char **module)
{
	struct ksym_slot *slot = &k->slots[(addr * 0x9e3779b97f4a7c15ull) >> 52];
	uint64_t size = 0;
	size_t i;
	int err;

	if (!addr || slot->addr != addr) {
		i = range_at(k, addr);
		if (addr && i < k->ranges.len && k->ranges.v[i].start <= addr) {
			/* Another address of a function named before. */
			const struct ksym_range *r = &k->ranges.v[i];

			*slot = (struct ksym_slot){ .addr = addr, .offset = addr - r->start,
						    .name = r->name, .module = r->module };
		}
	}
	if (addr && slot->addr == addr) {
		if (slot->name == UINT32_MAX) {
			*name = *module = NULL;
			*offset = 0;
			return -ENOENT;
		}
		*name = k->arena + slot->name;
		*module = slot->module == UINT32_MAX ? "[kernel]" : k->arena + slot->module;
		*offset = slot->offset;
		return 0;
	}
	err = ask_kernel(k, addr, name, offset, &size, module);
	if (err && err != -ENOENT)
		return err; /* not an answer: asked again next time */
	if (k->arena_len > KSYM_ARENA_MAX - 2 * SMOLDER_KSYM_LEN) {
		/* Full: start over (the answers in hand point into k->name, k->module). */
		memset(k->slots, 0, KSYM_CACHE_SLOTS * sizeof(*k->slots));
		k->ranges.len = 0;
		k->arena_peak = k->arena_len;
		k->arena_len = 0;
	}
	*slot = (struct ksym_slot){ .addr = addr, .offset = *offset, .name = UINT32_MAX,
				    .module = UINT32_MAX };
	if (!err) {
		slot->name = arena_add(k, *name);
		if (*module == k->module)
			slot->module = arena_add(k, *module);
		if (size > *offset)
			range_add(k, addr - *offset, addr - *offset + size, slot);
	}
	return err;
}

uint64_t ksym__asks(const struct ksym *k)
{
	return k ? k->asks : 0;
}

size_t ksym__mem_bytes(const struct ksym *k)
{
	/* The arena's pages stay resident as far as it was ever written. */
	if (!k)
		return 0;
	return sizeof(*k) + KSYM_CACHE_SLOTS * sizeof(*k->slots) +
	       k->ranges.cap * sizeof(k->ranges.v[0]) +
	       (k->arena_len > k->arena_peak ? k->arena_len : k->arena_peak);
}

static int ask_kernel(struct ksym *k, uint64_t addr, const char **name, uint64_t *offset,
		      uint64_t *size, const char **module)
{
	k->asks++;
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	char *plus, *space, *end;

	*name = *module = NULL;
	*offset = *size = 0;
	k->skel->bss->addr = addr;
	k->skel->bss->ret = 0;
	if (bpf_prog_test_run_opts(k->prog_fd, &opts))
		return -errno;
	if (k->skel->bss->ret <= 0)
		return -ENOENT;
	memcpy(k->name, k->skel->bss->name, sizeof(k->name));
	k->name[sizeof(k->name) - 1] = '\0';
	/* "func+0x1c/0x80 [module]", or the bare address when no symbol covers it. */
	plus = strchr(k->name, '+');
	if (!plus || k->name[0] == '0')
		return -ENOENT;
	*plus = '\0';
	*offset = strtoull(plus + 1, &end, 16);
	if (*end == '/')
		*size = strtoull(end + 1, NULL, 16);
	space = strchr(plus + 1, ' ');
	if (space && space[1] == '[') {
		snprintf(k->module, sizeof(k->module), "%s", space + 1);
		*module = k->module;
	} else {
		*module = "[kernel]";
	}
	*name = k->name;
	return 0;
}

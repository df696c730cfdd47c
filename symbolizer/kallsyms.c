/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kallsyms.c - kernel text symbols from /proc/kallsyms, sorted for binary search.
 *
 * Kernel symbols carry no sizes, so a symbol covers the addresses up to the next one,
 * but never more than KSYM_MAX_SPAN (the gap after the kernel's text is not its code). Module symbols name their module ("[ext4]"); the core kernel is
 * "[kernel]". With kptr_restrict every address reads as zero: that is reported as
 * EPERM, as perf does, rather than resolving every address to the first symbol.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* qsort_r */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbolizer_int.h"

struct ksym {
	uint64_t addr;
	uint32_t name;   /* offset into strs */
	uint32_t module; /* offset into strs of "[mod]", or KSYM_KERNEL */
};

#define KSYM_KERNEL UINT32_MAX
#define KALLSYMS_MAX_BYTES (256u << 20) /* ~20x today's kallsyms; more is not a kernel */
#define KSYM_NAME_MAX 512               /* KSYM_NAME_LEN is 512 since 6.1 */
/* Without sizes a symbol would cover the gigabytes between the kernel's text and the
 * module area; no kernel function is anywhere near this long. */
#define KSYM_MAX_SPAN (1u << 20)

struct kallsyms {
	struct ksym *syms;
	size_t n;
	char *strs;
	size_t strs_len;
};

struct kbuilder {
	struct kallsyms *k;
	size_t cap, strs_cap;
	/* A module's symbols come in one run: intern module names by the last one seen. */
	bool have_mod;
	uint32_t last_mod;
	size_t last_mod_len;
};

static int kadd_string(struct kbuilder *b, const char *s, size_t len, uint32_t *off)
{
	struct kallsyms *k = b->k;

	if (k->strs_len + len + 1 >= UINT32_MAX)
		return -ENOMEM;
	if (k->strs_len + len + 1 > b->strs_cap) {
		size_t ncap = b->strs_cap ? b->strs_cap * 2 : 1 << 16;
		char *n;

		while (ncap < k->strs_len + len + 1)
			ncap *= 2;
		n = realloc(k->strs, ncap);
		if (!n)
			return -ENOMEM;
		k->strs = n;
		b->strs_cap = ncap;
	}
	memcpy(k->strs + k->strs_len, s, len);
	k->strs[k->strs_len + len] = '\0';
	*off = (uint32_t)k->strs_len;
	k->strs_len += len + 1;
	return 0;
}

static bool is_text_type(char t)
{
	return t == 't' || t == 'T' || t == 'w' || t == 'W';
}

/* Among aliases of one address prefer the name with fewer leading underscores, then the
 * shorter, then bytes: the same rule as for ELF symbols, and deterministic. */
static int ksym_rank_cmp(const struct kallsyms *k, const struct ksym *a, const struct ksym *b)
{
	const char *na = k->strs + a->name, *nb = k->strs + b->name;
	size_t ua = strspn(na, "_"), ub = strspn(nb, "_");
	size_t la, lb;

	if (ua != ub)
		return ua < ub ? -1 : 1;
	la = strlen(na);
	lb = strlen(nb);
	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(na, nb);
}

static int ksym_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct ksym *a = pa, *b = pb;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return ksym_rank_cmp(ctx, a, b);
}

/* One line: "ffffffff81000000 T _stext" or "... t name\t[module]". */
static int parse_line(struct kbuilder *b, const char *p, const char *end, bool *nonzero)
{
	const char *name, *name_end, *mod = NULL, *mod_end = NULL;
	uint64_t addr = 0;
	char type;
	struct ksym *ks;
	int err;

	if (!symbolizer__parse_hex(&p, end, &addr) || end - p < 4 || p[0] != ' ' || p[2] != ' ')
		return 0;
	type = p[1];
	if (!is_text_type(type))
		return 0;
	if (addr)
		*nonzero = true;
	name = p + 3;
	name_end = name;
	while (name_end < end && *name_end != '\t' && *name_end != ' ')
		name_end++;
	if (name_end == name || name_end - name > KSYM_NAME_MAX)
		return 0;
	if (name_end < end) {
		mod = name_end;
		while (mod < end && (*mod == '\t' || *mod == ' '))
			mod++;
		mod_end = end;
		while (mod_end > mod && (mod_end[-1] == ' ' || mod_end[-1] == '\r'))
			mod_end--;
		if (mod_end - mod < 3 || mod[0] != '[' || mod_end[-1] != ']' ||
		    mod_end - mod > KSYM_NAME_MAX)
			mod = NULL;
	}

	if (b->k->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 1 << 14;
		struct ksym *n = realloc(b->k->syms, ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->k->syms = n;
		b->cap = ncap;
	}
	ks = &b->k->syms[b->k->n];
	ks->addr = addr;
	ks->module = KSYM_KERNEL;
	if (mod) {
		size_t ml = (size_t)(mod_end - mod);

		if (b->have_mod && b->last_mod_len == ml &&
		    !memcmp(b->k->strs + b->last_mod, mod, ml)) {
			ks->module = b->last_mod;
		} else {
			err = kadd_string(b, mod, ml, &ks->module);
			if (err)
				return err;
			b->have_mod = true;
			b->last_mod = ks->module;
			b->last_mod_len = ml;
		}
	}
	err = kadd_string(b, name, (size_t)(name_end - name), &ks->name);
	if (err)
		return err;
	b->k->n++;
	return 0;
}

struct kallsyms *kallsyms__parse(const char *buf, size_t len)
{
	struct kbuilder b = { 0 };
	const char *p = buf, *end = buf + len;
	bool nonzero = false;
	size_t i, k;
	int err = 0;

	b.k = calloc(1, sizeof(*b.k));
	if (!b.k) {
		errno = ENOMEM;
		return NULL;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		err = parse_line(&b, p, le, &nonzero);
		if (err)
			goto cleanup;
		p = nl ? nl + 1 : end;
	}
	if (b.k->n && !nonzero) {
		err = -EPERM;
		goto cleanup;
	}
	/* Modules are listed after the core kernel in load order, not address order. */
	qsort_r(b.k->syms, b.k->n, sizeof(*b.k->syms), ksym_cmp, b.k);
	for (i = 0, k = 0; i < b.k->n; i++) {
		if (k && b.k->syms[k - 1].addr == b.k->syms[i].addr)
			continue; /* alias: the first is the preferred name */
		b.k->syms[k++] = b.k->syms[i];
	}
	b.k->n = k;

cleanup:
	if (err) {
		kallsyms__free(b.k);
		errno = -err;
		return NULL;
	}
	return b.k;
}

struct kallsyms *kallsyms__load(const char *path)
{
	struct kallsyms *k = NULL;
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	/* /proc files report size 0: read until EOF into a growing buffer. */
	for (;;) {
		ssize_t r;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 1 << 20;
			char *nb;

			if (cap >= KALLSYMS_MAX_BYTES)
				break;
			if (ncap > KALLSYMS_MAX_BYTES)
				ncap = KALLSYMS_MAX_BYTES;
			nb = realloc(buf, ncap);
			if (!nb) {
				err = -ENOMEM;
				goto cleanup;
			}
			buf = nb;
			cap = ncap;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto cleanup;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	k = kallsyms__parse(buf ? buf : "", len);
	if (!k)
		err = -errno;

cleanup:
	free(buf);
	close(fd);
	if (err) {
		errno = -err;
		return NULL;
	}
	return k;
}

void kallsyms__free(struct kallsyms *k)
{
	if (!k)
		return;
	free(k->syms);
	free(k->strs);
	free(k);
}

size_t kallsyms__count(const struct kallsyms *k)
{
	return k ? k->n : 0;
}

const char *kallsyms__lookup(const struct kallsyms *k, uint64_t addr, uint64_t *offset,
			     const char **module)
{
	size_t lo = 0, hi;
	const struct ksym *s;

	*module = NULL;
	if (!k || k->n == 0)
		return NULL;
	hi = k->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	s = &k->syms[lo - 1];
	if (addr - s->addr >= KSYM_MAX_SPAN)
		return NULL;
	*module = s->module == KSYM_KERNEL ? "[kernel]" : k->strs + s->module;
	if (offset)
		*offset = addr - s->addr;
	return k->strs + s->name;
}

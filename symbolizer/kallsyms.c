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

#include "file.h"
#include "symbolizer_int.h"
#include "vec.h"

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
	VEC(struct ksym) syms;
	VEC(char) strs; /* NUL-terminated names back to back */
};

struct kbuilder {
	struct kallsyms *k;
	/* A module's symbols come in one run: intern module names by the last one seen. */
	bool have_mod;
	uint32_t last_mod;
	size_t last_mod_len;
};

static int kadd_string(struct kbuilder *b, const char *s, size_t len, uint32_t *off)
{
	struct kallsyms *k = b->k;
	int err;

	if (k->strs.len + len + 1 >= UINT32_MAX)
		return -ENOMEM;
	*off = (uint32_t)k->strs.len;
	err = VEC_APPEND(k->strs, s, len);
	if (!err)
		err = VEC_PUSH(k->strs, '\0');
	return err;
}

static bool is_text_type(char t)
{
	return t == 't' || t == 'T' || t == 'w' || t == 'W';
}

/* Among aliases of one address prefer the name with fewer leading underscores, then the
 * shorter, then bytes: the same rule as for ELF symbols, and deterministic. */
static int ksym_rank_cmp(const struct kallsyms *k, const struct ksym *a, const struct ksym *b)
{
	const char *na = k->strs.v + a->name, *nb = k->strs.v + b->name;
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

	err = VEC_RESERVE(b->k->syms, b->k->syms.len + 1);
	if (err)
		return err;
	ks = &b->k->syms.v[b->k->syms.len];
	ks->addr = addr;
	ks->module = KSYM_KERNEL;
	if (mod) {
		size_t ml = (size_t)(mod_end - mod);

		if (b->have_mod && b->last_mod_len == ml &&
		    !memcmp(b->k->strs.v + b->last_mod, mod, ml)) {
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
	b->k->syms.len++;
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
	if (b.k->syms.len && !nonzero) {
		err = -EPERM;
		goto cleanup;
	}
	/* Modules are listed after the core kernel in load order, not address order. */
	qsort_r(b.k->syms.v, b.k->syms.len, sizeof(*b.k->syms.v), ksym_cmp, b.k);
	for (i = 0, k = 0; i < b.k->syms.len; i++) {
		if (k && b.k->syms.v[k - 1].addr == b.k->syms.v[i].addr)
			continue; /* alias: the first is the preferred name */
		b.k->syms.v[k++] = b.k->syms.v[i];
	}
	b.k->syms.len = k;

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
	unsigned char *buf = NULL;
	size_t len = 0;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	/* /proc files report size 0: read until EOF; past the bound, parse what came. */
	err = file_read_fd(fd, 1 << 20, KALLSYMS_MAX_BYTES, FILE_READ_TRUNCATE, &buf, &len);
	if (err)
		goto cleanup;
	k = kallsyms__parse((const char *)buf, len);
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
	VEC_FREE(k->syms);
	VEC_FREE(k->strs);
	free(k);
}

size_t kallsyms__count(const struct kallsyms *k)
{
	return k ? k->syms.len : 0;
}

size_t kallsyms__mem_bytes(const struct kallsyms *k)
{
	return k ? sizeof(*k) + k->syms.cap * sizeof(*k->syms.v) + k->strs.cap : 0;
}

const char *kallsyms__lookup(const struct kallsyms *k, uint64_t addr, uint64_t *offset,
			     const char **module)
{
	size_t lo = 0, hi;
	const struct ksym *s;

	*module = NULL;
	if (!k || k->syms.len == 0)
		return NULL;
	hi = k->syms.len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms.v[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	s = &k->syms.v[lo - 1];
	if (addr - s->addr >= KSYM_MAX_SPAN)
		return NULL;
	*module = s->module == KSYM_KERNEL ? "[kernel]" : k->strs.v + s->module;
	if (offset)
		*offset = addr - s->addr;
	return k->strs.v + s->name;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vdso.c - the vDSO's ELF image as a file, so the ELF cache can parse its symbols and
 * the unwinder can read its .eh_frame like any mapped library's.
 *
 * The vDSO is no file on disk: the kernel maps one image into every process. Every
 * 64-bit process on this kernel gets the same image as smolder (the kernel has one
 * 64-bit vDSO, patched once at boot), so smolder's own copy, found through
 * getauxval(AT_SYSINFO_EHDR), answers for them without touching the target. A vDSO of
 * another size (a 32-bit or x32 process's), or one mapped below 4 GiB (where only
 * 32-bit processes have theirs), is read from the target's /proc/PID/mem instead and
 * kept beside it. Each image lives in a sealed memfd; callers get a fresh read-only
 * descriptor of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cache_int.h"

/* Anything bigger is not a vDSO (x86-64's is two pages). */
#define VDSO_MAX_SIZE ((size_t)1 << 20)
/* A 64-bit process never has its vDSO below 4 GiB; a 32-bit one always does. */
#define VDSO_LOW_LIMIT (1ull << 32)

void vdso_cache__init(struct vdso_cache *v)
{
	memset(v, 0, sizeof(*v));
	v->own = -1;
	v->own_bid_len = -1;
}

void vdso_cache__release(struct vdso_cache *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->img[i].data);
		close(v->img[i].fd);
	}
	v->n = 0;
	v->own = -1;
	v->own_bid_len = -1;
}

/* Keep @data (@size bytes, taken over) as a new image. @return its index or -errno. */
static int add_image(struct vdso_cache *v, uint8_t *data, size_t size)
{
	int fd;

	if (v->n == VDSO_MAX_IMAGES) {
		free(data);
		return -ENOSPC;
	}
	fd = memfd_create("smolder-vdso", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		free(data);
		return -errno;
	}
	if (pwrite(fd, data, size, 0) != (ssize_t)size ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)) {
		close(fd);
		free(data);
		return -EIO;
	}
	v->img[v->n] = (struct vdso_image){ .data = data, .size = size, .fd = fd };
	return (int)v->n++;
}

/* Copy smolder's own vDSO, sized by its line in our maps. */
static void load_own(struct vdso_cache *v)
{
	uint64_t base = getauxval(AT_SYSINFO_EHDR);
	const struct proc_mapping *pm;
	struct proc_maps m;
	uint8_t *data;

	v->own_tried = true;
	if (!base || proc_maps__read(getpid(), &m) != 0)
		return;
	pm = proc_maps__find(&m, base);
	if (pm && pm->start == base && !strcmp(proc_mapping__path(&m, pm), "[vdso]") &&
	    pm->end - pm->start <= VDSO_MAX_SIZE) {
		data = malloc(pm->end - pm->start);
		if (data) {
			memcpy(data, (const void *)(uintptr_t)base, pm->end - pm->start);
			v->own = add_image(v, data, pm->end - pm->start);
		}
	}
	proc_maps__release(&m);
}

/* The image @pid has at [@start, @start + @size), read from its memory. */
static int read_target(struct vdso_cache *v, pid_t pid, uint64_t start, size_t size)
{
	char path[64];
	uint8_t *data;
	ssize_t r;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	data = malloc(size);
	if (!data) {
		close(fd);
		return -ENOMEM;
	}
	r = pread(fd, data, size, (off_t)start);
	close(fd);
	if (r != (ssize_t)size) {
		free(data);
		return r < 0 ? -errno : -EIO;
	}
	for (size_t i = 0; i < v->n; i++)
		if (v->img[i].size == size && !memcmp(v->img[i].data, data, size)) {
			free(data);
			return (int)i;
		}
	return add_image(v, data, size);
}

/* A read-only descriptor of image @i with a file offset of its own. */
static int reopen(const struct vdso_cache *v, int i)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", v->img[i].fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Whether a vDSO at [@start, @end) is smolder's own image (loading that first). */
static bool is_own(struct vdso_cache *v, uint64_t start, uint64_t end)
{
	if (!v->own_tried)
		load_own(v);
	return v->own >= 0 && v->img[v->own].size == end - start && start >= VDSO_LOW_LIMIT;
}

int vdso_cache__own_build_id(struct vdso_cache *v, uint64_t start, uint64_t end,
			     uint8_t *out, size_t cap)
{
	if (end <= start || end - start > VDSO_MAX_SIZE || !is_own(v, start, end))
		return 0;
	if (v->own_bid_len < 0) {
		int n = elf_read_build_id_fd(v->img[v->own].fd, v->own_bid, sizeof(v->own_bid));

		v->own_bid_len = n > 0 ? n : 0;
	}
	if ((size_t)v->own_bid_len > cap)
		return 0;
	memcpy(out, v->own_bid, (size_t)v->own_bid_len);
	return v->own_bid_len;
}

int vdso_cache__open(struct vdso_cache *v, pid_t pid, uint64_t start, uint64_t end)
{
	size_t size;
	int i;

	if (end <= start || end - start > VDSO_MAX_SIZE)
		return -ENOEXEC;
	size = (size_t)(end - start);
	if (is_own(v, start, end))
		return reopen(v, v->own);
	i = read_target(v, pid, start, size);
	return i < 0 ? i : reopen(v, i);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proc_maps.c - the executable mappings of a process, from /proc/PID/maps.
 *
 * Only executable mappings matter to a profiler: sampled instruction pointers and
 * return addresses point into code. Parsing is by hand rather than sscanf: a process
 * can have tens of thousands of mappings and this runs when a process is first seen and
 * after each dlopen. The parser is bounded by the buffer it is given and never trusts a
 * line to be well formed, so it can be fuzzed with arbitrary bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "file.h"
#include "symbolizer_int.h"
#include "vec.h"

static const char DELETED_SUFFIX[] = " (deleted)";
static const char ANON_NAME[] = "//anon";

bool symbolizer__parse_hex(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int digits = 0;

	for (; s < end; s++) {
		char ch = *s;
		unsigned d;

		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			break;
		if (++digits > 16)
			return false; /* more than 64 bits: not an address */
		v = (v << 4) | d;
	}
	if (!digits)
		return false;
	*p = s;
	*out = v;
	return true;
}

static bool parse_dec(const char **p, const char *end, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int digits = 0;

	while (s < end && *s >= '0' && *s <= '9' && digits < 20) {
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
		digits++;
	}
	if (!digits)
		return false;
	*p = s;
	*out = v;
	return true;
}

static bool expect(const char **p, const char *end, char ch)
{
	if (*p >= end || **p != ch)
		return false;
	(*p)++;
	return true;
}

/* What proc_maps__parse builds, handed over to struct proc_maps when it is done. */
struct builder {
	VEC(struct proc_mapping) maps;
	VEC(char) strs;
};

static int add_string(struct builder *b, const char *s, size_t len, uint32_t *off)
{
	int err;

	if (b->strs.len + len + 1 > UINT32_MAX)
		return -ENOMEM;
	*off = (uint32_t)b->strs.len;
	err = VEC_APPEND(b->strs, s, len);
	if (!err)
		err = VEC_PUSH(b->strs, '\0');
	return err;
}

/* Add mapping @pm with its name @path (@plen bytes, as the kernel prints it): a
 * " (deleted)" suffix is taken off, and the name says what kind of mapping it is. */
size_t proc_mapping__classify(struct proc_mapping *pm, const char *path, size_t plen)
{
	pm->deleted = 0;
	if (plen >= sizeof(DELETED_SUFFIX) - 1 &&
	    !memcmp(path + plen - (sizeof(DELETED_SUFFIX) - 1), DELETED_SUFFIX,
		    sizeof(DELETED_SUFFIX) - 1)) {
		plen -= sizeof(DELETED_SUFFIX) - 1;
		pm->deleted = 1;
	}
	/* perf names anonymous memory "//anon"; /proc/PID/maps, nothing. */
	if (plen == sizeof(ANON_NAME) - 1 && !memcmp(path, ANON_NAME, plen))
		plen = 0;
	if (plen == 0)
		pm->kind = PROC_MAPPING_ANON;
	else if (path[0] == '/')
		pm->kind = PROC_MAPPING_FILE;
	else
		pm->kind = PROC_MAPPING_PSEUDO;
	/* Paths are PATH_MAX at most; a longer one is corrupt input. */
	return plen > 4096 ? 4096 : plen;
}

static int add_mapping(struct builder *b, struct proc_mapping *pm, const char *path,
		       size_t plen)
{
	int err;

	plen = proc_mapping__classify(pm, path, plen);
	err = add_string(b, path, plen, &pm->path_off);
	return err ? err : VEC_PUSH(b->maps, *pm);
}

/* Parse one line [p, end) ("start-end perms offset major:minor inode   path").
 * @return 1 when it is an executable mapping (filled in @pm and @path/@path_len),
 * 0 when it is not or does not parse. */
static int parse_line(const char *p, const char *end, struct proc_mapping *pm,
		      const char **path, size_t *path_len)
{
	uint64_t start, stop, off, major, minor, inode;
	const char *perms;

	if (!symbolizer__parse_hex(&p, end, &start) || !expect(&p, end, '-') ||
	    !symbolizer__parse_hex(&p, end, &stop) || !expect(&p, end, ' '))
		return 0;
	if (end - p < 5)
		return 0;
	perms = p;
	p += 4;
	if (!expect(&p, end, ' ') || !symbolizer__parse_hex(&p, end, &off) || !expect(&p, end, ' ') ||
	    !symbolizer__parse_hex(&p, end, &major) || !expect(&p, end, ':') ||
	    !symbolizer__parse_hex(&p, end, &minor) || !expect(&p, end, ' ') ||
	    !parse_dec(&p, end, &inode))
		return 0;
	if (perms[2] != 'x' || stop <= start)
		return 0;
	/* The path is padded to a column; it may contain spaces, so it runs to the end. */
	while (p < end && *p == ' ')
		p++;
	pm->start = start;
	pm->end = stop;
	pm->pgoff = off;
	pm->dev = makedev((unsigned)(major & 0xfffff), (unsigned)(minor & 0xfffff));
	pm->inode = inode;
	pm->deleted = 0;
	*path = p;
	*path_len = (size_t)(end - p);
	return 1;
}

static int cmp_mapping(const void *pa, const void *pb)
{
	const struct proc_mapping *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return 0;
}

int proc_maps__parse(const char *buf, size_t len, struct proc_maps *out)
{
	struct builder b = { 0 };
	const char *p = buf, *end = buf + len;
	bool sorted = true;
	size_t i, k;
	int err = 0;

	memset(out, 0, sizeof(*out));
	while (p < end && b.maps.len < PROC_MAPS_MAX_MAPPINGS) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		struct proc_mapping pm;
		const char *path;
		size_t plen;

		if (parse_line(p, line_end, &pm, &path, &plen)) {
			if (b.maps.len && b.maps.v[b.maps.len - 1].start > pm.start)
				sorted = false;
			err = add_mapping(&b, &pm, path, plen);
			if (err)
				goto fail;
		}
		p = nl ? nl + 1 : end;
	}

	/* The kernel prints mappings in address order; other input may not be. */
	if (!sorted)
		qsort(b.maps.v, b.maps.len, sizeof(*b.maps.v), cmp_mapping);
	/* Binary search needs disjoint ranges: drop any mapping overlapping the previous. */
	for (i = 0, k = 0; i < b.maps.len; i++) {
		if (k && b.maps.v[i].start < b.maps.v[k - 1].end)
			continue;
		b.maps.v[k++] = b.maps.v[i];
	}
	out->maps = b.maps.v;
	out->n = k;
	out->strs = b.strs.v;
	out->strs_len = b.strs.len;
	return 0;

fail:
	VEC_FREE(b.maps);
	VEC_FREE(b.strs);
	return err;
}

/* Read and parse the maps file at @path. */
static int read_maps_file(const char *path, struct proc_maps *out)
{
	unsigned char *buf = NULL;
	size_t len = 0;
	int fd, err;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	/* Past the bound, parse what we have; the rest is beyond reason. */
	err = file_read_fd(fd, 16384, PROC_MAPS_MAX_BYTES, FILE_READ_TRUNCATE, &buf, &len);
	/* A process exiting while we read gives ESRCH-like errors. */
	if (err == -ENOENT)
		err = -ESRCH;
	if (!err)
		err = proc_maps__parse((const char *)buf, len, out);
	free(buf);
	close(fd);
	return err;
}

int proc_maps__read(pid_t pid, struct proc_maps *out)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	err = read_maps_file(path, out);
	if (err || out->n)
		return err;
	/* Empty: the main thread has exited (pthread_exit) while others run, and
	 * /proc/PID/maps shows the leader's released memory. Any live thread's view
	 * is the process's. Bounded: the first few threads are enough. */
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	for (int tried = 0; (de = readdir(dir)) && tried < 64;) {
		char tpath[128];
		struct proc_maps m;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		tried++;
		snprintf(tpath, sizeof(tpath), "/proc/%d/task/%.20s/maps", (int)pid, de->d_name);
		if (read_maps_file(tpath, &m) == 0 && m.n) {
			proc_maps__release(out);
			*out = m;
			break;
		}
		proc_maps__release(&m);
	}
	closedir(dir);
	return 0;
}

/*
 * PROCMAP_QUERY, from the kernel's include/uapi/linux/fs.h (Linux 6.11): Debian 12's
 * headers predate it. The struct is versioned by its size; this is the first one.
 */
struct smolder_procmap_query {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start, vma_end; /* out */
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	uint32_t vma_name_size; /* in: buffer size; out: name length + 1, 0: no name */
	uint32_t build_id_size; /* in: buffer size; out: build-id length, 0: none */
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};

#define SMOLDER_PROCMAP_QUERY _IOWR('f', 17, struct smolder_procmap_query)
#define PROCMAP_QUERY_VMA_EXECUTABLE 0x04
#define PROCMAP_QUERY_COVERING_OR_NEXT_VMA 0x10

/*
 * The kernel's gate area, [vsyscall] on x86-64: no VMA of the process, so no query
 * finds it, but the text lists it in every process where it is executable. Read once
 * from our own maps (it is the same everywhere); @return false when there is none.
 */
static struct proc_mapping gate;
static bool have_gate;
static pthread_once_t gate_once = PTHREAD_ONCE_INIT;

static void read_gate_area(void)
{
	struct proc_maps m;

	if (read_maps_file("/proc/self/maps", &m) != 0)
		return;
	for (size_t i = 0; i < m.n; i++)
		if (m.maps[i].kind == PROC_MAPPING_PSEUDO &&
		    !strcmp(proc_mapping__path(&m, &m.maps[i]), "[vsyscall]")) {
			gate = m.maps[i];
			have_gate = true;
		}
	proc_maps__release(&m);
}

int proc_maps__add_gate_area(struct proc_maps *m)
{
	static const char name[] = "[vsyscall]";
	struct proc_mapping *maps;
	struct proc_build_id *bids;
	char *strs;

	pthread_once(&gate_once, read_gate_area);
	if (!have_gate || (m->n && m->maps[m->n - 1].end > gate.start))
		return 0;
	maps = realloc(m->maps, (m->n + 1) * sizeof(*maps));
	if (!maps)
		return -ENOMEM;
	m->maps = maps;
	if (m->bids) {
		bids = realloc(m->bids, (m->n + 1) * sizeof(*bids));
		if (!bids)
			return -ENOMEM;
		m->bids = bids;
		memset(&m->bids[m->n], 0, sizeof(m->bids[m->n]));
	}
	strs = realloc(m->strs, m->strs_len + sizeof(name));
	if (!strs)
		return -ENOMEM;
	m->strs = strs;
	memcpy(m->strs + m->strs_len, name, sizeof(name));
	m->maps[m->n] = gate;
	m->maps[m->n].path_off = (uint32_t)m->strs_len;
	m->strs_len += sizeof(name);
	m->n++;
	return 0;
}

int proc_maps__query(pid_t pid, struct proc_maps *out)
{
	char path[64], name[4096 + sizeof(DELETED_SUFFIX)];
	VEC(struct proc_build_id) bids = { 0 };
	struct builder b = { 0 };
	uint64_t addr = 0;
	int fd, err = 0;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	/* Each answer is the executable mapping at or after @addr, in address order. */
	while (b.maps.len < PROC_MAPS_MAX_MAPPINGS) {
		struct smolder_procmap_query q = {
			.size = sizeof(q),
			.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA |
				       PROCMAP_QUERY_VMA_EXECUTABLE,
			.query_addr = addr,
			.vma_name_addr = (uintptr_t)name,
			.vma_name_size = sizeof(name),
		};
		struct proc_build_id bid = { 0 };
		struct proc_mapping pm = { 0 };

		q.build_id_addr = (uintptr_t)bid.id;
		q.build_id_size = sizeof(bid.id);
		if (ioctl(fd, SMOLDER_PROCMAP_QUERY, &q) != 0) {
			err = -errno;
			if (err == -ENOENT) /* none left */
				err = 0;
			else if (err == -EINVAL) /* an older kernel's procfs */
				err = -ENOTTY;
			break;
		}
		if (q.vma_end <= q.vma_start || q.vma_start < addr) {
			err = -EIO; /* not what the interface promises */
			break;
		}
		pm.start = q.vma_start;
		pm.end = q.vma_end;
		pm.pgoff = q.vma_offset;
		pm.dev = makedev(q.dev_major, q.dev_minor);
		pm.inode = q.inode;
		bid.len = (uint8_t)q.build_id_size;
		err = add_mapping(&b, &pm, name, q.vma_name_size ? q.vma_name_size - 1 : 0);
		if (!err)
			err = VEC_PUSH(bids, bid);
		if (err)
			break;
		addr = q.vma_end;
	}
	close(fd);
	if (err) {
		VEC_FREE(b.maps);
		VEC_FREE(b.strs);
		VEC_FREE(bids);
		/* No memory behind the file: the process is gone, or its leader has
		 * exited while other threads run, which proc_maps__read handles. */
		return err == -ESRCH ? proc_maps__read(pid, out) : err;
	}
	out->maps = b.maps.v;
	out->n = b.maps.len;
	out->strs = b.strs.v;
	out->strs_len = b.strs.len;
	/* An empty list still has a parallel (empty) build-id array. */
	out->bids = bids.v ? bids.v : calloc(1, sizeof(*out->bids));
	if (!out->bids || proc_maps__add_gate_area(out)) {
		proc_maps__release(out);
		return -ENOMEM;
	}
	return 0;
}

void proc_maps__release(struct proc_maps *m)
{
	if (!m)
		return;
	free(m->maps);
	free(m->strs);
	free(m->bids);
	memset(m, 0, sizeof(*m));
}

const struct proc_mapping *proc_maps__find(const struct proc_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || addr >= m->maps[lo - 1].end)
		return NULL;
	return &m->maps[lo - 1];
}

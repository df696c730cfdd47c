/* SPDX-License-Identifier: Apache-2.0 */
/*
 * debuginfo.c - where a stripped file's symbols are: separate debug files found by
 * build-id (DIR/.build-id/xx/rest.debug) or by .gnu_debuglink (same directory, .debug/,
 * DIR/<directory of the file>), the local debuginfod client cache, a debuginfod fetch
 * (only when asked for), and MiniDebugInfo (.gnu_debugdata, an xz-compressed ELF).
 *
 * Everything here reads untrusted bytes or names from a file: the xz decoder has a
 * memory limit and an output limit, debuglink names are refused if they could escape
 * the directory they are looked up in, and a debug file is only used after its
 * identity (build-id or CRC) has been checked by the caller.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <elfutils/debuginfod.h>

#include "file.h"
#include "symbolizer_int.h"

/* ---- CRC-32 as .gnu_debuglink uses it (the zlib/IEEE polynomial, reflected) ---- */

static uint32_t crc_table[256];
static bool crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
	crc_ready = true;
}

uint32_t debuginfo__crc32(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (!crc_ready)
		crc_init();
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

int debuginfo__crc32_fd(int fd, uint32_t *out)
{
	static const size_t chunk = 1 << 16;
	uint32_t crc = 0;
	off_t off = 0;
	char *buf = malloc(chunk);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r = pread(fd, buf, chunk, off);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		crc = debuginfo__crc32(crc, buf, (size_t)r);
		off += r;
	}
	free(buf);
	if (!err)
		*out = crc;
	return err;
}

/* ---- MiniDebugInfo ---- */

int debuginfo__xz_decode(const void *in, size_t in_len, void **out, size_t *out_len)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	size_t first = in_len * 4 < 65536 ? 65536 : in_len * 4, cap = 0;
	unsigned char *buf = NULL;
	lzma_ret ret;
	int err = 0;

	*out = NULL;
	*out_len = 0;
	if (in_len == 0)
		return -ENOEXEC;
	if (first > DEBUGINFO_XZ_MAX_OUT)
		first = DEBUGINFO_XZ_MAX_OUT;
	/* The memory limit bounds the decoder's dictionary, which the header chooses. */
	if (lzma_stream_decoder(&strm, DEBUGINFO_XZ_MEMLIMIT, 0) != LZMA_OK)
		return -ENOMEM;
	err = file_grow_bounded(&buf, &cap, first, DEBUGINFO_XZ_MAX_OUT);
	if (err)
		goto cleanup;
	strm.next_in = in;
	strm.avail_in = in_len;
	strm.next_out = buf;
	strm.avail_out = cap;
	for (;;) {
		ret = lzma_code(&strm, LZMA_FINISH);
		if (ret == LZMA_STREAM_END)
			break;
		if (ret != LZMA_OK && ret != LZMA_BUF_ERROR) {
			err = ret == LZMA_MEM_ERROR ? -ENOMEM : -ENOEXEC;
			goto cleanup;
		}
		if (strm.avail_out == 0) {
			size_t used = cap;

			err = file_grow_bounded(&buf, &cap, first, DEBUGINFO_XZ_MAX_OUT);
			if (err)
				goto cleanup;
			strm.next_out = buf + used;
			strm.avail_out = cap - used;
		} else if (ret == LZMA_BUF_ERROR || strm.avail_in == 0) {
			/* No progress possible: the stream is truncated. */
			err = -ENOEXEC;
			goto cleanup;
		}
	}
	*out_len = cap - strm.avail_out;
	*out = buf;
	buf = NULL;
cleanup:
	lzma_end(&strm);
	free(buf);
	return err;
}

/* ---- finding debug files ---- */

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Open @path under @root (NULL or "" for our own view) as a regular file. */
static int open_under(const char *root, const char *path, char *used, size_t used_len)
{
	char buf[DEBUGINFO_PATH_MAX];
	struct stat st;
	int fd;

	if ((size_t)snprintf(buf, sizeof(buf), "%s%s", root ? root : "", path) >= sizeof(buf))
		return -ENAMETOOLONG;
	fd = open(buf, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOEXEC;
	}
	if (used)
		snprintf(used, used_len, "%s", buf);
	return fd;
}

/* Try @path in the process's root first (its own debug packages), then in ours. */
static int open_roots(const struct debuginfo_opts *o, const char *path, char *used,
		      size_t used_len)
{
	int fd = -ENOENT;

	if (o->root && o->root[0]) {
		fd = open_under(o->root, path, used, used_len);
		if (fd >= 0)
			return fd;
	}
	return open_under(NULL, path, used, used_len);
}

static const char *const default_dirs[] = { "/usr/lib/debug" };

static size_t debug_dirs(const struct debuginfo_opts *o, const char *const **dirs)
{
	if (o->debug_dirs && o->ndebug_dirs) {
		*dirs = o->debug_dirs;
		return o->ndebug_dirs;
	}
	*dirs = default_dirs;
	return 1;
}

int debuginfo__find_by_build_id(const struct debuginfo_opts *o, const uint8_t *id, size_t len,
				char *used, size_t used_len)
{
	char h[2 * DEBUGINFO_BUILD_ID_MAX + 1], path[DEBUGINFO_PATH_MAX];
	const char *const *dirs;
	size_t n, i;
	int fd = -ENOENT;

	/* One byte of directory and at least one of name: shorter ids are not ids. */
	if (len < 2 || len > DEBUGINFO_BUILD_ID_MAX)
		return -ENOENT;
	hex(id, len, h);
	n = debug_dirs(o, &dirs);
	for (i = 0; i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", dirs[i], h,
				     h + 2) >= sizeof(path))
			continue;
		fd = open_roots(o, path, used, used_len);
		if (fd >= 0)
			return fd;
	}
	return fd;
}

int debuginfo__find_by_debuglink(const struct debuginfo_opts *o, const char *file_path,
				 const char *link, char *used, size_t used_len)
{
	char dir[DEBUGINFO_PATH_MAX], path[DEBUGINFO_PATH_MAX];
	const char *const *dirs;
	const char *slash;
	size_t n, i;
	int fd;

	/* The name is from the file: a path separator or a dot-dot could make us read
	 * any file as "debug info". */
	if (!link[0] || strchr(link, '/') || !strcmp(link, ".") || !strcmp(link, ".."))
		return -ENOENT;
	if (!file_path || file_path[0] != '/')
		return -ENOENT;
	slash = strrchr(file_path, '/');
	if ((size_t)(slash - file_path) >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, file_path, (size_t)(slash - file_path));
	dir[slash - file_path] = '\0';

	/* gdb's order: beside the file, in .debug/ beside it, then under each debug dir. */
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, link) < sizeof(path) &&
	    strcmp(path, file_path) != 0) {
		fd = open_roots(o, path, used, used_len);
		if (fd >= 0)
			return fd;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/.debug/%s", dir, link) < sizeof(path)) {
		fd = open_roots(o, path, used, used_len);
		if (fd >= 0)
			return fd;
	}
	n = debug_dirs(o, &dirs);
	for (i = 0; i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s%s/%s", dirs[i], dir, link) >=
		    sizeof(path))
			continue;
		fd = open_roots(o, path, used, used_len);
		if (fd >= 0)
			return fd;
	}
	return -ENOENT;
}

/* $DEBUGINFOD_CACHE_PATH, else $XDG_CACHE_HOME/debuginfod_client, else
 * ~/.cache/debuginfod_client: where libdebuginfod keeps what it fetched. */
static int debuginfod_cache_dir(char *out, size_t len)
{
	const char *env = getenv("DEBUGINFOD_CACHE_PATH");

	if (env && env[0])
		return (size_t)snprintf(out, len, "%s", env) < len ? 0 : -ENAMETOOLONG;
	env = getenv("XDG_CACHE_HOME");
	if (env && env[0])
		return (size_t)snprintf(out, len, "%s/debuginfod_client", env) < len ? 0
										 : -ENAMETOOLONG;
	env = getenv("HOME");
	if (env && env[0])
		return (size_t)snprintf(out, len, "%s/.cache/debuginfod_client", env) < len
			       ? 0
			       : -ENAMETOOLONG;
	return -ENOENT;
}

int debuginfo__find_in_debuginfod_cache(const uint8_t *id, size_t len, char *used,
					size_t used_len)
{
	char h[2 * DEBUGINFO_BUILD_ID_MAX + 1], dir[DEBUGINFO_PATH_MAX], path[DEBUGINFO_PATH_MAX];

	if (len < 2 || len > DEBUGINFO_BUILD_ID_MAX || debuginfod_cache_dir(dir, sizeof(dir)))
		return -ENOENT;
	hex(id, len, h);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s/debuginfo", dir, h) >= sizeof(path))
		return -ENAMETOOLONG;
	return open_under(NULL, path, used, used_len);
}

/*
 * libdebuginfod, loaded at the first fetch rather than linked: it pulls in its own
 * libcurl and TLS libraries, which every run paid for at start-up, fetch or not
 * (with the agent's libcurl, which curl_dl.c loads the same way: 21 libraries and
 * 3.5 MiB of RSS, docs/platform.md).
 */
static struct {
	debuginfod_client *(*begin)(void);
	void (*end)(debuginfod_client *c);
	int (*find_debuginfo)(debuginfod_client *c, const unsigned char *id, int len,
			      char **path);
	void (*set_user_data)(debuginfod_client *c, void *data);
	void *(*get_user_data)(debuginfod_client *c);
	void (*set_progressfn)(debuginfod_client *c, debuginfod_progressfn_t fn);
} dfd;
static bool dfd_loaded;
static pthread_once_t dfd_once = PTHREAD_ONCE_INIT;

static void dfd_load(void)
{
	void *h = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return;
	/* POSIX's way to turn dlsym's pointer into a function pointer. */
	*(void **)&dfd.begin = dlsym(h, "debuginfod_begin");
	*(void **)&dfd.end = dlsym(h, "debuginfod_end");
	*(void **)&dfd.find_debuginfo = dlsym(h, "debuginfod_find_debuginfo");
	*(void **)&dfd.set_user_data = dlsym(h, "debuginfod_set_user_data");
	*(void **)&dfd.get_user_data = dlsym(h, "debuginfod_get_user_data");
	*(void **)&dfd.set_progressfn = dlsym(h, "debuginfod_set_progressfn");
	dfd_loaded = dfd.begin && dfd.end && dfd.find_debuginfo && dfd.set_user_data &&
		     dfd.get_user_data && dfd.set_progressfn;
	if (!dfd_loaded)
		dlclose(h);
}

struct fetch_ctx {
	struct timespec deadline;
};

/* libdebuginfod calls this while it transfers; non-zero cancels the download. */
static int fetch_progress(debuginfod_client *c, long a, long b)
{
	struct fetch_ctx *ctx = dfd.get_user_data(c);
	struct timespec now;

	(void)a;
	(void)b;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > ctx->deadline.tv_sec ||
	       (now.tv_sec == ctx->deadline.tv_sec && now.tv_nsec >= ctx->deadline.tv_nsec);
}

int debuginfo__debuginfod_fetch(const uint8_t *id, size_t len, unsigned timeout_ms,
				char *used, size_t used_len)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	struct fetch_ctx ctx;
	debuginfod_client *c;
	char *path = NULL;
	int fd;

	if (!urls || !urls[0])
		return -ENOENT;
	if (len < 2 || len > DEBUGINFO_BUILD_ID_MAX)
		return -ENOENT;
	pthread_once(&dfd_once, dfd_load);
	if (!dfd_loaded)
		return -ENOSYS; /* libdebuginfod.so.1 is not installed */
	c = dfd.begin();
	if (!c)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &ctx.deadline);
	ctx.deadline.tv_sec += timeout_ms / 1000;
	ctx.deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ctx.deadline.tv_nsec >= 1000000000L) {
		ctx.deadline.tv_sec++;
		ctx.deadline.tv_nsec -= 1000000000L;
	}
	dfd.set_user_data(c, &ctx);
	dfd.set_progressfn(c, fetch_progress);
	/* The build-id is passed raw (len > 0): no hex parsing of our own input. */
	fd = dfd.find_debuginfo(c, id, (int)len, &path);
	dfd.end(c);
	if (fd >= 0 && used && path)
		snprintf(used, used_len, "%s", path);
	free(path);
	return fd >= 0 ? fd : (fd < 0 ? fd : -ENOENT);
}

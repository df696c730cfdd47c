/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jitmap.c - one process's JIT perf map (/tmp/perf-PID.map) as the symbolizer reads
 * it: found inside the process's mount namespace under the pid the process knows
 * itself by, checked for ownership, and re-read on a miss (rate limited) from where
 * the last read stopped, since JITs only ever append. perfmap.c parses the text.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_int.h"

/* A JIT map is re-read on a miss at most this often; misses are not cached, so new
 * code is named within this long of its first sample. */
#define JIT_RECHECK_NS (20ull * 1000 * 1000)
/* One re-read of a JIT map reads at most this much (the rest on the next miss). */
#define JIT_READ_CHUNK ((size_t)16 << 20)

/* NSpid (the pid the process knows itself by, which names its perf map) and uid. */
static void read_status(struct jitmap *j, pid_t pid)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	j->status_read = true;
	j->nspid = pid;
	j->uid = (uid_t)-1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1
									: NULL) {
		if (!strncmp(line, "Uid:", 4)) {
			j->uid = (uid_t)strtoul(line + 4, NULL, 10);
		} else if (!strncmp(line, "NSpid:", 6)) {
			/* "NSpid:\t4242\t7": the last one is the innermost namespace's. */
			char *end = strchr(line, '\n'), *q = line + 6;
			long last = 0;

			while (q && (!end || q < end)) {
				char *next;
				long v = strtol(q, &next, 10);

				if (next == q)
					break;
				last = v;
				q = next;
			}
			if (last > 0)
				j->nspid = (pid_t)last;
		}
	}
}

/* Open the perf map of @pid, inside its mount namespace, else at our /tmp (after it
 * exited). Only a regular file owned by the process's user or root is read: the
 * process chooses what its /tmp/perf-PID.map is, and must not make us read another
 * file (a symlink to a secret) into names. */
static int jit_open(struct jitmap *j, pid_t pid, struct stat *st)
{
	char path[96];
	int fd;

	if (!j->status_read)
		read_status(j, pid);
	snprintf(path, sizeof(path), "/proc/%d/root/tmp/perf-%d.map", (int)pid, (int)j->nspid);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && j->nspid == pid) {
		snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) ||
	    (st->st_uid != 0 && j->uid != (uid_t)-1 && st->st_uid != j->uid)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* Read what was appended to @pid's perf map since the last read. */
static void jit_refresh(struct jitmap *j, pid_t pid, bool *restarted)
{
	struct stat st;
	size_t want, consumed = 0;
	char *buf;
	ssize_t r;
	int fd;

	j->tried = true;
	fd = jit_open(j, pid, &st);
	if (fd < 0)
		return;
	if (j->m && ((uint64_t)st.st_ino != j->ino || (uint64_t)st.st_dev != j->dev ||
		     (uint64_t)st.st_size < j->off)) {
		/* Another file (the pid was reused) or truncated: start over. */
		perfmap__free(j->m);
		j->m = NULL;
		j->off = 0;
		*restarted = true;
	}
	if (!j->m) {
		j->m = perfmap__new();
		j->ino = (uint64_t)st.st_ino;
		j->dev = (uint64_t)st.st_dev;
		if (!j->m)
			goto out;
	}
	if ((uint64_t)st.st_size <= j->off)
		goto out;
	want = (uint64_t)st.st_size - j->off > JIT_READ_CHUNK ? JIT_READ_CHUNK
								: (size_t)((uint64_t)st.st_size - j->off);
	buf = malloc(want);
	if (!buf)
		goto out;
	r = pread(fd, buf, want, (off_t)j->off);
	if (r > 0) {
		perfmap__parse(j->m, buf, (size_t)r, &consumed);
		/* A full chunk without one newline is junk, not a line being written. */
		if (consumed == 0 && (size_t)r == JIT_READ_CHUNK)
			consumed = (size_t)r;
		j->off += consumed;
	}
	free(buf);
out:
	close(fd);
}

const char *jitmap__lookup(struct jitmap *j, pid_t pid, uint64_t addr, uint64_t *off,
			   bool *restarted)
{
	const char *name = NULL;
	uint64_t now;

	*restarted = false;
	if (j->m)
		name = perfmap__lookup(j->m, addr, off);
	if (name)
		return name;
	now = now_ns();
	if (j->tried && now < j->next_ns)
		return NULL;
	/* A big map (a JVM's) costs more to fold new lines into: check it less often. */
	j->next_ns = now + JIT_RECHECK_NS * (1 + perfmap__count(j->m) / 65536);
	jit_refresh(j, pid, restarted);
	return j->m ? perfmap__lookup(j->m, addr, off) : NULL;
}

void jitmap__release(struct jitmap *j)
{
	perfmap__free(j->m);
	j->m = NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * procfs.c - facts about processes and the machine from /proc and /sys, for the
 * samplers and the run loop (see procfs.h). Each answer is read when asked: nothing
 * here caches, so nothing here goes stale.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

ssize_t procfs_read(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[96];
	ssize_t n = 0, total = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	/* Files such as environ come in page-sized reads. */
	while ((size_t)total < size - 1 &&
	       (n = read(fd, buf + total, size - 1 - (size_t)total)) > 0)
		total += n;
	if (n < 0 && !total)
		total = errno == ESRCH ? -ESRCH : -errno;
	close(fd);
	if (total >= 0)
		buf[total] = '\0';
	return total;
}

/* The fields of /proc/PID/stat after comm, which may itself hold ") ". */
static char *stat_fields(char *stat, char *comm)
{
	char *lp = strchr(stat, '('), *rp = strrchr(stat, ')');

	if (!lp || !rp || rp < lp || rp[1] != ' ')
		return NULL;
	if (comm) {
		size_t len = (size_t)(rp - lp - 1);

		if (len > 15)
			len = 15;
		memcpy(comm, lp + 1, len);
		comm[len] = '\0';
	}
	return rp + 2;
}

bool procfs_process_alive(pid_t pid)
{
	char buf[4096]; /* "Threads:" is a thousand bytes into status */
	char *f;

	if (pid <= 0 || procfs_read(pid, "stat", buf, sizeof(buf)) <= 0)
		return false;
	f = stat_fields(buf, NULL);
	if (!f || *f == 'X' || *f == 'x')
		return false;
	if (*f != 'Z')
		return true;
	/* A zombie leader whose other threads still run (it called pthread_exit):
	 * the process is alive until its last thread exits. */
	if (procfs_read(pid, "status", buf, sizeof(buf)) <= 0)
		return false;
	char *threads = strstr(buf, "\nThreads:");
	return threads && atoi(threads + 9) > 1;
}

pid_t procfs_thread_group(pid_t tid)
{
	char buf[4096];
	char *tgid;

	if (tid <= 0 || procfs_read(tid, "status", buf, sizeof(buf)) <= 0)
		return 0;
	tgid = strstr(buf, "\nTgid:");
	return tgid ? (pid_t)atoi(tgid + 6) : 0;
}

int procfs_threads(pid_t pid, pid_t *tids, int max)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((de = readdir(dir)) && n < max) {
		long tid = strtol(de->d_name, NULL, 10);
		if (tid > 0)
			tids[n++] = (pid_t)tid;
	}
	closedir(dir);
	return n;
}

void procfs_each_process(int (*fn)(pid_t pid, void *ctx), void *ctx)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == (long)getpid())
			continue;
		if (fn((pid_t)pid, ctx))
			break;
	}
	closedir(d);
}

int procfs_children(pid_t pid, pid_t *pids, int max)
{
	pid_t tids[256];
	char name[64], buf[4096];
	int nt = procfs_threads(pid, tids, 256), n = 0;

	if (nt < 0)
		return nt;
	/* /proc/PID/task/TID/children lists the children each thread created. */
	for (int i = 0; i < nt && n < max; i++) {
		snprintf(name, sizeof(name), "task/%d/children", tids[i]);
		if (procfs_read(pid, name, buf, sizeof(buf)) <= 0)
			continue;
		for (char *p = buf, *end; n < max; p = end) {
			long c = strtol(p, &end, 10);
			if (end == p)
				break;
			if (c > 0)
				pids[n++] = (pid_t)c;
		}
	}
	return n;
}

int procfs_cpu_ticks(pid_t pid, uint64_t *ticks, char *comm)
{
	char buf[1024];
	unsigned long long utime, stime;
	ssize_t len = procfs_read(pid, "stat", buf, sizeof(buf));
	char *f;

	if (len < 0)
		return (int)len;
	f = stat_fields(buf, comm);
	/* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
	 * utime stime: utime is the 12th field after comm. */
	if (!f || sscanf(f, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &utime, &stime) != 2)
		return -EINVAL;
	*ticks = utime + stime;
	return 0;
}

int procfs_online_cpus(int *cpus, int max)
{
	char buf[4096];
	int n = 0;
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	for (char *save, *tok = strtok_r(buf, ",\n", &save); tok;
	     tok = strtok_r(NULL, ",\n", &save)) {
		int lo, hi;
		if (sscanf(tok, "%d-%d", &lo, &hi) != 2)
			hi = lo = atoi(tok);
		for (int c = lo; c <= hi && n < max; c++)
			cpus[n++] = c;
	}
	return n ? n : -EIO;
}

long procfs_kernel_sysctl(const char *name, long def)
{
	char path[128], buf[32];
	long v = def;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	f = fopen(path, "re");
	if (!f)
		return def;
	if (fgets(buf, sizeof(buf), f))
		v = strtol(buf, NULL, 10);
	fclose(f);
	return v;
}

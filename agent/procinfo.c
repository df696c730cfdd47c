/* SPDX-License-Identifier: Apache-2.0 */
/*
 * procinfo.c - who a process is, for the labels every sample carries: executable,
 * cgroup, container and pod from the cgroup path, systemd unit, and the service
 * name (SMOLDER_SERVICE from its environment, else the container, else the systemd
 * .service unit, else the executable's name). Read once per process and cached
 * (bounded, LRU), because the process may be gone by the time its samples are read.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "list.h"
#include "procfs.h"

#define DEFAULT_MAX_PROCESSES 4096
#define ENVIRON_MAX (256u << 10) /* only this much of an environment is searched */

struct procinfo_entry {
	struct process_info info;
	struct list_node lru;
	struct procinfo_entry *hnext;
};

struct procinfo {
	struct procinfo_entry **buckets;
	size_t mask, n, max;
	struct list_node lru; /* most recent first */
};

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

void procinfo__parse_cgroup(const char *path, struct process_info *info)
{
	const char *p = path;

	snprintf(info->cgroup, sizeof(info->cgroup), "%.511s", path);
	info->container_id[0] = info->pod_uid[0] = info->unit[0] = '\0';
	/* Walk the components; later (deeper) ones win. */
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *pod;

		/* A container ID is 64 hex digits, alone (cgroupfs driver) or in a
		 * scope such as docker-<id>.scope, cri-containerd-<id>.scope,
		 * crio-<id>.scope, libpod-<id>.scope. */
		for (size_t i = 0; i + 64 <= len; i++) {
			if ((i == 0 || p[i - 1] == '-') && all_hex(p + i, 64) &&
			    (i + 64 == len || p[i + 64] == '.')) {
				snprintf(info->container_id, sizeof(info->container_id), "%.64s",
					 p + i);
				break;
			}
		}
		/* Kubernetes pods: "pod<uid>" (cgroupfs) or "...-pod<uid_with_underscores>.slice". */
		for (pod = p; (pod = memmem(pod, len - (size_t)(pod - p), "pod", 3)); pod += 3) {
			const char *u = pod + 3;
			size_t n = 0;

			if (pod != p && pod[-1] != '-')
				continue;
			while (u + n < p + len && u[n] != '.' && n < sizeof(info->pod_uid) - 1)
				n++;
			if (n == 36) {
				for (size_t i = 0; i < n; i++)
					info->pod_uid[i] = u[i] == '_' ? '-' : u[i];
				info->pod_uid[n] = '\0';
				break;
			}
		}
		if (len > 8 && !memcmp(p + len - 8, ".service", 8) &&
		    len < sizeof(info->unit))
			snprintf(info->unit, sizeof(info->unit), "%.*s", (int)len, p);
		if (!end)
			break;
		p = end + 1;
	}
}

/* The value of @name in a NUL-separated environment block, or NULL. */
static const char *env_lookup(const char *env, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = env, *end = env + len;

	while (p < end) {
		size_t l = strnlen(p, (size_t)(end - p));
		if (l > nlen && !memcmp(p, name, nlen) && p[nlen] == '=')
			return p + nlen + 1;
		p += l + 1;
	}
	return NULL;
}

static void read_info(pid_t pid, struct process_info *info)
{
	char path[64], buf[4096];
	char *env = NULL;
	ssize_t n;

	memset(info, 0, sizeof(*info));
	info->pid = pid;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, info->exe, sizeof(info->exe) - 1);
	if (n > 0)
		info->exe[n] = '\0';
	else
		info->exe[0] = '\0';
	/* Through the link, which opens the very file the process runs (in its mount
	 * namespace, and even if it was deleted or replaced on disk). */
	symbolizer__read_build_id(path, info->build_id, sizeof(info->build_id));

	/* cgroup v2: the "0::" line; on v1 hosts use the systemd (name=systemd) or
	 * the first line, which carries the same path layout. */
	if (procfs_read(pid, "cgroup", buf, sizeof(buf)) > 0) {
		char *line = buf, *best = NULL;
		for (char *nl; line && *line; line = nl) {
			nl = strchr(line, '\n');
			if (nl)
				*nl++ = '\0';
			char *colon = strchr(line, ':');
			char *colon2 = colon ? strchr(colon + 1, ':') : NULL;
			if (!colon2)
				continue;
			if (!strncmp(line, "0::", 3) || strstr(line, ":name=systemd:") || !best)
				best = colon2 + 1;
			if (!strncmp(line, "0::", 3))
				break;
		}
		if (best)
			procinfo__parse_cgroup(best, info);
	}

	env = malloc(ENVIRON_MAX);
	if (env && (n = procfs_read(pid, "environ", env, ENVIRON_MAX)) > 0) {
		const char *svc = env_lookup(env, (size_t)n, "SMOLDER_SERVICE");
		if (svc && *svc)
			snprintf(info->service, sizeof(info->service), "%.255s", svc);
	}
	free(env);

	if (!info->service[0] && info->container_id[0])
		snprintf(info->service, sizeof(info->service), "%.12s", info->container_id);
	if (!info->service[0] && info->unit[0])
		snprintf(info->service, sizeof(info->service), "%.*s",
			 (int)(strlen(info->unit) - 8), info->unit);
	if (!info->service[0]) {
		const char *base = strrchr(info->exe, '/');
		if (base && base[1])
			snprintf(info->service, sizeof(info->service), "%.255s", base + 1);
		else {
			if (procfs_read(pid, "comm", buf, sizeof(buf)) > 0) {
				buf[strcspn(buf, "\n")] = '\0';
				snprintf(info->service, sizeof(info->service), "%.255s", buf);
			}
		}
	}
}

struct procinfo *procinfo__new(size_t max_processes)
{
	struct procinfo *pi = calloc(1, sizeof(*pi));
	size_t nb = 64;

	if (!pi)
		goto nomem;
	pi->max = max_processes ? max_processes : DEFAULT_MAX_PROCESSES;
	while (nb < pi->max)
		nb *= 2;
	pi->buckets = calloc(nb, sizeof(*pi->buckets));
	if (!pi->buckets)
		goto nomem;
	pi->mask = nb - 1;
	list_init(&pi->lru);
	return pi;
nomem:
	if (pi)
		free(pi->buckets);
	free(pi);
	errno = ENOMEM;
	return NULL;
}

static void hash_remove(struct procinfo *pi, struct procinfo_entry *e)
{
	struct procinfo_entry **pp = &pi->buckets[(uint32_t)e->info.pid & pi->mask];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
}

const struct process_info *procinfo__get(struct procinfo *pi, pid_t pid)
{
	struct procinfo_entry *e;

	for (e = pi->buckets[(uint32_t)pid & pi->mask]; e; e = e->hnext)
		if (e->info.pid == pid) {
			list_move_front(&pi->lru, &e->lru);
			return &e->info;
		}
	if (pi->n >= pi->max) {
		e = container_of(list_last(&pi->lru), struct procinfo_entry, lru);
		list_del(&e->lru);
		hash_remove(pi, e);
		pi->n--;
	} else {
		e = malloc(sizeof(*e));
		if (!e)
			return NULL;
	}
	read_info(pid, &e->info);
	e->hnext = pi->buckets[(uint32_t)pid & pi->mask];
	pi->buckets[(uint32_t)pid & pi->mask] = e;
	list_add_front(&pi->lru, &e->lru);
	pi->n++;
	return &e->info;
}

void procinfo__forget(struct procinfo *pi, pid_t pid)
{
	for (struct procinfo_entry *e = pi->buckets[(uint32_t)pid & pi->mask]; e; e = e->hnext)
		if (e->info.pid == pid) {
			list_del(&e->lru);
			hash_remove(pi, e);
			free(e);
			pi->n--;
			return;
		}
}

void procinfo__free(struct procinfo *pi)
{
	if (!pi)
		return;
	struct list_node *pos, *tmp;

	list_for_each_safe(pos, tmp, &pi->lru)
		free(container_of(pos, struct procinfo_entry, lru));
	free(pi->buckets);
	free(pi);
}

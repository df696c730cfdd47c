/* SPDX-License-Identifier: Apache-2.0 */
/*
 * procinfo.c - who a process is, for the labels every sample carries: executable,
 * cgroup, container and pod from the cgroup path, systemd unit, and the service
 * name (SMOLDER_SERVICE from its environment, else the container, else the systemd
 * .service unit, else the executable's name). Read from /proc while the process
 * lives, or, for a process that is already gone, from what the kernel said at its
 * exec (the file it ran and its cgroup id). The registry keeps what is read.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "agent.h"
#include "procfs.h"

#define ENVIRON_MAX (256u << 10) /* only this much of an environment is searched */
#define CGROUP_ROOT "/sys/fs/cgroup"
#define CGROUP_WALK_MAX 65536 /* directories looked at per search for a cgroup id */
#define BUILD_ID_CACHE 256     /* executables whose build-id is remembered */
#define CGROUP_CACHE 64        /* cgroup ids whose path is remembered */

/*
 * Build-ids of executables by file identity: a busy machine execs the same few
 * programs (sh, true, sleep) thousands of times a minute, and opening and parsing
 * each one's notes was a tenth of the agent's CPU. Keyed by device, inode, size and
 * modification time, so a file rewritten in place is read again. Direct-mapped.
 */
static struct build_id_entry {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char hex[2 * SYMBOLIZER_BUILD_ID_MAX + 1];
} build_ids[BUILD_ID_CACHE];
static pthread_mutex_t build_ids_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t build_id_reads; /* under build_ids_lock */

static bool same_file(const struct build_id_entry *e, const struct stat *st)
{
	return e->ino == st->st_ino && e->dev == st->st_dev && e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static struct build_id_entry *build_id_slot(const struct stat *st)
{
	return &build_ids[(st->st_ino ^ st->st_dev * 0x9e3779b97f4a7c15ull) % BUILD_ID_CACHE];
}

uint64_t procinfo__build_id_reads(void)
{
	uint64_t n;

	pthread_mutex_lock(&build_ids_lock);
	n = build_id_reads;
	pthread_mutex_unlock(&build_ids_lock);
	return n;
}

/* The cached build-id of the file @st describes into @hex (may be NULL to only ask).
 * @return whether it was cached. */
static bool cached_build_id(const struct stat *st, char *hex, size_t len)
{
	const struct build_id_entry *e = build_id_slot(st);
	bool hit;

	pthread_mutex_lock(&build_ids_lock);
	hit = same_file(e, st);
	if (hit && hex)
		snprintf(hex, len, "%s", e->hex);
	pthread_mutex_unlock(&build_ids_lock);
	return hit;
}

bool procinfo__build_id_cached(const struct stat *st)
{
	return cached_build_id(st, NULL, 0);
}

/* The build-id of the file at @path, which stat says is @st (NULL: unknown). */
static void read_build_id(const char *path, const struct stat *st, char *hex, size_t len)
{
	struct build_id_entry *e;

	if (!st || !st->st_ino) {
		symbolizer__read_build_id(path, hex, len);
		pthread_mutex_lock(&build_ids_lock);
		build_id_reads++;
		pthread_mutex_unlock(&build_ids_lock);
		return;
	}
	if (cached_build_id(st, hex, len))
		return;
	symbolizer__read_build_id(path, hex, len);
	e = build_id_slot(st);
	pthread_mutex_lock(&build_ids_lock);
	build_id_reads++;
	*e = (struct build_id_entry){ .dev = st->st_dev, .ino = st->st_ino,
				      .size = st->st_size, .mtime = st->st_mtim };
	snprintf(e->hex, sizeof(e->hex), "%s", hex);
	pthread_mutex_unlock(&build_ids_lock);
}

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

/* The variables of an environment that name a service and version. */
enum { ENV_SERVICE, ENV_VERSION, ENV_OTEL_NAME, ENV_OTEL_ATTRS, ENV_NVARS };

static const struct {
	const char *name;
	size_t len;
} env_vars[ENV_NVARS] = {
#define ENV_VAR(name) { name, sizeof(name) - 1 }
	[ENV_SERVICE] = ENV_VAR("SMOLDER_SERVICE"),
	[ENV_VERSION] = ENV_VAR("SMOLDER_VERSION"),
	[ENV_OTEL_NAME] = ENV_VAR("OTEL_SERVICE_NAME"),
	[ENV_OTEL_ATTRS] = ENV_VAR("OTEL_RESOURCE_ATTRIBUTES"),
#undef ENV_VAR
};

/*
 * The values of env_vars in a NUL-separated environment block (@len bytes) into
 * @val, NULL for those absent; the first of a name wins, and a last variable with
 * no NUL before the end of the block does not count. One pass: an exec's
 * environment is scanned for every exec of the machine.
 */
static void env_scan(const char *env, size_t len, const char *val[ENV_NVARS])
{
	const char *p = env, *end = env + len;

	for (int k = 0; k < ENV_NVARS; k++)
		val[k] = NULL;
	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		size_t l;

		if (!nul)
			break; /* cut off: its value would run past the block */
		l = (size_t)(nul - p);
		for (int k = 0; k < ENV_NVARS; k++) {
			size_t n = env_vars[k].len;

			if (!val[k] && l > n && p[n] == '=' && !memcmp(p, env_vars[k].name, n))
				val[k] = p + n + 1;
		}
		p += l + 1;
	}
}

/*
 * The value of @key in an OpenTelemetry resource attribute list @attrs
 * ("k1=v1,k2=v2", values percent-encoded as the OTel spec says) into @buf; false when
 * absent or empty.
 */
static bool otel_attribute(const char *attrs, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);

	for (const char *p = attrs, *next; p; p = next ? next + 1 : NULL) {
		next = strchr(p, ',');
		while (*p == ' ')
			p++;
		if (strncmp(p, key, klen) || p[klen] != '=')
			continue;
		size_t o = 0;
		for (const char *v = p + klen + 1; *v && *v != ',' && o + 1 < len; v++) {
			unsigned int c;

			if (*v == '%' && isxdigit((unsigned char)v[1]) &&
			    isxdigit((unsigned char)v[2]) && sscanf(v + 1, "%2x", &c) == 1) {
				buf[o++] = (char)c;
				v += 2;
			} else {
				buf[o++] = *v;
			}
		}
		while (o && buf[o - 1] == ' ')
			o--;
		buf[o] = '\0';
		return o > 0;
	}
	return false;
}

/*
 * What the process's environment says of its service and version: SMOLDER_SERVICE
 * and SMOLDER_VERSION first, then OpenTelemetry's OTEL_SERVICE_NAME and the
 * service.name / service.version of OTEL_RESOURCE_ATTRIBUTES, which services
 * instrumented with OTel already set.
 */
static void service_from_env(const char *env, size_t len, char service[SERVICE_LEN],
			     char version[VERSION_LEN])
{
	const char *val[ENV_NVARS];
	const char *svc, *ver, *attrs;

	env_scan(env, len, val);
	svc = val[ENV_SERVICE];
	ver = val[ENV_VERSION];
	attrs = val[ENV_OTEL_ATTRS];
	if (!svc || !*svc)
		svc = val[ENV_OTEL_NAME];
	if (svc && *svc)
		snprintf(service, SERVICE_LEN, "%.*s", SERVICE_LEN - 1, svc);
	else if (attrs)
		otel_attribute(attrs, "service.name", service, SERVICE_LEN);
	if (ver && *ver)
		snprintf(version, VERSION_LEN, "%.*s", VERSION_LEN - 1, ver);
	else if (attrs)
		otel_attribute(attrs, "service.version", version, VERSION_LEN);
}

/* The service, when SMOLDER_SERVICE did not name it: the container, else the
 * systemd unit, else the executable's name, else @comm. */
static void default_service(struct process_info *info, const char *comm)
{
	const char *base = strrchr(info->exe, '/');

	if (info->service[0])
		return;
	if (info->container_id[0])
		snprintf(info->service, sizeof(info->service), "%.12s", info->container_id);
	else if (info->unit[0])
		snprintf(info->service, sizeof(info->service), "%.*s",
			 (int)(strlen(info->unit) - 8), info->unit);
	else if (base && base[1])
		snprintf(info->service, sizeof(info->service), "%.255s", base + 1);
	else if (comm)
		snprintf(info->service, sizeof(info->service), "%.255s", comm);
}

/* Whether @pid is a kernel thread: PF_KTHREAD in the flags of /proc/PID/stat. */
static bool is_kernel_thread(pid_t pid)
{
	char buf[1024], *p;
	unsigned long flags;

	if (procfs_read(pid, "stat", buf, sizeof(buf)) <= 0 || !(p = strrchr(buf, ')')))
		return false;
	/* After "pid (comm)": state ppid pgrp session tty_nr tpgid flags. */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return false;
	return flags & 0x00200000; /* PF_KTHREAD */
}

uint32_t procinfo__kernel_dev(dev_t dev)
{
	return (uint32_t)(major(dev) << 20 | minor(dev));
}

static __thread char *env_buf; /* ENVIRON_MAX bytes, once per thread */

void procinfo__env_labels(const char *env, size_t len, struct env_labels *out)
{
	memset(out, 0, sizeof(*out));
	service_from_env(env, len, out->service, out->version);
	out->known = true;
}

/* The service and version @pid's environment names (service_from_env), or those of
 * @env when it knows them. @return 0, or a negative errno when the environment could
 * not be read. */
static int read_service(pid_t pid, const struct env_labels *env, struct process_info *info)
{
	ssize_t n;

	if (env && env->known) {
		memcpy(info->service, env->service, sizeof(info->service));
		memcpy(info->version, env->version, sizeof(info->version));
		return 0;
	}

	/* One buffer per thread, kept: a fresh 256 KiB per exec was an mmap, page
	 * faults and an munmap each time. */
	if (!env_buf)
		env_buf = malloc(ENVIRON_MAX);
	if (!env_buf)
		return -ENOMEM;
	n = procfs_read(pid, "environ", env_buf, ENVIRON_MAX);
	if (n > 0)
		service_from_env(env_buf, (size_t)n, info->service, info->version);
	return n < 0 ? (int)n : 0;
}

int procinfo__read(pid_t pid, const struct env_labels *env, struct process_info *info)
{
	struct stat st;
	char path[64], buf[4096];
	ssize_t n;

	memset(info, 0, sizeof(*info));
	info->pid = pid;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, info->exe, sizeof(info->exe) - 1);
	if (n <= 0) {
		/* A kernel thread has no executable; neither has a process that is
		 * exiting (its memory is gone), which counts as gone. */
		info->exe[0] = '\0';
		if (!is_kernel_thread(pid) || procfs_read(pid, "comm", buf, sizeof(buf)) <= 0)
			return -ESRCH;
		buf[strcspn(buf, "\n")] = '\0';
		default_service(info, buf);
		info->kernel_thread = true;
		return 0;
	}
	info->exe[n] = '\0';
	/* Through the link, which opens the very file the process runs (in its mount
	 * namespace, and even if it was deleted or replaced on disk). */
	if (stat(path, &st) == 0) {
		info->exe_dev = procinfo__kernel_dev(st.st_dev);
		info->exe_ino = st.st_ino;
		read_build_id(path, &st, info->build_id, sizeof(info->build_id));
	} else {
		read_build_id(path, NULL, info->build_id, sizeof(info->build_id));
	}

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

	read_service(pid, env, info);
	default_service(info, NULL);
	return 0;
}

int procinfo__read_known(pid_t pid, const char *exe, const struct stat *st,
			 const char *cgroup_path, const struct env_labels *env,
			 struct process_info *info)
{
	memset(info, 0, sizeof(*info));
	info->pid = pid;
	if (read_service(pid, env, info) < 0)
		return -ESRCH;
	snprintf(info->exe, sizeof(info->exe), "%s", exe);
	info->exe_dev = procinfo__kernel_dev(st->st_dev);
	info->exe_ino = st->st_ino;
	read_build_id(exe, st, info->build_id, sizeof(info->build_id));
	procinfo__parse_cgroup(cgroup_path, info);
	default_service(info, NULL);
	return 0;
}

/* Depth-first search under @dir (a cgroupfs path of @len bytes in @path, which has
 * room for PATH_MAX) for the directory whose inode is @ino. */
static bool find_inode(char *path, size_t len, uint64_t ino, unsigned int *budget)
{
	DIR *d = opendir(path);
	struct dirent *de;
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d)) && *budget) {
		size_t n;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		--*budget;
		n = strlen(de->d_name);
		if (len + 1 + n >= PATH_MAX)
			continue;
		path[len] = '/';
		memcpy(path + len + 1, de->d_name, n + 1);
		if (de->d_ino == ino || find_inode(path, len + 1 + n, ino, budget))
			found = true;
		else
			path[len] = '\0';
	}
	closedir(d);
	return found;
}

/*
 * Paths of cgroup ids found by a walk: a process gone before its labels were read
 * needs its cgroup's path, and the short processes of one service share a few
 * cgroups, each a walk of cgroupfs otherwise. cgroup v2 ids are not reused (64-bit
 * kernfs ids), so an entry stays right unless the cgroup is renamed (a cgroup that
 * is removed is not asked for again). Direct-mapped.
 */
static struct cgroup_entry {
	uint64_t id;
	char path[512];
} cgroups[CGROUP_CACHE];
static pthread_mutex_t cgroups_lock = PTHREAD_MUTEX_INITIALIZER;

int procinfo__cgroup_path_cached(uint64_t cgroup_id, char *buf, size_t len)
{
	struct cgroup_entry *e = &cgroups[cgroup_id % CGROUP_CACHE];
	bool hit;

	if (!cgroup_id)
		return -ENOENT;
	pthread_mutex_lock(&cgroups_lock);
	hit = e->id == cgroup_id;
	if (hit)
		snprintf(buf, len, "%s", e->path);
	pthread_mutex_unlock(&cgroups_lock);
	return hit ? 0 : -ENOENT;
}

static void remember_cgroup(uint64_t cgroup_id, const char *path)
{
	struct cgroup_entry *e = &cgroups[cgroup_id % CGROUP_CACHE];

	if (strlen(path) >= sizeof(e->path))
		return;
	pthread_mutex_lock(&cgroups_lock);
	e->id = cgroup_id;
	snprintf(e->path, sizeof(e->path), "%s", path);
	pthread_mutex_unlock(&cgroups_lock);
}

void procinfo__remember_cgroup(uint64_t cgroup_id, const char *cgroup_path)
{
	char path[PATH_MAX];
	struct stat st;
	char cached[2];

	if (!cgroup_id || cgroup_path[0] != '/' ||
	    !procinfo__cgroup_path_cached(cgroup_id, cached, sizeof(cached)))
		return;
	snprintf(path, sizeof(path), "%s%s", CGROUP_ROOT, cgroup_path);
	if (stat(path, &st) == 0 && st.st_ino == cgroup_id)
		remember_cgroup(cgroup_id, cgroup_path);
}

int procinfo__cgroup_path(uint64_t cgroup_id, char *buf, size_t len)
{
	char path[PATH_MAX] = CGROUP_ROOT;
	unsigned int budget = CGROUP_WALK_MAX;
	struct stat st;

	if (!cgroup_id)
		return -ENOENT;
	if (procinfo__cgroup_path_cached(cgroup_id, buf, len) == 0)
		return 0;
	/* cgroup v2 ids are the inode numbers of the cgroupfs directories. */
	if (stat(path, &st) == 0 && st.st_ino == cgroup_id)
		snprintf(path + strlen(CGROUP_ROOT), sizeof(path) - strlen(CGROUP_ROOT), "/");
	else if (!find_inode(path, strlen(path), cgroup_id, &budget))
		return -ENOENT;
	snprintf(buf, len, "%s", path + strlen(CGROUP_ROOT));
	remember_cgroup(cgroup_id, buf);
	return 0;
}

void procinfo__from_exec(const char *exe, const struct stat *st, bool exe_checked,
			 const char *cgroup_path, const char *comm,
			 const struct env_labels *env, struct process_info *info)
{
	pid_t pid = info->pid;

	memset(info, 0, sizeof(*info));
	info->pid = pid;
	if (exe && exe[0]) {
		snprintf(info->exe, sizeof(info->exe), "%s", exe);
		if (exe_checked)
			read_build_id(exe, st, info->build_id, sizeof(info->build_id));
		else if (st)
			cached_build_id(st, info->build_id, sizeof(info->build_id));
	}
	if (cgroup_path && cgroup_path[0])
		procinfo__parse_cgroup(cgroup_path, info);
	if (env && env->known) /* the process is gone: only what its exec said */
		read_service(0, env, info);
	default_service(info, comm);
}

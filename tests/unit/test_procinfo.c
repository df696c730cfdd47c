/* SPDX-License-Identifier: Apache-2.0 */
/* test_procinfo.c - process identity for labels: cgroup parsing, /proc reading, and
 * the registry that keeps it for each process's life. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.h"
#include "hash.h"

#define CID "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899"

static void test_cgroup_docker_scope(void **state)
{
	(void)state;
	struct process_info i;

	procinfo__parse_cgroup("/system.slice/docker-" CID ".scope", &i);
	assert_string_equal(i.container_id, CID);
	assert_string_equal(i.pod_uid, "");
	assert_string_equal(i.unit, "");
	assert_string_equal(i.cgroup, "/system.slice/docker-" CID ".scope");
}

static void test_cgroup_kubernetes_systemd_driver(void **state)
{
	(void)state;
	struct process_info i;

	procinfo__parse_cgroup("/kubepods.slice/kubepods-burstable.slice/"
			       "kubepods-burstable-pod1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d.slice/"
			       "cri-containerd-" CID ".scope",
			       &i);
	assert_string_equal(i.container_id, CID);
	assert_string_equal(i.pod_uid, "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d");
}

static void test_cgroup_kubernetes_cgroupfs_driver(void **state)
{
	(void)state;
	struct process_info i;

	procinfo__parse_cgroup("/kubepods/besteffort/pod1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d/" CID,
			       &i);
	assert_string_equal(i.container_id, CID);
	assert_string_equal(i.pod_uid, "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d");
}

static void test_cgroup_systemd_service(void **state)
{
	(void)state;
	struct process_info i;

	procinfo__parse_cgroup("/system.slice/nginx.service", &i);
	assert_string_equal(i.unit, "nginx.service");
	assert_string_equal(i.container_id, "");
	/* Not a container: 64 hex digits that are part of a longer word do not count. */
	procinfo__parse_cgroup("/user.slice/x" CID "y.scope", &i);
	assert_string_equal(i.container_id, "");
}

/*
 * Wait until @pid has finished its exec of a program whose path contains @name: the
 * exe link names it as soon as the exec starts, but the new environment is in place
 * only once it runs, so wait for it to be asleep too (state S in /proc/PID/stat:
 * sleep sleeping, cat blocked on its pipe), however busy the machine.
 */
static void wait_asleep_running(pid_t pid, const char *name)
{
	for (int i = 0; i < 2000; i++) {
		char path[64], buf[4096];
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		ssize_t n = readlink(path, buf, sizeof(buf) - 1);
		if (n > 0 && (buf[n] = '\0', strstr(buf, name))) {
			snprintf(path, sizeof(path), "/proc/%d/stat", pid);
			FILE *f = fopen(path, "re");
			char *rp = f && fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
			bool asleep = rp && rp[1] == ' ' && rp[2] == 'S';
			if (f)
				fclose(f);
			if (asleep)
				return;
		}
		usleep(5000);
	}
	fail_msg("process %d never ran %s", (int)pid, name);
}

/* Start sleep with the environment @envp (NULL-terminated). */
static pid_t spawn_sleep_env(char *const *envp)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { "sleep", "30", NULL };
		execve("/bin/sleep", argv, envp);
		_exit(127);
	}
	wait_asleep_running(pid, "sleep");
	return pid;
}

static pid_t spawn_sleep(const char *service)
{
	char env[128];
	char *envp[] = { env, "PATH=/usr/bin:/bin", NULL };

	snprintf(env, sizeof(env), "SMOLDER_SERVICE=%s", service ? service : "");
	return spawn_sleep_env(service ? envp : envp + 1);
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_service_from_environment(void **state)
{
	(void)state;
	struct process_info i;
	pid_t pid = spawn_sleep("checkout-api");

	assert_int_equal(procinfo__read(pid, NULL, &i), 0);
	assert_int_equal(i.pid, pid);
	assert_string_equal(i.service, "checkout-api");
	assert_non_null(strstr(i.exe, "sleep"));
	reap(pid);
	/* Gone: nothing left to read. */
	assert_int_equal(procinfo__read(pid, NULL, &i), -ESRCH);
}

/* The environment an exec carries: a variable counts by its whole name, the first of
 * a name wins (even when empty), an empty SMOLDER_SERVICE gives way to
 * OpenTelemetry's name, and a last variable cut off before its NUL is not read. */
static void test_env_labels_of_an_environment_block(void **state)
{
	(void)state;
	static const char env[] = "SMOLDER_SERVICEX=no\0OSMOLDER_SERVICE=no\0"
				  "SMOLDER_SERVICE=first\0SMOLDER_SERVICE=second\0"
				  "OTEL_SERVICE_NAME=otel\0SMOLDER_VERSION=3";
	static const char empty[] = "PATH=/bin\0SMOLDER_SERVICE=\0SMOLDER_SERVICE=late\0"
				    "OTEL_SERVICE_NAME=otel\0"
				    "OTEL_RESOURCE_ATTRIBUTES=service.version=9";
	struct env_labels l;

	procinfo__env_labels(env, sizeof(env), &l); /* with the last NUL */
	assert_true(l.known);
	assert_string_equal(l.service, "first");
	assert_string_equal(l.version, "3");
	procinfo__env_labels(empty, sizeof(empty), &l);
	assert_string_equal(l.service, "otel");
	assert_string_equal(l.version, "9");
	procinfo__env_labels(env, 0, &l);
	assert_true(l.known);
	assert_string_equal(l.service, "");

	/* "SMOLDER_SERVICE=cut" with no NUL after it, followed by bytes that are not
	 * the block's: the value would run on into them. */
	char cut[64];
	static const char head[] = "PATH=/bin\0SMOLDER_SERVICE=cut";

	memset(cut, 'x', sizeof(cut) - 1);
	cut[sizeof(cut) - 1] = '\0';
	memcpy(cut, head, sizeof(head) - 1);
	procinfo__env_labels(cut, sizeof(head) - 1, &l);
	assert_string_equal(l.service, "");
}

/* OpenTelemetry's variables name the service and version when smolder's do not;
 * SMOLDER_SERVICE / SMOLDER_VERSION win over them. */
static void test_service_and_version_from_otel(void **state)
{
	(void)state;
	struct process_info i;
	char *attrs[] = { "OTEL_RESOURCE_ATTRIBUTES=deployment.environment=prod, "
			  "service.name=pay%2Cments,service.version=4.2.0", NULL };
	char *named[] = { "OTEL_SERVICE_NAME=orders", "OTEL_RESOURCE_ATTRIBUTES="
			  "service.name=ignored,service.version=1.0", NULL };
	char *ours[] = { "SMOLDER_SERVICE=mine", "SMOLDER_VERSION=7", "OTEL_SERVICE_NAME=x",
			 "OTEL_RESOURCE_ATTRIBUTES=service.version=1.0", NULL };
	pid_t pid = spawn_sleep_env(attrs);

	assert_int_equal(procinfo__read(pid, NULL, &i), 0);
	assert_string_equal(i.service, "pay,ments");
	assert_string_equal(i.version, "4.2.0");
	reap(pid);

	pid = spawn_sleep_env(named);
	assert_int_equal(procinfo__read(pid, NULL, &i), 0);
	assert_string_equal(i.service, "orders");
	assert_string_equal(i.version, "1.0");
	reap(pid);

	pid = spawn_sleep_env(ours);
	assert_int_equal(procinfo__read(pid, NULL, &i), 0);
	assert_string_equal(i.service, "mine");
	assert_string_equal(i.version, "7");
	reap(pid);

	pid = spawn_sleep(NULL);
	assert_int_equal(procinfo__read(pid, NULL, &i), 0);
	assert_string_equal(i.version, "");
	reap(pid);
}

static void test_service_falls_back_to_unit_or_exe(void **state)
{
	(void)state;
	struct process_info i;
	pid_t pid = spawn_sleep(NULL);
	char want[256];

	assert_int_equal(procinfo__read(pid, NULL, &i), 0);
	if (i.container_id[0])
		snprintf(want, sizeof(want), "%.12s", i.container_id);
	else if (i.unit[0])
		snprintf(want, sizeof(want), "%.*s", (int)strlen(i.unit) - 8, i.unit);
	else
		snprintf(want, sizeof(want), "sleep");
	assert_string_equal(i.service, want);
	reap(pid);
}

static void test_build_id_of_the_executable(void **state)
{
	(void)state;
	struct process_info i;
	pid_t pid = spawn_sleep("x");
	char want[256] = "", cmd[4096 + 128];
	FILE *f;

	assert_int_equal(procinfo__read(pid, NULL, &i), 0);
	snprintf(cmd, sizeof(cmd),
		 "readelf -n '%s' 2>/dev/null | awk '/Build ID/ { print $3 }'", i.exe);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(want, sizeof(want), f))
		want[0] = '\0';
	pclose(f);
	want[strcspn(want, "\n")] = '\0';
	reap(pid);
	if (!want[0])
		skip(); /* readelf missing, or the binary has no build-id */
	assert_string_equal(i.build_id, want);
}

/* That @p's executable is @path as /proc/PID/exe would name it: with its links
 * resolved (/usr/bin/true for /bin/true where /bin is a link). */
static void assert_exe(const struct process *p, const char *path)
{
	char want[PATH_MAX];

	assert_non_null(realpath(path, want));
	assert_non_null(p->labels);
	assert_string_equal(p->labels->exe, want);
}

/* Our own cgroup v2 path and id (the inode of its directory), or skip. */
static uint64_t own_cgroup(char *path, size_t len)
{
	char buf[4096], dir[4200];
	struct stat st;
	FILE *f = fopen("/proc/self/cgroup", "re");

	path[0] = '\0';
	while (f && fgets(buf, sizeof(buf), f))
		if (!strncmp(buf, "0::", 3)) {
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(path, len, "%s", buf + 3);
		}
	if (f)
		fclose(f);
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s", path);
	if (!path[0] || stat(dir, &st))
		return 0;
	return st.st_ino;
}

static void test_cgroup_path_from_id(void **state)
{
	(void)state;
	char want[4096], got[4096];
	uint64_t id = own_cgroup(want, sizeof(want));

	if (!id)
		skip(); /* no cgroup v2 */
	assert_int_equal(procinfo__cgroup_path(id, got, sizeof(got)), 0);
	assert_string_equal(got, want);
	assert_int_equal(procinfo__cgroup_path(1ull << 62, got, sizeof(got)), -ENOENT);
}

/* ---- the registry ---- */

struct forgotten {
	pid_t pids[16];
	int n;
};

static void on_forget(pid_t pid, void *ctx)
{
	struct forgotten *f = ctx;

	if (f->n < 16)
		f->pids[f->n++] = pid;
}

static struct smolder_event event(uint32_t kind, pid_t pid, pid_t ppid)
{
	return (struct smolder_event){ .kind = kind, .pid = (uint32_t)pid, .ppid = (uint32_t)ppid };
}

static void test_registry_keeps_labels_until_reaped(void **state)
{
	(void)state;
	struct registry *r = registry__new(NULL);
	struct forgotten f = { 0 };
	struct smolder_event ev;
	struct registry_stats st;
	pid_t pid = spawn_sleep("billing");
	const struct process *p;
	uint32_t id;

	assert_int_equal(registry__subscribe(r, on_forget, &f), 0);
	p = registry__sample(r, pid, 10);
	assert_non_null(p);
	assert_non_null(p->labels);
	assert_string_equal(p->labels->service, "billing");
	id = p->id;
	assert_true(id != 0);
	/* The exit is seen, the process is gone, and its last samples come after. */
	ev = event(SMOLDER_EVENT_EXIT, pid, 0);
	assert_int_equal(registry__event(r, &ev), 0);
	reap(pid);
	p = registry__sample(r, pid, 10);
	assert_int_equal(p->id, id);
	assert_string_equal(p->labels->service, "billing");
	assert_int_equal(f.n, 0);
	/* After the drain that read the exit, still there: a sample may wait behind
	 * another CPU's record still being written. */
	registry__reap(r);
	p = registry__sample(r, pid, 10);
	assert_int_equal(p->id, id);
	assert_string_equal(p->labels->service, "billing");
	registry__stats(r, &st);
	assert_int_equal(st.live, 1);
	assert_int_equal(f.n, 0);
	/* After the next drain: freed, and the clients are told. */
	registry__reap(r);
	registry__stats(r, &st);
	assert_int_equal(st.live, 0);
	assert_int_equal(st.exits, 1);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.pids[0], pid);
	registry__free(r);
}

static void test_registry_is_bounded(void **state)
{
	(void)state;
	struct registry_opts o = { .max_processes = 2 };
	struct registry *r = registry__new(&o);
	struct forgotten f = { 0 };
	pid_t a = spawn_sleep("a"), b = spawn_sleep("b"), c = spawn_sleep("c");
	struct registry_stats st;

	registry__subscribe(r, on_forget, &f);
	assert_string_equal(registry__sample(r, a, 10)->labels->service, "a");
	assert_string_equal(registry__sample(r, b, 10)->labels->service, "b");
	assert_string_equal(registry__sample(r, a, 10)->labels->service, "a");
	/* Full: c evicts the least recently sampled, b. */
	assert_string_equal(registry__sample(r, c, 10)->labels->service, "c");
	registry__stats(r, &st);
	assert_int_equal(st.live, 2);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.pids[0], b);
	reap(a);
	reap(b);
	reap(c);
	registry__free(r);
}

static void test_registry_fork_takes_parent_labels(void **state)
{
	(void)state;
	struct registry *r = registry__new(NULL);
	pid_t parent = spawn_sleep("frontend");
	/* A child that exits before it is read: a pid no process has. */
	pid_t child = 0x3ffffff0;
	struct smolder_event ev = event(SMOLDER_EVENT_FORK, child, parent);
	struct registry_stats st;
	const struct process *p;

	assert_int_equal(registry__event(r, &ev), 0);
	p = registry__sample(r, child, 10);
	assert_non_null(p->labels);
	assert_string_equal(p->labels->service, "frontend");
	assert_non_null(strstr(p->labels->exe, "sleep"));
	registry__stats(r, &st);
	assert_int_equal(st.from_parent, 1);
	assert_int_equal(st.unlabelled, 0);
	reap(parent);
	registry__free(r);
}

static void test_registry_exec_of_a_gone_process(void **state)
{
	(void)state;
	struct registry *r = registry__new(NULL);
	char cg[4096];
	uint64_t cgid = own_cgroup(cg, sizeof(cg));
	struct smolder_event ev = event(SMOLDER_EVENT_EXEC, 0x3ffffff1, 0);
	const struct process *p;

	struct stat st;

	assert_int_equal(stat("/bin/true", &st), 0);
	ev.cgroup_id = cgid;
	ev.dev = procinfo__kernel_dev(st.st_dev);
	ev.ino = st.st_ino;
	snprintf(ev.filename, sizeof(ev.filename), "/bin/true");
	memcpy(ev.comm, "true", 5);
	assert_int_equal(registry__event(r, &ev), 0);
	p = registry__sample(r, 0x3ffffff1, 10);
	assert_non_null(p->labels);
	/* As /proc/PID/exe would show it: the path with its links resolved. */
	assert_exe(p, "/bin/true");
	assert_true(strlen(p->labels->build_id) >= 2); /* Debian's coreutils have one */
	if (cgid)
		assert_string_equal(p->labels->cgroup, cg);
	assert_true(p->labels->service[0] != '\0');

	/* Named /proc/self/exe (a program re-executing itself): never taken as a
	 * path, which would name the reader; the file is found by its identity,
	 * from a live process seen running it. */
	pid_t live = spawn_sleep("s");
	char link[64], exe[4096];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", live);
	n = readlink(link, exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_int_equal(stat(exe, &st), 0);
	assert_string_equal(registry__sample(r, live, 10)->labels->exe, exe);
	ev = event(SMOLDER_EVENT_EXEC, 0x3ffffff2, 0);
	ev.dev = procinfo__kernel_dev(st.st_dev);
	ev.ino = st.st_ino;
	snprintf(ev.filename, sizeof(ev.filename), "/proc/self/exe");
	assert_int_equal(registry__event(r, &ev), 0);
	assert_string_equal(registry__sample(r, 0x3ffffff2, 10)->labels->exe, exe);
	/* An unknown file under a /proc name: no executable rather than a wrong one. */
	ev = event(SMOLDER_EVENT_EXEC, 0x3ffffff3, 0);
	ev.ino = 12345;
	snprintf(ev.filename, sizeof(ev.filename), "/proc/self/exe");
	memcpy(ev.comm, "mystery", 8);
	assert_int_equal(registry__event(r, &ev), 0);
	p = registry__sample(r, 0x3ffffff3, 10);
	assert_string_equal(p->labels->exe, "");
	assert_string_equal(p->labels->service, "mystery");
	reap(live);
	registry__free(r);
}

/* A sample moves its process to the image an exec announced when it was taken at or
 * after the exec: flagged as the first of the new image by the sampler or not (the
 * flagged one may have been read before the exec's event). Samples taken before it
 * still belong to the old image. */
static void test_registry_new_image_from_the_exec_on(void **state)
{
	(void)state;
	struct registry *r = registry__new(NULL);
	struct forgotten f = { 0 };
	pid_t pid = spawn_sleep("old");
	struct smolder_event ev = event(SMOLDER_EVENT_EXEC, pid, 0);
	const struct process *p;
	uint32_t id;

	registry__subscribe(r, on_forget, &f);
	id = registry__sample(r, pid, 10)->id;
	/* No event since: the same image. */
	assert_int_equal(registry__sample(r, pid, 20)->id, id);
	assert_int_equal(f.n, 0);
	/* An exec at 30: a sample from before it is still the old image's, the next
	 * one from after it the new image's, and so are those after that. */
	ev.time_ns = 30;
	assert_int_equal(registry__event(r, &ev), 0);
	assert_int_equal(registry__sample(r, pid, 25)->id, id);
	assert_int_equal(f.n, 0);
	p = registry__sample(r, pid, 35);
	assert_true(p->id != id);
	assert_int_equal(f.n, 1);
	id = p->id;
	assert_int_equal(registry__sample(r, pid, 40)->id, id);
	assert_int_equal(f.n, 1);
	/* A reused pid: exit, then a fork of a new process with the same pid. */
	ev = event(SMOLDER_EVENT_EXIT, pid, 0);
	ev.time_ns = 50;
	registry__event(r, &ev);
	ev = event(SMOLDER_EVENT_FORK, pid, getpid());
	ev.time_ns = 60;
	registry__event(r, &ev);
	p = registry__sample(r, pid, 70);
	assert_true(p->id != id);
	assert_non_null(p->labels);
	assert_non_null(strstr(p->labels->exe, "test_procinfo")); /* our labels now */
	reap(pid);
	registry__free(r);
}

/* A pid reused before the old process is freed (its exit and the new process's fork
 * read in one drain, on a busy machine): the old process's last samples, read after
 * the fork, keep its labels rather than taking the new child's (its parent's); the
 * clients are told to forget the pid when its samples move on to the new process,
 * not at the fork, and not again for a late sample of the old one. An exit read after
 * the next fork of its pid ends the process that ran at its time. A sample older than
 * every process known with its pid is a process never seen: no labels, rather than a
 * later process's. */
static void test_registry_pid_reused_within_one_drain(void **state)
{
	(void)state;
	struct registry *r = registry__new(NULL);
	struct forgotten f = { 0 };
	pid_t pid = spawn_sleep("old");
	pid_t unseen = 0x3ffffff1; /* a pid no process has */
	struct smolder_event ev;
	struct registry_stats st;
	const struct process *p;
	uint32_t id, new_id;

	registry__subscribe(r, on_forget, &f);
	p = registry__sample(r, pid, 10);
	assert_string_equal(p->labels->service, "old");
	id = p->id;
	/* It exits at 50 and a child of ours gets its pid at 60; both events are read
	 * before its samples from 40 and 45. */
	ev = event(SMOLDER_EVENT_EXIT, pid, 0);
	ev.time_ns = 50;
	assert_int_equal(registry__event(r, &ev), 0);
	ev = event(SMOLDER_EVENT_FORK, pid, getpid());
	ev.time_ns = 60;
	assert_int_equal(registry__event(r, &ev), 0);
	assert_int_equal(f.n, 0);
	p = registry__sample(r, pid, 40);
	assert_int_equal(p->id, id);
	assert_string_equal(p->labels->service, "old");
	assert_int_equal(f.n, 0);
	/* The new process: its own labels (ours), and the clients drop the old's. */
	p = registry__sample(r, pid, 70);
	new_id = p->id;
	assert_true(new_id != id);
	assert_non_null(p->labels);
	assert_non_null(strstr(p->labels->exe, "test_procinfo"));
	assert_int_equal(f.n, 1);
	/* A straggler of the old process still goes to it; the clients keep the new
	 * one's state. */
	p = registry__sample(r, pid, 45);
	assert_int_equal(p->id, id);
	assert_string_equal(p->labels->service, "old");
	assert_int_equal(f.n, 1);
	assert_int_equal(registry__sample(r, pid, 80)->id, new_id);
	assert_int_equal(f.n, 1);
	/* Two drains on, the old process is freed; what the clients hold is the new
	 * one's, so they are not told. */
	registry__reap(r);
	registry__reap(r);
	registry__stats(r, &st);
	assert_int_equal(st.exits, 1);
	assert_int_equal(f.n, 1);
	p = registry__sample(r, pid, 90);
	assert_int_equal(p->id, new_id);
	assert_non_null(strstr(p->labels->exe, "test_procinfo"));
	/* Again, the fork first and the exit after it (read CPU by CPU): the exit at
	 * 100 ends this process, not the one forked at 110. */
	ev = event(SMOLDER_EVENT_FORK, pid, getpid());
	ev.time_ns = 110;
	assert_int_equal(registry__event(r, &ev), 0);
	ev = event(SMOLDER_EVENT_EXIT, pid, 0);
	ev.time_ns = 100;
	assert_int_equal(registry__event(r, &ev), 0);
	registry__reap(r);
	registry__reap(r);
	registry__stats(r, &st);
	assert_int_equal(st.exits, 2);
	p = registry__sample(r, pid, 120);
	assert_true(p->id != new_id);
	assert_non_null(strstr(p->labels->exe, "test_procinfo"));
	registry__reap(r);
	registry__reap(r);
	registry__stats(r, &st);
	assert_int_equal(st.exits, 2); /* the newest one lives on */

	/* A fork at 200 announces a pid whose sample from 195 comes after: that process
	 * was never seen, and the fork's parent's labels are not its. */
	ev = event(SMOLDER_EVENT_FORK, unseen, getpid());
	ev.time_ns = 200;
	assert_int_equal(registry__event(r, &ev), 0);
	p = registry__sample(r, unseen, 195);
	assert_null(p->labels);
	id = p->id;
	p = registry__sample(r, unseen, 210);
	assert_true(p->id != id);
	assert_non_null(p->labels);
	assert_non_null(strstr(p->labels->exe, "test_procinfo"));
	registry__stats(r, &st);
	assert_int_equal(st.unlabelled, 1);
	reap(pid);
	registry__free(r);
}

/* An exec reads nothing until the new image's first sample (most processes of a busy
 * machine are never sampled); then /proc, while the process runs the file the exec
 * named, else the event. A child forked before that shares the image: sampled first,
 * it gets what the process that exec'd says of itself (the child may have been moved
 * to another cgroup), and the parent no read more. */
static void test_registry_exec_labels_read_at_first_sample(void **state)
{
	(void)state;
	struct registry *r = registry__new(NULL);
	pid_t pid = spawn_sleep("lazy"), child = 0x3ffffff4;
	struct smolder_event ev = event(SMOLDER_EVENT_EXEC, pid, 0);
	struct registry_stats st;
	const struct process *p;
	char link[64], exe[4096];
	struct stat sb;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_int_equal(stat(link, &sb), 0);
	ev.dev = procinfo__kernel_dev(sb.st_dev);
	ev.ino = sb.st_ino;
	snprintf(ev.filename, sizeof(ev.filename), "sleep"); /* relative, as execvp may */
	memcpy(ev.comm, "sleep", 6);
	assert_int_equal(registry__event(r, &ev), 0);
	ev = event(SMOLDER_EVENT_FORK, child, pid);
	assert_int_equal(registry__event(r, &ev), 0);
	registry__stats(r, &st);
	assert_int_equal(st.proc_reads, 0);

	/* The child (gone by now) is sampled first. */
	p = registry__sample(r, child, 10);
	assert_non_null(p->labels);
	assert_string_equal(p->labels->exe, exe);
	assert_string_equal(p->labels->service, "lazy"); /* the environment: /proc */
	registry__stats(r, &st);
	assert_int_equal(st.proc_reads, 1);
	assert_int_equal(st.from_event, 0);
	p = registry__sample(r, pid, 10);
	assert_non_null(p->labels);
	assert_string_equal(p->labels->exe, exe);
	assert_string_equal(p->labels->service, "lazy");
	registry__stats(r, &st);
	assert_int_equal(st.proc_reads, 1);

	/* An exec of /bin/true announced for the pid, which runs sleep when the
	 * image is first sampled (it exec'd again, or the pid was reused): the
	 * event's labels, not the other program's. */
	assert_int_equal(stat("/bin/true", &sb), 0);
	ev = event(SMOLDER_EVENT_EXEC, pid, 0);
	ev.dev = procinfo__kernel_dev(sb.st_dev);
	ev.ino = sb.st_ino;
	ev.time_ns = 20;
	snprintf(ev.filename, sizeof(ev.filename), "/bin/true");
	memcpy(ev.comm, "true", 5);
	assert_int_equal(registry__event(r, &ev), 0);
	p = registry__sample(r, pid, 30);
	assert_non_null(p->labels);
	assert_exe(p, "/bin/true");
	assert_string_equal(p->labels->service, "true");
	registry__stats(r, &st);
	assert_int_equal(st.from_event, 1);
	reap(pid);
	registry__free(r);
}

/* Start @path with SMOLDER_SERVICE=@service, reading a pipe nobody writes to (cat and
 * tac block on it); wait until it runs @path. */
static pid_t spawn_reader(const char *path, const char *service, int *wfd)
{
	char env[64];
	char *envp[] = { env, NULL };
	int fds[2];
	pid_t pid;

	snprintf(env, sizeof(env), "SMOLDER_SERVICE=%s", service);
	/* close-on-exec: a reader must not hold its own pipe open (nor another's),
	 * or it outlives a test that fails before closing it */
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { (char *)path, NULL };
		dup2(fds[0], 0);
		execve(path, argv, envp);
		_exit(127);
	}
	close(fds[0]);
	*wfd = fds[1];
	char *file = realpath(path, NULL); /* what /proc/PID/exe shows */

	assert_non_null(file);
	wait_asleep_running(pid, file);
	free(file);
	return pid;
}

/* The exec event of @pid running @path, in cgroup @cgroup_id. */
static struct smolder_event exec_event(pid_t pid, const char *path, uint64_t cgroup_id)
{
	struct smolder_event ev = event(SMOLDER_EVENT_EXEC, pid, 0);
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	ev.dev = procinfo__kernel_dev(sb.st_dev);
	ev.ino = sb.st_ino;
	/* The size and time of the file, as the kernel side reads them from its inode:
	 * what tells a file rewritten in place (same inode) from what it was. */
	ev.size = sb.st_size;
	ev.mtime_sec = sb.st_mtim.tv_sec;
	ev.mtime_nsec = (uint32_t)sb.st_mtim.tv_nsec;
	ev.cgroup_id = cgroup_id;
	snprintf(ev.filename, sizeof(ev.filename), "%s", path);
	memcpy(ev.comm, "reader", 7);
	return ev;
}

static void copy_into(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	/* O_TRUNC, not a new file: the same inode, rewritten in place */
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

/* A new executable file at @path (a mkstemp template, filled in) with @from's
 * contents. */
static void temp_program(char *path, const char *from)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(path, 0755), 0);
	copy_into(from, path);
}

/* The registry's clock in test_registry_exec_of_a_known_program: moved by the test,
 * so that "within a second of a check" does not depend on how busy the machine is. */
static uint64_t known_now_ns = 1000000000ull;

static uint64_t known_clock(void)
{
	return known_now_ns;
}

/* Run a reader by @exec_path (SMOLDER_SERVICE=@service) in cgroup @cgroup_id, tell
 * @r of its exec and sample it at @t: it is labelled @exe with @build_id, and the
 * stats count @from_known known programs, @known_recent of their paths taken from a
 * recent check. */
static void exec_known(struct registry *r, const char *exec_path, const char *service,
		       uint64_t cgroup_id, uint64_t t, uint64_t from_known,
		       uint64_t known_recent, const char *exe, const char *build_id)
{
	struct registry_stats st;
	const struct process *p;
	struct smolder_event ev;
	int w;
	pid_t pid = spawn_reader(exec_path, service, &w);

	ev = exec_event(pid, exec_path, cgroup_id);
	assert_int_equal(registry__event(r, &ev), 0);
	p = registry__sample(r, pid, t);
	registry__stats(r, &st);
	assert_int_equal(st.from_known, from_known);
	assert_int_equal(st.known_recent, known_recent);
	assert_string_equal(p->labels->exe, exe);
	assert_string_equal(p->labels->build_id, build_id);
	close(w);
	reap(pid);
}

/*
 * A second process running a program seen before gets its labels with only its
 * environment read (the executable by file identity, the cgroup by id), and the same
 * labels a full read gives; a program rewritten in place since (same inode) gets its
 * new build-id.
 */
static void test_registry_exec_of_a_known_program(void **state)
{
	(void)state;
	char cg[4096], path[] = "/tmp/smolder-known-XXXXXX", want_a[128], want_b[128];
	uint64_t cgroup_id = own_cgroup(cg, sizeof(cg));
	struct registry_opts opts = { .clock_ns = known_clock };
	struct registry *r = registry__new(&opts);
	struct registry_stats st;
	const struct process *p;
	struct smolder_event ev;
	int w1, w2, w3;
	pid_t a, b, c;

	if (!cgroup_id)
		skip(); /* no cgroup v2: every exec reads /proc */
	temp_program(path, "/bin/cat");
	assert_true(symbolizer__read_build_id(path, want_a, sizeof(want_a)) > 0);

	a = spawn_reader(path, "first", &w1);
	ev = exec_event(a, path, cgroup_id);
	assert_int_equal(registry__event(r, &ev), 0);
	p = registry__sample(r, a, 10);
	assert_string_equal(p->labels->exe, path);
	registry__stats(r, &st);
	assert_int_equal(st.proc_reads, 1);
	assert_int_equal(st.from_known, 0);

	b = spawn_reader(path, "second", &w2);
	ev = exec_event(b, path, cgroup_id);
	assert_int_equal(registry__event(r, &ev), 0);
	p = registry__sample(r, b, 20);
	registry__stats(r, &st);
	assert_int_equal(st.from_known, 1);
	/* By its path, with the file's build-id cached under the event's identity,
	 * size and time: nothing checked on disk. */
	assert_int_equal(st.known_unchecked, 1);
	assert_string_equal(p->labels->exe, path);
	assert_string_equal(p->labels->build_id, want_a);
	assert_string_equal(p->labels->cgroup, cg);
	assert_string_equal(p->labels->service, "second"); /* its own environment */

	/* Rewritten in place once nothing runs it: the same inode, another build-id. */
	close(w1);
	close(w2);
	reap(a);
	reap(b);
	copy_into("/usr/bin/tac", path);
	assert_true(symbolizer__read_build_id(path, want_b, sizeof(want_b)) > 0);
	assert_string_not_equal(want_a, want_b);
	c = spawn_reader(path, "third", &w3);
	ev = exec_event(c, path, cgroup_id);
	assert_int_equal(registry__event(r, &ev), 0);
	p = registry__sample(r, c, 30);
	registry__stats(r, &st);
	assert_int_equal(st.from_known, 2);
	assert_int_equal(st.known_unchecked, 1); /* new size and time: read again */
	assert_string_equal(p->labels->build_id, want_b);
	assert_string_equal(p->labels->service, "third");
	close(w3);
	reap(c);

	/* Run through a symbolic link: the exec named another path, so the known one
	 * is checked on disk (the third's check, for its new size and time, is more
	 * than a second old by then), and still names the file. */
	char link[sizeof(path) + 8];

	snprintf(link, sizeof(link), "%s.link", path);
	assert_int_equal(symlink(path, link), 0);
	known_now_ns += 1100000000ull;
	exec_known(r, link, "fourth", cgroup_id, 40, 3, 0, path, want_b);
	registry__stats(r, &st);
	assert_int_equal(st.known_unchecked, 1);

	/* Again through the link, within a second of that check: not checked again,
	 * the same labels; after the second, checked again. */
	known_now_ns += 100000000ull;
	exec_known(r, link, "fifth", cgroup_id, 50, 4, 1, path, want_b);
	known_now_ns += 1100000000ull;
	exec_known(r, link, "sixth", cgroup_id, 60, 5, 1, path, want_b);

	/* Rewritten in place within a second of the last check: that check was of
	 * another size and time, so the path is checked again, and the new build-id
	 * read. */
	known_now_ns += 100000000ull;
	copy_into("/bin/cat", path);
	exec_known(r, link, "seventh", cgroup_id, 70, 6, 1, path, want_a);
	unlink(link);
	unlink(path);
	registry__free(r);
}

/*
 * Processes gone before their first sample is read (the /bin/true of a shell loop)
 * get their labels from the exec event: the build-id of their program is read from
 * the file once, then found by its identity, size and time; a program rewritten in
 * place since is read again.
 */
static void test_registry_gone_processes_read_a_build_id_once(void **state)
{
	(void)state;
	char path[] = "/tmp/smolder-gone-XXXXXX", want_a[128], want_b[128];
	struct registry *r = registry__new(NULL);
	const pid_t gone[] = { 0x3ffffff1, 0x3ffffff2, 0x3ffffff3 };
	const struct process *p;
	struct smolder_event ev;
	uint64_t reads0;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	copy_into("/bin/cat", path);
	assert_true(symbolizer__read_build_id(path, want_a, sizeof(want_a)) > 0);
	reads0 = procinfo__build_id_reads();
	for (int i = 0; i < 2; i++) {
		ev = exec_event(gone[i], path, 0);
		assert_int_equal(registry__event(r, &ev), 0);
		p = registry__sample(r, gone[i], 10);
		assert_non_null(p->labels);
		assert_string_equal(p->labels->exe, path);
		assert_string_equal(p->labels->build_id, want_a);
	}
	assert_int_equal(procinfo__build_id_reads(), reads0 + 1);

	struct stat before, after;

	assert_int_equal(stat(path, &before), 0);
	copy_into("/usr/bin/tac", path); /* the same inode, another size */
	assert_int_equal(stat(path, &after), 0);
	assert_int_not_equal(before.st_size, after.st_size);
	assert_true(symbolizer__read_build_id(path, want_b, sizeof(want_b)) > 0);
	assert_string_not_equal(want_a, want_b);
	ev = exec_event(gone[2], path, 0);
	assert_int_equal(registry__event(r, &ev), 0);
	p = registry__sample(r, gone[2], 10);
	assert_non_null(p->labels);
	assert_string_equal(p->labels->build_id, want_b);
	assert_int_equal(procinfo__build_id_reads(), reads0 + 2);

	struct registry_stats st;

	registry__stats(r, &st);
	assert_int_equal(st.from_event, 3);
	unlink(path);
	registry__free(r);
}

/* An exec event with environment @env (@len bytes) after it, as the sampler hands it. */
struct event_with_env {
	struct smolder_event ev;
	char env[256];
};

static void carry_env(struct event_with_env *x, const char *env, size_t len)
{
	assert_true(len <= sizeof(x->env));
	memcpy(x->env, env, len);
	x->ev.flags |= SMOLDER_EVENT_ENV;
	x->ev.env_len = (uint32_t)len;
}

/*
 * The environment the exec event carries gives the service and version: for a process
 * gone before it could be read (which otherwise gets its executable's name), and for a
 * known program with nothing read of the process at all. It is the environment the
 * program started with, which wins over what /proc shows later.
 */
static void test_registry_labels_from_the_environment_of_the_exec(void **state)
{
	(void)state;
	static const char env[] = "HOME=/root\0SMOLDER_SERVICE=checkout\0SMOLDER_VERSION=v42\0";
	char cg[4096], path[] = "/tmp/smolder-env-XXXXXX";
	uint64_t cgroup_id = own_cgroup(cg, sizeof(cg));
	struct registry *r = registry__new(NULL);
	struct event_with_env x = { 0 };
	struct registry_stats st0, st;
	const struct process *p;
	int fd = mkstemp(path), w1, w2;
	pid_t a, b;

	/* Gone: only the event speaks for it. */
	x.ev = exec_event(0x3ffffff5, "/bin/true", cgroup_id);
	carry_env(&x, env, sizeof(env) - 1);
	assert_int_equal(registry__event(r, &x.ev), 0);
	p = registry__sample(r, 0x3ffffff5, 10);
	assert_exe(p, "/bin/true");
	assert_string_equal(p->labels->service, "checkout");
	assert_string_equal(p->labels->version, "v42");
	registry__stats(r, &st);
	assert_int_equal(st.env_from_exec, 1);
	assert_int_equal(st.from_event, 1);

	if (!cgroup_id) {
		registry__free(r);
		skip(); /* no cgroup v2: a known program's labels read /proc */
	}
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(path, 0755), 0);
	copy_into("/bin/cat", path);
	/* A program seen before: the first process is read from /proc... */
	a = spawn_reader(path, "first", &w1);
	x.ev = exec_event(a, path, cgroup_id);
	x.ev.flags = 0;
	x.ev.env_len = 0;
	assert_int_equal(registry__event(r, &x.ev), 0);
	assert_string_equal(registry__sample(r, a, 20)->labels->service, "first");
	registry__stats(r, &st0);
	/* ... the second, whose exec carried its environment, not at all. */
	b = spawn_reader(path, "second", &w2);
	x.ev = exec_event(b, path, cgroup_id);
	carry_env(&x, env, sizeof(env) - 1);
	assert_int_equal(registry__event(r, &x.ev), 0);
	p = registry__sample(r, b, 30);
	registry__stats(r, &st);
	assert_int_equal(st.proc_reads, st0.proc_reads);
	assert_int_equal(st.from_known, st0.from_known + 1);
	assert_int_equal(st.env_from_exec, 2);
	assert_string_equal(p->labels->exe, path);
	assert_string_equal(p->labels->cgroup, cg);
	assert_string_equal(p->labels->service, "checkout");
	assert_string_equal(p->labels->version, "v42");
	close(w1);
	close(w2);
	reap(a);
	reap(b);
	unlink(path);
	registry__free(r);
}

/* The first sample of @pid, gone after its exec of @path in cgroup @cgroup_id with
 * environment @env (@len bytes) at @t_ns. */
static const struct process *gone_exec(struct registry *r, pid_t pid, const char *path,
				       uint64_t cgroup_id, const char *env, size_t len,
				       uint64_t t_ns)
{
	struct event_with_env x = { 0 };

	x.ev = exec_event(pid, path, cgroup_id);
	carry_env(&x, env, len);
	assert_int_equal(registry__event(r, &x.ev), 0);
	return registry__sample(r, pid, t_ns);
}

/*
 * A program's file checked on disk for a process gone before it was read makes it a
 * known program: the next exec of it, gone too, is labelled from the event without
 * trying /proc. Execs of a known program in the same cgroup whose environments name
 * the same service and version share one label block; another environment, or the
 * file rewritten in place since, gets its own.
 */
static void test_registry_known_programs_share_labels(void **state)
{
	(void)state;
	static const char env[] = "SMOLDER_SERVICE=checkout\0SMOLDER_VERSION=v42\0";
	static const char other[] = "SMOLDER_SERVICE=billing\0";
	char cg[4096];
	uint64_t cgroup_id = own_cgroup(cg, sizeof(cg));
	struct registry *r = registry__new(NULL);
	const struct process_labels *first;
	struct registry_stats st;
	const struct process *p;

	if (!cgroup_id) {
		registry__free(r);
		skip(); /* no cgroup v2: a known program's labels read /proc */
	}
	p = gone_exec(r, 0x3ffffff1, "/bin/true", cgroup_id, env, sizeof(env) - 1, 10);
	assert_exe(p, "/bin/true");
	first = p->labels;
	registry__stats(r, &st);
	assert_int_equal(st.from_event, 1);
	assert_int_equal(st.proc_reads, 1); /* tried, and gone */

	/* Gone too, the same file: known now, nothing tried in /proc. */
	p = gone_exec(r, 0x3ffffff2, "/bin/true", cgroup_id, env, sizeof(env) - 1, 20);
	registry__stats(r, &st);
	assert_int_equal(st.from_event, 1);
	assert_int_equal(st.from_known, 1);
	assert_int_equal(st.proc_reads, 1);
	assert_int_equal(st.labels_shared, 0);
	assert_exe(p, "/bin/true");
	assert_string_equal(p->labels->build_id, first->build_id);
	assert_string_equal(p->labels->cgroup, cg);
	assert_string_equal(p->labels->service, "checkout");
	assert_string_equal(p->labels->version, "v42");
	first = p->labels;

	/* The same environment again: the very same labels. */
	p = gone_exec(r, 0x3ffffff3, "/bin/true", cgroup_id, env, sizeof(env) - 1, 30);
	registry__stats(r, &st);
	assert_int_equal(st.from_known, 2);
	assert_int_equal(st.labels_shared, 1);
	assert_ptr_equal(p->labels, first);

	/* Another service: labels of its own. */
	p = gone_exec(r, 0x3ffffff4, "/bin/true", cgroup_id, other, sizeof(other) - 1, 40);
	registry__stats(r, &st);
	assert_int_equal(st.from_known, 3);
	assert_int_equal(st.labels_shared, 1);
	assert_ptr_not_equal(p->labels, first);
	assert_string_equal(p->labels->service, "billing");
	assert_string_equal(p->labels->version, "");
	assert_string_equal(p->labels->build_id, first->build_id);

	/* A program rewritten in place (the same inode, another size and time) between
	 * two execs: the second's labels are made again, with the new build-id. */
	char path[] = "/tmp/smolder-shared-XXXXXX", want[128];

	temp_program(path, "/bin/cat");
	for (pid_t pid = 0x3ffffff5; pid <= 0x3ffffff7; pid++)
		p = gone_exec(r, pid, path, cgroup_id, env, sizeof(env) - 1, 50);
	registry__stats(r, &st);
	assert_int_equal(st.labels_shared, 2);
	first = p->labels;
	copy_into("/usr/bin/tac", path);
	assert_true(symbolizer__read_build_id(path, want, sizeof(want)) > 0);
	p = gone_exec(r, 0x3ffffff8, path, cgroup_id, env, sizeof(env) - 1, 60);
	registry__stats(r, &st);
	assert_int_equal(st.labels_shared, 2);
	assert_ptr_not_equal(p->labels, first);
	assert_string_equal(p->labels->build_id, want);
	unlink(path);
	registry__free(r);
}

/*
 * A gone process of a program known at a path that no longer names it (renamed since,
 * or a path in another mount namespace): labelled with that path, and with the
 * build-id cached for the file's identity, never one read from what the path names
 * now.
 */
static void test_registry_gone_process_of_a_program_moved_away(void **state)
{
	(void)state;
	char path[] = "/tmp/smolder-moved-XXXXXX", moved[64], exe[4096], want[128], other[128];
	struct registry *r = registry__new(NULL);
	const struct process *p;
	struct smolder_event ev;
	pid_t a;
	int w;

	temp_program(path, "/bin/cat");
	assert_true(symbolizer__read_build_id(path, want, sizeof(want)) > 0);
	a = spawn_reader(path, "first", &w);
	ev = exec_event(a, path, 0);
	assert_int_equal(registry__event(r, &ev), 0);
	p = registry__sample(r, a, 10);
	assert_string_equal(p->labels->build_id, want);
	snprintf(exe, sizeof(exe), "%s", p->labels->exe);
	close(w);
	reap(a);

	snprintf(moved, sizeof(moved), "%s.moved", path);
	assert_int_equal(rename(path, moved), 0);
	copy_into("/usr/bin/tac", path); /* another file where it was */
	assert_true(symbolizer__read_build_id(path, other, sizeof(other)) > 0);
	assert_string_not_equal(other, want);
	ev = exec_event(0x3ffffff1, moved, 0);
	snprintf(ev.filename, sizeof(ev.filename), "/proc/self/exe");
	assert_int_equal(registry__event(r, &ev), 0);
	p = registry__sample(r, 0x3ffffff1, 20);
	assert_string_equal(p->labels->exe, exe);
	assert_string_equal(p->labels->build_id, want);
	unlink(moved);
	unlink(path);
	registry__free(r);
}

/* The exec event of a process already gone, running @path (by its path), at @t_ns. */
static struct smolder_event exec_at(pid_t pid, const char *path, uint64_t t_ns)
{
	struct smolder_event ev = exec_event(pid, path, 0);

	ev.time_ns = t_ns;
	snprintf(ev.comm, sizeof(ev.comm), "%s", strrchr(path, '/') + 1);
	return ev;
}

/* @parent forks @child at @t_ns, which re-executes its program @path through
 * /proc/self/exe 10 ns later. */
static void fork_reexec(struct registry *r, pid_t parent, pid_t child, const char *path,
			uint64_t t_ns)
{
	struct smolder_event ev = event(SMOLDER_EVENT_FORK, child, parent);

	ev.time_ns = t_ns;
	assert_int_equal(registry__event(r, &ev), 0);
	ev = exec_at(child, path, t_ns + 10);
	snprintf(ev.filename, sizeof(ev.filename), "/proc/self/exe");
	assert_int_equal(registry__event(r, &ev), 0);
}

/*
 * A program that re-executes itself (/proc/self/exe) in a child sampled before the
 * parent ever was, both gone by then (what a slow reader sees of a short child): the
 * child's executable is the file the parent's exec named, found through the image the
 * child ran before its exec. A child that re-executes another file leaves that image
 * unread, and names no executable rather than a wrong one.
 */
static void test_registry_reexec_before_its_program_was_read(void **state)
{
	(void)state;
	char path[] = "/tmp/smolder-reexec-XXXXXX";
	const pid_t parent = 0x3ffffff1, child = 0x3ffffff2, other = 0x3ffffff3;
	struct registry *r = registry__new(NULL);
	struct registry_stats st, now;
	const struct process *p;
	struct smolder_event ev;

	temp_program(path, "/bin/cat");
	ev = exec_at(parent, path, 10);
	assert_int_equal(registry__event(r, &ev), 0);
	fork_reexec(r, parent, child, path, 20);
	p = registry__sample(r, child, 40);
	assert_exe(p, path);
	/* The parent's image was read then, once: its own first sample reads nothing. */
	registry__stats(r, &st);
	p = registry__sample(r, parent, 50);
	assert_exe(p, path);
	registry__stats(r, &now);
	assert_int_equal(now.proc_reads, st.proc_reads);
	assert_int_equal(now.from_event, st.from_event);
	assert_int_equal(now.unlabelled, 0);

	/* A child of the same parent that re-executes a file not known: nothing. */
	ev = event(SMOLDER_EVENT_FORK, other, parent);
	ev.time_ns = 60;
	assert_int_equal(registry__event(r, &ev), 0);
	ev = exec_at(other, "/bin/true", 70);
	ev.ino ^= 0x5a5a5a; /* a file no path names */
	snprintf(ev.filename, sizeof(ev.filename), "/proc/self/exe");
	assert_int_equal(registry__event(r, &ev), 0);
	p = registry__sample(r, other, 80);
	assert_string_equal(p->labels->exe, "");
	unlink(path);
	registry__free(r);
}

/*
 * A known program renamed since, exec'd by its new path and gone by its first sample:
 * labelled with where it is now, the path the exec named, not the one it was seen at
 * (which may name another file by now).
 */
static void test_registry_gone_process_of_a_program_renamed(void **state)
{
	(void)state;
	char path[] = "/tmp/smolder-renamed-XXXXXX", moved[64];
	struct registry *r = registry__new(NULL);
	const struct process *p;
	struct smolder_event ev;

	temp_program(path, "/bin/cat");
	ev = exec_event(0x3ffffff1, path, 0);
	assert_int_equal(registry__event(r, &ev), 0);
	assert_exe(registry__sample(r, 0x3ffffff1, 10), path); /* known from now on */
	snprintf(moved, sizeof(moved), "%s.moved", path);
	assert_int_equal(rename(path, moved), 0);
	ev = exec_event(0x3ffffff2, moved, 0);
	assert_int_equal(registry__event(r, &ev), 0);
	p = registry__sample(r, 0x3ffffff2, 20);
	assert_exe(p, moved);
	unlink(moved);
	registry__free(r);
}

/* registry.c's EXE_CACHE_SLOTS and slot hash: where the registry keeps file (@dev,
 * @ino). (The test that uses it checks that it found a collision.) */
#define EXE_SLOTS 1024
static unsigned int exe_slot_of(uint32_t dev, uint64_t ino)
{
	return (unsigned int)(hash_mix64(ino ^ ((uint64_t)dev << 32)) % EXE_SLOTS);
}

/* A new empty file in new directory @dir (a mkdtemp template, filled in) that the
 * registry keeps in the same slot as file @st, its path into @path. The files tried
 * are kept until one is found (a file removed gives its inode number to the next).
 * @return the number of files made (dir/0 .. dir/N-1), for remove_files. */
static int colliding_file(char *dir, char *path, size_t len, const struct stat *st)
{
	unsigned int want = exe_slot_of(procinfo__kernel_dev(st->st_dev), st->st_ino);

	assert_non_null(mkdtemp(dir));
	for (int n = 0; n < 20 * EXE_SLOTS; n++) {
		struct stat sb;
		int fd;

		snprintf(path, len, "%s/%d", dir, n);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &sb), 0);
		close(fd);
		if (exe_slot_of(procinfo__kernel_dev(sb.st_dev), sb.st_ino) == want)
			return n + 1;
	}
	fail_msg("no file in the slot of inode %llu", (unsigned long long)st->st_ino);
	return 0;
}

static void remove_files(const char *dir, int n)
{
	char path[PATH_MAX];

	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%d", dir, i);
		unlink(path);
	}
	rmdir(dir);
}

/*
 * A re-exec (/proc/self/exe) of a program whose parent's image was labelled, but whose
 * file the registry's bounded cache of known files has let go since: the child, gone
 * by its first sample, gets its executable from the image it ran before the exec.
 */
static void test_registry_reexec_of_a_program_no_longer_cached(void **state)
{
	(void)state;
	char path[] = "/tmp/smolder-reseed-XXXXXX", dir[] = "/tmp/smolder-collide-XXXXXX";
	char other[PATH_MAX];
	int made;
	const pid_t parent = 0x3ffffff1, child = 0x3ffffff2;
	struct registry *r = registry__new(NULL);
	const struct process *p;
	struct smolder_event ev;
	struct stat st;

	temp_program(path, "/bin/cat");
	assert_int_equal(stat(path, &st), 0);
	ev = exec_at(parent, path, 10);
	assert_int_equal(registry__event(r, &ev), 0);
	assert_exe(registry__sample(r, parent, 15), path);
	fork_reexec(r, parent, child, path, 20);

	/* Another file takes the program's slot... */
	made = colliding_file(dir, other, sizeof(other), &st);
	ev = exec_at(0x3ffffff3, other, 40);
	assert_int_equal(registry__event(r, &ev), 0);
	assert_exe(registry__sample(r, 0x3ffffff3, 45), other);
	/* ...so that a re-exec with nothing before it names no executable now. */
	ev = exec_at(0x3ffffff4, path, 46);
	snprintf(ev.filename, sizeof(ev.filename), "/proc/self/exe");
	assert_int_equal(registry__event(r, &ev), 0);
	assert_string_equal(registry__sample(r, 0x3ffffff4, 47)->labels->exe, "");

	p = registry__sample(r, child, 50);
	assert_exe(p, path);
	remove_files(dir, made);
	unlink(path);
	registry__free(r);
}

/*
 * A process that execs again before its samples are read (a wrapper that execs its
 * program within one drain interval): each sample gets the image that ran at its
 * time, not the last one announced. Execs beyond what is kept drop the oldest images,
 * counted.
 */
static void test_registry_execs_between_drains(void **state)
{
	(void)state;
	const char *progs[] = { "/bin/true", "/bin/cat", "/bin/tac", "/bin/sleep",
				"/bin/echo", "/bin/ls" };
	struct registry *r = registry__new(NULL);
	const pid_t pid = 0x3ffffff4;
	struct registry_stats st;
	struct smolder_event ev;
	const struct process *p;
	uint32_t id;

	ev = exec_at(pid, progs[0], 100);
	assert_int_equal(registry__event(r, &ev), 0);
	ev = exec_at(pid, progs[1], 200);
	assert_int_equal(registry__event(r, &ev), 0);
	/* The first image's first sample, then another of it, then the second's. */
	p = registry__sample(r, pid, 150);
	assert_exe(p, progs[0]);
	id = p->id;
	p = registry__sample(r, pid, 180);
	assert_int_equal(p->id, id);
	assert_exe(p, progs[0]);
	p = registry__sample(r, pid, 250);
	assert_int_not_equal(p->id, id);
	assert_exe(p, progs[1]);

	/* Six execs before the next sample: the last four are kept. A first sample
	 * after the fourth exec (the second kept) gets that image; one after the last
	 * exec, the last. */
	for (int i = 0; i < 6; i++) {
		ev = exec_at(pid, progs[i], 300 + 100 * (uint64_t)i);
		assert_int_equal(registry__event(r, &ev), 0);
	}
	registry__stats(r, &st);
	assert_int_equal(st.pending_dropped, 2);
	p = registry__sample(r, pid, 650);
	assert_exe(p, progs[3]);
	p = registry__sample(r, pid, 900);
	assert_exe(p, progs[5]);

	/* A child forked (by this test's process) and exec'd before either event is
	 * read: sampled before its exec, it runs its parent's program. */
	const pid_t child = 0x3ffffff5;
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	assert_true(n > 0);
	self[n] = '\0';
	ev = event(SMOLDER_EVENT_FORK, child, getpid());
	ev.time_ns = 1000;
	assert_int_equal(registry__event(r, &ev), 0);
	ev = exec_at(child, progs[0], 1100);
	assert_int_equal(registry__event(r, &ev), 0);
	p = registry__sample(r, child, 1050);
	assert_string_equal(p->labels->exe, self);
	p = registry__sample(r, child, 1150);
	assert_exe(p, progs[0]);
	registry__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_docker_scope),
		cmocka_unit_test(test_cgroup_kubernetes_systemd_driver),
		cmocka_unit_test(test_cgroup_kubernetes_cgroupfs_driver),
		cmocka_unit_test(test_cgroup_systemd_service),
		cmocka_unit_test(test_service_from_environment),
		cmocka_unit_test(test_env_labels_of_an_environment_block),
		cmocka_unit_test(test_service_and_version_from_otel),
		cmocka_unit_test(test_service_falls_back_to_unit_or_exe),
		cmocka_unit_test(test_build_id_of_the_executable),
		cmocka_unit_test(test_cgroup_path_from_id),
		cmocka_unit_test(test_registry_keeps_labels_until_reaped),
		cmocka_unit_test(test_registry_is_bounded),
		cmocka_unit_test(test_registry_fork_takes_parent_labels),
		cmocka_unit_test(test_registry_exec_of_a_gone_process),
		cmocka_unit_test(test_registry_new_image_from_the_exec_on),
		cmocka_unit_test(test_registry_pid_reused_within_one_drain),
		cmocka_unit_test(test_registry_exec_labels_read_at_first_sample),
		cmocka_unit_test(test_registry_exec_of_a_known_program),
		cmocka_unit_test(test_registry_gone_processes_read_a_build_id_once),
		cmocka_unit_test(test_registry_labels_from_the_environment_of_the_exec),
		cmocka_unit_test(test_registry_execs_between_drains),
		cmocka_unit_test(test_registry_known_programs_share_labels),
		cmocka_unit_test(test_registry_gone_process_of_a_program_moved_away),
		cmocka_unit_test(test_registry_reexec_before_its_program_was_read),
		cmocka_unit_test(test_registry_reexec_of_a_program_no_longer_cached),
		cmocka_unit_test(test_registry_gone_process_of_a_program_renamed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

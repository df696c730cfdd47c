/* SPDX-License-Identifier: Apache-2.0 */
/* test_procinfo.c - process identity for labels: cgroup parsing and /proc reading. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.h"

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

static pid_t spawn_sleep(const char *service)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { "sleep", "30", NULL };
		char env[128];
		char *envp[] = { env, "PATH=/usr/bin:/bin", NULL };
		snprintf(env, sizeof(env), "SMOLDER_SERVICE=%s", service ? service : "");
		execve("/bin/sleep", argv, service ? envp : envp + 1);
		_exit(127);
	}
	/* Wait until its exec has finished: the exe link names sleep as soon as the
	 * exec starts, but the new environment is in place only once it runs, so
	 * wait for sleep to be asleep too (state S in /proc/PID/stat). */
	for (int i = 0; i < 1000; i++) {
		char path[64], buf[256];
		snprintf(path, sizeof(path), "/proc/%d/exe", pid);
		ssize_t n = readlink(path, buf, sizeof(buf) - 1);
		if (n > 0 && (buf[n] = '\0', strstr(buf, "sleep"))) {
			snprintf(path, sizeof(path), "/proc/%d/stat", pid);
			FILE *f = fopen(path, "re");
			char *rp = f && fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
			bool asleep = rp && rp[1] == ' ' && rp[2] == 'S';
			if (f)
				fclose(f);
			if (asleep)
				break;
		}
		usleep(5000);
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_service_from_environment(void **state)
{
	(void)state;
	struct procinfo *pi = procinfo__new(0);
	pid_t pid = spawn_sleep("checkout-api");
	const struct process_info *i = procinfo__get(pi, pid);

	assert_non_null(i);
	assert_int_equal(i->pid, pid);
	assert_string_equal(i->service, "checkout-api");
	assert_non_null(strstr(i->exe, "sleep"));
	reap(pid);
	procinfo__free(pi);
}

static void test_service_falls_back_to_unit_or_exe(void **state)
{
	(void)state;
	struct procinfo *pi = procinfo__new(0);
	pid_t pid = spawn_sleep(NULL);
	const struct process_info *i = procinfo__get(pi, pid);
	char want[256];

	assert_non_null(i);
	if (i->container_id[0])
		snprintf(want, sizeof(want), "%.12s", i->container_id);
	else if (i->unit[0])
		snprintf(want, sizeof(want), "%.*s", (int)strlen(i->unit) - 8, i->unit);
	else
		snprintf(want, sizeof(want), "sleep");
	assert_string_equal(i->service, want);
	reap(pid);
	procinfo__free(pi);
}

static void test_cache_is_bounded_and_keeps_answers_after_exit(void **state)
{
	(void)state;
	struct procinfo *pi = procinfo__new(2);
	pid_t a = spawn_sleep("a"), b = spawn_sleep("b"), c = spawn_sleep("c");

	assert_string_equal(procinfo__get(pi, a)->service, "a");
	assert_string_equal(procinfo__get(pi, b)->service, "b");
	/* b is cached: what was read survives its exit. */
	reap(b);
	assert_string_equal(procinfo__get(pi, b)->service, "b");
	/* A third process evicts the least recently used, a: once a is gone too,
	 * nothing is left to read it from. */
	assert_string_equal(procinfo__get(pi, c)->service, "c");
	reap(a);
	assert_string_equal(procinfo__get(pi, a)->service, "");
	assert_string_equal(procinfo__get(pi, a)->exe, "");
	/* forget drops an entry even while the cache has room. */
	procinfo__forget(pi, c);
	reap(c);
	assert_string_equal(procinfo__get(pi, c)->service, "");
	procinfo__free(pi);
}

static void test_build_id_of_the_executable(void **state)
{
	(void)state;
	struct procinfo *pi = procinfo__new(0);
	pid_t pid = spawn_sleep("x");
	const struct process_info *i = procinfo__get(pi, pid);
	char want[256] = "", cmd[4096 + 128];
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "readelf -n '%s' 2>/dev/null | awk '/Build ID/ { print $3 }'", i->exe);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(want, sizeof(want), f))
		want[0] = '\0';
	pclose(f);
	want[strcspn(want, "\n")] = '\0';
	if (!want[0]) {
		reap(pid);
		procinfo__free(pi);
		skip(); /* readelf missing, or the binary has no build-id */
	}
	assert_string_equal(i->build_id, want);
	reap(pid);
	procinfo__free(pi);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_docker_scope),
		cmocka_unit_test(test_cgroup_kubernetes_systemd_driver),
		cmocka_unit_test(test_cgroup_kubernetes_cgroupfs_driver),
		cmocka_unit_test(test_cgroup_systemd_service),
		cmocka_unit_test(test_service_from_environment),
		cmocka_unit_test(test_service_falls_back_to_unit_or_exe),
		cmocka_unit_test(test_cache_is_bounded_and_keeps_answers_after_exit),
		cmocka_unit_test(test_build_id_of_the_executable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

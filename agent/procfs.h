/* SPDX-License-Identifier: Apache-2.0 */
/*
 * procfs.h - small facts read from /proc and /sys that the samplers and the run loop
 * need: is a process alive, its threads and children, the online CPUs, a kernel
 * sysctl. A leaf: it calls nothing else in smolder. Internal to agent/.
 *
 * Error contract: int functions return a count or 0, or a negative errno.
 */
#ifndef SMOLDER_AGENT_PROCFS_H
#define SMOLDER_AGENT_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Read up to @size - 1 bytes of /proc/@pid/@name (e.g. "environ", "task/7/comm")
 * into @buf, NUL-terminated. @return the length, -ESRCH when the process (or the
 * file) is gone, or a negative errno. */
ssize_t procfs_read(pid_t pid, const char *name, char *buf, size_t size);

/* Is @pid a live process: not gone, not a zombie (a zombie leader whose other threads
 * still run counts as alive)? */
bool procfs_process_alive(pid_t pid);

/* The process (thread group) that thread @tid belongs to; 0 when unknown. */
pid_t procfs_thread_group(pid_t tid);

/* The threads of process @pid now, into @tids (at most @max).
 * @return their number, -ESRCH when the process is gone, or a negative errno. */
int procfs_threads(pid_t pid, pid_t *tids, int max);

/* Call @fn for each process now (not threads), but this one, until it returns
 * nonzero. */
void procfs_each_process(int (*fn)(pid_t pid, void *ctx), void *ctx);

/* The child processes of process @pid now (children of any of its threads), into
 * @pids (at most @max). @return their number, -ESRCH, or a negative errno. */
int procfs_children(pid_t pid, pid_t *pids, int max);

/* User + system CPU time process @pid has used, in clock ticks (utime + stime of
 * /proc/PID/stat), into *@ticks; its comm into @comm (16 bytes) when not NULL.
 * @return 0, -ESRCH, or a negative errno. */
int procfs_cpu_ticks(pid_t pid, uint64_t *ticks, char *comm);

/* The online CPUs (the sysfs list such as "0-3,6") into @cpus, at most @max.
 * @return their number, or a negative errno. */
int procfs_online_cpus(int *cpus, int max);

/* The integer sysctl kernel.@name (/proc/sys/kernel/NAME), or @def when unreadable. */
long procfs_kernel_sysctl(const char *name, long def);

#endif /* SMOLDER_AGENT_PROCFS_H */

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * python.h - Python frames of CPython processes, without touching the process: finds
 * the interpreter in a process (the ELF file whose code runs the eval loop, its
 * version from Py_Version, where _PyRuntime is) and tells the BPF sampler where the
 * frames are (struct smolder_py_proc, sample_record.h); the sampler then copies each
 * sampled thread's chain of code objects into the sample; this module names them
 * ("qualname (file.py:line)") by reading the process's memory, and caches the names
 * per process. Internal to agent/; the collector and the session use it.
 *
 * Supported: CPython 3.11 and 3.12 (offsets built in, taken from their headers) and
 * 3.13 (offsets read from the _Py_DebugOffsets the runtime publishes). Any other
 * version, or a free-threaded build, is left with its native frames and one note.
 */
#ifndef SMOLDER_AGENT_PYTHON_H
#define SMOLDER_AGENT_PYTHON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent.h"

struct python;

/* Hand @proc to the sampler (its py_procs map) for process @pid.
 * @return 0 or a negative errno (-EOPNOTSUPP: the sampler cannot walk frames;
 * -EAGAIN: no sampler yet, see python__register_all). */
typedef int (*python_register_fn)(pid_t pid, const struct smolder_py_proc *proc, void *ctx);

/* @sym finds and opens mapped files (borrowed). NULL with errno set on failure. */
struct python *python__new(struct symbolizer *sym, python_register_fn reg, void *ctx);
void python__free(struct python *py);

/*
 * Process @pid (program image @image) was seen running the eval loop at @addr
 * (a native frame named _PyEval_EvalFrameDefault): find its interpreter, once per
 * image, and register it with the sampler. Failures cost the process its Python
 * frames, with one note per file.
 */
void python__found_eval(struct python *py, pid_t pid, uint32_t image, uint64_t addr);

/* Look for an interpreter in live process @pid now, before its first sample, when
 * its executable's name says Python (others are found by their eval loop frames). */
void python__probe_pid(struct python *py, pid_t pid);

/* python__probe_pid for every process on the machine (sampling with -a). */
void python__probe_all(struct python *py);

/* Hand every interpreter found so far to the sampler again: those found before it
 * existed (the register callback returned -EAGAIN then). */
void python__register_all(struct python *py);

/*
 * Name Python frame @f of process @pid as "qualname (file.py:line)" into @buf.
 * @return 0; -ENOENT when @f's code object is no longer there (freed since the
 * sample: module code after its import, say); -ESRCH when @pid has no registered
 * interpreter, or is gone; -EPERM, -EFAULT, ... when its memory cannot be read.
 */
int python__frame_name(struct python *py, pid_t pid, const struct smolder_py_frame *f,
		       char *buf, size_t len);

/* Forget what is known of @pid (it exited or exec'd).
 * @return whether it was handed to the sampler as a CPython process. */
bool python__forget_process(struct python *py, pid_t pid);

/* A new flush interval: names cached so far are dropped, so a code object freed and
 * another allocated at its address is named afresh at least once an interval. */
void python__new_interval(struct python *py);

void python__stats(const struct python *py, struct python_stats *out);

/* Line of byte offset @lasti in a CPython 3.11+ location table @table (co_linetable)
 * of a code object starting at line @firstlineno; -1 when the table has none. */
int python_line(const uint8_t *table, size_t len, int firstlineno, uint32_t lasti);

#endif /* SMOLDER_AGENT_PYTHON_H */

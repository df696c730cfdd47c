/* SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only OR BSD-2-Clause */
/*
 * sample_record.h - the layout of what the BPF sampler (sampler.bpf.c) hands to user
 * space, shared by the BPF program and its loaders: the ring-buffer record, the
 * counters and the limits. The perf_event backend writes the same record. Nothing
 * else belongs here.
 */
#ifndef SMOLDER_SAMPLE_RECORD_H
#define SMOLDER_SAMPLE_RECORD_H

/* The record carries user registers in one architecture's numbering: x86_64 is the
 * only one smolder supports so far. (__TARGET_ARCH_x86 when compiled for BPF.) */
#if !defined(__x86_64__) && !defined(__TARGET_ARCH_x86)
#error "smolder supports x86_64 only: sample_record.h's register layout needs a port"
#endif

#define SMOLDER_MAX_STACK_DEPTH 127 /* the kernel's default perf_event_max_stack */
#define SMOLDER_COMM_LEN 16
#define SMOLDER_MAX_TARGETS 65536   /* processes followed at once (targets map) */

/* User registers copied for DWARF unwinding, in libunwind's x86_64 numbering
 * (UNW_X86_64_RAX ..): rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip. */
#define SMOLDER_NUM_REGS 17
#define SMOLDER_REG_BP 6
#define SMOLDER_REG_SP 7
#define SMOLDER_REG_IP 16

/* Largest user-stack snapshot (--stack-bytes); a power of two for the verifier. */
#define SMOLDER_MAX_STACK_BYTES 65536

/* smolder_sample.flags */
#define SMOLDER_SAMPLE_KERNEL_MODE 0x1  /* the CPU was in the kernel when sampled */
#define SMOLDER_SAMPLE_HAS_REGS 0x2     /* regs[] holds the user registers */
#define SMOLDER_SAMPLE_STACK_SHORT 0x4  /* the full snapshot could not be read; a
					   shorter one (stack_size) was */
#define SMOLDER_SAMPLE_FIRST 0x8        /* first sample of this process, or since it
					   exec'd or its pid was reused */

/* Python frames the BPF program reads per sample (CPython's frame chain). */
#define SMOLDER_MAX_PY_FRAMES 64

/* smolder_py_frame.flags */
#define SMOLDER_PY_ENTRY 0x1 /* the outermost Python frame of one native call of the
				interpreter's eval loop (_PyEval_EvalFrameDefault) */

/* A Python frame: the code object it runs and how far into it. User space names the
 * code object ("qualname (file.py:line)") by reading the process's memory. */
struct smolder_py_frame {
	__u64 code;  /* PyCodeObject address */
	__u64 ident; /* the code object's co_filename and co_name pointers, xor'ed
			(smolder_py_ident): user space names the code object only if it
			still has them, so a code object freed since the sample and another
			allocated at its address is never named for it */
	__u32 lasti; /* byte offset of the current instruction in its bytecode */
	__u32 flags; /* SMOLDER_PY_* */
};

/* smolder_py_frame.ident from the two pointers at smolder_py_proc.code_ident. */
static inline __u64 smolder_py_ident(__u64 filename, __u64 name)
{
	return filename ^ (name << 1 | name >> 63);
}

/* Why a sample of a process known to run CPython has the Python frames it has. */
enum smolder_py_status {
	SMOLDER_PY_NONE = 0,    /* not a known CPython process */
	SMOLDER_PY_OK,          /* py[] holds the whole chain */
	SMOLDER_PY_NO_THREAD,   /* no thread state for this thread (a thread that never
				   ran Python, or one starting or ending) */
	SMOLDER_PY_READ_ERR,    /* interpreter memory could not be read */
	SMOLDER_PY_TRUNCATED,   /* the chain is deeper than SMOLDER_MAX_PY_FRAMES */
};

/*
 * Where a CPython process keeps its frames, for the BPF walk: the address of its
 * _PyRuntime and the offsets of the fields followed from there, for its version.
 * Written by user space (agent/python.c) into the py_procs map, keyed by tgid.
 */
struct smolder_py_proc {
	__u64 runtime;             /* &_PyRuntime in the process */
	__u16 interp_head;         /* _PyRuntimeState.interpreters.head */
	__u16 threads_head;        /* PyInterpreterState.threads.head */
	__u16 tstate_next;         /* PyThreadState.next */
	__u16 tstate_native_tid;   /* PyThreadState.native_thread_id */
	__u16 tstate_frame;        /* PyThreadState.cframe (<= 3.12) or .current_frame */
	__u16 cframe_frame;        /* _PyCFrame.current_frame; SMOLDER_PY_NO_OFF in 3.13+ */
	__u16 frame_code;          /* _PyInterpreterFrame.f_code / f_executable */
	__u16 frame_previous;      /* .previous */
	__u16 frame_instr;         /* .prev_instr / instr_ptr */
	__u16 frame_owner;         /* .owner (FRAME_OWNED_BY_CSTACK frames are shims) */
	__u16 frame_is_entry;      /* .is_entry (3.11); SMOLDER_PY_NO_OFF after */
	__u16 code_adaptive;       /* PyCodeObject.co_code_adaptive: the bytecode */
	__u16 code_ident;          /* PyCodeObject.co_filename, followed by co_name */
	__u16 pad[3];
};

#define SMOLDER_PY_NO_OFF 0xffff
#define SMOLDER_PY_OWNED_BY_CSTACK 3
/* Bytes of an _PyInterpreterFrame read at once; every frame offset is below it. */
#define SMOLDER_PY_FRAME_READ 96

/* One sample, as the BPF program hands it over. Stack lengths are in bytes as
 * bpf_get_stack() returns them, or a negative errno when it failed. The record is
 * followed by stack_bytes (the loader's setting) of user-stack snapshot, of which
 * the first stack_size bytes, starting at regs[SMOLDER_REG_SP], are valid. */
struct smolder_sample {
	__u64 time_ns; /* CLOCK_BOOTTIME (bpf_ktime_get_boot_ns): counts suspend too */
	__u32 pid;     /* tgid */
	__u32 tid;
	__u32 cpu;
	__u32 flags;
	__s32 kstack_len;
	__s32 ustack_len;
	char comm[SMOLDER_COMM_LEN];
	__u64 kstack[SMOLDER_MAX_STACK_DEPTH];
	__u64 ustack[SMOLDER_MAX_STACK_DEPTH];
	__u64 regs[SMOLDER_NUM_REGS];
	__u32 stack_size;
	__u16 py_len;    /* Python frames in py[], innermost first */
	__u16 py_status; /* enum smolder_py_status */
	struct smolder_py_frame py[SMOLDER_MAX_PY_FRAMES];
	__u8 stack[];
};

/* What happened to a process, in the second ring buffer ("procs"): how user space
 * learns of a process's life from the kernel, so that it frees what it holds for a
 * process when the process ends and reads its labels while it lives. */
enum smolder_event_kind {
	SMOLDER_EVENT_FORK = 1, /* a new process (not a thread): pid, ppid */
	SMOLDER_EVENT_EXEC,     /* pid runs a new program: filename, cgroup_id */
	SMOLDER_EVENT_EXIT,     /* pid's last thread exited */
};

#define SMOLDER_PATH_LEN 256
/* An exec's environment up to this size travels with its event: the labels it names
 * (the service, the version) are then known without reading /proc/PID/environ, and
 * as the program started, before it could overwrite the area (setproctitle). */
#define SMOLDER_ENV_LEN 8192

enum smolder_event_flags {
	SMOLDER_EVENT_ENV = 1, /* EXEC: the whole environment follows the event */
};

struct smolder_event {
	__u64 time_ns;   /* CLOCK_BOOTTIME, as samples */
	__u32 kind;      /* enum smolder_event_kind */
	__u32 pid;       /* tgid */
	__u32 ppid;      /* FORK: the parent's tgid */
	__u32 dev;       /* EXEC: the device of the file it runs (kernel encoding:
			    major << 20 | minor) */
	__u64 ino;       /* EXEC: and its inode */
	__u64 cgroup_id; /* EXEC: the cgroup v2 id (the inode of its cgroupfs directory) */
	__s64 size;      /* EXEC: the file's size and last modification, as stat gives */
	__s64 mtime_sec; /*       them, so that user space need not stat its path */
	__u32 mtime_nsec;
	__u32 pad;
	char comm[SMOLDER_COMM_LEN];
	char filename[SMOLDER_PATH_LEN]; /* EXEC: the path given to execve (may be
					    relative, or /proc/self/exe); for a
					    script, its "#!" interpreter's */
	__u32 flags;     /* enum smolder_event_flags */
	__u32 env_len;   /* with SMOLDER_EVENT_ENV: the environment's bytes (NAME=value
			    strings, each NUL-terminated), right after the event */
};

/* Indexes into the per-CPU counters map. */
enum smolder_counter {
	SMOLDER_CNT_SAMPLES,        /* program runs that matched a target */
	SMOLDER_CNT_LOST,           /* no room in the ring buffer: sample dropped */
	SMOLDER_CNT_KSTACK_ERR,     /* bpf_get_stack(kernel) failed */
	SMOLDER_CNT_USTACK_ERR,     /* bpf_get_stack(user) failed */
	SMOLDER_CNT_KSTACK_TRUNC,   /* kernel stack hit the depth limit */
	SMOLDER_CNT_USTACK_TRUNC,   /* user stack hit the depth limit */
	SMOLDER_CNT_FORKS,          /* child processes of targets followed */
	SMOLDER_CNT_TARGETS_FULL,   /* a child could not be followed: targets map full */
	SMOLDER_CNT_STACK_SHORT,    /* user-stack snapshot shorter than asked for */
	SMOLDER_CNT_STACK_ERR,      /* no user-stack snapshot could be read at all */
	SMOLDER_CNT_EVENTS_LOST,    /* no room in the procs ring: a process event dropped */
	SMOLDER_CNT_PY_SAMPLES,     /* samples of known CPython processes */
	SMOLDER_CNT_PY_FRAMES,      /* Python frames read */
	SMOLDER_CNT_PY_NO_THREAD,   /* ... samples whose thread had no thread state */
	SMOLDER_CNT_PY_READ_ERR,    /* ... whose interpreter memory could not be read */
	SMOLDER_CNT_PY_TRUNC,       /* ... whose chain was cut at SMOLDER_MAX_PY_FRAMES */
	SMOLDER_CNT_PY_WAKEUPS,     /* young CPython processes' samples that woke the
				       reader (python_wakeups) */
	SMOLDER_CNT_MAX,
};

#endif /* SMOLDER_SAMPLE_RECORD_H */

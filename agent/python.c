/* SPDX-License-Identifier: Apache-2.0 */
/*
 * python.c - finding CPython interpreters in processes and naming their code objects
 * (python.h). Everything read from a process goes through process_vm_readv: the
 * process is never stopped, and memory that is gone or changed costs a frame its
 * name, never the run.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "hash.h"
#include "log.h"
#include "procfs.h"
#include "python.h"

#define PROCESS_SLOTS 4096       /* CPython processes followed at once (py_procs) */
#define CODE_SLOTS_MAX 8192      /* code objects named per process and interval */
#define FILE_SLOTS 64            /* ELF files probed, remembered */
#define NAME_MAX_BYTES 256       /* of a qualname or file name kept */
#define LINETABLE_MAX (64 << 10) /* location table bytes read per code object */
#define MAX_READ_NOTES 4         /* processes whose memory could not be read, told */
#define CODE_BYTES_MAX (8u << 20) /* names and line tables kept, all processes */

/* Where the fields this module reads sit, for one CPython version. */
struct py_layout {
	struct smolder_py_proc bpf; /* what the sampler needs (runtime left 0) */
	uint16_t co_filename, co_name, co_qualname, co_linetable, co_firstlineno;
	uint16_t ascii_size;   /* sizeof(PyASCIIObject): compact ASCII text follows */
	uint16_t compact_size; /* sizeof(PyCompactUnicodeObject): other compact text */
};

/* Offsets from the CPython headers (Include/internal), compiled with Py_BUILD_CORE
 * against 3.11.2 (Debian), 3.11.7 and 3.12.1 (identical within a minor version):
 * see docs/architecture.md, "Python frames". */
static const struct py_layout layout_3_11 = {
	.bpf = { .interp_head = 40, .threads_head = 16, .tstate_next = 8,
		 .tstate_native_tid = 160, .tstate_frame = 56, .cframe_frame = 8,
		 .frame_code = 32, .frame_previous = 48, .frame_instr = 56, .frame_owner = 69,
		 .frame_is_entry = 68, .code_adaptive = 184, .code_ident = 112 },
	.co_filename = 112, .co_name = 120, .co_qualname = 128, .co_linetable = 136,
	.co_firstlineno = 72, .ascii_size = 48, .compact_size = 72,
};

static const struct py_layout layout_3_12 = {
	.bpf = { .interp_head = 40, .threads_head = 72, .tstate_next = 8,
		 .tstate_native_tid = 144, .tstate_frame = 56, .cframe_frame = 0,
		 .frame_code = 0, .frame_previous = 8, .frame_instr = 56, .frame_owner = 70,
		 .frame_is_entry = SMOLDER_PY_NO_OFF, .code_adaptive = 192, .code_ident = 112 },
	.co_filename = 112, .co_name = 120, .co_qualname = 128, .co_linetable = 136,
	.co_firstlineno = 68, .ascii_size = 40, .compact_size = 56,
};

/* The head of CPython 3.13's _Py_DebugOffsets (Include/internal/pycore_runtime.h),
 * at the start of _PyRuntime: every field an offset or a size, in bytes. */
struct debug_offsets_3_13 {
	char cookie[8]; /* "xdebugpy" */
	uint64_t version; /* PY_VERSION_HEX */
	uint64_t free_threaded;
	struct { uint64_t size, finalizing, interpreters_head; } runtime_state;
	struct {
		uint64_t size, id, next, threads_head, gc, imports_modules, sysdict, builtins,
			ceval_gil, gil_runtime_state, gil_runtime_state_enabled,
			gil_runtime_state_locked, gil_runtime_state_holder;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
			datastack_chunk, status;
	} thread_state;
	struct { uint64_t size, previous, executable, instr_ptr, localsplus, owner; } interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
			localsplusnames, localspluskinds, co_code_adaptive;
	} code_object;
	struct { uint64_t size, ob_type; } pyobject;
	struct { uint64_t size, tp_name, tp_repr, tp_flags; } type_object;
	struct { uint64_t size, ob_item, ob_size; } tuple_object;
	struct { uint64_t size, ob_item, ob_size; } list_object;
	struct { uint64_t size, ma_keys, ma_values; } dict_object;
	struct { uint64_t size, ob_fval; } float_object;
	struct { uint64_t size, lv_tag, ob_digit; } long_object;
	struct { uint64_t size, ob_size, ob_sval; } bytes_object;
	struct { uint64_t size, state, length, asciiobject_size; } unicode_object;
};

/* What an ELF file says about the interpreter in it, remembered per file. */
struct py_file {
	uint64_t dev, inode;     /* 0: empty slot */
	bool python;             /* has _PyRuntime */
	uint64_t runtime_vaddr, version_vaddr, code_type_vaddr; /* 0: no such symbol */
	uint64_t pgoff;          /* file offset of the mapping probed, and the PT_LOAD */
	uint64_t seg_vaddr, seg_offset; /* segment that maps it */
	bool noted;              /* a note about this file was given */
};

struct py_code {
	uint64_t addr; /* 0: empty */
	uint64_t ident; /* smolder_py_ident of what was read */
	char *qualname, *file;
	uint8_t *linetable;
	uint32_t linetable_len;
	uint32_t code_units; /* Py_SIZE: bytecode length in code units */
	int firstlineno;
};

enum proc_state { PROC_EMPTY, PROC_PYTHON, PROC_NOT_PYTHON };

struct py_process {
	pid_t pid;
	uint32_t image;
	enum proc_state state;
	bool noted;         /* a note about reading its memory was given */
	uint64_t code_type; /* &PyCode_Type in the process */
	const struct py_layout *layout;
	struct py_layout own; /* 3.13: read from the process */
	struct smolder_py_proc bpf; /* what the sampler was given */
	struct py_code *codes;
	size_t ncodes, code_cap; /* code_cap: slots, a power of two */
};

struct python {
	struct symbolizer *sym;
	python_register_fn reg;
	void *reg_ctx;
	struct py_process procs[PROCESS_SLOTS]; /* open addressing by pid */
	size_t nprocs;
	struct py_file files[FILE_SLOTS];
	size_t next_file;
	bool noted_register;
	unsigned read_notes;
	size_t code_bytes; /* held by every process's named code objects */
	struct python_stats st;
};

/* ---- process memory ---- */

static int read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n == (ssize_t)len)
		return 0;
	if (n < 0)
		return -errno;
	return -EFAULT; /* a partial read: part of it is not mapped */
}

static uint64_t load_u64(const uint8_t *buf, size_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

static uint32_t load_u32(const uint8_t *buf, size_t off)
{
	uint32_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/* Append code point @c to @out (room for @cap bytes, NUL kept) as UTF-8. */
static size_t put_utf8(char *out, size_t n, size_t cap, uint32_t c)
{
	char b[4];
	size_t k;

	if (c < 0x80) {
		b[0] = (char)c;
		k = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3f));
		k = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		k = 3;
	} else {
		if (c > 0x10ffff)
			c = 0xfffd;
		b[0] = (char)(0xf0 | c >> 18);
		b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		k = 4;
	}
	if (n + k >= cap)
		return n;
	memcpy(out + n, b, k);
	return n + k;
}

/*
 * Read the str object at @addr as UTF-8 (cut at NAME_MAX_BYTES). Only compact
 * strings, which names and file names always are.
 * @return a malloc'd string, or NULL with errno set.
 */
static char *read_str(pid_t pid, const struct py_layout *l, uint64_t addr)
{
	uint8_t head[128], data[NAME_MAX_BYTES * 4];
	uint32_t state, kind;
	uint64_t length;
	size_t off, n = 0, bytes;
	char *out;
	int err;

	if (!addr || l->compact_size > sizeof(head)) {
		errno = ENOENT;
		return NULL;
	}
	err = read_mem(pid, addr, head, l->compact_size);
	if (err) {
		errno = -err;
		return NULL;
	}
	length = load_u64(head, 16);
	state = load_u32(head, 32);
	kind = (state >> 2) & 7;
	if (!((state >> 5) & 1) || (kind != 1 && kind != 2 && kind != 4)) {
		errno = ENOENT; /* not compact: no name has this form */
		return NULL;
	}
	off = (state >> 6) & 1 ? l->ascii_size : l->compact_size;
	if (length > NAME_MAX_BYTES)
		length = NAME_MAX_BYTES;
	bytes = length * kind;
	if (bytes && (err = read_mem(pid, addr + off, data, bytes))) {
		errno = -err;
		return NULL;
	}
	out = malloc(NAME_MAX_BYTES * 4 + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < length; i++) {
		uint32_t c = kind == 1 ? data[i] :
			     kind == 2 ? (uint32_t)data[2 * i] | (uint32_t)data[2 * i + 1] << 8 :
					 load_u32(data, 4 * i);
		n = put_utf8(out, n, NAME_MAX_BYTES * 4 + 1, c);
	}
	out[n] = '\0';
	return out;
}

/* ---- line numbers (Objects/locations.md of CPython 3.11+) ---- */

static bool read_varint(const uint8_t *t, size_t len, size_t *i, uint32_t *out)
{
	uint32_t v = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		if (*i >= len || shift > 28)
			return false;
		b = t[(*i)++];
		v |= (uint32_t)(b & 63) << shift;
		shift += 6;
	} while (b & 64);
	*out = v;
	return true;
}

int python_line(const uint8_t *t, size_t len, int firstlineno, uint32_t lasti)
{
	uint32_t target = lasti / 2, pc = 0, v;
	int64_t line = firstlineno; /* deltas from another process: no int overflow */
	size_t i = 0;

	while (i < len) {
		uint8_t b = t[i++];
		int code = (b >> 3) & 15, delta = 0;
		uint32_t units = (b & 7) + 1;
		bool none = false;

		if (!(b & 0x80))
			return -1; /* every entry starts with the top bit set */
		switch (code) {
		case 15: /* no location */
			none = true;
			break;
		case 14: /* long form: line delta, end line, column, end column */
		case 13: /* no columns: line delta */
			if (!read_varint(t, len, &i, &v))
				return -1;
			delta = v & 1 ? -(int)(v >> 1) : (int)(v >> 1);
			for (int k = 0; code == 14 && k < 3; k++)
				if (!read_varint(t, len, &i, &v))
					return -1;
			break;
		case 10: case 11: case 12: /* one line, 0-2 below the last: two column bytes */
			delta = code - 10;
			i += 2;
			break;
		default: /* short form, same line: one column byte */
			i += 1;
			break;
		}
		line += delta;
		if (target < pc + units)
			return none || line < 0 || line > INT32_MAX ? -1 : (int)line;
		pc += units;
	}
	return -1;
}

/* ---- processes ---- */

static struct py_process *proc_slot(struct python *py, pid_t pid, bool add)
{
	uint32_t mask = PROCESS_SLOTS - 1;
	uint32_t i = (uint32_t)hash_mix64((uint64_t)pid) & mask;

	for (uint32_t n = 0; n < PROCESS_SLOTS; n++, i = (i + 1) & mask) {
		struct py_process *p = &py->procs[i];

		if (p->state == PROC_EMPTY) {
			if (!add || py->nprocs >= PROCESS_SLOTS * 3 / 4)
				return NULL;
			memset(p, 0, sizeof(*p));
			p->pid = pid;
			py->nprocs++;
			return p;
		}
		if (p->pid == pid)
			return p;
	}
	return NULL;
}

static size_t code_size(const struct py_code *c)
{
	return sizeof(*c) + (c->qualname ? strlen(c->qualname) + 1 : 0) +
	       (c->file ? strlen(c->file) + 1 : 0) + c->linetable_len;
}

static void drop_codes(struct python *py, struct py_process *p)
{
	for (size_t i = 0; i < p->code_cap; i++) {
		if (p->codes[i].addr)
			py->code_bytes -= code_size(&p->codes[i]);
		free(p->codes[i].qualname);
		free(p->codes[i].file);
		free(p->codes[i].linetable);
	}
	free(p->codes);
	p->codes = NULL;
	p->ncodes = p->code_cap = 0;
}

/* Remove @p from the open-addressing table, moving later entries of its run back. */
static void proc_remove(struct python *py, struct py_process *p)
{
	uint32_t mask = PROCESS_SLOTS - 1;
	uint32_t i = (uint32_t)(p - py->procs), j = i;

	drop_codes(py, p);
	p->state = PROC_EMPTY;
	py->nprocs--;
	for (;;) {
		j = (j + 1) & mask;
		struct py_process *q = &py->procs[j];
		uint32_t home;

		if (q->state == PROC_EMPTY)
			return;
		home = (uint32_t)hash_mix64((uint64_t)q->pid) & mask;
		/* q may move to i when its home is not in (i, j] cyclically */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			py->procs[i] = *q;
			q->state = PROC_EMPTY;
			q->codes = NULL;
			q->ncodes = q->code_cap = 0;
			i = j;
		}
	}
}

bool python__forget_process(struct python *py, pid_t pid)
{
	struct py_process *p = proc_slot(py, pid, false);
	bool was_python = p && p->state == PROC_PYTHON;

	if (p)
		proc_remove(py, p);
	return was_python;
}

/* ---- finding the interpreter ---- */

/* Read the symbols and the PT_LOAD segment of the file behind @m that matter. */
static int probe_file(int fd, const struct symbolizer_mapping *m, struct py_file *f)
{
	Elf *e;
	Elf_Scn *scn = NULL;
	size_t nph;
	int err = -ENOEXEC;

	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF)
		goto out;
	if (elf_getphdrnum(e, &nph))
		goto out;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (m->pgoff >= (ph.p_offset & ~(ph.p_align ? ph.p_align - 1 : 0)) &&
		    m->pgoff < ph.p_offset + ph.p_filesz) {
			f->seg_vaddr = ph.p_vaddr;
			f->seg_offset = ph.p_offset;
			err = 0;
			break;
		}
	}
	if (err)
		goto out;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) ||
		    !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *name;

			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value)
				continue;
			name = elf_strptr(e, sh.sh_link, s.st_name);
			if (!name || (name[0] != '_' && name[0] != 'P'))
				continue;
			if (!strcmp(name, "_PyRuntime"))
				f->runtime_vaddr = s.st_value;
			else if (!strcmp(name, "Py_Version"))
				f->version_vaddr = s.st_value;
			else if (!strcmp(name, "PyCode_Type"))
				f->code_type_vaddr = s.st_value;
		}
	}
	f->python = f->runtime_vaddr != 0;
out:
	if (e)
		elf_end(e);
	return err;
}

static struct py_file *file_for(struct python *py, pid_t pid, uint64_t addr,
				struct symbolizer_mapping *m)
{
	struct py_file *f;
	int fd = symbolizer__open_mapping_at(py->sym, pid, addr, m);

	if (fd < 0)
		return NULL;
	for (size_t i = 0; i < FILE_SLOTS; i++) {
		f = &py->files[i];
		if (f->inode && f->dev == m->dev && f->inode == m->inode && f->pgoff == m->pgoff) {
			close(fd);
			return f;
		}
	}
	f = &py->files[py->next_file++ % FILE_SLOTS];
	*f = (struct py_file){ .dev = m->dev, .inode = m->inode, .pgoff = m->pgoff };
	if (probe_file(fd, m, f))
		f->python = false;
	close(fd);
	return f;
}

/* Fill @l from the _Py_DebugOffsets of a 3.13 runtime at @runtime. */
static int layout_from_debug_offsets(pid_t pid, uint64_t runtime, struct py_layout *l)
{
	struct debug_offsets_3_13 d;
	int err = read_mem(pid, runtime, &d, sizeof(d));

	if (err)
		return err;
	if (memcmp(d.cookie, "xdebugpy", 8) || (d.version >> 16) != 0x030d || d.free_threaded)
		return -ENOTSUP;
	/* Every field the sampler reads must fall inside what it copies per frame, and
	 * every offset must fit the map's 16 bits. */
	if (d.interpreter_frame.previous > SMOLDER_PY_FRAME_READ - 8 ||
	    d.interpreter_frame.executable > SMOLDER_PY_FRAME_READ - 8 ||
	    d.interpreter_frame.instr_ptr > SMOLDER_PY_FRAME_READ - 8 ||
	    d.interpreter_frame.owner >= SMOLDER_PY_FRAME_READ ||
	    d.runtime_state.interpreters_head > 0xfff0 || d.interpreter_state.threads_head > 0xfff0 ||
	    d.thread_state.current_frame > 0xfff0 || d.thread_state.native_thread_id > 0xfff0 ||
	    d.thread_state.next > 0xfff0 || d.code_object.co_code_adaptive > 0xfff0 ||
	    d.code_object.filename > 0xfff0 || d.code_object.name > 0xfff0 ||
	    d.code_object.qualname > 0xfff0 || d.code_object.linetable > 0xfff0 ||
	    d.code_object.firstlineno > 0xfff0 || d.unicode_object.asciiobject_size > 0x70 ||
	    d.code_object.name != d.code_object.filename + 8)
		return -ENOTSUP;
	*l = (struct py_layout){
		.bpf = {
			.interp_head = (uint16_t)d.runtime_state.interpreters_head,
			.threads_head = (uint16_t)d.interpreter_state.threads_head,
			.tstate_next = (uint16_t)d.thread_state.next,
			.tstate_native_tid = (uint16_t)d.thread_state.native_thread_id,
			.tstate_frame = (uint16_t)d.thread_state.current_frame,
			.cframe_frame = SMOLDER_PY_NO_OFF,
			.frame_code = (uint16_t)d.interpreter_frame.executable,
			.frame_previous = (uint16_t)d.interpreter_frame.previous,
			.frame_instr = (uint16_t)d.interpreter_frame.instr_ptr,
			.frame_owner = (uint16_t)d.interpreter_frame.owner,
			.frame_is_entry = SMOLDER_PY_NO_OFF,
			.code_adaptive = (uint16_t)d.code_object.co_code_adaptive,
			.code_ident = (uint16_t)d.code_object.filename,
		},
		.co_filename = (uint16_t)d.code_object.filename,
		.co_name = (uint16_t)d.code_object.name,
		.co_qualname = (uint16_t)d.code_object.qualname,
		.co_linetable = (uint16_t)d.code_object.linetable,
		.co_firstlineno = (uint16_t)d.code_object.firstlineno,
		.ascii_size = (uint16_t)d.unicode_object.asciiobject_size,
		/* PyCompactUnicodeObject adds utf8_length and utf8 to PyASCIIObject */
		.compact_size = (uint16_t)(d.unicode_object.asciiobject_size + 16),
	};
	return 0;
}

static void note_file(struct py_file *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note_file(struct py_file *f, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (f->noted)
		return;
	f->noted = true;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	agent_log(AGENT_LOG_NOTE, "python: %s", line);
}

/* The sampler took (@err 0) or refused interpreter @p. */
static void registered(struct python *py, struct py_process *p, int err)
{
	if (!err) {
		py->st.processes++;
		return;
	}
	p->state = PROC_NOT_PYTHON;
	py->st.probe_errors++;
	if (!py->noted_register) {
		py->noted_register = true;
		agent_log(AGENT_LOG_NOTE, "python: cannot follow the Python frames of pid %d: %s%s",
			  (int)p->pid, strerror(-err),
			  err == -EOPNOTSUPP ? " (they need the BPF sampler)" : "");
	}
}

/*
 * Is the file mapped at @addr in @pid (with @p's slot) a CPython interpreter? If so
 * find its version and runtime and register the process with the sampler.
 * @return true when it is a CPython interpreter (supported or not).
 */
static bool probe_at(struct python *py, struct py_process *p, pid_t pid, uint64_t addr)
{
	struct symbolizer_mapping m;
	struct py_file *f;
	struct smolder_py_proc bpf;
	uint64_t bias, version = 0;
	unsigned major, minor;
	int err;

	f = file_for(py, pid, addr, &m);
	if (!f || !f->python)
		return false;
	/* The load bias: where the segment mapped at m.pgoff landed, minus its vaddr. */
	bias = m.start - m.pgoff + f->seg_offset - f->seg_vaddr;
	if (f->version_vaddr &&
	    (err = read_mem(pid, bias + f->version_vaddr, &version, sizeof(version)))) {
		py->st.probe_errors++;
		if (err != -ESRCH)
			note_file(f, "cannot read the memory of pid %d (%s), which runs %s: its "
				  "samples show the interpreter's native frames", (int)pid,
				  strerror(-err), m.path);
		return true;
	}
	if (!f->version_vaddr) {
		py->st.unsupported++;
		note_file(f, "%s (pid %d) has no Py_Version, so it is a CPython older than 3.11: "
			  "unsupported, its samples show the interpreter's native frames",
			  m.path, (int)pid);
		return true;
	}
	major = (unsigned)(version >> 24) & 0xff;
	minor = (unsigned)(version >> 16) & 0xff;
	if (major == 3 && minor == 11) {
		p->layout = &layout_3_11;
	} else if (major == 3 && minor == 12) {
		p->layout = &layout_3_12;
	} else if (major == 3 && minor == 13 &&
		   !(err = layout_from_debug_offsets(pid, bias + f->runtime_vaddr, &p->own))) {
		p->layout = &p->own;
	} else {
		py->st.unsupported++;
		note_file(f, "%s (pid %d) is CPython %u.%u: unsupported (3.11 to 3.13 are), its "
			  "samples show the interpreter's native frames", m.path, (int)pid, major, minor);
		return true;
	}
	p->code_type = f->code_type_vaddr ? bias + f->code_type_vaddr : 0;
	bpf = p->layout->bpf;
	bpf.runtime = bias + f->runtime_vaddr;
	p->bpf = bpf;
	p->state = PROC_PYTHON;
	err = py->reg(pid, &bpf, py->reg_ctx);
	if (err != -EAGAIN)
		registered(py, p, err);
	return true;
}

/* The slot of @pid for a probe of program image @image; NULL when probed already
 * (whatever came of it) or when the table is full. */
static struct py_process *probe_slot(struct python *py, pid_t pid, uint32_t image)
{
	struct py_process *p = proc_slot(py, pid, false);

	if (p && (p->image == image || (p->image == 0 && p->state == PROC_PYTHON))) {
		p->image = image; /* found before its first sample: that image */
		return NULL;
	}
	if (p)
		proc_remove(py, p); /* an older image of the pid */
	p = proc_slot(py, pid, true);
	if (!p) {
		py->st.probe_errors++;
		return NULL;
	}
	p->image = image;
	p->state = PROC_NOT_PYTHON;
	return p;
}

void python__found_eval(struct python *py, pid_t pid, uint32_t image, uint64_t addr)
{
	struct py_process *p = probe_slot(py, pid, image);

	if (p && !probe_at(py, p, pid, addr))
		py->st.probe_errors++; /* the eval loop in a file without _PyRuntime */
}

/* Does @path's file name say Python ("python3.12", "libpython3.12.so.1.0")? */
static bool python_named(const char *path)
{
	const char *base = strrchr(path, '/');

	return strstr(base ? base + 1 : path, "python") != NULL;
}

void python__probe_pid(struct python *py, pid_t pid)
{
	char path[64], line[4096 + 128], exe[4096];
	struct py_process *p;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	if (!python_named(exe) || !(p = probe_slot(py, pid, 0)))
		return;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start;
		char perms[8], file[4096];

		file[0] = '\0';
		if (sscanf(line, "%llx-%*s %7s %*s %*s %*s %4095s", &start, perms, file) < 2 ||
		    perms[2] != 'x' || file[0] != '/' || !python_named(file))
			continue;
		if (probe_at(py, p, pid, start))
			break;
	}
	fclose(f);
}

void python__register_all(struct python *py)
{
	for (size_t i = 0; i < PROCESS_SLOTS; i++) {
		struct py_process *p = &py->procs[i];

		if (p->state == PROC_PYTHON)
			registered(py, p, py->reg(p->pid, &p->bpf, py->reg_ctx));
	}
}

static int probe_one(pid_t pid, void *py)
{
	python__probe_pid(py, pid);
	return 0;
}

void python__probe_all(struct python *py)
{
	procfs_each_process(probe_one, py);
}

/* ---- naming code objects ---- */

static struct py_code *code_slot(struct py_process *p, uint64_t addr)
{
	size_t mask = p->code_cap - 1;
	size_t i = (size_t)hash_mix64(addr) & mask;

	while (p->codes[i].addr && p->codes[i].addr != addr)
		i = (i + 1) & mask;
	return &p->codes[i];
}

static int read_code(pid_t pid, const struct py_process *p, uint64_t addr, struct py_code *c)
{
	const struct py_layout *l = p->layout;
	uint8_t head[256];
	uint64_t table, tlen;
	char *name;
	int err;

	if (l->bpf.code_adaptive > sizeof(head))
		return -ENOTSUP;
	err = read_mem(pid, addr, head, l->bpf.code_adaptive);
	if (err)
		return err;
	/* Still a code object: its type is PyCode_Type (when the file names it). */
	if (p->code_type && load_u64(head, 8) != p->code_type)
		return -ENOENT;
	c->ident = smolder_py_ident(load_u64(head, l->co_filename), load_u64(head, l->co_name));
	c->code_units = (uint32_t)load_u64(head, 16);
	c->firstlineno = (int)load_u32(head, l->co_firstlineno);
	name = read_str(pid, l, load_u64(head, l->co_qualname));
	if (!name)
		name = read_str(pid, l, load_u64(head, l->co_name));
	if (!name)
		return -errno;
	c->qualname = name;
	c->file = read_str(pid, l, load_u64(head, l->co_filename));
	if (!c->file)
		return -errno;
	table = load_u64(head, l->co_linetable);
	if (table && read_mem(pid, table + 16, &tlen, sizeof(tlen)) == 0 && tlen &&
	    tlen <= LINETABLE_MAX) {
		c->linetable = malloc(tlen);
		if (c->linetable && read_mem(pid, table + 32, c->linetable, tlen) == 0)
			c->linetable_len = (uint32_t)tlen;
	}
	return 0;
}

/* "file.py", or "pkg/__init__.py" (a package's file says little by itself). */
static const char *short_file(const char *path, char *buf, size_t len)
{
	const char *base = strrchr(path, '/');

	if (!base)
		return path;
	if (strcmp(base + 1, "__init__.py") && strcmp(base + 1, "__main__.py"))
		return base + 1;
	for (const char *q = base; q > path;) {
		if (*--q == '/') {
			snprintf(buf, len, "%s", q + 1);
			return buf;
		}
	}
	return path;
}

int python__frame_name(struct python *py, pid_t pid, const struct smolder_py_frame *f,
		       char *buf, size_t len)
{
	struct py_process *p = proc_slot(py, pid, false);
	struct py_code *c;
	char pkg[NAME_MAX_BYTES * 8];
	int line, err;

	if (!p || p->state != PROC_PYTHON)
		return -ESRCH;
	if (!f->code)
		return -ENOENT;
	/* Bounded in bytes over all processes: past the budget, every name is read
	 * again (names are cheap to read, and most intervals need few). */
	if (py->code_bytes > CODE_BYTES_MAX) {
		python__new_interval(py);
		py->st.code_resets++;
	}
	if (p->ncodes >= p->code_cap / 2) {
		if (p->code_cap >= CODE_SLOTS_MAX) {
			drop_codes(py, p); /* a bounded cache: start over */
		}
		size_t cap = p->code_cap ? p->code_cap * 2 : 64;
		struct py_code *old = p->codes;
		size_t oldcap = p->code_cap;

		p->codes = calloc(cap, sizeof(*p->codes));
		if (!p->codes) {
			p->codes = old;
			return -ENOMEM;
		}
		p->code_cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].addr)
				*code_slot(p, old[i].addr) = old[i];
		free(old);
	}
	c = code_slot(p, f->code);
	/* Read it unless known as the sample saw it (a code object at this address
	 * with the same file and name). */
	if (!c->addr || c->ident != f->ident) {
		struct py_code fresh = { 0 };

		py->st.codes_read++;
		err = read_code(pid, p, f->code, &fresh);
		if (!err && fresh.ident != f->ident)
			err = -ENOENT; /* freed since the sample; another one here now */
		if (err) {
			free(fresh.qualname);
			free(fresh.file);
			free(fresh.linetable);
			py->st.code_errors++;
			/* A process that is gone is no news; one that cannot be read is. */
			if ((err == -EPERM || err == -EACCES) && !p->noted &&
			    py->read_notes < MAX_READ_NOTES) {
				p->noted = true;
				py->read_notes++;
				agent_log(AGENT_LOG_NOTE, "python: cannot read the memory of pid %d "
					  "(%s): its samples show the interpreter's native frames",
					  (int)pid, strerror(-err));
			}
			return err;
		}
		fresh.addr = f->code;
		if (c->addr) {
			py->code_bytes -= code_size(c);
			free(c->qualname);
			free(c->file);
			free(c->linetable);
		} else {
			p->ncodes++;
		}
		*c = fresh;
		py->code_bytes += code_size(c);
	}
	if (f->lasti / 2 >= c->code_units) {
		py->st.code_errors++;
		return -ENOENT; /* not this code object's instruction */
	}
	line = python_line(c->linetable, c->linetable_len, c->firstlineno, f->lasti);
	if (line < 0)
		line = c->firstlineno;
	snprintf(buf, len, "%s (%s:%d)", c->qualname, short_file(c->file, pkg, sizeof(pkg)), line);
	return 0;
}

void python__new_interval(struct python *py)
{
	for (size_t i = 0; i < PROCESS_SLOTS; i++)
		if (py->procs[i].state != PROC_EMPTY)
			drop_codes(py, &py->procs[i]);
}

/* ---- life ---- */

struct python *python__new(struct symbolizer *sym, python_register_fn reg, void *ctx)
{
	struct python *py;

	if (!sym || !reg) {
		errno = EINVAL;
		return NULL;
	}
	py = calloc(1, sizeof(*py));
	if (!py)
		return NULL;
	py->sym = sym;
	py->reg = reg;
	py->reg_ctx = ctx;
	return py;
}

void python__free(struct python *py)
{
	if (!py)
		return;
	for (size_t i = 0; i < PROCESS_SLOTS; i++)
		drop_codes(py, &py->procs[i]);
	free(py);
}

void python__stats(const struct python *py, struct python_stats *out)
{
	*out = py->st;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pprof.c - export to and import from pprof's gzip-compressed profile.proto, the
 * format `go tool pprof`, Parca, Pyroscope and speedscope read. Messages are encoded
 * by protobuf-c from pprof.proto; compression is zlib's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "file.h"
#include "pprof.pb-c.h"
#include "profile_internal.h"

typedef Perftools__Profiles__Profile PProfile;
typedef Perftools__Profiles__Sample PSample;
typedef Perftools__Profiles__Label PLabel;
typedef Perftools__Profiles__Mapping PMapping;
typedef Perftools__Profiles__Location PLocation;
typedef Perftools__Profiles__Line PLine;
typedef Perftools__Profiles__Function PFunction;
typedef Perftools__Profiles__ValueType PValueType;

#define DEFAULT_PERIOD_NS (1000000000ull / 99)
#define KERNEL_MAPPING "[kernel.kallsyms]"
#define JIT_MAPPING "[jit]"
#define PYTHON_MAPPING "[python]"

/* ---- writer ---- */

/* Everything the message tree points into, freed in one place. */
struct pprof_out {
	struct profile *strtab; /* its strings are the string table, its frames the functions */
	struct sample_aggs set;
	PSample *samples;
	PSample **sample_ptrs;
	uint64_t *loc_ids;
	int64_t *values;
	PLabel *labels;
	PLabel **label_ptrs;
	PMapping *mappings;
	PMapping **mapping_ptrs;
	PLocation *locations;
	PLocation **location_ptrs;
	PLine *lines;
	PLine **line_ptrs;
	PFunction *functions;
	PFunction **function_ptrs;
	char **strings;
	uint8_t *packed;
};

static int str_id(struct pprof_out *o, const char *s, int64_t *id)
{
	uint32_t v;
	int err = profile__intern_string(o->strtab, s, strlen(s), &v);
	*id = v;
	return err;
}

static void pprof_out_free(struct pprof_out *o)
{
	profile__free(o->strtab);
	sample_aggs__free(&o->set);
	free(o->samples);
	free(o->sample_ptrs);
	free(o->loc_ids);
	free(o->values);
	free(o->labels);
	free(o->label_ptrs);
	free(o->mappings);
	free(o->mapping_ptrs);
	free(o->locations);
	free(o->location_ptrs);
	free(o->lines);
	free(o->line_ptrs);
	free(o->functions);
	free(o->function_ptrs);
	free(o->strings);
	free(o->packed);
}

static int gzip_write(const uint8_t *data, size_t len, FILE *out)
{
	unsigned char buf[65536];
	z_stream zs = { 0 };
	int err = 0, zr;

	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	zs.next_in = (unsigned char *)data;
	do {
		/* avail_in is 32-bit: feed large messages in slices. */
		if (zs.avail_in == 0 && len) {
			size_t n = len > (1u << 30) ? (1u << 30) : len;
			zs.next_in = (unsigned char *)data;
			zs.avail_in = (uInt)n;
			data += n;
			len -= n;
		}
		zs.next_out = buf;
		zs.avail_out = sizeof(buf);
		zr = deflate(&zs, len || zs.avail_in ? Z_NO_FLUSH : Z_FINISH);
		if (zr == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		size_t n = sizeof(buf) - zs.avail_out;
		errno = 0;
		if (n && fwrite(buf, 1, n, out) != n) {
			err = profile__stdio_error(out);
			break;
		}
	} while (zr != Z_STREAM_END);
	deflateEnd(&zs);
	errno = 0;
	if (!err && (fflush(out) == EOF || ferror(out)))
		err = profile__stdio_error(out);
	return err;
}

int profile__write_pprof(const struct profile *p, FILE *out)
{
	PProfile msg = PERFTOOLS__PROFILES__PROFILE__INIT;
	PValueType types[2] = { PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
				PERFTOOLS__PROFILES__VALUE_TYPE__INIT };
	PValueType *type_ptrs[2] = { &types[0], &types[1] };
	PValueType period_type = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	struct pprof_out o = { 0 };
	struct profile_info info;
	size_t nmap = p->mappings.len, nlabels = 0, nlocids = 0, kernel_map = 0, jit_map = 0,
	       python_map = 0;
	uint64_t period;
	int64_t sid;
	int err = -ENOMEM;

	profile__info(p, &info);
	period = info.period_ns ? info.period_ns : DEFAULT_PERIOD_NS;
	o.strtab = profile__new();
	if (!o.strtab)
		goto cleanup;
	/* string_table[0] must be "". */
	if ((err = str_id(&o, "", &sid)))
		goto cleanup;
	if ((err = str_id(&o, "samples", &types[0].type)) ||
	    (err = str_id(&o, "count", &types[0].unit)) ||
	    (err = str_id(&o, "cpu", &types[1].type)) ||
	    (err = str_id(&o, "nanoseconds", &types[1].unit)))
		goto cleanup;
	period_type = types[1];
	msg.n_sample_type = 2;
	msg.sample_type = type_ptrs;
	msg.period_type = &period_type;
	msg.period = (int64_t)period;
	msg.time_nanos = (int64_t)info.start_ns;
	msg.duration_nanos = info.end_ns > info.start_ns ? (int64_t)(info.end_ns - info.start_ns) : 0;

	err = profile__aggregate(p, true, &o.set);
	if (err)
		goto cleanup;

	/* Mappings: ours, then one each for kernel, JIT and Python frames when there are
	 * any (the importer tells the kinds back from them). */
	for (size_t i = 0; i < p->frames.len; i++) {
		if (p->frames.v[i].mapping)
			continue;
		if (p->frames.v[i].kind == FRAME_KERNEL && !kernel_map)
			kernel_map = ++nmap;
		if (p->frames.v[i].kind == FRAME_JIT && !jit_map)
			jit_map = ++nmap;
		if (p->frames.v[i].kind == FRAME_PYTHON && !python_map)
			python_map = ++nmap;
	}
	err = -ENOMEM;
	o.mappings = calloc(nmap + 1, sizeof(*o.mappings));
	o.mapping_ptrs = calloc(nmap + 1, sizeof(*o.mapping_ptrs));
	if (!o.mappings || !o.mapping_ptrs)
		goto cleanup;
	for (size_t i = 0; i < nmap; i++) {
		PMapping *m = &o.mappings[i];
		perftools__profiles__mapping__init(m);
		m->id = i + 1;
		m->has_functions = true;
		if (i < p->mappings.len) {
			const struct pmapping *pm = &p->mappings.v[i];
			m->memory_start = pm->start;
			m->memory_limit = pm->limit;
			m->file_offset = pm->offset;
			err = str_id(&o, profile__string(p, pm->path), &m->filename);
			if (!err)
				err = str_id(&o, profile__string(p, pm->build_id), &m->build_id);
		} else {
			err = str_id(&o, i + 1 == kernel_map ? KERNEL_MAPPING
					 : i + 1 == jit_map ? JIT_MAPPING : PYTHON_MAPPING,
				     &m->filename);
		}
		if (err)
			goto cleanup;
		o.mapping_ptrs[i] = m;
	}
	msg.n_mapping = nmap;
	msg.mapping = o.mapping_ptrs;

	/* One Location per frame (id = frame id + 1), one Function per (name, file). */
	err = -ENOMEM;
	size_t nf = p->frames.len;
	o.locations = calloc(nf + 1, sizeof(*o.locations));
	o.location_ptrs = calloc(nf + 1, sizeof(*o.location_ptrs));
	o.lines = calloc(nf + 1, sizeof(*o.lines));
	o.line_ptrs = calloc(nf + 1, sizeof(*o.line_ptrs));
	if (!o.locations || !o.location_ptrs || !o.lines || !o.line_ptrs)
		goto cleanup;
	for (size_t i = 0; i < nf; i++) {
		const struct pframe *f = &p->frames.v[i];
		struct pframe fkey = { 0 };
		uint32_t fid;
		int64_t name = 0, file = 0;

		err = str_id(&o, profile__frame_name(p, (uint32_t)i), &name);
		if (!err)
			err = str_id(&o, profile__string(p, f->file), &file);
		fkey.name = (uint32_t)name;
		fkey.file = (uint32_t)file;
		if (!err)
			err = profile__intern_pframe(o.strtab, &fkey, &fid);
		if (err)
			goto cleanup;
		perftools__profiles__line__init(&o.lines[i]);
		o.lines[i].function_id = fid + 1;
		o.lines[i].line = f->line;
		o.line_ptrs[i] = &o.lines[i];
		perftools__profiles__location__init(&o.locations[i]);
		o.locations[i].id = i + 1;
		o.locations[i].address = f->address;
		o.locations[i].mapping_id = f->mapping ? f->mapping
					    : f->kind == FRAME_KERNEL ? kernel_map
					    : f->kind == FRAME_JIT ? jit_map
					    : f->kind == FRAME_PYTHON ? python_map : 0;
		o.locations[i].n_line = 1;
		o.locations[i].line = &o.line_ptrs[i];
		o.location_ptrs[i] = &o.locations[i];
	}
	msg.n_location = nf;
	msg.location = o.location_ptrs;

	size_t nfn = o.strtab->frames.len;
	err = -ENOMEM;
	o.functions = calloc(nfn + 1, sizeof(*o.functions));
	o.function_ptrs = calloc(nfn + 1, sizeof(*o.function_ptrs));
	if (!o.functions || !o.function_ptrs)
		goto cleanup;
	for (size_t i = 0; i < nfn; i++) {
		perftools__profiles__function__init(&o.functions[i]);
		o.functions[i].id = i + 1;
		o.functions[i].name = o.strtab->frames.v[i].name;
		o.functions[i].system_name = o.strtab->frames.v[i].name;
		o.functions[i].filename = o.strtab->frames.v[i].file;
		o.function_ptrs[i] = &o.functions[i];
	}
	msg.n_function = nfn;
	msg.function = o.function_ptrs;

	/* Samples. */
	size_t ns = o.set.items.len;
	for (size_t i = 0; i < ns; i++) {
		const struct sample_agg *a = &o.set.items.v[i];
		nlocids += p->stacks.v[a->stack].len;
		nlabels += 3 + profile__label_set_len(p, a->labels);
	}
	o.samples = calloc(ns + 1, sizeof(*o.samples));
	o.sample_ptrs = calloc(ns + 1, sizeof(*o.sample_ptrs));
	o.loc_ids = calloc(nlocids + 1, sizeof(*o.loc_ids));
	o.values = calloc(2 * ns + 1, sizeof(*o.values));
	o.labels = calloc(nlabels + 1, sizeof(*o.labels));
	o.label_ptrs = calloc(nlabels + 1, sizeof(*o.label_ptrs));
	if (!o.samples || !o.sample_ptrs || !o.loc_ids || !o.values || !o.labels ||
	    !o.label_ptrs)
		goto cleanup;
	int64_t k_pid, k_tid, k_comm;
	if ((err = str_id(&o, "pid", &k_pid)) || (err = str_id(&o, "tid", &k_tid)) ||
	    (err = str_id(&o, "comm", &k_comm)))
		goto cleanup;
	size_t li = 0, lab = 0;
	for (size_t i = 0; i < ns; i++) {
		const struct sample_agg *a = &o.set.items.v[i];
		const struct pstack *st = &p->stacks.v[a->stack];
		PSample *s = &o.samples[i];

		perftools__profiles__sample__init(s);
		s->location_id = o.loc_ids + li;
		s->n_location_id = st->len;
		for (size_t j = 0; j < st->len; j++) /* leaf first */
			o.loc_ids[li++] = (uint64_t)p->stack_frames.v[st->off + st->len - 1 - j] + 1;
		s->value = o.values + 2 * i;
		s->n_value = 2;
		s->value[0] = (int64_t)a->weight;
		s->value[1] = (int64_t)(a->weight * period);
		s->label = o.label_ptrs + lab;
#define ADD_LABEL(k, str_, num_)                                           \
	do {                                                               \
		PLabel *l = &o.labels[lab];                                \
		perftools__profiles__label__init(l);                       \
		l->key = (k);                                              \
		l->str = (str_);                                           \
		l->num = (num_);                                           \
		o.label_ptrs[lab++] = l;                                   \
		s->n_label++;                                              \
	} while (0)
		if (a->pid)
			ADD_LABEL(k_pid, 0, a->pid);
		if (a->tid)
			ADD_LABEL(k_tid, 0, a->tid);
		if (p->strings.v[a->comm].len) {
			int64_t v;
			if ((err = str_id(&o, profile__string(p, a->comm), &v)))
				goto cleanup;
			ADD_LABEL(k_comm, v, 0);
		}
		for (size_t j = 0; j < profile__label_set_len(p, a->labels); j++) {
			struct profile_label l;
			int64_t k, v;
			profile__label_set_get(p, a->labels, j, &l);
			if ((err = str_id(&o, l.key, &k)) || (err = str_id(&o, l.value, &v)))
				goto cleanup;
			ADD_LABEL(k, v, 0);
		}
#undef ADD_LABEL
		o.sample_ptrs[i] = s;
	}
	msg.n_sample = ns;
	msg.sample = o.sample_ptrs;

	/* The string table: pointers into the interner's storage (not copied). */
	err = -ENOMEM;
	o.strings = calloc(o.strtab->strings.len + 1, sizeof(*o.strings));
	if (!o.strings)
		goto cleanup;
	for (size_t i = 0; i < o.strtab->strings.len; i++)
		o.strings[i] = o.strtab->chars.v + o.strtab->strings.v[i].off;
	msg.n_string_table = o.strtab->strings.len;
	msg.string_table = o.strings;

	size_t len = perftools__profiles__profile__get_packed_size(&msg);
	o.packed = malloc(len ? len : 1);
	if (!o.packed)
		goto cleanup;
	perftools__profiles__profile__pack(&msg, o.packed);
	err = gzip_write(o.packed, len, out);
cleanup:
	pprof_out_free(&o);
	return err;
}

/* ---- reader ---- */

static int gunzip(const unsigned char *in, size_t len, unsigned char **out, size_t *out_len)
{
	z_stream zs = { 0 };
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;
	int err = 0, zr = Z_OK;

	if (inflateInit2(&zs, 15 + 32) != Z_OK)
		return -ENOMEM;
	zs.next_in = (unsigned char *)in;
	zs.avail_in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
	while (zr != Z_STREAM_END) {
		if (n == cap &&
		    (err = file_grow_bounded(&buf, &cap, 1u << 16, PROFILE_PPROF_MAX_BYTES)))
			goto cleanup;
		zs.next_out = buf + n;
		zs.avail_out = (uInt)(cap - n);
		zr = inflate(&zs, Z_NO_FLUSH);
		n = cap - zs.avail_out;
		if (zr == Z_BUF_ERROR && zs.avail_out)
			zr = Z_DATA_ERROR; /* input ended before the stream did */
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			err = zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
			goto cleanup;
		}
	}
	*out = buf;
	*out_len = n;
	buf = NULL;
cleanup:
	inflateEnd(&zs);
	free(buf);
	return err;
}

struct id_index {
	uint64_t id;
	size_t index;
};

static int cmp_id(const void *a, const void *b)
{
	const struct id_index *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static struct id_index *index_ids(size_t n, uint64_t (*get)(const void *msgs, size_t i),
				  const void *msgs)
{
	struct id_index *ix = malloc((n ? n : 1) * sizeof(*ix));
	if (!ix)
		return NULL;
	for (size_t i = 0; i < n; i++)
		ix[i] = (struct id_index){ get(msgs, i), i };
	qsort(ix, n, sizeof(*ix), cmp_id);
	return ix;
}

/* Index of message @id, or -1 (also for id 0, which pprof reserves for "none"). */
static ssize_t find_id(const struct id_index *ix, size_t n, uint64_t id)
{
	struct id_index key = { id, 0 };
	const struct id_index *hit;
	if (!id)
		return -1;
	hit = bsearch(&key, ix, n, sizeof(*ix), cmp_id);
	return hit ? (ssize_t)hit->index : -1;
}

static uint64_t mapping_id(const void *m, size_t i)
{
	return ((PMapping *const *)m)[i]->id;
}
static uint64_t location_id(const void *m, size_t i)
{
	return ((PLocation *const *)m)[i]->id;
}
static uint64_t function_id(const void *m, size_t i)
{
	return ((PFunction *const *)m)[i]->id;
}

struct pprof_in {
	const PProfile *m;
	struct id_index *maps, *locs, *funcs;
	uint32_t *map_ids;    /* pprof mapping index -> our mapping id, 0 = not yet */
	uint32_t *loc_off;    /* location index -> offset into loc_frames + 1, 0 = not yet */
	uint32_t *loc_len;
	VEC(uint32_t) loc_frames; /* outermost first within a location */
	uint32_t *stack;
};

/* String @i of the table, or NULL when out of range. */
static const char *pstr(const PProfile *m, int64_t i)
{
	return i >= 0 && (uint64_t)i < m->n_string_table ? m->string_table[i] : NULL;
}

static int import_location(struct profile *p, struct pprof_in *in, size_t li)
{
	const PLocation *loc = in->m->location[li];
	const PMapping *pm = NULL;
	enum frame_kind mkind = FRAME_USER;
	uint32_t mid = 0;
	ssize_t mi = find_id(in->maps, in->m->n_mapping, loc->mapping_id);
	int err;

	if (mi >= 0) {
		pm = in->m->mapping[mi];
		const char *path = pstr(in->m, pm->filename);
		const char *bid = pstr(in->m, pm->build_id);
		if (!path || !bid)
			return -EINVAL;
		if (!strncmp(path, "[kernel", 7))
			mkind = FRAME_KERNEL;
		else if (!strcmp(path, JIT_MAPPING))
			mkind = FRAME_JIT;
		else if (!strcmp(path, PYTHON_MAPPING))
			mkind = FRAME_PYTHON;
		if (mkind == FRAME_USER && !in->map_ids[mi]) {
			struct profile_mapping m = { path, bid, pm->memory_start,
						     pm->memory_limit, pm->file_offset };
			if ((err = profile__intern_mapping(p, &m, &in->map_ids[mi])))
				return err;
		}
		mid = in->map_ids[mi];
	}
	size_t nl = loc->n_line ? loc->n_line : 1;
	if (nl > PROFILE_MAX_STACK_DEPTH || in->loc_frames.len + nl > UINT32_MAX - 1)
		return -EINVAL;
	if ((err = VEC_RESERVE(in->loc_frames, in->loc_frames.len + nl)))
		return err;
	in->loc_off[li] = in->loc_frames.len + 1;
	in->loc_len[li] = nl;
	for (size_t k = 0; k < nl; k++) {
		/* The last line is the outermost caller: walk them backwards. */
		const PLine *line = loc->n_line ? loc->line[loc->n_line - 1 - k] : NULL;
		struct profile_frame_info fi = { .kind = mkind, .mapping = mid,
						 .address = loc->address };
		char unk[64];
		ssize_t fi_ix = line ? find_id(in->funcs, in->m->n_function, line->function_id) : -1;

		if (fi_ix >= 0) {
			const PFunction *fn = in->m->function[fi_ix];
			fi.name = pstr(in->m, fn->name);
			fi.file = pstr(in->m, fn->filename);
			if (!fi.name || !fi.file)
				return -EINVAL;
			if (!*fi.name)
				fi.name = pstr(in->m, fn->system_name);
			if (!fi.name)
				return -EINVAL;
			fi.line = line->line > 0 && line->line <= UINT32_MAX ? (uint32_t)line->line : 0;
		}
		if (!fi.name || !*fi.name) {
			const char *path = pm ? pstr(in->m, pm->filename) : NULL;
			const char *base = path ? strrchr(path, '/') : NULL;
			base = base ? base + 1 : path;
			if (base && *base && loc->address) {
				uint64_t off = loc->address - pm->memory_start + pm->file_offset;
				snprintf(unk, sizeof(unk), "[%.40s+0x%llx]", base,
					 (unsigned long long)off);
			} else {
				snprintf(unk, sizeof(unk), "[unknown]");
			}
			fi.name = unk;
			fi.kind = FRAME_UNKNOWN;
		} else if (mkind == FRAME_USER && fi.name[0] == '[' &&
			   (strstr(fi.name, "+0x") || !strcmp(fi.name, "[unknown]"))) {
			fi.kind = FRAME_UNKNOWN;
		}
		if (strlen(fi.name) > PROFILE_MAX_STRING)
			return -EINVAL;
		err = profile__intern_frame_info(p, &fi, &in->loc_frames.v[in->loc_frames.len++]);
		if (err)
			return err;
	}
	return 0;
}

/* Which value is the sample count, and what to divide it by. */
static void pick_value(const PProfile *m, size_t *index, uint64_t *divisor)
{
	*index = 0;
	*divisor = 1;
	for (size_t i = 0; i < m->n_sample_type; i++) {
		const char *t = pstr(m, m->sample_type[i]->type);
		const char *u = pstr(m, m->sample_type[i]->unit);
		if (t && u && (!strcmp(t, "samples") || !strcmp(u, "count"))) {
			*index = i;
			return;
		}
	}
	for (size_t i = 0; i < m->n_sample_type; i++) {
		const char *u = pstr(m, m->sample_type[i]->unit);
		if (u && !strcmp(u, "nanoseconds") && m->period > 0) {
			*index = i;
			*divisor = (uint64_t)m->period;
			return;
		}
	}
}

static int import_sample(struct profile *p, struct pprof_in *in, const PSample *s,
			 size_t vi, uint64_t divisor)
{
	struct profile_label labels[PROFILE_MAX_LABELS];
	struct sample_meta meta = { .time_ns = in->m->time_nanos > 0 ? (uint64_t)in->m->time_nanos : 0 };
	size_t n = 0, nl = 0;
	int64_t v;
	int err;

	if (vi >= s->n_value)
		return s->n_value ? -EINVAL : 0; /* a sample without values weighs nothing */
	v = s->value[vi];
	if (v <= 0)
		return 0;
	for (size_t i = 0; i < s->n_label; i++) {
		const PLabel *l = s->label[i];
		const char *k = pstr(in->m, l->key), *str = pstr(in->m, l->str);
		if (!k || !str)
			return -EINVAL;
		if (!strcmp(k, "pid") && !*str && l->num > 0 && l->num <= INT32_MAX)
			meta.pid = (pid_t)l->num;
		else if ((!strcmp(k, "tid") || !strcmp(k, "thread_id")) && !*str && l->num > 0 &&
			 l->num <= INT32_MAX)
			meta.tid = (pid_t)l->num;
		else if (!strcmp(k, "comm") || !strcmp(k, "thread_name"))
			meta.comm = str;
		else if (*str && nl < PROFILE_MAX_LABELS)
			labels[nl++] = (struct profile_label){ k, str };
	}
	meta.labels = labels;
	meta.nlabels = nl;
	/* location_id[0] is the leaf; ours are outermost first. */
	for (size_t i = s->n_location_id; i-- > 0;) {
		ssize_t li = find_id(in->locs, in->m->n_location, s->location_id[i]);
		if (li < 0)
			return -EINVAL;
		if (!in->loc_off[li] && (err = import_location(p, in, (size_t)li)))
			return err;
		if (n + in->loc_len[li] > PROFILE_MAX_STACK_DEPTH)
			return -EINVAL;
		memcpy(in->stack + n, in->loc_frames.v + in->loc_off[li] - 1,
		       in->loc_len[li] * sizeof(uint32_t));
		n += in->loc_len[li];
	}
	uint64_t w = (uint64_t)v / divisor;
	return profile__add_sample(p, in->stack, n, &meta, w ? w : 1);
}

static int decode_message(struct profile *p, const PProfile *m)
{
	struct pprof_in in = { .m = m };
	size_t vi;
	uint64_t divisor;
	int err = -ENOMEM;

	in.maps = index_ids(m->n_mapping, mapping_id, m->mapping);
	in.locs = index_ids(m->n_location, location_id, m->location);
	in.funcs = index_ids(m->n_function, function_id, m->function);
	in.map_ids = calloc(m->n_mapping + 1, sizeof(*in.map_ids));
	in.loc_off = calloc(m->n_location + 1, sizeof(*in.loc_off));
	in.loc_len = calloc(m->n_location + 1, sizeof(*in.loc_len));
	in.stack = malloc(PROFILE_MAX_STACK_DEPTH * sizeof(*in.stack));
	if (!in.maps || !in.locs || !in.funcs || !in.map_ids || !in.loc_off || !in.loc_len ||
	    !in.stack)
		goto cleanup;
	pick_value(m, &vi, &divisor);
	err = 0;
	for (size_t i = 0; i < m->n_sample && !err; i++)
		err = import_sample(p, &in, m->sample[i], vi, divisor);
	if (err)
		goto cleanup;
	{
		const char *pu = m->period_type ? pstr(m, m->period_type->unit) : NULL;
		struct profile_info info;
		profile__info(p, &info);
		if (!p->info.period_ns && pu && !strcmp(pu, "nanoseconds") && m->period > 0)
			p->info.period_ns = (uint64_t)m->period;
		if (m->time_nanos > 0)
			profile__widen_range(p, (uint64_t)m->time_nanos,
					     (uint64_t)m->time_nanos +
						     (m->duration_nanos > 0 ? (uint64_t)m->duration_nanos : 0));
	}
cleanup:
	free(in.maps);
	free(in.locs);
	free(in.funcs);
	free(in.map_ids);
	free(in.loc_off);
	free(in.loc_len);
	free(in.loc_frames.v);
	free(in.stack);
	return err;
}

int profile__decode_pprof(struct profile *p, const void *buf, size_t len,
			  const struct profile_filter *f)
{
	const unsigned char *b = buf;
	unsigned char *raw = NULL;
	size_t raw_len = len;
	PProfile *m = NULL;
	struct profile *tmp = NULL;
	int err;

	if (len >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
		err = gunzip(b, len, &raw, &raw_len);
		if (err)
			return err;
	} else if (len > PROFILE_PPROF_MAX_BYTES) {
		return -EFBIG;
	}
	m = perftools__profiles__profile__unpack(NULL, raw_len, raw ? raw : b);
	if (!m) {
		err = -EINVAL;
		goto cleanup;
	}
	tmp = f ? profile__new() : p;
	if (!tmp) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = decode_message(tmp, m);
	if (!err && tmp != p)
		err = profile__merge(p, tmp, f);
cleanup:
	if (tmp && tmp != p)
		profile__free(tmp);
	if (m)
		perftools__profiles__profile__free_unpacked(m, NULL);
	free(raw);
	return err;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inline.c - inline frames from DWARF through libdw: the DW_TAG_inlined_subroutine
 * scopes that contain an address, as `addr2line -i` and perf's "(inlined)" frames
 * show them. Only used when asked for (symbolizer_opts.inline_frames): DWARF is large
 * and this keeps it open per file.
 */
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include <elfutils/libdw.h>

#include "symbolizer_int.h"

struct inline_dwarf {
	Dwarf *dw;
	int fd;
};

static struct inline_dwarf *try_open(int fd)
{
	struct inline_dwarf *d;
	Dwarf *dw;

	dw = dwarf_begin(fd, DWARF_C_READ);
	if (!dw) {
		close(fd);
		return NULL;
	}
	d = malloc(sizeof(*d));
	if (!d) {
		dwarf_end(dw);
		close(fd);
		return NULL;
	}
	d->dw = dw;
	d->fd = fd;
	return d;
}

struct inline_dwarf *inline_dwarf__open(int fd, const char *debug_path)
{
	struct inline_dwarf *d = NULL;
	int dfd;

	if (debug_path) {
		dfd = open(debug_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (dfd >= 0)
			d = try_open(dfd);
		if (d)
			return d;
	}
	dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return dfd >= 0 ? try_open(dfd) : NULL;
}

void inline_dwarf__free(struct inline_dwarf *d)
{
	if (!d)
		return;
	dwarf_end(d->dw);
	close(d->fd);
	free(d);
}

/*
 * The compile unit that covers @vaddr. dwarf_addrdie() looks in .debug_aranges, which
 * clang does not emit (gcc does) and libdw 0.188 does not synthesize: without it, ask
 * each CU for its ranges (DW_AT_low_pc/high_pc or DW_AT_ranges).
 */
static bool cu_of(Dwarf *dw, uint64_t vaddr, Dwarf_Die *cudie)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	if (dwarf_addrdie(dw, vaddr, cudie))
		return true;
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		if (dwarf_offdie(dw, off + hsize, cudie) && dwarf_haspc(cudie, vaddr) > 0)
			return true;
		off = next;
	}
	return false;
}

int inline_dwarf__frames(struct inline_dwarf *d, uint64_t vaddr, const char **names,
			 size_t max)
{
	Dwarf_Die cudie, *scopes = NULL;
	int n, i, k = 0;

	if (!d || !max)
		return 0;
	if (!cu_of(d->dw, vaddr, &cudie))
		return 0;
	n = dwarf_getscopes(&cudie, vaddr, &scopes);
	for (i = 0; i < n && (size_t)k < max; i++) {
		Dwarf_Attribute attr;
		const char *name;

		if (dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			continue;
		/* The name is on the abstract origin: integrate follows it. */
		name = dwarf_formstring(dwarf_attr_integrate(&scopes[i], DW_AT_name, &attr));
		names[k++] = name ? name : "[unknown]";
	}
	free(scopes);
	return k;
}

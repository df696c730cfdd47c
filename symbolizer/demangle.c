/* SPDX-License-Identifier: Apache-2.0 */
/*
 * demangle.c - C++ and Rust names made readable, through libiberty's cplus_demangle
 * (the demangler binutils and perf use). DMGL_AUTO covers Itanium C++ ("_Z"), Rust's
 * legacy scheme (Itanium-shaped, "_ZN...17h<hash>E", hash dropped) and Rust v0 ("_R"),
 * which Debian 12's libiberty (20230104) supports.
 */
#include <stdlib.h>
#include <string.h>

#include <libiberty/demangle.h>

#include "symbolizer_int.h"

char *symbolizer__demangle(const char *name)
{
	size_t len;

	/* Only what can be mangled: plain C names ("main") are never handed over, which
	 * keeps the common case free of work. */
	if (name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return NULL;
	len = strnlen(name, DEMANGLE_MAX_IN + 1);
	if (len > DEMANGLE_MAX_IN)
		return NULL;
	/* libiberty bounds its own recursion (DMGL_NO_RECURSE_LIMIT is not passed), so
	 * a hostile name from a file fails instead of exhausting the stack. */
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}

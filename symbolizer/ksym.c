/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ksym.c - kernel symbol names from the kernel itself, one address at a time, through
 * ksym.bpf.c: symbolizer__resolve_kernel's first choice, before /proc/kallsyms.
 * Callers cache the answers (the collector caches every address), so a profile asks
 * once per distinct kernel address.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ksym.h"
#include "symbolizer_int.h"
#include "ksym.skel.h"

struct ksym {
	struct ksym_bpf *skel;
	int prog_fd;
	char name[SMOLDER_KSYM_LEN];
	char module[64];
};

struct ksym *ksym__new(void)
{
	struct ksym *k = calloc(1, sizeof(*k));
	int err;

	if (!k) {
		errno = ENOMEM;
		return NULL;
	}
	k->skel = ksym_bpf__open_and_load();
	if (!k->skel) {
		err = errno;
		free(k);
		errno = err;
		return NULL;
	}
	k->prog_fd = bpf_program__fd(k->skel->progs.ksym_resolve);
	return k;
}

void ksym__free(struct ksym *k)
{
	if (!k)
		return;
	ksym_bpf__destroy(k->skel);
	free(k);
}

int ksym__resolve(struct ksym *k, uint64_t addr, const char **name, uint64_t *offset,
		  const char **module)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	char *plus, *space, *end;

	*name = *module = NULL;
	*offset = 0;
	k->skel->bss->addr = addr;
	k->skel->bss->ret = 0;
	if (bpf_prog_test_run_opts(k->prog_fd, &opts))
		return -errno;
	if (k->skel->bss->ret <= 0)
		return -ENOENT;
	memcpy(k->name, k->skel->bss->name, sizeof(k->name));
	k->name[sizeof(k->name) - 1] = '\0';
	/* "func+0x1c/0x80 [module]", or the bare address when no symbol covers it. */
	plus = strchr(k->name, '+');
	if (!plus || k->name[0] == '0')
		return -ENOENT;
	*plus = '\0';
	*offset = strtoull(plus + 1, &end, 16);
	space = strchr(plus + 1, ' ');
	if (space && space[1] == '[') {
		snprintf(k->module, sizeof(k->module), "%s", space + 1);
		*module = k->module;
	} else {
		*module = "[kernel]";
	}
	*name = k->name;
	return 0;
}

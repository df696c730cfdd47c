// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * ksym.bpf.c - name a kernel address with the kernel's own symbol lookup
 * (bpf_snprintf's %pS), run on demand through BPF_PROG_TEST_RUN. This saves reading
 * and parsing all of /proc/kallsyms, which costs tens of milliseconds, to name the
 * few hundred kernel addresses a profile holds.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "ksym.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

__u64 addr = 0;                 /* in: the address */
char name[SMOLDER_KSYM_LEN] = {}; /* out: "func+0x1c/0x80 [module]" */
long ret = 0;                   /* out: bpf_snprintf's result */

SEC("syscall")
int ksym_resolve(void *ctx)
{
	__u64 a = addr;

	ret = bpf_snprintf(name, sizeof(name), "%pS", &a, sizeof(a));
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 OR GPL-2.0-only OR BSD-2-Clause */
/* ksym.h - what ksym.bpf.c and its loader share: the size of a formatted name. */
#ifndef SMOLDER_KSYM_H
#define SMOLDER_KSYM_H

#define SMOLDER_KSYM_LEN 256 /* "name+0xoff/0xsize [module]" */

#endif /* SMOLDER_KSYM_H */

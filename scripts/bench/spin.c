/* SPDX-License-Identifier: Apache-2.0 */
/*
 * spin.c - a CPU burner with a name, for scripts/bench-engine.sh.
 *
 *   spin MAX_SECONDS
 *
 * Burns one CPU in user space (spin_outer -> spin_inner, no syscalls, no libc in the
 * loop) until killed or until MAX_SECONDS of wall time have passed, so a forgotten one
 * does not run for ever. The benchmark compiles it once and copies it under the names
 * it wants to see in the profiles (engine-spin-1, engine-spin-2): comm and the `exe`
 * label come from the file name. Build with
 *   cc -O2 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NOINLINE __attribute__((noipa))

static volatile uint64_t sink;

NOINLINE static uint64_t spin_inner(uint64_t x)
{
	volatile uint64_t frame = x; /* keeps an rbp frame in the leaf (see workload.c) */

	for (int i = 0; i < 1000; i++)
		frame = frame * 6364136223846793005ULL + 1442695040888963407ULL;
	return frame;
}

NOINLINE static void spin_outer(time_t until)
{
	uint64_t x = 1;

	for (;;) {
		for (int i = 0; i < 10000; i++)
			x = spin_inner(x);
		sink = x;
		if (time(NULL) >= until) /* vDSO: no syscall */
			return;
	}
}

int main(int argc, char **argv)
{
	long max = argc == 2 ? strtol(argv[1], NULL, 10) : 0;

	if (max <= 0) {
		fprintf(stderr, "usage: spin MAX_SECONDS\n");
		return 2;
	}
	spin_outer(time(NULL) + max);
	return 0;
}

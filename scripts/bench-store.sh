#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench-store.sh - storage benchmark: bytes per sample on disk, write and query
# throughput of the store, and the size of the same data as gzip pprof.
#
# A long system-wide capture is made by recording this machine for a while
# (`smolder record -a`, needs root and BPF; otherwise a synthetic stack mix is used)
# and replaying its stack mix over a long simulated time, as an agent would store it:
# per-CPU sampling at HZ with jitter in the load, samples labelled by process
# (pid/tid/comm, service, exe, build_id), one store__append per flush interval.
#
# usage: scripts/bench-store.sh [HOURS] [HZ] [FLUSH_S]   (default 2 hours, 19 Hz, 10 s)
#        scripts/bench-store.sh record-size [SECONDS] [HZ]   (default 5 s, 199 Hz)
# env:   SMOLDER (default build/smolder), BUILD (default build), RECORD_S (default 30),
#        INPUT=FILE.folded to skip recording.
#
# record-size: one `smolder record -a` while three busy processes run (a shell loop,
# sha256sum of /dev/zero, an awk loop), its .smolder file against the gzip pprof of
# the same samples (`smolder export --format pprof`). Needs root and BPF.
set -euo pipefail

if [[ ${1:-} == record-size ]]; then
	ROOT=$(cd "$(dirname "$0")/.." && pwd)
	SMOLDER=${SMOLDER:-$ROOT/build/smolder}
	SECONDS_=${2:-5}
	HZ=${3:-199}
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolder-bench-size.XXXXXX")
	pids=()
	trap 'kill "${pids[@]}" 2>/dev/null; rm -rf -- "$WORK"' EXIT
	sh -c 'while :; do :; done' </dev/null >/dev/null 2>&1 &
	pids+=($!)
	sha256sum /dev/zero </dev/null >/dev/null 2>&1 &
	pids+=($!)
	awk 'BEGIN { while (1) { x = x + 1; if (x > 1e9) x = 0 } }' </dev/null >/dev/null 2>&1 &
	pids+=($!)
	"$SMOLDER" record -a -F "$HZ" -d "$SECONDS_" -o "$WORK/all.smolder" 2>"$WORK/record.err" ||
		{ tail -n 1 "$WORK/record.err" >&2; exit 1; }
	"$SMOLDER" export "$WORK/all.smolder" --format pprof -o "$WORK/all.pb.gz"
	smolder_bytes=$(stat -c %s "$WORK/all.smolder")
	pprof_bytes=$(stat -c %s "$WORK/all.pb.gz")
	tail -n 1 "$WORK/record.err"
	awk -v s="$smolder_bytes" -v p="$pprof_bytes" 'BEGIN {
		printf ".smolder:   %d bytes\ngzip pprof: %d bytes (same samples)\nratio:      %.2f\n", s, p, s / p
	}'
	exit 0
fi

HOURS=${1:-2}
HZ=${2:-19}
FLUSH=${3:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
SMOLDER=${SMOLDER:-$BUILD/smolder}
RECORD_S=${RECORD_S:-30}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolder-bench-store.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT

[[ -x $SMOLDER ]] || { echo "bench-store: build first (cmake -B build && cmake --build build)" >&2; exit 1; }
LIB=$BUILD/profile/libsmolder_profile.a
[[ -f $LIB ]] || { echo "bench-store: $LIB not found" >&2; exit 1; }

# ---- 1. a real stack mix ----
INPUT=${INPUT:-}
if [[ -z $INPUT ]]; then
	INPUT=$WORK/capture.folded
	if ! "$SMOLDER" record -a -F 99 -d "$RECORD_S" -o "$INPUT" 2>"$WORK/record.err"; then
		echo "bench-store: recording failed ($(tail -n 1 "$WORK/record.err")); using a synthetic mix" >&2
		awk 'BEGIN { srand(1); for (i = 0; i < 2000; i++) {
			c = "proc" (i % 23); s = c ";_start;__libc_start_main;main"
			d = 3 + int(rand() * 25)
			for (j = 0; j < d; j++) s = s ";fn_" int(rand() * 400)
			if (rand() < .3) s = s ";entry_SYSCALL_64_[k];do_syscall_64_[k];ksys_read_[k]"
			print s, 1 + int(rand() * 50) } }' >"$INPUT"
	fi
fi
echo "stack mix: $(wc -l <"$INPUT") distinct stacks, $(awk '{ t += $NF } END { print t }' "$INPUT") samples from $INPUT"

# ---- 2. the driver: replays the mix into a store through the profile API ----
cat >"$WORK/drive.c" <<'C'
// SPDX-License-Identifier: Apache-2.0
// Replays a folded stack mix into a store over simulated time; measures the store.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "profile.h"
#include "store.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct profile_sample *mix_samples;
static size_t mix_len;

static int collect(const struct profile_sample *x, void *ctx)
{
	(void)ctx;
	mix_samples[mix_len++] = *x;
	return 0;
}

int main(int argc, char **argv)
{
	const char *in = argv[1], *dir = argv[2], *pprof_path = argv[3], *batch_dir = argv[4];
	double hours = atof(argv[5]);
	unsigned hz = (unsigned)atoi(argv[6]), flush = (unsigned)atoi(argv[7]);
	FILE *f = fopen(in, "r");
	struct profile *mix = profile__new();
	if (!f || !mix || profile__read_folded(mix, f, NULL)) {
		fprintf(stderr, "cannot read %s\n", in);
		return 1;
	}
	fclose(f);
	/* The mix as cumulative weights over its samples. */
	size_t n = profile__sample_count(mix);
	struct profile_sample *s = mix_samples = calloc(n, sizeof(*s));
	uint64_t *cum = calloc(n, sizeof(*cum)), total = 0;
	profile__for_each_sample(mix, collect, NULL);
	for (size_t i = 0; i < n; i++)
		cum[i] = (total += s[i].weight);

	struct store_opts so = { 0 };
	struct store *st = store__open(dir, &so);
	if (!st) {
		fprintf(stderr, "store__open: %s\n", strerror(errno));
		return 1;
	}
	uint64_t t0 = 1795000000ull * 1000000000ull, period = 1000000000ull / hz;
	uint64_t seconds = (uint64_t)(hours * 3600), samples = 0, batches = 0;
	double t_write = 0, pprof_batch_bytes = 0;
	unsigned ncpu = 2;
	srand(42);
	for (uint64_t sec = 0; sec < seconds; sec += flush) {
		struct profile *b = profile__new();
		/* Load varies over time: 30-90% of the CPUs busy, with jitter. */
		double load = 0.6 + 0.3 * ((double)rand() / RAND_MAX * 2 - 1);
		uint64_t want = (uint64_t)(hz * ncpu * flush * load);
		for (uint64_t i = 0; i < want; i++) {
			uint64_t r = ((uint64_t)rand() << 31 ^ (uint64_t)rand()) % total;
			size_t lo = 0, hi = n - 1;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (cum[mid] > r) hi = mid; else lo = mid + 1;
			}
			const struct profile_sample *x = &s[lo];
			uint32_t frames[8192];
			for (size_t j = 0; j < x->nframes && j < 8192; j++)
				profile__intern_frame(b, profile__frame_name(mix, x->frames[j]),
						      profile__frame_kind(mix, x->frames[j]), &frames[j]);
			int pid = 1000 + (int)(strlen(x->comm) * 7 + (unsigned char)x->comm[0]) % 500;
			char exe[300], bid[48];
			snprintf(exe, sizeof(exe), "/usr/bin/%s", x->comm);
			snprintf(bid, sizeof(bid), "%08x%08x%08x", pid * 2654435761u, pid, ~pid);
			struct profile_label labels[] = {
				{ "service", x->comm }, { "exe", exe }, { "build_id", bid },
				{ "unit", "app.service" },
			};
			struct sample_meta m = {
				.time_ns = t0 + sec * 1000000000ull + i * (flush * 1000000000ull / want),
				.pid = pid, .tid = pid + rand() % 4, .comm = x->comm,
				.labels = labels, .nlabels = 4,
			};
			profile__add_sample(b, frames, x->nframes < 8192 ? x->nframes : 8192, &m, 1);
		}
		struct profile_info info = { period, t0 + sec * 1000000000ull,
					     t0 + (sec + flush) * 1000000000ull };
		profile__set_info(b, &info);
		double a = now();
		int err = store__append(st, b);
		t_write += now() - a;
		if (err) {
			fprintf(stderr, "store__append: %s\n", strerror(-err));
			return 1;
		}
		/* The same batch as gzip pprof, as an agent pushing pprof per interval would. */
		if (batches % 10 == 0) {
			char p[4096];
			snprintf(p, sizeof(p), "%s/b.pb.gz", batch_dir);
			FILE *o = fopen(p, "w");
			profile__write_pprof(b, o);
			pprof_batch_bytes += ftell(o) * 10.0;
			fclose(o);
		}
		samples += want;
		batches++;
		profile__free(b);
	}
	store__seal(st);
	store__close(st);

	struct store_opts ro = { .read_only = true };
	struct profile *q = profile__new();
	st = store__open(dir, &ro);
	double a = now();
	int err = store__query(st, NULL, q, NULL);
	double t_query = now() - a;
	/* The busiest process's service over 10 minutes: a typical incident query. */
	size_t top = 0;
	for (size_t i = 1; i < n; i++)
		if (s[i].weight > s[top].weight)
			top = i;
	struct profile_filter flt = { .service = s[top].comm,
				      .from_ns = t0 + 1800ull * 1000000000ull,
				      .to_ns = t0 + 2400ull * 1000000000ull };
	struct profile *q2 = profile__new();
	a = now();
	store__query(st, &flt, q2, NULL);
	double t_query2 = now() - a;
	store__close(st);
	if (err || profile__sample_count(q) != samples) {
		fprintf(stderr, "query: %d, %zu samples of %llu\n", err, profile__sample_count(q),
			(unsigned long long)samples);
		return 1;
	}
	FILE *o = fopen(pprof_path, "w");
	profile__write_pprof(q, o);
	fclose(o);
	printf("samples %llu\nbatches %llu\nwrite_s %.3f\nquery_s %.3f\nquery_window_s %.3f\n"
	       "window_samples %zu\npprof_batches_bytes %.0f\n",
	       (unsigned long long)samples, (unsigned long long)batches, t_write, t_query,
	       t_query2, profile__sample_count(q2), pprof_batch_bytes);
	return 0;
}
C
cc -O2 -std=gnu11 -I"$ROOT/profile" -o "$WORK/drive" "$WORK/drive.c" "$LIB" -lzstd -lz -ljansson -lprotobuf-c
mkdir -p "$WORK/batches"
echo "replaying: $HOURS h at $HZ Hz on 2 CPUs (30-90% busy), flush every $FLUSH s"
"$WORK/drive" "$INPUT" "$WORK/store" "$WORK/all.pb.gz" "$WORK/batches" "$HOURS" "$HZ" "$FLUSH" >"$WORK/out"
get() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/out"; }
samples=$(get samples)
disk=$(du -sb --apparent-size "$WORK/store" | awk '{ print $1 }')
segs=$(find "$WORK/store" -name 'seg-*' | wc -l)
pprof_all=$(stat -c %s "$WORK/all.pb.gz")
pprof_batches=$(get pprof_batches_bytes)
awk -v s="$samples" -v d="$disk" -v g="$segs" -v w="$(get write_s)" -v q="$(get query_s)" \
    -v qw="$(get query_window_s)" -v ws="$(get window_samples)" -v pa="$pprof_all" \
    -v pb="$pprof_batches" -v b="$(get batches)" 'BEGIN {
	printf "samples stored:          %d in %d batches, %d segments\n", s, b, g
	printf "store on disk:           %d bytes = %.2f bytes/sample\n", d, d / s
	printf "write throughput:        %.0f samples/s (%.2f ms per batch, fsync included)\n", s / w, 1000 * w / b
	printf "query throughput:        %.0f samples/s (whole store in %.2f s)\n", s / q, q
	printf "windowed query:          10 min of one service (%d samples) in %.3f s\n", ws, qw
	printf "same data as gzip pprof: %.0f bytes = %.2f bytes/sample (one pprof per flush interval,\n", pb, pb / s
	printf "                         as an agent pushing pprof keeps it; estimated from every 10th)\n"
	printf "                         store is %.1fx smaller\n", pb / d
	printf "whole store as ONE pprof: %d bytes = %.2f bytes/sample (all intervals merged: per-sample\n", pa, pa / s
	printf "                         times and the time axis are lost, so not the same data)\n"
}'

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench-symbolize.sh - symbolization throughput of `smolder symbolize --elf` beside
# `addr2line -f -C` and `llvm-symbolizer`, on the same addresses of one big shared
# library, with the function names compared (agreement %). Process start-up and
# parsing are included: each tool is run once over the whole address list, as a script
# would use it.
#
#   scripts/bench-symbolize.sh [LIB] [N]
#     LIB  default: libLLVM-14.so.1 (from clang/llvm)    N  default: 100000 addresses
#   SMOLDER=path/to/smolder (default: build/smolder); SKIP_ADDR2LINE=1 to leave out
#   addr2line (about 1,000 addresses/s: 100k take minutes)
#
# Addresses are N function symbols of LIB's .dynsym/.symtab (sized, in code), each
# taken at a pseudo-random offset inside its function, in a fixed pseudo-random order.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
LIB=${1:-}
N=${2:-100000}
SMOLDER=${SMOLDER:-$root/build/smolder}
if [[ -z $LIB ]]; then
	for c in /usr/lib/x86_64-linux-gnu/libLLVM-14.so.1 /usr/lib/llvm-14/lib/libLLVM-14.so.1; do
		[[ -e $c ]] && LIB=$c && break
	done
fi
[[ -n $LIB && -e $LIB ]] || { echo "bench-symbolize: no library (give one: $0 LIB)" >&2; exit 1; }
[[ -x $SMOLDER ]] || { echo "bench-symbolize: $SMOLDER not built (cmake --build build)" >&2; exit 1; }
LLVM_SYMBOLIZER=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14 || true)
ADDR2LINE=$(command -v addr2line || true)
# addr2line needs minutes for 100k addresses: SKIP_ADDR2LINE=1 leaves it out.
[[ ${SKIP_ADDR2LINE:-0} == 1 ]] && ADDR2LINE=

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-symbolize.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---- the address set ----
# nm -S: "VALUE SIZE TYPE NAME"; functions are T/t/W/w in .text-like sections.
{ nm -S --defined-only "$LIB" 2>/dev/null; nm -D -S --defined-only "$LIB" 2>/dev/null; } |
	awk 'NF >= 4 && $3 ~ /^[TtWw]$/ && $2 !~ /^0+$/ { print $1, $2 }' | sort -u >"$work/funcs"
nfuncs=$(wc -l <"$work/funcs")
(( nfuncs > 0 )) || { echo "bench-symbolize: no sized functions in $LIB" >&2; exit 1; }
# (mawk has no strtonum: hex arithmetic in a small awk function of our own.)
awk -v n="$N" -v seed=42 '
	function hex(h,   i, c, v) {
		v = 0; h = tolower(h)
		for (i = 1; i <= length(h); i++) { c = index("0123456789abcdef", substr(h, i, 1)) - 1; v = v * 16 + c }
		return v
	}
	BEGIN { srand(seed) }
	{ v[NR] = $1; s[NR] = $2 }
	END {
		for (i = 0; i < n; i++) {
			k = 1 + int(rand() * NR)
			off = int(rand() * hex(s[k]))
			printf "0x%x\n", hex(v[k]) + off
		}
	}' "$work/funcs" >"$work/addrs"
echo "library: $LIB ($(du -h "$LIB" | cut -f1), $nfuncs sized functions); $N addresses"

now_ns() { date +%s%N; }
declare -A secs
run() { # NAME CMD..: stdin from the address list, stdout to $work/NAME.out
	local name=$1 t0 t1
	shift
	t0=$(now_ns)
	"$@" <"$work/addrs" >"$work/$name.out"
	t1=$(now_ns)
	secs[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
}

# ---- run each tool; reduce each output to one function name per line ----
run smolder "$SMOLDER" symbolize --elf "$LIB" -
# "ADDR NAME+0xOFF (FILE)" / "ADDR [unknown] (FILE)" -> NAME / ??
sed -E "s|^[^ ]+ ||; s| \\(${LIB//./\\.}\\)\$||; s|\\+0x[0-9a-f]+\$||; s|^\\[unknown\\]\$|??|" \
	"$work/smolder.out" >"$work/smolder.names"

tools=(smolder)
if [[ -n $LLVM_SYMBOLIZER ]]; then
	run llvm "$LLVM_SYMBOLIZER" --obj="$LIB" --functions=linkage --demangle --output-style=GNU
	# GNU style: "NAME\nFILE:LINE\n" per address.
	awk 'NR % 2 == 1' "$work/llvm.out" >"$work/llvm.names"
	tools+=(llvm)
fi
if [[ -n $ADDR2LINE ]]; then
	echo "addr2line takes a while (a few thousand addresses/s)...." >&2
	run addr2line "$ADDR2LINE" -f -C -e "$LIB"
	awk 'NR % 2 == 1' "$work/addr2line.out" >"$work/addr2line.names"
	tools+=(addr2line)
fi

# Names are compared after one normalisation: libiberty writes "> >" where LLVM's
# demangler writes ">>" (C++03 spacing); otherwise they must be identical.
norm() { sed -E ':a; s/> >/>>/g; ta' "$work/$1.names"; }
agree() { # A B: % of lines equal
	paste "$work/$1.norm" "$work/$2.norm" |
		awk -F '\t' '{ n++; if ($1 == $2) same++ } END { printf "%.2f", n ? 100 * same / n : 0 }'
}
label() { case $1 in llvm) echo "llvm-symbolizer" ;; addr2line) echo "addr2line -f -C" ;; *) echo "smolder symbolize" ;; esac; }

for t in "${tools[@]}"; do norm "$t" >"$work/$t.norm"; done
printf '\n| %-20s | %9s | %12s | %22s |\n' tool seconds "addresses/s" "names = smolder's (%)"
printf '|%s|%s|%s|%s|\n' "----------------------" "-----------" "--------------" "------------------------"
for t in "${tools[@]}"; do
	lines=$(wc -l <"$work/$t.names")
	[[ $lines == "$N" ]] || echo "warning: $t gave $lines names for $N addresses" >&2
	rate=$(awk -v n="$N" -v t="${secs[$t]}" 'BEGIN { t += 0; if (t > 0) printf "%.0f", n / t; else print 0 }')
	a=$( [[ $t == smolder ]] && echo "-" || agree smolder "$t")
	printf '| %-20s | %9s | %12s | %22s |\n' "$(label "$t")" "${secs[$t]}" "$rate" "$a"
done
unknown=$(grep -c '^??$' "$work/smolder.names" || true)
echo
echo "smolder: $unknown of $N addresses unknown"
if [[ -n $LLVM_SYMBOLIZER ]]; then
	# What differs once spaces are ignored: names that differ in more than layout.
	paste "$work/smolder.norm" "$work/llvm.norm" | awk -F '\t' '
		$1 != $2 { d++; a = $1; b = $2; gsub(/ /, "", a); gsub(/ /, "", b); if (a != b) r++ }
		END { printf "disagreements with llvm-symbolizer: %d, of which %d differ in more than spacing\n", d, r }'
	echo "first ones (smolder <TAB> llvm-symbolizer):"
	paste "$work/smolder.norm" "$work/llvm.norm" | awk -F '\t' '$1 != $2' | cut -c1-240 |
		head -n 5 || true
fi

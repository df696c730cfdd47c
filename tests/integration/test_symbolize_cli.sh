#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# smolder symbolize: the output contract ("ADDR NAME+0xOFF (FILE)", "[unknown]"), exit
# codes, and names from every place a distribution puts them: a stripped binary's
# separate debug file found by build-id (--debug-dir) and by .gnu_debuglink (with a
# CRC that must match), MiniDebugInfo, C++ templates and Rust (legacy and v0) names.
# Expected addresses come from nm on the unstripped builds of the same code.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

D=$FIXTURES/debug
[[ -f $D/stamp ]] || t_fail "debug fixtures not built: $D"
command -v nm >/dev/null || t_skip "nm (binutils) is not installed"

# addr FILE SYMBOL: the symbol's value in FILE's .symtab, as 0x...
addr() { nm "$1" | awk -v n="$2" '$3 == n { print "0x" $1; exit }'; }
# start_bin LABEL PATH [ARGS..]: runs a debug_fixture-like binary in the background
# until it printed "ready" (its "FUNC 0xADDR" lines are in $WORK/LABEL.out).
start_bin() {
	local label=$1 path=$2 i
	shift 2
	"$path" "$@" >"$WORK/$label.out" 2>&1 </dev/null &
	BIN_PID=$!
	t_bg_register "$BIN_PID"
	for (( i = 0; i < 100; i++ )); do
		grep -qx ready "$WORK/$label.out" 2>/dev/null && return 0
		t_running "$BIN_PID" || t_fail "$path exited at start: $(cat "$WORK/$label.out")"
		sleep 0.05
	done
	t_fail "$path did not start within 5 s"
}
out_addr() { awk -v n="$2" '$1 == n { print $2; exit }' "$WORK/$1.out"; }
# expect_line LABEL LINE: the last run's stdout has exactly this line.
expect_line() {
	grep -qxF -- "$2" "$WORK/$1.stdout" ||
		t_fail "$1: expected the line '$2', got: $(cat "$WORK/$1.stdout")"
	t_log "ok: $1: $2"
}

hidden=$(addr "$D/debug_full" smolder_dbg_hidden)
burn=$(addr "$D/debug_full" smolder_dbg_burn)
[[ -n $hidden && -n $burn ]] || t_fail "nm found no smolder_dbg_* in debug_full"

# ---- separate debug file by build-id ----
run_smolder buildid 30 symbolize --elf "$D/debug_buildid" --debug-dir "$D/debugroot" \
	"$hidden" "$(printf '0x%x' $((burn + 5)))"
assert_rc 0 "symbolize --elf debug_buildid --debug-dir"
expect_line buildid "$hidden smolder_dbg_hidden+0x0 ($D/debug_buildid)"
expect_line buildid "$(printf '0x%x' $((burn + 5))) smolder_dbg_burn+0x5 ($D/debug_buildid)"
assert_eq "$(wc -l <"$WORK/buildid.stdout")" 2 "lines for 2 addresses"

# Without the debug directory the stripped file has no name there.
run_smolder buildid_none 30 symbolize --elf "$D/debug_buildid" --debug-dir /nonexistent "$hidden"
assert_rc 0 "symbolize --elf debug_buildid without its debug dir"
expect_line buildid_none "$hidden [unknown] ($D/debug_buildid)"

# SMOLDER_DEBUG_DIRS is the default for --pid (what record and the agent use too).
start_bin stripped "$D/debug_buildid"
pid=$BIN_PID
fhidden=$(out_addr stripped smolder_dbg_hidden)
T_LAST_CMD="SMOLDER_DEBUG_DIRS=$D/debugroot smolder symbolize --pid $pid $fhidden"
SMOLDER_DEBUG_DIRS=$D/debugroot "$SMOLDER" symbolize --pid "$pid" "$fhidden" \
	>"$WORK/pid.stdout" 2>"$WORK/pid.stderr"
RC=$? T_LAST_STDERR=$WORK/pid.stderr
assert_rc 0 "symbolize --pid (stripped binary, SMOLDER_DEBUG_DIRS)"
expect_line pid "$fhidden smolder_dbg_hidden+0x0 ($D/debug_buildid)"

# ---- .gnu_debuglink (the binary has no build-id), CRC checked ----
lhidden=$(addr "$D/link_full" smolder_dbg_hidden)
run_smolder link 30 symbolize --elf "$D/link/debug_link" --debug-dir /nonexistent "$lhidden"
assert_rc 0 "symbolize --elf link/debug_link"
expect_line link "$lhidden smolder_dbg_hidden+0x0 ($D/link/debug_link)"
run_smolder badcrc 30 symbolize --elf "$D/badcrc/debug_badcrc" --debug-dir /nonexistent "$lhidden"
assert_rc 0 "symbolize --elf badcrc/debug_badcrc"
expect_line badcrc "$lhidden [unknown] ($D/badcrc/debug_badcrc)"

# ---- MiniDebugInfo only ----
mhidden=$(addr "$D/debug_mini_full" smolder_dbg_hidden)
mmain=$(addr "$D/debug_mini_full" main)
run_smolder mini 30 symbolize --elf "$D/debug_mini" --debug-dir /nonexistent "$mhidden" "$mmain"
assert_rc 0 "symbolize --elf debug_mini"
expect_line mini "$mhidden smolder_dbg_hidden+0x0 ($D/debug_mini)"
expect_line mini "$mmain main+0x0 ($D/debug_mini)"

# ---- C++ templates and Rust names ----
N=$FIXTURES/names_fixture
box=$(addr "$N" _ZNK10smolder_ns3BoxIlE3getEi)
sum=$(addr "$N" _ZN10smolder_ns3sumIdLi3EEET_RAT0__KS1_)
leg=$(addr "$N" _ZN4core3fmt5write17h0123456789abcdefE)
v0=$(addr "$N" _RNvCs1234_7mycrate3foo)
run_smolder names 30 symbolize --elf "$N" "$box" "$sum" "$leg" "$v0"
assert_rc 0 "symbolize --elf names_fixture"
expect_line names "$box smolder_ns::Box<long>::get(int) const+0x0 ($N)"
expect_line names "$sum double smolder_ns::sum<double, 3>(double const (&) [3])+0x0 ($N)"
expect_line names "$leg core::fmt::write+0x0 ($N)"
expect_line names "$v0 mycrate::foo+0x0 ($N)"
run_smolder names_raw 30 symbolize --elf "$N" --no-demangle "$v0"
assert_rc 0 "symbolize --no-demangle"
expect_line names_raw "$v0 _RNvCs1234_7mycrate3foo+0x0 ($N)"

# ---- inline frames (--inline), checked against addr2line -i ----
start_bin inl "$FIXTURES/debug_fixture"
ipid=$BIN_PID
rburn=$(out_addr inl smolder_dbg_burn)
eburn=$(addr "$FIXTURES/debug_fixture" smolder_dbg_burn)
addrs=()
for (( i = 0; i < 160; i++ )); do addrs+=("$(printf '0x%x' $(( rburn + i )))"); done
run_smolder inline 30 symbolize --pid "$ipid" --inline "${addrs[@]}"
assert_rc 0 "symbolize --inline"
first=$(awk '/ smolder_dbg_inlined_leaf \(inlined\) / { print $1; exit }' "$WORK/inline.stdout")
[[ -n $first ]] || t_fail "no inlined frame in smolder_dbg_burn: $(head -n 5 "$WORK/inline.stdout")"
off=$(( first - rburn ))
expect_line inline "$first smolder_dbg_inlined_leaf (inlined) ($FIXTURES/debug_fixture)"
expect_line inline "$first smolder_dbg_burn+$(printf '0x%x' "$off") ($FIXTURES/debug_fixture)"
# The outermost address has no inlined frame; addr2line agrees on the first one.
grep -q "^$rburn smolder_dbg_inlined_leaf" "$WORK/inline.stdout" &&
	t_fail "the function's entry is reported as inlined code"
if command -v addr2line >/dev/null; then
	a2l=$(addr2line -i -f -e "$FIXTURES/debug_fixture" "$(printf '0x%x' $(( eburn + off )))" | sed -n 1p)
	assert_eq "$a2l" smolder_dbg_inlined_leaf "addr2line -i's innermost function at burn+$off"
fi

# ---- addresses as given, and unknown ones ----
run_smolder forms 30 symbolize --elf "$D/debug_full" "${hidden#0x}" 0x1
assert_rc 0 "symbolize with an address without 0x"
expect_line forms "0x${hidden#0x} smolder_dbg_hidden+0x0 ($D/debug_full)"
expect_line forms "0x1 [unknown] ($D/debug_full)"
run_smolder outside 30 symbolize --pid "$pid" 0x10
assert_rc 0 "symbolize --pid of an unmapped address"
expect_line outside "0x10 [unknown]"

# ---- errors: one line each; 2 for usage, 1 for runtime ----
run_smolder err_none 10 symbolize 0x1
assert_rc 2 "symbolize without --pid/--elf"
assert_one_line "$T_LAST_STDERR" "symbolize without --pid/--elf"
run_smolder err_both 10 symbolize --pid 1 --elf /bin/true 0x1
assert_rc 2 "symbolize with both --pid and --elf"
run_smolder err_addr 10 symbolize --elf /bin/true zzz
assert_rc 2 "symbolize with a bad address"
assert_one_line "$T_LAST_STDERR" "symbolize with a bad address"
run_smolder err_noaddr 10 symbolize --elf /bin/true
assert_rc 2 "symbolize without addresses"
run_smolder err_file 10 symbolize --elf /nonexistent/file 0x1
assert_rc 1 "symbolize --elf of a missing file"
assert_one_line "$T_LAST_STDERR" "symbolize --elf of a missing file"
run_smolder err_notelf 10 symbolize --elf /etc/passwd 0x1
assert_rc 1 "symbolize --elf of a non-ELF file"
assert_one_line "$T_LAST_STDERR" "symbolize --elf of a non-ELF file"
gone=$(unused_pid) || t_fail "no unused pid"
run_smolder err_pid 10 symbolize --pid "$gone" 0x1
assert_rc 1 "symbolize --pid of a missing process"
assert_one_line "$T_LAST_STDERR" "symbolize --pid of a missing process"
grep -q "$gone" "$T_LAST_STDERR" || t_fail "the error does not name pid $gone"
t_log "PASS"

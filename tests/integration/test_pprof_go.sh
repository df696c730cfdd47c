#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_pprof_go.sh: a pprof written by smolder is read by `go tool pprof -top` (the
# reference reader) with the right totals and top function, from folded input, from a
# .smolder file and from a store; and smolder reads the pprof back to the same stacks.
# Needs no BPF: runs as any user. Skips (77) only if the go tool is absent.
. "$TESTLIB"

[[ -n ${SMOLDER:-} && -x $SMOLDER ]] || t_fail "SMOLDER is not set or not executable"
command -v go >/dev/null || t_skip "go is not installed (Debian package golang-go)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/smolder-$T_NAME.XXXXXX") || t_fail "mktemp failed"
trap 't_cleanup' EXIT
export HOME=$WORK GOCACHE=$WORK/gocache PPROF_BINARY_PATH=/nonexistent PPROF_TMPDIR=$WORK

cat >"$WORK/in.folded" <<'IN'
app;main;compute;hot_loop 700
app;main;compute;cold 100
app;main;io;read_[k] 150
other;main;idle 50
IN

# pprof_top FILE INDEX: `go tool pprof -top` output for sample index INDEX.
pprof_top() {
	T_LAST_CMD="go tool pprof -top -sample_index=$2 $1"
	T_LAST_STDERR=$WORK/pprof.stderr
	timeout 120 go tool pprof -top -symbolize=none -sample_index="$2" "$1" 2>"$T_LAST_STDERR"
	RC=$?
}

check_pprof() {
	local file=$1 what=$2 out total top
	out=$(pprof_top "$file" samples) || t_fail "$what: go tool pprof failed (exit $RC)"
	total=$(grep -oE 'of [0-9]+ total' <<<"$out" | grep -oE '[0-9]+')
	assert_eq "$total" 1000 "$what: total samples reported by go tool pprof"
	top=$(awk '/flat%/ { getline; print $NF; exit }' <<<"$out")
	assert_eq "$top" hot_loop "$what: top function by flat samples"
	grep -qE '^ +700 70\.00% .*hot_loop$' <<<"$out" || t_fail "$what: hot_loop is not 700 samples (70%): $out"
	# cpu/nanoseconds: 1000 samples at the default 99 Hz period.
	out=$(pprof_top "$file" cpu) || t_fail "$what: go tool pprof (cpu) failed"
	grep -qE 'of 10(\.10s|101\.01ms) total' <<<"$out" || t_fail "$what: cpu total is not 1000 x 1e9/99 ns: $(grep total <<<"$out")"
	t_log "ok: $what: go tool pprof reads 1000 samples, hot_loop on top"
}

run_smolder folded-pprof 60 export "$WORK/in.folded" --format pprof -o "$WORK/a.pb.gz"
assert_rc 0 "export folded -> pprof"
check_pprof "$WORK/a.pb.gz" "from folded"

run_smolder smolder 60 export "$WORK/in.folded" -o "$WORK/b.smolder"
assert_rc 0 "export folded -> smolder"
run_smolder smolder-pprof 60 export "$WORK/b.smolder" -o "$WORK/b.pb.gz"
assert_rc 0 "export smolder -> pprof (format from the .pb.gz suffix)"
check_pprof "$WORK/b.pb.gz" "from a .smolder file"

# And back: pprof -> folded gives the input, sorted.
run_smolder back 60 export "$WORK/b.pb.gz" --format folded -o "$WORK/back.folded"
assert_rc 0 "export pprof -> folded"
LC_ALL=C sort "$WORK/in.folded" | cmp -s - "$WORK/back.folded" ||
	t_fail "pprof -> folded differs from the input: $(diff <(LC_ALL=C sort "$WORK/in.folded") "$WORK/back.folded")"

# From a store (the checked-in one): 250 samples; labels reach pprof.
cp -r "$(dirname "$TESTLIB")/../data/store" "$WORK/store"
run_smolder store-pprof 60 export --store "$WORK/store" --format pprof -o "$WORK/s.pb.gz"
assert_rc 0 "export --store -> pprof"
out=$(pprof_top "$WORK/s.pb.gz" samples) || t_fail "go tool pprof failed on the store export"
grep -q 'of 250 total' <<<"$out" || t_fail "store export: expected 250 samples: $out"
out=$(timeout 60 go tool pprof -tags -symbolize=none "$WORK/s.pb.gz" 2>/dev/null)
grep -q 'service' <<<"$out" && grep -q 'api' <<<"$out" ||
	t_fail "store export: the service label is missing from pprof -tags: $out"
t_log "ok: store export carries 250 samples and service labels"
exit 0

#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Go code has no .eh_frame, only a (compressed) .debug_frame, which smolder's unwinder
# converts for libunwind. Go's leaf main.spin has no frame, so a frame-pointer walk
# from it skips its caller: only the .debug_frame unwinding shows main.hotA and
# main.hotB (2:1 by construction) under it, and the stacks reach runtime.main.
# shellcheck source=tests/integration/lib.sh
. "${TESTLIB:?TESTLIB is not set (run through ctest)}"
t_init

command -v go >/dev/null || t_skip "go is not installed (Debian package golang-go)"
src=$(dirname "$TESTLIB")/../fixtures/go/gofixture.go
HOME=$WORK GOCACHE=$WORK/gocache GOPATH=$WORK/gopath GO111MODULE=off GOFLAGS= \
	go build -o "$WORK/gofixture" "$src" || t_fail "go build of $src failed"
readelf -S "$WORK/gofixture" | grep -q '\.eh_frame ' &&
	t_fail "the Go fixture has an .eh_frame: it no longer tests unwinding without one"

run_smolder go 60 record -F 199 -o "$WORK/go.folded" -- "$WORK/gofixture" 3
assert_rc 0 "record -- gofixture"
# Every sample is the fixture's: those of the forked child before its exec show
# smolder starting it, and record leaves them out.
assert_folded "$WORK/go.folded" gofixture
assert_ge "$(folded_share "$WORK/go.folded" main.main)" 90 "samples whose stack reaches main.main (%)"
assert_ge "$(folded_share "$WORK/go.folded" runtime.main)" 90 "samples whose stack reaches runtime.main (%)"
assert_ge "$(folded_share "$WORK/go.folded" main.spin)" 80 "samples in main.spin (%)"
assert_share "$WORK/go.folded" main.hotA 66.7 "share of main.hotA (%)"
assert_share "$WORK/go.folded" main.hotB 33.3 "share of main.hotB (%)"

# The frame-pointer walk alone misses them, or this test would not be about DWARF.
run_smolder go-fp 60 record --unwind fp -F 199 -o "$WORK/go-fp.folded" -- "$WORK/gofixture" 1
assert_rc 0 "record --unwind fp -- gofixture"
assert_le "$(folded_share "$WORK/go-fp.folded" main.hotA)" 20 "main.hotA with --unwind fp (%)"
t_log "PASS"

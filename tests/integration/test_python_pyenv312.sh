#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Python frames (issue 12) on pyenv's CPython 3.12 build (a libpython3.x.so build, beside
# Debian's statically linked python3.11 of test_python.sh): the cases and checks of
# test_python.sh, which this sources. The newest $PYENV_ROOT/versions/3.12.*/bin/python3.12
# (PYENV_ROOT defaults to /root/.pyenv); without one the test is skipped.
# Python frames are required (see test_python.sh for the cases and checks).
TPY_BIN=$(ls -d "${PYENV_ROOT:-/root/.pyenv}"/versions/3.12.*/bin/python3.12 2>/dev/null | sort -V | tail -n 1)
TPY_WHAT="pyenv's CPython 3.12"
TPY_MINOR=3.12
TPY_EXPECT=supported
# shellcheck source=tests/integration/test_python.sh
. "$(dirname "${BASH_SOURCE[0]}")/test_python.sh"

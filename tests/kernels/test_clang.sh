#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The BPF object from other compilers: Debian 12's clang 16 and 19 (the
# default build uses clang 14). Each compiler emits different code, and the
# verifier judges the code, not the source: a program that loads from one
# compiler can be refused from another. For each compiler, this builds the
# object with warnings as errors into build/clang-N/ (the unit tests with
# it embedded, as `make` builds them) and runs every unit test group
# against it on this kernel, so every engine's program goes through the
# verifier and through the same cases as the default build.
#
#   tests/kernels/test_clang.sh [VERSION...]     default: 16 19
#
# The packages come with `make deps` (DEPS in the Makefile). A missing
# compiler is a failure, unless apt has no such package to install: then it
# is a skip, saying so. Prints "N passed, M failed" last, the unit tests'
# cases of every compiler included.
set -u
cd "$(dirname "$0")/../.." || exit 1

# shellcheck source=tests/lib/suite.sh
. tests/lib/suite.sh

VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(16 19)

if [ "$(id -u)" != 0 ]; then
	skip "clang builds" "the unit tests load BPF programs and need root (run: sudo make test)"
	summary
	exit 0
fi

for v in "${VERSIONS[@]}"; do
	cc=clang-$v
	out=build/$cc
	echo "# $cc"
	if ! command -v "$cc" >/dev/null; then
		if apt-cache show "$cc" >/dev/null 2>&1; then
			fail "$cc: build" "$cc is not installed: run 'make deps' (apt-get install $cc)"
		else
			skip "$cc: build" "apt has no package $cc to install here (not Debian 12 bookworm?)"
		fi
		continue
	fi
	# Its own output directory: vmlinux.h, the object, the skeleton and
	# the unit tests around it, never build/ itself (which other suites
	# may be using).
	log=$(make --no-print-directory OUTPUT="$out" CLANG="$cc" "$out/test_xdp" 2>&1)
	rc=$?
	if [ $rc != 0 ]; then
		fail "$cc: build" "make exit $rc: $(printf '%s\n' "$log" | grep -E 'error|warning' | head -n 5)"
		continue
	fi
	ok "$cc: the BPF object builds with -Wall -Wextra -Werror ($("$cc" --version | head -n 1))"
	# Every group: the own engine's programs load in setup(), the kernel
	# engine's in its group; a refused load fails the run, with the
	# verifier's reason.
	log=$("$out/test_xdp" 2>&1)
	rc=$?
	printf '%s\n' "$log" | grep -v '^ok ' | sed "s/^/[$cc] /"
	add_summary "$cc: unit tests" "$log" $rc
done
summary

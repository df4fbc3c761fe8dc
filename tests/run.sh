#!/usr/bin/env bash
# Runs every test suite and prints one closing line for all of them:
# "N passed, M failed". Each suite prints its own "N passed, M failed" last.
#
#   tests/run.sh            every suite
#   tests/run.sh -t NAME    the unit test groups (build/test_xdp --list) and
#                           the script suites (tests/*/test_NAME.sh, among
#                           them tests/kernels/test_clang.sh: other
#                           compilers; and tests/kernels/matrix.sh: the
#                           kernel matrix)
#                           whose names contain NAME; nothing matching is a
#                           failure
set -u
cd "$(dirname "$0")/.." || exit 1

filter=
case "${1-}" in
"") ;;
-t)
	[ -n "${2-}" ] || { echo "usage: $0 [-t NAME]" >&2; exit 2; }
	filter=$2
	;;
*)
	echo "usage: $0 [-t NAME]" >&2
	exit 2
	;;
esac

# libxdp makes /sys/fs/bpf/xdp (its lock directory) on first use: remove
# it at the end if the suites made it and left it empty.
libxdp_dir=/sys/fs/bpf/xdp
[ -d "$libxdp_dir" ] && libxdp_dir_made=0 || libxdp_dir_made=1

# shellcheck source=tests/lib/suite.sh
. tests/lib/suite.sh

# run_suite NAME COMMAND...: runs a suite, shows its output, adds its
# summary line to the total.
run_suite() {
	local name=$1 log rc
	shift
	log=$(mktemp)
	echo "== $name"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	add_summary "$name" "$(cat "$log")" "$rc"
	rm -f "$log"
}

if [ -z "$filter" ]; then
	run_suite "reference implementations" build/selftest_ref
	run_suite "XDP unit tests" build/test_xdp
	suites=0
elif build/test_xdp --list | grep -qF -- "$filter"; then
	run_suite "XDP unit tests matching $filter" build/test_xdp "$filter"
	suites=1
else
	suites=0
fi
# Script suites: each prints its own "N passed, M failed" last.
for t in tests/cli/test_*.sh tests/deploy/test_*.sh tests/integration/test_*.sh \
	tests/fuzz/test_*.sh tests/kernels/test_*.sh \
	tests/kernels/matrix.sh; do
	[ -e "$t" ] || continue
	case "$(basename "$t")" in *"$filter"*) ;; *) continue ;; esac
	run_suite "$t" bash "$t"
	suites=$((suites + 1))
done
if [ -n "$filter" ] && [ "$suites" -eq 0 ]; then
	fail "-t $filter" "no unit test group and no suite matches (groups: build/test_xdp --list)"
fi

[ "$libxdp_dir_made" = 1 ] && rmdir "$libxdp_dir" 2>/dev/null
summary

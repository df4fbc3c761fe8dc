#!/usr/bin/env bash
# Runs every test suite and prints one closing line for all of them:
# "N passed, M failed". Each suite prints its own "N passed, M failed" last.
#
#   tests/run.sh            every suite
#   tests/run.sh -t NAME    the unit test groups (build/test_xdp --list) and
#                           the script suites (tests/*/test_NAME.sh, and
#                           tests/kernels/matrix.sh: the kernel matrix)
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

total_pass=0
total_fail=0
run_suite() {
	local name=$1; shift
	local log rc last p f
	log=$(mktemp)
	echo "== $name"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
	rm -f "$log"
	if [ -z "$last" ]; then
		echo "$name: no summary line (exit $rc): counted as one failure"
		total_fail=$((total_fail + 1))
		return
	fi
	p=${last%% passed*}
	f=${last#*, }; f=${f%% failed*}
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$name: exit $rc with no failed case: counted as one failure"
		total_fail=$((total_fail + 1))
	fi
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
	tests/kernels/matrix.sh; do
	[ -e "$t" ] || continue
	case "$(basename "$t")" in *"$filter"*) ;; *) continue ;; esac
	run_suite "$t" bash "$t"
	suites=$((suites + 1))
done
if [ -n "$filter" ] && [ "$suites" -eq 0 ]; then
	echo "no unit test group and no suite matches '$filter' (groups: build/test_xdp --list)"
	total_fail=$((total_fail + 1))
fi

[ "$libxdp_dir_made" = 1 ] && rmdir "$libxdp_dir" 2>/dev/null
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]

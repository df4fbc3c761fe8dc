#!/bin/sh
# Runs in each kernel of the matrix (tests/kernels/matrix.sh), as root in
# the guest, on the host's tree. Prints "N passed, M failed" last.
# MATRIX_VERBOSE=1 on the host puts sg_verbose=1 on the kernel command
# line, which turns on the unit tests' verifier log here.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cd "$(dirname "$0")/../.." || exit 1
echo "# guest kernel $(uname -r)"
grep -q 'sg_verbose=1' /proc/cmdline && export SG_TEST_VERBOSE=1
pass=0
fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

# Whether this kernel has the handoff's kfunc decides what must hold:
# with it, everything; without it, attach refuses, names the kernel and
# leaves nothing behind (the kernel-cookie engine is not there yet).
# (kallsyms, not bpftool: Debian's bpftool is a wrapper that wants a
# linux-tools package for the running kernel.)
if grep -qw bpf_sk_assign_tcp_reqsk /proc/kallsyms; then
	kfunc=1
else
	kfunc=0
	echo "# no bpf_sk_assign_tcp_reqsk in this kernel: unit tests not run (they load the handoff)"
fi

ip netns add sgm
ip -n sgm link add sgm0 type veth peer name sgm1
ip -n sgm link set sgm0 up
ip -n sgm link set sgm1 up
v=
grep -q 'sg_verbose=1' /proc/cmdline && v=-v
out=$(nsenter --net=/run/netns/sgm build/synguard attach sgm0 --ports 80 $v 2>&1)
rc=$?
if [ $kfunc = 1 ]; then
	echo "$out" | sed 's/^/# attach: /'
	if [ $rc = 0 ]; then ok "attach"; else bad "attach" "exit $rc: $out"; fi
	out=$(nsenter --net=/run/netns/sgm build/synguard status sgm0 2>&1)
	rc=$?
	if [ $rc = 0 ]; then ok "status: healthy"; else bad "status" "exit $rc: $out"; fi
	out=$(nsenter --net=/run/netns/sgm build/synguard detach sgm0 2>&1)
	rc=$?
	if [ $rc = 0 ]; then ok "detach"; else bad "detach" "exit $rc: $out"; fi
else
	case $out in
	*"synguard requires Linux 6.9 or later (this is $(uname -r))"*)
		if [ $rc = 1 ]; then
			ok "attach refused, names the kernel"
		else
			bad "attach refused" "exit $rc, want 1: $out"
		fi ;;
	*) bad "attach refused, names the kernel" "exit $rc: $out" ;;
	esac
fi
if ip -n sgm -d link show dev sgm0 | grep -q 'prog/xdp' ||
	[ -e /sys/fs/bpf/synguard/sgm0 ]; then
	bad "nothing left on the interface" "$(ip -n sgm -d link show dev sgm0)"
else
	ok "nothing left on the interface"
fi
ip netns del sgm

if [ $kfunc = 1 ]; then
	out=$(build/test_xdp 2>&1)
	echo "$out" | grep -v '^ok '
	last=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	p=${last%% passed*}
	f=${last#*, }
	f=${f%% failed*}
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-1}))
fi
# suite SCRIPT: a namespace suite of tests/integration/, counted here.
suite() {
	out=$(bash "$1" 2>&1)
	echo "$out" | grep -E '^(FAIL|skip|#)'
	last=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	echo "# $1: ${last:-no summary}"
	p=${last%% passed*}
	f=${last#*, }
	f=${f%% failed*}
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-1}))
}
[ $kfunc = 1 ] && suite tests/integration/test_handoff.sh
echo "$pass passed, $fail failed"

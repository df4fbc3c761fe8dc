#!/usr/bin/env bash
# Runs in each kernel of the matrix (tests/kernels/matrix.sh), as root in
# the guest, on the host's tree. Prints "N passed, M failed" last.
# MATRIX_VERBOSE=1 on the host puts sg_verbose=1 on the kernel command
# line, which turns on the unit tests' verifier log here.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
cd "$(dirname "$0")/../.." || exit 1
echo "# guest kernel $(uname -r)"
grep -q 'sg_verbose=1' /proc/cmdline && export SG_TEST_VERBOSE=1
# shellcheck source=tests/lib/suite.sh
. tests/lib/suite.sh
# Every case's seconds on the console: where MATRIX_TIMEOUT goes.
export SG_CASE_TIMES=1

# Whether this kernel has the handoff's kfunc decides the engine attach
# picks by default: own with it (6.9+), kernel without it (6.1+). Each
# kernel runs the engines it has; what it cannot run is a skip, with why.
# (A kfunc is a kernel function: kallsyms lists it.)
if grep -qw bpf_sk_assign_tcp_reqsk /proc/kallsyms; then
	kfunc=1
	want_engine=own
else
	kfunc=0
	want_engine=kernel
	echo "# no bpf_sk_assign_tcp_reqsk in this kernel: the own engine cannot run here"
fi

ip netns add sgm
ip -n sgm link add sgm0 type veth peer name sgm1
ip -n sgm link set sgm0 up
ip -n sgm link set sgm1 up
ip netns exec sgm sysctl -qw net.ipv4.tcp_syncookies=1 net.ipv4.tcp_timestamps=1
v=
grep -q 'sg_verbose=1' /proc/cmdline && v=-v
out=$(nsenter --net=/run/netns/sgm build/synguard attach sgm0 --ports 80 $v 2>&1)
rc=$?
printf '%s\n' "$out" | while read -r l; do echo "# attach: $l"; done
if [ $rc = 0 ]; then ok "attach (auto)"; else fail "attach (auto)" "exit $rc: $out"; fi
case $out in
*"engine $want_engine (auto: "*) ok "attach picks the $want_engine engine" ;;
*) fail "attach picks the $want_engine engine" "$out" ;;
esac
out=$(nsenter --net=/run/netns/sgm build/synguard status sgm0 2>&1)
rc=$?
if [ $rc = 0 ]; then ok "status: healthy"; else fail "status" "exit $rc: $out"; fi
out=$(nsenter --net=/run/netns/sgm build/synguard detach sgm0 2>&1)
rc=$?
if [ $rc = 0 ]; then ok "detach"; else fail "detach" "exit $rc: $out"; fi
sc=$(ip netns exec sgm sysctl -n net.ipv4.tcp_syncookies)
if [ "$sc" = 1 ]; then ok "tcp_syncookies as before attach"; else fail "tcp_syncookies as before attach" "$sc"; fi
if ip -n sgm -d link show dev sgm0 | grep -q 'prog/xdp' ||
	[ -e /sys/fs/bpf/synguard/sgm0 ]; then
	fail "nothing left on the interface" "$(ip -n sgm -d link show dev sgm0)"
else
	ok "nothing left on the interface"
fi
ip netns del sgm

# The unit tests load the conntrack lookup as attach does on a host
# with conntrack; attach above loaded the module if it is one.
grep -qw bpf_xdp_ct_lookup /proc/kallsyms ||
	fail "conntrack loaded by attach" "no bpf_xdp_ct_lookup in kallsyms"
t0=$SECONDS
out=$(build/test_xdp 2>&1)
rc=$?
# Its summary line with a "#": the console's only bare "N passed" line is
# guest.sh's own, last, which the host counts.
echo "$out" | grep -vE '^(ok |[0-9]+ passed, )'
echo "# build/test_xdp: $(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1) ($((SECONDS - t0)) s)"
add_summary build/test_xdp "$out" $rc
# The objects of clang 16 and 19, which tests/kernels/test_clang.sh
# builds on the host (it runs before the matrix in make test): loaded on
# this kernel too, in a group of each engine (the own engine's in setup,
# where the kernel has its kfunc).
for v in 16 19; do
	t=build/clang-$v/test_xdp
	if [ ! -x "$t" ]; then
		skip "clang-$v object" "$t not built: run tests/kernels/test_clang.sh on the host first"
		continue
	fi
	for g in syn_headers kernel_engine; do
		out=$("$t" "$g" 2>&1)
		rc=$?
		echo "# clang-$v object, group $g: $(echo "$out" | grep -E '^[0-9]+ passed' | tail -n 1)"
		echo "$out" | grep -E '^(FAIL|skip|SKIP)'
		add_summary "clang-$v $g" "$out" $rc
	done
done
# suite SCRIPT: a namespace suite of tests/integration/, counted here,
# with the seconds it took (what the guest's MATRIX_TIMEOUT budget goes to).
suite() {
	local out rc t0=$SECONDS
	out=$(bash "$1" 2>&1)
	rc=$?
	echo "$out" | grep -E '^(FAIL|skip|#)'
	echo "# $1: $(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1) ($((SECONDS - t0)) s)"
	# A suite that died before its summary: its last words say why.
	echo "$out" | grep -qE '^[0-9]+ passed, [0-9]+ failed' ||
		echo "$out" | tail -n 5 | sed 's/^/# last: /'
	add_summary "$1" "$out" $rc
}
# Full size under KVM (sg_full=1, which MATRIX_FULL=1 on the host sets
# under TCG too); smaller counts, the same cases, when qemu emulates the
# CPU (TCG), where the full floods take minutes.
full=0
grep -qw sg_full=1 /proc/cmdline && full=1
# sized SCRIPT WHAT VAR=VALUE...: the suite at full size, or with the
# smaller counts of the VAR=VALUE settings (in its environment), saying so
# as WHAT.
sized() {
	local script=$1 what=$2
	shift 2
	if [ $full = 1 ]; then
		suite "$script"
		return
	fi
	local -x "$@"
	echo "# $script $what"
	suite "$script"
}
if [ $kfunc = 1 ]; then
	suite tests/integration/test_handoff.sh
	# Translated ports and NodePorts behind netfilter's SYNPROXY, and
	# local listeners on NAT hosts: the netfilter and conntrack of this
	# kernel, not only the host's. Both suites attach the own engine (its
	# kernel-engine cases are their own); N connects per case, 20 when
	# qemu emulates the CPU.
	for t in test_synproxy test_nat; do
		sized tests/integration/$t.sh "at N=20 connects" N=20
	done
else
	for t in test_handoff test_synproxy test_nat; do
		skip tests/integration/$t.sh "the own engine needs bpf_sk_assign_tcp_reqsk (Linux 6.9)"
	done
fi
# Long transfers across every operator change, and cookie forgery end to
# end, where the guest's CPU is the machine's (KVM): under qemu's software
# emulation continuity takes about 400 s and its drain case cannot hold
# (detach drains only right after a SYN-ACK went out), and the forgery
# bound needs its full 30 s two-flood window at real rates. Own engine.
if ! grep -qw sg_accel=kvm /proc/cmdline; then
	for t in test_continuity test_forge; do
		skip tests/integration/$t.sh "runs only under KVM: qemu's software emulation is too slow for its timing (doc/design.md)"
	done
elif [ $kfunc = 1 ]; then
	suite tests/integration/test_continuity.sh
	suite tests/integration/test_forge.sh
else
	for t in test_continuity test_forge; do
		skip tests/integration/$t.sh "the own engine needs bpf_sk_assign_tcp_reqsk (Linux 6.9)"
	done
fi
# Map memory flat under a long random-source flood, the per-source LRU at
# its bound: in either engine. Under TCG a flood of 20 s, longer (up to
# 120 s) until it has overrun the table.
sized tests/integration/test_memory.sh "with a flood of 20 s (up to 120 s)" \
	FLOOD_SECS=20 FLOOD_MAX_SECS=120
sized tests/integration/test_kengine.sh "at smaller counts (SG_SUITE_QUICK=1)" SG_SUITE_QUICK=1
summary

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The bounded fuzz pass of `make test`: `make fuzz` for FUZZ_TEST_SECONDS
# (60 by default), so every CI run fuzzes the data path a little. Fails on
# a violated invariant (the reproducer is in build/fuzz-crashes/) and when
# the run reached less than its seeds alone reach.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/suite.sh
. tests/lib/suite.sh

secs=${FUZZ_TEST_SECONDS:-60}
# The seeds alone reach 23 of the XDP verdict counters and 3 of the TC
# ones, and complete handshakes that TC hands off; a run that reaches less
# did not fuzz what it should (one counter of slack: rate limits and the
# clock decide a few).
min_counters=22
min_tc_counters=2

if [ "$(id -u)" != 0 ]; then
	skip "fuzz" "loads BPF programs into a network namespace of its own: needs root"
	summary
	exit
fi
if [ ! -x build/fuzz_xdp ]; then
	fail "fuzz" "build/fuzz_xdp missing: run make all"
	summary
	exit
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# libFuzzer stops itself at max_total_time; timeout only guards a hang.
timeout $((secs + 120)) make -s --no-print-directory fuzz FUZZ_SECONDS="$secs" >"$log" 2>&1
rc=$?
grep '^fuzz: ' "$log"

if grep -q 'INVARIANT VIOLATED' "$log" || [ "$rc" -ne 0 ]; then
	why=$(grep -m1 -E 'INVARIANT VIOLATED|ERROR: (AddressSanitizer|libFuzzer)' "$log")
	fail "fuzz: ${secs} s with every invariant holding" "${why:-exit $rc}"
	grep -A12 'INVARIANT VIOLATED' "$log" | head -n 30
	grep 'Test unit written to' "$log"
	skip "fuzz: coverage" "the run stopped at the violation"
	summary
	exit
else
	execs=$(sed -n 's/^fuzz: \([0-9]*\) executions in .*/\1/p' "$log")
	ok "fuzz: ${secs} s, ${execs:-?} executions, every invariant held"
fi

execs=$(sed -n 's/^fuzz: \([0-9]*\) executions in .*/\1/p' "$log")
hs=$(sed -n 's/.* \([0-9]*\) handshakes completed.*/\1/p' "$log")
reached=$(sed -n 's/^fuzz: XDP verdict counters reached \([0-9]*\) of.*/\1/p' "$log")
tx=$(grep -c '^fuzz: XDP verdicts reached.* XDP_TX ' "$log")
tc_reached=$(sed -n 's/^fuzz: TC verdict counters reached \([0-9]*\) of.*/\1/p' "$log")
handoffs=$(sed -n 's/.* handoffs \([0-9]*\)$/\1/p' "$log")
monitor=$(sed -n 's/^fuzz: \([0-9]*\) executions with enforce off.*/\1/p' "$log")
want "executions" "$execs" -gt 0
want "handshakes completed" "$hs" -gt 0
want "runs with XDP_TX reported" "$tx" -eq 1
want "XDP verdict counters reached" "$reached" -ge "$min_counters"
want "TC verdict counters reached" "$tc_reached" -ge "$min_tc_counters"
want "handoffs by TC" "$handoffs" -gt 0
want "executions in monitor mode" "$monitor" -gt 0
check "fuzz: reached XDP_TX, handoffs, monitor mode, at least $min_counters XDP and $min_tc_counters TC verdict counters"

summary

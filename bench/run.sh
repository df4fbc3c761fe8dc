#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: the per-packet cost, the end-to-end floods, then the report
# (tables on stdout, build/bench.json, bench/results.png, bench/results.md).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-build}
export OUT
rc=0
start=$(date +%s)

echo "== per-packet cost (BPF_PROG_TEST_RUN)"
build/bench/prog_cost --json "$OUT/bench-cost.json" || rc=1
echo
echo "== end to end (veth, network namespaces)"
bench/e2e.sh || rc=1
echo
echo "== report"
bench/report.sh || rc=1
echo "bench: $(($(date +%s) - start)) s"
exit $rc

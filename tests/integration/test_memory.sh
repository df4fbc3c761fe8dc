#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Memory under a long flood from random sources, in the namespaces of
# lib.sh: synguard's maps take the same memory before and after (every one
# is preallocated; the per-source table is an LRU that evicts at its
# bound), status shows the per-source table full and at its size, and a
# legit client still connects.
#
#   memory_flat_under_flood   FLOOD_SECS of hping3 --rand-source SYNs with
#                             per-source limits on (every source gets an
#                             entry), longer if XDP has not yet seen 4
#                             times the table's size (at most
#                             FLOOD_MAX_SECS): bpftool's memlock per map
#                             unchanged
#   src_table_at_bound        entries at the size (within the LRU's per-CPU
#                             free entries) after the flood
#   connects_after_flood      20/20 connects right after
#
# The flood is bounded by `timeout` (hping3 ignores -c with --flood). A
# slow machine (a guest under qemu's software emulation, about 11000 SYNs
# a second) needs longer than FLOOD_SECS to overrun the table.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

FLOOD_SECS=${FLOOD_SECS:-60}
FLOOD_MAX_SECS=${FLOOD_MAX_SECS:-$FLOOD_SECS}
N=20

topo_setup
server_start
# Limits on: every source of the flood takes a bucket in the table.
if ! sg_attach --src-syn-rate 1000; then
	fail attach "synguard attach failed (output above): every case needs it"
	finish
fi

# maps_mem FILE: "name memlock" of every map of synguard's XDP program.
maps_mem() {
	local prog
	prog=$(sg status "$SIF" --json | python3 -c \
		'import json,sys; print(json.load(sys.stdin)["interfaces"][0]["xdp_prog_id"])')
	bpftool -j prog show id "$prog" | python3 -c '
import json, subprocess, sys
for m in json.load(sys.stdin)["map_ids"]:
    info = json.loads(subprocess.check_output(["bpftool", "-j", "map", "show", "id", str(m)]))
    print(info.get("name", "?"), info.get("bytes_memlock", "?"))' | sort >"$1"
}

st() {
	sg status "$SIF" --json 2>/dev/null | python3 -c "
import json, sys
i = json.load(sys.stdin)['interfaces'][0]
print($1)" 2>/dev/null
}

maps_mem "$TMP/mem0"
want "maps found (before)" "$(wc -l <"$TMP/mem0")" -ge 5
size=$(st "i['src_table']['size']")
stats_snap "$TMP/s0"
pids=()
for _ in $(seq "$(nproc)"); do
	ip netns exec "$CNS" timeout "$FLOOD_MAX_SECS" hping3 --flood --rand-source -S -p "$P_PROT" "$S4" \
		>/dev/null 2>&1 &
	pids+=($!)
	BG_PIDS+=($!)
done
start=$SECONDS
sleep "$FLOOD_SECS"
while [ $((SECONDS - start)) -lt "$FLOOD_MAX_SECS" ]; do
	stats_snap "$TMP/s1"
	[ "$(stat_delta "$TMP/s0" "$TMP/s1" syn_received)" -gt $((size * 4)) ] && break
	sleep 1
done
# timeout passes the TERM on to its hping3.
kill "${pids[@]}" 2>/dev/null
for p in "${pids[@]}"; do
	wait "$p" 2>/dev/null
done
secs=$((SECONDS - start))
stats_snap "$TMP/s1"
maps_mem "$TMP/mem1"
syns=$(stat_delta "$TMP/s0" "$TMP/s1" syn_received)
echo "# $syns SYNs in ${secs}s from random sources; maps: $(tr '\n' ' ' <"$TMP/mem1")"
want "SYNs of the flood seen (in at most ${FLOOD_MAX_SECS}s)" "$syns" -gt $((size * 4))
cmp -s "$TMP/mem0" "$TMP/mem1" ||
	REASONS+=("map memory changed: $(diff "$TMP/mem0" "$TMP/mem1" | grep '^[<>]' | tr '\n' ' ')")
check memory_flat_under_flood

entries=$(st "i['src_table']['entries']")
# An LRU hash keeps a few entries per CPU free for its next updates: at
# its bound means within 1% below the size, never above it.
want "per-source table entries (at most its size)" "$entries" -le "$size"
want "per-source table entries (within 1% of its size)" "$entries" -ge $((size * 99 / 100))
want "per-source table size" "$size" -eq 65536
check src_table_at_bound

r=$(client -n $N -t 3000 "$S4" "$P_PROT")
want "connects after the flood" "$(json_get "$r" ok)" -eq $N
check connects_after_flood

finish

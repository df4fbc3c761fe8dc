#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Monitor mode end to end (attach --enforce off), in two network namespaces
# joined by veth (lib.sh), cookies always, the own engine: legitimate
# connects go through the kernel as if synguard were not there, while every
# SYN counts as answered (synack_sent); a bounded spoofed SYN flood passes
# to the kernel, which answers it itself, while synack_sent counts it; then
# config enforce=on makes synguard answer and hand off the next connects.
#
# Who answered a SYN: the kernel's SYN-ACKs leave through the stack and
# show in a capture on the server's interface; synguard's XDP_TX ones do
# not, and veth counts them (ethtool -S, xdp_tx).
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# Names of this suite's own, so it can run next to the others.
suite_names mo
N=20 SYNS=3000
[ "${SG_SUITE_QUICK:-0}" = 1 ] && N=5 SYNS=500
SPOOF=203.0.113.20

# Frames the server's veth sent back with XDP_TX, summed over its queues.
xdp_tx() {
	ip netns exec "$SNS" ethtool -S "$SIF" 2>/dev/null |
		awk '$1 ~ /xdp_tx:$/ { n += $2 } END { print n + 0 }'
}

topo_setup
# The kernel's answers to the spoofed source leave through the client's
# end (which drops them), so that the capture sees them.
ip -n "$SNS" route add 203.0.113.0/24 via "$C4" dev "$SIF" ||
	topo_fail "cannot route $SPOOF through $C4"
server_start

if ! sg_attach --enforce off; then
	fail attach "synguard attach --enforce off failed: every case below needs it"
	finish
fi

# ---- 1. legitimate connects: the kernel answers, synguard counts ----
acc0=$(server_conns)
stats_snap "$TMP/c0"
tx0=$(xdp_tx)
capture_start "$TMP/c.pcap" || REASONS+=("no capture")
r=$(client -n $N "$S4" "$P_PROT")
capture_stop
stats_snap "$TMP/c1"
want "connections ok" "$(json_get "$(echo "$r" | tail -n 1)" ok)" -eq $N
want "connections accepted by the server" $(( $(server_conns) - acc0 )) -eq $N
want "syn_received delta" "$(stat_delta "$TMP/c0" "$TMP/c1" syn_received)" -eq $N
want "synack_sent delta (would have answered)" "$(stat_delta "$TMP/c0" "$TMP/c1" synack_sent)" -eq $N
# The ACKs find the request sockets of the kernel's own handshakes.
want "ack_established_pass delta" "$(stat_delta "$TMP/c0" "$TMP/c1" ack_established_pass)" -ge $N
for c in cookie_ok handoff_ok cookie_bad cookie_none_issued; do
	want "$c delta" "$(stat_delta "$TMP/c0" "$TMP/c1" $c)" -eq 0
done
want "kernel SYN-ACKs in the capture" "$(pcap_count "$TMP/c.pcap" synack "$P_PROT")" -ge $N
want "XDP_TX frames on $SIF" $(( $(xdp_tx) - tx0 )) -eq 0
check monitor_connects_through_the_kernel

# ---- 2. a SYN flood passes to the kernel, counted as answered ----
stats_snap "$TMP/f0"
tx0=$(xdp_tx)
capture_start "$TMP/f.pcap" || REASONS+=("no capture")
# 5000 SYNs/s from one spoofed source, source ports counting up.
timeout 10 ip netns exec "$CNS" hping3 -q -S -i u200 -c $SYNS -p "$P_PROT" -a "$SPOOF" "$S4" \
	>/dev/null 2>&1
capture_stop
stats_snap "$TMP/f1"
# hping3's pacing comes in bursts, and veth loses a few frames of them
# before XDP: the counters are checked against what reached the program.
got=$(stat_delta "$TMP/f0" "$TMP/f1" syn_received)
want "syn_received delta" "$got" -ge $((SYNS * 9 / 10))
want "synack_sent delta: every flood SYN that arrived would have been answered" \
	"$(stat_delta "$TMP/f0" "$TMP/f1" synack_sent)" -eq "$got"
# The kernel answers each SYN it sees (a request socket, or its own cookie
# once the backlog is full).
want "kernel SYN-ACKs to $SPOOF in the capture" "$(pcap_count "$TMP/f.pcap" synack "$P_PROT")" \
	-ge $((got * 9 / 10))
want "XDP_TX frames on $SIF" $(( $(xdp_tx) - tx0 )) -eq 0
check monitor_syn_flood_passes_counted

# ---- 3. enforce=on in place: synguard answers and hands off ----
out=$(sg config "$SIF" enforce=on 2>&1) || REASONS+=("config enforce=on: $out")
stats_snap "$TMP/e0"
tx0=$(xdp_tx)
r=$(client -n $N "$S4" "$P_PROT")
stats_snap "$TMP/e1"
want "connections ok" "$(json_get "$(echo "$r" | tail -n 1)" ok)" -eq $N
want "synack_sent delta" "$(stat_delta "$TMP/e0" "$TMP/e1" synack_sent)" -eq $N
want "handoff_ok delta" "$(stat_delta "$TMP/e0" "$TMP/e1" handoff_ok)" -eq $N
want "XDP_TX frames on $SIF" $(( $(xdp_tx) - tx0 )) -eq $N
check enforce_on_answers_at_xdp

finish

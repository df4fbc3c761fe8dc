#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Kernel parity with real clients, in the namespaces of lib.sh,
# cookies always: synguard answers what the kernel would accept and the
# handoff can serve, passes what only the kernel can serve, and drops what
# the kernel would refuse (doc/design.md, "Kernel parity: the rule").
#
#   timewait_reconnect   the server closes first and holds TIME_WAIT; 5
#                        reconnects from the same source port all open
#   mptcp_listener       10 connects to an IPPROTO_MPTCP listener
#   first_flight         6000 bytes written at once with the handshake's
#                        ACK, echoed intact
#   crafted_*            SYNs the kernel would refuse get no SYN-ACK;
#                        a SYN ending in option kind 254 length 0 gets one,
#                        and an ECT-marked ECN setup gets one without ECE
#   sysctl_*_off         tcp_sack / tcp_timestamps / tcp_window_scaling = 0
#                        before attach: 10 handoffs without that option
#   syncookies_off       attach refuses, naming the sysctl
#
# The crafted SYNs are sent with scapy (python3-scapy) on the client's
# veth, and the answers sniffed there.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
N=10
P_PY=443 # protected (SG_PORTS), free of tcp_echo: the Python servers' port
TW_SPORT=40000

scapy_python
# A parity.py client in the client namespace.
peer() { in_c "$PY" "$HERE/parity.py" "$@"; }

# deltas_eq BEFORE AFTER WANTED COUNTER...: each counter changed by WANTED.
deltas_eq() {
	local a=$1 b=$2 n=$3 c
	shift 3
	for c in "$@"; do
		want "$c delta" "$(stat_delta "$a" "$b" "$c")" -eq "$n"
	done
}

topo_setup
server_start
if ! sg_attach; then
	fail attach "synguard attach failed (output above): every case needs it"
	finish
fi

# py_server_start KIND: a parity.py server on $S4:$P_PY in the server
# namespace (stdout to $TMP/KIND.log); its PID in PY_PID.
PY_PID=
py_server_start() {
	ip netns exec "$SNS" "$PY" "$HERE/parity.py" "$1" "$S4" "$P_PY" \
		>"$TMP/$1.log" 2>"$TMP/$1.err" &
	PY_PID=$!
	BG_PIDS+=("$PY_PID")
	for _ in $(seq 50); do
		grep -q '"ready"' "$TMP/$1.log" 2>/dev/null && return 0
		pid_alive "$PY_PID" || break
		sleep 0.1
	done
	echo "# parity.py $1: $(cat "$TMP/$1.err")"
	return 1
}

py_server_stop() {
	kill_ours "$PY_PID"
	PY_PID=
}

# tw_held: 1 if the server holds the tuple of the last connection in
# TIME_WAIT, after waiting for it up to 2 s (the client's FIN is on its
# way when the client exits).
tw_held() {
	local n
	for _ in $(seq 20); do
		n=$(in_s ss -Htan state time-wait src "$S4:$P_PY" dst "$C4:$TW_SPORT" | wc -l)
		[ "$n" -ge 1 ] && { echo 1; return; }
		sleep 0.1
	done
	echo 0
}

# ---- TIME_WAIT: a reconnect onto a tuple the server holds in TIME_WAIT ----
if py_server_start tw-server; then
	stats_snap "$TMP/t0"
	r=$(peer tw-client "$S4" "$P_PY" "$TW_SPORT")
	stats_snap "$TMP/t1"
	want "first connection ok" "$(json_get "$r" ok)" -eq 1
	deltas_eq "$TMP/t0" "$TMP/t1" 1 handoff_ok
	want "server holds TIME_WAIT after the first connection" "$(tw_held)" -eq 1
	ok_n=0
	tw_n=0
	for i in 1 2 3 4 5; do
		r=$(peer tw-client "$S4" "$P_PY" "$TW_SPORT")
		if [ "$(json_get "$r" ok)" = 1 ]; then
			ok_n=$((ok_n + 1))
		else
			echo "# reconnect $i: $r"
		fi
		[ "$(tw_held)" = 1 ] && tw_n=$((tw_n + 1))
	done
	stats_snap "$TMP/t2"
	want "reconnects from port $TW_SPORT that opened and echoed" $ok_n -eq 5
	want "reconnects after which the server held TIME_WAIT again" $tw_n -eq 5
	deltas_eq "$TMP/t1" "$TMP/t2" 5 syn_socket_pass
	deltas_eq "$TMP/t1" "$TMP/t2" 0 synack_sent handoff_ok cookie_bad
	py_server_stop
else
	REASONS+=("parity.py tw-server did not start")
fi
check timewait_reconnect

# ---- MPTCP listener: the handoff cannot serve it, the kernel does ----
if [ ! -e /proc/sys/net/mptcp/enabled ]; then
	skip mptcp_listener "this kernel has no MPTCP (no /proc/sys/net/mptcp)"
else
	in_s sysctl -qw net.mptcp.enabled=1
	if py_server_start mptcp-server; then
		stats_snap "$TMP/m0"
		r=$(client -n $N "$S4" "$P_PY")
		stats_snap "$TMP/m1"
		want "connects to the MPTCP listener" "$(json_get "$r" ok)" -eq $N
		want "connections the MPTCP server echoed" \
			"$(grep -c '"bytes": 1}' "$TMP/mptcp-server.log")" -eq $N
		deltas_eq "$TMP/m0" "$TMP/m1" $N syn_mptcp_pass
		deltas_eq "$TMP/m0" "$TMP/m1" 0 synack_sent handoff_ok \
			handoff_kfunc_error cookie_bad
		py_server_stop
	else
		REASONS+=("an IPPROTO_MPTCP listener could not be made")
	fi
	check mptcp_listener
fi

# ---- first flight of several segments ----
# parity.py holds back the handshake's ACK (quickack off), so the 6000
# bytes leave as one burst: the ACK carrying the first 1448 bytes (MSS
# 1460 from the cookie table, less 12 for timestamps), then 4 segments.
# The burst enters the veth ring in one go and XDP sees all of it before
# the kernel builds the socket, so each of the 4 later segments must pass
# as first flight; one dropped instead would count cookie_bad (and the
# data would still arrive, retransmitted: hence the counters).
FLIGHT=6000
FLIGHT_LATER=4
stats_snap "$TMP/f0"
r=$(peer flight "$S4" "$P_PROT" $FLIGHT)
stats_snap "$TMP/f1"
want "first flight echoed intact" "$(json_get "$r" ok)" -eq 1
want "bytes echoed" "$(json_get "$r" bytes)" -eq $FLIGHT
deltas_eq "$TMP/f0" "$TMP/f1" 1 handoff_ok
deltas_eq "$TMP/f0" "$TMP/f1" $FLIGHT_LATER ack_first_flight_pass
deltas_eq "$TMP/f0" "$TMP/f1" 0 cookie_bad cookie_none_issued cookie_expired
check first_flight

# ---- crafted SYNs ----
# craft CASE DMAC: sends one crafted SYN; the answer summary on stdout,
# counters around it in $TMP/k0 and $TMP/k1.
SPORT=41000
craft() {
	SPORT=$((SPORT + 1))
	stats_snap "$TMP/k0"
	peer craft "$1" "$CIF" "$MAC_C" "$2" $SPORT
	stats_snap "$TMP/k1"
}

if [ "$SCAPY" = 0 ]; then
	skip "crafted_*" "scapy is missing (make deps installs python3-scapy)"
else
	MAC_C=$(ip -n "$CNS" -br link show dev "$CIF" | awk '{print $3}')
	MAC_S=$(ip -n "$SNS" -br link show dev "$SIF" | awk '{print $3}')
	while read -r name counter; do
		r=$(craft "$name" "$MAC_S")
		want "SYN-ACKs" "$(json_get "$r" synacks)" -eq 0
		deltas_eq "$TMP/k0" "$TMP/k1" 1 syn_received "$counter"
		deltas_eq "$TMP/k0" "$TMP/k1" 0 synack_sent
		check "crafted_$name"
	done <<-EOF
		bcast_mac syn_not_unicast
		mcast_v4 syn_not_unicast
		bcast_v4 syn_not_unicast
		mcast_v6 syn_not_unicast
		mapped_v6 syn_not_unicast
		bad_tcp_csum syn_bad_csum
		bad_ip_csum syn_bad_csum
	EOF

	r=$(craft opt_fe00 "$MAC_S")
	want "SYN-ACKs" "$(json_get "$r" synacks)" -eq 1
	want "SYN-ACK acks the SYN" "$(json_get "$r" ack_ok)" -eq 1
	want "SYN-ACK MSS (the option before kind 254 stands)" "$(json_get "$r" mss)" -eq 1460
	deltas_eq "$TMP/k0" "$TMP/k1" 1 syn_received synack_sent
	deltas_eq "$TMP/k0" "$TMP/k1" 0 malformed syn_not_unicast syn_bad_csum \
		syn_no_listener_pass
	check crafted_opt_kind254_len0

	r=$(craft ecn_ect0 "$MAC_S")
	want "SYN-ACKs" "$(json_get "$r" synacks)" -eq 1
	want "ECE in the SYN-ACK to an ECT-marked SYN" "$(json_get "$r" ece)" -eq 0
	deltas_eq "$TMP/k0" "$TMP/k1" 1 synack_sent
	check crafted_ecn_ect_marked
	# The control: the same ECN setup, not ECT-marked, gets ECE (both
	# offer timestamps: without them a cookie has no room for ECN).
	r=$(craft ecn_notect "$MAC_S")
	want "SYN-ACKs" "$(json_get "$r" synacks)" -eq 1
	want "ECE in the SYN-ACK" "$(json_get "$r" ece)" -eq 1
	deltas_eq "$TMP/k0" "$TMP/k1" 1 synack_sent
	check crafted_ecn_not_ect
fi

# ---- TCP option sysctls at 0, set before attach ----
# server_info_field FIELD: FIELD of the server TCP_INFO lines added since
# line $1 of server.log, as a sorted unique list.
server_fields() {
	tail -n +"$(($1 + 1))" "$TMP/server.log" | grep '"role":"server"' |
		python3 -c 'import json,sys
print(" ".join(sorted({str(json.loads(l).get(sys.argv[1])) for l in sys.stdin})))' "$2"
}

while read -r sysctl field; do
	name=${sysctl#net.ipv4.tcp_}
	sg_detach || REASONS+=("detach failed")
	in_s sysctl -qw "$sysctl=0"
	if sg_attach; then
		lines=$(wc -l <"$TMP/server.log")
		stats_snap "$TMP/s0"
		r=$(client -n $N "$S4" "$P_PROT")
		stats_snap "$TMP/s1"
		want "connects with data" "$(json_get "$r" ok)" -eq $N
		deltas_eq "$TMP/s0" "$TMP/s1" $N handoff_ok synack_sent
		deltas_eq "$TMP/s0" "$TMP/s1" 0 handoff_kfunc_error \
			syn_no_handoff_pass syn_socket_pass syn_no_listener_pass \
			cookie_bad
		f=$(server_fields "$lines" "$field")
		[ "$f" = 0 ] || REASONS+=("server TCP_INFO $field: seen '$f', wanted 0 on every connection")
	else
		REASONS+=("attach with $sysctl=0 failed")
	fi
	in_s sysctl -qw "$sysctl=1"
	check "sysctl_${name}_off"
done <<-EOF
	net.ipv4.tcp_sack sack
	net.ipv4.tcp_timestamps ts
	net.ipv4.tcp_window_scaling wscale
EOF

# ---- tcp_syncookies=0: attach refuses ----
sg_detach || REASONS+=("detach failed")
in_s sysctl -qw net.ipv4.tcp_syncookies=0
out=$(sg attach "$SIF" --ports "$SG_PORTS" --mode native --cookies always 2>&1)
rc=$?
[ $rc = 0 ] && SG_ATTACHED=1
want "attach exit status" $rc -eq 1
[[ $out == *net.ipv4.tcp_syncookies* ]] ||
	REASONS+=("attach output does not name net.ipv4.tcp_syncookies: $out")
in_s sysctl -qw net.ipv4.tcp_syncookies=1
check syncookies_off

finish

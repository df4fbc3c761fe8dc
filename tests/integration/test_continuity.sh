#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Nothing lost while the operator works, in the namespaces of lib.sh: two
# long transfers (IPv4 and IPv6, every byte checked) and two streams of new
# handshakes (one per 20 ms each) run through every change an operator
# makes. No connection may fail, reset, or wait more than STALL_MS for
# progress (tcp_client -t), and every echoed byte must match.
#
#   attach_detach_attach   the load runs across attach, detach, attach
#   config_changes         ... across config of ports, limits, cookies
#                          mode and wscale
#   key_rotations          ... across three key rotations in a row, each
#                          with handshakes split across it (the SYN-ACK
#                          under the old key, the ACK after the rotation,
#                          with and without timestamps, IPv4 and IPv6)
#   key_two_rotations_refuse  the control: a handshake split across two
#                          rotations (its key gone) gets no connection
#   detach_drains          a handshake split across a detach finishes:
#                          detach lets the ACKs of its SYN-ACKs come back
#   flood_engage_disengage ... across a SYN flood that engages cookies
#                          auto and their disengaging after it
#   sigkill_*              the CLI killed (SIGKILL) at random points of
#                          attach, detach, config and key rotate: status
#                          says exactly what is attached, detach always
#                          returns the interface to clean, attach works
#
# Floods are bounded by `timeout` and a count; the handshakes split in two
# are sent with scapy (tests/integration/split.py).
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
STALL_MS=1000 # the longest wait for progress any connection may see
RR_GAP_MS=20  # one new handshake per this, per family
# The transfers are paced: at full speed they fill veth's XDP_TX ring
# (rx_queue_0_xdp_tx_errors), and a SYN-ACK lost there costs its client the
# 1 s SYN retransmission whatever synguard does.
BULK_RATE=20000000
SPOOF=203.0.113.20
KILLS=${KILLS:-6} # SIGKILL rounds per command

# load_start NAME SECONDS: the transfers and handshake streams, in
# LOAD_PIDS; their summaries in $TMP/NAME.*.
load_start() {
	local name=$1 secs=$2 fam addr n
	n=$((secs * 1000 / (RR_GAP_MS + 5)))
	drops_snap "$TMP/$name.drops0"
	stats_snap "$TMP/$name.st0"
	LOAD_PIDS=()
	for fam in 4 6; do
		[ $fam = 4 ] && addr=$S4 || addr=$S6
		ip netns exec "$CNS" "$BUILD/tcp_client" -m bulk -d "$secs" -r "$BULK_RATE" -t "$STALL_MS" \
			"$addr" "$P_PROT" >"$TMP/$name.bulk$fam" 2>&1 &
		LOAD_PIDS+=($!)
		ip netns exec "$CNS" "$BUILD/tcp_client" -m rr -n "$n" -w "$RR_GAP_MS" \
			-t "$STALL_MS" "$addr" "$P_PROT" >"$TMP/$name.rr$fam" 2>&1 &
		LOAD_PIDS+=($!)
	done
	BG_PIDS+=("${LOAD_PIDS[@]}")
}

# drops_snap FILE: where a lost SYN or SYN-ACK could have gone: the two
# namespaces' listen queue and SYN cookie counters, their veths' receive
# and transmit drops, and the kernel's per-CPU backlog drops (all
# namespaces).
drops_snap() {
	{
		ip netns exec "$SNS" nstat -asz | awk '{ print "server_" $1, $2 }'
		ip netns exec "$CNS" nstat -asz | awk '{ print "client_" $1, $2 }'
		# A frame veth cannot put in its peer's receive ring (256
		# entries, full when the receiving CPU falls behind) counts
		# as the sender's tx_dropped.
		for d in rx_dropped tx_dropped; do
			echo "server_veth_$d $(ip netns exec "$SNS" cat /sys/class/net/"$SIF"/statistics/$d)"
			echo "client_veth_$d $(ip netns exec "$CNS" cat /sys/class/net/"$CIF"/statistics/$d)"
		done
		echo "backlog_dropped $(backlog_dropped)"
	} >"$1"
}

# backlog_dropped: the second column (hexadecimal) of softnet_stat, summed.
backlog_dropped() {
	local _p d _r n=0
	while read -r _p d _r; do
		n=$((n + 16#$d))
	done </proc/net/softnet_stat
	echo $n
}

# drops_moved NAME: the counters of drops_snap that moved during the load.
drops_moved() {
	local k n out=
	drops_snap "$TMP/$1.drops1"
	for k in server_TcpExtListenDrops server_TcpExtListenOverflows server_TcpExtTCPReqQFullDrop \
		server_TcpExtTCPReqQFullDoCookies server_TcpExtSyncookiesSent server_TcpExtSyncookiesFailed \
		server_TcpRetransSegs client_TcpRetransSegs server_TcpExtTCPTimeouts client_TcpExtTCPTimeouts \
		server_veth_rx_dropped client_veth_rx_dropped server_veth_tx_dropped \
		client_veth_tx_dropped backlog_dropped; do
		n=$(nstat_delta "$TMP/$1.drops0" "$TMP/$1.drops1" "$k")
		[ "$n" = 0 ] || out+=" $k +$n"
	done
	stats_snap "$TMP/$1.st1"
	echo "${out:- none}; synguard's counters moved: $(python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
print(" ".join("%s +%d" % (k, v - a.get(k, 0)) for k, v in sorted(b.items())
               if isinstance(v, int) and v != a.get(k, 0)))' "$TMP/$1.st0" "$TMP/$1.st1")"
}

# veth_tx_errors: SYN-ACKs veth could not queue (XDP_TX errors) so far.
veth_tx_errors() {
	ip netns exec "$SNS" ethtool -S "$SIF" 2>/dev/null |
		awk '/xdp_tx_errors/ { n += $2 } END { print n + 0 }'
}

# load_check NAME: waits for the load; a reason for each client that saw a
# failure, a stall or a wrong byte, or moved no data.
load_check() {
	local name=$1 p f last n=${#REASONS[@]}
	for p in "${LOAD_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for f in "$TMP/$name".bulk4 "$TMP/$name".bulk6 "$TMP/$name".rr4 "$TMP/$name".rr6; do
		last=$(tail -n 1 "$f")
		if [ "$(json_get "$last" fail)" != 0 ] || [ "$(json_get "$last" ok)" -lt 1 ] 2>/dev/null ||
			[ -z "$(json_get "$last" ok)" ]; then
			REASONS+=("${f##*/}: $last")
		fi
	done
	want "bytes moved by the IPv4 transfer" "$(json_get "$(tail -n 1 "$TMP/$name.bulk4")" bytes)" -gt 0
	want "bytes moved by the IPv6 transfer" "$(json_get "$(tail -n 1 "$TMP/$name.bulk6")" bytes)" -gt 0
	# Where a loss was, for whoever reads the failure.
	[ ${#REASONS[@]} = "$n" ] ||
		REASONS+=("(veth XDP_TX errors so far: $(veth_tx_errors); drop and retransmit counters moved during the load:$(drops_moved "$name"))")
}

# do_sg WHAT ARGS...: a synguard command that must succeed.
do_sg() {
	local what=$1 out
	shift
	out=$(sg "$@" 2>&1) || REASONS+=("$what: synguard $*: $out")
}

topo_setup
server_start
scapy_python

# ---- attach, detach, attach under load ----
load_start ada 8
sleep 1.5
sg_attach || REASONS+=("first attach failed")
sleep 1.5
sg_detach || REASONS+=("detach failed")
sleep 1.5
sg_attach || REASONS+=("second attach failed")
load_check ada
check attach_detach_attach

if [ "$SG_ATTACHED" != 1 ] && ! sg_attach; then
	fail attach "synguard attach failed (output above): the other cases need it"
	finish
fi

# ---- config changes under load ----
load_start cfg 10
sleep 1
for kv in ports=80,443,8080 ports=80,443 "src_syn_rate=10000 src_ack_rate=10000" \
	"src_syn_rate=0 src_ack_rate=0" cookies=auto cookies=always wscale=9 wscale=7; do
	# shellcheck disable=SC2086 # two settings at once where given so
	do_sg "config $kv" config "$SIF" $kv
	sleep 0.8
done
load_check cfg
check config_changes

# ---- key rotations under load, with handshakes split across each ----
# The client kernel knows nothing of the split handshakes: no RST from it.
if ! ip netns exec "$CNS" nft -f - <<-EOF; then
	table inet sgsplit {
		chain out {
			type filter hook output priority 0;
			tcp sport 41000-43999 tcp flags rst drop
		}
	}
EOF
	REASONS+=("cannot install the client's RST filter")
fi
# Nor may the client's own connects take those ports. One that did met the
# server's socket of a split handshake (the kernel's port choice sweeps
# the range, so it happens): its SYN passed as the socket's
# (syn_socket_pass), the server answered with an ACK, the client's RST was
# dropped above, and the connect stalled for its 1 s retransmission, a
# flake of the loads after this point until this reservation.
ip netns exec "$CNS" sysctl -qw net.ipv4.ip_local_reserved_ports=41000-43999 ||
	REASONS+=("cannot reserve the split handshakes' ports in the client")

# server_settled: waits (5 s at most) until no connection of the server is
# closing. A FIN the server sends again brings the client's last ACK
# again; when the first one arrives in between, the second finds no
# socket, and XDP counts it as a bad cookie.
server_settled() {
	local _
	for _ in $(seq 50); do
		[ -z "$(ip netns exec "$SNS" ss -Htn state last-ack state closing state fin-wait-1)" ] &&
			return 0
		sleep 0.1
	done
	echo "# the server still has closing connections after 5 s"
}

# split_start NAME SRC DST SPORT ts|nots: one split handshake, in SPLIT_PIDS.
split_start() {
	ip netns exec "$CNS" "$PY" "$HERE/split.py" "$CIF" "$MAC_C" "$MAC_S" \
		"$2" "$3" "$P_PROT" "$4" "$5" "$TMP/go.$1" >"$TMP/split.$1" 2>&1 &
	SPLIT_PIDS+=($!)
	BG_PIDS+=($!)
}

# split_synacks NAME...: waits until each has its SYN-ACK, 60 s at most:
# scapy's import alone takes seconds when the CPUs are busy.
split_synacks() {
	local n t
	for t in $(seq 600); do
		n=0
		for t in "$@"; do
			grep -q '"synack": 1' "$TMP/split.$t" 2>/dev/null && n=$((n + 1))
		done
		[ $n = $# ] && return 0
		sleep 0.1
	done
	REASONS+=("split handshakes without a SYN-ACK: $(cd "$TMP" && tail -q -n 1 $(printf 'split.%s ' "$@") 2>&1)")
	return 1
}

# split_finish WANT NAME...: lets them send their ACKs; each must echo (1)
# or must not (0).
split_finish() {
	local want=$1 t p
	shift
	for t in "$@"; do
		touch "$TMP/go.$t"
	done
	for p in "${SPLIT_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	SPLIT_PIDS=()
	for t in "$@"; do
		grep -q "\"echo\": $want" "$TMP/split.$t" ||
			REASONS+=("split $t: wanted echo $want: $(tail -n 1 "$TMP/split.$t")")
	done
}

if [ "$SCAPY" = 0 ]; then
	skip key_rotations "python3-scapy is not installed (make deps installs it): the split handshakes need it"
	skip key_two_rotations_refuse "python3-scapy is not installed"
	skip detach_drains "python3-scapy is not installed"
else
	SPLIT_PIDS=()
	load_start key 10
	sleep 1
	for i in 1 2 3; do
		split_start "v4_$i" "$C4" "$S4" $((41000 + i)) nots
		split_start "v6_$i" "$C6" "$S6" $((42000 + i)) ts
		split_synacks "v4_$i" "v6_$i"
		# --force: the refusal protects handshakes two rotations old,
		# and every one in flight here is one rotation old.
		do_sg "key rotate $i" key "$SIF" rotate --force
		split_finish 1 "v4_$i" "v6_$i"
		sleep 1
	done
	load_check key
	check key_rotations

	# The load's last segments settle first: the control counts one ACK.
	sleep 1
	server_settled
	# What the client side sends meanwhile: a late ACK of a closed load
	# connection (no socket: a bad cookie too) must not pass for the
	# control's. XDP drops those, so the capture is the client's.
	capture_start "$TMP/k.pcap" "$CNS" "$CIF" || REASONS+=("tcpdump did not start")
	stats_snap "$TMP/k0"
	split_start gone "$C4" "$S4" 43000 nots
	split_synacks gone
	do_sg "key rotate (control 1)" key "$SIF" rotate --force
	do_sg "key rotate (control 2)" key "$SIF" rotate --force
	split_finish 0 gone
	stats_snap "$TMP/k1"
	capture_stop
	# ACK segments (no SYN, no RST) to the port from other flows.
	tcpdump -nn -r "$TMP/k.pcap" 2>/dev/null |
		grep -E "> [0-9a-f.:]+\.$P_PROT: Flags \[[^]SR]*\.\]" |
		grep -vE "\.43000 > " >"$TMP/k.others"
	others=$(wc -l <"$TMP/k.others")
	bad=$(stat_delta "$TMP/k0" "$TMP/k1" cookie_bad)
	if [ "$others" = 0 ]; then
		want "cookie_bad delta (the control's ACK)" "$bad" -eq 1
	else
		echo "# other ACKs to :$P_PROT meanwhile ($others): $(head -n 3 "$TMP/k.others" | tr '\n' ' ')"
		want "cookie_bad delta (the control's ACK, at least)" "$bad" -ge 1
		want "cookie_bad delta (the control's and the others' ACKs, at most)" "$bad" -le $((1 + others))
	fi
	want "handoff_ok delta (the control)" "$(stat_delta "$TMP/k0" "$TMP/k1" handoff_ok)" -eq 0
	check key_two_rotations_refuse

	# ---- detach drains: handshakes whose SYN-ACK went out finish ----
	# Split handshakes get their SYN-ACK, detach starts under load, and
	# their ACKs come 0.3 s into it: the programs stay for at least 1 s
	# after the last cookie SYN-ACK (the load's, just before the detach),
	# so the handoff still takes them. Without the drain they reach a
	# kernel that resets them (echo 0), and so may the load's. The load
	# starts once the split SYN-ACKs are in: scapy can take longer to
	# start than a load lasts, and a detach after the load's last SYN-ACK
	# rightly does not drain.
	split_start drain4 "$C4" "$S4" 43001 nots
	split_start drain6 "$C6" "$S6" 42100 ts
	split_synacks drain4 drain6
	load_start drain 6
	sleep 1
	sg detach "$SIF" >"$TMP/detach.out" 2>&1 &
	dpid=$!
	BG_PIDS+=($dpid)
	sleep 0.3
	n_reasons=${#REASONS[@]}
	split_finish 1 drain4 drain6
	wait $dpid || REASONS+=("detach failed: $(cat "$TMP/detach.out")")
	# When a handshake was lost: how long detach drained, and when.
	[ ${#REASONS[@]} -gt "$n_reasons" ] &&
		REASONS+=("detach said: $(tr '\n' ' ' <"$TMP/detach.out")")
	SG_ATTACHED=0
	grep -q "draining for [0-9]* ms" "$TMP/detach.out" ||
		REASONS+=("detach did not say it drained: $(cat "$TMP/detach.out")")
	sleep 1
	sg_attach || REASONS+=("attach after the drained detach failed")
	load_check drain
	check detach_drains
fi

# ---- a SYN flood engages cookies auto, and they disengage after it ----
HOLD=2
do_sg "config for the flood" config "$SIF" cookies=auto syn_rate_on=1500 syn_rate_off=600 hold_time=$HOLD
stats_snap "$TMP/f0"
load_start flood 12
sleep 1
# 5000 SYNs/s from a spoofed source for 3 s: above syn_rate_on, far below
# what would starve the legit clients of CPU here.
ip netns exec "$CNS" timeout 4 hping3 -q -S -i u200 -c 15000 -p "$P_PROT" -a "$SPOOF" "$S4" \
	>/dev/null 2>&1 &
FLOOD_PID=$!
BG_PIDS+=("$FLOOD_PID")
wait "$FLOOD_PID" 2>/dev/null
load_check flood
stats_snap "$TMP/f1"
want "cookies_engaged delta" "$(stat_delta "$TMP/f0" "$TMP/f1" cookies_engaged)" -ge 1
want "cookies_disengaged delta" "$(stat_delta "$TMP/f0" "$TMP/f1" cookies_disengaged)" -ge 1
want "synack_sent delta (the flood was answered)" "$(stat_delta "$TMP/f0" "$TMP/f1" synack_sent)" -gt 1000
check flood_engage_disengage
do_sg "config back" config "$SIF" cookies=always

# ---- SIGKILL at random points of the CLI ----
ifindex=$(ip netns exec "$SNS" cat "/sys/class/net/$SIF/ifindex")

# What is attached to the interface now, as the kernel says: "xdp:ID" and
# "tc:ID" (TCX or clsact) words, "nft" for synguard's table, "pins" for its pin directory.
attached_now() {
	local id
	id=$(ip -n "$SNS" -d -j link show dev "$SIF" | python3 -c '
import json, sys
l = json.load(sys.stdin)[0]
x = l.get("xdp", {})
ids = [p["prog"]["id"] for p in x.get("attached", []) if "prog" in p]
if "prog" in x: ids.append(x["prog"]["id"])
print(" ".join("xdp:%d" % i for i in ids))')
	echo -n "$id"
	# The TC program: on TCX (Linux 6.6+), or a clsact filter.
	nsenter --net="/var/run/netns/$SNS" "$SG_ROOT/tests/lib/tcx_progs.py" "$SIF" |
		sed 's/^/ tc:/' | tr -d '\n'
	ip netns exec "$SNS" tc filter show dev "$SIF" ingress 2>/dev/null |
		grep -o ' id [0-9]*' | sed 's/ id / tc:/' | tr -d '\n'
	ip netns exec "$SNS" nft list table inet "synguard_if$ifindex" >/dev/null 2>&1 && echo -n " nft"
	[ -e "$SG_BPFFS/$SIF" ] && echo -n " pins"
	echo
}

# status_tells: status agrees with the kernel on what is attached; a status
# that calls the interface protected and healthy has its programs in place.
status_tells() {
	local what=$1 out rc now
	# stdout alone: waiting for the lock (another command) goes to stderr.
	out=$(sg status "$SIF" --json 2>"$TMP/status.err")
	rc=$?
	now=$(attached_now)
	if [[ $out != '{'* ]]; then
		# Not protected, by status: then nothing of synguard's may remain.
		[[ $now == *xdp:* || $now == *tc:* || $now == *nft* ]] &&
			REASONS+=("$what: status says '$out$(cat "$TMP/status.err")' (exit $rc) but the kernel has: $now")
		return
	fi
	python3 - "$out" "$rc" "$now" <<-'EOF' || REASONS+=("$what: status disagrees with the kernel ($now): $out")
		import json, sys
		i = json.loads(sys.argv[1])["interfaces"][0]
		rc, now = int(sys.argv[2]), sys.argv[3].split()
		ok = rc == (0 if i.get("healthy") else 1)
		if i.get("xdp_attached"):
		    ok &= "xdp:%d" % i["xdp_prog_id"] in now or i.get("multiprog", False)
		else:
		    ok &= not i.get("healthy")
		if i.get("tc_handoff"):
		    ok &= "tc:%d" % i["tc_prog_id"] in now
		sys.exit(0 if ok else 1)
	EOF
}

# clean_after_detach WHAT: detach returns the interface to clean.
clean_after_detach() {
	local out now
	out=$(sg detach "$SIF" 2>&1)
	SG_ATTACHED=0
	now=$(attached_now)
	[ -z "$now" ] || REASONS+=("$1: after detach ($out) still: $now")
}

# kill_at CMD...: starts synguard CMD, SIGKILLs it 0-59 ms later.
kill_at() {
	local pid ms=$((RANDOM % 60))
	nsenter --net="/var/run/netns/$SNS" "$SYNGUARD" "$@" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%03d' "$ms")"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

for cmd in attach detach config key; do
	for r in $(seq "$KILLS"); do
		case $cmd in
		attach)
			clean_after_detach "round $r, before"
			# Either TC hook, every other round.
			kill_at attach "$SIF" --ports "$SG_PORTS" --mode native --cookies always \
				--tc-hook "$( ((r % 2)) && echo clsact || echo auto)"
			;;
		detach) kill_at detach "$SIF" ;;
		config) kill_at config "$SIF" ports=80,443,8080 "wscale=$((7 + r % 2))" --force ;;
		key) kill_at key "$SIF" rotate --force ;;
		esac
		SG_ATTACHED=1 # whatever it left, cleanup detaches
		status_tells "$cmd round $r"
		clean_after_detach "$cmd round $r"
		sg_attach || REASONS+=("$cmd round $r: attach after detach failed")
		out=$(sg status "$SIF" 2>&1) || REASONS+=("$cmd round $r: status after attach: $out")
	done
	check "sigkill_$cmd"
done

finish

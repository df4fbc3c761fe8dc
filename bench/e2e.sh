#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# End-to-end benchmark: synguard against the kernel's own defenses under the
# same SYN flood, on a veth pair between two network namespaces this script
# creates (and removes, also on Ctrl-C).
#
#   client ns  <c-dev> 192.0.2.2  ====veth====  192.0.2.1 <s-dev>  server ns
#     flood (live frames, or hping3)               tcpping server :80
#     tcpping client (200 connects)                iperf3 -s :5201
#     XDP xb_count: counts SYN-ACKs, drops         XDP: the defense, or
#       those to the spoofed sources               xb_count / xb_reflect
#
# Only documentation addresses; nothing is routed out of the two
# namespaces (the server's default route points at the client namespace,
# which forwards nothing and drops every answer to a spoofed source in
# XDP). Every flood and server runs under `timeout`. Only the PIDs started
# here are ever killed.
#
# Phases: the ceiling (a trivial XDP reflector, unpaced flood), then for
# each defense (none, syncookies 1, syncookies 2, SYNPROXY, synguard) five
# floods: the live-frames generator paced at FRACTION of the ceiling,
# unpaced (which measures the defense's own capacity: the SYN-ACKs it
# answers), paced at 0.9 and 1.5 times that capacity (cap09, cap15), and
# hping3 --flood --rand-source; during each, 200 sequential legitimate
# connects. The ceiling is measured again right after synguard.
# Then IPv6 and ACK floods for synguard and kernel syncookies, a SYN flood
# and a random-ACK flood together (cookies go out, so every ACK is checked:
# the forged connections per 10^8 ACKs), and bulk TCP throughput with and
# without synguard. unpaced_q1: synguard's unpaced flood again with one
# receive queue instead of one per core (how the answers scale with
# cores).
#
# Output: one JSON object per phase in $OUT/bench-e2e.json (an array), read
# by bench/report.sh. Environment knobs: WINDOW (s, 6), FRACTION (0.6),
# CONNECTS (200), DEFENSES ("none sc1 sc2 synproxy synguard"),
# FLOODS ("paced unpaced cap09 cap15 hping3"; cap* after unpaced), EXTRA
# (defense:flood pairs run once more, "synguard:paced6 sc1:paced6
# synguard:ack sc1:ack synguard:synack sc1:synack synguard:unpaced_q1"),
# THROUGHPUT (1).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=$ROOT/build/bench
SG=$ROOT/build/synguard
OUT=${OUT:-$ROOT/build}
WINDOW=${WINDOW:-6}
WARM=1
FRACTION=${FRACTION:-0.6}
CONNECTS=${CONNECTS:-200}
DEFENSES=${DEFENSES-"none sc1 sc2 synproxy synguard"}
FLOODS=${FLOODS-"paced unpaced cap09 cap15 hping3"}
EXTRA=${EXTRA-"synguard:paced6 sc1:paced6 synguard:ack sc1:ack synguard:synack sc1:synack synguard:unpaced_q1"}
THROUGHPUT=${THROUGHPUT:-1}
NCPU=$(nproc)

# Unique per run: other tests may use namespaces and pins on this machine.
TAG=sgb$$
CNS=${TAG}c
SNS=${TAG}s
CDEV=${TAG}c
SDEV=${TAG}s
PIN=/sys/fs/bpf/$TAG
TMP=$(mktemp -d /tmp/$TAG.XXXX)
SRV4=192.0.2.1
CLI4=192.0.2.2
SRV6=2001:db8:1::1
CLI6=2001:db8:1::2

PIDS=()
SERVER_PID=

log() { printf '%s\n' "$*" >&2; }
die() { log "e2e: $*"; exit 1; }

# Runs a command in a namespace. nsenter, not `ip netns exec`: the latter
# remounts /sys, and the BPF tools need /sys/fs/bpf
# (doc/design.md, "veth and network namespaces").
nsx() {
	local ns=$1
	shift
	nsenter --net=/var/run/netns/"$ns" "$@"
}
# The same as a command prefix, for what runs in the background: $! of a
# backgrounded shell function is a subshell, and killing it would leave the
# command itself running.
IN_C=(nsenter --net=/var/run/netns/"$CNS")
IN_S=(nsenter --net=/var/run/netns/"$SNS")

cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${PIDS[@]}" $SERVER_PID; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}" $SERVER_PID; do
		wait "$p" 2>/dev/null
	done
	if [ -e /var/run/netns/"$SNS" ]; then
		nsx "$SNS" "$SG" detach "$SDEV" >/dev/null 2>&1
	fi
	ip netns del "$CNS" 2>/dev/null
	ip netns del "$SNS" 2>/dev/null
	rm -rf "$PIN" "/sys/fs/bpf/synguard/$SDEV" "$TMP"
}
trap cleanup EXIT
trap 'log "e2e: interrupted"; exit 130' INT TERM

# ---- checks ----

[ "$(id -u)" = 0 ] || die "must run as root (namespaces, XDP, netfilter)"
for t in "$B/flood" "$B/xdpctl" "$B/tcpping" "$SG"; do
	[ -x "$t" ] || die "$t missing: run 'make bench-build'"
done
for c in jq nsenter ethtool timeout hping3 iperf3 nft; do
	command -v "$c" >/dev/null || die "$c not found: run 'make bench' (installs it)"
done
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || die "no bpffs"
mkdir -p "$PIN" "$OUT"

# Other floods on a shared machine make every figure here smaller: say so.
# Called before a phase starts its own flood, so whatever runs is not ours.
busy_report() {
	local others
	others=$(ps -eo comm= | grep -c -x -E 'hping3|flood|iperf3|trafgen')
	printf '{"loadavg": "%s", "other_flooders": %d}' \
		"$(cut -d' ' -f1-3 /proc/loadavg)" "$others"
}

# ---- topology ----

setup_topology() {
	ip netns add "$CNS" || die "cannot create namespace $CNS"
	ip netns add "$SNS" || die "cannot create namespace $SNS"
	# One queue per core: each flooder's CPU gets its own veth ring and
	# NAPI instance, so the receive side spreads like the senders.
	ip -n "$CNS" link add "$CDEV" numtxqueues "$NCPU" numrxqueues "$NCPU" \
		type veth peer name "$SDEV" numtxqueues "$NCPU" \
		numrxqueues "$NCPU" netns "$SNS" || die "cannot create the veth pair"
	ip -n "$CNS" link set lo up
	ip -n "$SNS" link set lo up
	ip -n "$CNS" addr add $CLI4/24 dev "$CDEV"
	ip -n "$SNS" addr add $SRV4/24 dev "$SDEV"
	ip -n "$CNS" addr add $CLI6/64 dev "$CDEV" nodad
	ip -n "$SNS" addr add $SRV6/64 dev "$SDEV" nodad
	# XDP sees partial checksums otherwise
	# (doc/design.md, "veth and network namespaces").
	ip netns exec "$CNS" ethtool -K "$CDEV" tx off >/dev/null 2>&1
	ip netns exec "$SNS" ethtool -K "$SDEV" tx off >/dev/null 2>&1
	ip -n "$CNS" link set "$CDEV" up
	ip -n "$SNS" link set "$SDEV" up
	CMAC=$(ip -n "$CNS" -br link show "$CDEV" | awk '{print $3}')
	SMAC=$(ip -n "$SNS" -br link show "$SDEV" | awk '{print $3}')
	# Static neighbours: XDP programs that drop do not answer ARP.
	ip -n "$CNS" neigh replace $SRV4 lladdr "$SMAC" dev "$CDEV" nud permanent
	ip -n "$SNS" neigh replace $CLI4 lladdr "$CMAC" dev "$SDEV" nud permanent
	ip -n "$CNS" neigh replace $SRV6 lladdr "$SMAC" dev "$CDEV" nud permanent
	ip -n "$SNS" neigh replace $CLI6 lladdr "$CMAC" dev "$SDEV" nud permanent
	# Answers to spoofed sources (and hping3's random ones) go back over
	# the veth, where the client's XDP counts and drops them. The client
	# namespace forwards nothing.
	ip -n "$SNS" route add default via $CLI4 dev "$SDEV"
	ip -n "$SNS" -6 route add default via $CLI6 dev "$SDEV"
	nsx "$CNS" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
	# The client's XDP program: without one, the server's XDP_TX cannot
	# reach this end of the veth at all
	# (doc/design.md, "veth and network namespaces").
	nsx "$CNS" "$B/xdpctl" attach "$CDEV" count "$PIN/cli" --local $CLI4 \
		--local $CLI6 --drop-foreign || die "cannot attach the client's counter"
}

# ---- server side ----

srv_xdp() { # count | reflect | none
	nsx "$SNS" "$B/xdpctl" detach "$SDEV" >/dev/null 2>&1
	rm -rf "$PIN/srv"
	[ "$1" = none ] && return 0
	nsx "$SNS" "$B/xdpctl" attach "$SDEV" "$1" "$PIN/srv" --local $SRV4 \
		--local $SRV6
}

restart_server() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	# A fresh listener per phase: no request sockets left from the last.
	"${IN_S[@]}" timeout 300 "$B/tcpping" server --port 80 --seconds 290 \
		>/dev/null 2>&1 &
	SERVER_PID=$!
	sleep 0.2
}

defense_up() {
	local d=$1
	nsx "$SNS" ip tcp_metrics flush all >/dev/null 2>&1
	nsx "$SNS" sysctl -qw net.ipv4.tcp_no_metrics_save=1
	case $d in
	ceiling)
		srv_xdp reflect
		;;
	none)
		# The kernel keeps a quarter of the SYN queue for peers in its
		# TCP metrics: none here (doc/design.md, "Honest baselines").
		nsx "$SNS" sysctl -qw net.ipv4.tcp_syncookies=0
		srv_xdp count
		;;
	sc1 | sc2)
		nsx "$SNS" sysctl -qw net.ipv4.tcp_syncookies=${d#sc}
		srv_xdp count
		;;
	synproxy)
		# As documented for SYNPROXY (nft(8), "SYNPROXY"): SYNs to the
		# port skip conntrack, the untracked/invalid ones go through
		# the proxy, the rest of invalid is dropped; strict conntrack.
		nsx "$SNS" sysctl -qw net.ipv4.tcp_syncookies=1 \
			net.ipv4.tcp_timestamps=1 \
			net.netfilter.nf_conntrack_tcp_loose=0
		nsx "$SNS" nft -f - <<-EOF || return 1
		table inet sgbench {
			chain pre {
				type filter hook prerouting priority raw; policy accept;
				tcp dport 80 tcp flags syn notrack
			}
			chain in {
				type filter hook input priority filter; policy accept;
				tcp dport 80 ct state invalid,untracked synproxy mss 1460 wscale 7 timestamp sack-perm
				ct state invalid drop
			}
		}
		EOF
		srv_xdp count
		;;
	synguard)
		# The handoff needs syncookies on (README).
		nsx "$SNS" sysctl -qw net.ipv4.tcp_syncookies=1
		srv_xdp none
		nsx "$SNS" "$SG" attach "$SDEV" --ports 80,5201 --mode native \
			>"$TMP/attach.log" 2>&1 || {
			log "e2e: synguard attach failed: $(cat "$TMP/attach.log")"
			return 1
		}
		;;
	esac
}

defense_down() {
	case $1 in
	synproxy)
		nsx "$SNS" nft delete table inet sgbench 2>/dev/null
		;;
	synguard)
		nsx "$SNS" "$SG" detach "$SDEV" >/dev/null 2>&1
		;;
	esac
}

# ---- counters ----

# The server's count of SYNs that reached it, and extra counters as JSON.
srv_counters() {
	if [ "$1" = synguard ]; then
		nsx "$SNS" "$SG" stats "$SDEV" --json 2>/dev/null |
			jq -c '(.interfaces // {}) | to_entries[0].value.counters // {}
			       | . + {syn: (.syn_received // 0),
				      ack: ([to_entries[] | select(.key | test("^(cookie_(ok|bad|expired|none_issued|meta_error)|ack_.*)$")) | .value] | add // 0)}'
	else
		nsx "$SNS" "$B/xdpctl" read "$PIN/srv"
	fi
}

# cpu line of /proc/stat: user nice system idle iowait irq softirq steal.
cpu_json() {
	awk '/^cpu /{printf "{\"busy\": %d, \"softirq\": %d, \"all\": %d}",
		$2+$3+$4+$7+$8+$9, $8, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat
}

veth_json() { # ns dev
	ip netns exec "$1" ethtool -S "$2" 2>/dev/null | awk -F': *' '
		/rx_queue_[0-9]+_xdp_tx_errors/ {txe += $2}
		/rx_queue_[0-9]+_drops/ {drops += $2}
		/tx_queue_[0-9]+_xdp_xmit_errors/ {xe += $2}
		END {printf "{\"xdp_tx_errors\": %d, \"rx_drops\": %d, \"xdp_xmit_errors\": %d}", txe, drops, xe}'
}

# Drops of the kernel's transmit path into the veth (the peer's ring full):
# the legitimate client's packets are lost there when a flood saturates it.
link_json() { # ns dev
	ip -n "$1" -s -j link show "$2" 2>/dev/null |
		jq -c '.[0].stats64 | {tx_dropped: .tx.dropped, rx_dropped: .rx.dropped}' 2>/dev/null ||
		echo '{"tx_dropped": 0, "rx_dropped": 0}'
}

# The server's TCP MIB counters: connections the kernel created, cookies.
tcp_json() {
	nsx "$SNS" nstat -asz 2>/dev/null | awk '
		$1 ~ /^(TcpPassiveOpens|TcpExtSyncookies(Sent|Recv|Failed)|TcpExtListen(Drops|Overflows))$/ {
			printf "%s\"%s\": %s", n++ ? ", " : "{", $1, $2 }
		END { print n ? "}" : "{}" }'
}

# A command's JSON output, or {} (and a warning) if it printed none.
json_or_empty() {
	local v
	v=$("$@" 2>/dev/null)
	if [ -z "$v" ] || ! jq -e . >/dev/null 2>&1 <<<"$v"; then
		log "e2e: warning: no counters from: $*"
		v='{}'
	fi
	printf '%s\n' "$v"
}

snap() { # defense -> one JSON object
	jq -n --argjson t "$(date +%s.%N)" \
		--argjson cli "$(json_or_empty nsx "$CNS" "$B/xdpctl" read "$PIN/cli")" \
		--argjson srv "$(json_or_empty srv_counters "$1")" \
		--argjson cpu "$(cpu_json)" \
		--argjson sveth "$(veth_json "$SNS" "$SDEV")" \
		--argjson cveth "$(veth_json "$CNS" "$CDEV")" \
		--argjson clink "$(link_json "$CNS" "$CDEV")" \
		--argjson slink "$(link_json "$SNS" "$SDEV")" \
		--argjson tcp "$(tcp_json)" \
		'{t: $t, cli: $cli, srv: $srv, cpu: $cpu, sveth: $sveth, cveth: $cveth,
		  clink: $clink, slink: $slink, tcp: $tcp}'
}

# ---- floods ----

FLOOD_PIDS=()

flood_start() { # kind seconds
	local kind=$1 dur=$2 i
	FLOOD_PIDS=()
	rm -f "$TMP"/flood.*
	case $kind in
	paced | unpaced | paced6 | ack | cap09 | cap15 | unpaced_q1)
		local opt=(--dst $SRV4)
		case $kind in
		paced) opt+=(--rate "$PACED_RATE") ;;
		cap09 | cap15) opt+=(--rate "$CAP_RATE") ;;
		paced6) opt=(--dst $SRV6 --rate "$PACED_RATE") ;;
		ack) opt+=(--ack) ;;
		esac
		"${IN_C[@]}" timeout $((dur + 10)) "$B/flood" --dev "$CDEV" \
			--dst-mac "$SMAC" --threads "$NCPU" "${opt[@]}" \
			--duration "$dur" --json >"$TMP/flood.0" 2>&1 &
		FLOOD_PIDS+=($!)
		;;
	synack)
		# A paced SYN flood keeps cookies going out (an ACK flood alone
		# is refused unhashed), and random ACKs without options, the
		# cookie variant easiest to forge, come unpaced beside it.
		"${IN_C[@]}" timeout $((dur + 10)) "$B/flood" --dev "$CDEV" \
			--dst-mac "$SMAC" --threads "$NCPU" --dst $SRV4 \
			--rate "$PACED_RATE" --duration "$dur" --json >"$TMP/flood.0" 2>&1 &
		FLOOD_PIDS+=($!)
		"${IN_C[@]}" timeout $((dur + 10)) "$B/flood" --dev "$CDEV" \
			--dst-mac "$SMAC" --threads "$NCPU" --dst $SRV4 --ack \
			--opts none --duration "$dur" --json >"$TMP/flood.1" 2>&1 &
		FLOOD_PIDS+=($!)
		;;
	hping3)
		# One process per core (each one is single-threaded).
		for ((i = 0; i < NCPU; i++)); do
			ip netns exec "$CNS" timeout -s INT "$dur" taskset -c "$i" \
				hping3 --flood --rand-source -S -p 80 $SRV4 \
				>"$TMP/flood.$i" 2>&1 &
			FLOOD_PIDS+=($!)
		done
		;;
	esac
	PIDS+=("${FLOOD_PIDS[@]}")
}

# Not in $(...): a subshell cannot wait for its parent's children.
flood_wait() {
	local p
	for p in "${FLOOD_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
}

flood_offered() { # seconds -> offered frames/s as JSON
	if [ -s "$TMP/flood.0" ] && jq -e . "$TMP/flood.0" >/dev/null 2>&1; then
		# Every flood process of the phase (synack runs two).
		jq -sc '{offered_pps: (map(.pps) | add), frames: (map(.frames) | add),
			 skipped: (map(.skipped // 0) | add)}' "$TMP"/flood.[0-9]
	else
		# hping3 prints "N packets tramitted" (sic) on SIGINT.
		cat "$TMP"/flood.* 2>/dev/null | awk -v d="$1" '
			/packets tramitted|packets transmitted/ {n += $1}
			END {printf "{\"offered_pps\": %.0f, \"frames\": %d}", n / d, n}'
	fi
}

# ---- one phase ----

RESULTS=$TMP/results.jsonl

# queues N: N receive queues on the server's end (and N transmit queues on
# the client's, which an XDP program on the server requires: no more than
# its receive queues). Live frames land on queue (sender's CPU mod N).
queues() {
	if [ "$1" -lt "$NCPU" ]; then
		nsx "$CNS" ethtool -L "$CDEV" tx "$1" &&
			nsx "$SNS" ethtool -L "$SDEV" rx "$1"
	else
		nsx "$SNS" ethtool -L "$SDEV" rx "$1" &&
			nsx "$CNS" ethtool -L "$CDEV" tx "$1"
	fi
}

# cap_rate defense flood: CAP_RATE for cap09/cap15, from the defense's
# own capacity (SYN-ACKs/s of its unpaced phase); 1 when none is known.
cap_rate() {
	local f=0.9 cap
	[ "$2" = cap15 ] && f=1.5
	cap=$(jq -s --arg d "$1" '[.[] | select(.defense == $d and .flood == "unpaced") | .synack_pps // 0] | .[-1] // 0' "$RESULTS")
	CAP_RATE=$(awk -v c="$cap" -v f="$f" 'BEGIN {printf "%.0f", c * f}')
	CAPACITY=$(awk -v c="$cap" 'BEGIN {printf "%.0f", c}')
	[ "$CAP_RATE" -ge 1 ]
}

run_phase() { # defense flood
	local def=$1 fl=$2 dur=$((WARM + WINDOW + 1)) a b client='null'
	local t0 offered busy dst=$SRV4 rate=null capacity=null
	[ "$fl" = paced6 ] && dst=$SRV6
	log "e2e: $def under $fl flood ..."
	case $fl in
	paced | paced6 | synack) rate=$PACED_RATE ;;
	cap09 | cap15)
		if ! cap_rate "$def" "$fl"; then
			jq -nc --arg d "$def" --arg f "$fl" \
				'{defense: $d, flood: $f, error: "no capacity measured: the unpaced flood runs first"}' >>"$RESULTS"
			return
		fi
		rate=$CAP_RATE capacity=$CAPACITY
		log "e2e:   paced at $CAP_RATE/s ($fl of $CAPACITY SYN-ACKs/s)"
		;;
	unpaced_q1)
		if ! queues 1; then
			jq -nc --arg d "$def" --arg f "$fl" \
				'{defense: $d, flood: $f, error: "cannot set one receive queue (ethtool -L)"}' >>"$RESULTS"
			return
		fi
		;;
	esac
	if ! defense_up "$def"; then
		jq -nc --arg d "$def" --arg f "$fl" \
			'{defense: $d, flood: $f, error: "setup failed"}' >>"$RESULTS"
		defense_down "$def"
		[ "$fl" = unpaced_q1 ] && queues "$NCPU"
		return
	fi
	restart_server
	busy=$(busy_report)
	flood_start "$fl" "$dur"
	sleep $WARM
	a=$(snap "$def")
	t0=$(date +%s.%N)
	if [ "$def" != ceiling ]; then
		client=$(nsx "$CNS" timeout $((WINDOW + 10)) "$B/tcpping" client \
			--addr "$dst" --port 80 --count "$CONNECTS" \
			--timeout-ms 2000 --budget-ms $((WINDOW * 1000 - 200)))
		[ -n "$client" ] || client='null'
	fi
	# The window lasts WINDOW seconds whatever the client took.
	sleep "$(awk -v t0="$t0" -v now="$(date +%s.%N)" -v w="$WINDOW" \
		'BEGIN {d = w - (now - t0); print (d > 0 ? d : 0)}')"
	b=$(snap "$def")
	flood_wait
	offered=$(flood_offered "$dur")
	defense_down "$def"
	[ "$fl" = unpaced_q1 ] && { queues "$NCPU" || log "e2e: warning: cannot restore $NCPU queues"; }
	jq -e . >/dev/null 2>&1 <<<"$client" || client='null'
	jq -nc --arg d "$def" --arg f "$fl" --argjson a "$a" --argjson b "$b" \
		--argjson client "$client" --argjson offered "$offered" \
		--argjson ncpu "$NCPU" --argjson busy "$busy" \
		--argjson rate "$rate" --argjson capacity "$capacity" '
		($b.t - $a.t) as $dt
		| (($b.cpu.all - $a.cpu.all) / $ncpu) as $ticks
		| {defense: $d, flood: $f, seconds: $dt, rate: $rate, capacity: $capacity} + $offered + {
			syn_rx_pps: (($b.srv.syn - $a.srv.syn) / $dt),
			ack_rx_pps: ((($b.srv.ack // 0) - ($a.srv.ack // 0)) / $dt),
			synack_pps: (($b.cli.synack - $a.cli.synack) / $dt),
			softirq_cores: (if $ticks > 0 then ($b.cpu.softirq - $a.cpu.softirq) / $ticks else null end),
			busy_cores: (if $ticks > 0 then ($b.cpu.busy - $a.cpu.busy) / $ticks else null end),
			server_xdp_tx_errors: ($b.sveth.xdp_tx_errors - $a.sveth.xdp_tx_errors),
			server_rx_drops: ($b.sveth.rx_drops - $a.sveth.rx_drops),
			client_tx_dropped: ($b.clink.tx_dropped - $a.clink.tx_dropped),
			server_tx_dropped: ($b.slink.tx_dropped - $a.slink.tx_dropped),
			client: $client,
			server_tcp: ($b.tcp | with_entries(.value -= ($a.tcp[.key] // 0))),
			# Connections the kernel created that no legit connect made:
			# spoofed packets a defense let through as new connections.
			forged_connections: ((($b.tcp.TcpPassiveOpens // 0) - ($a.tcp.TcpPassiveOpens // 0))
				- ($client.ok // 0)),
			srv_counters: ($b.srv | with_entries(.value -= ($a.srv[.key] // 0))
				| with_entries(select(.value != 0))),
			machine: $busy
		}' >>"$RESULTS" ||
		jq -nc --arg d "$def" --arg f "$fl" \
			'{defense: $d, flood: $f, error: "no measurement"}' >>"$RESULTS"
	jq -r 'if .error then "e2e:   \(.error)" else
		"e2e:   SYNs \(.syn_rx_pps|floor)/s, SYN-ACKs \(.synack_pps|floor)/s, " +
		"legit \(.client.ok // "-")/\(.client.count // "-"), " +
		"p99 \(.client.connect_us.p99 // "-") us" end' <<<"$(tail -n1 "$RESULTS")" >&2
	sleep 1 # let the last answers drain before the next phase
}

# ---- throughput ----

run_throughput() { # label server-xdp
	local label=$1 res
	log "e2e: bulk TCP throughput, $label ..."
	case $2 in
	synguard)
		nsx "$SNS" sysctl -qw net.ipv4.tcp_syncookies=1
		srv_xdp none
		nsx "$SNS" "$SG" attach "$SDEV" --ports 80,5201 --mode native \
			>/dev/null 2>&1 || { log "e2e: synguard attach failed"; return; }
		;;
	*)
		srv_xdp "$2"
		;;
	esac
	"${IN_S[@]}" timeout 20 iperf3 -s -1 -B $SRV4 >/dev/null 2>&1 &
	PIDS+=($!)
	sleep 0.5
	res=$(nsx "$CNS" timeout 20 iperf3 -c $SRV4 -t 5 -J 2>/dev/null |
		jq -c '{gbps: (.end.sum_received.bits_per_second / 1e9),
			retransmits: (.end.sum_sent.retransmits // 0)}' 2>/dev/null)
	[ -n "$res" ] || res='{"gbps": null}'
	[ "$2" = synguard ] && nsx "$SNS" "$SG" detach "$SDEV" >/dev/null 2>&1
	wait "${PIDS[-1]}" 2>/dev/null
	jq -nc --arg l "$label" --argjson r "$res" \
		'{throughput: $l} + $r' >>"$RESULTS"
	jq -r '"e2e:   \(.gbps) Gbit/s"' <<<"$(tail -n1 "$RESULTS")" >&2
}

# ---- main ----

setup_topology
log "e2e: namespaces $CNS, $SNS; veth $CDEV <-> $SDEV; $NCPU flooders"

run_phase ceiling unpaced
CEILING=$(jq -s 'map(select(.defense == "ceiling")) | .[-1].synack_pps // 0' "$RESULTS")
PACED_RATE=$(awk -v c="$CEILING" -v f="$FRACTION" 'BEGIN {printf "%.0f", c * f}')
if [ "${PACED_RATE:-0}" -lt 10000 ]; then
	log "e2e: the ceiling ($CEILING SYN-ACKs/s) is implausibly low; pacing at 100000/s"
	PACED_RATE=100000
fi
log "e2e: ceiling $CEILING SYN-ACKs/s; paced floods at $PACED_RATE frames/s"

# synguard right after the first ceiling and right before the second, so
# that its ratio to the ceiling compares runs minutes apart at most; "none"
# last, as its half-open connections keep the server busy for a while.
ORDER=""
for def in synguard sc1 sc2 synproxy none; do
	case " $DEFENSES " in *" $def "*) ORDER="$ORDER $def" ;; esac
done
for def in $ORDER; do
	for fl in $FLOODS; do
		run_phase "$def" "$fl"
	done
	# The ceiling again: the machine drifts (other tenants, frequency).
	[ "$def" = synguard ] && run_phase ceiling unpaced
done
# IPv6 (a paced IPv6 flood, an IPv6 client) and an ACK flood (unpaced,
# random ack numbers), against kernel syncookies and synguard only.
for x in $EXTRA; do
	case " $DEFENSES " in *" ${x%%:*} "*) run_phase "${x%%:*}" "${x#*:}" ;; esac
done
if [ "$THROUGHPUT" = 1 ]; then
	# Two rounds, interleaved; the report keeps the better of the two (a
	# neighbour on the machine only ever makes a run slower).
	for round in 1 2; do
		run_throughput "no XDP program" none
		run_throughput "XDP_PASS program (floor)" count
		run_throughput "synguard" synguard
	done
fi

jq -s --argjson frac "$FRACTION" --argjson paced "$PACED_RATE" \
	--argjson window "$WINDOW" --argjson ncpu "$NCPU" \
	'{fraction: $frac, paced_rate: $paced, window_s: $window, cpus: $ncpu,
	  phases: map(select(.defense)),
	  throughput: (map(select(.throughput)) | group_by(.throughput)
		| map({throughput: .[0].throughput, gbps: (map(.gbps // 0) | max),
		       runs_gbps: map(.gbps)}))}' \
	"$RESULTS" >"$OUT/bench-e2e.json"
log "e2e: results in $OUT/bench-e2e.json"

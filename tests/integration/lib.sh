# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Shared by the integration suites (tests/integration/test_*.sh): the
# namespace topology, synguard through its CLI, counters, captures and the
# test bookkeeping. Source it, call topo_setup, run cases, end with finish.
#
# Topology, all made by the suite and removed on exit (also on failure):
#
#   netns $CNS                                  netns $SNS
#   $CIF 192.0.2.1/24 2001:db8::1/64  <-veth->  $SIF 192.0.2.2/24 2001:db8::2/64
#   xdp_pass (native)                           synguard (native XDP + TC)
#
# Static neighbour entries both ways (an XDP program may drop ARP/ND), TX
# checksum offload off on both ends (XDP must see full checksums), and
# xdp_pass on the client end: veth delivers the server end's XDP_TX only
# when the peer has an XDP program (doc/design.md, "veth and network namespaces").
#
# Rules these suites keep: traffic only inside the namespaces they create;
# addresses only from the documentation ranges; every flood bounded by
# `timeout` (hping3 ignores its count in --flood mode); only processes they
# started are killed.

set -u

SG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$SG_ROOT/build
# SYNGUARD may point at another binary with the same interface (debugging).
SYNGUARD=${SYNGUARD:-$BUILD/synguard}
SG_BPFFS=${SG_BPFFS:-/sys/fs/bpf/synguard}

RUN_ID=$$
# The client's and server's namespace and veth names: PREFIX, c or s, and
# this run's id. A suite that may run next to another takes a prefix of
# its own.
suite_names() {
	CNS=${1}c$RUN_ID
	SNS=${1}s$RUN_ID
	CIF=${1}c$RUN_ID
	SIF=${1}s$RUN_ID
}
suite_names sg
C4=192.0.2.1
S4=192.0.2.2
C6=2001:db8::1
S6=2001:db8::2
# tcp_echo listens on both; synguard protects P_PROT only.
P_PROT=80
P_OPEN=8080
SG_PORTS=80,443

# shellcheck source=tests/lib/suite.sh
. "$SG_ROOT/tests/lib/suite.sh"
TMP=
BG_PIDS=()
CAP_PID=
SERVER_PID=
SG_ATTACHED=0
CNS_MADE=0
SNS_MADE=0

finish() {
	summary
	exit
}

# Every suite needs these; a missing one fails the suite with its reason.
require() {
	local missing=() c
	[ "$(id -u)" = 0 ] || { echo "FAIL setup: must run as root"; echo "0 passed, 1 failed"; exit 1; }
	for c in ip tc ethtool nstat tcpdump hping3 python3 nsenter bpftool timeout; do
		command -v "$c" >/dev/null || missing+=("$c")
	done
	for c in "$SYNGUARD" "$BUILD/tcp_echo" "$BUILD/tcp_client" "$BUILD/xdp_pass.bpf.o"; do
		[ -e "$c" ] || missing+=("$c")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "FAIL setup: missing ${missing[*]} (run 'make deps && make')"
		echo "0 passed, 1 failed"
		exit 1
	fi
}

# Foreground only: a function run with & forks a shell whose PID is not the
# tool's. Background commands call `ip netns exec` directly, which execs the
# tool, so that $! is the tool itself and cleanup kills exactly it.
in_c() { ip netns exec "$CNS" "$@"; }
in_s() { ip netns exec "$SNS" "$@"; }

# The CLI needs the global bpffs: `ip netns exec` would remount /sys.
sg() { nsenter --net="/var/run/netns/$SNS" "$SYNGUARD" "$@"; }

# kill_ours [-SIG] PID...: signals those of the PIDs that are still running
# children of this shell (a finished one's PID may belong to another process
# by now), then reaps them.
kill_ours() {
	local sig=-TERM p running live=()
	case ${1-} in -*) sig=$1; shift ;; esac
	running=" $(jobs -pr | tr '\n' ' ') "
	for p in "$@"; do
		[[ $running == *" $p "* ]] && live+=("$p")
	done
	[ ${#live[@]} -gt 0 ] && kill "$sig" "${live[@]}" 2>/dev/null
	for p in "$@"; do
		wait "$p" 2>/dev/null
	done
	return 0
}

# libxdp makes /sys/fs/bpf/xdp (its lock directory) on first use; remove it
# again if this run made it and nothing else uses it (rmdir: only if empty).
LIBXDP_DIR=/sys/fs/bpf/xdp
[ -d "$LIBXDP_DIR" ] && LIBXDP_DIR_MADE=0 || LIBXDP_DIR_MADE=1

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	# shellcheck disable=SC2086 # empty when not running
	kill_ours "${BG_PIDS[@]}" $CAP_PID $SERVER_PID
	if [ "$SG_ATTACHED" = 1 ] && [ "$SNS_MADE" = 1 ]; then
		sg detach "$SIF" >/dev/null 2>&1
	fi
	# Pins outlive the namespace; remove ours even if detach failed.
	[ "$SNS_MADE" = 1 ] && rm -rf "${SG_BPFFS:?}/$SIF" 2>/dev/null
	[ "$CNS_MADE" = 1 ] && ip netns del "$CNS"
	[ "$SNS_MADE" = 1 ] && ip netns del "$SNS"
	[ -n "$TMP" ] && rm -rf "$TMP"
	[ "$LIBXDP_DIR_MADE" = 1 ] && rmdir "$LIBXDP_DIR" 2>/dev/null
	exit "$rc"
}

topo_setup() {
	require
	TMP=$(mktemp -d /tmp/sg-integ.XXXXXX)
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	# Only what this run created is removed: a name taken already fails.
	if ! { ip netns add "$CNS" && CNS_MADE=1 &&
	       ip netns add "$SNS" && SNS_MADE=1 &&
	       ip link add "$CIF" netns "$CNS" type veth peer name "$SIF" \
		       netns "$SNS"; }; then
		topo_fail "cannot create namespaces and veth"
	fi
	local ns dev a4 a6 p4 p6 mac
	for ns in "$CNS" "$SNS"; do
		ip -n "$ns" link set lo up
		# sysctl through ip netns exec: per-namespace values.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_ra=0 \
			net.ipv6.conf.default.accept_ra=0 net.ipv4.ip_forward=0 \
			net.ipv4.tcp_no_metrics_save=1
	done
	ip netns exec "$SNS" sysctl -qw net.ipv4.tcp_syncookies=1
	while read -r ns dev a4 a6; do
		if ! { ip -n "$ns" addr add "$a4/24" dev "$dev" &&
		       ip -n "$ns" addr add "$a6/64" dev "$dev" nodad &&
		       ip netns exec "$ns" ethtool -K "$dev" tx off >/dev/null &&
		       ip -n "$ns" link set "$dev" up; }; then
			topo_fail "cannot configure $dev"
		fi
	done <<-EOF
		$CNS $CIF $C4 $C6
		$SNS $SIF $S4 $S6
	EOF
	MAC_C=$(ip -n "$CNS" -br link show dev "$CIF" | awk '{print $3}')
	MAC_S=$(ip -n "$SNS" -br link show dev "$SIF" | awk '{print $3}')
	while read -r ns dev p4 p6 mac; do
		if ! { ip -n "$ns" neigh replace "$p4" lladdr "$mac" dev "$dev" nud permanent &&
		       ip -n "$ns" neigh replace "$p6" lladdr "$mac" dev "$dev" nud permanent; }; then
			topo_fail "cannot add neighbour entries on $dev"
		fi
	done <<-EOF
		$CNS $CIF $S4 $S6 $MAC_S
		$SNS $SIF $C4 $C6 $MAC_C
	EOF
	ip -n "$CNS" link set dev "$CIF" xdpdrv obj "$BUILD/xdp_pass.bpf.o" sec xdp ||
		topo_fail "cannot attach xdp_pass to $CIF"
}

topo_fail() {
	echo "FAIL setup: $*"
	FAIL=$((FAIL + 1))
	finish
}

# server_start: tcp_echo on both addresses, protected and open port; each
# accepted connection's TCP_INFO goes to $TMP/server.log.
server_start() {
	ip netns exec "$SNS" "$BUILD/tcp_echo" -i -a "$S4" -a "$S6" -p "$P_PROT" -p "$P_OPEN" \
		>"$TMP/server.log" 2>"$TMP/server.err" &
	SERVER_PID=$!
	for _ in $(seq 50); do
		grep -q '"ready"' "$TMP/server.log" 2>/dev/null && return 0
		sleep 0.1
	done
	topo_fail "tcp_echo did not start: $(cat "$TMP/server.err")"
}

# scapy_python: PY, the interpreter for the Python peers, one that has
# scapy if any has (a pyenv python3 first on PATH may lack Debian's
# python3-scapy); SCAPY=1 if it has.
scapy_python() {
	local p
	PY=python3
	SCAPY=0
	for p in python3 /usr/bin/python3; do
		if "$p" -c 'import scapy.all' >/dev/null 2>&1; then
			PY=$p
			SCAPY=1
			return
		fi
	done
}

# Number of TCP_INFO lines the server printed so far.
server_conns() { grep -c '"role":"server"' "$TMP/server.log"; }

# client ARGS...: tcp_client from the client namespace; the summary line
# goes to stdout, the exit status is the tool's.
client() { in_c "$BUILD/tcp_client" "$@"; }

# json_get JSON KEY: one field of a JSON object (empty if absent).
# A number in a flat object (the tools' one-line summaries) is read in
# bash: each python3 start costs a second or more in a guest under qemu's
# software emulation, and the suites read thousands.
json_get() {
	if [[ $1 == '{'* && ${1:1} != *[{[]* && $1 =~ \"$2\":(-?[0-9]+)[,}] ]]; then
		echo "${BASH_REMATCH[1]}"
		return
	fi
	python3 -c 'import json,sys
v = json.loads(sys.argv[1]).get(sys.argv[2], "")
print(json.dumps(v) if isinstance(v, (dict, list)) else v)' "$1" "$2" 2>/dev/null
}

# sg_attach [OPTIONS...]: attach with these options too. Most suites need
# cookies from the first SYN on, while the default is "cookies auto" (engage
# only above a SYN rate): unless OPTIONS name --cookies, ask for "always"
# where the CLI offers it.
sg_attach() {
	local out args=(--ports "$SG_PORTS" --mode native "$@")
	if [[ " $* " != *" --cookies "* ]] &&
		"$SYNGUARD" attach --help 2>&1 | grep -q -- '--cookies'; then
		args+=(--cookies always)
	fi
	if ! out=$(sg attach "$SIF" "${args[@]}" 2>&1); then
		echo "# synguard attach $SIF ${args[*]}: $out"
		return 1
	fi
	SG_ATTACHED=1
}

sg_detach() {
	local out
	if ! out=$(sg detach "$SIF" 2>&1); then
		echo "# synguard detach $SIF: $out"
		return 1
	fi
	SG_ATTACHED=0
}

# stats_snap FILE: the counters now, as one flat JSON object of counter
# name -> value. `stats --json` prints either that object or, as the CLI
# does now, {"interfaces": {IFACE: {"counters": {...}}}}; both are read.
# Also FILE.flat, "name value" lines of the integer counters, which
# stat_delta reads with awk instead of starting python3 for each counter.
stats_snap() {
	rm -f "$1.flat"
	if ! sg stats "$SIF" --json >"$1.raw" 2>"$1.err"; then
		echo "# synguard stats $SIF --json failed: $(cat "$1.err")"
		echo '{}' >"$1"
		return
	fi
	python3 - "$1.raw" "$SIF" "$1.flat" >"$1" <<-'EOF'
		import json, sys
		d = json.load(open(sys.argv[1]))
		i = d.get("interfaces")
		if isinstance(i, dict):
		    d = i.get(sys.argv[2], {}).get("counters", {})
		elif isinstance(i, list):
		    d = next((x.get("counters", {}) for x in i
		              if x.get("iface") == sys.argv[2]), {})
		print(json.dumps(d))
		sys.stdout.flush()
		with open(sys.argv[3], "w") as f:
		    for k, v in d.items():
		        if isinstance(v, int) and not isinstance(v, bool):
		            f.write("%s %d\n" % (k, v))
	EOF
}

# stat_delta BEFORE AFTER NAME: counter change between two snapshots
# ("missing" when the counter is not in the output). From the .flat files
# of stats_snap when both are there and no older than their snapshot (a
# snapshot written another way has none, or an older one).
stat_delta() {
	if [ "$1" != "$2" ] && [ -f "$1.flat" ] && [ -f "$2.flat" ] &&
		! [ "$1" -nt "$1.flat" ] && ! [ "$2" -nt "$2.flat" ]; then
		# %.0f: mawk prints a large integral difference as 1.2e+10.
		awk -v n="$3" -v a="$1.flat" '$1 == n {
				if (FILENAME == a) { x = $2; sx = 1 } else { y = $2; sy = 1 }
			}
			END { if (sx && sy) printf "%.0f\n", y - x; else print "missing" }' \
			"$1.flat" "$2.flat"
		return
	fi
	python3 - "$1" "$2" "$3" <<-'EOF'
		import json, sys
		try:
		    a = json.load(open(sys.argv[1]))
		    b = json.load(open(sys.argv[2]))
		    print(int(b[sys.argv[3]]) - int(a[sys.argv[3]]))
		except Exception:
		    print("missing")
	EOF
}

# nstat_snap FILE: the server namespace's SNMP counters, absolute (-a) and
# without touching nstat's history file (-s).
nstat_snap() { in_s nstat -asz >"$1"; }

# nstat_delta BEFORE AFTER NAME
nstat_delta() {
	local a b
	a=$(awk -v n="$3" '$1 == n { print $2 }' "$1")
	b=$(awk -v n="$3" '$1 == n { print $2 }' "$2")
	echo $(( ${b:-0} - ${a:-0} ))
}

# capture_start FILE [NS IFACE]: tcpdump of all TCP on the server's veth
# (both directions), or on IFACE in NS. Frames synguard sends with XDP_TX,
# and frames it consumes, never reach the capture tap; everything the
# kernel sends or receives does.
capture_start() {
	ip netns exec "${2:-$SNS}" tcpdump -i "${3:-$SIF}" -nn -U --immediate-mode -w "$1" tcp \
		2>"$1.err" &
	CAP_PID=$!
	for _ in $(seq 50); do
		grep -q 'listening on' "$1.err" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# tcpdump did not start: $(cat "$1.err")"
	return 1
}

capture_stop() {
	sleep 0.2 # let the last frames reach the capture
	# TERM: a background job of a script ignores INT.
	kill_ours "$CAP_PID"
	CAP_PID=
}

# capture_resets NAME NS: a capture of the server's side of every
# handshake, on the interface named like its namespace NS, for show_resets.
capture_resets() {
	capture_start "$TMP/$1.pcap" "$2" "$2" || REASONS+=("tcpdump did not start")
}
# want_no_resets WHO K0 K1 NAME: WHO sent no RST between the nstat
# snapshots K0 and K1; if it did, the flows of capture NAME are shown.
want_no_resets() {
	local n
	n=$(nstat_delta "$2" "$3" TcpOutRsts)
	want "RSTs sent by the $1" "$n" -eq 0
	[ "$n" = 0 ] || show_resets "$4"
}

# proxy_acks_max N: the most ACKs with a valid cookie XDP may pass to
# SYNPROXY for N connects of tcp_client's rr mode: each handshake's ACK,
# and the request right behind it, which carries the same cookie and can
# reach XDP before SYNPROXY has made the conntrack entry. The client sends
# nothing else before the reply, and by then conntrack has the flow. How
# often the request wins that race is timing (1 or 2 in 200 here, 16 in
# 600 under a flood, 12 in 200 in one CI run), not a property to assert;
# a conntrack check that failed would pass the FIN and the last ACK too,
# 4 a connect.
proxy_acks_max() { echo $((2 * $1)); }

# show_resets NAME: the flows (at most 3) with a reset in them, as the
# server saw them. A flow is named by its client port, the higher of its
# two (the clients' are ephemeral, the servers' below 32768).
show_resets() {
	local p
	# Matched in tcpdump's text: libpcap's tcp[] filters are IPv4's only.
	for p in $(tcpdump -nn -r "$TMP/$1.pcap" 2>/dev/null | grep 'Flags \[R' |
		sed -nE 's/.*\.([0-9]+) > [^ ]*\.([0-9]+): .*/\1 \2/p' |
		awk '{ print ($1 > $2 ? $1 : $2) }' | sort -u | head -n 3); do
		echo "# $1: the flow of a reset, client port $p, at the server:"
		tcpdump -nn -tt -r "$TMP/$1.pcap" "tcp port $p" 2>/dev/null |
			head -n 20 | sed 's/^/#   /'
	done
}

# pcap_count FILE KIND PORT: frames in the capture of one kind:
#   synack   SYN-ACKs sent from the server's port PORT
#   syn      SYNs (no ACK) to the server's port PORT
#   any      any frame to or from the server's port PORT
pcap_count() {
	local re
	case $2 in
	synack) re="IP6? [0-9a-f.:]+\\.$3 > [^ ]+: Flags \\[S\\." ;;
	syn) re="IP6? [^ ]+ > [0-9a-f.:]+\\.$3: Flags \\[S[EWe]*\\]" ;;
	any) re="IP6? ([0-9a-f.:]+\\.$3 > |[^ ]+ > [0-9a-f.:]+\\.$3: )" ;;
	esac
	tcpdump -nn -r "$1" 2>/dev/null | grep -cE "$re"
}

# pid_alive PID: a background job of this shell that still runs.
pid_alive() { [[ " $(jobs -pr | tr '\n' ' ') " == *" $1 "* ]]; }

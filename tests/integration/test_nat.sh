#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# NAT hosts: a host running synguard with
# Docker-style and kube-proxy-style NAT rules, conntrack on and
# nf_conntrack_tcp_loose at its default (1).
#
#   client ns ─veth─ host ns (synguard, NAT rules, listener :9090) ─veth─ "container" ns (:80)
#
# The host publishes the container's :80 as :8080 (Docker: DNAT in
# PREROUTING and OUTPUT for local addresses, MASQUERADE of the container
# subnet) or as NodePort :30080 (kube-proxy: the same hooks, a MASQUERADE
# by mark). synguard protects 8080, 30080 and 9090. Checked in cookies auto
# (idle), cookies auto (engaged) and cookies always, IPv4 and IPv6:
#   - local port: N/N connects with request and reply, every one handed
#     off while cookies are on, no RST from the host's kernel;
#   - published port: N/N, its SYNs passed (no local listener) and its
#     ACKs passed because conntrack knows the flow;
#   - a transfer opened before attach survives attach and detach;
#   - --synproxy nat protects the NodePort in both engines: N/N, every
#     SYN-ACK made at XDP, no RST from the pod, IPv4 and IPv6.
#   - status shows 8080 and 30080 as nat and 9090 as local (attach warns
#     about the nat ones), and 8080 as local+nat once a "userland proxy"
#     listens on it too.
# Against a synguard without the fix (SYNGUARD=old binary) the local-port
# cases fail with cookies on and the published-port cases fail in idle.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

N=${N:-200}
# Per-connection timeout of the client, ms (a shorter one makes a run
# against a broken binary end sooner).
CT=${CT:-10000}
KNS=sgk$RUN_ID # the container
KIF=sgk$RUN_ID # its end of the veth
HIF=sgh$RUN_ID # the host's end
H4=198.51.100.1
K4=198.51.100.2
H6=2001:db8:1::1
K6=2001:db8:1::2
P_LOCAL=9090
P_PUB=8080
P_NODE=30080
SG_PORTS=$P_LOCAL,$P_PUB,$P_NODE
KNS_MADE=0

for c in nft conntrack; do
	command -v $c >/dev/null || {
		echo "FAIL setup: $c missing (make deps: nftables, conntrack)"
		echo "0 passed, 1 failed"
		exit 1
	}
done

topo_setup
# lib.sh's cleanup removes the client and host namespaces; the container's
# goes first (its processes are in BG_PIDS, which cleanup stops).
trap 'rc=$?; [ "$KNS_MADE" = 1 ] && ip netns del "$KNS"; (exit $rc); cleanup' EXIT

ip netns add "$KNS" && KNS_MADE=1 || topo_fail "cannot create $KNS"
ip link add "$HIF" netns "$SNS" type veth peer name "$KIF" netns "$KNS" ||
	topo_fail "cannot create the container veth"
ip -n "$KNS" link set lo up
ip -n "$SNS" addr add $H4/24 dev "$HIF"
ip -n "$SNS" addr add $H6/64 dev "$HIF" nodad
ip -n "$KNS" addr add $K4/24 dev "$KIF"
ip -n "$KNS" addr add $K6/64 dev "$KIF" nodad
ip -n "$SNS" link set "$HIF" up
ip -n "$KNS" link set "$KIF" up
ip -n "$KNS" route add default via $H4
ip -n "$KNS" -6 route add default via $H6
in_s sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
# The default, set anyway: the failure needs it and a host may differ.
in_s sysctl -qw net.netfilter.nf_conntrack_tcp_loose=1 2>/dev/null

# nat_rules docker|kube [TABLE]: the NAT tables of that kind in the host
# namespace, as table TABLE (sgtest) of families ip and ip6.
nat_rules() {
	local f a k t=${2:-sgtest}
	in_s nft delete table ip "$t" 2>/dev/null
	in_s nft delete table ip6 "$t" 2>/dev/null
	for f in ip ip6; do
		[ $f = ip ] && { a=$K4; k=$K4; } || { a="[$K6]"; k=$K6; }
		if [ "$1" = docker ]; then
			in_s nft -f - <<-EOF || return 1
				table $f $t {
					chain docker {
						iifname != "$HIF" tcp dport $P_PUB dnat to $a:80
					}
					chain prerouting {
						type nat hook prerouting priority dstnat;
						fib daddr type local jump docker
					}
					chain output {
						type nat hook output priority -100;
						fib daddr type local jump docker
					}
					chain postrouting {
						type nat hook postrouting priority srcnat;
						$f saddr $( [ $f = ip ] && echo 198.51.100.0/24 || echo 2001:db8:1::/64 ) oifname != "$HIF" masquerade
					}
				}
			EOF
		else
			in_s nft -f - <<-EOF || return 1
				table $f $t {
					chain services {
						fib daddr type local tcp dport $P_NODE meta mark set mark or 0x4000 dnat to $a:80
					}
					chain prerouting {
						type nat hook prerouting priority dstnat;
						jump services
					}
					chain output {
						type nat hook output priority -100;
						jump services
					}
					chain postrouting {
						type nat hook postrouting priority srcnat;
						meta mark & 0x4000 == 0x4000 masquerade
					}
				}
			EOF
		fi
	done
}

# Servers: the local one on the host, the "container" one on :80.
ip netns exec "$SNS" "$BUILD/tcp_echo" -a "$S4" -a "$S6" -p $P_LOCAL \
	>"$TMP/local.log" 2>&1 &
BG_PIDS+=($!)
ip netns exec "$KNS" "$BUILD/tcp_echo" -a $K4 -a $K6 -p 80 \
	>"$TMP/ctr.log" 2>&1 &
BG_PIDS+=($!)
for _ in $(seq 50); do
	grep -q ready "$TMP/local.log" && grep -q ready "$TMP/ctr.log" && break
	sleep 0.1
done
grep -q ready "$TMP/ctr.log" || topo_fail "container server did not start"

nat_rules docker || topo_fail "cannot load the Docker-style rules"
r=$(client -n 5 "$S4" $P_PUB)
want "premise: published port without synguard" "$(json_get "$r" ok)" -eq 5
r=$(client -n 5 "$S6" $P_PUB)
want "premise: published port without synguard, IPv6" "$(json_get "$r" ok)" -eq 5
r=$(client -n 5 "$S4" $P_LOCAL)
want "premise: local port without synguard" "$(json_get "$r" ok)" -eq 5
check premise_without_synguard

kns_nstat() { ip netns exec "$KNS" nstat -asz >"$1"; }

# run_case NAME ADDR PORT MODE: N connects; counters asserted by the kind
# of port (local or published) and the cookies mode.
run_case() {
	local name=$1 addr=$2 port=$3 mode=$4 r d
	stats_snap "$TMP/s0"
	nstat_snap "$TMP/n0"
	kns_nstat "$TMP/k0"
	r=$(client -n "$N" -t "$CT" "$addr" "$port")
	stats_snap "$TMP/s1"
	nstat_snap "$TMP/n1"
	kns_nstat "$TMP/k1"
	want "connects ok" "$(json_get "$r" ok)" -eq "$N"
	[ -n "$(json_get "$r" error)" ] && REASONS+=("client: $(json_get "$r" error)")
	want "RSTs sent by the host's kernel" "$(nstat_delta "$TMP/n0" "$TMP/n1" TcpOutRsts)" -eq 0
	want "RSTs sent by the container" "$(nstat_delta "$TMP/k0" "$TMP/k1" TcpOutRsts)" -eq 0
	for c in cookie_bad cookie_none_issued cookie_expired handoff_no_listener \
		 handoff_kfunc_error; do
		want "$c delta" "$(stat_delta "$TMP/s0" "$TMP/s1" $c)" -eq 0
	done
	d() { stat_delta "$TMP/s0" "$TMP/s1" "$1"; }
	if [ "$port" = $P_LOCAL ]; then
		if [ "$mode" = idle ]; then
			want "syn_disengaged_pass delta" "$(d syn_disengaged_pass)" -eq "$N"
			want "handoff_ok delta" "$(d handoff_ok)" -eq 0
		else
			want "synack_sent delta" "$(d synack_sent)" -eq "$N"
			want "handoff_ok delta" "$(d handoff_ok)" -eq "$N"
		fi
		want "ack_conntrack_pass delta" "$(d ack_conntrack_pass)" -eq 0
	else
		if [ "$mode" = idle ]; then
			want "syn_disengaged_pass delta" "$(d syn_disengaged_pass)" -eq "$N"
		else
			want "syn_no_listener_pass delta" "$(d syn_no_listener_pass)" -eq "$N"
		fi
		# The handshake ACK, the request and the FIN at least.
		want "ack_conntrack_pass delta" "$(d ack_conntrack_pass)" -ge $((N * 3))
		want "synack_sent delta" "$(d synack_sent)" -eq 0
		want "handoff_ok delta" "$(d handoff_ok)" -eq 0
	fi
	echo "# $name: $(json_get "$r" ok)/$N ok, handoff_ok $(d handoff_ok)," \
		"ack_conntrack_pass $(d ack_conntrack_pass)," \
		"syn_no_listener_pass $(d syn_no_listener_pass)," \
		"host RSTs $(nstat_delta "$TMP/n0" "$TMP/n1" TcpOutRsts)"
	unset -f d
	check "$name"
}

# engage: cookies auto with syn_rate_on 1 turns on at a SYN that follows a
# rate window (134 ms) which had one, so connects 40 ms apart engage it;
# hold_time keeps it on for the rest of the case.
engage() {
	local i
	for i in $(seq 10); do
		client -n 8 -w 40 "$S4" $P_LOCAL >/dev/null
		stats_snap "$TMP/e"
		[ "$(python3 -c 'import json,sys
print(json.load(open(sys.argv[1])).get("cookies_engaged", 0))' "$TMP/e")" -ge 1 ] &&
			return 0
		sleep 0.2
	done
	return 1
}

for flavor in docker kube; do
	nat_rules $flavor || { fail "rules_$flavor" "cannot load the $flavor rules"; continue; }
	[ $flavor = docker ] && pub=$P_PUB || pub=$P_NODE
	for mode in idle engaged always; do
		case $mode in
		idle) opts=(--cookies auto) ;;
		engaged) opts=(--cookies auto --syn-rate-on 1 --syn-rate-off 1 --hold-time 3600) ;;
		always) opts=(--cookies always) ;;
		esac
		if ! sg_attach "${opts[@]}"; then
			fail "attach_${flavor}_$mode" "synguard attach failed (output above)"
			continue
		fi
		if [ $mode = engaged ] && ! engage; then
			fail "engage_$flavor" "cookies auto did not engage"
		fi
		for fam in 4 6; do
			[ $fam = 4 ] && addr=$S4 || addr=$S6
			run_case "${flavor}_${mode}_local_ipv$fam" "$addr" $P_LOCAL $mode
			run_case "${flavor}_${mode}_published_ipv$fam" "$addr" "$pub" $mode
		done
		sg_detach || fail "detach_${flavor}_$mode" "detach failed"
	done
done

# ---- the nftables table: attach makes it, status shows it, detach removes it ----
nat_rules docker
sif_idx=$(ip -n "$SNS" -o link show dev "$SIF" | cut -d: -f1)
table=synguard_if$sif_idx
sg_attach --cookies always || fail notrack_table "attach failed"
in_s nft list table inet "$table" >"$TMP/table" 2>&1 ||
	REASONS+=("table inet $table missing after attach")
grep -q 'meta priority 5347:4e54 meta priority set none notrack' "$TMP/table" ||
	REASONS+=("rule not as expected: $(tr '\n' ' ' <"$TMP/table")")
st=$(sg status "$SIF" --json 2>&1)
[[ $st == *'"notrack": "installed"'* || $st == *'"notrack":"installed"'* ]] ||
	REASONS+=("status does not say the table is installed")
in_s nft list table ip sgtest >/dev/null 2>&1 || REASONS+=("attach touched the NAT table")
sg_detach || REASONS+=("detach failed")
in_s nft list table inet "$table" >/dev/null 2>&1 &&
	REASONS+=("table inet $table left after detach")
in_s nft list table ip sgtest >/dev/null 2>&1 || REASONS+=("detach touched the NAT table")
check notrack_table_lifecycle

# ---- ports by kind: attach warns, status shows each kind ----
# Both kinds of rules at once: 8080 (Docker) and 30080 (kube-proxy) have
# no local listener and a DNAT rule; 9090 has the local server.
nat_rules docker && nat_rules kube sgkube ||
	fail ports_by_kind "cannot load both kinds of rules"
out=$(sg attach "$SIF" --ports "$SG_PORTS" --mode native --cookies always 2>&1) &&
	SG_ATTACHED=1 || REASONS+=("attach failed: $out")
[[ $out == *"synguard: warning: $SIF: ports 8080,30080: no local listener, translated by a DNAT rule (Docker, kube-proxy): SYNs and ACKs pass to the kernel untouched (syn_no_listener_pass, ack_conntrack_pass): never broken, but not protected"* ]] ||
	REASONS+=("no nat warning at attach: $out")
# Of the ports' warnings (kernels whose libxdp dispatcher cannot take
# synguard add one of their own, about the attach mode).
n=$(grep -c "synguard: warning: $SIF: ports\? " <<<"$out")
want "warnings about ports at attach (nat only)" "$n" -eq 1
# kinds_json: the fields of status --json this section checks, as one line.
kinds_json() {
	sg status "$SIF" --json | python3 -c 'import json, sys
i = json.load(sys.stdin)["interfaces"][0]
print(json.dumps([i.get("ports_by_kind"), i.get("port_counts_by_kind"), i.get("nat_rules")]))'
}
got=$(kinds_json)
[ "$got" = '[{"local": [[9090, 9090]], "nat": [[8080, 8080], [30080, 30080]], "nothing": [], "local+nat": []}, {"local": 1, "nat": 2, "nothing": 0, "local+nat": 0}, "read"]' ] ||
	REASONS+=("status --json: $got")
st=$(sg status "$SIF" 2>&1)
grep -qE "^$SIF +9090 +8080,30080 +- +-$" <<<"$st" ||
	REASONS+=("status text has no ports-by-kind row: $st")
check ports_by_kind_nat_and_local

# Docker's userland proxy: a local listener on the published port too.
ip netns exec "$SNS" "$BUILD/tcp_echo" -a "$S4" -a "$S6" -p $P_PUB \
	>"$TMP/proxy.log" 2>&1 &
proxy=$!
BG_PIDS+=($proxy)
for _ in $(seq 50); do
	grep -q ready "$TMP/proxy.log" && break
	sleep 0.1
done
got=$(kinds_json)
[ "$got" = '[{"local": [[9090, 9090]], "nat": [[30080, 30080]], "nothing": [], "local+nat": [[8080, 8080]]}, {"local": 1, "nat": 1, "nothing": 0, "local+nat": 1}, "read"]' ] ||
	REASONS+=("status --json with a proxy on 8080: $got")
st=$(sg status "$SIF" 2>&1)
[[ $st == *"$SIF: port 8080: a local listener AND a DNAT rule: their SYNs pass to the kernel untouched (syn_local_nat_pass), not protected"* ]] ||
	REASONS+=("status text does not say what 8080 gets: $st")
check ports_by_kind_local_nat

# ... and such a port never breaks: attach finds it and the XDP program
# passes its SYNs, so NAT takes the whole connection to the container even
# with cookies always (without that: 0/20, the container resets them).
sg_detach || REASONS+=("detach failed")
out=$(sg attach "$SIF" --ports "$SG_PORTS" --mode native --cookies always 2>&1) &&
	SG_ATTACHED=1 || REASONS+=("attach failed: $out")
for fam in 4 6; do
	[ $fam = 4 ] && addr=$S4 || addr=$S6
	stats_snap "$TMP/x0"
	kns_nstat "$TMP/xk0"
	capture_resets "localnat$fam" "$KNS"
	r=$(client -n "$N" -t "$CT" "$addr" $P_PUB)
	capture_stop
	stats_snap "$TMP/x1"
	kns_nstat "$TMP/xk1"
	want "IPv$fam connects to the published port" "$(json_get "$r" ok)" -eq "$N"
	want "IPv$fam syn_local_nat_pass delta" "$(stat_delta "$TMP/x0" "$TMP/x1" syn_local_nat_pass)" -eq "$N"
	want "IPv$fam handoff_ok delta" "$(stat_delta "$TMP/x0" "$TMP/x1" handoff_ok)" -eq 0
	want "IPv$fam synack_sent delta" "$(stat_delta "$TMP/x0" "$TMP/x1" synack_sent)" -eq 0
	want_no_resets "container (IPv$fam)" "$TMP/xk0" "$TMP/xk1" "localnat$fam"
done
check local_nat_port_passes_never_breaks
kill_ours "$proxy"
sg_detach || fail ports_by_kind_detach "detach failed"
in_s nft delete table ip sgkube
in_s nft delete table ip6 sgkube

# ---- connections open before attach survive attach and detach ----
for fam in 4 6; do
	[ $fam = 4 ] && addr=$S4 || addr=$S6
	# Attached for longer than the clients wait for progress (-t): a
	# flow that stalls while synguard is on fails, not just slows down.
	in_c "$BUILD/tcp_client" -m bulk -d 10 -t 3000 "$addr" $P_LOCAL >"$TMP/pre_l$fam" 2>&1 &
	pl=$!
	in_c "$BUILD/tcp_client" -m bulk -d 10 -t 3000 "$addr" $P_PUB >"$TMP/pre_p$fam" 2>&1 &
	pp=$!
	BG_PIDS+=($pl $pp)
	sleep 1.5
	sg_attach --cookies always || REASONS+=("attach failed")
	sleep 5
	sg_detach || REASONS+=("detach failed")
	wait $pl $pp
	for f in "$TMP/pre_l$fam" "$TMP/pre_p$fam"; do
		r=$(tail -n 1 "$f")
		want "$(basename "$f"): transfer ok" "$(json_get "$r" ok)" -eq 1
		[ -n "$(json_get "$r" error)" ] && REASONS+=("$(basename "$f"): $(json_get "$r" error)")
	done
	check "open_before_attach_survives_ipv$fam"
done

# ---- --synproxy nat protects a kube-proxy-style NodePort, both engines ----
# kube-proxy's rules DNAT :30080 in PREROUTING and OUTPUT and masquerade by
# mark: SYNPROXY's SYN to the pod leaves through OUTPUT, which translates
# it, and the mark set there masquerades it. The local port keeps its
# handoff (own engine) or the kernel's cookie (kernel engine).
nat_rules kube || fail rules_kube_synproxy "cannot load the kube rules"
# nodeport_connects ADDR: N connects to ADDR's NodePort between snapshots
# (s0/s1, k0/k1 of the pod), each with request and reply, and no RST from
# the pod; sets r. Closed
# flows of earlier cases would pass as known to conntrack: flushed first.
nodeport_connects() {
	in_s conntrack -F >/dev/null 2>&1
	stats_snap "$TMP/s0"
	kns_nstat "$TMP/k0"
	capture_resets "nodeport$1" "$KNS"
	r=$(client -n "$N" -t "$CT" "$1" $P_NODE)
	capture_stop
	stats_snap "$TMP/s1"
	kns_nstat "$TMP/k1"
	want "NodePort connects to $1" "$(json_get "$r" ok)" -eq "$N"
	[ -n "$(json_get "$r" error)" ] && REASONS+=("client: $(json_get "$r" error)")
	want_no_resets pod "$TMP/k0" "$TMP/k1" "nodeport$1"
}
for engine in own kernel; do
	if ! sg_attach --cookies always --synproxy nat --engine $engine; then
		fail "kube_nodeport_synproxy_$engine" "synguard attach failed (output above)"
		continue
	fi
	nodeport_connects "$S4"
	d() { stat_delta "$TMP/s0" "$TMP/s1" "$1"; }
	want "syn_proxy_cookie delta" "$(d syn_proxy_cookie)" -eq "$N"
	# A client's first data segment can reach XDP before SYNPROXY's
	# conntrack entry exists: it is checked as a cookie ACK again.
	want "ack_proxy_cookie_pass delta" "$(d ack_proxy_cookie_pass)" -ge "$N"
	want "ack_proxy_cookie_pass delta" "$(d ack_proxy_cookie_pass)" -le "$(proxy_acks_max "$N")"
	for c in ack_proxy_cookie_bad syn_proxy_cookie_error syn_no_listener_pass; do
		want "$c delta" "$(d $c)" -eq 0
	done
	echo "# NodePort, $engine engine: $(json_get "$r" ok)/$N ok," \
		"syn_proxy_cookie $(d syn_proxy_cookie), ack_proxy_cookie_pass $(d ack_proxy_cookie_pass)," \
		"ack_proxy_early_pass $(d ack_proxy_early_pass), proxy_hold_tagged $(d proxy_hold_tagged)"
	check "kube_nodeport_synproxy_$engine"
	# IPv6 too, in either engine: TC verifies the ACKs' checksums for
	# SYNPROXY (the kernel engine's synguard_tc_proxy).
	nodeport_connects "$S6"
	want "syn_proxy_cookie delta" "$(d syn_proxy_cookie)" -eq "$N"
	want "ack_proxy_cookie_pass delta" "$(d ack_proxy_cookie_pass)" -ge "$N"
	want "ack_proxy_cookie_pass delta" "$(d ack_proxy_cookie_pass)" -le "$(proxy_acks_max "$N")"
	want "proxy_csum_ok + proxy_csum_unmarked delta" \
		$(($(d proxy_csum_ok) + $(d proxy_csum_unmarked))) -eq "$(d ack_proxy_cookie_pass)"
	for c in ack_proxy_cookie_bad syn_proxy_cookie_error proxy_csum_bad; do
		want "$c delta" "$(d $c)" -eq 0
	done
	echo "# NodePort IPv6, $engine engine: $(json_get "$r" ok)/$N ok," \
		"syn_proxy_cookie $(d syn_proxy_cookie), ack_proxy_cookie_pass $(d ack_proxy_cookie_pass)," \
		"proxy_csum_ok/unmarked $(d proxy_csum_ok)/$(d proxy_csum_unmarked)," \
		"ack_proxy_early_pass $(d ack_proxy_early_pass), proxy_hold_tagged $(d proxy_hold_tagged)"
	check "kube_nodeport_synproxy_${engine}_ipv6"
	stats_snap "$TMP/s0"
	r=$(client -n 20 -t "$CT" "$S4" $P_LOCAL)
	stats_snap "$TMP/s1"
	want "local port connects" "$(json_get "$r" ok)" -eq 20
	[ $engine = own ] && c=handoff_ok || c=syn_kernel_cookie
	want "local port: $c delta" "$(d $c)" -eq 20
	unset -f d
	# A SYN every 100 ms while detach starts: SYN-ACKs are out, so it
	# must drain before the table and its SYNPROXY rule go, in the kernel
	# engine too (whose own cookies would need no drain).
	ip netns exec "$CNS" timeout 10 hping3 -q -S -p $P_NODE -i u100000 -c 60 "$S4" \
		>/dev/null 2>&1 &
	hp=$!
	BG_PIDS+=($hp)
	sleep 0.5
	out=$(sg detach "$SIF" 2>&1) && SG_ATTACHED=0 || REASONS+=("detach failed: $out")
	kill_ours "$hp"
	[[ $out == *"draining for "* ]] || REASONS+=("detach did not drain: $out")
	check "kube_nodeport_synproxy_${engine}_local_port_and_drain"
done

finish

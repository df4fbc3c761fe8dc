#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# attach --synproxy nat and --gateway: SYN cookies at XDP completed by
# netfilter's SYNPROXY (doc/design.md, "SYNPROXY for translated ports").
#
#   client ns ─veth─ host ns (synguard, Docker-style NAT, forwarding)
#                      ├─veth─ "container" ns (:80, published as :8080)
#                      └─veth─ routed ns (203.0.113.2:8080, --gateway)
#
# The host publishes the container's :80 as :8080 the way Docker does
# (DNAT in PREROUTING and OUTPUT for local addresses, MASQUERADE of the
# container subnet). Checked with cookies always and with cookies auto
# engaged by an hping3 flood:
#   - IPv4: N/N connects with request and reply, every SYN-ACK made at XDP
#     (syn_proxy_cookie, exact) and the handshake ACKs passed to SYNPROXY
#     (ack_proxy_cookie_pass), no RST from the container; the window scale
#     the client is told is the container's; a 3 s bulk transfer;
#   - IPv6: the same, with the client's checksum offload off (its ACKs
#     arrive unverified: nftables' synproxy, whose checksum routine is
#     IPv4's, dropped every one before the TC step, which verifies and
#     marks them: proxy_csum_ok) and on (partial checksums, which
#     SYNPROXY passes as they are: proxy_csum_unmarked);
#   - a forged ACK is dropped (ack_proxy_cookie_bad);
#   - SYNPROXY's race window, made with conntrack -I: a client segment of
#     a marked flow is held and counted (status: synproxy_held);
#   - a segment XDP saw before the translation was set up is held by its
#     tag alone;
#   - the kernel engine, whose TC program does the IPv6 checksum step and
#     the tag for --synproxy: the same for IPv4 and IPv6;
#   - run picks up a port published after it started;
#   - --gateway: the same for the routed server, IPv4 and IPv6, the
#     host's own published port left as it was; config ports= moves its
#     SYNPROXY set with the protected ports;
#   - detach removes the table and puts nf_conntrack_tcp_loose back, with
#     two interfaces only the last detach.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
suite_names sp

N=${N:-200}
CT=${CT:-10000}
KNS=spk$RUN_ID
KIF=spk$RUN_ID
HIF=sph$RUN_ID
H4=198.51.100.1
K4=198.51.100.2
H6=2001:db8:1::1
K6=2001:db8:1::2
P_PUB=8080
SG_PORTS=$P_PUB
KNS_MADE=0

for c in nft conntrack; do
	command -v $c >/dev/null || {
		echo "FAIL setup: $c missing (make deps: nftables, conntrack)"
		echo "0 passed, 1 failed"
		exit 1
	}
done

topo_setup
RNS_MADE=0
# The routed side's host interface ($GIF) gets an attach of its own at the
# end: its pins outlive the namespace.
trap 'rc=$?; [ "$KNS_MADE" = 1 ] && ip netns del "$KNS"; [ "$RNS_MADE" = 1 ] && { ip netns del "$RNS"; rm -rf "${SG_BPFFS:?}/$GIF"; }; (exit $rc); cleanup' EXIT

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
ip netns exec "$KNS" ethtool -K "$KIF" tx off >/dev/null
ip netns exec "$SNS" ethtool -K "$HIF" tx off >/dev/null
ip -n "$KNS" route add default via $H4
ip -n "$KNS" -6 route add default via $H6
in_s sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
in_s sysctl -qw net.netfilter.nf_conntrack_tcp_loose=1 2>/dev/null

for f in ip ip6; do
	[ $f = ip ] && { a=$K4; net=198.51.100.0/24; } || { a="[$K6]"; net=2001:db8:1::/64; }
	in_s nft -f - <<-EOF || topo_fail "cannot load the Docker-style rules"
		table $f sptest {
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
				$f saddr $net oifname != "$HIF" masquerade
			}
		}
	EOF
done

ip netns exec "$KNS" "$BUILD/tcp_echo" -i -a $K4 -a $K6 -p 80 >"$TMP/ctr.log" 2>&1 &
BG_PIDS+=($!)
for _ in $(seq 50); do
	grep -q ready "$TMP/ctr.log" && break
	sleep 0.1
done
grep -q ready "$TMP/ctr.log" || topo_fail "container server did not start"

r=$(client -n 5 "$S4" $P_PUB)
want "premise: published port without synguard" "$(json_get "$r" ok)" -eq 5
check premise_without_synguard

kns_nstat() { ip netns exec "$KNS" nstat -asz >"$1"; }
d() { stat_delta "$TMP/s0" "$TMP/s1" "$1"; }
# The client reuses ports of earlier cases, whose closed flows conntrack
# keeps for 2 minutes: a handshake ACK that finds one passes as a known
# flow (ack_conntrack_pass; SYNPROXY still takes it, as invalid) and the
# counts below would not be exact. Only this namespace's table.
fresh_conntrack() { in_s conntrack -F >/dev/null 2>&1; }
# want_acks_passed N: each handshake ACK passed to SYNPROXY, and at most
# proxy_acks_max N in all.
want_acks_passed() {
	want "ack_proxy_cookie_pass delta" "$(d ack_proxy_cookie_pass)" -ge "$1"
	want "ack_proxy_cookie_pass delta" "$(d ack_proxy_cookie_pass)" -le "$(proxy_acks_max "$1")"
}

# want_tc_csum KIND: every ACK passed to SYNPROXY went through TC's
# checksum step (IPv6) and came out as proxy_csum_KIND, or none did (IPv4).
want_tc_csum() {
	local k n=$(d ack_proxy_cookie_pass)
	for k in ok bad unmarked; do
		want "proxy_csum_$k delta" "$(d proxy_csum_$k)" -eq \
			"$([ "$k" = "$1" ] && echo "$n" || echo 0)"
	done
}

# run_case NAME ADDR PORT RNS [CSUM]: N connects to ADDR:PORT, served from
# namespace RNS: every SYN answered at XDP for SYNPROXY, every handshake
# ACK passed to it; IPv6 ACKs verified at TC as proxy_csum_CSUM (ok).
run_case() {
	local name=$1 addr=$2 port=$3 ns=$4 csum=${5:-ok} r
	fresh_conntrack
	stats_snap "$TMP/s0"
	ip netns exec "$ns" nstat -asz >"$TMP/k0"
	capture_resets "$name" "$ns"
	r=$(client -n "$N" -t "$CT" "$addr" "$port")
	capture_stop
	stats_snap "$TMP/s1"
	ip netns exec "$ns" nstat -asz >"$TMP/k1"
	want "connects ok" "$(json_get "$r" ok)" -eq "$N"
	[ -n "$(json_get "$r" error)" ] && REASONS+=("client: $(json_get "$r" error)")
	want_no_resets server "$TMP/k0" "$TMP/k1" "$name"
	want "syn_proxy_cookie delta" "$(d syn_proxy_cookie)" -eq "$N"
	want_acks_passed "$N"
	want "syn_no_listener_pass delta" "$(d syn_no_listener_pass)" -eq 0
	want "ack_proxy_cookie_bad delta" "$(d ack_proxy_cookie_bad)" -eq 0
	want "synack_sent delta" "$(d synack_sent)" -eq 0
	want "cookie_meta_error delta" "$(d cookie_meta_error)" -eq 0
	if [[ $addr == *:* ]]; then
		want_tc_csum "$csum"
	else
		want_tc_csum none
	fi
	echo "# $name: $(json_get "$r" ok)/$N ok, syn_proxy_cookie $(d syn_proxy_cookie)," \
		"ack_proxy_cookie_pass $(d ack_proxy_cookie_pass)," \
		"ack_conntrack_pass $(d ack_conntrack_pass)," \
		"proxy_csum_ok/bad/unmarked $(d proxy_csum_ok)/$(d proxy_csum_bad)/$(d proxy_csum_unmarked)"
	check "$name"
}

sif_idx=$(ip -n "$SNS" -o link show dev "$SIF" | cut -d: -f1)
table=synguard_if$sif_idx

# rule_and_status RULE STATUS: our table has a rule matching RULE (grep),
# and status says STATUS.
rule_and_status() {
	in_s nft list table inet "$table" >"$TMP/table" 2>&1
	grep -q "$1" "$TMP/table" ||
		REASONS+=("no rule like '$1' in: $(tr '\n' ' ' <"$TMP/table")")
	st=$(sg status "$SIF" 2>&1)
	[[ $st == *"$2"* ]] || REASONS+=("status does not say '$2': $st")
}

# ---- cookies always ----
out=$(sg attach "$SIF" --ports "$SG_PORTS" --mode native --cookies always --synproxy nat 2>&1) &&
	SG_ATTACHED=1 || fail attach_always "attach failed: $out"
[[ $out == *"port 8080: no local listener, translated by a DNAT rule (Docker, kube-proxy): protected with --synproxy"* ]] ||
	REASONS+=("attach does not say what 8080 gets: $out")
[[ $out == *"net.netfilter.nf_conntrack_tcp_loose set to 0 (was 1)"* ]] ||
	REASONS+=("attach does not say it set tcp_loose: $out")
[[ $out == *"SYNPROXY ports: IPv4 and IPv6"* ]] ||
	REASONS+=("attach does not say IPv6 is covered: $out")
want "tcp_loose while attached" "$(in_s sysctl -n net.netfilter.nf_conntrack_tcp_loose)" -eq 0
in_s nft list table inet "$table" >"$TMP/table" 2>&1 || REASONS+=("table inet $table missing")
grep -q "elements = { 8080 }" "$TMP/table" || REASONS+=("set not as expected: $(tr '\n' ' ' <"$TMP/table")")
grep -q 'tcp dport @proxy_ports ct state invalid synproxy' "$TMP/table" ||
	REASONS+=("synproxy rule not as expected: $(tr '\n' ' ' <"$TMP/table")")
# Both families: the rule is not limited to one.
grep -q 'nfproto' "$TMP/table" && REASONS+=("synproxy rule limited to a family: $(tr '\n' ' ' <"$TMP/table")")
st=$(sg status "$SIF" 2>&1)
[[ $st == *"--synproxy nat: translated (nat) ports get SYN cookies at XDP and netfilter's SYNPROXY: nftables table inet $table"* ]] ||
	REASONS+=("status does not show the synproxy table: $st")
sj=$(sg status "$SIF" --json 2>"$TMP/status.err")
[[ $sj == *'"synproxy": true'* || $sj == *'"synproxy":true'* ]] ||
	REASONS+=("status --json does not say synproxy")
[[ $sj == *'"synproxy_ipv6": true'* || $sj == *'"synproxy_ipv6":true'* ]] ||
	REASONS+=("status --json does not say synproxy_ipv6")
check synproxy_attach_table_status

# held_json: status --json's synproxy_held.
held_json() {
	sg status "$SIF" --json 2>/dev/null | python3 -c '
import json, sys
print(json.load(sys.stdin)["interfaces"][0]["synproxy_held"])' 2>/dev/null
}
# hold_probe SPORT MARK STATUS: a conntrack entry for $C4:SPORT -> $S4:8080
# with ct mark MARK and status STATUS, as SYNPROXY's flow would have in
# its race window; then one client ACK of that flow. Prints how many
# segments proxy_held counted for it. (conntrack 1.4.7 takes --status
# before --mark: the other order writes the status into the mark.)
hold_probe() {
	local before after
	before=$(held_json)
	in_s conntrack -I -p tcp -s $C4 -d "$S4" --sport "$1" --dport $P_PUB \
		--state ESTABLISHED --timeout 60 --status "$3" --mark $(($2)) >/dev/null 2>&1 ||
		REASONS+=("conntrack -I sport $1 failed")
	in_c timeout 10 hping3 -A -p $P_PUB -s "$1" -k -c 1 "$S4" >/dev/null 2>&1
	after=$(held_json)
	echo $((after - before))
}
# SYNPROXY's race, made on purpose: conntrack has seen the backend's
# SYN-ACK (SEEN_REPLY) of a flow SYNPROXY marked, and the sequence
# adjustment is not set yet. The client's segment is held (dropped and
# counted); an unmarked flow, or a marked one without the reply, passes.
fresh_conntrack
want "synproxy_held after attach" "$(held_json)" -eq 0
want "held: marked, seen-reply" "$(hold_probe 41001 0x00100000 SEEN_REPLY)" -eq 1
want "held: unmarked, seen-reply" "$(hold_probe 41002 0 SEEN_REPLY)" -eq 0
want "held: marked, no reply yet" "$(hold_probe 41003 0x00100000 UNSET)" -eq 0
want "held: another mark bit" "$(hold_probe 41004 0x00200000 SEEN_REPLY)" -eq 0
st=$(sg status "$SIF" 2>&1)
[[ $st == *"$SIF: 1 segments held back for SYNPROXY: client segments that came before it had set up the connection's sequence translation, and second SYNs it would have sent the backend (counter proxy_held)"* ]] ||
	REASONS+=("status does not count the held segment: $st")
fresh_conntrack
check synproxy_hold_counted

# hold_tagged SPORT: the hold of a segment XDP tagged. XDP looks before
# conntrack: a segment it saw without the sequence translation is held
# once the reply was seen, whatever the flow shows when the rule looks
# after conntrack (the translation may have been set up in between).
# ctnetlink cannot set the translation, so the probe takes out the rule
# that tests it: the tag alone must hold the segment (SPORT), and an
# unmarked flow (SPORT+1) passes. The table stays without that rule.
hold_tagged() {
	local h
	h=$(in_s nft -a list chain inet "$table" proxy_hold 2>/dev/null |
		sed -n 's/.*ct status ! 0x40 .*# handle \([0-9]*\)$/\1/p')
	if [ -z "$h" ]; then
		REASONS+=("no rule testing the translation in chain proxy_hold: $(in_s nft -a list chain inet "$table" proxy_hold 2>&1 | tr '\n' ' ')")
		return
	fi
	fresh_conntrack
	stats_snap "$TMP/s0"
	in_s nft delete rule inet "$table" proxy_hold handle "$h" ||
		REASONS+=("cannot take out rule $h")
	want "held by the tag alone: marked, seen-reply" "$(hold_probe "$1" 0x00100000 SEEN_REPLY)" -eq 1
	want "held by the tag alone: unmarked, seen-reply" "$(hold_probe $(($1 + 1)) 0 SEEN_REPLY)" -eq 0
	stats_snap "$TMP/s1"
	want "ack_proxy_early_pass delta" "$(d ack_proxy_early_pass)" -eq 1
	want "proxy_hold_tagged delta" "$(d proxy_hold_tagged)" -eq 1
	want "ack_conntrack_pass delta" "$(d ack_conntrack_pass)" -eq 1
	fresh_conntrack
}
hold_tagged 41006
# The attach's table again, with the rule.
out=$(sg detach "$SIF" 2>&1) || REASONS+=("detach failed: $out")
SG_ATTACHED=0
out=$(sg attach "$SIF" --ports "$SG_PORTS" --mode native --cookies always --synproxy nat 2>&1) &&
	SG_ATTACHED=1 || REASONS+=("attach again failed: $out")
check synproxy_hold_tagged

# SYNPROXY's second SYN, made on purpose. A handshake split in two
# (split.py): its SYN-ACK comes from XDP, then conntrack -I gives the flow
# the state of the race (SYN_SENT, marked, the backend's reply seen), and
# the client's ACK, which carries data, follows. Conntrack finds it
# invalid, and SYNPROXY, whose cookie check it passes, sends the backend a
# second SYN: dropped in OUTPUT and counted. Without the rule that SYN
# goes on and nothing is counted.
scapy_python
if [ "$SCAPY" = 0 ]; then
	skip synproxy_second_syn_dropped "python3-scapy is not installed (make deps installs it): the split handshake needs it"
else
	# The client kernel knows nothing of the split handshake: no RST.
	ip netns exec "$CNS" nft -f - <<-EOF || REASONS+=("cannot install the client's RST filter")
		table inet sgsplit {
			chain out {
				type filter hook output priority 0;
				tcp sport 41005 tcp flags rst drop
			}
		}
	EOF
	# Nor may a connect of the client's own take that port.
	ip netns exec "$CNS" sysctl -qw net.ipv4.ip_local_reserved_ports=41005
	fresh_conntrack
	before=$(held_json)
	ip netns exec "$CNS" "$PY" "$(dirname "$0")/split.py" "$CIF" "$MAC_C" "$MAC_S" \
		$C4 "$S4" $P_PUB 41005 nots "$TMP/go.second" >"$TMP/split.second" 2>&1 &
	sp=$!
	BG_PIDS+=($sp)
	# Up to 60 s: scapy takes seconds to import in a guest under
	# qemu's software emulation (the 6.12 guest once missed 5 s).
	for _ in $(seq 600); do
		grep -q '"synack": 1' "$TMP/split.second" && break
		sleep 0.1
	done
	grep -q '"synack": 1' "$TMP/split.second" ||
		REASONS+=("split handshake without a SYN-ACK: $(tail -n 1 "$TMP/split.second")")
	in_s conntrack -I -p tcp -s $C4 -d "$S4" --sport 41005 --dport $P_PUB \
		--state SYN_SENT --timeout 60 --status SEEN_REPLY --mark $((0x00100000)) >/dev/null 2>&1 ||
		REASONS+=("conntrack -I sport 41005 failed")
	touch "$TMP/go.second"
	wait $sp
	want "synproxy_held: SYNPROXY's second SYN" "$(($(held_json) - before))" -eq 1
	ip netns exec "$CNS" nft delete table inet sgsplit
	fresh_conntrack
	check synproxy_second_syn_dropped
fi

run_case always_ipv4 "$S4" $P_PUB "$KNS"
# The client's checksum offload is off (topo_setup): its IPv6 ACKs arrive
# CHECKSUM_NONE, the case SYNPROXY dropped before the TC step.
run_case always_ipv6_csum_none "$S6" $P_PUB "$KNS" ok
# Offload on: partial checksums, which XDP's SYN check and SYNPROXY both
# take from a sender on this host; TC leaves them unmarked.
ip netns exec "$CNS" ethtool -K "$CIF" tx on >/dev/null
run_case always_ipv6_csum_partial "$S6" $P_PUB "$KNS" unmarked
ip netns exec "$CNS" ethtool -K "$CIF" tx off >/dev/null

# The window scale the client was told (XDP's SYN-ACK: its socket's
# snd_wscale) is the one the container uses (its socket's rcv_wscale):
# SYNPROXY passes the container's windows on unscaled.
ws_c=$(client -i -n 1 "$S4" $P_PUB | grep -o '"snd_wscale":[0-9]*' | head -n 1 | cut -d: -f2)
sleep 0.2
ws_k=$(grep -o '"rcv_wscale":[0-9]*' "$TMP/ctr.log" | tail -n 1 | cut -d: -f2)
[ -n "$ws_c" ] && [ -n "$ws_k" ] || REASONS+=("no window scale seen (client: '$ws_c', container: '$ws_k')")
[ "$ws_c" = "$ws_k" ] || REASONS+=("client was told wscale $ws_c, the container uses $ws_k")
echo "# window scale: told $ws_c, container's $ws_k"
check synack_offers_the_backends_wscale

# A transfer both ways for 3 s: the SYN-ACK offered the backend's window
# scale (SYNPROXY passes the backend's windows on unscaled), so the client
# reads them right; a larger scale than the backend's would stall it.
stats_snap "$TMP/s0"
r=$(client -m bulk -d 3 -t 3000 "$S4" $P_PUB | tail -n 1)
stats_snap "$TMP/s1"
want "bulk transfer ok" "$(json_get "$r" ok)" -eq 1
[ -n "$(json_get "$r" error)" ] && REASONS+=("bulk: $(json_get "$r" error)")
want "bulk: syn_proxy_cookie delta" "$(d syn_proxy_cookie)" -eq 1
echo "# bulk: $(json_get "$r" bytes) bytes in 3 s"
check bulk_transfer_ipv4

# A forged ACK to the published port: no conntrack entry, no valid cookie.
# From a port below the ephemeral range, which the connects above never
# used: conntrack still holds their closed flows.
stats_snap "$TMP/s0"
in_c timeout 10 hping3 -A -p $P_PUB -s 2000 -k -c 20 -i u1000 "$S4" >/dev/null 2>&1
stats_snap "$TMP/s1"
want "ack_proxy_cookie_bad delta" "$(d ack_proxy_cookie_bad)" -eq 20
check forged_ack_dropped

# ---- cookies auto, engaged by a flood, with a legitimate client ----
sg_detach || fail detach_always "detach failed"
sg_attach --cookies auto --syn-rate-on 1000 --syn-rate-off 1 --hold-time 3600 --synproxy nat ||
	fail attach_engaged "attach failed"
stats_snap "$TMP/f0"
# Not through in_c: a function in the background is a subshell, and
# killing it would leave hping3 flooding into the next cases.
ip netns exec "$CNS" timeout 20 hping3 -S -p $P_PUB --rand-source -i u200 -c 40000 "$S4" >/dev/null 2>&1 &
flood=$!
BG_PIDS+=($flood)
sleep 1
fresh_conntrack
stats_snap "$TMP/s0"
kns_nstat "$TMP/k0"
capture_resets flood "$KNS"
r=$(client -n "$N" -t "$CT" "$S4" $P_PUB)
capture_stop
stats_snap "$TMP/s1"
kns_nstat "$TMP/k1"
kill_ours "$flood"
want "connects ok under the flood" "$(json_get "$r" ok)" -eq "$N"
want "cookies engaged" "$(python3 -c 'import json,sys
print(json.load(open(sys.argv[1])).get("cookies_engaged", 0))' "$TMP/s1")" -ge 1
want "syn_proxy_cookie delta (flood and client)" "$(d syn_proxy_cookie)" -gt "$N"
want_acks_passed "$N"
want "ack_proxy_cookie_bad delta" "$(d ack_proxy_cookie_bad)" -eq 0
want_no_resets container "$TMP/k0" "$TMP/k1" flood
echo "# flood: $(json_get "$r" ok)/$N ok, syn_proxy_cookie $(d syn_proxy_cookie), ack_proxy_cookie_pass $(d ack_proxy_cookie_pass)"
check engaged_by_flood_ipv4

# ---- detach removes the table and restores the sysctl ----
sg_detach || REASONS+=("detach failed")
in_s nft list table inet "$table" >/dev/null 2>&1 && REASONS+=("table inet $table left after detach")
in_s nft list table ip sptest >/dev/null 2>&1 || REASONS+=("detach touched the NAT table")
want "tcp_loose after detach" "$(in_s sysctl -n net.netfilter.nf_conntrack_tcp_loose)" -eq 1
check detach_restores

# ---- the kernel engine ----
# Its TC program, loaded for --synproxy (synguard_tc_proxy), verifies the
# IPv6 ACKs' checksums and tags held segments: both families as above.
# Counted runs wait for the client namespace to be idle: the flood above
# ends at kill_ours, and at most with its own 20 s timeout.
for _ in $(seq 250); do
	[ -z "$(ip netns pids "$CNS")" ] && break
	sleep 0.1
done
out=$(sg attach "$SIF" --ports "$SG_PORTS" --mode native --engine kernel --cookies always --synproxy nat 2>&1) &&
	SG_ATTACHED=1 || REASONS+=("attach --engine kernel failed: $out")
[[ $out == *"SYNPROXY ports: IPv4 and IPv6"* ]] ||
	REASONS+=("kernel engine attach does not say IPv6 is covered: $out")
[[ $out =~ "kernel engine: the kernel's own cookies; TC prog "[0-9]+" ("(tcx|clsact)") for SYNPROXY" ]] ||
	REASONS+=("kernel engine attach does not name its TC program: $out")
tcs=$(sg status "$SIF" --json 2>/dev/null | python3 -c '
import json, sys
i = json.load(sys.stdin)["interfaces"][0]
print(i["tc_state"], i["synproxy_ipv6"])' 2>/dev/null)
[ "$tcs" = "in place True" ] ||
	REASONS+=("kernel engine: status --json tc_state, synproxy_ipv6: '$tcs', wanted 'in place True'")
rule_and_status 'tcp dport @proxy_ports ct state invalid synproxy' \
	"SYNPROXY ports: IPv4 and IPv6"
grep -q 'nfproto' "$TMP/table" && REASONS+=("kernel engine: synproxy rule limited to a family: $(tr '\n' ' ' <"$TMP/table")")
check kernel_engine_attach
run_case kernel_engine_ipv4 "$S4" $P_PUB "$KNS"
run_case kernel_engine_ipv6_csum_none "$S6" $P_PUB "$KNS" ok
hold_tagged 41016
sg_detach || REASONS+=("detach failed")
in_s tc filter show dev "$SIF" ingress 2>/dev/null | grep -q synguard_tc &&
	REASONS+=("kernel engine: detach left the TC filter")
left=$(in_s "$SG_ROOT/tests/lib/tcx_progs.py" "$SIF")
[ -n "$left" ] && REASONS+=("kernel engine: detach left TCX programs: $left")
check kernel_engine_hold_and_detach

# ---- run follows a port published after it started ----
# 8081 has nothing yet; a DNAT rule for it appears while run runs. Its
# 10 s scan puts it into the XDP map and the nftables set.
fresh_conntrack
nsenter --net="/var/run/netns/$SNS" "$SYNGUARD" run "$SIF" --ports $P_PUB,8081 \
	--mode native --cookies always --synproxy nat >"$TMP/run.out" 2>"$TMP/run.err" &
run_pid=$!
BG_PIDS+=($run_pid)
SG_ATTACHED=1
for _ in $(seq 100); do
	grep -q 'protected until' "$TMP/run.out" && break
	sleep 0.1
done
grep -q 'protected until' "$TMP/run.out" ||
	REASONS+=("synguard run did not start: $(cat "$TMP/run.out" "$TMP/run.err")")
in_s nft add rule ip sptest docker iifname != "$HIF" tcp dport 8081 dnat to $K4:80
seen=0
for _ in $(seq 150); do
	in_s nft list set inet "$table" proxy_ports 2>/dev/null | grep -q 8081 && { seen=1; break; }
	sleep 0.1
done
want "8081 in the synproxy set within 15 s" "$seen" -eq 1
grep -q "port 8081 now nat (was nothing): no local listener, translated by a DNAT rule (Docker, kube-proxy): protected with --synproxy" "$TMP/run.out" ||
	REASONS+=("run did not log the change: $(cat "$TMP/run.out")")
stats_snap "$TMP/s0"
r=$(client -n 20 -t "$CT" "$S4" 8081)
stats_snap "$TMP/s1"
want "connects to 8081" "$(json_get "$r" ok)" -eq 20
want "8081: syn_proxy_cookie delta" "$(d syn_proxy_cookie)" -eq 20
want_acks_passed 20
# ... and one unpublished again: the next scan takes it out of the port
# map's proxy bits, then out of the set, and its SYNs pass to a kernel
# with nothing on 8081, which refuses them.
h=$(in_s nft -a list chain ip sptest docker | awk '/dport 8081 / {print $NF}')
in_s nft delete rule ip sptest docker handle "$h" ||
	REASONS+=("cannot delete the DNAT rule of 8081 (handle '$h')")
gone=0
for _ in $(seq 150); do
	in_s nft list set inet "$table" proxy_ports 2>/dev/null | grep -q 8081 || { gone=1; break; }
	sleep 0.1
done
want "8081 out of the synproxy set within 15 s" "$gone" -eq 1
grep -q "port 8081 now nothing (was nat)" "$TMP/run.out" ||
	REASONS+=("run did not log 8081 leaving: $(cat "$TMP/run.out")")
fresh_conntrack
stats_snap "$TMP/s0"
r=$(client -n 5 -t "$CT" "$S4" 8081)
stats_snap "$TMP/s1"
want "connects to 8081 unpublished" "$(json_get "$r" ok)" -eq 0
want "8081 unpublished: syn_proxy_cookie delta" "$(d syn_proxy_cookie)" -eq 0
want "8081 unpublished: syn_no_listener_pass delta" "$(d syn_no_listener_pass)" -eq 5
kill_ours "$run_pid"
SG_ATTACHED=0
in_s nft list table inet "$table" >/dev/null 2>&1 && REASONS+=("table inet $table left after run stopped")
want "tcp_loose after run stopped" "$(in_s sysctl -n net.netfilter.nf_conntrack_tcp_loose)" -eq 1
check run_follows_a_port_published_and_unpublished

# ---- --gateway: a server in a third namespace routed through the host ----
#   client ─ host (synguard --gateway, forwarding) ─ router-side ns (203.0.113.2:8080)
RNS=spr$RUN_ID
RIF=spr$RUN_ID
GIF=spg$RUN_ID
R4=203.0.113.2
G4=203.0.113.1
R6=2001:db8:3::2
G6=2001:db8:3::1
ip netns add "$RNS" && RNS_MADE=1 || topo_fail "cannot create $RNS"
ip link add "$GIF" netns "$SNS" type veth peer name "$RIF" netns "$RNS" ||
	topo_fail "cannot create the routed veth"
ip -n "$RNS" link set lo up
ip -n "$SNS" addr add $G4/24 dev "$GIF"
ip -n "$RNS" addr add $R4/24 dev "$RIF"
ip -n "$SNS" addr add $G6/64 dev "$GIF" nodad
ip -n "$RNS" addr add $R6/64 dev "$RIF" nodad
ip -n "$SNS" link set "$GIF" up
ip -n "$RNS" link set "$RIF" up
ip netns exec "$RNS" ethtool -K "$RIF" tx off >/dev/null
ip netns exec "$SNS" ethtool -K "$GIF" tx off >/dev/null
ip -n "$RNS" route add default via $G4
ip -n "$RNS" -6 route add default via $G6
ip -n "$CNS" route add 203.0.113.0/24 via "$S4"
ip -n "$CNS" -6 route add 2001:db8:3::/64 via "$S6"
P_GW2=8090
ip netns exec "$RNS" "$BUILD/tcp_echo" -i -a $R4 -a $R6 -p $P_PUB -p $P_GW2 >"$TMP/routed.log" 2>&1 &
BG_PIDS+=($!)
for _ in $(seq 50); do
	grep -q ready "$TMP/routed.log" && break
	sleep 0.1
done
r=$(client -n 5 $R4 $P_PUB)
want "premise: routed server without synguard" "$(json_get "$r" ok)" -eq 5
r=$(client -n 5 $R6 $P_PUB)
want "premise: routed server without synguard, IPv6" "$(json_get "$r" ok)" -eq 5
# The routed server's window scale: --wscale tells synguard what to offer.
ws_r=$(grep -o '"rcv_wscale":[0-9]*' "$TMP/routed.log" | tail -n 1 | cut -d: -f2)
[ -n "$ws_r" ] || REASONS+=("no window scale from the routed server")
check premise_routed

out=$(sg attach "$SIF" --ports $P_PUB --mode native --cookies always --gateway --wscale "${ws_r:-7}" 2>&1) &&
	SG_ATTACHED=1 || REASONS+=("attach --gateway failed: $out")
rule_and_status 'iif "'"$SIF"'" tcp dport @gateway_ports ct state invalid synproxy' \
	"--gateway: SYNs routed through this host get SYN cookies at XDP"
check gateway_attach_table_status

rns_nstat() { ip netns exec "$RNS" nstat -asz >"$1"; }
fresh_conntrack
stats_snap "$TMP/s0"
rns_nstat "$TMP/r0"
r=$(client -n "$N" -t "$CT" $R4 $P_PUB)
stats_snap "$TMP/s1"
rns_nstat "$TMP/r1"
want "connects to the routed server" "$(json_get "$r" ok)" -eq "$N"
[ -n "$(json_get "$r" error)" ] && REASONS+=("client: $(json_get "$r" error)")
want "syn_proxy_cookie delta" "$(d syn_proxy_cookie)" -eq "$N"
want_acks_passed "$N"
want "RSTs sent by the routed server" "$(nstat_delta "$TMP/r0" "$TMP/r1" TcpOutRsts)" -eq 0
ws_c=$(client -i -n 1 $R4 $P_PUB | grep -o '"snd_wscale":[0-9]*' | head -n 1 | cut -d: -f2)
want "window scale told = the routed server's" "${ws_c:-0}" -eq "${ws_r:-1}"
echo "# gateway: $(json_get "$r" ok)/$N ok, syn_proxy_cookie $(d syn_proxy_cookie), ack_proxy_cookie_pass $(d ack_proxy_cookie_pass), wscale $ws_c"
check gateway_routed_ipv4

run_case gateway_routed_ipv6 "$R6" $P_PUB "$RNS" ok

# The host's own nat port is not routed: without --synproxy nat it passes.
fresh_conntrack
stats_snap "$TMP/s0"
r=$(client -n 20 -t "$CT" "$S4" $P_PUB)
stats_snap "$TMP/s1"
want "connects to the published port" "$(json_get "$r" ok)" -eq 20
want "published port: syn_no_listener_pass delta" "$(d syn_no_listener_pass)" -eq 20
want "published port: syn_proxy_cookie delta" "$(d syn_proxy_cookie)" -eq 0
check gateway_leaves_local_ports

fresh_conntrack
ip netns exec "$CNS" timeout 20 hping3 -S -p $P_PUB --rand-source -i u200 -c 40000 $R4 >/dev/null 2>&1 &
flood=$!
BG_PIDS+=($flood)
sleep 1
stats_snap "$TMP/s0"
r=$(client -n "$N" -t "$CT" $R4 $P_PUB)
stats_snap "$TMP/s1"
kill_ours "$flood"
want "routed connects under the flood" "$(json_get "$r" ok)" -eq "$N"
want "syn_proxy_cookie delta (flood and client)" "$(d syn_proxy_cookie)" -gt "$N"
want_acks_passed "$N"
echo "# gateway flood: $(json_get "$r" ok)/$N ok, syn_proxy_cookie $(d syn_proxy_cookie)"
check gateway_under_flood

# config ports=: XDP answers a routed SYN to any protected port, so the
# SYNPROXY rule's set must follow the list, or the cookie ACK goes on to
# the server, which resets it.
gw_set_has() { in_s nft list set inet "$table" gateway_ports 2>/dev/null | grep -qw "$1"; }
# routed_20 WHAT PROXIED: 20 connects to the routed server's $P_GW2, of
# which PROXIED (20 or 0) answered at XDP for SYNPROXY.
routed_20() {
	local r
	fresh_conntrack
	stats_snap "$TMP/s0"
	r=$(client -n 20 -t "$CT" $R4 $P_GW2)
	stats_snap "$TMP/s1"
	want "connects to the port $1 by config" "$(json_get "$r" ok)" -eq 20
	want "port $1: syn_proxy_cookie delta" "$(d syn_proxy_cookie)" -eq "$2"
	[ "$2" = 0 ] || want_acks_passed "$2"
}
out=$(sg config "$SIF" ports=$P_PUB,$P_GW2 2>&1) || REASONS+=("config ports=$P_PUB,$P_GW2 failed: $out")
gw_set_has $P_GW2 || REASONS+=("set gateway_ports lacks $P_GW2 after config ports=$P_PUB,$P_GW2")
routed_20 added 20
out=$(sg config "$SIF" ports=$P_PUB 2>&1) || REASONS+=("config ports=$P_PUB failed: $out")
gw_set_has $P_GW2 && REASONS+=("set gateway_ports still names $P_GW2 after config ports=$P_PUB")
gw_set_has $P_PUB || REASONS+=("set gateway_ports lost $P_PUB")
routed_20 removed 0
check gateway_config_ports_moves_the_set

sg_detach || REASONS+=("detach failed")
in_s nft list table inet "$table" >/dev/null 2>&1 && REASONS+=("table inet $table left after detach")
want "tcp_loose after detach" "$(in_s sysctl -n net.netfilter.nf_conntrack_tcp_loose)" -eq 1
check gateway_detach_restores

# ---- two interfaces: tcp_loose goes back with the last detach ----
# nf_conntrack_tcp_loose is the namespace's: detaching $GIF while $SIF
# still proxies must leave it at 0, or conntrack takes the next cookie ACK
# for an open flow and forwards it to the server, which resets it.
# $GIF attaches first, so it is the one that recorded tcp_loose's value.
if out=$(sg attach "$GIF" --ports $P_PUB --mode skb --gateway --wscale "${ws_r:-7}" 2>&1) &&
	out=$(sg attach "$SIF" --ports $P_PUB --mode native --cookies always --gateway --wscale "${ws_r:-7}" 2>&1) &&
	SG_ATTACHED=1; then
	out=$(sg detach "$GIF" 2>&1) || REASONS+=("detach $GIF failed: $out")
	[[ $out == *"nf_conntrack_tcp_loose stays 0 as SYNPROXY needs it: $SIF hands connections to it too"* ]] ||
		REASONS+=("no message that $SIF keeps tcp_loose: $out")
	want "tcp_loose while $SIF still proxies" "$(in_s sysctl -n net.netfilter.nf_conntrack_tcp_loose)" -eq 0
	fresh_conntrack
	stats_snap "$TMP/s0"
	r=$(client -n 20 -t "$CT" $R4 $P_PUB)
	stats_snap "$TMP/s1"
	want "routed connects after $GIF's detach" "$(json_get "$r" ok)" -eq 20
	want "syn_proxy_cookie delta" "$(d syn_proxy_cookie)" -eq 20
	sg_detach || REASONS+=("detach $SIF failed")
	want "tcp_loose after the last detach" "$(in_s sysctl -n net.netfilter.nf_conntrack_tcp_loose)" -eq 1
	check two_interfaces_last_detach_restores_tcp_loose
else
	fail two_interfaces_last_detach_restores_tcp_loose "attach failed: $out"
fi

finish

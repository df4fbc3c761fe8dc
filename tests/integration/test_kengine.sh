#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The kernel engine end to end (attach --engine kernel), in two network
# namespaces joined by veth (lib.sh), cookies always: SYNs answered at XDP
# with the kernel's own cookies, the kernel accepting their ACKs itself;
# what clients with and without timestamps negotiate; an ACK flood and a
# SYN flood; the sysctls attach sets, and detach (and a failed attach)
# putting them back; the TC hook (TCX or clsact) it takes for SYNPROXY.
#
# What each side negotiated comes from TCP_INFO (tcp_echo -i on the server,
# tcp_client -i on the client), what `ss -ti` shows. The window scale,
# SACK and ECN of a timestamp client come back from the TSval of the
# SYN-ACK; without timestamps the kernel's cookies carry none of them.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# Names of this suite's own, so it can run next to the others.
suite_names eng
# Connections per family, and flood sizes. SG_SUITE_QUICK=1 (the kernel
# matrix's guests under TCG, which emulates the CPU) runs the same cases
# smaller.
N=20 ACKS=500 SYNS=5000 LEGIT=100
[ "${SG_SUITE_QUICK:-0}" = 1 ] && N=5 ACKS=100 SYNS=1000 LEGIT=20

in_s_sysctl() { in_s sysctl -n "net.ipv4.$1"; }

topo_setup
# A second interface of the server namespace (a veth pair of its own,
# generic XDP): its pins are removed on exit too, whatever happened.
DUM=engd$RUN_ID
eng_cleanup() {
	local rc=$?
	rm -rf "${SG_BPFFS:?}/$DUM" 2>/dev/null
	(exit $rc)
	cleanup
}
trap eng_cleanup EXIT
# What the kernel engine starts from on most hosts.
in_s sysctl -qw net.ipv4.tcp_syncookies=1 net.ipv4.tcp_timestamps=1
server_start

# ---- 0. a failed attach puts the sysctls back ----
# An XDP program already on the interface: attach sets the sysctls, then
# cannot attach its own program, and must undo everything.
if ip -n "$SNS" link set dev "$SIF" xdpdrv obj "$BUILD/xdp_pass.bpf.o" sec xdp; then
	out=$(sg attach "$SIF" --ports "$SG_PORTS" --engine kernel 2>&1)
	rc=$?
	want "attach exit code over another XDP program" "$rc" -eq 1
	want "tcp_syncookies after the failed attach" "$(in_s_sysctl tcp_syncookies)" -eq 1
	want "tcp_timestamps after the failed attach" "$(in_s_sysctl tcp_timestamps)" -eq 1
	[ -e "$SG_BPFFS/$SIF" ] && REASONS+=("pins left after the failed attach")
	[[ $out == *"tcp_syncookies set back to 1"* ]] ||
		REASONS+=("no message that tcp_syncookies went back: $out")
	ip -n "$SNS" link set dev "$SIF" xdpdrv off
	check failed_attach_restores_sysctls
else
	skip failed_attach_restores_sysctls "cannot put xdp_pass on $SIF"
fi

# ---- 1. attach: the engine, the notes, the sysctls ----
if ! out=$(sg attach "$SIF" --ports "$SG_PORTS" --mode native --cookies always --engine kernel 2>&1); then
	echo "# synguard attach: $out"
	fail attach "synguard attach --engine kernel failed: every case below needs it"
	finish
fi
SG_ATTACHED=1
[[ $out == *"net.ipv4.tcp_syncookies set to 2 (was 1)"* ]] ||
	REASONS+=("no note that tcp_syncookies was set: $out")
[[ $out == *"net.ipv4.tcp_timestamps set to 2 (was 1)"* ]] ||
	REASONS+=("no note that tcp_timestamps was set: $out")
want "tcp_syncookies while attached" "$(in_s_sysctl tcp_syncookies)" -eq 2
want "tcp_timestamps while attached" "$(in_s_sysctl tcp_timestamps)" -eq 2
# stderr apart: a note that another command holds the lock is not JSON.
st=$(sg status "$SIF" --json 2>"$TMP/status.err")
eng=$(python3 -c 'import json,sys
d = json.loads(sys.argv[1]); i = d["interfaces"][0] if isinstance(d.get("interfaces"), list) else d
print(i.get("engine"), i.get("healthy"), i.get("tc_state"), i.get("sysctls_set", {}).get("tcp_syncookies_was"))' "$st" 2>/dev/null)
[ "$eng" = "kernel True none 1" ] || REASONS+=("status: engine healthy tc_state tcp_syncookies_was = '$eng', want 'kernel True none 1' ($(cat "$TMP/status.err"))")
[ -n "$(tc -n "$SNS" filter show dev "$SIF" ingress 2>/dev/null)" ] &&
	REASONS+=("a TC filter on $SIF: the kernel engine has none")
check attach_kernel_engine

# ---- 2. connects through kernel cookies, options of timestamp clients ----
for fam in 4 6; do
	[ $fam = 4 ] && addr=$S4 || addr=$S6
	acc0=$(server_conns)
	stats_snap "$TMP/c0"
	nstat_snap "$TMP/n0"
	capture_start "$TMP/k$fam.pcap" || REASONS+=("tcpdump did not start")
	r=$(client -i -n $N "$addr" "$P_PROT")
	capture_stop
	stats_snap "$TMP/c1"
	nstat_snap "$TMP/n1"
	want "connections ok" "$(json_get "$(echo "$r" | tail -n 1)" ok)" -eq $N
	want "connections accepted by the server" $(( $(server_conns) - acc0 )) -eq $N
	want "syn_kernel_cookie delta" "$(stat_delta "$TMP/c0" "$TMP/c1" syn_kernel_cookie)" -eq $N
	want "ack_kernel_cookie_pass delta" "$(stat_delta "$TMP/c0" "$TMP/c1" ack_kernel_cookie_pass)" -ge $N
	for c in synack_sent syn_kernel_cookie_error ack_kernel_cookie_bad cookie_ok handoff_ok; do
		want "$c delta" "$(stat_delta "$TMP/c0" "$TMP/c1" $c)" -eq 0
	done
	want "kernel SYN-ACKs in the capture" "$(pcap_count "$TMP/k$fam.pcap" synack "$P_PROT")" -eq 0
	want "nstat TcpExtSyncookiesRecv" "$(nstat_delta "$TMP/n0" "$TMP/n1" TcpExtSyncookiesRecv)" -ge $N
	want "nstat TcpExtSyncookiesFailed" "$(nstat_delta "$TMP/n0" "$TMP/n1" TcpExtSyncookiesFailed)" -eq 0
	# Every connection, both ends: timestamps, SACK and window scaling on,
	# and each end's send scale the other's receive scale.
	echo "$r" >"$TMP/client$fam.log"
	bad=$(python3 - "$TMP/server.log" "$acc0" "$TMP/client$fam.log" <<-'EOF'
		import json, sys
		srv = [json.loads(l) for l in open(sys.argv[1]) if '"role":"server"' in l][int(sys.argv[2]):]
		cli = [json.loads(l) for l in open(sys.argv[3]) if '"role":"client"' in l]
		by_port = {s["peer_port"]: s for s in srv}
		out = []
		for c in cli:
		    s = by_port.get(c["local_port"])
		    if not s:
		        out.append("no server socket for client port %d" % c["local_port"]); continue
		    for k in ("ts", "sack", "wscale"):
		        if c[k] != 1 or s[k] != 1:
		            out.append("%s client %d server %d" % (k, c[k], s[k]))
		    if c["snd_wscale"] != s["rcv_wscale"] or c["rcv_wscale"] != s["snd_wscale"]:
		        out.append("scales disagree: client snd %d rcv %d, server snd %d rcv %d" %
		                   (c["snd_wscale"], c["rcv_wscale"], s["snd_wscale"], s["rcv_wscale"]))
		if len(cli) != len(srv):
		    out.append("%d client and %d server TCP_INFO lines" % (len(cli), len(srv)))
		print("; ".join(sorted(set(out))[:4]))
	EOF
	)
	[ -n "$bad" ] && REASONS+=("$bad")
	check "connects_${N}_timestamps_ws_sack_ipv$fam"
done

# ---- 3. 1 MiB echoed intact: the scales both ends use agree ----
r=$(client -m bulk -s 1048576 "$S4" "$P_PROT")
want "bulk connection ok" "$(json_get "$r" ok)" -eq 1
want "bytes echoed intact" "$(json_get "$r" bytes)" -eq 1048576
check bulk_1MiB_through_kernel_cookie

# ---- 4. a client without timestamps: what the kernel's cookies give ----
in_c sysctl -qw net.ipv4.tcp_timestamps=0
acc0=$(server_conns)
r=$(client -i -n 5 "$S4" "$P_PROT")
in_c sysctl -qw net.ipv4.tcp_timestamps=1
want "connections ok" "$(json_get "$(echo "$r" | tail -n 1)" ok)" -eq 5
got=$(grep '"role":"server"' "$TMP/server.log" | tail -n +$((acc0 + 1)) | python3 -c 'import json,sys
print(sorted({(d["ts"], d["sack"], d["wscale"]) for d in map(json.loads, sys.stdin)}))')
[ "$got" = "[(0, 0, 0)]" ] || REASONS+=("server sockets (ts, sack, wscale): $got, want [(0, 0, 0)]")
check no_timestamps_no_ws_no_sack

# ---- 5. an ACK flood: dropped at XDP, no connection made ----
acc0=$(server_conns)
stats_snap "$TMP/a0"
nstat_snap "$TMP/an0"
timeout 20 ip netns exec "$CNS" hping3 -q -A -p "$P_PROT" -c $ACKS -i u200 "$S4" >/dev/null 2>&1
stats_snap "$TMP/a1"
nstat_snap "$TMP/an1"
want "ack_kernel_cookie_bad delta" "$(stat_delta "$TMP/a0" "$TMP/a1" ack_kernel_cookie_bad)" -eq $ACKS
want "ack_kernel_cookie_pass delta" "$(stat_delta "$TMP/a0" "$TMP/a1" ack_kernel_cookie_pass)" -eq 0
want "connections accepted" $(( $(server_conns) - acc0 )) -eq 0
want "nstat TcpPassiveOpens" "$(nstat_delta "$TMP/an0" "$TMP/an1" TcpPassiveOpens)" -eq 0
check "ack_flood_${ACKS}_no_connection"

# ---- 6. a spoofed SYN flood while a client connects ----
stats_snap "$TMP/f0"
timeout 30 ip netns exec "$CNS" hping3 -q -S -p "$P_PROT" --rand-source -c $SYNS -i u100 "$S4" \
	>/dev/null 2>&1 &
BG_PIDS+=($!)
r=$(client -n $LEGIT -t 3000 "$S4" "$P_PROT")
kill_ours "${BG_PIDS[@]}"
BG_PIDS=()
stats_snap "$TMP/f1"
want "legit connections ok during the flood" "$(json_get "$r" ok)" -eq $LEGIT
want "syn_kernel_cookie delta (flood + legit)" "$(stat_delta "$TMP/f0" "$TMP/f1" syn_kernel_cookie)" -ge $LEGIT
want "syn_kernel_cookie_error delta" "$(stat_delta "$TMP/f0" "$TMP/f1" syn_kernel_cookie_error)" -eq 0
check "syn_flood_${SYNS}_legit_$LEGIT"

# ---- 7. detach: sysctls back, nothing left, the kernel answers again ----
sg_detach || REASONS+=("synguard detach failed (output above)")
want "tcp_syncookies after detach" "$(in_s_sysctl tcp_syncookies)" -eq 1
want "tcp_timestamps after detach" "$(in_s_sysctl tcp_timestamps)" -eq 1
ip -n "$SNS" -d link show dev "$SIF" | grep -q 'prog/xdp' && REASONS+=("XDP program left on $SIF")
[ -e "$SG_BPFFS/$SIF" ] && REASONS+=("pins left")
r=$(client -n 5 "$S4" "$P_PROT")
want "connections after detach" "$(json_get "$r" ok)" -eq 5
check detach_restores_sysctls

# ---- 8. two interfaces: the sysctls go back with the last detach ----
# The first attach changes them; detaching it while the second runs the
# kernel engine too hands the record over instead of setting them back.
out=
if ip -n "$SNS" link add "$DUM" type veth peer name "${DUM}p" &&
	ip -n "$SNS" link set "$DUM" up && ip -n "$SNS" link set "${DUM}p" up &&
	out=$(sg attach "$SIF" --ports "$SG_PORTS" --engine kernel 2>&1) && SG_ATTACHED=1 &&
	out=$(sg attach "$DUM" --ports "$SG_PORTS" --mode skb --engine kernel 2>&1); then
	out=$(sg detach "$SIF" 2>&1) && SG_ATTACHED=0 || REASONS+=("detach $SIF failed: $out")
	[[ $out == *"stay as the kernel engine needs them: $DUM runs it too"* ]] ||
		REASONS+=("no message that $DUM keeps the sysctls: $out")
	want "tcp_syncookies while $DUM still runs" "$(in_s_sysctl tcp_syncookies)" -eq 2
	want "tcp_timestamps while $DUM still runs" "$(in_s_sysctl tcp_timestamps)" -eq 2
	out=$(sg detach "$DUM" 2>&1) || REASONS+=("detach $DUM failed: $out")
	want "tcp_syncookies after the last detach" "$(in_s_sysctl tcp_syncookies)" -eq 1
	want "tcp_timestamps after the last detach" "$(in_s_sysctl tcp_timestamps)" -eq 1
	check two_interfaces_last_detach_restores
else
	fail two_interfaces_last_detach_restores "cannot make $DUM or attach: $out"
fi

# ---- 9. the TC hook: TCX from Linux 6.6, clsact before ----
# The kernel engine has a TC program only for SYNPROXY (--gateway here),
# the one TC path the kernels before TCX run. The hook auto takes, and
# --tc-hook tcx refused whole where the kernel has no TCX.
IFS=. read -r kmaj kmin _ <<<"$(uname -r)"
has_tcx=0
[ $((kmaj * 100 + kmin)) -ge 606 ] && has_tcx=1
tcx_now() { in_s "$SG_ROOT/tests/lib/tcx_progs.py" "$SIF"; }
out=$(sg attach "$SIF" --ports "$SG_PORTS" --engine kernel --gateway 2>&1)
if [ $? != 0 ] && [[ $out == *"needs conntrack"* ]]; then
	skip tc_hook_auto "this kernel has no conntrack, which --gateway needs: $out"
else
	SG_ATTACHED=1
	st=$(sg status "$SIF" --json 2>&1)
	# A here-string, not < <(...): the matrix's guests have no /dev/fd.
	IFS=, read -r hook id state <<<"$(python3 -c 'import json, sys
i = json.loads(sys.argv[1])["interfaces"][0]
print(i["tc_hook"], i["tc_prog_id"], i["tc_state"], sep=",")' "$st" 2>/dev/null)"
	[ "$state" = "in place" ] || REASONS+=("tc_state '$state': $out $st")
	if [ $has_tcx = 1 ]; then
		[ "$hook" = tcx ] || REASONS+=("Linux $kmaj.$kmin: hook '$hook', want tcx")
		[ "$(tcx_now)" = "$id" ] || REASONS+=("TCX ingress runs '$(tcx_now)', not $id")
	else
		[ "$hook" = clsact ] || REASONS+=("Linux $kmaj.$kmin: hook '$hook', want clsact")
		in_s tc filter show dev "$SIF" ingress | grep -q "synguard_tc.* id $id " ||
			REASONS+=("no clsact filter of program $id: $(in_s tc filter show dev "$SIF" ingress)")
	fi
	out=$(sg detach "$SIF" 2>&1) && SG_ATTACHED=0 || REASONS+=("detach failed: $out")
	[ -n "$(tcx_now)" ] && REASONS+=("TCX programs left: $(tcx_now)")
	in_s tc qdisc show dev "$SIF" | grep -q clsact && REASONS+=("clsact left")
	check tc_hook_auto
	out=$(sg attach "$SIF" --ports "$SG_PORTS" --engine kernel --gateway --tc-hook tcx 2>&1)
	rc=$?
	if [ $has_tcx = 1 ]; then
		[ $rc = 0 ] && SG_ATTACHED=1 || REASONS+=("--tc-hook tcx refused: $out")
		[ "$(tcx_now)" ] || REASONS+=("--tc-hook tcx: no TCX program")
		out=$(sg detach "$SIF" 2>&1) && SG_ATTACHED=0 || REASONS+=("detach failed: $out")
	else
		want "--tc-hook tcx without TCX: exit" "$rc" -eq 1
		[[ $out == *"this kernel has no TCX (Linux 6.6 and later)"* ]] || REASONS+=("not explained: $out")
		[ -e "$SG_BPFFS/$SIF" ] && REASONS+=("pins left after the refusal")
		ip -n "$SNS" -d link show dev "$SIF" | grep -q 'prog/xdp' && REASONS+=("XDP left after the refusal")
	fi
	want "tcp_syncookies after detach" "$(in_s_sysctl tcp_syncookies)" -eq 1
	check tc_hook_tcx
fi

finish

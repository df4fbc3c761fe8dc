#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Option fidelity of the handoff: for every combination of the
# client's tcp_timestamps, tcp_window_scaling, tcp_sack and tcp_ecn, over
# IPv4 and IPv6, the server-side socket that synguard handed to the kernel
# negotiated exactly what the client offered (ECN: granted when synguard's
# ecn setting is on, the default), both ends agree on it, and the server's
# MSS is the cookie table's entry at or below the client's MSS. Without
# timestamps the cookie has no room for ECN (not granted) and keeps the
# client's window scale rounded down to its table (SG_WS_TABLE_* in
# include/synguard.h): the server reads the client's window as smaller.
#
# What each side negotiated comes from TCP_INFO (tcp_echo -i on the server,
# tcp_client -i on the client). The client's MSS is set per destination with
# the route's advmss, cycling through values on, just above and below the
# table entries (include/synguard.h). The server's send MSS is then
#   min(table entry, path MTU - IP and TCP headers) - 12 if timestamps,
# the kernel's tcp_sync_mss(), and the entry itself is reported as peer_mss
# whenever the path MTU is not the smaller bound. The client's own advmss
# (its announced MSS, less 12 once timestamps are on) shows the route's
# advmss took effect.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# Cookie MSS tables (include/synguard.h SG_MSS4_TABLE, SG_MSS6_TABLE).
# shellcheck disable=SC2034 # read through a nameref in table_entry
MSS4=(536 1300 1440 1460)
# shellcheck disable=SC2034
MSS6=(1220 1420 1440 8940)
# Client MSS (route advmss), one per combination, cycled.
ADV4=(1460 1459 1440 1439 1300 1299 600 536)
ADV6=(1440 1439 1420 1419 1300 1220 1440 1421)

topo_setup
server_start
if ! sg_attach; then
	fail attach "synguard attach failed (output above): every case needs it"
	finish
fi

# The client's ECN request is granted when synguard's config says ecn on
# (the default): read it back from status.
SG_ECN=$(sg status "$SIF" --json 2>/dev/null | python3 -c 'import json,sys
d = json.load(sys.stdin)
i = d["interfaces"][0] if "interfaces" in d else d
print(int(bool(i.get("config", {}).get("ecn", True))))' 2>/dev/null)
echo "# synguard ecn: ${SG_ECN:=1}"

# table_entry FAMILY MSS: the largest table entry not above MSS.
table_entry() {
	local -n t=MSS$1
	local e best=${t[0]}
	for e in "${t[@]}"; do
		[ "$e" -le "$2" ] && best=$e
	done
	echo "$best"
}

# compare EXPECTATIONS CLIENT_JSON SERVER_JSON: prints one reason a line
# for every expectation "side.field=value" that does not hold; a value
# "@client.field" means equal to that field of the client.
compare() {
	python3 - "$@" <<-'EOF'
		import json, sys
		exp, c, s = sys.argv[1], sys.argv[2], sys.argv[3]
		try:
		    side = {"client": json.loads(c), "server": json.loads(s)}
		except Exception:
		    print("no TCP_INFO: client %r server %r" % (c, s))
		    sys.exit()
		for e in exp.split():
		    k, v = e.split("=", 1)
		    who, f = k.split(".")
		    seen = side[who].get(f)
		    if v.startswith("@"):
		        w, g = v[1:].split(".")
		        # "@side.field/0,7,8": that field rounded down to the table
		        g, _, tab = g.partition("/")
		        want = side[w].get(g)
		        if tab and want is not None:
		            want = max(t for t in map(int, tab.split(",")) if t <= want)
		        want, v = want, "%s (%s)" % (want, v[1:])
		    else:
		        want = None if v == "null" else int(v)
		    if seen != want:
		        print("%s seen %s wanted %s" % (k, seen, v))
	EOF
}

# The window scales a cookie without timestamps can carry.
WS_TABLE=$(awk '$1 == "#define" && $2 ~ /^SG_WS_TABLE_[0-9]$/ { printf "%s%s", s, $3; s = "," }' "$SG_ROOT/include/synguard.h")
echo "# window scale table without timestamps: $WS_TABLE"

stats_snap "$TMP/s0"
n=0
for fam in 4 6; do
	if [ $fam = 4 ]; then
		addr=$S4 host=$S4/32 hdr=40 ip=(-4)
		local_adv=("${ADV4[@]}")
	else
		addr=$S6 host=$S6/128 hdr=60 ip=(-6)
		local_adv=("${ADV6[@]}")
	fi
	i=0
	for ts in 0 1; do
	for ws in 0 1; do
	for sack in 0 1; do
	for ecn in 0 1; do
		adv=${local_adv[$((i % ${#local_adv[@]}))]}
		i=$((i + 1))
		name="options_ipv${fam}_ts${ts}_ws${ws}_sack${sack}_ecn${ecn}_mss${adv}"
		in_c sysctl -qw net.ipv4.tcp_timestamps=$ts \
			net.ipv4.tcp_window_scaling=$ws net.ipv4.tcp_sack=$sack \
			net.ipv4.tcp_ecn=$ecn
		ip -n "$CNS" "${ip[@]}" route replace "$host" dev "$CIF" advmss "$adv"
		out=$(client -i -n 1 "$addr" "$P_PROT") && n=$((n + 1))
		cinfo=$(grep '"role":"client"' <<<"$out")
		sinfo=$(grep '"role":"server"' "$TMP/server.log" | tail -n 1)
		if ! grep -q "\"peer_port\":$(json_get "$cinfo" local_port)," <<<"$sinfo"; then
			REASONS+=("the server printed nothing for this connection: $(tail -n 1 <<<"$out")")
			check "$name"
			continue
		fi
		entry=$(table_entry $fam "$adv")
		pmtu=$(json_get "$sinfo" pmtu)
		mss=$entry
		[ $((pmtu - hdr)) -lt "$mss" ] && mss=$((pmtu - hdr))
		peer=$entry
		[ $((pmtu - hdr)) -le "$entry" ] && peer=null
		exp="client.ts=$ts server.ts=$ts client.sack=$sack server.sack=$sack"
		exp="$exp client.wscale=$ws server.wscale=$ws client.ecn=$((ecn & SG_ECN & ts)) server.ecn=$((ecn & SG_ECN & ts))"
		exp="$exp client.advmss=$((adv - ts * 12)) server.snd_mss=$((mss - ts * 12)) server.peer_mss=$peer"
		if [ $ws = 1 ] && [ $ts = 1 ]; then
			exp="$exp server.snd_wscale=@client.rcv_wscale server.rcv_wscale=@client.snd_wscale"
		elif [ $ws = 1 ]; then
			exp="$exp server.snd_wscale=@client.rcv_wscale/$WS_TABLE server.rcv_wscale=@client.snd_wscale"
		else
			exp="$exp server.snd_wscale=0 server.rcv_wscale=0 client.snd_wscale=0"
		fi
		while read -r line; do
			[ -n "$line" ] && REASONS+=("$line")
		done < <(compare "$exp" "$cinfo" "$sinfo")
		check "$name"
	done
	done
	done
	done
done
stats_snap "$TMP/s1"
want "synack_sent delta" "$(stat_delta "$TMP/s0" "$TMP/s1" synack_sent)" -eq $n
want "handoff_ok delta" "$(stat_delta "$TMP/s0" "$TMP/s1" handoff_ok)" -eq $n
check options_all_through_cookie_path

finish

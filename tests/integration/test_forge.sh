#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Cookie forgery end to end: a spoofed SYN flood (so cookies keep going
# out) and a spoofed random-ACK flood at the protected port together, for
# FORGE_SECS seconds, while a client makes real connections. Every ACK
# synguard accepts becomes a connection of the server's kernel, so
#   TcpPassiveOpens - the client's connections
# are the forged ones. They must stay within the bound for the ACKs that
# reached the cookie check: 2^-25 each (hping3's ACKs carry no timestamp
# option, the weaker variant; one key, no wscale change: include/synguard.h,
# doc/design.md "Forging a cookie"), within a Poisson tail of 10^-5.
#
# hping3 honours only time in --flood mode: every flooder runs under
# `timeout` and is killed by PID when the script ends.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# Names of this suite's own, so it can run next to the others.
suite_names ck

FORGE_SECS=${FORGE_SECS:-30}
NCPU=$(nproc)
# Bits of MAC a random ACK without timestamps must match (the cookie's
# 25; the format is in include/synguard.h).
MAC_BITS=$(awk '$1 == "#define" && $2 == "SG_COOKIE_MAC_BITS" { print $3 }' \
	"$SG_ROOT/include/synguard.h")

topo_setup
server_start
if ! sg_attach; then
	fail attach "synguard attach failed (output above): every case needs it"
	finish
fi

# One SYN flooder, and an ACK flooder per core: the ACKs are what counts.
# The SYNs start first, so that every ACK arrives while cookies are out.
PIDS=()
flood() {
	ip netns exec "$CNS" timeout "$1" hping3 --flood --rand-source "$2" \
		-p "$P_PROT" "$S4" >/dev/null 2>&1 &
	PIDS+=($!)
	BG_PIDS+=($!)
}
flood $((FORGE_SECS + 2)) -S
sleep 1
stats_snap "$TMP/s0"
nstat_snap "$TMP/n0"
for _ in $(seq "$NCPU"); do
	flood "$FORGE_SECS" -A
done
# Real clients in the middle of it, one every half second until 8 s
# before the flood ends (a client may wait for a retransmission).
end=$((SECONDS + FORGE_SECS - 8))
tries=0
legit=0
sleep 1
while [ $SECONDS -lt $end ]; do
	r=$(client -n 1 "$S4" "$P_PROT")
	tries=$((tries + 1))
	[[ $r == *'"ok":1,'* ]] && legit=$((legit + 1))
	sleep 0.5
done
alive=0
for p in "${PIDS[@]}"; do
	pid_alive "$p" && alive=$((alive + 1))
done
wait "${PIDS[@]}" 2>/dev/null
sleep 1
stats_snap "$TMP/s1"
nstat_snap "$TMP/n1"

checked=0
for c in cookie_ok cookie_bad cookie_expired; do
	d=$(stat_delta "$TMP/s0" "$TMP/s1" $c)
	[ "$d" = missing ] && d=0
	checked=$((checked + d))
done
ok_d=$(stat_delta "$TMP/s0" "$TMP/s1" cookie_ok)
synacks=$(stat_delta "$TMP/s0" "$TMP/s1" synack_sent)
none=$(stat_delta "$TMP/s0" "$TMP/s1" cookie_none_issued)
opens=$(nstat_delta "$TMP/n0" "$TMP/n1" TcpPassiveOpens)
forged=$((opens - legit))
# Poisson: the mean, and the most a sound cookie gives by chance (a tail
# of 10^-5; mean + 3 sigma would fail on one forged connection when the
# mean is 0.02, about one run in 50).
# A here-string, not < <(...): the matrix's guests have no /dev/fd.
read -r mean limit <<<"$(python3 -c "
import math
m = $checked / 2**$MAC_BITS
k, p = 0, math.exp(-m)
cdf = p
while 1 - cdf > 1e-5:
    k += 1
    p *= m / k
    cdf += p
print('%.4f %d' % (m, k))")"
echo "# $FORGE_SECS s: synack_sent +$synacks, ACKs checked $checked (cookie_ok +$ok_d), legit connections $legit/$tries, TcpPassiveOpens +$opens: forged $forged; expected $mean, allowed $limit"

want "flooders running while the clients ran" "$alive" -eq $((NCPU + 1))
want "cookies went out (synack_sent)" "$synacks" -ge $((FORGE_SECS * 5000))
want "no ACK refused unhashed (cookie_none_issued)" "$none" -eq 0
want "random ACKs checked" "$checked" -ge $((FORGE_SECS * 5000))
want "legit connections made" "$tries" -ge 10
want "legit connections" "$legit" -eq "$tries"
want "forged connections (TcpPassiveOpens beyond the legit ones)" "$forged" -le "$limit"
want "forged connections not negative" "$forged" -ge 0
check forged_connections_within_bound

finish

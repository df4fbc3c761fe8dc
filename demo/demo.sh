#!/usr/bin/env bash
# `make demo`: synguard protecting a server from a SYN flood, in throwaway
# network namespaces. A client namespace and a server namespace joined by
# veth (tests/integration/lib.sh builds it, documentation addresses only),
# an echo server on port 80, synguard on the server's interface, a real
# client connecting in a loop and hping3 flooding from spoofed sources,
# everything bounded in time. Live rates every second, then a summary.
# Everything it made is removed on exit, also on Ctrl-C.
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

SECONDS_TOTAL=${DEMO_SECONDS:-20}
QUIET=3 # seconds of ordinary traffic before the flood starts
NFLOOD=$(nproc)

topo_setup
server_start
echo "== synguard attach $SIF --ports $P_PROT (server namespace $SNS)"
if ! sg attach "$SIF" --ports "$P_PROT"; then
	echo "attach failed"
	exit 1
fi
# lib.sh's cleanup detaches when this is set.
# shellcheck disable=SC2034
SG_ATTACHED=1
sg status "$SIF"
nstat_snap "$TMP/n0"
stats_snap "$TMP/s0"

# The legitimate client: one connect, 1-byte request and reply, in batches
# of 50, until the demo's time is up. Each batch prints one JSON summary.
(
	end=$((SECONDS + SECONDS_TOTAL))
	while [ "$SECONDS" -lt "$end" ]; do
		ip netns exec "$CNS" "$BUILD/tcp_client" -m rr -n 50 -t 1000 \
			"$S4" "$P_PROT" 2>>"$TMP/client.err"
	done
) >"$TMP/client.json" &
CLIENT_PID=$!
BG_PIDS+=("$CLIENT_PID")

# The flood: SYNs from random spoofed sources, one hping3 per core, each
# bounded by timeout (hping3 ignores -c with --flood).
(
	sleep "$QUIET"
	for _ in $(seq "$NFLOOD"); do
		timeout $((SECONDS_TOTAL - QUIET)) ip netns exec "$CNS" \
			hping3 -q -S --flood --rand-source -p "$P_PROT" "$S4" \
			>/dev/null 2>&1 &
	done
	wait
) &
BG_PIDS+=("$!")

echo "== live rates per second: ordinary traffic for ${QUIET}s, then a SYN flood" \
	"from $NFLOOD hping3 (random sources)"
# One line a second from `synguard stats --json --interval 1`.
sg stats "$SIF" --interval 1 --count "$SECONDS_TOTAL" --json |
	python3 -u -c '
import json, sys
cols = [("SYN/s", ["syn_received"]),
        ("SYN-ACK/s", ["synack_sent"]),
        ("to kernel/s", ["syn_disengaged_pass"]),
        ("handoffs/s", ["handoff_ok"]),
        ("ACK drops/s", ["cookie_bad", "cookie_expired"]),
        ("established/s", ["ack_established_pass"])]
print("  ".join(["  time"] + ["%13s" % c for c, _ in cols]))
t0 = None
for line in sys.stdin:
    o = json.loads(line)
    r = next(iter(o["interfaces"].values()))["rates"]
    t0 = t0 or o["time"]
    print("  ".join(["%5.0fs" % (o["time"] - t0 + o["interval"])] +
                    ["%13.0f" % sum(r[k] for k in ks) for _, ks in cols]))
'
wait "$CLIENT_PID" 2>/dev/null
nstat_snap "$TMP/n1"
stats_snap "$TMP/s1"

# Sum the batches; latency percentiles from the batches' own.
read -r ok_n fail_n p50 p99 < <(python3 - "$TMP/client.json" <<'PY'
import json, sys
ok = failed = 0
p50 = []
p99 = []
for line in open(sys.argv[1]):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    ok += r.get("ok", 0)
    failed += r.get("fail", 0)
    if "p50_us" in r:
        p50.append(r["p50_us"])
        p99.append(r["p99_us"])
med = lambda v: sorted(v)[len(v) // 2] if v else "?"
print(ok, failed, med(p50), max(p99) if p99 else "?")
PY
)
echo
echo "== summary"
printf '  %-50s %s\n' \
	"SYNs answered at XDP (cookie SYN-ACKs)" "$(stat_delta "$TMP/s0" "$TMP/s1" synack_sent)" \
	"invalid ACKs dropped at XDP" "$(stat_delta "$TMP/s0" "$TMP/s1" cookie_bad)" \
	"clients handed to the kernel (handoff_ok)" "$(stat_delta "$TMP/s0" "$TMP/s1" handoff_ok)" \
	"SYNs the kernel answered itself" "$(stat_delta "$TMP/s0" "$TMP/s1" syn_disengaged_pass)" \
	"legit connects succeeded / attempted" "$ok_n / $((ok_n + fail_n))" \
	"legit connect+reply median p50 / worst p99 (us)" "$p50 / $p99" \
	"server SYN queue overflows (ListenOverflows)" "$(nstat_delta "$TMP/n0" "$TMP/n1" TcpExtListenOverflows)" \
	"server listen drops (ListenDrops)" "$(nstat_delta "$TMP/n0" "$TMP/n1" TcpExtListenDrops)" \
	"kernel syncookies sent (SyncookiesSent)" "$(nstat_delta "$TMP/n0" "$TMP/n1" TcpExtSyncookiesSent)"
echo "== cleaning up"

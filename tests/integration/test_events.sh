#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The attack events of `synguard run`, in the namespaces of lib.sh, during
# real floods: one JSON line each on stdout (--log-format json), and the
# --on-event command run with the event in its environment.
#
#   events_cookies        a SYN flood over syn_rate_on: cookies_engaged with
#                         the rates; after it and hold_time, the next SYN:
#                         cookies_disengaged
#   events_src_limit      one source over src_syn_rate: src_limit_start
#                         naming it, then src_limit_stop when it stops
#   events_ack_flood      random ACKs over --ack-flood-rate: ack_flood_start,
#                         then ack_flood_stop
#   events_hook           the command ran for each, with SYNGUARD_* set
#   events_run_stops      SIGTERM: exit 0, detached
#
# Floods are paced (-i) and bounded by `timeout` and a count.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

SPOOF=203.0.113.20

topo_setup
server_start

HOOKS=$TMP/hooks
mkdir -p "$HOOKS"
# The hook writes its SYNGUARD_* variables to a file named by the event.
nsenter --net="/var/run/netns/$SNS" "$SYNGUARD" run "$SIF" --ports "$SG_PORTS" --mode native \
	--cookies auto --syn-rate-on 1500 --syn-rate-off 600 --hold-time 2 \
	--log-format json --ack-flood-rate 1000 \
	--on-event "env | grep ^SYNGUARD_ | sort > $HOOKS/\$SYNGUARD_EVENT" \
	>"$TMP/run.out" 2>"$TMP/run.err" &
RUN_PID=$!
BG_PIDS+=("$RUN_PID")
SG_ATTACHED=1
for _ in $(seq 100); do
	grep -q 'protected until' "$TMP/run.out" && break
	sleep 0.1
done
if ! grep -q 'protected until' "$TMP/run.out"; then
	fail run "synguard run did not start: $(cat "$TMP/run.out" "$TMP/run.err")"
	finish
fi

# events NAME: the JSON event lines of that name so far.
events() { grep "\"event\":\"$1\"" "$TMP/run.out"; }

# wait_event NAME SECONDS: until a line of that event appears.
wait_event() {
	local i
	for i in $(seq $(($2 * 10))); do
		events "$1" >/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# field LINE KEY
field() { json_get "$1" "$2"; }

# flood SECONDS COUNT HPING_ARGS...: a paced hping3, waited for.
flood() {
	local secs=$1 count=$2 pid
	shift 2
	ip netns exec "$CNS" timeout "$secs" hping3 -q -c "$count" "$@" >/dev/null 2>&1 &
	pid=$!
	BG_PIDS+=("$pid")
	wait "$pid" 2>/dev/null
}

# ---- cookies engage and disengage ----
stats_snap "$TMP/c0"
flood 4 15000 -S -i u200 -p "$P_PROT" -a "$SPOOF" "$S4"
stats_snap "$TMP/c1"
wait_event cookies_engaged 2 ||
	REASONS+=("no cookies_engaged event (counters: syn_received +$(stat_delta "$TMP/c0" "$TMP/c1" syn_received), cookies_engaged +$(stat_delta "$TMP/c0" "$TMP/c1" cookies_engaged)): $(cat "$TMP/run.out" "$TMP/run.err")")
e=$(events cookies_engaged | head -n 1)
want "cookies_engaged: syn_rate" "$(field "$e" syn_rate)" -ge 1500
want "cookies_engaged: answered_per_s" "$(field "$e" answered_per_s)" -gt 0
[ "$(field "$e" iface)" = "$SIF" ] || REASONS+=("cookies_engaged: iface '$(field "$e" iface)'")
# The state moves only when SYNs arrive: one connect after the hold time.
sleep 3
client -n 1 "$S4" "$P_PROT" >/dev/null
wait_event cookies_disengaged 3 || REASONS+=("no cookies_disengaged event after the hold time")
want "cookies_engaged events" "$(events cookies_engaged | wc -l)" -eq 1
check events_cookies

# ---- a source over its limit ----
if out=$(sg config "$SIF" src_syn_rate=50 src_syn_burst=5 cookies=always 2>&1); then
	flood 3 6000 -S -i u500 -p "$P_PROT" -a "$SPOOF" "$S4"
	wait_event src_limit_start 2 || REASONS+=("no src_limit_start event")
	e=$(events src_limit_start | head -n 1)
	want "src_limit_start: src_limited_per_s" "$(field "$e" src_limited_per_s)" -gt 0
	# The flooding source, and only it: nothing else sent SYNs.
	[ "$(field "$e" sources)" = "[\"$SPOOF/32 syn\"]" ] ||
		REASONS+=("src_limit_start: sources '$(field "$e" sources)', wanted [\"$SPOOF/32 syn\"]")
	wait_event src_limit_stop 3 || REASONS+=("no src_limit_stop event after the flood")
else
	REASONS+=("config: $out")
fi
check events_src_limit

# ---- an ACK flood ----
flood 3 9000 -A -i u300 -p "$P_PROT" -a "$SPOOF" "$S4"
wait_event ack_flood_start 2 || REASONS+=("no ack_flood_start event")
e=$(events ack_flood_start | head -n 1)
want "ack_flood_start: bad_acks_per_s" "$(field "$e" bad_acks_per_s)" -ge 1000
wait_event ack_flood_stop 3 || REASONS+=("no ack_flood_stop event after the flood")
check events_ack_flood

# ---- the hook ran for each, with the event in its environment ----
sleep 0.5
for ev in cookies_engaged cookies_disengaged src_limit_start src_limit_stop ack_flood_start ack_flood_stop; do
	f=$HOOKS/$ev
	if [ ! -s "$f" ]; then
		REASONS+=("no hook run for $ev ($(cat "$TMP/run.err"))")
		continue
	fi
	grep -qx "SYNGUARD_EVENT=$ev" "$f" || REASONS+=("$ev: SYNGUARD_EVENT missing: $(tr '\n' ' ' <"$f")")
	grep -qx "SYNGUARD_IFACE=$SIF" "$f" || REASONS+=("$ev: SYNGUARD_IFACE missing")
	grep -q '^SYNGUARD_SYN_RATE=[0-9]' "$f" || REASONS+=("$ev: SYNGUARD_SYN_RATE missing")
done
check events_hook

kill -TERM "$RUN_PID"
wait "$RUN_PID"
rc=$?
SG_ATTACHED=0
want "run's exit code after SIGTERM" "$rc" -eq 0
[ -e "$SG_BPFFS/$SIF" ] && REASONS+=("pins left")
check events_run_stops

finish

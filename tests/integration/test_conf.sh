#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The config file of `synguard run` (key = value, list files), reload and
# SIGHUP, --save, and a restart that leaves no gap, in the namespaces of
# lib.sh:
#
#   conf_run_loads      run --config FILE: status shows the file's mss4, the
#                       allow and deny lists are the files'
#   conf_reload         reload IFACE: applied by run (pid ...), the same XDP
#                       program, the lists as a diff; run was started with
#                       SIGHUP ignored, as nohup starts it
#   conf_bad_*          an unknown key, a bad value, a missing list file, a
#                       bad CIDR at line N, an attach-only key changed:
#                       exit 2, "FILE:N:", mss4 unchanged
#   conf_sighup         kill -HUP run: the same as reload; a bad file is
#                       refused in run's log by FILE:LINE, run goes on
#   conf_old_format     SYNGUARD_ARGS= refused, naming the new format
#   conf_save           allow add/del --save: the list file follows, with
#                       its comments; a run started again finds it
#   conf_restart_gap    the unit's restart (the stop while systemctl says
#                       "restart", then ExecStart again): the next run
#                       adopts; SYNs every 5 ms meanwhile: 0 SYN-ACKs from
#                       the kernel, the same XDP program, carrier_changes
#                       unchanged
#   conf_stop_detaches  a plain stop then start: detached in between, and
#                       the kernel answered SYNs (the measurement sees a gap
#                       when there is one)
#   conf_reload_no_run  reload of what attach protected: through the pins
#   conf_reload_key     key_file: the key in use left, a new key made
#                       current, a second new key at once refused whole
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
suite_names sgcf

topo_setup
server_start
# run makes /run/synguard: removed at the end if this run made it.
[ -d /run/synguard ] && RUNDIR_MADE=0 || RUNDIR_MADE=1
conf_finish() {
	rm -f "/run/synguard/$SIF.pid" "/run/synguard/$SIF.handover"
	[ "$RUNDIR_MADE" = 1 ] && rmdir /run/synguard 2>/dev/null
	finish
}

CONF=$TMP/$SIF.conf
RUN_PID=

# conf MSS4: the config, with that mss4.
conf() {
	printf '%s\n' '# synguard test config' 'ports = 80,443' \
		'cookies = always   # answer every SYN' "mss4 = $1" \
		'allow_file = allow.list' 'deny_file = deny.list' >"$CONF"
}
printf '# trusted\n198.51.100.0/24\n' >"$TMP/allow.list"
printf '203.0.113.7\n' >"$TMP/deny.list"

# run_start [ENV...]: synguard run in the background, until its PID file.
# With HUP_IGNORED=1, started as nohup starts it (SIGHUP ignored): reload
# and SIGHUP must reach it all the same.
HUP_IGNORED=0
run_start() {
	(
		[ "$HUP_IGNORED" = 1 ] && trap '' HUP
		exec env "$@" nsenter --net="/var/run/netns/$SNS" "$SYNGUARD" \
			run "$SIF" --config "$CONF" >>"$TMP/run.out" 2>>"$TMP/run.err"
	) &
	RUN_PID=$!
	BG_PIDS+=("$RUN_PID")
	SG_ATTACHED=1
	for _ in $(seq 200); do
		[ "$(cat "/run/synguard/$SIF.pid" 2>/dev/null)" = "$RUN_PID" ] && return 0
		pid_alive "$RUN_PID" || break
		sleep 0.02
	done
	echo "# run did not start: $(cat "$TMP/run.out" "$TMP/run.err")"
	return 1
}

# run_stop: SIGTERM, waited for; returns run's exit code.
run_stop() {
	local rc
	kill -TERM "$RUN_PID"
	wait "$RUN_PID"
	rc=$?
	RUN_PID=
	return $rc
}

# status_get KEY: a number or word of `status --json`.
status_get() {
	sg status "$SIF" --json 2>/dev/null | grep -o "\"$1\": *[0-9a-z\"]*" |
		head -n 1 | sed 's/.*: *//; s/"//g'
}

# lists allow|deny: the list on one line (its "is empty" note too, but not
# a wait for the lock, which another synguard command may hold).
lists() { sg "$1" "$SIF" list 2>&1 | grep -v 'waiting for another' | tr '\n' ' '; }

conf 1400
# The first run, through conf_sighup, is started the way nohup starts it.
HUP_IGNORED=1
run_start || { fail conf_run_loads "no run"; conf_finish; }
grep -q '^SigIgn:.*[13579bdf]$' "/proc/$RUN_PID/status" ||
	REASONS+=("run was not started with SIGHUP ignored: $(grep SigIgn "/proc/$RUN_PID/status")")
HUP_IGNORED=0
want "mss4" "$(status_get mss4)" -eq 1400
PROG=$(status_get xdp_prog_id)
[ "$(lists allow)" = "198.51.100.0/24 " ] || REASONS+=("allow list: $(lists allow)")
[ "$(lists deny)" = "203.0.113.7/32 " ] || REASONS+=("deny list: $(lists deny)")
check conf_run_loads

# ---- reload ----
conf 1300
printf '198.51.100.0/24\n192.0.2.128/25\n' >"$TMP/allow.list"
: >"$TMP/deny.list"
out=$(sg reload "$SIF" --config "$CONF" 2>&1)
want "reload exit" "$?" -eq 0
[[ $out == *"reloaded by run (pid $RUN_PID)"* ]] || REASONS+=("reload said: $out")
want "mss4" "$(status_get mss4)" -eq 1300
want "xdp_prog_id" "$(status_get xdp_prog_id)" -eq "$PROG"
[ "$(lists allow)" = "192.0.2.128/25 198.51.100.0/24 " ] || REASONS+=("allow list: $(lists allow)")
[[ $(lists deny) == *"is empty"* ]] || REASONS+=("deny list: $(lists deny)")
grep -q "the allow list is $TMP/allow.list: 2 entries (1 added, 0 removed)" "$TMP/run.out" ||
	REASONS+=("run's log: $(tail -n 3 "$TMP/run.out")")
check conf_reload

# bad NAME FILE LINE WHAT: the config as it is now is refused, naming
# FILE:LINE, and mss4 stays 1300.
bad() {
	local out rc
	out=$(sg reload "$SIF" --config "$CONF" 2>&1)
	rc=$?
	want "exit" "$rc" -eq 2
	[[ $out == *"$2:$3: "*"$4"* ]] || REASONS+=("said: $out")
	want "mss4 kept" "$(status_get mss4)" -eq 1300
	[ "$(lists allow)" = "192.0.2.128/25 198.51.100.0/24 " ] || REASONS+=("allow list changed: $(lists allow)")
	check "conf_bad_$1"
}
conf 1200
sed -i '3a frobnicate = 1' "$CONF"
bad unknown_key "$CONF" 4 "unknown key 'frobnicate'"
conf 99999
bad value "$CONF" 4 "invalid mss4 99999: out of range"
conf 1200
sed -i 's/^allow_file = .*/allow_file = missing.list/' "$CONF"
bad missing_list "$CONF" 5 "cannot read it"
conf 1200
printf '198.51.100.0/24\n198.51.100.1/24\n' >"$TMP/allow.list"
bad cidr "$TMP/allow.list" 2 "host bits set"
printf '198.51.100.0/24\n192.0.2.128/25\n' >"$TMP/allow.list"
conf 1200
echo 'mode = skb' >>"$CONF"
bad attach_only "$CONF" 7 "mode differs"
# The TC hook too: the other one than run took (tcx where the kernel has
# it), while auto, which took it, is no change.
hook=$(status_get tc_hook)
conf 1200
echo "tc_hook = $([ "$hook" = tcx ] && echo clsact || echo tcx)" >>"$CONF"
bad attach_only_tc_hook "$CONF" 7 "tc-hook differs from what $SIF runs with (tc-hook $hook)"

# ---- SIGHUP ----
conf 1220
kill -HUP "$RUN_PID"
for _ in $(seq 50); do
	[ "$(status_get mss4)" = 1220 ] && break
	sleep 0.1
done
want "mss4 after SIGHUP" "$(status_get mss4)" -eq 1220
want "xdp_prog_id" "$(status_get xdp_prog_id)" -eq "$PROG"
pid_alive "$RUN_PID" || REASONS+=("run exited on SIGHUP")
# A bad file on SIGHUP: refused in run's log, by line; run goes on.
conf 1230
echo 'bogus = 1' >>"$CONF"
kill -HUP "$RUN_PID"
for _ in $(seq 50); do
	grep -q "$CONF:7: unknown key 'bogus'" "$TMP/run.err" && break
	sleep 0.1
done
grep -q "$CONF:7: unknown key 'bogus'" "$TMP/run.err" || REASONS+=("run's log: $(tail -n 3 "$TMP/run.err")")
want "mss4 after a bad SIGHUP" "$(status_get mss4)" -eq 1220
pid_alive "$RUN_PID" || REASONS+=("run exited on a bad SIGHUP")
check conf_sighup
conf 1220

printf 'SYNGUARD_ARGS="--ports 80"\n' >"$TMP/old.conf"
out=$(sg reload "$SIF" --config "$TMP/old.conf" 2>&1)
want "exit" "$?" -eq 2
[[ $out == *"old.conf:1: SYNGUARD_ARGS= is the old format"*"key = value"* ]] || REASONS+=("said: $out")
check conf_old_format

# ---- --save ----
printf '# trusted\n198.51.100.0/24 # office\n192.0.2.128/25\n' >"$TMP/allow.list"
out=$(sg allow "$SIF" add 203.0.113.0/24 --save --config "$CONF" 2>&1)
want "add --save exit" "$?" -eq 0
out+=$(sg allow "$SIF" del 192.0.2.128/25 --save --config "$CONF" 2>&1)
want "del --save exit" "$?" -eq 0
want="# trusted|198.51.100.0/24 # office|203.0.113.0/24|"
[ "$(tr '\n' '|' <"$TMP/allow.list")" = "$want" ] ||
	REASONS+=("allow.list: $(tr '\n' '|' <"$TMP/allow.list") ($out)")
sed -i '/^deny_file/d' "$CONF"
out=$(sg deny "$SIF" add 203.0.113.9 --save --config "$CONF" 2>&1)
want "deny --save with no deny_file: exit" "$?" -eq 2
[[ $out == *"names no deny_file"* ]] || REASONS+=("deny --save said: $out")
[[ $(lists deny) == *"is empty"* ]] || REASONS+=("deny list changed: $(lists deny)")
conf 1220
run_stop
run_start || REASONS+=("run did not start again")
[ "$(lists allow)" = "198.51.100.0/24 203.0.113.0/24 " ] || REASONS+=("allow list after a restart: $(lists allow)")
check conf_save

# ---- the restart gap ----
# systemd is not PID 1 here: a stand-in systemctl answers as systemd's
# does while it restarts the unit (list-jobs: its job, of type restart),
# and the test runs the unit's ExecStart and stop as systemd would.
UNIT=synguard@$SIF.service
mkdir -p "$TMP/bin"
# shellcheck disable=SC2016 # $1 and $4 are the stand-in's own
printf '#!/bin/sh\n[ "$1" = list-jobs ] && [ "$4" = %s ] && echo "42 %s restart running"\n' \
	"$UNIT" "$UNIT" >"$TMP/bin/systemctl"
chmod +x "$TMP/bin/systemctl"
run_stop
run_start PATH="$TMP/bin:$PATH" SYNGUARD_UNIT="$UNIT" || { fail conf_restart_gap "no run"; conf_finish; }
PROG=$(status_get xdp_prog_id)

# gap ENV...: SYNs every 5 ms while run stops and starts again (with
# ENV). KSYNACK: the SYN-ACKs the kernel sent meanwhile (synguard's leave
# by XDP_TX, which the capture does not see).
gap() {
	local hp
	capture_start "$TMP/gap.pcap" || return 1
	stats_snap "$TMP/g0"
	ip netns exec "$CNS" timeout 20 hping3 -q -S -i u5000 -c 3000 -p "$P_PROT" "$S4" \
		>/dev/null 2>&1 &
	hp=$!
	BG_PIDS+=("$hp")
	sleep 0.3
	run_stop
	STOP_RC=$?
	run_start "$@"
	sleep 0.3
	kill_ours "$hp"
	capture_stop
	stats_snap "$TMP/g1"
	KSYNACK=$(pcap_count "$TMP/gap.pcap" synack "$P_PROT")
	echo "# SYN-ACKs sent by the kernel during the stop and start: $KSYNACK"
}
c0=$(in_s cat "/sys/class/net/$SIF/carrier_changes")
# The run started again without the unit's variable: its stop detaches.
gap PATH="$PATH"
want "run's exit on the restart's SIGTERM" "$STOP_RC" -eq 0
grep -q "adopted the protection the last run left attached (XDP program $PROG)" "$TMP/run.out" ||
	REASONS+=("no adoption: $(tail -n 4 "$TMP/run.out") $(tail -n 4 "$TMP/run.err")")
want "SYN-ACKs the kernel sent during the restart" "$KSYNACK" -eq 0
want "SYN-ACKs synguard sent during the restart" "$(stat_delta "$TMP/g0" "$TMP/g1" synack_sent)" -ge 50
want "xdp_prog_id" "$(status_get xdp_prog_id)" -eq "$PROG"
want "carrier_changes" "$(in_s cat "/sys/class/net/$SIF/carrier_changes")" -eq "$c0"
check conf_restart_gap

# The same as systemctl stop, then start: detached in between, so the
# kernel answers SYNs: the measurement sees a gap where there is one.
gap PATH="$PATH"
want "run's exit on stop" "$STOP_RC" -eq 0
want "SYN-ACKs the kernel sent between stop and start" "$KSYNACK" -gt 0
[ "$(status_get xdp_prog_id)" != "$PROG" ] || REASONS+=("the same program after a stop: not detached")
check conf_stop_detaches

# ---- reload without a run: through the pins ----
run_stop
sg_attach --mss4 1400 >/dev/null || REASONS+=("attach failed")
conf 1360
out=$(sg reload "$SIF" --config "$CONF" 2>&1)
want "reload exit" "$?" -eq 0
[[ $out == *"reloaded $CONF"* ]] || REASONS+=("reload said: $out")
want "mss4" "$(status_get mss4)" -eq 1360
[ "$(lists allow)" = "198.51.100.0/24 203.0.113.0/24 " ] || REASONS+=("allow list: $(lists allow)")
check conf_reload_no_run

# ---- the key file: reload makes its key current, or refuses whole ----
sg_detach
(
	umask 077
	echo 00112233445566778899aabbccddeeff >"$TMP/k1"
	echo ffeeddccbbaa99887766554433221100 >"$TMP/k2"
)
# key_reload MSS4 KEYFILE: reload the config with that mss4 and key_file.
key_reload() {
	conf "$1"
	echo "key_file = $2" >>"$CONF"
	KOUT=$(sg reload "$SIF" --config "$CONF" 2>&1)
	KRC=$?
}
sg_attach --mss4 1400 --key-file "$TMP/k1" >/dev/null || REASONS+=("attach failed")
t0=$(status_get key_installed_unix)
# The key in use: nothing to do.
key_reload 1340 "$TMP/k1"
want "reload exit, the same key" "$KRC" -eq 0
[[ $KOUT != *"new key"* ]] || REASONS+=("the key in use loaded again: $KOUT")
want "key_slot" "$(status_get key_slot)" -eq 0
want "key_installed_unix" "$(status_get key_installed_unix)" -eq "$t0"
want "mss4" "$(status_get mss4)" -eq 1340
# A new key: current, the previous one kept for cookies in flight (the
# other slot was empty since attach, so no wait).
key_reload 1320 "$TMP/k2"
want "reload exit, a new key" "$KRC" -eq 0
[[ $KOUT == *"new key ($TMP/k2) is current in slot 1"* ]] || REASONS+=("reload said: $KOUT")
want "key_slot" "$(status_get key_slot)" -eq 1
want "mss4" "$(status_get mss4)" -eq 1320
# Another at once: it would end the previous key's handshakes in flight.
# Refused whole: the key and mss4 stay.
key_reload 1300 "$TMP/k1"
want "reload exit, a key too soon" "$KRC" -eq 2
[[ $KOUT == *"refusing to replace the key of $SIF"*"and reload again"* ]] || REASONS+=("reload said: $KOUT")
want "key_slot" "$(status_get key_slot)" -eq 1
want "mss4" "$(status_get mss4)" -eq 1320
check conf_reload_key
sg_detach
conf_finish

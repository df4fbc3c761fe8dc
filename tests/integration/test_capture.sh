#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Packet samples end to end (`synguard capture`, `synguard top`), in the
# namespaces of lib.sh, cookies always, during bounded hping3 bursts:
#
#   capture_syn          --what syn --count 20 during 50 spoofed SYNs: a pcap
#                        of exactly 20 SYNs, all from the sender to port 80
#   capture_dropped      --what dropped, one source deny-listed and one not:
#                        exactly 20 frames, all from the denied source
#   top_json             top --json --seconds 3 during a burst: the flooding
#                        /24 and port 80 on top, and it stops by itself
#   top_ipv6             top --what syn during IPv6 connects: 2001:db8::/64
#   two_readers          a second reader is refused, naming the first's PID
#   sigkill_lease        a reader killed with SIGKILL: the program clears
#                        its mask once the lease ran out
#   sigkill_takeover     ... and the next reader takes the samples over
#   bad_input            unknown --what, --count 0, unwritable -w, an
#                        interface not protected: exit codes and messages
#   detach_stops_reader  a reader stops (exit 1) when its interface is
#                        detached under it
#
# After every reader, the sample mask (the pinned sg_sample_ctl) is 0.
set -u
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

suite_names cp
SPOOF=203.0.113.7
DENIED=203.0.113.9
OTHER=198.51.100.5

# The pinned control word's fields, "MASK PID", through bpftool.
sample_ctl() {
	bpftool -j map dump pinned "$SG_BPFFS/$SIF/sg_sample_ctl" 2>/dev/null |
		python3 -c '
import json, sys
def find(o):
    if isinstance(o, dict):
        if "mask" in o and "pid" in o:
            return o
        for v in o.values():
            r = find(v)
            if r: return r
    if isinstance(o, list):
        for v in o:
            r = find(v)
            if r: return r
try:
    c = find(json.load(sys.stdin))
    print(c["mask"], c["pid"])
except Exception:
    print("unreadable unreadable")'
}
sample_mask() { sample_ctl | cut -d' ' -f1; }
# status --json's sampling.reader_pid; 0 for null.
status_sampling() {
	local j
	j=$(sg status "$SIF" --json 2>/dev/null)
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
i = d.get("interfaces", d)
i = i.get(sys.argv[2], i) if isinstance(i, dict) else next(x for x in i if x.get("iface") == sys.argv[2])
print((i["sampling"] or {}).get("reader_pid", 0))' "$j" "$SIF" 2>/dev/null || echo unreadable
}

# reader_start NAME ARGS...: synguard ARGS in the server's namespace, in
# the background, its output in $TMP/NAME.out and .err; nsenter execs it,
# so RPID is synguard's PID. Waits up to 5 s for it to set the mask.
reader_start() {
	local name=$1 m
	shift
	nsenter --net="/var/run/netns/$SNS" "$SYNGUARD" "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err" &
	RPID=$!
	BG_PIDS+=("$RPID")
	for _ in $(seq 50); do
		m=$(sample_mask)
		[[ $m =~ ^[0-9]+$ ]] && [ "$m" != 0 ] && return 0
		sleep 0.1
	done
	REASONS+=("$name: the mask was not set within 5 s: $(cat "$TMP/$name.err")")
}

# reader_end [STATUS]: waits up to 5 s for the reader to stop by itself
# (else stops it: a failure), then checks its exit status (0 unless
# given) and, for a reader that had an interface to leave, the mask.
reader_end() {
	for _ in $(seq 50); do pid_alive "$RPID" || break; sleep 0.1; done
	if pid_alive "$RPID"; then
		REASONS+=("the reader still ran 5 s later")
		kill -TERM "$RPID"
	fi
	wait "$RPID"
	want "reader's exit status" $? -eq "${1:-0}"
	[ $# -eq 0 ] && want "mask after the reader" "$(sample_mask)" -eq 0
}

# syns SRC COUNT: a bounded burst of SYNs to the protected port, 100/s.
syns() {
	timeout 20 ip netns exec "$CNS" hping3 -q -S -i u10000 -c "$2" -p "$P_PROT" \
		-a "$1" "$S4" >/dev/null 2>&1
}

# top_seconds FILE PREFIX: the lines of top --json whose top source is
# PREFIX, top port the protected one and top verdict synack_sent.
top_seconds() {
	python3 - "$1" "$2" "$P_PROT" <<-'EOF'
		import json, sys
		n = 0
		for line in open(sys.argv[1]):
		    d = json.loads(line)
		    if (d["samples"] > 0 and d["sources"][0]["prefix"] == sys.argv[2]
		            and d["ports"][0]["port"] == int(sys.argv[3])
		            and d["verdicts"][0]["verdict"] == "synack_sent"):
		        n += 1
		print(n)
	EOF
}

topo_setup
server_start
if ! sg_attach; then
	fail attach "synguard attach failed: every case below needs it"
	finish
fi

# ---- capture --what syn ----
reader_start syn capture "$SIF" -w "$TMP/syn.pcap" --what syn --count 20
syns "$SPOOF" 50
reader_end
want "frames in the pcap" "$(tcpdump -nn -r "$TMP/syn.pcap" 2>/dev/null | wc -l)" -eq 20
want "SYNs from $SPOOF to $S4.$P_PROT" "$(tcpdump -nn -r "$TMP/syn.pcap" 2>/dev/null |
	grep -cE "^[0-9:.]+ IP $SPOOF\\.[0-9]+ > $S4\\.$P_PROT: Flags \\[S\\],")" -eq 20
check capture_syn

# ---- capture --what dropped, one source denied ----
out=$(sg deny "$SIF" add "$DENIED/32" 2>&1) || REASONS+=("deny add: $out")
reader_start drop capture "$SIF" -w "$TMP/drop.pcap" --what dropped --count 20
syns "$OTHER" 40 &
OPID=$!
BG_PIDS+=("$OPID")
syns "$DENIED" 40
wait "$OPID"
reader_end
want "frames in the pcap" "$(tcpdump -nn -r "$TMP/drop.pcap" 2>/dev/null | wc -l)" -eq 20
want "frames from $DENIED" "$(tcpdump -nn -r "$TMP/drop.pcap" 2>/dev/null |
	grep -cE "^[0-9:.]+ IP $DENIED\\.[0-9]+ > ")" -eq 20
out=$(sg deny "$SIF" del "$DENIED/32" 2>&1) || REASONS+=("deny del: $out")
check capture_dropped

# ---- top --json ----
# top first: the burst (4 s) starts once it samples, and outlasts it. Of
# top's 3 s, the first may pass before hping3 sends on a loaded machine.
reader_start top top "$SIF" --json --seconds 3
syns "$SPOOF" 400 &
FPID=$!
BG_PIDS+=("$FPID")
reader_end
wait "$FPID"
# One line a second, for 3 s: it stopped by itself.
want "JSON lines" "$(wc -l <"$TMP/top.out")" -eq 3
want "seconds with 203.0.113.0/24, port 80 and synack_sent on top" \
	"$(top_seconds "$TMP/top.out" 203.0.113.0/24)" -ge 2
[ "${#REASONS[@]}" -gt 0 ] && echo "# top said: $(cat "$TMP/top.out" "$TMP/top.err")"
check top_json

# ---- top over IPv6: connects from the client, aggregated by /64 ----
reader_start top6 top "$SIF" --json --seconds 3 --what syn
# -w: a pause between connects, so that they spread over the 3 s and more.
client -n 80 -w 50 "$S6" "$P_PROT" >"$TMP/c6.out" 2>&1 &
CPID=$!
BG_PIDS+=("$CPID")
reader_end
wait "$CPID"
want "seconds with 2001:db8::/64, port 80 and synack_sent on top" \
	"$(top_seconds "$TMP/top6.out" 2001:db8::/64)" -ge 2
[ "${#REASONS[@]}" -gt 0 ] && echo "# top said: $(cat "$TMP/top6.out" "$TMP/top6.err")"
check top_ipv6

# ---- two readers ----
reader_start a capture "$SIF" -w "$TMP/a.pcap" --seconds 20
want "the mask's PID is the first reader's" "$(sample_ctl | cut -d' ' -f2)" -eq "$RPID"
want "status --json: sampling.reader_pid" "$(status_sampling)" -eq "$RPID"
sg capture "$SIF" -w "$TMP/b.pcap" --seconds 1 >/dev/null 2>"$TMP/b.err"
want "second reader's exit status" $? -eq 1
grep -q "being read by PID $RPID already" "$TMP/b.err" ||
	REASONS+=("second reader's message does not name PID $RPID: $(cat "$TMP/b.err")")
[ -e "$TMP/b.pcap" ] && REASONS+=("the refused reader created its file")
sg top "$SIF" --seconds 1 >/dev/null 2>"$TMP/c.err"
want "top while capture reads: exit status" $? -eq 1
want "mask while the first still reads" "$(sample_mask)" -ne 0
kill -TERM "$RPID"
reader_end
want "status --json after it: sampling" "$(status_sampling)" -eq 0
tcpdump -nn -r "$TMP/a.pcap" >/dev/null 2>&1 || REASONS+=("the first reader's pcap does not read back")
check two_readers

# ---- SIGKILL: the lease runs out ----
reader_start k capture "$SIF" -w "$TMP/k.pcap" --what syn
kill_ours -KILL "$RPID"
want "mask right after SIGKILL" "$(sample_mask)" -ne 0
# status tells a dead reader from a live one.
want "status --json right after SIGKILL: sampling" "$(status_sampling)" -eq 0
sleep 3.5
# The program clears the mask at the first frame after the lease.
syns "$OTHER" 3
want "mask after the lease and 3 frames" "$(sample_mask)" -eq 0
check sigkill_lease

# ---- SIGKILL: the next reader takes over ----
reader_start k2 capture "$SIF" -w "$TMP/k2.pcap" --what syn
kill_ours -KILL "$RPID"
sg capture "$SIF" -w "$TMP/k3.pcap" --what syn --seconds 1 >/dev/null 2>"$TMP/k3.err"
want "next reader's exit status" $? -eq 0
grep -q "taking the samples over from PID $RPID" "$TMP/k3.err" ||
	REASONS+=("no takeover note naming PID $RPID: $(cat "$TMP/k3.err")")
want "mask after the next reader" "$(sample_mask)" -eq 0
check sigkill_takeover

# ---- bad input ----
# bad_case NAME EXIT PATTERN ARGS...: exit status and a message matching.
bad_case() {
	local name=$1 code=$2 pat=$3 out rc
	shift 3
	out=$(sg "$@" 2>&1)
	rc=$?
	want "$name: exit status" $rc -eq "$code"
	grep -qE -- "$pat" <<<"$out" || REASONS+=("$name: message '$out' does not match '$pat'")
}
bad_case "unknown --what" 2 "unknown --what 'bogus'" capture "$SIF" -w "$TMP/x.pcap" --what bogus
bad_case "--count 0" 2 "invalid --count '0'" capture "$SIF" -w "$TMP/x.pcap" --count 0
bad_case "--rate 0" 2 "invalid --rate '0'" capture "$SIF" -w "$TMP/x.pcap" --rate 0
bad_case "no -w" 2 "needs a file: -w" capture "$SIF"
bad_case "unwritable -w" 1 "cannot write $TMP/nodir/x.pcap: .*writable directory" \
	capture "$SIF" -w "$TMP/nodir/x.pcap" --seconds 1
bad_case "not protected" 1 "lo is not protected by synguard.*synguard attach lo" \
	capture lo -w "$TMP/lo.pcap" --seconds 1
bad_case "top, not protected" 1 "lo is not protected by synguard" top lo --seconds 1
bad_case "top --prefix4 33" 2 "invalid --prefix4 '33'" top "$SIF" --prefix4 33
[ -e "$TMP/x.pcap" ] && REASONS+=("a refused capture created its file")
[ -e "$TMP/lo.pcap" ] && REASONS+=("capture on an interface not protected created its file")
want "mask after the refused readers" "$(sample_mask)" -eq 0
check bad_input

# ---- detach under a reader: it stops, saying why ----
reader_start det capture "$SIF" -w "$TMP/det.pcap"
sg_detach || REASONS+=("detach failed")
reader_end 1
grep -q "$SIF was detached: no more samples" "$TMP/det.err" ||
	REASONS+=("no message about the detach: $(cat "$TMP/det.err")")
check detach_stops_reader

finish

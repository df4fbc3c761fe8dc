#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Turns the benchmark results into what people read:
#   $OUT/bench.json       everything, with the machine and the target checks
#   stdout                the tables
#   bench/results.png     SYN-ACKs/s and legit p99 latency per defense
#   bench/results.md      a README section: command, machine, tables, plot,
#                         the comparison to the targets
# Inputs: $OUT/bench-cost.json (bench/prog_cost.c) and $OUT/bench-e2e.json
# (bench/e2e.sh); either may be missing.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/build}
COST=$OUT/bench-cost.json
E2E=$OUT/bench-e2e.json
PNG=${PNG:-$ROOT/bench/results.png}
MD=${MD:-$ROOT/bench/results.md}
TMP=$(mktemp -d /tmp/sgbreport.XXXX)
trap 'rm -rf "$TMP"' EXIT

command -v jq >/dev/null || { echo "report: jq not found (make bench installs it)" >&2; exit 1; }
for f in cost e2e; do
	src=$COST
	[ $f = e2e ] && src=$E2E
	if [ -s "$src" ]; then cp "$src" "$TMP/$f.json"; else echo '{}' >"$TMP/$f.json"; fi
done

machine=$(jq -n --arg kernel "$(uname -r)" \
	--arg cpu "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" \
	--argjson cores "$(nproc)" \
	--argjson mem_gib "$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)" \
	--arg os "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")" \
	--arg clang "$(clang --version 2>/dev/null | head -n1)" \
	--arg commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- bpf include 2>/dev/null || echo " + uncommitted changes in bpf/ or include/")" \
	'{kernel: $kernel, cpu: $cpu, cores: $cores, mem_gib: $mem_gib, os: $os, clang: $clang, synguard: $commit}')

# ---- the target checks, computed once, in jq ----
jq -n --slurpfile c "$TMP/cost.json" --slurpfile e "$TMP/e2e.json" \
	--argjson machine "$machine" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" '
	($c[0]) as $cost | ($e[0]) as $e2e
	| ($e2e.phases // []) as $ph
	| def phase(d; f): [$ph[] | select(.defense == d and .flood == f)] | .[0];
	  def ceil: ([$ph[] | select(.defense == "ceiling") | .synack_pps]
		| if length > 0 then add / length else null end);
	  def ratio(a; b): if a != null and b != null and b > 0 then a / b else null end;
	{
		date: $date, command: "make bench", machine: $machine,
		cost: $cost, e2e: $e2e,
		ceiling_synack_pps: ceil,
		ratios: [ ("paced", "unpaced", "hping3") as $f | {
			flood: $f,
			synguard_vs_ceiling: ratio(phase("synguard"; $f).synack_pps; ceil),
			synguard_vs_syncookies: ratio(phase("synguard"; $f).synack_pps;
				phase("sc1"; $f).synack_pps)
		}],
		targets: [
			(($cost.classes // [])[] | select(.target_ratio != null and .check == null) | {
				target: "\(.class): cost <= \(.target_ratio)x the floor",
				measured: "\(.ratio * 100 | round / 100)x (\(.synguard_ns * 10 | round / 10) ns vs \(.floor_ns * 10 | round / 10) ns)",
				met: (.ok and .ratio <= .target_ratio)
			}),
			(phase("synguard"; "unpaced") as $p | select($p) | {
				target: "unpaced flood: SYN-ACKs >= 90% of the ceiling",
				measured: "\(ratio($p.synack_pps; ceil) * 1000 | round / 10)%",
				met: ((ratio($p.synack_pps; ceil) // 0) >= 0.9)
			}),
			(phase("synguard"; "paced") as $p | select($p) | {
				target: "paced flood (\($e2e.fraction * 100 | round)% of the ceiling): SYNs answered >= 95%",
				measured: "\($p.synack_pps / 1e4 | round / 100)M SYN-ACKs/s = \(ratio($p.synack_pps; $e2e.paced_rate) * 1000 | round / 10)% of the paced rate (\($e2e.paced_rate / 1e4 | round / 100)M/s); \(ratio($p.synack_pps; $p.syn_rx_pps) * 1000 | round / 10)% of the SYNs that reached it",
				met: ((ratio($p.synack_pps; $e2e.paced_rate) // 0) >= 0.95)
			}),
			(phase("synguard"; "ack") as $p | select($p) | {
				target: "(no issue target) ACK flood: no connection made of spoofed ACKs",
				measured: "\($p.forged_connections) forged connections in \($p.seconds * 10 | round / 10) s at \($p.ack_rx_pps / 1e4 | round / 100)M ACKs/s (kernel syncookies: \(phase("sc1"; "ack").forged_connections // "-"))",
				met: ($p.forged_connections == 0)
			}),
			(phase("synguard"; "synack") as $p | select($p)
			| phase("sc1"; "synack") as $k
			| ($p.ack_rx_pps * $p.seconds) as $n
			| ($n * pow(2; -25)) as $e
			| def per8($f; $acks): if ($acks // 0) > 0 then "\($f / $acks * 1e10 | round / 100)" else "-" end;
			{
				target: "SYN and random-ACK floods together (ACKs without timestamps, the weakest variant): forged connections within 2^-25 per ACK",
				measured: "\($p.forged_connections) forged in \($n / 1e4 | round / 100)M ACKs = \(per8($p.forged_connections; $n)) per 10^8 (2^-25: 2.98 per 10^8); kernel syncookies: \($k.forged_connections // "-") in \((($k.ack_rx_pps // 0) * ($k.seconds // 0)) / 1e4 | round / 100)M = \(per8($k.forged_connections // 0; ($k.ack_rx_pps // 0) * ($k.seconds // 0))) per 10^8 (about 2^-29: 0.19)",
				met: ($p.forged_connections <= ($e + 3 * ($e | sqrt) + 3 | floor))
			}),
			(phase("synguard"; "cap09") as $p | select($p) | {
				target: "flood paced at 0.9x synguard'"'"'s own capacity: 200/200 legit connects, p99 <= 5 ms",
				measured: "\($p.client.ok // 0)/\($p.client.count // 0), p99 \(($p.client.connect_us.p99 // 0) / 1000 * 1000 | round / 1000) ms at \(($p.rate // 0) / 1e4 | round / 100)M SYNs/s offered",
				met: (($p.client.ok // 0) == ($p.client.count // -1) and ($p.client.connect_us.p99 // 1e9) <= 5000)
			}),
			(phase("synguard"; "cap15") as $p | select($p)
			| phase("sc1"; "cap15") as $k | {
				target: "flood paced at 1.5x each defense'"'"'s own capacity: synguard'"'"'s legit connects no fewer than kernel syncookies'"'"' (more, or all of them in both)",
				measured: "synguard \($p.client.ok // 0)/\($p.client.count // 0) at \(($p.rate // 0) / 1e4 | round / 100)M/s; kernel syncookies \($k.client.ok // "-")/\($k.client.count // "-") at \((($k.rate // 0) / 1e4) | round / 100)M/s",
				met: (($p.client.ok // 0) > ($k.client.ok // 0) or (($p.client.ok // 0) == ($p.client.count // -1) and ($k.client.ok // 0) == ($p.client.ok // 0)))
			}),
			(phase("synguard"; "unpaced") as $p | select($p)
			| phase("synguard"; "unpaced_q1") as $q | select($q) | {
				target: "SYN-ACKs/s with \($e2e.cpus) receive queues / with 1: >= 1.8x",
				measured: "\(ratio($p.synack_pps; $q.synack_pps) * 100 | round / 100)x (\($p.synack_pps / 1e4 | round / 100)M vs \($q.synack_pps / 1e4 | round / 100)M/s)",
				met: ((ratio($p.synack_pps; $q.synack_pps) // 0) >= 1.8)
			}),
			(phase("synguard"; "paced") as $p | select($p) | {
				target: "paced flood: every legit connect succeeds, p99 < 1 ms",
				measured: "\($p.client.ok // 0)/\($p.client.count // 0), p99 \(($p.client.connect_us.p99 // 0) / 1000 * 1000 | round / 1000) ms",
				met: (($p.client.ok // 0) == ($p.client.count // -1) and ($p.client.connect_us.p99 // 1e9) < 1000)
			}),
			(($e2e.throughput // []) as $t
			| ([$t[] | select(.throughput == "no XDP program")][0].gbps) as $base
			| ([$t[] | select(.throughput | startswith("XDP_PASS"))][0].gbps) as $pass
			| ([$t[] | select(.throughput == "synguard")][0].gbps) as $sg
			| select($base != null and $sg != null) | {
				target: "bulk throughput >= 95% of the unprotected figure",
				measured: "\($sg * 100 | round / 100) vs \($base * 100 | round / 100) Gbit/s without XDP = \(ratio($sg; $base) * 1000 | round / 10)%; \(ratio($sg; $pass) * 1000 | round / 10)% of an XDP_PASS program",
				met: (ratio($sg; $base) >= 0.95)
			})
		]
	}' >"$OUT/bench.json" || { echo "report: cannot assemble $OUT/bench.json" >&2; exit 1; }

# ---- tables ----
tables() {
	jq -r '
	def f(n; d): if n == null then "-" else (n * d | round / d | tostring) end;
	def k(n): if n == null then "-" elif n >= 1e6 then "\(n / 1e4 | round / 100)M"
		elif n >= 1e3 then "\(n / 1e3 | round)k" else "\(n | round)" end;
	def us(n): if n == null then "-" elif n >= 1e6 then "\(n / 1e5 | round / 10) s"
		elif n >= 1e3 then "\(n / 100 | round / 10) ms" else "\(n | round) us" end;
	(if .cost.classes then
		"Per-packet cost (BPF_PROG_TEST_RUN, repeat \(.cost.repeat), median of \(.cost.rounds) rounds;",
		"cost = wrapped synguard - wrapped floor + floor; floor = swap MACs + XDP_TX)",
		"",
		"| class | verdict | floor ns | synguard ns | ratio | target |",
		"|---|---|---:|---:|---:|---|",
		(.cost.classes[] | select(.check == null and (.engine // "own") == "own") | "| \(.class) | \(.verdict) | \(f(.floor_ns; 10)) | \(f(.synguard_ns; 10)) | \(f(.ratio; 100))x | \(if .target_ratio then (if .ratio <= .target_ratio then "<= " else "**> " end) + "\(.target_ratio)x" + (if .ratio <= .target_ratio then "" else "**" end) else "" end) |"),
		""
	else empty end),
	(if [.cost.classes[]? | select(.check != null)] | length > 0 then
		"What each check costs: the class on the product object and on a bench-only build with that check compiled out, in the same rounds; check ns = the median of the per-round differences (min to max), ratio = check ns / floor ns",
		"",
		"| check | class | floor ns | with ns | without ns | check ns | ratio |",
		"|---|---|---:|---:|---:|---:|---:|",
		(.cost.classes[] | select(.check != null) | "| \(.check) | \(.class) | \(f(.floor_ns; 10)) | \(f(.synguard_ns; 10)) | \(f(.without_ns; 10)) | \(f(.check_ns; 10)) (\(f(.check_ns_min; 10)) to \(f(.check_ns_max; 10))) | \(f(.check_ratio; 100))x |"),
		""
	else empty end),
	(if [.cost.classes[]? | select(.engine == "kernel" or .engine == "none")] | length > 0 then
		.cost.classes as $cl |
		"The kernel engine (`--engine kernel`), each class next to the own engine on the same frame (own ns). SYN and established rows run both engines in the same rounds, and kernel - own is the median of the per-round differences (min to max); kest4 and kest6 take the very same path in both engines, so theirs is the noise. The ACK rows cannot share a frame (each engine answers its own cookie): own ns is then the own engine'"'"'s class in the first table, measured at another moment of the run. lookup4 and lookup6: a program that swaps MACs like the floor and looks up the SYN'"'"'s listener with bpf_skc_lookup_tcp, the lookup every SYN pays in both engines, and nothing else: lookup ns = its cost - the floor",
		"",
		"| class | verdict | floor ns | cost ns | ratio | own ns | kernel - own ns | lookup ns |",
		"|---|---|---:|---:|---:|---:|---:|---:|",
		($cl[] | select(.engine == "kernel" or .engine == "none") | . as $k
			| ([$cl[] | select(.check == null and .class == $k.own_class)] | .[0]) as $o
			| "| \(.class) | \(.verdict) | \(f(.floor_ns; 10)) | \(f(.synguard_ns; 10)) | \(f(.ratio; 100))x | \(if .own_same_rounds_ns then f(.own_same_rounds_ns; 10) elif $o then f($o.synguard_ns; 10) else "-" end) | \(if .minus_own_ns then "\(f(.minus_own_ns; 10)) (\(f(.minus_own_ns_min; 10)) to \(f(.minus_own_ns_max; 10)))" elif $o then f(.synguard_ns - $o.synguard_ns; 10) else "-" end) | \(if .engine == "none" then f(.synguard_ns - .floor_ns; 10) else "-" end) |"),
		""
	else empty end),
	(if .e2e.phases then
		"End to end on veth (\(.e2e.cpus) cores, \(.e2e.window_s) s windows, paced floods at \(.e2e.paced_rate | k(.))/s = \(.e2e.fraction * 100 | round)% of the ceiling)",
		"",
		"| defense | flood | offered/s | SYNs in/s | SYN-ACKs/s | of ceiling | softirq cores | busy cores | legit ok | p50 | p99 | max | forged conns |",
		"|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
		(.ceiling_synack_pps as $c
		| ["ceiling", "none", "sc1", "sc2", "synproxy", "synguard"] as $o
		| ["paced", "unpaced", "cap09", "cap15", "hping3", "paced6", "ack", "synack", "unpaced_q1"] as $fo
		| .e2e.phases | sort_by(. as $p | [($o | index($p.defense)), ($fo | index($p.flood))]) | .[] |
			"| \(.defense) | \(.flood) | \(k(.offered_pps)) | \(if .flood == "ack" then "\(k(.ack_rx_pps)) ACKs" elif .flood == "synack" then "\(k(.syn_rx_pps)) + \(k(.ack_rx_pps)) ACKs" else k(.syn_rx_pps) end) | \(k(.synack_pps)) | \(if $c then "\(.synack_pps / $c * 100 | round)%" else "-" end) | \(f(.softirq_cores; 100)) | \(f(.busy_cores; 100)) | \(if .client then "\(.client.ok)/\(.client.count)" + (if .client.tried < .client.count then " (\(.client.tried) tried)" else "" end) else "-" end) | \(if (.client.ok // 0) > 0 then "\(us(.client.connect_us.p50)) | \(us(.client.connect_us.p99)) | \(us(.client.connect_us.max))" else "- | - | -" end) | \(if .defense == "ceiling" then "-" else (.forged_connections // "-" | tostring) end) |"),
		"",
		(if [.e2e.phases[] | .machine.other_flooders // 0] | add > 0 then
			"**Warning**: other flooding processes ran on this machine during the run: every figure is lower than it would be alone.", ""
		else empty end),
		"ceiling: " + ([.e2e.phases[] | select(.defense == "ceiling") | k(.synack_pps)] | join(", then ")) + " SYN-ACKs/s (their mean is the ceiling below)",
		"",
		"Floods: the live-frames generator (bench/flood.c) with random sources in 203.0.113.0/24 and MSS+SACK+TS+WS options, paced at \(.e2e.paced_rate | k(.))/s or unpaced, \(.e2e.cpus) threads; hping3 --flood --rand-source, one process per core; paced6: IPv6 from 2001:db8:f::/48 and an IPv6 client; ack: unpaced ACK flood with random ack numbers; synack: the paced SYN flood and, beside it, an unpaced flood of random ACKs without options (the cookie variant easiest to forge), so that cookies are out and every ACK is checked; cap09 and cap15: paced at 0.9 and 1.5 times what that defense answered under the unpaced flood (its own capacity); unpaced_q1: the unpaced flood into one receive queue instead of one per core. Offered: what the generator sent (on veth the receiver runs on the CPU of the sender, so a slow defense also slows the flood). Softirq/busy: cores, from /proc/stat (the CPU time of the generators counts as busy). Legit: 200 sequential connect + 1-byte request/reply, 2 s timeout, within the window; p50/p99/max of the connect time of those that succeeded. Forged conns: connections the server kernel created (TcpPassiveOpens) beyond the successful legit ones, i.e. spoofed packets let through as new connections.",
		"",
		"synguard SYN-ACK rate: " + ([.ratios[] | "\(.flood): \(f(.synguard_vs_ceiling; 100)) of the ceiling, \(f(.synguard_vs_syncookies; 100))x kernel syncookies"] | join("; ")),
		""
	else empty end),
	(if (.e2e.throughput // []) | length > 0 then
		"Bulk TCP (iperf3, 5 s, client to server through the protected interface; the better of two interleaved runs)",
		"",
		"| server side | Gbit/s |", "|---|---:|",
		(.e2e.throughput[] | "| \(.throughput) | \(f(.gbps; 100)) |"),
		""
	else empty end),
	(if (.targets | length) > 0 then
		"Targets",
		"",
		"| target | measured | met |", "|---|---|---|",
		(.targets[] | "| \(.target) | \(.measured) | \(if .met then "yes" else "**no**" end) |"),
		""
	else empty end)
	' "$OUT/bench.json"
}
tables | tee "$TMP/tables.md"

# ---- the plot ----
if command -v gnuplot >/dev/null && jq -e '.e2e.phases' "$OUT/bench.json" >/dev/null; then
	# Rows: defenses; columns: the floods. Missing values as "-".
	jq -r '
		["none", "sc1", "sc2", "synproxy", "synguard"] as $defs
		| ["paced", "unpaced", "hping3"] as $fl
		| .e2e.phases as $ph
		| $defs[] as $d
		| [$d] + [$fl[] as $f | ([$ph[] | select(.defense == $d and .flood == $f)][0]) as $p
			| (if $p then ($p.synack_pps / 1e6 | tostring) else "-" end),
			  (if $p and $p.client and $p.client.ok > 0 then ($p.client.connect_us.p99 / 1000 | tostring) else "-" end),
			  (if $p and $p.client then ($p.client.ok / $p.client.count * 100 | round | tostring) else "-" end)]
		| @tsv' "$OUT/bench.json" |
		sed -e 's/^sc1\t/syncookies=1\t/; s/^sc2\t/syncookies=2\t/; s/^none\t/no defense\t/' \
		>"$TMP/plot.tsv"
	# Legit success against the flood rate: one file per defense, its
	# IPv4 SYN floods by offered rate.
	for d in none sc1 sc2 synproxy synguard; do
		jq -r --arg d "$d" '[.e2e.phases[] | select(.defense == $d and .client
			and (.flood | IN("paced", "unpaced", "cap09", "cap15")))]
			| sort_by(.offered_pps) | .[]
			| "\(.offered_pps / 1e6)\t\(.client.ok / .client.count * 100)"' \
			"$OUT/bench.json" >"$TMP/legit.$d.tsv"
	done
	ceil=$(jq '(.ceiling_synack_pps // 0) / 1e6' "$OUT/bench.json")
	title="synguard benchmark: $(jq -r '.machine | "\(.cores) cores, \(.cpu), Linux \(.kernel)"' "$OUT/bench.json")"
	gnuplot <<-EOF 2>"$TMP/gnuplot.err" || echo "report: gnuplot failed: $(cat "$TMP/gnuplot.err")" >&2
	set terminal pngcairo size 1000,1150 font "sans,10"
	set output "$PNG"
	set datafile separator "\t"
	set datafile missing "-"
	set multiplot layout 3,1 title "$title"
	set style data histograms
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set grid ytics
	set key outside right top vertical
	set xrange [-0.6:4.6]
	set ylabel "SYN-ACKs answered (millions/s)"
	set title "SYN-ACKs per second under each flood (dashed: XDP reflector ceiling)"
	set yrange [0:*]
	plot "$TMP/plot.tsv" using 2:xtic(1) title "paced ($(jq -r '.e2e.fraction * 100 | round' "$OUT/bench.json")% of ceiling)", \
	     "" using 5 title "unpaced", \
	     "" using 8 title "hping3 --rand-source", \
	     $ceil with lines dashtype 2 lc rgb "black" title "ceiling"
	set ylabel "legit connect p99 (ms, log)"
	set title "Legitimate client: connect latency p99 (successful connects; label: % succeeded)"
	set logscale y
	set yrange [0.01:*]
	plot "$TMP/plot.tsv" using 3:xtic(1) title "paced", \
	     "" using 6 title "unpaced", \
	     "" using 9 title "hping3", \
	     "" using (\$0 - 0.27):(\$3 > 0 ? \$3 * 1.3 : 1/0):(sprintf("%s%%", strcol(4))) with labels font "sans,8" notitle, \
	     "" using (\$0):(\$6 > 0 ? \$6 * 1.3 : 1/0):(sprintf("%s%%", strcol(7))) with labels font "sans,8" notitle, \
	     "" using (\$0 + 0.27):(\$9 > 0 ? \$9 * 1.3 : 1/0):(sprintf("%s%%", strcol(10))) with labels font "sans,8" notitle, \
	     "" using (\$0 - 0.27):(strcol(4) eq "0" ? 0.015 : 1/0):("0%") with labels font "sans,8" notitle, \
	     "" using (\$0):(strcol(7) eq "0" ? 0.015 : 1/0):("0%") with labels font "sans,8" notitle, \
	     "" using (\$0 + 0.27):(strcol(10) eq "0" ? 0.015 : 1/0):("0%") with labels font "sans,8" notitle
	set title "Legitimate connects that succeeded against the offered SYN flood rate (paced, 0.9x and 1.5x own capacity, unpaced)"
	set style data linespoints
	set xlabel "offered SYN flood (millions of frames/s, log)"
	set ylabel "legit connects ok (%)"
	set logscale x
	unset logscale y
	set xrange [*:*]
	set xtics autofreq
	set yrange [0:105]
	plot "$TMP/legit.none.tsv" using 1:2 title "no defense", \
	     "$TMP/legit.sc1.tsv" using 1:2 title "syncookies=1", \
	     "$TMP/legit.sc2.tsv" using 1:2 title "syncookies=2", \
	     "$TMP/legit.synproxy.tsv" using 1:2 title "synproxy", \
	     "$TMP/legit.synguard.tsv" using 1:2 title "synguard"
	unset multiplot
	EOF
	[ -s "$PNG" ] && echo "plot: $PNG"
fi

# ---- the README section ----
{
	echo "## Benchmarks"
	echo
	echo "Made with \`make bench\` (as root; about 10 minutes), $(jq -r '.date' "$OUT/bench.json"), on"
	jq -r '.machine | "\(.os), Linux \(.kernel), \(.cores) cores (\(.cpu)), \(.mem_gib) GiB, \(.clang); synguard \(.synguard)."' "$OUT/bench.json"
	echo "Figures from a shared 2-core virtual machine move from run to run; the"
	echo "ratios, measured side by side in one run, are what to compare."
	echo
	cat "$TMP/tables.md"
	echo "![SYN-ACKs per second and legitimate p99 latency per defense](bench/results.png)"
	echo
	echo "Raw data: \`build/bench.json\`."
} >"$MD"
echo "README section: $MD"

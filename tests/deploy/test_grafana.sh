#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The Grafana dashboard (deploy/grafana/synguard.json): the JSON parses, it
# imports anywhere (datasource as the input DS_PROMETHEUS, instance and
# iface variables), it has its panels, and every metric and label name of
# every PromQL expression is in the real output of `synguard stats
# --prometheus` from an interface this suite protects, so a renamed counter
# fails here. promtool (tests/lib/promtool.sh) parses every expression.
# Self-checks show that a made-up metric, label or expression is caught.
#
# Runs as root, on a veth pair in a namespace of its own (gf<pid>); a trap
# detaches and removes it on any exit. Prints a line per case and ends with
# "N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1

# shellcheck source=tests/lib/suite.sh
. tests/lib/suite.sh

BIN=build/synguard
DASH=deploy/grafana/synguard.json
CHECK=tests/deploy/grafana_check.py
ID=$$
NS=gf$ID
A=gf${ID}a
B=gf${ID}b
tmp=$(mktemp -d /tmp/gf-grafana.XXXXXX)
[ -d /sys/fs/bpf/xdp ] && libxdp_dir_made=0 || libxdp_dir_made=1

cleanup() {
	if [ -d /sys/fs/bpf/synguard/$A ]; then
		nsenter --net=/var/run/netns/$NS "$BIN" detach $A >/dev/null 2>&1
		# Only our own directory, by its exact name.
		[ -d /sys/fs/bpf/synguard/$A ] && rm -rf "/sys/fs/bpf/synguard/$A"
	fi
	rmdir /sys/fs/bpf/synguard 2>/dev/null
	[ "$libxdp_dir_made" = 1 ] && rmdir /sys/fs/bpf/xdp 2>/dev/null
	ip netns del $NS 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if out=$(python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$DASH" 2>&1) &&
	jq -e .panels "$DASH" >/dev/null 2>&1; then
	ok "$DASH parses (python3 json, jq)"
else
	fail "$DASH parses (python3 json, jq)" "$out"
	summary
	exit 1
fi

# --- the real metrics ---
name="synguard stats --prometheus from a protected veth"
if [ "$(id -u)" != 0 ]; then
	skip "$name, and every check against it" "needs root"
	summary
	exit
fi
if ! ip netns add $NS || ! ip -n $NS link add $A type veth peer name $B ||
	! ip -n $NS link set $A up || ! ip -n $NS link set $B up; then
	fail "$name" "cannot make namespace $NS with veth $A"
	summary
	exit 1
fi
# Port 9 has no listener: the attach says so and protects it anyway.
if ! out=$(nsenter --net=/var/run/netns/$NS "$BIN" attach $A --ports 9 2>&1); then
	fail "$name" "attach: $out"
	summary
	exit 1
fi
# Handoff failures are printed per errno only once there is one: count an
# EINVAL (22) in the pinned map, so that the real output has the errno
# label the dashboard groups by.
if ! out=$(bpftool map update pinned /sys/fs/bpf/synguard/$A/sg_kfunc_errors \
	key 22 0 0 0 value 1 0 0 0 0 0 0 0 2>&1); then
	fail "$name" "bpftool map update sg_kfunc_errors: $out"
fi
nsenter --net=/var/run/netns/$NS "$BIN" stats $A --prometheus >"$tmp/metrics" 2>"$tmp/err"
rc=$?
REASONS=()
[ "$rc" = 0 ] || REASONS+=("exit $rc: $(cat "$tmp/err")")
for m in synguard_syn_received_total synguard_cookies_engaged synguard_enforcing \
	synguard_key_age_seconds synguard_src_table_entries synguard_src_table_size; do
	grep -q "^$m{iface=\"$A\"} [0-9]*$" "$tmp/metrics" || REASONS+=("no sample of $m")
done
# bpftool wrote 1 on every possible CPU; stats sums them.
ncpu=$(tr ',' '\n' </sys/devices/system/cpu/possible | awk -F- '{n += ($2 == "" ? 1 : $2 - $1 + 1)} END {print n}')
grep -qx "synguard_handoff_kfunc_errors_total{iface=\"$A\",errno=\"EINVAL\"} $ncpu" "$tmp/metrics" ||
	REASONS+=("no synguard_handoff_kfunc_errors_total{errno=\"EINVAL\"} $ncpu: $(grep kfunc_errors_total "$tmp/metrics" | grep -v '^#')")
check "$name: counters, gauges and the kfunc errors by errno"

# --- the dashboard against them ---
if out=$(python3 "$CHECK" static "$DASH" include/synguard.h "$tmp/metrics" 2>&1); then
	n=$(jq '([.panels[].targets | length] | add) + (.templating.list | length)' "$DASH")
	ok "$DASH: datasource input, variables, required panels, all verdicts, and the metrics and labels of its $n queries (panels and variables) are the real output's"
else
	fail "$DASH against the real metrics" "$out (a new verdict counter: deploy/grafana/sync_verdicts.py adds it)"
fi

# The checks must be able to fail: a renamed counter, a label the output
# does not have, a verdict counter missing, a drop drawn as a pass.
selfcheck() {
	local what=$1 want=$2 filter=$3
	jq "$filter" "$DASH" >"$tmp/bad.json"
	if out=$(python3 "$CHECK" static "$tmp/bad.json" include/synguard.h "$tmp/metrics" 2>&1); then
		fail "self-check: $what is caught" "the check passed"
	elif [[ $out != *"$want"* ]]; then
		fail "self-check: $what is caught" "no '$want' in: $out"
	else
		ok "self-check: $what is caught"
	fi
}
selfcheck "a renamed counter" "metric synguard_cookie_expird_total is not in" \
	'(.. | .expr? | strings) |= sub("synguard_cookie_expired_total"; "synguard_cookie_expird_total")'
selfcheck "a renamed counter in a variable's query" "variable iface: metric synguard_syn_recvd_total" \
	'.templating.list[1].query.query |= sub("synguard_syn_received_total"; "synguard_syn_recvd_total")'
selfcheck "a label the output lacks" "label interface is not in" \
	'(.. | .expr? | strings) |= sub("by \\(instance, iface\\)"; "by (instance, interface)")'
selfcheck "a verdict counter missing" "synguard_reflection_drop_total" \
	'(.panels[] | select(.title | startswith("XDP verdicts")) | .targets) |= map(select(.expr | contains("reflection_drop") | not))'
selfcheck "a drop drawn as a pass" "dropped by their HELP ['synguard_deny_drop_total']" \
	'(.. | .legendFormat? | strings) |= sub("^drop: deny_drop"; "pass: deny_drop")'
# shellcheck disable=SC2016 # the literal input variable
selfcheck "a panel on another datasource" 'want uid ${DS_PROMETHEUS}' \
	'.panels[0].datasource.uid = "prometheus"'
selfcheck "a panel drawn over another" "overlap" '.panels[1].gridPos.x = 3'

# --- PromQL syntax ---
# promtool 2.42 (Debian 12) has no `promql format` (2.43 and later), so
# each expression goes into a recording rule, which `check rules` parses.
# shellcheck source=tests/lib/promtool.sh
if . tests/lib/promtool.sh; then
	python3 "$CHECK" rules "$DASH" >"$tmp/rules.yml"
	n=$(grep -c '^      - record:' "$tmp/rules.yml")
	if out=$("$PROMTOOL" check rules "$tmp/rules.yml" 2>&1) && [[ $out == *"SUCCESS: $n rules found"* ]]; then
		ok "promtool check rules: all $n queries parse"
	else
		fail "promtool check rules: all $n queries parse" "$out"
	fi
	jq '.panels[0].targets[0].expr |= sub("\\)$"; "")' "$DASH" >"$tmp/bad.json"
	python3 "$CHECK" rules "$tmp/bad.json" >"$tmp/bad.yml"
	if out=$("$PROMTOOL" check rules "$tmp/bad.yml" 2>&1); then
		fail "self-check: an unbalanced parenthesis is caught by promtool" "check rules passed"
	else
		ok "self-check: an unbalanced parenthesis is caught by promtool"
	fi

	# Every query evaluated by promtool over the real samples (as series
	# of a scrape, instance "gf", iface the veth): each returns something.
	# evaluate DASHBOARD DIR: promtool test rules's output, and its status.
	evaluate() {
		mkdir -p "$2"
		python3 "$CHECK" evaluate "$1" "$tmp/metrics" "$A" "$2" &&
			(cd "$2" && "$OLDPWD/$PROMTOOL" test rules test.yml 2>&1)
	}
	if out=$(evaluate "$DASH" "$tmp/eval"); then
		ok "promtool test rules: all $n queries return series from the real samples"
	else
		fail "promtool test rules: all $n queries return series from the real samples" "$(echo "$out" | grep -o 'query="[^"]*"' | sort -u | tr '\n' ' ')"
	fi
	# A vector match whose sides keep different labels parses, names only
	# real metrics and labels, and returns nothing.
	jq '(.. | .expr? | strings | select(startswith("clamp_min"))) |= sub("- sum by \\(instance, iface\\) "; "- sum by (instance) ")' "$DASH" >"$tmp/bad.json"
	want="Handoff failures per second"
	if ! grep -q 'sum by (instance) (rate' "$tmp/bad.json"; then
		fail "self-check: a query that matches nothing is caught by promtool" "the jq edit changed nothing"
	elif out=$(evaluate "$tmp/bad.json" "$tmp/bad"); then
		fail "self-check: a query that matches nothing is caught by promtool" "test rules passed"
	elif [[ $out != *"$want"* ]] || ! python3 "$CHECK" static "$tmp/bad.json" include/synguard.h "$tmp/metrics" >/dev/null; then
		fail "self-check: a query that matches nothing is caught by promtool" "not by the evaluation alone: $out"
	else
		ok "self-check: a query that matches nothing is caught by promtool (and only by it)"
	fi
fi
summary

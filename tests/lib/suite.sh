#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The bookkeeping every test suite shares, sourced by each: one line per
# case ("ok   NAME", "FAIL NAME: WHY", "skip NAME: WHY"), and a last line
# "N passed, M failed" that tests/run.sh adds up.

PASS=0
FAIL=0
SKIP=0

# SG_CASE_TIMES=1 (the kernel matrix's guests set it): after each case, a
# line "# time NAME: N s", the seconds since the case before it ended, so
# that a guest's log shows where its time budget went.
SG_CASE_T0=$SECONDS
case_time() {
	[ "${SG_CASE_TIMES:-0}" = 1 ] || return 0
	echo "# time $1: $((SECONDS - SG_CASE_T0)) s"
	SG_CASE_T0=$SECONDS
}

ok() {
	echo "ok   $1"
	PASS=$((PASS + 1))
	case_time "$1"
}

# fail NAME REASON...
fail() {
	local name=$1
	shift
	echo "FAIL $name: $*"
	FAIL=$((FAIL + 1))
	case_time "$name"
}

# skip NAME REASON: a case that cannot run here, and why. Not a pass:
# counted apart, in the last line (", K skipped") when there are any.
skip() {
	echo "skip $1: $2"
	SKIP=$((SKIP + 1))
	case_time "$1"
}

# A case made of several conditions: want (or REASONS+=(...)) collects what
# does not hold, check NAME reports them all at once.
REASONS=()
check() {
	local r all=
	if [ ${#REASONS[@]} -eq 0 ]; then
		ok "$1"
	else
		for r in "${REASONS[@]}"; do
			all="${all:+$all; }$r"
		done
		fail "$1" "$all"
	fi
	REASONS=()
}

# want WHAT SEEN OP WANTED: records a reason unless "SEEN OP WANTED" holds
# (OP is one of -eq -ne -ge -le -gt -lt).
want() {
	local what=$1 seen=$2 op=$3 wanted=$4 sym
	case $op in
	-eq) sym= ;; -ne) sym='!= ' ;; -ge) sym='>= ' ;;
	-le) sym='<= ' ;; -gt) sym='> ' ;; -lt) sym='< ' ;;
	esac
	if ! [[ $seen =~ ^-?[0-9]+$ ]] || ! test "$seen" "$op" "$wanted"; then
		REASONS+=("$what: seen ${seen:-nothing}, wanted $sym$wanted")
	fi
}

# add_summary NAME OUTPUT [EXIT]: adds the "N passed, M failed" line of a
# sub-suite's OUTPUT to this one's counts. No such line, or a non-zero EXIT
# with no failed case, counts as one failure: a suite that did not finish
# never looks like a pass.
add_summary() {
	local name=$1 out=$2 rc=${3:-0} last p f s
	last=$(printf '%s\n' "$out" | tr -d '\r' | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
	if [ -z "$last" ]; then
		fail "$name" "no summary line (exit $rc)"
		return
	fi
	p=${last%% passed*}
	f=${last#*, }
	f=${f%% failed*}
	s=0
	case $last in *skipped*) s=${last##*failed, } s=${s%% skipped*} ;; esac
	PASS=$((PASS + p))
	FAIL=$((FAIL + f))
	SKIP=$((SKIP + s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		fail "$name" "exit $rc with no failed case"
	fi
}

# summary: the last line; returns non-zero if anything failed.
summary() {
	if [ "$SKIP" -gt 0 ]; then
		echo "$PASS passed, $FAIL failed, $SKIP skipped"
	else
		echo "$PASS passed, $FAIL failed"
	fi
	[ "$FAIL" -eq 0 ]
}

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The synguard CLI, command by command and error by error: every error
# message the CLI promises (its text and exit code, and that nothing is left
# half attached), then a full life cycle attach -> status -> stats -> config
# -> key -> detach, and the partial states detach and status must cope with.
#
# Runs as root. Everything happens on links this script creates in network
# namespaces of its own (sgcli<pid>, sgclc<pid>), addresses from 192.0.2.0/24;
# the CLI runs there through `nsenter --net`, which keeps the host's bpffs
# (`ip netns exec` would remount /sys). A trap removes the namespaces, our
# pins and our temporary files on any exit. Prints `ok   NAME`, `FAIL NAME:
# why` or `skip NAME: why` per case, and ends with `N passed, M failed`.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${SYNGUARD:-$ROOT/build/synguard}
HDR=$ROOT/include/synguard.h
ID=$$
NS=sgcli$ID  # the CLI's namespace: the protected links
NSC=sgclc$ID # the peer's: traffic comes from here
A=sgc${ID}a  # veth, protected in the main flow
B=sgc${ID}b  # its peer, in $NSC
D=sgc${ID}d  # a link whose driver has no native XDP
F=sgc${ID}f  # veth, deleted while protected
G=sgc${ID}g  # F's peer
LOCK=/run/synguard.lock
PREF=21319 # synguard's TC filter priority and handle (user/sg.h)
HANDLE=0x5347
TMP=
BG=()
# shellcheck source=tests/lib/suite.sh
. "$(dirname "$0")/../lib/suite.sh"

# libxdp makes /sys/fs/bpf/xdp (its lock directory) on first use; remove it
# again if this run made it and nothing else uses it (rmdir: only if empty).
[ -d /sys/fs/bpf/xdp ] && LIBXDP_DIR_MADE=0 || LIBXDP_DIR_MADE=1

cleanup() {
	local p i
	for p in "${BG[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	for i in $A $D $F; do
		[ -d /sys/fs/bpf/synguard/$i ] &&
			nsenter --net=/var/run/netns/$NS "$BIN" detach $i >/dev/null 2>&1
		# Only our own directories, by their exact names.
		[ -d /sys/fs/bpf/synguard/$i ] && rm -rf "/sys/fs/bpf/synguard/$i"
	done
	rmdir /sys/fs/bpf/synguard 2>/dev/null
	[ "$LIBXDP_DIR_MADE" = 1 ] && rmdir /sys/fs/bpf/xdp 2>/dev/null
	[ -e /var/run/netns/$NS ] && ip netns exec $NS nft delete table ip sgcli_nat 2>/dev/null
	ip netns del $NS 2>/dev/null
	ip netns del $NSC 2>/dev/null
	# The namespace of the same-name case, and its pins (by exact name).
	if [ -e /var/run/netns/sgcli2$ID ]; then
		rm -rf "/sys/fs/bpf/synguard/$A@$(stat -L -c %i /var/run/netns/sgcli2$ID)"
		ip netns del sgcli2$ID
	fi
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sg() {
	nsenter --net=/var/run/netns/$NS "$BIN" "$@"
}

# run CMD...: OUT gets stdout and stderr, STDOUT stdout alone (for JSON:
# stderr may say the lock is busy while another synguard runs), RC the
# exit code.
run() {
	local err
	err=$(mktemp "$TMP/err.XXXXXX")
	STDOUT=$("$@" 2>"$err")
	RC=$?
	OUT=$STDOUT$'\n'$(cat "$err")
	rm -f "$err"
}

# tcx IFACE: the programs at TCX ingress of IFACE, as the kernel says.
tcx() {
	nsenter --net=/var/run/netns/$NS "$ROOT/tests/lib/tcx_progs.py" "$1" 2>/dev/null
}

# tcx_link_of IFACE: "LINK PROG" of the TCX link pinned for IFACE.
tcx_link_of() {
	bpftool link show pinned /sys/fs/bpf/synguard/$1/tc_link 2>/dev/null |
		awk '$2 == "type" && $3 == 11 && $4 == "prog" {print $1, $5}' | tr -d :
}

# leftovers IFACE: what of synguard is still on IFACE (empty: nothing).
leftovers() {
	local r=""
	[ -e /sys/fs/bpf/synguard/$1 ] && r+="pins left; "
	ip -n $NS -d link show dev $1 2>/dev/null | grep -q 'prog/xdp' && r+="XDP left; "
	[ -n "$(tcx $1)" ] && r+="TCX program left; "
	[ -n "$(tc -n $NS filter show dev $1 ingress 2>/dev/null)" ] && r+="TC filter left; "
	tc -n $NS qdisc show dev $1 2>/dev/null | grep -q clsact && r+="clsact left; "
	echo -n "$r"
}

# expect NAME RC SUBSTRING CMD...: the command exits RC and says SUBSTRING.
# With CLEAN=IFACE set, also checks that nothing is left on IFACE.
expect() {
	local name=$1 want=$2 sub=$3 why=""
	shift 3
	run "$@"
	[ "$RC" = "$want" ] || why+="exit $RC, want $want; "
	[[ $OUT == *"$sub"* ]] || why+="no '$sub' in: $(echo "$OUT" | head -c 400); "
	[ -n "${CLEAN:-}" ] && why+=$(leftovers "$CLEAN")
	if [ -z "$why" ]; then ok "$name"; else fail "$name" "$why"; fi
}

# pyjson NAME PYTHON-EXPR JSON: ok if the expression over d (the parsed
# JSON) is true; the expression may also raise, which fails the case.
pyjson() {
	local name=$1 expr=$2 res
	res=$(python3 -c "
import json, sys
d = json.loads(sys.argv[1])
print('yes' if ($expr) else 'no')
" "$3" 2>&1)
	if [ "$res" = yes ]; then ok "$name"; else fail "$name" "$expr: ${res:0:300}"; fi
}

# expect_port_map NAME DICT: the set bytes of $A's pinned sg_port_map,
# {port: bits}, are DICT. The dump (64 KiB of bytes as JSON) goes through a
# file: it is too long for an argument.
expect_port_map() {
	local res
	if ! bpftool -j map dump pinned /sys/fs/bpf/synguard/$A/sg_port_map >"$TMP/portmap" 2>&1; then
		command -v bpftool >/dev/null || { skip "$1" "no bpftool"; return; }
		fail "$1" "$(head -c 300 "$TMP/portmap")"
		return
	fi
	res=$(python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
print({i: int(b, 16) for i, b in enumerate(d[0]['value']) if int(b, 16)})
" "$TMP/portmap" 2>&1)
	[ "$res" = "$2" ] && ok "$1" || fail "$1" "${res:0:300}"
}

# The counter names and help texts, read from the header's X-macro.
header_counters() {
	python3 - "$HDR" "$1" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
block = text[text.index('#define SG_COUNTERS(X)'):]
lines = []
for line in block.split('\n'):
    lines.append(line)
    if not line.rstrip().endswith('\\'):
        break
block = ' '.join(l.rstrip('\\') for l in lines)
items = re.findall(r'X\(\s*(\w+)\s*,\s*"([^"]*)"\s*,\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)', block)
for _, name, helps in items:
    if sys.argv[2] == 'names':
        print(name)
    else:
        print(name + '\t' + ''.join(re.findall(r'"((?:[^"\\]|\\.)*)"', helps)))
EOF
}

header_define() {
	awk -v n="$1" '$1 == "#define" && $2 == n { print $3 }' "$HDR"
}

# nsysctl NAME=VALUE: a net.ipv4 sysctl of the CLI's namespace, never the
# host's (they are per network namespace).
nsysctl() {
	nsenter --net=/var/run/netns/$NS sysctl -qw "net.ipv4.$1" >/dev/null ||
		fail "setup: sysctl net.ipv4.$1 in $NS" "cannot set it"
}

# cfg_field NAME: FIELD gets a field of $A's pinned config map, as bpftool
# formats it from the map's BTF (the raw state, not what status makes of it).
cfg_field() {
	FIELD=$(bpftool -j map dump pinned /sys/fs/bpf/synguard/$A/sg_config 2>/dev/null |
		python3 -c "import json, sys; print(json.load(sys.stdin)[0]['formatted']['value']['$1'])" 2>&1)
}
SYSCTL_ALL=$(($(header_define SG_SYSCTL_ALL)))
sysctl_bit() {
	sed -n "s/^#define $1 (1u << \([0-9]*\)).*/\1/p" "$HDR"
}
SYSCTL_SACK=$((1 << $(sysctl_bit SG_SYSCTL_SACK)))
SYSCTL_TS=$((1 << $(sysctl_bit SG_SYSCTL_TS)))

# ---------------------------------------------------------------- setup

if [ "$(id -u)" != 0 ]; then
	echo "FAIL setup: must run as root"
	echo "0 passed, 1 failed"
	exit 1
fi
if [ ! -x "$BIN" ]; then
	echo "FAIL setup: $BIN not built (run make)"
	echo "0 passed, 1 failed"
	exit 1
fi
TMP=$(mktemp -d /tmp/sgcli.XXXXXX)
setup() {
	ip netns add $NS && ip netns add $NSC &&
		ip -n $NS link add $A type veth peer name $B netns $NSC &&
		ip -n $NS link add $F type veth peer name $G &&
		ip -n $NS addr add 192.0.2.2/24 dev $A &&
		ip -n $NSC addr add 192.0.2.1/24 dev $B &&
		ip -n $NS link set $A up && ip -n $NSC link set $B up &&
		ip -n $NS link set $F up && ip -n $NS link set $G up || return 1
	# No native XDP: dummy where the kernel has it, else a bridge.
	if ip -n $NS link add $D type dummy 2>/dev/null; then
		DKIND=dummy
	else
		ip -n $NS link add $D type bridge || return 1
		DKIND=bridge
	fi
	ip -n $NS link set $D up
}
if ! setup; then
	echo "FAIL setup: cannot create the namespaces and links"
	echo "0 passed, 1 failed"
	exit 1
fi

# ---------------------------------------------------------------- help

expect "help lists every command" 0 "" "$BIN" help
for c in attach detach status stats config key help; do
	[[ $OUT == *"  $c "* ]] || fail "help lists $c" "missing"
done
expect "--help" 0 "Commands:" "$BIN" --help
expect "no command: usage, exit 2" 2 "Usage: synguard" "$BIN"
for c in attach detach status stats config key; do
	expect "$c --help" 0 "Usage: synguard $c" "$BIN" $c --help
done
run "$BIN" attach --help
why=""
for o in --mode --key-file --ports --mss4 --mss6 --wscale --ttl --window \
	--cookie-lifetime --ecn --verbose; do
	[[ $OUT == *"$o "* ]] || why+="$o; "
done
[ -z "$why" ] && ok "attach --help lists every option" || fail "attach --help lists every option" "missing $why"
run "$BIN" config --help
why=""
for k in ports= mss4= mss6= wscale= ttl= window= cookie_lifetime= ecn=; do
	[[ $OUT == *"$k"* ]] || why+="$k; "
done
[ -z "$why" ] && ok "config --help lists every key" || fail "config --help lists every key" "missing $why"
expect "help COMMAND" 0 "Usage: synguard key" "$BIN" help key
# Issue 6: the limits, the lists and run.
run "$BIN" help
HELP0=$OUT
for c in run allow deny; do
	[[ $HELP0 == *"  $c "* ]] && ok "help lists $c" || fail "help lists $c" "missing"
	expect "$c --help" 0 "Usage: synguard $c" "$BIN" $c --help
done
run "$BIN" attach --help
why=""
for o in "--cookies always|auto" --syn-rate-on --syn-rate-off --hold-time \
	--reflection-drop --src-syn-rate --src-syn-burst --src-ack-rate \
	--src-ack-burst --src-prefix4 --src-prefix6 "--key-rotate SEC"; do
	[[ $OUT == *"$o "* ]] || why+="$o; "
done
[[ $OUT == *"synguard run"* ]] || why+="no pointer to run; "
[ -z "$why" ] && ok "attach --help lists the limits and --key-rotate (for run)" ||
	fail "attach --help lists the limits and --key-rotate (for run)" "missing $why"
# The defaults shown are the header's: each option's entry, lines joined.
res=$(python3 - "$OUT" <<EOF
import re, sys
text = sys.argv[1]
opts = {m.group(1): ' '.join(m.group(2).split()) for m in re.finditer(
    r'^ +(?:-\w, )?--([\w-]+)(.*?)(?=^ +(?:-\w, )?--|^\S|\Z)', text, re.M | re.S)}
want = {'cookies': '(default auto)',
        'syn-rate-on': 'default $(header_define SG_DEFAULT_SYN_RATE_ON))',
        'syn-rate-off': 'default $(header_define SG_DEFAULT_SYN_RATE_OFF))',
        'hold-time': 'default $(header_define SG_DEFAULT_HOLD_TIME))',
        'src-syn-rate': '0 = off, default off)', 'src-ack-rate': '0 = off, default off)',
        'src-prefix4': '(1..32, default $(header_define SG_DEFAULT_SRC_PREFIX4))',
        'src-prefix6': '(1..128, default $(header_define SG_DEFAULT_SRC_PREFIX6))',
        'reflection-drop': '(default on)', 'enforce': 'what synguard would have done (default on)'}
print('; '.join('%s: %r' % (k, opts.get(k)) for k, v in want.items() if v not in opts.get(k, '')))
EOF
)
[ -z "$res" ] && ok "attach --help shows the header's defaults" || fail "attach --help shows the header's defaults" "$res"
run "$BIN" config --help
why=""
for k in cookies= syn_rate_on= syn_rate_off= hold_time= reflection_drop= src_syn_rate= \
	src_syn_burst= src_ack_rate= src_ack_burst= src_prefix4= src_prefix6=; do
	[[ $OUT == *"$k"* ]] || why+="$k; "
done
[ -z "$why" ] && ok "config --help lists the limits" || fail "config --help lists the limits" "missing $why"
run "$BIN" run --help
why=""
for o in --key-rotate --mode --key-file --ports --cookies --src-prefix6 --enforce; do
	[[ $OUT == *"$o "* ]] || why+="$o; "
done
[ -z "$why" ] && ok "run --help: attach's options and --key-rotate" || fail "run --help" "missing $why"

# ---------------------------------------------------------------- prefixes

expect "prefix 'st' is ambiguous" 2 "ambiguous command 'st': could be status, stats" "$BIN" st
expect "prefix 'sta' is ambiguous" 2 "ambiguous" "$BIN" sta
expect "prefix 'stat' runs status" 0 "Usage: synguard status" "$BIN" stat --help
expect "prefix 'a' runs attach" 0 "Usage: synguard attach" "$BIN" a --help
expect "prefix 'det' runs detach" 0 "Usage: synguard detach" "$BIN" det --help
expect "unknown command" 2 "unknown command 'frobnicate'" "$BIN" frobnicate
expect "prefix 'al' runs allow" 0 "Usage: synguard allow" "$BIN" al --help
expect "prefix 'd' is ambiguous (detach, deny)" 2 "could be detach, deny" "$BIN" d
expect "prefix 'r' runs run" 0 "Usage: synguard run" "$BIN" r --help
expect "prefix 'rel' runs reload" 0 "Usage: synguard reload" "$BIN" rel --help

# ---------------------------------------------------------------- config files
# reload --check reads a file as run and reload do, and changes nothing.
cf=$TMP/cli.conf
printf 'ports = 80\nkey_rotate = 3600  # hourly\nmode = skb\ngateway = on\n' >"$cf"
expect "config file: valid" 0 "$cf: valid" "$BIN" reload $A --check --config "$cf"
printf 'ports = 80\n\n# a comment\nmss4 = 100\n' >"$cf"
expect "config file: bad value at line 4" 2 "$cf:4: invalid mss4 100: out of range 536..9216" "$BIN" reload $A --check --config "$cf"
printf 'ports = 80\nports = 443\n' >"$cf"
expect "config file: a key twice" 2 "$cf:2: ports is set twice (first on line 1)" "$BIN" reload $A --check --config "$cf"
printf 'ports = 80\nmode\n' >"$cf"
expect "config file: a line without =" 2 "$cf:2: expected \`key = value\`" "$BIN" reload $A --check --config "$cf"
printf 'ports = 80\ngateway = yes\n' >"$cf"
expect "config file: a flag takes on or off" 2 "$cf:2: invalid gateway 'yes': must be on or off" "$BIN" reload $A --check --config "$cf"
printf 'ports = 80\nconfig = x\n' >"$cf"
expect "config file: config is no key" 2 "$cf:2: unknown key 'config'" "$BIN" reload $A --check --config "$cf"
printf 'mss4 = 1400\n' >"$cf"
expect "config file: ports required" 2 "needs --ports LIST (or ports = LIST in its config file)" "$BIN" reload $A --check --config "$cf"
printf 'ports = 80\ndeny_file = cli.deny\n' >"$cf"
printf '# bad\n192.0.2.0/24\n2001:db8::1/129\n' >"$TMP/cli.deny"
expect "list file: bad CIDR at line 3" 2 "$TMP/cli.deny:3: invalid CIDR '2001:db8::1/129': prefix length 129 out of range" "$BIN" reload $A --check --config "$cf"
expect "reload: no config file" 2 "no config file: /etc/synguard/$A.conf does not exist" "$BIN" reload $A
expect "attach does not take --config" 2 "attach does not take --config" "$BIN" attach $A --ports 80 --config "$cf"
expect "allow --config needs --save" 2 "--config goes with add --save or del --save" "$BIN" allow $A add 192.0.2.1 --config "$cf"
printf 'ports = 80\n' >"$cf"
expect "allow --save: the config names no allow_file" 2 "names no allow_file" "$BIN" allow $A add 192.0.2.1 --save --config "$cf"

# ---------------------------------------------------------------- usage errors

CLEAN=$A
expect "unknown option" 2 "unknown option '--bogus'" sg attach $A --ports 80 --bogus
expect "option without its value" 2 "needs a value" sg attach $A --ports
expect "attach without --ports" 2 "attach needs --ports" sg attach $A
expect "attach without interface" 2 "attach takes one interface" sg attach --ports 80
expect "bad --mode" 2 "must be native or skb" sg attach $A --ports 80 --mode turbo
unset CLEAN

# ---------------------------------------------------------------- not root

if command -v setpriv >/dev/null; then
	NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	for c in "status" "stats" "attach $A --ports 80" "detach $A" "config $A ttl=9" "key $A rotate" \
		"run $A --ports 80" "allow $A list" "deny $A add 192.0.2.0/24"; do
		expect "not root: $c" 1 "must run as root" "${NOBODY[@]}" "$BIN" $c
	done
else
	skip "not root" "no setpriv (util-linux) to drop root"
fi

# ---------------------------------------------------------------- interfaces

CLEAN=$A
expect "unknown interface" 1 "interface 'nosuch$ID' not found" sg attach nosuch$ID --ports 80
expect "interface name with a slash" 2 "invalid interface name" sg attach a/b --ports 80
expect "interface name too long" 2 "invalid interface name" sg attach abcdefghijklmnopq --ports 80
unset CLEAN

# ---------------------------------------------------------------- port lists

CLEAN=$A
for bad in "80,,443:syntax error" "80-:syntax error" "http:syntax error" \
	"80,443,:syntax error" ":syntax error" "80 443:syntax error" \
	"0:port 0" "10-0:port 0" "65536:above 65535" "1-70000:above 65535" \
	"99999999999999999999:above 65535" "100-90:range 100-90 is reversed"; do
	val=${bad%%:*}
	expect "--ports '$val'" 2 "${bad#*:}" sg attach $A --ports "$val"
done
unset CLEAN

# ---------------------------------------------------------------- ranges

LMIN=$(header_define SG_LIFETIME_MIN)
LMAX=$(header_define SG_LIFETIME_MAX)
CLEAN=$A
for bad in "mss4 535 536..9216" "mss4 9217 536..9216" "mss6 1219 1220..9216" \
	"mss6 9217 1220..9216" "wscale 15 0..14" "ttl 0 1..255" "ttl 256 1..255" \
	"window 0 1..65535" "window 65536 1..65535" \
	"cookie-lifetime $((LMIN - 1)) $LMIN..$LMAX" \
	"cookie-lifetime $((LMAX + 1)) $LMIN..$LMAX"; do
	set -- $bad
	expect "--$1 $2 out of range" 2 "out of range $3" sg attach $A --ports 80 --$1 $2
done
expect "--mss4 not a number" 2 "not a number" sg attach $A --ports 80 --mss4 1e3
expect "--mss4 negative" 2 "not a number" sg attach $A --ports 80 --mss4 -5
expect "--ecn neither on nor off" 2 "must be on or off" sg attach $A --ports 80 --ecn maybe
for bad in "syn-rate-on 0 1..100000000" "syn-rate-on 100000001 1..100000000" \
	"syn-rate-off 0 1..100000000" "syn-rate-off 100000001 1..100000000" \
	"hold-time 0 1..86400" "hold-time 86401 1..86400" \
	"src-syn-rate 10000001 0..10000000" "src-ack-rate 10000001 0..10000000" \
	"src-syn-burst 0 1..1000000" "src-syn-burst 1000001 1..1000000" \
	"src-ack-burst 0 1..1000000" "src-ack-burst 1000001 1..1000000" \
	"src-prefix4 0 1..32" "src-prefix4 33 1..32" "src-prefix6 0 1..128" "src-prefix6 129 1..128"; do
	set -- $bad
	expect "--$1 $2 out of range" 2 "invalid --$1 $2: out of range $3" sg attach $A --ports 80 --$1 $2
done
expect "--cookies neither always nor auto" 2 "invalid --cookies 'sometimes': must be always or auto" \
	sg attach $A --ports 80 --cookies sometimes
expect "--reflection-drop neither on nor off" 2 "must be on or off" sg attach $A --ports 80 --reflection-drop yes
expect "--src-syn-rate not a number" 2 "not a number" sg attach $A --ports 80 --src-syn-rate fast
expect "--syn-rate-off above --syn-rate-on" 2 \
	"invalid settings: --syn-rate-off 200 is above --syn-rate-on 100; cookies auto engages at --syn-rate-on" \
	sg attach $A --ports 80 --syn-rate-on 100 --syn-rate-off 200
expect "--syn-rate-off above the default --syn-rate-on" 2 \
	"--syn-rate-off $(($(header_define SG_DEFAULT_SYN_RATE_ON) + 1)) is above --syn-rate-on $(header_define SG_DEFAULT_SYN_RATE_ON)" \
	sg attach $A --ports 80 --syn-rate-off $(($(header_define SG_DEFAULT_SYN_RATE_ON) + 1))
expect "attach --key-rotate refused, points to run" 2 "attach does not take --key-rotate: it exits at once" \
	sg attach $A --ports 80 --key-rotate 200
[[ $OUT == *"synguard run IFACE"* ]] && ok "attach --key-rotate: the message names run" ||
	fail "attach --key-rotate: the message names run" "$OUT"
unset CLEAN

# ---------------------------------------------------------------- key files

K=$TMP/keys
mkdir -p "$K"
(umask 077 && openssl rand -hex 16 >"$K/good" 2>/dev/null) ||
	(umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$K/good" && echo >>"$K/good")
install -m 644 "$K/good" "$K/world"
install -m 640 "$K/good" "$K/group"
head -c 31 "$K/good" >"$K/short"
{ head -c 32 "$K/good"; echo 0123; } >"$K/long"
{ echo -n g; tail -c +2 "$K/good"; } >"$K/nothex"
echo 00000000000000000000000000000000 >"$K/zero"
chmod 600 "$K/short" "$K/long" "$K/nothex" "$K/zero"
mkdir "$K/dir"
CLEAN=$A
expect "key file missing" 1 "key file $K/missing not found" sg attach $A --ports 80 --key-file "$K/missing"
expect "key file unreadable (a directory)" 1 "not readable" sg attach $A --ports 80 --key-file "$K/dir"
expect "key file world-readable" 1 "chmod 600 $K/world" sg attach $A --ports 80 --key-file "$K/world"
expect "key file group-readable" 1 "chmod 600 $K/group" sg attach $A --ports 80 --key-file "$K/group"
expect "key file too short" 1 "wrong size (31 bytes)" sg attach $A --ports 80 --key-file "$K/short"
expect "key file too long" 1 "wrong size (37 bytes)" sg attach $A --ports 80 --key-file "$K/long"
expect "key file not hex" 1 "not a hex digit" sg attach $A --ports 80 --key-file "$K/nothex"
expect "key file all zero" 1 "all-zero key" sg attach $A --ports 80 --key-file "$K/zero"
unset CLEAN

# ---------------------------------------------------------------- kernel

CLEAN=$A
expect "kfunc missing, --engine own (BTF of an object that only calls it)" 1 "requires Linux 6.9 or later" \
	env SYNGUARD_VMLINUX_BTF="$ROOT/build/synguard.bpf.o" nsenter --net=/var/run/netns/$NS "$BIN" attach $A --ports 80 --engine own
if command -v clang >/dev/null && echo 'int sg_nothing;' >"$TMP/nokfunc.c" &&
	clang -g -O2 -target bpf -c "$TMP/nokfunc.c" -o "$TMP/nokfunc.o" 2>/dev/null; then
	expect "kfunc missing, --engine own (BTF without it)" 1 "has no kfunc bpf_sk_assign_tcp_reqsk" \
		env SYNGUARD_VMLINUX_BTF="$TMP/nokfunc.o" nsenter --net=/var/run/netns/$NS "$BIN" attach $A --ports 80 --engine own
else
	skip "kfunc missing, --engine own (BTF without it)" "clang cannot build a BTF file here"
fi
expect "kernel BTF unreadable" 1 "cannot read the kernel's BTF" \
	env SYNGUARD_VMLINUX_BTF="$TMP/none" nsenter --net=/var/run/netns/$NS "$BIN" attach $A --ports 80
expect "--engine bogus" 2 "invalid --engine 'bogus': must be auto, own or kernel" sg attach $A --ports 80 --engine bogus
expect "kernel engine refuses --key-file" 1 "--key-file (a key shared by hosts) needs the own engine" \
	sg attach $A --ports 80 --engine kernel --key-file "$K/good"
expect "kernel engine refuses --cookie-lifetime" 1 "--cookie-lifetime needs the own engine" \
	sg attach $A --ports 80 --engine kernel --cookie-lifetime 60
expect "kernel engine refuses a --wscale not the kernel's" 1 "the kernel picks its own window scale" \
	sg attach $A --ports 80 --engine kernel --wscale 1
unset CLEAN
# Sysctls of the namespace before the kernel engine sets them.
ip netns exec $NS sysctl -qw net.ipv4.tcp_syncookies=1
SC0=$(ip netns exec $NS sysctl -n net.ipv4.tcp_syncookies)
TS0=$(ip netns exec $NS sysctl -n net.ipv4.tcp_timestamps)
if [ -e "$TMP/nokfunc.o" ]; then
	expect "kfunc missing, auto: the kernel engine" 0 "engine kernel (auto: the kernel has no bpf_sk_assign_tcp_reqsk" \
		env SYNGUARD_VMLINUX_BTF="$TMP/nokfunc.o" nsenter --net=/var/run/netns/$NS "$BIN" attach $A --ports 80
else
	expect "--engine kernel" 0 "engine kernel (--engine)" sg attach $A --ports 80 --engine kernel
fi
run ip netns exec $NS sysctl -n net.ipv4.tcp_syncookies
[ "$STDOUT" = 2 ] && ok "kernel engine: tcp_syncookies 2 while attached" ||
	fail "kernel engine: tcp_syncookies 2 while attached" "$STDOUT"
run sg status $A --json
pyjson "kernel engine: status --json engine, why, healthy" \
	"[i for i in (d['interfaces'] if isinstance(d['interfaces'], list) else d['interfaces'].values()) if i['iface'] == '$A'][0]['engine'] == 'kernel' and [i for i in (d['interfaces'] if isinstance(d['interfaces'], list) else d['interfaces'].values()) if i['iface'] == '$A'][0]['healthy']" "$STDOUT"
expect "kernel engine: status text names the engine" 0 "$A: engine kernel (" sg status $A
expect "kernel engine refuses key rotate" 1 "runs the kernel engine, which cannot take a key of ours" sg key $A rotate
expect "kernel engine refuses config wscale" 1 "cannot offer a window scale other than the kernel's" sg config $A wscale=1
expect "kernel engine: detach sets the sysctls back" 0 "tcp_syncookies set back to $SC0" sg detach $A
run ip netns exec $NS sysctl -n net.ipv4.tcp_syncookies net.ipv4.tcp_timestamps
[ "$STDOUT" = "$SC0"$'\n'"$TS0" ] && ok "kernel engine: sysctls as before attach" ||
	fail "kernel engine: sysctls as before attach" "$STDOUT, want $SC0 $TS0"

# The per-source table's size: set at attach, the kernel map has it, status
# and the metrics say it; out of range is refused before anything changes.
CLEAN=$A expect "--src-table below 1024" 2 "invalid --src-table '1023': entries, from 1024 to 4194304" \
	sg attach $A --ports 80 --src-table 1023
CLEAN=$A expect "--src-table above 4194304" 2 "invalid --src-table '4194305'" sg attach $A --ports 80 --src-table 4194305
CLEAN=$A expect "--src-table not a number" 2 "invalid --src-table 'many'" sg attach $A --ports 80 --src-table many
expect "--src-table 2048: attached" 0 "$A: protected" sg attach $A --ports 80 --src-table 2048
run bpftool -j map show pinned /sys/fs/bpf/synguard/$A/sg_src
pyjson "--src-table 2048: the kernel's sg_src holds 2048" "d['max_entries'] == 2048 and d['name'] == 'sg_src'" "$STDOUT"
run sg status $A --json
pyjson "--src-table 2048: status shows the size" "d['interfaces'][0]['src_table'] == {'entries': 0, 'size': 2048}" "$STDOUT"
expect "--src-table 2048: stats --prometheus shows the size" 0 "synguard_src_table_size{iface=\"$A\"} 2048" sg stats $A --prometheus
expect "--src-table: detach" 0 "" sg detach $A

# Monitor mode from attach: the setting in the map, and every view says it.
MONITOR_NOTE="monitor mode: counters say what synguard would have done; nothing is dropped or answered"
CLEAN=$A expect "--enforce neither on nor off" 2 "invalid --enforce 'maybe': must be on or off" \
	sg attach $A --ports 80 --enforce maybe
expect "--enforce off: attached" 0 "$A: protected" sg attach $A --ports 80 --enforce off
cfg_field monitor
[ "$FIELD" = 1 ] && ok "--enforce off: the map holds monitor 1" || fail "--enforce off: the map holds monitor 1" "$FIELD"
run sg status $A
[[ $OUT == *"$A: $MONITOR_NOTE (enforce off; \`synguard config $A enforce=on\` to enforce)"* ]] &&
	ok "--enforce off: status (text) says so" || fail "--enforce off: status (text) says so" "${OUT:0:600}"
run sg status $A --json
pyjson "--enforce off: status --json says so" "d['interfaces'][0]['enforcing'] is False
	and d['interfaces'][0]['monitor'] == '$MONITOR_NOTE' and d['interfaces'][0]['config']['enforce'] is False" "$STDOUT"
run sg stats $A
[ "$(echo "$OUT" | sed -n 2p)" = "  $MONITOR_NOTE" ] && ok "--enforce off: stats (text) says so under the interface" ||
	fail "--enforce off: stats (text) says so" "${OUT:0:300}"
run sg stats $A --json
pyjson "--enforce off: stats --json says so" "d['interfaces']['$A']['enforcing'] is False
	and d['interfaces']['$A']['monitor'] == '$MONITOR_NOTE'" "$STDOUT"
run sg stats $A --prometheus
why=""
echo "$OUT" | grep -qxF "# TYPE synguard_enforcing gauge" || why+="no TYPE; "
echo "$OUT" | grep -qxF "synguard_enforcing{iface=\"$A\"} 0" || why+="no sample 0; "
[ -z "$why" ] && ok "--enforce off: stats --prometheus synguard_enforcing 0" ||
	fail "--enforce off: stats --prometheus synguard_enforcing 0" "$why"
expect "--enforce off: detach does not drain (nothing was answered)" 0 "" sg detach $A
[[ $OUT == *draining* ]] && fail "--enforce off: no drain" "$OUT" || ok "--enforce off: no drain"

# A dummy (or bridge) has no native XDP: attach fails after the TC handoff
# is in place, so this also checks the rollback of the TC filter and clsact.
CLEAN=$D expect "no native XDP ($DKIND): suggests --mode skb, rolls back" 1 "try --mode skb" sg attach $D --ports 80

# ---------------------------------------------------------------- bpffs

CLEAN=$A expect "ip netns exec: refused, says nsenter" 1 "nsenter --net=/run/netns/$NS" \
	ip netns exec $NS "$BIN" attach $A --ports 80
# In a private mount namespace without bpffs: attach mounts it, and the
# rest works on that mount (which goes away with the namespace).
run unshare -m --propagation private bash -c "
	while mountpoint -q /sys/fs/bpf && [ \"\$(stat -f -c %T /sys/fs/bpf)\" = bpf_fs ]; do umount /sys/fs/bpf || exit 9; done
	nsenter --net=/var/run/netns/$NS '$BIN' attach $A --ports 80 || exit 1
	nsenter --net=/var/run/netns/$NS '$BIN' status $A | grep -q 'in place' || exit 2
	nsenter --net=/var/run/netns/$NS '$BIN' detach $A >/dev/null || exit 3"
why=""
[ "$RC" = 0 ] || why+="exit $RC; "
[[ $OUT == *"mounted it at /sys/fs/bpf"* ]] || why+="no mount message in: ${OUT:0:300}; "
why+=$(leftovers $A)
[ -z "$why" ] && ok "bpffs not mounted: attach mounts it" || fail "bpffs not mounted: attach mounts it" "$why"
CLEAN=$A expect "bpffs not mounted and cannot be: says how" 1 "mount it with \`mount -t bpf bpf /sys/fs/bpf\`" \
	unshare -m --propagation private bash -c "
	while mountpoint -q /sys/fs/bpf && [ \"\$(stat -f -c %T /sys/fs/bpf)\" = bpf_fs ]; do umount /sys/fs/bpf || exit 9; done
	mount -t tmpfs -o ro,size=64k sgcli /sys/fs || exit 9
	exec nsenter --net=/var/run/netns/$NS '$BIN' attach $A --ports 80"

# ---------------------------------------------------------------- not protected

for c in "detach $A" "config $A ttl=9" "key $A rotate" "status $A" "stats $A" \
	"allow $A list" "deny $A list" "allow $A add 192.0.2.0/24" "deny $A del 192.0.2.0/24"; do
	expect "not protected: $c" 1 "$A is not protected by synguard" sg $c
done

# ---------------------------------------------------------------- host sysctls

# tcp_syncookies=0 makes the kernel refuse every handoff: attach and run
# refuse it, leaving nothing behind. The namespace's sysctl, not the host's.
nsysctl tcp_syncookies=0
CLEAN=$A expect "attach with tcp_syncookies=0 refused" 1 \
	"net.ipv4.tcp_syncookies is 0 in this network namespace: the kernel refuses every connection synguard hands off; set it to 1 (sysctl -w net.ipv4.tcp_syncookies=1)" \
	sg attach $A --ports 80
CLEAN=$A expect "run with tcp_syncookies=0 refused" 1 "net.ipv4.tcp_syncookies is 0" sg run $A --ports 80
nsysctl tcp_syncookies=1

# ---------------------------------------------------------------- life cycle

run sg attach $A --ports 80,443,8000-8100 --mss4 1400
ATTACH_OUT=$OUT
why=""
[ "$RC" = 0 ] || why+="exit $RC: $OUT; "
[ -d /sys/fs/bpf/synguard/$A ] || why+="no pins; "
XDP_ID=$(ip -n $NS -d link show dev $A | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p')
[ -n "$XDP_ID" ] || why+="no XDP on $A; "
# Linux 6.6+: the TC program on a TCX link that the pins keep, no qdisc.
read -r TC_LINK TC_ID <<<"$(tcx_link_of $A)"
[ -n "$TC_ID" ] && bpftool prog show id "$TC_ID" | grep -q " name synguard_tc " ||
	why+="no TCX link of synguard_tc pinned ($TC_LINK $TC_ID); "
[ "$(tcx $A)" = "$TC_ID" ] || why+="TCX ingress of $A runs '$(tcx $A)', not $TC_ID; "
[[ $ATTACH_OUT == *"TC prog $TC_ID (tcx)"* ]] || why+="attach does not name the TCX program; "
tc -n $NS qdisc show dev $A | grep -q clsact && why+="a clsact qdisc was added; "
[ -n "$(tc -n $NS filter show dev $A ingress)" ] && why+="a TC filter was added; "
[ -z "$why" ] && ok "attach" || fail "attach" "$why"
[[ $ATTACH_OUT == *libbpf:* ]] && fail "libbpf quiet without -v" "$ATTACH_OUT" || ok "libbpf quiet without -v"

# Seen from another network namespace (the host's), where $A does not exist.
run "$BIN" status $A --json
pyjson "status from another netns: says so" "d['interfaces'][0]['other_netns'] is True and not d['interfaces'][0]['present']" "$STDOUT"
expect "detach from another netns refused" 1 "run detach there" "$BIN" detach $A
[ -d /sys/fs/bpf/synguard/$A ] && ok "detach from another netns keeps the pins" || fail "detach from another netns keeps the pins" "pins removed"

expect "second attach refused" 1 "$A is already protected; use \`synguard config $A" sg attach $A --ports 22
expect "run on a protected interface refused" 1 "$A is already protected" sg run $A --ports 22

# The same name in another namespace is another interface: protected too,
# in a pin directory of its own ($A@<netns inode>), each namespace seeing
# its own.
NS2=sgcli2$ID
sg2() { nsenter --net=/var/run/netns/$NS2 "$BIN" "$@"; }
if ip netns add $NS2 && ip -n $NS2 link add $A type veth peer name sgc${ID}y &&
	ip -n $NS2 link set $A up && ip -n $NS2 link set sgc${ID}y up; then
	A2DIR=/sys/fs/bpf/synguard/$A@$(stat -L -c %i /var/run/netns/$NS2)
	run sg2 attach $A --ports 22 --mode skb
	why=""
	[ "$RC" = 0 ] || why+="exit $RC: $OUT; "
	[ -d "$A2DIR" ] || why+="no $A2DIR; "
	[ -z "$why" ] && ok "same name in another namespace: attach" ||
		fail "same name in another namespace: attach" "$why"
	run sg2 status $A --json
	pyjson "same name in another namespace: its status" "d['interfaces'][0]['healthy'] and d['interfaces'][0]['ports'] == '22'" "$STDOUT"
	run sg status $A --json
	pyjson "same name in another namespace: the first one's status unchanged" "d['interfaces'][0]['healthy'] and d['interfaces'][0]['ports'] == '80,443,8000-8100'" "$STDOUT"
	run sg2 status --json
	pyjson "same name in another namespace: listed once there, as its own" "[i['iface'] for i in d['interfaces']].count('$A') == 1 and [i for i in d['interfaces'] if i['iface'] == '$A'][0]['ports'] == '22'" "$STDOUT"
	run sg2 detach $A
	why=""
	[ "$RC" = 0 ] || why+="exit $RC: $OUT; "
	[ -e "$A2DIR" ] && why+="$A2DIR left; "
	[ -d /sys/fs/bpf/synguard/$A ] || why+="the first $A's pins went too; "
	ip -n $NS2 -d link show dev $A | grep -q 'prog/xdp' && why+="XDP left on $NS2's $A; "
	[ -z "$why" ] && ok "same name in another namespace: detach leaves the first" ||
		fail "same name in another namespace: detach leaves the first" "$why"
	[ -d "$A2DIR" ] && rm -rf "$A2DIR"
else
	fail "same name in another namespace" "cannot make namespace $NS2 with a veth $A"
fi
ip netns del $NS2 2>/dev/null

run sg status
why=""
[ "$RC" = 0 ] || why+="exit $RC; "
line=$(echo "$OUT" | awk -v i=$A '$1 == i' | head -1)
for w in native single "$XDP_ID" "in place" 80,443,8000-8100; do
	[[ $line == *"$w"* ]] || why+="no '$w' in '$line'; "
done
echo "$OUT" | awk -v i=$A '$1 == i' | sed -n 2p | grep -q 1400 || why+="no mss4 1400 in the settings; "
# Aligned: PORTS starts in the header where the ports start in the row.
hdr=$(echo "$OUT" | head -1)
[ "$(awk -v s="$hdr" 'BEGIN { print index(s, "PORTS") }')" = \
	"$(awk -v s="$line" 'BEGIN { print index(s, "80,443,8000-8100") }')" ] || why+="PORTS column not aligned; "
[ -z "$why" ] && ok "status (text)" || fail "status (text)" "$why${OUT:0:600}"

# The host state the programs follow: the namespace's defaults.
run sg status $A --json
pyjson "status --json: host state and wscale" "d['interfaces'][0]['host'] == dict(tcp_sack=True, tcp_timestamps=True,
	tcp_window_scaling=True, tcp_ecn=True, tcp_syncookies=True, tai_offset_s=0, current=True)
	and d['interfaces'][0]['wscale'] == dict(current=$(header_define SG_DEFAULT_WSCALE))
	and d['interfaces'][0]['host_problems'] == ''" "$STDOUT"
run sg status $A
echo "$OUT" | grep -A1 '^IFACE  *TCP-SACK  *TCP-TIMESTAMPS  *TCP-WINDOW-SCALING  *TCP-ECN  *TCP-SYNCOOKIES  *WSCALE  *PREV-WSCALE$' |
	grep -qE "^$A +on +on +on +on +on +$(header_define SG_DEFAULT_WSCALE) +none$" &&
	ok "status (text): host state and wscale" || fail "status (text): host state and wscale" "$OUT"
# A sysctl changed after attach, with no run to follow it: status says so.
nsysctl tcp_sack=0
run sg status $A --json
pyjson "status: a sysctl attach did not follow is a failure" "d['interfaces'][0]['host']['tcp_sack'] is True
	and d['interfaces'][0]['host']['current'] is False and not d['interfaces'][0]['healthy']
	and 'tcp_sack is off now' in d['interfaces'][0]['host_problems']" "$STDOUT"
[ "$RC" = 1 ] && ok "status IFACE: exit 1 while the programs do not follow a sysctl" ||
	fail "status IFACE: exit 1 while the programs do not follow a sysctl" "exit $RC"
run sg status $A
[[ $OUT == *"$A: the TCP sysctls changed and the programs do not follow (tcp_sack is off now): \`synguard run\` follows them"* ]] &&
	ok "status (text): says the sysctls changed" || fail "status (text): says the sysctls changed" "$OUT"
nsysctl tcp_sack=1
run sg status $A --json
[ "$RC" = 0 ] && ok "status: tcp_sack back: healthy" || fail "status: tcp_sack back: healthy" "exit $RC ${STDOUT:0:300}"


run sg status --json
pyjson "status --json" "[i for i in d['interfaces'] if i['iface'] == '$A' and i['mode'] == 'native'
	and i['src_table'] == {'entries': 0, 'size': 65536}
	and i['multiprog'] is False and i['xdp_attached'] and i['xdp_prog_id'] == int('${XDP_ID:-0}')
	and i['tc_handoff'] and i['tc_state'] == 'in place' and i['healthy']
	and i['ports'] == '80,443,8000-8100' and i['port_count'] == 103
	and i['port_ranges'] == [[80, 80], [443, 443], [8000, 8100]]
	and i['config']['mss4'] == 1400 and i['config']['mss6'] == $(header_define SG_DEFAULT_MSS6)
	and i['config']['ecn'] is True and i['key_slot'] == 0 and i['previous_key_valid'] is False]" "$STDOUT"
run sg status $A --json
[ "$RC" = 0 ] && ok "status IFACE: exit 0 when fully protected" || fail "status IFACE: exit 0 when fully protected" "exit $RC"
pyjson "status IFACE --json: only IFACE" "[i['iface'] for i in d['interfaces']] == ['$A']" "$STDOUT"
run sg stat $A
[ "$RC" = 0 ] && [[ $OUT == *"$A "* ]] && ok "'stat' runs status" || fail "'stat' runs status" "$RC $OUT"

if [[ $(sg status --json) == *'"multiprog":true'* ]]; then
	ok "multiprog: attached through libxdp's dispatcher"
else
	skip "multiprog coexistence" "this kernel refuses freplace (lockdown), so libxdp falls back to one program: status shows 'single', as checked above"
fi

# Traffic from the peer (connects, which fail or time out: no listener):
# ARP and a SYN to an unprotected port count as other_pass, a SYN to a
# protected port as syn_received, whatever becomes of it.
ip netns exec $NSC timeout 2 bash -c 'exec 3<>/dev/tcp/192.0.2.2/9' 2>/dev/null
ip netns exec $NSC timeout 1 bash -c 'exec 3<>/dev/tcp/192.0.2.2/80' 2>/dev/null

NAMES=$(header_counters names)
run sg stats $A
why=""
for n in $NAMES; do
	echo "$OUT" | grep -qE "^  $n +[0-9]+ " || why+="$n; "
done
[ "$RC" = 0 ] && [ -z "$why" ] && ok "stats (text) shows every counter of the header" ||
	fail "stats (text) shows every counter of the header" "exit $RC; missing $why"

run sg stats $A --json
pyjson "stats --json: exactly the header's counters" \
	"sorted(d['interfaces']['$A']['counters']) == sorted('''$NAMES'''.split())" "$STDOUT"
pyjson "stats --json: traffic counted" "d['interfaces']['$A']['counters']['other_pass'] >= 2
	and d['interfaces']['$A']['counters']['syn_received'] >= 1 and d['interfaces']['$A']['kfunc_errors'] == {}" "$STDOUT"

run sg stats --json
pyjson "stats without IFACE: every protected interface" "'$A' in d['interfaces']" "$STDOUT"

run sg stats $A --prometheus
why=""
while IFS=$'\t' read -r n h; do
	h=$(printf '%b' "$h")
	echo "$OUT" | grep -qxF "# HELP synguard_${n}_total $h" || why+="HELP $n; "
	echo "$OUT" | grep -qxF "# TYPE synguard_${n}_total counter" || why+="TYPE $n; "
	echo "$OUT" | grep -qE "^synguard_${n}_total\{iface=\"$A\"\} [0-9]+$" || why+="sample $n; "
done < <(header_counters help)
[ "$RC" = 0 ] && [ -z "$why" ] && ok "stats --prometheus: HELP, TYPE and a sample per counter, help from the header" ||
	fail "stats --prometheus" "exit $RC; $why"

run sg stats $A --interval 0.3 --count 2 --json
n=$(echo "$STDOUT" | wc -l)
if [ "$RC" = 0 ] && [ "$n" = 2 ]; then
	pyjson "stats --interval: rates per counter" \
		"sorted(d['interfaces']['$A']['rates']) == sorted('''$NAMES'''.split()) and 0.2 < d['interval'] < 1" \
		"$(echo "$STDOUT" | tail -1)"
else
	fail "stats --interval: rates per counter" "exit $RC, $n lines: ${OUT:0:300}"
fi
run sg stats $A -i 0.2 -c 2
[ "$RC" = 0 ] && [ "$(echo "$OUT" | grep -c PER-SEC)" = 2 ] && ok "stats --interval (text)" ||
	fail "stats --interval (text)" "exit $RC: ${OUT:0:300}"
expect "stats --prometheus with --interval refused" 2 "does not combine" sg stats --prometheus --interval 1
expect "stats --json with --prometheus refused" 2 "exclude each other" sg stats --json --prometheus
expect "stats --interval 0 refused" 2 "invalid --interval" sg stats --interval 0

expect "config" 0 "$A: mss4=1300 ports=22,80 ecn=off cookie_lifetime=60" \
	sg config $A mss4=1300 ports=22,80 ecn=off cookie_lifetime=60
run sg status $A --json
pyjson "config: visible in status, no reload" "d['interfaces'][0]['config']['mss4'] == 1300
	and d['interfaces'][0]['config']['ecn'] is False and d['interfaces'][0]['config']['cookie_lifetime'] == 60
	and d['interfaces'][0]['ports'] == '22,80' and d['interfaces'][0]['xdp_prog_id'] == int('${XDP_ID:-0}')
	and d['interfaces'][0]['config']['mss6'] == $(header_define SG_DEFAULT_MSS6)" "$STDOUT"
expect "config: one bad value, nothing written" 2 "nothing changed" sg config $A mss4=1200 ttl=0
run sg status $A --json
pyjson "config: the good value of a bad batch not written" "d['interfaces'][0]['config']['mss4'] == 1300" "$STDOUT"
for bad in "ports=0:port 0" "ports=1-65536:above 65535" "ports=9-8:reversed" "ports=8,,9:syntax error" \
	"mss4=535:out of range" "mss6=9217:out of range" "wscale=15:out of range" "ttl=256:out of range" \
	"window=0:out of range" "cookie_lifetime=$((LMAX + 1)):out of range" "ecn=1:must be on or off"; do
	expect "config ${bad%%:*}" 2 "${bad#*:}" sg config $A "${bad%%:*}"
done
expect "config unknown key" 2 "unknown key 'mtu': the keys are ports, mss4" sg config $A mtu=1500
expect "config without =" 2 "expected KEY=VALUE" sg config $A mss4
expect "config without settings" 2 "at least one KEY=VALUE" sg config $A
expect "config at the bounds" 0 "mss4=536 mss6=9216 wscale=14 ttl=255 window=1 cookie_lifetime=$LMIN" \
	sg config $A mss4=536 mss6=9216 wscale=14 ttl=255 window=1 cookie_lifetime=$LMIN
sg config $A cookie_lifetime=$LMAX >/dev/null
# A wscale change keeps the previous scale valid for cookies in flight
# config records it and when (the SG clock: REALTIME ns), for
# the window SG_WSCALE_PREV_NS gives (lifetime + one period + the skew).
WPREV=$(python3 -c "print($LMAX + (2**$(header_define SG_PERIOD_SHIFT) + 2**$(header_define SG_SKEW_SHIFT)) / 1e9)")
run sg status $A --json
pyjson "config wscale: status shows the previous scale and its window" "d['interfaces'][0]['wscale']['current'] == 14
	and d['interfaces'][0]['wscale']['previous'] == 7
	and $WPREV - 30 < d['interfaces'][0]['wscale']['previous_valid_s'] <= $WPREV
	and abs(d['interfaces'][0]['wscale']['changed_unix'] - __import__('time').time()) < 30" "$STDOUT"
cfg_field wscale_prev
prev=$FIELD
cfg_field wscale_changed_ns
python3 -c "import sys, time; sys.exit(0 if $prev == 7 and abs($FIELD / 1e9 - time.time()) < 30 else 1)" &&
	ok "config wscale: the map holds wscale_prev 7, wscale_changed_ns on CLOCK_REALTIME" ||
	fail "config wscale: the map's wscale_prev, wscale_changed_ns" "wscale_prev $prev, wscale_changed_ns $FIELD, now $(date +%s%N)"
expect "config wscale: a third value within the window refused" 1 \
	"refusing to change wscale of $A to 9: it changed from 7 to 14 within the cookie lifetime (${LMAX}s)" sg config $A wscale=9
[[ $OUT == *"set it back to 7, or use --force"* ]] && ok "config wscale: the refusal names the ways out" ||
	fail "config wscale: the refusal names the ways out" "$OUT"
run sg status $A --json
pyjson "config wscale: refused means unchanged" "d['interfaces'][0]['wscale']['current'] == 14 and d['interfaces'][0]['wscale']['previous'] == 7" "$STDOUT"
expect "config wscale: back to the previous one" 0 "$A: wscale=7" sg config $A wscale=7
run sg status $A --json
pyjson "config wscale: back: both stay valid" "d['interfaces'][0]['wscale']['current'] == 7 and d['interfaces'][0]['wscale']['previous'] == 14" "$STDOUT"
expect "config wscale --force" 0 "$A: wscale=3" sg config $A wscale=3 --force
run sg status $A
echo "$OUT" | grep -A1 '^IFACE .*TCP-SYNCOOKIES  *WSCALE  *PREV-WSCALE$' | grep -qE "^$A +on +on +on +on +on +3 +7 for 2m[0-9]{2}s$" &&
	ok "config wscale: status (text) shows the previous scale and its time" || fail "config wscale: status (text)" "$OUT"
expect "config wscale: the same value changes nothing" 0 "$A: wscale=3" sg config $A wscale=3
run sg status $A --json
pyjson "config wscale: the same value keeps the record" "d['interfaces'][0]['wscale']['previous'] == 7" "$STDOUT"
sg config $A wscale="$(header_define SG_DEFAULT_WSCALE)" --force >/dev/null

# ---------------------------------------------------------------- limits

LIMITS="cookies=always syn_rate_on=20000 syn_rate_off=20000 hold_time=2 reflection_drop=off \
src_syn_rate=100 src_syn_burst=5 src_ack_rate=off src_ack_burst=7 src_prefix4=24 src_prefix6=48"
expect "config: every limit" 0 "$A: $LIMITS" sg config $A $LIMITS
run sg status $A --json
pyjson "config: the limits in status --json" "all(d['interfaces'][0]['config'][k] == v for k, v in dict(
	cookies='always', syn_rate_on=20000, syn_rate_off=20000, hold_time=2, reflection_drop=False,
	src_syn_rate=100, src_syn_burst=5, src_ack_rate=0, src_ack_burst=7, src_prefix4=24,
	src_prefix6=48).items())" "$STDOUT"
pyjson "status --json: cookies always is engaged" "d['interfaces'][0]['adaptive']['state'] == 'always'
	and d['interfaces'][0]['adaptive']['engaged'] is True" "$STDOUT"
# Text: each settings table, its header over the interface's row.
run sg status $A
res=$(python3 - "$OUT" "$A" <<'EOF'
import sys
lines, want = sys.argv[1].split('\n'), {'COOKIES': 'always', 'SYN-RATE-ON': '20000/s',
    'SYN-RATE-OFF': '20000/s', 'HOLD-TIME': '2s', 'REFLECTION-DROP': 'off', 'SRC-SYN-RATE': '100/s',
    'SRC-SYN-BURST': '5', 'SRC-ACK-RATE': 'off', 'SRC-ACK-BURST': '7', 'SRC-PREFIX4': '24',
    'SRC-PREFIX6': '48', 'MSS4': '536'}
seen = {}
for i, l in enumerate(lines[:-1]):
    if l.startswith('IFACE ') and lines[i + 1].split()[:1] == [sys.argv[2]]:
        seen.update(zip(l.split(), lines[i + 1].split()))
print('; '.join('%s: %s, want %s' % (k, seen.get(k), v) for k, v in want.items() if seen.get(k) != v))
EOF
)
[ -z "$res" ] && ok "config: the limits in status (text)" || fail "config: the limits in status (text)" "$res"
expect "config: syn_rate_off above syn_rate_on" 2 \
	"invalid settings: syn_rate_off 20001 is above syn_rate_on 20000" sg config $A syn_rate_off=20001
[[ $OUT == *"nothing changed"* ]] && ok "config: cross-field error changes nothing" ||
	fail "config: cross-field error changes nothing" "$OUT"
expect "config: syn_rate_on below syn_rate_off" 2 "syn_rate_off 20000 is above syn_rate_on 19999" \
	sg config $A syn_rate_on=19999 ttl=33
run sg status $A --json
pyjson "config: nothing of a cross-field error written" "d['interfaces'][0]['config']['syn_rate_on'] == 20000
	and d['interfaces'][0]['config']['syn_rate_off'] == 20000 and d['interfaces'][0]['config']['ttl'] != 33" "$STDOUT"
# The rule holds for the result: both moved in one command is fine.
expect "config: both rates in one command" 0 "syn_rate_off=25000 syn_rate_on=30000" \
	sg config $A syn_rate_off=25000 syn_rate_on=30000
for bad in "cookies=sometimes:must be always or auto" "cookies=:must be always or auto" \
	"syn_rate_on=0:out of range 1..100000000" "syn_rate_off=100000001:out of range 1..100000000" \
	"hold_time=0:out of range 1..86400" "hold_time=86401:out of range 1..86400" \
	"reflection_drop=1:must be on or off" "src_syn_rate=-1:not a number" \
	"src_syn_rate=10000001:out of range 0..10000000" "src_ack_rate=on:not a number" \
	"src_syn_burst=0:out of range 1..1000000" "src_ack_burst=1000001:out of range 1..1000000" \
	"src_prefix4=33:out of range 1..32" "src_prefix4=0:out of range 1..32" \
	"src_prefix6=129:out of range 1..128" "src_prefix6=0:out of range 1..128"; do
	expect "config ${bad%%:*}" 2 "${bad#*:}" sg config $A "${bad%%:*}"
done
expect "config: the limits at their bounds" 0 \
	"src_syn_rate=10000000 src_syn_burst=1000000 src_prefix4=1 src_prefix6=128 hold_time=86400" \
	sg config $A src_syn_rate=10000000 src_syn_burst=1000000 src_prefix4=1 src_prefix6=128 hold_time=86400
expect "config: src_syn_rate=0 is off" 0 "src_syn_rate=off" sg config $A src_syn_rate=0
expect "config: cookies auto" 0 "$A: cookies=auto" sg config $A cookies=auto
run sg status $A --json
pyjson "status --json: cookies auto, disengaged, rate and list sizes" "d['interfaces'][0]['adaptive']['state'] == 'disengaged'
	and d['interfaces'][0]['adaptive']['engaged'] is False and d['interfaces'][0]['adaptive']['syn_rate'] == 0
	and 'last_change_unix' not in d['interfaces'][0]['adaptive'] and d['interfaces'][0]['allow_entries'] == 0
	and d['interfaces'][0]['deny_entries'] == 0" "$STDOUT"

# ---------------------------------------------------------------- monitor mode

expect "config enforce=off" 0 "$A: enforce=off" sg config $A enforce=off
[[ $OUT == *"$A: $MONITOR_NOTE"* ]] && ok "config enforce=off: says monitor mode" ||
	fail "config enforce=off: says monitor mode" "$OUT"
run sg status $A --json
pyjson "config enforce=off: status --json, the other settings kept" "d['interfaces'][0]['enforcing'] is False
	and d['interfaces'][0]['config']['enforce'] is False and d['interfaces'][0]['config']['cookies'] == 'auto'
	and d['interfaces'][0]['config']['syn_rate_on'] == 30000" "$STDOUT"
expect "config enforce=off again: no switch, no note" 0 "$A: enforce=off" sg config $A enforce=off
[[ $OUT == *"$MONITOR_NOTE"* ]] && fail "config enforce=off again: no note" "$OUT" || ok "config enforce=off again: no note"
for bad in "enforce=1" "enforce=" "enforce=monitor"; do
	expect "config $bad refused" 2 "invalid enforce '${bad#enforce=}': must be on or off" sg config $A "$bad"
done
expect "config enforce=on" 0 "$A: enforce=on" sg config $A enforce=on
[[ $OUT == *"$A: enforcing"* ]] && ok "config enforce=on: says enforcing" || fail "config enforce=on: says enforcing" "$OUT"
cfg_field monitor
[ "$FIELD" = 0 ] && ok "config enforce=on: the map holds monitor 0" || fail "config enforce=on: the map holds monitor 0" "$FIELD"
run sg status $A --json
pyjson "config enforce=on: status --json" "d['interfaces'][0]['enforcing'] is True and 'monitor' not in d['interfaces'][0]
	and d['interfaces'][0]['config']['enforce'] is True" "$STDOUT"
run sg status $A
[[ $OUT == *"$MONITOR_NOTE"* ]] && fail "config enforce=on: status (text) has no note" "${OUT:0:400}" ||
	ok "config enforce=on: status (text) has no note"
expect "config enforce=on: stats --prometheus synguard_enforcing 1" 0 "synguard_enforcing{iface=\"$A\"} 1" \
	sg stats $A --prometheus

# ---------------------------------------------------------------- lists

expect "allow add" 0 "$A: added to the allow list: 192.0.2.0/24 198.51.100.7/32 2001:db8::/32 (3 entries)" \
	sg allow $A add 192.0.2.0/24 198.51.100.7 2001:DB8:0::/32
expect "deny add" 0 "$A: added to the deny list: 203.0.113.0/24 2001:db8:bad::/48 (2 entries)" \
	sg deny $A add 203.0.113.0/24 2001:db8:bad::/48 203.0.113.0/24
run sg allow $A list
[ "$RC" = 0 ] && [ "$STDOUT" = $'192.0.2.0/24\n198.51.100.7/32\n2001:db8::/32' ] && ok "allow list" ||
	fail "allow list" "exit $RC: $OUT"
run sg deny $A list
[ "$RC" = 0 ] && [ "$STDOUT" = $'203.0.113.0/24\n2001:db8:bad::/48' ] && ok "deny list" ||
	fail "deny list" "exit $RC: $OUT"
if command -v bpftool >/dev/null; then
	run bpftool -j map dump pinned /sys/fs/bpf/synguard/$A/sg_allow4
	pyjson "allow: pinned LPM entries, value = prefix length" "sorted((int(e['key'][0], 16), [int(b, 16) for b in e['key'][4:]],
		int(e['value'][0], 16)) for e in d) == [(24, [192, 0, 2, 0], 24), (32, [198, 51, 100, 7], 32)]" "$STDOUT"
else
	skip "allow: pinned LPM entries" "no bpftool"
fi
run sg status $A --json
pyjson "lists: sizes in status --json" "d['interfaces'][0]['allow_entries'] == 3 and d['interfaces'][0]['deny_entries'] == 2" "$STDOUT"
run sg status $A
echo "$OUT" | grep -A1 '^IFACE .*ALLOW  *DENY  *SOURCES' | grep -qE "^$A +auto: disengaged +0/s +never +3 +2 +0/65536$" &&
	ok "lists: sizes in status (text)" || fail "lists: sizes in status (text)" "$OUT"
# CIDR@message: IPv6 has colons.
for bad in "192.0.2.1/24@host bits set after the first 24; did you mean the network 192.0.2.0/24, or 192.0.2.1/32" \
	"2001:db8::1/64@did you mean the network 2001:db8::/64, or 2001:db8::1/128" \
	"198.51.100.128/24@the network 198.51.100.0/24" \
	"192.0.2.0/33@prefix length 33 out of range 0..32 for IPv4" \
	"2001:db8::/129@prefix length 129 out of range 0..128 for IPv6" \
	"192.0.2.0/@prefix length '' is not a number" "192.0.2.0/-1@prefix length '-1' is not a number" \
	"192.0.2.0/24/8@is not a number" "example.com@'example.com' is not an IPv4 or IPv6 address" \
	"192.0.2.256/32@is not an IPv4 or IPv6 address" "192.0.2/24@is not an IPv4 or IPv6 address" \
	"2001:db8::g/64@is not an IPv4 or IPv6 address" "/24@'' is not an IPv4 or IPv6 address" \
	"::ffff:192.0.2.0/120@IPv4-mapped IPv6 address, which IPv4 clients never arrive as; write 192.0.2.0/24"; do
	expect "allow add ${bad%%@*}" 2 "${bad#*@}" sg allow $A add "${bad%%@*}"
done
expect "deny add: bad CIDR" 2 "host bits set" sg deny $A add 203.0.113.9/30
expect "every CIDR checked before any is written" 2 "nothing changed: 2 invalid CIDRs" \
	sg allow $A add 203.0.113.0/24 192.0.2.1/24 bogus
run sg allow $A list
[[ $STDOUT != *203.0.113.0/24* ]] && ok "a bad CIDR in a batch: none of it written" ||
	fail "a bad CIDR in a batch: none of it written" "$STDOUT"
expect "allow del of an absent entry" 1 "$A: 203.0.113.0/24 is not on the allow list" sg allow $A del 203.0.113.0/24
expect "allow del of a prefix inside an entry" 1 "192.0.2.0/25 is not on the allow list" sg allow $A del 192.0.2.0/25
expect "allow del: one absent, nothing removed" 1 "nothing changed" sg allow $A del 192.0.2.0/24 198.51.100.0/24
run sg allow $A list
[[ $STDOUT == *192.0.2.0/24* ]] && ok "allow del: all or nothing" || fail "allow del: all or nothing" "$STDOUT"
expect "allow add of an entry already there" 0 "192.0.2.0/24 is on the allow list already" sg allow $A add 192.0.2.0/24
expect "allow add of a deny entry: says deny wins" 0 "on the deny list too, with the same prefix: deny wins" \
	sg allow $A add 203.0.113.0/24
expect "allow del" 0 "$A: removed from the allow list: 198.51.100.7/32 2001:db8::/32 203.0.113.0/24 (1 entry)" \
	sg allow $A del 198.51.100.7/32 2001:db8::/32 203.0.113.0/24
expect "deny del" 0 "removed from the deny list: 2001:db8:bad::/48 (1 entry)" sg deny $A del 2001:db8:bad::/48
expect "allow without action" 2 "allow takes an interface and add, del or list" sg allow $A
expect "allow with a bad action" 2 "allow takes add, del or list after the interface, not 'flush'" sg allow $A flush
expect "allow add without CIDR" 2 "allow add and del take at least one CIDR" sg allow $A add
expect "deny list with a CIDR" 2 "deny list takes no CIDR" sg deny $A list 192.0.2.0/24
run sg status $A --json
pyjson "lists: sizes after del" "d['interfaces'][0]['allow_entries'] == 1 and d['interfaces'][0]['deny_entries'] == 1" "$STDOUT"

expect "key rotate" 0 "new key (random) is current in slot 1" sg key $A rotate
run sg status $A --json
pyjson "key rotate: previous key stays valid" "d['interfaces'][0]['key_slot'] == 1 and d['interfaces'][0]['previous_key_valid'] and d['interfaces'][0]['key_age_s'] < 5" "$STDOUT"
expect "key rotate within the lifetime refused" 1 "cookie lifetime (${LMAX}s)" sg key $A rotate
[[ $OUT == *--force* ]] && ok "key rotate refusal names --force" || fail "key rotate refusal names --force" "$OUT"
expect "key rotate --force" 0 "is current in slot 0" sg key $A rotate --force
expect "key load within the lifetime refused" 1 "or use --force" sg key $A load "$K/good"
expect "key load --force" 0 "new key ($K/good) is current in slot 1" sg key $A load "$K/good" --force
if command -v bpftool >/dev/null; then
	run bpftool -j map lookup pinned /sys/fs/bpf/synguard/$A/sg_keys key 0 0 0 0
	pyjson "key load: slot 1 holds the file's bytes" \
		"''.join(b[2:] for b in d['value'][16:32]) == open('$K/good').read().strip().lower()" "$STDOUT"
else
	skip "key load: slot 1 holds the file's bytes" "no bpftool"
fi
expect "key load world-readable" 1 "chmod 600" sg key $A load "$K/world" --force
expect "key with a bad action" 2 "rotate, or load FILE" sg key $A spin

# Serialised: a command waits while another holds the lock.
flock -x $LOCK sleep 2 &
BG+=($!)
sleep 0.3
start=$(date +%s%N)
run sg config $A ttl=63
took=$((($(date +%s%N) - start) / 1000000))
if [ "$RC" = 0 ] && [[ $OUT == *"waiting for another synguard command"* ]] && [ "$took" -gt 1000 ]; then
	ok "concurrent runs serialised by $LOCK"
else
	fail "concurrent runs serialised by $LOCK" "exit $RC after ${took} ms: $OUT"
fi

run sg detach $A
why=""
[ "$RC" = 0 ] || why+="exit $RC; "
for w in "XDP program $XDP_ID removed" "TC program $TC_ID removed (tcx)" "pins and /sys/fs/bpf/synguard/$A removed"; do
	[[ $OUT == *"$w"* ]] || why+="no '$w'; "
done
[[ $OUT == *clsact* ]] && why+="speaks of a clsact it never made; "
bpftool link show id "$TC_LINK" >/dev/null 2>&1 && why+="TCX link $TC_LINK left; "
why+=$(leftovers $A)
[ -z "$why" ] && ok "detach: no pins, no XDP, no TCX link" || fail "detach" "$why $OUT"

# ---------------------------------------------------------------- run

CLEAN=$A
expect "run --key-rotate below the lifetime + 78 s" 2 "invalid --key-rotate 137: at least 138 s (the cookie lifetime 60 s plus 78 s" \
	sg run $A --ports 80 --key-rotate 137
expect "run --key-rotate, lifetime 18: 95 s refused" 2 "at least 96 s" \
	sg run $A --ports 80 --cookie-lifetime 18 --key-rotate 95
expect "run --key-rotate not a number" 2 "invalid --key-rotate '1m'" sg run $A --ports 80 --key-rotate 1m
expect "run --key-rotate with a shared --key-file" 2 "rotate a shared key with \`synguard key IFACE load FILE\`" \
	sg run $A --ports 80 --key-rotate 200 --key-file "$K/good"
expect "run: cross-field check as attach" 2 "--syn-rate-off 9 is above --syn-rate-on 8" \
	sg run $A --ports 80 --syn-rate-on 8 --syn-rate-off 9
expect "run without --ports" 2 "run needs --ports LIST" sg run $A
unset CLEAN
CLEAN=$D expect "run: attach fails (no native XDP): exit 1, nothing left" 1 "try --mode skb" \
	sg run $D --ports 80 --key-rotate 200

# wait_status IFACE PYTHON-EXPR SECONDS: polls status --json until the
# expression over i (the interface) holds; 0 if it did.
wait_status() {
	local end=$((SECONDS + $3))
	while [ $SECONDS -le $end ]; do
		sg status "$1" --json 2>/dev/null | python3 -c "
import json, sys
i = json.load(sys.stdin)['interfaces'][0]
sys.exit(0 if ($2) else 1)" 2>/dev/null && return 0
		sleep 0.5
	done
	return 1
}

# start_run OUT ARGS...: synguard run ARGS in the background, its output
# into OUT. nsenter execs synguard, so RUN_PID is synguard itself.
start_run() {
	local out=$1
	shift
	nsenter --net=/var/run/netns/$NS "$BIN" run "$@" >"$out" 2>&1 &
	RUN_PID=$!
	BG+=("$RUN_PID")
}

# stop_run: SIGTERM to it; RC gets its exit code.
stop_run() {
	kill -TERM $RUN_PID
	wait $RUN_PID
	RC=$?
}

# The shortest schedule a lifetime of 18 s allows: 18 + 78 s (one period
# of 68.7 s and 8.6 s of skew, rounded up).
start_run "$TMP/run.out" $A --ports 80 --cookie-lifetime 18 --key-rotate 96
if wait_status $A "i['healthy'] and i['key_slot'] == 0 and i['config']['cookie_lifetime'] == 18" 10; then
	ok "run: attaches"
else
	fail "run: attaches" "$(cat "$TMP/run.out")"
fi
expect "run: other commands work meanwhile" 0 "$A: ttl=9" sg config $A ttl=9
expect "run: allow works meanwhile" 0 "added to the allow list" sg allow $A add 192.0.2.0/24
# A rotation after 96 s; generous: the first check at 90 s sees none yet.
sleep 90
run sg status $A --json
pyjson "run: no rotation before the period" "d['interfaces'][0]['key_slot'] == 0" "$STDOUT"
if wait_status $A "i['key_slot'] == 1 and i['previous_key_valid'] and i['key_age_s'] < 10" 30; then
	ok "run: rotates the key on schedule"
else
	fail "run: rotates the key on schedule" "$(sg status $A --json 2>&1 | head -c 300) $(cat "$TMP/run.out")"
fi
grep -q "new key (random) is current in slot 1" "$TMP/run.out" && ok "run: says it rotated" ||
	fail "run: says it rotated" "$(cat "$TMP/run.out")"
stop_run
why=""
[ "$RC" = 0 ] || why+="exit $RC; "
grep -q "SIGTERM: detaching" "$TMP/run.out" || why+="no SIGTERM message; "
grep -q "pins and /sys/fs/bpf/synguard/$A removed" "$TMP/run.out" || why+="no detach message; "
why+=$(leftovers $A)
[ -z "$why" ] && ok "run: SIGTERM detaches, exit 0, nothing left" ||
	fail "run: SIGTERM detaches, exit 0, nothing left" "$why $(cat "$TMP/run.out")"

# run --metrics: Prometheus text on /metrics (libmicrohttpd), on 127.0.0.1
# unless told otherwise, the same metrics `stats --prometheus` prints.
MPORT=9469
ip -n $NS link set lo up # where the metrics bind by default
start_run "$TMP/run.out" $A --ports 80 --metrics $MPORT
if wait_status $A "i['healthy']" 10; then
	code=$(ip netns exec $NS curl -s -o "$TMP/metrics" -w '%{http_code} %{content_type}' \
		http://127.0.0.1:$MPORT/metrics)
	why=""
	[ "$code" = "200 text/plain; version=0.0.4; charset=utf-8" ] || why+="answer '$code'; "
	for m in "synguard_syn_received_total{iface=\"$A\"} " "synguard_cookies_engaged{iface=\"$A\"} 0" \
		"synguard_syn_rate{iface=\"$A\"} 0" "synguard_key_age_seconds{iface=\"$A\"} " \
		"synguard_src_table_entries{iface=\"$A\"} 0" "synguard_src_table_size{iface=\"$A\"} 65536" \
		"# TYPE synguard_cookies_engaged gauge"; do
		grep -qF "$m" "$TMP/metrics" || why+="no '$m'; "
	done
	# The same names as stats --prometheus, from the same sample code.
	sg stats $A --prometheus | grep -v '^#' | sed 's/ [0-9]*$//' | sort >"$TMP/names.stats"
	grep -v '^#' "$TMP/metrics" | sed 's/ [0-9]*$//' | sort >"$TMP/names.http"
	cmp -s "$TMP/names.stats" "$TMP/names.http" ||
		why+="names differ from stats --prometheus: $(diff "$TMP/names.stats" "$TMP/names.http" | head -5 | tr '\n' ' '); "
	[ -z "$why" ] && ok "run --metrics: /metrics serves every counter and the gauges" ||
		fail "run --metrics: /metrics serves every counter and the gauges" "$why"
	code=$(ip netns exec $NS curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$MPORT/)
	[ "$code" = 404 ] && ok "run --metrics: other paths are 404" || fail "run --metrics: other paths are 404" "got $code"
	code=$(ip netns exec $NS curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:$MPORT/metrics)
	[ "$code" = 405 ] && ok "run --metrics: POST is 405" || fail "run --metrics: POST is 405" "got $code"
	listen=$(ip netns exec $NS ss -Hltn "sport = :$MPORT" | awk '{print $4}')
	[ "$listen" = "127.0.0.1:$MPORT" ] && ok "run --metrics: binds to 127.0.0.1 by default" ||
		fail "run --metrics: binds to 127.0.0.1 by default" "listening on '$listen'"
else
	fail "run --metrics: attaches" "$(cat "$TMP/run.out")"
fi
stop_run
why=$(leftovers $A)
ip netns exec $NS ss -Hltn "sport = :$MPORT" | grep -q . && why+="port $MPORT still open; "
[ "$RC" = 0 ] && [ -z "$why" ] && ok "run --metrics: SIGTERM stops serving, detaches, nothing left" ||
	fail "run --metrics: SIGTERM stops serving, detaches, nothing left" "exit $RC; $why $(cat "$TMP/run.out")"
# A port another process holds: run says so and leaves nothing attached.
# SO_REUSEADDR: the scrapes above left TIME_WAIT sockets on the port, which
# refuse a plain bind ("Address already in use") but not a listener's.
ip netns exec $NS python3 -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", '$MPORT')); s.listen(1); print("holding", flush=True); time.sleep(120)' \
	>"$TMP/holder" 2>&1 &
HOLDER=$!
BG+=("$HOLDER")
for _ in $(seq 200); do grep -qx holding "$TMP/holder" && break; sleep 0.1; done
held=$(ip netns exec $NS ss -Hltn "sport = :$MPORT" | awk '{print $4}')
if grep -qx holding "$TMP/holder" && [ "$held" = "127.0.0.1:$MPORT" ]; then
	# timeout: a run that got the port anyway would serve until stopped.
	CLEAN=$A expect "run --metrics: a port in use fails, attach undone" 1 "cannot serve metrics on 127.0.0.1 port $MPORT" \
		timeout 60 nsenter --net=/var/run/netns/$NS "$BIN" run $A --ports 80 --metrics $MPORT
else
	fail "run --metrics: a port in use fails, attach undone" "the port holder is not listening (ss: '$held'): $(cat "$TMP/holder")"
fi
kill $HOLDER 2>/dev/null
wait $HOLDER 2>/dev/null
expect "run --metrics: a bad address is refused" 2 "invalid --metrics '70000'" sg run $A --ports 80 --metrics 70000
expect "run --metrics: not an address" 2 "invalid --metrics 'localhost:9469'" sg run $A --ports 80 --metrics localhost:9469
expect "attach --metrics: refused, names run" 2 "attach does not take --metrics" sg attach $A --ports 80 --metrics 9469

# run follows the TCP sysctls of the namespace: the config bit
# the XDP program reads changes within seconds, a line says so, and the
# program acts on it: with tcp_syncookies=0 a SYN to a protected port
# passes to the kernel (syn_no_handoff_pass) instead of getting a cookie.
# The sysctls are the namespace's own; the host's are never touched.
start_run "$TMP/run3.out" $A --ports 80 --cookies always
if wait_status $A "i['healthy'] and i['host']['tcp_sack'] and i['host']['current']" 10; then
	ok "run: attaches, host state read"
else
	fail "run: attaches, host state read" "$(cat "$TMP/run3.out")"
fi
nsysctl tcp_sack=0
nsysctl tcp_timestamps=0
if wait_status $A "not i['host']['tcp_sack'] and not i['host']['tcp_timestamps'] and i['host']['tcp_window_scaling'] and i['host']['current'] and i['healthy']" 10; then
	ok "run: follows tcp_sack=0 and tcp_timestamps=0 (status)"
else
	fail "run: follows tcp_sack=0 and tcp_timestamps=0 (status)" "$(sg status $A --json 2>&1 | head -c 600) $(cat "$TMP/run3.out")"
fi
cfg_field tcp_sysctl
[ "$FIELD" = $((SYSCTL_ALL & ~SYSCTL_SACK & ~SYSCTL_TS)) ] && ok "run: the config map's tcp_sysctl is $FIELD" ||
	fail "run: the config map's tcp_sysctl" "$FIELD, want $((SYSCTL_ALL & ~SYSCTL_SACK & ~SYSCTL_TS))"
why=""
grep -qxF "$A: net.ipv4.tcp_sack is now off: SYN-ACKs no longer offer SACK" "$TMP/run3.out" || why+="no tcp_sack line; "
grep -qxF "$A: net.ipv4.tcp_timestamps is now off: SYN-ACKs no longer offer timestamps" "$TMP/run3.out" || why+="no tcp_timestamps line; "
[ -z "$why" ] && ok "run: one line per sysctl change" || fail "run: one line per sysctl change" "$why $(cat "$TMP/run3.out")"
nsysctl tcp_sack=1
nsysctl tcp_timestamps=1
if wait_status $A "i['host']['tcp_sack'] and i['host']['tcp_timestamps'] and i['host']['current']" 10; then
	cfg_field tcp_sysctl
	[ "$FIELD" = "$SYSCTL_ALL" ] && grep -qxF "$A: net.ipv4.tcp_sack is now on: SYN-ACKs offer SACK" "$TMP/run3.out" &&
		ok "run: follows them back on" || fail "run: follows them back on" "tcp_sysctl $FIELD; $(cat "$TMP/run3.out")"
else
	fail "run: follows them back on" "$(cat "$TMP/run3.out")"
fi

syn_to_80() {
	ip netns exec $NSC timeout 1 bash -c 'exec 3<>/dev/tcp/192.0.2.2/80' 2>/dev/null
}
stat_counter() {
	sg stats $A --json | python3 -c "import json, sys; print(json.load(sys.stdin)['interfaces']['$A']['counters']['$1'])"
}
syn_to_80
before=$(stat_counter syn_no_handoff_pass)
nsysctl tcp_syncookies=0
if wait_status $A "not i['host']['tcp_syncookies'] and not i['healthy'] and 'tcp_syncookies is 0' in i['host_problems']" 10; then
	ok "run: follows tcp_syncookies=0; status unhealthy, says why"
else
	fail "run: follows tcp_syncookies=0" "$(sg status $A --json 2>&1 | head -c 600) $(cat "$TMP/run3.out")"
fi
run sg status $A
why=""
[ "$RC" = 1 ] || why+="exit $RC, want 1; "
[[ $OUT == *"$A: net.ipv4.tcp_syncookies is 0: the kernel refuses every handoff, so SYNs pass to it unprotected; \`sysctl -w net.ipv4.tcp_syncookies=1\`"* ]] ||
	why+="no host line; "
[ -z "$why" ] && ok "status: tcp_syncookies=0 is a failure, with the fix" || fail "status: tcp_syncookies=0 is a failure" "$why ${OUT:0:900}"
grep -q "synguard: warning: $A: net.ipv4.tcp_syncookies is now 0: .* UNPROTECTED .*fix it with \`sysctl -w net.ipv4.tcp_syncookies=1\`" "$TMP/run3.out" &&
	ok "run: tcp_syncookies=0 said loudly, with the fix" || fail "run: tcp_syncookies=0 said loudly" "$(cat "$TMP/run3.out")"
syn_to_80
after=$(stat_counter syn_no_handoff_pass)
[ "$before" = 0 ] && [ "$after" -ge 1 ] && ok "run: with tcp_syncookies=0 a SYN passes (syn_no_handoff_pass $before -> $after)" ||
	fail "run: with tcp_syncookies=0 a SYN passes" "syn_no_handoff_pass $before -> $after"
kill -0 $RUN_PID 2>/dev/null && ok "run: keeps running with tcp_syncookies=0" || fail "run: keeps running with tcp_syncookies=0" "$(cat "$TMP/run3.out")"
nsysctl tcp_syncookies=1
if wait_status $A "i['host']['tcp_syncookies'] and i['healthy'] and i['host_problems'] == ''" 10; then
	ok "run: tcp_syncookies back to 1: healthy again"
else
	fail "run: tcp_syncookies back to 1" "$(sg status $A --json 2>&1 | head -c 600)"
fi
grep -qxF "$A: net.ipv4.tcp_syncookies is on again: SYN cookies and the handoff resume" "$TMP/run3.out" &&
	ok "run: says tcp_syncookies is on again" || fail "run: says tcp_syncookies is on again" "$(cat "$TMP/run3.out")"
before=$(stat_counter syn_no_handoff_pass)
syn_to_80
after=$(stat_counter syn_no_handoff_pass)
[ "$before" = "$after" ] && ok "run: tcp_syncookies=1 again: SYNs no longer pass as no-handoff" ||
	fail "run: tcp_syncookies=1 again: SYNs no longer pass" "syn_no_handoff_pass $before -> $after"
stop_run
[ "$RC" = 0 ] && [ -z "$(leftovers $A)" ] && ok "run (following sysctls): SIGTERM detaches" ||
	fail "run (following sysctls): SIGTERM detaches" "exit $RC $(leftovers $A) $(cat "$TMP/run3.out")"

# Detached (and attached again) by someone else meanwhile: run leaves it.
start_run "$TMP/run2.out" $A --ports 80
wait_status $A "i['healthy']" 10 || fail "run (no rotation): attaches" "$(cat "$TMP/run2.out")"
sg detach $A >/dev/null 2>&1
sg attach $A --ports 443 >/dev/null 2>&1
stop_run
why=""
[ "$RC" = 1 ] || why+="exit $RC, want 1; "
grep -q "attached again, by another synguard command" "$TMP/run2.out" || why+="not explained; "
run sg status $A --json
[[ $STDOUT == *'"ports":"443"'* ]] || why+="the other attachment was touched; "
[ -z "$why" ] && ok "run: leaves an attachment that is not its own" ||
	fail "run: leaves an attachment that is not its own" "$why $(cat "$TMP/run2.out")"
sg detach $A >/dev/null 2>&1

# ---------------------------------------------------------------- ports by kind

# In $NS: 8081 has a listener (on 192.0.2.2 alone: a listener bound to one
# address counts), 8082 a DNAT rule in a table of our own, 8083 nothing,
# 8084 a listener on 127.0.0.1, which no packet from a NIC reaches: nothing.
NAT_TABLE=sgcli_nat
ip -n $NS link set lo up
# listen PORT [ADDR]: a listener in $NS until killed; LISTEN_PID is its PID.
listen() {
	ip netns exec $NS python3 -c 'import socket, sys, time
s = socket.socket()
s.bind((sys.argv[2], int(sys.argv[1])))
s.listen()
print("ready", flush=True)
time.sleep(600)' "$1" "${2:-192.0.2.2}" >"$TMP/listen$1" 2>&1 &
	LISTEN_PID=$!
	BG+=("$LISTEN_PID")
	for _ in $(seq 50); do
		grep -q ready "$TMP/listen$1" && return 0
		sleep 0.1
	done
	return 1
}
unlisten() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
listen 8081 || fail "ports by kind: listener" "$(cat "$TMP/listen8081")"
L8081=$LISTEN_PID
listen 8084 127.0.0.1 || fail "ports by kind: loopback listener" "$(cat "$TMP/listen8084")"
L8084=$LISTEN_PID
ip netns exec $NS nft -f - <<EOF || fail "ports by kind: nft table" "cannot create table ip $NAT_TABLE"
table ip $NAT_TABLE {
	chain prerouting {
		type nat hook prerouting priority dstnat;
		fib daddr type local tcp dport 8082 dnat to 192.0.2.1:80
	}
}
EOF
run sg attach $A --ports 8081-8084
why=""
[ "$RC" = 0 ] || why+="exit $RC; "
[ "$(grep -c '^synguard: warning:' <<<"$OUT")" = 2 ] || why+="not 2 warnings; "
grep -qxF "synguard: warning: $A: port 8082: no local listener, translated by a DNAT rule (Docker, kube-proxy): SYNs and ACKs pass to the kernel untouched (syn_no_listener_pass, ack_conntrack_pass): never broken, but not protected" <<<"$OUT" ||
	why+="no nat warning; "
grep -qxF "synguard: warning: $A: 2 ports (8083-8084): nothing listening and no DNAT rule: SYNs pass to the kernel (syn_no_listener_pass), which resets them or forwards them to another host; a listener that starts later is protected from its first SYN" <<<"$OUT" ||
	why+="no nothing warning; "
[ -z "$why" ] && ok "attach: one warning per kind of port that is not local" ||
	fail "attach: one warning per kind of port that is not local" "$why $OUT"
run sg status $A --json
pyjson "status --json: ports by kind" "d['interfaces'][0]['ports_by_kind'] == {'local': [[8081, 8081]], 'nat': [[8082, 8082]],
	'nothing': [[8083, 8084]], 'local+nat': []}
	and d['interfaces'][0]['port_counts_by_kind'] == {'local': 1, 'nat': 1, 'nothing': 2, 'local+nat': 0}
	and d['interfaces'][0]['nat_rules'] == 'read' and d['interfaces'][0]['healthy']" "$STDOUT"
run sg status $A
echo "$OUT" | grep -A1 '^IFACE  *LOCAL  *NAT  *NOTHING  *LOCAL+NAT$' | grep -qE "^$A +8081 +8082 +8083-8084 +-$" &&
	ok "status (text): ports by kind" || fail "status (text): ports by kind" "$OUT"
sg detach $A >/dev/null 2>&1
unlisten "$L8084"

# A big range is summarised: counts, and one line per kind.
run sg attach $A --ports 1000-65535
why=""
[ "$(echo "$OUT" | wc -l)" -le 6 ] || why+="$(echo "$OUT" | wc -l) lines; "
grep -qF "synguard: warning: $A: 64534 ports (1000-8080,8083-65535): nothing listening" <<<"$OUT" || why+="no summary of nothing; "
[ -z "$why" ] && ok "attach: a big range is summarised" || fail "attach: a big range is summarised" "$why ${OUT:0:600}"
run sg status $A --json
pyjson "status --json: a big range by kind" "d['interfaces'][0]['ports_by_kind']['nothing'] == [[1000, 8080], [8083, 65535]]
	and d['interfaces'][0]['port_counts_by_kind'] == {'local': 1, 'nat': 1, 'nothing': 64534, 'local+nat': 0}" "$STDOUT"
sg detach $A >/dev/null 2>&1

# Local AND DNAT-ed (Docker's userland proxy): attach and status say what breaks.
listen 8082 || fail "ports by kind: listener on 8082" "$(cat "$TMP/listen8082")"
L8082=$LISTEN_PID
run sg attach $A --ports 8081-8082
grep -qF "synguard: warning: $A: port 8082: a local listener AND a DNAT rule (Docker's userland proxy): SYNs pass to the kernel untouched (syn_local_nat_pass)" <<<"$OUT" &&
	ok "attach: warns about a local+nat port" || fail "attach: warns about a local+nat port" "$OUT"
run sg status $A --json
pyjson "status --json: local+nat" "d['interfaces'][0]['ports_by_kind'] == {'local': [[8081, 8081]], 'nat': [], 'nothing': [], 'local+nat': [[8082, 8082]]}" "$STDOUT"
# The XDP program passes the SYNs of exactly that port: in the pinned
# sg_port_map (a byte per port), 8081 and 8082 protected (bit 0), 8082
# local+nat too (SG_PORT_PASS, bit 1), and nothing else set.
expect_port_map "attach: sg_port_map protects 8081-8082, 8082 local+nat" "{8081: 1, 8082: 3}"
# config ports= rewrites the protected bits only: the kind attach found
# stays, on a port no longer protected too, so that a port added back
# comes with it in the same write.
run sg config $A ports=8081
expect_port_map "config ports=: 8082 unprotected keeps its kind" "{8081: 1, 8082: 2}"
run sg config $A ports=8082-8083
expect_port_map "config ports=: 8082 protected again, local+nat at once" "{8082: 3, 8083: 1}"
sg detach $A >/dev/null 2>&1
unlisten "$L8082"

# run classifies again every 10 s and logs each change of kind.
start_run "$TMP/run4.out" $A --ports 8081-8083
# Its first look at the ports comes before it says it is protected.
for _ in $(seq 50); do
	grep -q "protected until" "$TMP/run4.out" && break
	sleep 0.2
done
grep -q "protected until" "$TMP/run4.out" || fail "run (ports by kind): attaches" "$(cat "$TMP/run4.out")"
listen 8083 || fail "ports by kind: listener on 8083" "$(cat "$TMP/listen8083")"
L8083=$LISTEN_PID
unlisten "$L8081"
line83="$A: port 8083 now local (was nothing): a local listener: protected (SYN cookies, handoff to the listener)"
line81="$A: port 8081 now nothing (was local): nothing listening and no DNAT rule:"
for _ in $(seq 50); do
	grep -qxF "$line83" "$TMP/run4.out" && grep -qF "$line81" "$TMP/run4.out" && break
	sleep 0.5
done
why=""
grep -qxF "$line83" "$TMP/run4.out" || why+="no line for 8083; "
grep -qF "$line81" "$TMP/run4.out" || why+="no line for 8081; "
grep -q "8082 now" "$TMP/run4.out" && why+="a line for 8082, which did not change; "
[ -z "$why" ] && ok "run: logs a listener that starts and one that stops" ||
	fail "run: logs a listener that starts and one that stops" "$why $(cat "$TMP/run4.out")"
run sg status $A --json
pyjson "status --json: kinds computed at status time" "d['interfaces'][0]['ports_by_kind'] == {'local': [[8083, 8083]], 'nat': [[8082, 8082]],
	'nothing': [[8081, 8081]], 'local+nat': []}" "$STDOUT"
stop_run
[ "$RC" = 0 ] && [ -z "$(leftovers $A)" ] && ok "run (ports by kind): SIGTERM detaches" ||
	fail "run (ports by kind): SIGTERM detaches" "exit $RC $(leftovers $A) $(cat "$TMP/run4.out")"
unlisten "$L8083"
ip netns exec $NS nft delete table ip $NAT_TABLE

# ---------------------------------------------------------------- skb mode, -v

run sg -v attach $D --mode skb --ports 443
why=""
[ "$RC" = 0 ] || why+="exit $RC: $OUT; "
[[ $OUT == *libxdp:* || $OUT == *libbpf:* ]] || why+="no libbpf/libxdp log with -v; "
ip -n $NS -d link show dev $D | grep -q xdpgeneric || why+="not in generic mode; "
[ -z "$why" ] && ok "attach --mode skb -v (libbpf log shown)" || fail "attach --mode skb -v" "$why"
run sg status $D --json
pyjson "status: skb mode" "d['interfaces'][0]['mode'] == 'skb' and d['interfaces'][0]['healthy']" "$STDOUT"
run sg detach $D
[ "$RC" = 0 ] && [ -z "$(leftovers $D)" ] && ok "detach (skb)" || fail "detach (skb)" "$(leftovers $D) $OUT"

# ---------------------------------------------------------------- partial states

# Parts removed behind synguard's back: status says so, detach reports
# them missing and still removes the rest.
sg attach $A --ports 80 >/dev/null 2>&1
ip -n $NS link set dev $A xdp off
# The pin is all that holds the TCX link: removed, the link goes.
rm /sys/fs/bpf/synguard/$A/tc_link
run sg status $A --json
pyjson "status: removed parts are shown missing" "not d['interfaces'][0]['xdp_attached'] and d['interfaces'][0]['tc_state'] == 'missing' and not d['interfaces'][0]['healthy']" "$STDOUT"
[ "$RC" = 1 ] && ok "status IFACE: exit 1 when parts are missing" || fail "status IFACE: exit 1 when parts are missing" "exit $RC"
run sg status $A
[[ $OUT == *"not attached"*"TC program missing (tcx)"* ]] && ok "status (text): says what is missing" || fail "status (text): says what is missing" "$OUT"
run sg detach $A
why=""
[ "$RC" = 0 ] || why+="exit $RC; "
[[ $OUT == *"XDP program"*"already gone"* ]] || why+="XDP not reported gone; "
[[ $OUT == *"TC program already gone (tcx)"* ]] || why+="TC not reported gone; "
why+=$(leftovers $A)
[ -z "$why" ] && ok "detach with parts already gone" || fail "detach with parts already gone" "$why $OUT"

# The default hook (tcx) leaves a clsact and its filters alone: none
# added, none removed, and the handoff runs before them.
tc -n $NS qdisc add dev $A clsact
tc -n $NS filter add dev $A ingress pref 100 protocol all bpf bytecode "1,6 0 0 0"
run sg attach $A --ports 80
why=""
[ "$RC" = 0 ] || why+="exit $RC: $OUT; "
[ -n "$(tcx_link_of $A)" ] || why+="no TCX link; "
[ "$(tc -n $NS filter show dev $A ingress | grep -c ' handle ')" = 1 ] || why+="filters changed: $(tc -n $NS filter show dev $A ingress); "
run sg detach $A
[ "$RC" = 0 ] || why+="detach exit $RC; "
tc -n $NS filter show dev $A ingress | grep -q "pref 100 bpf" || why+="other filter removed; "
why+=$(leftovers $A | sed 's/TC filter left; //; s/clsact left; //')
[ -z "$why" ] && ok "tcx: a clsact of others' is left as it was" || fail "tcx: a clsact of others' is left as it was" "$why"

# --tc-hook clsact, as kernels before 6.6 have only. A clsact that was
# there before attach stays, with the other tool's filter.
run sg attach $A --ports 80 --tc-hook clsact
[ "$RC" = 0 ] || fail "attach on an existing clsact" "$OUT"
why=""
[[ $OUT == *"(clsact)"* ]] || why+="attach does not say clsact; "
tc -n $NS filter show dev $A ingress | grep -q "handle $HANDLE synguard_tc.*direct-action" ||
	why+="no direct-action TC filter; "
[ -z "$(tcx $A)" ] || why+="a TCX program too; "
[ -z "$why" ] && ok "--tc-hook clsact: a direct-action filter, no TCX link" || fail "--tc-hook clsact" "$why $OUT"
run sg status $A --json
pyjson "attach on an existing clsact records it is not ours" "d['interfaces'][0]['tc_hook_created'] is False and d['interfaces'][0]['tc_hook'] == 'clsact' and d['interfaces'][0]['healthy']" "$STDOUT"
run sg detach $A
why=""
[ "$RC" = 0 ] || why+="exit $RC; "
tc -n $NS qdisc show dev $A | grep -q clsact || why+="clsact removed; "
tc -n $NS filter show dev $A ingress | grep -q "pref 100 bpf" || why+="other filter removed; "
tc -n $NS filter show dev $A ingress | grep -q synguard && why+="our filter left; "
[ -z "$why" ] && ok "detach keeps a clsact it did not create" || fail "detach keeps a clsact it did not create" "$why $OUT"
tc -n $NS qdisc del dev $A clsact

# A clsact attach created, that another filter joined since: kept.
sg attach $A --ports 80 --tc-hook clsact >/dev/null 2>&1
tc -n $NS filter add dev $A egress pref 100 protocol all bpf bytecode "1,6 0 0 0"
run sg detach $A
[ "$RC" = 0 ] && [[ $OUT == *"clsact qdisc kept: other filters use it"* ]] &&
	tc -n $NS filter show dev $A egress | grep -q "pref 100 bpf" &&
	ok "detach keeps its clsact while another filter uses it" ||
	fail "detach keeps its clsact while another filter uses it" "$OUT"
tc -n $NS qdisc del dev $A clsact

# A clsact attach created, and nothing else uses: removed with the filter.
run sg attach $A --ports 80 --tc-hook clsact
why=""
[ "$RC" = 0 ] || why+="exit $RC: $OUT; "
tc -n $NS qdisc show dev $A | grep -q clsact || why+="no clsact added; "
run sg detach $A
[ "$RC" = 0 ] || why+="detach exit $RC; "
for w in "TC program" "removed (clsact)" "clsact qdisc removed"; do
	[[ $OUT == *"$w"* ]] || why+="no '$w'; "
done
why+=$(leftovers $A)
[ -z "$why" ] && ok "--tc-hook clsact: detach removes the clsact it added" ||
	fail "--tc-hook clsact: detach removes the clsact it added" "$why $OUT"
CLEAN=$A expect "--tc-hook: a bad value is named" 2 "invalid --tc-hook 'tc': must be auto, tcx or clsact" \
	sg attach $A --ports 80 --tc-hook tc

# Rollback: TC attach fails for real (another filter holds synguard's
# priority and handle), after the maps were created and pinned.
tc -n $NS qdisc add dev $A clsact
tc -n $NS filter add dev $A ingress pref $PREF handle $HANDLE protocol all bpf bytecode "1,6 0 0 0"
run sg attach $A --ports 80 --tc-hook clsact
why=""
[ "$RC" = 1 ] || why+="exit $RC; "
[[ $OUT == *"another filter uses that priority"* ]] || why+="no reason given; "
[ -e /sys/fs/bpf/synguard/$A ] && why+="pins left; "
ip -n $NS -d link show dev $A | grep -q prog/xdp && why+="XDP left; "
tc -n $NS filter show dev $A ingress | grep -q "handle $HANDLE.*bytecode" || why+="the other filter was removed; "
tc -n $NS qdisc show dev $A | grep -q clsact || why+="the existing clsact was removed; "
[ -z "$why" ] && ok "TC attach fails: rolled back, others' filter kept" || fail "TC attach fails: rolled back" "$why $OUT"
tc -n $NS qdisc del dev $A clsact

# Another tool's XDP program on the interface: refused, named, rolled back.
XP=$ROOT/build/xdp_pass.bpf.o
if [ -f "$XP" ] && ip -n $NS link set dev $A xdp obj "$XP" sec xdp 2>/dev/null; then
	other=$(ip -n $NS -d link show dev $A | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p')
	run sg attach $A --ports 80
	why=""
	[ "$RC" = 1 ] || why+="exit $RC; "
	[[ $OUT == *"already has an XDP program (id $other)"* ]] || why+="not named; "
	[ -e /sys/fs/bpf/synguard/$A ] && why+="pins left; "
	tc -n $NS qdisc show dev $A | grep -q clsact && why+="clsact left; "
	ip -n $NS -d link show dev $A | grep -q "prog/xdp id $other " || why+="the other program was removed; "
	[ -z "$why" ] && ok "another XDP program present: refused, rolled back" ||
		fail "another XDP program present" "$why $OUT"
	ip -n $NS link set dev $A xdp off
else
	skip "another XDP program present" "no $XP (make builds it) or it does not load"
fi

# The interface goes away while protected.
sg attach $F --ports 80 >/dev/null 2>&1
ip -n $NS link del $F
run sg status $F --json
pyjson "status: interface gone" "d['interfaces'][0]['present'] is False and 'interface gone' in d['interfaces'][0]['problems']" "$STDOUT"
expect "detach: interface gone, pins removed" 0 "$F: interface gone" sg detach $F
[ -e /sys/fs/bpf/synguard/$F ] && fail "detach: interface gone leaves no pins" "pins left" ||
	ok "detach: interface gone leaves no pins"

# Pins lost (bpffs unmounted, removed by hand) while the programs run on.
sg attach $A --ports 80 >/dev/null 2>&1
rm -rf "/sys/fs/bpf/synguard/$A"
expect "attach over lost pins: refused, says detach" 1 "run \`synguard detach $A\`" sg attach $A --ports 80
run sg detach $A
why=""
[ "$RC" = 0 ] || why+="exit $RC; "
[[ $OUT == *"their pins were lost"* ]] || why+="not explained; "
ip -n $NS -d link show dev $A | grep -q prog/xdp && why+="XDP left; "
tc -n $NS filter show dev $A ingress | grep -q synguard && why+="TC filter left; "
[ -z "$why" ] && ok "detach after lost pins removes the programs" || fail "detach after lost pins" "$why $OUT"
tc -n $NS qdisc del dev $A clsact 2>/dev/null

# A pin of another synguard version: the expected type and sizes come from
# the BPF object this binary carries, so a config map of another layout is
# named and never written.
sg attach $A --ports 80 >/dev/null 2>&1
pin=/sys/fs/bpf/synguard/$A/sg_config
rm -f "$pin"
if bpftool map create "$pin" type array key 4 value 8 entries 1 name sg_config 2>/dev/null; then
	run sg status $A --json
	pyjson "status: a pin of another version is named" \
		"all(w in d['interfaces'][0]['problems'] for w in ('pinned map sg_config: type 2, key 4, value 8 bytes', 'pinned by another version'))" "$STDOUT"
	expect "config refuses a pin of another version" 1 "sg_config" sg config $A mss4=1400
	bpftool -j map dump pinned "$pin" >"$TMP/cfgpin" 2>/dev/null
	pyjson "the foreign pin is left unwritten" "d[0]['value'] == ['0x00'] * 8" "$(cat "$TMP/cfgpin")"
else
	skip "pins of another version" "bpftool cannot create a map pin here"
fi
sg detach $A >/dev/null 2>&1
tc -n $NS qdisc del dev $A clsact 2>/dev/null

summary

#!/usr/bin/env bash
# The Debian package and what goes with it: the version in its one place
# and in debian/changelog, the bash completion, `make deb`, the package
# installed with apt into this machine and purged again (nothing left), and
# the DaemonSet's Dockerfile, checked statically (these machines cannot
# pull its base image). Prints a line per case and ends with
# "N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1

# shellcheck source=tests/lib/suite.sh
. tests/lib/suite.sh

tmp=$(mktemp -d /tmp/sg-deb.XXXXXX)
installed=0
extra_pkgs=""
# Leave the machine as it was, also when a case fails or the suite is cut
# short: the package and whatever apt pulled in for it go again.
cleanup() {
	if [ "$installed" = 1 ]; then
		# shellcheck disable=SC2086 # a list of package names
		apt-get -o DPkg::Lock::Timeout=120 purge -y -qq synguard $extra_pkgs >/dev/null 2>&1
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

version=$(cat VERSION)

# --- the version ---
REASONS=()
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || REASONS+=("VERSION is '$version', not X.Y.Z")
cl=$(dpkg-parsechangelog -S Version -l debian/changelog 2>&1)
[ "$cl" = "$version" ] || REASONS+=("debian/changelog is at '$cl', VERSION at '$version'")
check "debian/changelog carries VERSION ($version)"
REASONS=()
for args in --version version ver; do
	out=$(build/synguard $args 2>&1)
	rc=$?
	[ "$rc" = 0 ] && [ "$out" = "synguard $version" ] ||
		REASONS+=("synguard $args: exit $rc, '$out'")
done
out=$(build/synguard version extra 2>&1)
rc=$?
[ "$rc" = 2 ] || REASONS+=("synguard version extra: exit $rc, wanted 2 ('$out')")
check "synguard --version, version and ver print 'synguard $version'; an argument is refused"

# --- Build-Depends are the Makefile's BUILD_DEPS ---
want_deps=$({
	make -pn -s 2>/dev/null | sed -n 's/^BUILD_DEPS := //p' | tr ' ' '\n'
	echo debhelper-compat
} | grep . | sort | tr '\n' ' ')
got_deps=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' debian/control | sed '$d' |
	sed 's/^Build-Depends://' | tr ',' '\n' | sed 's/(.*//; s/^ *//; s/ *$//' |
	grep . | sort | tr '\n' ' ')
if [ -n "$got_deps" ] && [ "$got_deps" = "$want_deps" ]; then
	ok "debian/control Build-Depends: the Makefile's BUILD_DEPS and debhelper-compat"
else
	fail "debian/control Build-Depends: the Makefile's BUILD_DEPS and debhelper-compat" "control '$got_deps', Makefile '$want_deps'"
fi

# --- bash completion, from the tree against build/synguard ---
# complete WORDS...: what the completion offers with the cursor at the end
# of "synguard WORDS" (a trailing "" is an empty word being completed).
complete_line() {
	bash -c '
		source deploy/bash-completion/synguard || exit 1
		PATH=$PWD/build:$PATH
		COMP_WORDS=(synguard "$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="${COMP_WORDS[*]}"
		COMP_POINT=${#COMP_LINE}
		_synguard
		((${#COMPREPLY[@]})) && printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
	' complete "$@" 2>&1
}
cmds=$(build/synguard help | awk '/^Commands:/{f=1;next} f&&/^  [a-z]/{print $1} f&&/^$/{f=0}' | sort | tr '\n' ' ')
ifaces=$(ls /sys/class/net | sort | tr '\n' ' ')
REASONS=()
# expect_completion WORDS... -- WANTED
expect_completion() {
	local words=() got
	while [ "$1" != -- ]; do
		words+=("$1")
		shift
	done
	got=$(complete_line "${words[@]}")
	[ "$got" = "$2" ] || REASONS+=("'synguard ${words[*]}': got '$got', wanted '$2'")
}
expect_completion "" -- "$cmds"
expect_completion st -- "stats status "
expect_completion --v -- "--verbose --version "
expect_completion -v de -- "deny detach "
expect_completion attach "" -- "$ifaces"
expect_completion attach lo --mo -- "--mode "
expect_completion attach lo --mode "" -- "native skb "
expect_completion attach lo -m "" -- "native skb "
expect_completion run lo --ports 80 --cookies "" -- "always auto "
expect_completion attach lo --ports "" -- ""
expect_completion stats lo --interval 1 --j -- "--json "
expect_completion allow lo "" -- "add del list "
expect_completion key lo "" -- "load rotate "
expect_completion key lo load VERSIO -- "VERSION "
expect_completion capture lo --what "" -- "ack all denied dropped limited syn "
expect_completion top lo --pre -- "--prefix4 --prefix6 "
expect_completion capture lo -w VERSIO -- "VERSION "
expect_completion config lo mss -- "mss4= mss6= "
expect_completion help ke -- "key "
check "bash completion: commands, options, option values, words, keys, interfaces, files"

# --- the Dockerfile of the DaemonSet's image (static) ---
df=deploy/kubernetes/Dockerfile
REASONS=()
codename=$(. /etc/os-release && echo "${VERSION_CODENAME-}")
from=$(sed -n 's/^FROM \([^ ]*\).*/\1/p' "$df")
# The package's library dependencies are this machine's release's.
[ "$from" = "debian:$codename-slim" ] || REASONS+=("FROM '$from', the .deb is built on $codename")
copy=$(grep -c '^COPY build/synguard_\*\.deb /tmp/$' "$df")
[ "$copy" = 1 ] || REASONS+=("no 'COPY build/synguard_*.deb /tmp/' (the file make deb writes)")
grep -q 'apt-get install -y --no-install-recommends /tmp/synguard_\*\.deb' "$df" ||
	REASONS+=("the copied .deb is not installed with apt-get install")
entry=$(grep '^ENTRYPOINT' "$df")
[ "$entry" = 'ENTRYPOINT ["synguard", "run"]' ] || REASONS+=("entrypoint '$entry'")
image=$(/usr/bin/python3 -c '
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "DaemonSet":
        print(d["spec"]["template"]["spec"]["containers"][0]["image"])
' deploy/kubernetes/synguard.yaml 2>&1)
tags=$(grep -ho "docker build -f $df -t [^ ]* \." README.md "$df" | awk '{print $6}' | sort -u)
[ -n "$tags" ] && [ "$tags" = "$image" ] ||
	REASONS+=("the manifest runs '$image', README.md and the Dockerfile build '${tags//$'\n'/ }'")
check "Dockerfile: FROM debian:$codename-slim, installs build/synguard_*.deb, entrypoint synguard run, tagged as the manifest's image"

# --- make deb ---
git status --porcelain --ignored=matching >"$tmp/git.before" 2>&1
if make -s deb >"$tmp/deb.log" 2>&1; then
	ok "make deb succeeds"
else
	fail "make deb succeeds" "$(tail -n 10 "$tmp/deb.log")"
fi
debs=(build/synguard_*.deb)
deb=${debs[0]}
if [ ${#debs[@]} = 1 ] && [ -f "$deb" ]; then
	ok "make deb leaves exactly one build/synguard_*.deb ($deb)"
else
	fail "make deb leaves exactly one build/synguard_*.deb" "found: ${debs[*]}"
	summary
	exit
fi
REASONS=()
f_version=$(dpkg-deb -f "$deb" Version)
[ "$f_version" = "$version" ] || REASONS+=("Version '$f_version'")
f_depends=$(dpkg-deb -f "$deb" Depends)
for d in nftables libbpf1 libxdp1 libjansson4 libmicrohttpd12 libc6; do
	[[ ", $f_depends," == *", $d "* || ", $f_depends," == *", $d,"* ]] ||
		REASONS+=("Depends lacks $d: '$f_depends'")
done
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | grep . | sort >"$tmp/files"
for p in /usr/sbin/synguard /usr/share/man/man8/synguard.8.gz \
	/usr/lib/systemd/system/synguard@.service \
	/usr/share/bash-completion/completions/synguard \
	/usr/share/doc/synguard/example.conf \
	/usr/share/doc/synguard/kubernetes/synguard.yaml \
	/usr/share/doc/synguard/prometheus/alerts.yml \
	/usr/share/doc/synguard/grafana/synguard.json \
	/usr/share/doc/synguard/copyright; do
	grep -qx "$p" "$tmp/files" || REASONS+=("no $p")
done
grep -q '^/etc' "$tmp/files" && REASONS+=("ships files in /etc: $(grep '^/etc' "$tmp/files" | tr '\n' ' ')")
check "the package: version $version, Depends on nftables and its libraries, binary, man page, unit, completion, docs, nothing in /etc"
# Debian's hardening flags reached the binary; the Makefile's own build
# gives none of these.
mkdir -p "$tmp/x" && dpkg-deb -x "$deb" "$tmp/x"
REASONS=()
bin=$tmp/x/usr/sbin/synguard
readelf -d "$bin" | grep -q 'BIND_NOW' || REASONS+=("no BIND_NOW")
readelf --dyn-syms -W "$bin" | grep -q '__[a-z]*printf_chk' || REASONS+=("no fortified printf (_FORTIFY_SOURCE)")
readelf --dyn-syms -W "$bin" | grep -q '__stack_chk_fail' || REASONS+=("no stack protector")
check "the packaged binary has Debian's hardening: bind now, _FORTIFY_SOURCE, stack protector"
git status --porcelain --ignored=matching >"$tmp/git.after" 2>&1
if out=$(diff "$tmp/git.before" "$tmp/git.after"); then
	ok "make deb writes nothing in the tree outside build/"
else
	fail "make deb writes nothing in the tree outside build/" "$out"
fi

# --- installed with apt into this machine, then purged ---
name="apt install, --version, unit, man page, completion, purge"
if [ "$(id -u)" != 0 ]; then
	skip "$name" "needs root"
	summary
	exit
fi
st=$(dpkg-query -W -f='${db:Status-Status} ${Version}' synguard 2>/dev/null)
if [ -n "$st" ] && [[ $st != not-installed* ]]; then
	skip "$name" "a synguard package is already on this machine ($st): left untouched"
	summary
	exit
fi
etc_before=0
[ -e /etc/synguard ] && etc_before=1
dpkg-query -W -f='${Package}\n' | sort >"$tmp/pkgs.before"
# Which of the package's paths were there before (shared directories).
while read -r p; do
	[ -e "$p" ] && echo "$p"
done <"$tmp/files" >"$tmp/existed"

installed=1
if apt-get -o DPkg::Lock::Timeout=120 install -y -qq "./$deb" >"$tmp/apt.log" 2>&1; then
	ok "apt-get install ./$deb"
else
	fail "apt-get install ./$deb" "$(tail -n 5 "$tmp/apt.log")"
fi
dpkg-query -W -f='${Package}\n' | sort >"$tmp/pkgs.installed"
extra_pkgs=$(comm -13 "$tmp/pkgs.before" "$tmp/pkgs.installed" | grep -vx synguard | tr '\n' ' ')

out=$(/usr/sbin/synguard --version 2>&1)
[ "$out" = "synguard $version" ] && ok "/usr/sbin/synguard --version: synguard $version" ||
	fail "/usr/sbin/synguard --version: synguard $version" "'$out'"

unit=/usr/lib/systemd/system/synguard@.service
if systemctl cat synguard@.service >"$tmp/unit" 2>/dev/null; then
	grep -q '^ExecStart=/usr/sbin/synguard run %I' "$tmp/unit" &&
		ok "systemctl cat synguard@.service: runs /usr/sbin/synguard" ||
		fail "systemctl cat synguard@.service: runs /usr/sbin/synguard" "$(cat "$tmp/unit")"
else
	# No systemd as PID 1 here: the file where systemd looks, and verify.
	if grep -q '^ExecStart=/usr/sbin/synguard run %I' "$unit" &&
		out=$(systemd-analyze verify --man=no "$unit" 2>&1); then
		ok "$unit runs /usr/sbin/synguard, systemd-analyze verify accepts it (systemctl: no systemd running)"
	else
		fail "$unit runs /usr/sbin/synguard, systemd-analyze verify accepts it" "${out:-no ExecStart=/usr/sbin/synguard}"
	fi
fi

out=$(man -w synguard 2>&1)
[ "$out" = /usr/share/man/man8/synguard.8.gz ] && ok "man -w synguard: $out" ||
	fail "man -w synguard: /usr/share/man/man8/synguard.8.gz" "'$out'"

comp=/usr/share/bash-completion/completions/synguard
out=$(bash -c "source $comp; complete -p synguard" 2>&1)
[ -f "$comp" ] && [ "$out" = "complete -F _synguard synguard" ] &&
	ok "$comp: complete -p synguard shows it" ||
	fail "$comp: complete -p synguard shows it" "'$out'"

# The Prometheus and Grafana files, byte for byte the tree's (dh_compress
# must not have gzipped the dashboard: Grafana imports the plain file).
REASONS=()
for f in prometheus/alerts.yml grafana/synguard.json; do
	cmp -s "deploy/$f" "/usr/share/doc/synguard/$f" ||
		REASONS+=("/usr/share/doc/synguard/$f is not deploy/$f")
done
check "/usr/share/doc/synguard/: alerts.yml and the Grafana dashboard, as in the tree"

dpkg -L synguard | grep -vx '/\.' | sort >"$tmp/listed"
if diff -q "$tmp/files" "$tmp/listed" >/dev/null; then
	ok "dpkg -L synguard lists what the .deb holds ($(wc -l <"$tmp/listed") paths)"
else
	fail "dpkg -L synguard lists what the .deb holds" "$(diff "$tmp/files" "$tmp/listed" | head -n 5)"
fi

# shellcheck disable=SC2086 # a list of package names
if apt-get -o DPkg::Lock::Timeout=120 purge -y -qq synguard $extra_pkgs >"$tmp/purge.log" 2>&1; then
	installed=0
	ok "apt-get purge synguard${extra_pkgs:+ (and what it pulled in: $extra_pkgs)}"
else
	fail "apt-get purge synguard" "$(tail -n 5 "$tmp/purge.log")"
fi
REASONS=()
left=0
while read -r p; do
	if grep -qx "$p" "$tmp/existed"; then
		[ -e "$p" ] || REASONS+=("$p was there before and is gone")
	elif [ -e "$p" ] || [ -L "$p" ]; then
		REASONS+=("$p left")
		left=$((left + 1))
	fi
done <"$tmp/listed"
[ -e /etc/synguard ] && [ "$etc_before" = 0 ] && REASONS+=("/etc/synguard left")
st=$(dpkg-query -W -f='${Status}' synguard 2>/dev/null)
[ -z "$st" ] || [[ $st == *not-installed ]] || REASONS+=("dpkg still knows synguard: $st")
dpkg-query -W -f='${Package}\n' | sort >"$tmp/pkgs.after"
diff -q "$tmp/pkgs.before" "$tmp/pkgs.after" >/dev/null ||
	REASONS+=("installed packages differ: $(diff "$tmp/pkgs.before" "$tmp/pkgs.after" | grep '^[<>]' | tr '\n' ' ')")
check "after purge: none of the $(wc -l <"$tmp/listed") listed paths left but shared directories, no /etc/synguard, the same packages as before"

summary

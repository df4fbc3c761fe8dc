#!/usr/bin/env bash
# Installation and deployment files: make install with PREFIX and DESTDIR,
# the systemd template unit, the man page and the Kubernetes DaemonSet.
# Prints a line per case and ends with "N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1

# shellcheck source=tests/lib/suite.sh
. tests/lib/suite.sh

tmp=$(mktemp -d /tmp/sg-deploy.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# --- make install ---
if make -s install DESTDIR="$tmp/root" PREFIX=/usr >"$tmp/install.log" 2>&1; then
	ok "make install DESTDIR=... PREFIX=/usr succeeds"
else
	fail "make install DESTDIR=... PREFIX=/usr succeeds" "$(tail -n 5 "$tmp/install.log")"
fi
for f in usr/sbin/synguard:755 usr/share/man/man8/synguard.8:644 \
	usr/lib/systemd/system/synguard@.service:644 \
	usr/share/doc/synguard/example.conf:644 \
	usr/share/doc/synguard/kubernetes/synguard.yaml:644 \
	usr/share/doc/synguard/prometheus/alerts.yml:644 \
	usr/share/doc/synguard/grafana/synguard.json:644 \
	usr/share/bash-completion/completions/synguard:644; do
	path=${f%%:*}
	mode=${f##*:}
	got=$(stat -c %a "$tmp/root/$path" 2>/dev/null)
	if [ "$got" = "$mode" ]; then
		ok "installed /$path (mode $mode)"
	else
		fail "installed /$path (mode $mode)" "mode '${got:-missing}'"
	fi
done
if "$tmp/root/usr/sbin/synguard" help >/dev/null 2>&1; then
	ok "the installed binary runs (BPF object embedded)"
else
	fail "the installed binary runs (BPF object embedded)" "synguard help failed"
fi
if make -s install DESTDIR="$tmp/local" >/dev/null 2>&1 &&
	[ -x "$tmp/local/usr/local/sbin/synguard" ] &&
	grep -q '^ExecStart=/usr/local/sbin/synguard run %I' \
		"$tmp/local/usr/local/lib/systemd/system/synguard@.service"; then
	ok "default PREFIX is /usr/local, and the unit points there"
else
	fail "default PREFIX is /usr/local, and the unit points there" "see $tmp/local"
fi

# --- systemd unit ---
unit=$tmp/root/usr/lib/systemd/system/synguard@.service
if grep -q '^ExecStart=/usr/sbin/synguard run %I$' "$unit" &&
	grep -q '^ExecReload=/usr/sbin/synguard reload %I$' "$unit" &&
	grep -q '^Environment=SYNGUARD_UNIT=%n$' "$unit" &&
	grep -q '^Type=simple$' "$unit" &&
	! grep -q '^EnvironmentFile=' "$unit" &&
	! grep -q '^ExecStop=' "$unit"; then
	ok "unit runs synguard run (which reads /etc/synguard/IFACE.conf), reloads with synguard reload, names itself for restarts"
else
	fail "unit runs synguard run (which reads /etc/synguard/IFACE.conf), reloads with synguard reload, names itself for restarts" "$(cat "$unit")"
fi
# The example config is valid as it is, and with every key it shows
# commented out set (but key_file, which key_rotate excludes).
mkdir -p "$tmp/conf"
sed -E 's/^# ([a-z_0-9]+ = )/\1/' deploy/systemd/example.conf | grep -v '^key_file' >"$tmp/conf/eth0.conf"
: >"$tmp/conf/eth0.allow"
: >"$tmp/conf/eth0.deny"
if out=$(build/synguard reload eth0 --check --config deploy/systemd/example.conf 2>&1) &&
	out=$(build/synguard reload eth0 --check --config "$tmp/conf/eth0.conf" 2>&1) &&
	[ "$(grep -cE '^[a-z_0-9]+ = ' "$tmp/conf/eth0.conf")" -ge 24 ]; then
	ok "example.conf is valid (synguard reload --check), also with every key it shows set"
else
	fail "example.conf is valid (synguard reload --check), also with every key it shows set" "$out"
fi
if command -v systemd-analyze >/dev/null; then
	# verify checks that ExecStart exists: point it at the DESTDIR copy.
	sed "s|/usr/sbin/synguard|$tmp/root/usr/sbin/synguard|" "$unit" >"$tmp/synguard@.service"
	if out=$(systemd-analyze verify --man=no "$tmp/synguard@.service" 2>&1); then
		ok "systemd-analyze verify accepts the unit"
	else
		fail "systemd-analyze verify accepts the unit" "$out"
	fi
else
	fail "systemd-analyze verify accepts the unit" "systemd-analyze missing: run make deps"
fi

# --- man page ---
man=doc/synguard.8
if out=$(groff -man -ww -z "$man" 2>&1) && [ -z "$out" ]; then
	ok "man page renders without warnings"
else
	fail "man page renders without warnings" "$out"
fi
# Every command, every long option and every setting of the CLI is in the
# man page; every setting also has a row in README.md's table.
cmds=$(build/synguard help 2>&1 | awk '/^Commands:/{f=1;next} f&&/^  [a-z]/{print $1} f&&/^$/{f=0}')
keys=$(build/synguard config --help 2>&1 | grep -o '^  [a-z0-9_]*=' | tr -d ' =')
missing=""
for cmd in $cmds; do
	grep -q "^\.SS $cmd\b" "$man" || missing="$missing $cmd"
	for opt in $(build/synguard "$cmd" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		esc=${opt//-/\\-}
		grep -qF -- "$esc" "$man" || missing="$missing $cmd:$opt"
	done
done
for k in $keys; do
	grep -qF -- "${k//_/_}" "$man" || missing="$missing key:$k"
done
if [ -n "$cmds" ] && [ -n "$keys" ] && [ -z "$missing" ]; then
	ok "man page names every command, option and setting of --help"
else
	fail "man page names every command, option and setting of --help" "missing:${missing:- (no commands or keys read from --help)}"
fi
missing=""
for k in $keys; do
	grep -qF "| \`$k\` |" README.md || missing="$missing $k"
done
if [ -n "$keys" ] && [ -z "$missing" ]; then
	ok "README.md has a row for every setting"
else
	fail "README.md has a row for every setting" "missing:$missing"
fi

# --- Kubernetes ---
if out=$(/usr/bin/python3 - deploy/kubernetes/synguard.yaml <<'PY' 2>&1
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
kinds = {d["kind"]: d for d in docs}
assert set(kinds) == {"ConfigMap", "DaemonSet"}, kinds.keys()
cm = kinds["ConfigMap"]["data"]
assert cm["IFACE"] and "--ports" in cm["SYNGUARD_ARGS"], cm
ds = kinds["DaemonSet"]
spec = ds["spec"]["template"]["spec"]
assert ds["apiVersion"] == "apps/v1"
assert ds["spec"]["selector"]["matchLabels"] == ds["spec"]["template"]["metadata"]["labels"]
assert spec["hostNetwork"] is True, "hostNetwork"
c = spec["containers"][0]
assert c["securityContext"]["privileged"] is True, "privileged"
vols = {v["name"]: v for v in spec["volumes"]}
mounts = {m["name"]: m for m in c["volumeMounts"]}
assert vols["key"]["secret"]["secretName"] == "synguard-key"
assert vols["key"]["secret"]["defaultMode"] == 0o400, "key mode"
assert vols["bpffs"]["hostPath"]["path"] == "/sys/fs/bpf"
assert mounts["bpffs"]["mountPath"] == "/sys/fs/bpf"
script = " ".join(c["args"])
keyfile = mounts["key"]["mountPath"] + "/key"
assert "--key-file " + keyfile in script, "key file path"
assert "exec synguard run" in script, "runs synguard run (SIGTERM detaches)"
assert c.get("terminationMessagePolicy", "File") and spec["terminationGracePeriodSeconds"] >= 10
assert any(e["configMapRef"]["name"] == kinds["ConfigMap"]["metadata"]["name"]
           for e in c["envFrom"])
PY
); then
	ok "DaemonSet: privileged, hostNetwork, bpffs, key from a Secret, run (detach on stop)"
else
	fail "DaemonSet: privileged, hostNetwork, bpffs, key from a Secret, run (detach on stop)" "$out"
fi

summary

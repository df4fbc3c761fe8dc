#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The Prometheus alerting rules (deploy/prometheus/alerts.yml): promtool
# checks them and runs their tests on synthetic series (alerts_test.yml).
# promtool is Debian's, from the prometheus package, unpacked under
# build/tools/ and never installed: installing the package would start a
# Prometheus server on this machine.
# Prints a line per case and ends with "N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1

# shellcheck source=tests/lib/suite.sh
. tests/lib/suite.sh

TOOLS=build/tools/prometheus
PROMTOOL=$TOOLS/usr/bin/promtool
if [ ! -x "$PROMTOOL" ]; then
	rm -rf "$TOOLS"
	mkdir -p "$TOOLS/deb"
	if ! (cd "$TOOLS/deb" && apt-get -o APT::Sandbox::User=root download prometheus >/dev/null 2>&1) ||
		! dpkg-deb -x "$TOOLS"/deb/prometheus_*.deb "$TOOLS"; then
		fail promtool "cannot fetch Debian's prometheus package for promtool (apt-get update?)"
		summary
		exit 1
	fi
	rm -rf "$TOOLS/deb"
fi

if out=$("$PROMTOOL" check rules deploy/prometheus/alerts.yml 2>&1); then
	ok "promtool check rules alerts.yml"
else
	fail "promtool check rules alerts.yml" "$out"
fi
# Every alert has a test that fires it.
for a in $(grep -o 'alert: [A-Za-z]*' deploy/prometheus/alerts.yml | cut -d' ' -f2); do
	if grep -q "alertname: $a\$" deploy/prometheus/alerts_test.yml; then
		ok "alert $a has a test"
	else
		fail "alert $a has a test" "not in alerts_test.yml"
	fi
done
if out=$(cd deploy/prometheus && "$OLDPWD/$PROMTOOL" test rules alerts_test.yml 2>&1); then
	ok "promtool test rules alerts_test.yml"
else
	fail "promtool test rules alerts_test.yml" "$out"
fi
summary

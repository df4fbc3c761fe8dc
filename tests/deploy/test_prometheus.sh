#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The Prometheus alerting rules (deploy/prometheus/alerts.yml): promtool
# checks them and runs their tests on synthetic series (alerts_test.yml).
# promtool is Debian's, unpacked under build/tools/ (tests/lib/promtool.sh).
# Prints a line per case and ends with "N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1

# shellcheck source=tests/lib/suite.sh
. tests/lib/suite.sh

# shellcheck source=tests/lib/promtool.sh
if ! . tests/lib/promtool.sh; then
	summary
	exit 1
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

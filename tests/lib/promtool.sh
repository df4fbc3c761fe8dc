#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Sourced by the suites that need promtool: sets PROMTOOL to Debian's,
# from the prometheus package, unpacked under build/tools/ and never
# installed (installing the package would start a Prometheus server on
# this machine). Returns non-zero, having reported a failed case through
# tests/lib/suite.sh, when it cannot be fetched.
PROMTOOL_DIR=build/tools/prometheus
PROMTOOL=$PROMTOOL_DIR/usr/bin/promtool
if [ ! -x "$PROMTOOL" ]; then
	rm -rf "$PROMTOOL_DIR"
	mkdir -p "$PROMTOOL_DIR/deb"
	if ! (cd "$PROMTOOL_DIR/deb" && apt-get -o APT::Sandbox::User=root download prometheus >/dev/null 2>&1) ||
		! dpkg-deb -x "$PROMTOOL_DIR"/deb/prometheus_*.deb "$PROMTOOL_DIR"; then
		fail promtool "cannot fetch Debian's prometheus package for promtool (apt-get update?)"
		false
	else
		rm -rf "$PROMTOOL_DIR/deb"
	fi
fi

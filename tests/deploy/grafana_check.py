#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks deploy/grafana/synguard.json against real metrics.

  grafana_check.py static DASHBOARD HEADER METRICS
      the dashboard's structure, its panels, and every metric and label
      name in every PromQL expression against METRICS (the output of
      `synguard stats --prometheus`); HEADER is include/synguard.h, for the
      range of the XDP verdict counters
  grafana_check.py rules DASHBOARD
      every expression, Grafana's variables replaced, as a Prometheus
      recording rule (YAML) for `promtool check rules`
  grafana_check.py evaluate DASHBOARD METRICS IFACE DIR
      DIR/rules.yml and DIR/test.yml for `promtool test rules`: the series
      of METRICS as a scrape of instance "gf" would store them, and for
      every expression an alert on absent(EXPR), which must not fire. An
      expression that selects nothing from real series (a label value or a
      vector match that does not fit) fails it.

Prints one line per problem and exits 1 if there is any.
"""
import json
import re
import sys

DS = "${DS_PROMETHEUS}"
# What Grafana substitutes before Prometheus sees an expression.
GRAFANA_VARS = {"$__rate_interval": "1m", "$instance": ".*", "$iface": ".*"}
# Labels Prometheus adds to every scraped series.
SCRAPE_LABELS = {"instance", "job"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on",
            "ignoring", "group_left", "group_right", "inf", "nan"}
# The panels the dashboard must have: title -> metrics each must query.
REQUIRED = {
    "SYNs and SYN-ACKs answered per second":
        {"synguard_syn_received_total", "synguard_synack_sent_total"},
    "XDP verdicts per second (passed and answered up, dropped down)": set(),
    "Cookies engaged": {"synguard_cookies_engaged"},
    "Enforcing": {"synguard_enforcing"},
    "Cookies engaged over time": {"synguard_cookies_engaged"},
    "Legit handoffs per second": {"synguard_handoff_ok_total"},
    "Handoff failures per second":
        {"synguard_handoff_no_listener_total",
         "synguard_handoff_kfunc_errors_total",
         "synguard_handoff_meta_bad_total",
         "synguard_proxy_csum_bad_total"},
    "ACK verdicts per second":
        {"synguard_cookie_ok_total", "synguard_cookie_bad_total",
         "synguard_cookie_expired_total"},
    "Per-source table fill":
        {"synguard_src_table_entries", "synguard_src_table_size"},
    "Key age": {"synguard_key_age_seconds"},
}
VERDICTS = "XDP verdicts per second (passed and answered up, dropped down)"


def expressions(d):
    """(where, expr) for every query: panel targets and variables."""
    for p in d.get("panels", []):
        for t in p.get("targets", []):
            yield "panel '%s' %s" % (p.get("title"), t.get("refId")), t.get("expr", "")
    for v in d.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query", "") if isinstance(q, dict) else q
        yield "variable %s" % v.get("name"), q or ""


def parse(expr):
    """(metric names, label names) an expression uses.

    label_values(SELECTOR, LABEL) (a Grafana variable query) is read as
    its selector and label. Strings, label matchers, ranges and grouping
    lists are taken apart first; what is left that is an identifier, not
    followed by "(" (a function) and not a keyword, is a metric name.
    """
    labels = set()
    m = re.fullmatch(r"\s*label_values\((.*),\s*([A-Za-z_]\w*)\s*\)\s*", expr, re.S)
    if m:
        expr = m.group(1)
        labels.add(m.group(2))
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    for sel in re.findall(r"\{([^}]*)\}", s):
        labels |= set(re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", sel))
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    grp = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)"
    for g in re.findall(grp, s):
        labels |= {x.strip() for x in g.split(",") if x.strip()}
    s = re.sub(grp, " ", s)
    names = set()
    for m in re.finditer(r"(?<![\w.:$])[A-Za-z_:][\w:]*", s):
        tok = m.group(0)
        if s[m.end():].lstrip().startswith("(") or tok.lower() in KEYWORDS:
            continue
        names.add(tok)
    return names, labels


def read_metrics(path):
    """Metric names (from # TYPE) and label names of the real output."""
    names, labels = set(), set()
    helps = {}
    for line in open(path):
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if m:
            names.add(m.group(1))
            continue
        m = re.match(r"# HELP (\S+) (.*)", line)
        if m:
            helps[m.group(1)] = m.group(2)
            continue
        m = re.match(r"([A-Za-z_:][\w:]*)\{([^}]*)\} ", line)
        if m:
            labels |= set(re.findall(r'([A-Za-z_]\w*)="', m.group(2)))
    return names, labels, helps


def verdict_counters(header, names_in_order):
    """The XDP verdict counters, SG_CNT_XDP_VERDICT_FIRST to _LAST, in
    the order the real output prints them (the X-macro's)."""
    text = open(header).read()
    first = re.search(r"#define SG_CNT_XDP_VERDICT_FIRST SG_CNT_(\w+)", text).group(1).lower()
    last = re.search(r"#define SG_CNT_XDP_VERDICT_LAST SG_CNT_(\w+)", text).group(1).lower()
    i = names_in_order.index("synguard_%s_total" % first)
    j = names_in_order.index("synguard_%s_total" % last)
    return names_in_order[i:j + 1]


def static(dash_path, header, metrics):
    errs = []
    d = json.load(open(dash_path))
    real, real_labels, helps = read_metrics(metrics)
    order = [re.match(r"# TYPE (\S+)", l).group(1) for l in open(metrics) if l.startswith("# TYPE ")]

    inputs = [i for i in d.get("__inputs", []) if i.get("type") == "datasource"]
    if [(i.get("name"), i.get("pluginId")) for i in inputs] != [("DS_PROMETHEUS", "prometheus")]:
        errs.append("__inputs: want one datasource input DS_PROMETHEUS (prometheus), got %s" % inputs)
    if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 36:
        errs.append("schemaVersion %s: want 36 or later (Grafana 9+)" % d.get("schemaVersion"))
    ids = [p.get("id") for p in d.get("panels", [])]
    if len(ids) != len(set(ids)) or None in ids:
        errs.append("panel ids not unique: %s" % ids)
    for p in d.get("panels", []):
        if p.get("datasource", {}).get("uid") != DS:
            errs.append("panel '%s': datasource %s, want uid %s" % (p.get("title"), p.get("datasource"), DS))
        for t in p.get("targets", []):
            if t.get("datasource", {}).get("uid") != DS:
                errs.append("panel '%s' %s: datasource %s" % (p.get("title"), t.get("refId"), t.get("datasource")))
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in "xywh") or g["x"] + g["w"] > 24:
            errs.append("panel '%s': gridPos %s" % (p.get("title"), g))
    boxes = [(p.get("title"), p.get("gridPos", {})) for p in d.get("panels", [])]
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1:]:
            try:
                if (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and
                        a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]):
                    errs.append("panels '%s' and '%s' overlap" % (ta, tb))
            except (KeyError, TypeError):
                pass  # reported above
    var = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    for n in ("instance", "iface"):
        v = var.get(n)
        if not v or v.get("type") != "query" or v.get("datasource", {}).get("uid") != DS:
            errs.append("template variable %s: missing, not a query or not on %s" % (n, DS))
    # Every expression: its metrics and labels are the real output's.
    for where, expr in expressions(d):
        if not expr.strip():
            errs.append("%s: empty expression" % where)
            continue
        names, labels = parse(expr)
        if not names:
            errs.append("%s: no metric in '%s'" % (where, expr))
        for n in sorted(names - real):
            errs.append("%s: metric %s is not in synguard stats --prometheus" % (where, n))
        for l in sorted(labels - real_labels - SCRAPE_LABELS):
            errs.append("%s: label %s is not in synguard stats --prometheus" % (where, l))
        if where.startswith("panel") and not re.search(r'iface=~"\$iface"', expr):
            errs.append("%s: does not select iface=~\"$iface\"" % where)
    # The required panels and what each must show.
    panels = {p.get("title"): p for p in d.get("panels", [])}
    for title, want in REQUIRED.items():
        p = panels.get(title)
        if not p:
            errs.append("no panel '%s'" % title)
            continue
        got = set()
        for t in p.get("targets", []):
            got |= parse(t.get("expr", ""))[0]
        for n in sorted(want - got):
            errs.append("panel '%s' does not show %s" % (title, n))
    # The verdicts panel: every XDP verdict counter, one each; those the
    # real HELP text calls dropped (and only those) drawn below the axis.
    p = panels.get(VERDICTS)
    if p:
        want = verdict_counters(header, order)
        shown, drawn_down = [], set()
        down = [o["matcher"]["options"] for o in p["fieldConfig"].get("overrides", [])
                if o.get("matcher", {}).get("id") == "byRegexp" and
                {"id": "custom.transform", "value": "negative-Y"} in o.get("properties", [])]
        for t in p.get("targets", []):
            n = parse(t.get("expr", ""))[0]
            shown += sorted(n)
            if any(re.fullmatch(r, t.get("legendFormat", "")) for r in down):
                drawn_down |= n
        if sorted(shown) != sorted(want):
            errs.append("panel '%s' must show each verdict counter once: missing %s, not verdicts %s, twice %s" % (
                VERDICTS, sorted(set(want) - set(shown)), sorted(set(shown) - set(want)),
                sorted({n for n in shown if shown.count(n) > 1})))
        dropped = {n for n in want if re.search(r": dropped", helps.get(n, ""))}
        if not dropped:
            errs.append("no verdict counter's HELP says ': dropped'")
        if drawn_down != dropped:
            errs.append("panel '%s': drawn below the axis %s, dropped by their HELP %s" % (
                VERDICTS, sorted(drawn_down - dropped), sorted(dropped - drawn_down)))
        if p.get("fieldConfig", {}).get("defaults", {}).get("custom", {}).get("stacking", {}).get("mode") != "normal":
            errs.append("panel '%s' is not stacked" % VERDICTS)
    for e in errs:
        print(e)
    return 1 if errs else 0


def promql(d, values):
    """(where, expr) with Grafana's variables replaced by VALUES, and a
    variable's label_values(SELECTOR, LABEL) by its selector."""
    for where, expr in expressions(d):
        m = re.fullmatch(r"\s*label_values\((.*),\s*([A-Za-z_]\w*)\s*\)\s*", expr, re.S)
        if m:
            expr = m.group(1)
        for k, v in values.items():
            expr = expr.replace(k, v)
        yield where, expr


def rules(dash_path):
    out = ["groups:", "  - name: grafana", "    rules:"]
    for i, (where, expr) in enumerate(promql(json.load(open(dash_path)), GRAFANA_VARS)):
        out.append("      # %s" % where)
        out.append("      - record: grafana_expr_%d" % i)
        out.append("        expr: %s" % json.dumps(expr))
    print("\n".join(out))
    return 0


def evaluate(dash_path, metrics, iface, outdir):
    values = dict(GRAFANA_VARS, **{"$instance": "gf", "$iface": iface})
    rl = ["groups:", "  - name: grafana", "    rules:"]
    queries = list(promql(json.load(open(dash_path)), values))
    for i, (where, expr) in enumerate(queries):
        rl.append("      # %s" % where)
        rl.append("      - alert: Empty%d" % i)
        rl.append("        expr: %s" % json.dumps("absent(%s)" % expr))
        rl.append("        labels:")
        rl.append("          query: %s" % json.dumps(where))
    # Each real sample, constant for ten minutes, as a scrape stores it.
    series = []
    for line in open(metrics):
        m = re.match(r"([A-Za-z_:][\w:]*)\{([^}]*)\} (\S+)$", line.strip())
        if m:
            series.append((m.group(1) + '{' + m.group(2) + ',instance="gf",job="synguard"}',
                           "%s+0x40" % m.group(3)))
    tl = ["rule_files: [rules.yml]", "evaluation_interval: 15s", "tests:",
          "  - interval: 15s", "    input_series:"]
    for name, vals in series:
        tl.append("      - series: %s" % json.dumps(name))
        tl.append("        values: %s" % json.dumps(vals))
    tl.append("    alert_rule_test:")
    for i in range(len(queries)):
        tl.append("      - {eval_time: 5m, alertname: Empty%d, exp_alerts: []}" % i)
    open(outdir + "/rules.yml", "w").write("\n".join(rl) + "\n")
    open(outdir + "/test.yml", "w").write("\n".join(tl) + "\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "static":
        sys.exit(static(*sys.argv[2:]))
    if len(sys.argv) == 3 and sys.argv[1] == "rules":
        sys.exit(rules(sys.argv[2]))
    if len(sys.argv) == 6 and sys.argv[1] == "evaluate":
        sys.exit(evaluate(*sys.argv[2:]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)

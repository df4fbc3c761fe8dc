#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Keeps the verdicts panel of deploy/grafana/synguard.json in step with
the XDP verdict counters of include/synguard.h (SG_COUNTERS, synack_sent to
other_pass): adds a query for each counter the panel lacks, in the header's
order, labelled "drop:" when its help says dropped, "answered:" when it says
answered, else "pass:", and renumbers the queries.

  deploy/grafana/sync_verdicts.py [TREE]      default: this tree

tests/deploy/test_grafana.sh fails when a verdict is missing; run this,
then check the new rows in Grafana.
"""
import json
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
h = open(root + '/include/synguard.h').read()
body = h[h.index('#define SG_COUNTERS(X)'):]
body = body[:body.index('\n\n')]
ctrs = re.findall(r'X\((\w+), "(\w+)",\s*\\?\s*"([^"]*)"\)', body.replace('\\\n', ' '))
names = [c[1] for c in ctrs]
helps = {c[1]: c[2] for c in ctrs}
first, last = names.index('synack_sent'), names.index('other_pass')
verdicts = names[first:last + 1]
p = root + '/deploy/grafana/synguard.json'
raw = open(p).read()
d = json.loads(raw)
for panel in d['panels']:
    t = panel.get('targets', [])
    if not any('syn_disengaged_pass' in x.get('expr', '') for x in t):
        continue
    have = {}
    for x in t:
        m = re.search(r'synguard_(\w+)_total', x['expr'])
        have[m.group(1)] = x
    tmpl = t[0]
    out = []
    for n in verdicts:
        if n in have:
            out.append(have[n]); continue
        x = json.loads(json.dumps(tmpl))
        x['expr'] = re.sub(r'synguard_\w+_total', 'synguard_%s_total' % n, tmpl['expr'])
        hp = helps[n]
        kind = 'drop' if 'dropped' in hp else ('answered' if 'answered' in hp else 'pass')
        x['legendFormat'] = '%s: %s' % (kind, n)
        out.append(x)
        print('added', x['legendFormat'])
    def ref(i):
        s = ''
        i += 1
        while i:
            i, r = divmod(i - 1, 26)
            s = chr(65 + r) + s
        return s
    for i, x in enumerate(out):
        x['refId'] = ref(i)
    panel['targets'] = out
new = json.dumps(d, indent=2, ensure_ascii=False) + '\n'
open(p, 'w').write(new)

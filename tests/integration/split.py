#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A TCP handshake split in two, for test_continuity.sh.

  split.py IFACE SMAC DMAC SRC DST PORT SPORT ts|nots GOFILE

Sends a SYN from SRC:SPORT to DST:PORT on IFACE (with timestamps, SACK and
window scale, or with MSS alone) and waits for the SYN-ACK; prints
{"synack": 1}. Then it waits until GOFILE exists, which gives the suite
time to change the key while the handshake is in flight, sends the
handshake's ACK carrying 4 bytes, and waits for the server's echo of them.
Prints {"echo": 1} and exits 0 if the echo came, {"echo": 0} and exits 1 if
not.

The client namespace's kernel knows nothing of this connection: the suite
drops its RSTs from SPORT, which would otherwise answer the SYN-ACK.
"""
import json
import os
import sys
import threading
import time

WAIT_GO = 120.0  # the suite's key change takes seconds, never this long
# The SYN-ACK and the echo come back in well under a millisecond, but the
# sniffer's thread sees them seconds late when the CPUs are busy.
WAIT_SYNACK = 10.0
WAIT_ECHO = 5.0
PAYLOAD = b"ping"


def say(**kw):
    print(json.dumps(kw), flush=True)


def main(argv):
    from scapy.all import AsyncSniffer, Ether, IP, IPv6, TCP, Raw, sendp

    if len(argv) != 10:
        print(__doc__, file=sys.stderr)
        return 2
    iface, smac, dmac, src, dst = argv[1:6]
    port, sport, ts, gofile = int(argv[6]), int(argv[7]), argv[8], argv[9]
    ip = (IPv6 if ":" in dst else IP)(src=src, dst=dst)
    eth = Ether(src=smac, dst=dmac)
    isn = 0x1000 + sport * 7919
    tsval = 0x10000 + sport
    opts = [("MSS", 1400)]
    if ts == "ts":
        opts += [("SAckOK", b""), ("Timestamp", (tsval, 0)), ("NOP", None),
                 ("WScale", 7)]

    def sniff(want):
        ready = threading.Event()
        sn = AsyncSniffer(iface=iface, store=True, lfilter=want,
                          filter="tcp src port %d and tcp dst port %d" %
                          (port, sport), started_callback=ready.set)
        sn.start()
        if not ready.wait(5):
            say(error="sniffer did not start")
            sys.exit(2)
        return sn

    def wait_for(sn, secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            if sn.results:
                break
            time.sleep(0.01)
        return sn.stop() or []

    sn = sniff(lambda p: TCP in p and int(p[TCP].flags) & 0x12 == 0x12)
    sendp(eth / ip / TCP(sport=sport, dport=port, flags="S", seq=isn,
                         window=64240, options=opts),
          iface=iface, verbose=False)
    synacks = wait_for(sn, WAIT_SYNACK)
    if not synacks:
        say(synack=0)
        return 1
    sa = synacks[0][TCP]
    say(synack=1, cookie=sa.seq)

    end = time.monotonic() + WAIT_GO
    while not os.path.exists(gofile):
        if time.monotonic() > end:
            say(error="no go file")
            return 2
        time.sleep(0.02)

    ack_opts = []
    if ts == "ts":
        echo = next((v for k, v in sa.options if k == "Timestamp"), None)
        if echo:
            ack_opts = [("NOP", None), ("NOP", None),
                        ("Timestamp", (tsval + 1, echo[0]))]
    sn = sniff(lambda p: Raw in p and bytes(p[Raw].load) == PAYLOAD)
    sendp(eth / ip / TCP(sport=sport, dport=port, flags="PA", seq=isn + 1,
                         ack=sa.seq + 1, window=502, options=ack_opts) /
          Raw(PAYLOAD), iface=iface, verbose=False)
    got = wait_for(sn, WAIT_ECHO)
    say(echo=int(bool(got)))
    return 0 if got else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Peers of test_parity.sh that tcp_echo and tcp_client cannot play.

  parity.py tw-server ADDR PORT       echo one message, then close first:
                                      the server holds TIME_WAIT
  parity.py tw-client ADDR PORT SPORT one connection from source port SPORT
  parity.py mptcp-server ADDR PORT    an IPPROTO_MPTCP echo listener
  parity.py flight ADDR PORT BYTES    send BYTES at once after connect with
                                      the handshake's ACK held back, so the
                                      first flight is several segments
  parity.py craft CASE IFACE SMAC DMAC SPORT  one crafted SYN (scapy) sent
                                      on IFACE, answers sniffed for 1.5 s

Servers print {"ready":1} once listening, then one JSON line per
connection. Clients print one JSON line and exit 0 only on success.
"""
import json
import socket
import sys
import threading
import time

IPPROTO_MPTCP = 262
TIMEOUT = 5.0  # a connect the defense breaks hangs: fail it, do not wait


def listener(addr, port, proto=0):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM, proto)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    print(json.dumps({"ready": 1}), flush=True)
    return s


def say(**kw):
    print(json.dumps(kw), flush=True)


def tw_server(addr, port):
    s = listener(addr, int(port))
    while True:
        c, peer = s.accept()
        c.settimeout(TIMEOUT)
        try:
            data = c.recv(4096)
            c.sendall(data)
            say(role="server", peer=peer[1], bytes=len(data))
        except OSError as e:
            say(role="server", error=str(e))
        # The server closes first: its end of the tuple goes to TIME_WAIT.
        c.close()


def exchange(s, addr, port, msg, half_close):
    """Connects s, sends msg, reads the echo until the server's FIN."""
    try:
        s.connect((addr, int(port)))
        s.sendall(msg)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
        s.close()
    except OSError as e:
        say(ok=0, error=str(e))
        return 1
    say(ok=int(got == msg), bytes=len(got))
    return 0 if got == msg else 1


def tcp_socket(addr):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    return s


def tw_client(addr, port, sport):
    s = tcp_socket(addr)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("", int(sport)))
    except OSError as e:
        say(ok=0, error="bind: " + str(e))
        return 1
    # The server echoes and closes first.
    return exchange(s, addr, port, b"timewait" * 16, False)


def mptcp_server(addr, port):
    s = listener(addr, int(port), IPPROTO_MPTCP)
    while True:
        c, _ = s.accept()
        c.settimeout(TIMEOUT)
        n = 0
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
                n += len(d)
        except OSError:
            pass
        c.close()
        say(role="server", bytes=n)


def flight(addr, port, nbytes):
    s = tcp_socket(addr)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # Quickack off before connect: the kernel holds back the handshake's
    # ACK for the data about to follow (tcp_rcv_synsent_state_process,
    # pingpong mode), so the first segment is the ACK carrying data and the
    # rest of the write follows it in one burst, as a TLS client does.
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
    msg = bytes((i * 7 + 3) & 0xff for i in range(int(nbytes)))
    # tcp_echo closes once the client has: half-close after sending.
    return exchange(s, addr, port, msg, True)


# Addresses of the suite's topology (lib.sh).
C4, S4, C6, S6 = "192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::2"


def craft(case, iface, smac, dmac, sport):
    # Imported here: only craft needs scapy.
    from scapy.all import AsyncSniffer, Ether, IP, IPv6, TCP, Raw, sendp

    sport = int(sport)
    dport = 80
    seq = 0x12345678
    eth = Ether(src=smac, dst=dmac)
    ip4 = IP(src=C4, dst=S4)
    syn = TCP(sport=sport, dport=dport, flags="S", seq=seq, window=64240,
              options=[("MSS", 1460)])
    if case == "bcast_mac":
        pkt = Ether(src=smac, dst="ff:ff:ff:ff:ff:ff") / ip4 / syn
    elif case == "mcast_v4":
        pkt = eth / IP(src=C4, dst="224.0.0.1") / syn
    elif case == "bcast_v4":
        pkt = eth / IP(src=C4, dst="255.255.255.255") / syn
    elif case == "mcast_v6":
        pkt = eth / IPv6(src=C6, dst="ff02::1") / syn
    elif case == "mapped_v6":
        pkt = eth / IPv6(src="::ffff:" + C4, dst=S6) / syn
    elif case in ("bad_tcp_csum", "bad_ip_csum"):
        good = Ether(bytes(eth / ip4 / syn))
        if case == "bad_tcp_csum":
            good[TCP].chksum = (good[TCP].chksum + 0x1234) & 0xffff
        else:
            good[IP].chksum = (good[IP].chksum + 0x1234) & 0xffff
        pkt = good
    elif case == "opt_fe00":
        # MSS, then kind 254 with length 0 and padding: the kernel stops
        # its option walk there and keeps the SYN.
        opts = b"\x02\x04\x05\xb4\xfe\x00\x00\x00"
        pkt = eth / ip4 / TCP(sport=sport, dport=dport, flags="S", seq=seq,
                              window=64240, dataofs=7) / Raw(opts)
    elif case in ("ecn_ect0", "ecn_notect"):
        # Timestamps: a cookie keeps ECN only in our TSval.
        tos = 0x02 if case == "ecn_ect0" else 0
        pkt = eth / IP(src=C4, dst=S4, tos=tos) / TCP(
            sport=sport, dport=dport, flags="SEC", seq=seq, window=64240,
            options=[("MSS", 1460), ("Timestamp", (12345, 0))])
    else:
        say(error="unknown case " + case)
        return 2
    raw = bytes(pkt)

    ready = threading.Event()
    sn = AsyncSniffer(iface=iface, store=True,
                      filter="tcp src port %d and tcp dst port %d" % (dport, sport),
                      started_callback=ready.set)
    sn.start()
    if not ready.wait(5):
        say(error="sniffer did not start")
        return 2
    sendp(Ether(raw), iface=iface, verbose=False)
    time.sleep(1.5)  # a SYN-ACK comes back in well under a millisecond
    res = sn.stop() or []
    synacks = [p for p in res if TCP in p and (int(p[TCP].flags) & 0x12) == 0x12]
    out = {"case": case, "synacks": len(synacks)}
    if synacks:
        t = synacks[0][TCP]
        out["ece"] = int(bool(int(t.flags) & 0x40))
        out["ack_ok"] = int(t.ack == seq + 1)
        out["mss"] = next((v for k, v in t.options if k == "MSS"), 0)
    say(**out)
    return 0


def main(argv):
    cmds = {"tw-server": tw_server, "tw-client": tw_client,
            "mptcp-server": mptcp_server, "flight": flight, "craft": craft}
    if len(argv) < 2 or argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[argv[1]](*argv[2:]) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

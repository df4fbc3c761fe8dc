// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel parity: synguard answers a SYN only where the kernel would accept
 * it and the handoff can serve it, drops what the kernel would drop, and
 * lets nothing the kernel would take as a SYN past it while cookies are on.
 * Also the window scale bound to the cookie, the first flight, the clock
 * offset and the metadata secret. Real program, crafted frames.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "harness.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* Protected ports of this group: 80/443 have listeners (harness), 8443
 * has none, 9443 an MPTCP listener. */
#define P_NONE 8443
#define P_MPTCP 9443

static int build(const struct pkt_spec *s, uint8_t *buf)
{
	int len = pkt_build(s, buf, PKT_BUF_SIZE);

	if (len < 0)
		fail("test bug: pkt_build failed");
	return len;
}

/* Runs a SYN frame expecting a SYN-ACK; the output stays in *r. */
static int expect_answer(const char *name, const uint8_t *in, int len,
			 struct run *r)
{
	int ok = 0;

	begin(name);
	if (len > 0 && !run_prog(in, len, r)) {
		expect_verdict(r, XDP_TX);
		expect_counters(r, SG_CNT_SYN_RECEIVED, SG_CNT_SYNACK_SENT,
				CNT_END);
		ok = !case_errors;
	}
	if (!ok)
		end();
	return ok;
}

/* The TCP header of a frame in r, or NULL (a failure said). */
static const uint8_t *tcp_of(const struct run *r, size_t *tcp_len)
{
	struct pkt_offs o;

	if (pkt_offsets(r->out, r->out_len, &o) || o.l4_off < 0) {
		fail("output has no TCP header");
		return NULL;
	}
	*tcp_len = r->out_len - o.l4_off;
	return r->out + o.l4_off;
}

static void test_not_unicast(void)
{
	static const struct {
		const char *name;
		int family;
		const char *src, *dst;
		int bcast_mac;
	} c[] = {
		{"SYN to the broadcast MAC", 4, NULL, NULL, 1},
		{"SYN to 224.0.0.1", 4, NULL, "224.0.0.1", 0},
		{"SYN to 255.255.255.255", 4, NULL, "255.255.255.255", 0},
		{"SYN from 0.0.0.0", 4, "0.0.0.0", NULL, 0},
		{"SYN from 127.0.0.1", 4, "127.0.0.1", NULL, 0},
		{"SYN from 224.0.0.5", 4, "224.0.0.5", NULL, 0},
		{"IPv6 SYN to ff02::1", 6, NULL, "ff02::1", 0},
		{"IPv6 SYN from ::ffff:192.0.2.1 (v4-mapped)", 6,
		 "::ffff:192.0.2.1", NULL, 0},
		{"IPv6 SYN from ff05::2", 6, "ff05::2", NULL, 0},
		{"IPv6 SYN from ::1", 6, "::1", NULL, 0},
	};
	size_t i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct pkt_spec s;
		char name[160];
		int af = c[i].family == 4 ? AF_INET : AF_INET6;

		pkt_spec_init(&s, c[i].family);
		if (c[i].src)
			inet_pton(af, c[i].src, s.saddr);
		if (c[i].dst)
			inet_pton(af, c[i].dst, s.daddr);
		if (c[i].bcast_mac)
			memset(s.eth_dst, 0xff, 6);
		snprintf(name, sizeof(name), "%s -> drop, the kernel refuses it",
			 c[i].name);
		spec_untouched2(name, &s, XDP_DROP, SG_CNT_SYN_RECEIVED,
				SG_CNT_SYN_NOT_UNICAST);
	}
}

static void test_checksums(void)
{
	uint8_t buf[PKT_BUF_SIZE];
	struct pkt_offs o;
	struct pkt_spec s;
	struct run r;
	int len, family;
	const uint8_t data[100] = { 1, 2, 3 };

	pkt_spec_init(&s, 4);
	len = build(&s, buf);
	if (len > 0 && !pkt_offsets(buf, len, &o)) {
		buf[o.l3_off + 10] ^= 0x01; /* IPv4 header checksum */
		untouched2("SYN with a wrong IPv4 header checksum -> drop", buf,
			   len, XDP_DROP, SG_CNT_SYN_RECEIVED,
			   SG_CNT_SYN_BAD_CSUM);
	}
	/* The option words are summed apart from the fixed 20 bytes
	 * (bpf/syncheck.h): an error there must count as well. */
	pkt_spec_init(&s, 4);
	memset(s.ip_opts, 1, 4); /* four NOPs */
	s.ip_opts_len = 4;
	len = build(&s, buf);
	if (len > 0 && !pkt_offsets(buf, len, &o)) {
		buf[o.l3_off + 23] = 0; /* NOP -> EOL, checksum not updated */
		untouched2(
			"SYN with IP options, checksum wrong for them -> drop",
			buf, len, XDP_DROP, SG_CNT_SYN_RECEIVED,
			SG_CNT_SYN_BAD_CSUM);
	}
	for (family = 4; family <= 6; family += 2) {
		char name[128];

		pkt_spec_init(&s, family);
		pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
		pkt_opt_nop(s.tcp_opts, &s.tcp_opts_len);
		pkt_opt_ts(s.tcp_opts, &s.tcp_opts_len, 0x01020304, 0);
		len = build(&s, buf);
		if (len > 0 && !pkt_offsets(buf, len, &o)) {
			buf[o.l4_off + 20 + 5] ^= 0x08; /* in the TSval */
			snprintf(name, sizeof(name),
				 "IPv%d SYN, a TCP option byte changed -> drop",
				 family);
			untouched2(name, buf, len, XDP_DROP,
				   SG_CNT_SYN_RECEIVED, SG_CNT_SYN_BAD_CSUM);
		}

		pkt_spec_init(&s, family);
		len = build(&s, buf);
		if (len <= 0 || pkt_offsets(buf, len, &o))
			continue;
		buf[o.l4_off + 17] ^= 0x40; /* TCP checksum */
		snprintf(name, sizeof(name),
			 "IPv%d SYN with a wrong TCP checksum -> drop", family);
		untouched2(name, buf, len, XDP_DROP, SG_CNT_SYN_RECEIVED,
			   SG_CNT_SYN_BAD_CSUM);

		/* The data of a SYN counts too (TCP Fast Open). */
		pkt_spec_init(&s, family);
		s.payload = data;
		s.payload_len = 99; /* odd: the last word is padded */
		len = build(&s, buf);
		snprintf(name, sizeof(name),
			 "IPv%d SYN with 99 bytes of data -> SYN-ACK", family);
		if (expect_answer(name, buf, len, &r))
			end();
		if (len > 0 && !pkt_offsets(buf, len, &o)) {
			buf[o.l4_off + 20 + 98] ^= 0x10;
			snprintf(name, sizeof(name),
				 "IPv%d SYN with its data corrupted -> drop",
				 family);
			untouched2(name, buf, len, XDP_DROP,
				   SG_CNT_SYN_RECEIVED, SG_CNT_SYN_BAD_CSUM);
		}
	}
	/*
	 * A partial checksum, as a local sender behind a veth with checksum
	 * offload leaves it: the pseudo-header sum, not complemented.
	 */
	pkt_spec_init(&s, 4);
	s.flags |= PKT_F_NO_L4_CSUM;
	len = build(&s, buf);
	if (len > 0 && !pkt_offsets(buf, len, &o)) {
		uint8_t ph[12];
		uint16_t c;

		memcpy(ph, buf + o.l3_off + 12, 8);
		ph[8] = 0;
		ph[9] = IPPROTO_TCP;
		ph[10] = 0;
		ph[11] = 20;
		{
			uint32_t sum = ref_csum_add(0, ph, sizeof(ph));

			while (sum >> 16)
				sum = (sum & 0xffff) + (sum >> 16);
			c = sum; /* folded, not complemented */
		}
		buf[o.l4_off + 16] = c >> 8;
		buf[o.l4_off + 17] = c & 0xff;
		if (expect_answer("SYN with a partial (offload) checksum -> SYN-ACK",
				  buf, len, &r))
			end();
	}
}

static void test_ecn(void)
{
	uint8_t buf[PKT_BUF_SIZE];
	struct pkt_spec s;
	const uint8_t *th;
	size_t tl;
	struct run r;
	int len;

	/* ECN needs timestamps: only our TSval has room to remember it. */
	pkt_spec_init(&s, 4);
	s.tcp_flags |= PKT_TCP_ECE | PKT_TCP_CWR;
	len = build(&s, buf);
	if (expect_answer("ECN setup SYN without timestamps -> no ECE", buf,
			  len, &r)) {
		if ((th = tcp_of(&r, &tl)) && (th[13] & PKT_TCP_ECE))
			fail("ECE set");
		end();
	}
	pkt_opt_ts(s.tcp_opts, &s.tcp_opts_len, 1000, 0);
	pkt_opt_pad(s.tcp_opts, &s.tcp_opts_len);
	len = build(&s, buf);
	if (expect_answer("ECN setup SYN -> SYN-ACK with ECE", buf, len, &r)) {
		if ((th = tcp_of(&r, &tl)) && !(th[13] & PKT_TCP_ECE))
			fail("no ECE");
		end();
	}
	s.tos = 0x02; /* ECT(0): the kernel grants no ECN to it */
	len = build(&s, buf);
	if (expect_answer("ECT-marked ECN setup SYN -> SYN-ACK without ECE", buf,
			  len, &r)) {
		if ((th = tcp_of(&r, &tl)) && (th[13] & PKT_TCP_ECE))
			fail("ECE set");
		end();
	}
	pkt_spec_init(&s, 6);
	s.tcp_flags |= PKT_TCP_ECE | PKT_TCP_CWR;
	pkt_opt_ts(s.tcp_opts, &s.tcp_opts_len, 1000, 0);
	pkt_opt_pad(s.tcp_opts, &s.tcp_opts_len);
	s.tos = 0x01; /* ECT(1) in the traffic class */
	len = build(&s, buf);
	if (expect_answer("IPv6 ECT-marked ECN setup SYN -> no ECE", buf, len,
			  &r)) {
		if ((th = tcp_of(&r, &tl)) && (th[13] & PKT_TCP_ECE))
			fail("ECE set");
		end();
	}
}

/* A full SYN's options, for the sysctl cases. */
static void full_syn(struct pkt_spec *s, int family)
{
	pkt_spec_init(s, family);
	s->tcp_opts_len = 0;
	pkt_opt_mss(s->tcp_opts, &s->tcp_opts_len, 1460);
	pkt_opt_sackperm(s->tcp_opts, &s->tcp_opts_len);
	pkt_opt_ts(s->tcp_opts, &s->tcp_opts_len, 1000, 0);
	pkt_opt_nop(s->tcp_opts, &s->tcp_opts_len);
	pkt_opt_ws(s->tcp_opts, &s->tcp_opts_len, 7);
	s->tcp_flags |= PKT_TCP_ECE | PKT_TCP_CWR;
}

static void test_sysctls(void)
{
	static const struct {
		const char *name;
		uint8_t off;
		uint8_t kind; /* option that must be gone, or 0 for ECE */
	} c[] = {
		{"tcp_sack=0", SG_SYSCTL_SACK, 4},
		{"tcp_timestamps=0", SG_SYSCTL_TS, 8},
		{"tcp_window_scaling=0", SG_SYSCTL_WS, 3},
		{"tcp_ecn=0", SG_SYSCTL_ECN, 0},
	};
	uint8_t buf[PKT_BUF_SIZE];
	const uint8_t *th, *d;
	struct pkt_spec s;
	struct run r;
	size_t i, tl;
	int len, dl;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char name[128];

		cfg.tcp_sysctl = SG_SYSCTL_ALL & ~c[i].off;
		put_config();
		full_syn(&s, 4);
		len = build(&s, buf);
		snprintf(name, sizeof(name),
			 "%s in the namespace -> the SYN-ACK does not offer it",
			 c[i].name);
		if (!expect_answer(name, buf, len, &r))
			continue;
		th = tcp_of(&r, &tl);
		if (th && c[i].kind &&
		    pkt_tcpopt_find(th, tl, c[i].kind, &d, &dl) >= 0)
			fail("option %u offered", c[i].kind);
		if (th && !c[i].kind && (th[13] & PKT_TCP_ECE))
			fail("ECE set");
		/*
		 * The cookie says so too: no SACK/WS bits for the handoff,
		 * in our TSval (which the client echoes) or, without
		 * timestamps, in the cookie itself.
		 */
		if (th && pkt_tcpopt_find(th, tl, PKT_TCPOPT_TS, &d, &dl) >= 0 &&
		    dl == 8) {
			uint32_t tsv = pkt_be32(d);

			if (c[i].off == SG_SYSCTL_SACK && (tsv & SG_TS_SACK))
				fail("TSval has the SACK bit");
			if (c[i].off == SG_SYSCTL_WS &&
			    (tsv & SG_TS_WS_MASK) != SG_COOKIE_WS_NONE)
				fail("TSval has a window scale");
		} else if (th) {
			uint32_t ck = pkt_be32(th + 4);

			if (c[i].off != SG_SYSCTL_TS)
				fail("no timestamp option");
			if (!(ck & SG_COOKIE_SACK) ||
			    !(ck >> SG_COOKIE_WS_SHIFT & SG_COOKIE_WS_MASK))
				fail("cookie lost SACK or the window scale");
		}
		end();
	}
	cfg.tcp_sysctl = SG_SYSCTL_ALL & ~SG_SYSCTL_SYNCOOKIES;
	put_config();
	full_syn(&s, 6);
	expect_syn_untouched("tcp_syncookies=0 -> pass, no handoff possible",
			     &s, SG_CNT_SYN_NO_HANDOFF_PASS);
	config_defaults();
	/* detach drains: SYNs go to the kernel, untouched and counted. */
	cfg.draining = 1;
	put_config();
	full_syn(&s, 4);
	expect_syn_untouched("detach draining -> IPv4 SYN passes", &s,
			     SG_CNT_SYN_DETACH_PASS);
	full_syn(&s, 6);
	expect_syn_untouched("detach draining -> IPv6 SYN passes", &s,
			     SG_CNT_SYN_DETACH_PASS);
	config_defaults();
}

static int listen_on(int family, int proto, int port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(port) };
	struct sockaddr_in a4 = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_STREAM, proto);

	if (fd < 0)
		return -1;
	if ((family == 4 ? bind(fd, (void *)&a4, sizeof(a4)) :
			   bind(fd, (void *)&a6, sizeof(a6))) ||
	    listen(fd, 8)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void test_owners(void)
{
	const int ports[] = {80, 443, P_NONE, P_MPTCP};
	int lfd = -1, cfd = -1, afd = -1, mfd, family;
	uint16_t cport = 0;
	struct pkt_spec s;
	char name[128];

	put_ports(ports, 4);
	for (family = 4; family <= 6; family += 2) {
		pkt_spec_init(&s, family);
		s.dport = P_NONE;
		snprintf(name, sizeof(name),
			 "IPv%d SYN, no local listener (forwarded) -> pass",
			 family);
		expect_syn_untouched(name, &s, SG_CNT_SYN_NO_LISTENER_PASS);
	}
	/* A listener on 80 (the harness's) and a NAT rule too: the CLI puts
	 * SG_PORT_PASS on the port, and its SYNs pass. */
	put_port_bits(SG_PORT_PASS, (const int[]){80}, 1);
	for (family = 4; family <= 6; family += 2) {
		pkt_spec_init(&s, family);
		s.dport = 80;
		snprintf(name, sizeof(name),
			 "IPv%d SYN to a local+nat port (SG_PORT_PASS) -> pass",
			 family);
		expect_syn_untouched(name, &s, SG_CNT_SYN_LOCAL_NAT_PASS);
	}
	put_port_bits(SG_PORT_PASS, NULL, 0);
	mfd = listen_on(6, IPPROTO_MPTCP, P_MPTCP);
	if (mfd < 0) {
		printf("skip MPTCP listener: cannot listen with IPPROTO_MPTCP: "
		       "%s\n", strerror(errno));
	} else {
		for (family = 4; family <= 6; family += 2) {
			pkt_spec_init(&s, family);
			s.dport = P_MPTCP;
			snprintf(name, sizeof(name),
				 "IPv%d SYN to an MPTCP listener -> pass",
				 family);
			expect_syn_untouched(name, &s, SG_CNT_SYN_MPTCP_PASS);
		}
		close(mfd);
	}
	/*
	 * A socket of the very connection (TIME_WAIT or established) takes
	 * the SYN itself. Loopback addresses are martian on a NIC, so the
	 * connection uses a documentation address added to lo.
	 */
	if (system("ip addr add 203.0.113.7/32 dev lo 2>/dev/null") ||
	    (cfd = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		begin("IPv4 SYN on a connection the kernel has -> pass");
		fail("cannot add 203.0.113.7 to lo");
		end();
	} else {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_port = htons(80) };
		socklen_t sl = sizeof(a);

		inet_pton(AF_INET, "203.0.113.7", &a.sin_addr);
		if (connect(cfd, (void *)&a, sizeof(a)) ||
		    getsockname(cfd, (void *)&a, &sl)) {
			begin("IPv4 SYN on a connection the kernel has -> pass");
			fail("connect: %s", strerror(errno));
			end();
		} else {
			cport = ntohs(a.sin_port);
			pkt_spec_init(&s, 4);
			inet_pton(AF_INET, "203.0.113.7", s.saddr);
			inet_pton(AF_INET, "203.0.113.7", s.daddr);
			s.sport = cport;
			expect_syn_untouched(
				"IPv4 SYN on a connection the kernel has -> pass",
				&s, SG_CNT_SYN_SOCKET_PASS);
		}
		close(cfd);
	}
	(void)lfd;
	(void)afd;
	{
		const int def[] = {80, 443};

		put_ports(def, 2);
	}
}

/* SYN, then its ACK: the cookie's SYN-ACK and the ACK spec. */
static int handshake(struct pkt_spec *ack, uint32_t *cookie)
{
	uint8_t buf[PKT_BUF_SIZE];
	struct pkt_spec s;
	const uint8_t *th, *ts;
	struct run r;
	size_t tl;
	int len, dl;

	full_syn(&s, 4);
	s.sport = 40000 + (rand() & 0x3fff);
	len = build(&s, buf);
	if (len <= 0 || run_prog(buf, len, &r) || r.verdict != XDP_TX ||
	    !(th = tcp_of(&r, &tl)))
		return -1;
	*cookie = pkt_be32(th + 4);
	pkt_spec_init(ack, 4);
	ack->sport = s.sport;
	ack->tcp_flags = PKT_TCP_ACK;
	ack->seq = s.seq + 1;
	ack->ack = *cookie + 1;
	/* As a client does: it echoes our TSval, which the cookie needs. */
	ack->tcp_opts_len = 0;
	if (pkt_tcpopt_find(th, tl, PKT_TCPOPT_TS, &ts, &dl) < 0 || dl != 8)
		return -1;
	pkt_opt_nop(ack->tcp_opts, &ack->tcp_opts_len);
	pkt_opt_nop(ack->tcp_opts, &ack->tcp_opts_len);
	pkt_opt_ts(ack->tcp_opts, &ack->tcp_opts_len, 1001, pkt_be32(ts));
	return 0;
}

static void test_wscale_change(void)
{
	struct pkt_spec ack;
	uint32_t cookie;
	struct run r;
	uint8_t buf[PKT_BUF_SIZE];
	int len;

	begin("wscale 7 -> 5 after the SYN-ACK: the ACK keeps 7");
	if (handshake(&ack, &cookie)) {
		fail("no SYN-ACK");
		end();
		return;
	}
	cfg.wscale_prev = cfg.wscale;
	cfg.wscale = 5;
	cfg.wscale_changed_ns = ref_tai_ns();
	put_config();
	len = build(&ack, buf);
	if (len > 0 && !run_prog(buf, len, &r)) {
		const struct sg_meta *m = (const void *)r.out;

		expect_verdict(&r, XDP_PASS);
		expect_counters(&r, SG_CNT_COOKIE_OK, CNT_END);
		if (r.out_len < sizeof(*m) || m->rcv_wscale != 7)
			fail("rcv_wscale %u, want 7 (what the client was told)",
			     r.out_len < sizeof(*m) ? 0 : m->rcv_wscale);
	}
	end();

	/* Once the change is older than a cookie lifetime, 7 is gone. */
	begin("wscale changed long ago: a cookie made with the old one is bad");
	cfg.wscale = 7;
	config_defaults();
	if (handshake(&ack, &cookie)) {
		fail("no SYN-ACK");
		end();
		return;
	}
	cfg.wscale_prev = 7;
	cfg.wscale = 5;
	cfg.wscale_changed_ns = ref_tai_ns() - 1000ULL * 1000000000ULL;
	put_config();
	len = build(&ack, buf);
	if (len > 0 && !run_prog(buf, len, &r)) {
		expect_verdict(&r, XDP_DROP);
		expect_counters(&r, SG_CNT_COOKIE_BAD, CNT_END);
	}
	end();
	config_defaults();
}

static void test_first_flight(void)
{
	uint8_t buf[PKT_BUF_SIZE];
	const uint8_t data[400] = { 0 };
	struct pkt_spec ack, seg;
	uint32_t cookie;
	struct run r;
	int len;

	begin("first flight: ACK validates");
	if (handshake(&ack, &cookie)) {
		fail("no SYN-ACK");
		end();
		return;
	}
	len = build(&ack, buf);
	if (len > 0 && !run_prog(buf, len, &r))
		expect_counters(&r, SG_CNT_COOKIE_OK, CNT_END);
	end();

	seg = ack;
	seg.tcp_flags = PKT_TCP_ACK | PKT_TCP_PSH;
	seg.seq = ack.seq + 400; /* the second segment of the flight */
	seg.payload = data;
	seg.payload_len = sizeof(data);
	spec_untouched2("first flight: a later segment before the socket -> pass",
			&seg, XDP_PASS, SG_CNT_ACK_FIRST_FLIGHT_PASS, CNT_END);
	seg.ack += 1;
	check_ack_dropped("first flight: another ack number -> drop", &seg,
			  SG_CNT_COOKIE_BAD);
	seg.ack -= 1;
	/* The slot is found by the ack number alone: the connection must
	 * match too (bpf/firstflight.h). */
	seg.sport += 1;
	check_ack_dropped("first flight: same ack, another connection -> drop",
			  &seg, SG_CNT_COOKIE_BAD);
	seg.sport -= 1;
	seg.seq = ack.seq + cfg.window + 1;
	check_ack_dropped("first flight: past our SYN-ACK's window -> drop",
			  &seg, SG_CNT_COOKIE_BAD);
}

static void test_clock(void)
{
	struct pkt_spec ack;
	struct run r;
	uint8_t buf[PKT_BUF_SIZE], key[16];
	const uint8_t opts = ref_ts_opts(4, 1, 1460, 1, 0, 1, 7);
	int len;

	/*
	 * A kernel whose TAI offset is 37 s: cookies still follow REALTIME,
	 * so a cookie the reference made from REALTIME validates. With
	 * timestamps, whose TSval dates the cookie to half a second.
	 */
	cfg.tai_offset_ns = 37LL * 1000000000LL;
	put_config();
	begin("TAI offset 37 s: a cookie made on REALTIME validates");
	key_bytes(key, keys.current & 1);
	forged_ack_ts(4, &ack, ref_tai_ns() - 37ULL * 1000000000ULL,
		      keys.current & 1, key, opts);
	len = build(&ack, buf);
	if (len > 0 && !run_prog(buf, len, &r))
		expect_counters(&r, SG_CNT_COOKIE_OK, CNT_END);
	end();
	/* ... and one made on the kernel's TAI is 37 s ahead: beyond the
	 * skew a fleet peer may have. */
	begin("TAI offset 37 s: a cookie made on TAI is refused");
	forged_ack_ts(4, &ack, ref_tai_ns(), keys.current & 1, key, opts);
	len = build(&ack, buf);
	if (len > 0 && !run_prog(buf, len, &r)) {
		expect_verdict(&r, XDP_DROP);
		expect_counters(&r, SG_CNT_COOKIE_EXPIRED, CNT_END);
	}
	end();
	config_defaults();
}

void test_parity(void)
{
	test_not_unicast();
	test_checksums();
	test_ecn();
	test_sysctls();
	test_owners();
	test_wscale_change();
	test_first_flight();
	test_clock();
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The status command's model: what status.c gathers of each protected
 * interface, and what status_show.c renders as text or JSON from it.
 */
#ifndef SG_STATUS_H
#define SG_STATUS_H

#include "sg.h"

enum tc_state { TC_UNKNOWN, TC_IN_PLACE, TC_MISSING, TC_REPLACED, TC_NONE };

extern const char *const sg_tc_state_name[];

struct iface_state {
	const char *iface;
	struct sg_pins p;
	struct sg_info info;
	struct sg_config cfg;
	struct sg_ports ports;
	struct sg_keys keys;
	bool have_info, have_cfg, have_ports, have_keys, have_state;
	struct sg_state state;
	/* A reader of packet samples (top, capture) is alive and sampling. */
	bool sampling;
	struct sg_sample_ctl sample_ctl;
	/* Cookies auto, read in gather (times in seconds before now): */
	__u32 rate_now;	    /* the SYN rate of the last complete window */
	double rate_age;    /* when the program last measured it */
	double change_age;  /* the last change of state; < 0: none yet */
	double change_unix; /* ... as wall-clock time */
	bool pending;	    /* disengages at the next SYN to a protected port */
	int lists[2];	    /* allow, deny entries; -1 unknown */
	int src_entries;    /* per-source table entries; -1 unknown */
	bool present;	    /* the interface attach saw is still there */
	bool elsewhere;	    /* ... in another network namespace */
	bool xdp;	    /* our XDP program is attached */
	bool multiprog;
	enum tc_state tc;
	__u32 tc_prog_now;
	__u64 key_age;
	int notrack; /* the nftables table of SG_NF_NOTRACK: 1, 0 or -1 */
	long long proxy_held; /* SG_NFT_HELD_COUNTER; -1 unknown or none */
	char problems[512];
	/* The host the programs follow: */
	double wscale_prev_left; /* seconds wscale_prev stays valid; 0 none */
	bool host_read;		 /* host_now holds this namespace's sysctls */
	__u8 host_now;		 /* SG_SYSCTL_* read now (present only) */
	char host[384];		 /* what is wrong with the host state */
	/* The protected ports by kind, read now (present only): */
	bool kinds_read;
	int nat_err; /* sg_port_scan.nat_err */
	struct sg_port_kinds kinds;
};

bool sg_status_healthy(const struct iface_state *s);
/* Words both renderings use: XDP mode, the notrack table, cookies auto's
 * state, and whether the NAT rules could be read. */
const char *sg_status_mode(const struct iface_state *s);
const char *sg_status_notrack(const struct iface_state *s);
const char *sg_status_adaptive(const struct iface_state *s);
const char *sg_status_nat_rules(const struct iface_state *s);
void sg_status_text(struct iface_state *st, int n);
/* 0, or -errno after a message. */
int sg_status_json(const struct iface_state *st, int n);

#endif

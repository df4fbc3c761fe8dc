/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces of the synguard CLI (the .c files of user/). What
 * the BPF side shares with user space lives in include/synguard.h.
 */
#ifndef SG_CLI_H
#define SG_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <net/if.h>
#include <sys/socket.h>
#include <jansson.h>
#include <linux/types.h>

#include "synguard.h"

#define SG_BPFFS "/sys/fs/bpf"
#define SG_PIN_DIR SG_BPFFS "/synguard"
#define SG_LOCK_FILE "/run/synguard.lock"

/*
 * Our TC filter: a fixed handle and priority, so that status and detach
 * query exactly this filter, and unusual values ("SG"), so that they do not
 * clash with another tool's filter by accident.
 */
#define SG_TC_HANDLE 0x5347
#define SG_TC_PRIORITY 0x5347

/*
 * SG_COOKIE_MARGIN_SEC as a literal, for help texts that are string
 * constants; the compiler checks that it is the same number.
 */
#define SG_COOKIE_MARGIN_SEC_LIT 78
_Static_assert(SG_COOKIE_MARGIN_SEC_LIT == SG_COOKIE_MARGIN_SEC,
	       "SG_COOKIE_MARGIN_SEC_LIT must be SG_COOKIE_MARGIN_SEC");
#define SG_XSTR(x) SG_STR(x)
#define SG_STR(x) #x

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Exit codes: 0 success, 1 an operation failed, 2 bad usage or input. */
#define SG_EXIT_FAIL 1
#define SG_EXIT_USAGE 2

/* ---- util.c ---- */

extern int sg_verbose;
/*
 * Where the input being read comes from, "FILE:LINE", or NULL: messages
 * then start with it (the config file's errors name the line).
 */
extern const char *sg_err_where;

void sg_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sg_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "synguard: warning: ...": done, but not the way it should be. */
void sg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "libbpf's text (errno N, ENAME)" for a negative or positive error code. */
const char *sg_strerr(int err);
void sg_setup_logging(void);

int sg_require_root(void);
int sg_lock(bool exclusive);
void sg_unlock(void);
/* The signals that stop synguard: INT, TERM, HUP and QUIT. */
void sg_signal_set(sigset_t *set);
void sg_block_signals(void);

/* Checks the name; with ifindex, also that it exists in this netns. */
int sg_iface_check(const char *name, int *ifindex);

/*
 * bpffs at SG_BPFFS: 0 mounted; with mount, mounts it if it can (saying
 * so); 1 not mounted (without mount); -1 error, reported.
 */
int sg_bpffs_ready(bool mount);

/* A decimal number, nothing else; too large saturates to ~0ULL. */
int sg_parse_uint(const char *s, unsigned long long *out);
int sg_parse_seconds(const char *s, double *out);

/*
 * What the programs need to know of the host, into the fields of cfg that
 * are not settings: the TCP sysctls of this network namespace
 * (tcp_sysctl) and the kernel's TAI offset. 0 or -errno, reported.
 */
int sg_host_state(struct sg_config *cfg);

/* One integer sysctl under net.ipv4 of this network namespace, or -errno. */
int sg_sysctl_int(const char *name, int *out);
/* The field-th number (0 first) of a file under /proc/sys; -errno. */
long long sg_proc_sys_field(const char *path, int field);

/* The sysctls behind sg_config.tcp_sysctl, in bit order. */
#define SG_NSYSCTLS 5
struct sg_sysctl {
	const char *name; /* under net.ipv4. */
	const char *what; /* what of synguard it turns off, for messages */
	__u8 bit;	  /* SG_SYSCTL_* */
};
extern const struct sg_sysctl sg_sysctls[SG_NSYSCTLS];

/*
 * Runs argv[0] (found on PATH) with script, if any, on its stdin. Its
 * stdout, and with with_stderr its stderr, into *out (malloc'd, trailing
 * newlines cut; the caller frees it, also on failure). Returns its exit
 * status, or -errno if it could not run (-ENOENT: not installed).
 */
int sg_run_tool(const char *const argv[], const char *script, bool with_stderr,
		char **out);

/* The SG clock (include/synguard.h) in user space: CLOCK_REALTIME ns. */
__u64 sg_clock_ns(void);
/* CLOCK_MONOTONIC ns: bpf_ktime_get_ns()'s clock (and the coarse one's). */
__u64 sg_mono_ns(void);
/*
 * Seconds for which cookies made with cfg->wscale_prev still validate, as
 * the XDP program reckons it; 0 once that window is over, or if wscale never
 * changed.
 */
double sg_wscale_prev_left(const struct sg_config *cfg);

/* ---- notrack.c: the nftables table of SG_NF_NOTRACK ---- */

void sg_notrack_name(int ifindex, char *buf, size_t len);
/* attach --synproxy: what the SYNPROXY rule gets. */
struct sg_synproxy {
	const struct sg_ports *ports; /* translated ports (kind nat) */
	const struct sg_ports *gateway; /* --gateway: the protected ports */
	unsigned int mss, wscale;
};
/*
 * 1 installed, 0 not needed (no conntrack in the kernel), -1 error. With
 * sp, also the SYNPROXY set and chain (and conntrack is then required).
 */
int sg_notrack_install(const char *iface, int ifindex,
		       const struct sg_synproxy *sp);
/* The SYNPROXY port sets of the table: --synproxy nat's, --gateway's. */
#define SG_NFT_NAT_SET "proxy_ports"
#define SG_NFT_GATEWAY_SET "gateway_ports"
/* The named counter of the segments held back for SYNPROXY (early client
 * segments, second SYNs to the backend). */
#define SG_NFT_HELD_COUNTER "proxy_held"
/* The ports of SYNPROXY set `set` of the table, replaced by ports; 0 or -1
 * (said). */
int sg_nft_ports_set(int ifindex, const char *set,
		     const struct sg_ports *ports);
/* 1 removed, 0 not there (or no nft to have made it), -1 error. */
int sg_notrack_remove(int ifindex);
/* 1 present, 0 absent, -1 cannot tell (no nft). */
int sg_notrack_present(int ifindex);
/* Packets counted by SG_NFT_HELD_COUNTER, or -1 (not there, no nft). */
long long sg_notrack_held(int ifindex);
/* Has the kernel conntrack (loading its module if it is one)? */
bool sg_conntrack_present(void);

/* ---- params.c ---- */

/* Everything attach and `config` can set: the config entry and the ports. */
struct sg_settings {
	struct sg_config cfg;
	struct sg_ports ports;
	bool ports_set;
};

enum sg_param_kind {
	SG_P_UINT,  /* an integer in [min, max] */
	SG_P_ONOFF, /* on or off, stored as 1 or 0 */
	SG_P_ENUM,  /* one of names[0..max], stored as its index */
	SG_P_PORTS, /* a port list, into sg_settings.ports */
};

/* Which settings table of `status` a parameter is shown in. */
enum sg_param_group {
	SG_G_SYNACK,   /* what our SYN-ACKs and cookies look like */
	SG_G_ADAPTIVE, /* when cookies engage */
	SG_G_LIMITS,   /* per-source limits and flood hygiene */
	SG_G_MAX,
};

struct sg_param {
	const char *key; /* config KEY; attach option --KEY with '_' -> '-' */
	enum sg_param_kind kind;
	unsigned int min, max, def;
	size_t off, size; /* the field in struct sg_config */
	const char *metavar;
	const char *unit; /* shown after the value in status, or NULL */
	const char *help;
	/* Optional, by name in the table: */
	enum sg_param_group group;
	const char *const *names; /* SG_P_ENUM: the values, by index */
	bool zero_off;		  /* SG_P_UINT: 0 means off, written "off" */
	bool invert; /* SG_P_ONOFF: the field holds the opposite, 0 = on */
};

/* What status and stats say of an interface in monitor mode. */
#define SG_MONITOR_NOTE                                                        \
	"monitor mode: counters say what synguard would have done; nothing is dropped or answered"

extern const struct sg_param sg_params[];
extern const size_t sg_nparams;

const struct sg_param *sg_param_find(const char *key);
/* The attach option of a parameter, "cookie-lifetime", into buf. */
const char *sg_param_opt(const struct sg_param *p, char *buf, size_t len);
void sg_settings_default(struct sg_settings *s);
/* Parses and validates one value; label names it in the message. */
int sg_param_set(const struct sg_param *p, const char *val, const char *label,
		 struct sg_settings *s);
unsigned int sg_param_get(const struct sg_param *p,
			  const struct sg_config *cfg);
/* The value as config syntax, into buf. */
const char *sg_param_fmt(const struct sg_param *p, const struct sg_config *cfg,
			 char *buf, size_t len);
/*
 * What no single value can say: the rules between settings, the same for
 * attach and config. as_opts names them as attach options. 0, or -1 after
 * a message.
 */
int sg_settings_check(const struct sg_config *cfg, bool as_opts);

int sg_ports_parse(const char *s, const char *label, struct sg_ports *out);
/* "80,443,8000-8100"; "" if none. Returns buf, truncated with "..." */
const char *sg_ports_fmt(const struct sg_ports *p, char *buf, size_t len);
unsigned int sg_ports_count(const struct sg_ports *p);
bool sg_port_isset(const struct sg_ports *p, unsigned int port);
void sg_port_set(struct sg_ports *p, unsigned int port);

#define SG_KEY_BYTES 16
int sg_key_file_read(const char *path, __u8 key[SG_KEY_BYTES]);
int sg_key_random(__u8 key[SG_KEY_BYTES]);
/* SipHash key words from the 16 key bytes, little-endian as SipHash reads. */
void sg_key_words(const __u8 key[SG_KEY_BYTES], __u64 out[2]);

/* ---- portkind.c: what each protected port is on this host ---- */

enum sg_port_kind {
	SG_PK_LOCAL,	 /* a TCP listener here: protected */
	SG_PK_NAT,	 /* no listener, a DNAT rule: passes untouched */
	SG_PK_NOTHING,	 /* neither: its SYNs pass (syn_no_listener_pass) */
	SG_PK_LOCAL_NAT, /* both: breaks while cookies are on */
	SG_PK_MAX,
};
extern const char *const sg_port_kind_names[SG_PK_MAX];
extern const char *const sg_port_kind_gets[SG_PK_MAX];
/* sg_port_kind_gets, or what a nat port gets with attach --synproxy. */
const char *sg_port_kind_what(int kind, bool synproxy);

/* What this network namespace has, for every port. */
struct sg_port_scan {
	struct sg_ports listen; /* TCP listeners, any address */
	struct sg_ports nat;	/* ports nftables NAT rules translate */
	int nat_err; /* 0: ruleset read; -ENOENT: no nft; else -errno */
};

struct sg_port_kinds {
	struct sg_ports kind[SG_PK_MAX];
	unsigned int count[SG_PK_MAX];
	/* Local+nat ports, protected or not: the port map's SG_PORT_PASS,
	 * there before a port config adds is protected. */
	struct sg_ports pass;
};

/*
 * Ports that NAT rules of this namespace's nftables ruleset translate: 0,
 * -ENOENT without nft, or another -errno.
 */
int sg_nat_ports(struct sg_ports *out);
/* Reads the listeners and the NAT rules: 0, or -errno (no listeners read). */
int sg_port_scan(struct sg_port_scan *scan);
/* The protected ports prot by kind. */
void sg_port_classify(const struct sg_port_scan *scan,
		      const struct sg_ports *prot, struct sg_port_kinds *out);
/* "port 80", "ports 80,443", or "101 ports (8000-8100)", into buf. */
const char *sg_port_list_fmt(const struct sg_ports *p, char *buf, size_t len);
/* One warning per kind that is not local, and one if NAT was unreadable. */
void sg_port_kinds_warn(const char *iface, const struct sg_port_kinds *k,
			int nat_err, bool synproxy);
/* Scan, classify and warn, as attach does: 0 (kinds in *out) or -errno. */
int sg_port_kinds_check(const char *iface, const struct sg_ports *prot,
			struct sg_port_kinds *out, bool synproxy);

/* ---- tc.c, xdp.c: the two halves of a protected interface ---- */

/* The names of synguard's programs, as the kernel lists them. */
#define SG_XDP_PROG "synguard_xdp"
#define SG_TC_PROG "synguard_tc"
/*
 * libxdp's switch to attach a program alone, without its dispatcher. Set
 * for the retry below, and by the user to skip the dispatcher altogether.
 */
#define SG_SKIP_DISPATCHER "LIBXDP_SKIP_DISPATCHER"
/*
 * sg_xdp_attach() failed in a way the dispatcher may be the cause of: the
 * dispatcher's stubs of libxdp before 1.5 do not change packet data, and
 * kernels from 6.13 (and 6.12.y) refuse an extension program that does
 * in their place.
 */
#define SG_XDP_RETRY_ALONE 1
/* --tc-hook auto: tcx where the kernel has it, else clsact. */
#define SG_TC_HOOK_AUTO (-1)
/* The TCX link's pin, in the interface's pin directory: what keeps it. */
#define SG_TC_LINK_PIN "tc_link"
/* "tcx" or "clsact". */
const char *sg_tc_hook_name(__u8 hook);
/*
 * Attaches prog_fd at the TC ingress of ifindex on hook (SG_TC_HOOK_AUTO
 * or an enum sg_tc_hook), a TCX link pinned in dir. Records the hook and
 * the program (and clsact's filter) in info, and in *hook_created whether
 * it added the clsact qdisc. 0, or -errno after a message.
 */
int sg_tc_attach(const char *iface, int ifindex, int prog_fd, int hook,
		 const char *dir, struct sg_info *info, bool *hook_created);
/*
 * Removes synguard's TC program prog_id from hook: clsact's filter, or
 * every TCX link that runs it. 0, or -errno (-ENOENT: none there).
 */
int sg_tc_detach(int ifindex, __u8 hook, __u32 prog_id);
int sg_tc_hook_remove(int ifindex);
const char *sg_xdp_mode_name(enum sg_xdp_mode m);
struct synguard;
int sg_xdp_attach(const char *iface, int ifindex, struct synguard *skel,
		  enum sg_xdp_mode mode, struct sg_info *info);
int sg_xdp_detach(int ifindex, __u32 *id, __u32 *other);
/* Is tc_id synguard's TC program (info's, or by name without info)? */
bool sg_tc_is_ours(__u32 tc_id, const struct sg_info *info);
/* synguard's programs on ifindex although nothing is pinned? */
bool sg_orphans(int ifindex);

/* ---- output.c: what status and stats print with ---- */

struct sg_counter_desc {
	const char *name, *help;
};
/* The counters' names and meanings: from SG_COUNTERS, the only list. */
extern const struct sg_counter_desc sg_counter_desc[SG_CNT_MAX];

struct sg_table {
	size_t cols, n;
	unsigned int right; /* bit i: column i right-aligned (numbers) */
	char **cell;
};

void sg_tbl_add(struct sg_table *t, const char *s);
/* Prints the table in aligned columns and empties it. */
void sg_tbl_print(struct sg_table *t, const char *indent);
/* CLOCK_REALTIME in seconds. */
double sg_now_real(void);
/* "42s", "3m05s", "5h02m", "2d03h". */
const char *sg_age_fmt(__u64 s, char *buf, size_t len);

/*
 * JSON goes through jansson. A string member, valid UTF-8 even where the
 * bytes (an interface name) are not.
 */
json_t *sg_json_str(const char *s);
/*
 * json_object_set_new and json_array_append_new that remember a failure
 * (out of memory, a NULL v or o), so that sg_json_print refuses the
 * document instead of printing it with members missing.
 */
void sg_jset(json_t *o, const char *key, json_t *v);
void sg_jappend(json_t *a, json_t *v);
/* A port list as ranges: [[80,80],[8000,8100]]. */
json_t *sg_json_ranges(const struct sg_ports *p);
/*
 * Prints doc on one line and frees it: 0, or -ENOMEM after a message
 * (also for a doc that sg_jset or sg_jappend could not complete).
 */
int sg_json_print(json_t *doc);

/* ---- sample.c ---- */

/* What stats prints and the metrics endpoint serves of an interface. */
struct sg_sample {
	const char *iface;
	const struct sg_pins *p;
	int cnt_fd, err_fd;
	__u32 ncnt, nerr;
	__u64 cnt[SG_CNT_MAX], prev[SG_CNT_MAX];
	__u64 err[SG_KFUNC_ERRNO_MAX];
	/* The gauges: engaged and syn_rate valid where have_state. */
	bool have_state, engaged;
	bool monitor; /* enforce off (valid where have_state) */
	__u32 syn_rate;
	long long key_age; /* seconds; -1 unknown */
	bool no_src;	   /* skip counting the per-source table (a walk) */
	int src_entries;   /* per-source table: entries now, -1 unknown */
	__u32 src_size;	   /* ... and its size */
};

/* Opens the counters of iface (pins into p) and reads them: 0 or -1. */
int sg_sample_open(const char *iface, struct sg_pins *p, struct sg_sample *s);
/* A new sample (the last one into prev): 0, or -errno after a message. */
int sg_sample_read(struct sg_sample *s);
/* The Prometheus text exposition of n samples. */
void sg_prom_write(FILE *f, const struct sg_sample *s, int n);
/* "ENOENT" for slot k of the kfunc errno counters; "other" for the last. */
const char *sg_errno_label(unsigned int k, char *buf, size_t len);
/*
 * The SYN rate the program measured, if it measured it in the last
 * window (now: CLOCK_MONOTONIC ns); else 0, since no SYN came.
 */
__u32 sg_syn_rate_now(const struct sg_state *st, __u64 now);

/* ---- events.c ---- */

#define SG_DEFAULT_ACK_FLOOD 10000 /* bad cookie ACKs/s: an ACK flood */
#define SG_HOOK_QUEUE 8		   /* events waiting for --on-event */

struct sg_events {
	bool json;		       /* --log-format json */
	const char *on_event;	       /* --on-event CMD, or NULL */
	unsigned long long ack_flood_rate; /* --ack-flood-rate */
	/* What the last tick saw: */
	bool limiting, ack_flood;
	pid_t hook; /* the --on-event command running, or 0 */
	struct timespec hook_started;
	json_t *queue[SG_HOOK_QUEUE]; /* events waiting for it */
	int queued;
};

/* One event: a line (text or JSON) and the hook; takes fields (or NULL). */
void sg_event(struct sg_events *ev, const char *iface, const char *type,
	      json_t *fields);
/* The events between the sample before (s->prev) and s, dt seconds apart. */
void sg_events_tick(struct sg_events *ev, const char *iface,
		    const struct sg_sample *s, double dt);
/* Runs the queued hooks (each within its time), then returns. */
void sg_events_stop(struct sg_events *ev);

/* ---- metrics.c ---- */

struct sg_metrics;
/* [ADDR:]PORT (ADDR: IPv4, or IPv6 in brackets; 127.0.0.1 if none). */
int sg_metrics_addr(const char *spec, struct sockaddr_storage *ss);
/* Serves iface's /metrics on ss from a thread: 0, or -errno after a message. */
int sg_metrics_start(const char *iface, const struct sockaddr_storage *ss,
		     struct sg_metrics **out);
void sg_metrics_stop(struct sg_metrics *m);

/*
 * The interfaces a status or stats command covers: the one named, or all.
 * Returns the count (0: none protected), or -1 after a message.
 */
int sg_pick_ifaces(int argc, char **argv, int first, const char *what,
		   char ***names);

/* ---- skel.c ---- */

struct synguard;
struct bpf_object_open_opts;
struct bpf_map_info;
/* synguard__open_opts(): the one place that embeds the BPF object. */
struct synguard *sg_skel_open(const struct bpf_object_open_opts *opts);
/*
 * The packet samples' control word is a global of the object, in a data
 * section of its own, which attach pins under this name (bpf/sample.h).
 */
#define SG_SAMPLE_CTL_SEC ".data.sample"
/* Type and sizes of the object's map pinned as name; 0 or -errno. */
int sg_skel_map(const char *name, struct bpf_map_info *want);

/* ---- pins.c ---- */

/*
 * The pinned maps the CLI works on, one line each: the enum and the pin
 * names come from here, the types and sizes from the skeleton. The lists
 * stay in this order: list + (family == 6) (lists.c).
 */
#define SG_PINNED_MAPS(X)                                                      \
	X(CONFIG, sg_config)                                                   \
	X(KEYS, sg_keys)                                                       \
	X(PORT_MAP, sg_port_map)                                               \
	X(COUNTERS, sg_counters)                                               \
	X(KFUNC_ERRORS, sg_kfunc_errors)                                       \
	X(INFO, sg_info)                                                       \
	X(STATE, sg_state)                                                     \
	X(ALLOW4, sg_allow4)                                                   \
	X(ALLOW6, sg_allow6)                                                   \
	X(DENY4, sg_deny4)                                                     \
	X(DENY6, sg_deny6)                                                     \
	X(SRC, sg_src)                                                         \
	X(SAMPLES, sg_samples)                                                 \
	X(SAMPLE_CTL, sg_sample_ctl)

enum sg_map_id {
#define SG_MAP_ID(id, name) SG_M_##id,
	SG_PINNED_MAPS(SG_MAP_ID)
#undef SG_MAP_ID
	SG_M_MAX,
};

struct sg_pins {
	char iface[IFNAMSIZ];
	char dir[256];
	int fd[SG_M_MAX]; /* -1 if the pin is missing or unusable */
	__u32 max_entries[SG_M_MAX];
	char problem[SG_M_MAX][128]; /* why fd is -1 */
};

extern const char *const sg_map_names[SG_M_MAX];

void sg_pin_dir(const char *iface, char *buf, size_t len);
/* SG_PIN_DIR/IFACE@NETNS: the pins of iface when another network namespace
 * has an interface of that name protected already. */
void sg_pin_dir_netns(const char *iface, char *buf, size_t len);
/* The nsfs inode of this process's network namespace, 0 if unknown. */
unsigned long long sg_netns_ino(void);
/* The namespace iface's pins record (sg_info.netns_ino); -1 if none. */
int sg_pins_netns(const char *iface, unsigned long long *ino);
bool sg_is_protected(const char *iface);
/* Opens what is pinned for iface; 0 if the pin directory exists. */
int sg_pins_open(const char *iface, struct sg_pins *p);
void sg_pins_close(struct sg_pins *p);
/* "IFACE is not protected ..., protect it with ..." */
void sg_not_protected(const char *iface);
/*
 * The pins a mutating command needs, with a message naming the first one
 * missing (and "not protected" if the directory is).
 */
int sg_pins_need(const char *iface, struct sg_pins *p, const int *ids,
		 size_t n);
/*
 * Opens a protected interface for a command, the one preamble they share:
 * root, bpffs mounted (never mounting it: nothing is protected without
 * it), the lock (exclusive to change the interface, shared to read it),
 * and its pins, with the maps in ids present. 0, or -1 after a message
 * that names the fix.
 */
int sg_iface_open(const char *iface, bool change, const int *ids, size_t n,
		  struct sg_pins *p);
int sg_map_read(const struct sg_pins *p, enum sg_map_id id, void *val);
int sg_map_write(const struct sg_pins *p, enum sg_map_id id, const void *val);
/* The ports with bit (SG_PORT_*) in the pinned port map: 0, or -errno. */
int sg_port_bits_read(const struct sg_pins *p, __u8 bit, struct sg_ports *out);
/* The protected ports of the pinned port map: 0, or -errno. */
int sg_ports_read(const struct sg_pins *p, struct sg_ports *prot);
/*
 * Read-modify-write of the pinned port map, under the caller's exclusive
 * lock: the protected ports (config ports=), the local+nat ports
 * (SG_PORT_PASS) or the --synproxy nat ports (SG_PORT_PROXY) become those
 * given; NULL keeps what is there, so no writer loses another's bits.
 * 0, or -errno after a message.
 */
int sg_port_map_update(const struct sg_pins *p, const struct sg_ports *prot,
		       const struct sg_ports *pass,
		       const struct sg_ports *proxy);
/* Entries in a hash-like map (an LPM trie), up to max: >= 0, or -errno. */
int sg_map_count(int fd, __u32 max);
/* Entries in the per-source table (a walk of up to its size), -1 unknown. */
int sg_src_count(const struct sg_pins *p);
/*
 * Entries of a list (first: SG_M_ALLOW4 or SG_M_DENY4), IPv4 and IPv6 into
 * per_family if not NULL: the total, or -errno.
 */
int sg_list_count(const struct sg_pins *p, int first, int per_family[2]);
/* Sums a per-CPU array over the possible CPUs, n entries into out. */
int sg_percpu_sum(int fd, __u32 n, __u64 *out);
/* Removes every pin and the directory; returns the number removed or -1. */
int sg_pins_remove(const char *iface);
/* Protected interfaces (pin directories), sorted; caller frees. */
int sg_list_protected(char ***names);
void sg_free_list(char **names, int n);

/* ---- reader.c: the packet samples of top and capture ---- */

struct ring_buffer;
typedef int (*sg_sample_fn)(void *ctx, void *data, size_t size);

struct sg_reader {
	struct sg_pins p;
	struct sg_sample_ctl *ctl; /* the pinned control word, mapped */
	__u32 ctl_id;		   /* ... its map id */
	struct ring_buffer *rb;
	__u64 mask;
	sg_sample_fn cb; /* gets the samples of mask's kinds */
	void *cb_ctx;
	bool draining; /* discarding what an earlier reader left */
	bool done;     /* set by the sample callback: stop reading */
};

/* --what: kinds separated by commas into a verdict-counter mask; -1 after
 * a message. */
int sg_sample_kinds_parse(const char *s, __u64 *mask);
/* --rate: 1 to SG_SAMPLE_RATE_MAX; -1 after a message. */
int sg_sample_rate_parse(const char *s, __u32 *rate);
/* --seconds: a positive number; -1 after a message. */
int sg_sample_seconds_parse(const char *s, double *seconds);
/* Is a reader sampling: the mask set, its lease running, its PID alive? */
bool sg_sample_ctl_active(const struct sg_sample_ctl *c);
/*
 * Takes iface's samples for mask at rate per CPU, refusing while another
 * live reader holds them; cb gets each sample. 0, or -1 after a message.
 * The caller blocks the stop signals (sg_block_signals) first.
 */
int sg_reader_open(struct sg_reader *r, const char *iface, __u64 mask,
		   __u32 rate, sg_sample_fn cb, void *ctx);
/*
 * Reads until a stop signal, seconds (0: no limit) or r->done; renews the
 * lease and calls tick (if not NULL) every second. 0, or -1 after a
 * message.
 */
int sg_reader_run(struct sg_reader *r, double seconds, int (*tick)(void *ctx),
		  void *ctx);
/* Clears the mask if it is still this reader's, and closes everything. */
void sg_reader_close(struct sg_reader *r);

/* ---- engine.c: which engine answers SYNs (enum sg_engine) ---- */

#define SG_ENGINE_AUTO (-1) /* --engine auto: sg_engine_choose() picks */
extern const char *const sg_engine_names[2];
/* "own" or "kernel" into *engine (SG_ENGINE_AUTO for "auto"); -1 after a
 * message. */
int sg_engine_parse(const char *s, int *engine);
/*
 * The engine for asked (SG_ENGINE_AUTO or an enum sg_engine) on the running
 * kernel, and why, into info->engine and info->engine_why. -1 after a
 * message naming what the kernel lacks and the versions that have it.
 */
int sg_engine_choose(int asked, struct sg_info *info);
/* Why the engine was chosen, for messages and status. */
const char *sg_engine_why_str(const struct sg_info *info);
/*
 * Has this attachment a TC program? The own engine's hands connections
 * off. The kernel engine has one only with --synproxy nat or --gateway
 * (synguard_tc_proxy): it verifies the checksums of IPv6 ACKs for SYNPROXY,
 * which the kernel's nft synproxy checks as IPv4 (bpf/proxycsum.h), and
 * marks the client segments of flows SYNPROXY is still opening for the
 * hold rule (SG_META_F_HOLD).
 */
bool sg_engine_has_tc(const struct sg_info *info);
/* The line attach and status print about the families SYNPROXY covers, if
 * either option is on. */
void sg_proxy_families_text(const char *iface, const struct sg_info *info);
/*
 * The sysctls of this network namespace named by want (SG_SYSCTL_*): the
 * kernel engine's tcp_syncookies and tcp_timestamps to 2, --synproxy's
 * nf_conntrack_tcp_loose to 0, where they are not, saying so, with the old
 * values recorded in info. 0, or -1 after a message (nothing left changed).
 */
int sg_engine_sysctls_set(const char *iface, struct sg_info *info, __u8 want);
/* Puts back what sg_engine_sysctls_set() changed, saying so; 0 or -1. */
int sg_engine_sysctls_restore(const char *iface, const struct sg_info *info);
/*
 * detach: the same, unless another interface of this namespace still runs
 * the kernel engine; that one then takes the record over. 0 or -1.
 */
int sg_engine_sysctls_release(const char *iface, const struct sg_info *info);
/*
 * Kernel engine: the window scale the kernel gives its side of a cookie
 * connection (tcp_select_initial_window() from tcp_rmem and rmem_max),
 * which the SYN-ACK must offer. -1 if it cannot be read.
 */
int sg_engine_kernel_wscale(void);
/* What status shows of the engine: one line, and the JSON members. */
void sg_engine_status_text(const char *iface, const struct sg_info *info);
void sg_engine_status_json(json_t *o, const struct sg_info *info);
/* Kernel engine: what is wrong with the host for it now, or "". */
const char *sg_engine_host_problem(const struct sg_info *info, char *buf,
				   size_t len);
/* A command that the kernel engine cannot serve: the error, and true. */
bool sg_engine_refuses(const struct sg_info *info, const char *iface,
		       const char *what);

/* ---- lists.c and conffile.c: the allow and deny lists, the config file ----
 */

#define SG_CONF_DIR "/etc/synguard"
/* Where run leaves its PID (IFACE.pid) and a restart's handover. */
#define SG_RUN_DIR "/run/synguard"

struct sg_cidr {
	int family; /* 4 or 6 */
	unsigned int len;
	__u8 addr[16];
};
enum sg_list_kind { SG_LIST_ALLOW, SG_LIST_DENY };
extern const char *const sg_list_names[2];
/* "ADDR[/LEN]": 0, or -1 after saying what is wrong with it. */
int sg_cidr_parse(const char *arg, struct sg_cidr *c);
const char *sg_cidr_fmt(const struct sg_cidr *c, char *buf, size_t len);
int sg_cidr_cmp(const void *a, const void *b);
int sg_list_room(const struct sg_pins *p, enum sg_list_kind kind,
		 const struct sg_cidr *c, size_t n);
int sg_list_replace(const struct sg_pins *p, enum sg_list_kind kind,
		    const struct sg_cidr *c, size_t n, int *added,
		    int *removed);

/* A list file the config names (allow_file, deny_file), as read. */
struct sg_conf_list {
	char *file; /* as the config names it, relative to its directory */
	char *path; /* the file itself */
	int line;   /* of the config, naming it; 0: no file */
	struct sg_cidr *c; /* sorted, no duplicates */
	size_t n;
};

#define SG_CONF_MAX_OPTS 16
struct sg_conf {
	char *path;
	struct sg_conf_list list[2];	/* by enum sg_list_kind */
	int opt_line[SG_CONF_MAX_OPTS]; /* sg_attach_opts[i]'s line, or 0 */
};

struct sg_attach_args;
/*
 * The config file of iface: given (--config), else SG_CONF_DIR/IFACE.conf
 * if it exists. Its path (malloc'd) or NULL for none.
 */
char *sg_conf_find(const char *iface, const char *given);
/*
 * Reads the file into a (on top of what a holds), the list files it names
 * with it: 0, or SG_EXIT_USAGE after a "FILE:LINE: reason" for each error.
 */
int sg_conf_load(const char *path, struct sg_attach_args *a);
/*
 * Adds c[0..n) to a list file (those not in it), or removes the lines
 * that name one, atomically (a new file renamed over it), keeping every
 * other line and comment. 0, or -errno after a message.
 */
int sg_list_file_save(const char *path, const struct sg_cidr *c, size_t n,
		      bool add);
/* Reads a list file: 0, or the number of bad lines, each said. */
int sg_list_file_read(const char *path, struct sg_conf_list *l);
/*
 * Applies a (a config file and options) to the protected a->iface in
 * place: settings, ports, lists and key_file's key. Refused whole, nothing
 * changed, when a setting only attach makes differs, or when the key file
 * holds a new key too soon after the last key change; adopting (a
 * restart), that keeps the key in use with a warning instead. 0, or an
 * exit code after a message.
 */
int sg_conf_apply(const struct sg_attach_args *a, bool adopting);
/* Writes the lists a's config names into the pins: 0 or -1 (said). */
int sg_conf_lists_write(const struct sg_pins *p, const struct sg_attach_args *a,
			bool quiet);

/* ---- reload.c: reload, run's PID file and restart handover ---- */

/* What SIGHUP's sender asks when it waits for the answer (reload). */
#define SG_RELOAD_ASK 0x53475248
const char *sg_run_file(const char *iface, const char *what, char *buf,
			size_t len);
/* Writes text to SG_RUN_DIR/IFACE.what, whole (a rename): 0 or -errno. */
int sg_run_file_write(const char *iface, const char *what, const char *text);
/* The run of iface alive now, by its PID file: its PID, or 0. */
pid_t sg_run_pid(const char *iface);
/* Is systemd restarting the unit of this run ($SYNGUARD_UNIT)? */
bool sg_restart_pending(void);
struct sg_attach_args;
/*
 * Adopts what a run stopped for a restart left attached (its handover),
 * with a's settings written in place; what attached into *ours. 1 adopted
 * (the lock held), 0 nothing to adopt, or -(exit code) after a message.
 */
int sg_run_adopt(struct sg_attach_args *a, struct sg_info *ours);

/* ---- attach.c ---- */

/* What attach (and run) were asked to do. */
struct sg_attach_args {
	const struct sg_cmd *cmd; /* attach or run */
	const char *iface;
	struct sg_settings s;
	enum sg_xdp_mode mode;
	const char *key_file;
	unsigned long long key_rotate; /* seconds; 0: never (run only) */
	bool want_metrics;		   /* run only: serve them on ... */
	struct sockaddr_storage metrics;
	struct sg_events ev; /* run only: --log-format, --on-event */
	int engine;		       /* SG_ENGINE_AUTO or enum sg_engine */
	bool wscale_set, lifetime_set; /* given as options */
	unsigned long long src_table;  /* --src-table: sg_src's entries */
	bool synproxy;		       /* --synproxy nat */
	bool gateway;		       /* --gateway */
	int tc_hook;		       /* SG_TC_HOOK_AUTO or enum sg_tc_hook */
	const char *config;	       /* run: --config FILE */
	struct sg_conf *conf;	       /* the config file read, or NULL */
	bool in_file;		       /* parsing the file: keys as labels */
};

/* attach's defaults in a, for cmd. */
void sg_attach_defaults(const struct sg_cmd *cmd, struct sg_attach_args *a);
/* One attach option (sg_opt_cb): idx into sg_attach_opts, or a param. */
int sg_attach_opt(void *ctx, int idx, const char *arg);
/* The config file key of sg_attach_opts[idx] ("key_rotate"), or NULL for
 * none (--config). */
const char *sg_attach_opt_key(int idx, char *buf, size_t len);
/* sg_attach_opts' index of a config file key ("key_rotate"), or -1. */
int sg_attach_opt_find(const char *key);
/* Every check of attach's options together: 0, or an exit code. */
int sg_attach_finish(struct sg_attach_args *a);
/*
 * The settings only attach makes (mode, engine, src_table, synproxy,
 * gateway) against what runs (info, and src_max the source table's
 * size): 0, or -1 after a message for each that differs.
 */
int sg_attach_keys_check(const struct sg_attach_args *a,
			 const struct sg_info *info, __u32 src_max);

/*
 * Parses attach's options and interface for cmd, with every check that
 * needs no privilege. 0, or an exit code after a message.
 */
int sg_attach_parse(const struct sg_cmd *cmd, int argc, char **argv,
		    struct sg_attach_args *a);
/*
 * Kernel engine: refuses what it cannot do (a shared key, a lifetime, another
 * window scale) and sets cfg's window scale to the kernel's. 0 or -1.
 */
int sg_engine_kernel_check(const struct sg_attach_args *a,
			   struct sg_config *cfg);
/*
 * Protects a->iface: 0 with the lock held and what attach recorded in
 * *info, or an exit code with the interface left as it was. Blocks the
 * signals of sg_signal_set() for good.
 */
int sg_attach(const struct sg_attach_args *a, struct sg_info *info);
/* Removes the protection; the caller holds the lock. 0 or an exit code. */
int sg_detach(const char *iface);

bool sg_prog_alive(__u32 id);
/*
 * What runs in synguard's place at hook on ifindex: clsact, the program of
 * the filter at our priority and handle, whoever's; tcx, info's program,
 * or without info one named as ours. 1 (its id in *prog_id), 0 none, or
 * -errno.
 */
int sg_tc_query(int ifindex, __u8 hook, const struct sg_info *info,
		__u32 *prog_id);
/* Is prog_id attached at XDP on ifindex? 1 yes, 0 no. */
int sg_xdp_attached(int ifindex, __u32 prog_id, bool *multiprog,
		    enum sg_xdp_mode *mode);

/* ---- synguard.c: options and help ---- */

struct sg_opt {
	const char *name;    /* long option, without "--" */
	char short_opt;	     /* 0 if none */
	const char *metavar; /* NULL: takes no argument */
	const char *help;
};

struct sg_cmd {
	const char *name;
	/*
	 * Shortest abbreviation accepted when the prefix is shared with
	 * another command ("stat" for status, which stats also starts with).
	 */
	unsigned int min_abbrev;
	int (*run)(int argc, char **argv);
	const char *args; /* after "synguard NAME" in the usage line */
	const char *summary;
	const struct sg_opt *opts; /* NULL-terminated */
	bool with_params; /* also takes every sg_params entry as --KEY */
	bool with_keys;	  /* its help lists sg_params as KEY=VALUE */
	const char *doc;  /* more help, printed after the options */
};

/*
 * Option parsing for a command: calls cb for each option (index into
 * cmd->opts, or -1 - i for sg_params[i]) and leaves the positional
 * arguments in argv[*first..argc). Handles --help (exits 0) and -v.
 * Returns 0, or SG_EXIT_USAGE after a message.
 */
typedef int (*sg_opt_cb)(void *ctx, int idx, const char *arg);
int sg_parse_opts(const struct sg_cmd *cmd, int argc, char **argv, sg_opt_cb cb,
		  void *ctx, int *first);
/* An sg_opt_cb for commands whose one option is a flag: sets *(bool *)ctx. */
int sg_opt_flag(void *ctx, int idx, const char *arg);
void sg_usage_hint(const struct sg_cmd *cmd);

/* ---- config.c ---- */

/*
 * Writes the settings cur over old (and old_ports) through p, with every
 * rule config keeps: the engine's, between settings, wscale's window
 * (force overrides that). 0, or an exit code after a message.
 */
int sg_config_write(const struct sg_pins *p, const char *iface,
		    struct sg_config *old, const struct sg_ports *old_ports,
		    struct sg_settings *cur, bool cfg_set, bool force);

/* ---- key.c: keys ---- */

/*
 * The shortest time between two key changes: a change overwrites the
 * previous key, which cookies sent before the last change need for the
 * cookie lifetime plus one time period (include/synguard.h).
 */
unsigned int sg_key_min_interval(const struct sg_config *cfg);

struct sg_key_change {
	unsigned int slot, prev; /* the new current slot, the previous one */
	unsigned long long age;	 /* refused: seconds since the last change */
	unsigned long long wait; /* ... and until the next may be made */
	unsigned int lifetime;
};

/*
 * Installs key as current through pins holding SG_M_KEYS, SG_M_CONFIG and
 * SG_M_INFO (the caller holds the lock); source names it in the message.
 * 0 done; 1 refused, too soon after the last change (without force); -1
 * after a message.
 */
int sg_key_change(const struct sg_pins *p, const __u8 key[SG_KEY_BYTES],
		  const char *source, bool force, struct sg_key_change *kc);

/* The refusal of a change sg_key_change returned 1 for; then: the fix. */
void sg_key_refused(const char *iface, const struct sg_key_change *kc,
		    const char *then);

/*
 * A config file's key_file made current through pins as sg_key_change
 * wants them, unless it is current already: 0 (done, or nothing to do),
 * 1 refused as sg_key_change refuses (nothing written, *kc says why), or
 * -1 after a message.
 */
int sg_key_file_apply(const struct sg_pins *p, const char *file,
		      struct sg_key_change *kc);

/* ---- the commands (attach.c, detach.c, status.c, stats.c, config.c, key.c,
 * lists.c, run.c) ---- */

struct sg_cmd;
extern const struct sg_cmd sg_cmd_attach, sg_cmd_detach, sg_cmd_status,
	sg_cmd_stats, sg_cmd_config, sg_cmd_key, sg_cmd_allow, sg_cmd_deny,
	sg_cmd_run, sg_cmd_reload, sg_cmd_top, sg_cmd_capture;
/* attach's options, which run takes too. */
extern const struct sg_opt sg_attach_opts[];

#endif /* SG_CLI_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces of the synguard CLI (the .c files of user/). What
 * the BPF side shares with user space lives in include/synguard.h.
 */
#ifndef SG_CLI_H
#define SG_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <net/if.h>
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

/* Seconds in one cookie time period (2^SG_PERIOD_SHIFT ns), rounded up. */
#define SG_PERIOD_SEC                                                          \
	((unsigned int)(((1ULL << SG_PERIOD_SHIFT) + 999999999ULL) /           \
			1000000000ULL))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Exit codes: 0 success, 1 an operation failed, 2 bad usage or input. */
#define SG_EXIT_FAIL 1
#define SG_EXIT_USAGE 2

/* ---- util.c ---- */

extern int sg_verbose;

void sg_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sg_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "libbpf's text (errno N, ENAME)" for a negative or positive error code. */
const char *sg_strerr(int err);
void sg_setup_logging(void);

int sg_require_root(void);
int sg_lock(bool exclusive);
void sg_unlock(void);
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

void sg_json_str(FILE *f, const char *s);

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
	SG_P_PORTS, /* a port list, into sg_settings.ports */
};

struct sg_param {
	const char *key; /* config KEY; attach option --KEY with '_' -> '-' */
	enum sg_param_kind kind;
	unsigned int min, max, def;
	size_t off, size; /* the field in struct sg_config */
	const char *metavar;
	const char *unit; /* shown after the value in status, or NULL */
	const char *help;
};

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

int sg_ports_parse(const char *s, const char *label, struct sg_ports *out);
/* "80,443,8000-8100"; "" if none. Returns buf, truncated with "..." */
const char *sg_ports_fmt(const struct sg_ports *p, char *buf, size_t len);
unsigned int sg_ports_count(const struct sg_ports *p);
bool sg_port_isset(const struct sg_ports *p, unsigned int port);

#define SG_KEY_BYTES 16
int sg_key_file_read(const char *path, __u8 key[SG_KEY_BYTES]);
int sg_key_random(__u8 key[SG_KEY_BYTES]);
/* SipHash key words from the 16 key bytes, little-endian as SipHash reads. */
void sg_key_words(const __u8 key[SG_KEY_BYTES], __u64 out[2]);

/* ---- pins.c ---- */

enum sg_map_id {
	SG_M_CONFIG,
	SG_M_KEYS,
	SG_M_PORTS,
	SG_M_COUNTERS,
	SG_M_KFUNC_ERRORS,
	SG_M_INFO,
	SG_M_MAX,
};

struct sg_pins {
	char iface[IFNAMSIZ];
	char dir[256];
	int fd[SG_M_MAX]; /* -1 if the pin is missing or unusable */
	__u32 max_entries[SG_M_MAX];
	char problem[SG_M_MAX][96]; /* why fd is -1 */
};

extern const char *const sg_map_names[SG_M_MAX];

void sg_pin_dir(const char *iface, char *buf, size_t len);
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
 * What changing a protected interface takes: bpffs mounted (not mounting
 * it), the exclusive lock, and the pins in ids. -1 after saying what is
 * missing.
 */
int sg_pins_lock_need(const char *iface, struct sg_pins *p, const int *ids,
		      size_t n);
int sg_map_read(const struct sg_pins *p, enum sg_map_id id, void *val);
int sg_map_write(const struct sg_pins *p, enum sg_map_id id, const void *val);
/* Sums a per-CPU array over the possible CPUs, n entries into out. */
int sg_percpu_sum(int fd, __u32 n, __u64 *out);
/* Removes every pin and the directory; returns the number removed or -1. */
int sg_pins_remove(const char *iface);
/* Protected interfaces (pin directories), sorted; caller frees. */
int sg_list_protected(char ***names);
void sg_free_list(char **names, int n);

/* ---- attach.c ---- */

bool sg_prog_alive(__u32 id);
int sg_kfunc_check(void);
/* Is our TC filter on ifindex? 1 yes (prog id in *prog_id), 0 no, -errno. */
int sg_tc_query(int ifindex, __u32 *prog_id);
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
void sg_usage_hint(const struct sg_cmd *cmd);

/* ---- the commands (attach.c, show.c, config.c) ---- */

struct sg_cmd;
extern const struct sg_cmd sg_cmd_attach, sg_cmd_detach, sg_cmd_status,
	sg_cmd_stats, sg_cmd_config, sg_cmd_key;

#endif /* SG_CLI_H */

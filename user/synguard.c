// SPDX-License-Identifier: GPL-2.0
/*
 * synguard: the operator's CLI. A table of commands, each with a table of
 * options that its --help is generated from (the xdp-tools convention);
 * commands may be abbreviated while the abbreviation is unambiguous.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "sg.h"

/* The Makefile passes it from VERSION, its one definition. */
#ifndef SG_VERSION
#error "SG_VERSION undefined: build with make (it comes from VERSION)"
#endif

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct sg_cmd sg_cmd_help = {
	.name = "help",
	.run = cmd_help,
	.args = "[COMMAND]",
	.summary = "show this help, or a command's",
	.opts = (const struct sg_opt[]){{NULL}},
};

static const struct sg_cmd sg_cmd_version = {
	.name = "version",
	.run = cmd_version,
	.args = "",
	.summary = "print the version (also --version)",
	.opts = (const struct sg_opt[]){{NULL}},
};

static const struct sg_cmd *const cmds[] = {
	&sg_cmd_attach, &sg_cmd_detach,	 &sg_cmd_run,	 &sg_cmd_status,
	&sg_cmd_reload, &sg_cmd_stats,	 &sg_cmd_config, &sg_cmd_allow,
	&sg_cmd_deny,	&sg_cmd_key,	 &sg_cmd_top,	 &sg_cmd_capture,
	&sg_cmd_help,	&sg_cmd_version,
};

static void print_main_help(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: synguard [-v] COMMAND [ARGS] [options]\n"
		"       synguard --version\n"
		"\n"
		"XDP SYN-cookie defense: answers SYNs to protected ports with cookie SYN-ACKs\nin the driver and hands validated clients to the kernel's TCP stack.\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-8s %s\n", cmds[i]->name, cmds[i]->summary);
	fprintf(f,
		"\n"
		"Commands may be abbreviated while unambiguous (a = attach, "
		"stat = status).\n"
		"`synguard COMMAND --help` shows the options of a command.\n");
}

#define HELP_COL 31 /* where the help text of an option starts */
#define HELP_WIDTH 79

/* "  LHS" padded, then the help text, wrapped under itself. */
static void print_entry(FILE *f, const char *lhs, const char *help,
			const char *extra)
{
	char text[512];
	const char *w = text, *end;
	int col;

	snprintf(text, sizeof(text), "%s%s", help, extra);
	/* Too long for its column: the text starts on the next line, and
	 * no space is left at the end of this one. */
	col = fprintf(f, "  %s", lhs);
	if (col + 1 > HELP_COL)
		fprintf(f, "\n%*s", HELP_COL, "");
	else
		fprintf(f, "%*s", HELP_COL - col, "");
	col = HELP_COL;
	while (*w) {
		end = strchrnul(w, ' ');
		if (col > HELP_COL && col + (end - w) >= HELP_WIDTH) {
			fprintf(f, "\n%*s", HELP_COL, "");
			col = HELP_COL;
		}
		col += fprintf(f, "%s%.*s", col > HELP_COL ? " " : "",
			       (int)(end - w), w);
		w = *end ? end + 1 : end;
	}
	fputc('\n', f);
}

static void print_opt(FILE *f, char short_opt, const char *name,
		      const char *metavar, const char *help, const char *extra)
{
	char lhs[64];

	snprintf(lhs, sizeof(lhs), "%c%c%c --%s%s%s", short_opt ? '-' : ' ',
		 short_opt ? short_opt : ' ', short_opt ? ',' : ' ', name,
		 metavar ? " " : "", metavar ? metavar : "");
	print_entry(f, lhs, help, extra);
}

/* "(536..9216, default 1460)" for a parameter. */
static const char *param_range(const struct sg_param *p, char *buf, size_t len)
{
	struct sg_settings def;
	char v[32];

	buf[0] = '\0';
	if (p->kind == SG_P_PORTS)
		return buf;
	/* The default as config syntax: "1460", "on", "auto", "off". */
	sg_settings_default(&def);
	sg_param_fmt(p, &def.cfg, v, sizeof(v));
	if (p->kind == SG_P_UINT)
		snprintf(buf, len, " (%u..%u%s, default %s)", p->min, p->max,
			 p->zero_off ? ", 0 = off" : "", v);
	else
		snprintf(buf, len, " (default %s)", v);
	return buf;
}

static void print_cmd_help(const struct sg_cmd *cmd, FILE *f)
{
	const struct sg_opt *o;
	char range[64], opt[40];
	size_t i;

	fprintf(f, "Usage: synguard %s %s\n\n%c%s.\n\nOptions:\n", cmd->name,
		cmd->args, toupper((unsigned char)cmd->summary[0]),
		cmd->summary + 1);
	for (o = cmd->opts; o->name; o++)
		print_opt(f, o->short_opt, o->name, o->metavar, o->help, "");
	for (i = 0; cmd->with_params && i < sg_nparams; i++)
		print_opt(f, 0, sg_param_opt(&sg_params[i], opt, sizeof(opt)),
			  sg_params[i].metavar, sg_params[i].help,
			  param_range(&sg_params[i], range, sizeof(range)));
	print_opt(f, 'v', "verbose", NULL,
		  "show libbpf's and libxdp's log (-vv: their debug log too)",
		  "");
	print_opt(f, 'h', "help", NULL, "show this help", "");
	if (cmd->with_keys) {
		/* The same table as attach's options, as KEY=VALUE. */
		fprintf(f, "\nKeys:\n");
		for (i = 0; i < sg_nparams; i++) {
			snprintf(opt, sizeof(opt), "%s=%s", sg_params[i].key,
				 sg_params[i].metavar);
			print_entry(f, opt, sg_params[i].help,
				    param_range(&sg_params[i], range,
						sizeof(range)));
		}
	}
	if (cmd->doc)
		fprintf(f, "\n%s\n", cmd->doc);
}

void sg_usage_hint(const struct sg_cmd *cmd)
{
	fprintf(stderr, "Usage: synguard %s %s\nSee `synguard %s --help`.\n",
		cmd->name, cmd->args, cmd->name);
}

#define SG_MAX_OPTS 48
#define OPT_CMD_BASE 256   /* getopt values of a command's own options */
#define OPT_PARAM_BASE 512 /* ... and of sg_params */

int sg_opt_flag(void *ctx, int idx, const char *arg)
{
	(void)idx;
	(void)arg;
	*(bool *)ctx = true;
	return 0;
}

int sg_parse_opts(const struct sg_cmd *cmd, int argc, char **argv, sg_opt_cb cb,
		  void *ctx, int *first)
{
	static char names[SG_MAX_OPTS][40];
	struct option lopts[SG_MAX_OPTS + 3] = {
		{"help", no_argument, NULL, 'h'},
		{"verbose", no_argument, NULL, 'v'},
	};
	/* ':' first: a missing value is reported as ':', not '?'. */
	char sopts[2 * SG_MAX_OPTS + 4] = ":hv";
	size_t nl = 2, ns = 3, i, n;
	int c, idx;

	for (n = 0; cmd->opts[n].name; n++)
		;
	if (n + (cmd->with_params ? sg_nparams : 0) > SG_MAX_OPTS) {
		sg_err("internal error: too many options for %s", cmd->name);
		return SG_EXIT_FAIL;
	}
	for (n = 0; cmd->opts[n].name; n++) {
		const struct sg_opt *o = &cmd->opts[n];

		lopts[nl++] = (struct option){
			o->name, o->metavar ? required_argument : no_argument,
			NULL, OPT_CMD_BASE + (int)n};
		if (o->short_opt) {
			sopts[ns++] = o->short_opt;
			if (o->metavar)
				sopts[ns++] = ':';
		}
	}
	for (i = 0; cmd->with_params && i < sg_nparams; i++)
		lopts[nl++] = (struct option){
			sg_param_opt(&sg_params[i], names[i], sizeof(names[i])),
			required_argument, NULL, OPT_PARAM_BASE + (int)i};
	lopts[nl] = (struct option){NULL, 0, NULL, 0};
	sopts[ns] = '\0';

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, sopts, lopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			print_cmd_help(cmd, stdout);
			exit(0);
		case 'v':
			sg_verbose++;
			continue;
		case '?':
			if (optopt)
				sg_err("unknown option '-%c' for %s", optopt,
				       cmd->name);
			else
				sg_err("unknown option '%s' for %s",
				       argv[optind - 1], cmd->name);
			sg_usage_hint(cmd);
			return SG_EXIT_USAGE;
		case ':':
			sg_err("option '%s' needs a value", argv[optind - 1]);
			sg_usage_hint(cmd);
			return SG_EXIT_USAGE;
		}
		if (c >= OPT_PARAM_BASE) {
			idx = -1 - (c - OPT_PARAM_BASE);
		} else if (c >= OPT_CMD_BASE) {
			idx = c - OPT_CMD_BASE;
		} else {
			/* A short option: c is one of ours (getopt checked). */
			for (idx = 0; cmd->opts[idx].name &&
				      cmd->opts[idx].short_opt != c;
			     idx++)
				;
		}
		if (!cb || cb(ctx, idx, optarg))
			return SG_EXIT_USAGE;
	}
	*first = optind;
	return 0;
}

static const struct sg_cmd *find_cmd(const char *name)
{
	const struct sg_cmd *match[ARRAY_SIZE(cmds)], *pick = NULL;
	size_t len = strlen(name), i, n = 0, npick = 0;
	char list[128] = "";

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(cmds[i]->name, name))
			return cmds[i];
	for (i = 0; len && i < ARRAY_SIZE(cmds); i++)
		if (!strncmp(cmds[i]->name, name, len))
			match[n++] = cmds[i];
	if (n == 1)
		return match[0];
	/* Shared prefix: a command wins from its own min_abbrev on. */
	for (i = 0; i < n; i++) {
		if (match[i]->min_abbrev && len >= match[i]->min_abbrev) {
			pick = match[i];
			npick++;
		}
	}
	if (npick == 1)
		return pick;
	if (!n) {
		sg_err("unknown command '%s'; see `synguard help`", name);
		return NULL;
	}
	for (i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
			 "%s%s", i ? ", " : "", match[i]->name);
	sg_err("ambiguous command '%s': could be %s", name, list);
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	const struct sg_cmd *cmd;
	int first, rc;

	rc = sg_parse_opts(&sg_cmd_help, argc, argv, NULL, NULL, &first);
	if (rc)
		return rc;
	if (first == argc) {
		print_main_help(stdout);
		return 0;
	}
	cmd = find_cmd(argv[first]);
	if (!cmd)
		return SG_EXIT_USAGE;
	print_cmd_help(cmd, stdout);
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	int first, rc;

	rc = sg_parse_opts(&sg_cmd_version, argc, argv, NULL, NULL, &first);
	if (rc)
		return rc;
	if (first < argc) {
		sg_err("version takes no arguments");
		sg_usage_hint(&sg_cmd_version);
		return SG_EXIT_USAGE;
	}
	printf("synguard %s\n", SG_VERSION);
	return 0;
}

int main(int argc, char **argv)
{
	const struct sg_cmd *cmd;

	sg_setup_logging();
	while (argc > 1 &&
	       (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--verbose"))) {
		sg_verbose++;
		argc--;
		argv++;
	}
	if (argc < 2) {
		print_main_help(stderr);
		return SG_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		print_main_help(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(1, argv);
	cmd = find_cmd(argv[1]);
	if (!cmd)
		return SG_EXIT_USAGE;
	/* The command sees itself as argv[0], as getopt expects. */
	return cmd->run(argc - 1, argv + 1);
}

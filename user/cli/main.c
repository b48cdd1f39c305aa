// SPDX-License-Identifier: GPL-2.0-only
/*
 * main.c - `toolwall [GLOBAL OPTIONS] COMMAND [options]`: the global options
 * and the command table, in the style of bpftool.
 *
 * Global options are read from one table wherever they stand before the
 * command's own arguments end: before the command name and after it, up
 * to "--" (and, for a command that runs another one, up to that command's
 * name). Everything else is the command's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "paths.h"
#include "util.h"

#ifndef TW_VERSION
#error "TW_VERSION comes from the Makefile (its one definition)"
#endif

struct tw_opts tw_opts;

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

#define CMD_JSON 1u /* takes -j: with it, errors are JSON on stdout */

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
	unsigned flags;
	/* global options are read up to this many positional arguments
	 * (0: all of them); exec's command line after CONTEXT is its own */
	int npos;
} cmds[] = {
	{ "check", cmd_check, "validate a policy; print every error", CMD_JSON },
	{ "compile", cmd_compile, "the effective rules of every context",
	  CMD_JSON },
	{ "explain", cmd_explain, "would CONTEXT reach DEST, and why",
	  CMD_JSON },
	{ "daemon", cmd_daemon, "enforce the policy; write the audit log" },
	{ "exec", cmd_exec, "run one tool call confined to a context", 0, 1 },
	{ "status", cmd_status, "daemon health, features, counters", CMD_JSON },
	{ "reload", cmd_reload, "reload the policy atomically", CMD_JSON },
	{ "audit", cmd_audit, "read the audit log", CMD_JSON },
	{ "grant", cmd_grant, "a time-limited step-up, approved by a person",
	  CMD_JSON },
	{ "revoke", cmd_revoke, "end a grant now", CMD_JSON },
	{ "grants", cmd_grants, "live grants and quarantines", CMD_JSON },
	{ "quarantine", cmd_quarantine, "stop a context or call cold",
	  CMD_JSON },
	{ "release", cmd_release, "end a quarantine", CMD_JSON },
	{ "down", cmd_down, "remove enforcement" },
	{ "demo", cmd_demo, "a self-contained tour on the example policy" },
	{ "broker", cmd_broker, "the credential broker (run by the daemon; alone on a JSON configuration)" },
	{ "help", cmd_help, "this list, or one command's help: help COMMAND" },
	{ "version", cmd_version, "print the version", CMD_JSON },
	/* internal, not listed: the daemon's supervisor of one launched call */
	{ "supervise", cmd_supervise, NULL },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

/* ---- global options ----------------------------------------------------- */

enum { GO_ON = -1 };

static int set_json(const char *v)
{
	(void)v;
	tw_opts.json = true;
	return GO_ON;
}

static int set_debug(const char *v)
{
	(void)v;
	tw_opts.debug = true;
	return GO_ON;
}

static int set_policy(const char *v)
{
	tw_opts.policy = v;
	return GO_ON;
}

static int show_version(const char *v)
{
	(void)v;
	return cmd_version(0, NULL);
}

static const struct gopt {
	char s;		  /* -j */
	const char *l;	  /* --json */
	const char *arg;  /* the value's name, or NULL for a flag */
	const char *help;
	int (*set)(const char *v); /* GO_ON, or the exit status */
} gopts[] = {
	{ 'j', "json", NULL, "JSON output (and errors as JSON on stdout)",
	  set_json },
	{ 'd', "debug", NULL, "libbpf and verifier output", set_debug },
	{ 'p', "policy", "PATH",
	  "policy directory or file (default: $TOOLWALL_POLICY,\n"
	  "                      else " TW_DEFAULT_POLICY ")",
	  set_policy },
	{ 'V', "version", NULL, "print the version and exit", show_version },
};

#define NGOPTS (sizeof(gopts) / sizeof(gopts[0]))

/* The global option ARG names ("-p", "--policy", "--policy=X"), or NULL. */
static const struct gopt *gopt_find(const char *arg, const char **val)
{
	*val = NULL;
	for (size_t i = 0; i < NGOPTS; i++) {
		const struct gopt *g = &gopts[i];
		size_t n = strlen(g->l);

		if (arg[0] == '-' && arg[1] == g->s && !arg[2])
			return g;
		if (strncmp(arg, "--", 2) || strncmp(arg + 2, g->l, n))
			continue;
		if (!arg[n + 2])
			return g;
		if (arg[n + 2] == '=' && g->arg) {
			*val = arg + n + 3;
			return g;
		}
	}
	return NULL;
}

/*
 * Take the global option at ARGV[*I] (its value too). Returns GO_ON, or
 * the exit status (an error, or --version done).
 */
static int gopt_take(const struct gopt *g, const char *val, int argc,
		     char **argv, int *i)
{
	if (g->arg && !val) {
		if (*i + 1 >= argc) {
			tw_error("option %s needs a %s", argv[*i], g->arg);
			return 2;
		}
		val = argv[++*i];
	}
	return g->set(val);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: toolwall [GLOBAL OPTIONS] COMMAND [options]\n"
		"       toolwall help [COMMAND]    toolwall COMMAND --help\n"
		"       toolwall version           toolwall --version\n\n"
		"A kernel-enforced tool-call firewall for AI agents.\n\n"
		"Commands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		if (cmds[i].help)
			fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nGlobal options (before or after COMMAND, up to --):\n");
	for (size_t i = 0; i < NGOPTS; i++) {
		char lhs[40];

		snprintf(lhs, sizeof(lhs), "-%c, --%s%s%s", gopts[i].s,
			 gopts[i].l, gopts[i].arg ? " " : "",
			 gopts[i].arg ? gopts[i].arg : "");
		fprintf(f, "  %-19s %s\n", lhs, gopts[i].help);
	}
	fprintf(f, "  -h, --help          this text (after COMMAND: its help)\n"
		   "Exit status: 0 success, 1 failure (or denied, for explain), "
		   "2 usage error\n"
		   "(exec: the command's own status, or 125 for exec's own errors).\n"
		   "With -j, a command that fails prints "
		   "{\"ok\":false,\"error\":...,\"where\":...}.\n");
}

static const struct cmd *cmd_find(const char *name)
{
	for (size_t k = 0; k < NCMDS; k++)
		if (!strcmp(name, cmds[k].name))
			return &cmds[k];
	return NULL;
}

/* `toolwall help [COMMAND]`: the list, or the command's own --help. */
static int cmd_help(int argc, char **argv)
{
	const struct cmd *c;
	char *args[] = { NULL, "--help", NULL };

	if (argc < 2 || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	c = cmd_find(argv[1]);
	if (!c || argc > 2) {
		tw_error(c ? "help: one command at a time" :
			     "help: unknown command '%s'", argv[1]);
		return 2;
	}
	args[0] = (char *)c->name;
	return c->fn(2, args);
}

static int cmd_version(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		tw_error("version: takes no arguments");
		return 2;
	}
	if (tw_opts.json)
		printf("{\"name\":\"toolwall\",\"version\":\"%s\"}\n",
		       TW_VERSION);
	else
		printf("toolwall %s\n", TW_VERSION);
	return 0;
}

/*
 * Move the global options out of the command's arguments (ARGV[0] is the
 * command name), in place. Returns GO_ON and the new count in *ARGC, or
 * the exit status.
 */
static int strip_gopts(const struct cmd *c, int *argc, char **argv)
{
	int i, o = 1, pos = 0, ret;
	bool scan = true;

	for (i = 1; i < *argc; i++) {
		/* after the command's own "--name" it may be that one's value */
		bool value = i > 1 && !strncmp(argv[i - 1], "--", 2) &&
			     argv[i - 1][2] && !strchr(argv[i - 1], '=') &&
			     argv[i][0] != '-';
		const struct gopt *g = NULL;
		const char *val;

		if (scan && !strcmp(argv[i], "--"))
			scan = false;
		if (scan && !value && argv[i][0] == '-')
			g = gopt_find(argv[i], &val);
		if (!g) {
			if (scan && !value && argv[i][0] != '-' && c->npos &&
			    ++pos > c->npos)
				scan = false;
			argv[o++] = argv[i];
			continue;
		}
		ret = gopt_take(g, val, *argc, argv, &i);
		if (ret != GO_ON)
			return ret;
	}
	argv[o] = NULL;
	*argc = o;
	return GO_ON;
}

/* The command named by ARGV[0] with its arguments; its exit status. */
static int run(int argc, char **argv)
{
	const struct cmd *c = cmd_find(argv[0]);
	int ret;

	if (!c) {
		tw_error("unknown command '%s'", argv[0]);
		usage(stderr);
		return 2;
	}
	ret = strip_gopts(c, &argc, argv);
	if (ret != GO_ON)
		return ret;
	/* only a command that takes -j answers its errors in JSON */
	tw_error_json(tw_opts.json && (c->flags & CMD_JSON) ? c->name : NULL);
	return c->fn(argc, argv);
}

int main(int argc, char **argv)
{
	const char *env = getenv("TOOLWALL_POLICY");
	char why[512];
	int i, ret = GO_ON;

	tw_opts.policy = env && *env ? env : TW_DEFAULT_POLICY;
	if (tw_roots_init(why, sizeof(why))) {
		tw_error("%s", why);
		return 2;
	}
	for (i = 1; ret == GO_ON && i < argc && argv[i][0] == '-'; i++) {
		const char *val;
		const struct gopt *g = gopt_find(argv[i], &val);

		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (g) {
			ret = gopt_take(g, val, argc, argv, &i);
			continue;
		}
		tw_error_json(tw_opts.json ? "toolwall" : NULL);
		tw_error("unknown option %s", argv[i]);
		usage(stderr);
		ret = 2;
	}
	if (ret == GO_ON && i >= argc) {
		tw_error_json(tw_opts.json ? "toolwall" : NULL);
		tw_error("no command given");
		usage(stderr);
		ret = 2;
	}
	if (ret == GO_ON) {
		tw_error_json(tw_opts.json ? "toolwall" : NULL);
		ret = run(argc - i, argv + i);
	}
	return tw_error_flush(ret);
}

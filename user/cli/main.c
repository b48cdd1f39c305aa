// SPDX-License-Identifier: GPL-2.0-only
/*
 * main.c - `toolwall COMMAND [options]`: global options and the command
 * table, in the style of bpftool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "paths.h"
#include "util.h"

#ifndef TW_VERSION
#define TW_VERSION "0.1.0"
#endif

struct tw_opts tw_opts;

static const struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "check", cmd_check, "validate a policy; print every error" },
	{ "compile", cmd_compile, "the effective rules of every context" },
	{ "explain", cmd_explain, "would CONTEXT reach DEST, and why" },
	{ "daemon", cmd_daemon, "enforce the policy; write the audit log" },
	{ "exec", cmd_exec, "run one tool call confined to a context" },
	{ "status", cmd_status, "daemon health, features, counters" },
	{ "reload", cmd_reload, "reload the policy atomically" },
	{ "audit", cmd_audit, "read the audit log" },
	{ "grant", cmd_grant, "a time-limited step-up, approved by a person" },
	{ "revoke", cmd_revoke, "end a grant now" },
	{ "grants", cmd_grants, "live grants and quarantines" },
	{ "quarantine", cmd_quarantine, "stop a context or call cold" },
	{ "release", cmd_release, "end a quarantine" },
	{ "down", cmd_down, "remove enforcement" },
	{ "demo", cmd_demo, "a self-contained tour on the example policy" },
	{ "broker", cmd_broker, "the credential broker (run by the daemon; alone on a JSON configuration)" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: toolwall [-j] [-d] [-p POLICY] COMMAND [options]\n"
		"       toolwall COMMAND --help\n"
		"       toolwall --version\n\n"
		"A kernel-enforced tool-call firewall for AI agents.\n\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f,
		"\nGlobal options:\n"
		"  -j, --json          JSON output\n"
		"  -d, --debug         libbpf and verifier output\n"
		"  -p, --policy PATH   policy directory or file (default: "
		"$TOOLWALL_POLICY,\n"
		"                      else " TW_DEFAULT_POLICY ")\n"
		"Exit status: 0 success, 1 failure (or denied, for explain), "
		"2 usage error.\n");
}

int main(int argc, char **argv)
{
	const char *env = getenv("TOOLWALL_POLICY");
	char why[512];
	int i;

	tw_opts.policy = env && *env ? env : TW_DEFAULT_POLICY;
	if (tw_roots_init(why, sizeof(why))) {
		tw_error("%s", why);
		return 2;
	}
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			tw_opts.json = true;
		} else if (!strcmp(a, "-d") || !strcmp(a, "--debug")) {
			tw_opts.debug = true;
		} else if ((!strcmp(a, "-p") || !strcmp(a, "--policy")) &&
			   i + 1 < argc) {
			tw_opts.policy = argv[++i];
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("toolwall %s\n", TW_VERSION);
			return 0;
		} else {
			tw_error("unknown option %s", a);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(argv[i], cmds[k].name))
			return cmds[k].fn(argc - i, argv + i);
	tw_error("unknown command '%s'", argv[i]);
	usage(stderr);
	return 2;
}

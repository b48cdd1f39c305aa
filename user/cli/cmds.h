/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmds.h - entry points of the `toolwall COMMAND` table (user/cli/main.c).
 * Each takes the arguments after the command name (argv[0] is the command)
 * and returns the process exit status: 0 success, 1 failure (or "denied"
 * for explain), 2 usage error.
 */
#ifndef TW_CMDS_H
#define TW_CMDS_H

#include <jansson.h>
#include <stdbool.h>

/* Global options parsed by main.c before the command. */
struct tw_opts {
	bool json;	    /* -j */
	bool debug;	    /* -d: libbpf and verifier output */
	const char *policy; /* -p, TOOLWALL_POLICY, or the default */
};
extern struct tw_opts tw_opts;

#define TW_DEFAULT_POLICY "/etc/toolwall/policy"

int cmd_check(int argc, char **argv);	/* cmd_check.c */
int cmd_compile(int argc, char **argv); /* cmd_compile.c */
int cmd_explain(int argc, char **argv); /* cmd_explain.c */
int cmd_daemon(int argc, char **argv);	/* daemon.c */
int cmd_exec(int argc, char **argv);	/* launch.c */
int cmd_status(int argc, char **argv);	/* status.c */
int cmd_reload(int argc, char **argv);	/* status.c */
int cmd_down(int argc, char **argv);	/* down.c */
int cmd_audit(int argc, char **argv);	/* audit.c */
int cmd_demo(int argc, char **argv);	/* demo.c */
int cmd_broker(int argc, char **argv);	/* broker/config.c */
/* internal: run by the daemon for one launch socket connection */
int cmd_supervise(int argc, char **argv); /* launch/supervise.c */
int cmd_grant(int argc, char **argv);	   /* grant_cmd.c */
int cmd_revoke(int argc, char **argv);	   /* grant_cmd.c */
int cmd_grants(int argc, char **argv);	   /* grant_cmd.c */
int cmd_quarantine(int argc, char **argv); /* grant_cmd.c */
int cmd_release(int argc, char **argv);	   /* grant_cmd.c */
/* The "grants" and "quarantines" of a daemon reply, as a table (status). */
void tw_print_grants(json_t *rep);
struct tw_compiled;
struct tw_dest;
/*
 * explain: the live grants of context CTX (asked of the daemon, when one
 * runs) that cover D, printed. 1: one of the whole context allows D (the
 * answer is given); -1: only grants to single calls (printed, the answer
 * still to give); 0: none.
 */
int tw_explain_granted(const struct tw_compiled *c, int ctx,
		       const struct tw_dest *d, const char *dest, bool json);

#endif

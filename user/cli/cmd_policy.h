/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_policy.h - what `check`, `compile` and `explain` share (cmd_policy.c):
 * options, the loaded policy, reporting it, the words their output uses.
 */
#ifndef TW_CMD_POLICY_H
#define TW_CMD_POLICY_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "cmds.h"
#include "compile.h"
#include "explain.h"
#include "policy.h"

struct tw_cmd_args {
	const char *policy;
	bool json;
	bool portable; /* check --portable: no checks against this host */
	int nargs; /* positional arguments left */
	char **args;
};

/* After a usage error: the synopsis, and where the rest is. */
void tw_short_usage(const char *cmd, const char *synopsis);

/*
 * Parse the options the three commands share. Returns -1 to go on, or
 * the exit status (0 after --help, 2 on a usage error).
 */
int tw_cmd_args_parse(int argc, char **argv, void (*usage)(FILE *),
		      const char *synopsis, struct tw_cmd_args *a);

struct tw_loaded {
	struct tw_policy pol;
	struct tw_diags diags;
	struct tw_compiled comp;
	bool compiled;
	int err; /* -errno of a failure without diagnostics */
};

/* Load (tw_policy_load also links) and compile PATH. 0 when compiled. */
int tw_loaded_load(const char *path, struct tw_loaded *l);
void tw_loaded_free(struct tw_loaded *l);
/* The file a diagnostic names (PATH when it names none). */
const char *tw_diag_file(const struct tw_diag *d, const char *path);
/* Every diagnostic on stderr, then one summary line. */
void tw_report_invalid(const struct tw_loaded *l, const char *path,
		       bool from_check);
/* O as one line of compact JSON on stdout. */
void tw_print_json(json_t *o);

const char *tw_mode_name(enum tw_mode m);
const char *tw_proto_name(enum tw_proto p);
const char *tw_bundle_name(const struct tw_compiled *c, int b);
/* "tcp 10.20.0.0/16 port 5432", "unix /run/x.sock". */
void tw_rule_text(const struct tw_rule *r, char *buf, size_t len);
/* ", "-joined bundle names into BUF. */
void tw_bundles_text(const struct tw_compiled *c, const int *b, size_t n,
		     char *buf, size_t len);
json_t *tw_bundle_names_json(const struct tw_compiled *c, const int *b,
			     size_t n);

/*
 * The addresses a running daemon's resolver has learned, when it enforces
 * this very REVISION. NULL when no daemon answers.
 */
json_t *tw_daemon_learned(const char *revision);

#endif

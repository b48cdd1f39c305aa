/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * prepare.h - the launcher's state for one tool call, shared by launch.c
 * (the command: start, fork, relay, end) and prepare.c (what the call
 * gets: credentials, directories, environment, sandbox).
 */
#ifndef TW_PREPARE_H
#define TW_PREPARE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "calldir.h"
#include "callns.h"
#include "cglimits.h"
#include "creds.h"
#include "pty.h"
#include "sandbox.h"

#define MAX_ENV 512

/* Everything the child needs, prepared by the parent (as root). */
struct launch {
	const char *ctx;
	const char *cgroup;
	struct tw_account acct;
	struct tw_sandbox sb;
	char **env; /* NULL-terminated; holds credential values */
	size_t nenv;
	char *path; /* the call's PATH, for the command lookup */
	char **cmd;
	char *cwd; /* where the call starts: NULL keeps the launcher's */
	struct tw_callns ns;
	const char **noexec; /* what the call may write: mounted noexec */
	bool background;     /* leftovers run on when the command ends */
	struct tw_pty pty; /* its own terminal, if the user has one */
	struct tw_limit_join lj; /* v1 cgroups holding its limits */
	bool in_cgroup; /* its init was created in its cgroup (clone3) */
};

/* What passes from the launcher's environment into the call's ("NAME=VALUE"):
 * presentation only (TERM, LANG, LC_*, TZ, ...). */
bool tw_env_presentation(const char *kv);

/*
 * Prepare the call from call-start's reply REP: its credentials (values,
 * or placeholders for brokered ones), its directories CD, an environment
 * built from nothing (plus ENVS, NENVS of NAME=VALUE), its Landlock grants
 * and noexec mounts. 0, or -errno (said on stderr).
 */
int tw_launch_prepare(struct launch *l, json_t *rep, char **envs,
		      size_t nenvs, struct tw_calldir *cd, const char *call_id);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * execargs.h - one `toolwall exec` request, as its command line (launch.c)
 * or a launch socket request (supervise.c) says it, and the hooks the
 * daemon's supervisor puts on the run. Types only: launch.c runs it,
 * execclient.c sends it, supervise.c receives it.
 */
#ifndef TW_EXECARGS_H
#define TW_EXECARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* exec's own failures (usage, refused, daemon unreachable, the call could
 * not be set up): a value no documented command outcome uses. */
#define TW_EXIT_TOOLWALL 125

struct exec_args {
	const char *call_id, *requester, *ctx;
	char **envs; /* NAME=VALUE, nenvs of them */
	size_t nenvs;
	bool quiet;
	int summary_fd; /* --summary-json FD, or -1 */
	char **cmd;
	/* Who asked the daemon to launch it (the launch socket's peer);
	 * -1: root's own exec. Recorded in the call's records. */
	long long launcher_uid;
};

/* The supervisor's view of the run (NULL for root's own exec). */
struct tw_exec_hooks {
	/* The call's init is forked: INIT is its pid; BACKGROUND: the
	 * context lets leftovers run on. Relay signals are blocked. */
	void (*running)(pid_t init, bool background, void *arg);
	void *arg;
};

#endif

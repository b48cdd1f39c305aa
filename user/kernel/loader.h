/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * loader.h - open, load, attach (bpf links only), pin and re-adopt the
 * socket programs and the syscall audit tracepoints; probe kernel features
 * first and refuse rather than fail open.
 */
#ifndef TW_LOADER_H
#define TW_LOADER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"

/* File descriptors of the pinned maps (owned by the struct). */
struct tw_maps {
	int state, cgroups, rules, unix_, events, stats, dns, learned;
	int dns_ports; /* resolver ports no call may bind */
	int bk_dst, bk_conn; /* brokered services, redirected connections */
	/* syscall audit (proc.bpf.c) */
	int proc_events, proc_stats, proc_state, sys_watch;
	int budget; /* each context's budget of events; -1: not pinned
		       (state of an older toolwall) */
	int ctx_stats; /* each context's decisions (metrics); -1: likewise */
	int grants, scopes, grant_on; /* grants and quarantine (grantmaps.h) */
	int bk_grant; /* brokered services of grants; -1: not pinned (an
			 older toolwall) */
};

struct tw_loader {
	struct tw_sock *skel;
	struct tw_proc *proc; /* syscall audit */
	struct tw_maps maps;
	struct tw_budgets budget; /* tw_budget, mmapped */
	int cg_root_fd;
	char cg_mount[PATH_MAX]; /* the cgroup2 mount */
	char cg_root[PATH_MAX];	 /* cg_mount/toolwall */
	bool adopted;	  /* links were already pinned: programs swapped */
	bool watching;	  /* the sys_exit tracepoint is attached */
	char features[512]; /* what is in use, for status */
};

/*
 * Probe every kernel feature enforcement needs. Returns 0, or -ENOTSUP with
 * a sentence naming what is missing in WHY.
 */
int tw_probe_features(char *why, size_t len);

/* Mount bpffs at /sys/fs/bpf if needed and create the 0700 pin dirs. */
int tw_pin_dirs(char *err, size_t len);

/*
 * Load the programs reusing pinned maps, then attach them to the toolwall
 * root cgroup through links: new links are created and pinned; pinned links
 * get the new programs swapped in with bpf_link_update (no gap).
 */
int tw_loader_up(struct tw_loader *l, bool debug, char *err, size_t len);
void tw_loader_close(struct tw_loader *l);

/*
 * Attach (ON) or detach the syscall-denial tracepoint. A syscall
 * tracepoint costs every syscall of the host (about 90 ns here, see
 * bench/), so the daemon keeps it attached only while a tool call may run:
 * from call-start until no call is open and the toolwall tree is empty.
 * The exec tracepoint costs nothing outside exec and stays attached.
 */
int tw_loader_watch_syscalls(struct tw_loader *l, bool on, char *err,
			     size_t len);

/* Open the pinned maps (status, down, tests). */
int tw_maps_open(struct tw_maps *m);
void tw_maps_close(struct tw_maps *m);

#endif

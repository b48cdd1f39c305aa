/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cgdelegate.h - where the toolwall cgroup root is when a service manager
 * started the daemon with a cgroup of its own to manage (systemd's
 * Delegate=yes). The rule, in order:
 *
 *  1. TOOLWALL_CGROUP_ROOT is set: it wins, nothing moves.
 *  2. Neither $INVOCATION_ID nor $NOTIFY_SOCKET is set (no service
 *     manager started us): the default, <mount>/toolwall.
 *  3. Our cgroup (the "0::" line of /proc/self/cgroup) is the root of the
 *     hierarchy (a container, or no manager): the default.
 *  4. That cgroup is delegated to us: systemd (251+) marks a Delegate=yes
 *     unit's cgroup with the xattr trusted.delegate (user.delegate for a
 *     user manager) = "1"; when it also carries trusted.invocation_id, it
 *     must be $INVOCATION_ID (the unit that started us, not one whose
 *     environment we inherited); we are its only process (a service's main
 *     process starts alone in the unit's cgroup, its control processes go
 *     to .control: a process beside others, e.g. a shell of a delegated CI
 *     runner, only inherited the environment); and we can write its
 *     cgroup.procs and cgroup.subtree_control. If not: the default.
 *  5. Delegated: the daemon moves itself into OWN/daemon (a leaf: a cgroup
 *     with processes cannot hand controllers to its children) and the
 *     toolwall root is OWN/calls, so the tool calls stay in the service's
 *     tree and go with it.
 *
 * The root chosen in case 5 is recorded in RUN/cgroup-root, so that
 * commands other than the daemon (`toolwall down`) find the tree.
 * Library code: returns -errno, never logs.
 */
#ifndef TW_CGDELEGATE_H
#define TW_CGDELEGATE_H

#include <stddef.h>

enum tw_cg_origin {
	TW_CG_DEFAULT,	 /* <mount>/toolwall */
	TW_CG_EXPLICIT,	 /* TOOLWALL_CGROUP_ROOT */
	TW_CG_DELEGATED, /* the service's own subtree */
};

/*
 * Decide the root (the rule above), set tw_roots.cgroup, move the daemon
 * and record the root. Returns the origin, with a sentence in WHY saying
 * what was chosen and why; or -errno with WHY naming what failed (a
 * delegated cgroup we could not move into, or the root not recorded: the
 * caller refuses to start).
 */
int tw_cg_delegate(char *why, size_t n);

/*
 * For commands other than the daemon: unless TOOLWALL_CGROUP_ROOT is set,
 * take the root a delegated daemon recorded. 0, or -errno.
 */
int tw_cg_recorded_root(void);

#endif

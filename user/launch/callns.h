/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * callns.h - the namespaces of one tool call, and the tiny init that is
 * pid 1 in them.
 *
 * Every call runs in a PID, mount and IPC namespace of its own, so the
 * processes of other calls, of the launcher and of the daemon are not
 * there to read (/proc/PID/cmdline), renice, re-limit or signal (ESRCH),
 * and SysV IPC objects are the call's own:
 *
 *   launcher (host, root) -- unshare(CLONE_NEWPID), fork
 *     init (pid 1, root)  -- joins the call's cgroup, new mount + IPC
 *                            namespaces, a fresh /proc, every directory
 *                            the call may write bind-mounted noexec,
 *                            vm.memfd_noexec = 2; then drops to the
 *                            agent's account and forks
 *       command           -- Landlock, seccomp, exec
 *
 * The init reaps whatever is reparented to it, forwards the launcher's
 * signals to the command and reports the command's wait status on a
 * pipe. It then exits, and the kernel kills what the call left behind
 * (the end of a PID namespace); with "background": true it instead stays
 * until the last process of the call has ended, so leftovers run on, in
 * the call's cgroup and under its confinement.
 *
 * The mount namespace is a slave of the host's: mounts made for the call
 * never reach the host, host mounts still reach the call.
 *
 * Library code: returns 0 or -errno, never prints; on error, ns->err says
 * what and where.
 */
#ifndef TW_CALLNS_H
#define TW_CALLNS_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct tw_callns {
	const char *const *noexec; /* directories the call may write */
	size_t nnoexec;
	char err[PATH_MAX + 128];
};

/*
 * In the launcher: fork the call's init, pid 1 of a new PID namespace,
 * created in its cgroup v2 CGROUP when the kernel allows
 * (tw_cg_clone_into: *IN_CGROUP true), else forked to join it itself.
 * The launcher's own later children and threads stay in its namespace.
 * Returns like fork(); -1 with NS->err said.
 */
pid_t tw_callns_fork_init(struct tw_callns *ns, const char *cgroup,
			  bool *in_cgroup);

/*
 * In that child, as root, in the call's cgroup: the mount and IPC
 * namespaces, /proc, the noexec mounts and vm.memfd_noexec. A directory
 * that does not exist is skipped (a missing optional grant).
 */
int tw_callns_setup(struct tw_callns *ns);

/*
 * In that child: wipe what /proc/1/cmdline and /proc/1/environ would show
 * (the launcher's argv holds --env values). Pointers into the launcher's
 * argv and environment are dangling afterwards: copy what is needed
 * first.
 */
void tw_callns_scrub_args(void);

/*
 * In the init, before it forks the command: hold the signals it forwards
 * (a launcher's SIGTERM between the fork and tw_callns_init would
 * otherwise kill the init: pid 1 is killable from the parent namespace
 * while it has no handler). OLD gets the mask to restore, in the command
 * before it execs and by tw_callns_init.
 */
void tw_callns_hold_signals(sigset_t *old);

/*
 * The init's life once the command CMD is forked: forward signals, reap,
 * write CMD's wait status (an int) to STATUS_FD, then exit, or with
 * BACKGROUND reap on until no process of the namespace is left.
 */
void __attribute__((noreturn))
tw_callns_init(pid_t cmd, int status_fd, bool background, const sigset_t *old);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sandbox.h - what one tool call may touch on the filesystem (Landlock) and
 * which escape syscalls it may make (seccomp, libseccomp).
 *
 * Filesystem (Landlock, at the best ABI the kernel offers): every right
 * the kernel knows is handled, so a right is granted only where a grant
 * below gives it, and denied (EACCES) everywhere else:
 *   TW_FS_READ   open files for reading, list directories
 *   TW_FS_EXEC   TW_FS_READ + execute
 *   TW_FS_WRITE  TW_FS_READ + write, truncate, create, remove, rename;
 *                never execute, never device nodes
 *   TW_FS_DEV    device files: read, write, ioctl
 * A grant covers the path and everything beneath it. A writable grant may
 * not overlap an executable one (so nothing a call can write is ever
 * executable), and no grant may lie inside a protected path; a grant that
 * contains a protected path is split into grants of its other entries, so
 * the protected path (a credential store, the daemon's state) stays out of
 * reach even below /etc. Landlock also confines ptrace (and the ptrace-
 * guarded /proc files: environ, mem, fd) to the call's own process tree,
 * and, from ABI 6, signals to it.
 *
 * Syscalls (seccomp, default allow): EPERM for bpf, mount and the new
 * mount API, pivot_root, chroot, setns, unshare()/clone() with a namespace
 * flag (clone3: ENOSYS, so libc falls back to clone(), whose flags a filter
 * can read), keyctl, add_key, request_key, kexec_*, init_/finit_/
 * delete_module, perf_event_open, io_uring_* (IORING_OP_SOCKET makes
 * sockets that socket()'s filter never sees), memfd_create() with
 * MFD_EXEC (code run from memory, out of any file grant's sight),
 * TIOCSTI/TIOCLINUX ioctls
 * (typing into the launcher's terminal), and socket()/socketpair() of
 * every family but AF_UNIX, AF_INET and AF_INET6. Syscalls of another ABI
 * (i386, x32) kill the process.
 *
 * Library code: returns 0 or -errno, never prints; on error, sb->err says
 * what and where.
 */
#ifndef TW_SANDBOX_H
#define TW_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "callfilter.h"
#include "fsexplain.h" /* the fixed grants and the default system paths */

enum tw_fs_access { TW_FS_READ, TW_FS_EXEC, TW_FS_WRITE, TW_FS_DEV };

struct tw_fs_grant {
	const char *path;
	enum tw_fs_access access;
	bool required; /* a missing path is an error (else it is skipped) */
};

struct tw_sandbox {
	int abi;	/* Landlock ABI in use */
	int ruleset_fd; /* -1 until prepared */
	struct tw_callfilter filter; /* the seccomp program */
	char err[768];
};

/* The kernel's Landlock ABI (>= 1), or -ENOSYS / -EOPNOTSUPP. */
int tw_landlock_abi(void);

/*
 * Build the Landlock ruleset for GRANTS minus PROTECTED. Opens paths as
 * the caller (root): DAC still applies to the call.
 */
int tw_sandbox_prepare(struct tw_sandbox *sb, const struct tw_fs_grant *grants,
		       size_t ngrants, const char *const *protect,
		       size_t nprotect);

/*
 * The seccomp filter: the daemon's compiled program B64 (call-start's
 * "seccomp"), or, B64 NULL, compiled here (callfilter.h).
 */
int tw_sandbox_filter(struct tw_sandbox *sb, const char *b64);

/*
 * Grant PATH once more, by the inode it names now: for a file system
 * mounted over a granted path after the ruleset was built (the call's own
 * /proc), which Landlock would otherwise judge by what is above it.
 */
int tw_sandbox_grant(struct tw_sandbox *sb, const char *path,
		     enum tw_fs_access access);

/*
 * In the tool call's process, after it dropped privileges and set
 * no_new_privs: enforce the ruleset, then load the filter. Irreversible.
 */
int tw_sandbox_enter(struct tw_sandbox *sb);

void tw_sandbox_free(struct tw_sandbox *sb);

#endif

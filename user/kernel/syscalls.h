/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * syscalls.h - the syscalls the kernel side of the syscall audit watches
 * (tw_sys_watch in proc.bpf.c), filled from <sys/syscall.h> so the BPF
 * object carries no syscall numbers: for each, what it does to a file or
 * a process and where its path argument is.
 */
#ifndef TW_SYSCALLS_H
#define TW_SYSCALLS_H

#include <stddef.h>
#include <stdint.h>

enum tw_sys_action {
	TW_SA_OPEN = 1,
	TW_SA_EXEC,
	TW_SA_MKDIR,
	TW_SA_MKNOD,
	TW_SA_UNLINK,
	TW_SA_RMDIR,
	TW_SA_RENAME,
	TW_SA_LINK,
	TW_SA_SYMLINK,
	TW_SA_TRUNCATE,
	TW_SA_CHMOD,
	TW_SA_CHOWN,
	TW_SA_CHDIR,
	TW_SA_SYSCALL, /* an escape syscall: seccomp (or the kernel) said no */
	TW_SA_SIGNAL,  /* a signal or ptrace outside the call's own tree */
};

struct tw_sysaudit {
	long nr;
	const char *name;
	enum tw_sys_action action;
	int path_arg;	/* argument with a user path, or -1 */
	int dirfd_arg;	/* its directory fd (the *at syscalls), or -1 */
	int flags_arg;	/* open flags, or -1 */
	unsigned flags; /* TW_SYSW_* */
	const char *what; /* escape syscalls: what the call tried */
	int fd_argn;	  /* fd-based file syscalls: the fd argument + 1 */
};

/* The watched syscall NR, or NULL. */
const struct tw_sysaudit *tw_sysaudit_find(long nr);

/* Write the table into the tw_sys_watch map. 0 or -errno. */
int tw_sysaudit_fill(int map_fd);

/* "open", "exec", "mkdir", ...; the syscall's name for escape syscalls. */
const char *tw_sysaudit_action(const struct tw_sysaudit *s);

#endif

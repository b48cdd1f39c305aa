// SPDX-License-Identifier: GPL-2.0-only
/*
 * syscalls.c - the table of watched syscalls (see syscalls.h).
 */
#include <errno.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>

#include "syscalls.h"
#include "toolwall.h"

#define F(nr, name, act, path, dirfd, flags)                                   \
	{ nr, name, act, path, dirfd, flags, 0, NULL }
#define FD(nr, name, act, fd)                                                  \
	{ nr, name, act, -1, -1, -1, 0, NULL, (fd) + 1 }
#define X(nr, name, what)                                                      \
	{ nr, name, TW_SA_SYSCALL, -1, -1, -1, 0, what }

static const struct tw_sysaudit table[] = {
#ifdef SYS_open
	F(SYS_open, "open", TW_SA_OPEN, 0, -1, 1),
#endif
#ifdef SYS_creat
	F(SYS_creat, "creat", TW_SA_OPEN, 0, -1, -1),
#endif
	F(SYS_openat, "openat", TW_SA_OPEN, 1, 0, 2),
#ifdef SYS_openat2
	F(SYS_openat2, "openat2", TW_SA_OPEN, 1, 0, -1),
#endif
	F(SYS_execve, "execve", TW_SA_EXEC, 0, -1, -1),
	F(SYS_execveat, "execveat", TW_SA_EXEC, 1, 0, -1),
#ifdef SYS_mkdir
	F(SYS_mkdir, "mkdir", TW_SA_MKDIR, 0, -1, -1),
#endif
	F(SYS_mkdirat, "mkdirat", TW_SA_MKDIR, 1, 0, -1),
#ifdef SYS_mknod
	F(SYS_mknod, "mknod", TW_SA_MKNOD, 0, -1, -1),
#endif
	F(SYS_mknodat, "mknodat", TW_SA_MKNOD, 1, 0, -1),
#ifdef SYS_unlink
	F(SYS_unlink, "unlink", TW_SA_UNLINK, 0, -1, -1),
#endif
	F(SYS_unlinkat, "unlinkat", TW_SA_UNLINK, 1, 0, -1),
#ifdef SYS_rmdir
	F(SYS_rmdir, "rmdir", TW_SA_RMDIR, 0, -1, -1),
#endif
#ifdef SYS_rename
	F(SYS_rename, "rename", TW_SA_RENAME, 0, -1, -1),
#endif
#ifdef SYS_renameat
	F(SYS_renameat, "renameat", TW_SA_RENAME, 1, 0, -1),
#endif
	F(SYS_renameat2, "renameat2", TW_SA_RENAME, 1, 0, -1),
#ifdef SYS_link
	F(SYS_link, "link", TW_SA_LINK, 1, -1, -1),
#endif
	F(SYS_linkat, "linkat", TW_SA_LINK, 3, 2, -1),
#ifdef SYS_symlink
	F(SYS_symlink, "symlink", TW_SA_SYMLINK, 1, -1, -1),
#endif
	F(SYS_symlinkat, "symlinkat", TW_SA_SYMLINK, 2, 1, -1),
	F(SYS_truncate, "truncate", TW_SA_TRUNCATE, 0, -1, -1),
	FD(SYS_ftruncate, "ftruncate", TW_SA_TRUNCATE, 0),
	FD(SYS_fchmod, "fchmod", TW_SA_CHMOD, 0),
	FD(SYS_fchown, "fchown", TW_SA_CHOWN, 0),
	F(SYS_chdir, "chdir", TW_SA_CHDIR, 0, -1, -1),
#ifdef SYS_chmod
	F(SYS_chmod, "chmod", TW_SA_CHMOD, 0, -1, -1),
#endif
	F(SYS_fchmodat, "fchmodat", TW_SA_CHMOD, 1, 0, -1),
#ifdef SYS_chown
	F(SYS_chown, "chown", TW_SA_CHOWN, 0, -1, -1),
#endif
#ifdef SYS_lchown
	F(SYS_lchown, "lchown", TW_SA_CHOWN, 0, -1, -1),
#endif
	F(SYS_fchownat, "fchownat", TW_SA_CHOWN, 1, 0, -1),

	X(SYS_mount, "mount", "mount a filesystem"),
	X(SYS_umount2, "umount2", "unmount a filesystem"),
	X(SYS_pivot_root, "pivot_root", "change the root filesystem"),
	X(SYS_chroot, "chroot", "change its root directory"),
#ifdef SYS_open_tree
	X(SYS_open_tree, "open_tree", "use the mount API"),
	X(SYS_move_mount, "move_mount", "use the mount API"),
	X(SYS_fsopen, "fsopen", "use the mount API"),
	X(SYS_fsconfig, "fsconfig", "use the mount API"),
	X(SYS_fsmount, "fsmount", "use the mount API"),
	X(SYS_fspick, "fspick", "use the mount API"),
#endif
#ifdef SYS_mount_setattr
	X(SYS_mount_setattr, "mount_setattr", "use the mount API"),
#endif
	X(SYS_setns, "setns", "enter another namespace"),
	X(SYS_unshare, "unshare", "create a namespace"),
	X(SYS_clone, "clone", "create a namespace"),
	X(SYS_bpf, "bpf", "use bpf()"),
	X(SYS_keyctl, "keyctl", "use the kernel keyrings"),
	X(SYS_add_key, "add_key", "use the kernel keyrings"),
	X(SYS_request_key, "request_key", "use the kernel keyrings"),
	X(SYS_kexec_load, "kexec_load", "load a new kernel"),
#ifdef SYS_kexec_file_load
	X(SYS_kexec_file_load, "kexec_file_load", "load a new kernel"),
#endif
	X(SYS_init_module, "init_module", "load a kernel module"),
	X(SYS_finit_module, "finit_module", "load a kernel module"),
	X(SYS_delete_module, "delete_module", "unload a kernel module"),
	X(SYS_perf_event_open, "perf_event_open", "use perf events"),
	X(SYS_io_uring_setup, "io_uring_setup", "use io_uring"),
	X(SYS_io_uring_enter, "io_uring_enter", "use io_uring"),
	X(SYS_io_uring_register, "io_uring_register", "use io_uring"),
	X(SYS_ioctl, "ioctl", "use a denied ioctl (TIOCSTI, TIOCLINUX)"),
	X(SYS_memfd_create, "memfd_create", "create an executable memfd"),
	/* PROT_EXEC of a file on a noexec mount: a call's writable dirs */
	FD(SYS_mmap, "mmap", TW_SA_EXEC, 4),
	{ SYS_socket, "socket", TW_SA_SYSCALL, -1, -1, -1, TW_SYSW_SKIP_INET,
	  "create a socket of a denied family" },
	{ SYS_socketpair, "socketpair", TW_SA_SYSCALL, -1, -1, -1,
	  TW_SYSW_SKIP_INET, "create a socket pair of a denied family" },
	{ SYS_ptrace, "ptrace", TW_SA_SIGNAL, -1, -1, -1, 0,
	  "trace a process outside its own tree" },
	{ SYS_process_vm_readv, "process_vm_readv", TW_SA_SIGNAL, -1, -1, -1,
	  0, "read the memory of a process outside its own tree" },
	{ SYS_process_vm_writev, "process_vm_writev", TW_SA_SIGNAL, -1, -1,
	  -1, 0, "write the memory of a process outside its own tree" },
	{ SYS_kill, "kill", TW_SA_SIGNAL, -1, -1, -1, 0,
	  "signal a process outside its own tree" },
	{ SYS_tkill, "tkill", TW_SA_SIGNAL, -1, -1, -1, 0,
	  "signal a process outside its own tree" },
	{ SYS_tgkill, "tgkill", TW_SA_SIGNAL, -1, -1, -1, 0,
	  "signal a process outside its own tree" },
#ifdef SYS_pidfd_send_signal
	{ SYS_pidfd_send_signal, "pidfd_send_signal", TW_SA_SIGNAL, -1, -1,
	  -1, 0, "signal a process outside its own tree" },
#endif
};

#undef F
#undef FD
#undef X

const struct tw_sysaudit *tw_sysaudit_find(long nr)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].nr == nr)
			return &table[i];
	return NULL;
}

int tw_sysaudit_fill(int map_fd)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		struct tw_sys_watch w = {
			.action = (__u8)table[i].action,
			.path_arg = (__s8)table[i].path_arg,
			.flags = (__u8)table[i].flags,
		};
		__u32 key = (__u32)table[i].nr;

		if (table[i].nr < 0 || table[i].nr >= TW_SYS_WATCH_MAX)
			continue;
		if (bpf_map_update_elem(map_fd, &key, &w, BPF_ANY))
			return -errno;
	}
	return 0;
}

const char *tw_sysaudit_action(const struct tw_sysaudit *s)
{
	static const char *const names[] = {
		[TW_SA_OPEN] = "open",	   [TW_SA_EXEC] = "exec",
		[TW_SA_MKDIR] = "mkdir",   [TW_SA_MKNOD] = "mknod",
		[TW_SA_UNLINK] = "unlink", [TW_SA_RMDIR] = "rmdir",
		[TW_SA_RENAME] = "rename", [TW_SA_LINK] = "link",
		[TW_SA_SYMLINK] = "symlink", [TW_SA_TRUNCATE] = "truncate",
		[TW_SA_CHMOD] = "chmod",   [TW_SA_CHOWN] = "chown",
		[TW_SA_CHDIR] = "chdir",
	};

	if (s->action < sizeof(names) / sizeof(names[0]) && names[s->action])
		return names[s->action];
	return s->name;
}

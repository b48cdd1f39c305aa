// SPDX-License-Identifier: GPL-2.0-only
/*
 * sandbox.c - Landlock ruleset and seccomp filter of one tool call. See
 * sandbox.h for what is granted and denied, and why.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/landlock.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "callfilter.h"
#include "sandbox.h"

/*
 * Debian 12's UAPI headers stop at Landlock ABI 2; the kernel may offer
 * more. Values from the kernel's include/uapi/linux/landlock.h.
 */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif
#define TW_LL_SCOPE_SIGNAL		    (1ULL << 1) /* ABI 6 */
#define TW_LL_RESTRICT_SELF_LOG_NEW_EXEC_ON (1U << 1)	/* ABI 7 */

/* struct landlock_ruleset_attr as of ABI 6 (the kernel takes a prefix). */
struct tw_ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define LL_FS_ABI1                                                             \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |          \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |          \
	 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |      \
	 LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |          \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |          \
	 LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |        \
	 LANDLOCK_ACCESS_FS_MAKE_SYM)

/* Rights that apply to a file (not a directory) rule. */
#define LL_FILE_RIGHTS                                                         \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |          \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |          \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)

#define LL_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define LL_EXEC (LL_READ | LANDLOCK_ACCESS_FS_EXECUTE)
#define LL_WRITE                                                               \
	(LL_READ | LANDLOCK_ACCESS_FS_WRITE_FILE |                             \
	 LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |      \
	 LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |           \
	 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |         \
	 LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER |              \
	 LANDLOCK_ACCESS_FS_TRUNCATE)
#define LL_DEV                                                                 \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |        \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)

static int sb_fail(struct tw_sandbox *sb, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int sb_fail(struct tw_sandbox *sb, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sb->err, sizeof(sb->err), fmt, ap);
	va_end(ap);
	return err;
}

int tw_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
			   LANDLOCK_CREATE_RULESET_VERSION);

	if (abi < 0)
		return -errno;
	return abi >= 1 ? (int)abi : -EOPNOTSUPP;
}

static uint64_t handled_fs(int abi)
{
	uint64_t h = LL_FS_ABI1;

	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		h |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return h;
}

static uint64_t rights_of(enum tw_fs_access a)
{
	switch (a) {
	case TW_FS_READ:
		return LL_READ;
	case TW_FS_EXEC:
		return LL_EXEC;
	case TW_FS_WRITE:
		return LL_WRITE;
	case TW_FS_DEV:
		return LL_DEV;
	}
	return 0;
}

struct protset {
	char **p; /* literal and resolved forms */
	size_t n;
};

static const char *protected_within(const struct protset *ps, const char *path)
{
	for (size_t i = 0; i < ps->n; i++)
		if (tw_path_under(path, ps->p[i]))
			return ps->p[i];
	return NULL;
}

static const char *protected_below(const struct protset *ps, const char *path)
{
	for (size_t i = 0; i < ps->n; i++)
		if (tw_path_under(ps->p[i], path))
			return ps->p[i];
	return NULL;
}

/* Grant ACCESS on NAME below DIRFD (or a path): never through a symlink
 * (one swapped in since it was listed is skipped). */
static int add_rule_at(struct tw_sandbox *sb, int dirfd, const char *name,
		       uint64_t access)
{
	struct landlock_path_beneath_attr pb = {};
	struct stat st;
	int fd, err = 0;

	fd = openat(dirfd, name, O_PATH | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (S_ISLNK(st.st_mode))
		goto out;
	if (!S_ISDIR(st.st_mode))
		access &= LL_FILE_RIGHTS;
	pb.allowed_access = access & handled_fs(sb->abi);
	pb.parent_fd = fd;
	if (pb.allowed_access && syscall(SYS_landlock_add_rule, sb->ruleset_fd,
					 LANDLOCK_RULE_PATH_BENEATH, &pb, 0))
		err = -errno;
out:
	close(fd);
	return err;
}

static int add_rule(struct tw_sandbox *sb, const char *real, uint64_t access)
{
	return add_rule_at(sb, AT_FDCWD, real, access);
}

/*
 * Grant ACCESS on PATH (resolved) minus the protected paths below it:
 * those are cut out by granting each other entry of the directories on the
 * way down instead. Only real subdirectories are descended (a symlink
 * into a tree that holds a protected path is skipped), so this ends.
 */
static int add_tree(struct tw_sandbox *sb, const struct protset *ps,
		    const char *path, uint64_t access, const char *what)
{
	char real[PATH_MAX], child[PATH_MAX], creal[PATH_MAX];
	const char *p;
	struct dirent *e;
	DIR *d;
	int err = 0;

	if (!realpath(path, real))
		return -errno;
	if ((p = protected_within(ps, real)))
		return sb_fail(sb, -EPERM,
			       "%s %s lies inside %s, which tool calls must "
			       "never reach",
			       what, path, p);
	if (!protected_below(ps, real))
		return add_rule(sb, real, access);

	d = opendir(real);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		/* A symlink is not granted: reaching through it is judged at
		 * its target, and granting the target would widen the grant
		 * to wherever a writer of this tree pointed it. */
		if (e->d_type == DT_LNK)
			continue;
		snprintf(child, sizeof(child), "%s%s%s", real,
			 strcmp(real, "/") ? "/" : "", e->d_name);
		/* REAL is resolved and the entry no link: CHILD is a real
		 * path as it is (no realpath per entry: a split /etc has
		 * hundreds) */
		if (e->d_type == DT_UNKNOWN &&
		    (!realpath(child, creal) || strcmp(creal, child)))
			continue; /* gone, or a link */
		if (protected_within(ps, child))
			continue;
		if (protected_below(ps, child))
			err = add_tree(sb, ps, child, access, what);
		else
			err = add_rule_at(sb, dirfd(d), e->d_name, access);
		if (err && err != -ENOENT)
			break;
		err = 0;
	}
	closedir(d);
	return err;
}

static void protset_free(struct protset *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free(ps->p[i]);
	free(ps->p);
}

static int protset_build(struct protset *ps, const char *const *protect,
			 size_t n)
{
	char real[PATH_MAX];

	ps->p = calloc(2 * n + 1, sizeof(*ps->p));
	if (!ps->p)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!protect[i] || protect[i][0] != '/')
			continue;
		if (!(ps->p[ps->n++] = strdup(protect[i])))
			return -ENOMEM;
		if (realpath(protect[i], real) && strcmp(real, protect[i]) &&
		    !(ps->p[ps->n++] = strdup(real)))
			return -ENOMEM;
	}
	return 0;
}

/* Nothing writable may be executable: no write grant inside or around an
 * exec grant. */
static int check_overlap(struct tw_sandbox *sb, const struct tw_fs_grant *g,
			 size_t n)
{
	char rw[PATH_MAX], rx[PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		if (g[i].access != TW_FS_WRITE || !realpath(g[i].path, rw))
			continue;
		for (size_t k = 0; k < n; k++) {
			if (g[k].access != TW_FS_EXEC ||
			    !realpath(g[k].path, rx))
				continue;
			if (tw_path_under(rw, rx) || tw_path_under(rx, rw))
				return sb_fail(
				    sb, -EINVAL,
				    "writable %s and executable %s "
				    "overlap: what a tool call writes "
				    "there would be executable",
				    g[i].path, g[k].path);
		}
	}
	return 0;
}

int tw_sandbox_prepare(struct tw_sandbox *sb, const struct tw_fs_grant *g,
		       size_t n, const char *const *protect, size_t nprotect)
{
	static const char *const names[] = {
	    [TW_FS_READ] = "readable path",
	    [TW_FS_EXEC] = "executable path",
	    [TW_FS_WRITE] = "writable path",
	    [TW_FS_DEV] = "device",
	};
	struct tw_ll_ruleset_attr attr = {};
	struct protset ps = {};
	size_t size;
	int err;

	sb->ruleset_fd = -1;
	sb->err[0] = '\0';
	sb->abi = tw_landlock_abi();
	if (sb->abi < 0)
		return sb_fail(sb, sb->abi,
			       "Landlock is not available (%s): enable "
			       "CONFIG_SECURITY_LANDLOCK and add landlock to "
			       "the lsm= boot parameter",
			       strerror(-sb->abi));
	err = check_overlap(sb, g, n);
	if (err)
		return err;

	attr.handled_access_fs = handled_fs(sb->abi);
	size = sizeof(attr.handled_access_fs);
	if (sb->abi >= 4)
		size += sizeof(attr.handled_access_net); /* 0: cgroup hooks */
	if (sb->abi >= 6) {
		/* Not LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET: the policy's unix
		 * rules (sock.bpf.c) decide abstract sockets. */
		attr.scoped = TW_LL_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	sb->ruleset_fd = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (sb->ruleset_fd < 0) {
		err = -errno;
		sb->ruleset_fd = -1;
		return sb_fail(sb, err,
			       "Landlock ABI %d: cannot create a "
			       "ruleset: %s",
			       sb->abi, strerror(-err));
	}
	err = protset_build(&ps, protect, nprotect);
	for (size_t i = 0; !err && i < n; i++) {
		err = add_tree(sb, &ps, g[i].path, rights_of(g[i].access),
			       names[g[i].access]);
		if (err == -ENOENT && !g[i].required) {
			err = 0;
		} else if (err && !sb->err[0]) {
			sb_fail(sb, err, "cannot grant %s %s: %s",
				names[g[i].access], g[i].path, strerror(-err));
		}
	}
	protset_free(&ps);
	if (err) {
		close(sb->ruleset_fd);
		sb->ruleset_fd = -1;
	}
	return err;
}

int tw_sandbox_filter(struct tw_sandbox *sb, const char *b64)
{
	int err;

	tw_callfilter_free(&sb->filter);
	if (!b64) /* a daemon that sends none: compiled here */
		return tw_callfilter_build(&sb->filter, sb->err,
					   sizeof(sb->err));
	err = tw_callfilter_from_b64(&sb->filter, b64);
	if (err)
		return sb_fail(sb, err,
			       "the daemon sent a seccomp filter that is not "
			       "a classic BPF program in base64");
	return 0;
}

int tw_sandbox_grant(struct tw_sandbox *sb, const char *path,
		     enum tw_fs_access access)
{
	char real[PATH_MAX];
	int err;

	if (sb->ruleset_fd < 0)
		return sb_fail(sb, -EBADF, "no Landlock ruleset to grant %s in",
			       path);
	if (!realpath(path, real))
		err = -errno;
	else
		err = add_rule(sb, real, rights_of(access));
	if (err)
		return sb_fail(sb, err, "cannot grant %s: %s", path,
			       strerror(-err));
	return 0;
}

int tw_sandbox_enter(struct tw_sandbox *sb)
{
	unsigned flags = sb->abi >= 7 ? TW_LL_RESTRICT_SELF_LOG_NEW_EXEC_ON : 0;
	int err;

	if (syscall(SYS_landlock_restrict_self, sb->ruleset_fd, flags))
		return sb_fail(sb, -errno,
			       "Landlock: cannot restrict the "
			       "tool call: %s",
			       strerror(errno));
	close(sb->ruleset_fd);
	sb->ruleset_fd = -1;
	err = tw_callfilter_load(&sb->filter);
	if (err)
		return sb_fail(sb, err, "seccomp: cannot load the filter: %s",
			       strerror(-err));
	return 0;
}

void tw_sandbox_free(struct tw_sandbox *sb)
{
	if (sb->ruleset_fd >= 0)
		close(sb->ruleset_fd);
	sb->ruleset_fd = -1;
	tw_callfilter_free(&sb->filter);
}

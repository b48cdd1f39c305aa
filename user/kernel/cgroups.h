/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cgroups.h - the context cgroup tree:
 *   <cgroup2 mount>/toolwall/<ws>/workspace
 *   <cgroup2 mount>/toolwall/<ws>/channels/<channel>
 *   <cgroup2 mount>/toolwall/<ws>/dms/<person>
 * and one cgroup per tool call below its context: .../call-<n>.
 * Library code: returns -errno, never logs.
 */
#ifndef TW_CGROUPS_H
#define TW_CGROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The cgroup v2 mount point, from /proc/mounts. -ENOENT if none. */
int tw_cg_mount(char *buf, size_t len);
/* <mount>/toolwall. */
int tw_cg_root(char *buf, size_t len);
/* The kernel's cgroup id of a cgroup directory. */
int tw_cg_id(const char *path, uint64_t *id);
/* Create ROOT/REL (and parents), 0755 root-owned; return its id. */
int tw_cg_make(const char *root, const char *rel, uint64_t *id);
/* Move every process of PATH (and below) to DEST, then remove the tree. */
int tw_cg_remove_tree(const char *path, const char *dest);
/* Number of processes in a cgroup (cgroup.procs lines), or -errno. */
int tw_cg_nprocs(const char *path);

/* 1 when a process runs anywhere in the subtree at PATH, 0 if none, or
 * -errno. */
int tw_cg_populated(const char *path);
/* Put PID into the cgroup at PATH. */
int tw_cg_attach(const char *path, int pid);
/*
 * fork() straight into the cgroup v2 at PATH, with clone3's FLAGS too
 * (CLONE_NEWPID, say): clone3(CLONE_INTO_CGROUP) creates the child there,
 * under the read side of the kernel's migration lock; a write to
 * cgroup.procs takes its write side, whose first use after a quiet spell
 * waits for an RCU grace period (milliseconds on a busy host). Returns
 * like fork(); -1 and errno when the kernel or the cgroup does not take
 * this way, or (EBUSY) when this process runs more than one thread: the
 * child of a raw clone3 skips the C library's fork handling (locks other
 * threads hold, its list of threads).
 */
pid_t tw_cg_clone_into(const char *path, uint64_t flags);
/*
 * Put this process into the cgroup v2 it is in already: nothing moves,
 * but the kernel's migration lock makes its slow start now, an RCU grace
 * period (several ms on a busy host) that the next migration in the
 * following grace period no longer waits for. 0 or -errno.
 */
int tw_cg_rejoin_self(void);
/* SIGKILL every process of the cgroup tree at PATH at once (cgroup.kill:
 * forks in flight included). 0 or -errno; does not wait. */
int tw_cg_kill(const char *path);

#endif

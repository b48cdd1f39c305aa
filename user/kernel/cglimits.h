/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cglimits.h - per-call process and memory limits with cgroup controllers.
 *
 * Each controller is used where the host has it: in the call's own cgroup
 * v2 directory when the v2 mount offers it, else in the v1 hierarchy that
 * holds it (hybrid hosts), found in /proc/mounts, where the call gets a
 * directory of its own: <v1 mount>/toolwall/<context cgroup>/call-<n>,
 * the same relative path as its v2 cgroup. A host with neither cannot
 * limit calls; the daemon then refuses to start them.
 * Library code: returns -errno, never logs.
 */
#ifndef TW_CGLIMITS_H
#define TW_CGLIMITS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

enum tw_limit_res { TW_LIM_PIDS, TW_LIM_MEMORY, TW_LIM_N };

/* Where each controller lives. */
struct tw_limit_ctl {
	char v2[PATH_MAX]; /* the cgroup2 mount, "" if none */
	bool in_v2[TW_LIM_N];
	char v1[TW_LIM_N][PATH_MAX]; /* the v1 mount holding it, or "" */
};

/* What a call ran into, read from the controllers' event counters. */
struct tw_limit_hits {
	uint64_t pids_max;  /* forks refused at pids.max */
	uint64_t oom_kills; /* processes the OOM killer ended in the call */
	uint64_t mem_max;   /* times usage hit the memory limit */
};

/* The v1 cgroups a call joins (at most one per resource). */
struct tw_limit_join {
	char path[TW_LIM_N][PATH_MAX];
	int n;
};

/* Find the controllers. 0 when both are usable, -ENOENT when one is not
 * (LC still says what was found), or -errno reading /proc/mounts. */
int tw_limits_probe(struct tw_limit_ctl *lc);
/* "cgroup2 /sys/fs/cgroup/unified", "cgroup v1 /sys/fs/cgroup/pids" or
 * "none", for status and messages. */
const char *tw_limits_where(const struct tw_limit_ctl *lc,
			    enum tw_limit_res r, char *buf, size_t len);
/* The resource's name: "pids", "memory". */
const char *tw_limits_name(enum tw_limit_res r);

/*
 * Set PIDS and MEMORY (bytes) on the call whose v2 cgroup is V2CALL, REL
 * (its path below the toolwall root) naming its v1 directories, created
 * here. J receives the v1 cgroups the call's first process must join.
 * On failure *WHAT names the file that could not be written.
 */
int tw_limits_apply(const struct tw_limit_ctl *lc, const char *v2call,
		    const char *rel, uint64_t pids, uint64_t memory,
		    struct tw_limit_join *j, const char **what);
/* Move PID into every cgroup of J (before it joins its v2 cgroup). */
int tw_limits_join(const struct tw_limit_join *j, int pid);
/* Read the counters of a call. Missing files count 0. */
void tw_limits_hits(const struct tw_limit_ctl *lc, const char *v2call,
		    const char *rel, struct tw_limit_hits *h);
/* Remove the call's v1 directories (its v2 cgroup is the caller's). */
int tw_limits_remove(const struct tw_limit_ctl *lc, const char *rel);
/* `down`: remove every v1 toolwall tree, its processes moved to the
 * hierarchy's root (the v2 tree goes with the context cgroups). */
int tw_limits_remove_all(const struct tw_limit_ctl *lc);

#endif

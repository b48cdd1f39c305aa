/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * paths.h - where toolwall keeps its state on the host. Every stage names
 * these places: the daemon and the launcher create them, the policy stage
 * protects them (a call never reads or writes them) and explains refusals
 * there. The defaults below hold unless the environment moves the roots
 * (TOOLWALL_PIN_ROOT, TOOLWALL_RUN_DIR, TOOLWALL_CGROUP_ROOT), so that two
 * instances — a service and a test, or two tests — can run side by side.
 */
#ifndef TW_PATHS_H
#define TW_PATHS_H

#include <stddef.h>

#define TW_DEFAULT_PIN_ROOT "/sys/fs/bpf/toolwall"
#define TW_DEFAULT_RUN_DIR "/run/toolwall"
/* relative to the cgroup v2 mount (and to each v1 hierarchy for limits) */
#define TW_DEFAULT_CGROUP_ROOT "toolwall"
#define TW_DEFAULT_AUDIT_LOG "/var/log/toolwall/audit.jsonl"

struct tw_roots {
	char pin[256];		 /* bpffs: maps/, links/, progs/ */
	char run[256];		 /* control socket, state, daemon lock */
	char control[300];	 /* RUN/control.sock */
	char state[300];	 /* RUN/state.json */
	char lock[300];		 /* RUN/daemon.lock: flock'd by the daemon */
	char cgroup[256];	 /* relative to the cgroup mount */
	char calls_run[300];	 /* RUN-calls: per-call tmpfs dirs */
	char launch_dir[300];	 /* RUN-launch: 0750 root:launcher group */
	char launch[320];	 /* RUN-launch/launch.sock: 0660, the same */
	char calls_scratch[300]; /* /var/tmp/BASENAME(RUN)-calls */
	char broker_pub[300];	 /* the CA bundle calls trust: 0755 */
};

/* The roots in force (the defaults until tw_roots_init). */
extern struct tw_roots tw_roots;

/*
 * Read the roots from the environment: TOOLWALL_PIN_ROOT and
 * TOOLWALL_RUN_DIR (absolute, normalised: no "." or ".." component, no
 * "//", no trailing '/'), TOOLWALL_CGROUP_ROOT (relative to the cgroup
 * mount, same rules). 0, or -EINVAL with WHY naming the variable and
 * what is wrong with it.
 */
int tw_roots_init(char *why, size_t n);

#endif

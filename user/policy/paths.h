/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * paths.h - where toolwall keeps its state on the host. Every stage names
 * these places: the daemon and the launcher create them, the policy stage
 * protects them (a call never reads or writes them) and explains refusals
 * there. Constants only; a leaf.
 */
#ifndef TW_PATHS_H
#define TW_PATHS_H

#define TW_PIN_DIR "/sys/fs/bpf/toolwall"
#define TW_RUN_DIR "/run/toolwall"
#define TW_CONTROL_SOCK TW_RUN_DIR "/control.sock"
#define TW_STATE_FILE TW_RUN_DIR "/state.json"
/* flock'd by the running daemon for its life; holds its pid. */
#define TW_DAEMON_LOCK TW_RUN_DIR "/daemon.lock"
#define TW_DEFAULT_AUDIT_LOG "/var/log/toolwall/audit.jsonl"
#define TW_CG_ROOT_NAME "toolwall"

/* Per-call directories: credentials and instructions (tmpfs), scratch. */
#define TW_CALLS_RUN_ROOT "/run/toolwall-calls"
#define TW_CALLS_SCRATCH_ROOT "/var/tmp/toolwall-calls"

#endif

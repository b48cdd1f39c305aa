/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sysaudit.h - the syscall audit's user half: turning the events of the
 * syscalls the kernel side watches (syscalls.h) into audit records tied
 * to the tool call:
 *
 *   event "exec"  a program started in a context: path, argv, pid, ppid
 *                 (credential values in argv are replaced by
 *                 "[credential NAME]")
 *   event "deny"  a watched syscall failed with EACCES or EPERM: action
 *                 (open, exec, mkdir, ...; for escape syscalls the
 *                 syscall's name), path, access, errno, reason and hint
 *                 (fsexplain.h), never aggregated away: repeats carry
 *                 count, first_ts and last_ts
 */
#ifndef TW_SYSAUDIT_H
#define TW_SYSAUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


struct tw_daemon;
struct tw_call;

/* ring_buffer__add callback for tw_proc_events; CTX is the daemon. */
int tw_sysaudit_event(void *ctx, void *data, size_t size);

/* `lost` records for syscall audit events the kernel could not queue. */
void tw_sysaudit_account_loss(struct tw_daemon *d);

/*
 * Read the values of call C's credentials (its context's, in the policy in
 * force) and register them with the audit writer, which keeps them out of
 * every record (redact.h). Once per call; at call-start, before the
 * launcher hands them to the call.
 */
void tw_call_secrets_load(struct tw_daemon *d, struct tw_call *c);
/* The same for every call (those a restarted daemon adopted). */
void tw_calls_secrets_load(struct tw_daemon *d);

/* The cgroup of PID (live, or seen exec'ing). 0 or -ENOENT. */
int tw_sysaudit_pid_cgid(struct tw_daemon *d, uint32_t pid, uint64_t *cgid);

/*
 * The process in the context cgroup CTX_CGROUP (relative to the toolwall
 * root; its calls included) that holds the local socket PEER talks from,
 * e.g. a DNS client. 0 or -ENOENT. Scans only that context's processes.
 */
struct sockaddr;
int tw_socket_owner(struct tw_daemon *d, const char *ctx_cgroup,
		    const struct sockaddr *peer, bool tcp, uint32_t *pid);

#endif

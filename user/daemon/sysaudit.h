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

#include <stddef.h>
#include <stdint.h>


struct tw_daemon;

/* ring_buffer__add callback for tw_proc_events; CTX is the daemon. */
int tw_sysaudit_event(void *ctx, void *data, size_t size);

/* `lost` records for syscall audit events the kernel could not queue. */
void tw_sysaudit_account_loss(struct tw_daemon *d);

#endif

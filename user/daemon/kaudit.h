/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kaudit.h - the second source of the syscall audit: Landlock's own audit
 * records (type 1423, with the 1424 domain and 1300 syscall records of the
 * same event), read from the kernel audit log's read-only multicast group
 * when the audit subsystem is enabled (by auditd, say; toolwall never
 * enables it). Each becomes a `deny` record with "source": "landlock" that
 * names the exact Landlock right refused ("blockers": "fs.execute") next
 * to the tracepoint's record of the same refusal.
 */
#ifndef TW_KAUDIT_H
#define TW_KAUDIT_H

#include <stddef.h>
#include <stdint.h>


struct tw_daemon;

/* A socket on the audit log's multicast group, or -errno (WHY says). */
int tw_kaudit_open(char *why, size_t len);

/* 1 when the kernel audit subsystem is enabled, 0 if not, or -errno. */
int tw_kaudit_enabled(void);

/* Read what is waiting on d->kaudit_fd and write the Landlock records. */
void tw_kaudit_read(struct tw_daemon *d);

/* Once a second: finish an event whose closing record never came. */
void tw_kaudit_tick(struct tw_daemon *d);

#endif

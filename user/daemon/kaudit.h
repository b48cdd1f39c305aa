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

/* The event being assembled from its records (same serial). */
struct tw_kaudit_event {
	unsigned long serial;
	unsigned ticks;	    /* housekeeping ticks it has been pending */
	uint64_t ts_ns;	    /* the kernel's time of the event (ms) */
	char access[2048];  /* the 1423 record's text */
	uint32_t domain_pid; /* 1424: the process that made the domain */
	uint32_t pid;	    /* 1300: the process refused */
	char comm[64];
	char blockers[256];
	char path[4096];
	char domain[64];
};

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

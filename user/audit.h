/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * audit.h - the JSON Lines audit log: append-only records with a sequence
 * number that continues across daemon restarts.
 */
#ifndef TW_AUDIT_H
#define TW_AUDIT_H

#include <jansson.h>
#include <stdint.h>

struct tw_audit {
	int fd;
	uint64_t seq;	  /* last sequence number written */
	uint64_t written; /* records written by this process */
	uint64_t failed;  /* records that could not be written */
	char path[4096];
};

/* Open (create 0600, parent 0700) and find the last seq. */
int tw_audit_open(struct tw_audit *a, const char *path);
void tw_audit_close(struct tw_audit *a);

/*
 * Start a record: {"ts": now, "seq": next, "event": EVENT}. The caller adds
 * fields in SPEC order and calls tw_audit_write, which owns REC after.
 * TS_NS is CLOCK_REALTIME ns, or 0 for now.
 */
json_t *tw_audit_record(struct tw_audit *a, const char *event, uint64_t ts_ns);
int tw_audit_write(struct tw_audit *a, json_t *rec);

#endif

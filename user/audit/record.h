/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * record.h - what every audit record shares, whoever writes or reads it:
 * the timestamp format, the events a record stands for, and how its
 * destination and command line read in one line. A leaf: it includes no
 * other toolwall header, so the writer (audit.c), the readers
 * (audit_query.c, audit_export.c) and the CLI all depend on it and never
 * on each other for these.
 */
#ifndef TW_RECORD_H
#define TW_RECORD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_REALTIME in ns. */
uint64_t tw_audit_now_ns(void);
/* RFC 3339 UTC with nanoseconds; parse also takes offsets and fewer
 * digits. */
void tw_audit_ts_format(uint64_t ns, char *buf, size_t len);
int tw_audit_ts_parse(const char *s, uint64_t *ns);

/* The events a record stands for: count (or 1) for deny/audit, count for
 * lost, 0 for the others. */
uint64_t tw_audit_weight(json_t *rec);

/* "10.0.0.1:443/tcp", "[fd00::1]:443/tcp", "unix:/x", "socket", "-" */
void tw_audit_dest(json_t *rec, char *buf, size_t len);

/*
 * ARGV (a JSON array of strings) space-joined into BUF: whole words only,
 * except the program's own name, cut short when it alone does not fit.
 * Returns the length written.
 */
size_t tw_audit_argv_join(json_t *argv, char *buf, size_t len);

#endif

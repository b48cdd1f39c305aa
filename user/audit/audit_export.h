/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * audit_export.h - audit records for other systems: RFC 5424 syslog
 * messages for a central collector, and OCSF-shaped JSON for SIEMs. Pure.
 */
#ifndef TW_AUDIT_EXPORT_H
#define TW_AUDIT_EXPORT_H

#include <jansson.h>
#include <stddef.h>

/* RFC 5424: facility 13 (log audit); severity by event. */
#define TW_SYSLOG_FACILITY 13

/*
 * One RFC 5424 message for record REC, whose sealed JSON line (without
 * '\n') is LINE: the header (PRI, version 1, the record's ts to the
 * microsecond, HOST, "toolwall", PID, MSGID = the event), and the line
 * itself as MSG, so that a collector can verify the chain on its own.
 * Structured data: with SD_ID (NAME@PEN: an SD-ID needs an enterprise
 * number IANA gave, and toolwall has none of its own, so the operator's)
 * one element with seq, hash and the record's key fields; without, none
 * ("-": every field is in MSG). Returns the length written to BUF (not
 * NUL-terminated beyond it) or -ENOSPC.
 */
int tw_syslog_format(json_t *rec, const char *line, size_t linelen,
		     const char *host, int pid, const char *sd_id, char *buf,
		     size_t len);

/*
 * The record as an OCSF 1.1 event: Network Activity (4001) for socket
 * denials and audit-mode would-be denials, Application Lifecycle (6002)
 * for the daemon, Base Event (0) for the rest; every toolwall field is kept
 * under "unmapped". A new reference.
 */
json_t *tw_ocsf_from_record(json_t *rec);

#endif

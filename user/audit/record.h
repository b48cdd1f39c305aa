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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_REALTIME in ns. */
uint64_t tw_audit_now_ns(void);
/* RFC 3339 UTC with nanoseconds; parse also takes offsets and fewer
 * digits. */
void tw_audit_ts_format(uint64_t ns, char *buf, size_t len);
/* The same in local time (TZ), with its offset: ...T11:00:00.000000000+01:00 */
void tw_audit_ts_format_local(uint64_t ns, char *buf, size_t len);
int tw_audit_ts_parse(const char *s, uint64_t *ns);

/* The events a record stands for: count (or 1) for deny/audit, count for
 * lost, 0 for the others. */
uint64_t tw_audit_weight(json_t *rec);

/* Every event a record can carry (SPEC's list and the daemon's own). */
#define TW_AUDIT_EVENTS                                                        \
	"deny, audit, exec, dns, request, lost, limit, policy, daemon, "       \
	"rotate, checkpoint, grant, revoke, expire, quarantine, release, "     \
	"launch"
bool tw_audit_known_event(const char *e);

/* Is REC about a unix socket (a path with proto "unix")? */
bool tw_audit_is_unix(json_t *rec);
/* "10.0.0.1:443/tcp", "[fd00::1]:443/tcp", "unix:/x", "socket", "-"; a
 * command line, a file (access), a policy's path */
void tw_audit_dest(json_t *rec, char *buf, size_t len);

/*
 * ARGV (a JSON array of strings) space-joined into BUF: whole words only,
 * except the program's own name, cut short when it alone does not fit.
 * Returns the length written.
 */
size_t tw_audit_argv_join(json_t *argv, char *buf, size_t len);

/*
 * Byte strings the agent controls (comm, argv, paths, unix socket names)
 * in records. The kernel hands over bytes, not text; JSON holds only valid
 * UTF-8. So such a field holds its bytes this way, reversibly:
 *   - each backslash is written as two: "\\"
 *   - each byte that does not belong to well-formed UTF-8 (RFC 3629: no
 *     overlong forms, no surrogates, nothing above U+10FFFF), and NUL, is
 *     written "\xNN" (two lowercase hex digits)
 *   - every other byte as it is (control characters too: JSON escapes
 *     them, display is the reader's business)
 * Valid UTF-8 without a backslash, the usual case, reads as it was.
 */
/* Encode N bytes of S into OUT (CAP bytes, NUL-terminated when CAP > 0).
 * Returns the length the whole encoding needs (at most 4 * N), like
 * snprintf. */
size_t tw_bytes_encode(const void *s, size_t n, char *out, size_t cap);
/* The reverse: the bytes of encoded S into OUT (CAP bytes, NUL-terminated
 * when room). Returns the number of bytes, or -EINVAL when S is not an
 * encoding (a lone backslash or a bad \x escape), -ENOSPC when OUT is
 * too small. */
long tw_bytes_decode(const char *s, void *out, size_t cap);
/* A JSON string of N bytes of S, encoded as above; NULL only without
 * memory. */
json_t *tw_json_bytes(const void *s, size_t n);
/* A sentence for people (reason, hint) that may quote such bytes: valid
 * UTF-8 stays as it is, each invalid byte becomes "\xNN" (backslashes are
 * not doubled: the exact bytes are in the fields the sentence quotes).
 * NULL only without memory. */
json_t *tw_json_text(const char *s);
/* The same, of N bytes (NUL bytes become "\x00"). */
json_t *tw_json_textn(const void *s, size_t n);
/* The same into OUT, like tw_bytes_encode. */
size_t tw_text_encode(const void *s, size_t n, char *out, size_t cap);
/* Are these N bytes well-formed UTF-8 without NUL? */
bool tw_utf8_valid(const void *s, size_t n);
/* The length of the well-formed UTF-8 sequence at S (N bytes left), or 0
 * when S does not start one (NUL included). */
size_t tw_utf8_seq(const void *s, size_t n);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * redact.h - credential values kept out of audit records. The daemon
 * registers the values of the credentials its live calls hold; the audit
 * writer (audit.c) runs every record through tw_redact_json() before it
 * seals it, so no event source has to remember to.
 *
 * In every string of a record (nested arrays and objects too; not keys):
 *   - each occurrence of a value becomes "[credential NAME]". Letters
 *     match whatever their case (a DNS name may come lowercased), and a
 *     '.' of the string between two characters of the value is passed
 *     over (a DNS name splits a long value into labels);
 *   - a string that ends with the first TW_REDACT_MIN_PREFIX or more
 *     bytes of a value has that end replaced the same way: the kernel cuts
 *     what it hands over (a process name to 15 bytes, argv and paths at
 *     their buffer's end), which may cut a value short.
 * A value is looked for as it is and as record.h encodes it (they differ
 * only when it holds a backslash or bytes that are not UTF-8).
 *
 * Pure: no I/O. Not thread-safe: the writer holds its lock.
 */
#ifndef TW_REDACT_H
#define TW_REDACT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The shortest start of a value that is redacted at the end of a string
 * (below it, a cut value says too little to be worth a false match). */
#define TW_REDACT_MIN_PREFIX 8

struct tw_redact_value {
	uint64_t owner;	    /* who registered it (a call's cgroup id) */
	uint64_t until_ns;  /* 0: in use; else dropped, kept until then */
	char name[128];	    /* the credential's name */
	char *value, *enc;  /* enc: its record.h encoding, or NULL if equal */
	size_t len, enc_len;
};

struct tw_redactor {
	struct tw_redact_value *v;
	size_t n;
	/* first[c]: some value starts with byte c (either case). A record is
	 * redacted on every write: most positions are passed over here. */
	uint8_t first[256];
};

/* Register VALUE (LEN bytes, LEN >= 1) of credential NAME for OWNER.
 * 0 or -ENOMEM / -EINVAL. */
int tw_redact_add(struct tw_redactor *r, uint64_t owner, const char *name,
		  const void *value, size_t len);
/* OWNER's values are no longer in use: keep them until UNTIL_NS (records
 * of its last events may still come), then tw_redact_expire wipes them. */
void tw_redact_drop(struct tw_redactor *r, uint64_t owner, uint64_t until_ns);
/* Wipe the dropped values whose time is over (all of them: NOW_NS ~0). */
void tw_redact_expire(struct tw_redactor *r, uint64_t now_ns);
void tw_redact_free(struct tw_redactor *r);

/*
 * S (N bytes) with every value replaced: a malloc'd NUL-terminated string
 * (its length in *OUTLEN), or NULL when nothing is to be replaced (or
 * without memory).
 */
char *tw_redact_str(const struct tw_redactor *r, const char *s, size_t n,
		    size_t *outlen);
/* Redact every string in J, recursively. Returns how many strings were
 * changed. */
size_t tw_redact_json(const struct tw_redactor *r, json_t *j);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * audit_chain.h - the hash chain that makes the audit log tamper-evident.
 *
 * A record is sealed by appending "hash" as its last member:
 *
 *   canonical = the record's compact JSON text, as written, without its
 *               final ,"hash":"..." member (so it ends in '}' and holds
 *               "prev", the hash of the record before it)
 *   hash      = lowercase hex SHA-256 (OpenSSL EVP) of canonical
 *
 * The first record of a log has prev = 64 zeros. Anyone can recompute a
 * hash from the line alone, byte for byte, with no JSON re-serialisation.
 * Pure: no files, no logging.
 */
#ifndef TW_AUDIT_CHAIN_H
#define TW_AUDIT_CHAIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tw_ckpt_key;

#define TW_HASH_HEX 64
#define TW_CHAIN_GENESIS                                                      \
	"0000000000000000000000000000000000000000000000000000000000000000"

/*
 * Seal JSON (LEN bytes of a compact object, ending in '}'): *LINE becomes
 * the record line with "hash" appended and a final '\n' (malloc'd, length
 * in *LINELEN); HASH receives the hex digest. 0 or -errno.
 */
int tw_chain_seal(const char *json, size_t len, char **line, size_t *linelen,
		  char hash[TW_HASH_HEX + 1]);

/* Hex SHA-256 of DATA. 0 or -errno. */
int tw_chain_sha256(const void *data, size_t len, char hex[TW_HASH_HEX + 1]);

enum tw_line_state {
	TW_LINE_OK = 0,
	TW_LINE_NOT_JSON,  /* not a JSON object */
	TW_LINE_UNSEALED,  /* no final "hash" member */
	TW_LINE_MISMATCH,  /* content does not match its hash */
	TW_LINE_NO_SEQ,	   /* no integer seq or no prev */
};

/*
 * Check one line (without its '\n'). On TW_LINE_OK, *SEQ, PREV and HASH
 * hold the record's; *REC (if not NULL) the parsed record (caller decrefs).
 */
enum tw_line_state tw_chain_check(const char *line, size_t len, uint64_t *seq,
				  char prev[TW_HASH_HEX + 1],
				  char hash[TW_HASH_HEX + 1], json_t **rec);

/* ---- verifying a whole log, one line at a time, oldest first ---------- */

struct tw_verify_loc {
	uint64_t seq;
	char file[256];
	unsigned long line;
	char hash[TW_HASH_HEX + 1];
};

#define TW_VERIFY_RECENT 64

struct tw_verify {
	uint64_t records;
	uint64_t first_seq, last_seq;
	char head[TW_HASH_HEX + 1]; /* hash of the last record */
	/* the latest rotate record says which seq the oldest kept segment
	 * starts at (older ones were removed by retention) */
	uint64_t retained_from;
	/* a seq gap waiting to be told apart from a reordering */
	bool gap;
	uint64_t gap_lo, gap_hi; /* missing seq gap_lo..gap_hi */
	struct tw_verify_loc gap_before, gap_after;
	struct tw_verify_loc first, prev;
	struct tw_verify_loc recent[TW_VERIFY_RECENT]; /* by seq % N */
	/* With KEY (set by the caller): every checkpoint must be signed by
	 * it and name the chain head it follows; records after the last one
	 * are counted. */
	const struct tw_ckpt_key *key;
	uint64_t checkpoints, ckpt_seq, after_ckpt;
	uint64_t every_records, every_seconds; /* of the last checkpoint */
	bool failed;
	char kind[16];	  /* altered, missing, inserted, reordered, corrupt,
			     forged, unsigned */
	char where[300];  /* FILE:LINE */
	uint64_t where_seq;
	char error[1024]; /* the first problem, in words */
};

void tw_verify_init(struct tw_verify *v);

/*
 * Is REC (seq SEQ, chained to PREV) a checkpoint signed by K over the chain
 * head it follows? 0, or -EKEYREJECTED (another key's) or -EBADMSG (does
 * not verify), with a sentence in WHY. For queries, which check as they
 * stream; --verify does the same.
 */
int tw_ckpt_check_record(const struct tw_ckpt_key *k, json_t *rec,
			 uint64_t seq, const char *prev, char *why, size_t n);
/* Feed one line. Returns false once the log has failed (stop feeding). */
bool tw_verify_line(struct tw_verify *v, const char *file, unsigned long line,
		    const char *text, size_t len);
/* A segment that could not be read to its end (corrupt, truncated). */
void tw_verify_damaged(struct tw_verify *v, const char *file,
		       unsigned long line, const char *why);
/* After the last line: 0 if the log verifies, -EBADMSG if not. */
int tw_verify_finish(struct tw_verify *v);

#endif

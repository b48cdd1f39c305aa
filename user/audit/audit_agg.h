/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * audit_agg.h - flood control for the audit log. The first event of a kind
 * is written at once; identical events (same key: context, process,
 * action, destination, reason...) that follow within the window are
 * counted into one pending record with an exact "count", "first_ts" and
 * "last_ts", written when the window ends, when the process is gone, or
 * when the daemon stops. Pure: no I/O; the caller writes what is flushed.
 */
#ifndef TW_AUDIT_AGG_H
#define TW_AUDIT_AGG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TW_AGG_MAX_KEY 512
#define TW_AGG_MAX_ENTRIES 4096
#define TW_AGG_WINDOW_NS 1000000000ull

struct tw_agg_entry {
	uint64_t hash;
	uint32_t pid;
	uint16_t klen;
	unsigned char key[TW_AGG_MAX_KEY];
	json_t *tmpl;	   /* the first event's record, unsealed */
	uint64_t count;	   /* pending events, not yet written */
	uint64_t first_ns; /* of the pending ones */
	uint64_t last_ns;
	uint64_t seen_ns;  /* last event, pending or not */
	uint64_t claimed_ns; /* tw_agg_claim's time while the first record
				is not written yet; 0 otherwise */
};

struct tw_agg {
	struct tw_agg_entry *v;
	size_t n, cap;
	uint64_t window_ns;
	uint64_t aggregated; /* events counted into pending records */
};

/* FNV-1a of KEY: how entries are found (and call summaries keyed). */
uint64_t tw_agg_hash(const void *key, size_t len);

void tw_agg_init(struct tw_agg *g, uint64_t window_ns);
void tw_agg_free(struct tw_agg *g);

/*
 * An event with KEY at TS_NS (CLOCK_REALTIME). Returns true when it was
 * counted into a pending record (the caller writes nothing), false when
 * it is the first of its kind: the caller writes its record and hands a
 * copy to tw_agg_add.
 */
bool tw_agg_hit(struct tw_agg *g, const void *key, size_t klen,
		uint64_t ts_ns);

/*
 * tw_agg_hit, or when it misses, claim KEY at once for an event whose
 * record is written later (by another thread, after lookups): twins that
 * come meanwhile are counted into the claimed entry instead of writing
 * records of their own. tw_agg_add completes the claim. Returns true on
 * a hit. A claim never completed is forgotten after ten windows.
 */
bool tw_agg_claim(struct tw_agg *g, const void *key, size_t klen,
		  uint64_t ts_ns);

/* Remember the first event's record (takes TMPL's reference); completes
 * a claim of KEY if there is one. */
int tw_agg_add(struct tw_agg *g, const void *key, size_t klen, uint32_t pid,
	       json_t *tmpl, uint64_t ts_ns);

enum tw_agg_flush {
	TW_AGG_DUE, /* window over, or the process gone */
	TW_AGG_ALL, /* everything pending (stop, or before a call-end) */
};

/*
 * Hand every pending record that is due to EMIT (which owns REC), as
 * {..., "count": N, "first_ts", "last_ts"} (or a plain one-event record).
 * ALIVE(pid) says whether a process still exists (NULL: assume it does).
 * Forgets kinds idle for a window. Returns the records emitted.
 */
size_t tw_agg_flush(struct tw_agg *g, enum tw_agg_flush how, uint64_t now_ns,
		    bool (*alive)(uint32_t pid),
		    void (*emit)(void *arg, json_t *rec), void *arg);

/* Events pending in the table. */
uint64_t tw_agg_pending(const struct tw_agg *g);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * learned.h - the addresses the resolver granted (dns.c learns them from
 * answers; the kernel's tw_learned map holds what is in force). This table
 * is the daemon's own copy: what to withdraw when a TTL runs out, what to
 * carry into the next slot at a reload, what `status` and `explain` list.
 *
 * It touches no map itself: grants and withdrawals go through the sink the
 * daemon gives it (tw_maps_learn/tw_maps_unlearn on the active slot), so
 * the table can be tested on its own. Every call is made with the daemon
 * lock held.
 */
#ifndef TW_LEARNED_H
#define TW_LEARNED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile.h"
#include "maps.h"

/* One address the resolver granted, with the name that brought it. */
struct tw_learned {
	char context[160];
	char name[256];
	struct tw_learn_entry e;
	uint64_t expires_ns; /* CLOCK_MONOTONIC */
	bool in_kernel;	     /* the last push of e succeeded */
};

/* Where grants and withdrawals go (the kernel's active slot). */
struct tw_learned_sink {
	int (*grant)(void *arg, const struct tw_learn_entry *e); /* -errno */
	void (*withdraw)(void *arg, const struct tw_learn_entry *e);
	void *arg;
};

/*
 * The grants NAME earns in context X (index CTX_IDX): see dns.c. Returns
 * how many (0: the name is not allowed).
 */
typedef int (*tw_name_grants_fn)(const struct tw_context *x, const char *name,
				 struct tw_learn_entry out[2],
				 uint32_t ctx_idx);

struct tw_learned_table {
	struct tw_learned *v;
	size_t n;
	struct tw_learned_sink sink;
	uint64_t learned, expired; /* counters since start */
};

/* An empty table whose grants go to SINK. */
void tw_learned_init(struct tw_learned_table *t,
		     const struct tw_learned_sink *sink);
void tw_learned_free(struct tw_learned_table *t);

/*
 * Grant E (context CTX, for NAME) until EXPIRES; merges the ports with
 * what is there and extends the expiry. Returns 0 or -errno.
 */
int tw_learned_add(struct tw_learned_table *t, const char *ctx,
		   const char *name, const struct tw_learn_entry *e,
		   uint64_t expires);

/* Withdraw what expired by NOW. Returns how many went. */
size_t tw_learned_expire(struct tw_learned_table *t, uint64_t now);

/*
 * The learned addresses re-expressed for compiled policy C (context index,
 * ports from C's rules, as GRANTS judges the stored names), without those
 * C no longer allows. Returns a malloc'd array and its length in *N. With
 * APPLY, the table is rewritten to match (once C is in force).
 */
struct tw_learn_entry *tw_learned_relearn(struct tw_learned_table *t,
					  const struct tw_compiled *c,
					  tw_name_grants_fn grants, size_t *n,
					  bool apply);

/* The entries, for status and explain: I from 0 to tw_learned_count(). */
size_t tw_learned_count(const struct tw_learned_table *t);
const struct tw_learned *tw_learned_at(const struct tw_learned_table *t,
				       size_t i);

#endif

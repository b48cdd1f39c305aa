/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * learned.h - the addresses the resolver granted (dns.c learns them from
 * answers; the kernel's tw_learned map holds what is in force). This table
 * is the daemon's own copy: what to withdraw when a TTL runs out, what to
 * carry into the next slot at a reload, what `status` and `explain` list.
 *
 * Bounded and indexed:
 *   - a hash index on (context, protocol, family, address): an answer is
 *     learned in constant time, whatever the table holds;
 *   - an expiry heap: expired entries go first, in TTL order, without a
 *     scan;
 *   - a quota per context (its "max_learned", see compile.c): an answer
 *     that would take a context past it is refused unless expired entries
 *     make room; other contexts are never touched. The quotas of a policy
 *     add up to at most TW_LEARNED_MAX, one slot's share of tw_learned, so
 *     both slots always fit the map and a reload cannot overflow it.
 *
 * It touches no map itself: grants and withdrawals go through the sink the
 * daemon gives it (tw_maps_learn/tw_maps_unlearn on the active slot), so
 * the table can be tested on its own (tests/unit/test_learned.c). Every
 * call is made with the daemon lock held.
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
	struct tw_learn_entry e; /* e.ctx: index in the revision in force */
	uint64_t expires_ns;	 /* CLOCK_MONOTONIC */
	bool in_kernel;		 /* the last push of e succeeded */
	uint32_t hnext;		 /* next entry in its hash chain */
	uint32_t hpos;		 /* its place in the expiry heap */
};

/* Where grants and withdrawals go (the kernel's active slot). */
struct tw_learned_sink {
	int (*grant)(void *arg, const struct tw_learn_entry *e); /* -errno */
	void (*withdraw)(void *arg, const struct tw_learn_entry *e);
	/* optional: an entry was granted (ADD) or expired, with its context
	 * and name */
	void (*changed)(void *arg, const struct tw_learned *l, bool add);
	void *arg;
};

/*
 * The grants NAME earns in context X (index CTX_IDX): see dns.c. Returns
 * how many (0: the name is not allowed).
 */
typedef int (*tw_name_grants_fn)(const struct tw_context *x, const char *name,
				 struct tw_learn_entry out[2],
				 uint32_t ctx_idx);

/* Add the port ranges FROM (NFROM) to TO (*NTO, at most
 * TW_MAX_PORT_RANGES), merging overlapping or adjacent ones. */
void tw_ports_merge(struct tw_port_range *to, size_t *nto,
		    const struct tw_port_range *from, size_t nfrom);

/* A context's share of the table. */
struct tw_learned_quota {
	uint32_t used, max;
};

struct tw_learned_table {
	struct tw_learned *v; /* dense: 0..n-1 */
	size_t n, cap;
	uint32_t *bucket; /* hash chains (heads), nbucket a power of two */
	size_t nbucket;
	uint32_t *heap; /* indices into v, soonest expiry first */
	struct tw_learned_quota *quota; /* per context of the revision */
	size_t nquota;
	uint64_t seed; /* of the hash: chains an answer cannot aim at */
	struct tw_learned_sink sink;
	struct tw_learned_table *next; /* tw_learned_prepare()'s, until
					  commit or abort */
	/* Counters since start. */
	uint64_t learned, expired, refused, dropped;
};

/* An empty table whose grants go to SINK. */
void tw_learned_init(struct tw_learned_table *t,
		     const struct tw_learned_sink *sink);
void tw_learned_free(struct tw_learned_table *t);

/*
 * Is there room for the N grants E (all of one context, E[0].ctx) of one
 * answer? Entries the table already holds need none; when the others do
 * not fit the quota, what expired by NOW is withdrawn first. Returns 0, or
 * -ENOSPC: the quota is full of live entries (the caller refuses the
 * answer; counted in t->refused).
 */
int tw_learned_admit(struct tw_learned_table *t,
		     const struct tw_learn_entry *e, size_t n, uint64_t now);

/*
 * Grant E (context CTX, for NAME) until EXPIRES; merges the ports with
 * what is there and extends the expiry. Returns 0, -ENOSPC (a new entry
 * over the context's quota: call tw_learned_admit first), or -errno of the
 * sink (the entry stays, to be pushed again at its next answer).
 */
int tw_learned_add(struct tw_learned_table *t, const char *ctx,
		   const char *name, const struct tw_learn_entry *e,
		   uint64_t expires);

/* The entry of E's (context, protocol, family, address), or NULL. */
const struct tw_learned *tw_learned_find(const struct tw_learned_table *t,
					 const struct tw_learn_entry *e);

/* Withdraw what expired by NOW. Returns how many went. */
size_t tw_learned_expire(struct tw_learned_table *t, uint64_t now);

/*
 * A reload, in two steps around the push of the next slot. Prepare builds
 * the table for compiled policy C: each live entry re-judged by GRANTS
 * under C (context index, ports from C's rules), those C no longer allows
 * dropped, each context cut to its new quota (latest expiry kept). *OUT
 * (malloc'd, *N entries) is what the next slot must hold. Commit puts the
 * prepared table in force once C is (PUSHED[i]: entry i of *OUT is in the
 * map; NULL: all are); abort forgets it. Returns 0 or -ENOMEM.
 */
int tw_learned_prepare(struct tw_learned_table *t, const struct tw_compiled *c,
		       tw_name_grants_fn grants, uint64_t now,
		       struct tw_learn_entry **out, size_t *n);
void tw_learned_commit(struct tw_learned_table *t, const bool *pushed);
void tw_learned_abort(struct tw_learned_table *t);

/* The entries, for status and explain: I from 0 to tw_learned_count(). */
size_t tw_learned_count(const struct tw_learned_table *t);
const struct tw_learned *tw_learned_at(const struct tw_learned_table *t,
				       size_t i);
/* Context CTX_IDX's share (zeros for a context the table does not know). */
struct tw_learned_quota tw_learned_quota_of(const struct tw_learned_table *t,
					    uint32_t ctx_idx);

#endif

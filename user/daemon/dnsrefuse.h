/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dnsrefuse.h - the resolver's budgets and the records of refused
 * queries: one query as the resolver holds it, why it was refused, and
 * what makes two refusals twins (one aggregated record with a count).
 */
#ifndef TW_DNSREFUSE_H
#define TW_DNSREFUSE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "audit.h"
#include "dnstcp.h"
#include "dnswire.h"
#include "state.h"

/*
 * What one context may take of the resolver (a call inside it controls
 * its queries: none of them may delay another context's answers).
 *
 * - Queries: a token bucket of TW_DNS_QPS a second (bursts of
 *   TW_DNS_QPS_BURST); a query over it is answered REFUSED, counted
 *   (`ratelimited`), and recorded in one aggregated record per window.
 * - Records of refused queries: identical refusals (same context, name,
 *   type, reason, revision) are aggregated into one record with an exact
 *   count; distinct ones get records of their own at TW_DNS_RECORDS_PER_S
 *   (bursts of TW_DNS_RECORDS_BURST), the rest are counted into one
 *   aggregated record per window that names the first of them.
 * - Upstream exchanges block a resolver thread (up to TW_DNS_TIMEOUT_MS per
 *   upstream), one exchange for a batch of up to TW_DNS_UDP_BATCH
 *   queries: a context has at most TW_DNS_INFLIGHT threads in them at
 *   once, fewer than the TW_DNS_THREADS threads, so a flooding context
 *   always leaves threads to the others; past it, SERVFAIL (counted
 *   `busy`).
 * - UDP: a thread reads at most TW_DNS_UDP_BATCH datagrams of a socket
 *   (one thread at a time: the socket is armed again once they are read)
 *   before it serves the next ready one, so a flooded socket cannot keep
 *   a thread from the other contexts' sockets.
 *
 * TW_DNS_QPS, TW_DNS_QPS_BURST and TW_DNS_INFLIGHT are defaults: `toolwall
 * daemon --dns-budget QPS[:BURST[:INFLIGHT]]` sets them (d->dns_qps,
 * dns_burst, dns_inflight).
 */
#define TW_DNS_QPS 200
#define TW_DNS_QPS_BURST 400
#define TW_DNS_RECORDS_PER_S 20
#define TW_DNS_RECORDS_BURST 50
#define TW_DNS_INFLIGHT 3
#define TW_DNS_UDP_BATCH 16
#define TW_DNS_QPS_MAX 1000000

/*
 * --dns-budget QPS[:BURST[:INFLIGHT]] into D's dns_qps, dns_burst and
 * dns_inflight (the defaults above; BURST 2 x QPS when not given; QPS 0:
 * no query budget). Returns 0, or -1 with the error said.
 */
int tw_dns_budget_opt(struct tw_daemon *d, const char *arg);

/* Why a query was refused; a record's twins share all of its key. */
enum dns_cause {
	C_NAME = 1, /* no bundle of the context allows the name */
	C_MALFORMED,
	C_LONG,
	C_OPCODE,
	C_CLASS,
	C_QTYPE,
	C_REBINDING,
	C_BUDGET,  /* over TW_DNS_QPS (the name is not in the key) */
	C_BUSY,	   /* over TW_DNS_INFLIGHT (nor here) */
	C_RECORDS, /* over TW_DNS_RECORDS_PER_S (nor here) */
	C_QUOTA,   /* the context's learned-address quota is full */
};

/* What makes refusals twins (tw_audit_aggregate): zeroed, then filled. */
struct dns_key {
	char tag[4]; /* "dns" */
	uint8_t cause, tcp;
	uint16_t qtype;
	char context[160];
	char rev[65];
	uint8_t addr[16]; /* a rebinding answer's address */
	uint16_t namelen;
	uint8_t name[TW_DNAME_MAX_WIRE];
};
_Static_assert(sizeof(struct dns_key) <= TW_AGG_MAX_KEY, "dns_key size");

/* One query being answered. */
struct query {
	const struct query_ctx *qc;
	struct tw_dns_question q;
	size_t len; /* of the client's message */
	enum tw_dq_err perr;
	bool have_q; /* its question was read whole: replies echo it */
	bool dnssec_ok;
	size_t maxudp;
	char name[TW_DNAME_TEXT_MAX]; /* presentation of what was read */
	char qtype[16];
	/* A refusal's record, written once the daemon lock is free. */
	json_t *rec;
	char cgroup[4096];
	struct dns_key key;
};

/* Take one token of bucket B (RATE a second, BURST at most) under LOCK;
 * false: none left. */
bool tw_dns_bucket_take(struct dns_bucket *b, pthread_mutex_t *lock,
			unsigned int rate, unsigned int burst);

/*
 * Refuse Y for CAUSE (WHY in words) in context X of REV; ANSWER/ADDR: a
 * rebinding answer's address. A twin of a refusal being counted is only
 * counted; a new kind gets a record (finished by tw_dns_query_record once
 * the lock is free) while the context's record budget lasts, then one
 * aggregated record for the rest. Daemon lock held.
 */
void tw_dns_refuse(struct tw_daemon *d, struct query *y,
		   const struct tw_revision *rev, const struct tw_context *x,
		   enum dns_cause cause, const char *why, const char *answer,
		   const uint8_t *addr);

/*
 * Finish and write Y's record, if it has one: who asked is the process of
 * the context that holds the client socket (the query is in flight, so it
 * is there to find). The /proc scan runs without d->lock (it must not
 * stall the event loop or the other resolver threads); the lock is taken
 * only to find the call and write. Call with no lock held.
 */
void tw_dns_query_record(struct tw_daemon *d, struct query *y);

#endif

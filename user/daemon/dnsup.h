/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dnsup.h - the resolver's exchanges with its upstreams. A query goes to
 * each upstream in turn (ADDR:PORT strings) until one answers: over UDP,
 * then over TCP when that answer is truncated. Each attempt waits at most
 * TW_DNS_TIMEOUT_MS; the answer must carry the query's id and question.
 */
#ifndef TW_DNSUP_H
#define TW_DNSUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Per upstream attempt. */
#define TW_DNS_TIMEOUT_MS 2000
/* A resolver thread keeps a connected UDP socket for each of its last
 * TW_DNSUP_SOCKS upstreams, for TW_DNSUP_REUSE exchanges at most. */
#define TW_DNSUP_SOCKS 4
#define TW_DNSUP_REUSE 64

/* One query of an exchange, and what came of it. */
struct tw_dns_xchg {
	const uint8_t *q; /* the query; its id unlike the others' */
	size_t qlen;
	uint8_t *ans; /* the answer (malloc'd; the caller frees it) */
	size_t alen;
	int ret;    /* 0: answered, or -errno of the last attempt */
	bool asked; /* of the upstream being asked now (dnsup.c's) */
};

/*
 * Forward X[0..NX) to the upstreams in order: each upstream gets the
 * queries none before it answered, all at once over one socket, and one
 * wait for their answers (a resolver thread serves a batch of queries
 * in the time of one exchange).
 */
void tw_dns_forward(char **ups, size_t nups, struct tw_dns_xchg *x,
		    size_t nx);
/* Close the calling thread's upstream sockets (before it returns). */
void tw_dnsup_thread_end(void);
/* Is A (N bytes) a response to query Q (QLEN bytes): its id, one
 * question, the same one? */
bool tw_dnsup_answers(const uint8_t *q, size_t qlen, const uint8_t *a,
		      size_t n);

#endif

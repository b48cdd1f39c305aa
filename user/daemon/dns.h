/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dns.h - the per-context resolver. Every port-53 packet or connection of a
 * context is redirected by the kernel to this context's own listening
 * sockets (so the resolver knows the context from the socket a query
 * arrives on, not from anything the client says). It answers only names the
 * context's bundles allow, forwarding them to the workspace's upstream; the
 * answered addresses are granted to the context (learned.h) before the
 * answer is released, until their TTL runs out.
 */
#ifndef TW_DNS_H
#define TW_DNS_H

#include <stdbool.h>
#include <stdint.h>

#include "dnstcp.h"
#include "maps.h"
#include "toolwall.h"

struct tw_daemon;
struct tw_compiled;

/* Seconds a learned address outlives its TTL (live connections are not
 * affected by expiry at all: they were judged at connect). */
#define TW_DNS_GRACE_S 2

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
 *   upstream): a context has at most TW_DNS_INFLIGHT of them at once,
 *   fewer than the TW_DNS_THREADS threads, so a flooding context always
 *   leaves threads to the others; past it, SERVFAIL (counted `busy`).
 * - UDP: a thread reads at most TW_DNS_UDP_BATCH datagrams of a socket
 *   before it serves the next ready one, so a flooded socket cannot keep
 *   a thread from the other contexts' sockets.
 */
#define TW_DNS_QPS 200
#define TW_DNS_QPS_BURST 400
#define TW_DNS_RECORDS_PER_S 20
#define TW_DNS_RECORDS_BURST 50
#define TW_DNS_INFLIGHT 3
#define TW_DNS_UDP_BATCH 16



/* Start the resolver thread. Call with no lock held. */
int tw_dns_start(struct tw_daemon *d);
void tw_dns_stop(struct tw_daemon *d);

/*
 * Make sure every context of the compiled policy C has listening sockets,
 * and fill TARGETS[i] for context i. Called with the daemon lock held, from
 * the reload, before the maps are pushed.
 */
int tw_dns_sync(struct tw_daemon *d, const struct tw_compiled *c,
		struct tw_dns_target *targets);

/*
 * The grants NAME earns in context X (index CTX_IDX): one template per
 * protocol with the union of the ports of every name rule that covers it.
 * Returns how many (0: the name is not allowed). A tw_name_grants_fn
 * (learned.h): a reload re-judges the learned names with it.
 */
int tw_dns_name_grants(const struct tw_context *x, const char *name,
		       struct tw_learn_entry out[2], uint32_t ctx_idx);

#endif

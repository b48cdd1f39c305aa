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

#include "maps.h"
#include "toolwall.h"

struct tw_daemon;
struct tw_compiled;

/* Seconds a learned address outlives its TTL (live connections are not
 * affected by expiry at all: they were judged at connect). */
#define TW_DNS_GRACE_S 2
/* Resolver threads: a slow upstream holds up one of them, not all. */
/* Per upstream attempt. */
#define TW_DNS_TIMEOUT_MS 2000

/*
 * DNS-over-TCP clients (a client inside a call controls its connections:
 * none of them can hold a resolver thread or starve another context).
 * A client has TW_DNS_TCP_CLIENT_MS to send a whole query, and as long to
 * take its answer; a context holds at most TW_DNS_TCP_PER_CONTEXT
 * connections, the host TW_DNS_TCP_CLIENTS; more are closed at once.
 */
#define TW_DNS_TCP_CLIENT_MS 2000
#define TW_DNS_TCP_PER_CONTEXT 32
#define TW_DNS_TCP_CLIENTS 256
#define TW_DNS_TCP_BACKLOG 128
#define TW_DNS_SWEEP_MS 250


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

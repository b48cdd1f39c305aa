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

#include "dnsrefuse.h"
#include "dnstcp.h"
#include "maps.h"
#include "toolwall.h"

struct tw_daemon;
struct tw_compiled;

/* Seconds a learned address outlives its TTL (live connections are not
 * affected by expiry at all: they were judged at connect). */
#define TW_DNS_GRACE_S 2

/* What one context may take of the resolver: dnsrefuse.h. */



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

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * grantdns.h - the DNS names of granted bundles. While a grant of a
 * bundle to a whole context lasts, the context's resolver answers the
 * bundle's names (dns.c asks here when the context's own bundles do not
 * allow a name), and the answered addresses are allowed to the context by
 * that grant: host entries in the grant's slot of tw_grants, each carrying
 * the earlier of the grant's deadline and the answer's TTL (plus
 * TW_DNS_GRACE_S), so the kernel ends them on time with the daemon dead.
 * The answer's TTLs are cut to the grant's time left.
 *
 * Per-call grants (--call-id) do not cover names: the resolver knows the
 * context a query comes from (its listening socket), not the call.
 *
 * The daemon's list of these addresses is in tw_grants (grants.h,
 * grantaddr.h), saved with the grants. Every call is made with the daemon
 * lock held.
 */
#ifndef TW_GRANTDNS_H
#define TW_GRANTDNS_H

#include <stdint.h>

#include "dnsallow.h"
#include "grants.h"

/*
 * Is name N allowed to context CTX by live whole-context grants of
 * bundles? Returns how many grants cover it, with *LEFT the most time
 * left of them (ns).
 */
int tw_grants_name(struct tw_daemon *d, const char *ctx,
		   const struct tw_dname *n, uint64_t *left);

/*
 * Allow the addresses A (NA) of an answer for N (NAME as text) to CTX, by
 * every live grant of CTX that covers N, each until its TTL (plus
 * GRACE_S) or the grant's deadline, whichever is first. Returns 0, or
 * -errno (-ENOSPC: the grant holds TW_GRANT_ADDRS_MAX addresses).
 */
int tw_grants_learn(struct tw_daemon *d, const char *ctx,
		    const struct tw_dname *n, const char *name,
		    const struct tw_answer_addr *a, size_t na, uint32_t grace_s);

#endif

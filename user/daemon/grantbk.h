/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * grantbk.h - the brokered credentials of granted bundles in the kernel.
 * A call that starts while a grant of a bundle lasts gets the bundle's
 * brokered credentials as placeholders (grants.c, brokerd.c); for the
 * broker to put their values in, the call's connects to their services
 * must reach it. These are the redirects: tw_bk_grant entries in the
 * grant's slot of its scope (the context's, or each call's with its call
 * id), each with the grant's deadline, so the kernel ends them on time
 * with the daemon dead (toolwall.h). An address the context's own
 * brokered services hold keeps its own redirect.
 *
 * A service given by address is redirected as it is; one given by name at
 * the addresses the resolver answered for it in the context: by the
 * grant's names (grantdns.h; until the earlier of the answer's TTL and the
 * grant's deadline) or by the context's own rules (until the grant's
 * deadline). Every call is made with the daemon lock held.
 */
#ifndef TW_GRANTBK_H
#define TW_GRANTBK_H

#include <stdbool.h>
#include <stdint.h>

#include "compile.h"
#include "grantaddr.h"
#include "maps.h"
#include "state.h"

/* One live grant of a bundle, where the kernel holds it. */
struct tw_grant_bk {
	const char *context; /* its context's name */
	const char *bundle;  /* "" or NULL: not a bundle (nothing brokered) */
	uint32_t num;	     /* the grant's number (its answered names) */
	uint8_t gslot;	     /* its slot in the scope */
	uint64_t deadline;   /* CLOCK_BOOTTIME ns */
	uint8_t kind;	     /* TW_SCOPE_CTX or TW_SCOPE_CALL */
	uint64_t scope;	     /* a context key or a call's cgroup id */
};

/* Write the redirects of grant G (COMP in force; GA: the addresses
 * answered for granted names). 0 (also: no bundle, nothing brokered, no
 * broker) or -errno of the first write that failed. */
int tw_grant_bk_put(struct tw_daemon *d, const struct tw_compiled *comp,
		    const struct tw_gaddrs *ga, const struct tw_grant_bk *g);

/* The resolver learned (ADD) or forgot address E of NAME in G's context
 * by the context's own rules: G's services named NAME follow (a forgotten
 * address the grant's own answer for NAME holds in GA keeps its
 * redirect, until that answer's deadline). */
void tw_grant_bk_learned(struct tw_daemon *d, const struct tw_compiled *comp,
			 const struct tw_gaddrs *ga,
			 const struct tw_grant_bk *g, const char *name,
			 const struct tw_learn_entry *e, bool add);

#endif

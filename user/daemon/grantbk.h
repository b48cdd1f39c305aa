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
#include "grants.h"
#include "maps.h"
#include "state.h"

/* Write the redirects of live grant G (COMP in force) into slot G->gslot
 * of scope (KIND, SCOPE). 0 (also: no bundle, nothing brokered, no
 * broker) or -errno of the first write that failed. */
int tw_grant_bk_put(struct tw_daemon *d, const struct tw_compiled *comp,
		    const struct tw_live_grant *g, uint8_t kind,
		    uint64_t scope);

/* The resolver learned (ADD) or forgot address E of NAME in context CTX
 * by the context's own rules: the live grants of CTX whose brokered
 * services are named NAME follow. */
void tw_grant_bk_learned(struct tw_daemon *d, const char *ctx,
			 const char *name, const struct tw_learn_entry *e,
			 bool add);

#endif

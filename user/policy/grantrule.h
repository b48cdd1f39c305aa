/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * grantrule.h - the rules of time-limited grants, pure: DURATION text,
 * what may be granted where (a grant never breaks the policy's rules), what
 * a grant opens in the kernel, and the `toolwall grant ...` command a
 * denial's hint names. The daemon (grants.c) applies them; the CLI and the
 * unit tests use them too.
 */
#ifndef TW_GRANTRULE_H
#define TW_GRANTRULE_H

#include <stddef.h>
#include <stdint.h>

#include "compile.h"
#include "duration.h"
#include "explain.h"
#include "lower.h"

/* What a grant request asks for. */
struct tw_grant_ask {
	const char *context;
	const char *bundle;  /* a bundle name, or NULL with CONNECT */
	const char *connect; /* one destination ("10.0.0.1:443",
				"udp://10.0.0.0/24:53"), or NULL */
	uint64_t duration;   /* ns */
};

/* The index of bundle NAME in POL, or -1. */
int tw_grant_bundle(const struct tw_policy *pol, const char *name);

/* The workspace's max_grant for context CTX (the default when unset). */
uint64_t tw_grant_limit(const struct tw_compiled *c, int ctx);

/*
 * May ASK be granted under policy C? Refused: an unknown context or bundle,
 * a bundle the context holds already, a personal bundle anywhere but a DM
 * that may hold it, a bundle with nothing a grant opens (only unix paths
 * or listen entries: those only by policy), a destination that is not an
 * address or CIDR, a zero duration or one over the workspace's max_grant. Returns 0 with the context (and
 * bundle, or -1) index, or -EINVAL / -ENOENT / -ERANGE / -EPERM with a
 * sentence in ERR.
 */
int tw_grant_check(const struct tw_compiled *c, const struct tw_grant_ask *ask,
		   int *ctx, int *bundle, char *err, size_t len);

/*
 * What ASK opens (after tw_grant_check): the bundle's (or the one
 * destination's) address rules lowered for the grants trie. Returns the
 * number of entries in *OUT (malloc'd) or -errno with ERR.
 */
long tw_grant_lower(const struct tw_compiled *c, const struct tw_grant_ask *ask,
		    struct tw_lpm_entry **out, char *err, size_t len);

/* Does what ASK opens cover destination D (an address, with its port and
 * protocol)? */
bool tw_grant_covers(const struct tw_compiled *c, const struct tw_grant_ask *ask,
		     const struct tw_dest *d);

/*
 * Append to HINT (a denial's, of context CTX, with E the bundles that
 * would allow it) the grant command that would allow it now: "; for a
 * while: toolwall grant CTX BUNDLE --for 15m --approved-by WHO". Nothing
 * when no bundle of E may be granted there.
 */
void tw_grant_hint(const struct tw_compiled *c, int ctx,
		   const struct tw_explain *e, char *hint, size_t len);

#endif

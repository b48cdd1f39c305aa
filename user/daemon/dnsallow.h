/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dnsallow.h - the resolver's judgement of names (pure: the compiled
 * policy in, grants and hints out; no socket, no lock, no daemon state).
 */
#ifndef TW_DNSALLOW_H
#define TW_DNSALLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile.h"
#include "dnswire.h"
#include "learned.h"

/*
 * The grants name N earns in context X (index CTX_IDX): one template per
 * protocol with the union of the ports of every name rule that covers N
 * (exact, or "*.x" at any depth below x). Returns how many (0: the name
 * is not allowed).
 */
int tw_dns_name_grants_dn(const struct tw_context *x, const struct tw_dname *n,
			  struct tw_learn_entry out[2], uint32_t ctx_idx);

/*
 * The same for the connect entries of bundle B (a grant's: see grants.h);
 * the grants' rule fields are indices of B's entries.
 */
int tw_dns_bundle_name_grants(const struct tw_bundle *b,
			      const struct tw_dname *n,
			      struct tw_learn_entry out[2], uint32_t ctx_idx);

/*
 * The same for a name as the learned table keeps it (presentation text,
 * written by tw_dname_text). A tw_name_grants_fn (learned.h): a reload
 * re-judges the learned names with it.
 */
int tw_dns_name_grants(const struct tw_context *x, const char *name,
		       struct tw_learn_entry out[2], uint32_t ctx_idx);

/* One address of an answer. */
struct tw_answer_addr {
	int family; /* 4 or 6 */
	uint8_t addr[16];
	uint32_t ttl;
};

/*
 * The A/AAAA addresses of answer M (LEN bytes, read from the wire:
 * dnsanswer.h) that answer QNAME, following CNAMEs within this answer
 * only (names compared as labels). Returns the count (at most MAX), or
 * -EBADMSG when the message does not read whole.
 */
int tw_dns_answer_addrs(const uint8_t *m, size_t len,
			const struct tw_dname *qname,
			struct tw_answer_addr *out, size_t max);

/* The `hint` of a refused name N: the bundles anywhere in policy C whose
 * name entries cover it, and the contexts that hold them. */
void tw_dns_name_hint(const struct tw_compiled *c, const struct tw_dname *n,
		      char *buf, size_t len);

#endif

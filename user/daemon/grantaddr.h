/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * grantaddr.h - the addresses the resolver answered for the DNS names of
 * granted bundles (grantdns.h decides; grants.c keeps the list with the
 * grants), and their entries in the kernel's tw_grants.
 *
 * An address is a host prefix in its grant's slot of the context scope.
 * The trie keeps one value per prefix and answers with the longest one, so
 * the host entry carries, besides the name's ports, the ports of the
 * grant's longest address rule that covers the host; when that rule is the
 * host itself, the entry carries the grant's deadline (the rule must not
 * end with the TTL), else the earlier of the grant's deadline and the TTL.
 */
#ifndef TW_GRANTADDR_H
#define TW_GRANTADDR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "loader.h"
#include "lower.h"
#include "maps.h"

struct tw_grant_addr {
	uint32_t num;		 /* the grant's number */
	char name[256];		 /* the name that brought it */
	struct tw_learn_entry e; /* proto, family, addr, ports (ctx unused) */
	uint64_t deadline;	 /* CLOCK_BOOTTIME ns: the grant's deadline or
				    the answer's TTL, whichever is first */
};

struct tw_gaddrs {
	struct tw_grant_addr *v;
	size_t n;
};

/* Where one grant is in the kernel: its slot of a scope, and its own. */
struct tw_gaddr_slot {
	uint64_t scope;	   /* a context scope (TW_SCOPE_CTX) */
	uint8_t gslot;
	uint32_t num;	   /* the grant's number */
	uint64_t deadline; /* the grant's, CLOCK_BOOTTIME ns */
};

/* Addresses one grant may hold (of TW_MAX_GRANT_LPM for every scope). */
#define TW_GRANT_ADDRS_MAX 1024

/* Add E (answered for NAME) to grant NUM until DEADLINE: 1; or merge its
 * ports and extend it: 0; -ENOSPC (the grant holds TW_GRANT_ADDRS_MAX),
 * -ENOMEM. */
int tw_gaddrs_upsert(struct tw_gaddrs *l, uint32_t num, const char *name,
		     const struct tw_learn_entry *e, uint64_t deadline);
/* Forget every address of grant NUM. */
void tw_gaddrs_drop(struct tw_gaddrs *l, uint32_t num);
void tw_gaddrs_free(struct tw_gaddrs *l);

/* Write the addresses of grant S->num live at NOW into its slot, after
 * the grant's own entries E (NE). 0 or -errno. */
int tw_gaddrs_put(const struct tw_gaddrs *l, const struct tw_maps *m,
		  const struct tw_gaddr_slot *s, const struct tw_lpm_entry *e,
		  size_t ne, uint64_t now);
/* A's entry leaves the slot S (the grant's own rule for that very host,
 * if E holds one, takes its place back). */
void tw_gaddr_withdraw(const struct tw_grant_addr *a, const struct tw_maps *m,
		       const struct tw_gaddr_slot *s,
		       const struct tw_lpm_entry *e, size_t ne);

/* Grant NUM's addresses as saved in grants.json, and back. */
json_t *tw_gaddrs_json(const struct tw_gaddrs *l, uint32_t num);
void tw_gaddrs_load(struct tw_gaddrs *l, uint32_t num, json_t *arr);

#endif

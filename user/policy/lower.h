/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * lower.h - a context's rules lowered for the kernel's LPM tries.
 */
#ifndef TW_LOWER_H
#define TW_LOWER_H

#include "model.h"

/*
 * Kernel lowering of one context's CIDR rules for an LPM trie, which returns
 * only the longest matching prefix: every entry carries the union of the
 * port sets of all rules (same proto and family) whose prefix contains it.
 */
struct tw_lpm_entry {
	enum tw_proto proto;
	int family;
	uint8_t addr[16];
	int prefixlen;
	struct tw_port_range ports[TW_MAX_PORT_RANGES];
	size_t nports;
	uint32_t rule; /* index of the most specific rule (attribution) */
};

/* Returns the number of entries in *OUT (malloc'd), or -E2BIG when some
 * entry would need more than TW_MAX_PORT_RANGES ranges (ERR says which),
 * or -ENOMEM. */
long tw_lower_lpm(const struct tw_context *ctx, struct tw_lpm_entry **out,
		  char *err, size_t errlen);

/* The same lowering for the context's `listen` rules (the kernel stores
 * them with proto | TW_PROTO_LISTEN). */
long tw_lower_listen(const struct tw_context *ctx, struct tw_lpm_entry **out,
		     char *err, size_t errlen);

#endif

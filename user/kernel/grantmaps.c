// SPDX-License-Identifier: GPL-2.0-only
/*
 * grantmaps.c - write grants and quarantine into the kernel maps (see
 * grantmaps.h and the semantics in bpf/toolwall.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "grantmaps.h"
#include "maps.h"

int tw_gmaps_put(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		 uint8_t gslot, const struct tw_lpm_entry *e, size_t n,
		 uint64_t deadline, uint32_t grant)
{
	if (gslot >= TW_GRANT_SLOTS)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		struct tw_grant_key k = {
			.prefixlen = TW_GKEY_FIXED_BITS + e[i].prefixlen,
			.kind = kind,
			.gslot = gslot,
			.proto = (__u8)e[i].proto,
			.family = (__u8)e[i].family,
			.scope = scope,
		};
		struct tw_grant_val v = { .deadline = deadline,
					  .grant = grant,
					  .nports = (__u16)e[i].nports };

		memcpy(k.addr, e[i].addr, 16);
		for (size_t p = 0; p < e[i].nports && p < TW_PORT_RANGES; p++) {
			v.ports[p].lo = e[i].ports[p].lo;
			v.ports[p].hi = e[i].ports[p].hi;
		}
		if (bpf_map_update_elem(m->grants, &k, &v, BPF_ANY))
			return -errno;
	}
	return 0;
}

int tw_gmaps_del(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		 uint8_t gslot, const struct tw_lpm_entry *e)
{
	struct tw_grant_key k = {
		.prefixlen = TW_GKEY_FIXED_BITS + e->prefixlen,
		.kind = kind,
		.gslot = gslot,
		.proto = (__u8)e->proto,
		.family = (__u8)e->family,
		.scope = scope,
	};

	memcpy(k.addr, e->addr, 16);
	if (bpf_map_delete_elem(m->grants, &k) && errno != ENOENT)
		return -errno;
	return 0;
}

int tw_gmaps_bk_put(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		    uint8_t gslot, const struct tw_bk_entry *e,
		    uint64_t deadline)
{
	struct tw_bk_gkey k = { .kind = kind, .gslot = gslot,
				.family = e->family, .port = e->port,
				.scope = scope };
	struct tw_bk_gval v = { .deadline = deadline, .origin = e->origin,
				.port = e->broker_port };

	if (gslot >= TW_GRANT_SLOTS)
		return -EINVAL;
	if (m->bk_grant < 0)
		return -ENOENT;
	memcpy(k.addr, e->addr, 16);
	return bpf_map_update_elem(m->bk_grant, &k, &v, BPF_ANY) ? -errno : 0;
}

int tw_gmaps_bk_del(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		    uint8_t gslot, const struct tw_bk_entry *e)
{
	struct tw_bk_gkey k = { .kind = kind, .gslot = gslot,
				.family = e->family, .port = e->port,
				.scope = scope };

	if (m->bk_grant < 0)
		return 0;
	memcpy(k.addr, e->addr, 16);
	if (bpf_map_delete_elem(m->bk_grant, &k) && errno != ENOENT)
		return -errno;
	return 0;
}

struct drop_arg {
	uint8_t kind;
	uint64_t scope;
	int gslot; /* -1: any */
	int slot;  /* policy slot of context scopes; -1: by scope */
};

/* Does a key of scope (KIND, SCOPE), grant slot GSLOT, match A? */
static bool scope_match(uint8_t kind, uint64_t scope, uint8_t gslot,
			const struct drop_arg *a)
{
	if (a->slot >= 0)
		return kind == TW_SCOPE_CTX &&
		       TW_CTX_SLOT((uint32_t)scope) == (uint32_t)a->slot;
	return kind == a->kind && scope == a->scope &&
	       (a->gslot < 0 || gslot == a->gslot);
}

static bool grant_match(const void *key, const void *arg)
{
	const struct tw_grant_key *k = key;

	return scope_match(k->kind, k->scope, k->gslot, arg);
}

/* grant_match for tw_bk_grant's keys. */
static bool bk_match(const void *key, const void *arg)
{
	const struct tw_bk_gkey *k = key;

	return scope_match(k->kind, k->scope, k->gslot, arg);
}

/* The entries of tw_bk_grant A matches (none pinned: nothing). */
static int bk_drop(const struct tw_maps *m, const struct drop_arg *a)
{
	if (m->bk_grant < 0)
		return 0;
	return tw_map_drop_keys(m->bk_grant, sizeof(struct tw_bk_gkey),
				bk_match, a);
}

static bool scope_in_slot(const void *key, const void *arg)
{
	const struct tw_scope_key *k = key;
	const struct drop_arg *a = arg;

	return k->kind == TW_SCOPE_CTX &&
	       TW_CTX_SLOT((uint32_t)k->scope) == (uint32_t)a->slot;
}

int tw_gmaps_drop(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		  int gslot)
{
	struct drop_arg a = { kind, scope, gslot, -1 };
	int ret = bk_drop(m, &a);
	int ret2 = tw_map_drop_keys(m->grants, sizeof(struct tw_grant_key),
				    grant_match, &a);

	return ret ? ret : ret2;
}

/* tw_grant_on[0] = ON. */
static int set_on(const struct tw_maps *m, uint32_t on)
{
	__u32 zero = 0;

	return bpf_map_update_elem(m->grant_on, &zero, &on, BPF_ANY) ? -errno :
									0;
}

/* Lower tw_grant_on once tw_scopes is empty. */
static int settle_on(const struct tw_maps *m)
{
	struct tw_scope_key k;

	if (bpf_map_get_next_key(m->scopes, NULL, &k) == 0)
		return 0;
	return set_on(m, 0);
}

int tw_gmaps_scope(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		   uint32_t gslots, uint64_t quarantined)
{
	struct tw_scope_key k = { .kind = kind, .scope = scope };
	struct tw_scope_val v = { .quarantined = quarantined,
				  .gslots = gslots };
	int ret;

	if (!gslots && !quarantined) {
		if (bpf_map_delete_elem(m->scopes, &k) && errno != ENOENT)
			return -errno;
		return settle_on(m);
	}
	ret = set_on(m, 1);
	if (ret)
		return ret;
	return bpf_map_update_elem(m->scopes, &k, &v, BPF_ANY) ? -errno : 0;
}

int tw_gmaps_scope_get(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		       struct tw_scope_val *v)
{
	struct tw_scope_key k = { .kind = kind, .scope = scope };

	return bpf_map_lookup_elem(m->scopes, &k, v) ? -errno : 0;
}

int tw_gmaps_clear_slot(const struct tw_maps *m, uint32_t slot)
{
	struct drop_arg a = { 0, 0, -1, (int)slot };
	int ret;

	ret = tw_map_drop_keys(m->scopes, sizeof(struct tw_scope_key), scope_in_slot,
			&a);
	if (!ret)
		ret = tw_map_drop_keys(m->grants, sizeof(struct tw_grant_key),
				grant_match, &a);
	if (!ret)
		ret = bk_drop(m, &a);
	if (!ret)
		ret = settle_on(m);
	return ret;
}

size_t tw_gmaps_call_scopes(const struct tw_maps *m, uint64_t *out, size_t max)
{
	struct tw_scope_key k, next;
	size_t n = 0;
	bool first = true;

	while (n < max &&
	       !bpf_map_get_next_key(m->scopes, first ? NULL : &k, &next)) {
		first = false;
		k = next;
		if (k.kind == TW_SCOPE_CALL)
			out[n++] = k.scope;
	}
	return n;
}

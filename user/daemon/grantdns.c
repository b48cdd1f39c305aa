// SPDX-License-Identifier: GPL-2.0-only
/*
 * grantdns.c - the DNS names of granted bundles (see grantdns.h): which
 * live grants cover a name, and what an answer for it adds to them (the
 * kernel's entries: grantaddr.h, written by grants.c with the grant's own).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "duration.h"
#include "grantaddr.h"
#include "grantdns.h"
#include "grantrule.h"
#include "util.h"

/* Is live grant G, of a bundle to the whole of CTX, in force at NOW? */
static bool whole_ctx(const struct tw_live_grant *g, const char *ctx,
		      uint64_t now)
{
	return g->bundle[0] && !g->call_id[0] && !strcmp(g->context, ctx) &&
	       g->deadline > now;
}

/* The grants G's bundle's names give N, in context CI. */
static int bundle_names(const struct tw_compiled *comp,
			const struct tw_live_grant *g, const struct tw_dname *n,
			int ci, struct tw_learn_entry out[2])
{
	int b = tw_grant_bundle(comp->pol, g->bundle);

	if (b < 0)
		return 0;
	return tw_dns_bundle_name_grants(&comp->pol->bundles[b], n, out,
					 (uint32_t)ci);
}

int tw_grants_name(struct tw_daemon *d, const char *ctx,
		   const struct tw_dname *n, uint64_t *left)
{
	const struct tw_revision *r = &d->rev[d->slot];
	struct tw_grants *t = d->grants;
	uint64_t now = tw_now_ns(CLOCK_BOOTTIME);
	struct tw_learn_entry e[2];
	int ci, cnt = 0;

	*left = 0;
	ci = t && r->valid ? tw_compiled_find(&r->comp, ctx) : -1;
	for (size_t i = 0; ci >= 0 && i < t->n; i++) {
		const struct tw_live_grant *g = &t->g[i];

		if (!whole_ctx(g, ctx, now) ||
		    !bundle_names(&r->comp, g, n, ci, e))
			continue;
		cnt++;
		if (g->deadline - now > *left)
			*left = g->deadline - now;
	}
	return cnt;
}

/* Add the addresses A (NA) to live grant G for NAME (its grants E, NE). */
static int add_addrs(struct tw_grants *t, const struct tw_live_grant *g,
		     const char *name, struct tw_learn_entry *e, int ne,
		     const struct tw_answer_addr *a, size_t na,
		     uint32_t grace_s, uint64_t now, bool *added)
{
	for (size_t k = 0; k < na; k++) {
		uint32_t ttl = a[k].ttl > 86400 ? 86400 : a[k].ttl;
		uint64_t dl = now + (uint64_t)(ttl + grace_s) * TW_NS_PER_S;

		if (dl > g->deadline)
			dl = g->deadline;
		for (int j = 0; j < ne; j++) {
			int ret;

			e[j].family = (uint8_t)a[k].family;
			memcpy(e[j].addr, a[k].addr, 16);
			ret = tw_gaddrs_upsert(&t->addrs, g->num, name, &e[j],
					       dl);
			if (ret < 0)
				return ret;
			*added |= ret > 0;
		}
	}
	return 0;
}

int tw_grants_learn(struct tw_daemon *d, const char *ctx,
		    const struct tw_dname *n, const char *name,
		    const struct tw_answer_addr *a, size_t na, uint32_t grace_s)
{
	const struct tw_revision *r = &d->rev[d->slot];
	struct tw_grants *t = d->grants;
	uint64_t now = tw_now_ns(CLOCK_BOOTTIME);
	int ci = t && r->valid ? tw_compiled_find(&r->comp, ctx) : -1;
	bool added = false, any = false;
	int ret = 0;

	for (size_t i = 0; ci >= 0 && i < t->n && !ret; i++) {
		const struct tw_live_grant *g = &t->g[i];
		struct tw_learn_entry e[2];
		int ne;

		if (!whole_ctx(g, ctx, now) ||
		    !(ne = bundle_names(&r->comp, g, n, ci, e)))
			continue;
		any = true;
		ret = add_addrs(t, g, name, e, ne, a, na, grace_s, now, &added);
	}
	/* the kernel's scope of the context, as the list now says */
	if (any && na) {
		int err = tw_grants_sync_context(d, ctx);

		if (!ret)
			ret = err;
	}
	if (added) /* a refreshed TTL is not worth a write */
		tw_grants_save(d);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * learned.c - the table of addresses the resolver granted (see learned.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learned.h"

void tw_learned_init(struct tw_learned_table *t,
		     const struct tw_learned_sink *sink)
{
	memset(t, 0, sizeof(*t));
	t->sink = *sink;
}

void tw_learned_free(struct tw_learned_table *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

static bool same_key(const struct tw_learned *l, const char *ctx,
		     const struct tw_learn_entry *e)
{
	return l->e.proto == e->proto && l->e.family == e->family &&
	       !memcmp(l->e.addr, e->addr, 16) && !strcmp(l->context, ctx);
}

/* Add the port ranges of FROM to TO, merging overlapping or adjacent ones. */
static void merge_ports(struct tw_learn_entry *to,
			const struct tw_learn_entry *from)
{
	for (size_t i = 0; i < from->nports; i++) {
		const struct tw_port_range *r = &from->ports[i];
		bool merged = false;

		for (size_t k = 0; k < to->nports && !merged; k++) {
			struct tw_port_range *p = &to->ports[k];

			if (r->lo <= p->hi + 1u && r->hi + 1u >= p->lo) {
				if (r->lo < p->lo)
					p->lo = r->lo;
				if (r->hi > p->hi)
					p->hi = r->hi;
				merged = true;
			}
		}
		if (!merged && to->nports < TW_MAX_PORT_RANGES)
			to->ports[to->nports++] = *r;
	}
}

int tw_learned_add(struct tw_learned_table *t, const char *ctx,
		   const char *name, const struct tw_learn_entry *e,
		   uint64_t expires)
{
	struct tw_learned *l = NULL, *nl;
	struct tw_learn_entry before = {};
	int ret;

	for (size_t i = 0; i < t->n && !l; i++)
		if (same_key(&t->v[i], ctx, e))
			l = &t->v[i];
	if (!l) {
		nl = realloc(t->v, (t->n + 1) * sizeof(*nl));
		if (!nl)
			return -ENOMEM;
		t->v = nl;
		l = &t->v[t->n++];
		memset(l, 0, sizeof(*l));
		snprintf(l->context, sizeof(l->context), "%s", ctx);
		snprintf(l->name, sizeof(l->name), "%s", name);
		l->e = *e;
		t->learned++;
	} else {
		before = l->e;
		merge_ports(&l->e, e);
	}
	if (expires > l->expires_ns)
		l->expires_ns = expires;
	/* A repeated answer only extends the expiry when the kernel's entry
	 * is already what it should be; a failed push is tried again. */
	if (l->in_kernel && !memcmp(&before, &l->e, sizeof(before)))
		return 0;
	ret = t->sink.grant(t->sink.arg, &l->e);
	l->in_kernel = ret == 0;
	return ret;
}

size_t tw_learned_expire(struct tw_learned_table *t, uint64_t now)
{
	size_t gone = 0;

	for (size_t i = 0; i < t->n;) {
		struct tw_learned *l = &t->v[i];

		if (l->expires_ns > now) {
			i++;
			continue;
		}
		t->sink.withdraw(t->sink.arg, &l->e);
		t->expired++;
		gone++;
		*l = t->v[--t->n];
	}
	return gone;
}

struct tw_learn_entry *tw_learned_relearn(struct tw_learned_table *t,
					  const struct tw_compiled *c,
					  tw_name_grants_fn grants, size_t *n,
					  bool apply)
{
	struct tw_learn_entry *out;
	size_t k = 0;

	*n = 0;
	out = calloc(t->n + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < t->n;) {
		struct tw_learned *l = &t->v[i];
		int ci = tw_compiled_find(c, l->context);
		struct tw_learn_entry g[2];
		int ng = ci < 0 ? 0 :
				  grants(&c->ctx[ci], l->name, g, (uint32_t)ci);
		bool kept = false;

		for (int j = 0; j < ng; j++) {
			if (g[j].proto != l->e.proto)
				continue;
			g[j].family = l->e.family;
			memcpy(g[j].addr, l->e.addr, 16);
			if (apply)
				l->e = g[j];
			out[k++] = g[j];
			kept = true;
		}
		if (!kept && apply) { /* the new policy no longer allows it */
			*l = t->v[--t->n];
			continue;
		}
		i++;
	}
	*n = k;
	return out;
}

size_t tw_learned_count(const struct tw_learned_table *t)
{
	return t->n;
}

const struct tw_learned *tw_learned_at(const struct tw_learned_table *t,
				       size_t i)
{
	return i < t->n ? &t->v[i] : NULL;
}

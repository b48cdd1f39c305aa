// SPDX-License-Identifier: GPL-2.0-only
/*
 * learned.c - the table of addresses the resolver granted (see learned.h).
 *
 * Entries live in one dense array; a hash index (chains of indices) finds
 * one by key, a binary heap of indices orders them by expiry. Removing an
 * entry moves the last one into its place and repoints its chain link and
 * heap slot, so every operation but a reload is O(1) or O(log n).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "learned.h"

#define NONE UINT32_MAX

void tw_learned_init(struct tw_learned_table *t,
		     const struct tw_learned_sink *sink)
{
	memset(t, 0, sizeof(*t));
	t->sink = *sink;
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) !=
	    sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t ^ 0x9e3779b97f4a7c15ull;
}

static void table_release(struct tw_learned_table *t)
{
	free(t->v);
	free(t->bucket);
	free(t->heap);
	free(t->quota);
	t->v = NULL;
	t->bucket = t->heap = NULL;
	t->quota = NULL;
	t->n = t->cap = t->nbucket = t->nquota = 0;
}

void tw_learned_free(struct tw_learned_table *t)
{
	tw_learned_abort(t);
	table_release(t);
}

/* ---- the index ------------------------------------------------------- */

static uint64_t mix(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static uint64_t key_hash(const struct tw_learned_table *t,
			 const struct tw_learn_entry *e)
{
	uint64_t a, b;

	memcpy(&a, e->addr, 8);
	memcpy(&b, e->addr + 8, 8);
	return mix(mix(mix(t->seed ^ ((uint64_t)e->ctx << 16 |
				      (uint64_t)e->proto << 8 | e->family)) ^
		       a) ^
		   b);
}

static bool same_key(const struct tw_learn_entry *a,
		     const struct tw_learn_entry *b)
{
	return a->ctx == b->ctx && a->proto == b->proto &&
	       a->family == b->family && !memcmp(a->addr, b->addr, 16);
}

static uint32_t *chain_of(const struct tw_learned_table *t,
			  const struct tw_learn_entry *e)
{
	return &t->bucket[key_hash(t, e) & (t->nbucket - 1)];
}

static uint32_t find(const struct tw_learned_table *t,
		     const struct tw_learn_entry *e)
{
	if (!t->nbucket)
		return NONE;
	for (uint32_t i = *chain_of(t, e); i != NONE; i = t->v[i].hnext)
		if (same_key(&t->v[i].e, e))
			return i;
	return NONE;
}

/* The link (a bucket head or an hnext) that points at entry I. */
static uint32_t *link_to(struct tw_learned_table *t, uint32_t i)
{
	uint32_t *p = chain_of(t, &t->v[i].e);

	while (*p != i)
		p = &t->v[*p].hnext;
	return p;
}

static int rehash(struct tw_learned_table *t, size_t nbucket)
{
	uint32_t *b = malloc(nbucket * sizeof(*b));

	if (!b)
		return -ENOMEM;
	free(t->bucket);
	t->bucket = b;
	t->nbucket = nbucket;
	memset(b, 0xff, nbucket * sizeof(*b)); /* NONE */
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t *h = chain_of(t, &t->v[i].e);

		t->v[i].hnext = *h;
		*h = i;
	}
	return 0;
}

/* ---- the expiry heap --------------------------------------------------- */

static uint64_t exp_at(const struct tw_learned_table *t, size_t pos)
{
	return t->v[t->heap[pos]].expires_ns;
}

static void heap_swap(struct tw_learned_table *t, size_t a, size_t b)
{
	uint32_t x = t->heap[a];

	t->heap[a] = t->heap[b];
	t->heap[b] = x;
	t->v[t->heap[a]].hpos = (uint32_t)a;
	t->v[t->heap[b]].hpos = (uint32_t)b;
}

static void heap_up(struct tw_learned_table *t, size_t pos)
{
	while (pos > 0 && exp_at(t, (pos - 1) / 2) > exp_at(t, pos)) {
		heap_swap(t, pos, (pos - 1) / 2);
		pos = (pos - 1) / 2;
	}
}

static void heap_down(struct tw_learned_table *t, size_t pos, size_t len)
{
	for (;;) {
		size_t l = 2 * pos + 1, r = l + 1, m = pos;

		if (l < len && exp_at(t, l) < exp_at(t, m))
			m = l;
		if (r < len && exp_at(t, r) < exp_at(t, m))
			m = r;
		if (m == pos)
			return;
		heap_swap(t, pos, m);
		pos = m;
	}
}

/* ---- entries ------------------------------------------------------------- */

static struct tw_learned_quota *quota(struct tw_learned_table *t, uint32_t ci)
{
	return ci < t->nquota ? &t->quota[ci] : NULL;
}

/* Append L (its key not in T yet). Returns its index or NONE (-ENOMEM). */
static uint32_t insert(struct tw_learned_table *t, const struct tw_learned *l)
{
	struct tw_learned_quota *q = quota(t, l->e.ctx);
	uint32_t i = (uint32_t)t->n, *h;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct tw_learned *v = realloc(t->v, cap * sizeof(*v));
		uint32_t *heap;

		if (!v)
			return NONE;
		t->v = v;
		heap = realloc(t->heap, cap * sizeof(*heap));
		if (!heap)
			return NONE;
		t->heap = heap;
		t->cap = cap;
	}
	if (t->n + 1 > t->nbucket &&
	    rehash(t, t->nbucket ? t->nbucket * 2 : 64))
		return NONE;
	t->v[i] = *l;
	h = chain_of(t, &l->e);
	t->v[i].hnext = *h;
	*h = i;
	t->heap[i] = i;
	t->v[i].hpos = i;
	t->n++;
	heap_up(t, i);
	if (q)
		q->used++;
	return i;
}

static void remove_at(struct tw_learned_table *t, uint32_t i)
{
	struct tw_learned_quota *q = quota(t, t->v[i].e.ctx);
	uint32_t last = (uint32_t)t->n - 1, hp = t->v[i].hpos;

	*link_to(t, i) = t->v[i].hnext;
	if (hp != last) { /* out of the heap: swap with its last slot */
		heap_swap(t, hp, last);
		heap_down(t, hp, last);
		heap_up(t, hp);
	}
	if (q && q->used)
		q->used--;
	if (i != last) { /* the last entry moves into I */
		*link_to(t, last) = i;
		t->heap[t->v[last].hpos] = i;
		t->v[i] = t->v[last];
	}
	t->n--;
}

void tw_ports_merge(struct tw_port_range *to, size_t *nto,
		    const struct tw_port_range *from, size_t nfrom)
{
	for (size_t i = 0; i < nfrom; i++) {
		const struct tw_port_range *r = &from[i];
		bool merged = false;

		for (size_t k = 0; k < *nto && !merged; k++) {
			struct tw_port_range *p = &to[k];

			if (r->lo <= p->hi + 1u && r->hi + 1u >= p->lo) {
				if (r->lo < p->lo)
					p->lo = r->lo;
				if (r->hi > p->hi)
					p->hi = r->hi;
				merged = true;
			}
		}
		if (!merged && *nto < TW_MAX_PORT_RANGES)
			to[(*nto)++] = *r;
	}
}

int tw_learned_admit(struct tw_learned_table *t,
		     const struct tw_learn_entry *e, size_t n, uint64_t now)
{
	struct tw_learned_quota *q;
	size_t need = 0;

	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		bool dup = find(t, &e[i]) != NONE;

		for (size_t k = 0; k < i && !dup; k++)
			dup = same_key(&e[k], &e[i]);
		need += !dup;
	}
	q = quota(t, e[0].ctx);
	if (!need)
		return 0;
	if (q && q->used + need <= q->max)
		return 0;
	tw_learned_expire(t, now); /* expired entries go first */
	if (q && q->used + need <= q->max)
		return 0;
	t->refused++;
	return -ENOSPC;
}

int tw_learned_add(struct tw_learned_table *t, const char *ctx,
		   const char *name, const struct tw_learn_entry *e,
		   uint64_t expires)
{
	struct tw_learn_entry before = {};
	uint32_t i = find(t, e);
	struct tw_learned *l;
	int ret;

	if (i == NONE) {
		struct tw_learned_quota *q = quota(t, e->ctx);
		struct tw_learned nl = { .e = *e, .expires_ns = expires };

		if (!q || q->used >= q->max)
			return -ENOSPC;
		snprintf(nl.context, sizeof(nl.context), "%s", ctx);
		snprintf(nl.name, sizeof(nl.name), "%s", name);
		i = insert(t, &nl);
		if (i == NONE)
			return -ENOMEM;
		t->learned++;
		l = &t->v[i];
	} else {
		l = &t->v[i];
		before = l->e;
		tw_ports_merge(l->e.ports, &l->e.nports, e->ports, e->nports);
		if (expires > l->expires_ns) {
			l->expires_ns = expires;
			heap_down(t, l->hpos, t->n);
		}
	}
	/* A repeated answer only extends the expiry when the kernel's entry
	 * is already what it should be; a failed push is tried again. */
	if (l->in_kernel && !memcmp(&before, &l->e, sizeof(before)))
		return 0;
	ret = t->sink.grant(t->sink.arg, &l->e);
	l->in_kernel = ret == 0;
	if (!ret && t->sink.changed)
		t->sink.changed(t->sink.arg, l, true);
	return ret;
}

const struct tw_learned *tw_learned_find(const struct tw_learned_table *t,
					 const struct tw_learn_entry *e)
{
	uint32_t i = find(t, e);

	return i == NONE ? NULL : &t->v[i];
}

size_t tw_learned_expire(struct tw_learned_table *t, uint64_t now)
{
	size_t gone = 0;

	while (t->n && exp_at(t, 0) <= now) {
		uint32_t i = t->heap[0];

		t->sink.withdraw(t->sink.arg, &t->v[i].e);
		if (t->sink.changed)
			t->sink.changed(t->sink.arg, &t->v[i], false);
		remove_at(t, i);
		t->expired++;
		gone++;
	}
	return gone;
}

/* ---- reloads ------------------------------------------------------------- */

/* Context ascending, then latest expiry first: the order a cut keeps. */
static int by_ctx_latest(const void *a, const void *b)
{
	const struct tw_learned *x = a, *y = b;

	if (x->e.ctx != y->e.ctx)
		return x->e.ctx < y->e.ctx ? -1 : 1;
	if (x->expires_ns != y->expires_ns)
		return x->expires_ns > y->expires_ns ? -1 : 1;
	return 0;
}

/* The live entries of T as C judges them (at most one per entry). */
static size_t rejudge(const struct tw_learned_table *t,
		      const struct tw_compiled *c, tw_name_grants_fn grants,
		      uint64_t now, struct tw_learned *out)
{
	size_t k = 0;

	for (size_t i = 0; i < t->n; i++) {
		const struct tw_learned *l = &t->v[i];
		int ci = l->expires_ns > now ? tw_compiled_find(c, l->context) :
					       -1;
		struct tw_learn_entry g[2];
		int ng = ci < 0 ? 0 :
				  grants(&c->ctx[ci], l->name, g, (uint32_t)ci);

		for (int j = 0; j < ng; j++) {
			if (g[j].proto != l->e.proto)
				continue;
			out[k] = *l;
			out[k].e = g[j];
			out[k].e.family = l->e.family;
			memcpy(out[k].e.addr, l->e.addr, 16);
			k++;
			break;
		}
	}
	return k;
}

int tw_learned_prepare(struct tw_learned_table *t, const struct tw_compiled *c,
		       tw_name_grants_fn grants, uint64_t now,
		       struct tw_learn_entry **out, size_t *n)
{
	struct tw_learned_table *nt = calloc(1, sizeof(*nt));
	struct tw_learned *cand = calloc(t->n + 1, sizeof(*cand));
	size_t ncand;

	*out = NULL;
	*n = 0;
	tw_learned_abort(t);
	if (!nt || !cand)
		goto nomem;
	nt->seed = t->seed;
	nt->nquota = c->nctx;
	nt->quota = calloc(c->nctx + 1, sizeof(*nt->quota));
	if (!nt->quota)
		goto nomem;
	for (size_t i = 0; i < c->nctx; i++)
		nt->quota[i].max = c->ctx[i].max_learned;
	ncand = rejudge(t, c, grants, now, cand);
	qsort(cand, ncand, sizeof(*cand), by_ctx_latest);
	for (size_t i = 0; i < ncand; i++) {
		struct tw_learned_quota *q = quota(nt, cand[i].e.ctx);

		if (!q || q->used >= q->max)
			continue; /* the new quota is smaller */
		if (insert(nt, &cand[i]) == NONE)
			goto nomem;
	}
	*out = calloc(nt->n + 1, sizeof(**out));
	if (!*out)
		goto nomem;
	for (size_t i = 0; i < nt->n; i++)
		(*out)[i] = nt->v[i].e;
	*n = nt->n;
	free(cand);
	t->next = nt;
	return 0;
nomem:
	free(cand);
	if (nt)
		table_release(nt);
	free(nt);
	return -ENOMEM;
}

void tw_learned_commit(struct tw_learned_table *t, const bool *pushed)
{
	struct tw_learned_table *nt = t->next;

	if (!nt)
		return;
	t->dropped += t->n > nt->n ? t->n - nt->n : 0;
	table_release(t);
	t->v = nt->v;
	t->n = nt->n;
	t->cap = nt->cap;
	t->bucket = nt->bucket;
	t->nbucket = nt->nbucket;
	t->heap = nt->heap;
	t->quota = nt->quota;
	t->nquota = nt->nquota;
	for (size_t i = 0; i < t->n; i++)
		t->v[i].in_kernel = !pushed || pushed[i];
	free(nt);
	t->next = NULL;
}

void tw_learned_abort(struct tw_learned_table *t)
{
	if (!t->next)
		return;
	table_release(t->next);
	free(t->next);
	t->next = NULL;
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

struct tw_learned_quota tw_learned_quota_of(const struct tw_learned_table *t,
					    uint32_t ctx_idx)
{
	struct tw_learned_quota none = { 0, 0 };

	return ctx_idx < t->nquota ? t->quota[ctx_idx] : none;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * audit_agg.c - aggregate identical audit events into counted records.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_agg.h"
#include "record.h"

void tw_agg_init(struct tw_agg *g, uint64_t window_ns)
{
	memset(g, 0, sizeof(*g));
	g->window_ns = window_ns ? window_ns : TW_AGG_WINDOW_NS;
}

void tw_agg_free(struct tw_agg *g)
{
	for (size_t i = 0; i < g->n; i++)
		json_decref(g->v[i].tmpl);
	free(g->v);
	memset(g, 0, sizeof(*g));
}

/* FNV-1a */
uint64_t tw_agg_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static struct tw_agg_entry *find(struct tw_agg *g, const void *key,
				 size_t klen, uint64_t h)
{
	for (size_t i = 0; i < g->n; i++) {
		struct tw_agg_entry *e = &g->v[i];

		if (e->hash == h && e->klen == klen && !memcmp(e->key, key, klen))
			return e;
	}
	return NULL;
}

bool tw_agg_hit(struct tw_agg *g, const void *key, size_t klen,
		uint64_t ts_ns)
{
	struct tw_agg_entry *e;

	if (klen > TW_AGG_MAX_KEY)
		return false;
	e = find(g, key, klen, tw_agg_hash(key, klen));
	if (!e)
		return false;
	if (!e->count)
		e->first_ns = ts_ns;
	e->count++;
	e->last_ns = ts_ns;
	e->seen_ns = ts_ns;
	g->aggregated++;
	return true;
}

static struct tw_agg_entry *append(struct tw_agg *g, const void *key,
				   size_t klen, uint64_t ts_ns)
{
	struct tw_agg_entry *e;

	if (klen > TW_AGG_MAX_KEY || g->n >= TW_AGG_MAX_ENTRIES)
		return NULL;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		struct tw_agg_entry *nv = realloc(g->v, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		g->v = nv;
		g->cap = cap;
	}
	e = &g->v[g->n++];
	/* the key is copied, not cleared: entries are large */
	memset(e, 0, offsetof(struct tw_agg_entry, key));
	e->count = e->first_ns = e->last_ns = e->claimed_ns = 0;
	e->tmpl = NULL;
	e->hash = tw_agg_hash(key, klen);
	e->klen = (uint16_t)klen;
	memcpy(e->key, key, klen);
	e->seen_ns = ts_ns;
	return e;
}

bool tw_agg_claim(struct tw_agg *g, const void *key, size_t klen,
		  uint64_t ts_ns)
{
	struct tw_agg_entry *e;

	if (tw_agg_hit(g, key, klen, ts_ns))
		return true;
	/* no room: the event is written on its own, as by tw_agg_add */
	e = append(g, key, klen, ts_ns);
	if (e)
		e->claimed_ns = ts_ns;
	return false;
}

int tw_agg_add(struct tw_agg *g, const void *key, size_t klen, uint32_t pid,
	       json_t *tmpl, uint64_t ts_ns)
{
	struct tw_agg_entry *e = NULL;

	if (klen <= TW_AGG_MAX_KEY) {
		e = find(g, key, klen, tw_agg_hash(key, klen));
		if (e && !e->claimed_ns)
			e = NULL;
	}
	if (e) {
		/* the claim's twins, counted meanwhile, are kept */
		e->claimed_ns = 0;
		e->pid = pid;
		e->tmpl = tmpl;
		return 0;
	}
	e = append(g, key, klen, ts_ns);
	if (!e) {
		/* The event was written on its own: nothing is lost, its
		 * later twins just get records of their own. */
		json_decref(tmpl);
		return -ENOSPC;
	}
	e->pid = pid;
	e->tmpl = tmpl;
	return 0;
}

static json_t *pending_record(const struct tw_agg_entry *e)
{
	json_t *rec = json_deep_copy(e->tmpl);
	char ts[64];

	if (!rec)
		return NULL;
	tw_audit_ts_format(e->first_ns, ts, sizeof(ts));
	json_object_set_new(rec, "ts", json_string(ts));
	json_object_del(rec, "count");
	json_object_del(rec, "first_ts");
	json_object_del(rec, "last_ts");
	if (e->count > 1) {
		json_object_set_new(rec, "count",
				    json_integer((json_int_t)e->count));
		json_object_set_new(rec, "first_ts", json_string(ts));
		tw_audit_ts_format(e->last_ns, ts, sizeof(ts));
		json_object_set_new(rec, "last_ts", json_string(ts));
	}
	return rec;
}

size_t tw_agg_flush(struct tw_agg *g, enum tw_agg_flush how, uint64_t now_ns,
		    bool (*alive)(uint32_t pid),
		    void (*emit)(void *arg, json_t *rec), void *arg)
{
	size_t out = 0;

	for (size_t i = 0; i < g->n;) {
		struct tw_agg_entry *e = &g->v[i];
		bool gone = false;

		if (e->claimed_ns) {
			/* its first record is on its way (no template to
			 * write the twins with yet), or was never made */
			if (now_ns >= e->claimed_ns + 10 * g->window_ns) {
				*e = g->v[--g->n];
				continue;
			}
			i++;
			continue;
		}
		if (e->count) {
			bool due = how == TW_AGG_ALL ||
				   now_ns >= e->first_ns + g->window_ns ||
				   (alive && (gone = !alive(e->pid)));

			if (due) {
				json_t *rec = pending_record(e);

				/* out of memory: keep counting, try later */
				if (rec) {
					emit(arg, rec);
					out++;
					e->count = 0;
				}
			}
		}
		if (!e->count &&
		    (how == TW_AGG_ALL || gone ||
		     now_ns >= e->seen_ns + g->window_ns)) {
			json_decref(e->tmpl);
			*e = g->v[--g->n];
			continue;
		}
		i++;
	}
	return out;
}

uint64_t tw_agg_pending(const struct tw_agg *g)
{
	uint64_t n = 0;

	for (size_t i = 0; i < g->n; i++)
		n += g->v[i].count;
	return n;
}

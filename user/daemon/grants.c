// SPDX-License-Identifier: GPL-2.0-only
/*
 * grants.c - the daemon's live grants and quarantines and what the kernel
 * holds of them (see grants.h; the kernel's semantics in bpf/toolwall.h).
 *
 * Scopes: a grant of a whole context, and a context's quarantine, live in
 * the context scope (its context key, so they follow the policy slot: a
 * reload fills them into the next slot before the flip); a grant with a
 * call id, and a call's quarantine, live in the scope of each running
 * call's cgroup with that id. A scope's value is always recomputed from
 * the live set, never edited bit by bit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grantaddr.h"
#include "grantbk.h"
#include "grantmaps.h"
#include "grantrule.h"
#include "grants.h"
#include "util.h"

static void grants_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/grants.json", tw_roots.run);
}

json_t *tw_grant_json(const struct tw_live_grant *g)
{
	char exp[64];
	uint64_t now = tw_now_ns(CLOCK_BOOTTIME);
	int64_t left = g->deadline > now ?
			       (int64_t)((g->deadline - now) / TW_NS_PER_S) :
			       0;

	tw_rfc3339(g->expires, exp, sizeof(exp));
	return json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:s,s:s,s:s,s:s,s:I}", "id",
			 g->id, "context", g->context, "bundle",
			 g->bundle[0] ? g->bundle : NULL, "connect",
			 g->connect[0] ? g->connect : NULL, "call_id",
			 g->call_id[0] ? g->call_id : NULL, "approved_by",
			 g->approved_by, "operator", g->operator_, "reason",
			 g->reason, "expires", exp, "expires_in_s",
			 (json_int_t)left);
}

static json_t *quarantine_json(const struct tw_quarantine *q)
{
	char since[64];

	tw_rfc3339(q->since, since, sizeof(since));
	return json_pack("{s:s?,s:s?,s:s,s:s,s:s}", "context",
			 q->context[0] ? q->context : NULL, "call_id",
			 q->call_id[0] ? q->call_id : NULL, "operator",
			 q->operator_, "reason", q->reason, "since", since);
}

json_t *tw_grants_json(struct tw_daemon *d)
{
	struct tw_grants *t = d->grants;
	json_t *g = json_array(), *q = json_array();

	for (size_t i = 0; t && i < t->n; i++)
		json_array_append_new(g, tw_grant_json(&t->g[i]));
	for (size_t i = 0; t && i < t->nq; i++)
		json_array_append_new(q, quarantine_json(&t->q[i]));
	return json_pack("{s:o,s:o}", "grants", g, "quarantines", q);
}

/* ---- persistence --------------------------------------------------- */

#define STR(o, k) (json_string_value(json_object_get(o, k)) ?: "")
#define U64(o, k) ((uint64_t)json_integer_value(json_object_get(o, k)))
#define COPY(dst, o, k) snprintf(dst, sizeof(dst), "%s", STR(o, k))

int tw_grants_save(struct tw_daemon *d)
{
	struct tw_grants *t = d->grants;
	json_t *g = json_array(), *q = json_array(), *all;
	char path[400], *s;
	int ret;

	for (size_t i = 0; i < t->n; i++) {
		const struct tw_live_grant *x = &t->g[i];

		json_array_append_new(
			g, json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,"
				     "s:I,s:I,s:I,s:i}",
				     "id", x->id, "num", (json_int_t)x->num,
				     "context", x->context, "bundle", x->bundle,
				     "connect", x->connect, "call_id",
				     x->call_id, "approved_by", x->approved_by,
				     "operator", x->operator_, "reason",
				     x->reason, "created", (json_int_t)x->created,
				     "expires", (json_int_t)x->expires,
				     "deadline", (json_int_t)x->deadline,
				     "gslot", (int)x->gslot));
		json_object_set_new(json_array_get(g, json_array_size(g) - 1),
				    "addrs", tw_gaddrs_json(&t->addrs, x->num));
	}
	for (size_t i = 0; i < t->nq; i++) {
		const struct tw_quarantine *x = &t->q[i];

		json_array_append_new(
			q, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "context",
				     x->context, "call_id", x->call_id,
				     "operator", x->operator_, "reason",
				     x->reason, "since", (json_int_t)x->since,
				     "since_boot", (json_int_t)x->since_boot));
	}
	all = json_pack("{s:o,s:o}", "grants", g, "quarantines", q);
	s = all ? json_dumps(all, JSON_INDENT(1)) : NULL;
	json_decref(all);
	if (!s)
		return -ENOMEM;
	grants_path(path, sizeof(path));
	ret = tw_write_file_atomic(path, s, strlen(s), 0600);
	free(s);
	return ret;
}

static void load_one_grant(struct tw_grants *t, json_t *o)
{
	struct tw_live_grant g = {};
	struct tw_live_grant *ng;

	COPY(g.id, o, "id");
	g.num = (uint32_t)U64(o, "num");
	COPY(g.context, o, "context");
	COPY(g.bundle, o, "bundle");
	COPY(g.connect, o, "connect");
	COPY(g.call_id, o, "call_id");
	COPY(g.approved_by, o, "approved_by");
	COPY(g.operator_, o, "operator");
	COPY(g.reason, o, "reason");
	g.created = U64(o, "created");
	g.expires = U64(o, "expires");
	g.deadline = U64(o, "deadline");
	g.gslot = (uint8_t)U64(o, "gslot");
	if (!g.id[0] || !g.context[0] || g.gslot >= TW_GRANT_SLOTS)
		return;
	ng = realloc(t->g, (t->n + 1) * sizeof(*ng));
	if (!ng)
		return;
	t->g = ng;
	t->g[t->n++] = g;
	tw_gaddrs_load(&t->addrs, g.num, json_object_get(o, "addrs"));
}

static void load_one_quarantine(struct tw_grants *t, json_t *o)
{
	struct tw_quarantine q = {};
	struct tw_quarantine *nq;

	COPY(q.context, o, "context");
	COPY(q.call_id, o, "call_id");
	COPY(q.operator_, o, "operator");
	COPY(q.reason, o, "reason");
	q.since = U64(o, "since");
	q.since_boot = U64(o, "since_boot");
	if ((!q.context[0] && !q.call_id[0]) || !q.since_boot)
		return;
	nq = realloc(t->q, (t->nq + 1) * sizeof(*nq));
	if (!nq)
		return;
	t->q = nq;
	t->q[t->nq++] = q;
}

int tw_grants_open(struct tw_daemon *d)
{
	char path[400];
	json_t *st, *o;
	size_t i;

	d->grants = calloc(1, sizeof(*d->grants));
	if (!d->grants)
		return -ENOMEM;
	grants_path(path, sizeof(path));
	st = json_load_file(path, 0, NULL);
	if (!st)
		return 0;
	json_array_foreach(json_object_get(st, "grants"), i, o)
		load_one_grant(d->grants, o);
	json_array_foreach(json_object_get(st, "quarantines"), i, o)
		load_one_quarantine(d->grants, o);
	json_decref(st);
	/* Calls adopted from the previous daemon keep what they had. */
	for (i = 0; i < d->ncalls; i++)
		tw_grants_sync_call(d, &d->calls[i]);
	return 0;
}

void tw_grants_close(struct tw_daemon *d)
{
	if (!d->grants)
		return;
	free(d->grants->g);
	tw_gaddrs_free(&d->grants->addrs);
	free(d->grants->q);
	free(d->grants);
	d->grants = NULL;
}

/* ---- scopes in the kernel ------------------------------------------ */

static bool applies_to_ctx(const struct tw_live_grant *g, const char *ctx)
{
	return !g->call_id[0] && !strcmp(g->context, ctx);
}

static bool applies_to_call(const struct tw_live_grant *g, const struct tw_call *c)
{
	return g->call_id[0] && !c->ended && !strcmp(g->context, c->context) &&
	       !strcmp(g->call_id, c->call_id);
}

static uint64_t ctx_quarantined(struct tw_grants *t, const char *ctx)
{
	for (size_t i = 0; i < t->nq; i++)
		if (!t->q[i].call_id[0] && !strcmp(t->q[i].context, ctx))
			return t->q[i].since_boot;
	return 0;
}

static uint64_t call_quarantined(struct tw_grants *t, const char *call_id)
{
	for (size_t i = 0; i < t->nq; i++)
		if (t->q[i].call_id[0] && !strcmp(t->q[i].call_id, call_id))
			return t->q[i].since_boot;
	return 0;
}

/* Put grant G's entries into scope (KIND, SCOPE), as COMP lowers them. */
static int put_grant(struct tw_daemon *d, const struct tw_compiled *comp,
		     const struct tw_live_grant *g, uint8_t kind, uint64_t scope,
		     char *err, size_t len)
{
	struct tw_grant_ask ask = { .context = g->context,
				    .bundle = g->bundle[0] ? g->bundle : NULL,
				    .connect = g->connect[0] ? g->connect :
							       NULL };
	struct tw_lpm_entry *e = NULL;
	long n = tw_grant_lower(comp, &ask, &e, err, len);
	int ret;

	if (n < 0)
		return (int)n;
	ret = tw_gmaps_put(&d->ld.maps, kind, scope, g->gslot, e, (size_t)n,
			   g->deadline, g->num);
	/* the addresses its names brought (names: whole contexts only) */
	if (!ret && kind == TW_SCOPE_CTX) {
		struct tw_gaddr_slot s = { scope, g->gslot, g->num,
					   g->deadline };

		ret = tw_gaddrs_put(&d->grants->addrs, &d->ld.maps, &s, e,
				    (size_t)n, tw_now_ns(CLOCK_BOOTTIME));
	}
	free(e);
	if (ret) {
		snprintf(err, len, "cannot write the grant into tw_grants: %s%s",
			 strerror(-ret),
			 ret == -ENOSPC ? " (tw_grants is full)" : "");
		return ret;
	}
	/* its brokered credentials' services: to the broker (grantbk.h) */
	ret = tw_grant_bk_put(d, comp, &d->grants->addrs,
			      &(struct tw_grant_bk){ g->context, g->bundle,
						     g->num, g->gslot,
						     g->deadline, kind,
						     scope });
	if (ret)
		snprintf(err, len,
			 "cannot write the grant's brokered services into "
			 "tw_bk_grant: %s%s",
			 strerror(-ret),
			 ret == -ENOSPC ? " (tw_bk_grant is full)" : "");
	return ret;
}

/*
 * Does COMP still allow grant G (its context and bundle there, the bundle
 * not held by the context now, personal rules)? Its duration was judged
 * when it was granted. A grant it does not allow is not carried into the
 * new slot; tw_grants_reloaded ends it with a record.
 */
static bool still_allowed(const struct tw_compiled *comp,
			  const struct tw_live_grant *g, char *why, size_t len)
{
	struct tw_grant_ask ask = {
		.context = g->context,
		.bundle = g->bundle[0] ? g->bundle : NULL,
		.connect = g->connect[0] ? g->connect : NULL,
		.duration = 1,
	};
	int x, b;

	return tw_grant_check(comp, &ask, &x, &b, why, len) == 0;
}

/* The context scope of CTX in SLOT of COMP: grant slots and quarantine,
 * entries included (the slot is being filled, or is the active one). */
static int fill_ctx(struct tw_daemon *d, const struct tw_compiled *comp,
		    uint32_t slot, int idx, char *err, size_t len)
{
	struct tw_grants *t = d->grants;
	const char *name = comp->ctx[idx].name;
	uint64_t scope = TW_CTX_KEY(slot, (uint32_t)idx);
	uint32_t bits = 0;
	int ret;

	for (size_t i = 0; i < t->n; i++) {
		const struct tw_live_grant *g = &t->g[i];

		if (!applies_to_ctx(g, name) || !still_allowed(comp, g, err, len))
			continue;
		ret = put_grant(d, comp, g, TW_SCOPE_CTX, scope, err, len);
		if (ret)
			return ret;
		bits |= 1u << g->gslot;
	}
	return tw_gmaps_scope(&d->ld.maps, TW_SCOPE_CTX, scope, bits,
			      ctx_quarantined(t, name));
}

int tw_grants_fill(void *arg, uint32_t slot, char *err, size_t len)
{
	struct tw_daemon *d = arg;
	const struct tw_compiled *comp = d->grants->pending;
	int ret = tw_gmaps_clear_slot(&d->ld.maps, slot);

	if (ret) {
		snprintf(err, len, "cannot clear the grants of slot %u: %s",
			 slot, strerror(-ret));
		return ret;
	}
	for (size_t i = 0; comp && i < comp->nctx; i++) {
		ret = fill_ctx(d, comp, slot, (int)i, err, len);
		if (ret)
			return ret;
	}
	return 0;
}

int tw_grants_sync_context(struct tw_daemon *d, const char *context)
{
	const struct tw_revision *r = &d->rev[d->slot];
	char err[256];
	int ci;

	if (!r->valid || (ci = tw_compiled_find(&r->comp, context)) < 0)
		return -ENOENT;
	return fill_ctx(d, &r->comp, d->slot, ci, err, sizeof(err));
}

int tw_grants_sync_call(struct tw_daemon *d, const struct tw_call *c)
{
	const struct tw_revision *r = &d->rev[d->slot];
	struct tw_grants *t = d->grants;
	uint32_t bits = 0;
	char err[256];

	for (size_t i = 0; r->valid && i < t->n; i++) {
		const struct tw_live_grant *g = &t->g[i];

		if (!applies_to_call(g, c))
			continue;
		if (put_grant(d, &r->comp, g, TW_SCOPE_CALL, c->cgid, err,
			      sizeof(err)) == 0)
			bits |= 1u << g->gslot;
	}
	return tw_gmaps_scope(&d->ld.maps, TW_SCOPE_CALL, c->cgid, bits,
			      call_quarantined(t, c->call_id));
}

int tw_grant_apply(struct tw_daemon *d, const struct tw_live_grant *g, char *err,
		   size_t len)
{
	int ret = 0;

	if (!g->call_id[0]) {
		ret = tw_grants_sync_context(d, g->context);
		if (ret)
			snprintf(err, len, "cannot write the grant: %s",
				 strerror(-ret));
		return ret;
	}
	for (size_t i = 0; i < d->ncalls; i++)
		if (applies_to_call(g, &d->calls[i]))
			tw_grants_sync_call(d, &d->calls[i]);
	return 0;
}

/* G has left the live set: its scopes are recomputed, its entries go. */
void tw_grant_unapply(struct tw_daemon *d, const struct tw_live_grant *g)
{
	const struct tw_revision *r = &d->rev[d->slot];
	int ci;

	if (!g->call_id[0]) {
		ci = r->valid ? tw_compiled_find(&r->comp, g->context) : -1;
		if (ci < 0)
			return;
		tw_grants_sync_context(d, g->context);
		tw_gmaps_drop(&d->ld.maps, TW_SCOPE_CTX,
			      TW_CTX_KEY(d->slot, (uint32_t)ci), g->gslot);
		return;
	}
	for (size_t i = 0; i < d->ncalls; i++) {
		const struct tw_call *c = &d->calls[i];

		if (strcmp(g->context, c->context) ||
		    strcmp(g->call_id, c->call_id))
			continue;
		tw_grants_sync_call(d, c);
		tw_gmaps_drop(&d->ld.maps, TW_SCOPE_CALL, c->cgid, g->gslot);
	}
}

/* ---- records ------------------------------------------------------- */

json_t *tw_grants_record(struct tw_daemon *d, const char *event,
			 const struct tw_live_grant *g,
			 const struct tw_quarantine *q)
{
	const struct tw_revision *r = &d->rev[d->slot];
	const char *ctx = g ? g->context : q->context;
	int ci = r->valid && ctx[0] ? tw_compiled_find(&r->comp, ctx) : -1;
	const char *call = g ? g->call_id : q->call_id;
	json_t *rec = tw_audit_record(&d->audit, event, 0);
	char exp[64];

	tw_record_where(rec, ci >= 0 ? &r->pol : NULL,
			ci >= 0 ? &r->comp.ctx[ci] : NULL, NULL);
	if (ci < 0 && ctx[0])
		json_object_set_new(rec, "context", json_string(ctx));
	json_object_set_new(rec, "call_id",
			    call[0] ? json_string(call) : json_null());
	json_object_set_new(rec, "action", json_string(event));
	json_object_set_new(rec, "operator",
			    json_string(g ? g->operator_ : q->operator_));
	json_object_set_new(rec, "reason",
			    json_string(g ? g->reason : q->reason));
	json_object_set_new(rec, "policy_rev",
			    r->valid ? json_string(r->comp.revision) :
				       json_null());
	json_object_set_new(rec, "hint", json_null());
	if (!g)
		return rec;
	tw_rfc3339(g->expires, exp, sizeof(exp));
	json_object_set_new(rec, "grant_id", json_string(g->id));
	json_object_set_new(rec, "approved_by", json_string(g->approved_by));
	json_object_set_new(rec, "expires", json_string(exp));
	if (g->bundle[0])
		json_object_set_new(rec, "bundle", json_string(g->bundle));
	else
		json_object_set_new(rec, "dst", json_string(g->connect));
	return rec;
}

void tw_grant_end(struct tw_daemon *d, size_t i, const char *event,
		  const char *operator_, uint32_t uid, int pid,
		  const char *reason)
{
	struct tw_grants *t = d->grants;
	struct tw_live_grant g = t->g[i];
	json_t *rec;

	memmove(&t->g[i], &t->g[i + 1], (t->n - i - 1) * sizeof(g));
	t->n--;
	tw_grant_unapply(d, &g);
	tw_gaddrs_drop(&t->addrs, g.num);
	rec = tw_grants_record(d, event, &g, NULL);
	/* who ended it: the operator of a revoke, the kernel's clock else */
	json_object_set_new(rec, "operator",
			    operator_ ? json_string(operator_) : json_null());
	json_object_set_new(rec, "uid", operator_ ? json_integer(uid) :
						    json_null());
	json_object_set_new(rec, "pid", pid > 0 ? json_integer(pid) :
						  json_null());
	json_object_set_new(rec, "comm", json_null());
	json_object_set_new(rec, "reason", json_string(reason));
	json_object_set_new(rec, "granted_by", json_string(g.operator_));
	tw_audit_write(&d->audit, rec);
	tw_grants_save(d);
}

/* ---- reload, expiry, calls ----------------------------------------- */

void tw_grants_reloaded(struct tw_daemon *d)
{
	const struct tw_revision *r = &d->rev[d->slot];
	struct tw_grants *t = d->grants;

	for (size_t i = 0; t && r->valid && i < t->n;) {
		char why[256], reason[400];

		if (still_allowed(&r->comp, &t->g[i], why, sizeof(why))) {
			i++;
			continue;
		}
		snprintf(reason, sizeof(reason),
			 "the policy reload ended the grant: %s", why);
		tw_grant_end(d, i, "revoke", NULL, 0, 0, reason);
	}
}

/* Address A of a granted name expired: out of the active slot. */
static void addr_withdraw(struct tw_daemon *d, const struct tw_grant_addr *a)
{
	const struct tw_revision *r = &d->rev[d->slot];
	struct tw_grants *t = d->grants;
	const struct tw_live_grant *g = NULL;
	struct tw_lpm_entry *e = NULL;
	char err[256];
	long ne;
	int ci;

	for (size_t i = 0; i < t->n && !g; i++)
		if (t->g[i].num == a->num)
			g = &t->g[i];
	ci = g && r->valid ? tw_compiled_find(&r->comp, g->context) : -1;
	if (ci < 0)
		return;
	ne = tw_grant_lower(&r->comp,
			    &(struct tw_grant_ask){ .context = g->context,
						    .bundle = g->bundle },
			    &e, err, sizeof(err));
	if (ne >= 0)
		tw_gaddr_withdraw(a, &d->ld.maps,
				  &(struct tw_gaddr_slot){
					  TW_CTX_KEY(d->slot, (uint32_t)ci),
					  g->gslot, g->num, g->deadline },
				  e, (size_t)ne);
	free(e);
}

/* Addresses of granted names whose TTL ran out leave (the kernel refuses
 * them already: each carries its deadline). */
static void addrs_tick(struct tw_daemon *d, uint64_t now)
{
	struct tw_grants *t = d->grants;
	size_t k = 0, n = t ? t->addrs.n : 0;

	for (size_t i = 0; i < n; i++) {
		if (t->addrs.v[i].deadline > now)
			t->addrs.v[k++] = t->addrs.v[i];
		else
			addr_withdraw(d, &t->addrs.v[i]);
	}
	if (t && k != n) {
		t->addrs.n = k;
		tw_grants_save(d);
	}
}

void tw_grants_tick(struct tw_daemon *d)
{
	struct tw_grants *t = d->grants;
	uint64_t now = tw_now_ns(CLOCK_BOOTTIME);

	addrs_tick(d, now);
	for (size_t i = 0; t && i < t->n;) {
		if (t->g[i].deadline > now) {
			i++;
			continue;
		}
		tw_grant_end(d, i, "expire", NULL, 0, 0,
			     "the grant reached its expiry; the kernel refuses "
			     "what it allowed from that instant");
	}
	/* Scopes of calls that are gone (their cgroup ids are not reused). */
	uint64_t calls[256];
	size_t n = tw_gmaps_call_scopes(&d->ld.maps, calls, 256);

	for (size_t i = 0; i < n; i++) {
		if (tw_call_find(d, calls[i]))
			continue;
		tw_gmaps_scope(&d->ld.maps, TW_SCOPE_CALL, calls[i], 0, 0);
		tw_gmaps_drop(&d->ld.maps, TW_SCOPE_CALL, calls[i], -1);
	}
}

bool tw_grants_call_ok(struct tw_daemon *d, const char *ctx,
		       const char *call_id, char *why, size_t len)
{
	struct tw_grants *t = d->grants;

	if (!t)
		return true;
	if (ctx_quarantined(t, ctx)) {
		snprintf(why, len, "context %s is quarantined: no tool call "
			 "starts until `toolwall release %s`", ctx, ctx);
		return false;
	}
	if (call_id && call_id[0] && call_quarantined(t, call_id)) {
		snprintf(why, len, "call %s is quarantined: it does not start "
			 "again until `toolwall release --call-id %s`",
			 call_id, call_id);
		return false;
	}
	return true;
}

void tw_grants_call_started(struct tw_daemon *d, const struct tw_call *c)
{
	struct tw_grants *t = d->grants;

	for (size_t i = 0; t && i < t->n; i++)
		if (applies_to_call(&t->g[i], c)) {
			tw_grants_sync_call(d, c);
			return;
		}
}

int tw_grants_call_context(struct tw_daemon *d, const struct tw_compiled *comp,
			   const struct tw_context *x, const char *call_id,
			   struct tw_context *out)
{
	struct tw_grants *t = d->grants;
	uint64_t now = tw_now_ns(CLOCK_BOOTTIME);
	int b[2 * TW_GRANT_SLOTS];
	size_t n = 0;
	int ret;

	for (size_t i = 0; t && i < t->n && n < 2 * TW_GRANT_SLOTS; i++) {
		const struct tw_live_grant *g = &t->g[i];

		if (!g->bundle[0] || g->deadline <= now ||
		    strcmp(g->context, x->name) ||
		    (g->call_id[0] &&
		     (!call_id || strcmp(g->call_id, call_id))))
			continue;
		if ((b[n] = tw_grant_bundle(comp->pol, g->bundle)) >= 0)
			n++;
	}
	if (!n)
		return 0;
	ret = tw_context_with(comp, x, b, n, out);
	return ret ? ret : 1;
}

void tw_grants_bk_learned(struct tw_daemon *d, const char *ctx,
			  const char *name, const struct tw_learn_entry *e,
			  bool add)
{
	const struct tw_revision *r = &d->rev[d->slot];
	struct tw_grants *t = d->grants;
	uint64_t now = tw_now_ns(CLOCK_BOOTTIME);
	int ci = t && r->valid ? tw_compiled_find(&r->comp, ctx) : -1;

	for (size_t i = 0; ci >= 0 && i < t->n; i++) {
		const struct tw_live_grant *g = &t->g[i];
		struct tw_grant_bk b = { g->context, g->bundle, g->num,
					 g->gslot, g->deadline, TW_SCOPE_CTX,
					 TW_CTX_KEY(d->slot, (uint32_t)ci) };

		if (strcmp(g->context, ctx) || g->deadline <= now)
			continue;
		if (!g->call_id[0]) {
			tw_grant_bk_learned(d, &r->comp, &t->addrs, &b, name, e, add);
			continue;
		}
		b.kind = TW_SCOPE_CALL;
		for (size_t k = 0; k < d->ncalls; k++) {
			if (!applies_to_call(g, &d->calls[k]))
				continue;
			b.scope = d->calls[k].cgid;
			tw_grant_bk_learned(d, &r->comp, &t->addrs, &b, name, e, add);
		}
	}
}

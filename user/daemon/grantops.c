// SPDX-License-Identifier: GPL-2.0-only
/*
 * grantops.c - the control operations of grants and quarantine, their
 * requests and replies (JSON lines on the control socket):
 *
 *   {"op":"grant","context":C,"bundle":B|"connect":D,"for":DURATION,
 *    "approved_by":W,"reason":R,"call_id":I}   -> {"ok","grant":{...}}
 *   {"op":"revoke","id":ID,"reason":R}         -> {"ok","grant":{...}}
 *   {"op":"grants"}                            -> {"ok","grants","quarantines"}
 *   {"op":"quarantine","context":C|"call_id":I,"reason":R}
 *                                              -> {"ok","quarantine","killed"}
 *   {"op":"release","context":C|"call_id":I}   -> {"ok","quarantine"}
 *
 * The operator is the control peer's account (SO_PEERCRED, which
 * control.c puts in the request as "_peer"; a client cannot set it).
 * Every change is a record; a refused request changes nothing.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cgroups.h"
#include "grantrule.h"
#include "grants.h"
#include "util.h"

static json_t *refuse(const char *msg)
{
	return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

struct peer {
	uint32_t uid;
	int pid;
	char name[64];
};

static void peer_of(json_t *req, struct peer *p)
{
	json_t *o = json_object_get(req, "_peer");
	struct passwd pw, *res = NULL;
	char buf[1024];

	memset(p, 0, sizeof(*p));
	if (!json_is_object(o)) {
		snprintf(p->name, sizeof(p->name), "unknown");
		p->uid = (uint32_t)-1;
		return;
	}
	p->uid = (uint32_t)json_integer_value(json_object_get(o, "uid"));
	p->pid = (int)json_integer_value(json_object_get(o, "pid"));
	if (!getpwuid_r(p->uid, &pw, buf, sizeof(buf), &res) && res)
		snprintf(p->name, sizeof(p->name), "%s", pw.pw_name);
	else
		snprintf(p->name, sizeof(p->name), "uid %u", p->uid);
}

/* Text a person wrote (approver, reason): 1..MAX bytes, no control byte. */
static bool text_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

#define REQ(k) json_string_value(json_object_get(req, k))

/* Who did it, on the record. */
static void record_peer(json_t *rec, const struct peer *p)
{
	json_object_set_new(rec, "operator", json_string(p->name));
	json_object_set_new(rec, "uid", json_integer(p->uid));
	json_object_set_new(rec, "pid", p->pid ? json_integer(p->pid) :
						 json_null());
	json_object_set_new(rec, "comm", json_null());
	json_object_set_new(rec, "requester", json_null());
}

/* A free grant slot among the grants of (CONTEXT, CALL_ID), or -1. */
static int free_gslot(struct tw_grants *t, const char *context,
		      const char *call_id)
{
	uint32_t used = 0;

	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->g[i].context, context) &&
		    !strcmp(t->g[i].call_id, call_id))
			used |= 1u << t->g[i].gslot;
	for (int s = 0; s < TW_GRANT_SLOTS; s++)
		if (!(used & (1u << s)))
			return s;
	return -1;
}

static void new_id(struct tw_grants *t, struct tw_live_grant *g)
{
	bool taken;

	do {
		if (getrandom(&g->num, sizeof(g->num), 0) != sizeof(g->num))
			g->num = (uint32_t)tw_now_ns(CLOCK_MONOTONIC);
		taken = !g->num;
		for (size_t i = 0; i < t->n; i++)
			taken |= t->g[i].num == g->num;
	} while (taken);
	snprintf(g->id, sizeof(g->id), "g-%08x", g->num);
}

/* The request as a grant G; NULL, or the reason it is refused. */
static const char *grant_from(struct tw_daemon *d, json_t *req,
			      struct tw_live_grant *g, char *err, size_t len)
{
	const struct tw_revision *r = &d->rev[d->slot];
	const char *who = REQ("approved_by"), *why = REQ("reason");
	const char *call = REQ("call_id"), *dur = REQ("for");
	struct tw_grant_ask ask = { .context = REQ("context"),
				    .bundle = REQ("bundle"),
				    .connect = REQ("connect") };
	int ctx, bundle, slot;

	if (!text_ok(who, sizeof(g->approved_by) - 1))
		return "--approved-by WHO is required: the person who approved "
		       "the grant (1-127 characters, no control characters)";
	if (why && !text_ok(why, sizeof(g->reason) - 1))
		return "--reason must be 1-255 characters, no control "
		       "characters";
	if (call && !text_ok(call, sizeof(g->call_id) - 1))
		return "--call-id must be 1-127 characters";
	if (!r->valid)
		return "no policy in force";
	if (tw_parse_duration(dur, &ask.duration, err, len))
		return err;
	if (tw_grant_check(&r->comp, &ask, &ctx, &bundle, err, len))
		return err;
	if (ask.connect && strlen(ask.connect) >= sizeof(g->connect))
		return "--connect: too long";
	slot = free_gslot(d->grants, ask.context, call ? call : "");
	if (slot < 0) {
		snprintf(err, len, "%s%s%s has %d live grants already (the "
			 "most at once): revoke one first", ask.context,
			 call ? " call " : "", call ? call : "",
			 TW_GRANT_SLOTS);
		return err;
	}
	memset(g, 0, sizeof(*g));
	new_id(d->grants, g);
	snprintf(g->context, sizeof(g->context), "%s", ask.context);
	snprintf(g->bundle, sizeof(g->bundle), "%s", ask.bundle ?: "");
	snprintf(g->connect, sizeof(g->connect), "%s", ask.connect ?: "");
	snprintf(g->call_id, sizeof(g->call_id), "%s", call ?: "");
	snprintf(g->approved_by, sizeof(g->approved_by), "%s", who);
	snprintf(g->reason, sizeof(g->reason), "%s", why ?: "");
	g->gslot = (uint8_t)slot;
	g->created = tw_now_ns(CLOCK_REALTIME);
	g->expires = g->created + ask.duration;
	g->deadline = tw_now_ns(CLOCK_BOOTTIME) + ask.duration;
	return NULL;
}

json_t *tw_op_grant(struct tw_daemon *d, json_t *req)
{
	struct tw_grants *t = d->grants;
	struct tw_live_grant g, *ng;
	struct peer p;
	char err[512];
	const char *why;
	json_t *rec;

	peer_of(req, &p);
	why = grant_from(d, req, &g, err, sizeof(err));
	if (why)
		return refuse(why);
	snprintf(g.operator_, sizeof(g.operator_), "%s", p.name);
	ng = realloc(t->g, (t->n + 1) * sizeof(*ng));
	if (!ng)
		return refuse("out of memory");
	t->g = ng;
	t->g[t->n++] = g;
	if (tw_grant_apply(d, &g, err, sizeof(err))) {
		t->n--;
		tw_grant_unapply(d, &g);
		return refuse(err);
	}
	tw_grants_save(d);
	rec = tw_grants_record(d, "grant", &g, NULL);
	record_peer(rec, &p);
	tw_audit_write(&d->audit, rec);
	return json_pack("{s:b,s:o}", "ok", 1, "grant", tw_grant_json(&g));
}

json_t *tw_op_revoke(struct tw_daemon *d, json_t *req)
{
	struct tw_grants *t = d->grants;
	const char *id = REQ("id"), *why = REQ("reason");
	char reason[400];
	struct peer p;
	json_t *rep;

	peer_of(req, &p);
	if (why && !text_ok(why, 255))
		return refuse("--reason must be 1-255 characters, no control "
			      "characters");
	for (size_t i = 0; id && i < t->n; i++) {
		if (strcmp(t->g[i].id, id))
			continue;
		rep = json_pack("{s:b,s:o}", "ok", 1, "grant",
				tw_grant_json(&t->g[i]));
		snprintf(reason, sizeof(reason), "%s",
			 why ? why : "revoked before its expiry");
		tw_grant_end(d, i, "revoke", p.name, p.uid, p.pid, reason);
		return rep;
	}
	snprintf(reason, sizeof(reason),
		 "no live grant %s (see `toolwall grants`)", id ? id : "(none)");
	return refuse(reason);
}

json_t *tw_op_grants(struct tw_daemon *d, json_t *req)
{
	json_t *rep = tw_grants_json(d);

	(void)req;
	json_object_set_new(rep, "ok", json_true());
	return rep;
}

/* The quarantine the request names, and its index (or -1). */
static int quarantine_of(struct tw_daemon *d, json_t *req,
			 struct tw_quarantine *q, char *err, size_t len)
{
	const struct tw_revision *r = &d->rev[d->slot];
	const char *ctx = REQ("context"), *call = REQ("call_id");
	struct tw_grants *t = d->grants;

	if (!ctx == !call) {
		snprintf(err, len, "give a CONTEXT or --call-id ID (one)");
		return -EINVAL;
	}
	if (call && !text_ok(call, sizeof(q->call_id) - 1)) {
		snprintf(err, len, "--call-id must be 1-127 characters");
		return -EINVAL;
	}
	if (ctx && (!r->valid || tw_compiled_find(&r->comp, ctx) < 0)) {
		snprintf(err, len, "no context %s in the policy in force", ctx);
		return -ENOENT;
	}
	memset(q, 0, sizeof(*q));
	snprintf(q->context, sizeof(q->context), "%s", ctx ?: "");
	snprintf(q->call_id, sizeof(q->call_id), "%s", call ?: "");
	for (size_t i = 0; i < t->nq; i++)
		if (!strcmp(t->q[i].context, q->context) &&
		    !strcmp(t->q[i].call_id, q->call_id))
			return (int)i;
	return -1;
}

/* Kill what runs in Q's scope: the context's cgroup, or each call's. */
static int quarantine_kill(struct tw_daemon *d, const struct tw_quarantine *q)
{
	const struct tw_revision *r = &d->rev[d->slot];
	char path[4400];
	int killed = 0, ci;

	if (q->context[0]) {
		ci = tw_compiled_find(&r->comp, q->context);
		snprintf(path, sizeof(path), "%s/%s", d->ld.cg_root,
			 r->comp.ctx[ci].cgroup);
		return tw_cg_kill(path) == 0;
	}
	for (size_t i = 0; i < d->ncalls; i++)
		if (!strcmp(d->calls[i].call_id, q->call_id))
			killed += tw_cg_kill(d->calls[i].cgroup) == 0;
	return killed;
}

/* Make the kernel's flags match the live set for Q's scope. */
static void quarantine_sync(struct tw_daemon *d, const struct tw_quarantine *q)
{
	if (q->context[0]) {
		tw_grants_sync_context(d, q->context);
		return;
	}
	for (size_t i = 0; i < d->ncalls; i++)
		if (!strcmp(d->calls[i].call_id, q->call_id))
			tw_grants_sync_call(d, &d->calls[i]);
}

json_t *tw_op_quarantine(struct tw_daemon *d, json_t *req)
{
	struct tw_grants *t = d->grants;
	const char *why = REQ("reason");
	struct tw_quarantine q, *nq;
	uint64_t enforced;
	struct peer p;
	char err[512];
	int i, killed;
	json_t *rec;

	peer_of(req, &p);
	i = quarantine_of(d, req, &q, err, sizeof(err));
	if (i < -1)
		return refuse(err);
	if (i >= 0)
		return refuse("quarantined already (see `toolwall grants`)");
	if (why && !text_ok(why, sizeof(q.reason) - 1))
		return refuse("--reason must be 1-255 characters, no control "
			      "characters");
	snprintf(q.operator_, sizeof(q.operator_), "%s", p.name);
	snprintf(q.reason, sizeof(q.reason), "%s", why ?: "");
	q.since = tw_now_ns(CLOCK_REALTIME);
	q.since_boot = tw_now_ns(CLOCK_BOOTTIME);
	nq = realloc(t->q, (t->nq + 1) * sizeof(*nq));
	if (!nq)
		return refuse("out of memory");
	t->q = nq;
	t->q[t->nq++] = q;
	/* The kernel refuses first (every decision from ENFORCED on sees
	 * the flag), then the processes die. */
	quarantine_sync(d, &q);
	enforced = tw_now_ns(CLOCK_BOOTTIME);
	killed = quarantine_kill(d, &q);
	tw_grants_save(d);
	rec = tw_grants_record(d, "quarantine", NULL, &q);
	record_peer(rec, &p);
	json_object_set_new(rec, "kernel_ns", json_integer((json_int_t)enforced));
	json_object_set_new(rec, "killed", json_integer(killed));
	tw_audit_write(&d->audit, rec);
	return json_pack("{s:b,s:o,s:i}", "ok", 1, "quarantine",
			 json_pack("{s:s?,s:s?,s:s,s:s}", "context",
				   q.context[0] ? q.context : NULL, "call_id",
				   q.call_id[0] ? q.call_id : NULL, "operator",
				   q.operator_, "reason", q.reason),
			 "killed", killed);
}

json_t *tw_op_release(struct tw_daemon *d, json_t *req)
{
	struct tw_grants *t = d->grants;
	struct tw_quarantine q;
	struct peer p;
	char err[512];
	json_t *rec;
	int i;

	peer_of(req, &p);
	i = quarantine_of(d, req, &q, err, sizeof(err));
	if (i == -EINVAL || i == -ENOENT)
		return refuse(err);
	if (i < 0)
		return refuse("not quarantined (see `toolwall grants`)");
	q = t->q[i];
	memmove(&t->q[i], &t->q[i + 1], (t->nq - i - 1) * sizeof(q));
	t->nq--;
	quarantine_sync(d, &q);
	tw_grants_save(d);
	rec = tw_grants_record(d, "release", NULL, &q);
	record_peer(rec, &p);
	json_object_set_new(rec, "quarantined_by", json_string(q.operator_));
	json_object_set_new(rec, "reason", json_string("released"));
	tw_audit_write(&d->audit, rec);
	return json_pack("{s:b,s:{s:s?,s:s?}}", "ok", 1, "quarantine",
			 "context", q.context[0] ? q.context : NULL, "call_id",
			 q.call_id[0] ? q.call_id : NULL);
}

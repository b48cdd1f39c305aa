// SPDX-License-Identifier: GPL-2.0-only
/*
 * control.c - requests on the daemon's control socket (root only):
 *   {"op":"status"}                         health, features, counters
 *   {"op":"reload"}                         atomic policy reload
 *   {"op":"call-start","context":C,"call_id":I,"requester":R}
 *                                           a cgroup for one tool call, and
 *                                           what it may hold and reach
 *                                           (credential names and store
 *                                           paths, never their values)
 *                                           and its limits (v1 cgroups
 *                                           for its first process to join)
 *   {"op":"call-end","cgid":N}              its denials and the limits it
 *                                           ran into, for the summary
 *   {"op":"stop"}                           exit (enforcement stays)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cgroups.h"
#include "daemon.h"
#include "fsexplain.h"
#include "kaudit.h"
#include "cglimits.h"
#include "maps.h"
#include "toolwall.h"
#include "util.h"

static json_t *fail(const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

static json_t *do_status(struct tw_daemon *d)
{
	const struct tw_revision *r = &d->rev[d->slot];
	uint64_t stats[TW_STAT_MAX] = {};
	struct tw_state st = {};
	json_t *ctxs = json_array();

	tw_maps_stats(&d->ld.maps, stats);
	tw_maps_state(&d->ld.maps, &st);
	for (size_t i = 0; r->valid && i < r->comp.nctx; i++) {
		const struct tw_context *c = &r->comp.ctx[i];
		size_t ncalls = 0;

		for (size_t k = 0; k < d->ncalls; k++)
			ncalls += !strcmp(d->calls[k].context, c->name);
		json_array_append_new(
			ctxs,
			json_pack("{s:s,s:s,s:s,s:I,s:i,s:i}", "name", c->name,
				  "mode",
				  c->mode == TW_MODE_AUDIT ? "audit" : "enforce",
				  "cgroup", c->cgroup, "cgroup_id",
				  (json_int_t)r->ctx_cgid[i], "rules",
				  (int)c->nrules, "calls", (int)ncalls));
	}
	return json_pack(
		"{s:b,s:{s:i,s:s,s:s,s:s,s:I,s:b},s:s,s:s?,s:i,s:I,s:o,"
		"s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}}",
		"ok", 1, "daemon", "pid", (int)getpid(), "policy",
		d->policy_path, "audit_log", d->audit_path, "cgroup_root",
		d->ld.cg_root, "uptime_s",
		(json_int_t)((tw_now_ns(CLOCK_REALTIME) - d->started_ns) /
			     1000000000ull),
		"adopted", d->ld.adopted, "features", d->ld.features,
		"policy_rev", r->valid ? r->comp.revision : NULL, "slot",
		(int)d->slot, "generation", (json_int_t)st.generation,
		"contexts", ctxs, "counters", "allowed",
		(json_int_t)stats[TW_STAT_ALLOWED], "denied",
		(json_int_t)stats[TW_STAT_DENIED], "audited",
		(json_int_t)stats[TW_STAT_AUDITED], "no_context",
		(json_int_t)stats[TW_STAT_NOCTX], "events_lost",
		(json_int_t)stats[TW_STAT_LOST], "events",
		(json_int_t)d->events, "records_written",
		(json_int_t)d->audit.written, "records_failed",
		(json_int_t)d->audit.failed, "reloads", (json_int_t)d->reloads,
		"reloads_refused", (json_int_t)d->reloads_failed);
}

static json_t *dns_status(struct tw_daemon *d)
{
	const struct tw_dns_stats *s = &d->dns;
	uint64_t stats[TW_STAT_MAX] = {};
	json_t *learned = json_array();

	tw_maps_stats(&d->ld.maps, stats);
	for (size_t i = 0; i < d->nlearned; i++) {
		const struct tw_learned *l = &d->learned[i];
		char a[64], ports[128];
		int64_t left = (int64_t)(l->expires_ns -
					 tw_now_ns(CLOCK_MONOTONIC)) /
			       1000000000;

		tw_addr_str(l->e.family, l->e.addr, a, sizeof(a));
		tw_ports_str(l->e.ports, l->e.nports, ports, sizeof(ports));
		json_array_append_new(
			learned,
			json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "context",
				  l->context, "name", l->name, "addr", a,
				  "proto", l->e.proto == 6 ? "tcp" : "udp",
				  "ports", ports, "expires_in_s",
				  (json_int_t)(left > 0 ? left : 0)));
	}
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
			 "s:o}",
			 "queries", (json_int_t)s->queries, "answered",
			 (json_int_t)s->answered, "nxdomain",
			 (json_int_t)s->nxdomain, "refused",
			 (json_int_t)s->refused, "rebinding",
			 (json_int_t)s->rebinding, "servfail",
			 (json_int_t)s->servfail, "tcp", (json_int_t)s->tcp,
			 "truncated", (json_int_t)s->truncated, "learned",
			 (json_int_t)s->learned, "expired",
			 (json_int_t)s->expired, "redirected",
			 (json_int_t)stats[TW_STAT_DNS], "granted_by_learned",
			 (json_int_t)stats[TW_STAT_LEARNED], "addresses",
			 learned);
}

static json_t *syscall_audit_status(struct tw_daemon *d)
{
	uint64_t ps[TW_PSTAT_MAX] = {};

	int on = d->kaudit_fd >= 0 ? d->kaudit_enabled : -1;

	tw_maps_percpu_sum(d->ld.maps.proc_stats, ps, TW_PSTAT_MAX);
	return json_pack(
		"{s:b,s:I,s:I,s:I,s:I,s:{s:b,s:o,s:I,s:I,s:s?}}", "watching",
		d->ld.watching, "execs", (json_int_t)ps[TW_PSTAT_EXEC],
		"denied", (json_int_t)ps[TW_PSTAT_DENIED], "lost",
		(json_int_t)ps[TW_PSTAT_LOST], "events",
		(json_int_t)d->proc_events, "landlock_audit", "listening",
		d->kaudit_fd >= 0, "kernel_audit_enabled",
		on < 0 ? json_null() : json_boolean(on), "records",
		(json_int_t)d->kaudit_records, "overruns",
		(json_int_t)d->kaudit_overruns, "unavailable",
		d->kaudit_fd >= 0 ? NULL : d->kaudit_why);
}

static json_t *do_reload(struct tw_daemon *d)
{
	json_t *errs = NULL;

	if (tw_daemon_reload(d, &errs))
		return json_pack("{s:b,s:s,s:o,s:s}", "ok", 0, "error",
				 "policy refused; the policy in force stays",
				 "errors", errs ? errs : json_array(),
				 "policy_rev", d->rev[d->slot].comp.revision);
	return json_pack("{s:b,s:s}", "ok", 1, "policy_rev",
			 d->rev[d->slot].comp.revision);
}

static bool printable(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static void add_path(const char *path, void *arr)
{
	json_array_append_new(arr, json_string(path));
}

/*
 * What the launcher needs to confine one call beyond its cgroup: the
 * context's credentials (name and store path, never a value: the launcher
 * reads the stores itself, as root), repositories, skills, instructions,
 * the workspace's system paths and agent account, and every path no call
 * may reach (all credential stores of the policy, the daemon's state).
 */
static json_t *call_access(struct tw_daemon *d, const struct tw_revision *r,
			   const struct tw_context *c)
{
	const struct tw_policy *pol = r->comp.pol;
	const struct tw_workspace *ws = &pol->workspaces[c->workspace];
	json_t *prot = json_array(), *sys = json_array(), *o;

	/* The effective list: the workspace's, or the documented default. */
	for (size_t i = 0; i < ws->nsystem_paths; i++)
		json_array_append_new(sys, json_string(ws->system_paths[i]));
	for (size_t i = 0; !ws->nsystem_paths && tw_default_system_paths[i]; i++)
		json_array_append_new(sys,
				      json_string(tw_default_system_paths[i]));
	tw_fs_protected_each(&r->comp, d->policy_real, add_path, prot);
	o = tw_context_access_json(&r->comp, c);
	json_object_update_new(o, json_pack("{s:s?,s:o,s:o}", "agent_user",
					    ws->agent_user, "system_paths",
					    sys, "protected", prot));
	return o;
}

/*
 * Put the limits of context C on the call cgroup V2CALL (REL below the
 * toolwall root). Returns the v1 cgroups its first process must join, or
 * NULL with WHY: a call that cannot be limited is not started (a fork
 * bomb in it would take the host with it).
 */
static json_t *call_limits(const struct tw_context *c, const char *v2call,
			   const char *rel, char *why, size_t len)
{
	struct tw_limit_ctl lc;
	struct tw_limit_join j;
	const char *what;
	char w[2][PATH_MAX + 32];
	json_t *a;
	int err;

	err = tw_limits_probe(&lc);
	if (err) {
		snprintf(why, len,
			 "cannot limit tool calls on this host: pids in %s, "
			 "memory in %s (a cgroup2 mount offering the controller "
			 "or a cgroup v1 mount with it is needed); the tool "
			 "call was not started",
			 tw_limits_where(&lc, TW_LIM_PIDS, w[0], sizeof(w[0])),
			 tw_limits_where(&lc, TW_LIM_MEMORY, w[1],
					 sizeof(w[1])));
		return NULL;
	}
	err = tw_limits_apply(&lc, v2call, rel, c->limits.pids,
			      c->limits.memory, &j, &what);
	if (err) {
		tw_limits_remove(&lc, rel);
		snprintf(why, len,
			 "cannot set the call's limits (%s): %s; the tool call "
			 "was not started",
			 what, strerror(-err));
		return NULL;
	}
	a = json_array();
	for (int i = 0; a && i < j.n; i++)
		json_array_append_new(a, json_string(j.path[i]));
	if (!a) {
		tw_limits_remove(&lc, rel);
		snprintf(why, len, "out of memory");
	}
	return a;
}

static void call_limits_undo(const char *rel, json_t *join)
{
	struct tw_limit_ctl lc;

	json_decref(join);
	tw_limits_probe(&lc);
	tw_limits_remove(&lc, rel);
}

/*
 * What the call ran into at its limits: a `limit` record for each kind,
 * and the same for its summary. The counters are the kernel's, read at
 * call end (a fork refused later by a lingering process is not counted).
 */
static json_t *call_limit_hits(struct tw_daemon *d, struct tw_call *call)
{
	const struct tw_revision *r = &d->rev[d->slot];
	const struct tw_context *x = NULL;
	size_t rl = strlen(d->ld.cg_root);
	struct tw_limit_hits h;
	struct tw_limit_ctl lc;
	json_t *out = json_array();
	char mem[32];
	int ci;

	if (strncmp(call->cgroup, d->ld.cg_root, rl) || call->cgroup[rl] != '/')
		return out;
	tw_limits_probe(&lc);
	tw_limits_hits(&lc, call->cgroup, call->cgroup + rl + 1, &h);
	ci = r->valid ? tw_compiled_find(&r->comp, call->context) : -1;
	if (ci >= 0)
		x = &r->comp.ctx[ci];
	for (int k = 0; k < 2; k++) {
		uint64_t n = k ? h.oom_kills : h.pids_max;
		char reason[256];
		json_t *rec;

		if (!n)
			continue;
		if (k) {
			tw_size_str(x ? x->limits.memory : 0, mem, sizeof(mem));
			snprintf(reason, sizeof(reason),
				 "the call reached its memory limit (%s): the "
				 "kernel's OOM killer ended %llu of its "
				 "processes",
				 x ? mem : "?", (unsigned long long)n);
		} else {
			snprintf(reason, sizeof(reason),
				 "the call reached its process limit (%llu): "
				 "%llu forks or threads were refused (EAGAIN)",
				 (unsigned long long)(x ? x->limits.pids : 0),
				 (unsigned long long)n);
		}
		rec = tw_audit_record(&d->audit, "limit", 0);
		tw_record_where(rec, x ? &r->pol : NULL, x, call);
		json_object_set_new(rec, "pid", json_null());
		json_object_set_new(rec, "uid", json_null());
		json_object_set_new(rec, "comm", json_null());
		json_object_set_new(rec, "action",
				    json_string(k ? "memory" : "fork"));
		json_object_set_new(
			rec, "limit",
			x ? json_integer((json_int_t)(k ? x->limits.memory :
							  x->limits.pids)) :
			    json_null());
		json_object_set_new(rec, "count", json_integer((json_int_t)n));
		json_object_set_new(rec, "reason", json_string(reason));
		json_object_set_new(rec, "hint",
				    json_string("raise \"limits\" on the "
						"context in the policy"));
		json_object_set_new(rec, "policy_rev",
				    x ? json_string(r->comp.revision) :
					json_null());
		tw_audit_write(&d->audit, rec);
		json_array_append_new(out,
				      json_pack("{s:s,s:I,s:s}", "what",
						k ? "memory" : "pids", "count",
						(json_int_t)n, "reason",
						reason));
	}
	return out;
}

static json_t *do_call_start(struct tw_daemon *d, json_t *req)
{
	const struct tw_revision *r = &d->rev[d->slot];
	const char *ctx = json_string_value(json_object_get(req, "context"));
	const char *id = json_string_value(json_object_get(req, "call_id"));
	const char *who = json_string_value(json_object_get(req, "requester"));
	struct tw_call call = {}, *nc;
	char rel[4096], gen[40], why[PATH_MAX + 512];
	json_t *ljoin;
	const struct tw_context *c;
	int ci, ret;

	if (!ctx)
		return fail("%s", "call-start needs a context");
	ci = tw_compiled_find(&r->comp, ctx);
	if (ci < 0)
		return fail("no context %s in the policy in force", ctx);
	c = &r->comp.ctx[ci];
	if (id && *id && !printable(id, sizeof(call.call_id) - 1))
		return fail("%s", "call id must be 1-127 printable characters");
	if (who && *who && !printable(who, sizeof(call.requester) - 1))
		return fail("%s", "requester must be 1-127 printable characters");
	if (!id || !*id) {
		unsigned char rnd[6] = {};

		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			memset(rnd, 0, sizeof(rnd));
		snprintf(gen, sizeof(gen), "call-%02x%02x%02x%02x%02x%02x",
			 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
		id = gen;
	}

	/* The call's refused syscalls are recorded from its first one on. */
	if (tw_loader_watch_syscalls(&d->ld, true, why, sizeof(why)))
		return fail("cannot start the syscall audit: %s", why);

	d->next_call++;
	snprintf(rel, sizeof(rel), "%s/call-%llu", c->cgroup,
		 (unsigned long long)d->next_call);
	ret = tw_cg_make(d->ld.cg_root, rel, &call.cgid);
	if (ret)
		return fail("cannot create the call cgroup: %s",
			    strerror(-ret));
	snprintf(call.cgroup, sizeof(call.cgroup), "%s/%s", d->ld.cg_root, rel);
	ljoin = call_limits(c, call.cgroup, rel, why, sizeof(why));
	if (!ljoin) {
		rmdir(call.cgroup);
		return fail("%s", why);
	}
	snprintf(call.context, sizeof(call.context), "%s", c->name);
	snprintf(call.call_id, sizeof(call.call_id), "%s", id);
	snprintf(call.requester, sizeof(call.requester), "%s", who ? who : "");
	call.started_ns = tw_now_ns(CLOCK_REALTIME);
	ret = tw_maps_add_cgroup(&d->ld.maps, d->slot, call.cgid, (uint32_t)ci,
				 tw_mode_abi(c->mode));
	if (ret) {
		call_limits_undo(rel, ljoin);
		rmdir(call.cgroup);
		return fail("cannot map the call cgroup: %s", strerror(-ret));
	}
	nc = realloc(d->calls, (d->ncalls + 1) * sizeof(*nc));
	if (!nc) {
		tw_maps_del_cgroup(&d->ld.maps, call.cgid);
		call_limits_undo(rel, ljoin);
		rmdir(call.cgroup);
		return fail("%s", "out of memory");
	}
	d->calls = nc;
	d->calls[d->ncalls++] = call;
	tw_call_secrets_load(d, &d->calls[d->ncalls - 1]);
	tw_calls_save(d);

	json_t *rep = json_pack("{s:b,s:s,s:I,s:s,s:s,s:s,s:s,s:s}", "ok", 1,
				"cgroup", call.cgroup, "cgid",
				(json_int_t)call.cgid, "call_id", call.call_id,
				"context", c->name, "run_as",
				c->run_as ? c->run_as : "", "mode",
				c->mode == TW_MODE_AUDIT ? "audit" : "enforce",
				"policy_rev", r->comp.revision);

	if (rep)
		json_object_set_new(
			rep, "limits",
			json_pack("{s:I,s:I,s:o}", "pids",
				  (json_int_t)c->limits.pids, "memory",
				  (json_int_t)c->limits.memory, "cgroups",
				  ljoin));
	else
		json_decref(ljoin);
	if (rep)
		json_object_update_missing_new(rep, call_access(d, r, c));
	return rep;
}

static json_t *do_call_end(struct tw_daemon *d, json_t *req)
{
	uint64_t cgid = json_integer_value(json_object_get(req, "cgid"));
	struct tw_call *c;
	json_t *den;
	int left;

	/* Every event of the call was queued before its syscall returned. */
	tw_daemon_drain(d);
	c = tw_call_find(d, cgid);
	if (!c)
		return fail("%s", "no such call");
	den = json_array();
	for (size_t i = 0; i < c->ndenials; i++) {
		const struct tw_call_denial *x = &c->denials[i];

		json_array_append_new(den, json_pack("{s:s,s:s,s:s,s:I}", "what",
						     x->what, "reason", x->reason,
						     "hint", x->hint, "count",
						     (json_int_t)x->count));
	}
	c->ended = true;
	left = tw_cg_nprocs(c->cgroup);
	json_t *rep = json_pack("{s:b,s:s,s:o,s:i,s:o}", "ok", 1, "call_id",
				c->call_id, "denials", den, "lingering",
				left > 0 ? left : 0, "limits_hit",
				call_limit_hits(d, c));
	if (left <= 0 && tw_cg_remove_tree(c->cgroup, NULL) == 0)
		tw_call_forget(d, c);
	else
		tw_calls_save(d);
	return rep;
}

/* Where per-call limits are enforced on this host (probed now). */
static json_t *limits_status(void)
{
	struct tw_limit_ctl lc;
	char w[PATH_MAX + 32];
	json_t *o;
	int err = tw_limits_probe(&lc);

	o = json_pack("{s:b}", "ok", err == 0);
	for (int r = 0; o && r < TW_LIM_N; r++)
		json_object_set_new(o, tw_limits_name(r),
				    json_string(tw_limits_where(
					    &lc, r, w, sizeof(w))));
	return o;
}

json_t *tw_handle_request(struct tw_daemon *d, json_t *req)
{
	const char *op = json_string_value(json_object_get(req, "op"));

	if (!op)
		return fail("%s", "request has no op");
	if (!strcmp(op, "status")) {
		json_t *st = do_status(d);

		json_object_set_new(st, "dns", dns_status(d));
		json_object_set_new(st, "syscall_audit", syscall_audit_status(d));
		json_object_set_new(st, "limits", limits_status());
		return st;
	}
	if (!strcmp(op, "reload"))
		return do_reload(d);
	if (!strcmp(op, "call-start"))
		return do_call_start(d, req);
	if (!strcmp(op, "call-end"))
		return do_call_end(d, req);
	if (!strcmp(op, "stop")) {
		d->stop = true; /* enforcement stays: pins outlive us */
		return json_pack("{s:b}", "ok", 1);
	}
	return fail("unknown op %s", op);
}

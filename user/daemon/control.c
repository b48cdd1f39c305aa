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
 *   {"op":"call-end","cgid":N}              its denials, for the summary
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

static json_t *do_call_start(struct tw_daemon *d, json_t *req)
{
	const struct tw_revision *r = &d->rev[d->slot];
	const char *ctx = json_string_value(json_object_get(req, "context"));
	const char *id = json_string_value(json_object_get(req, "call_id"));
	const char *who = json_string_value(json_object_get(req, "requester"));
	struct tw_call call = {}, *nc;
	char rel[4096], gen[40], why[512];
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
	snprintf(call.context, sizeof(call.context), "%s", c->name);
	snprintf(call.call_id, sizeof(call.call_id), "%s", id);
	snprintf(call.requester, sizeof(call.requester), "%s", who ? who : "");
	call.started_ns = tw_now_ns(CLOCK_REALTIME);
	ret = tw_maps_add_cgroup(&d->ld.maps, d->slot, call.cgid, (uint32_t)ci,
				 tw_mode_abi(c->mode));
	if (ret) {
		rmdir(call.cgroup);
		return fail("cannot map the call cgroup: %s", strerror(-ret));
	}
	nc = realloc(d->calls, (d->ncalls + 1) * sizeof(*nc));
	if (!nc) {
		tw_maps_del_cgroup(&d->ld.maps, call.cgid);
		rmdir(call.cgroup);
		return fail("%s", "out of memory");
	}
	d->calls = nc;
	d->calls[d->ncalls++] = call;
	tw_call_secrets_load(d, &d->calls[d->ncalls - 1]);
	tw_calls_save(d);

	json_t *rep = json_pack("{s:b,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:b}", "ok",
				1, "cgroup", call.cgroup, "cgid",
				(json_int_t)call.cgid, "call_id", call.call_id,
				"context", c->name, "run_as",
				c->run_as ? c->run_as : "", "mode",
				c->mode == TW_MODE_AUDIT ? "audit" : "enforce",
				"policy_rev", r->comp.revision, "background",
				c->background);

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
	json_t *rep = json_pack("{s:b,s:s,s:o,s:i}", "ok", 1, "call_id",
				c->call_id, "denials", den, "lingering",
				left > 0 ? left : 0);
	if (left <= 0 && tw_cg_remove_tree(c->cgroup, NULL) == 0)
		tw_call_forget(d, c);
	else
		tw_calls_save(d);
	return rep;
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

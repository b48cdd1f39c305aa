// SPDX-License-Identifier: GPL-2.0-only
/*
 * control.c - the daemon's control socket (root only): its clients, and
 * the requests they make, one JSON line each, answered with one line:
 *   {"op":"hello"}                          protocol version, operations
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
 * Every reply carries "v"; toolwall-protocol(7) is the reference.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "brokerd.h"
#include "callfilter.h"
#include "cglimits.h"
#include "cgroups.h"
#include "control.h"
#include "dns.h"
#include "fsexplain.h"
#include "grants.h"
#include "kaudit.h"
#include "launchsock.h"
#include "learned.h"
#include "maps.h"
#include "state.h"
#include "statusjson.h"
#include "sysaudit.h"
#include "toolwall.h"
#include "util.h"

static json_t *fail(const char *fmt, const char *arg)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, arg);
	return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

static json_t *do_reload(struct tw_daemon *d)
{
	json_t *errs = NULL;

	if (d->reload(d, &errs))
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
			   const struct tw_context *c, const char *call_id)
{
	const struct tw_policy *pol = r->comp.pol;
	const struct tw_workspace *ws = &pol->workspaces[c->workspace];
	json_t *prot = json_array(), *sys = json_array(), *o;
	struct tw_context granted;
	int g;

	/* The effective list: the workspace's, or the documented default. */
	for (size_t i = 0; i < ws->nsystem_paths; i++)
		json_array_append_new(sys, json_string(ws->system_paths[i]));
	for (size_t i = 0; !ws->nsystem_paths && tw_default_system_paths[i]; i++)
		json_array_append_new(sys,
				      json_string(tw_default_system_paths[i]));
	tw_fs_protected_each(&r->comp, d->policy_real, add_path, prot);
	/* what live grants add, for a call that starts now */
	g = tw_grants_call_context(d, &r->comp, c, call_id, &granted);
	o = tw_context_access_json(&r->comp, g > 0 ? &granted : c);
	if (g > 0)
		tw_context_free(&granted);
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

/* The calls' seccomp program (callfilter.h), compiled once; NULL: the
 * launcher compiles it itself. */
static const char *call_filter(struct tw_daemon *d)
{
	struct tw_callfilter f;
	char why[256];

	if (d->call_filter)
		return d->call_filter;
	if (tw_callfilter_build(&f, why, sizeof(why))) {
		tw_warn("%s; launchers compile it themselves", why);
		return NULL;
	}
	d->call_filter = tw_callfilter_b64(&f);
	tw_callfilter_free(&f);
	return d->call_filter;
}

static json_t *do_call_start(struct tw_daemon *d, json_t *req)
{
	const struct tw_revision *r = &d->rev[d->slot];
	const char *ctx = json_string_value(json_object_get(req, "context"));
	const char *id = json_string_value(json_object_get(req, "call_id"));
	const char *who = json_string_value(json_object_get(req, "requester"));
	json_t *lu = json_object_get(req, "launcher_uid");
	struct tw_call call = { .launcher_uid = json_is_integer(lu) ?
							json_integer_value(lu) :
							-1 },
		       *nc;
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
	if (!tw_grants_call_ok(d, c->name, id, why, sizeof(why)))
		return fail("%s", why);
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
	tw_grants_call_started(d, &d->calls[d->ncalls - 1]);
	tw_call_secrets_load(d, &d->calls[d->ncalls - 1]);
	d->calls_dirty = true; /* saved once the reply has gone */

	json_t *rep = json_pack("{s:b,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:b}", "ok",
				1, "cgroup", call.cgroup, "cgid",
				(json_int_t)call.cgid, "call_id", call.call_id,
				"context", c->name, "run_as",
				c->run_as ? c->run_as : "", "mode",
				c->mode == TW_MODE_AUDIT ? "audit" : "enforce",
				"policy_rev", r->comp.revision, "background",
				c->background);

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
		json_object_update_missing_new(rep, call_access(d, r, c, call.call_id));
	if (rep && call_filter(d))
		json_object_set_new(rep, "seccomp", json_string(d->call_filter));
	nc = &d->calls[d->ncalls - 1];
	if (rep && tw_brokerd_call_start(d, nc,
					 json_object_get(rep, "credentials"))) {
		json_decref(rep);
		return fail("%s", "cannot make the call's placeholders");
	}
	/* Brokered: the call trusts the broker's CA (plus the system's). */
	if (rep && nc->brokered && d->broker && d->broker->bundle[0])
		json_object_set_new(rep, "ca_bundle",
				    json_string(d->broker->bundle));
	return rep;
}

static json_t *do_call_end(struct tw_daemon *d, json_t *req)
{
	uint64_t cgid = json_integer_value(json_object_get(req, "cgid"));
	struct tw_call *c;
	json_t *den;
	int left;

	/* Every event of the call was queued before its syscall returned. */
	d->drain(d);
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
	/* what the call is told goes to transcripts: no values there either */
	tw_audit_redact(&d->audit, den);
	c->ended = true;
	tw_brokerd_call_end(d, c); /* its placeholders die with it */
	left = tw_cg_nprocs(c->cgroup);
	json_t *rep = json_pack("{s:b,s:s,s:s,s:o,s:i,s:o}", "ok", 1,
				"call_id", c->call_id, "context", c->context,
				"denials", den, "lingering",
				left > 0 ? left : 0, "limits_hit",
				call_limit_hits(d, c));
	/* its cgroups go once the reply has gone (tw_calls_settle) */
	d->calls_dirty = true;
	return rep;
}

static json_t *control_status(struct tw_daemon *d);

static json_t *do_status_all(struct tw_daemon *d, json_t *req)
{
	json_t *st = tw_status_json(d);

	(void)req;
	json_object_set_new(st, "control", control_status(d));
	return st;
}

static json_t *do_reload_req(struct tw_daemon *d, json_t *req)
{
	(void)req;
	return do_reload(d);
}

static json_t *do_stop(struct tw_daemon *d, json_t *req)
{
	(void)req;
	d->stop = true; /* enforcement stays: pins outlive us */
	return json_pack("{s:b}", "ok", 1);
}

static json_t *do_hello(struct tw_daemon *d, json_t *req);

/* Every operation: the request is read and parsed before, without any
 * lock; the handler runs with d->lock held and does no client I/O. */
static const struct {
	const char *op;
	json_t *(*fn)(struct tw_daemon *d, json_t *req);
} ops[] = {
	{ "hello", do_hello },
	{ "status", do_status_all },
	{ "reload", do_reload_req },
	{ "call-start", do_call_start },
	{ "call-end", do_call_end },
	{ "stop", do_stop },
	{ "grant", tw_op_grant },
	{ "revoke", tw_op_revoke },
	{ "grants", tw_op_grants },
	{ "quarantine", tw_op_quarantine },
	{ "release", tw_op_release },
};

static json_t *do_hello(struct tw_daemon *d, json_t *req)
{
	json_t *names = json_array();

	(void)d;
	(void)req;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		json_array_append_new(names, json_string(ops[i].op));
	return json_pack("{s:b,s:i,s:o,s:I}", "ok", 1, "v", TW_CTL_VERSION,
			 "ops", names, "pid", (json_int_t)getpid());
}

/* Every reply carries the protocol version; a request may name the
 * version it speaks ("v", default 1): another is refused. */
static json_t *handle(struct tw_daemon *d, json_t *req)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	json_t *v = json_object_get(req, "v");

	if (!json_is_object(req))
		return fail("%s", "a request is a JSON object");
	if (v && (!json_is_integer(v) ||
		  json_integer_value(v) != TW_CTL_VERSION))
		return fail("%s", "protocol version not supported (this "
				  "daemon speaks \"v\": 1; send "
				  "{\"op\":\"hello\"} to see)");
	if (!op)
		return fail("%s", "request has no op");
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(op, ops[i].op))
			return ops[i].fn(d, req);
	return fail("unknown op %s", op);
}

json_t *tw_handle_request(struct tw_daemon *d, json_t *req)
{
	json_t *rep = handle(d, req);

	if (rep)
		json_object_set_new(rep, "v", json_integer(TW_CTL_VERSION));
	return rep;
}

/* ---- clients ---------------------------------------------------------
 *
 * The control socket is served by the event loop without ever waiting on
 * a client: sockets are non-blocking, a request is gathered as it comes
 * and parsed without any lock, d->lock is held only while the handler
 * runs, and the reply is written as the client takes it. A client has
 * TW_CTL_CLIENT_MS to send its request and as long to take the reply; at
 * most TW_CTL_CLIENTS are served at once (the oldest one still sending is
 * dropped for a new one); a request is at most TW_CTL_MAX_REQUEST bytes.
 */

struct ctl_client {
	int fd; /* -1: a free slot */
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off;
	bool writing;
	uint64_t since_ns; /* accepted, or its reply started */
};

struct tw_control {
	int ep;
	struct ctl_client c[TW_CTL_CLIENTS];
	uint64_t served, refused, evicted, timeouts, too_large, bad, dropped;
};

static json_t *control_status(struct tw_daemon *d)
{
	const struct tw_control *t = d->ctl;
	int open = 0;

	if (!t)
		return json_null();
	for (int i = 0; i < TW_CTL_CLIENTS; i++)
		open += t->c[i].fd >= 0;
	return json_pack("{s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "clients",
			 open, "max_clients", TW_CTL_CLIENTS, "served",
			 (json_int_t)t->served, "refused",
			 (json_int_t)t->refused, "evicted",
			 (json_int_t)t->evicted, "timeouts",
			 (json_int_t)t->timeouts, "too_large",
			 (json_int_t)t->too_large, "malformed",
			 (json_int_t)t->bad, "dropped", (json_int_t)t->dropped);
}

static void client_close(struct tw_control *t, struct ctl_client *c)
{
	epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static uint64_t mono_ms(void)
{
	return tw_now_ns(CLOCK_MONOTONIC) / 1000000ull;
}

/* Write what the client takes now; close once it has all of it. */
static void client_write(struct tw_control *t, struct ctl_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* EPOLLOUT calls again */
		if (n <= 0) {
			t->dropped++; /* gone before its reply: EPIPE */
			client_close(t, c);
			return;
		}
		c->out_off += n;
	}
	client_close(t, c);
}

/* Turn the client around: from now on it only gets REP. */
static void client_reply(struct tw_control *t, struct ctl_client *c,
			 json_t *rep)
{
	struct epoll_event ev = { .events = EPOLLOUT,
				  .data.u64 = TW_CTL_TAG | (uint64_t)(c - t->c) };
	char *s = json_dumps(rep, JSON_COMPACT);

	json_decref(rep);
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
	if (!s) {
		client_close(t, c);
		return;
	}
	c->out_len = strlen(s);
	s[c->out_len++] = '\n'; /* json_dumps leaves room: the NUL */
	c->out = s;
	c->out_off = 0;
	c->writing = true;
	c->since_ns = mono_ms();
	epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev);
	client_write(t, c);
}

/* One whole request line: parse it (no lock), run it (d->lock held). */
static void client_request(struct tw_daemon *d, struct ctl_client *c,
			   size_t len)
{
	struct tw_control *t = d->ctl;
	json_error_t jerr;
	json_t *req, *rep;

	req = json_loadb(c->in, len, 0, &jerr);
	if (!req || !json_is_object(req)) {
		char msg[256];

		t->bad++;
		snprintf(msg, sizeof(msg), "request is not a JSON object%s%s",
			 req ? "" : ": ", req ? "" : jerr.text);
		json_decref(req);
		client_reply(t, c, fail("%s", msg));
		return;
	}
	/* Who asks, as the kernel says (the operator of grants records). */
	struct ucred cr;
	socklen_t crlen = sizeof(cr);

	if (!getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen))
		json_object_set_new(req, "_peer",
				    json_pack("{s:I,s:I}", "uid",
					      (json_int_t)cr.uid, "pid",
					      (json_int_t)cr.pid));
	else
		json_object_del(req, "_peer");
	pthread_mutex_lock(&d->lock);
	rep = tw_handle_request(d, req);
	pthread_mutex_unlock(&d->lock);
	json_decref(req);
	t->served++;
	client_reply(t, c, rep ? rep : fail("%s", "out of memory"));
	/* A call's start and end reply first; the table on disk and an
	 * ended call's cgroups follow (the launcher waits on neither). */
	pthread_mutex_lock(&d->lock);
	tw_calls_settle(d);
	pthread_mutex_unlock(&d->lock);
}

static void client_read(struct tw_daemon *d, struct ctl_client *c)
{
	struct tw_control *t = d->ctl;

	for (;;) {
		ssize_t n;
		char *nl;

		if (c->in_len == c->in_cap) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 4096;
			char *nb;

			if (c->in_cap >= TW_CTL_MAX_REQUEST) {
				char msg[128];

				t->too_large++;
				snprintf(msg, sizeof(msg),
					 "request longer than %d bytes",
					 TW_CTL_MAX_REQUEST);
				client_reply(t, c, fail("%s", msg));
				return;
			}
			nb = realloc(c->in, cap);
			if (!nb) {
				client_close(t, c);
				return;
			}
			c->in = nb;
			c->in_cap = cap;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len,
			 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (c->in_len)
				t->dropped++; /* half a request, then gone */
			client_close(t, c);
			return;
		}
		nl = memchr(c->in + c->in_len, '\n', n);
		c->in_len += n;
		if (nl) {
			client_request(d, c, nl - c->in);
			return;
		}
	}
}

/* A free slot, or the one of the oldest client still sending (dropped:
 * the likeliest to be stalled). NULL when every client is being answered. */
static struct ctl_client *client_slot(struct tw_control *t)
{
	struct ctl_client *old = NULL;

	for (int i = 0; i < TW_CTL_CLIENTS; i++) {
		struct ctl_client *c = &t->c[i];

		if (c->fd < 0)
			return c;
		if (!c->writing && (!old || c->since_ns < old->since_ns))
			old = c;
	}
	if (old) {
		t->evicted++;
		client_close(t, old);
	}
	return old;
}

static void control_accept(struct tw_daemon *d)
{
	struct tw_control *t = d->ctl;

	for (int k = 0; k < 64; k++) {
		int fd = accept4(d->listen_fd, NULL, NULL,
				 SOCK_CLOEXEC | SOCK_NONBLOCK);
		struct epoll_event ev = { .events = EPOLLIN };
		struct ctl_client *c;

		if (fd < 0)
			return;
		c = client_slot(t);
		if (!c) {
			static const char busy[] =
				"{\"ok\":false,\"error\":\"the daemon is "
				"answering too many clients; try again\"}\n";

			t->refused++;
			(void)!send(fd, busy, sizeof(busy) - 1,
				    MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->since_ns = mono_ms();
		ev.data.u64 = TW_CTL_TAG | (uint64_t)(c - t->c);
		if (epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev))
			client_close(t, c);
		else
			client_read(d, c); /* the request is usually there */
	}
}

void tw_control_event(struct tw_daemon *d, uint64_t tag, uint32_t events)
{
	struct tw_control *t = d->ctl;
	uint64_t i = tag & ~TW_CTL_TAG;
	struct ctl_client *c;

	if (i == TW_CTL_CLIENTS) {
		control_accept(d);
		return;
	}
	if (i > TW_CTL_CLIENTS || t->c[i].fd < 0)
		return;
	c = &t->c[i];
	if (c->writing)
		client_write(t, c);
	else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		client_read(d, c);
}

void tw_control_tick(struct tw_daemon *d)
{
	struct tw_control *t = d->ctl;
	uint64_t now = mono_ms();

	for (int i = 0; t && i < TW_CTL_CLIENTS; i++) {
		struct ctl_client *c = &t->c[i];

		if (c->fd >= 0 && now - c->since_ns >= TW_CTL_CLIENT_MS) {
			t->timeouts++;
			client_close(t, c);
		}
	}
}

int tw_control_open(struct tw_daemon *d, int ep)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u64 = TW_CTL_TAG | TW_CTL_CLIENTS };
	const char *path = tw_control_path();
	struct tw_control *t;
	mode_t old;
	int fd;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (int i = 0; i < TW_CTL_CLIENTS; i++)
		t->c[i].fd = -1;
	t->ep = ep;
	tw_mkdir_p(tw_roots.run, 0700);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		free(t);
		return -errno;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	/* Root only: the socket starts and reloads tool calls. */
	old = umask(0077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, TW_CONTROL_BACKLOG) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		umask(old);
		close(fd);
		free(t);
		return err;
	}
	umask(old);
	d->listen_fd = fd;
	d->ctl = t;
	return 0;
}

void tw_control_close(struct tw_daemon *d)
{
	struct tw_control *t = d->ctl;

	if (!t)
		return;
	/* A reply still in its client's buffer (a `stop`'s): one last send,
	 * without waiting, then every client is closed. */
	for (int i = 0; i < TW_CTL_CLIENTS; i++) {
		struct ctl_client *c = &t->c[i];

		if (c->fd < 0)
			continue;
		if (c->writing)
			(void)!send(c->fd, c->out + c->out_off,
				    c->out_len - c->out_off,
				    MSG_NOSIGNAL | MSG_DONTWAIT);
		client_close(t, c);
	}
	free(t);
	d->ctl = NULL;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * statusjson.c - what the daemon's `status` answers (see statusjson.h):
 * health, features, counters, each subsystem's own status.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "brokerd.h"
#include "cglimits.h"
#include "dns.h"
#include "grants.h"
#include "kaudit.h"
#include "launchsock.h"
#include "learned.h"
#include "maps.h"
#include "statusjson.h"
#include "sysaudit.h"
#include "toolwall.h"
#include "util.h"

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
		struct tw_learned_quota lq =
			tw_learned_quota_of(&d->learned, (uint32_t)i);
		size_t ncalls = 0;

		for (size_t k = 0; k < d->ncalls; k++)
			ncalls += !strcmp(d->calls[k].context, c->name);
		json_array_append_new(
			ctxs,
			json_pack("{s:s,s:s,s:s,s:I,s:i,s:i,s:I,s:I}", "name",
				  c->name, "mode",
				  c->mode == TW_MODE_AUDIT ? "audit" : "enforce",
				  "cgroup", c->cgroup, "cgroup_id",
				  (json_int_t)r->ctx_cgid[i], "rules",
				  (int)c->nrules, "calls", (int)ncalls,
				  "learned", (json_int_t)lq.used,
				  "max_learned", (json_int_t)lq.max));
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

/* Each context's budget of denial events, and what went over it. */
static void budget_status(struct tw_daemon *d, json_t *rep)
{
	json_object_set_new(rep, "event_budget",
			    json_pack("{s:i,s:i,s:I}", "rate",
				      (int)d->budget_rate, "burst",
				      (int)d->budget_burst, "over_budget",
				      (json_int_t)d->budget_lost));
}

static json_t *dns_status(struct tw_daemon *d)
{
	const struct tw_dns_stats *s = &d->dns;
	uint64_t stats[TW_STAT_MAX] = {};
	json_t *learned = json_array();

	tw_maps_stats(&d->ld.maps, stats);
	for (size_t i = 0; i < tw_learned_count(&d->learned); i++) {
		const struct tw_learned *l = tw_learned_at(&d->learned, i);
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
			 "s:I,s:I,s:{s:I,s:I,s:I},s:o}",
			 "queries", (json_int_t)s->queries, "answered",
			 (json_int_t)s->answered, "nxdomain",
			 (json_int_t)s->nxdomain, "refused",
			 (json_int_t)s->refused, "rebinding",
			 (json_int_t)s->rebinding, "servfail",
			 (json_int_t)s->servfail, "tcp", (json_int_t)s->tcp,
			 "truncated", (json_int_t)s->truncated, "learned",
			 (json_int_t)d->learned.learned, "expired",
			 (json_int_t)d->learned.expired, "quota_refused",
			 (json_int_t)d->learned.refused, "dropped_at_reload",
			 (json_int_t)d->learned.dropped, "redirected",
			 (json_int_t)stats[TW_STAT_DNS], "granted_by_learned",
			 (json_int_t)stats[TW_STAT_LEARNED], "tcp_clients",
			 "refused",
			 (json_int_t)__atomic_load_n(&s->tcp_refused,
						     __ATOMIC_RELAXED),
			 "timeouts",
			 (json_int_t)__atomic_load_n(&s->tcp_timeouts,
						     __ATOMIC_RELAXED),
			 "dropped",
			 (json_int_t)__atomic_load_n(&s->tcp_dropped,
						     __ATOMIC_RELAXED),
			 "addresses", learned);
}

/* The resolver's budgets per context (dns.h) and what went over them. */
static json_t *dns_limits(struct tw_daemon *d)
{
	const struct tw_dns_stats *s = &d->dns;

	return json_pack(
		"{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:I,s:I,s:I,s:I}",
		"queries_per_s", (int)d->dns_qps, "queries_burst",
		(int)d->dns_burst, "records_per_s", TW_DNS_RECORDS_PER_S,
		"records_burst", TW_DNS_RECORDS_BURST, "inflight",
		(int)d->dns_inflight, "threads",
		TW_DNS_THREADS, "tcp_per_context", TW_DNS_TCP_PER_CONTEXT,
		"tcp_client_ms", TW_DNS_TCP_CLIENT_MS, "ratelimited",
		(json_int_t)__atomic_load_n(&s->ratelimited, __ATOMIC_RELAXED),
		"busy", (json_int_t)__atomic_load_n(&s->busy, __ATOMIC_RELAXED),
		"formerr", (json_int_t)s->formerr, "notimp",
		(json_int_t)s->notimp);
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

/* Everything `status` answers but the control socket's own clients. */
json_t *tw_status_json(struct tw_daemon *d)
{
	json_t *st = do_status(d);

	json_object_set_new(st, "dns", dns_status(d));
	json_object_set_new(json_object_get(st, "dns"), "limits",
			    dns_limits(d));
	json_object_set_new(st, "syscall_audit", syscall_audit_status(d));
	json_object_set_new(st, "launch", tw_launch_status(d));
	json_object_set_new(st, "limits", limits_status());
	budget_status(d, st);
	json_object_set_new(st, "broker", tw_brokerd_status(d));
	json_object_set_new(st, "syslog", tw_syslog_status(d->audit.sl));
	json_object_update_new(st, tw_grants_json(d));
	return st;
}

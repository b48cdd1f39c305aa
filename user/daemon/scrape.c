// SPDX-License-Identifier: GPL-2.0-only
/*
 * scrape.c - what GET /metrics answers (scrape.h).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brokerd.h"
#include "ctxstats.h"
#include "maps.h"
#include "scrape.h"
#include "state.h"
#include "util.h"

#ifndef TW_VERSION
#error "TW_VERSION: the Makefile passes it"
#endif

/* One context's numbers, one row per source before the merge. */
struct snap_ctx {
	char name[160];
	uint64_t allowed, denied, audited, running;
};

struct snap {
	uint64_t stats[TW_STAT_MAX], pstats[TW_PSTAT_MAX];
	struct tw_dns_stats dns;
	uint64_t learned, expired, quota_refused, dropped, learned_now;
	bool broker;
	uint64_t broker_up;
	uint64_t bk_starts, bk_requests, bk_refused, bk_failed, bk_deaths;
	uint64_t reloads, refused, reloaded_ns, started_ns, over_budget;
	uint64_t written, failed, calls_started, scrapes;
	char revision[65];
	uint64_t generation, contexts;
	struct snap_ctx *ctx;
	size_t nctx, cap;
};

static struct snap_ctx *snap_row(struct snap *s, const char *name)
{
	if (s->nctx == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct snap_ctx *v = realloc(s->ctx, cap * sizeof(*v));

		if (!v)
			return NULL;
		s->ctx = v;
		s->cap = cap;
	}
	memset(&s->ctx[s->nctx], 0, sizeof(s->ctx[0]));
	snprintf(s->ctx[s->nctx].name, sizeof(s->ctx[0].name), "%s", name);
	return &s->ctx[s->nctx++];
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct snap_ctx *)a)->name,
		      ((const struct snap_ctx *)b)->name);
}

/* Sort the rows by name and add up the rows of one name. */
static void snap_merge(struct snap *s)
{
	size_t o = 0;

	if (!s->nctx)
		return;
	qsort(s->ctx, s->nctx, sizeof(s->ctx[0]), by_name);
	for (size_t i = 1; i < s->nctx; i++) {
		struct snap_ctx *a = &s->ctx[o], *b = &s->ctx[i];

		if (strcmp(a->name, b->name)) {
			s->ctx[++o] = *b;
			continue;
		}
		a->allowed += b->allowed;
		a->denied += b->denied;
		a->audited += b->audited;
		a->running += b->running;
	}
	s->nctx = o + 1;
}

/* A row per context of each slot's revision, its kernel counters; with
 * TAKE (SLOT only) they are zeroed in the kernel. d->lock held. */
static void slot_rows(struct tw_daemon *d, int slot, struct snap *s,
		      bool take)
{
	const struct tw_revision *r = &d->rev[slot];

	for (size_t i = 0; r->valid && i < r->comp.nctx; i++) {
		struct tw_ctx_stat cs;
		struct snap_ctx *row;

		if (tw_ctxstats_read(d->ld.maps.ctx_stats,
				     TW_CTX_KEY(slot, i), &cs, take))
			continue;
		row = snap_row(s, r->comp.ctx[i].name);
		if (!row)
			return;
		row->allowed = cs.allowed;
		row->denied = cs.denied;
		row->audited = cs.audited;
	}
}

static void taken_rows(const struct tw_scrape *m, struct snap *s)
{
	for (size_t i = 0; i < m->ntaken; i++) {
		struct snap_ctx *row = snap_row(s, m->taken[i].name);

		if (!row)
			return;
		row->allowed = m->taken[i].allowed;
		row->denied = m->taken[i].denied;
		row->audited = m->taken[i].audited;
	}
}

void tw_scrape_refill(struct tw_daemon *d, struct tw_scrape *m, int slot)
{
	struct snap s = {};
	struct tw_scrape_ctx *v;

	if (!m->started || !d->rev[slot].valid)
		return;
	taken_rows(m, &s);
	slot_rows(d, slot, &s, true);
	snap_merge(&s);
	v = realloc(m->taken, (s.nctx ? s.nctx : 1) * sizeof(*v));
	if (v) { /* else: the old totals stay; this slot's counts are lost */
		m->taken = v;
		m->ntaken = s.nctx;
		for (size_t i = 0; i < s.nctx; i++) {
			snprintf(v[i].name, sizeof(v[i].name), "%s",
				 s.ctx[i].name);
			v[i].allowed = s.ctx[i].allowed;
			v[i].denied = s.ctx[i].denied;
			v[i].audited = s.ctx[i].audited;
		}
	}
	free(s.ctx);
}

void tw_scrape_zero(struct tw_daemon *d, struct tw_scrape *m)
{
	tw_maps_stats(&d->ld.maps, m->base_stats);
	tw_maps_percpu_sum(d->ld.maps.proc_stats, m->base_pstats,
			   TW_PSTAT_MAX);
	tw_ctxstats_clear(d->ld.maps.ctx_stats);
	free(m->taken);
	m->taken = NULL;
	m->ntaken = 0;
	m->base_calls = d->next_call;
	m->base_reloads = d->reloads;
	m->base_refused = d->reloads_failed;
	m->started = true;
}

void tw_scrape_free(struct tw_scrape *s)
{
	free(s->taken);
	s->taken = NULL;
	s->ntaken = 0;
}

#define DNS(f) offsetof(struct tw_dns_stats, f)
static const struct {
	const char *name, *help;
	size_t off;
} dns_counters[] = {
	{ "queries", "Queries the resolver received (UDP and TCP).",
	  DNS(queries) },
	{ "answered", "Queries answered with the upstream's answer.",
	  DNS(answered) },
	{ "nxdomain", "Queries answered NXDOMAIN.", DNS(nxdomain) },
	{ "refused", "Queries refused (a name the context may not resolve, "
		     "or an answer refused).", DNS(refused) },
	{ "rebinding_refused", "Answers refused because they pointed a "
			       "public name at a private address.",
	  DNS(rebinding) },
	{ "servfail", "Queries answered SERVFAIL: the upstream failed or "
		      "did not answer in time.", DNS(servfail) },
	{ "formerr", "Malformed queries (FORMERR).", DNS(formerr) },
	{ "notimp", "Queries of an opcode or type not served (NOTIMP).",
	  DNS(notimp) },
	{ "tcp_queries", "Queries over TCP.", DNS(tcp) },
	{ "truncated", "UDP answers sent truncated (the client retries over "
		       "TCP).", DNS(truncated) },
	{ "ratelimited", "Queries over a context's query rate.",
	  DNS(ratelimited) },
	{ "busy", "Queries over a context's upstream lookups at once.",
	  DNS(busy) },
	{ "tcp_clients_refused", "TCP clients refused over the connection "
				 "limits.", DNS(tcp_refused) },
	{ "tcp_clients_timed_out", "TCP clients closed at their deadline.",
	  DNS(tcp_timeouts) },
	{ "tcp_clients_dropped", "TCP clients that went away mid-query or "
				 "mid-answer.", DNS(tcp_dropped) },
};

static uint64_t atomic_u64(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

/* What the daemon holds (not the kernel's counters). d->lock held. */
static void snap_daemon(struct tw_daemon *d, const struct tw_scrape *m,
			struct snap *s)
{
	const struct tw_revision *r = &d->rev[d->slot];
	struct tw_state st = {};

	/* Some are counted without the lock: every one is read atomically. */
	for (size_t i = 0; i < sizeof(dns_counters) / sizeof(dns_counters[0]);
	     i++)
		*(uint64_t *)((char *)&s->dns + dns_counters[i].off) =
			atomic_u64((const uint64_t *)((const char *)&d->dns +
						      dns_counters[i].off));
	s->learned = d->learned.learned;
	s->expired = d->learned.expired;
	s->quota_refused = d->learned.refused;
	s->dropped = d->learned.dropped;
	s->learned_now = tw_learned_count(&d->learned);
	if ((s->broker = d->broker != NULL)) {
		s->broker_up = d->broker->ready;
		s->bk_starts = d->broker->starts;
		s->bk_requests = d->broker->requests;
		s->bk_refused = d->broker->refused;
		s->bk_failed = d->broker->failed;
		s->bk_deaths = d->broker->deaths;
	}
	s->reloads = d->reloads - m->base_reloads;
	s->refused = d->reloads_failed - m->base_refused;
	s->reloaded_ns = d->reloaded_ns;
	s->started_ns = d->started_ns;
	s->over_budget = d->budget_lost;
	s->written = d->audit.written;
	s->failed = d->audit.failed;
	s->calls_started = d->next_call - m->base_calls;
	if (r->valid) {
		snprintf(s->revision, sizeof(s->revision), "%s",
			 r->comp.revision);
		s->contexts = r->comp.nctx;
	}
	if (!tw_maps_state(&d->ld.maps, &st))
		s->generation = st.generation;
	for (size_t i = 0; i < d->ncalls; i++) {
		struct snap_ctx *row;

		if (d->calls[i].ended || !(row = snap_row(s, d->calls[i].context)))
			continue;
		row->running = 1;
	}
}

static void snap_take(struct tw_daemon *d, struct tw_scrape *m,
		      struct snap *s)
{
	pthread_mutex_lock(&d->lock);
	snap_daemon(d, m, s);
	taken_rows(m, s);
	for (int slot = 0; slot < 2; slot++)
		slot_rows(d, slot, s, false);
	pthread_mutex_unlock(&d->lock);
	/* The kernel's own counters need no lock; the bases are set once. */
	tw_maps_stats(&d->ld.maps, s->stats);
	tw_maps_percpu_sum(d->ld.maps.proc_stats, s->pstats, TW_PSTAT_MAX);
	for (int k = 0; k < TW_STAT_MAX; k++)
		s->stats[k] -= m->base_stats[k];
	for (int k = 0; k < TW_PSTAT_MAX; k++)
		s->pstats[k] -= m->base_pstats[k];
	s->scrapes = __atomic_add_fetch(&m->scrapes, 1, __ATOMIC_RELAXED);
	snap_merge(s);
}

/* ---- the text ------------------------------------------------------ */

static void one(struct tw_prom *p, const char *name, const char *type,
		const char *help, uint64_t v)
{
	tw_prom_family(p, name, type, help);
	tw_prom_u64(p, name, NULL, v);
}

/* Families of one sample, read at OFF in struct snap. */
struct plain {
	const char *name, *type, *help;
	size_t off;
};
#define SNAP(f) offsetof(struct snap, f)

static const struct plain dns_more[] = {
	{ "toolwall_dns_learned_total", "counter",
	  "Addresses learned from answers (each a grant until its TTL).",
	  SNAP(learned) },
	{ "toolwall_dns_learned_expired_total", "counter",
	  "Learned addresses withdrawn at the end of their TTL.",
	  SNAP(expired) },
	{ "toolwall_dns_learned_quota_refused_total", "counter",
	  "Answers refused because the context's max_learned was full.",
	  SNAP(quota_refused) },
	{ "toolwall_dns_learned_dropped_total", "counter",
	  "Learned addresses a reload dropped (no longer allowed).",
	  SNAP(dropped) },
	{ "toolwall_dns_learned_addresses", "gauge",
	  "Learned addresses in force now.", SNAP(learned_now) },
	{ "toolwall_dns_redirected_total", "counter",
	  "DNS packets and connections of tool calls redirected to the "
	  "resolver by the kernel.", SNAP(stats[TW_STAT_DNS]) },
	{ "toolwall_learned_grants_total", "counter",
	  "Decisions granted by a learned address.",
	  SNAP(stats[TW_STAT_LEARNED]) },
};

static const struct plain broker_families[] = {
	{ "toolwall_broker_up", "gauge",
	  "1 when the credential broker is running and ready.",
	  SNAP(broker_up) },
	{ "toolwall_broker_starts_total", "counter",
	  "Times the daemon started the credential broker.", SNAP(bk_starts) },
	{ "toolwall_broker_restarts_total", "counter",
	  "Times the credential broker died (and was started again).",
	  SNAP(bk_deaths) },
	{ "toolwall_broker_requests_total", "counter",
	  "Requests the credential broker served.", SNAP(bk_requests) },
	{ "toolwall_broker_refused_total", "counter",
	  "Requests the credential broker refused.", SNAP(bk_refused) },
	{ "toolwall_broker_upstream_failures_total", "counter",
	  "Brokered requests whose upstream failed.", SNAP(bk_failed) },
};

static void write_plain(struct tw_prom *p, const struct snap *s,
			const struct plain *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		one(p, f[i].name, f[i].type, f[i].help,
		    *(const uint64_t *)((const char *)s + f[i].off));
}

static void write_dns(struct tw_prom *p, const struct snap *s)
{
	char name[96];

	for (size_t i = 0; i < sizeof(dns_counters) / sizeof(dns_counters[0]);
	     i++) {
		snprintf(name, sizeof(name), "toolwall_dns_%s_total",
			 dns_counters[i].name);
		one(p, name, "counter", dns_counters[i].help,
		    *(const uint64_t *)((const char *)&s->dns +
					dns_counters[i].off));
	}
	write_plain(p, s, dns_more, sizeof(dns_more) / sizeof(dns_more[0]));
}

static void write_broker(struct tw_prom *p, const struct snap *s)
{
	if (s->broker)
		write_plain(p, s, broker_families,
			    sizeof(broker_families) / sizeof(broker_families[0]));
}

static void write_daemon(struct tw_prom *p, const struct snap *s)
{
	const char *build[] = { "version", TW_VERSION, NULL };
	const char *rev[] = { "revision", s->revision, NULL };
	const char *ok[] = { "result", "applied", NULL };
	const char *no[] = { "result", "refused", NULL };

	tw_prom_family(p, "toolwall_build_info", "gauge",
		       "The toolwall that serves these metrics.");
	tw_prom_u64(p, "toolwall_build_info", build, 1);
	tw_prom_family(p, "toolwall_start_time_seconds", "gauge",
		       "When the daemon started (Unix time); every counter "
		       "here counts from then.");
	tw_prom_time(p, "toolwall_start_time_seconds", NULL, s->started_ns);
	tw_prom_family(p, "toolwall_policy_info", "gauge",
		       "The policy revision in force (SHA-256 of the "
		       "compiled policy).");
	tw_prom_u64(p, "toolwall_policy_info", rev, 1);
	one(p, "toolwall_policy_generation", "gauge",
	    "Slot flips since the programs were first loaded.",
	    s->generation);
	one(p, "toolwall_policy_contexts", "gauge",
	    "Contexts of the policy in force.", s->contexts);
	tw_prom_family(p, "toolwall_reloads_total", "counter",
		       "Policy reloads since the daemon started: applied, "
		       "or refused (the policy in force stayed).");
	tw_prom_u64(p, "toolwall_reloads_total", ok, s->reloads);
	tw_prom_u64(p, "toolwall_reloads_total", no, s->refused);
	tw_prom_family(p, "toolwall_last_reload_time_seconds", "gauge",
		       "When the policy in force was taken (Unix time; the "
		       "daemon's first load counts).");
	tw_prom_time(p, "toolwall_last_reload_time_seconds", NULL,
		     s->reloaded_ns);
}

static void write_contexts(struct tw_prom *p, const struct snap *s)
{
	static const char *const verdicts[] = { "allowed", "denied",
						"audited" };

	tw_prom_family(p, "toolwall_decisions_total", "counter",
		       "Socket decisions in each context's tool calls: "
		       "allowed, denied, or audited (an audit-mode context's "
		       "would-be denial, let through). socket() counts as "
		       "one, then connect() or sendmsg() another.");
	for (size_t i = 0; i < s->nctx; i++) {
		const struct snap_ctx *c = &s->ctx[i];
		const uint64_t v[] = { c->allowed, c->denied, c->audited };

		for (int k = 0; k < 3; k++) {
			const char *l[] = { "context", c->name, "verdict",
					    verdicts[k], NULL };

			tw_prom_u64(p, "toolwall_decisions_total", l, v[k]);
		}
	}
	one(p, "toolwall_no_context_decisions_total", "counter",
	    "Socket decisions in a toolwall cgroup that has no context "
	    "(denied).", s->stats[TW_STAT_NOCTX]);
	tw_prom_family(p, "toolwall_calls_running", "gauge",
		       "Tool calls running in each context.");
	for (size_t i = 0; i < s->nctx; i++) {
		const char *l[] = { "context", s->ctx[i].name, NULL };

		tw_prom_u64(p, "toolwall_calls_running", l, s->ctx[i].running);
	}
	one(p, "toolwall_calls_started_total", "counter",
	    "Tool calls the daemon started (a cgroup each).",
	    s->calls_started);
}

static void write_events(struct tw_prom *p, const struct snap *s)
{
	const char *ring[] = { "cause", "sockets_ring_full", NULL };
	const char *pring[] = { "cause", "syscalls_ring_full", NULL };
	const char *budget[] = { "cause", "over_budget", NULL };
	const char *w[] = { "result", "written", NULL };
	const char *f[] = { "result", "failed", NULL };

	tw_prom_family(p, "toolwall_events_lost_total", "counter",
		       "Events that did not become their own audit record "
		       "(each is counted in a `lost` record): a full ring "
		       "buffer, or a context over its --audit-budget.");
	tw_prom_u64(p, "toolwall_events_lost_total", ring,
		    s->stats[TW_STAT_LOST]);
	tw_prom_u64(p, "toolwall_events_lost_total", pring,
		    s->pstats[TW_PSTAT_LOST]);
	tw_prom_u64(p, "toolwall_events_lost_total", budget, s->over_budget);
	tw_prom_family(p, "toolwall_audit_records_total", "counter",
		       "Audit records written, or that could not be written.");
	tw_prom_u64(p, "toolwall_audit_records_total", w, s->written);
	tw_prom_u64(p, "toolwall_audit_records_total", f, s->failed);
	one(p, "toolwall_syscall_execs_total", "counter",
	    "Programs tool calls executed (exec records).",
	    s->pstats[TW_PSTAT_EXEC]);
	one(p, "toolwall_syscalls_refused_total", "counter",
	    "File and escape syscalls refused to tool calls.",
	    s->pstats[TW_PSTAT_DENIED]);
	one(p, "toolwall_metrics_scrapes_total", "counter",
	    "GET /metrics answered, this one included.", s->scrapes);
}

void tw_scrape_text(struct tw_daemon *d, struct tw_scrape *m,
		    struct tw_prom *p)
{
	struct snap s = {};

	snap_take(d, m, &s);
	write_daemon(p, &s);
	write_contexts(p, &s);
	write_events(p, &s);
	write_dns(p, &s);
	write_broker(p, &s);
	free(s.ctx);
}

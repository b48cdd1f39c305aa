/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * audit_query.h - questions an incident responder asks of the audit log:
 * which records match (time window, context, process, destination...),
 * a summary (top denied destinations per context, per process, per bundle
 * that would allow them; a per-minute timeline), and the bundle that would
 * have allowed what audit mode recorded. Pure: records in, JSON out.
 */
#ifndef TW_AUDIT_QUERY_H
#define TW_AUDIT_QUERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "dst_filter.h"

struct tw_audit_filter {
	uint64_t since_ns, until_ns; /* 0: open */
	const char *context, *workspace, *call_id, *action, *event;
	const char *domain; /* exact, or *.suffix */
	bool grants; /* grant, revoke, expire, quarantine, release only */
	bool has_pid;
	long long pid;
	bool has_dst;
	struct tw_dst_filter dst; /* --dst DEST (dst_filter.h) */
};

/*
 * A point in time: RFC 3339 (2024-05-01T10:00:00Z, offsets, fractions),
 * a date (2024-05-01), "now", or an age before NOW_NS: 90s, 10m, 2h, 7d.
 */
int tw_audit_parse_when(const char *s, uint64_t now_ns, uint64_t *ns);
/* Fill the --dst part of F. 0, or -EINVAL with F->dst.err saying why. */
int tw_audit_parse_dst(struct tw_audit_filter *f, const char *s);
/* Does REC match every filter that is set? An aggregated record matches
 * the time window when [first_ts, last_ts] meets it. */
bool tw_audit_match(const struct tw_audit_filter *f, json_t *rec);

/* ---- summary --------------------------------------------------------- */

struct tw_summary {
	json_t *by_context; /* ctx -> {dest -> n} */
	json_t *by_process; /* "comm[pid]" -> {dest -> n} */
	json_t *by_bundle;  /* bundle -> {dest -> n} */
	json_t *timeline;   /* "YYYY-MM-DDTHH:MMZ" -> {event -> n} */
	json_t *totals;	    /* event -> n */
};

void tw_summary_init(struct tw_summary *s);
void tw_summary_add(struct tw_summary *s, json_t *rec);
/* {"totals", "by_context": {ctx: [{"dst","count"}...top N]}, ...,
 * "timeline": [{"minute", "deny", ...}]} */
json_t *tw_summary_json(struct tw_summary *s, size_t top);
void tw_summary_free(struct tw_summary *s);

/* The bundles named by a hint ("bundle X (held by ...); bundle Y"). */
json_t *tw_hint_bundles(const char *hint);

/* ---- suggest ------------------------------------------------------------ */

struct tw_suggest {
	const char *context;
	json_t *dests;	 /* "tcp://ADDR" -> [ports] ; "unix:P" -> null */
	uint64_t records, events, ungrantable;
	uint64_t first_ns, last_ns;
};

void tw_suggest_init(struct tw_suggest *g, const char *context);
/* Take an audit-mode record of the context (others are ignored). */
void tw_suggest_add(struct tw_suggest *g, json_t *rec);
/*
 * The bundle, as policy JSON: {"bundle": NAME, "description": ...,
 * "connect": [...]}, or NULL when nothing was recorded.
 */
json_t *tw_suggest_bundle(struct tw_suggest *g, const char *name);
void tw_suggest_free(struct tw_suggest *g);

#endif

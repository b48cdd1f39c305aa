// SPDX-License-Identifier: GPL-2.0-only
/*
 * audit_query.c - filters, summary and bundle suggestions over audit
 * records.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_query.h"
#include "compile.h"
#include "record.h"

#define S(r, k) json_string_value(json_object_get(r, k))

int tw_audit_parse_when(const char *s, uint64_t now_ns, uint64_t *ns)
{
	static const struct {
		char unit;
		uint64_t sec;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		      { 'w', 604800 } };
	char *end;
	unsigned long long n;

	if (!strcmp(s, "now")) {
		*ns = now_ns;
		return 0;
	}
	if (*s == '-' && s[1] >= '0' && s[1] <= '9') /* -1h: an hour ago */
		s++;
	if (*s >= '0' && *s <= '9' && !strchr(s, '-') && !strchr(s, ':')) {
		errno = 0;
		n = strtoull(s, &end, 10);
		if (errno || end == s || end[0] == 0 || end[1] != 0)
			return -EINVAL;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (*end != units[i].unit)
				continue;
			if (n > now_ns / 1000000000ull / units[i].sec)
				return -ERANGE;
			*ns = now_ns - n * units[i].sec * 1000000000ull;
			return 0;
		}
		return -EINVAL;
	}
	return tw_audit_ts_parse(s, ns);
}

int tw_audit_parse_dst(struct tw_audit_filter *f, const char *s)
{
	f->has_dst = true;
	return tw_dst_filter_parse(&f->dst, s);
}

static bool domain_match(const char *want, const char *have)
{
	size_t wl, hl;

	if (!have)
		return false;
	if (strncmp(want, "*.", 2))
		return !strcasecmp(want, have);
	wl = strlen(want + 1);
	hl = strlen(have);
	return hl > wl && !strcasecmp(have + hl - wl, want + 1);
}

static bool str_is(json_t *rec, const char *key, const char *want)
{
	const char *v = S(rec, key);

	return !want || (v && !strcmp(v, want));
}

/* The records of grants and quarantine (audit --grants). */
static bool grants_event(const char *ev)
{
	static const char *const evs[] = { "grant", "revoke", "expire",
					   "quarantine", "release" };

	for (size_t i = 0; ev && i < sizeof(evs) / sizeof(evs[0]); i++)
		if (!strcmp(ev, evs[i]))
			return true;
	return false;
}

bool tw_audit_match(const struct tw_audit_filter *f, json_t *rec)
{
	uint64_t lo = 0, hi = 0;

	if (!str_is(rec, "context", f->context) ||
	    !str_is(rec, "workspace", f->workspace) ||
	    !str_is(rec, "call_id", f->call_id) ||
	    !str_is(rec, "action", f->action) ||
	    !str_is(rec, "event", f->event))
		return false;
	if (f->grants && !grants_event(S(rec, "event")))
		return false;
	if (f->has_pid &&
	    (!json_is_integer(json_object_get(rec, "pid")) ||
	     json_integer_value(json_object_get(rec, "pid")) != f->pid))
		return false;
	if (f->domain && !domain_match(f->domain, S(rec, "domain")))
		return false;
	if (f->has_dst && !tw_dst_filter_match(&f->dst, rec))
		return false;
	if (f->since_ns || f->until_ns) {
		if (tw_audit_ts_parse(S(rec, "first_ts") ?: S(rec, "ts") ?: "",
				      &lo))
			return false;
		if (tw_audit_ts_parse(S(rec, "last_ts") ?: S(rec, "ts") ?: "",
				      &hi))
			hi = lo;
		if (f->since_ns && hi < f->since_ns)
			return false;
		if (f->until_ns && lo > f->until_ns)
			return false;
	}
	return true;
}

/* ---- summary ------------------------------------------------------------- */

void tw_summary_init(struct tw_summary *s)
{
	s->by_context = json_object();
	s->by_process = json_object();
	s->by_bundle = json_object();
	s->timeline = json_object();
	s->totals = json_object();
}

void tw_summary_free(struct tw_summary *s)
{
	json_decref(s->by_context);
	json_decref(s->by_process);
	json_decref(s->by_bundle);
	json_decref(s->timeline);
	json_decref(s->totals);
	memset(s, 0, sizeof(*s));
}

static void bump(json_t *obj, const char *key, uint64_t n)
{
	json_t *v = json_object_get(obj, key);

	json_object_set_new(obj, key,
			    json_integer(json_integer_value(v) + (json_int_t)n));
}

static void bump2(json_t *obj, const char *k1, const char *k2, uint64_t n)
{
	json_t *in = json_object_get(obj, k1);

	if (!in) {
		in = json_object();
		json_object_set_new(obj, k1, in);
	}
	bump(in, k2, n);
}

json_t *tw_hint_bundles(const char *hint)
{
	json_t *out = json_array();
	const char *p = hint;

	while (p && (p = strstr(p, "bundle "))) {
		const char *start = p + 7, *end = start;
		char name[TW_NAME_MAX + 1];

		while (*end && *end != ' ' && *end != ';' && *end != ',')
			end++;
		if (end > start && (size_t)(end - start) < sizeof(name)) {
			snprintf(name, sizeof(name), "%.*s", (int)(end - start),
				 start);
			json_array_append_new(out, json_string(name));
		}
		p = end;
	}
	return out;
}

void tw_summary_add(struct tw_summary *s, json_t *rec)
{
	const char *ev = S(rec, "event") ?: "?";
	uint64_t n = tw_audit_weight(rec), ns = 0;
	char dest[300], proc[64], minute[32];
	json_t *bundles, *b;
	size_t i;

	if (!strcmp(ev, "deny") || !strcmp(ev, "audit") || !strcmp(ev, "lost"))
		bump(s->totals, ev, n);
	else
		bump(s->totals, ev, 1);
	if (!tw_audit_ts_parse(S(rec, "first_ts") ?: S(rec, "ts") ?: "",
			       &ns)) {
		tw_audit_ts_format(ns, minute, sizeof(minute));
		/* 2024-05-01T10:00:00.000000000Z -> 2024-05-01T10:00Z */
		minute[16] = 'Z';
		minute[17] = 0;
		bump2(s->timeline, minute, ev, n ? n : 1);
	}
	if (strcmp(ev, "deny") && strcmp(ev, "audit"))
		return;
	tw_audit_dest(rec, dest, sizeof(dest));
	bump2(s->by_context, S(rec, "context") ?: "(no context)", dest, n);
	snprintf(proc, sizeof(proc), "%s[%lld]", S(rec, "comm") ?: "?",
		 (long long)json_integer_value(json_object_get(rec, "pid")));
	bump2(s->by_process, proc, dest, n);
	bundles = tw_hint_bundles(S(rec, "hint"));
	json_array_foreach(bundles, i, b)
		bump2(s->by_bundle, json_string_value(b), dest, n);
	if (!json_array_size(bundles))
		bump2(s->by_bundle, "(no bundle would allow it)", dest, n);
	json_decref(bundles);
}

static int by_count(const void *a, const void *b)
{
	json_int_t x = json_integer_value(
		json_object_get(*(json_t *const *)a, "count"));
	json_int_t y = json_integer_value(
		json_object_get(*(json_t *const *)b, "count"));

	if (x != y)
		return x < y ? 1 : -1;
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a,
							  "dst")),
		      json_string_value(json_object_get(*(json_t *const *)b,
							  "dst")));
}

/* {group: {dest: n}} -> {group: {"total": n, "top": [{dst, count}]}} */
static json_t *top_of(json_t *groups, size_t top)
{
	json_t *out = json_object(), *dests, *v;
	const char *g, *d;

	json_object_foreach(groups, g, dests) {
		size_t n = json_object_size(dests), k = 0;
		json_t **rows = calloc(n ? n : 1, sizeof(*rows));
		json_t *arr = json_array();
		json_int_t total = 0;

		if (!rows)
			break;
		json_object_foreach(dests, d, v) {
			rows[k++] = json_pack("{s:s,s:O}", "dst", d, "count", v);
			total += json_integer_value(v);
		}
		qsort(rows, n, sizeof(*rows), by_count);
		for (k = 0; k < n; k++) {
			if (k < top)
				json_array_append(arr, rows[k]);
			json_decref(rows[k]);
		}
		free(rows);
		json_object_set_new(out, g,
				    json_pack("{s:I,s:o}", "total", total,
					      "top", arr));
	}
	return out;
}

static int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *tw_summary_json(struct tw_summary *s, size_t top)
{
	json_t *tl = json_array(), *v;
	const char *m;
	const char **keys;
	size_t n = json_object_size(s->timeline), k = 0;

	/* minutes in order */
	keys = calloc(n ? n : 1, sizeof(*keys));
	if (keys) {
		json_object_foreach(s->timeline, m, v)
			keys[k++] = m;
		qsort(keys, n, sizeof(*keys), strcmp_ptr);
		for (k = 0; k < n; k++) {
			json_t *row = json_deep_copy(
				json_object_get(s->timeline, keys[k]));

			json_object_set_new(row, "minute",
					    json_string(keys[k]));
			json_array_append_new(tl, row);
		}
		free(keys);
	}
	return json_pack("{s:O,s:o,s:o,s:o,s:o}", "totals", s->totals,
			 "by_context", top_of(s->by_context, top),
			 "by_process", top_of(s->by_process, top),
			 "by_bundle", top_of(s->by_bundle, top), "timeline",
			 tl);
}

/* ---- suggest -------------------------------------------------------------- */

void tw_suggest_init(struct tw_suggest *g, const char *context)
{
	memset(g, 0, sizeof(*g));
	g->context = context;
	g->dests = json_object();
}

void tw_suggest_free(struct tw_suggest *g)
{
	json_decref(g->dests);
	memset(g, 0, sizeof(*g));
}

void tw_suggest_add(struct tw_suggest *g, json_t *rec)
{
	const char *d = S(rec, "dst"), *p = S(rec, "path"),
		   *proto = S(rec, "proto"), *dom = S(rec, "domain");
	json_t *port = json_object_get(rec, "port"), *ports;
	uint64_t ns = 0;
	char key[300];

	if (!str_is(rec, "event", "audit") ||
	    !str_is(rec, "context", g->context))
		return;
	g->records++;
	g->events += tw_audit_weight(rec);
	if (!tw_audit_ts_parse(S(rec, "first_ts") ?: S(rec, "ts") ?: "", &ns) &&
	    (!g->first_ns || ns < g->first_ns))
		g->first_ns = ns;
	if (!tw_audit_ts_parse(S(rec, "last_ts") ?: S(rec, "ts") ?: "", &ns) &&
	    ns > g->last_ns)
		g->last_ns = ns;
	if (tw_audit_is_unix(rec)) {
		snprintf(key, sizeof(key), "unix:%s", p);
		json_object_set_new(g->dests, key, json_null());
		return;
	}
	if (dom && !d) {
		snprintf(key, sizeof(key), "%s://%s",
			 proto && !strcmp(proto, "udp") ? "udp" : "tcp", dom);
	} else if (d && proto &&
		   (!strcmp(proto, "tcp") || !strcmp(proto, "udp"))) {
		snprintf(key, sizeof(key),
			 strchr(d, ':') ? "%s://[%s]" : "%s://%s", proto, d);
	} else {
		g->ungrantable++; /* raw sockets and the like: no bundle can */
		return;
	}
	ports = json_object_get(g->dests, key);
	if (!ports) {
		ports = json_array();
		json_object_set_new(g->dests, key, ports);
	}
	if (json_is_integer(port)) {
		size_t i;
		json_t *v;

		json_array_foreach(ports, i, v)
			if (json_integer_value(v) == json_integer_value(port))
				return;
		json_array_append(ports, port);
	}
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x - y;
}

/* "443", "8000-8002,9000": consecutive ports as ranges */
static void port_spec(json_t *ports, char *buf, size_t len)
{
	size_t n = json_array_size(ports), off = 0;
	int *v = calloc(n ? n : 1, sizeof(*v));

	buf[0] = 0;
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = (int)json_integer_value(json_array_get(ports, i));
	qsort(v, n, sizeof(*v), int_cmp);
	for (size_t i = 0; i < n && off < len;) {
		size_t j = i;

		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		if (j > i)
			off += snprintf(buf + off, len - off, "%s%d-%d",
					off ? "," : "", v[i], v[j]);
		else
			off += snprintf(buf + off, len - off, "%s%d",
					off ? "," : "", v[i]);
		i = j + 1;
	}
	free(v);
}

json_t *tw_suggest_bundle(struct tw_suggest *g, const char *name)
{
	json_t *connect = json_array(), *ports;
	char entry[1200], ports_s[800], desc[600], t1[64], t2[64];
	const char *k;

	if (!json_object_size(g->dests)) {
		json_decref(connect);
		return NULL;
	}
	json_object_foreach(g->dests, k, ports) {
		const char *e = k;

		if (json_is_array(ports) && json_array_size(ports)) {
			port_spec(ports, ports_s, sizeof(ports_s));
			snprintf(entry, sizeof(entry), "%s:%s",
				 !strncmp(k, "tcp://", 6) ? k + 6 : k, ports_s);
			e = entry;
		} else if (!strncmp(k, "tcp://", 6)) {
			e = k + 6;
		}
		json_array_append_new(connect, json_string(e));
	}
	tw_audit_ts_format(g->first_ns, t1, sizeof(t1));
	tw_audit_ts_format(g->last_ns, t2, sizeof(t2));
	snprintf(desc, sizeof(desc),
		 "Suggested by toolwall audit from %llu audit-mode records "
		 "(%llu events) of %s, %s to %s",
		 (unsigned long long)g->records,
		 (unsigned long long)g->events, g->context, t1, t2);
	return json_pack("{s:s,s:s,s:o}", "bundle", name, "description", desc,
			 "connect", connect);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * grantaddr.c - the addresses of granted names and their kernel entries
 * (see grantaddr.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grantaddr.h"
#include "grantmaps.h"
#include "learned.h"
#include "model.h"
#include "util.h"

/* ---- the list ------------------------------------------------------------ */

static bool same_addr(const struct tw_grant_addr *a, uint32_t num,
		      const struct tw_learn_entry *e)
{
	return a->num == num && a->e.proto == e->proto &&
	       a->e.family == e->family && !memcmp(a->e.addr, e->addr, 16);
}

static size_t count_of(const struct tw_gaddrs *l, uint32_t num)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += l->v[i].num == num;
	return n;
}

int tw_gaddrs_upsert(struct tw_gaddrs *l, uint32_t num, const char *name,
		     const struct tw_learn_entry *e, uint64_t deadline)
{
	struct tw_grant_addr *na;

	for (size_t i = 0; i < l->n; i++) {
		struct tw_grant_addr *a = &l->v[i];

		if (!same_addr(a, num, e))
			continue;
		tw_ports_merge(a->e.ports, &a->e.nports, e->ports, e->nports);
		if (deadline > a->deadline)
			a->deadline = deadline;
		return 0;
	}
	if (count_of(l, num) >= TW_GRANT_ADDRS_MAX)
		return -ENOSPC;
	na = realloc(l->v, (l->n + 1) * sizeof(*na));
	if (!na)
		return -ENOMEM;
	l->v = na;
	na = &l->v[l->n++];
	memset(na, 0, sizeof(*na));
	na->num = num;
	snprintf(na->name, sizeof(na->name), "%s", name);
	na->e = *e;
	na->deadline = deadline;
	return 1;
}

void tw_gaddrs_drop(struct tw_gaddrs *l, uint32_t num)
{
	size_t k = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].num != num)
			l->v[k++] = l->v[i];
	l->n = k;
}

void tw_gaddrs_free(struct tw_gaddrs *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* ---- the kernel's entries --------------------------------------------- */

/* A's host entry, after the grant's entries E (NE): the ports of the
 * longest of them that covers A merged in; *EXACT: that one is A itself. */
static struct tw_lpm_entry host_entry(const struct tw_grant_addr *a,
				      const struct tw_lpm_entry *e, size_t ne,
				      const struct tw_lpm_entry **exact)
{
	struct tw_lpm_entry h = { .proto = a->e.proto,
				  .family = a->e.family,
				  .prefixlen = a->e.family == 4 ? 32 : 128,
				  .rule = a->e.rule };
	const struct tw_lpm_entry *best = NULL;

	memcpy(h.addr, a->e.addr, 16);
	memcpy(h.ports, a->e.ports, sizeof(h.ports));
	h.nports = a->e.nports;
	for (size_t i = 0; i < ne; i++)
		if ((int)e[i].proto == a->e.proto && e[i].family == a->e.family &&
		    tw_prefix_contains(e[i].addr, e[i].prefixlen, a->e.addr) &&
		    (!best || e[i].prefixlen > best->prefixlen))
			best = &e[i];
	*exact = best && best->prefixlen == h.prefixlen ? best : NULL;
	if (best)
		tw_ports_merge(h.ports, &h.nports, best->ports, best->nports);
	return h;
}

int tw_gaddrs_put(const struct tw_gaddrs *l, const struct tw_maps *m,
		  const struct tw_gaddr_slot *s, const struct tw_lpm_entry *e,
		  size_t ne, uint64_t now)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct tw_grant_addr *a = &l->v[i];
		const struct tw_lpm_entry *exact;
		struct tw_lpm_entry h;
		int ret;

		if (a->num != s->num || a->deadline <= now)
			continue;
		h = host_entry(a, e, ne, &exact);
		ret = tw_gmaps_put(m, TW_SCOPE_CTX, s->scope, s->gslot, &h, 1,
				   exact ? s->deadline : a->deadline, s->num);
		if (ret)
			return ret;
	}
	return 0;
}

void tw_gaddr_withdraw(const struct tw_grant_addr *a, const struct tw_maps *m,
		       const struct tw_gaddr_slot *s,
		       const struct tw_lpm_entry *e, size_t ne)
{
	const struct tw_lpm_entry *exact;
	struct tw_lpm_entry h = host_entry(a, e, ne, &exact);

	if (exact)
		tw_gmaps_put(m, TW_SCOPE_CTX, s->scope, s->gslot, exact, 1,
			     s->deadline, s->num);
	else
		tw_gmaps_del(m, TW_SCOPE_CTX, s->scope, s->gslot, &h);
}

/* ---- grants.json ------------------------------------------------------- */

json_t *tw_gaddrs_json(const struct tw_gaddrs *l, uint32_t num)
{
	json_t *out = json_array();

	for (size_t i = 0; out && i < l->n; i++) {
		const struct tw_grant_addr *a = &l->v[i];
		json_t *ports = json_array();
		char text[INET6_ADDRSTRLEN];

		if (a->num != num) {
			json_decref(ports);
			continue;
		}
		for (size_t p = 0; ports && p < a->e.nports; p++)
			json_array_append_new(ports,
					      json_pack("[i,i]", a->e.ports[p].lo,
							a->e.ports[p].hi));
		tw_addr_str(a->e.family, a->e.addr, text, sizeof(text));
		json_array_append_new(
			out, json_pack("{s:s,s:s,s:i,s:o,s:I,s:i}", "name",
				       a->name, "addr", text, "proto",
				       a->e.proto, "ports", ports, "deadline",
				       (json_int_t)a->deadline, "rule",
				       (int)a->e.rule));
	}
	return out;
}

/* One saved address into E; false: not one. */
static bool load_one(json_t *o, struct tw_learn_entry *e)
{
	const char *addr = json_string_value(json_object_get(o, "addr"));
	size_t p;
	json_t *r;

	memset(e, 0, sizeof(*e));
	if (!addr)
		return false;
	if (inet_pton(AF_INET, addr, e->addr) == 1)
		e->family = 4;
	else if (inet_pton(AF_INET6, addr, e->addr) == 1)
		e->family = 6;
	else
		return false;
	e->proto = (uint8_t)json_integer_value(json_object_get(o, "proto"));
	e->rule = (uint32_t)json_integer_value(json_object_get(o, "rule"));
	json_array_foreach(json_object_get(o, "ports"), p, r) {
		if (e->nports >= TW_MAX_PORT_RANGES)
			break;
		e->ports[e->nports].lo =
			(uint16_t)json_integer_value(json_array_get(r, 0));
		e->ports[e->nports++].hi =
			(uint16_t)json_integer_value(json_array_get(r, 1));
	}
	return true;
}

void tw_gaddrs_load(struct tw_gaddrs *l, uint32_t num, json_t *arr)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		struct tw_learn_entry e;

		if (name && load_one(o, &e))
			tw_gaddrs_upsert(
				l, num, name, &e,
				(uint64_t)json_integer_value(
					json_object_get(o, "deadline")));
	}
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * dnsallow.c - what a context may resolve (its bundles' name rules, judged
 * on labels, never on text), the addresses an answer grants, and the hint
 * of a refused name (see dnsallow.h).
 */
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dnsallow.h"
#include "explain.h"

/* Does name rule R cover N (exact, or "*.x" at any depth below x)? Judged
 * on N's labels (dnswire.h), never on text nor on a part of N. */
static bool name_rule_covers(const struct tw_rule *r, const struct tw_dname *n)
{
	if (r->kind != TW_HOST_NAME && r->kind != TW_HOST_WILDCARD)
		return false;
	if (!r->nports)
		return false;
	return tw_dname_covered(n, r->name, r->kind == TW_HOST_WILDCARD);
}

/* Add rule R (index I) to the grants OUT (*CNT of them, one per
 * protocol) when it covers N. */
static void add_rule(const struct tw_rule *r, size_t i, const struct tw_dname *n,
		     struct tw_learn_entry out[2], int *cnt, uint32_t ctx_idx)
{
	struct tw_learn_entry *e = NULL;

	if (!name_rule_covers(r, n))
		return;
	for (int k = 0; k < *cnt; k++)
		if (out[k].proto == (uint8_t)r->proto)
			e = &out[k];
	if (!e) {
		e = &out[(*cnt)++];
		e->ctx = ctx_idx;
		e->proto = (uint8_t)r->proto;
		e->rule = (uint32_t)i;
	}
	tw_ports_merge(e->ports, &e->nports, r->ports, r->nports);
}

int tw_dns_name_grants_dn(const struct tw_context *x, const struct tw_dname *n,
			  struct tw_learn_entry out[2], uint32_t ctx_idx)
{
	int cnt = 0;

	memset(out, 0, 2 * sizeof(*out));
	for (size_t i = 0; i < x->nrules; i++)
		add_rule(&x->rules[i], i, n, out, &cnt, ctx_idx);
	return cnt;
}

/* A bundle's connect entry EP as a rule (borrowing its name and ports). */
static struct tw_rule endpoint_rule(const struct tw_endpoint *ep)
{
	return (struct tw_rule){ .proto = ep->proto,
				 .kind = ep->kind,
				 .name = ep->name,
				 .ports = ep->ports,
				 .nports = ep->nports };
}

int tw_dns_bundle_name_grants(const struct tw_bundle *b,
			      const struct tw_dname *n,
			      struct tw_learn_entry out[2], uint32_t ctx_idx)
{
	int cnt = 0;

	memset(out, 0, 2 * sizeof(*out));
	for (size_t i = 0; i < b->nconnect; i++) {
		struct tw_rule r = endpoint_rule(&b->connect[i]);

		add_rule(&r, i, n, out, &cnt, ctx_idx);
	}
	return cnt;
}

int tw_dns_name_grants(const struct tw_context *x, const char *name,
		       struct tw_learn_entry out[2], uint32_t ctx_idx)
{
	struct tw_dname n;

	memset(out, 0, 2 * sizeof(*out));
	if (tw_dname_from_text(name, &n))
		return 0;
	return tw_dns_name_grants_dn(x, &n, out, ctx_idx);
}

/* ---- answers ------------------------------------------------------------ */

bool tw_dns_rr_name(const ldns_rdf *r, struct tw_dname *n)
{
	return r && ldns_rdf_get_type(r) == LDNS_RDF_TYPE_DNAME &&
	       !tw_dname_from_wire(ldns_rdf_data(r), ldns_rdf_size(r), n);
}

static bool in_chain(const struct tw_dname *chain, size_t n,
		     const struct tw_dname *x)
{
	for (size_t i = 0; i < n; i++)
		if (tw_dname_equal(&chain[i], x))
			return true;
	return false;
}

size_t tw_dns_answer_addrs(const ldns_pkt *p, const struct tw_dname *qname,
			   struct tw_answer_addr *out, size_t max)
{
	ldns_rr_list *an = ldns_pkt_answer(p);
	struct tw_dname chain[8], owner, target;
	size_t nchain = 1, n = 0, cnt = an ? ldns_rr_list_rr_count(an) : 0;
	bool grew = true;

	chain[0] = *qname;
	while (grew && nchain < 8) {
		grew = false;
		for (size_t i = 0; i < cnt && nchain < 8; i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);

			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME ||
			    !tw_dns_rr_name(ldns_rr_owner(rr), &owner) ||
			    !tw_dns_rr_name(ldns_rr_rdf(rr, 0), &target))
				continue;
			if (in_chain(chain, nchain, &owner) &&
			    !in_chain(chain, nchain, &target)) {
				chain[nchain++] = target;
				grew = true;
			}
		}
	}
	for (size_t i = 0; i < cnt && n < max; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		ldns_rdf *rd = ldns_rr_rdf(rr, 0);

		if ((t != LDNS_RR_TYPE_A && t != LDNS_RR_TYPE_AAAA) || !rd ||
		    !tw_dns_rr_name(ldns_rr_owner(rr), &owner) ||
		    !in_chain(chain, nchain, &owner))
			continue;
		if ((t == LDNS_RR_TYPE_A && ldns_rdf_size(rd) != 4) ||
		    (t == LDNS_RR_TYPE_AAAA && ldns_rdf_size(rd) != 16))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].family = t == LDNS_RR_TYPE_A ? 4 : 6;
		memcpy(out[n].addr, ldns_rdf_data(rd), ldns_rdf_size(rd));
		out[n].ttl = ldns_rr_ttl(rr);
		n++;
	}
	return n;
}

void tw_dns_name_hint(const struct tw_compiled *c, const struct tw_dname *n,
		      char *buf, size_t len)
{
	int *list = calloc(c->pol->nbundles + 1, sizeof(*list));
	struct tw_explain ex = {.bundles = list};

	buf[0] = 0;
	if (!list)
		return;
	for (size_t b = 0; b < c->pol->nbundles; b++) {
		const struct tw_bundle *bu = &c->pol->bundles[b];
		bool hit = false;

		for (size_t i = 0; i < bu->nconnect && !hit; i++) {
			struct tw_rule r = endpoint_rule(&bu->connect[i]);

			hit = name_rule_covers(&r, n);
		}
		if (hit)
			list[ex.nbundles++] = (int)b;
	}
	tw_explain_hint(c, &ex, buf, len);
	free(list);
}

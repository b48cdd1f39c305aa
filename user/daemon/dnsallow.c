// SPDX-License-Identifier: GPL-2.0-only
/*
 * dnsallow.c - what a context may resolve (its bundles' name rules, judged
 * on labels, never on text), the addresses an answer grants, and the hint
 * of a refused name (see dnsallow.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dnsallow.h"
#include "dnsanswer.h"
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

static bool in_chain(const struct tw_dname *chain, size_t n,
		     const struct tw_dname *x)
{
	for (size_t i = 0; i < n; i++)
		if (tw_dname_equal(&chain[i], x))
			return true;
	return false;
}

/* Grow CHAIN (*N names, at most 8) by the CNAME targets of the answer
 * section (ANCOUNT records at AN) whose owner is in it, until none is
 * added. */
static void cname_chain(const uint8_t *m, size_t len, size_t an,
			uint16_t ancount, struct tw_dname *chain, size_t *n)
{
	bool grew = true;

	while (grew && *n < 8) {
		size_t off = an;

		grew = false;
		for (uint16_t i = 0; i < ancount && *n < 8; i++) {
			struct tw_dns_rr rr;
			struct tw_dname target;

			if (tw_dns_rr_at(m, len, &off, &rr))
				return;
			if (rr.type != 5 /* CNAME */ ||
			    !in_chain(chain, *n, &rr.owner) ||
			    tw_dns_rr_name_target(m, len, &rr, &target) ||
			    in_chain(chain, *n, &target))
				continue;
			chain[(*n)++] = target;
			grew = true;
		}
	}
}

int tw_dns_answer_addrs(const uint8_t *m, size_t len,
			const struct tw_dname *qname,
			struct tw_answer_addr *out, size_t max)
{
	struct tw_dname chain[8];
	size_t an, off, nchain = 1, n = 0;
	uint16_t ancount;

	if (tw_dns_msg_check(m, len, &an, &ancount))
		return -EBADMSG;
	chain[0] = *qname;
	cname_chain(m, len, an, ancount, chain, &nchain);
	off = an;
	for (uint16_t i = 0; i < ancount && n < max; i++) {
		struct tw_dns_rr rr;

		if (tw_dns_rr_at(m, len, &off, &rr))
			return -EBADMSG;
		if (!((rr.type == 1 && rr.rdlen == 4) ||
		      (rr.type == 28 && rr.rdlen == 16)) ||
		    !in_chain(chain, nchain, &rr.owner))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].family = rr.type == 1 ? 4 : 6;
		memcpy(out[n].addr, m + rr.rdoff, rr.rdlen);
		out[n].ttl = rr.ttl;
		n++;
	}
	return (int)n;
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

// SPDX-License-Identifier: GPL-2.0-only
/*
 * lower.c - a context's rules lowered to the LPM entries the kernel maps
 * are filled from (see compile.h, tw_lower_lpm).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lower.h"
#include "model.h"

struct lpm_item {
	const struct tw_rule *r;
	uint32_t idx;
};

static int cmp_lpm_item(const void *pa, const void *pb)
{
	const struct lpm_item *a = pa, *b = pb;
	int c;

	if (a->r->proto != b->r->proto)
		return (int)a->r->proto - (int)b->r->proto;
	if (a->r->family != b->r->family)
		return a->r->family - b->r->family;
	c = memcmp(a->r->addr, b->r->addr, 16);
	if (c)
		return c;
	if (a->r->prefixlen != b->r->prefixlen)
		return a->r->prefixlen - b->r->prefixlen;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* E->ports |= P, bounded by TW_MAX_PORT_RANGES. */
static int lpm_add_ports(struct tw_lpm_entry *e, const struct tw_port_range *p,
			 size_t n, struct tw_port_range **tmp, size_t *tmpcap,
			 char *err, size_t errlen)
{
	size_t need = e->nports + n, m;

	if (!n)
		return 0;
	if (need > *tmpcap) {
		struct tw_port_range *t = realloc(*tmp, need * sizeof(*t));

		if (!t)
			return -ENOMEM;
		*tmp = t;
		*tmpcap = need;
	}
	memcpy(*tmp, e->ports, e->nports * sizeof(**tmp));
	memcpy(*tmp + e->nports, p, n * sizeof(**tmp));
	m = tw_ports_normalise(*tmp, need);
	if (m > TW_MAX_PORT_RANGES) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->addr, a,
			  sizeof(a));
		snprintf(err, errlen,
			 "%s %s/%d needs %zu port ranges (at most %d), counting those of the prefixes that contain it",
			 e->proto == TW_PROTO_UDP ? "udp" : "tcp", a,
			 e->prefixlen, m, TW_MAX_PORT_RANGES);
		return -E2BIG;
	}
	memcpy(e->ports, *tmp, m * sizeof(e->ports[0]));
	e->nports = m;
	return 0;
}

static long lower_rules(const struct tw_rule *rules, size_t nrules,
			struct tw_lpm_entry **out, char *err, size_t errlen);

long tw_lower_lpm(const struct tw_context *ctx, struct tw_lpm_entry **out,
		  char *err, size_t errlen)
{
	return lower_rules(ctx->rules, ctx->nrules, out, err, errlen);
}

long tw_lower_listen(const struct tw_context *ctx, struct tw_lpm_entry **out,
		     char *err, size_t errlen)
{
	return lower_rules(ctx->listen, ctx->nlisten, out, err, errlen);
}

static long lower_rules(const struct tw_rule *rules, size_t nrules,
			struct tw_lpm_entry **out, char *err, size_t errlen)
{
	/* at most one entry per prefix length on the path from the root */
	size_t stack[129 + 1], depth = 0, n = 0, nitems = 0, tmpcap = 0;
	struct tw_port_range *tmp = NULL;
	struct lpm_item *items;
	struct tw_lpm_entry *ents = NULL;
	long ret = 0;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	items = malloc((nrules ? nrules : 1) * sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < nrules; i++)
		if (rules[i].kind == TW_HOST_CIDR)
			items[nitems++] = (struct lpm_item){ &rules[i],
							     (uint32_t)i };
	if (!nitems)
		goto done;
	ents = malloc(nitems * sizeof(*ents));
	if (!ents) {
		ret = -ENOMEM;
		goto done;
	}
	/*
	 * Sorted by (proto, family, address, prefix length), a prefix comes
	 * right before everything it contains: a walk with a stack of the
	 * enclosing prefixes finds each entry's ancestors in O(1) amortised.
	 */
	qsort(items, nitems, sizeof(*items), cmp_lpm_item);
	for (size_t i = 0; i < nitems; i++) {
		const struct tw_rule *r = items[i].r;
		struct tw_lpm_entry *e;

		if (n && ents[n - 1].proto == r->proto &&
		    ents[n - 1].family == r->family &&
		    ents[n - 1].prefixlen == r->prefixlen &&
		    !memcmp(ents[n - 1].addr, r->addr, 16)) {
			/* same prefix, other bundles: one entry, the lowest
			 * rule index names it */
			e = &ents[n - 1];
		} else {
			while (depth) {
				const struct tw_lpm_entry *t = &ents[stack[depth - 1]];

				if (t->proto == r->proto &&
				    t->family == r->family &&
				    t->prefixlen <= r->prefixlen &&
				    tw_prefix_contains(t->addr, t->prefixlen,
						    r->addr))
					break;
				depth--;
			}
			e = &ents[n];
			memset(e, 0, sizeof(*e));
			e->proto = r->proto;
			e->family = r->family;
			memcpy(e->addr, r->addr, 16);
			e->prefixlen = r->prefixlen;
			e->rule = items[i].idx;
			if (depth) {
				const struct tw_lpm_entry *t = &ents[stack[depth - 1]];

				memcpy(e->ports, t->ports,
				       t->nports * sizeof(t->ports[0]));
				e->nports = t->nports;
			}
			stack[depth++] = n++;
		}
		ret = lpm_add_ports(e, r->ports, r->nports, &tmp, &tmpcap, err,
				    errlen);
		if (ret)
			goto done;
	}
	*out = ents;
	ents = NULL;
	ret = (long)n;
done:
	free(ents);
	free(items);
	free(tmp);
	return ret;
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * compile.c - policy model -> the effective rules of every context, each
 * rule naming the bundle(s) that grant it; the policy revision; the LPM
 * lowering the kernel maps are filled from.
 *
 * Pure: takes a linked policy, returns data or -errno plus diagnostics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "compile.h"

/* ---- addresses ---------------------------------------------------------- */

static void mask_addr(uint8_t addr[16], int family, int prefixlen)
{
	int bits = family == 4 ? 32 : 128;

	for (int i = 0; i < 16; i++) {
		int lo = i * 8;

		if (lo >= bits || prefixlen <= lo)
			addr[i] = 0;
		else if (prefixlen < lo + 8)
			addr[i] &= (uint8_t)(0xff << (8 - (prefixlen - lo)));
	}
}

bool tw_prefix_contains(const uint8_t *a, int alen, const uint8_t *b)
{
	int full = alen / 8, rest = alen % 8;

	if (memcmp(a, b, full))
		return false;
	if (!rest)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static const uint8_t embed_mapped[12] = { [10] = 0xff, [11] = 0xff };

/*
 * Only IPv4-mapped ::ffff:0:0/96 carries an IPv4 host: a socket connected to
 * ::ffff:a.b.c.d talks IPv4 to a.b.c.d. NAT64 64:ff9b::/96, 6to4 2002::/16,
 * IPv4-compatible ::/96 and Teredo are IPv6 addresses of other hosts (a
 * translator, a relay), reached over IPv6: they stay IPv6 rules and
 * destinations, judged only by IPv6 rules.
 */
bool tw_fold_v4(int *family, uint8_t addr[16], int *prefixlen)
{
	uint8_t v4[4];
	int plen;

	if (*family != 6)
		return false;
	if (*prefixlen < 96 || memcmp(addr, embed_mapped, 12))
		return false;
	memcpy(v4, addr + 12, 4);
	plen = *prefixlen - 96;
	memset(addr, 0, 16);
	memcpy(addr, v4, 4);
	mask_addr(addr, 4, plen);
	*family = 4;
	*prefixlen = plen;
	return true;
}

/* ---- text helpers ------------------------------------------------------- */

void tw_rule_host_str(const struct tw_rule *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	switch (r->kind) {
	case TW_HOST_CIDR:
		inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->addr, a,
			  sizeof(a));
		snprintf(buf, len, "%s/%d", a, r->prefixlen);
		break;
	case TW_HOST_WILDCARD:
		snprintf(buf, len, "*.%s", r->name ? r->name : "");
		break;
	default:
		snprintf(buf, len, "%s", r->name ? r->name : "");
		break;
	}
}

void tw_ports_str(const struct tw_port_range *p, size_t n, char *buf,
		  size_t len)
{
	size_t off = 0;

	if (!len)
		return;
	buf[0] = '\0';
	if (!n || (n == 1 && p[0].lo == 0 && p[0].hi == 65535)) {
		snprintf(buf, len, "any");
		return;
	}
	for (size_t i = 0; i < n && off < len; i++) {
		int w;

		if (p[i].lo == p[i].hi)
			w = snprintf(buf + off, len - off, "%s%u", i ? "," : "",
				     p[i].lo);
		else
			w = snprintf(buf + off, len - off, "%s%u-%u",
				     i ? "," : "", p[i].lo, p[i].hi);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* ---- port sets and bundle sets ------------------------------------------ */

static int cmp_port_range(const void *a, const void *b)
{
	const struct tw_port_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

/* Sort and merge overlapping or adjacent ranges in place; returns count. */
static size_t ports_normalise(struct tw_port_range *p, size_t n)
{
	size_t out = 0;

	if (!n)
		return 0;
	qsort(p, n, sizeof(*p), cmp_port_range);
	for (size_t i = 1; i < n; i++) {
		if ((uint32_t)p[i].lo <= (uint32_t)p[out].hi + 1) {
			if (p[i].hi > p[out].hi)
				p[out].hi = p[i].hi;
		} else {
			p[++out] = p[i];
		}
	}
	return out + 1;
}

/* *DST (malloc'd, *N ranges) |= SRC. */
static int ports_union(struct tw_port_range **dst, size_t *n,
		       const struct tw_port_range *src, size_t m)
{
	struct tw_port_range *p;

	if (!m)
		return 0;
	p = realloc(*dst, (*n + m) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memcpy(p + *n, src, m * sizeof(*p));
	*dst = p;
	*n = ports_normalise(p, *n + m);
	return 0;
}

static int cmp_ports(const struct tw_port_range *a, size_t na,
		     const struct tw_port_range *b, size_t nb)
{
	for (size_t i = 0; i < na && i < nb; i++) {
		int c = cmp_port_range(&a[i], &b[i]);

		if (c)
			return c;
	}
	return na < nb ? -1 : na > nb;
}

static int cmp_ints(const int *a, size_t na, const int *b, size_t nb)
{
	for (size_t i = 0; i < na && i < nb; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return na < nb ? -1 : na > nb;
}

/* *DST (ascending, unique) |= SRC (ascending, unique). */
static int ints_union(int **dst, size_t *n, const int *src, size_t m)
{
	int *out = malloc((*n + m) * sizeof(*out));
	size_t i = 0, j = 0, k = 0;

	if (!out)
		return -ENOMEM;
	while (i < *n || j < m) {
		if (j == m || (i < *n && (*dst)[i] < src[j]))
			out[k++] = (*dst)[i++];
		else if (i == *n || src[j] < (*dst)[i])
			out[k++] = src[j++];
		else
			out[k++] = (*dst)[i++], j++;
	}
	free(*dst);
	*dst = out;
	*n = k;
	return 0;
}

/* ---- rules -------------------------------------------------------------- */

static void rule_free(struct tw_rule *r)
{
	free(r->name);
	free(r->ports);
	free(r->bundles);
}

/* unix, then IPv4, IPv6, then names and wildcards. */
static int rule_group(const struct tw_rule *r)
{
	switch (r->kind) {
	case TW_HOST_UNIX:
		return 0;
	case TW_HOST_CIDR:
		return r->family == 4 ? 1 : 2;
	default:
		return 3;
	}
}

/* The host: where the rule points, independent of protocol and ports. */
static int cmp_host(const struct tw_rule *a, const struct tw_rule *b)
{
	int c = rule_group(a) - rule_group(b);

	if (c)
		return c;
	if (a->kind == TW_HOST_CIDR) {
		c = memcmp(a->addr, b->addr, 16);
		if (c)
			return c;
		return a->prefixlen - b->prefixlen;
	}
	c = strcmp(a->name ? a->name : "", b->name ? b->name : "");
	if (c)
		return c;
	return (int)a->kind - (int)b->kind;
}

static int cmp_proto_host(const struct tw_rule *a, const struct tw_rule *b)
{
	int c = cmp_host(a, b);

	return c ? c : (int)a->proto - (int)b->proto;
}

/* Display order; total, so the result does not depend on input order. */
static int cmp_rule_display(const void *pa, const void *pb)
{
	const struct tw_rule *a = pa, *b = pb;
	int c = cmp_proto_host(a, b);

	if (c)
		return c;
	c = cmp_ports(a->ports, a->nports, b->ports, b->nports);
	if (c)
		return c;
	return cmp_ints(a->bundles, a->nbundles, b->bundles, b->nbundles);
}

/* Groups same proto, host and granting bundles next to each other. */
static int cmp_rule_by_bundles(const void *pa, const void *pb)
{
	const struct tw_rule *a = pa, *b = pb;
	int c = cmp_proto_host(a, b);

	if (c)
		return c;
	c = cmp_ints(a->bundles, a->nbundles, b->bundles, b->nbundles);
	if (c)
		return c;
	return cmp_ports(a->ports, a->nports, b->ports, b->nports);
}

/*
 * One merge pass: sort, then fold each rule into its neighbour when both
 * have the same proto and host and either the same ports (the bundle lists
 * are united) or, with MERGE_PORTS, the same bundles (the ports are
 * united). *N is the count before and after, also on error, so every rule
 * stays owned exactly once. Returns 0 or -ENOMEM.
 */
static int merge_pass(struct tw_rule *r, size_t *n, bool merge_ports)
{
	size_t out = 0, i;
	int err = 0;

	if (*n < 2)
		return 0;
	/* display order puts identical grants next to each other */
	qsort(r, *n, sizeof(*r),
	      merge_ports ? cmp_rule_by_bundles : cmp_rule_display);
	for (i = 1; i < *n; i++) {
		struct tw_rule *k = &r[out];
		bool same = !cmp_proto_host(k, &r[i]);

		if (same && merge_ports)
			same = !cmp_ints(k->bundles, k->nbundles, r[i].bundles,
					 r[i].nbundles);
		else if (same)
			same = !cmp_ports(k->ports, k->nports, r[i].ports,
					  r[i].nports);
		if (same)
			err = merge_ports ?
				      ports_union(&k->ports, &k->nports,
						  r[i].ports, r[i].nports) :
				      ints_union(&k->bundles, &k->nbundles,
						 r[i].bundles, r[i].nbundles);
		if (err)
			break;
		if (same)
			rule_free(&r[i]);
		else
			r[++out] = r[i];
	}
	/* on error, keep the rules not looked at yet */
	for (; i < *n; i++)
		r[++out] = r[i];
	*n = out + 1;
	return err;
}

/*
 * Identical grants become one rule listing every granting bundle; then
 * rules of one host granted by the same bundles have their ports merged.
 * A port merge can make two rules identical again, so repeat until a
 * round changes nothing (each round that changes removes rules, so this
 * ends). *N is updated as for merge_pass().
 */
static int merge_rules(struct tw_rule *r, size_t *n)
{
	size_t before;
	int err;

	do {
		before = *n;
		if ((err = merge_pass(r, n, false)) ||
		    (err = merge_pass(r, n, true)))
			return err;
	} while (*n != before);
	qsort(r, *n, sizeof(*r), cmp_rule_display);
	return 0;
}

static int rule_from_endpoint(const struct tw_endpoint *ep, int bundle,
			      struct tw_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->proto = ep->proto;
	r->kind = ep->kind;
	if (ep->kind == TW_HOST_CIDR) {
		r->family = ep->family;
		memcpy(r->addr, ep->addr, 16);
		r->prefixlen = ep->prefixlen;
		tw_fold_v4(&r->family, r->addr, &r->prefixlen);
		mask_addr(r->addr, r->family, r->prefixlen);
	} else {
		r->name = strdup(ep->name ? ep->name : "");
		if (!r->name)
			return -ENOMEM;
		if (ep->kind != TW_HOST_UNIX)
			for (char *p = r->name; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
	}
	if (ep->kind != TW_HOST_UNIX && ep->nports) {
		r->ports = malloc(ep->nports * sizeof(*r->ports));
		if (!r->ports)
			goto nomem;
		memcpy(r->ports, ep->ports, ep->nports * sizeof(*r->ports));
		r->nports = ports_normalise(r->ports, ep->nports);
	} else if (ep->kind != TW_HOST_UNIX) {
		/* the parser never leaves inet ports empty; be safe anyway */
		r->ports = malloc(sizeof(*r->ports));
		if (!r->ports)
			goto nomem;
		r->ports[0] = (struct tw_port_range){ 0, 65535 };
		r->nports = 1;
	}
	r->bundles = malloc(sizeof(*r->bundles));
	if (!r->bundles)
		goto nomem;
	r->bundles[0] = bundle;
	r->nbundles = 1;
	return 0;
nomem:
	rule_free(r);
	return -ENOMEM;
}

/* ---- contexts ----------------------------------------------------------- */

static void context_free(struct tw_context *x)
{
	free(x->name);
	free(x->cgroup);
	free(x->held);
	for (size_t i = 0; i < x->nrules; i++)
		rule_free(&x->rules[i]);
	free(x->rules);
	for (size_t i = 0; i < x->nlisten; i++)
		rule_free(&x->listen[i]);
	free(x->listen);
	for (size_t i = 0; i < x->ncreds; i++)
		free(x->creds[i].source);
	free(x->creds);
	free(x->repos);
	free(x->skills);
}

void tw_compiled_free(struct tw_compiled *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nctx; i++)
		context_free(&c->ctx[i]);
	free(c->ctx);
	memset(c, 0, sizeof(*c));
}

int tw_compiled_find(const struct tw_compiled *c, const char *context)
{
	for (size_t i = 0; i < c->nctx; i++)
		if (!strcmp(c->ctx[i].name, context))
			return (int)i;
	return -ENOENT;
}

static void add_held(struct tw_context *x, const struct tw_policy *pol,
		     const struct tw_ref *refs, size_t n, enum tw_grant via)
{
	for (size_t i = 0; i < n; i++) {
		int b = refs[i].bundle;
		bool dup = false;

		if (b < 0 || (size_t)b >= pol->nbundles)
			continue; /* dangling: a check error already */
		for (size_t j = 0; j < x->nheld && !dup; j++)
			dup = x->held[j].bundle == b;
		if (dup)
			continue; /* the first reason (baseline) stays */
		x->held[x->nheld++] = (struct tw_held){ .bundle = b, .via = via };
	}
}

static int cmp_held(const void *a, const void *b)
{
	return ((const struct tw_held *)a)->bundle -
	       ((const struct tw_held *)b)->bundle;
}

static int build_rules(struct tw_context *x, const struct tw_policy *pol)
{
	size_t n = 0, cap = 0;

	for (size_t h = 0; h < x->nheld; h++)
		cap += pol->bundles[x->held[h].bundle].nconnect;
	if (!cap)
		return 0;
	x->rules = calloc(cap, sizeof(*x->rules));
	if (!x->rules)
		return -ENOMEM;
	for (size_t h = 0; h < x->nheld; h++) {
		const struct tw_bundle *b = &pol->bundles[x->held[h].bundle];

		for (size_t e = 0; e < b->nconnect; e++) {
			int err = rule_from_endpoint(&b->connect[e],
						     x->held[h].bundle,
						     &x->rules[n]);

			if (err) {
				x->nrules = n;
				return err;
			}
			n++;
		}
	}
	x->nrules = n;
	return merge_rules(x->rules, &x->nrules);
}

/* The context's `listen` grants, merged like connect rules. */
static int build_listen(struct tw_context *x, const struct tw_policy *pol)
{
	size_t n = 0, cap = 0;

	for (size_t h = 0; h < x->nheld; h++)
		cap += pol->bundles[x->held[h].bundle].nlisten;
	if (!cap)
		return 0;
	x->listen = calloc(cap, sizeof(*x->listen));
	if (!x->listen)
		return -ENOMEM;
	for (size_t h = 0; h < x->nheld; h++) {
		const struct tw_bundle *b = &pol->bundles[x->held[h].bundle];

		for (size_t e = 0; e < b->nlisten; e++) {
			int err = rule_from_endpoint(&b->listen[e],
						     x->held[h].bundle,
						     &x->listen[n]);

			if (err) {
				x->nlisten = n;
				return err;
			}
			n++;
		}
	}
	x->nlisten = n;
	return merge_rules(x->listen, &x->nlisten);
}

/* asprintf that returns the string, or NULL on failure. */
static char *str_printf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static char *str_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

static char *path_join(const char *dir, const char *name)
{
	if (!dir || !name)
		return NULL;
	return str_printf("%s%s%s", dir,
			  *dir && dir[strlen(dir) - 1] == '/' ? "" : "/",
			  name);
}

static int build_creds(struct tw_context *x, const struct tw_policy *pol)
{
	const struct tw_workspace *ws = &pol->workspaces[x->workspace];
	const struct tw_dm *dm = x->dm >= 0 ? &pol->dms[x->dm] : NULL;
	size_t cap = 0;

	for (size_t h = 0; h < x->nheld; h++)
		cap += pol->bundles[x->held[h].bundle].ncreds;
	if (!cap)
		return 0;
	x->creds = calloc(cap, sizeof(*x->creds));
	if (!x->creds)
		return -ENOMEM;
	for (size_t h = 0; h < x->nheld; h++) {
		const struct tw_bundle *b = &pol->bundles[x->held[h].bundle];

		for (size_t i = 0; i < b->ncreds; i++) {
			const struct tw_credential *cr = &b->creds[i];
			struct tw_cred_grant *g = &x->creds[x->ncreds++];

			g->bundle = x->held[h].bundle;
			g->cred = cr;
			if (cr->owner == TW_OWNER_PERSON) {
				/* only a DM has a person's store */
				if (dm && dm->credentials_dir &&
				    !(g->source = path_join(dm->credentials_dir,
							    cr->name)))
					return -ENOMEM;
			} else if (cr->file) {
				if (!(g->source = strdup(cr->file)))
					return -ENOMEM;
			} else if (ws->credentials_dir) {
				if (!(g->source = path_join(ws->credentials_dir,
							    cr->name)))
					return -ENOMEM;
			}
		}
	}
	return 0;
}

static int cmp_repo_grant(const void *pa, const void *pb)
{
	const struct tw_repo_grant *a = pa, *b = pb;
	int c = strcmp(a->repo->path, b->repo->path);

	if (c)
		return c;
	if (a->access != b->access)
		return a->access == TW_ACCESS_WRITE ? -1 : 1;
	return a->bundle - b->bundle;
}

static int build_repos(struct tw_context *x, const struct tw_policy *pol)
{
	size_t cap = 0, n = 0;

	for (size_t h = 0; h < x->nheld; h++)
		cap += pol->bundles[x->held[h].bundle].nrepos;
	if (!cap)
		return 0;
	x->repos = calloc(cap, sizeof(*x->repos));
	if (!x->repos)
		return -ENOMEM;
	for (size_t h = 0; h < x->nheld; h++) {
		const struct tw_bundle *b = &pol->bundles[x->held[h].bundle];

		for (size_t i = 0; i < b->nrepos; i++)
			x->repos[n++] = (struct tw_repo_grant){
				.bundle = x->held[h].bundle,
				.repo = &b->repos[i],
				.access = b->repos[i].access,
			};
	}
	/* strongest access first within a path: keep the first of each */
	qsort(x->repos, n, sizeof(*x->repos), cmp_repo_grant);
	for (size_t i = 0; i < n; i++)
		if (!x->nrepos || strcmp(x->repos[x->nrepos - 1].repo->path,
					 x->repos[i].repo->path))
			x->repos[x->nrepos++] = x->repos[i];
	return 0;
}

static int cmp_skill_grant(const void *pa, const void *pb)
{
	const struct tw_skill_grant *a = pa, *b = pb;
	int c = strcmp(a->path, b->path);

	return c ? c : a->bundle - b->bundle;
}

static int build_skills(struct tw_context *x, const struct tw_policy *pol)
{
	size_t cap = 0, n = 0;

	for (size_t h = 0; h < x->nheld; h++)
		cap += pol->bundles[x->held[h].bundle].nskills;
	if (!cap)
		return 0;
	x->skills = calloc(cap, sizeof(*x->skills));
	if (!x->skills)
		return -ENOMEM;
	for (size_t h = 0; h < x->nheld; h++) {
		const struct tw_bundle *b = &pol->bundles[x->held[h].bundle];

		for (size_t i = 0; i < b->nskills; i++)
			x->skills[n++] = (struct tw_skill_grant){
				.bundle = x->held[h].bundle,
				.path = b->skills[i],
			};
	}
	qsort(x->skills, n, sizeof(*x->skills), cmp_skill_grant);
	for (size_t i = 0; i < n; i++)
		if (!x->nskills ||
		    strcmp(x->skills[x->nskills - 1].path, x->skills[i].path))
			x->skills[x->nskills++] = x->skills[i];
	return 0;
}

static enum tw_mode resolve_mode(enum tw_mode own,
				 const struct tw_workspace *ws)
{
	if (own != TW_MODE_UNSET)
		return own;
	if (ws && ws->mode != TW_MODE_UNSET)
		return ws->mode;
	return TW_MODE_ENFORCE;
}

static bool resolve_background(enum tw_background own,
			       const struct tw_workspace *ws)
{
	if (own != TW_BG_UNSET)
		return own == TW_BG_ON;
	return ws && ws->background == TW_BG_ON;
}

/* Each limit: the channel/DM's own, else the workspace's, else the
 * default. A NULL OWN resolves the workspace itself. */
static struct tw_limits resolve_limits(const struct tw_limits *own,
				       const struct tw_workspace *ws)
{
	struct tw_limits l = { TW_LIMIT_PIDS_DEFAULT, TW_LIMIT_MEMORY_DEFAULT };

	if (ws && ws->limits.pids)
		l.pids = ws->limits.pids;
	if (ws && ws->limits.memory)
		l.memory = ws->limits.memory;
	if (own && own->pids)
		l.pids = own->pids;
	if (own && own->memory)
		l.memory = own->memory;
	return l;
}

static json_t *canon_limits(const struct tw_limits *own,
			    const struct tw_workspace *ws)
{
	struct tw_limits l = resolve_limits(own, ws);

	return json_pack("{s:I,s:I}", "pids", (json_int_t)l.pids, "memory",
			 (json_int_t)l.memory);
}

/* Fill X for workspace WS plus the channel CH or the DM DM (or neither). */
static int build_context(struct tw_context *x, const struct tw_policy *pol,
			 int ws, int ch, int dm)
{
	const struct tw_workspace *w = &pol->workspaces[ws];
	size_t cap = w->nbaseline;
	int err;

	x->workspace = ws;
	x->channel = ch;
	x->dm = dm;
	if (ch >= 0) {
		const struct tw_channel *c = &pol->channels[ch];

		x->kind = TW_CTX_CHANNEL;
		x->mode = resolve_mode(c->mode, w);
		x->background = resolve_background(c->background, w);
		x->limits = resolve_limits(&c->limits, w);
		x->run_as = w->agent_user;
		x->name = str_printf("channel:%s/%s", w->name, c->name);
		x->cgroup = str_printf("%s/channels/%s", w->name, c->name);
		cap += c->nstep_up;
	} else if (dm >= 0) {
		const struct tw_dm *d = &pol->dms[dm];

		x->kind = TW_CTX_DM;
		x->mode = resolve_mode(d->mode, w);
		x->background = resolve_background(d->background, w);
		x->limits = resolve_limits(&d->limits, w);
		x->run_as = d->run_as ? d->run_as : w->agent_user;
		x->name = str_printf("dm:%s/%s", w->name, d->name);
		x->cgroup = str_printf("%s/dms/%s", w->name, d->name);
		cap += d->npersonal;
	} else {
		x->kind = TW_CTX_WORKSPACE;
		x->mode = resolve_mode(TW_MODE_UNSET, w);
		x->background = resolve_background(TW_BG_UNSET, w);
		x->limits = resolve_limits(NULL, w);
		x->run_as = w->agent_user;
		x->name = str_printf("workspace:%s", w->name);
		x->cgroup = str_printf("%s/workspace", w->name);
	}
	if (!x->name || !x->cgroup)
		return -ENOMEM;

	if (cap) {
		x->held = calloc(cap, sizeof(*x->held));
		if (!x->held)
			return -ENOMEM;
	}
	add_held(x, pol, w->baseline, w->nbaseline, TW_GRANT_BASELINE);
	if (ch >= 0)
		add_held(x, pol, pol->channels[ch].step_up,
			 pol->channels[ch].nstep_up, TW_GRANT_STEP_UP);
	if (dm >= 0)
		add_held(x, pol, pol->dms[dm].personal, pol->dms[dm].npersonal,
			 TW_GRANT_PERSONAL);
	if (x->nheld > 1)
		qsort(x->held, x->nheld, sizeof(*x->held), cmp_held);

	if ((err = build_rules(x, pol)) || (err = build_listen(x, pol)) ||
	    (err = build_creds(x, pol)) ||
	    (err = build_repos(x, pol)) || (err = build_skills(x, pol)))
		return err;
	return 0;
}

/* Order of one context kind: by workspace name, then own name. */
struct ctx_key {
	const char *ws;
	const char *name;
	int idx;
};

static int cmp_ctx_key(const void *pa, const void *pb)
{
	const struct ctx_key *a = pa, *b = pb;
	int c = strcmp(a->ws ? a->ws : "", b->ws ? b->ws : "");

	if (c)
		return c;
	c = strcmp(a->name ? a->name : "", b->name ? b->name : "");
	return c ? c : a->idx - b->idx;
}

static bool ws_ok(const struct tw_policy *pol, int ws)
{
	return ws >= 0 && (size_t)ws < pol->nworkspaces;
}

/* Sorted (workspace, name, index) keys of the contexts of one kind. */
static struct ctx_key *ctx_order(const struct tw_policy *pol,
				 enum tw_ctx_kind kind, size_t *n)
{
	size_t cnt = kind == TW_CTX_WORKSPACE ? pol->nworkspaces :
		     kind == TW_CTX_CHANNEL   ? pol->nchannels :
						pol->ndms;
	struct ctx_key *k = calloc(cnt ? cnt : 1, sizeof(*k));

	*n = 0;
	if (!k)
		return NULL;
	for (size_t i = 0; i < cnt; i++) {
		int ws;

		if (kind == TW_CTX_WORKSPACE) {
			k[*n] = (struct ctx_key){ pol->workspaces[i].name,
						  "", (int)i };
			(*n)++;
			continue;
		}
		ws = kind == TW_CTX_CHANNEL ? pol->channels[i].workspace :
					      pol->dms[i].workspace;
		if (!ws_ok(pol, ws))
			continue; /* dangling: a check error already */
		k[*n] = (struct ctx_key){
			pol->workspaces[ws].name,
			kind == TW_CTX_CHANNEL ? pol->channels[i].name :
						 pol->dms[i].name,
			(int)i,
		};
		(*n)++;
	}
	qsort(k, *n, sizeof(*k), cmp_ctx_key);
	return k;
}

static struct tw_loc ctx_loc(const struct tw_policy *pol,
			     const struct tw_context *x)
{
	if (x->channel >= 0)
		return pol->channels[x->channel].loc;
	if (x->dm >= 0)
		return pol->dms[x->dm].loc;
	return pol->workspaces[x->workspace].loc;
}

/*
 * The kernel stores at most TW_MAX_PORT_RANGES ranges per LPM entry and
 * per name rule: find that out at check time, not when the daemon loads.
 */
static int check_limits(const struct tw_policy *pol,
			const struct tw_context *x, struct tw_diags *diags)
{
	struct tw_lpm_entry *ents = NULL;
	char why[256];
	long n;

	if (x->nrules > TW_MAX_RULES_PER_CTX) {
		tw_diags_add(diags, ctx_loc(pol, x),
			     "context %s has %zu network rules (at most %d)",
			     x->name, x->nrules, TW_MAX_RULES_PER_CTX);
		return -EINVAL;
	}
	for (size_t i = 0; i < x->nrules; i++) {
		const struct tw_rule *r = &x->rules[i];
		char host[300];

		if (r->kind == TW_HOST_CIDR || r->nports <= TW_MAX_PORT_RANGES)
			continue;
		tw_rule_host_str(r, host, sizeof(host));
		tw_diags_add(diags, ctx_loc(pol, x),
			     "context %s: %s needs %zu port ranges (at most %d)",
			     x->name, host, r->nports, TW_MAX_PORT_RANGES);
		return -EINVAL;
	}
	n = tw_lower_lpm(x, &ents, why, sizeof(why));
	free(ents);
	if (n == -E2BIG) {
		tw_diags_add(diags, ctx_loc(pol, x), "context %s: %s", x->name,
			     why);
		return -EINVAL;
	}
	return n < 0 ? (int)n : 0;
}

int tw_compile(const struct tw_policy *pol, struct tw_compiled *out,
	       struct tw_diags *diags)
{
	static const enum tw_ctx_kind kinds[] = { TW_CTX_WORKSPACE,
						  TW_CTX_CHANNEL, TW_CTX_DM };
	size_t total = pol->nworkspaces + pol->nchannels + pol->ndms;
	int err = 0;

	memset(out, 0, sizeof(*out));
	out->pol = pol;
	err = tw_policy_revision(pol, out->revision);
	if (err)
		return err;
	out->ctx = calloc(total ? total : 1, sizeof(*out->ctx));
	if (!out->ctx)
		return -ENOMEM;

	for (size_t k = 0; k < 3 && !err; k++) {
		size_t n;
		struct ctx_key *keys = ctx_order(pol, kinds[k], &n);

		if (!keys) {
			err = -ENOMEM;
			break;
		}
		for (size_t i = 0; i < n && !err; i++) {
			struct tw_context *x = &out->ctx[out->nctx++];
			int ws = keys[i].idx, ch = -1, dm = -1;

			if (kinds[k] == TW_CTX_CHANNEL) {
				ch = keys[i].idx;
				ws = pol->channels[ch].workspace;
			} else if (kinds[k] == TW_CTX_DM) {
				dm = keys[i].idx;
				ws = pol->dms[dm].workspace;
			}
			err = build_context(x, pol, ws, ch, dm);
			if (!err && out->nctx > TW_MAX_CONTEXTS) {
				tw_diags_add(diags, ctx_loc(pol, x),
					     "context %s is one too many: a policy has at most %d contexts",
					     x->name, TW_MAX_CONTEXTS);
				err = -EINVAL;
			}
			if (!err)
				err = check_limits(pol, x, diags);
		}
		free(keys);
	}
	if (err)
		tw_compiled_free(out);
	return err;
}

/* ---- LPM lowering ------------------------------------------------------- */

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
	m = ports_normalise(*tmp, need);
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

/* ---- revision ----------------------------------------------------------- */

/*
 * The revision is the SHA-256 of a canonical JSON text of the policy:
 * objects sorted by kind then name, keys sorted, no source locations,
 * lists whose order carries no meaning sorted and deduplicated, connect
 * entries in their compiled form (folded, masked, ports merged). The same
 * policy split over files in another order has the same revision; every
 * change that can alter a decision, a grant or a message changes it.
 * Every builder below returns a new reference or NULL (out of memory).
 */

static const char *mode_str(enum tw_mode m)
{
	return m == TW_MODE_AUDIT ? "audit" : "enforce";
}

static const char *kind_str(enum tw_host_kind k)
{
	switch (k) {
	case TW_HOST_CIDR:
		return "cidr";
	case TW_HOST_NAME:
		return "name";
	case TW_HOST_WILDCARD:
		return "wildcard";
	default:
		return "unix";
	}
}

static const char *proto_str(enum tw_proto p)
{
	return p == TW_PROTO_UDP ? "udp" : p == TW_PROTO_UNIX ? "unix" : "tcp";
}

struct canon_elem {
	char *key;
	json_t *v;
};

static int cmp_canon_elem(const void *a, const void *b)
{
	return strcmp(((const struct canon_elem *)a)->key,
		      ((const struct canon_elem *)b)->key);
}

/*
 * Sort ARR (workspace, name, then canonical text of each element) and drop
 * duplicates: for lists whose order carries no meaning. Consumes ARR;
 * returns it, or NULL.
 */
static json_t *canon_set(json_t *arr)
{
	size_t n = json_array_size(arr), m = 0;
	struct canon_elem *el;
	bool ok = true;

	if (!arr || n < 2)
		return arr;
	el = calloc(n, sizeof(*el));
	if (!el)
		goto fail;
	for (size_t i = 0; i < n && ok; i++) {
		json_t *v = json_array_get(arr, i);
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *ws =
			json_string_value(json_object_get(v, "workspace"));
		char *dump = NULL;

		el[i].v = json_incref(v);
		if (json_is_string(v)) {
			/* strings sort as themselves: no dump needed */
			el[i].key = strdup(json_string_value(v));
		} else {
			dump = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS |
						     JSON_ENCODE_ANY);
			el[i].key = dump ? str_printf("%s\x01%s\x01%s",
						      ws ? ws : "",
						      name ? name : "", dump) :
					   NULL;
		}
		ok = el[i].key != NULL;
		free(dump);
	}
	if (ok) {
		qsort(el, n, sizeof(*el), cmp_canon_elem);
		json_array_clear(arr);
		for (size_t i = 0; i < n && ok; i++)
			if (!m || strcmp(el[m - 1].key, el[i].key)) {
				ok = !json_array_append(arr, el[i].v);
				m = i + 1;
			}
	}
	for (size_t i = 0; i < n; i++) {
		free(el[i].key);
		json_decref(el[i].v);
	}
	free(el);
	if (ok)
		return arr;
fail:
	json_decref(arr);
	return NULL;
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Append V (consumed) to A; on failure A is released. */
static json_t *append(json_t *a, json_t *v)
{
	if (!a || !v || json_array_append_new(a, v)) {
		json_decref(a);
		if (!a)
			json_decref(v);
		return NULL;
	}
	return a;
}

static json_t *canon_strings(char **v, size_t n, bool set)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		a = append(a, jstr(v[i]));
	return set ? canon_set(a) : a;
}

static json_t *canon_refs(const struct tw_ref *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		a = append(a, jstr(v[i].name));
	return canon_set(a);
}

/* "tcp cidr 10.0.0.0/8 80,443": a string sorts and hashes fast, and a
 * policy may hold a hundred thousand of these. */
static json_t *canon_endpoint(const struct tw_endpoint *ep)
{
	json_t *o = NULL;
	struct tw_rule r;
	char host[512], *ports, *text;
	size_t plen;

	if (rule_from_endpoint(ep, 0, &r))
		return NULL;
	plen = r.nports * 12 + 8;
	ports = malloc(plen);
	if (ports) {
		tw_rule_host_str(&r, host, sizeof(host));
		tw_ports_str(r.ports, r.nports, ports, plen);
		text = str_printf("%s %s %s %s", proto_str(r.proto),
				  kind_str(r.kind), host, ports);
		if (text)
			o = json_string(text);
		free(text);
		free(ports);
	}
	rule_free(&r);
	return o;
}

static json_t *canon_credential(const struct tw_credential *c)
{
	return json_pack("{s:o,s:s,s:s,s:o,s:o}", "name", jstr(c->name),
			 "scope", c->scope == TW_SCOPE_WRITE ? "write" : "read",
			 "owner",
			 c->owner == TW_OWNER_PERSON ? "person" : "agent",
			 "env", jstr(c->env), "file", jstr(c->file));
}

static json_t *canon_bundle(const struct tw_bundle *b)
{
	json_t *connect = json_array(), *creds = json_array(),
	       *repos = json_array();

	for (size_t i = 0; connect && i < b->nconnect; i++)
		connect = append(connect, canon_endpoint(&b->connect[i]));
	for (size_t i = 0; creds && i < b->ncreds; i++)
		creds = append(creds, canon_credential(&b->creds[i]));
	for (size_t i = 0; repos && i < b->nrepos; i++)
		repos = append(
			repos,
			json_pack("{s:o,s:s}", "path", jstr(b->repos[i].path),
				  "access",
				  b->repos[i].access == TW_ACCESS_WRITE ? "write" :
									  "read"));
	json_t *o, *listen;

	/* json_pack fails on a NULL "o" and releases the others */
	o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "name", jstr(b->name),
		      "description", jstr(b->description), "connect",
		      canon_set(connect), "credentials", canon_set(creds),
		      "repositories", canon_set(repos), "skills",
		      canon_strings(b->skills, b->nskills, true),
		      "instructions", jstr(b->instructions));
	/* Only when present: policies without it keep their revision. */
	if (!o || !b->nlisten)
		return o;
	listen = json_array();
	for (size_t i = 0; listen && i < b->nlisten; i++)
		listen = append(listen, canon_endpoint(&b->listen[i]));
	listen = canon_set(listen);
	if (!listen || json_object_set_new(o, "listen", listen)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* "background" only where it is on: a policy that does not use it keeps
 * its revision. */
static json_t *with_background(json_t *o, bool on)
{
	if (o && on)
		json_object_set_new(o, "background", json_true());
	return o;
}

static json_t *canon_workspace(const struct tw_workspace *w)
{
	return with_background(json_pack(
		"{s:o,s:{s:o,s:o},s:o,s:s,s:o,s:o,s:o,s:o}", "name", jstr(w->name),
		"agent", "name", jstr(w->agent_name), "user",
		jstr(w->agent_user), "baseline",
		canon_refs(w->baseline, w->nbaseline), "mode",
		mode_str(resolve_mode(w->mode, NULL)),
		/* resolvers are tried in the order given */
		"dns_upstream",
		canon_strings(w->dns_upstream, w->ndns_upstream, false),
		"system_paths",
		w->nsystem_paths ?
			canon_strings(w->system_paths, w->nsystem_paths, true) :
			json_null(),
		"credentials_dir", jstr(w->credentials_dir), "limits",
		canon_limits(NULL, w)),
		resolve_background(w->background, NULL));
}

/* Channels and DMs carry their effective mode: an explicit mode equal to
 * the inherited one is the same policy. */
static json_t *canon_channel(const struct tw_policy *pol,
			     const struct tw_channel *c)
{
	const struct tw_workspace *w =
		ws_ok(pol, c->workspace) ? &pol->workspaces[c->workspace] :
					   NULL;

	return with_background(
		json_pack("{s:o,s:o,s:o,s:s,s:o}", "name", jstr(c->name),
			  "workspace", jstr(c->workspace_name), "step_up",
			  canon_refs(c->step_up, c->nstep_up), "mode",
			  mode_str(resolve_mode(c->mode, w)), "limits",
			  canon_limits(&c->limits, w)),
		resolve_background(c->background, w));
}

static json_t *canon_dm(const struct tw_policy *pol, const struct tw_dm *d)
{
	const struct tw_workspace *w =
		ws_ok(pol, d->workspace) ? &pol->workspaces[d->workspace] :
					   NULL;

	return with_background(
		json_pack("{s:o,s:o,s:o,s:o,s:o,s:s,s:o}", "name",
			  jstr(d->name), "workspace", jstr(d->workspace_name),
			  "personal", canon_refs(d->personal, d->npersonal),
			  "credentials_dir", jstr(d->credentials_dir),
			  "run_as", jstr(d->run_as), "mode",
			  mode_str(resolve_mode(d->mode, w)), "limits",
			  canon_limits(&d->limits, w)),
		resolve_background(d->background, w));
}

static json_t *canon_policy(const struct tw_policy *pol)
{
	json_t *ws = json_array(), *bundles = json_array(),
	       *channels = json_array(), *dms = json_array();

	for (size_t i = 0; ws && i < pol->nworkspaces; i++)
		ws = append(ws, canon_workspace(&pol->workspaces[i]));
	for (size_t i = 0; bundles && i < pol->nbundles; i++)
		bundles = append(bundles, canon_bundle(&pol->bundles[i]));
	for (size_t i = 0; channels && i < pol->nchannels; i++)
		channels = append(channels, canon_channel(pol, &pol->channels[i]));
	for (size_t i = 0; dms && i < pol->ndms; i++)
		dms = append(dms, canon_dm(pol, &pol->dms[i]));
	return json_pack("{s:i,s:o,s:o,s:o,s:o}", "toolwall_policy", 1,
			 "workspaces", canon_set(ws), "bundles",
			 canon_set(bundles), "channels", canon_set(channels),
			 "dms", canon_set(dms));
}

int tw_policy_revision(const struct tw_policy *pol, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	json_t *root = canon_policy(pol);
	char *text;
	int ret = 0;

	out[0] = '\0';
	if (!root)
		return -ENOMEM;
	text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	if (!text)
		return -ENOMEM;
	if (!EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32) {
		ret = -EIO;
		goto out;
	}
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
out:
	free(text);
	return ret;
}

json_t *tw_context_instructions_json(const struct tw_compiled *c,
				     const struct tw_context *x)
{
	json_t *instr = json_array();

	for (size_t i = 0; instr && i < x->nheld; i++) {
		const struct tw_bundle *b = &c->pol->bundles[x->held[i].bundle];

		if (b->instructions)
			json_array_append_new(
				instr, json_pack("{s:s,s:s}", "bundle", b->name,
						 "text", b->instructions));
	}
	return instr;
}

json_t *tw_context_access_json(const struct tw_compiled *c,
			       const struct tw_context *x)
{
	const struct tw_policy *pol = c->pol;
	json_t *creds = json_array(), *repos = json_array(),
	       *skills = json_array();

	for (size_t i = 0; creds && i < x->ncreds; i++) {
		const struct tw_cred_grant *g = &x->creds[i];

		json_array_append_new(
			creds,
			json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s?}", "name",
				  g->cred->name, "scope",
				  g->cred->scope == TW_SCOPE_WRITE ? "write" :
								     "read",
				  "owner",
				  g->cred->owner == TW_OWNER_PERSON ? "person" :
								      "agent",
				  "env", g->cred->env, "bundle",
				  pol->bundles[g->bundle].name, "source",
				  g->source));
	}
	for (size_t i = 0; repos && i < x->nrepos; i++)
		json_array_append_new(
			repos,
			json_pack("{s:s,s:s,s:s}", "path",
				  x->repos[i].repo->path, "access",
				  x->repos[i].access == TW_ACCESS_WRITE ? "write" :
									  "read",
				  "bundle", pol->bundles[x->repos[i].bundle].name));
	for (size_t i = 0; skills && i < x->nskills; i++)
		json_array_append_new(
			skills,
			json_pack("{s:s,s:s}", "path", x->skills[i].path,
				  "bundle", pol->bundles[x->skills[i].bundle].name));
	return json_pack("{s:o,s:o,s:o,s:o}", "credentials", creds,
			 "repositories", repos, "skills", skills,
			 "instructions", tw_context_instructions_json(c, x));
}

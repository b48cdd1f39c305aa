/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * compile.c - policy model -> the effective rules of every context, each
 * rule naming the bundle(s) that grant it. The policy revision is
 * revision.c, the LPM lowering the kernel maps are filled from lower.c.
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
#include "service.h"

/* ---- port sets and bundle sets ------------------------------------------ */

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
	*n = tw_ports_normalise(p, *n + m);
	return 0;
}

static int cmp_ports(const struct tw_port_range *a, size_t na,
		     const struct tw_port_range *b, size_t nb)
{
	for (size_t i = 0; i < na && i < nb; i++) {
		int c = tw_port_range_cmp(&a[i], &b[i]);

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
			tw_rule_free(&r[i]);
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

/* ---- contexts ----------------------------------------------------------- */

static void context_free(struct tw_context *x)
{
	free(x->name);
	free(x->cgroup);
	free(x->held);
	for (size_t i = 0; i < x->nrules; i++)
		tw_rule_free(&x->rules[i]);
	free(x->rules);
	for (size_t i = 0; i < x->nlisten; i++)
		tw_rule_free(&x->listen[i]);
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
			int err = tw_rule_from_endpoint(&b->connect[e],
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
			int err = tw_rule_from_endpoint(&b->listen[e],
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
static char *path_join(const char *dir, const char *name)
{
	if (!dir || !name)
		return NULL;
	return tw_str_printf("%s%s%s", dir,
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

/* Fill X for workspace WS plus the channel CH or the DM DM (or neither),
 * holding the bundles EXTRA (NEXTRA) as well, as granted. */
static int build_context(struct tw_context *x, const struct tw_policy *pol,
			 int ws, int ch, int dm, const int *extra,
			 size_t nextra)
{
	const struct tw_workspace *w = &pol->workspaces[ws];
	size_t cap = w->nbaseline + nextra;
	int err;

	x->workspace = ws;
	x->channel = ch;
	x->dm = dm;
	if (ch >= 0) {
		const struct tw_channel *c = &pol->channels[ch];

		x->kind = TW_CTX_CHANNEL;
		x->mode = tw_resolve_mode(c->mode, w);
		x->background = tw_resolve_background(c->background, w);
		x->limits = tw_resolve_limits(&c->limits, w);
		x->max_learned = tw_resolve_max_learned(c->dns_max_learned, w);
		x->run_as = w->agent_user;
		x->name = tw_str_printf("channel:%s/%s", w->name, c->name);
		x->cgroup = tw_str_printf("%s/channels/%s", w->name, c->name);
		cap += c->nstep_up;
	} else if (dm >= 0) {
		const struct tw_dm *d = &pol->dms[dm];

		x->kind = TW_CTX_DM;
		x->mode = tw_resolve_mode(d->mode, w);
		x->background = tw_resolve_background(d->background, w);
		x->limits = tw_resolve_limits(&d->limits, w);
		x->max_learned = tw_resolve_max_learned(d->dns_max_learned, w);
		x->run_as = d->run_as ? d->run_as : w->agent_user;
		x->name = tw_str_printf("dm:%s/%s", w->name, d->name);
		x->cgroup = tw_str_printf("%s/dms/%s", w->name, d->name);
		cap += d->npersonal;
	} else {
		x->kind = TW_CTX_WORKSPACE;
		x->mode = tw_resolve_mode(TW_MODE_UNSET, w);
		x->background = tw_resolve_background(TW_BG_UNSET, w);
		x->limits = tw_resolve_limits(NULL, w);
		x->max_learned = tw_resolve_max_learned(0, w);
		x->run_as = w->agent_user;
		x->name = tw_str_printf("workspace:%s", w->name);
		x->cgroup = tw_str_printf("%s/workspace", w->name);
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
	for (size_t i = 0; i < nextra; i++) {
		struct tw_ref r = { .bundle = extra[i] };

		add_held(x, pol, &r, 1, TW_GRANT_GRANTED);
	}
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

/*
 * Learned-address quotas: the explicit ones must fit TW_LEARNED_MAX
 * together, and leave every other context at least TW_LEARNED_MIN_SHARE;
 * those get TW_LEARNED_DEFAULT or an equal share of what is left, if less.
 * The sum is what keeps a reload from ever overflowing tw_learned.
 */
static int learned_quotas(const struct tw_policy *pol, struct tw_compiled *out,
			  struct tw_diags *diags)
{
	const struct tw_context *at = NULL;
	uint64_t sum = 0, share;
	size_t ndefault = 0;

	for (size_t i = 0; i < out->nctx; i++) {
		struct tw_context *x = &out->ctx[i];

		x->max_learned_set = x->max_learned != 0;
		if (x->max_learned_set)
			sum += x->max_learned;
		else
			ndefault++;
		/* where it first went over: the location of the error */
		if (!at && sum + ndefault * TW_LEARNED_MIN_SHARE >
				   TW_LEARNED_MAX)
			at = x;
	}
	if (at) {
		tw_diags_add(diags, ctx_loc(pol, at),
			     "context %s: \"dns\": {\"max_learned\"}: the "
			     "learned-address quotas of the %zu contexts add "
			     "up to %llu (set explicitly) + %zu x %d (the "
			     "least share of each context without one), more "
			     "than the resolver's table holds (%d); lower "
			     "\"max_learned\" where it is set",
			     at->name, out->nctx, (unsigned long long)sum,
			     ndefault, TW_LEARNED_MIN_SHARE, TW_LEARNED_MAX);
		return -EINVAL;
	}
	share = ndefault ? (TW_LEARNED_MAX - sum) / ndefault : 0;
	if (share > TW_LEARNED_DEFAULT)
		share = TW_LEARNED_DEFAULT;
	for (size_t i = 0; i < out->nctx; i++)
		if (!out->ctx[i].max_learned_set)
			out->ctx[i].max_learned = (uint32_t)share;
	return 0;
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
			err = build_context(x, pol, ws, ch, dm, NULL, 0);
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
	if (!err)
		err = learned_quotas(pol, out, diags);
	if (err)
		tw_compiled_free(out);
	return err;
}

int tw_context_with(const struct tw_compiled *c, const struct tw_context *x,
		    const int *bundles, size_t n, struct tw_context *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	err = build_context(out, c->pol, x->workspace, x->channel, x->dm,
			    bundles, n);
	if (err) {
		context_free(out);
		memset(out, 0, sizeof(*out));
		return err;
	}
	out->max_learned = x->max_learned;
	out->max_learned_set = x->max_learned_set;
	return 0;
}

void tw_context_free(struct tw_context *x)
{
	context_free(x);
	memset(x, 0, sizeof(*x));
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
		json_t *svc = NULL, *o;

		/* Brokered: the call gets a placeholder; the broker, these. */
		if (tw_credential_brokered(g->cred)) {
			svc = json_array();
			for (size_t k = 0; svc && k < g->cred->nservices; k++)
				json_array_append_new(
					svc, json_string(g->cred->services[k]));
		}
		o = json_pack("{s:s,s:s,s:s,s:s?,s:s,s:s?}", "name",
				  g->cred->name, "scope",
				  g->cred->scope == TW_SCOPE_WRITE ? "write" :
								     "read",
				  "owner",
				  g->cred->owner == TW_OWNER_PERSON ? "person" :
								      "agent",
				  "env", g->cred->env, "bundle",
				  pol->bundles[g->bundle].name, "source",
				  g->source);
		if (o && svc) {
			json_object_set_new(o, "services", svc);
			json_object_set_new(
				o, "header",
				json_string(g->cred->header ? g->cred->header :
							      TW_HEADER_DEFAULT));
		} else {
			json_decref(svc);
		}
		json_array_append_new(creds, o);
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

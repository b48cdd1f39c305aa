// SPDX-License-Identifier: GPL-2.0-only
/*
 * grantrule.c - DURATION text, the refusal rules of grants, what a grant
 * opens, and the grant command of a denial's hint (see grantrule.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "grantrule.h"

uint64_t tw_grant_limit(const struct tw_compiled *c, int ctx)
{
	const struct tw_workspace *ws =
		&c->pol->workspaces[c->ctx[ctx].workspace];

	return ws->max_grant ? ws->max_grant : TW_MAX_GRANT_DEFAULT;
}

int tw_grant_bundle(const struct tw_policy *pol, const char *name)
{
	for (size_t i = 0; i < pol->nbundles; i++)
		if (!strcmp(pol->bundles[i].name, name))
			return (int)i;
	return -1;
}

static bool holds(const struct tw_context *x, int bundle)
{
	for (size_t i = 0; i < x->nheld; i++)
		if (x->held[i].bundle == bundle)
			return true;
	return false;
}

/* A personal bundle: only in a DM, and only one of the DMs that list it
 * (when any does: then it is that person's). */
static bool personal_ok(const struct tw_compiled *c, const struct tw_context *x,
			int bundle)
{
	const struct tw_policy *pol = c->pol;
	bool listed = false;

	if (x->kind != TW_CTX_DM)
		return false;
	for (size_t d = 0; d < pol->ndms; d++)
		for (size_t i = 0; i < pol->dms[d].npersonal; i++)
			if (pol->dms[d].personal[i].bundle == bundle) {
				listed = true;
				if ((int)d == x->dm)
					return true;
			}
	return !listed;
}

/* Something a grant opens: an address or name rule, or what calls get. */
static bool grantable(const struct tw_bundle *b)
{
	for (size_t i = 0; i < b->nconnect; i++)
		if (b->connect[i].kind != TW_HOST_UNIX)
			return true;
	return b->ncreds || b->nrepos || b->nskills || b->instructions;
}

/* The one destination of --connect: an address or CIDR rule. */
static int connect_check(const char *text, char *err, size_t len)
{
	struct tw_endpoint ep;
	char why[256];
	int ret = tw_endpoint_parse(text, &ep, why, sizeof(why));

	if (ret) {
		snprintf(err, len, "--connect %s: %s", text, why);
		return -EINVAL;
	}
	if (ep.kind != TW_HOST_CIDR) {
		snprintf(err, len, "--connect %s: give an address or CIDR "
			 "(a grant opens addresses; names and unix paths are "
			 "opened by the policy only)", text);
		ret = -EINVAL;
	}
	tw_endpoint_free(&ep);
	return ret;
}

static int check_bundle(const struct tw_compiled *c, const struct tw_context *x,
			const char *name, int *bundle, char *err, size_t len)
{
	const struct tw_bundle *b;

	*bundle = tw_grant_bundle(c->pol, name);
	if (*bundle < 0) {
		snprintf(err, len, "no bundle %s in the policy in force", name);
		return -ENOENT;
	}
	b = &c->pol->bundles[*bundle];
	if (b->personal && !personal_ok(c, x, *bundle)) {
		snprintf(err, len, "bundle %s is personal: it can be granted "
			 "only in its person's DM, not in %s", name, x->name);
		return -EPERM;
	}
	if (holds(x, *bundle)) {
		snprintf(err, len, "%s holds bundle %s already", x->name, name);
		return -EINVAL;
	}
	if (!grantable(b)) {
		snprintf(err, len, "bundle %s has nothing a grant opens "
			 "(addresses, names, credentials, repositories, skills, "
			 "instructions; unix paths and listen entries are "
			 "opened by the policy only)", name);
		return -EINVAL;
	}
	return 0;
}

int tw_grant_check(const struct tw_compiled *c, const struct tw_grant_ask *ask,
		   int *ctx, int *bundle, char *err, size_t len)
{
	char a[32], b[32];
	uint64_t lim;
	int ret;

	*bundle = -1;
	*ctx = ask->context ? tw_compiled_find(c, ask->context) : -1;
	if (*ctx < 0) {
		snprintf(err, len, "no context %s in the policy in force",
			 ask->context ? ask->context : "(none)");
		return -ENOENT;
	}
	if (!ask->bundle == !ask->connect) {
		snprintf(err, len, "give a BUNDLE or --connect DEST (one)");
		return -EINVAL;
	}
	ret = ask->bundle ? check_bundle(c, &c->ctx[*ctx], ask->bundle, bundle,
					 err, len) :
			    connect_check(ask->connect, err, len);
	if (ret)
		return ret;
	lim = tw_grant_limit(c, *ctx);
	if (!ask->duration || ask->duration > lim) {
		tw_duration_str(ask->duration, a, sizeof(a));
		tw_duration_str(lim, b, sizeof(b));
		snprintf(err, len, "--for %s: a grant lasts more than 0s and at "
			 "most %s (max_grant of workspace %s)", a, b,
			 c->pol->workspaces[c->ctx[*ctx].workspace].name);
		return -ERANGE;
	}
	return 0;
}

long tw_grant_lower(const struct tw_compiled *c, const struct tw_grant_ask *ask,
		    struct tw_lpm_entry **out, char *err, size_t len)
{
	struct tw_endpoint one;
	const struct tw_endpoint *eps = &one;
	struct tw_context tmp = {};
	size_t neps = 1;
	int bundle = -1;
	long ret = 0;

	*out = NULL;
	if (ask->bundle) {
		bundle = tw_grant_bundle(c->pol, ask->bundle);
		if (bundle < 0)
			return -ENOENT;
		eps = c->pol->bundles[bundle].connect;
		neps = c->pol->bundles[bundle].nconnect;
	} else if (tw_endpoint_parse(ask->connect, &one, err, len)) {
		return -EINVAL;
	}
	tmp.rules = calloc(neps ? neps : 1, sizeof(*tmp.rules));
	if (!tmp.rules) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < neps; i++) {
		if (eps[i].kind != TW_HOST_CIDR)
			continue;
		ret = tw_rule_from_endpoint(&eps[i], bundle,
					    &tmp.rules[tmp.nrules]);
		if (ret)
			goto out;
		tmp.nrules++;
	}
	ret = tw_lower_lpm(&tmp, out, err, len);
out:
	for (size_t i = 0; i < tmp.nrules; i++)
		tw_rule_free(&tmp.rules[i]);
	free(tmp.rules);
	if (!ask->bundle)
		tw_endpoint_free(&one);
	return ret;
}

bool tw_grant_covers(const struct tw_compiled *c, const struct tw_grant_ask *ask,
		     const struct tw_dest *d)
{
	struct tw_lpm_entry *e = NULL;
	char err[256];
	long n = tw_grant_lower(c, ask, &e, err, sizeof(err));
	bool hit = false;

	if (d->kind != TW_HOST_CIDR || d->listen)
		n = n < 0 ? n : 0;
	for (long i = 0; i < n && !hit; i++) {
		if (e[i].proto != d->proto || e[i].family != d->family ||
		    !tw_prefix_contains(e[i].addr, e[i].prefixlen, d->addr))
			continue;
		for (size_t p = 0; p < e[i].nports; p++)
			hit |= d->port >= e[i].ports[p].lo &&
			       d->port <= e[i].ports[p].hi;
	}
	free(e);
	return hit;
}

void tw_grant_hint(const struct tw_compiled *c, int ctx,
		   const struct tw_explain *e, char *hint, size_t len)
{
	size_t off = strlen(hint);

	if (ctx < 0 || (size_t)ctx >= c->nctx)
		return;
	for (size_t i = 0; i < e->nbundles; i++) {
		const char *name = c->pol->bundles[e->bundles[i]].name;
		struct tw_grant_ask ask = { .context = c->ctx[ctx].name,
					    .bundle = name,
					    .duration = TW_NS_PER_S };
		uint64_t lim = tw_grant_limit(c, ctx), dur = 15 * 60 * TW_NS_PER_S;
		char why[256], d[32];
		int x, b;

		if (tw_grant_check(c, &ask, &x, &b, why, sizeof(why)))
			continue;
		tw_duration_str(dur < lim ? dur : lim, d, sizeof(d));
		if (off < len)
			snprintf(hint + off, len - off,
				 "%sfor a while: toolwall grant %s %s --for %s "
				 "--approved-by WHO",
				 off ? "; " : "", c->ctx[ctx].name, name, d);
		return;
	}
}

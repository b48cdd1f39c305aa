// SPDX-License-Identifier: GPL-2.0-only
/*
 * link.c - the checks that need the whole policy: names defined once,
 * references resolved (see policy.h, tw_policy_link).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "text.h"

/* An object's own name in prose: bare when valid, quoted otherwise. */
#define NM(s) ((s) && tw_cname_valid(s, NULL) ? (s) : Q((s) ? (s) : ""))

/* ------------------------------------------------------------------ */
/* Linking                                                             */

struct lctx {
	struct tw_policy *pol;
	struct tw_diags *diags;
	int ndiags;
	int err;
	struct named *bundles, *workspaces; /* sorted, for lookups */
};

/* A name with where it was defined, sorted to find repeats and lookups. */
struct named {
	const char *name;
	const char *scope; /* the workspace of channels and DMs, or NULL */
	struct tw_loc loc;
	size_t i;
};

static void ldiag(struct lctx *c, struct tw_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ldiag(struct lctx *c, struct tw_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tw_diags_vadd(c->diags, loc, fmt, ap);
	va_end(ap);
	c->ndiags++;
}

static int strcmp0(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int named_cmp(const void *pa, const void *pb)
{
	const struct named *a = pa, *b = pb;
	int r = strcmp0(a->scope, b->scope);

	if (!r)
		r = strcmp0(a->name, b->name);
	if (r)
		return r;
	return a->i < b->i ? -1 : a->i > b->i;
}

/* Report every entry that repeats an earlier one (V gets sorted). */
static void report_dups(struct lctx *c, struct named *v, size_t n,
			const char *kind)
{
	size_t i, first = 0;

	qsort(v, n, sizeof(*v), named_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp0(v[i].name, v[first].name) ||
		    strcmp0(v[i].scope, v[first].scope)) {
			first = i;
			continue;
		}
		ldiag(c, v[i].loc, "duplicate %s %s%s%s (first defined at "
		      "%s:%d:%d)", kind, NM(v[i].name),
		      v[i].scope ? " in workspace " : "",
		      v[i].scope ? NM(v[i].scope) : "", v[first].loc.file,
		      v[first].loc.line, v[first].loc.col);
	}
}

static struct named *names_new(struct lctx *c, size_t n)
{
	struct named *v = calloc(n ? n : 1, sizeof(*v));

	if (!v)
		c->err = -ENOMEM;
	return v;
}

/* The first definition of NAME in sorted V, or -1. */
static int lookup(const struct named *v, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	if (!v || !name)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp0(v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && !strcmp0(v[lo].name, name) ? (int)v[lo].i : -1;
}

static void link_refs(struct lctx *c, struct tw_ref *refs, size_t n,
		      const char *list, bool personal_ok)
{
	const struct tw_policy *pol = c->pol;
	struct named *v = names_new(c, n);
	size_t i;

	for (i = 0; i < n; i++) {
		struct tw_ref *r = &refs[i];

		r->bundle = lookup(c->bundles, pol->nbundles, r->name);
		if (r->bundle < 0)
			ldiag(c, r->loc, "unknown bundle %s in \"%s\"",
			      Q(r->name), list);
		else if (!personal_ok && pol->bundles[r->bundle].personal)
			ldiag(c, r->loc, "bundle %s is personal (it has a "
			      "person-owned credential): it can only be "
			      "granted in a DM's \"personal\" list, not in "
			      "\"%s\"", NM(r->name), list);
		if (v)
			v[i] = (struct named){ r->name, NULL, r->loc, i };
	}
	if (!v)
		return;
	qsort(v, n, sizeof(*v), named_cmp);
	for (i = 1; i < n; i++)
		if (!strcmp0(v[i].name, v[i - 1].name))
			ldiag(c, v[i].loc, "bundle %s is listed twice in "
			      "\"%s\" (first at line %d, column %d)",
			      NM(v[i].name), list, v[i - 1].loc.line,
			      v[i - 1].loc.col);
	free(v);
}

static int link_workspace_ref(struct lctx *c, const char *name,
			      struct tw_loc loc)
{
	int w;

	if (!name)
		return -1; /* missing: already reported */
	w = lookup(c->workspaces, c->pol->nworkspaces, name);
	if (w < 0)
		ldiag(c, loc, "unknown workspace %s", Q(name));
	return w;
}

static void link_dm(struct lctx *c, struct tw_dm *dm)
{
	size_t i;

	dm->workspace = link_workspace_ref(c, dm->workspace_name,
					   dm->workspace_loc);
	link_refs(c, dm->personal, dm->npersonal, "personal", true);
	if (dm->credentials_dir)
		return;
	for (i = 0; i < dm->npersonal; i++) {
		int b = dm->personal[i].bundle;

		if (b >= 0 && c->pol->bundles[b].personal) {
			ldiag(c, dm->loc, "dm %s needs \"credentials_dir\": "
			      "personal bundle %s has person-owned "
			      "credentials", NM(dm->name),
			      NM(c->pol->bundles[b].name));
			return;
		}
	}
}

/* Sorted name index of the bundles and workspaces; reports repeats. */
static void index_names(struct lctx *c)
{
	struct tw_policy *pol = c->pol;
	size_t i;

	c->bundles = names_new(c, pol->nbundles);
	c->workspaces = names_new(c, pol->nworkspaces);
	if (!c->bundles || !c->workspaces)
		return;
	for (i = 0; i < pol->nbundles; i++)
		c->bundles[i] = (struct named){ pol->bundles[i].name, NULL,
						pol->bundles[i].loc, i };
	for (i = 0; i < pol->nworkspaces; i++)
		c->workspaces[i] = (struct named){ pol->workspaces[i].name,
						   NULL,
						   pol->workspaces[i].loc, i };
	report_dups(c, c->bundles, pol->nbundles, "bundle");
	report_dups(c, c->workspaces, pol->nworkspaces, "workspace");
}

static void context_dups(struct lctx *c)
{
	struct tw_policy *pol = c->pol;
	struct named *v = names_new(c, pol->nchannels + pol->ndms);
	size_t i;

	if (!v)
		return;
	for (i = 0; i < pol->nchannels; i++)
		v[i] = (struct named){ pol->channels[i].name,
				       pol->channels[i].workspace_name,
				       pol->channels[i].loc, i };
	report_dups(c, v, pol->nchannels, "channel");
	for (i = 0; i < pol->ndms; i++)
		v[i] = (struct named){ pol->dms[i].name,
				       pol->dms[i].workspace_name,
				       pol->dms[i].loc, i };
	report_dups(c, v, pol->ndms, "dm");
	free(v);
}

/* A context's full name ("channel:WS/NAME") fits what the daemon holds. */
static void context_name_len(struct lctx *c, const char *kind,
			     const char *ws, const char *name,
			     struct tw_loc loc)
{
	size_t n;

	if (!ws || !name)
		return;
	n = strlen(kind) + 1 + strlen(ws) + 1 + strlen(name);
	if (n > TW_CONTEXT_NAME_MAX)
		ldiag(c, loc, "context %s:%s/%s is %zu bytes long, more than "
		      "%d: shorten the %s or the workspace name", kind,
		      NM(ws), NM(name), n, TW_CONTEXT_NAME_MAX, kind);
}

int tw_policy_link(struct tw_policy *pol, struct tw_diags *diags)
{
	struct lctx c = { .pol = pol, .diags = diags };
	size_t i;

	index_names(&c);
	context_dups(&c);
	for (i = 0; i < pol->nworkspaces; i++)
		link_refs(&c, pol->workspaces[i].baseline,
			  pol->workspaces[i].nbaseline, "baseline", false);
	for (i = 0; i < pol->nchannels; i++) {
		struct tw_channel *ch = &pol->channels[i];

		ch->workspace = link_workspace_ref(&c, ch->workspace_name,
						   ch->workspace_loc);
		link_refs(&c, ch->step_up, ch->nstep_up, "step_up", false);
		context_name_len(&c, "channel", ch->workspace_name, ch->name,
				 ch->loc);
	}
	for (i = 0; i < pol->ndms; i++) {
		link_dm(&c, &pol->dms[i]);
		context_name_len(&c, "dm", pol->dms[i].workspace_name,
				 pol->dms[i].name, pol->dms[i].loc);
	}
	if (!pol->nworkspaces) {
		struct tw_loc loc = { pol->nfiles ? pol->files[0] : "(policy)",
				      1, 1 };

		ldiag(&c, loc, "the policy defines no workspace");
	}
	free(c.bundles);
	free(c.workspaces);
	if (c.err)
		return c.err;
	return c.ndiags ? -EINVAL : 0;
}

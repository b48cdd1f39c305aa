/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bundle.c - a "bundle" object -> struct tw_bundle: where its holders may
 * connect and listen, the credentials, repositories and skills it grants.
 *
 * Pure: problems go to diagnostics (see fields.h).
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "credential.h"
#include "fields.h"
#include "service.h"

static const struct tw_field repository_fields[] = {
	FIELD(struct tw_repository, "path", F_PATH, path),
	FIELD(struct tw_repository, "access", F_ACCESS, access),
};
static const struct tw_schema repository_schema =
	SCHEMA("repository", repository_fields);


/* "connect" and "listen": endpoint strings, each read by its own parser. */
static void take_endpoints(struct tw_pctx *c, const struct tw_field *f,
			   void *obj, json_t *v, const struct tw_lnode *n)
{
	bool listen = f->off == offsetof(struct tw_bundle, listen);
	struct tw_endpoint **eps = (void *)((char *)obj + f->off);
	size_t *cnt = (void *)((char *)obj + f->aux);
	size_t i;
	json_t *e;

	if (!tw_want_array(c, f->key,
			   listen ? "address strings" : "endpoint strings", v,
			   n))
		return;
	*eps = tw_pcalloc(c, json_array_size(v), sizeof(**eps));
	if (!*eps)
		return;
	json_array_foreach(v, i, e) {
		struct tw_endpoint *ep = &(*eps)[*cnt];
		const struct tw_lnode *en = tw_lnode_elem(n, i);
		char err[160];
		int ret;

		if (!json_is_string(e)) {
			tw_pdiag(c, tw_at(c, en),
				 "entries of \"%s\" must be "
				 "strings, not %s",
				 f->key, tw_json_type(e));
			continue;
		}
		ret = (listen ? tw_listen_parse : tw_endpoint_parse)(
			json_string_value(e), ep, err, sizeof(err));
		if (ret == -ENOMEM)
			c->err = ret;
		else if (ret)
			tw_pdiag(c, tw_at(c, en), "%s entry %s: %s", f->key,
				 Q(json_string_value(e)), err);
		if (ret)
			continue;
		ep->loc = tw_at(c, en);
		(*cnt)++;
	}
}

static void take_repos(struct tw_pctx *c, const struct tw_field *f, void *obj,
		       json_t *v, const struct tw_lnode *n)
{
	struct tw_bundle *b = obj;
	size_t i;
	json_t *e;

	if (!tw_want_array(c, f->key, "objects", v, n))
		return;
	b->repos = tw_pcalloc(c, json_array_size(v), sizeof(*b->repos));
	if (!b->repos)
		return;
	json_array_foreach(v, i, e) {
		struct tw_repository *r = &b->repos[b->nrepos];
		const struct tw_lnode *en = tw_lnode_elem(n, i);

		if (!json_is_object(e)) {
			tw_pdiag(c, tw_at(c, en),
				 "entries of \"repositories\" must "
				 "be objects, not %s",
				 tw_json_type(e));
			continue;
		}
		r->loc = tw_at(c, en);
		tw_walk(c, &repository_schema, r, e, en);
		if (!json_object_get(e, "path"))
			tw_pdiag(c, r->loc, "repository has no \"path\"");
		if (!json_object_get(e, "access"))
			tw_pdiag(c, r->loc,
				 "repository has no \"access\" "
				 "(\"read\" or \"write\")");
		if (r->path)
			b->nrepos++;
		else
			memset(r, 0, sizeof(*r)); /* the slot is reused */
	}
}

/* "skills": absolute paths. */
static void take_skills(struct tw_pctx *c, const struct tw_field *f, void *obj,
			json_t *v, const struct tw_lnode *n)
{
	struct tw_bundle *b = obj;

	b->nskills = tw_take_strings(c, f, v, n, &b->skills, &b->skill_locs);
}

static const struct tw_field bundle_fields[] = {
	FIELD(struct tw_bundle, "bundle", F_NAME, name),
	FIELD(struct tw_bundle, "description", F_STRING, description),
	TAKE(struct tw_bundle, "connect", connect, nconnect, take_endpoints),
	TAKE(struct tw_bundle, "listen", listen, nlisten, take_endpoints),
	TAKE(struct tw_bundle, "credentials", creds, ncreds, tw_take_creds),
	TAKE(struct tw_bundle, "repositories", repos, nrepos, take_repos),
	{ "skills", F_PATHS, 0, 0, NULL, take_skills },
	FIELD(struct tw_bundle, "instructions", F_STRING, instructions),
};
static const struct tw_schema bundle_schema = SCHEMA("bundle", bundle_fields);

void tw_bundle_clear(struct tw_bundle *b)
{
	size_t i;

	for (i = 0; i < b->nconnect; i++)
		tw_endpoint_free(&b->connect[i]);
	free(b->connect);
	for (i = 0; i < b->nlisten; i++)
		tw_endpoint_free(&b->listen[i]);
	free(b->listen);
	for (i = 0; i < b->ncreds; i++)
		tw_credential_clear(&b->creds[i]);
	free(b->creds);
	for (i = 0; i < b->nrepos; i++)
		free(b->repos[i].path);
	free(b->repos);
	tw_strv_free(b->skills, b->nskills);
	free(b->skill_locs);
	free(b->name);
	free(b->description);
	free(b->instructions);
}

/* Each service of a brokered credential must be reachable under a connect
 * entry of its own bundle: the kernel redirects only what it lets through. */
static void check_services(struct tw_pctx *c, const struct tw_bundle *b)
{
	for (size_t i = 0; i < b->ncreds; i++) {
		const struct tw_credential *cr = &b->creds[i];

		for (size_t k = 0; k < cr->nservices; k++) {
			struct tw_service sv;
			char why[128];

			if (tw_service_parse(cr->services[k], &sv, why,
					     sizeof(why)) ||
			    tw_service_reachable(&sv, b->connect, b->nconnect))
				continue;
			tw_pdiag(
			    c, cr->service_locs[k],
			    "service %s of credential %s is not reachable "
			    "under any \"connect\" entry of bundle %s (add "
			    "\"%s%s%s:%u\")",
			    Q(cr->services[k]), Q(cr->name), NM(b->name),
			    sv.family == 6 ? "[" : "", sv.host,
			    sv.family == 6 ? "]" : "", (unsigned)sv.port);
		}
	}
}

void tw_parse_bundle(struct tw_pctx *c, json_t *o, const struct tw_lnode *n)
{
	struct tw_bundle b = { 0 };

	tw_walk(c, &bundle_schema, &b, o, n);
	b.loc = tw_at(c, tw_lnode_member(n, "bundle", 0));
	check_services(c, &b);
	KEEP(c, c->pol->bundles, c->pol->nbundles, b, tw_bundle_clear);
}

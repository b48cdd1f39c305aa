/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * credential.c - a bundle's "credentials" entries -> struct tw_credential:
 * who owns each, where its value is stored, and where the broker injects
 * it.
 *
 * Pure: problems go to diagnostics (see fields.h).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "credential.h"
#include "fields.h"

/* "services": the origins where the broker injects the value. */
static void take_services(struct tw_pctx *c, const struct tw_field *f,
			  void *obj, json_t *v, const struct tw_lnode *n)
{
	struct tw_credential *cr = obj;

	cr->nservices =
	    tw_take_strings(c, f, v, n, &cr->services, &cr->service_locs);
}

static const struct tw_field credential_fields[] = {
	FIELD(struct tw_credential, "name", F_NAME, name),
	FIELD(struct tw_credential, "scope", F_SCOPE, scope),
	FIELD(struct tw_credential, "owner", F_OWNER, owner),
	FIELD(struct tw_credential, "env", F_ENV, env),
	FIELD(struct tw_credential, "file", F_PATH, file),
	{ "services", F_SERVICES, 0, 0, NULL, take_services },
	FIELD(struct tw_credential, "header", F_HEADER, header),
	LIST(struct tw_credential, "deliver", F_DELIVER, deliver, deliver_loc),
};
static const struct tw_schema credential_schema =
	SCHEMA("credential", credential_fields);

static void check_credential(struct tw_pctx *c, struct tw_credential *cr,
			     json_t *o, const struct tw_lnode *n)
{
	const char *owner = json_string_value(json_object_get(o, "owner"));
	const char *nm = cr->name ? cr->name : "";
	bool person;

	if (!json_object_get(o, "name"))
		tw_pdiag(c, cr->loc, "credential has no \"name\"");
	if (!json_object_get(o, "scope"))
		tw_pdiag(c, cr->loc,
			 "credential %s has no \"scope\" (\"read\" or "
			 "\"write\": its scope at the provider)",
			 Q(nm));
	/* an unknown owner is already reported; guessing would mislead */
	if (json_object_get(o, "owner") && (!owner ||
	    (strcmp(owner, "agent") && strcmp(owner, "person"))))
		return;
	if (!json_object_get(o, "services")) {
		if (json_object_get(o, "header"))
			tw_pdiag(c,
				 tw_at_key(c, tw_lnode_member(n, "header", 0)),
				 "credential %s has \"header\" but no "
				 "\"services\": the header is injected only at "
				 "its services",
				 Q(nm));
		if (cr->deliver == TW_DELIVER_BROKER)
			tw_pdiag(c, cr->deliver_loc,
				 "credential %s: \"deliver\": \"broker\" needs "
				 "\"services\" (where the broker injects it)",
				 Q(nm));
	}
	if (cr->deliver == TW_DELIVER_UNSET)
		cr->deliver = cr->nservices ? TW_DELIVER_BROKER :
					      TW_DELIVER_PLAIN;
	person = owner && !strcmp(owner, "person");
	if (!person && !json_object_get(o, "file"))
		tw_pdiag(c, cr->loc,
			 "agent-owned credential %s needs \"file\" "
			 "(where the agent's secret is stored)",
			 Q(nm));
	if (person && json_object_get(o, "file"))
		tw_pdiag(
		    c, tw_at_key(c, tw_lnode_member(n, "file", 0)),
		    "person-owned credential %s must not have \"file\": its "
		    "secret is looked up by name in the DM's credentials_dir",
		    Q(nm));
}

void tw_credential_clear(struct tw_credential *cr)
{
	free(cr->name);
	free(cr->env);
	free(cr->file);
	tw_strv_free(cr->services, cr->nservices);
	free(cr->service_locs);
	free(cr->header);
}

void tw_take_creds(struct tw_pctx *c, const struct tw_field *f, void *obj,
		   json_t *v, const struct tw_lnode *n)
{
	struct tw_bundle *b = obj;
	size_t i;
	json_t *e;

	if (!tw_want_array(c, f->key, "objects", v, n))
		return;
	b->creds = tw_pcalloc(c, json_array_size(v), sizeof(*b->creds));
	if (!b->creds)
		return;
	json_array_foreach(v, i, e) {
		struct tw_credential *cr = &b->creds[b->ncreds];
		const struct tw_lnode *en = tw_lnode_elem(n, i);

		if (!json_is_object(e)) {
			tw_pdiag(c, tw_at(c, en),
				 "entries of \"credentials\" must be "
				 "objects, not %s",
				 tw_json_type(e));
			continue;
		}
		cr->loc = tw_at(c, en);
		tw_walk(c, &credential_schema, cr, e, en);
		check_credential(c, cr, e, en);
		/* even a broken person-owned credential makes it personal */
		if (cr->owner == TW_OWNER_PERSON)
			b->personal = true;
		if (cr->name) {
			b->ncreds++;
		} else {
			tw_credential_clear(cr);
			memset(cr, 0, sizeof(*cr)); /* the slot is reused */
		}
	}
}

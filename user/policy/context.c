/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * context.c - the contexts a workspace holds besides itself: "channel" and
 * "dm" objects -> struct tw_channel and struct tw_dm.
 *
 * Pure: problems go to diagnostics (see fields.h).
 */
#include <jansson.h>
#include <stdlib.h>

#include "context.h"
#include "fields.h"

/* A channel or DM may set its own quota; the resolvers are the workspace's. */
static const struct tw_field ch_dns_fields[] = {
	FIELD(struct tw_channel, "max_learned", F_LEARNED, dns_max_learned),
};
static const struct tw_schema ch_dns_schema = SCHEMA("dns", ch_dns_fields);
static const struct tw_field dm_dns_fields[] = {
	FIELD(struct tw_dm, "max_learned", F_LEARNED, dns_max_learned),
};
static const struct tw_schema dm_dns_schema = SCHEMA("dns", dm_dns_fields);

LIMITS_SCHEMA(ch_limits, struct tw_channel);
LIMITS_SCHEMA(dm_limits, struct tw_dm);

static const struct tw_field channel_fields[] = {
	FIELD(struct tw_channel, "channel", F_CNAME, name),
	TEXT("description"),
	LIST(struct tw_channel, "workspace", F_WSREF, workspace_name,
	     workspace_loc),
	LIST(struct tw_channel, "step_up", F_REFS, step_up, nstep_up),
	FIELD(struct tw_channel, "mode", F_MODE, mode),
	FIELD(struct tw_channel, "background", F_BOOL, background),
	{ "limits", F_OBJECT, 0, 0, &ch_limits_schema },
	{ "dns", F_OBJECT, 0, 0, &ch_dns_schema },
};
static const struct tw_schema channel_schema =
    SCHEMA("channel", channel_fields);

static const struct tw_field dm_fields[] = {
	FIELD(struct tw_dm, "dm", F_CNAME, name),
	TEXT("description"),
	LIST(struct tw_dm, "workspace", F_WSREF, workspace_name,
	     workspace_loc),
	LIST(struct tw_dm, "personal", F_REFS, personal, npersonal),
	FIELD(struct tw_dm, "credentials_dir", F_PATH, credentials_dir),
	FIELD(struct tw_dm, "run_as", F_USER, run_as),
	FIELD(struct tw_dm, "mode", F_MODE, mode),
	FIELD(struct tw_dm, "background", F_BOOL, background),
	{ "limits", F_OBJECT, 0, 0, &dm_limits_schema },
	{ "dns", F_OBJECT, 0, 0, &dm_dns_schema },
};
static const struct tw_schema dm_schema = SCHEMA("dm", dm_fields);

void tw_channel_clear(struct tw_channel *ch)
{
	free(ch->name);
	free(ch->workspace_name);
	tw_refs_free(ch->step_up, ch->nstep_up);
}

void tw_dm_clear(struct tw_dm *dm)
{
	free(dm->name);
	free(dm->workspace_name);
	tw_refs_free(dm->personal, dm->npersonal);
	free(dm->credentials_dir);
	free(dm->run_as);
}

void tw_parse_channel(struct tw_pctx *c, json_t *o, const struct tw_lnode *n)
{
	struct tw_channel ch = { .workspace = -1 };

	tw_walk(c, &channel_schema, &ch, o, n);
	ch.loc = tw_at(c, tw_lnode_member(n, "channel", 0));
	if (!json_object_get(o, "workspace"))
		tw_pdiag(c, ch.loc, "channel %s has no \"workspace\"",
			 NM(ch.name));
	KEEP(c, c->pol->channels, c->pol->nchannels, ch, tw_channel_clear);
}

void tw_parse_dm(struct tw_pctx *c, json_t *o, const struct tw_lnode *n)
{
	struct tw_dm dm = { .workspace = -1 };

	tw_walk(c, &dm_schema, &dm, o, n);
	dm.loc = tw_at(c, tw_lnode_member(n, "dm", 0));
	if (!json_object_get(o, "workspace"))
		tw_pdiag(c, dm.loc, "dm %s has no \"workspace\"", NM(dm.name));
	KEEP(c, c->pol->dms, c->pol->ndms, dm, tw_dm_clear);
}

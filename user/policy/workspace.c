/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * workspace.c - a "workspace" object -> struct tw_workspace: its agent
 * account, resolvers, broker, limits and defaults.
 *
 * Pure: problems go to diagnostics (see fields.h).
 */
#include <jansson.h>
#include <stdlib.h>

#include "fields.h"
#include "workspace.h"

static const struct tw_field agent_fields[] = {
	FIELD(struct tw_workspace, "name", F_NAME, agent_name),
	FIELD(struct tw_workspace, "user", F_USER, agent_user),
};
static const struct tw_schema agent_schema = SCHEMA("agent", agent_fields);

static const struct tw_field dns_fields[] = {
	LIST(struct tw_workspace, "upstream", F_UPSTREAMS, dns_upstream,
	     ndns_upstream),
	FIELD(struct tw_workspace, "max_learned", F_LEARNED, dns_max_learned),
};
static const struct tw_schema dns_schema = SCHEMA("dns", dns_fields);

static const struct tw_field broker_fields[] = {
	FIELD(struct tw_workspace, "upstream_ca", F_PATH, broker_upstream_ca),
};
static const struct tw_schema broker_schema = SCHEMA("broker", broker_fields);

LIMITS_SCHEMA(ws_limits, struct tw_workspace);

static const struct tw_field workspace_fields[] = {
	FIELD(struct tw_workspace, "workspace", F_CNAME, name),
	TEXT("description"),
	{ "agent", F_OBJECT, 0, 0, &agent_schema },
	LIST(struct tw_workspace, "baseline", F_REFS, baseline, nbaseline),
	FIELD(struct tw_workspace, "mode", F_MODE, mode),
	{ "dns", F_OBJECT, 0, 0, &dns_schema },
	{ "broker", F_OBJECT, 0, 0, &broker_schema },
	LIST(struct tw_workspace, "system_paths", F_PATHS, system_paths,
	     nsystem_paths),
	FIELD(struct tw_workspace, "credentials_dir", F_PATH,
	      credentials_dir),
	FIELD(struct tw_workspace, "background", F_BOOL, background),
	{ "limits", F_OBJECT, 0, 0, &ws_limits_schema },
	FIELD(struct tw_workspace, "max_grant", F_DURATION, max_grant),
};
static const struct tw_schema workspace_schema =
	SCHEMA("workspace", workspace_fields);

void tw_workspace_clear(struct tw_workspace *w)
{
	free(w->name);
	free(w->agent_name);
	free(w->agent_user);
	tw_refs_free(w->baseline, w->nbaseline);
	tw_strv_free(w->dns_upstream, w->ndns_upstream);
	tw_strv_free(w->system_paths, w->nsystem_paths);
	free(w->credentials_dir);
	free(w->broker_upstream_ca);
}

static void check_agent(struct tw_pctx *c, struct tw_workspace *w, json_t *o,
			const struct tw_lnode *n)
{
	json_t *agent = json_object_get(o, "agent");
	struct tw_loc loc = w->loc;

	if (agent && !json_is_object(agent))
		return; /* already reported */
	if (agent)
		loc = tw_at(c, tw_lnode_member(n, "agent", 0));
	if (!json_object_get(agent, "name"))
		tw_pdiag(c, loc, "workspace %s has no agent name (agent.name)",
			 NM(w->name));
	if (!json_object_get(agent, "user"))
		tw_pdiag(c, loc,
			 "workspace %s has no agent account (agent.user)",
			 NM(w->name));
}

void tw_parse_workspace(struct tw_pctx *c, json_t *o, const struct tw_lnode *n)
{
	struct tw_workspace w = { 0 };
	json_t *dns = json_object_get(o, "dns");

	tw_walk(c, &workspace_schema, &w, o, n);
	w.loc = tw_at(c, tw_lnode_member(n, "workspace", 0));
	check_agent(c, &w, o, n);
	if (json_is_object(dns) && !json_object_get(dns, "upstream"))
		tw_pdiag(c, tw_at(c, tw_lnode_member(n, "dns", 0)),
			 "\"dns\" needs "
			 "\"upstream\", e.g. [\"192.0.2.53:53\"]");
	if (w.mode == TW_MODE_UNSET)
		w.mode = TW_MODE_ENFORCE;
	if (w.background == TW_BG_UNSET)
		w.background = TW_BG_OFF;
	KEEP(c, c->pol->workspaces, c->pol->nworkspaces, w, tw_workspace_clear);
}

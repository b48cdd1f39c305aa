/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_compile.c - `toolwall compile`: the effective rules of every
 * context, with the bundles that grant them and what the running daemon
 * has learned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd_policy.h"
#include "cmds.h"
#include "util.h"

#define COMPILE_SYNOPSIS "[-p POLICY] [-j]"

static void usage_compile(FILE *f)
{
	fprintf(
	    f,
	    "Usage: toolwall compile " COMPILE_SYNOPSIS "\n\n"
	    "Print the effective rules of every context (workspace:WS,\n"
	    "channel:WS/CHANNEL, dm:WS/PERSON): the bundles it holds and why,\n"
	    "every network rule with the bundle(s) that grant it, and the\n"
	    "credentials (names and store paths, never secrets), "
	    "repositories,\n"
	    "skills and instructions its tool calls receive.\n\n"
	    "Options:\n"
	    "  -p, --policy PATH   policy directory or file (default:\n"
	    "                      $TOOLWALL_POLICY, else " TW_DEFAULT_POLICY
	    ")\n"
	    "  -j, --json          JSON output\n"
	    "  -h, --help          this text\n\n"
	    "Exit status: 0 success, 1 invalid policy, 2 usage error.\n");
}

static const char *via_name(enum tw_grant g)
{
	switch (g) {
	case TW_GRANT_STEP_UP:
		return "step-up";
	case TW_GRANT_PERSONAL:
		return "personal";
	case TW_GRANT_GRANTED:
		return "granted";
	default:
		return "baseline";
	}
}

static const char *ctx_kind_name(enum tw_ctx_kind k)
{
	switch (k) {
	case TW_CTX_CHANNEL:
		return "channel";
	case TW_CTX_DM:
		return "dm";
	default:
		return "workspace";
	}
}

static const char *host_kind_name(enum tw_host_kind k)
{
	switch (k) {
	case TW_HOST_NAME:
		return "name";
	case TW_HOST_WILDCARD:
		return "wildcard";
	case TW_HOST_UNIX:
		return "unix";
	default:
		return "cidr";
	}
}

/* The learned addresses of context NAME, as a new array. */
static json_t *learned_of(json_t *learned, const char *name)
{
	json_t *out = json_array(), *a;
	size_t i;

	json_array_foreach(learned, i, a)
	{
		const char *c =
		    json_string_value(json_object_get(a, "context"));

		if (c && !strcmp(c, name))
			json_array_append(out, a);
	}
	return out;
}

static void print_learned(json_t *learned)
{
	json_t *a;
	size_t i;

	if (!json_array_size(learned))
		return;
	printf("  learned by the running daemon's resolver\n");
	json_array_foreach(learned, i, a)
		printf("    %s %s port %s  <- %s (expires in %llds)\n",
		       json_string_value(json_object_get(a, "proto")),
		       json_string_value(json_object_get(a, "addr")),
		       json_string_value(json_object_get(a, "ports")),
		       json_string_value(json_object_get(a, "name")),
		       (long long)json_integer_value(
			       json_object_get(a, "expires_in_s")));
}

static void print_context_text(const struct tw_compiled *c,
			       const struct tw_context *x)
{
	const struct tw_policy *pol = c->pol;
	bool any = false;
	char buf[1024], who[512];

	printf("context %s\n", x->name);
	printf("  mode          %s\n", tw_mode_name(x->mode));
	printf("  cgroup        %s\n", x->cgroup);
	printf("  run as        %s\n", x->run_as ? x->run_as : "-");
	printf("  leftovers     %s\n",
	       x->background ? "run on after a call (background)"
			     : "killed with their call");
	tw_size_str(x->limits.memory, buf, sizeof(buf));
	printf("  limits        pids %llu, memory %s (per call)\n",
	       (unsigned long long)x->limits.pids, buf);
	printf("  max_learned   %u addresses learned from DNS at once%s\n",
	       x->max_learned, x->max_learned_set ? "" : " (default)");
	printf("  bundles       ");
	for (size_t i = 0; i < x->nheld; i++)
		printf("%s%s (%s)", i ? ", " : "",
		       pol->bundles[x->held[i].bundle].name,
		       via_name(x->held[i].via));
	printf("%s\n", x->nheld ? "" : "none (default deny)");

	printf("  rules%s\n",
	       x->nrules ? "" : "         none: every connection is denied");
	for (size_t i = 0; i < x->nrules; i++) {
		const struct tw_rule *r = &x->rules[i];

		tw_rule_text(r, buf, sizeof(buf));
		tw_bundles_text(c, r->bundles, r->nbundles, who, sizeof(who));
		printf("    %s  <- %s\n", buf, who);
	}
	printf("  listen%s\n", x->nlisten ? "" : "        loopback only");
	for (size_t i = 0; i < x->nlisten; i++) {
		const struct tw_rule *r = &x->listen[i];

		tw_rule_text(r, buf, sizeof(buf));
		tw_bundles_text(c, r->bundles, r->nbundles, who, sizeof(who));
		printf("    %s  <- %s\n", buf, who);
	}

	if (x->ncreds)
		printf("  credentials\n");
	for (size_t i = 0; i < x->ncreds; i++) {
		const struct tw_cred_grant *g = &x->creds[i];

		printf("    %s  scope %s  owner %s  env %s  source %s  <- %s\n",
		       g->cred->name,
		       g->cred->scope == TW_SCOPE_WRITE ? "write" : "read",
		       g->cred->owner == TW_OWNER_PERSON ? "person" : "agent",
		       g->cred->env ? g->cred->env : "-",
		       g->source ? g->source : "(none)",
		       tw_bundle_name(c, g->bundle));
	}
	if (x->nrepos)
		printf("  repositories\n");
	for (size_t i = 0; i < x->nrepos; i++)
		printf("    %s  %s  <- %s\n", x->repos[i].repo->path,
		       x->repos[i].access == TW_ACCESS_WRITE ? "write" : "read",
		       tw_bundle_name(c, x->repos[i].bundle));
	if (x->nskills)
		printf("  skills\n");
	for (size_t i = 0; i < x->nskills; i++)
		printf("    %s  <- %s\n", x->skills[i].path,
		       tw_bundle_name(c, x->skills[i].bundle));
	for (size_t i = 0; i < x->nheld; i++) {
		const struct tw_bundle *b = &pol->bundles[x->held[i].bundle];

		if (!b->instructions)
			continue;
		if (!any)
			printf("  instructions\n");
		any = true;
		printf("    %s: %s\n", b->name, b->instructions);
	}
}

static json_t *rule_json(const struct tw_compiled *c, const struct tw_rule *r)
{
	json_t *ports = json_array();
	char host[300];

	tw_rule_host_str(r, host, sizeof(host));
	for (size_t i = 0; ports && i < r->nports; i++)
		json_array_append_new(ports, json_pack("[ii]", r->ports[i].lo,
						       r->ports[i].hi));
	return json_pack("{s:s,s:s,s:s,s:o,s:o}", "proto",
			 tw_proto_name(r->proto), "host", host, "kind",
			 host_kind_name(r->kind), "ports", ports, "bundles",
			 tw_bundle_names_json(c, r->bundles, r->nbundles));
}

static json_t *context_json(const struct tw_compiled *c,
			    const struct tw_context *x)
{
	const struct tw_policy *pol = c->pol;
	json_t *o, *held = json_array(), *rules = json_array();
	json_t *listen = json_array();

	for (size_t i = 0; listen && i < x->nlisten; i++)
		json_array_append_new(listen, rule_json(c, &x->listen[i]));
	for (size_t i = 0; held && i < x->nheld; i++)
		json_array_append_new(
		    held, json_pack("{s:s,s:s}", "name",
				    tw_bundle_name(c, x->held[i].bundle), "via",
				    via_name(x->held[i].via)));
	for (size_t i = 0; rules && i < x->nrules; i++)
		json_array_append_new(rules, rule_json(c, &x->rules[i]));
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:b,s:o,s:o,s:o}", "name",
		      x->name, "kind", ctx_kind_name(x->kind), "workspace",
		      pol->workspaces[x->workspace].name, "mode",
		      tw_mode_name(x->mode), "cgroup", x->cgroup, "run_as",
		      x->run_as, "background", x->background, "bundles", held,
		      "rules", rules, "listen", listen);
	if (o)
		json_object_set_new(
			o, "limits",
			json_pack("{s:I,s:I}", "pids",
				  (json_int_t)x->limits.pids, "memory",
				  (json_int_t)x->limits.memory));
	if (o)
		json_object_set_new(o, "max_learned",
				    json_integer(x->max_learned));
	if (o)
		json_object_update_new(o, tw_context_access_json(c, x));
	return o;
}

int cmd_compile(int argc, char **argv)
{
	struct tw_cmd_args a;
	struct tw_loaded l;
	json_t *learned;
	int ret =
	    tw_cmd_args_parse(argc, argv, usage_compile, COMPILE_SYNOPSIS, &a);

	if (ret >= 0)
		return ret;
	if (a.nargs) {
		tw_error("compile: unexpected argument '%s'", a.args[0]);
		tw_short_usage(argv[0], COMPILE_SYNOPSIS);
		return 2;
	}
	if (tw_loaded_load(a.policy, &l)) {
		tw_report_invalid(&l, a.policy, false);
		tw_loaded_free(&l);
		return 1;
	}
	learned = tw_daemon_learned(l.comp.revision);
	if (a.json) {
		json_t *ctxs = json_array(), *o;

		for (size_t i = 0; ctxs && i < l.comp.nctx; i++) {
			json_t *cj = context_json(&l.comp, &l.comp.ctx[i]);

			if (cj && learned)
				json_object_set_new(
					cj, "learned",
					learned_of(learned, l.comp.ctx[i].name));
			json_array_append_new(ctxs, cj);
		}
		o = json_pack("{s:s,s:s,s:o}", "revision", l.comp.revision,
			      "policy", a.policy, "contexts", ctxs);
		tw_print_json(o);
		ret = o ? 0 : 1;
		json_decref(o);
	} else {
		printf("policy %s\nrevision %s\n", a.policy, l.comp.revision);
		for (size_t i = 0; i < l.comp.nctx; i++) {
			json_t *mine = learned ? learned_of(learned,
							    l.comp.ctx[i].name) :
						 NULL;

			printf("\n");
			print_context_text(&l.comp, &l.comp.ctx[i]);
			print_learned(mine);
			json_decref(mine);
		}
		ret = 0;
	}
	json_decref(learned);
	tw_loaded_free(&l);
	return ret;
}

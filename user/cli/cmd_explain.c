/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_explain.c - `toolwall explain CONTEXT DEST`: would a tool call in
 * CONTEXT reach DEST, by which rule and bundle, or which bundles would
 * allow it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd_policy.h"
#include "cmds.h"
#include "service.h"
#include "util.h"

#define EXPLAIN_SYNOPSIS "[-p POLICY] [-j] CONTEXT DEST"

static void usage_explain(FILE *f)
{
	fprintf(
	    f, "Usage: toolwall explain " EXPLAIN_SYNOPSIS "\n\n"
	       "Would a tool call in CONTEXT reach DEST? Names the rule and "
	       "bundle\n"
	       "that allow it, or the bundles (and the contexts holding them) "
	       "that\n"
	       "would.\n\n"
	       "  CONTEXT   workspace:WS, channel:WS/CHANNEL or dm:WS/PERSON\n"
	       "            (toolwall compile lists them)\n"
	       "  DEST      HOST:PORT[/udp]      api.tracker.example:443\n"
	       "            IPV4:PORT[/udp]      10.20.1.10:123/udp\n"
	       "            [IPV6]:PORT[/udp]    [fd00:30::1]:5439\n"
	       "            unix:PATH            unix:/run/x.sock\n"
	       "            IPv4-mapped and other IPv4-embedding IPv6 "
	       "addresses are\n"
	       "            judged as the IPv4 address they carry.\n\n"
	       "Options:\n"
	       "  -p, --policy PATH   policy directory or file (default:\n"
	       "                      $TOOLWALL_POLICY, else " TW_DEFAULT_POLICY
	       ")\n"
	       "  -j, --json          "
	       "{\"context\",\"dest\",\"allowed\",\"rule\",\n"
	       "                      \"bundles\",\"contexts\"}\n"
	       "  -h, --help          this text\n\n"
	       "Exit status: 0 allowed, 1 denied (or an invalid policy or "
	       "unknown\n"
	       "context), 2 usage error.\n");
}

/* Is D (an address) one the daemon learned for context NAME? */
static json_t *learned_match(json_t *learned, const char *name,
			     const struct tw_dest *d)
{
	char addr[INET6_ADDRSTRLEN];
	json_t *a;
	size_t i;

	if (d->kind != TW_HOST_CIDR)
		return NULL;
	tw_addr_str(d->family, d->addr, addr, sizeof(addr));
	json_array_foreach(learned, i, a)
	{
		struct tw_port_range *pr = NULL;
		size_t npr = 0;
		char err[64];
		const char *ports =
		    json_string_value(json_object_get(a, "ports"));
		bool hit = false;

		if (strcmp(json_string_value(json_object_get(a, "context"))
			       ?: "",
			   name) ||
		    strcmp(json_string_value(json_object_get(a, "addr")) ?: "",
			   addr) ||
		    strcmp(json_string_value(json_object_get(a, "proto")) ?: "",
			   d->proto == TW_PROTO_UDP ? "udp" : "tcp"))
			continue;
		if (ports && !strcmp(ports, "any"))
			hit = true;
		else if (ports && !tw_ports_parse(ports, &pr, &npr, err,
						  sizeof(err)))
			for (size_t k = 0; k < npr; k++)
				hit |=
				    d->port >= pr[k].lo && d->port <= pr[k].hi;
		free(pr);
		if (hit)
			return a;
	}
	return NULL;
}

static json_t *context_names_json(const struct tw_compiled *c, const int *v,
				  size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(c->ctx[v[i]].name));
	return a;
}

static void unknown_context(const struct tw_compiled *c, const char *name)
{
	size_t len = 1;
	char *list;

	for (size_t i = 0; i < c->nctx; i++)
		len += strlen(c->ctx[i].name) + 2;
	list = calloc(1, len);
	for (size_t i = 0; list && i < c->nctx; i++) {
		if (i)
			strcat(list, ", ");
		strcat(list, c->ctx[i].name);
	}
	tw_error("unknown context '%s'; the policy has: %s", name,
		 list && *list ? list : "(no contexts)");
	free(list);
}

/*
 * The brokered credentials whose services D is (TCP, same port, same
 * address or name): the kernel sends such connections to the broker,
 * which adds the credential to requests its scope allows.
 */
static json_t *brokered_at(const struct tw_context *x, const struct tw_dest *d)
{
	json_t *out = json_array();

	for (size_t k = 0; out && d->proto == TW_PROTO_TCP && !d->listen &&
			   k < x->ncreds;
	     k++) {
		const struct tw_credential *cr = x->creds[k].cred;

		for (size_t i = 0; tw_credential_brokered(cr) &&
				   i < cr->nservices;
		     i++) {
			struct tw_service sv;
			char err[128];
			int fam;

			if (tw_service_parse(cr->services[i], &sv, err,
					     sizeof(err)) ||
			    sv.port != d->port)
				continue;
			fam = sv.family;
			if (fam) {
				int plen = fam == 4 ? 32 : 128;

				tw_fold_v4(&fam, sv.addr, &plen);
			}
			if (fam ? d->kind != TW_HOST_CIDR || d->family != fam ||
					  memcmp(d->addr, sv.addr,
						 fam == 4 ? 4 : 16) :
				  d->kind != TW_HOST_NAME ||
					  strcmp(d->name, sv.host))
				continue;
			json_array_append_new(
			    out,
			    json_pack(
				"{s:s,s:s,s:s,s:s}", "credential", cr->name,
				"scope",
				cr->scope == TW_SCOPE_WRITE ? "write" : "read",
				"header",
				cr->header ? cr->header : TW_HEADER_DEFAULT,
				"service", cr->services[i]));
		}
	}
	return out;
}

static void explain_json(const struct tw_compiled *c, int ctx,
			 const char *dest, const struct tw_dest *d,
			 const struct tw_explain *e)
{
	const struct tw_context *x = &c->ctx[ctx];
	char judged[400], rtext[1024], hint[2048];
	json_t *o;

	tw_dest_format(d, judged, sizeof(judged));
	tw_explain_hint(c, e, hint, sizeof(hint));
	o = json_pack(
	    "{s:s,s:s,s:s,s:b,s:o,s:o,s:o,s:s,s:s}", "context", x->name, "dest",
	    dest, "judged_as", judged, "allowed", e->allowed, "rule",
	    e->allowed ? json_integer(e->rule) : json_null(), "bundles",
	    tw_bundle_names_json(c, e->bundles, e->nbundles), "contexts",
	    context_names_json(c, e->contexts, e->ncontexts), "mode",
	    tw_mode_name(x->mode), "hint", e->allowed ? "" : hint);
	if (o)
		json_object_set_new(o, "instructions",
				    tw_context_instructions_json(c, x));
	if (o && e->allowed && e->rule >= 0) {
		tw_rule_text(d->listen ? &x->listen[e->rule]
				       : &x->rules[e->rule],
			     rtext, sizeof(rtext));
		json_object_set_new(o, "rule_text", json_string(rtext));
	} else if (o && e->allowed) {
		json_object_set_new(o, "rule_text",
				    json_string(d->port ? "loopback" :
							  "port 0 (ephemeral)"));
	}
	if (o)
		json_object_set_new(o, "brokered",
				    e->allowed ? brokered_at(x, d) :
						 json_array());
	tw_print_json(o);
	json_decref(o);
}

static void explain_text(const struct tw_compiled *c, int ctx,
			 const char *dest, const struct tw_dest *d,
			 const struct tw_explain *e)
{
	const struct tw_context *x = &c->ctx[ctx];
	char judged[400], as[450] = "", rtext[1024], who[512], hint[2048];

	/* say how an embedded or odd spelling was read */
	tw_dest_format(d, judged, sizeof(judged));
	if (strcmp(judged, dest))
		snprintf(as, sizeof(as), " (judged as %s)", judged);
	if (e->allowed && e->rule < 0) {
		printf("allowed: %s may bind and accept on %s%s (%s: no listen "
		       "entry needed)\n",
		       x->name, dest, as,
		       d->port ? "loopback" : "port 0, an ephemeral port; "
					     "what comes in is judged at "
					     "ingress");
		return;
	}
	if (e->allowed) {
		tw_rule_text(d->listen ? &x->listen[e->rule]
				       : &x->rules[e->rule],
			     rtext, sizeof(rtext));
		tw_bundles_text(c, e->bundles, e->nbundles, who, sizeof(who));
		printf("allowed: %s may %s %s%s (%s %s, granted by bundle%s "
		       "%s)\n",
		       x->name, d->listen ? "bind and accept on" : "reach",
		       dest, as, d->listen ? "listen" : "rule", rtext,
		       e->nbundles == 1 ? "" : "s", who);
		if (d->listen)
			printf("note: inbound flows are accepted only from "
			       "hosts %s may reach\n", x->name);
		return;
	}
	tw_explain_hint(c, e, hint, sizeof(hint));
	printf("denied: %s may not %s %s%s; %s%s\n", x->name,
	       d->listen ? "bind or accept on" : "reach", dest, as,
	       e->nbundles ? "would be allowed by " : "no bundle allows it",
	       e->nbundles ? hint : "");
	if (!d->listen &&
	    (d->kind == TW_HOST_CIDR || d->kind == TW_HOST_NAME)) {
		/* a common slip: the right host and port, the other protocol */
		struct tw_dest other = *d;
		struct tw_explain oe;

		other.proto = d->proto == TW_PROTO_UDP ? TW_PROTO_TCP :
							 TW_PROTO_UDP;
		if (!tw_explain_dest(c, ctx, &other, &oe)) {
			tw_dest_format(&other, judged, sizeof(judged));
			if (oe.allowed)
				printf("note: %s is allowed (%s, not %s)\n",
				       judged, tw_proto_name(other.proto),
				       tw_proto_name(d->proto));
			tw_explain_free(&oe);
		}
	}
	if (x->mode == TW_MODE_AUDIT)
		printf("note: %s is in audit mode: the call would be logged, "
		       "not blocked\n",
		       x->name);
}

static void brokered_text(json_t *bk)
{
	size_t i;
	json_t *b;

	json_array_foreach(bk, i, b)
		printf("brokered: the kernel sends these connections to the "
		       "credential broker; credential %s (scope %s: %s) is "
		       "added as \"%s\" on requests to %s; the call holds "
		       "only a placeholder\n",
		       json_string_value(json_object_get(b, "credential")),
		       json_string_value(json_object_get(b, "scope")),
		       !strcmp(json_string_value(json_object_get(b, "scope")),
			       "write") ?
			       "any method" :
			       "GET, HEAD, OPTIONS; other methods get a 403",
		       json_string_value(json_object_get(b, "header")),
		       json_string_value(json_object_get(b, "service")));
}

/* The standing instructions a tool call in X receives. */
static void print_instructions(const struct tw_compiled *c,
			       const struct tw_context *x)
{
	bool any = false;

	for (size_t i = 0; i < x->nheld; i++) {
		const struct tw_bundle *b = &c->pol->bundles[x->held[i].bundle];

		if (!b->instructions)
			continue;
		if (!any)
			printf("instructions in %s:\n", x->name);
		any = true;
		printf("  %s: %s\n", b->name, b->instructions);
	}
}

int cmd_explain(int argc, char **argv)
{
	struct tw_explain e = { .rule = -1 };
	struct tw_cmd_args a;
	struct tw_loaded l;
	struct tw_dest d;
	char err[256];
	int ret, ctx;

	ret =
	    tw_cmd_args_parse(argc, argv, usage_explain, EXPLAIN_SYNOPSIS, &a);
	if (ret >= 0)
		return ret;
	if (a.nargs != 2) {
		tw_error("explain: %s", a.nargs < 2
					    ? "CONTEXT and DEST are required"
					    : "too many arguments");
		tw_short_usage(argv[0], EXPLAIN_SYNOPSIS);
		return 2;
	}
	if (tw_dest_parse(a.args[1], &d, err, sizeof(err))) {
		tw_error("explain: bad destination '%s': %s", a.args[1], err);
		return 2;
	}

	ret = 1;
	if (tw_loaded_load(a.policy, &l)) {
		tw_report_invalid(&l, a.policy, false);
		goto out;
	}
	ctx = tw_compiled_find(&l.comp, a.args[0]);
	if (ctx < 0) {
		unknown_context(&l.comp, a.args[0]);
		goto out;
	}
	if (tw_explain_dest(&l.comp, ctx, &d, &e)) {
		tw_error("explain: out of memory");
		goto out;
	}
	if (!e.allowed && d.kind == TW_HOST_CIDR) {
		json_t *learned = tw_daemon_learned(l.comp.revision);
		json_t *hit = learned_match(learned, l.comp.ctx[ctx].name, &d);

		if (hit) {
			/* Granted for now by a DNS answer for an allowed name.
			 */
			if (a.json) {
				json_t *o = json_pack(
					"{s:s,s:s,s:b,s:O}", "context",
					l.comp.ctx[ctx].name, "dest", a.args[1],
					"allowed", 1, "learned", hit);

				tw_print_json(o);
				json_decref(o);
			} else
				printf("allowed: %s may reach %s for now: the "
				       "daemon's resolver answered it for %s "
				       "(expires in %llds)\n",
				       l.comp.ctx[ctx].name, a.args[1],
				       json_string_value(
					       json_object_get(hit, "name")),
				       (long long)json_integer_value(
					       json_object_get(hit,
							       "expires_in_s")));
			json_decref(learned);
			ret = 0;
			goto out;
		}
		json_decref(learned);
	}
	if (!e.allowed &&
	    tw_explain_granted(&l.comp, ctx, &d, a.args[1], a.json) > 0) {
		ret = 0; /* for now, by a live grant */
		goto out;
	}
	if (a.json) {
		explain_json(&l.comp, ctx, a.args[1], &d, &e);
	} else {
		explain_text(&l.comp, ctx, a.args[1], &d, &e);
		if (e.allowed) {
			json_t *bk = brokered_at(&l.comp.ctx[ctx], &d);

			brokered_text(bk);
			json_decref(bk);
		}
		print_instructions(&l.comp, &l.comp.ctx[ctx]);
	}
	ret = e.allowed ? 0 : 1;
out:
	tw_explain_free(&e);
	tw_loaded_free(&l);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * revision.c - the policy revision (see compile.h, tw_policy_revision).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "revision.h"
#include "model.h"

static bool ws_ok(const struct tw_policy *pol, int ws)
{
	return ws >= 0 && (size_t)ws < pol->nworkspaces;
}

static json_t *canon_limits(const struct tw_limits *own,
			    const struct tw_workspace *ws)
{
	struct tw_limits l = tw_resolve_limits(own, ws);

	return json_pack("{s:I,s:I}", "pids", (json_int_t)l.pids, "memory",
			 (json_int_t)l.memory);
}

/* The explicit learned-address quota joins the limits (absent: the default
 * share, which the rest of the policy decides). */
static json_t *canon_learned(json_t *limits, uint64_t own,
			     const struct tw_workspace *ws)
{
	uint32_t q = tw_resolve_max_learned(own, ws);

	if (limits && q)
		json_object_set_new(limits, "max_learned", json_integer(q));
	return limits;
}

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
			el[i].key = dump ? tw_str_printf("%s\x01%s\x01%s",
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

	if (tw_rule_from_endpoint(ep, 0, &r))
		return NULL;
	plen = r.nports * 12 + 8;
	ports = malloc(plen);
	if (ports) {
		tw_rule_host_str(&r, host, sizeof(host));
		tw_ports_str(r.ports, r.nports, ports, plen);
		text = tw_str_printf("%s %s %s %s", proto_str(r.proto),
				  kind_str(r.kind), host, ports);
		if (text)
			o = json_string(text);
		free(text);
		free(ports);
	}
	tw_rule_free(&r);
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
		mode_str(tw_resolve_mode(w->mode, NULL)),
		/* resolvers are tried in the order given */
		"dns_upstream",
		canon_strings(w->dns_upstream, w->ndns_upstream, false),
		"system_paths",
		w->nsystem_paths ?
			canon_strings(w->system_paths, w->nsystem_paths, true) :
			json_null(),
		"credentials_dir", jstr(w->credentials_dir), "limits",
		canon_learned(canon_limits(NULL, w), 0, w)),
		tw_resolve_background(w->background, NULL));
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
			  mode_str(tw_resolve_mode(c->mode, w)), "limits",
			  canon_learned(canon_limits(&c->limits, w),
					c->dns_max_learned, w)),
		tw_resolve_background(c->background, w));
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
			  mode_str(tw_resolve_mode(d->mode, w)), "limits",
			  canon_learned(canon_limits(&d->limits, w),
					d->dns_max_learned, w)),
		tw_resolve_background(d->background, w));
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

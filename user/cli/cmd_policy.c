/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_policy.c - the commands that only read a policy: `check`, `compile`
 * and `explain`. They print; the pure modules they call do not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmds.h"
#include "compile.h"
#include "explain.h"
#include "service.h"
#include "policy.h"
#include "util.h"

/* ---- options ------------------------------------------------------------ */

struct cmd_args {
	const char *policy;
	bool json;
	int nargs;	/* positional arguments left */
	char **args;
};

static const struct option policy_opts[] = {
	{ "policy", required_argument, NULL, 'p' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* After a usage error: the synopsis, and where the rest is. */
static void short_usage(const char *cmd, const char *synopsis)
{
	fprintf(stderr, "Usage: toolwall %s %s\n(toolwall %s --help says more)\n",
		cmd, synopsis, cmd);
}

#define CHECK_SYNOPSIS "[-p POLICY] [-j]"
#define COMPILE_SYNOPSIS "[-p POLICY] [-j]"
#define EXPLAIN_SYNOPSIS "[-p POLICY] [-j] CONTEXT DEST"

/*
 * Parse the options shared by the three commands. Returns -1 to go on, or
 * the exit status (0 after --help, 2 on a usage error).
 */
static int parse_args(int argc, char **argv, void (*usage)(FILE *),
		      const char *synopsis, struct cmd_args *a)
{
	const char *env = getenv("TOOLWALL_POLICY");
	int c;

	a->json = tw_opts.json;
	a->policy = tw_opts.policy ? tw_opts.policy :
		    env && *env	   ? env :
				     TW_DEFAULT_POLICY;
	optind = 0; /* GNU: start over; argv[0] is the command name */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:jh", policy_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			a->policy = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (optopt && strchr("p", optopt))
				tw_error("%s: option -%c needs an argument",
					 argv[0], optopt);
			else
				tw_error("%s: unknown option '%s'", argv[0],
					 argv[optind - 1]);
			short_usage(argv[0], synopsis);
			return 2;
		}
	}
	a->nargs = argc - optind;
	a->args = argv + optind;
	return -1;
}

static void usage_check(FILE *f)
{
	fprintf(f,
		"Usage: toolwall check " CHECK_SYNOPSIS "\n\n"
		"Validate a policy: every problem is printed as\n"
		"FILE:LINE:COL: error: MESSAGE, not just the first one.\n\n"
		"Options:\n"
		"  -p, --policy PATH   policy directory (every *.json below it) or\n"
		"                      file (default: $TOOLWALL_POLICY, else\n"
		"                      " TW_DEFAULT_POLICY ")\n"
		"  -j, --json          {\"ok\",\"errors\",\"revision\",...}\n"
		"  -h, --help          this text\n\n"
		"Exit status: 0 valid, 1 invalid, 2 usage error.\n");
}

static void usage_compile(FILE *f)
{
	fprintf(f,
		"Usage: toolwall compile " COMPILE_SYNOPSIS "\n\n"
		"Print the effective rules of every context (workspace:WS,\n"
		"channel:WS/CHANNEL, dm:WS/PERSON): the bundles it holds and why,\n"
		"every network rule with the bundle(s) that grant it, and the\n"
		"credentials (names and store paths, never secrets), repositories,\n"
		"skills and instructions its tool calls receive.\n\n"
		"Options:\n"
		"  -p, --policy PATH   policy directory or file (default:\n"
		"                      $TOOLWALL_POLICY, else " TW_DEFAULT_POLICY ")\n"
		"  -j, --json          JSON output\n"
		"  -h, --help          this text\n\n"
		"Exit status: 0 success, 1 invalid policy, 2 usage error.\n");
}

static void usage_explain(FILE *f)
{
	fprintf(f,
		"Usage: toolwall explain " EXPLAIN_SYNOPSIS "\n\n"
		"Would a tool call in CONTEXT reach DEST? Names the rule and bundle\n"
		"that allow it, or the bundles (and the contexts holding them) that\n"
		"would.\n\n"
		"  CONTEXT   workspace:WS, channel:WS/CHANNEL or dm:WS/PERSON\n"
		"            (toolwall compile lists them)\n"
		"  DEST      HOST:PORT[/udp]      api.tracker.example:443\n"
		"            IPV4:PORT[/udp]      10.20.1.10:123/udp\n"
		"            [IPV6]:PORT[/udp]    [fd00:30::1]:5439\n"
		"            unix:PATH            unix:/run/x.sock\n"
		"            IPv4-mapped and other IPv4-embedding IPv6 addresses are\n"
		"            judged as the IPv4 address they carry.\n\n"
		"Options:\n"
		"  -p, --policy PATH   policy directory or file (default:\n"
		"                      $TOOLWALL_POLICY, else " TW_DEFAULT_POLICY ")\n"
		"  -j, --json          {\"context\",\"dest\",\"allowed\",\"rule\",\n"
		"                      \"bundles\",\"contexts\"}\n"
		"  -h, --help          this text\n\n"
		"Exit status: 0 allowed, 1 denied (or an invalid policy or unknown\n"
		"context), 2 usage error.\n");
}

/* ---- loading ------------------------------------------------------------ */

struct loaded {
	struct tw_policy pol;
	struct tw_diags diags;
	struct tw_compiled comp;
	bool compiled;
	int err; /* -errno of a failure without diagnostics */
};

/* Load (tw_policy_load also links) and compile PATH. 0 when compiled. */
static int load(const char *path, struct loaded *l)
{
	int err;

	memset(l, 0, sizeof(*l));
	err = tw_policy_load(path, &l->pol, &l->diags);
	if (!err) {
		err = tw_compile(&l->pol, &l->comp, &l->diags);
		l->compiled = !err;
	}
	if (err && !l->diags.n)
		l->err = err;
	tw_diags_sort(&l->diags);
	return err;
}

static void unload(struct loaded *l)
{
	if (l->compiled)
		tw_compiled_free(&l->comp);
	tw_policy_free(&l->pol);
	tw_diags_free(&l->diags);
}

static const char *diag_file(const struct tw_diag *d, const char *path)
{
	return d->loc.file ? d->loc.file : path;
}

static void print_diags(const struct loaded *l, const char *path)
{
	for (size_t i = 0; i < l->diags.n; i++) {
		const struct tw_diag *d = &l->diags.v[i];

		if (d->loc.line > 0)
			fprintf(stderr, "%s:%d:%d: error: %s\n",
				diag_file(d, path), d->loc.line, d->loc.col,
				d->msg);
		else
			fprintf(stderr, "%s: error: %s\n", diag_file(d, path),
				d->msg);
	}
}

/* Every diagnostic, then one summary line. */
static void report_invalid(const struct loaded *l, const char *path,
			   bool from_check)
{
	print_diags(l, path);
	if (l->err)
		tw_error("cannot load policy %s: %s", path, strerror(-l->err));
	else
		tw_error("policy %s has %zu error%s%s", path, l->diags.n,
			 l->diags.n == 1 ? "" : "s",
			 from_check ? "" : "; nothing was compiled");
}

static void print_json(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	if (!s) {
		tw_error("out of memory");
		return;
	}
	puts(s);
	free(s);
}

/* ---- names -------------------------------------------------------------- */

static const char *mode_name(enum tw_mode m)
{
	return m == TW_MODE_AUDIT ? "audit" : "enforce";
}

static const char *via_name(enum tw_grant g)
{
	switch (g) {
	case TW_GRANT_STEP_UP:
		return "step-up";
	case TW_GRANT_PERSONAL:
		return "personal";
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

static const char *proto_name(enum tw_proto p)
{
	switch (p) {
	case TW_PROTO_UDP:
		return "udp";
	case TW_PROTO_UNIX:
		return "unix";
	default:
		return "tcp";
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

static const char *bundle_name(const struct tw_compiled *c, int b)
{
	return c->pol->bundles[b].name;
}

/* "tcp 10.20.0.0/16 port 5432", "unix /run/x.sock". */
static void rule_text(const struct tw_rule *r, char *buf, size_t len)
{
	char host[300], ports[256];

	tw_rule_host_str(r, host, sizeof(host));
	if (r->kind == TW_HOST_UNIX) {
		snprintf(buf, len, "unix %s", host);
		return;
	}
	tw_ports_str(r->ports, r->nports, ports, sizeof(ports));
	snprintf(buf, len, "%s %s port %s", proto_name(r->proto), host, ports);
}

/* ", "-joined bundle names into BUF. */
static void bundles_text(const struct tw_compiled *c, const int *b, size_t n,
			 char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
				 bundle_name(c, b[i]));

		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* ---- check -------------------------------------------------------------- */

/*
 * Warnings: valid, but worth a second look. A credential that could be
 * brokered but is delivered plain puts its value in every call's reach.
 * Printed on stderr (text) or returned as an array (JSON); never an error.
 */
static json_t *check_warnings(const struct loaded *l, const char *path,
			      bool print)
{
	json_t *out = json_array();

	for (size_t i = 0; l->compiled && i < l->pol.nbundles; i++) {
		const struct tw_bundle *b = &l->pol.bundles[i];

		for (size_t k = 0; k < b->ncreds; k++) {
			const struct tw_credential *cr = &b->creds[k];
			const char *f = cr->deliver_loc.file ?
				cr->deliver_loc.file : path;
			char msg[512];

			if (cr->deliver != TW_DELIVER_PLAIN ||
			    !cr->deliver_loc.line)
				continue;
			snprintf(msg, sizeof(msg),
				 "credential %s of bundle %s is delivered "
				 "plain: every tool call of its contexts holds "
				 "its value and can send it anywhere they may "
				 "reach (give it \"services\" to broker it)",
				 cr->name, b->name);
			if (print)
				fprintf(stderr, "%s:%d:%d: warning: %s\n", f,
					cr->deliver_loc.line,
					cr->deliver_loc.col, msg);
			json_array_append_new(
				out, json_pack("{s:s,s:i,s:i,s:s}", "file", f,
					       "line", cr->deliver_loc.line,
					       "col", cr->deliver_loc.col,
					       "message", msg));
		}
	}
	return out;
}

int cmd_check(int argc, char **argv)
{
	struct cmd_args a;
	struct loaded l;
	int ret = parse_args(argc, argv, usage_check, CHECK_SYNOPSIS, &a);

	if (ret >= 0)
		return ret;
	if (a.nargs) {
		tw_error("check: unexpected argument '%s'", a.args[0]);
		short_usage(argv[0], CHECK_SYNOPSIS);
		return 2;
	}
	ret = load(a.policy, &l) ? 1 : 0;

	if (a.json) {
		json_t *errs = json_array(), *o;

		for (size_t i = 0; i < l.diags.n; i++) {
			const struct tw_diag *d = &l.diags.v[i];

			json_array_append_new(
				errs, json_pack("{s:s,s:i,s:i,s:s}", "file",
						diag_file(d, a.policy), "line",
						d->loc.line, "col", d->loc.col,
						"message", d->msg));
		}
		if (l.err)
			json_array_append_new(
				errs, json_pack("{s:s,s:i,s:i,s:s+}", "file",
						a.policy, "line", 0, "col", 0,
						"message", "cannot load policy: ",
						strerror(-l.err)));
		o = json_pack("{s:b,s:s,s:o,s:o}", "ok", !ret, "policy",
			      a.policy, "errors", errs, "revision",
			      l.compiled ? json_string(l.comp.revision) :
					   json_null());
		if (o && l.compiled) {
			json_object_set_new(o, "workspaces",
					    json_integer((json_int_t)l.pol.nworkspaces));
			json_object_set_new(o, "bundles",
					    json_integer((json_int_t)l.pol.nbundles));
			json_object_set_new(o, "channels",
					    json_integer((json_int_t)l.pol.nchannels));
			json_object_set_new(o, "dms",
					    json_integer((json_int_t)l.pol.ndms));
			json_object_set_new(o, "contexts",
					    json_integer((json_int_t)l.comp.nctx));
		}
		if (o)
			json_object_set_new(o, "warnings",
					    check_warnings(&l, a.policy, false));
		print_json(o);
		json_decref(o);
	} else if (ret) {
		report_invalid(&l, a.policy, true);
	} else {
		json_decref(check_warnings(&l, a.policy, true));
		printf("policy OK: %zu workspaces, %zu bundles, %zu channels, %zu DMs, %zu contexts, revision %.12s\n",
		       l.pol.nworkspaces, l.pol.nbundles, l.pol.nchannels,
		       l.pol.ndms, l.comp.nctx, l.comp.revision);
	}
	unload(&l);
	return ret;
}

/* ---- compile ------------------------------------------------------------ */

/*
 * The addresses a running daemon's resolver has learned, when it enforces
 * this very revision (a compile or explain of another policy says nothing
 * about them). NULL when no daemon answers (or we may not ask it: the
 * control socket is root's).
 */
static json_t *daemon_learned(const char *revision)
{
	json_t *req, *rep, *out = NULL;
	const char *rev;

	if (access(tw_control_path(), W_OK))
		return NULL;
	req = json_pack("{s:s}", "op", "status");
	rep = tw_control_call(req);
	json_decref(req);
	if (!rep)
		return NULL;
	rev = json_string_value(json_object_get(rep, "policy_rev"));
	if (rev && !strcmp(rev, revision))
		out = json_incref(json_object_get(json_object_get(rep, "dns"),
						  "addresses"));
	json_decref(rep);
	return out;
}

/* The learned addresses of context NAME, as a new array. */
static json_t *learned_of(json_t *learned, const char *name)
{
	json_t *out = json_array(), *a;
	size_t i;

	json_array_foreach(learned, i, a)
	{
		const char *c = json_string_value(json_object_get(a, "context"));

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
		const char *ports = json_string_value(json_object_get(a, "ports"));
		bool hit = false;

		if (strcmp(json_string_value(json_object_get(a, "context")) ?: "",
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
				hit |= d->port >= pr[k].lo && d->port <= pr[k].hi;
		free(pr);
		if (hit)
			return a;
	}
	return NULL;
}

static void print_context_text(const struct tw_compiled *c,
			       const struct tw_context *x)
{
	const struct tw_policy *pol = c->pol;
	bool any = false;
	char buf[1024], who[512];

	printf("context %s\n", x->name);
	printf("  mode          %s\n", mode_name(x->mode));
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

	printf("  rules%s\n", x->nrules ? "" : "         none: every connection is denied");
	for (size_t i = 0; i < x->nrules; i++) {
		const struct tw_rule *r = &x->rules[i];

		rule_text(r, buf, sizeof(buf));
		bundles_text(c, r->bundles, r->nbundles, who, sizeof(who));
		printf("    %s  <- %s\n", buf, who);
	}
	printf("  listen%s\n", x->nlisten ? "" : "        loopback only");
	for (size_t i = 0; i < x->nlisten; i++) {
		const struct tw_rule *r = &x->listen[i];

		rule_text(r, buf, sizeof(buf));
		bundles_text(c, r->bundles, r->nbundles, who, sizeof(who));
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
		       bundle_name(c, g->bundle));
	}
	if (x->nrepos)
		printf("  repositories\n");
	for (size_t i = 0; i < x->nrepos; i++)
		printf("    %s  %s  <- %s\n", x->repos[i].repo->path,
		       x->repos[i].access == TW_ACCESS_WRITE ? "write" : "read",
		       bundle_name(c, x->repos[i].bundle));
	if (x->nskills)
		printf("  skills\n");
	for (size_t i = 0; i < x->nskills; i++)
		printf("    %s  <- %s\n", x->skills[i].path,
		       bundle_name(c, x->skills[i].bundle));
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

static json_t *bundle_names_json(const struct tw_compiled *c, const int *b,
				 size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(bundle_name(c, b[i])));
	return a;
}

static json_t *rule_json(const struct tw_compiled *c, const struct tw_rule *r)
{
	json_t *ports = json_array();
	char host[300];

	tw_rule_host_str(r, host, sizeof(host));
	for (size_t i = 0; ports && i < r->nports; i++)
		json_array_append_new(ports, json_pack("[ii]", r->ports[i].lo,
						       r->ports[i].hi));
	return json_pack("{s:s,s:s,s:s,s:o,s:o}", "proto", proto_name(r->proto),
			 "host", host, "kind", host_kind_name(r->kind), "ports",
			 ports, "bundles",
			 bundle_names_json(c, r->bundles, r->nbundles));
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
					bundle_name(c, x->held[i].bundle), "via",
					via_name(x->held[i].via)));
	for (size_t i = 0; rules && i < x->nrules; i++)
		json_array_append_new(rules, rule_json(c, &x->rules[i]));
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?,s:b,s:o,s:o,s:o}", "name",
		      x->name, "kind", ctx_kind_name(x->kind), "workspace",
		      pol->workspaces[x->workspace].name, "mode",
		      mode_name(x->mode), "cgroup", x->cgroup, "run_as",
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
	struct cmd_args a;
	struct loaded l;
	json_t *learned;
	int ret = parse_args(argc, argv, usage_compile, COMPILE_SYNOPSIS, &a);

	if (ret >= 0)
		return ret;
	if (a.nargs) {
		tw_error("compile: unexpected argument '%s'", a.args[0]);
		short_usage(argv[0], COMPILE_SYNOPSIS);
		return 2;
	}
	if (load(a.policy, &l)) {
		report_invalid(&l, a.policy, false);
		unload(&l);
		return 1;
	}
	learned = daemon_learned(l.comp.revision);
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
		print_json(o);
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
	unload(&l);
	return ret;
}

/* ---- explain ------------------------------------------------------------ */

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

static json_t *brokered_at(const struct tw_context *x,
			   const struct tw_dest *d);

static void explain_json(const struct tw_compiled *c, int ctx,
			 const char *dest, const struct tw_dest *d,
			 const struct tw_explain *e)
{
	const struct tw_context *x = &c->ctx[ctx];
	char judged[400], rtext[1024], hint[2048];
	json_t *o;

	tw_dest_format(d, judged, sizeof(judged));
	tw_explain_hint(c, e, hint, sizeof(hint));
	o = json_pack("{s:s,s:s,s:s,s:b,s:o,s:o,s:o,s:s,s:s}", "context",
		      x->name, "dest", dest, "judged_as", judged, "allowed",
		      e->allowed, "rule",
		      e->allowed ? json_integer(e->rule) : json_null(),
		      "bundles", bundle_names_json(c, e->bundles, e->nbundles),
		      "contexts",
		      context_names_json(c, e->contexts, e->ncontexts), "mode",
		      mode_name(x->mode), "hint", e->allowed ? "" : hint);
	if (o)
		json_object_set_new(o, "instructions",
				    tw_context_instructions_json(c, x));
	if (o && e->allowed && e->rule >= 0) {
		rule_text(d->listen ? &x->listen[e->rule] : &x->rules[e->rule],
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
	print_json(o);
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
		rule_text(d->listen ? &x->listen[e->rule] : &x->rules[e->rule],
			  rtext, sizeof(rtext));
		bundles_text(c, e->bundles, e->nbundles, who, sizeof(who));
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
				       judged, proto_name(other.proto),
				       proto_name(d->proto));
			tw_explain_free(&oe);
		}
	}
	if (x->mode == TW_MODE_AUDIT)
		printf("note: %s is in audit mode: the call would be logged, not blocked\n",
		       x->name);
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
				json_pack("{s:s,s:s,s:s,s:s}", "credential",
					  cr->name, "scope",
					  cr->scope == TW_SCOPE_WRITE ? "write" :
									"read",
					  "header",
					  cr->header ? cr->header :
						       TW_HEADER_DEFAULT,
					  "service", cr->services[i]));
		}
	}
	return out;
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
	struct cmd_args a;
	struct loaded l;
	struct tw_dest d;
	char err[256];
	int ret, ctx;

	ret = parse_args(argc, argv, usage_explain, EXPLAIN_SYNOPSIS, &a);
	if (ret >= 0)
		return ret;
	if (a.nargs != 2) {
		tw_error("explain: %s", a.nargs < 2 ?
						"CONTEXT and DEST are required" :
						"too many arguments");
		short_usage(argv[0], EXPLAIN_SYNOPSIS);
		return 2;
	}
	if (tw_dest_parse(a.args[1], &d, err, sizeof(err))) {
		tw_error("explain: bad destination '%s': %s", a.args[1], err);
		return 2;
	}

	ret = 1;
	if (load(a.policy, &l)) {
		report_invalid(&l, a.policy, false);
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
		json_t *learned = daemon_learned(l.comp.revision);
		json_t *hit = learned_match(learned, l.comp.ctx[ctx].name, &d);

		if (hit) {
			/* Granted for now by a DNS answer for an allowed name. */
			if (a.json) {
				json_t *o = json_pack(
					"{s:s,s:s,s:b,s:O}", "context",
					l.comp.ctx[ctx].name, "dest", a.args[1],
					"allowed", 1, "learned", hit);

				print_json(o);
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
	unload(&l);
	return ret;
}

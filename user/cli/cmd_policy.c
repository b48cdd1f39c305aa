/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_policy.c - what the commands that only read a policy (`check`,
 * `compile`, `explain`: cmd_check.c, cmd_compile.c, cmd_explain.c) share:
 * their options, loading and reporting the policy, the words their output
 * uses, and the addresses a running daemon has learned. They print; the
 * pure modules they call do not.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd_policy.h"
#include "util.h"

/* ---- options ------------------------------------------------------------ */

static const struct option policy_opts[] = {
	{ "policy", required_argument, NULL, 'p' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ "portable", no_argument, NULL, 'P' }, /* where SYNOPSIS has it */
	{ NULL, 0, NULL, 0 },
};

/* After a usage error: the synopsis, and where the rest is. */
void tw_short_usage(const char *cmd, const char *synopsis)
{
	fprintf(stderr,
		"Usage: toolwall %s %s\n(toolwall %s --help says more)\n", cmd,
		synopsis, cmd);
}

/*
 * Parse the options shared by the three commands. Returns -1 to go on, or
 * the exit status (0 after --help, 2 on a usage error).
 */
int tw_cmd_args_parse(int argc, char **argv, void (*usage)(FILE *),
		      const char *synopsis, struct tw_cmd_args *a)
{
	const char *env = getenv("TOOLWALL_POLICY");
	int c;

	memset(a, 0, sizeof(*a));
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
		case 'P':
			if (strstr(synopsis, "--portable")) {
				a->portable = true;
				break;
			}
			optopt = 0; /* not this command's: unknown */
			__attribute__((fallthrough));
		default:
			if (optopt && strchr("p", optopt))
				tw_error("%s: option -%c needs an argument",
					 argv[0], optopt);
			else
				tw_error("%s: unknown option '%s'", argv[0],
					 argv[optind - 1]);
			tw_short_usage(argv[0], synopsis);
			return 2;
		}
	}
	a->nargs = argc - optind;
	a->args = argv + optind;
	return -1;
}

/* ---- loading ------------------------------------------------------------ */

/* Load (tw_policy_load also links) and compile PATH. 0 when compiled. */
int tw_loaded_load(const char *path, struct tw_loaded *l)
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

void tw_loaded_free(struct tw_loaded *l)
{
	if (l->compiled)
		tw_compiled_free(&l->comp);
	tw_policy_free(&l->pol);
	tw_diags_free(&l->diags);
}

const char *tw_diag_file(const struct tw_diag *d, const char *path)
{
	return d->loc.file ? d->loc.file : path;
}

/* Each diagnostic as FILE:LINE:COL: error: MESSAGE (with -j: a JSON
 * error whose "where" is FILE:LINE:COL). */
static void print_diags(const struct tw_loaded *l, const char *path)
{
	for (size_t i = 0; i < l->diags.n; i++) {
		const struct tw_diag *d = &l->diags.v[i];
		char where[4200];

		if (d->loc.line > 0)
			snprintf(where, sizeof(where), "%s:%d:%d",
				 tw_diag_file(d, path), d->loc.line,
				 d->loc.col);
		else
			snprintf(where, sizeof(where), "%s",
				 tw_diag_file(d, path));
		if (tw_error_json_on())
			tw_error_at(where, "%s", d->msg);
		else
			fprintf(stderr, "%s: error: %s\n", where, d->msg);
	}
}

/* Every diagnostic, then one summary line. */
void tw_report_invalid(const struct tw_loaded *l, const char *path,
		       bool from_check)
{
	print_diags(l, path);
	if (l->err)
		tw_error("cannot load policy %s: %s", path, strerror(-l->err));
	else
		tw_error("policy %s has %zu error%s%s%s", path, l->diags.n,
			 l->diags.n == 1 ? "" : "s",
			 from_check ? "" : "; nothing was compiled",
			 l->diags.n > 1 && l->diags.v[0].syntax ?
				 " (the first is a JSON syntax error: fix it "
				 "first, the others may stem from it)" :
				 "");
}

void tw_print_json(json_t *o)
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

const char *tw_mode_name(enum tw_mode m)
{
	return m == TW_MODE_AUDIT ? "audit" : "enforce";
}

const char *tw_proto_name(enum tw_proto p)
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

const char *tw_bundle_name(const struct tw_compiled *c, int b)
{
	return c->pol->bundles[b].name;
}

/* "tcp 10.20.0.0/16 port 5432", "unix /run/x.sock". */
void tw_rule_text(const struct tw_rule *r, char *buf, size_t len)
{
	char host[300], ports[256];

	tw_rule_host_str(r, host, sizeof(host));
	if (r->kind == TW_HOST_UNIX) {
		snprintf(buf, len, "unix %s", host);
		return;
	}
	tw_ports_str(r->ports, r->nports, ports, sizeof(ports));
	snprintf(buf, len, "%s %s port %s", tw_proto_name(r->proto), host,
		 ports);
}

/* ", "-joined bundle names into BUF. */
void tw_bundles_text(const struct tw_compiled *c, const int *b, size_t n,
		     char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
				 tw_bundle_name(c, b[i]));

		if (w < 0)
			break;
		off += (size_t)w;
	}
}

json_t *tw_bundle_names_json(const struct tw_compiled *c, const int *b,
			     size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(tw_bundle_name(c, b[i])));
	return a;
}

/* ---- the running daemon ------------------------------------------------- */

/*
 * The addresses a running daemon's resolver has learned, when it enforces
 * this very revision (a compile or explain of another policy says nothing
 * about them). NULL when no daemon answers (or we may not ask it: the
 * control socket is root's).
 */
json_t *tw_daemon_learned(const char *revision)
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

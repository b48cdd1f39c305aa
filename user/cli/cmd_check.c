/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_check.c - `toolwall check`: validate a policy, print every problem
 * (and the warnings worth a second look).
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd_policy.h"
#include "cmds.h"
#include "util.h"

#define CHECK_SYNOPSIS "[-p POLICY] [-j] [--portable]"

static void usage_check(FILE *f)
{
	fprintf(f,
		"Usage: toolwall check " CHECK_SYNOPSIS "\n\n"
		"Validate a policy: every problem is printed as\n"
		"FILE:LINE:COL: error: MESSAGE, not just the first one (a JSON\n"
		"syntax error first: what follows may stem from it). Warnings\n"
		"(FILE:LINE:COL: warning: ...) do not make a policy invalid.\n\n"
		"Options:\n"
		"  -p, --policy PATH   policy directory (every *.json below "
		"it) or\n"
		"                      file (default: $TOOLWALL_POLICY, else\n"
		"                      " TW_DEFAULT_POLICY ")\n"
		"  -j, --json          {\"ok\",\"errors\",\"revision\",...}\n"
		"      --portable      leave out what only this host can say\n"
		"                      (that agent.user and run_as accounts exist\n"
		"                      and are not root): to check a policy on a\n"
		"                      machine it will not run on\n"
		"  -h, --help          this text\n\n"
		"Exit status: 0 valid, 1 invalid, 2 usage error.\n");
}

/* One warning: on stderr when PRINT, and as {file,line,col,message}. */
static void warn(json_t *out, bool print, struct tw_loc loc, const char *path,
		 const char *msg)
{
	const char *f = loc.file ? loc.file : path;

	if (print)
		fprintf(stderr, "%s:%d:%d: warning: %s\n", f, loc.line, loc.col,
			msg);
	json_array_append_new(out, json_pack("{s:s,s:i,s:i,s:s}", "file", f,
					     "line", loc.line, "col", loc.col,
					     "message", msg));
}

/* Was connect entry EP written without ports (so it allows every one)? */
static bool every_port(const struct tw_endpoint *ep)
{
	const char *h;

	if (ep->kind == TW_HOST_UNIX || !ep->text)
		return false;
	h = strstr(ep->text, "://");
	h = h ? h + 3 : ep->text;
	if (*h == '[')
		h = strchr(h, ']') ?: h;
	return !strchr(h, ':');
}

/*
 * Warnings: valid, but worth a second look. A credential that could be
 * brokered but is delivered plain puts its value in every call's reach; a
 * connect entry without ports opens every port of its hosts. Printed on
 * stderr (text) or returned as an array (JSON); never an error.
 */
static json_t *check_warnings(const struct tw_loaded *l, const char *path,
			      bool print)
{
	json_t *out = json_array();
	char msg[512];

	for (size_t i = 0; l->compiled && i < l->pol.nbundles; i++) {
		const struct tw_bundle *b = &l->pol.bundles[i];

		for (size_t k = 0; k < b->nconnect; k++) {
			if (!every_port(&b->connect[k]))
				continue;
			snprintf(msg, sizeof(msg),
				 "connect entry \"%s\" of bundle %s has no "
				 "ports: it allows every port of its hosts "
				 "(write \"%s:PORTS\" to allow only those)",
				 b->connect[k].text, b->name,
				 b->connect[k].text);
			warn(out, print, b->connect[k].loc, path, msg);
		}
		for (size_t k = 0; k < b->ncreds; k++) {
			const struct tw_credential *cr = &b->creds[k];

			if (cr->deliver != TW_DELIVER_PLAIN ||
			    !cr->deliver_loc.line)
				continue;
			snprintf(msg, sizeof(msg),
				 "credential %s of bundle %s is delivered "
				 "plain: every tool call of its contexts holds "
				 "its value and can send it anywhere they may "
				 "reach (give it \"services\" to broker it)",
				 cr->name, b->name);
			warn(out, print, cr->deliver_loc, path, msg);
		}
	}
	return out;
}

/* The account ACCT tool calls run as: an error unless it exists and is not
 * root. WHAT names it ("agent.user", "run_as"). */
static int check_account(struct tw_loaded *l, struct tw_loc loc,
			 const char *kind, const char *name, const char *what,
			 const char *acct)
{
	struct passwd *pw;

	if (!acct)
		return 0;
	errno = 0;
	pw = getpwnam(acct);
	if (pw && pw->pw_uid != 0)
		return 0;
	if (pw)
		tw_diags_add(&l->diags, loc, "%s %s: %s \"%s\" is root (uid 0): "
			     "its tool calls would hold every privilege the "
			     "firewall takes away; use an unprivileged account",
			     kind, name, what, acct);
	else
		tw_diags_add(&l->diags, loc, "%s %s: %s \"%s\" does not exist "
			     "on this host (create it, e.g. useradd --system "
			     "%s; or check elsewhere with --portable)",
			     kind, name, what, acct, acct);
	return 1;
}

/*
 * What only this host can say: the accounts tool calls run as exist and
 * are not root. Adds diagnostics; returns how many.
 */
static size_t check_accounts(struct tw_loaded *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->pol.nworkspaces; i++) {
		const struct tw_workspace *w = &l->pol.workspaces[i];

		n += check_account(l, w->loc, "workspace", w->name,
				   "agent.user", w->agent_user);
	}
	for (size_t i = 0; i < l->pol.ndms; i++) {
		const struct tw_dm *dm = &l->pol.dms[i];

		n += check_account(l, dm->loc, "dm", dm->name,
				   "run_as", dm->run_as);
	}
	if (n)
		tw_diags_sort(&l->diags);
	return n;
}

/* The JSON answer: {"ok","policy","errors","revision",...,"warnings"}. */
static void check_json(const struct tw_loaded *l, const char *path, int ret)
{
	json_t *errs = json_array(), *o;

	for (size_t i = 0; i < l->diags.n; i++) {
		const struct tw_diag *d = &l->diags.v[i];

		json_array_append_new(
		    errs, json_pack("{s:s,s:i,s:i,s:s}", "file",
				    tw_diag_file(d, path), "line", d->loc.line,
				    "col", d->loc.col, "message", d->msg));
	}
	if (l->err)
		json_array_append_new(
		    errs, json_pack("{s:s,s:i,s:i,s:s+}", "file", path, "line",
				    0, "col", 0, "message",
				    "cannot load policy: ", strerror(-l->err)));
	o = json_pack("{s:b,s:s,s:o,s:o}", "ok", !ret, "policy", path,
		      "errors", errs, "revision",
		      l->compiled ? json_string(l->comp.revision) :
				    json_null());
	if (o && ret && json_array_size(errs)) {
		/* the first problem, as every command's JSON error has it */
		json_t *e = json_array_get(errs, 0);
		char where[4200];

		snprintf(where, sizeof(where), "%s:%lld:%lld",
			 json_string_value(json_object_get(e, "file")),
			 (long long)json_integer_value(json_object_get(e, "line")),
			 (long long)json_integer_value(json_object_get(e, "col")));
		json_object_set(o, "error", json_object_get(e, "message"));
		json_object_set_new(o, "where", json_string(where));
	}
	if (o && l->compiled) {
		json_object_set_new(o, "workspaces",
				    json_integer((json_int_t)l->pol.nworkspaces));
		json_object_set_new(o, "bundles",
				    json_integer((json_int_t)l->pol.nbundles));
		json_object_set_new(o, "channels",
				    json_integer((json_int_t)l->pol.nchannels));
		json_object_set_new(o, "dms",
				    json_integer((json_int_t)l->pol.ndms));
		json_object_set_new(o, "contexts",
				    json_integer((json_int_t)l->comp.nctx));
	}
	if (o)
		json_object_set_new(o, "warnings",
				    check_warnings(l, path, false));
	tw_print_json(o);
	json_decref(o);
}

int cmd_check(int argc, char **argv)
{
	struct tw_cmd_args a;
	struct tw_loaded l;
	int ret =
	    tw_cmd_args_parse(argc, argv, usage_check, CHECK_SYNOPSIS, &a);

	if (ret >= 0)
		return ret;
	if (a.nargs) {
		tw_error("check: unexpected argument '%s'", a.args[0]);
		tw_short_usage(argv[0], CHECK_SYNOPSIS);
		return 2;
	}
	ret = tw_loaded_load(a.policy, &l) ? 1 : 0;
	if (!a.portable && check_accounts(&l))
		ret = 1;

	if (a.json) {
		check_json(&l, a.policy, ret);
	} else if (ret) {
		tw_report_invalid(&l, a.policy, true);
	} else {
		json_decref(check_warnings(&l, a.policy, true));
		printf("policy OK: %zu workspaces, %zu bundles, %zu channels, "
		       "%zu DMs, %zu contexts, revision %.12s\n",
		       l.pol.nworkspaces, l.pol.nbundles, l.pol.nchannels,
		       l.pol.ndms, l.comp.nctx, l.comp.revision);
	}
	tw_loaded_free(&l);
	return ret;
}

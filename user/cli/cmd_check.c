/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmd_check.c - `toolwall check`: validate a policy, print every problem
 * (and the warnings worth a second look).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd_policy.h"
#include "cmds.h"
#include "util.h"

#define CHECK_SYNOPSIS "[-p POLICY] [-j]"

static void usage_check(FILE *f)
{
	fprintf(f,
		"Usage: toolwall check " CHECK_SYNOPSIS "\n\n"
		"Validate a policy: every problem is printed as\n"
		"FILE:LINE:COL: error: MESSAGE, not just the first one.\n\n"
		"Options:\n"
		"  -p, --policy PATH   policy directory (every *.json below "
		"it) or\n"
		"                      file (default: $TOOLWALL_POLICY, else\n"
		"                      " TW_DEFAULT_POLICY ")\n"
		"  -j, --json          {\"ok\",\"errors\",\"revision\",...}\n"
		"  -h, --help          this text\n\n"
		"Exit status: 0 valid, 1 invalid, 2 usage error.\n");
}

/*
 * Warnings: valid, but worth a second look. A credential that could be
 * brokered but is delivered plain puts its value in every call's reach.
 * Printed on stderr (text) or returned as an array (JSON); never an error.
 */
static json_t *check_warnings(const struct tw_loaded *l, const char *path,
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

	if (a.json) {
		json_t *errs = json_array(), *o;

		for (size_t i = 0; i < l.diags.n; i++) {
			const struct tw_diag *d = &l.diags.v[i];

			json_array_append_new(
			    errs, json_pack("{s:s,s:i,s:i,s:s}", "file",
					    tw_diag_file(d, a.policy), "line",
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
		tw_print_json(o);
		json_decref(o);
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

// SPDX-License-Identifier: GPL-2.0-only
/*
 * grant_cmd.c - `toolwall grant`, `revoke`, `grants`, `quarantine` and
 * `release`: requests to the daemon (grantops.c), which decides, records
 * and writes the kernel maps.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "duration.h"
#include "grantrule.h"
#include "util.h"

static const char grant_usage[] =
	"Usage: toolwall grant CONTEXT BUNDLE --for DURATION --approved-by WHO\n"
	"                      [--reason TEXT] [--call-id ID] [-j]\n"
	"       toolwall grant CONTEXT --connect DEST --for DURATION\n"
	"                      --approved-by WHO [--reason TEXT] [--call-id ID]\n"
	"A time-limited step-up: the bundle's address rules (or the one\n"
	"destination DEST, [tcp://|udp://]ADDR[/LEN][:PORTS]) are added to\n"
	"CONTEXT, or with --call-id to that tool call only, until the grant\n"
	"expires. The kernel compares each granted rule's deadline with its own\n"
	"clock: the grant ends on time even with the daemon dead. A connection\n"
	"opened while it lasts is not cut at expiry; a new one is refused.\n"
	"A bundle granted to a whole context: its DNS names resolve there\n"
	"while it lasts (TTLs cut to the time left; the answered addresses\n"
	"end with the grant, in the kernel). Tool calls that START while a\n"
	"grant lasts get the bundle's credentials, repositories, skills and\n"
	"instructions; calls started before it or after its expiry do not.\n"
	"Per-call grants do not cover DNS names.\n"
	"DURATION: 90s, 15m, 2h (at most the workspace's max_grant, default\n"
	"8h). WHO: the person who approved it; the account running this\n"
	"command is recorded as the operator. Prints the grant's id and expiry.\n"
	"Refused: an unknown context or bundle, a bundle the context holds, a\n"
	"personal bundle outside its person's DM, a zero or too long DURATION.\n";

static const char revoke_usage[] =
	"Usage: toolwall revoke ID [--reason TEXT] [-j]\n"
	"End grant ID (from `toolwall grant` or `toolwall grants`) now.\n";

static const char grants_usage[] =
	"Usage: toolwall grants [-j]\n"
	"Live grants (context, what, call, approver, reason, time left) and\n"
	"quarantines.\n";

static const char quarantine_usage[] =
	"Usage: toolwall quarantine CONTEXT [--reason TEXT] [-j]\n"
	"       toolwall quarantine --call-id ID [--reason TEXT] [-j]\n"
	"From this instant the kernel refuses every connect, send and DNS query\n"
	"of CONTEXT (or of the tool calls with call id ID), its running calls\n"
	"are killed (their whole cgroup) and new ones are refused, until\n"
	"`toolwall release`. Survives daemon restarts.\n";

static const char release_usage[] =
	"Usage: toolwall release CONTEXT [-j]\n"
	"       toolwall release --call-id ID [-j]\n"
	"End a quarantine.\n";

struct gargs {
	const char *pos[2];
	int npos;
	const char *dur, *who, *reason, *call, *connect;
};

/* Parse the options every one of these commands shares. -1: go on;
 * else the exit status. */
static int parse(int argc, char **argv, const char *usage, int maxpos,
		 struct gargs *a)
{
	static const struct option opts[] = {
		{ "for", required_argument, 0, 'f' },
		{ "approved-by", required_argument, 0, 'a' },
		{ "reason", required_argument, 0, 'r' },
		{ "call-id", required_argument, 0, 'i' },
		{ "connect", required_argument, 0, 'c' },
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': a->dur = optarg; break;
		case 'a': a->who = optarg; break;
		case 'r': a->reason = optarg; break;
		case 'i': a->call = optarg; break;
		case 'c': a->connect = optarg; break;
		case 'j': tw_opts.json = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	for (; optind < argc; optind++) {
		if (a->npos == maxpos) {
			tw_error("unexpected argument %s", argv[optind]);
			fputs(usage, stderr);
			return 2;
		}
		a->pos[a->npos++] = argv[optind];
	}
	return -1;
}

/* Send REQ (taken); the reply when it says ok, else NULL (said). */
static json_t *ask(json_t *req)
{
	json_t *rep = tw_control_call(req);

	json_decref(req);
	if (!rep) {
		tw_error("toolwall daemon not reachable at %s: %s",
			 tw_control_path(), strerror(errno));
		return NULL;
	}
	if (!json_is_true(json_object_get(rep, "ok"))) {
		tw_error("%s", json_string_value(json_object_get(rep, "error")) ?:
				       "refused");
		json_decref(rep);
		return NULL;
	}
	json_object_del(rep, "ok");
	return rep;
}

static int print_json(json_t *rep)
{
	char *s = json_dumps(rep, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s)
		puts(s);
	free(s);
	json_decref(rep);
	return 0;
}

#define S(o, k) (json_string_value(json_object_get(o, k)))

static void left_str(json_t *g, char *buf, size_t len)
{
	json_int_t s = json_integer_value(json_object_get(g, "expires_in_s"));

	tw_duration_str((uint64_t)(s > 0 ? s : 0) * TW_NS_PER_S, buf, len);
}

int cmd_grant(int argc, char **argv)
{
	struct gargs a;
	uint64_t ns;
	char err[256], left[32];
	json_t *rep, *g;
	int r = parse(argc, argv, grant_usage, 2, &a);

	if (r >= 0)
		return r;
	if (!a.npos || (a.npos == 2) == !!a.connect || !a.dur || !a.who) {
		tw_error("grant needs CONTEXT, a BUNDLE or --connect DEST, "
			 "--for DURATION and --approved-by WHO");
		fputs(grant_usage, stderr);
		return 2;
	}
	if (tw_parse_duration(a.dur, &ns, err, sizeof(err))) {
		tw_error("--for %s", err);
		return 2;
	}
	rep = ask(json_pack("{s:s,s:s,s:s?,s:s?,s:s,s:s,s:s?,s:s?}", "op",
			    "grant", "context", a.pos[0], "bundle",
			    a.npos == 2 ? a.pos[1] : NULL, "connect", a.connect,
			    "for", a.dur, "approved_by", a.who, "reason",
			    a.reason, "call_id", a.call));
	if (!rep)
		return 1;
	if (tw_opts.json)
		return print_json(rep);
	g = json_object_get(rep, "grant");
	left_str(g, left, sizeof(left));
	printf("grant %s: %s %s to %s%s%s until %s (%s), approved by %s\n",
	       S(g, "id"), S(g, "bundle") ? "bundle" : "destination",
	       S(g, "bundle") ?: S(g, "connect"), S(g, "context"),
	       S(g, "call_id") ? " call " : "", S(g, "call_id") ?: "",
	       S(g, "expires"), left, S(g, "approved_by"));
	json_decref(rep);
	return 0;
}

int cmd_revoke(int argc, char **argv)
{
	struct gargs a;
	json_t *rep;
	int r = parse(argc, argv, revoke_usage, 1, &a);

	if (r >= 0)
		return r;
	if (a.npos != 1 || a.dur || a.who || a.call || a.connect) {
		fputs(revoke_usage, stderr);
		return 2;
	}
	rep = ask(json_pack("{s:s,s:s,s:s?}", "op", "revoke", "id", a.pos[0],
			    "reason", a.reason));
	if (!rep)
		return 1;
	if (tw_opts.json)
		return print_json(rep);
	printf("revoked %s\n", a.pos[0]);
	json_decref(rep);
	return 0;
}

void tw_print_grants(json_t *rep)
{
	json_t *g;
	size_t i;

	if (!json_array_size(json_object_get(rep, "grants")) &&
	    !json_array_size(json_object_get(rep, "quarantines"))) {
		printf("grants:     none live; no quarantine\n");
		return;
	}
	printf("%-11s %-24s %-28s %-10s %-16s %-8s %s\n", "ID", "CONTEXT",
	       "WHAT", "CALL", "APPROVED BY", "LEFT", "REASON");
	json_array_foreach(json_object_get(rep, "grants"), i, g) {
		char what[300], left[32];

		snprintf(what, sizeof(what), "%s%s",
			 S(g, "bundle") ? "bundle " : "",
			 S(g, "bundle") ?: S(g, "connect"));
		left_str(g, left, sizeof(left));
		printf("%-11s %-24s %-28s %-10s %-16s %-8s %s\n", S(g, "id"),
		       S(g, "context"), what, S(g, "call_id") ?: "-",
		       S(g, "approved_by"), left, S(g, "reason") ?: "");
	}
	json_array_foreach(json_object_get(rep, "quarantines"), i, g)
		printf("QUARANTINED %s%s%s since %s by %s%s%s\n",
		       S(g, "context") ?: "call ", S(g, "context") ? "" : "",
		       S(g, "call_id") ?: "", S(g, "since"), S(g, "operator"),
		       *(S(g, "reason") ?: "") ? ": " : "",
		       S(g, "reason") ?: "");
}

int cmd_grants(int argc, char **argv)
{
	struct gargs a;
	json_t *rep;
	int r = parse(argc, argv, grants_usage, 0, &a);

	if (r >= 0)
		return r;
	rep = ask(json_pack("{s:s}", "op", "grants"));
	if (!rep)
		return 1;
	if (tw_opts.json)
		return print_json(rep);
	tw_print_grants(rep);
	json_decref(rep);
	return 0;
}

/* quarantine and release: CONTEXT or --call-id ID. */
static int scope_cmd(int argc, char **argv, const char *op, const char *usage)
{
	struct gargs a;
	json_t *rep;
	int r = parse(argc, argv, usage, 1, &a);

	if (r >= 0)
		return r;
	if ((a.npos == 1) == !!a.call || a.dur || a.who || a.connect ||
	    (a.reason && !strcmp(op, "release"))) {
		fputs(usage, stderr);
		return 2;
	}
	rep = ask(json_pack("{s:s,s:s?,s:s?,s:s?}", "op", op, "context",
			    a.npos ? a.pos[0] : NULL, "call_id", a.call,
			    "reason", a.reason));
	if (!rep)
		return 1;
	if (tw_opts.json)
		return print_json(rep);
	if (!strcmp(op, "quarantine"))
		printf("quarantined %s%s: connects, sends and DNS refused; "
		       "%lld cgroup(s) killed; new calls refused until "
		       "`toolwall release`\n",
		       a.call ? "call " : "", a.call ?: a.pos[0],
		       (long long)json_integer_value(
			       json_object_get(rep, "killed")));
	else
		printf("released %s%s\n", a.call ? "call " : "",
		       a.call ?: a.pos[0]);
	json_decref(rep);
	return 0;
}

int cmd_quarantine(int argc, char **argv)
{
	return scope_cmd(argc, argv, "quarantine", quarantine_usage);
}

int cmd_release(int argc, char **argv)
{
	return scope_cmd(argc, argv, "release", release_usage);
}

int tw_explain_granted(const struct tw_compiled *c, int ctx,
		       const struct tw_dest *d, const char *dest, bool json)
{
	const char *name = c->ctx[ctx].name;
	json_t *req, *rep, *g, *hits = json_array();
	bool whole = false;
	size_t i;

	if (access(tw_control_path(), W_OK))
		return 0;
	req = json_pack("{s:s}", "op", "grants");
	rep = tw_control_call(req);
	json_decref(req);
	json_array_foreach(json_object_get(rep, "grants"), i, g) {
		struct tw_grant_ask ask = { .context = name,
					    .bundle = S(g, "bundle"),
					    .connect = S(g, "connect") };

		if (strcmp(S(g, "context") ?: "", name) ||
		    !tw_grant_covers(c, &ask, d))
			continue;
		whole |= !S(g, "call_id");
		json_array_append(hits, g);
	}
	json_decref(rep);
	if (!json_array_size(hits)) {
		json_decref(hits);
		return 0;
	}
	if (json) { /* one document: the grant's answer, or explain's */
		if (whole)
			print_json(json_pack("{s:s,s:s,s:b,s:o}", "context",
					     name, "dest", dest, "allowed", 1,
					     "grants", hits));
		else
			json_decref(hits);
		return whole ? 1 : -1;
	}
	json_array_foreach(hits, i, g) {
		char left[32];

		left_str(g, left, sizeof(left));
		printf("%s: %s may reach %s for now%s%s: grant %s (%s%s, "
		       "approved by %s), %s left\n",
		       S(g, "call_id") ? "granted to one call" : "allowed", name,
		       dest, S(g, "call_id") ? ", in call " : "",
		       S(g, "call_id") ?: "", S(g, "id"),
		       S(g, "bundle") ? "bundle " : "",
		       S(g, "bundle") ?: S(g, "connect"), S(g, "approved_by"),
		       left);
	}
	json_decref(hits);
	return whole ? 1 : -1;
}

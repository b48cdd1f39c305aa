// SPDX-License-Identifier: GPL-2.0-only
/*
 * status.c - the commands that talk to running enforcement: `status` and
 * `reload` (`down` is in down.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "util.h"

static int simple_opts(int argc, char **argv, const char *usage)
{
	static const struct option opts[] = {
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': tw_opts.json = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fputs(usage, stderr);
		return 2;
	}
	return -1;
}

static json_t *call_daemon(const char *op)
{
	json_t *req = json_pack("{s:s}", "op", op), *rep;

	rep = tw_control_call(req);
	json_decref(req);
	if (!rep)
		tw_error("toolwall daemon not reachable at %s: %s",
			 tw_control_path(), strerror(errno));
	return rep;
}

static const char status_usage[] =
	"Usage: toolwall status [-j]\n"
	"Daemon health, kernel features in use (and the cgroup controllers\n"
	"that hold per-call limits), policy revision, contexts (with the\n"
	"addresses each has learned from DNS against its max_learned quota)\n"
	"and counters (allowed, denied, audited, events lost; the resolver's;\n"
	"the syscall audit's execs, refused syscalls and lost events, and\n"
	"whether its sys_exit tracepoint is attached).\n";

#define I(o, k) ((long long)json_integer_value(json_object_get(o, k)))
#define S(o, k) (json_string_value(json_object_get(o, k)) ?: "-")

/* The resolver: its counters and per-context limits. */
static void print_dns(json_t *dn)
{
	printf("resolver:   queries %lld, answered %lld, nxdomain %lld, "
	       "refused %lld (rebinding %lld, learned quota full "
	       "%lld), servfail %lld; %zu addresses learned now\n",
	       I(dn, "queries"), I(dn, "answered"), I(dn, "nxdomain"),
	       I(dn, "refused"), I(dn, "rebinding"),
	       I(dn, "quota_refused"), I(dn, "servfail"),
	       json_array_size(json_object_get(dn, "addresses")));
	if ((dn = json_object_get(dn, "limits")))
		printf("dns limits: per context %lld queries/s (bursts "
		       "%lld), %lld refusal records/s (bursts %lld), "
		       "%lld upstream lookups at once (of %lld threads), "
		       "%lld TCP clients for %lld ms each; over them: "
		       "%lld rate-limited, %lld busy; formerr %lld, "
		       "notimp %lld\n",
		       I(dn, "queries_per_s"), I(dn, "queries_burst"),
		       I(dn, "records_per_s"), I(dn, "records_burst"),
		       I(dn, "inflight"), I(dn, "threads"),
		       I(dn, "tcp_per_context"), I(dn, "tcp_client_ms"),
		       I(dn, "ratelimited"), I(dn, "busy"),
		       I(dn, "formerr"), I(dn, "notimp"));

}

/* The syslog copy: where, whether it is connected, what it sent and lost. */
static void print_syslog(json_t *sl)
{
	if (!json_is_object(sl)) {
		printf("syslog:     off\n");
		return;
	}
	printf("syslog:     %s %s; %lld sent, %lld queued (of %lld), %lld "
	       "lost (in `lost` records); %lld connects, %lld failed, %lld "
	       "certificates refused%s%s\n",
	       S(sl, "dest"),
	       json_is_true(json_object_get(sl, "connected")) ? "connected" :
								 "not connected",
	       I(sl, "sent"), I(sl, "queued"), I(sl, "queue_max"),
	       I(sl, "lost"), I(sl, "connects"), I(sl, "failures"),
	       I(sl, "certs_refused"),
	       json_object_get(sl, "last_error") ? "; last error: " : "",
	       json_object_get(sl, "last_error") ? S(sl, "last_error") : "");
}

/* The syscall audit, Landlock's records, the clients, the broker. */
static void print_sources(json_t *rep)
{
	{
		json_t *sa = json_object_get(rep, "syscall_audit");

		json_t *la = json_object_get(sa, "landlock_audit");
		json_t *on = json_object_get(la, "kernel_audit_enabled");

		printf("syscalls:   execs %lld, refused %lld, events lost %lld; "
		       "sys_exit tracepoint %s\n",
		       I(sa, "execs"), I(sa, "denied"), I(sa, "lost"),
		       json_is_true(json_object_get(sa, "watching")) ?
			       "attached (calls may run)" :
			       "detached (no call running)");
		if (!json_is_true(json_object_get(la, "listening")))
			printf("landlock:   no second source: %s\n",
			       S(la, "unavailable"));
		else
			printf("landlock:   %lld records from the kernel audit "
			       "log (%s)\n",
			       I(la, "records"),
			       json_is_true(on) ? "enabled" :
			       json_is_false(on) ?
						  "disabled: enable it, e.g. with "
						  "auditd, for Landlock's own "
						  "records" :
						  "state unknown");
	}
	{
		json_t *cl = json_object_get(rep, "control");
		json_t *tc = json_object_get(json_object_get(rep, "dns"),
					     "tcp_clients");

		printf("clients:    control %lld open, %lld served, %lld timed "
		       "out, %lld dropped for room; DNS-over-TCP %lld refused "
		       "(limits), %lld timed out\n",
		       I(cl, "clients"), I(cl, "served"), I(cl, "timeouts"),
		       I(cl, "evicted"), I(tc, "refused"), I(tc, "timeouts"));
	}
	{
		json_t *ln = json_object_get(rep, "launch");

		if (json_is_object(ln))
			printf("launch:     %s for root and group %s; %lld of "
			       "%lld calls running, %lld started, %lld "
			       "refused, %lld told to wait\n",
			       S(ln, "socket"),
			       json_is_string(json_object_get(ln, "group")) ?
				       S(ln, "group") :
				       "(none)",
			       I(ln, "running"), I(ln, "max"), I(ln, "started"),
			       I(ln, "refused"), I(ln, "busy"));
	}
	{
		json_t *bk = json_object_get(rep, "broker");

		if (json_is_true(json_object_get(bk, "ready")))
			printf("broker:     up, pid %lld, port %lld; requests "
			       "%lld, refused %lld, upstream failures %lld; "
			       "restarts %lld; CA sha256 %s\n",
			       I(bk, "pid"), I(bk, "port"), I(bk, "requests"),
			       I(bk, "refused"), I(bk, "failed"),
			       I(bk, "deaths"), S(bk, "ca_sha256"));
		else if (json_is_true(json_object_get(bk, "running")))
			printf("broker:     starting, pid %lld, port %lld\n",
			       I(bk, "pid"), I(bk, "port"));
		else if (bk)
			printf("broker:     DOWN (restarted by the daemon; "
			       "brokered connections are refused meanwhile)\n");
	}
}

int cmd_status(int argc, char **argv)
{
	int ret = simple_opts(argc, argv, status_usage);
	json_t *rep, *dm, *ct, *ctxs, *c;
	size_t i;

	if (ret >= 0)
		return ret;
	rep = call_daemon("status");
	if (!rep)
		return 1;
	if (tw_opts.json) {
		json_dumpf(rep, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(rep);
		return 0;
	}
	dm = json_object_get(rep, "daemon");
	ct = json_object_get(rep, "counters");
	printf("daemon:     running, pid %lld, up %llds%s\n", I(dm, "pid"),
	       I(dm, "uptime_s"),
	       json_is_true(json_object_get(dm, "adopted")) ?
		       " (re-adopted pinned enforcement)" : "");
	printf("policy:     %s, revision %.12s (generation %lld, slot %lld)\n",
	       S(dm, "policy"), S(rep, "policy_rev"), I(rep, "generation"),
	       I(rep, "slot"));
	printf("audit log:  %s\n", S(dm, "audit_log"));
	printf("cgroups:    %s\n", S(dm, "cgroup_root"));
	printf("features:   %s\n", S(rep, "features"));
	{
		json_t *lm = json_object_get(rep, "limits");

		printf("limits:     pids in %s, memory in %s%s\n", S(lm, "pids"),
		       S(lm, "memory"),
		       json_is_true(json_object_get(lm, "ok")) ?
			       "" : " (tool calls are refused: no controller)");
	}
	printf("counters:   allowed %lld, denied %lld, audited %lld, "
	       "no-context %lld, events lost %lld\n",
	       I(ct, "allowed"), I(ct, "denied"), I(ct, "audited"),
	       I(ct, "no_context"), I(ct, "events_lost"));
	printf("records:    %lld written, %lld failed; reloads %lld "
	       "(%lld refused)\n",
	       I(ct, "records_written"), I(ct, "records_failed"),
	       I(ct, "reloads"), I(ct, "reloads_refused"));
	{
		json_t *bg = json_object_get(rep, "event_budget");

		if (bg && I(bg, "rate"))
			printf("budget:     %lld denial events a second per "
			       "context (%lld at once); %lld over it, in "
			       "`lost` records\n",
			       I(bg, "rate"), I(bg, "burst"),
			       I(bg, "over_budget"));
		else if (bg)
			printf("budget:     none (--audit-budget 0)\n");
	}
	print_dns(json_object_get(rep, "dns"));
	print_sources(rep);
	print_syslog(json_object_get(rep, "syslog"));
	ctxs = json_object_get(rep, "contexts");
	printf("contexts:   %zu\n", json_array_size(ctxs));
	json_array_foreach(ctxs, i, c)
		printf("  %-32s %-8s rules %-4lld calls %-3lld learned "
		       "%lld/%lld cgroup %s\n",
		       S(c, "name"), S(c, "mode"), I(c, "rules"),
		       I(c, "calls"), I(c, "learned"), I(c, "max_learned"),
		       S(c, "cgroup"));
	tw_print_grants(rep);
	json_decref(rep);
	return 0;
}

static const char reload_usage[] =
	"Usage: toolwall reload [-j]\n"
	"Reload the daemon's policy atomically (same as SIGHUP). A policy\n"
	"with errors is refused and the policy in force stays.\n";

int cmd_reload(int argc, char **argv)
{
	int ret = simple_opts(argc, argv, reload_usage);
	json_t *rep, *e;
	size_t i;
	bool ok;

	if (ret >= 0)
		return ret;
	rep = call_daemon("reload");
	if (!rep)
		return 1;
	ok = json_is_true(json_object_get(rep, "ok"));
	if (tw_opts.json) {
		json_dumpf(rep, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else if (ok) {
		printf("policy reloaded: revision %.12s\n", S(rep, "policy_rev"));
	} else {
		json_array_foreach(json_object_get(rep, "errors"), i, e)
		{
			if (json_object_get(e, "file"))
				fprintf(stderr, "%s:%lld:%lld: error: %s\n",
					S(e, "file"), I(e, "line"), I(e, "col"),
					S(e, "message"));
			else
				fprintf(stderr, "Error: %s\n", S(e, "message"));
		}
		tw_error("%s (revision %.12s)", S(rep, "error"),
			 S(rep, "policy_rev"));
	}
	json_decref(rep);
	return ok ? 0 : 1;
}

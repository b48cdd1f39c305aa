// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon.c - `toolwall daemon`: bring enforcement up (or re-adopt it),
 * push the policy, and turn kernel events into audit records.
 *
 *   policy --compile--> maps (slot flip) --kernel verdict--> ring buffer
 *          --handle_event--> audit record (+ the call's denial summary)
 *
 * One thread, one epoll loop: ring buffers (socket hooks, syscall audit),
 * control socket, the kernel audit log (Landlock's records), signals, a
 * 100 ms drain timer with 1 s housekeeping (loss accounting, call cleanup,
 * attaching the sys_exit tracepoint only while calls may run).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "brokerd.h"
#include "cglimits.h"
#include "cgroups.h"
#include "cmds.h"
#include "control.h"
#include "dns.h"
#include "explain.h"
#include "kaudit.h"
#include "maps.h"
#include "state.h"
#include "sysaudit.h"
#include "toolwall.h"
#include "util.h"

static const char daemon_usage[] =
	"Usage: toolwall daemon [-p POLICY] [--audit-log FILE] [-d]\n"
	"Load and pin the eBPF programs on the toolwall cgroup tree, create a\n"
	"cgroup per context, push the policy, write the audit log and serve\n"
	"the control socket (" TW_CONTROL_SOCK ").\n"
	"The audit log also gets what tool calls ran (exec records, with argv)\n"
	"and every file or escape syscall they were refused (raw tracepoints;\n"
	"plus Landlock's own records when the kernel audit log is enabled).\n"
	"SIGHUP or `toolwall reload` reloads the policy atomically; a policy\n"
	"with errors is refused and the one in force stays. Stopping the\n"
	"daemon leaves enforcement in place: only `toolwall down` removes it.\n"
	"  -p, --policy PATH   policy directory or file (default "
	TW_DEFAULT_POLICY ")\n"
	"  --audit-log FILE    audit log (default " TW_DEFAULT_AUDIT_LOG ")\n"
	"  --audit-max-size BYTES  rotate the audit log once it reaches BYTES\n"
	"                      (K, M, G suffixes; default 64M; 0: never)\n"
	"  --audit-max-age SECONDS rotate it once its first record is older\n"
	"                      (default 86400; 0: never)\n"
	"  --audit-keep N      rotated segments kept, gzip'd (default 10)\n"
	"  --syslog DEST       also send every record as RFC 5424 syslog to\n"
	"                      udp://HOST:PORT or unix:PATH (datagram)\n"
	"  -d, --debug         libbpf and verifier output\n";

/* ---- policy revisions ------------------------------------------- */

static void revision_free(struct tw_revision *r)
{
	if (!r->valid)
		return;
	tw_compiled_free(&r->comp);
	tw_policy_free(&r->pol);
	free(r->ctx_cgid);
	memset(r, 0, sizeof(*r));
}

static json_t *diags_json(const struct tw_diags *dg)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < dg->n; i++) {
		const struct tw_diag *g = &dg->v[i];

		json_array_append_new(
			arr, json_pack("{s:s,s:i,s:i,s:s}", "file",
				       g->loc.file ? g->loc.file : "?", "line",
				       g->loc.line, "col", g->loc.col,
				       "message", g->msg));
	}
	return arr;
}

/* Audit record of a policy change or a refused one. */
static void audit_policy(struct tw_daemon *d, const char *what,
			 const char *rev, json_t *errors)
{
	json_t *rec = tw_audit_record(&d->audit, "policy", 0);

	json_object_set_new(rec, "action", json_string(what));
	json_object_set_new(rec, "path", json_string(d->policy_path));
	if (rev)
		json_object_set_new(rec, "policy_rev", json_string(rev));
	if (d->rev[d->slot].valid && strcmp(what, "load"))
		json_object_set_new(
			rec, "previous_rev",
			json_string(d->rev[d->slot].comp.revision));
	if (errors)
		json_object_set(rec, "errors", errors);
	tw_audit_write(&d->audit, rec);
}

/*
 * Load, compile, create context cgroups, fill the inactive slot and flip.
 * On any error the policy in force stays and *ERRORS says why.
 */
static int daemon_reload(struct tw_daemon *d, json_t **errors)
{
	struct tw_revision nr = {};
	struct tw_diags dg = {};
	struct tw_cg_entry *cgs = NULL;
	struct tw_dns_target *targets = NULL;
	struct tw_push_extra x = {};
	size_t ncgs = 0;
	char err[512];
	uint32_t slot;
	int ret;

	*errors = NULL;
	ret = tw_policy_load(d->policy_path, &nr.pol, &dg);
	if (!ret && !dg.n)
		ret = tw_compile(&nr.pol, &nr.comp, &dg);
	if (ret || dg.n) {
		tw_diags_sort(&dg);
		*errors = diags_json(&dg);
		tw_diags_free(&dg);
		tw_policy_free(&nr.pol);
		d->reloads_failed++;
		audit_policy(d, "rejected", NULL, *errors);
		return ret ? ret : -EINVAL;
	}
	nr.valid = true;

	nr.ctx_cgid = calloc(nr.comp.nctx ? nr.comp.nctx : 1,
			     sizeof(*nr.ctx_cgid));
	cgs = calloc(nr.comp.nctx + d->ncalls + 1, sizeof(*cgs));
	if (!nr.ctx_cgid || !cgs) {
		ret = -ENOMEM;
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < nr.comp.nctx; i++) {
		ret = tw_cg_make(d->ld.cg_root, nr.comp.ctx[i].cgroup,
				 &nr.ctx_cgid[i]);
		if (ret) {
			snprintf(err, sizeof(err), "cannot create cgroup %s/%s: %s",
				 d->ld.cg_root, nr.comp.ctx[i].cgroup,
				 strerror(-ret));
			goto fail;
		}
		cgs[ncgs++] = (struct tw_cg_entry){ nr.ctx_cgid[i], (uint32_t)i };
	}
	/* Running calls follow their context by name; a call whose context
	 * is gone keeps no entry and so gets nothing. */
	for (size_t i = 0; i < d->ncalls; i++) {
		int ci = tw_compiled_find(&nr.comp, d->calls[i].context);

		if (ci >= 0)
			cgs[ncgs++] = (struct tw_cg_entry){ d->calls[i].cgid,
							    (uint32_t)ci };
	}

	targets = calloc(nr.comp.nctx + 1, sizeof(*targets));
	if (!targets || tw_dns_sync(d, &nr.comp, targets)) {
		ret = -ENOMEM;
		snprintf(err, sizeof(err), "cannot open resolver sockets");
		goto fail;
	}
	x.dns = targets;
	x.learned = tw_dns_relearn(d, &nr.comp, &x.nlearned, false);
	x.brokered = tw_brokerd_entries(d, &nr.comp, &x.nbrokered);
	x.broker_port = d->broker ? d->broker->port : 0;
	ret = tw_maps_push(&d->ld.maps, &nr.comp, cgs, ncgs, &x, &slot, err,
			   sizeof(err));
	free((void *)x.learned);
	free((void *)x.brokered);
	free(targets);
	targets = NULL;
	if (ret)
		goto fail;
	free(cgs);
	free(tw_dns_relearn(d, &nr.comp, &x.nlearned, true));
	revision_free(&d->rev[slot]);
	d->rev[slot] = nr;
	if (!realpath(d->policy_path, d->policy_real))
		d->policy_real[0] = '\0';
	/* The compiled rules borrow the policy: point them at its new home. */
	d->rev[slot].comp.pol = &d->rev[slot].pol;
	audit_policy(d, d->reloads ? "reload" : "load", nr.comp.revision, NULL);
	d->slot = slot;
	d->reloads++;
	tw_calls_save(d);
	tw_brokerd_policy(d);
	return 0;
fail:
	free(cgs);
	free(targets);
	*errors = json_pack("[{s:s}]", "message", err);
	audit_policy(d, "rejected", NULL, *errors);
	revision_free(&nr);
	d->reloads_failed++;
	return ret;
}

/* ---- calls ------------------------------------------------------ */

static void calls_load(struct tw_daemon *d)
{
	json_t *st = json_load_file(TW_STATE_FILE, 0, NULL), *c;
	size_t i;

	if (!st)
		return;
	d->next_call = json_integer_value(json_object_get(st, "next_call"));
	json_array_foreach(json_object_get(st, "calls"), i, c)
	{
		struct tw_call call = {};
		uint64_t id;
		const char *cg = json_string_value(json_object_get(c, "cgroup"));

		if (!cg || tw_cg_id(cg, &id))
			continue; /* the cgroup is gone: nothing to adopt */
		call.cgid = id;
		snprintf(call.cgroup, sizeof(call.cgroup), "%s", cg);
		snprintf(call.context, sizeof(call.context), "%s",
			 json_string_value(json_object_get(c, "context")) ?: "");
		snprintf(call.call_id, sizeof(call.call_id), "%s",
			 json_string_value(json_object_get(c, "call_id")) ?: "");
		snprintf(call.requester, sizeof(call.requester), "%s",
			 json_string_value(json_object_get(c, "requester")) ?: "");
		call.started_ns =
			json_integer_value(json_object_get(c, "started_ns"));
		call.ended = json_is_true(json_object_get(c, "ended"));
		struct tw_call *nc = realloc(d->calls,
					     (d->ncalls + 1) * sizeof(*nc));
		if (!nc)
			break;
		d->calls = nc;
		d->calls[d->ncalls++] = call;
	}
	json_decref(st);
}

/* Ended calls whose last process has gone: remove their cgroups. */
static void calls_reap(struct tw_daemon *d)
{
	for (size_t i = 0; i < d->ncalls;) {
		struct tw_call *c = &d->calls[i];

		if (c->ended && tw_cg_nprocs(c->cgroup) <= 0 &&
		    tw_cg_remove_tree(c->cgroup, NULL) == 0) {
			tw_call_forget(d, c);
			continue;
		}
		i++;
	}
}

/*
 * Keep the syscall-denial tracepoint attached only while tool calls may
 * run (it costs every syscall of the host): while a call is open or any
 * process is in the toolwall tree. call-start attaches it synchronously.
 */
static void syscall_watch_update(struct tw_daemon *d)
{
	bool open_call = false;
	char why[512];
	int pop;

	for (size_t i = 0; i < d->ncalls && !open_call; i++)
		open_call = !d->calls[i].ended;
	pop = tw_cg_populated(d->ld.cg_root);
	if (pop < 0)
		pop = 1; /* cannot tell: keep watching */
	if (tw_loader_watch_syscalls(&d->ld, open_call || pop, why,
				     sizeof(why)))
		tw_warn("syscall audit: %s", why);
}

/* ---- events -> audit records ------------------------------------ */

static const char *action_name(const struct tw_event *e)
{
	switch (e->action) {
	case TW_ACT_CONNECT:
	case TW_ACT_UNIX_CONNECT:
		return "connect";
	case TW_ACT_SENDMSG:
	case TW_ACT_UNIX_SENDMSG:
		return "sendmsg";
	case TW_ACT_SOCKET:
		return "socket";
	case TW_ACT_EGRESS:
		return "egress";
	case TW_ACT_BIND:
		return "bind";
	case TW_ACT_ACCEPT:
		return "accept";
	case TW_ACT_SETSOCKOPT:
		return "setsockopt";
	}
	return "unknown";
}

static const char *proto_name(const struct tw_event *e)
{
	if (e->action == TW_ACT_UNIX_CONNECT || e->action == TW_ACT_UNIX_SENDMSG)
		return "unix";
	switch (e->proto) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
		return "icmp";
	case 58:
		return "icmpv6";
	}
	return NULL;
}

static const char *family_name(uint32_t f)
{
	static char buf[16];

	switch (f) {
	case 2:
		return "AF_INET";
	case 10:
		return "AF_INET6";
	}
	snprintf(buf, sizeof(buf), "family %u", f);
	return buf;
}

static void socket_desc(const struct tw_event *e, char *buf, size_t len)
{
	static const char *const types[] = { "?", "SOCK_STREAM", "SOCK_DGRAM",
					     "SOCK_RAW", "SOCK_RDM",
					     "SOCK_SEQPACKET" };
	const char *t = e->sock_type < 6 ? types[e->sock_type] : "SOCK_?";
	const char *what = "";

	if (e->sock_type == 3)
		what = "raw socket";
	else if (e->sock_proto == 1 || e->sock_proto == 58)
		what = "ICMP socket";
	else if (e->sock_proto == 132)
		what = "SCTP socket";
	else if (e->sock_proto == 262)
		what = "MPTCP socket";
	else if (e->sock_proto == 136)
		what = "UDP-Lite socket";
	else
		what = "socket";
	snprintf(buf, len, "%s (%s %s protocol %u)", what,
		 family_name(e->sock_family), t, e->sock_proto);
}

static const char *sockopt_name(uint32_t level, uint32_t name)
{
	switch (name) {
	case 42:
		return "MCAST_JOIN_GROUP";
	case 46:
		return "MCAST_JOIN_SOURCE_GROUP";
	case 48:
		return "MCAST_MSFILTER";
	}
	if (level == 41)
		return name == 20 ? "IPV6_ADD_MEMBERSHIP" :
		       name == 27 ? "IPV6_JOIN_ANYCAST" : "IPV6_?";
	return name == 35 ? "IP_ADD_MEMBERSHIP" :
	       name == 39 ? "IP_ADD_SOURCE_MEMBERSHIP" :
	       name == 41 ? "IP_MSFILTER" : "IP_?";
}

/* The destination of an event as explain understands it. */
static bool event_dest(const struct tw_event *e, struct tw_dest *dst)
{
	memset(dst, 0, sizeof(*dst));
	if (e->action == TW_ACT_SOCKET || e->action == TW_ACT_SETSOCKOPT ||
	    e->action == TW_ACT_BIND || e->action == TW_ACT_ACCEPT ||
	    e->reason == TW_REASON_NO_CONTEXT)
		return false;
	if (e->action == TW_ACT_UNIX_CONNECT ||
	    e->action == TW_ACT_UNIX_SENDMSG) {
		dst->proto = TW_PROTO_UNIX;
		dst->kind = TW_HOST_UNIX;
		snprintf(dst->name, sizeof(dst->name), "%.*s",
			 (int)sizeof(e->path), e->path);
		return true;
	}
	if (e->proto != 6 && e->proto != 17)
		return false;
	dst->proto = e->proto == 6 ? TW_PROTO_TCP : TW_PROTO_UDP;
	dst->kind = TW_HOST_CIDR;
	dst->family = e->family;
	memcpy(dst->addr, e->daddr, 16);
	dst->port = e->dport;
	return true;
}

/* Every port the context allows to the event's address and protocol. */
static void covering_ports(const struct tw_context *ctx,
			   const struct tw_event *e, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < ctx->nrules && off + 1 < len; i++) {
		const struct tw_rule *r = &ctx->rules[i];
		char one[128];

		if (r->kind != TW_HOST_CIDR || r->family != e->family ||
		    (int)r->proto != e->proto ||
		    !tw_prefix_contains(r->addr, r->prefixlen, e->daddr))
			continue;
		tw_ports_str(r->ports, r->nports, one, sizeof(one));
		off += snprintf(buf + off, len - off, "%s%s", off ? "," : "",
				one);
	}
}

struct judged {
	const struct tw_revision *rev;
	const struct tw_context *ctx;
	int ctx_idx;
	char dst[300]; /* "10.0.0.1" or unix path */
	char what[384];
	char reason[512];
	char hint[1024];
	bool missing; /* a unix path that does not exist on the host */
};

static void judge_event(struct tw_daemon *d, const struct tw_event *e,
			struct judged *j)
{
	struct tw_dest dst;
	char addr[INET6_ADDRSTRLEN], sock[128];

	memset(j, 0, sizeof(*j));
	j->ctx_idx = -1;
	j->rev = tw_daemon_context(d, e->ctx, &j->ctx_idx);
	if (j->rev)
		j->ctx = &j->rev->comp.ctx[j->ctx_idx];
	if (e->action == TW_ACT_UNIX_CONNECT ||
	    e->action == TW_ACT_UNIX_SENDMSG) {
		snprintf(j->dst, sizeof(j->dst), "%.*s", (int)sizeof(e->path),
			 e->path);
		snprintf(j->what, sizeof(j->what), "%s unix:%s",
			 action_name(e), j->dst);
		j->missing = j->dst[0] == '/' && access(j->dst, F_OK) != 0;
	} else if (e->action == TW_ACT_SOCKET) {
		snprintf(j->what, sizeof(j->what), "socket(%s, %s, %u)",
			 family_name(e->sock_family),
			 e->sock_type == 1 ? "SOCK_STREAM" :
			 e->sock_type == 2 ? "SOCK_DGRAM" :
			 e->sock_type == 3 ? "SOCK_RAW" : "SOCK_?",
			 e->sock_proto);
	} else if (e->action == TW_ACT_SETSOCKOPT) {
		tw_addr_str(e->family, e->daddr, addr, sizeof(addr));
		snprintf(j->dst, sizeof(j->dst), "%s", addr);
		snprintf(j->what, sizeof(j->what), "setsockopt(%s, %s) group %s",
			 e->sock_type == 41 ? "SOL_IPV6" : "SOL_IP",
			 sockopt_name(e->sock_type, e->sock_proto), addr);
	} else if (e->action == TW_ACT_ACCEPT) {
		char peer[INET6_ADDRSTRLEN];

		tw_addr_str(e->family, e->daddr, addr, sizeof(addr));
		tw_addr_str(e->family, e->peer.saddr, peer, sizeof(peer));
		snprintf(j->dst, sizeof(j->dst), "%s", addr);
		snprintf(j->what, sizeof(j->what),
			 e->family == 6 ? "accept %s [%s]:%u from [%s]:%u" :
					  "accept %s %s:%u from %s:%u",
			 proto_name(e) ?: "ip", addr, e->dport, peer,
			 e->peer.sport);
	} else {
		tw_addr_str(e->family, e->daddr, addr, sizeof(addr));
		snprintf(j->dst, sizeof(j->dst), "%s", addr);
		snprintf(j->what, sizeof(j->what),
			 e->family == 6 ? "%s %s [%s]:%u" : "%s %s %s:%u",
			 action_name(e), proto_name(e) ?: "ip", addr, e->dport);
	}

	switch (e->reason) {
	case TW_REASON_NO_RULE:
		snprintf(j->reason, sizeof(j->reason),
			 "no rule of %s allows %s %s%s",
			 j->ctx ? j->ctx->name : "the context", proto_name(e),
			 j->dst,
			 e->embedded ? " (IPv4 carried in an IPv6 address)" :
				       "");
		break;
	case TW_REASON_PORT: {
		char ports[256] = "";

		if (j->ctx)
			covering_ports(j->ctx, e, ports, sizeof(ports));
		snprintf(j->reason, sizeof(j->reason),
			 "port %u is not allowed for %s %s (allowed: %s)",
			 e->dport, proto_name(e), j->dst,
			 *ports ? ports : "other ports");
		break;
	}
	case TW_REASON_NO_CONTEXT:
		snprintf(j->reason, sizeof(j->reason),
			 "cgroup %llu is in the toolwall tree but maps to no "
			 "context: everything is denied (fail closed)",
			 (unsigned long long)e->cgid);
		break;
	case TW_REASON_SOCKET_TYPE:
		socket_desc(e, sock, sizeof(sock));
		snprintf(j->reason, sizeof(j->reason),
			 "%s is not allowed: tool calls may create only TCP "
			 "and UDP sockets over IPv4 and IPv6",
			 sock);
		break;
	case TW_REASON_UNIX_PATH:
		snprintf(j->reason, sizeof(j->reason),
			 "no rule of %s allows unix socket %s",
			 j->ctx ? j->ctx->name : "the context", j->dst);
		break;
	case TW_REASON_EGRESS:
		snprintf(j->reason, sizeof(j->reason),
			 "%s packet to %s was not seen by the address hooks",
			 proto_name(e) ?: "non-TCP/UDP", j->dst);
		break;
	case TW_REASON_BIND:
		snprintf(j->reason, sizeof(j->reason),
			 "%s %s port %u is neither loopback nor held by a "
			 "listen entry of %s",
			 proto_name(e), j->dst, e->dport,
			 j->ctx ? j->ctx->name : "the context");
		break;
	case TW_REASON_RESOLVER_PORT:
		snprintf(j->reason, sizeof(j->reason),
			 "port %u is a port of toolwall's DNS resolver: no "
			 "tool call may bind it, on any address",
			 e->dport);
		break;
	case TW_REASON_LISTEN:
		snprintf(j->reason, sizeof(j->reason),
			 "inbound %s to %s port %u: no listen entry of %s "
			 "holds it",
			 proto_name(e), j->dst, e->dport,
			 j->ctx ? j->ctx->name : "the context");
		break;
	case TW_REASON_PEER: {
		char peer[INET6_ADDRSTRLEN];

		tw_addr_str(e->family, e->peer.saddr, peer, sizeof(peer));
		snprintf(j->reason, sizeof(j->reason),
			 "inbound %s from %s: no rule of %s covers that host",
			 proto_name(e), peer,
			 j->ctx ? j->ctx->name : "the context");
		break;
	}
	case TW_REASON_MULTICAST:
		snprintf(j->reason, sizeof(j->reason),
			 "joining a multicast group is not allowed: the "
			 "membership reports the kernel sends would bypass "
			 "every rule");
		break;
	case TW_REASON_REVOKED:
		snprintf(j->reason, sizeof(j->reason),
			 "%s flow to %s port %u was granted by an older policy "
			 "revision; the one in force no longer allows it",
			 proto_name(e) ?: "ip", j->dst, e->dport);
		break;
	default:
		snprintf(j->reason, sizeof(j->reason), "reason %u", e->reason);
	}

	if (j->rev && (e->action == TW_ACT_BIND || e->action == TW_ACT_ACCEPT) &&
	    e->reason != TW_REASON_NO_CONTEXT) {
		struct tw_explain ex = {};
		int ret;

		memset(&dst, 0, sizeof(dst));
		dst.proto = e->proto == 17 ? TW_PROTO_UDP : TW_PROTO_TCP;
		dst.kind = TW_HOST_CIDR;
		dst.family = e->family;
		if (e->reason == TW_REASON_PEER) {
			/* who would let the context reach the peer */
			memcpy(dst.addr, e->peer.saddr, 16);
			ret = tw_explain_host(&j->rev->comp, j->ctx_idx, &dst,
					      &ex);
		} else {
			memcpy(dst.addr, e->daddr, 16);
			dst.port = e->dport;
			dst.listen = true;
			ret = e->reason == TW_REASON_RESOLVER_PORT ?
				      -1 :
				      tw_explain_dest(&j->rev->comp,
						      j->ctx_idx, &dst, &ex);
		}
		if (!ret) {
			if (!ex.allowed)
				tw_explain_hint(&j->rev->comp, &ex, j->hint,
						sizeof(j->hint));
			tw_explain_free(&ex);
		}
	} else if (j->rev && event_dest(e, &dst)) {
		struct tw_explain ex = {};

		if (!tw_explain_dest(&j->rev->comp, j->ctx_idx, &dst, &ex)) {
			if (!ex.allowed)
				tw_explain_hint(&j->rev->comp, &ex, j->hint,
						sizeof(j->hint));
			tw_explain_free(&ex);
		}
	}
}

/* What an event denied, whoever in the call did it and whenever. */
static void denial_id(const struct tw_event *e, struct tw_event *id)
{
	*id = *e;
	id->ts_ns = 0;
	id->pid = id->tid = id->uid = 0;
	memset(id->comm, 0, sizeof(id->comm));
	/* the same context across a reload */
	if (id->ctx != TW_CTX_NONE)
		id->ctx = TW_CTX_IDX(id->ctx);
}

/*
 * Count a denial of call C for its summary, keyed by what was denied
 * (whoever in the call did it, whenever). J describes it; NULL when the
 * event was folded into an aggregate record, whose first event (judged)
 * already created the entry. Probes of unix sockets that do not exist
 * (glibc asking for nscd, say) reached nothing and stay out of it.
 */
static void call_note_denial(struct tw_call *c, const struct tw_event *e,
			     const struct judged *j)
{
	struct tw_event id;

	denial_id(e, &id);
	if (j && j->missing)
		j = NULL;
	tw_call_note(c, &id, sizeof(id), j ? j->what : NULL,
		     j ? j->reason : NULL, j ? j->hint : NULL);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct tw_daemon *d = ctx;
	const struct tw_event *e = data;
	struct tw_call *call;
	struct judged j;
	json_t *rec;
	const char *p;
	struct {
		struct tw_event ev;
		char rev[65];
	} key;

	if (size < sizeof(*e) || tw_daemon_recorded(d, 0, e->ts_ns, e->tid))
		return 0;
	d->events++;
	call = tw_call_find(d, e->cgid);

	/* Floods: an event identical to one being counted (same cgroup,
	 * process, context, action, destination, reason, policy revision)
	 * only adds to that record's count: nothing to judge or format. */
	memset(&key, 0, sizeof(key));
	key.ev = *e;
	key.ev.ts_ns = 0;
	key.ev.tid = 0;
	{
		int idx;
		const struct tw_revision *r = tw_daemon_context(d, e->ctx, &idx);

		if (r)
			memcpy(key.rev, r->comp.revision, sizeof(key.rev));
	}
	if (tw_audit_aggregate(&d->audit, &key, sizeof(key),
			       e->ts_ns + tw_boot_to_real_ns)) {
		if (call)
			call_note_denial(call, e, NULL);
		return 0;
	}
	judge_event(d, e, &j);

	rec = tw_audit_record(&d->audit,
			      e->verdict == TW_VERDICT_AUDIT ? "audit" : "deny",
			      e->ts_ns + tw_boot_to_real_ns);
	tw_record_where(rec, j.rev ? &j.rev->pol : NULL, j.ctx, call);
	tw_record_who(rec, e->pid, e->tid, e->ts_ns, e->uid, e->comm,
		      sizeof(e->comm));
	json_object_set_new(rec, "action", json_string(action_name(e)));
	p = proto_name(e);
	if (p)
		json_object_set_new(rec, "proto", json_string(p));
	if (e->action == TW_ACT_UNIX_CONNECT ||
	    e->action == TW_ACT_UNIX_SENDMSG) {
		json_object_set_new(rec, "path", json_string(j.dst));
		if (j.dst[0] == '/')
			json_object_set_new(rec, "path_exists",
					    json_boolean(!j.missing));
	} else if (e->action == TW_ACT_SETSOCKOPT) {
		json_object_set_new(rec, "option",
				    json_pack("{s:i,s:i,s:s}", "level",
					      e->sock_type, "name",
					      e->sock_proto, "option",
					      sockopt_name(e->sock_type,
							   e->sock_proto)));
		json_object_set_new(rec, "group", json_string(j.dst));
	} else if (e->action == TW_ACT_ACCEPT) {
		char peer[INET6_ADDRSTRLEN];

		tw_addr_str(e->family, e->peer.saddr, peer, sizeof(peer));
		json_object_set_new(rec, "dst", json_string(j.dst));
		json_object_set_new(rec, "port", json_integer(e->dport));
		json_object_set_new(rec, "src", json_string(peer));
		json_object_set_new(rec, "src_port",
				    json_integer(e->peer.sport));
	} else if (e->action == TW_ACT_SOCKET) {
		json_object_set_new(rec, "socket",
				    json_pack("{s:i,s:i,s:i}", "family",
					      e->sock_family, "type",
					      e->sock_type, "protocol",
					      e->sock_proto));
	} else {
		json_object_set_new(rec, "dst", json_string(j.dst));
		json_object_set_new(rec, "port", json_integer(e->dport));
		if (e->embedded)
			json_object_set_new(rec, "dst_embedded_in_ipv6",
					    json_true());
	}
	json_object_set_new(rec, "reason", json_string(j.reason));
	json_object_set_new(rec, "policy_rev",
			    j.rev ? json_string(j.rev->comp.revision) :
				    json_null());
	json_object_set_new(rec, "hint", json_string(j.hint));
	json_object_set_new(rec, "cgroup_id", json_integer((json_int_t)e->cgid));
	tw_audit_write_first(&d->audit, rec, &key, sizeof(key), e->pid);
	/* The fault tests' way to die at the worst moment: recorded, but
	 * not yet let go by the ring. */
	if (d->kill_after_events && d->events == d->kill_after_events)
		raise(SIGKILL);

	if (call)
		call_note_denial(call, e, &j);
	return 0;
}

static void daemon_drain(struct tw_daemon *d)
{
	tw_boot_to_real_ns = tw_now_ns(CLOCK_REALTIME) - tw_now_ns(CLOCK_BOOTTIME);
	if (d->rb)
		ring_buffer__consume(d->rb);
	/* Aggregates of exited processes too: a call's records are complete
	 * when call-end answers. */
	tw_audit_flush(&d->audit, TW_AGG_DUE);
}

/* Events the kernel could not queue become `lost` records: never silent. */
static void account_loss(struct tw_daemon *d)
{
	uint64_t stats[TW_STAT_MAX];
	struct tw_state st;

	/* Due aggregates, age rotation, a log that can be written again
	 * (with the `lost` record of its gap); everything at stop. */
	tw_audit_tick(&d->audit);
	if (d->stop)
		tw_audit_flush(&d->audit, TW_AGG_ALL);
	tw_sysaudit_account_loss(d);
	if (tw_maps_stats(&d->ld.maps, stats) || tw_maps_state(&d->ld.maps, &st))
		return;
	if (stats[TW_STAT_LOST] <= st.lost_seen)
		return;
	tw_daemon_lost(d, stats[TW_STAT_LOST] - st.lost_seen, false, "kernel",
		       "the kernel ring buffer was full; these denials were "
		       "enforced but not recorded");
	tw_maps_set_lost_seen(&d->ld.maps, stats[TW_STAT_LOST]);
}

/* ---- main ------------------------------------------------------- */

static void audit_daemon(struct tw_daemon *d, const char *what)
{
	json_t *rec = tw_audit_record(&d->audit, "daemon", 0);

	json_object_set_new(rec, "action", json_string(what));
	json_object_set_new(rec, "pid", json_integer(getpid()));
	json_object_set_new(rec, "adopted", json_boolean(d->ld.adopted));
	json_object_set_new(rec, "policy_rev",
			    d->rev[d->slot].valid ?
				    json_string(d->rev[d->slot].comp.revision) :
				    json_null());
	tw_audit_write(&d->audit, rec);
}

static void epoll_add(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)fd };

	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* The broker's control socket changes when it is restarted (a closed one
 * left the epoll set by itself; adding one already there is EEXIST). */
static void broker_watch(struct tw_daemon *d, int ep, int *watched)
{
	*watched = tw_brokerd_fd(d);
	if (*watched >= 0)
		epoll_add(ep, *watched);
}

/*
 * The event loop. d->lock is taken per event and never while waiting on
 * a client: control clients are read and answered by tw_control_event,
 * which takes the lock only to run a parsed request.
 */
static int run_loop(struct tw_daemon *d, int ep)
{
	/* Events come without wakeups (TW_WAKEUP_BYTES): drain them every
	 * TW_DRAIN_MS; the rest of the housekeeping runs once a second. */
	struct itimerspec its = {
		.it_interval = { 0, TW_DRAIN_MS * 1000000L },
		.it_value = { 0, TW_DRAIN_MS * 1000000L },
	};
	unsigned int ticks = 0;
	struct epoll_event evs[16];
	sigset_t mask;
	int sfd, tfd, rbfd, broker_fd = -1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	timerfd_settime(tfd, 0, &its, NULL);
	rbfd = ring_buffer__epoll_fd(d->rb);
	epoll_add(ep, sfd);
	epoll_add(ep, tfd);
	epoll_add(ep, rbfd);
	if (d->kaudit_fd >= 0)
		epoll_add(ep, d->kaudit_fd);
	broker_watch(d, ep, &broker_fd);

	while (!d->stop) {
		int n = epoll_wait(ep, evs, 16, 1000);

		for (int i = 0; i < n && !d->stop; i++) {
			uint64_t tag = evs[i].data.u64;
			int fd = (int)tag;

			if (tag & TW_CTL_TAG) {
				tw_control_event(d, tag, evs[i].events);
				continue;
			}
			pthread_mutex_lock(&d->lock);
			if (fd == rbfd) {
				daemon_drain(d);
			} else if (fd == d->kaudit_fd) {
				tw_kaudit_read(d);
			} else if (fd == broker_fd) {
				tw_brokerd_read(d);
			} else if (fd == tfd) {
				uint64_t x;

				if (read(tfd, &x, sizeof(x)) < 0) {
					pthread_mutex_unlock(&d->lock);
					continue;
				}
				daemon_drain(d);
				if (++ticks % (1000 / TW_DRAIN_MS) == 0) {
					account_loss(d);
					calls_reap(d);
					syscall_watch_update(d);
					tw_kaudit_tick(d);
					tw_dns_expire(d);
					tw_brokerd_tick(d);
					broker_watch(d, ep, &broker_fd);
				}
				pthread_mutex_unlock(&d->lock);
				tw_control_tick(d);
				continue;
			} else if (fd == sfd) {
				struct signalfd_siginfo si = {};
				json_t *errs = NULL;

				if (read(sfd, &si, sizeof(si)) == sizeof(si) &&
				    si.ssi_signo == SIGHUP) {
					if (daemon_reload(d, &errs))
						tw_warn("reload refused; the "
							"policy in force stays");
					json_decref(errs);
				} else if (si.ssi_signo) {
					d->stop = true;
				}
			}
			pthread_mutex_unlock(&d->lock);
		}
	}
	pthread_mutex_lock(&d->lock);
	daemon_drain(d);
	account_loss(d);
	pthread_mutex_unlock(&d->lock);
	close(sfd);
	close(tfd);
	return 0;
}

/*
 * One daemon at a time: an flock on TW_DAEMON_LOCK, held for the daemon's
 * life (the kernel drops it when the process dies, however it dies, so a
 * killed daemon never blocks its successor). The file holds the pid of
 * the holder, for the message of a daemon that is refused.
 */
static int daemon_lock(void)
{
	char buf[32] = "";
	int fd, n;

	tw_mkdir_p(TW_RUN_DIR, 0700);
	mkdir(TW_RUN_DIR, 0700);
	fd = open(TW_DAEMON_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		tw_error("cannot open %s: %s", TW_DAEMON_LOCK, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		if (err == EWOULDBLOCK)
			tw_error("another toolwall daemon (pid %s) is running: "
				 "it holds %s; stop it first (toolwall down, "
				 "or kill %s)",
				 *buf ? buf : "unknown", TW_DAEMON_LOCK,
				 *buf ? buf : "it");
		else
			tw_error("cannot lock %s: %s", TW_DAEMON_LOCK,
				 strerror(err));
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, n, 0) != n)
		tw_warn("cannot write the daemon's pid to %s", TW_DAEMON_LOCK);
	return fd;
}

static void print_errors(json_t *errs)
{
	size_t i;
	json_t *e;

	json_array_foreach(errs, i, e)
	{
		const char *file = json_string_value(json_object_get(e, "file"));

		if (file)
			fprintf(stderr, "%s:%lld:%lld: error: %s\n", file,
				json_integer_value(json_object_get(e, "line")),
				json_integer_value(json_object_get(e, "col")),
				json_string_value(json_object_get(e, "message")));
		else
			fprintf(stderr, "Error: %s\n",
				json_string_value(json_object_get(e, "message")));
	}
}

int cmd_daemon(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, 0, 'p' },
		{ "audit-log", required_argument, 0, 'a' },
		{ "audit-max-size", required_argument, 0, 'S' },
		{ "audit-max-age", required_argument, 0, 'A' },
		{ "audit-keep", required_argument, 0, 'K' },
		{ "syslog", required_argument, 0, 'L' },
		{ "debug", no_argument, 0, 'd' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct tw_daemon d = { .listen_fd = -1, .dns_epoll = -1,
			       .kaudit_fd = -1, .alias_slot = -1,
			       .drain = daemon_drain, .reload = daemon_reload };
	struct tw_audit_opts ao = { .max_size = TW_AUDIT_MAX_SIZE,
				    .max_age_s = TW_AUDIT_MAX_AGE,
				    .keep = TW_AUDIT_KEEP };
	char why[512];
	json_t *errs = NULL;
	int c, ret, lock_fd, ep = -1;

	d.policy_path = tw_opts.policy;
	d.audit_path = getenv("TOOLWALL_AUDIT_LOG");
	if (getenv("TOOLWALL_TEST_KILL_AFTER_EVENTS"))
		d.kill_after_events =
			strtoull(getenv("TOOLWALL_TEST_KILL_AFTER_EVENTS"), NULL, 10);
	if (!d.audit_path || !*d.audit_path)
		d.audit_path = TW_DEFAULT_AUDIT_LOG;
	d.debug = tw_opts.debug;
	optind = 1;
	while ((c = getopt_long(argc, argv, "p:dh", opts, NULL)) != -1) {
		switch (c) {
		case 'p': d.policy_path = optarg; break;
		case 'a': d.audit_path = optarg; break;
		case 'S':
		case 'A':
		case 'K':
		case 'L':
			if (tw_audit_daemon_opt(&ao, c == 'S' ? "max-size" :
						     c == 'A' ? "max-age" :
						     c == 'K' ? "keep" :
								"syslog",
						optarg))
				return 2;
			break;
		case 'd': d.debug = true; break;
		case 'h': fputs(daemon_usage, stdout); return 0;
		default: fputs(daemon_usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fputs(daemon_usage, stderr);
		return 2;
	}

	/* A client that goes away before its answer must not kill us: every
	 * socket write also passes MSG_NOSIGNAL and is checked. */
	signal(SIGPIPE, SIG_IGN);
	lock_fd = daemon_lock();
	if (lock_fd < 0)
		return 1;
	/* Signals are read from a signalfd by the event loop; block them
	 * before any thread exists so none of them takes one. */
	{
		sigset_t mask;

		sigemptyset(&mask);
		sigaddset(&mask, SIGHUP);
		sigaddset(&mask, SIGTERM);
		sigaddset(&mask, SIGINT);
		pthread_sigmask(SIG_BLOCK, &mask, NULL);
	}
	ret = tw_probe_features(why, sizeof(why));
	if (ret) {
		tw_error("refusing to start: %s", why);
		return 1;
	}
	/* A log that cannot be written does not stop enforcement: its
	 * records are counted and reported once it can be. */
	ret = tw_audit_open(&d.audit, d.audit_path, &ao);
	if (ret)
		tw_warn("cannot open audit log %s: %s; records are counted as "
			"lost until it can be written",
			d.audit_path, strerror(-ret));
	ret = tw_loader_up(&d.ld, d.debug, why, sizeof(why));
	if (ret) {
		tw_error("refusing to start: %s", why);
		goto out;
	}
	/* Before the first push: brokered services redirect to its port. */
	d.learned_hook = tw_brokerd_learned;
	tw_brokerd_open(&d);
	/* Rings a killed daemon left: their head may be an event it had
	 * recorded already. */
	if (d.ld.adopted)
		d.nrecorded = tw_audit_recent_kevents(
			&d.audit, d.recorded,
			sizeof(d.recorded) / sizeof(d.recorded[0]));
	d.started_ns = tw_now_ns(CLOCK_REALTIME);
	pthread_mutex_init(&d.lock, NULL);
	d.dns_epoll = epoll_create1(EPOLL_CLOEXEC);
	tw_mkdir_p(TW_RUN_DIR, 0700);
	calls_load(&d);
	syscall_watch_update(&d);
	/* What a call ran, then what it was refused on the network: execs
	 * are drained first, so a program's exec record precedes the
	 * records of what it did. */
	d.rb = ring_buffer__new(d.ld.maps.proc_events, tw_sysaudit_event, &d,
				NULL);
	if (!d.rb || ring_buffer__add(d.rb, d.ld.maps.events, handle_event,
				      &d)) {
		tw_error("cannot open the event ring buffers: %s",
			 strerror(errno));
		ret = -errno;
		goto out;
	}
	struct tw_state prev = {};
	bool had_prev = d.ld.adopted && !tw_maps_state(&d.ld.maps, &prev);

	if (had_prev)
		d.slot = prev.slot & 1;
	ret = daemon_reload(&d, &errs);
	if (ret) {
		tw_error("policy %s not loaded:", d.policy_path);
		print_errors(errs);
		if (d.ld.adopted)
			tw_error("the enforcement already in force stays");
		json_decref(errs);
		goto out;
	}
	/* Events queued while no daemon ran carry the previous daemon's slot:
	 * when it held the revision now in force, they are named with it. */
	if (had_prev && d.rev[d.slot].valid) {
		char hex[65];

		for (int k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", prev.revision[k]);
		if ((prev.slot & 1) != d.slot &&
		    !strcmp(hex, d.rev[d.slot].comp.revision))
			d.alias_slot = (int)(prev.slot & 1);
	}
	daemon_drain(&d);
	/* Landlock's own records: a second source, where the kernel has an
	 * audit log (its absence is reported in status, not fatal). */
	d.kaudit_fd = tw_kaudit_open(d.kaudit_why, sizeof(d.kaudit_why));
	d.kaudit_enabled = d.kaudit_fd >= 0 ? tw_kaudit_enabled() : -1;
	ep = epoll_create1(EPOLL_CLOEXEC);
	ret = ep < 0 ? -errno : tw_control_open(&d, ep);
	if (ret) {
		tw_error("cannot listen on %s: %s", tw_control_path(),
			 strerror(-ret));
		goto out;
	}
	ret = tw_dns_start(&d);
	if (ret) {
		tw_error("cannot start the resolver: %s", strerror(-ret));
		goto out;
	}
	audit_daemon(&d, d.ld.adopted ? "adopt" : "start");
	tw_info("enforcing policy %.12s (%zu contexts) on %s%s; audit log %s",
		d.rev[d.slot].comp.revision, d.rev[d.slot].comp.nctx,
		d.ld.cg_root, d.ld.adopted ? " (re-adopted pinned state)" : "",
		d.audit_path);
	ret = run_loop(&d, ep);
	audit_daemon(&d, "stop");
	unlink(tw_control_path());
out:
	tw_control_close(&d);
	if (ep >= 0)
		close(ep);
	tw_dns_stop(&d);
	tw_brokerd_close(&d);
	if (d.dns_epoll >= 0)
		close(d.dns_epoll);
	if (d.kaudit_fd >= 0)
		close(d.kaudit_fd);
	if (d.listen_fd >= 0)
		close(d.listen_fd);
	ring_buffer__free(d.rb);
	tw_loader_close(&d.ld);
	for (int s = 0; s < 2; s++)
		revision_free(&d.rev[s]);
	free(d.calls);
	tw_audit_close(&d.audit);
	close(lock_fd); /* the next daemon may start */
	return ret ? 1 : 0;
}

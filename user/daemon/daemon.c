// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon.c - the daemon's work on the policy and the kernel's events:
 * reload the policy (compile, push into the inactive slot, flip), and turn
 * kernel events into audit records. loop.c runs it.
 *
 *   policy --compile--> maps (slot flip) --kernel verdict--> ring buffer
 *          --handle_event--> audit record (+ the call's denial summary)
 *
 * A context over its budget of events (tw_budget, in the kernel) loses
 * only its own records, and each of them is counted in a `lost` record
 * that names it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "brokerd.h"
#include "budget.h"
#include "cgroups.h"
#include "daemon.h"
#include "dns.h"
#include "dnsallow.h"
#include "explain.h"
#include "grantrule.h"
#include "grants.h"
#include "learned.h"
#include "maps.h"
#include "metrics.h"
#include "notify.h"
#include "state.h"
#include "sysaudit.h"
#include "toolwall.h"
#include "util.h"

/* ---- policy revisions ------------------------------------------- */

void tw_revision_free(struct tw_revision *r)
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
	json_object_set_new(rec, "path", tw_json_bytes(d->policy_path,
						       strlen(d->policy_path)));
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

static void account_budgets(struct tw_daemon *d, int slot);

/* The learned-address table's sink: the active slot of tw_learned. */
static int learned_grant(void *arg, const struct tw_learn_entry *e)
{
	struct tw_daemon *d = arg;

	return tw_maps_learn(&d->ld.maps, d->slot, e);
}

/* The broker follows the addresses brokered names stand for. */
static void learned_changed(void *arg, const struct tw_learned *l, bool add)
{
	struct tw_daemon *d = arg;

	if (d->learned_hook)
		d->learned_hook(d, l->context, l->name, &l->e, add);
}

static void learned_withdraw(void *arg, const struct tw_learn_entry *e)
{
	struct tw_daemon *d = arg;

	tw_maps_unlearn(&d->ld.maps, d->slot, e);
}

void tw_daemon_learned_init(struct tw_daemon *d)
{
	tw_learned_init(&d->learned,
			&(struct tw_learned_sink){ .grant = learned_grant,
						   .withdraw = learned_withdraw,
						   .changed = learned_changed,
						   .arg = d });
}

/* The prepared learned table is in force with the slot X filled. */
static void learned_commit(struct tw_daemon *d, struct tw_push_extra *x)
{
	size_t failed = 0;

	for (size_t i = 0; i < x->nlearned; i++)
		failed += !x->learned_pushed[i];
	tw_learned_commit(&d->learned, x->learned_pushed);
	if (failed)
		tw_warn("reload: %zu learned addresses did not reach the new "
			"slot; each is granted again at its next answer",
			failed);
	free(x->learned_pushed);
	x->learned_pushed = NULL;
}

/*
 * The cgroups of revision NR's contexts (made if new) and of the running
 * calls, into CGS (*NCGS entries). Running calls follow their context by
 * name; a call whose context is gone keeps no entry and so gets nothing.
 */
static int reload_cgroups(struct tw_daemon *d, struct tw_revision *nr,
			  struct tw_cg_entry *cgs, size_t *ncgs, char *err,
			  size_t len)
{
	for (size_t i = 0; i < nr->comp.nctx; i++) {
		int ret = tw_cg_make(d->ld.cg_root, nr->comp.ctx[i].cgroup,
				     &nr->ctx_cgid[i]);

		if (ret) {
			snprintf(err, len, "cannot create cgroup %s/%s: %s",
				 d->ld.cg_root, nr->comp.ctx[i].cgroup,
				 strerror(-ret));
			return ret;
		}
		cgs[(*ncgs)++] =
			(struct tw_cg_entry){ nr->ctx_cgid[i], (uint32_t)i };
	}
	for (size_t i = 0; i < d->ncalls; i++) {
		int ci = tw_compiled_find(&nr->comp, d->calls[i].context);

		if (ci >= 0)
			cgs[(*ncgs)++] = (struct tw_cg_entry){ d->calls[i].cgid,
							       (uint32_t)ci };
	}
	return 0;
}

int tw_daemon_reload(struct tw_daemon *d, json_t **errors)
{
	struct tw_revision nr = {};
	struct tw_diags dg = {};
	struct tw_cg_entry *cgs = NULL;
	struct tw_dns_target *targets = NULL;
	struct tw_push_extra x = {};
	struct tw_learn_entry *learned = NULL;
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
	ret = reload_cgroups(d, &nr, cgs, &ncgs, err, sizeof(err));
	if (ret)
		goto fail;

	targets = calloc(nr.comp.nctx + 1, sizeof(*targets));
	if (!targets || tw_dns_sync(d, &nr.comp, targets)) {
		ret = -ENOMEM;
		snprintf(err, sizeof(err), "cannot open resolver sockets");
		goto fail;
	}
	x.dns = targets;
	x.budget = &d->ld.budget;
	x.budget_rate = d->budget_rate;
	x.budget_burst = d->budget_burst;
	/* What the slot to be refilled counted is its revision's to report. */
	account_budgets(d, (int)(d->slot ^ 1));
	tw_metrics_refill(d, (int)(d->slot ^ 1));
	/* The learned addresses the new policy still allows, within its
	 * quotas: bounded, so they always fit the next slot. */
	ret = tw_learned_prepare(&d->learned, &nr.comp, tw_dns_name_grants,
				 tw_now_ns(CLOCK_MONOTONIC), &learned,
				 &x.nlearned);
	x.learned = learned;
	x.learned_pushed = calloc(x.nlearned + 1, sizeof(bool));
	if (ret || !x.learned_pushed) {
		ret = -ENOMEM;
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	x.brokered = tw_brokerd_entries(d, &nr.comp, &x.nbrokered);
	x.broker_port = d->broker ? d->broker->port : 0;
	if (d->grants) { /* grants and quarantines follow into the slot */
		x.fill = tw_grants_fill;
		x.fill_arg = d;
		d->grants->pending = &nr.comp;
	}
	ret = tw_maps_push(&d->ld.maps, &nr.comp, cgs, ncgs, &x, &slot, err,
			   sizeof(err));
	free((void *)x.brokered);
	free(targets);
	targets = NULL;
	if (ret)
		goto fail;
	free(cgs);
	learned_commit(d, &x);
	free(learned);
	tw_revision_free(&d->rev[slot]);
	d->rev[slot] = nr;
	if (!realpath(d->policy_path, d->policy_real))
		d->policy_real[0] = '\0';
	/* The compiled rules borrow the policy: point them at its new home. */
	d->rev[slot].comp.pol = &d->rev[slot].pol;
	audit_policy(d, d->reloads ? "reload" : "load", nr.comp.revision, NULL);
	d->slot = slot;
	d->reloads++;
	d->reloaded_ns = tw_now_ns(CLOCK_REALTIME);
	tw_calls_save(d);
	tw_brokerd_policy(d);
	tw_grants_reloaded(d);
	return 0;
fail:
	tw_learned_abort(&d->learned);
	free(x.learned_pushed);
	free(learned);
	free(cgs);
	free(targets);
	*errors = json_pack("[{s:s}]", "message", err);
	audit_policy(d, "rejected", NULL, *errors);
	tw_revision_free(&nr);
	d->reloads_failed++;
	return ret;
}

/* ---- events -> audit records ------------------------------------ */

int tw_daemon_reload_notify(struct tw_daemon *d, json_t **errors)
{
	int ret;

	tw_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading %s",
		  (unsigned long long)(tw_now_ns(CLOCK_MONOTONIC) / 1000),
		  d->policy_path);
	ret = tw_daemon_reload(d, errors);
	tw_notify("READY=1\nSTATUS=%s policy %.12s (%zu contexts) on %s",
		  ret ? "reload refused; enforcing" : "enforcing",
		  d->rev[d->slot].comp.revision, d->rev[d->slot].comp.nctx,
		  d->ld.cg_root);
	return ret;
}

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
	char dst[440]; /* "10.0.0.1", or a unix path encoded (record.h) */
	char what[384];
	char reason[512];
	char hint[1024];
	bool missing; /* a unix path that does not exist on the host */
};

/* A unix destination: the agent's bytes (any but NUL, after an abstract
 * name's '@'), encoded for the record (record.h). */
static void unix_dest(const struct tw_event *e, struct judged *j)
{
	char raw[sizeof(e->path) + 1];

	snprintf(raw, sizeof(raw), "%.*s", (int)sizeof(e->path), e->path);
	tw_bytes_encode(raw, strlen(raw), j->dst, sizeof(j->dst));
	snprintf(j->what, sizeof(j->what), "%s unix:%s", action_name(e),
		 j->dst);
	j->missing = raw[0] == '/' && access(raw, F_OK) != 0;
}

/* What the event tried, in words, and its destination (J->what, J->dst). */
static void judge_what(const struct tw_event *e, struct judged *j)
{
	char addr[INET6_ADDRSTRLEN];

	if (e->action == TW_ACT_UNIX_CONNECT ||
	    e->action == TW_ACT_UNIX_SENDMSG) {
		unix_dest(e, j);
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
}

/* Why the kernel said no, in words (J->reason). */
static void judge_reason(const struct tw_event *e, struct judged *j)
{
	char sock[128];

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
	case TW_REASON_QUARANTINE:
		snprintf(j->reason, sizeof(j->reason),
			 "%s is quarantined: every connect, send and DNS query "
			 "is refused until `toolwall release`",
			 j->ctx ? j->ctx->name : "the call");
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
}

/* The bundles and contexts that would have allowed it (J->hint). */
static void judge_hint(const struct tw_event *e, struct judged *j)
{
	struct tw_dest dst;

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
			if (!ex.allowed) {
				tw_explain_hint(&j->rev->comp, &ex, j->hint,
						sizeof(j->hint));
				tw_grant_hint(&j->rev->comp, j->ctx_idx, &ex,
					      j->hint, sizeof(j->hint));
			}
			tw_explain_free(&ex);
		}
	}
}

static void judge_event(struct tw_daemon *d, const struct tw_event *e,
			struct judged *j)
{
	memset(j, 0, sizeof(*j));
	j->ctx_idx = -1;
	j->rev = tw_daemon_context(d, e->ctx, &j->ctx_idx);
	if (j->rev)
		j->ctx = &j->rev->comp.ctx[j->ctx_idx];
	judge_what(e, j);
	judge_reason(e, j);
	judge_hint(e, j);
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
	json_object_set_new(rec, "reason", tw_json_text(j.reason));
	json_object_set_new(rec, "policy_rev",
			    j.rev ? json_string(j.rev->comp.revision) :
				    json_null());
	json_object_set_new(rec, "hint", tw_json_text(j.hint));
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

/* ---- ring buffers -> records, in batches -------------------------- */

/*
 * The end of an event's callback: with a batch bound set, the batch ends
 * once it has taken its share. libbpf moves the ring's consumer past each
 * event before it calls back for the next one, and past this one too when
 * the callback returns < 0: an event is let go only after its record was
 * written, and a batch stops between two events, never inside one (which
 * is what lets a restarted daemon skip the one event it may see again,
 * tw_daemon_recorded).
 */
static int batch_step(struct tw_daemon *d)
{
	if (d->batch_left && --d->batch_left == 0)
		return -EAGAIN;
	return 0;
}

static int on_event(void *ctx, void *data, size_t size)
{
	handle_event(ctx, data, size);
	return batch_step(ctx);
}

static int on_proc_event(void *ctx, void *data, size_t size)
{
	tw_sysaudit_event(ctx, data, size);
	return batch_step(ctx);
}

int tw_daemon_rings_open(struct tw_daemon *d)
{
	/* What a call ran, then what it was refused on the network: execs
	 * are drained first, so a program's exec record precedes the
	 * records of what it did. */
	d->rb = ring_buffer__new(d->ld.maps.proc_events, on_proc_event, d,
				 NULL);
	if (!d->rb)
		return -errno;
	d->rb_ev = ring_buffer__new(d->ld.maps.events, on_event, d, NULL);
	if (!d->rb_ev)
		return -errno;
	return 0;
}

void tw_daemon_rings_close(struct tw_daemon *d)
{
	ring_buffer__free(d->rb);
	ring_buffer__free(d->rb_ev);
	d->rb = d->rb_ev = NULL;
}

/* Up to LIMIT events of RB (0: all). True when it stopped at the limit. */
static bool consume(struct tw_daemon *d, struct ring_buffer *rb,
		    unsigned int limit)
{
	int ret;

	if (!rb)
		return false;
	d->batch_left = limit;
	ret = ring_buffer__consume(rb);
	d->batch_left = 0;
	return ret == -EAGAIN;
}

/*
 * As many events as a ring buffer can hold: a drain that takes this many
 * has taken every event that was queued when it began (the ring is FIFO),
 * and ends even while a flood keeps queueing more.
 */
#define RING_MAX_EVENTS (TW_RINGBUF_SIZE / (TW_EVENT_SIZE + 8) + 1)
_Static_assert(TW_PROC_RINGBUF_SIZE <= TW_RINGBUF_SIZE &&
		       TW_PROC_DENIED_SIZE >= TW_EVENT_SIZE,
	       "RING_MAX_EVENTS bounds the syscall audit's ring too");

void tw_daemon_drain(struct tw_daemon *d)
{
	tw_boot_to_real_ns = tw_now_ns(CLOCK_REALTIME) - tw_now_ns(CLOCK_BOOTTIME);
	consume(d, d->rb, RING_MAX_EVENTS);
	consume(d, d->rb_ev, RING_MAX_EVENTS);
	/* Aggregates of exited processes too: a call's records are complete
	 * when call-end answers. */
	tw_audit_flush(&d->audit, TW_AGG_DUE);
}

bool tw_daemon_drain_batch(struct tw_daemon *d)
{
	bool more;

	pthread_mutex_lock(&d->lock);
	tw_boot_to_real_ns = tw_now_ns(CLOCK_REALTIME) - tw_now_ns(CLOCK_BOOTTIME);
	more = consume(d, d->rb, TW_DRAIN_BATCH);
	more |= consume(d, d->rb_ev, TW_DRAIN_BATCH);
	if (!more)
		tw_audit_flush(&d->audit, TW_AGG_DUE);
	pthread_mutex_unlock(&d->lock);
	return more;
}

/* ---- loss ---------------------------------------------------------- */

/* A `lost` record of COUNT events of context key CTX over its budget;
 * VERDICT: "deny", "audit" or "syscall" (refusals of the syscall audit). */
static void budget_lost(struct tw_daemon *d, uint32_t ctx, uint64_t count,
			const char *verdict)
{
	json_t *rec = tw_audit_record(&d->audit, "lost", 0);
	const struct tw_revision *rev;
	const struct tw_context *x = NULL;
	bool sys = !strcmp(verdict, "syscall");
	char why[512];
	int idx;

	rev = tw_daemon_context(d, ctx, &idx);
	if (rev)
		x = &rev->comp.ctx[idx];
	tw_record_where(rec, rev ? &rev->pol : NULL, x, NULL);
	json_object_set_new(rec, "count", json_integer((json_int_t)count));
	/* the sources of the ring-full `lost` records of the same events */
	json_object_set_new(rec, "source",
			    json_string(sys ? "kernel-syscall-audit" : "kernel"));
	json_object_set_new(rec, "cause", json_string("rate"));
	if (!sys)
		json_object_set_new(rec, "verdict", json_string(verdict));
	json_object_set_new(rec, "budget",
			    json_pack("{s:i,s:i}", "rate", d->budget_rate,
				      "burst", d->budget_burst));
	snprintf(why, sizeof(why),
		 "%s %s faster than its budget of %u events a second (%u at "
		 "once): these were %s but not recorded one by one",
		 x ? x->name :
		 ctx == TW_CTX_NONE ? "a cgroup with no context" :
				      "a context of an earlier policy",
		 sys ? "was refused syscalls" :
		 strcmp(verdict, "audit") ? "was denied" :
					    "had would-be denials",
		 d->budget_rate, d->budget_burst,
		 sys ? "refused" :
		 strcmp(verdict, "audit") ? "enforced" : "let through");
	json_object_set_new(rec, "reason", json_string(why));
	json_object_set_new(rec, "policy_rev",
			    rev ? json_string(rev->comp.revision) : json_null());
	tw_audit_write(&d->audit, rec);
	d->budget_lost += count;
}

/*
 * What the kernel counted as over budget, per context: of SLOT's contexts
 * (0 or 1; -1: every entry). Named with the revision of the slot they
 * were counted in.
 */
static void account_budgets(struct tw_daemon *d, int slot)
{
	for (uint32_t i = 0; i < TW_BUDGET_ENTRIES; i++) {
		uint32_t key = i == TW_BUDGET_NONE ?
				       TW_CTX_NONE :
				       TW_CTX_KEY(i / TW_BUDGET_CTX,
						  i % TW_BUDGET_CTX);
		struct tw_budget_counts c;

		if (slot >= 0 && i != TW_BUDGET_NONE &&
		    i / TW_BUDGET_CTX != (uint32_t)slot)
			continue;
		if (!tw_budget_take(&d->ld.budget, i, &c))
			continue;
		if (c.deny)
			budget_lost(d, key, c.deny, "deny");
		if (c.audit)
			budget_lost(d, key, c.audit, "audit");
		if (c.sys)
			budget_lost(d, key, c.sys, "syscall");
	}
}

void tw_daemon_account_loss(struct tw_daemon *d)
{
	uint64_t stats[TW_STAT_MAX];
	struct tw_state st;

	/* Due aggregates, age rotation, a log that can be written again
	 * (with the `lost` record of its gap); everything at stop. */
	tw_audit_tick(&d->audit);
	if (d->stop)
		tw_audit_flush(&d->audit, TW_AGG_ALL);
	tw_sysaudit_account_loss(d);
	account_budgets(d, -1);
	if (tw_maps_stats(&d->ld.maps, stats) || tw_maps_state(&d->ld.maps, &st))
		return;
	if (stats[TW_STAT_LOST] <= st.lost_seen)
		return;
	tw_daemon_lost(d, stats[TW_STAT_LOST] - st.lost_seen, false, "kernel",
		       "the kernel ring buffer was full; these denials were "
		       "enforced but not recorded");
	tw_maps_set_lost_seen(&d->ld.maps, stats[TW_STAT_LOST]);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sock.bpf.c - every socket hook of toolwall, attached once (through bpf
 * links) to the toolwall root cgroup and so effective for every context
 * cgroup below it:
 *
 *   tw_connect4/6    connect(), TCP Fast Open, io_uring connect
 *   tw_sendmsg4/6    unconnected UDP sendto/sendmsg/sendmmsg
 *   tw_unix_conn     connect() of unix sockets   (BPF_CGROUP_UNIX_CONNECT)
 *   tw_unix_send     sendto() of unix datagrams  (BPF_CGROUP_UNIX_SENDMSG)
 *                    (port 53 -> the resolver; a brokered service -> the
 *                    credential broker)
 *   tw_recvmsg4/6    DNS replies show the server the client asked
 *   tw_peername4/6   getpeername() likewise, and for brokered connections
 *   tw_bind4/6       bind(): loopback, or what a `listen` entry holds; never
 *                    a DNS resolver's port
 *   tw_setsockopt    multicast group joins refused
 *   tw_sock_create   socket(): only inet TCP and UDP
 *   tw_egress        backstop for what the IP stack sends that the address
 *                    hooks did not see (ICMP and the like), SYN-ACKs of
 *                    inbound flows, and sockets judged under an older policy
 *                    generation
 *   tw_ingress       new inbound flows: TCP SYNs and UDP datagrams
 *
 * Helpers return a verdict; only the SEC() entries turn it into the value
 * the kernel expects. Rule semantics are written down in toolwall.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "toolwall.h"

#define SYS_REJECT 0
#define SYS_PROCEED 1

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

/* Set by the loader before load: the ABI it was built with. */
const volatile __u32 tw_abi = TW_ABI_VERSION;

#include "context.bpf.h"

/* (context, proto, family, prefix) -> port set: inet allowlists. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TW_MAX_LPM);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tw_rule_key);
	__type(value, struct tw_rule_val);
} tw_rules SEC(".maps");

/* (context, path) -> rule: unix socket allowlists. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TW_MAX_UNIX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tw_unix_key);
	__type(value, struct tw_unix_val);
} tw_unix SEC(".maps");

/* context -> its resolver: where port-53 traffic is redirected. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TW_MAX_DNS);
	__type(key, __u32);
	__type(value, struct tw_dns_target);
} tw_dns SEC(".maps");

/* Ports of the daemon's DNS resolver listeners (host order): no call may
 * bind them, on any address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TW_MAX_DNS_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} tw_dns_ports SEC(".maps");

/* (context, proto, address) -> ports: addresses learned from DNS answers. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TW_MAX_LEARNED);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tw_learn_key);
	__type(value, struct tw_rule_val);
} tw_learned SEC(".maps");

/* (context, address, port) -> broker: brokered services (toolwall.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TW_MAX_BROKERED);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tw_bk_key);
	__type(value, struct tw_bk_dst);
} tw_bk_dst SEC(".maps");

/* Client end -> original destination of a redirected connection, read
 * (and removed) by the broker when it accepts; LRU: a connection the
 * broker never accepts is forgotten, not leaked. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TW_MAX_BK_CONN);
	__type(key, struct tw_bk_conn_key);
	__type(value, struct tw_bk_conn);
} tw_bk_conn SEC(".maps");

/* (scope kind, grant slot, scope, address, port) -> broker and deadline:
 * brokered services of granted bundles (toolwall.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TW_MAX_BK_GRANT);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tw_bk_gkey);
	__type(value, struct tw_bk_gval);
} tw_bk_grant SEC(".maps");

/* (scope kind, grant slot, scope, proto, family, prefix) -> ports and
 * deadline: time-limited grants (toolwall.h, "Grants and quarantine"). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TW_MAX_GRANT_LPM);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tw_grant_key);
	__type(value, struct tw_grant_val);
} tw_grants SEC(".maps");

/* (scope kind, scope) -> grant slots in use, quarantine. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TW_MAX_SCOPES);
	__type(key, struct tw_scope_key);
	__type(value, struct tw_scope_val);
} tw_scopes SEC(".maps");

/* [0]: non-zero while tw_scopes holds anything (else no lookups). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tw_grant_on SEC(".maps");

/* Denials and would-be denials, drained by the daemon into the audit log. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TW_RINGBUF_SIZE);
} tw_events SEC(".maps");

/* Decision counters, and events lost to a full ring buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TW_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tw_stats SEC(".maps");

/*
 * Per-socket mark left by the address hooks when they let a UDP destination
 * through or redirected DNS, and by the egress backstop on a TCP socket's
 * SYN (or its first packet), so the backstop knows the packet was judged
 * already, under which policy generation. A socket whose generation is
 * older than the one in force is judged again on its next packet.
 */
struct tw_sk_mark {
	__u8 daddr[16];	/* destination as granted (after a DNS rewrite) */
	__u16 dport;
	__u8 family;
	__u8 judged;
	__u8 orig[16];	/* DNS: the server the client asked for, as it wrote
			   it (IPv4 in the first 4 bytes for AF_INET) */
	__u16 orig_port;
	__u8 dns;	/* 1: daddr is our resolver, orig the asked server;
			   2: daddr is the broker, orig the service */
	__u8 pad;
	__u64 gen;	/* tw_state.generation when judged */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tw_sk_mark);
} tw_sk SEC(".maps");

/* The decision for one operation, filled by the helpers below. */
struct decision {
	__u32 ctx;
	__u32 rule;
	__u8 mode;
	__u8 reason; /* 0: granted */
	__u8 pad[2];
	__u32 gctx;  /* grant slots in use of the context scope */
	__u32 gcall; /* and of the call scope */
	__u64 cgid;  /* the cgroup judged (the call scope) */
};

/* Each context's decisions (see toolwall.h), for the metrics endpoint. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TW_BUDGET_ENTRIES);
	__type(key, __u32);
	__type(value, struct tw_ctx_stat);
} tw_ctx_stats SEC(".maps");

#define count(stat) tw_count(&tw_stats, (stat))

/* A decision (TW_STAT_ALLOWED, _DENIED or _AUDITED) of context D->ctx:
 * counted overall and for the context. */
static __always_inline void count_ctx(const struct decision *d, __u32 stat)
{
	__u32 i = TW_BUDGET_IDX(d->ctx);
	struct tw_ctx_stat *s;

	count(stat);
	if (d->ctx == TW_CTX_NONE || TW_CTX_IDX(d->ctx) >= TW_BUDGET_CTX)
		return;
	s = bpf_map_lookup_elem(&tw_ctx_stats, &i);
	if (!s)
		return;
	if (stat == TW_STAT_ALLOWED)
		s->allowed++;
	else if (stat == TW_STAT_DENIED)
		s->denied++;
	else if (stat == TW_STAT_AUDITED)
		s->audited++;
}

/* Denials that hold in audit mode too: no context, or quarantined. */
static __always_inline bool hard_deny(__u8 reason)
{
	return reason == TW_REASON_NO_CONTEXT || reason == TW_REASON_QUARANTINE;
}

/*
 * The grant slots of D's call and context scopes, or -EPERM with
 * TW_REASON_QUARANTINE when either is quarantined. Nothing is looked up
 * while no scope has grants or a quarantine (tw_grant_on).
 */
static __always_inline int scopes_of(struct decision *d)
{
	struct tw_scope_key k = { .kind = TW_SCOPE_CALL, .scope = d->cgid };
	struct tw_scope_val *s;
	__u32 zero = 0, *on = bpf_map_lookup_elem(&tw_grant_on, &zero);

	if (!on || !*on)
		return 0;
	s = bpf_map_lookup_elem(&tw_scopes, &k);
	if (s && s->quarantined)
		goto quarantined;
	if (s)
		d->gcall = s->gslots;
	k.kind = TW_SCOPE_CTX;
	k.scope = d->ctx;
	s = bpf_map_lookup_elem(&tw_scopes, &k);
	if (s && s->quarantined)
		goto quarantined;
	if (s)
		d->gctx = s->gslots;
	return 0;
quarantined:
	d->reason = TW_REASON_QUARANTINE;
	return -1;
}

/*
 * Look up the context of the current task (CGID) and its scopes. Returns
 * 0, or non-zero with d->reason set: TW_REASON_NO_CONTEXT (fail closed)
 * or TW_REASON_QUARANTINE.
 */
static __always_inline int current_context(__u64 cgid, struct decision *d)
{
	struct tw_cg_val *val = tw_context_of(cgid);

	d->ctx = TW_CTX_NONE;
	d->rule = ~0u;
	d->mode = TW_MODE_ABI_ENFORCE;
	d->cgid = cgid;
	d->gctx = d->gcall = 0;
	if (!val) {
		d->reason = TW_REASON_NO_CONTEXT;
		return -2;
	}
	d->ctx = val->ctx;
	d->mode = val->mode;
	return scopes_of(d);
}

static __always_inline bool ports_hold(const struct tw_kport *p, __u16 n,
				       __u16 port)
{
	for (int i = 0; i < TW_PORT_RANGES; i++) {
		if (i >= n)
			break;
		if (port >= p[i].lo && port <= p[i].hi)
			return true;
	}
	return false;
}

/*
 * Does V's port list hold PORT? A global function: the verifier checks it
 * once, not at every place a hook judges a port (its loop would be walked
 * again at each).
 */
__noinline int tw_rule_port_in(const struct tw_rule_val *v, __u16 port)
{
	return v && ports_hold(v->ports, v->nports, port);
}

__noinline int tw_grant_port_in(const struct tw_grant_val *v, __u16 port)
{
	return v && ports_hold(v->ports, v->nports, port);
}

static __always_inline bool port_in(const struct tw_rule_val *v, __u16 port)
{
	return tw_rule_port_in(v, port);
}

/* Addresses the context's resolver answered for names it may use. */
static __always_inline void judge_learned(struct decision *d, __u8 proto,
					  __u8 family, const __u8 *addr,
					  __u16 port)
{
	struct tw_learn_key key = {
		.ctx = d->ctx,
		.proto = proto,
		.family = family,
	};
	struct tw_rule_val *v;

	__builtin_memcpy(key.addr, addr, 16);
	v = bpf_map_lookup_elem(&tw_learned, &key);
	if (v && port_in(v, port)) {
		d->reason = 0;
		d->rule = v->rule;
		count(TW_STAT_LEARNED);
	}
}

/*
 * A live grant among the slots of MASK for KEY (its scope, proto, family,
 * prefix and address filled in) that covers PORT: its deadline ahead.
 * Writes the grant's number into GRANT. Global: checked once.
 */
__noinline int tw_granted_in(struct tw_grant_key *key, __u32 mask, __u16 port,
			     __u64 now, __u32 *grant)
{
	struct tw_grant_val *v;

	if (!key || !grant)
		return 0;
	for (int i = 0; i < TW_GRANT_SLOTS; i++) {
		if (!(mask & (1u << i)))
			continue;
		key->gslot = i;
		v = bpf_map_lookup_elem(&tw_grants, key);
		if (v && now < v->deadline && tw_grant_port_in(v, port)) {
			*grant = v->grant;
			return 1;
		}
	}
	return 0;
}

/* A live grant of scope (KIND, SCOPE) among the slots of MASK that covers
 * the destination: its longest prefix, its ports, its deadline ahead. */
static __always_inline bool granted_in(__u8 kind, __u64 scope, __u32 mask,
				       __u8 proto, __u8 family,
				       const __u8 *addr, __u16 port, __u64 now,
				       __u32 *grant)
{
	struct tw_grant_key key = {
		.kind = kind,
		.proto = proto,
		.family = family,
		.scope = scope,
	};

	key.prefixlen = TW_GKEY_FIXED_BITS + (family == 4 ? 32 : 128);
	__builtin_memcpy(key.addr, addr, 16);
	return tw_granted_in(&key, mask, port, now, grant);
}

/* What the rules deny, a live grant of the call or its context allows. */
static __always_inline void judge_granted(struct decision *d, __u8 proto,
					  __u8 family, const __u8 *addr,
					  __u16 port)
{
	__u64 now = bpf_ktime_get_boot_ns();
	__u32 grant = 0;

	if (granted_in(TW_SCOPE_CALL, d->cgid, d->gcall, proto, family, addr,
		       port, now, &grant) ||
	    granted_in(TW_SCOPE_CTX, d->ctx, d->gctx, proto, family, addr,
		       port, now, &grant)) {
		d->reason = 0;
		d->rule = grant;
	}
}

/* Judge an inet destination; sets d->reason (0 = granted). */
static __always_inline void judge_inet(struct decision *d, __u8 proto,
				       __u8 family, const __u8 *addr,
				       __u16 port)
{
	struct tw_rule_key key = {
		.ctx = d->ctx,
		.proto = proto,
		.family = family,
	};
	struct tw_rule_val *v;

	key.prefixlen = TW_KEY_FIXED_BITS + (family == 4 ? 32 : 128);
	__builtin_memcpy(key.addr, addr, 16);
	v = bpf_map_lookup_elem(&tw_rules, &key);
	if (v) {
		d->rule = v->rule;
		d->reason = port_in(v, port) ? 0 : TW_REASON_PORT;
	} else {
		d->reason = TW_REASON_NO_RULE;
	}
	if (d->reason)
		judge_learned(d, proto, family, addr, port);
	if (d->reason && (d->gcall | d->gctx))
		judge_granted(d, proto, family, addr, port);
}

/*
 * An IPv4-mapped IPv6 destination ::ffff:a.b.c.d is judged as a.b.c.d: the
 * socket talks IPv4 to it. No other form is (NAT64 64:ff9b::/96, 6to4
 * 2002::/16, compatible ::a.b.c.d, Teredo name other IPv6 hosts, reached
 * over IPv6 and judged by IPv6 rules). Returns true and writes the IPv4
 * address into V4 (first 4 bytes) when it is mapped.
 */
static __always_inline bool embedded_v4(const __u32 a[4], __u8 v4[16])
{
	if (a[0] || a[1] || a[2] != bpf_htonl(0x0000ffff))
		return false;
	__builtin_memcpy(v4, &a[3], 4);
	return true;
}

/* The policy generation in force (bumped at every slot flip). */
static __always_inline __u64 generation(void)
{
	__u32 zero = 0;
	struct tw_state *st = bpf_map_lookup_elem(&tw_state, &zero);

	return st ? st->generation : 0;
}

static __always_inline struct tw_sk_mark *
mark_socket(struct bpf_sock *sk, __u8 family, const __u8 *addr, __u16 port)
{
	struct tw_sk_mark *m;

	if (!sk)
		return 0;
	m = bpf_sk_storage_get(&tw_sk, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!m)
		return 0;
	__builtin_memcpy(m->daddr, addr, 16);
	m->dport = port;
	m->family = family;
	m->judged = 1;
	m->dns = 0;
	m->gen = generation();
	return m;
}

/* Audit mode reports and lets go; with no context it is a denial. */
static __always_inline __u8 event_verdict(const struct decision *d)
{
	return d->mode == TW_MODE_ABI_AUDIT && !hard_deny(d->reason) ?
		       TW_VERDICT_AUDIT : TW_VERDICT_DENY;
}

/*
 * Reserve an event and fill what every hook's event carries: when, who
 * (pid, tid, uid, comm), where (cgroup, context), the action and the
 * decision. NULL when the context is over its budget of events (counted
 * in tw_budget) or the ring buffer is full (counted as lost). The verdict
 * is decided before and does not depend on it.
 */
static __always_inline struct tw_event *
event_open(const struct decision *d, __u8 action, __u64 cgid)
{
	struct tw_event *e;
	__u64 id;

	if (!tw_budget_take(d->ctx, event_verdict(d) == TW_VERDICT_AUDIT ?
					    TW_BUDGET_AUDIT : TW_BUDGET_DENY))
		return 0;
	e = bpf_ringbuf_reserve(&tw_events, sizeof(*e), 0);
	if (!e) {
		count(TW_STAT_LOST);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	id = bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->cgid = cgid;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ctx = d->ctx;
	e->rule = d->rule;
	e->action = action;
	e->reason = d->reason;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

/* Reserve, fill and submit the event of an address decision. */
static __always_inline void emit(const struct decision *d, __u8 action,
				 __u8 verdict, __u8 proto, __u8 family,
				 __u8 embedded, const __u8 *addr, __u16 port,
				 const char *path, const __u8 *peer,
				 __u16 peer_port, __u32 sk_uid, __u64 cgid)
{
	struct tw_event *e = event_open(d, action, cgid);

	if (!e)
		return;
	e->dport = port;
	e->verdict = verdict;
	e->proto = proto;
	e->family = family;
	e->embedded = embedded;
	if (addr)
		__builtin_memcpy(e->daddr, addr, 16);
	if (path)
		__builtin_memcpy(e->path, path, TW_UNIX_PATH_LEN);
	if (peer) {
		__builtin_memcpy(e->peer.saddr, peer, 16);
		e->peer.sport = peer_port;
	}
	if (action == TW_ACT_ACCEPT) {
		/* Packets arrive in whatever task runs: the owner of the
		 * socket is the one to name, no process. */
		e->pid = e->tid = 0;
		e->uid = sk_uid;
		__builtin_memset(e->comm, 0, sizeof(e->comm));
	}
	tw_submit(&tw_events, e);
}

/*
 * Turn a decision into the hook's return value: granted, audit-mode
 * would-be denial (granted, reported) or denial (EPERM, reported). With no
 * context the denial holds in any mode.
 */
static __always_inline int verdict_peer(struct decision *d, __u8 action,
					__u8 proto, __u8 family, __u8 embedded,
					const __u8 *addr, __u16 port,
					const char *path, const __u8 *peer,
					__u16 peer_port, __u32 sk_uid,
					__u64 cgid)
{
	if (!d->reason) {
		count_ctx(d, TW_STAT_ALLOWED);
		return SYS_PROCEED;
	}
	if (d->reason == TW_REASON_NO_CONTEXT) {
		count(TW_STAT_NOCTX);
	} else if (d->reason != TW_REASON_QUARANTINE &&
		   d->mode == TW_MODE_ABI_AUDIT) {
		count_ctx(d, TW_STAT_AUDITED);
		emit(d, action, TW_VERDICT_AUDIT, proto, family, embedded,
		     addr, port, path, peer, peer_port, sk_uid, cgid);
		return SYS_PROCEED;
	}
	count_ctx(d, TW_STAT_DENIED);
	emit(d, action, TW_VERDICT_DENY, proto, family, embedded, addr, port,
	     path, peer, peer_port, sk_uid, cgid);
	return SYS_REJECT;
}

static __always_inline int verdict(struct decision *d, __u8 action,
				   __u8 proto, __u8 family, __u8 embedded,
				   const __u8 *addr, __u16 port,
				   const char *path, __u64 cgid)
{
	return verdict_peer(d, action, proto, family, embedded, addr, port,
			    path, 0, 0, 0, cgid);
}

static __always_inline __u8 sock_proto(struct bpf_sock_addr *ctx)
{
	return ctx->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
}

/*
 * DNS never leaves a context directly: every port-53 destination goes to the
 * context's resolver, which answers only names the context may use. The
 * asked server is kept on the socket so replies can show it.
 */
static __always_inline int redirect_dns4(struct bpf_sock_addr *ctx,
					 struct decision *d, __u8 action,
					 __u8 proto, const __u8 *asked,
					 __u64 cgid)
{
	struct tw_dns_target *t = bpf_map_lookup_elem(&tw_dns, &d->ctx);
	__u16 port = t ? (proto == IPPROTO_TCP ? t->tcp4 : t->udp4) : 0;
	__u8 to[16] = {};
	struct tw_sk_mark *m;
	__u32 ip;

	if (!port) {
		d->reason = TW_REASON_NO_RESOLVER;
		return verdict(d, action, proto, 4, 0, asked, 53, 0, cgid);
	}
	__builtin_memcpy(to, t->addr4, 4);
	__builtin_memcpy(&ip, t->addr4, 4);
	ctx->user_ip4 = ip;
	ctx->user_port = bpf_htons(port);
	count(TW_STAT_DNS);
	m = mark_socket(ctx->sk, 4, to, port);
	if (m) {
		__builtin_memcpy(m->orig, asked, 16);
		m->orig_port = 53;
		m->dns = 1;
	}
	return SYS_PROCEED;
}

static __always_inline int redirect_dns6(struct bpf_sock_addr *ctx,
					 struct decision *d, __u8 action,
					 __u8 proto, const __u32 asked[4],
					 __u64 cgid)
{
	struct tw_dns_target *t = bpf_map_lookup_elem(&tw_dns, &d->ctx);
	__u16 port = t ? (proto == IPPROTO_TCP ? t->tcp6 : t->udp6) : 0;
	struct tw_sk_mark *m;
	__u32 a[4];

	if (!port) {
		d->reason = TW_REASON_NO_RESOLVER;
		return verdict(d, action, proto, 6, 0, (const __u8 *)asked, 53,
			       0, cgid);
	}
	__builtin_memcpy(a, t->addr6, 16);
	ctx->user_ip6[0] = a[0];
	ctx->user_ip6[1] = a[1];
	ctx->user_ip6[2] = a[2];
	ctx->user_ip6[3] = a[3];
	ctx->user_port = bpf_htons(port);
	count(TW_STAT_DNS);
	m = mark_socket(ctx->sk, 6, t->addr6, port);
	if (m) {
		__builtin_memcpy(m->orig, asked, 16);
		m->orig_port = 53;
		m->dns = 1;
	}
	return SYS_PROCEED;
}

#define TW_REDIR_DNS 1
#define TW_REDIR_BROKER 2

/* A live granted brokered service of scope (KIND, SCOPE) among the grant
 * slots of MASK: into *OUT. */
static __always_inline bool bk_granted_in(__u8 kind, __u64 scope, __u32 mask,
					  __u8 family, const __u8 *addr,
					  __u16 port, __u64 now,
					  struct tw_bk_dst *out)
{
	struct tw_bk_gkey key = {
		.kind = kind,
		.family = family,
		.port = port,
		.scope = scope,
	};
	struct tw_bk_gval *v;

	__builtin_memcpy(key.addr, addr, 16);
	for (int i = 0; i < TW_GRANT_SLOTS; i++) {
		if (!(mask & (1u << i)))
			continue;
		key.gslot = i;
		v = bpf_map_lookup_elem(&tw_bk_grant, &key);
		if (v && now < v->deadline) {
			out->origin = v->origin;
			out->port = v->port;
			return true;
		}
	}
	return false;
}

/*
 * The brokered service at (FAMILY, ADDR, PORT) for decision D, into *OUT:
 * one of the context's own (tw_bk_dst), else one of a live grant of the
 * call or of the context (tw_bk_grant). false: not brokered.
 */
static __always_inline bool brokered(const struct decision *d, __u8 family,
				     const __u8 *addr, __u16 port,
				     struct tw_bk_dst *out)
{
	struct tw_bk_key key = {
		.ctx = d->ctx,
		.family = family,
		.port = port,
	};
	struct tw_bk_dst *b;
	__u64 now;

	__builtin_memcpy(key.addr, addr, 16);
	b = bpf_map_lookup_elem(&tw_bk_dst, &key);
	if (b) {
		*out = *b;
		return true;
	}
	if (!(d->gcall | d->gctx))
		return false;
	now = bpf_ktime_get_boot_ns();
	return bk_granted_in(TW_SCOPE_CALL, d->cgid, d->gcall, family, addr,
			     port, now, out) ||
	       bk_granted_in(TW_SCOPE_CTX, d->ctx, d->gctx, family, addr, port,
			     now, out);
}

/*
 * A granted TCP connect to a brokered service goes to the broker instead:
 * 127.0.0.1 for an IPv4 socket, ::1 for IPv6, ::ffff:127.0.0.1 for an
 * IPv6 socket to an IPv4-mapped address (the flow is IPv4 either way).
 * The socket keeps where it was going (getpeername shows it, the SYN
 * tells the broker).
 */
static __always_inline void redirect_broker(struct bpf_sock_addr *ctx,
					    const struct tw_bk_dst *b,
					    __u8 sock_family, __u8 embedded,
					    const __u8 *asked, __u16 port)
{
	__u8 to[16] = {};
	struct tw_sk_mark *m;

	if (sock_family == 4) {
		to[0] = 127;
		to[3] = 1;
		ctx->user_ip4 = bpf_htonl(0x7f000001);
	} else {
		if (embedded) {
			to[10] = to[11] = 0xff;
			to[12] = 127;
			to[15] = 1;
		} else {
			to[15] = 1;
		}
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = embedded ? bpf_htonl(0x0000ffff) : 0;
		ctx->user_ip6[3] = embedded ? bpf_htonl(0x7f000001) :
					      bpf_htonl(1);
	}
	ctx->user_port = bpf_htons(b->port);
	m = mark_socket(ctx->sk, sock_family, to, b->port);
	if (m) {
		__builtin_memcpy(m->orig, asked, 16);
		m->orig_port = port;
		m->dns = TW_REDIR_BROKER;
	}
}

static __always_inline int inet4(struct bpf_sock_addr *ctx, __u8 action)
{
	struct decision d = {};
	__u8 addr[16] = {};
	__u32 ip = ctx->user_ip4;
	__u16 port = bpf_ntohs(ctx->user_port);
	__u8 proto = sock_proto(ctx);
	__u64 cgid = bpf_get_current_cgroup_id();
	int ret;

	__builtin_memcpy(addr, &ip, 4);
	if (!current_context(cgid, &d)) {
		if (port == 53)
			return redirect_dns4(ctx, &d, action, proto, addr, cgid);
		judge_inet(&d, proto, 4, addr, port);
	}
	ret = verdict(&d, action, proto, 4, 0, addr, port, 0, cgid);
	if (ret == SYS_PROCEED && proto == IPPROTO_UDP)
		mark_socket(ctx->sk, 4, addr, port);
	if (ret == SYS_PROCEED && proto == IPPROTO_TCP && !d.reason) {
		struct tw_bk_dst b;

		if (brokered(&d, 4, addr, port, &b))
			redirect_broker(ctx, &b, 4, 0, addr, port);
	}
	return ret;
}

static __always_inline int inet6(struct bpf_sock_addr *ctx, __u8 action)
{
	struct decision d = {};
	__u8 addr[16] = {};
	__u32 a[4];
	__u16 port = bpf_ntohs(ctx->user_port);
	__u8 proto = sock_proto(ctx);
	__u64 cgid = bpf_get_current_cgroup_id();
	__u8 family = 6, embedded = 0;
	int ret;

	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
	if (embedded_v4(a, addr)) {
		family = 4;
		embedded = 1;
	} else {
		__builtin_memcpy(addr, a, 16);
	}
	if (!current_context(cgid, &d)) {
		if (port == 53)
			return redirect_dns6(ctx, &d, action, proto, a, cgid);
		judge_inet(&d, proto, family, addr, port);
	}
	ret = verdict(&d, action, proto, family, embedded, addr, port, 0, cgid);
	if (ret == SYS_PROCEED && proto == IPPROTO_UDP)
		mark_socket(ctx->sk, family, addr, port);
	if (ret == SYS_PROCEED && proto == IPPROTO_TCP && !d.reason) {
		struct tw_bk_dst b;

		if (brokered(&d, family, addr, port, &b))
			redirect_broker(ctx, &b, 6, embedded, (const __u8 *)a,
					port);
	}
	return ret;
}

SEC("cgroup/connect4")
int tw_connect4(struct bpf_sock_addr *ctx)
{
	return inet4(ctx, TW_ACT_CONNECT);
}

SEC("cgroup/connect6")
int tw_connect6(struct bpf_sock_addr *ctx)
{
	return inet6(ctx, TW_ACT_CONNECT);
}

SEC("cgroup/sendmsg4")
int tw_sendmsg4(struct bpf_sock_addr *ctx)
{
	return inet4(ctx, TW_ACT_SENDMSG);
}

SEC("cgroup/sendmsg6")
int tw_sendmsg6(struct bpf_sock_addr *ctx)
{
	return inet6(ctx, TW_ACT_SENDMSG);
}

/*
 * Replies from the resolver, and getpeername() of a redirected socket, show
 * the server the client asked for: strict clients (dig, unconnected
 * resolvers) drop answers from anyone else.
 */
static __always_inline int restore4(struct bpf_sock_addr *ctx)
{
	struct tw_sk_mark *m;
	__u32 ip = ctx->user_ip4, want, orig;

	if (!ctx->sk)
		return SYS_PROCEED;
	m = bpf_sk_storage_get(&tw_sk, ctx->sk, 0, 0);
	if (!m || !m->dns || m->family != 4)
		return SYS_PROCEED;
	__builtin_memcpy(&want, m->daddr, 4);
	if (ip != want || bpf_ntohs(ctx->user_port) != m->dport)
		return SYS_PROCEED;
	__builtin_memcpy(&orig, m->orig, 4);
	ctx->user_ip4 = orig;
	ctx->user_port = bpf_htons(m->orig_port);
	return SYS_PROCEED;
}

static __always_inline int restore6(struct bpf_sock_addr *ctx)
{
	struct tw_sk_mark *m;
	__u32 want[4], orig[4];

	if (!ctx->sk)
		return SYS_PROCEED;
	m = bpf_sk_storage_get(&tw_sk, ctx->sk, 0, 0);
	if (!m || !m->dns || m->family != 6)
		return SYS_PROCEED;
	__builtin_memcpy(want, m->daddr, 16);
	if (ctx->user_ip6[0] != want[0] || ctx->user_ip6[1] != want[1] ||
	    ctx->user_ip6[2] != want[2] || ctx->user_ip6[3] != want[3] ||
	    bpf_ntohs(ctx->user_port) != m->dport)
		return SYS_PROCEED;
	__builtin_memcpy(orig, m->orig, 16);
	ctx->user_ip6[0] = orig[0];
	ctx->user_ip6[1] = orig[1];
	ctx->user_ip6[2] = orig[2];
	ctx->user_ip6[3] = orig[3];
	ctx->user_port = bpf_htons(m->orig_port);
	return SYS_PROCEED;
}

SEC("cgroup/recvmsg4")
int tw_recvmsg4(struct bpf_sock_addr *ctx)
{
	return restore4(ctx);
}

SEC("cgroup/recvmsg6")
int tw_recvmsg6(struct bpf_sock_addr *ctx)
{
	return restore6(ctx);
}

SEC("cgroup/getpeername4")
int tw_peername4(struct bpf_sock_addr *ctx)
{
	return restore4(ctx);
}

SEC("cgroup/getpeername6")
int tw_peername6(struct bpf_sock_addr *ctx)
{
	return restore6(ctx);
}

/*
 * Unix socket hooks. Debian's libbpf 1.1 does not know their section names,
 * so they are declared as connect4 programs and the loader sets the expected
 * attach type (BPF_CGROUP_UNIX_CONNECT/SENDMSG) by number before load. The
 * address is read from the kernel's copy of the sockaddr.
 */
extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

static __always_inline int unix_hook(struct bpf_sock_addr *ctx, __u8 action)
{
	struct bpf_sock_addr_kern *sa = bpf_cast_to_kern_ctx(ctx);
	struct decision d = {};
	struct tw_unix_key key = {};
	char raw[TW_UNIX_PATH_LEN];
	struct tw_unix_val *v;
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 len;
	void *uaddr;

	/* sun_path follows the 2-byte sun_family. */
	len = sa->uaddrlen;
	len = len > 2 ? len - 2 : 0;
	uaddr = sa->uaddr;
	if (bpf_probe_read_kernel(raw, sizeof(raw), uaddr + 2))
		len = 0;
	for (int i = 0; i < TW_UNIX_PATH_LEN; i++) {
		char c = raw[i];

		if (i >= len)
			break;
		if (i == 0 && c == 0)
			c = '@'; /* abstract namespace */
		else if (c == 0)
			break;
		key.path[i] = c;
	}

	if (!current_context(cgid, &d)) {
		key.ctx = d.ctx;
		v = bpf_map_lookup_elem(&tw_unix, &key);
		if (v)
			d.rule = v->rule;
		else
			d.reason = TW_REASON_UNIX_PATH;
	}
	return verdict(&d, action, 0, 1, 0, 0, 0, key.path, cgid);
}

SEC("cgroup/connect4")
int tw_unix_conn(struct bpf_sock_addr *ctx)
{
	return unix_hook(ctx, TW_ACT_UNIX_CONNECT);
}

SEC("cgroup/connect4")
int tw_unix_send(struct bpf_sock_addr *ctx)
{
	return unix_hook(ctx, TW_ACT_UNIX_SENDMSG);
}

/*
 * Inbound. bind() may take a loopback address, or an address and port a
 * `listen` entry of the context holds; port 0 (an ephemeral port: a client
 * choosing its source address) on any address, since what then comes in is
 * judged at ingress. The ports the DNS redirect points at are never
 * granted, whatever the address: a call that held one would answer the
 * names of every context.
 */
static __always_inline bool loopback(__u8 family, const __u8 *addr)
{
	if (family == 4)
		return addr[0] == 127;
	for (int i = 0; i < 15; i++)
		if (addr[i])
			return false;
	return addr[15] == 1;
}

/* Does a `listen` entry hold ADDR:PORT (or, with WILD, the wildcard)? */
static __always_inline bool listen_granted(struct decision *d, __u8 proto,
					   __u8 family, const __u8 *addr,
					   __u16 port, bool wild)
{
	struct tw_rule_key key = {
		.ctx = d->ctx,
		.proto = proto | TW_PROTO_LISTEN,
		.family = family,
	};
	struct tw_rule_val *v;

	key.prefixlen = TW_KEY_FIXED_BITS + (family == 4 ? 32 : 128);
	__builtin_memcpy(key.addr, addr, 16);
	v = bpf_map_lookup_elem(&tw_rules, &key);
	if (v && port_in(v, port)) {
		d->rule = v->rule;
		return true;
	}
	if (!wild)
		return false;
	__builtin_memset(key.addr, 0, 16);
	v = bpf_map_lookup_elem(&tw_rules, &key);
	if (v && port_in(v, port)) {
		d->rule = v->rule;
		return true;
	}
	return false;
}

/* Is PEER a host some rule (any port) or learned address of the context
 * covers for PROTO? */
static __always_inline bool peer_reachable(struct decision *d, __u8 proto,
					   __u8 family, const __u8 *peer)
{
	struct tw_rule_key key = {
		.ctx = d->ctx,
		.proto = proto,
		.family = family,
	};
	struct tw_learn_key lk = {
		.ctx = d->ctx,
		.proto = proto,
		.family = family,
	};
	struct tw_rule_val *v;

	key.prefixlen = TW_KEY_FIXED_BITS + (family == 4 ? 32 : 128);
	__builtin_memcpy(key.addr, peer, 16);
	v = bpf_map_lookup_elem(&tw_rules, &key);
	if (v && v->nports)
		return true;
	__builtin_memcpy(lk.addr, peer, 16);
	return bpf_map_lookup_elem(&tw_learned, &lk) != 0;
}

/*
 * A new inbound flow to LOCAL:LPORT from PEER: both loopback, or a listen
 * entry for the local end (TCP only: for UDP, bind decided the port) and a
 * peer the context may reach.
 */
static __always_inline void judge_inbound(struct decision *d, __u8 proto,
					  __u8 family, const __u8 *local,
					  __u16 lport, const __u8 *peer)
{
	d->reason = 0;
	if (loopback(family, local) && loopback(family, peer))
		return;
	if (proto == IPPROTO_TCP &&
	    !listen_granted(d, proto, family, local, lport, true)) {
		d->reason = TW_REASON_LISTEN;
		return;
	}
	if (!peer_reachable(d, proto, family, peer))
		d->reason = TW_REASON_PEER;
}

static __always_inline void judge_bind(struct decision *d, __u8 proto,
				       __u8 family, const __u8 *addr,
				       __u16 port)
{
	__u32 p = port;

	d->reason = 0;
	if (port && bpf_map_lookup_elem(&tw_dns_ports, &p)) {
		d->reason = TW_REASON_RESOLVER_PORT;
		return;
	}
	if (!port || loopback(family, addr))
		return;
	if (!listen_granted(d, proto, family, addr, port, false))
		d->reason = TW_REASON_BIND;
}

SEC("cgroup/bind4")
int tw_bind4(struct bpf_sock_addr *ctx)
{
	struct decision d = {};
	__u8 addr[16] = {};
	__u32 ip = ctx->user_ip4;
	__u16 port = bpf_ntohs(ctx->user_port);
	__u8 proto = sock_proto(ctx);
	__u64 cgid = bpf_get_current_cgroup_id();

	__builtin_memcpy(addr, &ip, 4);
	if (!current_context(cgid, &d))
		judge_bind(&d, proto, 4, addr, port);
	return verdict(&d, TW_ACT_BIND, proto, 4, 0, addr, port, 0, cgid);
}

SEC("cgroup/bind6")
int tw_bind6(struct bpf_sock_addr *ctx)
{
	struct decision d = {};
	__u8 addr[16] = {};
	__u32 a[4];
	__u16 port = bpf_ntohs(ctx->user_port);
	__u8 proto = sock_proto(ctx);
	__u64 cgid = bpf_get_current_cgroup_id();
	__u8 family = 6, embedded = 0;

	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
	if (embedded_v4(a, addr)) {
		family = 4;
		embedded = 1;
	} else {
		__builtin_memcpy(addr, a, 16);
	}
	if (!current_context(cgid, &d))
		judge_bind(&d, proto, family, addr, port);
	return verdict(&d, TW_ACT_BIND, proto, family, embedded, addr, port, 0,
		       cgid);
}

/*
 * Multicast joins: the membership reports (IGMP, MLD) the kernel then sends
 * carry no socket of the call and pass every cgroup hook, so the join
 * itself is refused. Leaving, and every other option, go through.
 */
#define SOL_IP 0
#define SOL_IPV6 41
#define IP_ADD_MEMBERSHIP 35
#define IP_ADD_SOURCE_MEMBERSHIP 39
#define IP_MSFILTER 41
#define IPV6_ADD_MEMBERSHIP 20 /* IPV6_JOIN_GROUP */
#define IPV6_JOIN_ANYCAST 27
#define MCAST_JOIN_GROUP 42
#define MCAST_JOIN_SOURCE_GROUP 46
#define MCAST_MSFILTER 48
#define PAGE_SIZE_MIN 4096

static __always_inline bool mcast_join(int level, int name)
{
	if (name == MCAST_JOIN_GROUP || name == MCAST_JOIN_SOURCE_GROUP ||
	    name == MCAST_MSFILTER)
		return level == SOL_IP || level == SOL_IPV6;
	if (level == SOL_IP)
		return name == IP_ADD_MEMBERSHIP ||
		       name == IP_ADD_SOURCE_MEMBERSHIP || name == IP_MSFILTER;
	if (level == SOL_IPV6)
		return name == IPV6_ADD_MEMBERSHIP || name == IPV6_JOIN_ANYCAST;
	return false;
}

SEC("cgroup/setsockopt")
int tw_setsockopt(struct bpf_sockopt *ctx)
{
	struct decision d = {};
	__u64 cgid = bpf_get_current_cgroup_id();
	int level = ctx->level, name = ctx->optname;
	__u8 group[16] = {};
	__u8 *val = ctx->optval, *end = ctx->optval_end;
	__u32 family = 0;
	struct tw_event *e;

	if (!mcast_join(level, name)) {
		/* Past a page the program sees a prefix: let the kernel use
		 * the caller's own buffer. */
		if (ctx->optlen > PAGE_SIZE_MIN)
			ctx->optlen = 0;
		return SYS_PROCEED;
	}
	if (!current_context(cgid, &d))
		d.reason = TW_REASON_MULTICAST;
	/* The group: first in ip_mreq(n)/ip_mreq_source (IPv4) and
	 * ipv6_mreq (IPv6); group_req's sockaddr is not decoded. */
	if (name == IP_ADD_MEMBERSHIP || name == IP_ADD_SOURCE_MEMBERSHIP) {
		if (val + 4 <= end)
			__builtin_memcpy(group, val, 4);
	} else if (name == IPV6_ADD_MEMBERSHIP || name == IPV6_JOIN_ANYCAST) {
		if (val + 16 <= end)
			__builtin_memcpy(group, val, 16);
	}
	if (ctx->sk)
		family = ctx->sk->family;
	if (!hard_deny(d.reason) && d.mode == TW_MODE_ABI_AUDIT)
		count_ctx(&d, TW_STAT_AUDITED);
	else
		count_ctx(&d, d.reason == TW_REASON_NO_CONTEXT ?
				      TW_STAT_NOCTX : TW_STAT_DENIED);
	e = event_open(&d, TW_ACT_SETSOCKOPT, cgid);
	if (e) {
		e->family = level == SOL_IPV6 ? 6 : 4;
		e->sock_family = family;
		e->sock_type = (__u32)level;
		e->sock_proto = (__u32)name;
		__builtin_memcpy(e->daddr, group, 16);
		e->verdict = event_verdict(&d);
		tw_submit(&tw_events, e);
	}
	if (ctx->optlen > PAGE_SIZE_MIN)
		ctx->optlen = 0;
	if (d.mode == TW_MODE_ABI_AUDIT && !hard_deny(d.reason))
		return SYS_PROCEED;
	return SYS_REJECT;
}

SEC("cgroup/sock_create")
int tw_sock_create(struct bpf_sock *sk)
{
	struct decision d = {};
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 family = sk->family, type = sk->type, proto = sk->protocol;
	bool inet = family == AF_INET || family == AF_INET6;
	bool ok = inet && ((type == SOCK_STREAM && proto == IPPROTO_TCP) ||
			   (type == SOCK_DGRAM && proto == IPPROTO_UDP));
	struct tw_event *e;

	if (!current_context(cgid, &d) && !ok)
		d.reason = TW_REASON_SOCKET_TYPE;
	if (!d.reason) {
		count_ctx(&d, TW_STAT_ALLOWED);
		return SYS_PROCEED;
	}
	if (d.reason == TW_REASON_NO_CONTEXT)
		count(TW_STAT_NOCTX);
	count_ctx(&d, d.mode == TW_MODE_ABI_AUDIT && !hard_deny(d.reason) ?
			      TW_STAT_AUDITED : TW_STAT_DENIED);

	e = event_open(&d, TW_ACT_SOCKET, cgid);
	if (e) {
		e->sock_family = family;
		e->sock_type = type;
		e->sock_proto = proto;
		e->verdict = event_verdict(&d);
		tw_submit(&tw_events, e);
	}
	if (d.mode == TW_MODE_ABI_AUDIT && !hard_deny(d.reason))
		return SYS_PROCEED;
	return SYS_REJECT;
}

/*
 * Packet hooks. Egress, TCP: an initial SYN opens a path and is judged
 * again (or carries the DNS redirect's mark), then the socket is marked
 * with the policy generation; a SYN-ACK answers a new inbound flow and is
 * judged like the SYN at ingress; any other segment leaves at once while
 * its socket's mark is of the generation in force, else the connection is
 * judged again (outbound by its destination, or inbound by its local end
 * and peer) and cut off when no longer granted. UDP: granted when the
 * destination is allowed or is the peer the hooks granted under the
 * generation in force. Any other IP protocol (ICMP, SCTP...) is dropped.
 * Ingress: a TCP SYN or a UDP datagram to a context's socket is a new
 * inbound flow (judge_inbound); everything else is part of a flow judged
 * already.
 */
struct pkt {
	__u8 proto;
	__u8 flags; /* TCP flags */
	__u8 family;
	__u8 pad;
	__u16 sport;
	__u16 dport;
	__u8 saddr[16];
	__u8 daddr[16];
};

#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10

/* Parse IP and the TCP/UDP ports. 1: not IP; 0: parsed; -1: malformed. */
static __always_inline int load_pkt(struct __sk_buff *skb, struct pkt *p)
{
	__u8 hdr[14];
	__u32 off;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return -1;
		p->family = 4;
		p->proto = ip.protocol;
		__builtin_memcpy(p->saddr, &ip.saddr, 4);
		__builtin_memcpy(p->daddr, &ip.daddr, 4);
		off = ip.ihl * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return -1;
		p->family = 6;
		p->proto = ip6.nexthdr;
		__builtin_memcpy(p->saddr, &ip6.saddr, 16);
		__builtin_memcpy(p->daddr, &ip6.daddr, 16);
		off = sizeof(ip6);
	} else {
		return 1; /* not IP: ARP and the like */
	}
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return 0;
	if (bpf_skb_load_bytes(skb, off, hdr,
			       p->proto == IPPROTO_TCP ? 14 : 4))
		return -1;
	p->sport = ((__u16)hdr[0] << 8) | hdr[1];
	p->dport = ((__u16)hdr[2] << 8) | hdr[3];
	if (p->proto == IPPROTO_TCP)
		p->flags = hdr[13];
	return 0;
}

static __always_inline bool same_addr(const __u8 *a, const __u8 *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;

	return x[0] == y[0] && x[1] == y[1];
}

/* Judge an outbound TCP/UDP destination (IPv4-mapped folded). */
static __always_inline void judge_out(struct decision *d, struct pkt *p)
{
	__u8 v4[16] = {};

	if (p->family == 6 && embedded_v4((const __u32 *)p->daddr, v4))
		judge_inet(d, p->proto, 4, v4, p->dport);
	else
		judge_inet(d, p->proto, p->family, p->daddr, p->dport);
}

/*
 * A connection established under an older generation (or before its socket
 * was marked): still granted outbound, or inbound? Refreshes the mark.
 */
static __always_inline int rejudge(struct pkt *p, struct decision *d,
				   struct tw_sk_mark *m, struct bpf_sock *sk,
				   __u64 gen, __u64 cgid)
{
	if (m && m->dns) {
		m->gen = gen; /* our resolver: always granted */
		return SYS_PROCEED;
	}
	judge_out(d, p);
	if (d->reason)
		judge_inbound(d, p->proto, p->family, p->saddr, p->sport,
			      p->daddr);
	if (d->reason) {
		d->reason = TW_REASON_REVOKED;
		/* Once per socket per generation is enough of a record. */
		if (m && m->judged == 2 && m->gen == gen)
			return d->mode == TW_MODE_ABI_AUDIT ? SYS_PROCEED :
							      SYS_REJECT;
		if (!m && sk)
			m = bpf_sk_storage_get(&tw_sk, sk, 0,
					       BPF_SK_STORAGE_GET_F_CREATE);
		if (m) {
			m->judged = 2; /* revoked, recorded */
			m->gen = gen;
		}
		return verdict(d, TW_ACT_EGRESS, p->proto, p->family, 0,
			       p->daddr, p->dport, 0, cgid);
	}
	if (!m && sk)
		m = mark_socket(sk, p->family, p->daddr, p->dport);
	if (m) {
		if (m->judged == 2)
			m->judged = 1;
		m->gen = gen;
	}
	return SYS_PROCEED;
}

/*
 * The SYN of a connection redirected to the broker: tell the broker, under
 * the client end it will accept, where the connection was going.
 */
static __always_inline void broker_handoff(const struct decision *d,
					   const struct pkt *p,
					   const struct tw_sk_mark *m,
					   __u64 cgid)
{
	struct tw_bk_conn_key k = { .family = p->family, .port = p->sport };
	struct tw_bk_conn v = { .cgid = cgid, .port = m->orig_port,
				.origin = ~0u };
	struct tw_bk_dst b;
	__u32 orig[4];

	__builtin_memcpy(k.addr, p->saddr, 16);
	__builtin_memcpy(orig, m->orig, 16);
	if (m->family == 6 && embedded_v4(orig, v.addr))
		v.family = 4;
	else if (m->family == 6)
		v.family = 6;
	else
		v.family = 4;
	if (v.family == 6 || m->family == 4)
		__builtin_memcpy(v.addr, m->orig, 16);
	if (brokered(d, v.family, v.addr, v.port, &b))
		v.origin = b.origin;
	bpf_map_update_elem(&tw_bk_conn, &k, &v, BPF_ANY);
}

SEC("cgroup_skb/egress")
int tw_egress(struct __sk_buff *skb)
{
	struct decision d = {};
	struct pkt p = {};
	__u64 cgid = bpf_skb_cgroup_id(skb);
	struct bpf_sock *sk = skb->sk;
	struct tw_sk_mark *m = 0;
	bool syn, ack;
	__u64 gen;
	int r;

	r = load_pkt(skb, &p);
	if (r)
		return r > 0 ? SYS_PROCEED : SYS_REJECT;
	syn = p.proto == IPPROTO_TCP && (p.flags & TCP_FLAG_SYN);
	ack = p.flags & TCP_FLAG_ACK;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	gen = generation();

	/* Fast path: a segment of a connection judged under this policy. */
	if (p.proto == IPPROTO_TCP && !syn) {
		if (!sk)
			return SYS_PROCEED; /* time-wait: no data */
		m = bpf_sk_storage_get(&tw_sk, sk, 0, 0);
		if (m && m->gen == gen && m->judged == 1)
			return SYS_PROCEED;
	}

	if (current_context(cgid, &d)) {
		goto out;
	}
	if (sk && !m)
		m = bpf_sk_storage_get(&tw_sk, sk, 0, 0);

	if (p.proto == IPPROTO_TCP) {
		if (syn && ack) {
			/* Answer to an inbound SYN: ingress judged it, and
			 * in audit mode reported it already. */
			judge_inbound(&d, IPPROTO_TCP, p.family, p.saddr,
				      p.sport, p.daddr);
			if (d.reason && d.mode == TW_MODE_ABI_AUDIT)
				return SYS_PROCEED;
			return verdict_peer(&d, TW_ACT_ACCEPT, p.proto,
					    p.family, 0, p.saddr, p.sport, 0,
					    p.daddr, p.dport,
					    bpf_get_socket_uid(skb), cgid);
		}
		if (!syn)
			return rejudge(&p, &d, m, sk, gen, cgid);
		if (m && m->judged == 1 && m->dns) {
			m->gen = gen;
			if (m->dns == TW_REDIR_BROKER)
				broker_handoff(&d, &p, m, cgid);
			return SYS_PROCEED;
		}
		judge_out(&d, &p);
		if (!d.reason) {
			mark_socket(sk, p.family, p.daddr, p.dport);
			return SYS_PROCEED;
		}
		/* In audit mode connect() already reported this one; its
		 * later segments are not reported again under this policy. */
		if (d.mode == TW_MODE_ABI_AUDIT) {
			m = mark_socket(sk, p.family, p.daddr, p.dport);
			if (m)
				m->judged = 2;
			return SYS_PROCEED;
		}
	} else if (p.proto == IPPROTO_UDP) {
		if (m && m->judged && m->dport == p.dport &&
		    same_addr(m->daddr, p.daddr)) {
			if (m->gen == gen && m->judged == 1)
				return SYS_PROCEED;
			return rejudge(&p, &d, m, sk, gen, cgid);
		}
		judge_out(&d, &p);
	} else {
		d.reason = TW_REASON_EGRESS;
	}
	if (d.reason == TW_REASON_NO_RULE || d.reason == TW_REASON_PORT)
		d.reason = TW_REASON_EGRESS;
out:
	return verdict(&d, TW_ACT_EGRESS, p.proto, p.family, 0, p.daddr,
		       p.dport, 0, cgid);
}

SEC("cgroup_skb/ingress")
int tw_ingress(struct __sk_buff *skb)
{
	struct decision d = {};
	struct pkt p = {};
	__u64 cgid;
	struct bpf_sock *sk;
	struct tw_sk_mark *m;
	int r;

	r = load_pkt(skb, &p);
	if (r)
		return r > 0 ? SYS_PROCEED : SYS_REJECT;
	if (p.proto == IPPROTO_TCP) {
		/* Only an initial SYN starts an inbound flow. */
		if (!(p.flags & TCP_FLAG_SYN) || (p.flags & TCP_FLAG_ACK))
			return SYS_PROCEED;
	} else if (p.proto != IPPROTO_UDP) {
		return SYS_PROCEED; /* ICMP errors and the like */
	}
	if (p.proto == IPPROTO_UDP && loopback(p.family, p.saddr))
		return SYS_PROCEED;
	sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	/* A reply from the peer the hooks granted to this UDP socket. */
	if (p.proto == IPPROTO_UDP && sk) {
		m = bpf_sk_storage_get(&tw_sk, sk, 0, 0);
		if (m && m->judged == 1 && m->dport == p.sport &&
		    same_addr(m->daddr, p.saddr))
			return SYS_PROCEED;
	}
	cgid = bpf_skb_cgroup_id(skb);
	if (!current_context(cgid, &d))
		judge_inbound(&d, p.proto, p.family, p.daddr, p.dport,
			      p.saddr);
	return verdict_peer(&d, TW_ACT_ACCEPT, p.proto, p.family, 0, p.daddr,
			    p.dport, 0, p.saddr, p.sport, bpf_get_socket_uid(skb),
			    cgid);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

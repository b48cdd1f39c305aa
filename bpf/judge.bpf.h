/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * judge.bpf.h - stage 2 of a verdict: a destination against the maps.
 * Which context is asking (and its grant scopes), then an inet destination
 * against the context's rules, the addresses its resolver learned and the
 * live grants; a socket's mark once judged; inbound flows and bind()
 * against the `listen` entries. Each sets d->reason (0: granted).
 */
#ifndef TW_JUDGE_BPF_H
#define TW_JUDGE_BPF_H

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
 * again at each). One per value type: the verifier checks a global
 * function's pointer against the size of the type it points to.
 */
__noinline int tw_rule_port_in(const struct tw_rule_val *v, __u16 port)
{
	return v && ports_hold(v->ports, v->nports, port);
}

__noinline int tw_grant_port_in(const struct tw_grant_val *v, __u16 port)
{
	return v && ports_hold(v->ports, v->nports, port);
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
	if (v && tw_rule_port_in(v, port)) {
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
		d->reason = tw_rule_port_in(v, port) ? 0 : TW_REASON_PORT;
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
	if (v && tw_rule_port_in(v, port)) {
		d->rule = v->rule;
		return true;
	}
	if (!wild)
		return false;
	__builtin_memset(key.addr, 0, 16);
	v = bpf_map_lookup_elem(&tw_rules, &key);
	if (v && tw_rule_port_in(v, port)) {
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

#endif /* TW_JUDGE_BPF_H */

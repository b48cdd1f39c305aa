/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sock_maps.bpf.h - what the socket hooks read and write besides the
 * context tables (context.bpf.h): the allowlists the daemon compiles from
 * the bundles (inet, unix, listen), the resolver's learned addresses, the
 * grants, the redirects (DNS, broker), the per-socket mark, the ring buffer
 * and the counters; and the decision each hook builds (struct decision).
 * Stage 1 of a verdict: policy -> maps.
 */
#ifndef TW_SOCK_MAPS_BPF_H
#define TW_SOCK_MAPS_BPF_H

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

#endif /* TW_SOCK_MAPS_BPF_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * redirect.bpf.h - connections the hooks send elsewhere than asked: DNS to
 * the context's resolver, a brokered credential's service to the
 * credential broker (its own or a grant's); and the way back, so
 * recvmsg() and getpeername() show the address the call asked for.
 */
#ifndef TW_REDIRECT_BPF_H
#define TW_REDIRECT_BPF_H

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

#endif /* TW_REDIRECT_BPF_H */

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
 * the kernel expects. Rule semantics are written down in toolwall.h. The
 * helpers are in headers by stage: sock_maps.bpf.h (the maps and the
 * decision), judge.bpf.h (a destination against them), verdict.bpf.h (the
 * answer and its event), redirect.bpf.h (DNS and the broker).
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
#include "sock_maps.bpf.h"
#include "judge.bpf.h"
#include "verdict.bpf.h"

static __always_inline __u8 sock_proto(struct bpf_sock_addr *ctx)
{
	return ctx->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
}

#include "redirect.bpf.h"

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


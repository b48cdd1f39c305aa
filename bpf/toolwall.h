/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * toolwall.h - the ABI shared by the eBPF programs (bpf/sock.bpf.c) and
 * user space (user/kernel/maps.c, user/daemon/daemon.c). Fixed-width types only, explicit
 * padding, sizes checked at compile time on both sides.
 *
 * Rule semantics, as the kernel applies them:
 *
 *   A socket operation of a process is judged in the context of the cgroup
 *   the process runs in (tw_cgroups, keyed by cgroup id and the active slot
 *   of tw_state). A cgroup below the toolwall root with no entry has no
 *   context and is denied everything, whatever the mode.
 *
 *   An inet destination (connect, unconnected sendmsg) is granted when the
 *   longest prefix in tw_rules for (context, protocol, family, address)
 *   exists and its port set holds the destination port; otherwise it is
 *   denied. IPv4-mapped IPv6 destinations (::ffff:0:0/96) are judged as
 *   the IPv4 address they carry; every other IPv6 address (NAT64, 6to4,
 *   compatible, Teredo) is an IPv6 host judged by IPv6 rules. A unix destination is granted when (context, path) is in
 *   tw_unix (abstract names as "@name").
 *
 *   bind() (bind4/bind6) of a context is granted for a loopback address
 *   (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104), or for an address and port a
 *   `listen` entry holds (tw_rules with proto | TW_PROTO_LISTEN; the
 *   wildcard 0.0.0.0 / :: is an address like any other, not loopback).
 *   Port 0 (an ephemeral port: a client choosing its source) is granted on
 *   any address; what then comes in is judged at ingress. A port the DNS
 *   redirect points at (tw_dns_ports) is never granted, on any address.
 *
 *   A new inbound flow (a TCP SYN received, a SYN-ACK sent, any UDP
 *   datagram received) of a context's socket is granted when both ends are
 *   loopback, or when the local address and port are granted by a `listen`
 *   entry (the local address itself or the wildcard) AND the peer is a host
 *   some rule of the context covers for that protocol (any port), or a
 *   learned address. UDP needs no listen entry (bind decides the port).
 *
 *   setsockopt() joins of a multicast group (IP_ADD_MEMBERSHIP,
 *   IP_ADD_SOURCE_MEMBERSHIP, IPV6_JOIN_GROUP, IPV6_JOIN_ANYCAST,
 *   MCAST_JOIN_GROUP, MCAST_JOIN_SOURCE_GROUP, IP_MSFILTER, MCAST_MSFILTER)
 *   are denied: the kernel's membership reports carry no socket of the call.
 *
 *   A socket judged under one policy generation is judged again by the
 *   egress backstop on its first packet under a newer one (tw_state
 *   generation): a connected UDP socket or an established TCP connection
 *   whose grant a reload removed is cut off (packets dropped, one record).
 *
 *   Socket creation in a context is granted for AF_INET and AF_INET6 TCP and
 *   UDP sockets only. Everything else the sock_create hook sees is denied.
 *
 *   In audit mode a would-be denial is granted and reported; with no
 *   context, denials are enforced regardless of mode (fail closed).
 *
 * Byte order: addresses are network order; ports in tw_port_range and in
 * events are host order. Context keys (ctx) are host order.
 *
 * Atomic reload: every context-dependent key carries a context key whose top
 * bit is the slot (0 or 1). User space fills the inactive slot completely,
 * then flips tw_state.slot with one array update; a program reads the slot
 * once per decision, so a decision never mixes two policy revisions and
 * never sees an empty allowlist.
 */
#ifndef TW_TOOLWALL_H
#define TW_TOOLWALL_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TW_ABI_VERSION 1

#define TW_PORT_RANGES 16	/* port ranges per LPM entry */
#define TW_UNIX_PATH_LEN 108	/* sizeof(sun_path) */
#define TW_MAX_CGROUPS 65536	/* both slots together */
#define TW_MAX_LPM (1 << 20)	/* LPM entries, both slots together */
#define TW_MAX_UNIX 65536	/* unix rules, both slots together */
#define TW_MAX_LEARNED 262144	/* learned DNS addresses, both slots */
#define TW_MAX_DNS 8192		/* resolver targets, both slots */
#define TW_MAX_DNS_PORTS 16384	/* resolver ports no call may bind */
#define TW_MAX_BROKERED 65536	/* brokered service addresses, both slots */
#define TW_MAX_BK_CONN 16384	/* redirected connections not yet accepted */
#define TW_RINGBUF_SIZE (4 << 20)
/*
 * Events are submitted without waking the daemon (a wakeup per event costs
 * several microseconds in the denied syscall) until this much is waiting;
 * the daemon also drains every TW_DRAIN_MS, and before answering call-end.
 */
#define TW_WAKEUP_BYTES (64 << 10)
#define TW_DRAIN_MS 100

#define TW_SLOT_BIT 0x80000000u
#define TW_CTX_KEY(slot, idx) (((__u32)(slot) << 31) | (__u32)(idx))
#define TW_CTX_SLOT(key) ((key) >> 31)
#define TW_CTX_IDX(key) ((key) & ~TW_SLOT_BIT)
#define TW_CTX_NONE 0xffffffffu	/* event: the cgroup has no context */

/*
 * tw_rule_key.proto of a `listen` entry: IPPROTO_TCP/UDP | TW_PROTO_LISTEN.
 * Listen entries share the LPM trie (and its slot flip) with connect rules.
 */
#define TW_PROTO_LISTEN 0x80

/* Bits of tw_rule_key covered by every prefix before the address. */
#define TW_KEY_FIXED_BITS 64

enum tw_mode_abi {
	TW_MODE_ABI_ENFORCE = 1,
	TW_MODE_ABI_AUDIT = 2,
};

/* tw_rules (LPM trie) key. */
struct tw_rule_key {
	__u32 prefixlen; /* TW_KEY_FIXED_BITS + address prefix length */
	__u32 ctx;	 /* context key (slot bit | index) */
	__u8 proto;	 /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;	 /* 4 or 6 */
	__u8 pad[2];	 /* zero */
	__u8 addr[16];	 /* network order; IPv4 in the first 4 bytes */
};

struct tw_kport {
	__u16 lo; /* host order, inclusive */
	__u16 hi;
};

/* tw_rules value. */
struct tw_rule_val {
	__u32 rule;   /* index of the compiled rule, for attribution */
	__u16 nports; /* ranges in use */
	__u16 pad;
	struct tw_kport ports[TW_PORT_RANGES];
};

/* tw_unix key. */
struct tw_unix_key {
	__u32 ctx;
	char path[TW_UNIX_PATH_LEN]; /* NUL padded; abstract names as "@..." */
};

struct tw_unix_val {
	__u32 rule;
};

/* tw_cgroups key and value. */
struct tw_cg_key {
	__u64 cgid;
	__u32 slot;
	__u32 pad;
};

struct tw_cg_val {
	__u32 ctx;  /* context key */
	__u8 mode;  /* enum tw_mode_abi */
	__u8 pad[3];
};

/*
 * tw_dns value, keyed by context key: the daemon's resolver for that
 * context. Every port-53 destination of the context (TCP or UDP, any
 * address, connected or not) is rewritten to it; replies and getpeername()
 * show the address the client asked for.
 */
struct tw_dns_target {
	__u8 addr4[4];	/* network order (127.0.0.1) */
	__u16 udp4;	/* host order; 0: none */
	__u16 tcp4;
	__u8 addr6[16]; /* network order (::1) */
	__u16 udp6;
	__u16 tcp6;
};

/*
 * tw_learned key: an address a context's resolver answered for a name the
 * context may use, granted with that rule's ports until the TTL runs out.
 * Judged after tw_rules: granted when the key exists and holds the port.
 */
struct tw_learn_key {
	__u32 ctx;
	__u8 proto;
	__u8 family;
	__u8 pad[2];
	__u8 addr[16];
};

/*
 * Brokered credentials. A TCP connect of a context to an address and port
 * in tw_bk_dst (a `services` origin of one of its brokered credentials,
 * granted by its rules) is redirected to the broker's listener on loopback
 * (127.0.0.1, ::1, or ::ffff:127.0.0.1 for an IPv4-mapped destination);
 * getpeername() shows the original destination. The connection's first
 * packet (its SYN) leaves, in tw_bk_conn under the client's address and
 * port as the broker will see them, where it was going, for which origin,
 * from which cgroup. Nothing else is redirected. With the broker down the
 * listener is closed: the connect fails with ECONNREFUSED, never direct.
 */
struct tw_bk_key {
	__u32 ctx;	/* context key (slot bit | index) */
	__u8 family;	/* 4 or 6, as judged (IPv4-mapped: 4) */
	__u8 pad;
	__u16 port;	/* host order */
	__u8 addr[16];	/* network order; IPv4 in the first 4 bytes */
};

struct tw_bk_dst {
	__u32 origin;	/* the daemon's index of the origin */
	__u16 port;	/* the broker's listener port, host order */
	__u16 pad;
};

struct tw_bk_conn_key {
	__u8 family;	/* of the client end: 4 or 6 */
	__u8 pad;
	__u16 port;	/* client port, host order */
	__u8 addr[16];	/* client address, network order */
};

struct tw_bk_conn {
	__u64 cgid;	/* cgroup of the socket (the tool call's) */
	__u32 origin;	/* as in tw_bk_dst; ~0: unknown (a reload between) */
	__u16 port;	/* original destination port, host order */
	__u8 family;	/* original destination, as judged: 4 or 6 */
	__u8 pad;
	__u8 addr[16];	/* original destination, network order */
};

/* Grants and quarantine (see the semantics at the top). */
#define TW_GRANT_SLOTS 8	/* live grants per scope */
#define TW_MAX_SCOPES 16384	/* scopes with grants or a quarantine */
#define TW_MAX_GRANT_LPM 65536	/* granted prefixes, every scope */
/* Bits of tw_grant_key covered by every prefix before the address. */
#define TW_GKEY_FIXED_BITS 96

enum tw_scope_kind {
	TW_SCOPE_CTX = 1,  /* scope: a context key (slot bit | index) */
	TW_SCOPE_CALL = 2, /* scope: a tool call's cgroup id */
};

/* tw_grants (LPM trie) key. */
struct tw_grant_key {
	__u32 prefixlen; /* TW_GKEY_FIXED_BITS + address prefix length */
	__u8 kind;	 /* enum tw_scope_kind */
	__u8 gslot;	 /* grant slot in the scope, < TW_GRANT_SLOTS */
	__u8 proto;	 /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;	 /* 4 or 6 */
	__u64 scope;	 /* host order */
	__u8 addr[16];	 /* network order; IPv4 in the first 4 bytes */
};

/* tw_grants value: a granted prefix, its ports and its deadline. */
struct tw_grant_val {
	__u64 deadline; /* CLOCK_BOOTTIME ns; granted while now < deadline */
	__u32 grant;	/* the daemon's number of the grant (records) */
	__u16 nports;
	__u16 pad;
	struct tw_kport ports[TW_PORT_RANGES];
};

/*
 * tw_bk_grant: the brokered services of granted bundles. A TCP connect the
 * rules or a grant allow, to an address and port no tw_bk_dst entry of the
 * context holds, is redirected to the broker (as for tw_bk_dst) when a
 * live grant slot of the call's or the context's scope holds it with a
 * deadline ahead (CLOCK_BOOTTIME, like tw_grant_val): at the deadline the
 * redirect ends in the kernel, daemon or not, and the connect is judged by
 * the context's own policy again.
 */
#define TW_MAX_BK_GRANT 16384	/* granted brokered service addresses */

struct tw_bk_gkey {
	__u8 kind;	/* enum tw_scope_kind */
	__u8 gslot;	/* grant slot in the scope, < TW_GRANT_SLOTS */
	__u8 family;	/* 4 or 6, as judged (IPv4-mapped: 4) */
	__u8 pad;
	__u16 port;	/* host order */
	__u16 pad2;
	__u64 scope;	/* host order, as in tw_grant_key */
	__u8 addr[16];	/* network order; IPv4 in the first 4 bytes */
};

struct tw_bk_gval {
	__u64 deadline; /* CLOCK_BOOTTIME ns; redirected while now < deadline */
	__u32 origin;	/* as in tw_bk_dst */
	__u16 port;	/* the broker's listener port, host order */
	__u16 pad;
};

/* tw_scopes key and value. */
struct tw_scope_key {
	__u32 kind; /* enum tw_scope_kind */
	__u32 pad;
	__u64 scope;
};

struct tw_scope_val {
	__u64 quarantined; /* CLOCK_BOOTTIME ns when quarantined; 0: not */
	__u32 gslots;	   /* bit i: grant slot i may hold entries */
	__u32 pad;
};

/* tw_state[0]: the active slot, flipped by user space. */
struct tw_state {
	__u32 slot;
	__u32 abi;	   /* TW_ABI_VERSION of the writer */
	__u64 generation;  /* bumped at every flip */
	__u64 lost_seen;   /* user space: lost events already reported */
	__u8 revision[32]; /* SHA-256 of the policy in force */
};

/*
 * tw_budget: each context's budget of denial events (an ARRAY, mmapped by
 * the daemon). Entry TW_BUDGET_IDX(ctx key): slot * TW_BUDGET_CTX +
 * context index; TW_BUDGET_NONE for cgroups with no context. A token
 * bucket: RATE events a second, BURST at most at once. An event the
 * bucket has no token for is not written to the ring buffer: SUPPRESSED
 * (SUPPRESSED_AUDIT for audit-mode would-be denials, SUPPRESSED_SYS for
 * the syscall audit's refused syscalls: one bucket for all three) counts it
 * exactly (atomic add), and the daemon takes the count (atomic exchange
 * with 0) into a `lost` record naming the context. So one
 * flooding context fills neither the ring nor the log for the others, and
 * loses only its own records, counted. The verdict never depends on it.
 * RATE 0: no budget. Only user space writes RATE and BURST, and only for
 * the inactive slot (before the flip) or TW_BUDGET_NONE.
 */
#define TW_BUDGET_CTX 4096 /* contexts per slot (TW_MAX_CONTEXTS) */
#define TW_BUDGET_NONE (2 * TW_BUDGET_CTX)
#define TW_BUDGET_ENTRIES (2 * TW_BUDGET_CTX + 1)
#define TW_BUDGET_IDX(key)                                                  \
	((key) == TW_CTX_NONE ? TW_BUDGET_NONE :                            \
				TW_CTX_SLOT(key) * TW_BUDGET_CTX + TW_CTX_IDX(key))
#define TW_BUDGET_RATE 200    /* default: events a second per context */
#define TW_BUDGET_BURST 1000  /* default: events at once per context */
#define TW_BUDGET_MAX_RATE 1000000

struct tw_budget {
	__u64 suppressed; /* denials not written (BPF adds, user space takes) */
	__u64 suppressed_audit; /* audit-mode would-be denials, likewise */
	__u64 suppressed_sys;	/* refused syscalls (proc.bpf.c), likewise */
	__u64 last_ns;	  /* bpf_ktime_get_ns() of the last refill */
	__u64 tokens;	  /* events that may be written now */
	__u32 rate;	  /* events a second; 0: unlimited */
	__u32 burst;	  /* most tokens held */
};

/* Per-CPU counters in tw_stats. */
enum tw_stat {
	TW_STAT_ALLOWED = 0,
	TW_STAT_DENIED,
	TW_STAT_AUDITED,
	TW_STAT_NOCTX,	/* decisions in a cgroup with no context */
	TW_STAT_LOST,	/* events that did not fit in the ring buffer */
	TW_STAT_DNS,	/* DNS packets/connections redirected to the resolver */
	TW_STAT_LEARNED, /* decisions granted by a learned DNS address */
	TW_STAT_MAX,
};

/*
 * tw_ctx_stats: each context's decisions (a per-CPU ARRAY), entry
 * TW_BUDGET_IDX(ctx key) as in tw_budget, for `--metrics`. A slot's
 * entries count for the revision in it; user space takes them (and zeroes
 * them) before it refills the slot, so no count moves to another context.
 * Decisions in a cgroup with no context are only in tw_stats.
 */
struct tw_ctx_stat {
	__u64 allowed;
	__u64 denied;
	__u64 audited; /* audit-mode would-be denials, let through */
};

enum tw_action {
	TW_ACT_CONNECT = 1, /* connect(), TFO sendto, io_uring connect */
	TW_ACT_SENDMSG,	    /* unconnected UDP sendto/sendmsg/sendmmsg */
	TW_ACT_SOCKET,	    /* socket creation */
	TW_ACT_UNIX_CONNECT,
	TW_ACT_UNIX_SENDMSG,
	TW_ACT_EGRESS,	    /* packet the address hooks did not see */
	TW_ACT_BIND,	    /* bind() */
	TW_ACT_ACCEPT,	    /* a new inbound flow (SYN in, SYN-ACK out, UDP in) */
	TW_ACT_SETSOCKOPT,  /* a multicast join */
};

enum tw_verdict {
	TW_VERDICT_DENY = 1,
	TW_VERDICT_AUDIT, /* would be denied; audit mode let it through */
};

enum tw_reason {
	TW_REASON_NO_RULE = 1, /* no rule covers the address */
	TW_REASON_PORT,	       /* address covered, port not */
	TW_REASON_NO_CONTEXT,  /* cgroup maps to no context */
	TW_REASON_SOCKET_TYPE, /* family/type/protocol not allowed */
	TW_REASON_UNIX_PATH,   /* no rule for the unix path */
	TW_REASON_EGRESS,      /* packet bypassed the address hooks */
	TW_REASON_NO_RESOLVER, /* DNS, but the context has no resolver */
	TW_REASON_BIND,	       /* address/port neither loopback nor listen */
	TW_REASON_RESOLVER_PORT, /* the port of a DNS resolver listener */
	TW_REASON_LISTEN,      /* inbound to a local address/port no listen
				  entry holds */
	TW_REASON_PEER,	       /* inbound from a host no rule covers */
	TW_REASON_MULTICAST,   /* a multicast group join */
	TW_REASON_REVOKED,     /* granted under an older policy generation,
				  not by the one in force */
	TW_REASON_QUARANTINE,  /* the call or its context is quarantined */
};

/* Ring buffer record of one denial (or audit-mode would-be denial). */
struct tw_event {
	__u64 ts_ns; /* bpf_ktime_get_boot_ns() */
	__u64 cgid;
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 uid;
	__u32 ctx;  /* context key or TW_CTX_NONE */
	__u32 rule; /* for TW_REASON_PORT: the covering rule, else ~0 */
	__u16 dport; /* host order */
	__u8 action;
	__u8 verdict;
	__u8 reason;
	__u8 proto;	  /* IPPROTO_*; 0 for unix */
	__u8 family;	  /* family judged: 4, 6, or 1 (unix) */
	__u8 embedded;	  /* 1: an IPv6 destination judged as IPv4 */
	__u32 sock_family; /* socket(): the requested family, type, protocol;
			      setsockopt: the socket's family, */
	__u32 sock_type;   /* the option's level */
	__u32 sock_proto;  /* and name */
	__u32 pad;
	__u8 daddr[16];	  /* network order; bind: the address bound;
			     accept: the local address; setsockopt: the group */
	char comm[16];
	union {
		char path[TW_UNIX_PATH_LEN];
		struct {
			__u8 saddr[16]; /* accept: the peer */
			__u16 sport;	/* host order */
			__u8 pad[2];
		} peer;
	};
	__u8 pad2[4];
};

#define TW_EVENT_SIZE 208

/*
 * Syscall audit (proc.bpf.c): tracepoints that observe, never decide.
 *
 *   sched_process_exec  every program that starts in a context cgroup,
 *                       with its argv (TW_PROC_EXEC)
 *   raw sys_exit        every watched syscall of a context process that
 *                       failed with EACCES or EPERM (TW_PROC_DENIED):
 *                       Landlock, seccomp or file permissions said no
 *
 * Which syscalls are watched, and where their path argument is, is the
 * tw_sys_watch array (indexed by syscall number), filled by user space from
 * <sys/syscall.h>: the programs carry no syscall table of their own.
 */
#define TW_PROC_PATH_LEN 256
#define TW_PROC_ARGV_LEN 1024
#define TW_SYS_WATCH_MAX 1024	/* syscall numbers below this */
#define TW_PROC_RINGBUF_SIZE (4 << 20)

enum tw_proc_kind {
	TW_PROC_EXEC = 1,   /* a program started (argv in argv[]) */
	TW_PROC_DENIED,	    /* a watched syscall failed EACCES/EPERM */
};

/* tw_sys_watch value; action 0: not watched. */
struct tw_sys_watch {
	__u8 action;   /* enum tw_sys_action (user space names it) */
	__s8 path_arg; /* argument holding a user path, or -1 */
	__u8 flags;    /* TW_SYSW_* */
	__u8 pad;
};

/* socket()/socketpair(): inet families are the socket hooks' to record. */
#define TW_SYSW_SKIP_INET 0x01

/* Per-CPU counters in tw_proc_stats. */
enum tw_proc_stat {
	TW_PSTAT_EXEC = 0,
	TW_PSTAT_DENIED, /* refusals seen (recorded, or over budget: tw_budget) */
	TW_PSTAT_LOST, /* events that did not fit in the ring buffer */
	TW_PSTAT_MAX,
};

/* tw_proc_state[0]: user space's bookkeeping of what it reported. */
struct tw_proc_state {
	__u64 lost_seen;
};

/* Ring buffer record (tw_proc_events) of one exec or one denied syscall. */
struct tw_proc_event {
	__u64 ts_ns; /* bpf_ktime_get_boot_ns() */
	__u64 cgid;
	__u32 pid; /* tgid */
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 ctx;   /* context key */
	__u32 sysnr; /* TW_PROC_DENIED: the syscall */
	__s32 err;   /* TW_PROC_DENIED: positive errno */
	__u16 argv_len; /* bytes in argv[] (NUL separated) */
	__u8 kind;	/* enum tw_proc_kind */
	__u8 truncated; /* 1: path cut short; 2: argv cut short */
	__u64 args[6];	/* TW_PROC_DENIED: the syscall's arguments */
	char comm[16];
	char path[TW_PROC_PATH_LEN]; /* exec: the file; denied: the path arg */
	char argv[TW_PROC_ARGV_LEN]; /* TW_PROC_EXEC only */
};

#define TW_PROC_EVENT_SIZE 1392
/* TW_PROC_DENIED records end before argv[]. */
#define TW_PROC_DENIED_SIZE 368

#ifndef __bpf__
_Static_assert(sizeof(struct tw_rule_key) == 28, "tw_rule_key layout");
_Static_assert(sizeof(struct tw_rule_val) == 72, "tw_rule_val layout");
_Static_assert(sizeof(struct tw_unix_key) == 112, "tw_unix_key layout");
_Static_assert(sizeof(struct tw_cg_key) == 16, "tw_cg_key layout");
_Static_assert(sizeof(struct tw_cg_val) == 8, "tw_cg_val layout");
_Static_assert(sizeof(struct tw_state) == 56, "tw_state layout");
_Static_assert(sizeof(struct tw_budget) == 48, "tw_budget layout");
_Static_assert(sizeof(struct tw_dns_target) == 28, "tw_dns_target layout");
_Static_assert(sizeof(struct tw_learn_key) == 24, "tw_learn_key layout");
_Static_assert(sizeof(struct tw_bk_key) == 24, "tw_bk_key layout");
_Static_assert(sizeof(struct tw_bk_dst) == 8, "tw_bk_dst layout");
_Static_assert(sizeof(struct tw_bk_conn_key) == 20, "tw_bk_conn_key layout");
_Static_assert(sizeof(struct tw_bk_conn) == 32, "tw_bk_conn layout");
_Static_assert(sizeof(struct tw_bk_gkey) == 32, "tw_bk_gkey layout");
_Static_assert(sizeof(struct tw_bk_gval) == 16, "tw_bk_gval layout");
_Static_assert(sizeof(struct tw_grant_key) == 32, "tw_grant_key layout");
_Static_assert(sizeof(struct tw_grant_val) == 80, "tw_grant_val layout");
_Static_assert(sizeof(struct tw_scope_key) == 16, "tw_scope_key layout");
_Static_assert(sizeof(struct tw_scope_val) == 16, "tw_scope_val layout");
_Static_assert(sizeof(struct tw_event) == TW_EVENT_SIZE, "tw_event layout");
_Static_assert(sizeof(struct tw_proc_event) == TW_PROC_EVENT_SIZE,
	       "tw_proc_event layout");
_Static_assert(sizeof(struct tw_sys_watch) == 4, "tw_sys_watch layout");
_Static_assert(__builtin_offsetof(struct tw_proc_event, argv) ==
		       TW_PROC_DENIED_SIZE,
	       "tw_proc_event: refusals end before argv");
#endif

#endif

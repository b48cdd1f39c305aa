/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * verdict.bpf.h - stage 3 of a verdict: a decision becomes the hook's
 * return value (granted, audit-mode report, or denial), counted per
 * context, and every report or denial an event in the ring buffer for the
 * daemon's audit log (budgeted per context).
 */
#ifndef TW_VERDICT_BPF_H
#define TW_VERDICT_BPF_H

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

#endif /* TW_VERDICT_BPF_H */

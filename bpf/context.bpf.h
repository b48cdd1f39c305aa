/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * context.bpf.h - what the socket hooks (sock.bpf.c) and the syscall audit
 * (proc.bpf.c) share: the maps that say which context a process is in
 * (both objects declare them identically; the loader pins them once and the
 * second object reuses the pins, so both read one table), the lookup
 * itself, counters and the ring-buffer submit policy.
 */
#ifndef TW_CONTEXT_BPF_H
#define TW_CONTEXT_BPF_H

/* Active slot, flipped by user space for an atomic policy swap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_state);
} tw_state SEC(".maps");

/* (cgroup id, slot) -> context: which context a process is in. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TW_MAX_CGROUPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tw_cg_key);
	__type(value, struct tw_cg_val);
} tw_cgroups SEC(".maps");

/* The context entry of cgroup CGID in the active slot, or NULL. */
static __always_inline struct tw_cg_val *tw_context_of(__u64 cgid)
{
	__u32 zero = 0;
	struct tw_state *st = bpf_map_lookup_elem(&tw_state, &zero);
	struct tw_cg_key key = { .cgid = cgid };

	if (!st)
		return 0;
	key.slot = st->slot & 1;
	return bpf_map_lookup_elem(&tw_cgroups, &key);
}

/*
 * Each context's budget of denial events (see toolwall.h): mmapped by the
 * daemon, which sets the rates and takes the counts of suppressed events.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TW_BUDGET_ENTRIES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct tw_budget);
} tw_budget SEC(".maps");

#define TW_NSEC 1000000000ull
#define TW_BUDGET_IDLE (1000 * TW_NSEC) /* a bucket idle this long is full */

/*
 * May context CTX write one more denial event? Takes a token from its
 * bucket (refilled at its rate since the last refill); with none left the
 * event is counted as suppressed (by KIND: a denial, an audit-mode
 * would-be denial, a refused syscall) and false returned. Concurrent CPUs may each take the last token: the
 * budget is approximate, the count of what was not written is exact.
 */
enum tw_budget_kind { TW_BUDGET_DENY, TW_BUDGET_AUDIT, TW_BUDGET_SYS };

static __always_inline bool tw_budget_take(__u32 ctx, int kind)
{
	__u32 i = TW_BUDGET_IDX(ctx);
	struct tw_budget *b;
	__u64 now, elapsed, add, t;

	if (ctx != TW_CTX_NONE && TW_CTX_IDX(ctx) >= TW_BUDGET_CTX)
		return true;
	b = bpf_map_lookup_elem(&tw_budget, &i);
	if (!b || !b->rate)
		return true;
	now = bpf_ktime_get_ns();
	t = b->tokens;
	elapsed = now > b->last_ns ? now - b->last_ns : 0;
	if (elapsed >= TW_BUDGET_IDLE) {
		t = b->burst;
		b->last_ns = now;
	} else {
		add = elapsed * b->rate / TW_NSEC;
		if (add) {
			t += add;
			if (t >= b->burst) {
				t = b->burst;
				b->last_ns = now;
			} else {
				/* keep the fraction of a token for later */
				b->last_ns += add * TW_NSEC / b->rate;
			}
		}
	}
	if (t) {
		b->tokens = t - 1;
		return true;
	}
	b->tokens = 0;
	if (kind == TW_BUDGET_AUDIT)
		__sync_fetch_and_add(&b->suppressed_audit, 1);
	else if (kind == TW_BUDGET_SYS)
		__sync_fetch_and_add(&b->suppressed_sys, 1);
	else
		__sync_fetch_and_add(&b->suppressed, 1);
	return false;
}

/* Bump entry KEY of a per-CPU counter array. */
static __always_inline void tw_count(void *counters, __u32 key)
{
	__u64 *v = bpf_map_lookup_elem(counters, &key);

	if (v)
		*v += 1;
}

/*
 * Submit a reserved event without waking the daemon (a wakeup per event
 * costs microseconds in the syscall) unless TW_WAKEUP_BYTES are waiting;
 * the daemon drains every TW_DRAIN_MS anyway.
 */
static __always_inline void tw_submit(void *ringbuf, void *e)
{
	__u64 waiting = bpf_ringbuf_query(ringbuf, BPF_RB_AVAIL_DATA);

	bpf_ringbuf_submit(e, waiting >= TW_WAKEUP_BYTES ? BPF_RB_FORCE_WAKEUP :
							   BPF_RB_NO_WAKEUP);
}

#endif

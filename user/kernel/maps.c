// SPDX-License-Identifier: GPL-2.0-only
/*
 * maps.c - write compiled rules into the kernel maps. The next state is
 * built completely in the inactive slot, then one tw_state update switches
 * every context to it (see the rule semantics in bpf/toolwall.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maps.h"

_Static_assert(TW_PORT_RANGES == TW_MAX_PORT_RANGES,
	       "kernel and compiler port range limits differ");
/* Each slot holds at most the policy's quotas, which add up to at most
 * TW_LEARNED_MAX (compile.c): the live slot and the one a reload fills
 * always fit tw_learned together. */
_Static_assert(2 * TW_LEARNED_MAX <= TW_MAX_LEARNED,
	       "learned-address quotas do not fit two slots of tw_learned");

int tw_mode_abi(enum tw_mode mode)
{
	return mode == TW_MODE_AUDIT ? TW_MODE_ABI_AUDIT : TW_MODE_ABI_ENFORCE;
}

int tw_maps_state(const struct tw_maps *m, struct tw_state *st)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->state, &zero, st))
		return -errno;
	return 0;
}

int tw_maps_set_lost_seen(const struct tw_maps *m, uint64_t lost_seen)
{
	struct tw_state st;
	__u32 zero = 0;
	int err = tw_maps_state(m, &st);

	if (err)
		return err;
	st.lost_seen = lost_seen;
	return bpf_map_update_elem(m->state, &zero, &st, BPF_ANY) ? -errno : 0;
}

int tw_maps_percpu_sum(int map_fd, uint64_t *out, uint32_t n)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (__u32 k = 0; k < n; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(map_fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}

int tw_maps_stats(const struct tw_maps *m, uint64_t out[TW_STAT_MAX])
{
	return tw_maps_percpu_sum(m->stats, out, TW_STAT_MAX);
}

int tw_map_drop_keys(int map_fd, size_t ksize,
		     bool (*match)(const void *key, const void *arg),
		     const void *arg)
{
	size_t cap = 1024, n = 0;
	char *keys = malloc(cap * ksize), *cur = NULL;
	char next[256];
	int ret = 0;

	if (ksize > sizeof(next)) {
		free(keys);
		return -EINVAL;
	}
	if (!keys)
		return -ENOMEM;
	while (bpf_map_get_next_key(map_fd, cur, next) == 0) {
		if (n == cap) {
			char *nk = realloc(keys, cap * 2 * ksize);

			if (!nk) {
				ret = -ENOMEM;
				goto out;
			}
			keys = nk;
			cap *= 2;
		}
		memcpy(keys + n * ksize, next, ksize);
		cur = keys + n * ksize;
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		const void *k = keys + i * ksize;

		if (match(k, arg) && bpf_map_delete_elem(map_fd, k) &&
		    errno != ENOENT) {
			ret = -errno;
			break;
		}
	}
out:
	free(keys);
	return ret;
}

struct slot_of {
	int (*in_slot)(const void *key, uint32_t slot);
	uint32_t slot;
};

static bool key_in_slot(const void *key, const void *arg)
{
	const struct slot_of *s = arg;

	return s->in_slot(key, s->slot);
}

/* Delete every key of MAP_FD for which IN_SLOT says it belongs to SLOT. */
static int clear_slot(int map_fd, size_t key_size,
		      int (*in_slot)(const void *key, uint32_t slot),
		      uint32_t slot)
{
	struct slot_of s = { in_slot, slot };

	return tw_map_drop_keys(map_fd, key_size, key_in_slot, &s);
}

static int rule_in_slot(const void *key, uint32_t slot)
{
	return TW_CTX_SLOT(((const struct tw_rule_key *)key)->ctx) == slot;
}

static int unix_in_slot(const void *key, uint32_t slot)
{
	return TW_CTX_SLOT(((const struct tw_unix_key *)key)->ctx) == slot;
}

static int dns_in_slot(const void *key, uint32_t slot)
{
	return TW_CTX_SLOT(*(const __u32 *)key) == slot;
}

static int learn_in_slot(const void *key, uint32_t slot)
{
	return TW_CTX_SLOT(((const struct tw_learn_key *)key)->ctx) == slot;
}

static void learn_kv(uint32_t slot, const struct tw_learn_entry *e,
		     struct tw_learn_key *k, struct tw_rule_val *v)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->ctx = TW_CTX_KEY(slot, e->ctx);
	k->proto = e->proto;
	k->family = e->family;
	memcpy(k->addr, e->addr, 16);
	v->rule = e->rule;
	v->nports = (__u16)e->nports;
	for (size_t p = 0; p < e->nports && p < TW_PORT_RANGES; p++) {
		v->ports[p].lo = e->ports[p].lo;
		v->ports[p].hi = e->ports[p].hi;
	}
}

int tw_maps_learn(const struct tw_maps *m, uint32_t slot,
		  const struct tw_learn_entry *e)
{
	struct tw_learn_key k;
	struct tw_rule_val v;

	learn_kv(slot, e, &k, &v);
	return bpf_map_update_elem(m->learned, &k, &v, BPF_ANY) ? -errno : 0;
}

int tw_maps_unlearn(const struct tw_maps *m, uint32_t slot,
		    const struct tw_learn_entry *e)
{
	struct tw_learn_key k;
	struct tw_rule_val v;

	learn_kv(slot, e, &k, &v);
	if (bpf_map_delete_elem(m->learned, &k) && errno != ENOENT)
		return -errno;
	return 0;
}

static int bk_in_slot(const void *key, uint32_t slot)
{
	return TW_CTX_SLOT(((const struct tw_bk_key *)key)->ctx) == slot;
}

int tw_maps_broker(const struct tw_maps *m, uint32_t slot,
		   const struct tw_bk_entry *e, bool add)
{
	struct tw_bk_key k = { .ctx = TW_CTX_KEY(slot, e->ctx),
			       .family = e->family, .port = e->port };
	struct tw_bk_dst v = { .origin = e->origin, .port = e->broker_port };

	memcpy(k.addr, e->addr, 16);
	if (add)
		return bpf_map_update_elem(m->bk_dst, &k, &v, BPF_ANY) ? -errno :
									 0;
	if (bpf_map_delete_elem(m->bk_dst, &k) && errno != ENOENT)
		return -errno;
	return 0;
}

int tw_maps_reserve_port(const struct tw_maps *m, uint16_t port)
{
	__u32 key = port, one = 1;

	return bpf_map_update_elem(m->dns_ports, &key, &one, BPF_ANY) ? -errno :
									0;
}

static int cg_in_slot(const void *key, uint32_t slot)
{
	return ((const struct tw_cg_key *)key)->slot == slot;
}

/* Insert lowered entries of a context; PROTO_BITS marks listen entries. */
static int push_lpm(const struct tw_maps *m, const struct tw_context *ctx,
		    uint32_t key_ctx, bool listen, char *err, size_t len)
{
	struct tw_lpm_entry *ents = NULL;
	char why[256];
	long n;

	n = listen ? tw_lower_listen(ctx, &ents, why, sizeof(why)) :
		     tw_lower_lpm(ctx, &ents, why, sizeof(why));
	if (n < 0) {
		snprintf(err, len, "context %s: %s%s", ctx->name,
			 listen ? "listen: " : "",
			 n == -E2BIG ? why : strerror((int)-n));
		return (int)n;
	}
	for (long i = 0; i < n; i++) {
		const struct tw_lpm_entry *e = &ents[i];
		struct tw_rule_key k = {
			.prefixlen = TW_KEY_FIXED_BITS + e->prefixlen,
			.ctx = key_ctx,
			.proto = (__u8)e->proto | (listen ? TW_PROTO_LISTEN : 0),
			.family = (__u8)e->family,
		};
		struct tw_rule_val v = { .rule = e->rule,
					 .nports = (__u16)e->nports };

		memcpy(k.addr, e->addr, 16);
		for (size_t p = 0; p < e->nports; p++) {
			v.ports[p].lo = e->ports[p].lo;
			v.ports[p].hi = e->ports[p].hi;
		}
		if (bpf_map_update_elem(m->rules, &k, &v, BPF_ANY)) {
			snprintf(err, len, "context %s: rule map update: %s%s",
				 ctx->name, strerror(errno),
				 errno == ENOSPC ? " (tw_rules is full)" : "");
			free(ents);
			return -errno;
		}
	}
	free(ents);
	return 0;
}

static int push_context(const struct tw_maps *m, const struct tw_context *ctx,
			uint32_t key_ctx, char *err, size_t len)
{
	int ret;

	if ((ret = push_lpm(m, ctx, key_ctx, false, err, len)) ||
	    (ret = push_lpm(m, ctx, key_ctx, true, err, len)))
		return ret;

	for (size_t r = 0; r < ctx->nrules; r++) {
		const struct tw_rule *rule = &ctx->rules[r];
		struct tw_unix_key k = { .ctx = key_ctx };
		struct tw_unix_val v = { .rule = (__u32)r };

		if (rule->kind != TW_HOST_UNIX)
			continue;
		strncpy(k.path, rule->name, sizeof(k.path) - 1);
		if (bpf_map_update_elem(m->unix_, &k, &v, BPF_ANY)) {
			snprintf(err, len, "context %s: unix map update: %s",
				 ctx->name, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/*
 * Wait until no BPF program can still be running with a value it read
 * before this call. The kernel gives that guarantee for an update of a
 * map-in-map: the bpf() syscall returns only after an RCU grace period
 * (synchronize_rcu() in maybe_wait_bpf_programs()), and every program of
 * ours is non-sleepable, so every run that started earlier has finished.
 * The map is ours alone and never read by a program: only the wait counts.
 */
static int wait_for_programs(void)
{
	static int outer = -1, inner = -1;
	__u32 zero = 0;

	if (inner < 0) {
		inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tw_sync_in", 4, 4,
				       1, NULL);
		if (inner < 0)
			return -errno;
	}
	if (outer < 0) {
		LIBBPF_OPTS(bpf_map_create_opts, o, .inner_map_fd = inner);

		outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "tw_sync", 4,
				       4, 1, &o);
		if (outer < 0)
			return -errno;
	}
	if (bpf_map_update_elem(outer, &zero, &inner, BPF_ANY))
		return -errno;
	return 0;
}

/*
 * The slot we are about to clear was the active one until the last flip.
 * Once a grace period has passed since that flip, no program run can still
 * be reading it; wait for one unless this process already did (a restarted
 * daemon waits once, whatever its predecessor did).
 */
static int settle(const struct tw_state *st)
{
	static uint64_t settled_gen = UINT64_MAX;
	int ret;

	if (settled_gen == st->generation)
		return 0;
	ret = wait_for_programs();
	if (!ret)
		settled_gen = st->generation;
	return ret;
}

/*
 * tw_dns_ports: every port a resolver listener of the daemon holds, which
 * no call may bind. Not per slot (the listeners outlive reloads); ports no
 * target names any more are removed after the new ones are in.
 */
static bool dns_port_used(const struct tw_dns_target *t, size_t n, __u32 port,
			  uint16_t keep)
{
	if (keep && port == keep)
		return true;
	for (size_t i = 0; i < n; i++)
		if (t[i].udp4 == port || t[i].tcp4 == port ||
		    t[i].udp6 == port || t[i].tcp6 == port)
			return true;
	return false;
}

static int push_dns_ports(const struct tw_maps *m,
			  const struct tw_dns_target *t, size_t n,
			  uint16_t keep)
{
	__u32 key, next, one = 1;
	__u32 stale[256];
	size_t nstale = 0;
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		const __u16 ports[] = { t[i].udp4, t[i].tcp4, t[i].udp6,
					t[i].tcp6 };

		for (size_t p = 0; p < 4; p++) {
			key = ports[p];
			if (key && bpf_map_update_elem(m->dns_ports, &key, &one,
						       BPF_ANY))
				return -errno;
		}
	}
	while (!bpf_map_get_next_key(m->dns_ports, first ? NULL : &key,
				     &next)) {
		first = false;
		key = next;
		if (!dns_port_used(t, n, key, keep) && nstale < 256)
			stale[nstale++] = key;
	}
	for (size_t i = 0; i < nstale; i++)
		bpf_map_delete_elem(m->dns_ports, &stale[i]);
	return 0;
}

int tw_maps_push(const struct tw_maps *m, const struct tw_compiled *c,
		 const struct tw_cg_entry *cgs, size_t ncgs,
		 const struct tw_push_extra *x, uint32_t *slot, char *err,
		 size_t len)
{
	struct tw_state st;
	uint32_t next;
	__u32 zero = 0;
	int ret;

	ret = tw_maps_state(m, &st);
	if (ret) {
		snprintf(err, len, "cannot read tw_state: %s", strerror(-ret));
		return ret;
	}
	next = (st.slot & 1) ^ 1;
	ret = settle(&st);
	if (ret) {
		snprintf(err, len,
			 "cannot wait for BPF programs to leave slot %u: %s",
			 next, strerror(-ret));
		return ret;
	}

	if ((ret = clear_slot(m->rules, sizeof(struct tw_rule_key),
			      rule_in_slot, next)) ||
	    (ret = clear_slot(m->unix_, sizeof(struct tw_unix_key),
			      unix_in_slot, next)) ||
	    (ret = clear_slot(m->dns, sizeof(__u32), dns_in_slot, next)) ||
	    (ret = clear_slot(m->learned, sizeof(struct tw_learn_key),
			      learn_in_slot, next)) ||
	    (ret = clear_slot(m->bk_dst, sizeof(struct tw_bk_key), bk_in_slot,
			      next)) ||
	    (ret = clear_slot(m->cgroups, sizeof(struct tw_cg_key), cg_in_slot,
			      next))) {
		snprintf(err, len, "cannot clear slot %u: %s", next,
			 strerror(-ret));
		return ret;
	}

	for (size_t i = 0; i < c->nctx; i++) {
		ret = push_context(m, &c->ctx[i], TW_CTX_KEY(next, i), err,
				   len);
		if (ret)
			return ret;
	}
	for (size_t i = 0; x && x->dns && i < c->nctx; i++) {
		__u32 key = TW_CTX_KEY(next, i);

		if (bpf_map_update_elem(m->dns, &key, &x->dns[i], BPF_ANY)) {
			snprintf(err, len, "resolver map update: %s",
				 strerror(errno));
			return -errno;
		}
	}
	if (x && x->dns) {
		ret = push_dns_ports(m, x->dns, c->nctx, x->broker_port);
		if (ret) {
			snprintf(err, len, "resolver port map update: %s",
				 strerror(-ret));
			return ret;
		}
	}
	for (size_t i = 0; x && i < x->nlearned; i++) {
		bool ok = tw_maps_learn(m, next, &x->learned[i]) == 0;

		if (x->learned_pushed)
			x->learned_pushed[i] = ok;
	}
	for (size_t i = 0; x && i < x->nbrokered; i++) {
		ret = tw_maps_broker(m, next, &x->brokered[i], true);
		if (ret) {
			snprintf(err, len, "brokered service map update: %s",
				 strerror(-ret));
			return ret;
		}
	}
	for (size_t i = 0; i < ncgs; i++) {
		ret = tw_maps_add_cgroup(m, next, cgs[i].cgid, cgs[i].ctx,
					 tw_mode_abi(c->ctx[cgs[i].ctx].mode));
		if (ret) {
			snprintf(err, len, "cgroup map update: %s",
				 strerror(-ret));
			return ret;
		}
	}

	if (x && x->fill) {
		ret = x->fill(x->fill_arg, next, err, len);
		if (ret)
			return ret;
	}
	if (x && x->budget)
		tw_budget_arm(x->budget, next, c->nctx, x->budget_rate,
			      x->budget_burst);

	/* The switch: one array element, read once per decision. */
	st.slot = next;
	st.abi = TW_ABI_VERSION;
	st.generation++;
	for (int i = 0; i < 32; i++) {
		unsigned int b = 0;

		sscanf(c->revision + 2 * i, "%2x", &b);
		st.revision[i] = (__u8)b;
	}
	if (bpf_map_update_elem(m->state, &zero, &st, BPF_ANY)) {
		snprintf(err, len, "cannot flip tw_state: %s", strerror(errno));
		return -errno;
	}
	*slot = next;
	return 0;
}

int tw_maps_add_cgroup(const struct tw_maps *m, uint32_t slot, uint64_t cgid,
		       uint32_t ctx, int mode)
{
	struct tw_cg_key k = { .cgid = cgid, .slot = slot };
	struct tw_cg_val v = { .ctx = TW_CTX_KEY(slot, ctx),
			       .mode = (__u8)mode };

	if (bpf_map_update_elem(m->cgroups, &k, &v, BPF_ANY))
		return -errno;
	return 0;
}

int tw_maps_del_cgroup(const struct tw_maps *m, uint64_t cgid)
{
	for (uint32_t s = 0; s < 2; s++) {
		struct tw_cg_key k = { .cgid = cgid, .slot = s };

		bpf_map_delete_elem(m->cgroups, &k);
	}
	return 0;
}

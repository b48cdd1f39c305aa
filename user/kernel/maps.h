/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * maps.h - compiled rules -> kernel maps, swapped in atomically.
 */
#ifndef TW_MAPS_H
#define TW_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile.h"
#include "loader.h"
#include "toolwall.h"

/* One cgroup that belongs to a context (a context cgroup or a call's). */
struct tw_cg_entry {
	uint64_t cgid;
	uint32_t ctx; /* index into the compiled contexts */
};

/* An address learned from a DNS answer (see tw_learned in toolwall.h). */
struct tw_learn_entry {
	uint32_t ctx; /* index into the compiled contexts */
	uint8_t proto;
	uint8_t family;
	uint8_t addr[16];
	struct tw_port_range ports[TW_MAX_PORT_RANGES];
	size_t nports;
	uint32_t rule;
};

/* A brokered service address of a context (see tw_bk_dst in toolwall.h). */
struct tw_bk_entry {
	uint32_t ctx; /* index into the compiled contexts */
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	uint32_t origin;
	uint16_t broker_port; /* the broker's listener */
};

/* What else goes into a slot besides the compiled rules. */
struct tw_push_extra {
	const struct tw_dns_target *dns; /* per context, or NULL */
	const struct tw_learn_entry *learned;
	size_t nlearned;
	bool *learned_pushed; /* per learned entry: in the slot (optional) */
	/* each context's budget of denial events (tw_budget), or NULL */
	struct tw_budgets *budget;
	uint32_t budget_rate, budget_burst;
	const struct tw_bk_entry *brokered;
	size_t nbrokered;
	uint16_t broker_port; /* kept in tw_dns_ports: no call may bind it */
	/* Fill what else belongs to the slot (grants, quarantine): called
	 * last before the flip, no program reading SLOT; 0 or -errno with
	 * ERR. NULL: nothing. */
	int (*fill)(void *arg, uint32_t slot, char *err, size_t len);
	void *fill_arg;
};

/*
 * Fill the inactive slot with C and CGS, then flip tw_state to it with one
 * array update: every decision sees either the old or the new revision,
 * never a mix, never an empty allowlist. Leftovers of the slot (the
 * revision before the previous one) are removed first; by then no program
 * can still be using them. Cost is one LPM insert per entry, not an RCU
 * grace period per context. Returns 0 with the new slot in *SLOT, or -errno
 * with ERR set; on error the policy in force is untouched. A learned
 * address that cannot be written is left out (X->learned_pushed says
 * which): learned state never fails a reload.
 */
int tw_maps_push(const struct tw_maps *m, const struct tw_compiled *c,
		 const struct tw_cg_entry *cgs, size_t ncgs,
		 const struct tw_push_extra *x, uint32_t *slot, char *err,
		 size_t len);

/* Grant or withdraw one learned address in SLOT. */
int tw_maps_learn(const struct tw_maps *m, uint32_t slot,
		  const struct tw_learn_entry *e);
int tw_maps_unlearn(const struct tw_maps *m, uint32_t slot,
		    const struct tw_learn_entry *e);

/* Redirect (or stop redirecting) one brokered service address in SLOT. */
int tw_maps_broker(const struct tw_maps *m, uint32_t slot,
		   const struct tw_bk_entry *e, bool add);
/* Keep PORT (the broker's) out of every call's bind(). */
int tw_maps_reserve_port(const struct tw_maps *m, uint16_t port);

/* Map one more cgroup in the active slot (a new tool call). */
int tw_maps_add_cgroup(const struct tw_maps *m, uint32_t slot, uint64_t cgid,
		       uint32_t ctx, int mode);
/* Unmap a cgroup in both slots. */
int tw_maps_del_cgroup(const struct tw_maps *m, uint64_t cgid);

int tw_maps_state(const struct tw_maps *m, struct tw_state *st);
int tw_maps_set_lost_seen(const struct tw_maps *m, uint64_t lost_seen);
/* Sum the per-CPU counters. */
/* Sum a per-CPU counter array of N entries into OUT. */
int tw_maps_percpu_sum(int map_fd, uint64_t *out, uint32_t n);

int tw_maps_stats(const struct tw_maps *m, uint64_t out[TW_STAT_MAX]);

int tw_mode_abi(enum tw_mode mode);

/*
 * Delete the keys of MAP_FD (KSIZE bytes, at most 256) for which MATCH
 * (given ARG) is true. Keys are collected first: deleting while walking
 * with get_next_key would restart the walk. 0 or -errno.
 */
int tw_map_drop_keys(int map_fd, size_t ksize,
		     bool (*match)(const void *key, const void *arg),
		     const void *arg);

#endif

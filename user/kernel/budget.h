/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * budget.h - each context's budget of denial events in the kernel
 * (tw_budget, see bpf/toolwall.h), user space's side: give a slot's
 * contexts their rate before the slot is flipped in, and take the counts of
 * the events the kernel did not write because a context was over budget.
 */
#ifndef TW_BUDGET_H
#define TW_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "toolwall.h"

/* The pinned tw_budget array, mmapped (TW_BUDGET_ENTRIES entries). */
struct tw_budgets {
	struct tw_budget *v;
	size_t len; /* bytes mapped; 0: not mapped */
};

/* Map the array behind FD. Returns 0 or -errno. */
int tw_budget_map(struct tw_budgets *b, int fd);
void tw_budget_unmap(struct tw_budgets *b);

/*
 * Give contexts 0..N-1 of SLOT (not in force yet) RATE events a second and
 * BURST at once, with a full bucket; and the same to TW_BUDGET_NONE (in
 * force: only its rate and burst change). RATE 0: no budget. What the
 * kernel counted as suppressed stays to be taken.
 */
void tw_budget_arm(struct tw_budgets *b, uint32_t slot, size_t n,
		   uint32_t rate, uint32_t burst);

/* What the kernel did not write for one context, by kind. */
struct tw_budget_counts {
	uint64_t deny;	/* socket denials */
	uint64_t audit; /* audit-mode would-be denials */
	uint64_t sys;	/* refused syscalls (the syscall audit) */
};

/*
 * Take entry IDX's counts of suppressed events into *C, leaving 0 (atomic:
 * an event the kernel counts meanwhile is taken now or next time, never
 * twice, never lost). Returns their sum.
 */
uint64_t tw_budget_take(struct tw_budgets *b, uint32_t idx,
			struct tw_budget_counts *c);

#endif

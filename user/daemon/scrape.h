/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scrape.h - what GET /metrics answers (metrics.h serves it): a snapshot
 * of the daemon copied with d->lock held (numbers and names, and each
 * context's kernel counters), then sorted, merged by context name and
 * written in the text format (promtext.h) after the lock is let go: a
 * scrape never holds the event loop or the resolver longer than the copy.
 *
 * Counters start at 0 when the daemon starts (a restart is a counter reset
 * to Prometheus; toolwall_start_time_seconds tells it) and never go down
 * while it runs: before a reload refills a slot, what the slot's contexts
 * counted in the kernel is taken (read and zeroed) into their totals by
 * name, so a context keeps its series even after a policy without it.
 */
#ifndef TW_SCRAPE_H
#define TW_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promtext.h"
#include "toolwall.h"

struct tw_daemon;

/* A context's decisions so far, in every revision that had it. */
struct tw_scrape_ctx {
	char name[160];
	uint64_t allowed, denied, audited;
};

/* Read and written with d->lock held, but SCRAPES (atomic). */
struct tw_scrape {
	bool started; /* counting: tw_scrape_zero ran */
	struct tw_scrape_ctx *taken; /* from refilled slots, by name */
	size_t ntaken;
	uint64_t base_stats[TW_STAT_MAX]; /* the kernel's at start */
	uint64_t base_pstats[TW_PSTAT_MAX];
	uint64_t base_calls, base_reloads, base_refused;
	uint64_t scrapes; /* answered */
};

/* d->lock held: count from 0 now (the kernel's counters are the base,
 * each context's are cleared). */
void tw_scrape_zero(struct tw_daemon *d, struct tw_scrape *s);
/* d->lock held: SLOT is about to be refilled; take its counts. */
void tw_scrape_refill(struct tw_daemon *d, struct tw_scrape *s, int slot);
/* The exposition text into P (d->lock taken for the copy only). */
void tw_scrape_text(struct tw_daemon *d, struct tw_scrape *s,
		    struct tw_prom *p);
void tw_scrape_free(struct tw_scrape *s);

#endif

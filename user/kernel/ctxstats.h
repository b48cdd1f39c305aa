/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ctxstats.h - each context's decisions in the kernel (tw_ctx_stats, see
 * bpf/toolwall.h), user space's side: read an entry summed over the CPUs,
 * take it (read and zero) before its slot is refilled, clear them all.
 */
#ifndef TW_CTXSTATS_H
#define TW_CTXSTATS_H

#include <stdbool.h>
#include <stdint.h>

#include "toolwall.h"

/*
 * Entry TW_BUDGET_IDX(KEY) of the map behind FD, summed over the CPUs,
 * into *OUT; with TAKE, zeroed after reading (a decision counted between
 * the two is lost: only a slot no program uses any more is taken).
 * Returns 0 or -errno.
 */
int tw_ctxstats_read(int fd, uint32_t key, struct tw_ctx_stat *out,
		     bool take);
/* Zero every entry. Returns 0 or -errno. */
int tw_ctxstats_clear(int fd);

#endif

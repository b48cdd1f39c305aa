/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * duration.h - DURATION text ("90s", "15m", "2h"), as `toolwall grant
 * --for` and the workspace's `max_grant` take it. A leaf: depends on
 * nothing of ours.
 */
#ifndef TW_DURATION_H
#define TW_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define TW_NS_PER_S 1000000000ull
/* The workspace's `max_grant` when it sets none: 8 hours. */
#define TW_MAX_GRANT_DEFAULT (8ull * 3600 * TW_NS_PER_S)
/* Longest DURATION or max_grant anyone may write: 30 days. */
#define TW_MAX_GRANT_CAP (30ull * 24 * 3600 * TW_NS_PER_S)

/*
 * DURATION: one or more NUMBER UNIT groups, UNIT s, m or h ("90s", "15m",
 * "2h", "1h30m"). Returns 0 with nanoseconds in *NS, -EINVAL (format, with
 * what is wrong in ERR) or -ERANGE (over TW_MAX_GRANT_CAP).
 */
int tw_parse_duration(const char *s, uint64_t *ns, char *err, size_t len);
/* "15m", "2h", "1h30m", "90s" (whole seconds, rounded down). */
void tw_duration_str(uint64_t ns, char *buf, size_t len);

#endif

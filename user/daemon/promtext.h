/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * promtext.h - the Prometheus text exposition format (version 0.0.4),
 * written into a growing buffer: a family's HELP and TYPE lines, then its
 * samples, label values escaped (backslash, double quote, newline).
 * Pure: no daemon state, no I/O; unit-tested on its own.
 */
#ifndef TW_PROMTEXT_H
#define TW_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TW_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct tw_prom {
	char *buf; /* NUL-terminated; the caller frees it */
	size_t len, cap;
	bool oom; /* an allocation failed: the text is incomplete */
};

/* "# HELP NAME HELP" and "# TYPE NAME TYPE" (counter, gauge, untyped). */
void tw_prom_family(struct tw_prom *p, const char *name, const char *type,
		    const char *help);
/*
 * One sample: NAME{K1="V1",K2="V2"} VALUE. LABELS is NULL or
 * { "k1", "v1", ..., NULL }; values are escaped, names are the caller's
 * (they must match [a-zA-Z_][a-zA-Z0-9_]*).
 */
void tw_prom_u64(struct tw_prom *p, const char *name,
		 const char *const *labels, uint64_t value);
/* A time (CLOCK_REALTIME nanoseconds) in seconds, millisecond precision. */
void tw_prom_time(struct tw_prom *p, const char *name,
		  const char *const *labels, uint64_t ns);
/* A label value as the format writes it: \\, \" and \n escaped. */
void tw_prom_escape(struct tw_prom *p, const char *value);

#endif

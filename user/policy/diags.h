/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * diags.h - where in a policy file, and what is wrong there. A leaf.
 */
#ifndef TW_DIAGS_H
#define TW_DIAGS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* A place in a policy file: 1-based line and column (column counts bytes). */
struct tw_loc {
	const char *file; /* owned by the policy (interned) */
	int line;
	int col;
};

/* One diagnostic: "FILE:LINE:COL: message". */
struct tw_diag {
	struct tw_loc loc;
	char *msg;
	bool syntax; /* the JSON text itself is broken: sorted first */
};

struct tw_diags {
	struct tw_diag *v;
	size_t n, cap;
};

void tw_diags_add(struct tw_diags *d, struct tw_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same, from a va_list (for the stages' own diag helpers). */
void tw_diags_vadd(struct tw_diags *d, struct tw_loc loc, const char *fmt,
		   va_list ap);
void tw_diags_free(struct tw_diags *d);
/* Sort by file, line, column (stable) so output order is deterministic;
 * JSON syntax errors first, as the others may stem from them. */
void tw_diags_sort(struct tw_diags *d);

#endif

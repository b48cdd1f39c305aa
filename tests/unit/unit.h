/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * unit.h - small helpers shared by the unit tests (cmocka).
 *
 * Diagnostics are matched the way a reader sees them: "FILE:LINE:COL: "
 * must be exact, the rest is a substring of the message, so a test pins
 * the location without freezing every word of the wording.
 */
#ifndef TW_UNIT_H
#define TW_UNIT_H

/* cmocka.h needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

#define UNIT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Parse TEXT as the policy file "t.json", then link it when LINK. */
static inline int unit_parse(const char *text, bool link,
			     struct tw_policy *pol, struct tw_diags *d)
{
	int err = tw_policy_parse(pol, "t.json", text, strlen(text), d);
	int lerr = link ? tw_policy_link(pol, d) : 0;

	return err ? err : lerr;
}

/* "FILE:LINE:COL: " of a diagnostic. */
static inline const char *unit_diag_where(const struct tw_diag *dg, char *buf,
					  size_t len)
{
	snprintf(buf, len, "%s:%d:%d: ", dg->loc.file, dg->loc.line,
		 dg->loc.col);
	return buf;
}

/* Does EXPECT ("FILE:LINE:COL: substring") match diagnostic DG? */
static inline bool unit_diag_matches(const struct tw_diag *dg,
				     const char *expect)
{
	char where[512];
	size_t n = strlen(unit_diag_where(dg, where, sizeof(where)));

	return !strncmp(expect, where, n) && strstr(dg->msg, expect + n);
}

static inline bool unit_diag_has(const struct tw_diags *d, const char *expect)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (unit_diag_matches(&d->v[i], expect))
			return true;
	return false;
}

static inline void unit_diags_dump(const struct tw_diags *d)
{
	char where[512];
	size_t i;

	for (i = 0; i < d->n; i++)
		fprintf(stderr, "  got: %s%s\n",
			unit_diag_where(&d->v[i], where, sizeof(where)),
			d->v[i].msg);
}

/*
 * Every line of EXPECT (NULL-terminated) matches some diagnostic and there
 * are exactly as many diagnostics as lines; prints both sides otherwise.
 */
static inline bool unit_diags_exactly(const struct tw_diags *d,
				      const char *const *expect)
{
	bool ok = true;
	size_t n;

	for (n = 0; expect[n]; n++) {
		if (!unit_diag_has(d, expect[n])) {
			fprintf(stderr, "  missing: %s\n", expect[n]);
			ok = false;
		}
	}
	if (n != d->n) {
		fprintf(stderr, "  expected %zu diagnostics, got %zu\n", n,
			d->n);
		ok = false;
	}
	if (!ok)
		unit_diags_dump(d);
	return ok;
}

#endif

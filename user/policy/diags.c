// SPDX-License-Identifier: GPL-2.0-only
/*
 * diags.c - diagnostics: "FILE:LINE:COL: message", all of them, sorted
 * (see diags.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diags.h"

void tw_diags_vadd(struct tw_diags *d, struct tw_loc loc, const char *fmt,
		       va_list ap)
{
	const char *file = loc.file ? loc.file : "(policy)";
	size_t flen = strlen(file), mlen;
	va_list aq;
	char *msg;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	mlen = (size_t)n;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct tw_diag *v;

		if (cap > SIZE_MAX / sizeof(*v))
			return;
		v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return; /* lost; the caller still returns an error */
		d->v = v;
		d->cap = cap;
	}
	/*
	 * One block holds the message and a copy of the file name, so a
	 * diagnostic stays valid after the policy that named the file is gone.
	 */
	msg = malloc(mlen + 1 + flen + 1);
	if (!msg)
		return;
	vsnprintf(msg, mlen + 1, fmt, ap);
	memcpy(msg + mlen + 1, file, flen + 1);
	loc.file = msg + mlen + 1;
	d->v[d->n].loc = loc;
	d->v[d->n].msg = msg;
	d->v[d->n].syntax = false;
	d->n++;
}

void tw_diags_add(struct tw_diags *d, struct tw_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tw_diags_vadd(d, loc, fmt, ap);
	va_end(ap);
}

void tw_diags_free(struct tw_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}

struct diag_ix {
	struct tw_diag d;
	size_t i;
};

static int diag_cmp(const void *pa, const void *pb)
{
	const struct diag_ix *a = pa, *b = pb;
	int r = strcmp(a->d.loc.file, b->d.loc.file);

	/* a JSON syntax error first: what follows may stem from it (an
	 * object it kept from being read is "unknown" elsewhere) */
	if (a->d.syntax != b->d.syntax)
		return a->d.syntax ? -1 : 1;
	if (r)
		return r;
	if (a->d.loc.line != b->d.loc.line)
		return a->d.loc.line < b->d.loc.line ? -1 : 1;
	if (a->d.loc.col != b->d.loc.col)
		return a->d.loc.col < b->d.loc.col ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

void tw_diags_sort(struct tw_diags *d)
{
	struct diag_ix *v;
	size_t i;

	if (d->n < 2)
		return;
	/* qsort is not stable: the original index breaks ties. */
	v = calloc(d->n, sizeof(*v));
	if (!v)
		return;
	for (i = 0; i < d->n; i++)
		v[i] = (struct diag_ix){ d->v[i], i };
	qsort(v, d->n, sizeof(*v), diag_cmp);
	for (i = 0; i < d->n; i++)
		d->v[i] = v[i].d;
	free(v);
}

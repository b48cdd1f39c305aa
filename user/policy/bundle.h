/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bundle.h - "bundle" objects (bundle.c).
 */
#ifndef TW_BUNDLE_H
#define TW_BUNDLE_H

#include "fields.h"

/* Parse bundle object O (at node N) into c->pol. */
void tw_parse_bundle(struct tw_pctx *c, json_t *o, const struct tw_lnode *n);
void tw_bundle_clear(struct tw_bundle *b);

#endif

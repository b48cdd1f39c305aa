/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * context.h - "channel" and "dm" objects (context.c).
 */
#ifndef TW_CONTEXT_H
#define TW_CONTEXT_H

#include "fields.h"

/* Parse channel or DM object O (at node N) into c->pol. */
void tw_parse_channel(struct tw_pctx *c, json_t *o, const struct tw_lnode *n);
void tw_parse_dm(struct tw_pctx *c, json_t *o, const struct tw_lnode *n);
void tw_channel_clear(struct tw_channel *ch);
void tw_dm_clear(struct tw_dm *dm);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * workspace.h - "workspace" objects (workspace.c).
 */
#ifndef TW_WORKSPACE_H
#define TW_WORKSPACE_H

#include "fields.h"

/* Parse workspace object O (at node N) into c->pol. */
void tw_parse_workspace(struct tw_pctx *c, json_t *o, const struct tw_lnode *n);
void tw_workspace_clear(struct tw_workspace *w);

#endif

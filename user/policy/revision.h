/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * revision.h - the name of a policy.
 */
#ifndef TW_REVISION_H
#define TW_REVISION_H

#include "policy.h"

/*
 * The policy revision alone: SHA-256 hex of a canonical form of POL (no
 * locations, objects and unordered lists sorted), so the same policy split
 * across files in another order has the same revision. tw_compile() fills
 * c->revision with it. Returns 0 or -ENOMEM.
 */
int tw_policy_revision(const struct tw_policy *pol, char out[65]);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * credential.h - a bundle's "credentials" entries (credential.c).
 */
#ifndef TW_CREDENTIAL_H
#define TW_CREDENTIAL_H

#include "fields.h"

/* The "credentials" row of a bundle: OBJ is its struct tw_bundle. */
tw_take_fn tw_take_creds;

void tw_credential_clear(struct tw_credential *cr);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * privsep.h - the broker gives up root once it holds what only root may
 * read (the CA key; its listeners and the kernel's map come from the
 * daemon as descriptors, each call's credential stores later the same
 * way): it runs on as the account TW_BROKER_USER (or nobody when that
 * account does not exist), with no capability, no supplementary group,
 * no way back (no_new_privs, empty bounding set) and no core dump.
 */
#ifndef TW_PRIVSEP_H
#define TW_PRIVSEP_H

#include <stddef.h>

#define TW_BROKER_USER "toolwall-broker"

/* Drop to the broker's account. 0, or -errno with ERR set (the broker
 * must not run on as root: the caller exits). A no-op when not root. */
int tw_broker_drop(char *err, size_t len);

#endif

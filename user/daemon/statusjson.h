/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * statusjson.h - the daemon's health, features and counters as the control
 * socket's `status` answers them (toolwall-protocol(7)); the control
 * socket adds its own clients. Call with d->lock held.
 */
#ifndef TW_STATUSJSON_H
#define TW_STATUSJSON_H

#include <jansson.h>

#include "state.h"

json_t *tw_status_json(struct tw_daemon *d);

#endif

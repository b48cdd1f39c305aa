/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * broker.h - the credential broker: its own process, the only one that
 * holds credential values and the CA key. It terminates TLS for brokered
 * services with a leaf certificate from its CA, judges each HTTP/1.1
 * request (request.h), swaps placeholders for values where allowed, and
 * forwards to the real service over TLS verified against the system CAs
 * (plus an optional extra CA). One `request` record per request.
 */
#ifndef TW_BROKER_H
#define TW_BROKER_H


#include "bkstate.h"

/* Load the JSON configuration at PATH (see `toolwall broker --help`). */
int tw_broker_load(struct tw_broker *b, const char *path, char *err,
		   size_t len);
int tw_broker_run(struct tw_broker *b, volatile int *stop);
/* The server context's SNI callback: picks the route's leaf certificate. */
int tw_broker_sni_cb(SSL *ssl, int *al, void *arg);
void tw_broker_free(struct tw_broker *b);

#endif

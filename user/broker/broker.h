/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * broker.h - the credential broker: its own process, the only one that
 * holds credential values and the CA key. It terminates TLS for brokered
 * services with a leaf certificate from its CA, judges each HTTP/1.1
 * request (request.h), swaps placeholders for values where allowed, and
 * forwards to the real service over TLS verified against the system CAs
 * (plus an optional extra CA). One `request` record per request.
 *
 * A route says where connections accepted on one listener were going:
 * the origin (service) the kernel redirected, the tool call's context,
 * and the address to reach the service at.
 */
#ifndef TW_BROKER_H
#define TW_BROKER_H

#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include "ca.h"
#include "request.h"

struct tw_bk_route {
	struct sockaddr_storage listen; /* where the broker accepts */
	socklen_t listen_len;
	int fd;
	struct tw_bk_origin origin;
	char context[160];
	struct sockaddr_storage upstream; /* the service's address */
	socklen_t upstream_len;
};

struct tw_broker {
	struct tw_ca ca;
	struct tw_bk_cred *creds;
	size_t ncreds;
	unsigned char **values; /* owned copies of credential values */
	struct tw_bk_origin *services;
	struct tw_bk_placeholder *ph;
	size_t nph;
	struct tw_bk_route *routes;
	size_t nroutes;
	char upstream_ca[4096];
	FILE *records; /* `request` records, JSON lines */
	SSL_CTX *server; /* SNI dispatcher; leaves come from the CA */
	SSL_CTX *client; /* to services */
	int epfd;
	unsigned long requests, refused, failed, conns;
};

/* Load the JSON configuration at PATH (see `toolwall broker --help`). */
int tw_broker_load(struct tw_broker *b, const char *path, char *err,
		   size_t len);
int tw_broker_run(struct tw_broker *b, volatile int *stop);
/* The server context's SNI callback: picks the route's leaf certificate. */
int tw_broker_sni_cb(SSL *ssl, int *al, void *arg);
void tw_broker_free(struct tw_broker *b);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bkstate.h - the broker's state, shared by its parts (broker.c the relay,
 * config.c the standalone configuration, bkctl.c the daemon's link). Types
 * only.
 *
 * A route says where connections accepted on one listener were going:
 * the origin (service) the kernel redirected, the tool call's context,
 * and the address to reach the service at.
 */
#ifndef TW_BKSTATE_H
#define TW_BKSTATE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
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

/*
 * Daemon mode (`toolwall broker --daemon`): one tool call's brokered
 * credentials, as the daemon announced them, with the values read from
 * their stores here. Freed when the call has ended and no connection of
 * it is open.
 */
struct tw_bk_call {
	uint64_t cgid;
	char context[160];
	char call_id[128];
	struct tw_bk_cred *creds;
	unsigned char **values;
	struct tw_bk_origin *services;
	struct tw_bk_placeholder *ph;
	size_t ncreds, nph;
	int refs;
	bool ended;
	struct tw_bk_call *next;
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
	/* daemon mode */
	int ctl_fd;   /* the daemon's socket; -1: standalone */
	int conn_map; /* tw_bk_conn: where a redirected connection went */
	struct tw_bk_call *calls;
	struct tw_bk_origin *origins; /* by the daemon's index */
	size_t norigins;
	unsigned long unknown; /* connections the kernel did not send */
};

#endif

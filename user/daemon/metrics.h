/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * metrics.h - `toolwall daemon --metrics ADDR`: the Prometheus text format
 * at GET /metrics, served by libmicrohttpd in a thread of its own.
 *
 *   ADDR  IPv4:PORT, [IPv6]:PORT, or unix:PATH (absolute)
 *
 * Life: tw_metrics_new (option parsing: syntax only), tw_metrics_listen
 * (before enforcement changes: a busy port or path refuses the start),
 * tw_metrics_start (once enforcing: counters from 0, the server's thread),
 * tw_metrics_close. What a scrape answers, and how counters stay
 * monotonic across reloads, is scrape.h's.
 */
#ifndef TW_METRICS_H
#define TW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "scrape.h"

struct tw_daemon;

/* A scrape's connections at once, their time, a request's bytes. */
#define TW_METRICS_CONNECTIONS 16
#define TW_METRICS_TIMEOUT_S 10
#define TW_METRICS_REQUEST_MAX (16 << 10)
/* The group a unix:PATH socket is given to (mode 0660); root only (0600)
 * when it does not exist. */
#define TW_METRICS_GROUP "toolwall-audit"

struct tw_metrics {
	char addr[160]; /* as given */
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd;		  /* the listening socket, or -1 */
	dev_t dev;	  /* unix:PATH: the socket file we made */
	ino_t ino;
	struct MHD_Daemon *mhd;
	struct tw_daemon *d;
	struct tw_scrape scrape; /* with d->lock held (scrape.h) */
};

/* Parse ADDR. NULL with a sentence in ERR when it is not one of the forms. */
struct tw_metrics *tw_metrics_new(const char *addr, char *err, size_t len);
/* Bind and listen. 0, or -errno with a sentence in ERR. */
int tw_metrics_listen(struct tw_metrics *m, char *err, size_t len);
/* Counters from 0 now, and the server's thread. 0 or -errno (ERR). */
int tw_metrics_start(struct tw_daemon *d, char *err, size_t len);
/* Stop serving, remove the unix socket, free. */
void tw_metrics_close(struct tw_daemon *d);

/* d->lock held: SLOT is about to be refilled; take what its contexts
 * counted into their totals. No-op without --metrics. */
void tw_metrics_refill(struct tw_daemon *d, int slot);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bkctl.h - the broker as the daemon runs it (`toolwall broker --daemon`):
 * the control socket's messages (see brokerd.h), the calls and their
 * placeholders, the TLS context for services, credential stores.
 */
#ifndef TW_BKCTL_H
#define TW_BKCTL_H

#include <jansson.h>

#include "bkstate.h"

/* Daemon mode: the listeners and map on fds 4, 5 and 6, the daemon on 3.
 * The server TLS context is the caller's to make. */
int tw_broker_daemon_setup(struct tw_broker *b, const char *ca_dir,
			   const char *public_dir, char *err, size_t len);
/* What the kernel recorded when it redirected the connection accepted at
 * FD (by its client end): the service and address into R, the cgroup, its
 * call (a reference, or NULL: no live call). -ENOENT: not redirected. */
int tw_broker_conn_origin(struct tw_broker *b, int fd, struct tw_bk_route *r,
			  uint64_t *cgid, struct tw_bk_call **call);
/* A message from the daemon (daemon.c of the broker). 0, or -1: stop. */
int tw_broker_control(struct tw_broker *b);
/* Send a record (or any message) to the daemon. */
void tw_broker_send(struct tw_broker *b, json_t *msg);
struct tw_bk_call *tw_broker_call(struct tw_broker *b, uint64_t cgid);
void tw_broker_call_put(struct tw_broker *b, struct tw_bk_call *c);
/* The TLS context for services: the system CAs plus CAS (paths), or
 * plus the PEM files open at FDS when FDS is not NULL (the daemon opened
 * them: the broker runs without the rights to). */
int tw_broker_make_client(struct tw_broker *b, char *const *cas,
			  const int *fds, size_t n, char *err, size_t len);
/* A credential store, by path or open at FD (NAME names it in errors). */
int tw_broker_read_value(const char *path, unsigned char **out, size_t *len,
			 char *err, size_t elen);
int tw_broker_read_fd(int fd, const char *name, unsigned char **out,
		      size_t *len, char *err, size_t elen);

#endif

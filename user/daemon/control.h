/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * control.h - the control socket (control.c): its clients are served by the
 * daemon's event loop without blocking; a request is read and parsed
 * without any lock, run with d->lock held, and answered as the client
 * takes it.
 */
#ifndef TW_CONTROL_H
#define TW_CONTROL_H

#include <jansson.h>
#include <stdint.h>

struct tw_daemon;

#define TW_CTL_CLIENTS 32
#define TW_CTL_MAX_REQUEST (64 * 1024)
#define TW_CTL_CLIENT_MS 5000
/* Epoll tags of the control socket: TW_CTL_TAG | client index, or
 * TW_CTL_TAG | TW_CTL_CLIENTS for the listener. Other fds: the fd. */
#define TW_CTL_TAG (1ull << 40)
/* Listen on the control socket; its events go to EP. 0 or -errno. */
int tw_control_open(struct tw_daemon *d, int ep);
/* An event tagged TW_CTL_TAG. Call without d->lock (taken per request). */
void tw_control_event(struct tw_daemon *d, uint64_t tag, uint32_t events);
/* Drop clients past their time limit. */
void tw_control_tick(struct tw_daemon *d);
void tw_control_close(struct tw_daemon *d);
/* Run one parsed request. d->lock held; no client I/O. */
json_t *tw_handle_request(struct tw_daemon *d, json_t *req);


#endif

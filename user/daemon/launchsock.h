/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * launchsock.h - the launch socket (launchsock.c): RUN-launch/launch.sock,
 * 0666 in a 0755 directory, both root's with the launcher group (`daemon
 * --launch-group G`, default "toolwall"). Any account may connect: the
 * daemon decides at accept, from the kernel's SO_PEERCRED and the account
 * database. Root and the group's members start tool calls through it,
 * each run by a supervisor of its own (`toolwall supervise`,
 * supervise.c); everyone else is refused with a message and a `launch`
 * audit record. At most d->launch_max calls run
 * this way at once (`daemon --launch-max N`): beyond, a launcher is told
 * to try again, at once, and nothing starts.
 */
#ifndef TW_LAUNCHSOCK_H
#define TW_LAUNCHSOCK_H

#include <jansson.h>
#include <stdint.h>

struct tw_daemon;

#define TW_LAUNCH_GROUP "toolwall"
#define TW_LAUNCH_MAX 64	 /* default --launch-max */
#define TW_LAUNCH_MAX_LIMIT 4096 /* the most --launch-max takes */
/* Epoll tags: TW_LAUNCH_TAG | slot for a supervisor's pidfd, TW_LAUNCH_TAG
 * | TW_LAUNCH_MAX_LIMIT for the listener. */
#define TW_LAUNCH_TAG (1ull << 41)

/* Serve the launch socket; its events go to EP. 0 or -errno (said). */
int tw_launch_open(struct tw_daemon *d, int ep);
/* An event tagged TW_LAUNCH_TAG. Call without d->lock. */
void tw_launch_event(struct tw_daemon *d, uint64_t tag);
/* For status: the socket, group, calls running and the counters. */
json_t *tw_launch_status(struct tw_daemon *d);
/* Stop serving (running supervisors go on with their calls). */
void tw_launch_close(struct tw_daemon *d);

#endif

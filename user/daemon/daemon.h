/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * daemon.h - what the daemon's loop (loop.c) uses of daemon.c: policy
 * reloads, the ring buffers that become audit records, loss accounting.
 */
#ifndef TW_DAEMON_H
#define TW_DAEMON_H

#include <stdbool.h>

#include <jansson.h>

#include "state.h"

/* Events a batch takes from each ring buffer, d->lock held (a few ms). */
#define TW_DRAIN_BATCH 256

/*
 * Load, compile, create context cgroups, fill the inactive slot and flip.
 * On any error the policy in force stays and *ERRORS says why. d->lock
 * held.
 */
int tw_daemon_reload(struct tw_daemon *d, json_t **errors);
/*
 * A reload as a service manager sees it (SIGHUP, `toolwall reload`):
 * RELOADING=1, then READY=1 with the policy in force, taken or refused.
 */
int tw_daemon_reload_notify(struct tw_daemon *d, json_t **errors);
void tw_revision_free(struct tw_revision *r);
/* The learned-address table, its sink the active slot of tw_learned. */
void tw_daemon_learned_init(struct tw_daemon *d);

/* Open both ring buffers (d->rb, d->rb_ev). Returns 0 or -errno. */
int tw_daemon_rings_open(struct tw_daemon *d);
void tw_daemon_rings_close(struct tw_daemon *d);
/* Every event the ring buffers hold now, into records (d->lock held);
 * bounded: what a flood queues meanwhile waits for the loop's batches. */
void tw_daemon_drain(struct tw_daemon *d);
/*
 * One batch: at most TW_DRAIN_BATCH events of each ring buffer, taking
 * d->lock for the batch. Returns true when a ring may hold more.
 */
bool tw_daemon_drain_batch(struct tw_daemon *d);
/*
 * Events the kernel did not record become `lost` records, never silent: a
 * full ring buffer, and each context's events over its budget (d->lock
 * held). Also the audit log's due aggregates and rotation.
 */
void tw_daemon_account_loss(struct tw_daemon *d);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * brokerd.h - the daemon's side of the credential broker (user/broker/).
 *
 * The broker is its own process (`toolwall broker --daemon`), started by
 * the daemon and started again when it dies. It alone reads credential
 * stores and holds the CA key; the daemon never holds a brokered value.
 * What passes between them, one JSON message per SOCK_SEQPACKET datagram:
 *
 *   daemon -> broker  {"op":"origins","origins":[...]}  origin by index
 *                     {"op":"call","cgid":N,"context":C,"call_id":I,
 *                      "creds":[{token,name,scope,header,services,source}]}
 *                     {"op":"end","cgid":N}      its placeholders die
 *   broker -> daemon  {"op":"ready","ca_sha256":..,"bundle":..}
 *                     {"op":"request","cgid":N, record fields...}
 *
 * The daemon binds the listeners (127.0.0.1:P and [::1]:P, P fixed for
 * its life and kept out of every call's bind()) and hands them over at
 * each start without keeping a copy: with the broker dead nothing listens
 * and a brokered connect fails with ECONNREFUSED, never goes direct.
 */
#ifndef TW_BROKERD_H
#define TW_BROKERD_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "maps.h"
#include "state.h"

struct tw_service;

/* Where the broker keeps its CA (0700, key 0600) and the public bundle
 * (system CAs + its CA) tool calls trust (tw_roots.broker_pub).
 * TOOLWALL_BROKER_DIR=D moves them to D and D-public (tests). */
#define TW_BROKER_DIR "/var/lib/toolwall/broker"

struct tw_brokerd {
	pid_t pid;	   /* 0: not running */
	int fd;		   /* our end of the control socket, or -1 */
	uint16_t port;	   /* the listeners' port (host order) */
	bool ready;	   /* announced itself since its last start */
	char ca_sha256[65];
	char bundle[4096]; /* the CA bundle calls trust */
	char dir[4096];
	uint64_t starts, requests, refused, failed, deaths;
	uint64_t last_start_ns;
	char **origins; /* "https://host:port" by index (tw_bk_dst.origin) */
	size_t norigins;
};

/* Pick the port, start the broker. 0 or -errno (the daemon runs on; its
 * brokered connects are refused until a start succeeds). */
int tw_brokerd_open(struct tw_daemon *d);
void tw_brokerd_close(struct tw_daemon *d);
/* The control socket to watch, or -1. */
int tw_brokerd_fd(struct tw_daemon *d);
/* Messages from the broker: records, readiness. With d->lock held. */
void tw_brokerd_read(struct tw_daemon *d);
/* Once a second: reap a dead broker and start another. */
void tw_brokerd_tick(struct tw_daemon *d);

/*
 * A call starts: every brokered credential in CREDS (the call-start
 * reply's "credentials") gets a placeholder ("placeholder"), the broker
 * learns them. 0 or -errno.
 */
int tw_brokerd_call_start(struct tw_daemon *d, struct tw_call *call,
			  json_t *creds);
/* Calls a restarted daemon re-adopted: the broker learns their
 * placeholders again (the daemon saved them with the calls). */
void tw_brokerd_adopted(struct tw_daemon *d);
/* The call ended: its placeholders are worthless from now on. */
void tw_brokerd_call_end(struct tw_daemon *d, struct tw_call *call);

/* Every brokered service address of compiled policy C (literal addresses
 * and the addresses its resolver learned for service names), for a push. */
struct tw_bk_entry *tw_brokerd_entries(struct tw_daemon *d,
				       const struct tw_compiled *c, size_t *n);
/* The resolver learned (ADD) or forgot an address of a name in context
 * CTX: redirect it too if it is a brokered service's. */
void tw_brokerd_learned(struct tw_daemon *d, const char *ctx,
			const char *name, const struct tw_learn_entry *e,
			bool add);

/* The broker's index of service SV's origin (the broker learns a new
 * one at once); ~0 without a broker or memory. */
uint32_t tw_brokerd_origin(struct tw_daemon *d, const struct tw_service *sv);

/* A policy is in force: the broker's upstream CAs follow it. */
void tw_brokerd_policy(struct tw_daemon *d);

json_t *tw_brokerd_status(struct tw_daemon *d);

#endif

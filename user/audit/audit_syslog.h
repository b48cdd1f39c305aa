/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * audit_syslog.h - the syslog copy of the audit log: every record as an
 * RFC 5424 message (audit_export.h) to a collector, over
 *
 *   udp://HOST:PORT   a datagram each, sent by the writer (never blocks)
 *   unix:PATH         the same on a local datagram socket
 *   tcp://HOST:PORT   a stream, RFC 6587 octet counting ("LEN SP MSG")
 *   tls://HOST:PORT   the same inside TLS (RFC 5425), the server's
 *                     certificate checked against a CA file (or the
 *                     system's) and its name against HOST
 *
 * A stream has a sender thread of its own: the writer only appends the
 * framed message to a bounded queue, so a slow, absent or hostile collector
 * never blocks the daemon (its event loop, its resolver) nor costs a record
 * of the local log. The thread resolves HOST, connects and, when the
 * connection breaks, reconnects with a doubling backoff (0.25 s to 30 s);
 * messages wait in the queue meanwhile. A message the queue has no room
 * for (or a datagram the kernel refused) is dropped and counted: the
 * writer reports the drops in a `lost` record of its own log (source
 * "syslog", the seq range dropped), and in status.
 *
 * Thread-safe; tw_syslog_send takes one short lock and does no I/O for a
 * stream. Errors are -errno; nothing here logs.
 */
#ifndef TW_AUDIT_SYSLOG_H
#define TW_AUDIT_SYSLOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TW_SYSLOG_QUEUE 4096		 /* messages a stream may queue */
#define TW_SYSLOG_QUEUE_BYTES (32u << 20) /* and bytes */
#define TW_SYSLOG_DRAIN_MS 2000		 /* what a stop waits for the queue */

struct tw_syslog_opts {
	const char *dest;  /* as above */
	const char *ca;	   /* tls: PEM CA file; NULL: the system's store */
	const char *sd_id; /* NAME@PEN, or NULL: no structured data */
	unsigned queue;	   /* stream queue length; 0: TW_SYSLOG_QUEUE */
};

struct tw_syslog;

/* Records the collector did not get, since the last report. */
struct tw_syslog_loss {
	uint64_t records;
	uint64_t first_seq, last_seq;
	uint64_t first_ns, last_ns; /* when they were dropped */
	char why[256];		    /* the error that made the queue fill */
};

/*
 * Is DEST a destination, and SD_ID (may be NULL) an RFC 5424 SD-ID with
 * an enterprise number ("name@32473")? 0 or -EINVAL. Resolves nothing
 * for tcp and tls (the sender does, at each connect); udp resolves now.
 */
int tw_syslog_check(const char *dest);
int tw_syslog_sd_id_check(const char *sd_id);

/* Open the copy; for tcp and tls, start its sender (which connects in the
 * background). -EINVAL: a bad destination; -errno otherwise. */
int tw_syslog_open(struct tw_syslog **out, const struct tw_syslog_opts *o);

/* Copy record REC (its sealed line LINE, LEN bytes, no '\n'). */
void tw_syslog_send(struct tw_syslog *s, json_t *rec, const char *line,
		    size_t len);

/* Drops since the last call, once the queue has room again (or with
 * FORCE, at once). True when there were some. */
bool tw_syslog_take_loss(struct tw_syslog *s, bool force,
			 struct tw_syslog_loss *l);

/* Wait up to MS for the queue to empty while the collector is connected. */
void tw_syslog_drain(struct tw_syslog *s, unsigned ms);

/* Stop the sender after at most MS of draining; what is still queued is
 * counted as dropped (tw_syslog_take_loss reports it). */
void tw_syslog_stop(struct tw_syslog *s, unsigned ms);
void tw_syslog_free(struct tw_syslog *s);

/* {"dest", "transport", "connected", "sent", "queued", "queue_max",
 * "lost", "connects", "failures", "certs_refused", "last_error"}. */
json_t *tw_syslog_status(struct tw_syslog *s);

/*
 * News for the daemon's own log: a state change since the last call (a
 * first connect, a reconnect, a new error), said in one line into BUF.
 */
bool tw_syslog_news(struct tw_syslog *s, char *buf, size_t len);

#endif

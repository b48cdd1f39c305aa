/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * audit.h - the JSON Lines audit log writer: append-only records with a
 * sequence number and a SHA-256 hash chain (audit_chain.h) that continue
 * across daemon restarts and rotations; rotation by size and age with
 * gzip'd segments (audit_seg.h); flood aggregation (audit_agg.h); an
 * optional RFC 5424 syslog copy of every record; and loss that is never
 * silent: records that cannot be written are counted and reported in a
 * `lost` record as soon as writing works again.
 *
 * Pure in the Makefile's sense (no BPF, no kernel maps): files, sockets,
 * and -errno, never a message. Thread-safe: one recursive lock per log.
 */
#ifndef TW_AUDIT_H
#define TW_AUDIT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "audit_agg.h"
#include "audit_chain.h"
#include "audit_syslog.h"
#include "checkpoint.h"
#include "record.h"
#include "redact.h"

#define TW_AUDIT_MAX_SIZE (64ull << 20) /* bytes per live segment */
#define TW_AUDIT_MAX_AGE (24ull * 3600) /* seconds */
#define TW_AUDIT_KEEP 10		/* rotated segments kept */

struct tw_audit_opts {
	uint64_t max_size;  /* rotate once the live file reaches it; 0: never */
	uint64_t max_age_s; /* rotate once its first record is older; 0: never */
	unsigned keep;	    /* rotated segments kept (>= 1) */
	/* the syslog copy (audit_syslog.h): NULL, or udp://, tcp://, tls://
	 * HOST:PORT or unix:PATH; a CA file for tls; an SD-ID; a queue */
	const char *syslog, *syslog_ca, *syslog_sd_id;
	unsigned syslog_queue;
	uint64_t window_ns; /* aggregation window; 0: TW_AGG_WINDOW_NS */
	/* Signed checkpoints (checkpoint.h): with KEY, at open, before each
	 * rotation, every CKPT_RECORDS records or CKPT_SECONDS seconds (0:
	 * the defaults) when records were written since, and at close. */
	const struct tw_ckpt_key *key;
	uint64_t ckpt_records, ckpt_seconds;
	/* Responders: with HAS_GROUP the log's directory is 0750 and its
	 * files 0640, group GROUP; else root only (0700, 0600). */
	bool has_group;
	unsigned group; /* gid_t */
	bool no_group;	/* root only, even when TW_AUDIT_GROUP exists */
};

#define TW_AUDIT_GROUP "toolwall-audit"

#define TW_CKPT_RECORDS 1000
#define TW_CKPT_SECONDS 60

/* Records that could not be written, reported when writing works again. */
struct tw_audit_gap {
	uint64_t records, events; /* events: denials etc. they stood for */
	uint64_t first_ns, last_ns;
	int err; /* the first error */
	json_t *by_event; /* {"deny": records, ...} */
};

struct tw_audit {
	int fd;
	uint64_t seq;	  /* last sequence number written */
	uint64_t written; /* records written by this process */
	uint64_t failed;  /* records that could not be written */
	uint64_t events_lost; /* events those records stood for */
	char path[4096];
	char prev[TW_HASH_HEX + 1]; /* hash of the last record */
	uint64_t size;		    /* bytes in the live file */
	uint64_t seg_start_ns;	    /* ts of its first record; 0: empty */
	bool seg_has_data;	    /* holds more than its rotate record */
	uint64_t rotations, rotate_retry_ns;
	int rotate_err;
	struct tw_audit_opts o;
	struct tw_audit_gap gap;
	struct tw_agg agg;
	struct tw_syslog *sl; /* the syslog copy, or NULL */
	/* checkpoints */
	uint64_t since_ckpt, ckpt_ns, checkpoints;
	struct tw_redactor red; /* credential values of live calls */
	pthread_mutex_t lock;
};

/*
 * Open (create 0600, parent 0700; 0640 and 0750 with the group, which is
 * TW_AUDIT_GROUP when it exists and none was chosen) and continue the chain of an existing
 * log: last seq and hash, from the live file or the newest rotated
 * segment. On error (-errno) A is still usable: records are counted as
 * lost and the file is opened again at the next write or tick.
 */
int tw_audit_open(struct tw_audit *a, const char *path,
		  const struct tw_audit_opts *o);
/* Write every pending aggregate, then close (the syslog copy drains for
 * at most 2 x TW_SYSLOG_DRAIN_MS; what it could not send is a `lost`
 * record, signed when a key is set). */
void tw_audit_close(struct tw_audit *a);

/*
 * Start a record: {"ts": TS (or now), "seq", "event": EVENT}. The caller
 * adds fields in SPEC order and calls tw_audit_write, which owns REC after
 * and sets seq, prev and hash. TS_NS is CLOCK_REALTIME ns, or 0 for now.
 */
json_t *tw_audit_record(struct tw_audit *a, const char *event, uint64_t ts_ns);
/* 0, or -errno when the record could not be written (it is then counted
 * in the gap and reported by a `lost` record later). */
int tw_audit_write(struct tw_audit *a, json_t *rec);

/*
 * Flood control. tw_audit_aggregate: is an event with KEY already being
 * counted (true: write nothing)? Otherwise write its record with
 * tw_audit_write_first, which also remembers it for its twins.
 */
bool tw_audit_aggregate(struct tw_audit *a, const void *key, size_t klen,
			uint64_t ts_ns);
/* tw_audit_aggregate, and on a miss KEY is claimed (tw_agg_claim) for a
 * record that tw_audit_write_first writes later: the twins of an event
 * being looked up count into it rather than write records of their own. */
bool tw_audit_claim(struct tw_audit *a, const void *key, size_t klen,
		    uint64_t ts_ns);
int tw_audit_write_first(struct tw_audit *a, json_t *rec, const void *key,
			 size_t klen, uint32_t pid);
/*
 * Write pending aggregates: all of them, or those whose window is over or
 * whose process has exited (so a call's records are complete when the
 * call ends).
 */
void tw_audit_flush(struct tw_audit *a, enum tw_agg_flush how);
/* Once a second: due aggregates, age rotation, reopen, report a gap. */
void tw_audit_tick(struct tw_audit *a);

/*
 * Credential values never reach the log (or its syslog copy): every record
 * is run through redact.h before it is sealed (and before an aggregate
 * keeps its copy), whoever wrote it. The daemon registers the values a
 * call holds (OWNER: the call's cgroup id) when the call starts and drops
 * them when it is forgotten; they are kept TW_AUDIT_SECRET_GRACE_NS longer
 * for records of its last events that come late (Landlock's, from the
 * kernel audit log), then wiped. 0 or -errno.
 */
#define TW_AUDIT_SECRET_GRACE_NS (10ull * 1000000000ull)
int tw_audit_secret_add(struct tw_audit *a, uint64_t owner, const char *name,
			const void *value, size_t len);
void tw_audit_secret_drop(struct tw_audit *a, uint64_t owner);
/* The same redaction of J, for what leaves the daemon other than as a
 * record (a call's denial summary). */
void tw_audit_redact(struct tw_audit *a, json_t *j);

/*
 * A kernel event a record was made of: the kernel's boot-clock time of the
 * event and the thread that caused it (the record's `kernel_ns` and `tid`).
 */
struct tw_kevent {
	uint64_t kernel_ns;
	uint32_t tid;
};

/*
 * The kernel events recorded last in the log A continues: those of the
 * last records that carry `kernel_ns`, read from the live file's last
 * 64 KiB and, when that is the whole live file, the newest segment before
 * it. At most MAX into IDS; returns how many. A daemon killed after
 * writing an event's record but before the ring buffer let the event go
 * finds it again at the head of the ring: these say it was recorded.
 */
size_t tw_audit_recent_kevents(struct tw_audit *a, struct tw_kevent *ids,
			       size_t max);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * grants.h - time-limited grants and quarantine in the daemon: the live
 * set (persisted in RUN/grants.json, so a restarted daemon takes it over),
 * what the kernel holds of it (grantmaps.h), expiry, policy reloads,
 * call-start, and the control operations (grantops.c).
 *
 * The kernel enforces every deadline by itself; the daemon only tidies up
 * after it (removes expired entries, writes the `expire` record).
 */
#ifndef TW_GRANTS_H
#define TW_GRANTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "compile.h"
#include "grantaddr.h"
#include "state.h"

struct tw_live_grant {
	char id[16];	     /* "g-" + 8 hex digits */
	uint32_t num;	     /* the same number, in the kernel's entries */
	char context[160];
	char bundle[64];     /* or "" with connect */
	char connect[320];   /* one destination, or "" */
	char call_id[128];   /* "": the whole context */
	char approved_by[128];
	char operator_[64];  /* the account that ran `toolwall grant` */
	char reason[256];
	uint64_t created;    /* CLOCK_REALTIME ns */
	uint64_t expires;    /* CLOCK_REALTIME ns, for people */
	uint64_t deadline;   /* CLOCK_BOOTTIME ns, the kernel's */
	uint8_t gslot;	     /* grant slot in its scope */
};

struct tw_quarantine {
	char context[160];   /* "" with call_id */
	char call_id[128];   /* "": the whole context */
	char operator_[64];
	char reason[256];
	uint64_t since;	     /* CLOCK_REALTIME ns */
	uint64_t since_boot; /* CLOCK_BOOTTIME ns (the kernel's flag) */
};

struct tw_grants {
	struct tw_live_grant *g;
	size_t n;
	struct tw_gaddrs addrs; /* of granted names (grantdns.h) */
	struct tw_quarantine *q;
	size_t nq;
	/* The compiled policy a reload is about to put in force (fill). */
	const struct tw_compiled *pending;
};

/* Take over what a previous daemon left (RUN/grants.json). 0 or -errno. */
int tw_grants_open(struct tw_daemon *d);
void tw_grants_close(struct tw_daemon *d);
int tw_grants_save(struct tw_daemon *d);

/* tw_push_extra.fill of a reload (ARG: the daemon; d->grants->pending set):
 * the context scopes of the grants and quarantines the new policy keeps. */
int tw_grants_fill(void *arg, uint32_t slot, char *err, size_t len);
/* After a reload: end (with a record) what the policy in force no longer
 * allows: a grant whose context or bundle is gone, or now held. */
void tw_grants_reloaded(struct tw_daemon *d);
/* Once a second: expired grants leave the maps, with an `expire` record;
 * scopes of calls that are gone leave the kernel. */
void tw_grants_tick(struct tw_daemon *d);

/* May a call of CTX with CALL_ID start? false with WHY when quarantined. */
bool tw_grants_call_ok(struct tw_daemon *d, const char *ctx,
		       const char *call_id, char *why, size_t len);
/* A call started: its per-call grants and quarantine reach its cgroup. */
void tw_grants_call_started(struct tw_daemon *d, const struct tw_call *c);

/*
 * Context X (of COMP) as a call of it with CALL_ID starting now gets it:
 * with the bundles of the live grants to X, or to that call id, as held
 * (credentials, repositories, skills, instructions). Returns 1 with *OUT
 * filled (tw_context_free), 0 when no live grant of a bundle applies
 * (*OUT untouched), or -errno.
 */
int tw_grants_call_context(struct tw_daemon *d, const struct tw_compiled *comp,
			   const struct tw_context *x, const char *call_id,
			   struct tw_context *out);

/* The resolver learned (ADD) or forgot address E of NAME in context CTX
 * by its own rules: the redirects of the live grants' brokered services
 * named NAME follow (grantbk.h). */
void tw_grants_bk_learned(struct tw_daemon *d, const char *ctx,
			  const char *name, const struct tw_learn_entry *e,
			  bool add);

/* Live grants and quarantines (status, `grants`). */
json_t *tw_grants_json(struct tw_daemon *d);
json_t *tw_grant_json(const struct tw_live_grant *g);

/* The kernel side of one grant / of every scope one applies to. */
int tw_grant_apply(struct tw_daemon *d, const struct tw_live_grant *g, char *err,
		   size_t len);
void tw_grant_unapply(struct tw_daemon *d, const struct tw_live_grant *g);
/* Make the kernel's scopes of CONTEXT (and calls) match the live set. */
int tw_grants_sync_context(struct tw_daemon *d, const char *context);
int tw_grants_sync_call(struct tw_daemon *d, const struct tw_call *c);
/* Remove grant I from the list (after unapply), with an EVENT record. */
void tw_grant_end(struct tw_daemon *d, size_t i, const char *event,
		  const char *operator_, uint32_t uid, int pid,
		  const char *reason);
/* A record of EVENT about grant G or quarantine Q (one of them). */
json_t *tw_grants_record(struct tw_daemon *d, const char *event,
			 const struct tw_live_grant *g,
			 const struct tw_quarantine *q);

/* Control operations (grantops.c), registered in control.c. */
json_t *tw_op_grant(struct tw_daemon *d, json_t *req);
json_t *tw_op_revoke(struct tw_daemon *d, json_t *req);
json_t *tw_op_grants(struct tw_daemon *d, json_t *req);
json_t *tw_op_quarantine(struct tw_daemon *d, json_t *req);
json_t *tw_op_release(struct tw_daemon *d, json_t *req);

#endif

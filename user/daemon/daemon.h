/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * daemon.h - the state of `toolwall daemon`, shared by its event loop
 * (daemon.c) and its control socket handlers (control.c).
 */
#ifndef TW_DAEMON_H
#define TW_DAEMON_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "compile.h"
#include "dns.h"
#include "kaudit.h"
#include "loader.h"
#include "toolwall.h"

/* One denied destination of a call, aggregated for the exec summary. */
struct tw_call_denial {
	uint64_t key; /* hash of what was denied (tw_call_note) */
	char what[384]; /* "connect tcp 10.50.1.10:443" */
	char reason[256];
	char hint[512];
	uint64_t count;
};

/* A credential value of a call, kept only to keep it out of the log. */
struct tw_secret {
	char name[128];
	char *value; /* wiped when the call is forgotten */
	size_t len;
};

struct tw_call {
	uint64_t cgid;
	char cgroup[4096]; /* absolute path */
	char context[160];
	char call_id[128];
	char requester[128];
	uint64_t started_ns;
	bool ended; /* exec returned; the cgroup goes when empty */
	struct tw_call_denial *denials;
	size_t ndenials;
	struct tw_secret *secrets; /* read at its first syscall audit event */
	size_t nsecrets;
	bool secrets_loaded;
};

/* A compiled policy in force in one slot, and what the daemon made of it. */
struct tw_revision {
	struct tw_policy pol;
	struct tw_compiled comp;
	uint64_t *ctx_cgid; /* per context: its cgroup id */
	bool valid;
};

struct tw_daemon {
	const char *policy_path;
	char policy_real[4096]; /* its real path at the last reload, or "" */
	const char *audit_path;
	bool debug;
	struct tw_loader ld;
	struct tw_audit audit;
	struct tw_revision rev[2]; /* indexed by slot */
	uint32_t slot;		   /* active */
	int alias_slot; /* a slot a killed daemon filled with the revision in
			   force now (events queued there are named with
			   it until the slot is refilled); -1: none */
	struct tw_call *calls;
	size_t ncalls;
	uint64_t next_call;
	struct ring_buffer *rb;
	int listen_fd;
	struct tw_control *ctl;
	uint64_t started_ns;
	uint64_t reloads, reloads_failed, events, proc_events;
	bool stop;

	/*
	 * The resolver runs in its own thread; this lock serialises it with
	 * the event loop over the policy in force, the maps and the audit log.
	 */
	pthread_mutex_t lock;
	pthread_t dns_thread[TW_DNS_THREADS];
	int dns_running; /* resolver threads started */
	int dns_epoll;
	int dns_wake[2];
	struct tw_dns_listener **dns_ctx; /* per context name, never closed */
	size_t ndns_ctx;
	struct tw_learned *learned;
	size_t nlearned;
	struct tw_dns_stats dns;

	/* Landlock's audit records, when the kernel audit log is on. */
	int kaudit_fd; /* -1: unavailable (kaudit_why says why) */
	char kaudit_why[256];
	struct tw_kaudit_event kaudit_ev;
	uint64_t kaudit_records, kaudit_overruns, kaudit_overruns_seen;
	int kaudit_enabled; /* tw_kaudit_enabled() at the last tick */

	/* Recent exec'd pids and their cgroups, for records that name only
	 * a pid (Landlock's). */
	struct {
		uint32_t pid;
		uint64_t cgid;
	} pids[1024];
	size_t pids_next;
};

/*
 * sysaudit.c: read the values of call C's credentials (its context's, in
 * the policy in force), only to keep them out of the log. Once per call;
 * at call-start, in the window the launcher reads them.
 */
void tw_call_secrets_load(struct tw_daemon *d, struct tw_call *c);

/* sysaudit.c: the cgroup of PID (live, or seen exec'ing). 0 or -ENOENT. */
int tw_sysaudit_pid_cgid(struct tw_daemon *d, uint32_t pid, uint64_t *cgid);

/*
 * The process in the context cgroup CTX_CGROUP (relative to the toolwall
 * root; its calls included) that holds the local socket PEER talks from,
 * e.g. a DNS client. 0 or -ENOENT. Scans only that context's processes.
 */
struct sockaddr;
int tw_socket_owner(struct tw_daemon *d, const char *ctx_cgroup,
		    const struct sockaddr *peer, bool tcp, uint32_t *pid);

/* control.c: the control socket's clients, served by the event loop. */
#define TW_CTL_VERSION 1
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

/* daemon.c */
extern uint64_t tw_boot_to_real_ns;
/* Write a `lost` record: COUNT events of SOURCE never became records. */
void tw_daemon_lost(struct tw_daemon *d, uint64_t count, bool lower_bound,
		    const char *source, const char *reason); /* CLOCK_BOOTTIME -> CLOCK_REALTIME */
int tw_daemon_reload(struct tw_daemon *d, json_t **errors);
/*
 * The revision and context index of a context key of an event, or NULL
 * when neither slot holds it.
 */
const struct tw_revision *tw_daemon_context(struct tw_daemon *d,
					    uint32_t ctx_key, int *idx);
/* call_id and requester of a record (null when there is no call). */
void tw_record_call(json_t *rec, const struct tw_call *call);
/* pid, tid, uid and comm (COMMLEN bytes at most) of a record. */
void tw_record_who(json_t *rec, uint32_t pid, uint32_t tid, uint32_t uid,
		   const char *comm, size_t commlen);
/* context, workspace, call_id, requester of a record (null when unknown). */
void tw_record_where(json_t *rec, const struct tw_policy *pol,
		     const struct tw_context *x, const struct tw_call *call);
/*
 * Count a denial of call C for its stderr summary. ID (IDLEN bytes) says
 * what was denied; repeats only count. REASON NULL: only count (a folded
 * repeat, or nothing worth listing).
 */
void tw_call_note(struct tw_call *c, const void *id, size_t idlen,
		  const char *what, const char *reason, const char *hint);
void tw_daemon_drain(struct tw_daemon *d);
struct tw_call *tw_call_find(struct tw_daemon *d, uint64_t cgid);
void tw_call_forget(struct tw_daemon *d, struct tw_call *c);
int tw_calls_save(struct tw_daemon *d);

#endif

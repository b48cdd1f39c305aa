/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * state.h - the state of `toolwall daemon`: the policy revisions, the call
 * registry, and what the event sources (socket events, syscall audit, the
 * kernel audit log, the resolver) and the control socket need to name a
 * record and write it. They include this, never daemon.c's loop: what
 * they need of the loop (drain the ring buffers, reload) is a function in
 * struct tw_daemon. state.c holds the registry and the record helpers.
 */
#ifndef TW_STATE_H
#define TW_STATE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "compile.h"
#include "learned.h"
#include "loader.h"
#include "toolwall.h"

/* The resolver's counters (dns.c) and threads (more than one context's
 * TW_DNS_INFLIGHT upstream exchanges, see dns.h). */
#define TW_DNS_THREADS 8
struct tw_dns_stats {
	uint64_t queries, answered, nxdomain, refused, rebinding, servfail;
	uint64_t tcp, truncated;
	uint64_t formerr, notimp; /* malformed; an opcode or type not served */
	/* Updated without the daemon lock (atomics). */
	uint64_t ratelimited; /* over a context's TW_DNS_QPS */
	uint64_t busy;	      /* over a context's TW_DNS_INFLIGHT */
	uint64_t tcp_refused;  /* over the connection limits */
	uint64_t tcp_timeouts; /* shut at their deadline */
	uint64_t tcp_dropped;  /* went away mid-query or mid-answer */
};

struct tw_dns_listener;
struct tw_brokerd;
struct tw_grants;
struct tw_learn_entry;
struct tw_metrics;
struct tw_launchsock;

/* Landlock's kernel audit records (kaudit.c): The event being assembled from its records (same serial). */
struct tw_kaudit_event {
	unsigned long serial;
	unsigned ticks;	    /* housekeeping ticks it has been pending */
	uint64_t ts_ns;	    /* the kernel's time of the event (ms) */
	char access[2048];  /* the 1423 record's text */
	uint32_t domain_pid; /* 1424: the process that made the domain */
	uint32_t pid;	    /* 1300: the process refused */
	char comm[64];
	char blockers[256];
	char path[4096];
	char domain[64];
};

/* One denied destination of a call, aggregated for the exec summary. */
struct tw_call_denial {
	uint64_t key; /* hash of what was denied (tw_call_note) */
	char what[384]; /* "connect tcp 10.50.1.10:443" */
	char reason[256];
	char hint[512];
	uint64_t count;
};

struct tw_call {
	uint64_t cgid;
	char cgroup[4096]; /* absolute path */
	char context[160];
	char call_id[128];
	char requester[128];
	/* the launch socket's peer that asked for the call; -1: root's own
	 * exec (records then carry no launcher_uid) */
	long long launcher_uid;
	uint64_t started_ns;
	bool ended; /* exec returned; the cgroup goes when empty */
	struct tw_call_denial *denials;
	size_t ndenials;
	bool secrets_loaded; /* its credential values are registered with
				the audit writer, to keep them out of records */
	/* Its brokered credentials: [{token, name, ...}] as the broker got
	 * them (placeholders, store paths; never a value). */
	json_t *brokered;
	uint64_t broker_refused; /* requests the broker refused */
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
	bool calls_dirty; /* the table changed since it was last saved */
	char *call_filter; /* every call's seccomp program, base64 (built at
			      the first call-start; no policy changes it) */
	size_t ncalls;
	uint64_t next_call;
	/* Two ring buffers, drained in turn in bounded batches: the syscall
	 * audit's (execs first: a program's exec record precedes what it
	 * did) and the socket hooks'. */
	struct ring_buffer *rb;	   /* tw_proc_events */
	struct ring_buffer *rb_ev; /* tw_events */
	unsigned int batch_left; /* events this batch may still take; 0:
				    no bound (a full drain) */
	/* Each context's budget of denial events in the kernel (tw_budget):
	 * events a second and at once; 0: none. */
	uint32_t budget_rate, budget_burst;
	/* Each context's share of the resolver (--dns-budget, dnsrefuse.h):
	 * queries a second and at once (0: no query budget), and upstream
	 * lookups at once (1 to TW_DNS_THREADS). */
	uint32_t dns_qps, dns_burst, dns_inflight;
	uint64_t budget_lost; /* events over budget, reported as lost */
	/* The kernel events last recorded before this daemon started, and
	 * per ring (0: events, 1: proc_events) whether its first event since
	 * start was checked against them. */
	struct tw_kevent recorded[8];
	size_t nrecorded;
	bool ring_checked[2];
	int listen_fd;
	struct tw_control *ctl;
	struct tw_launchsock *launch; /* launchsock.h */
	const char *launch_group;     /* --launch-group, or "toolwall" */
	bool launch_group_set;	      /* named on the command line */
	unsigned int launch_max;      /* --launch-max */
	uint64_t started_ns;
	uint64_t reloads, reloads_failed, events, proc_events;
	uint64_t reloaded_ns; /* CLOCK_REALTIME: the policy in force taken */
	struct tw_metrics *metrics; /* --metrics (metrics.h), or NULL */
	uint64_t kill_after_events; /* tests: SIGKILL once this many are
				       recorded (TOOLWALL_TEST_KILL_AFTER_EVENTS) */
	bool stop;
	/* The loop's own work, for the parts that must have it done now. */
	void (*drain)(struct tw_daemon *d); /* every ring buffer, into records */
	int (*reload)(struct tw_daemon *d, json_t **errors);

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
	struct tw_learned_table learned; /* learned.h */
	struct tw_brokerd *broker; /* brokerd.h */
	struct tw_grants *grants;  /* grants.h: grants and quarantine */
	/* The resolver learned (ADD) or forgot an address of NAME for CTX:
	 * the broker redirects brokered services' addresses too. NULL: none. */
	void (*learned_hook)(struct tw_daemon *d, const char *ctx,
			     const char *name, const struct tw_learn_entry *e,
			     bool add);
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

/* state.c */
extern uint64_t tw_boot_to_real_ns;
/* Write a `lost` record: COUNT events of SOURCE never became records. */
void tw_daemon_lost(struct tw_daemon *d, uint64_t count, bool lower_bound,
		    const char *source, const char *reason); /* CLOCK_BOOTTIME -> CLOCK_REALTIME */
/*
 * The revision and context index of a context key of an event, or NULL
 * when neither slot holds it.
 */
const struct tw_revision *tw_daemon_context(struct tw_daemon *d,
					    uint32_t ctx_key, int *idx);
/* call_id and requester of a record (null when there is no call). */
void tw_record_call(json_t *rec, const struct tw_call *call);
/* pid, tid, kernel_ns (the event's boot-clock time; 0: none), uid and
 * comm (COMMLEN bytes at most, encoded as record.h says) of a record. */
void tw_record_who(json_t *rec, uint32_t pid, uint32_t tid, uint64_t kernel_ns,
		   uint32_t uid, const char *comm, size_t commlen);
/*
 * Was the event at the head of RING (0: events, 1: proc_events) recorded
 * already? Only the first event a ring delivers after the daemon starts
 * can be: the one whose record a killed daemon wrote before the ring let
 * it go (libbpf moves the ring on after each event's callback).
 */
bool tw_daemon_recorded(struct tw_daemon *d, int ring, uint64_t kernel_ns,
			uint32_t tid);
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
struct tw_call *tw_call_find(struct tw_daemon *d, uint64_t cgid);
void tw_call_forget(struct tw_daemon *d, struct tw_call *c);
int tw_calls_save(struct tw_daemon *d);
/*
 * What a call's start and end leave to do once their reply has gone (a
 * launcher waits on neither): remove the cgroups of ended calls whose
 * last process has gone, and save the call table if it changed
 * (d->calls_dirty). Also run by the event loop every second. d->lock held.
 */
void tw_calls_settle(struct tw_daemon *d);

#endif

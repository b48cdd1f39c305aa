/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dnstcp.h - the resolver's listeners as its threads see them (dns.c) and
 * its DNS-over-TCP clients (dnstcp.c). A client inside a call controls its
 * connections: none of them can hold a resolver thread or starve another
 * context. A client has TW_DNS_TCP_CLIENT_MS to send a whole query, and as
 * long to take its answer; a context holds at most TW_DNS_TCP_PER_CONTEXT
 * connections, the host TW_DNS_TCP_CLIENTS; more are closed at once.
 */
#ifndef TW_DNSTCP_H
#define TW_DNSTCP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define TW_DNS_TCP_CLIENT_MS 2000
#define TW_DNS_TCP_PER_CONTEXT 32
#define TW_DNS_TCP_CLIENTS 256
#define TW_DNS_TCP_BACKLOG 128
#define TW_DNS_SWEEP_MS 250

struct tw_daemon;

enum { L_UDP4, L_TCP4, L_UDP6, L_TCP6, L_KINDS };

/* What an event of the resolver's epoll set points at: the first member
 * of each of these. */
enum ev_type { EV_WAKE = 1, EV_LISTEN, EV_CONN };

struct tw_dns_listener;

struct query_ctx {
	char context[160];
	struct tw_dns_listener *l; /* its budgets (NULL: none) */
	bool tcp;
	struct sockaddr_storage peer; /* the client, as our socket sees it */
	socklen_t peerlen;
};

/* A token bucket (bucket_take). */
struct dns_bucket {
	double tokens;
	uint64_t last_ns;
};

/* One listening socket of a context. */
struct dns_sock {
	enum ev_type type; /* EV_LISTEN */
	int kind;
	struct tw_dns_listener *l;
};

/*
 * A context's listeners. Allocated one by one and never freed before the
 * resolver stops, so an epoll event can point at them and a resolver
 * thread read them without any lock (context and fds never change).
 */
struct tw_dns_listener {
	char context[160];
	int fd[L_KINDS];
	uint16_t port[L_KINDS];
	struct dns_sock sock[L_KINDS];
	unsigned int ntcp; /* open DNS-over-TCP clients (tcp.lock) */
	/* Its share of the resolver (dns.h): buckets under lock. */
	pthread_mutex_t lock;
	struct dns_bucket queries, records;
	unsigned int inflight; /* upstream exchanges now (atomic) */
};

/* Answer message M (LEN bytes) of QC into *OUT (malloc'd): dns.c's. */
typedef int (*tw_dns_answer_fn)(struct tw_daemon *d,
				const struct query_ctx *qc, const uint8_t *m,
				size_t len, uint8_t **out, size_t *olen);

/* New clients of listener socket S (each under the limits, or closed). */
void tw_dnstcp_accept(struct tw_daemon *d, const struct dns_sock *s);
/* Epoll event EV of client CONN: read, ANSWER a whole query, write. */
void tw_dnstcp_event(struct tw_daemon *d, void *conn, uint32_t ev,
		     tw_dns_answer_fn answer);
/* Shut down clients past their deadline (at most every TW_DNS_SWEEP_MS). */
void tw_dnstcp_sweep(void);
/* Close every client (the resolver threads have stopped). */
void tw_dnstcp_close_all(struct tw_daemon *d);

#endif

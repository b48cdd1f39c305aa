// SPDX-License-Identifier: GPL-2.0-only
/*
 * dnstcp.c - the resolver's DNS-over-TCP clients (see dnstcp.h), served by
 * whichever resolver thread gets their epoll event, never blocking it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dnstcp.h"
#include "state.h"
#include "util.h"

#define MAX_MSG 65535

/*
 * One DNS-over-TCP client. Its socket is in the epoll set with
 * EPOLLONESHOT: whichever resolver thread gets the event owns the
 * connection until it re-arms it, so no two threads ever touch one.
 * Nothing it sends or withholds can hold a thread: reads and writes are
 * non-blocking, and a client that has not sent a whole query (or taken
 * its whole answer) by its deadline is shut down by the sweep.
 */
struct dns_conn {
	enum ev_type type; /* EV_CONN */
	int fd;
	struct tw_dns_listener *l;
	struct query_ctx qc;
	uint8_t hdr[2];
	size_t hdr_have;
	uint8_t *buf; /* the query (need bytes), then the answer with its
			 2-byte length (out_len bytes) */
	size_t need, have, out_len, out_off;
	bool writing;
	bool shut; /* the sweep shut it down: its deadline passed */
	uint64_t deadline_ns; /* CLOCK_MONOTONIC */
	struct dns_conn *prev, *next;
};

/* Every open DNS-over-TCP client, for the limits and the sweep. This lock
 * guards only the list and the counters; it is never held over I/O. */
static struct {
	pthread_mutex_t lock;
	struct dns_conn *head;
	unsigned int n;
	uint64_t swept_ns;
} tcp = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void stat_add(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static void conn_close(struct tw_daemon *d, struct dns_conn *c)
{
	pthread_mutex_lock(&tcp.lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		tcp.head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	tcp.n--;
	c->l->ntcp--;
	pthread_mutex_unlock(&tcp.lock);
	epoll_ctl(d->dns_epoll, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->buf);
	free(c);
}

/* Hand the connection back to the epoll set; the last thing a thread
 * does with it (another thread may own it right after). */
static void conn_arm(struct tw_daemon *d, struct dns_conn *c, uint32_t what)
{
	struct epoll_event ev = { .events = what | EPOLLONESHOT | EPOLLRDHUP,
				  .data.ptr = c };

	if (epoll_ctl(d->dns_epoll, EPOLL_CTL_MOD, c->fd, &ev))
		conn_close(d, c);
}

static void conn_deadline(struct dns_conn *c)
{
	c->deadline_ns = tw_now_ns(CLOCK_MONOTONIC) +
			 (uint64_t)TW_DNS_TCP_CLIENT_MS * 1000000ull;
}

/*
 * New DNS-over-TCP clients of listener socket S: each gets a slot under
 * the per-context and global limits, or is closed at once (counted).
 */
void tw_dnstcp_accept(struct tw_daemon *d, const struct dns_sock *s)
{
	struct tw_dns_listener *l = s->l;

	for (int i = 0; i < 64; i++) {
		struct dns_conn *c = calloc(1, sizeof(*c));
		struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT |
						    EPOLLRDHUP };
		bool full;
		int fd;

		if (!c)
			return;
		c->qc.peerlen = sizeof(c->qc.peer);
		fd = accept4(l->fd[s->kind], (struct sockaddr *)&c->qc.peer,
			     &c->qc.peerlen, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			free(c);
			return; /* EAGAIN: another thread took it, or none */
		}
		pthread_mutex_lock(&tcp.lock);
		full = l->ntcp >= TW_DNS_TCP_PER_CONTEXT ||
		       tcp.n >= TW_DNS_TCP_CLIENTS;
		if (!full) {
			c->next = tcp.head;
			if (tcp.head)
				tcp.head->prev = c;
			tcp.head = c;
			tcp.n++;
			l->ntcp++;
		}
		pthread_mutex_unlock(&tcp.lock);
		if (full) {
			/* A context that holds its share of connections open
			 * waits for them to time out; other contexts do not. */
			stat_add(&d->dns.tcp_refused);
			close(fd);
			free(c);
			continue;
		}
		c->type = EV_CONN;
		c->fd = fd;
		c->l = l;
		snprintf(c->qc.context, sizeof(c->qc.context), "%s",
			 l->context);
		c->qc.l = l;
		c->qc.tcp = true;
		conn_deadline(c);
		ev.data.ptr = c;
		if (epoll_ctl(d->dns_epoll, EPOLL_CTL_ADD, fd, &ev))
			conn_close(d, c);
	}
}

/*
 * Read what there is of C's query. 1: complete, 0: more to come (C is
 * re-armed), -1: C is closed.
 */
static int conn_read(struct tw_daemon *d, struct dns_conn *c)
{
	for (;;) {
		uint8_t *dst = c->hdr_have < 2 ? c->hdr + c->hdr_have :
						 c->buf + c->have;
		size_t want = c->hdr_have < 2 ? 2 - c->hdr_have :
						c->need - c->have;
		ssize_t n = recv(c->fd, dst, want, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_arm(d, c, EPOLLIN);
			return 0;
		}
		if (n <= 0) {
			/* Gone before its query was whole (or between
			 * queries): nothing to answer. */
			if (c->hdr_have || c->have)
				stat_add(&d->dns.tcp_dropped);
			conn_close(d, c);
			return -1;
		}
		if (c->hdr_have < 2) {
			c->hdr_have += n;
			if (c->hdr_have < 2)
				continue;
			c->need = (size_t)c->hdr[0] << 8 | c->hdr[1];
			c->have = 0;
			if (c->need < 12) { /* not even a DNS header */
				stat_add(&d->dns.tcp_dropped);
				conn_close(d, c);
				return -1;
			}
			free(c->buf);
			c->buf = malloc(c->need);
			if (!c->buf) {
				conn_close(d, c);
				return -1;
			}
			continue;
		}
		c->have += n;
		if (c->have == c->need)
			return 1;
	}
}

/* Send what is left of C's answer. 1: all sent, 0: C waits for room (it is
 * re-armed), -1: C is closed (the client went away: counted). */
static int conn_write(struct tw_daemon *d, struct dns_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->buf + c->out_off,
				 c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_arm(d, c, EPOLLOUT);
			return 0;
		}
		if (n <= 0) {
			stat_add(&d->dns.tcp_dropped);
			conn_close(d, c);
			return -1;
		}
		c->out_off += n;
	}
	return 1;
}

/* An event of DNS-over-TCP client C; this thread owns C until it re-arms
 * or closes it. */
void tw_dnstcp_event(struct tw_daemon *d, void *conn, uint32_t ev,
		     tw_dns_answer_fn answer)
{
	struct dns_conn *c = conn;
	uint8_t *out = NULL;
	size_t olen = 0;
	int r;

	if (c->shut || tw_now_ns(CLOCK_MONOTONIC) >= c->deadline_ns) {
		stat_add(&d->dns.tcp_timeouts);
		conn_close(d, c);
		return;
	}
	if (ev & EPOLLERR) {
		conn_close(d, c);
		return;
	}
	for (;;) {
		if (!c->writing) {
			r = conn_read(d, c);
			if (r <= 0)
				return;
			/* The query is whole: it is judged (and recorded)
			 * whatever the client does next. */
			if (answer(d, &c->qc, c->buf, c->need, &out, &olen) ||
			    olen > MAX_MSG) {
				free(out);
				conn_close(d, c);
				return;
			}
			free(c->buf);
			c->buf = malloc(olen + 2);
			if (!c->buf) {
				free(out);
				conn_close(d, c);
				return;
			}
			c->buf[0] = olen >> 8;
			c->buf[1] = olen & 0xff;
			memcpy(c->buf + 2, out, olen);
			free(out);
			out = NULL;
			c->out_len = olen + 2;
			c->out_off = 0;
			c->writing = true;
			/* Taking the answer gets a time limit of its own. */
			conn_deadline(c);
		}
		r = conn_write(d, c);
		if (r <= 0)
			return;
		/* RFC 7766: the client may send another query. */
		free(c->buf);
		c->buf = NULL;
		c->writing = false;
		c->hdr_have = c->have = c->need = 0;
		conn_deadline(c);
	}
}

/* Shut down every client past its deadline; its owner (or the event the
 * shutdown raises) closes it. At most every TW_DNS_SWEEP_MS. */
void tw_dnstcp_sweep(void)
{
	uint64_t now = tw_now_ns(CLOCK_MONOTONIC);

	pthread_mutex_lock(&tcp.lock);
	if (now - tcp.swept_ns >= TW_DNS_SWEEP_MS * 1000000ull) {
		tcp.swept_ns = now;
		for (struct dns_conn *c = tcp.head; c; c = c->next) {
			if (c->shut || now < c->deadline_ns)
				continue;
			c->shut = true;
			shutdown(c->fd, SHUT_RDWR);
		}
	}
	pthread_mutex_unlock(&tcp.lock);
}

void tw_dnstcp_close_all(struct tw_daemon *d)
{
	while (tcp.head)
		conn_close(d, tcp.head);
}

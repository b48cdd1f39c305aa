// SPDX-License-Identifier: GPL-2.0-only
/*
 * audit_syslog.c - the syslog copy of the audit log: datagrams sent by the
 * writer, streams (TCP, TLS) sent by a thread of their own from a bounded
 * queue, and the account of every message the collector did not get.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "audit_export.h"
#include "audit_syslog.h"
#include "record.h"
#include "syslog_conn.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000

enum transport { TR_UNIX, TR_UDP, TR_TCP, TR_TLS };
static const char *const tr_name[] = { "unix", "udp", "tcp", "tls" };

struct msg {
	char *buf; /* framed for a stream */
	size_t len;
	uint64_t seq;
};

struct tw_syslog {
	enum transport tr;
	char dest[300], host[256], port[16], hostname[256], sd_id[64];
	bool has_sd;
	int pid;
	/* datagrams */
	int fd;
	struct sockaddr_storage addr;
	socklen_t alen;
	/* streams: the queue, a ring of QMAX */
	SSL_CTX *tls;
	pthread_t thread;
	bool started, stop, exited;
	int abort_fd; /* written when a stop cannot wait any longer */
	pthread_mutex_t lock;
	pthread_cond_t wake, idle;
	struct msg *q;
	size_t qmax, qhead, qlen, qbytes;
	uint64_t stop_ms; /* CLOCK_MONOTONIC ms the stop drains until */
	struct tw_sl_conn conn; /* the thread's */
	bool connected, sending;
	/* accounts */
	uint64_t sent, lost, connects, failures, certs_refused;
	struct tw_syslog_loss loss; /* not yet reported */
	char last_error[256];
	uint64_t news_gen, news_seen; /* state changes, and those said */
	char news[320];
};

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* ---- destinations --------------------------------------------------------- */

/* DEST into S: transport, host and port (or the unix path). */
static int parse_dest(struct tw_syslog *s, const char *dest)
{
	char buf[300], *colon;
	size_t i;

	if (!strncmp(dest, "unix:", 5)) {
		struct sockaddr_un *un = (struct sockaddr_un *)&s->addr;

		if (!dest[5] || strlen(dest + 5) >= sizeof(un->sun_path))
			return -EINVAL;
		s->tr = TR_UNIX;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, dest + 5);
		s->alen = sizeof(*un);
		snprintf(s->dest, sizeof(s->dest), "%s", dest);
		return 0;
	}
	for (i = TR_UDP; i <= TR_TLS; i++) {
		size_t n = strlen(tr_name[i]);

		if (!strncmp(dest, tr_name[i], n) && !strncmp(dest + n, "://", 3))
			break;
	}
	if (i > TR_TLS || strlen(dest) >= sizeof(buf))
		return -EINVAL;
	s->tr = (enum transport)i;
	snprintf(buf, sizeof(buf), "%s", dest + strlen(tr_name[i]) + 3);
	colon = strrchr(buf, ':');
	if (!colon || colon == buf || !colon[1] ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strlen(colon + 1) > 5 || atoi(colon + 1) < 1 ||
	    atoi(colon + 1) > 65535)
		return -EINVAL;
	*colon = 0;
	snprintf(s->port, sizeof(s->port), "%s", colon + 1);
	if (buf[0] == '[' && colon[-1] == ']') {
		colon[-1] = 0;
		memmove(buf, buf + 1, strlen(buf));
	}
	if (!buf[0] || strlen(buf) >= sizeof(s->host) || strpbrk(buf, "/ @"))
		return -EINVAL;
	snprintf(s->host, sizeof(s->host), "%s", buf);
	snprintf(s->dest, sizeof(s->dest), "%s", dest);
	return 0;
}

static int resolve_udp(struct tw_syslog *s)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM,
				  .ai_flags = AI_NUMERICSERV },
			*res = NULL;

	if (getaddrinfo(s->host, s->port, &hints, &res) || !res)
		return -EINVAL;
	memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
	s->alen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int tw_syslog_check(const char *dest)
{
	struct tw_syslog *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	ret = parse_dest(s, dest);
	if (!ret && s->tr == TR_UDP)
		ret = resolve_udp(s);
	free(s);
	return ret;
}

/* RFC 5424 6.3.2: SD-NAME "@" digits, the enterprise number IANA gave. */
int tw_syslog_sd_id_check(const char *id)
{
	const char *at = id ? strchr(id, '@') : NULL;

	if (!at || at == id || !at[1] || strlen(id) > 32 ||
	    strspn(at + 1, "0123456789") != strlen(at + 1))
		return -EINVAL;
	for (const char *p = id; p < at; p++)
		if (*p <= 32 || *p >= 127 || strchr("=]\"@", *p))
			return -EINVAL;
	return 0;
}

/* ---- the queue -------------------------------------------------------------- */

static void news(struct tw_syslog *s, const char *what)
{
	snprintf(s->news, sizeof(s->news), "%s: %s", s->dest, what);
	s->news_gen++;
}

/* A message the collector will not get: count it (lock held). */
static void drop(struct tw_syslog *s, uint64_t seq)
{
	uint64_t now = tw_audit_now_ns();

	if (!s->loss.records) {
		s->loss.first_seq = seq;
		s->loss.first_ns = now;
		snprintf(s->loss.why, sizeof(s->loss.why), "%s",
			 s->last_error[0] ? s->last_error :
					    "the collector is too slow");
	}
	s->loss.records++;
	if (seq < s->loss.first_seq)
		s->loss.first_seq = seq;
	if (seq > s->loss.last_seq)
		s->loss.last_seq = seq;
	s->loss.last_ns = now;
	s->lost++;
}

static void enqueue(struct tw_syslog *s, const char *msg, size_t n,
		    uint64_t seq)
{
	char head[16];
	int hl = snprintf(head, sizeof(head), "%zu ", n);
	struct msg *m;

	pthread_mutex_lock(&s->lock);
	if (s->qlen >= s->qmax || s->qbytes + n > TW_SYSLOG_QUEUE_BYTES ||
	    s->stop) {
		drop(s, seq);
		goto out;
	}
	m = &s->q[(s->qhead + s->qlen) % s->qmax];
	/* RFC 6587 3.4.1 / RFC 5425 4.3: MSG-LEN SP SYSLOG-MSG */
	m->buf = malloc(hl + n);
	if (!m->buf) {
		drop(s, seq);
		goto out;
	}
	memcpy(m->buf, head, hl);
	memcpy(m->buf + hl, msg, n);
	m->len = hl + n;
	m->seq = seq;
	s->qlen++;
	s->qbytes += m->len;
	pthread_cond_signal(&s->wake);
out:
	pthread_mutex_unlock(&s->lock);
}

void tw_syslog_send(struct tw_syslog *s, json_t *rec, const char *line,
		    size_t len)
{
	uint64_t seq = json_integer_value(json_object_get(rec, "seq"));
	char msg[65000];
	int n;

	if (!s)
		return;
	n = tw_syslog_format(rec, line, len, s->hostname, s->pid,
			     s->has_sd ? s->sd_id : NULL, msg, sizeof(msg));
	if (s->tr >= TR_TCP) {
		if (n < 0) {
			pthread_mutex_lock(&s->lock);
			drop(s, seq);
			pthread_mutex_unlock(&s->lock);
		} else {
			enqueue(s, msg, (size_t)n, seq);
		}
		return;
	}
	/* a datagram: never blocks; a collector that is down costs a count */
	pthread_mutex_lock(&s->lock);
	if (n < 0 || sendto(s->fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL,
			    (struct sockaddr *)&s->addr, s->alen) != n) {
		if (n >= 0)
			snprintf(s->last_error, sizeof(s->last_error),
				 "cannot send: %s", strerror(errno));
		s->connected = false;
		drop(s, seq);
	} else {
		s->connected = true; /* it takes messages: say what it missed */
		s->sent++;
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- the sender thread ------------------------------------------------------ */

/* Wait on WAKE for at most MS (lock held). */
static void wait_ms(struct tw_syslog *s, unsigned ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&s->wake, &s->lock, &t);
}

/* Connect (lock not held). 0, or -errno with last_error set. */
static int reconnect(struct tw_syslog *s)
{
	char why[256] = "";
	bool refused = false;
	int ret = tw_sl_connect(&s->conn, s->host, s->port, s->tls, &refused,
				why, sizeof(why));

	pthread_mutex_lock(&s->lock);
	if (ret) {
		s->failures++;
		s->certs_refused += refused;
		if (strcmp(why, s->last_error))
			news(s, why);
		snprintf(s->last_error, sizeof(s->last_error), "%s", why);
	} else {
		s->connects++;
		s->connected = true;
		news(s, s->connects == 1 ? "connected" : "connected again");
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static void disconnect(struct tw_syslog *s, const char *why)
{
	tw_sl_close(&s->conn);
	pthread_mutex_lock(&s->lock);
	s->connected = false;
	snprintf(s->last_error, sizeof(s->last_error), "%s", why);
	news(s, why);
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

/* Send the queue's head (lock held on entry and exit). */
static void send_head(struct tw_syslog *s)
{
	struct msg m = s->q[s->qhead];
	char why[256];
	int ret;

	s->sending = true;
	pthread_mutex_unlock(&s->lock);
	if (tw_sl_closed(&s->conn)) {
		disconnect(s, "the collector closed the connection");
		pthread_mutex_lock(&s->lock);
		s->sending = false;
		return;
	}
	ret = tw_sl_write(&s->conn, m.buf, m.len);
	if (ret) {
		/* the message stays at the head: sent again once connected */
		snprintf(why, sizeof(why), "connection lost: %s",
			 strerror(-ret));
		disconnect(s, why);
		pthread_mutex_lock(&s->lock);
		s->sending = false;
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->sending = false;
	free(m.buf);
	s->qhead = (s->qhead + 1) % s->qmax;
	s->qlen--;
	s->qbytes -= m.len;
	s->sent++;
	if (!s->qlen)
		pthread_cond_broadcast(&s->idle);
}

static bool stop_now(struct tw_syslog *s)
{
	return s->stop && (!s->qlen || !s->connected || mono_ms() >= s->stop_ms);
}

static void *sender(void *arg)
{
	struct tw_syslog *s = arg;
	unsigned backoff = BACKOFF_MIN_MS;

	pthread_mutex_lock(&s->lock);
	while (!stop_now(s)) {
		if (!s->connected) {
			if (s->stop)
				break;
			pthread_mutex_unlock(&s->lock);
			if (reconnect(s)) {
				pthread_mutex_lock(&s->lock);
				wait_ms(s, backoff);
				backoff = backoff * 2 > BACKOFF_MAX_MS ?
						  BACKOFF_MAX_MS :
						  backoff * 2;
				continue;
			}
			pthread_mutex_lock(&s->lock);
			backoff = BACKOFF_MIN_MS;
		}
		if (s->qlen) {
			send_head(s);
			continue;
		}
		/* idle: notice a collector that went away before a record
		 * has to find out */
		wait_ms(s, 1000);
		if (!s->qlen && !s->stop) {
			pthread_mutex_unlock(&s->lock);
			if (tw_sl_closed(&s->conn))
				disconnect(s, "the collector closed the "
					      "connection");
			pthread_mutex_lock(&s->lock);
		}
	}
	pthread_mutex_unlock(&s->lock);
	tw_sl_close(&s->conn);
	pthread_mutex_lock(&s->lock);
	s->connected = false;
	s->exited = true;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- open, stop, report ------------------------------------------------------- */

/* The socket of a datagram copy, or the queue and sender of a stream. */
static int start(struct tw_syslog *s, const struct tw_syslog_opts *o)
{
	char why[256];

	if (s->tr < TR_TCP) {
		s->fd = socket(s->addr.ss_family,
			       SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		s->connected = s->fd >= 0; /* until a send fails */
		return s->fd < 0 ? -errno : 0;
	}
	if (s->tr == TR_TLS) {
		s->tls = tw_sl_tls_ctx(o->ca, why, sizeof(why));
		if (!s->tls)
			return -EINVAL;
	}
	s->qmax = o->queue ?: TW_SYSLOG_QUEUE;
	s->q = calloc(s->qmax, sizeof(*s->q));
	s->abort_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!s->q || s->abort_fd < 0)
		return -ENOMEM;
	s->conn.abort_fd = s->abort_fd;
	s->started = !pthread_create(&s->thread, NULL, sender, s);
	return s->started ? 0 : -EAGAIN;
}

int tw_syslog_open(struct tw_syslog **out, const struct tw_syslog_opts *o)
{
	struct tw_syslog *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;
	int ret;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->fd = -1;
	s->abort_fd = -1;
	s->conn.fd = -1;
	s->conn.abort_fd = -1;
	ret = parse_dest(s, o->dest);
	if (!ret && s->tr == TR_UDP)
		ret = resolve_udp(s);
	if (!ret && o->sd_id)
		ret = tw_syslog_sd_id_check(o->sd_id);
	if (ret) {
		free(s);
		return ret;
	}
	if (o->sd_id) {
		snprintf(s->sd_id, sizeof(s->sd_id), "%s", o->sd_id);
		s->has_sd = true;
	}
	gethostname(s->hostname, sizeof(s->hostname) - 1);
	s->pid = getpid();
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_cond_init(&s->idle, &ca);
	pthread_condattr_destroy(&ca);
	ret = start(s, o);
	if (ret)
		tw_syslog_free(s);
	else
		*out = s;
	return ret;
}

void tw_syslog_drain(struct tw_syslog *s, unsigned ms)
{
	uint64_t end = mono_ms() + ms;

	if (!s || !s->started)
		return;
	pthread_mutex_lock(&s->lock);
	while (s->qlen && s->connected && mono_ms() < end) {
		struct timespec t = { .tv_sec = (time_t)(end / 1000),
				      .tv_nsec = (long)(end % 1000) * 1000000 };

		pthread_cond_timedwait(&s->idle, &s->lock, &t);
	}
	pthread_mutex_unlock(&s->lock);
}

void tw_syslog_stop(struct tw_syslog *s, unsigned ms)
{
	uint64_t one = 1;

	if (!s || !s->started)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	s->stop_ms = mono_ms() + ms;
	pthread_cond_broadcast(&s->wake);
	while (!s->exited && mono_ms() < s->stop_ms) {
		struct timespec t = {
			.tv_sec = (time_t)(s->stop_ms / 1000),
			.tv_nsec = (long)(s->stop_ms % 1000) * 1000000
		};

		pthread_cond_timedwait(&s->idle, &s->lock, &t);
	}
	pthread_mutex_unlock(&s->lock);
	/* a collector that does not read does not hold the daemon's stop */
	if (!s->exited && write(s->abort_fd, &one, sizeof(one)) < 0)
		one = 0;
	pthread_join(s->thread, NULL);
	s->started = false;
	/* what the collector never got */
	for (; s->qlen; s->qlen--, s->qhead = (s->qhead + 1) % s->qmax) {
		drop(s, s->q[s->qhead].seq);
		free(s->q[s->qhead].buf);
	}
	s->qbytes = 0;
}

void tw_syslog_free(struct tw_syslog *s)
{
	if (!s)
		return;
	tw_syslog_stop(s, 0);
	if (s->fd >= 0)
		close(s->fd);
	if (s->abort_fd >= 0)
		close(s->abort_fd);
	free(s->q);
	SSL_CTX_free(s->tls);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->idle);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

bool tw_syslog_take_loss(struct tw_syslog *s, bool force,
			 struct tw_syslog_loss *l)
{
	bool some;

	if (!s)
		return false;
	pthread_mutex_lock(&s->lock);
	/* said once the queue takes messages again, so that the `lost`
	 * record itself reaches the collector */
	some = s->loss.records &&
	       (force || (s->connected && (s->tr < TR_TCP ||
					   s->qlen < s->qmax / 2)));
	if (some) {
		*l = s->loss;
		memset(&s->loss, 0, sizeof(s->loss));
	}
	pthread_mutex_unlock(&s->lock);
	return some;
}

json_t *tw_syslog_status(struct tw_syslog *s)
{
	json_t *j;

	if (!s)
		return json_null();
	pthread_mutex_lock(&s->lock);
	j = json_pack("{s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s?}", "dest",
		      s->dest, "transport", tr_name[s->tr], "connected",
		      s->connected, "sent",
		      (json_int_t)s->sent, "queued", (json_int_t)s->qlen,
		      "queue_max", (json_int_t)s->qmax, "lost",
		      (json_int_t)s->lost, "connects",
		      (json_int_t)s->connects, "failures",
		      (json_int_t)s->failures, "certs_refused",
		      (json_int_t)s->certs_refused, "last_error",
		      s->last_error[0] ? s->last_error : NULL);
	pthread_mutex_unlock(&s->lock);
	return j;
}

bool tw_syslog_news(struct tw_syslog *s, char *buf, size_t len)
{
	bool some;

	if (!s)
		return false;
	pthread_mutex_lock(&s->lock);
	some = s->news_gen != s->news_seen;
	if (some)
		snprintf(buf, len, "%s", s->news);
	s->news_seen = s->news_gen;
	pthread_mutex_unlock(&s->lock);
	return some;
}

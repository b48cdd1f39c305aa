// SPDX-License-Identifier: GPL-2.0-only
/*
 * dnsup.c - one exchange with the workspace's upstream resolvers (see
 * dnsup.h): UDP, then TCP when the answer is truncated; the next upstream
 * when one is silent. Every wait is bounded by TW_DNS_TIMEOUT_MS.
 *
 * UDP goes over a connected socket each resolver thread keeps per
 * upstream (no socket, connect and close per query), blocking with
 * SO_RCVTIMEO (the read is the wait: no poll), a batch of queries sent
 * at once and their answers read as they come, replaced by a fresh
 * one (a new source port) after TW_DNSUP_REUSE exchanges and after any
 * datagram that is not the answer to the query in flight: a late answer
 * to an earlier query, or a forgery. An answer counts only when it is a
 * response with the query's id and exactly its question.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dnsup.h"
#include "util.h"

#define MAX_MSG 65535

/* One thread's UDP sockets, one per upstream it has asked (most recent
 * TW_DNSUP_SOCKS). fd -1: none; RETIRE: replace it before the next use. */
static __thread struct up_sock {
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd;
	unsigned int uses;
	bool retire;
} up_socks[TW_DNSUP_SOCKS] = { [0 ... TW_DNSUP_SOCKS - 1] = { .fd = -1 } };
static __thread unsigned int up_next; /* the slot replaced next */

static int wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r = poll(&p, 1, ms);

	return r > 0 ? 0 : (r == 0 ? -ETIMEDOUT : -errno);
}

/*
 * Write all of BUF within MS (partial writes, EAGAIN, EINTR); never
 * raises SIGPIPE on a peer that has gone.
 */
static int send_all(int fd, const uint8_t *buf, size_t len, int ms)
{
	uint64_t end = tw_now_ns(CLOCK_MONOTONIC) + (uint64_t)ms * 1000000ull;
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		uint64_t now;
		int err;

		if (n > 0) {
			off += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return n == 0 ? -EIO : -errno;
		now = tw_now_ns(CLOCK_MONOTONIC);
		if (now >= end)
			return -ETIMEDOUT;
		err = wait_fd(fd, POLLOUT, (int)((end - now) / 1000000ull) + 1);
		if (err)
			return err;
	}
	return 0;
}

static int read_full(int fd, uint8_t *buf, size_t len, int ms)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n;
		int err = wait_fd(fd, POLLIN, ms);

		if (err)
			return err;
		n = recv(fd, buf + off, len - off, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		off += n;
	}
	return 0;
}

/* A socket of TYPE connected to SS (non-blocking), or -errno. */
static int open_to(const struct sockaddr_storage *ss, socklen_t sl, int type)
{
	int fd = socket(ss->ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int ret;

	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)ss, sl);
	if (ret && errno == EINPROGRESS)
		ret = wait_fd(fd, POLLOUT, TW_DNS_TIMEOUT_MS);
	else if (ret)
		ret = -errno;
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

/* Wait on the socket itself: a blocking receive bounded by SO_RCVTIMEO
 * (no poll before each read). */
static int set_rcvtimeo(int fd, uint64_t ns)
{
	struct timeval tv = { .tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_usec = (suseconds_t)(ns % 1000000000ull / 1000) };

	if (!tv.tv_sec && !tv.tv_usec)
		tv.tv_usec = 1; /* 0 would mean: wait for ever */
	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ?
		       -errno : 0;
}

/* A blocking UDP socket connected to SS whose reads wait at most
 * TW_DNS_TIMEOUT_MS, or -errno. */
static int open_udp(const struct sockaddr_storage *ss, socklen_t sl)
{
	int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret;

	if (fd < 0)
		return -errno;
	ret = set_rcvtimeo(fd, (uint64_t)TW_DNS_TIMEOUT_MS * 1000000ull);
	if (!ret && connect(fd, (const struct sockaddr *)ss, sl))
		ret = -errno;
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static void up_drop(struct up_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* This thread's UDP socket to SS: kept, or a fresh one. NULL: -errno in
 * *ERR. */
static struct up_sock *up_sock(const struct sockaddr_storage *ss,
			       socklen_t sl, int *err)
{
	struct up_sock *s = NULL;

	for (int i = 0; i < TW_DNSUP_SOCKS && !s; i++)
		if (up_socks[i].fd >= 0 && up_socks[i].sl == sl &&
		    !memcmp(&up_socks[i].ss, ss, sl))
			s = &up_socks[i];
	if (s && !s->retire && s->uses < TW_DNSUP_REUSE)
		return s;
	if (!s)
		s = &up_socks[up_next++ % TW_DNSUP_SOCKS];
	up_drop(s);
	s->fd = open_udp(ss, sl);
	if (s->fd < 0) {
		*err = s->fd;
		s->fd = -1;
		return NULL;
	}
	memcpy(&s->ss, ss, sl);
	s->sl = sl;
	s->uses = 0;
	s->retire = false;
	return s;
}

void tw_dnsup_thread_end(void)
{
	for (int i = 0; i < TW_DNSUP_SOCKS; i++)
		up_drop(&up_socks[i]);
}

/*
 * Is datagram A (N bytes) the answer to query Q (QLEN bytes, built by
 * dnswire: one uncompressed question after the header)? A response
 * (QR), Q's id, one question, the same name (ASCII case aside), type and
 * class.
 */
bool tw_dnsup_answers(const uint8_t *q, size_t qlen, const uint8_t *a,
		      size_t n)
{
	size_t end = 12;

	while (end < qlen && q[end])
		end += 1u + q[end];
	end += 1 + 4; /* the root label, type, class */
	if (end > qlen || n < end || a[0] != q[0] || a[1] != q[1] ||
	    !(a[2] & 0x80) || a[4] != 0 || a[5] != 1)
		return false;
	for (size_t i = 12; i < end; i++) {
		uint8_t x = a[i], y = q[i];

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
	}
	return true;
}

/* The answer A (N bytes) to one of X's queries still waiting (ret
 * -EINPROGRESS), kept (malloc'd); false: it answers none of them. */
static bool take_answer(struct tw_dns_xchg *x, size_t nx, const uint8_t *a,
			size_t n)
{
	for (size_t i = 0; i < nx; i++) {
		if (x[i].ret != -EINPROGRESS ||
		    !tw_dnsup_answers(x[i].q, x[i].qlen, a, n))
			continue;
		x[i].ans = malloc(n);
		if (!x[i].ans) {
			x[i].ret = -ENOMEM;
			return true;
		}
		memcpy(x[i].ans, a, n);
		x[i].alen = n;
		x[i].ret = 0;
		return true;
	}
	return false;
}

/*
 * X's queries marked -EINPROGRESS, all at once over this thread's UDP
 * socket to SS, and their answers as they come (one wait for them all,
 * not one per query). Whatever else arrives meanwhile is dropped, and the
 * socket with it once this exchange is over. A query left unanswered
 * gets -ETIMEDOUT or the socket's error.
 */
static void exchange_udp(const struct sockaddr_storage *ss, socklen_t sl,
			 struct tw_dns_xchg *x, size_t nx)
{
	uint64_t end = tw_now_ns(CLOCK_MONOTONIC) +
		       (uint64_t)TW_DNS_TIMEOUT_MS * 1000000ull;
	uint8_t buf[MAX_MSG];
	size_t left = 0;
	int ret = 0;
	struct up_sock *s = up_sock(ss, sl, &ret);

	for (size_t i = 0; s && i < nx; i++) {
		if (x[i].ret != -EINPROGRESS)
			continue;
		s->uses++;
		if (send(s->fd, x[i].q, x[i].qlen, MSG_NOSIGNAL) !=
		    (ssize_t)x[i].qlen) {
			ret = -errno; /* e.g. ECONNREFUSED an earlier query
					 earned */
			up_drop(s);
			s = NULL;
			break;
		}
		left++;
	}
	while (s && left) {
		ssize_t n = recv(s->fd, buf, sizeof(buf), 0);
		uint64_t now;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = errno == EAGAIN || errno == EWOULDBLOCK ?
				      -ETIMEDOUT :
				      -errno;
			if (ret != -ETIMEDOUT)
				up_drop(s);
			break;
		}
		if (take_answer(x, nx, buf, (size_t)n)) {
			left--;
			continue;
		}
		s->retire = true; /* not ours: this port is done */
		now = tw_now_ns(CLOCK_MONOTONIC);
		if (now >= end || set_rcvtimeo(s->fd, end - now)) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	if (left && s)
		s->retire = true; /* their answers may come late */
	for (size_t i = 0; i < nx; i++)
		if (x[i].ret == -EINPROGRESS)
			x[i].ret = ret ? ret : -ETIMEDOUT;
}

/* One exchange with one upstream over TCP; ANS is malloc'd. */
static int exchange_tcp(const struct sockaddr_storage *ss, socklen_t sl,
			const uint8_t *q, size_t qlen, uint8_t **ans,
			size_t *alen)
{
	uint8_t *buf = malloc(MAX_MSG + 2);
	int fd, ret;

	if (!buf)
		return -ENOMEM;
	fd = open_to(ss, sl, SOCK_STREAM);
	if (fd < 0) {
		free(buf);
		return fd;
	}
	{
		uint8_t hdr[2] = { qlen >> 8, qlen & 0xff };
		int soerr = 0;
		socklen_t el = sizeof(soerr);

		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el);
		if (soerr) {
			ret = -soerr;
			goto out;
		}
		ret = send_all(fd, hdr, 2, TW_DNS_TIMEOUT_MS);
		if (!ret)
			ret = send_all(fd, q, qlen, TW_DNS_TIMEOUT_MS);
		if (ret)
			goto out;
		ret = read_full(fd, hdr, 2, TW_DNS_TIMEOUT_MS);
		if (ret)
			goto out;
		*alen = (size_t)hdr[0] << 8 | hdr[1];
		ret = read_full(fd, buf, *alen, TW_DNS_TIMEOUT_MS);
		if (!ret && !tw_dnsup_answers(q, qlen, buf, *alen))
			ret = -EBADMSG;
	}
out:
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	*ans = buf;
	return 0;
}

void tw_dns_forward(char **ups, size_t nups, struct tw_dns_xchg *x,
		    size_t nx)
{
	for (size_t i = 0; i < nx; i++) {
		x[i].ans = NULL;
		x[i].alen = 0;
		x[i].ret = -EHOSTUNREACH;
	}
	for (size_t u = 0; u < nups; u++) {
		struct sockaddr_storage ss;
		socklen_t sl;
		size_t asked = 0;

		if (tw_sockaddr_parse(ups[u], &ss, &sl, false))
			continue;
		for (size_t i = 0; i < nx; i++) {
			x[i].asked = x[i].ret != 0;
			if (x[i].asked) {
				x[i].ret = -EINPROGRESS;
				asked++;
			}
		}
		if (!asked)
			return;
		exchange_udp(&ss, sl, x, nx);
		for (size_t i = 0; i < nx; i++) {
			uint8_t *t;
			size_t tl;

			if (!x[i].asked || x[i].ret || x[i].alen <= 2 ||
			    !(x[i].ans[2] & 0x02))
				continue; /* not a truncated answer of now */
			if (!exchange_tcp(&ss, sl, x[i].q, x[i].qlen, &t, &tl)) {
				free(x[i].ans);
				x[i].ans = t;
				x[i].alen = tl;
			}
		}
	}
}

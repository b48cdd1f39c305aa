// SPDX-License-Identifier: GPL-2.0-only
/*
 * dnsup.c - one exchange with the workspace's upstream resolvers (see
 * dnsup.h): UDP, then TCP when the answer is truncated; the next upstream
 * when one is silent. Every wait is bounded by TW_DNS_TIMEOUT_MS.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dnsup.h"
#include "util.h"

#define MAX_MSG 65535

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

/* One exchange with one upstream over UDP or TCP; ANS is malloc'd. */
static int exchange(const struct sockaddr_storage *ss, socklen_t sl,
		    const uint8_t *q, size_t qlen, bool tcp, uint8_t **ans,
		    size_t *alen)
{
	uint8_t *buf = malloc(MAX_MSG + 2);
	int fd, ret;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	fd = socket(ss->ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) |
					   SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	ret = connect(fd, (const struct sockaddr *)ss, sl);
	if (ret && errno == EINPROGRESS)
		ret = wait_fd(fd, POLLOUT, TW_DNS_TIMEOUT_MS);
	else if (ret)
		ret = -errno;
	if (ret)
		goto out;
	if (tcp) {
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
	} else {
		if (send(fd, q, qlen, MSG_NOSIGNAL) != (ssize_t)qlen) {
			ret = -errno;
			goto out;
		}
		for (;;) {
			ret = wait_fd(fd, POLLIN, TW_DNS_TIMEOUT_MS);
			if (ret)
				goto out;
			n = recv(fd, buf, MAX_MSG, 0);
			if (n < 0) {
				ret = -errno;
				goto out;
			}
			/* Only the reply to our query id counts. */
			if (n >= 12 && buf[0] == q[0] && buf[1] == q[1])
				break;
		}
		*alen = n;
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

/* Forward to the upstreams in order; TCP when the UDP answer is truncated. */
int tw_dns_forward(char **ups, size_t nups, const uint8_t *q, size_t qlen,
		   uint8_t **ans, size_t *alen)
{
	int ret = -EHOSTUNREACH;

	for (size_t i = 0; i < nups; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (tw_sockaddr_parse(ups[i], &ss, &sl, false))
			continue;
		ret = exchange(&ss, sl, q, qlen, false, ans, alen);
		if (!ret && *alen > 2 && ((*ans)[2] & 0x02)) { /* TC */
			uint8_t *t;
			size_t tl;

			if (!exchange(&ss, sl, q, qlen, true, &t, &tl)) {
				free(*ans);
				*ans = t;
				*alen = tl;
			}
		}
		if (!ret)
			return 0;
	}
	return ret;
}


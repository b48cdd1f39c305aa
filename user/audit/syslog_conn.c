// SPDX-License-Identifier: GPL-2.0-only
/*
 * syslog_conn.c - a stream connection to a syslog collector, TCP or TLS
 * (OpenSSL), on a non-blocking socket driven by poll() with deadlines so
 * that the sender thread never hangs on a collector that stopped reading.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "syslog_conn.h"

static void ssl_why(char *why, size_t len, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(why, len, "%s%s%s", what, e ? ": " : "", buf);
	ERR_clear_error();
}

SSL_CTX *tw_sl_tls_ctx(const char *ca, char *why, size_t len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char what[600];

	if (!ctx) {
		ssl_why(why, len, "cannot make a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ca ? SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 :
		 SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(what, sizeof(what), "cannot load the CA file %s",
			 ca ?: "(the system's)");
		ssl_why(why, len, what);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static long ms_left(const struct timespec *end)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (end->tv_sec - now.tv_sec) * 1000 +
	       (end->tv_nsec - now.tv_nsec) / 1000000;
}

static void deadline(struct timespec *end, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, end);
	end->tv_sec += ms / 1000;
	end->tv_nsec += (ms % 1000) * 1000000;
	if (end->tv_nsec >= 1000000000) {
		end->tv_sec++;
		end->tv_nsec -= 1000000000;
	}
}

/* Wait for EVENTS on FD until END, or ABORT: 0, -ETIMEDOUT, -ECANCELED
 * or -errno. */
static int wait_fd(int fd, int abort, short events, const struct timespec *end)
{
	struct pollfd p[2] = { { .fd = fd, .events = events },
			       { .fd = abort, .events = POLLIN } };
	long left;
	int n;

	for (;;) {
		left = ms_left(end);
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(p, abort >= 0 ? 2 : 1, (int)left);
		if (n > 0)
			return p[1].revents ? -ECANCELED : 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int connect_one(const struct addrinfo *ai, int abort,
		       const struct timespec *end)
{
	int fd = socket(ai->ai_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err;
	socklen_t sl = sizeof(err);
	int one = 1, idle = 30, tmo = TW_SYSLOG_IO_MS;

	if (fd < 0)
		return -errno;
	/* a collector gone without a word is noticed, not waited for */
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &tmo, sizeof(tmo));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
		err = -errno;
		goto fail;
	}
	err = wait_fd(fd, abort, POLLOUT, end);
	if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl))
		err = errno;
	if (err) {
		err = err < 0 ? err : -err;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return err;
}

/* SSL_ERROR_WANT_*: wait for the socket; else the error, as -errno. */
static int tls_wait(struct tw_sl_conn *c, int r, const struct timespec *end)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(c->fd, c->abort_fd, POLLIN, end);
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(c->fd, c->abort_fd, POLLOUT, end);
	case SSL_ERROR_ZERO_RETURN:
		return -ECONNRESET;
	case SSL_ERROR_SYSCALL:
		return errno ? -errno : -ECONNRESET;
	default:
		return -EPROTO;
	}
}

static int tls_handshake(struct tw_sl_conn *c, const char *host, SSL_CTX *ctx,
			 const struct timespec *end, bool *cert_refused,
			 char *why, size_t len)
{
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, host, ip) == 1 ||
		     inet_pton(AF_INET6, host, ip) == 1;
	long vr;
	int r, ret;

	c->ssl = SSL_new(ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		ssl_why(why, len, "cannot start TLS");
		return -ENOMEM;
	}
	/* the certificate must name what we were told to reach */
	if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
						  host) != 1 :
		    SSL_set1_host(c->ssl, host) != 1 ||
			    SSL_set_tlsext_host_name(c->ssl, host) != 1) {
		ssl_why(why, len, "cannot set the name to verify");
		return -EINVAL;
	}
	while ((r = SSL_connect(c->ssl)) != 1) {
		ret = tls_wait(c, r, end);
		if (!ret)
			continue;
		vr = SSL_get_verify_result(c->ssl);
		if (vr != X509_V_OK) {
			*cert_refused = true;
			snprintf(why, len,
				 "the collector's certificate is refused: %s",
				 X509_verify_cert_error_string(vr));
			ERR_clear_error();
			return -EPERM;
		}
		if (ret == -EPROTO)
			ssl_why(why, len, "TLS handshake failed");
		else
			snprintf(why, len, "TLS handshake: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int tw_sl_connect(struct tw_sl_conn *c, const char *host, const char *port,
		  SSL_CTX *ctx, bool *cert_refused, char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV },
			*res = NULL, *ai;
	struct timespec end;
	int ret, gai;

	c->fd = -1;
	c->ssl = NULL;
	*cert_refused = false;
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai) {
		snprintf(why, len, "cannot resolve %s: %s", host,
			 gai_strerror(gai));
		return -EHOSTUNREACH;
	}
	deadline(&end, TW_SYSLOG_IO_MS);
	ret = -EHOSTUNREACH;
	for (ai = res; ai && c->fd < 0; ai = ai->ai_next) {
		ret = connect_one(ai, c->abort_fd, &end);
		if (ret >= 0)
			c->fd = ret;
	}
	freeaddrinfo(res);
	if (c->fd < 0) {
		snprintf(why, len, "cannot connect to %s port %s: %s", host,
			 port, strerror(-ret));
		return ret;
	}
	ret = ctx ? tls_handshake(c, host, ctx, &end, cert_refused, why, len) :
		    0;
	if (ret)
		tw_sl_close(c);
	return ret;
}

int tw_sl_write(struct tw_sl_conn *c, const char *buf, size_t n)
{
	struct timespec end;
	ssize_t w;
	int ret;

	deadline(&end, TW_SYSLOG_IO_MS);
	while (n) {
		if (c->ssl) {
			size_t done = 0;
			int r = SSL_write_ex(c->ssl, buf, n, &done);

			if (r == 1) {
				buf += done;
				n -= done;
				continue;
			}
			ret = tls_wait(c, r, &end);
		} else {
			w = send(c->fd, buf, n, MSG_NOSIGNAL);
			if (w > 0) {
				buf += w;
				n -= (size_t)w;
				continue;
			}
			ret = errno == EAGAIN ? wait_fd(c->fd, c->abort_fd,
						       POLLOUT, &end) :
			      errno == EINTR  ? 0 :
						-errno;
		}
		if (ret)
			return ret;
	}
	return 0;
}

bool tw_sl_closed(struct tw_sl_conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLRDHUP };
	char buf[512];
	ssize_t r;

	if (c->fd < 0)
		return true;
	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLERR | POLLHUP | POLLRDHUP))
		return true;
	if (!c->ssl) {
		r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		return r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR);
	}
	/* TLS 1.3 session tickets come after the handshake: read them; a
	 * close_notify or an alert ends the connection */
	for (;;) {
		size_t got = 0;
		int e;

		if (SSL_read_ex(c->ssl, buf, sizeof(buf), &got) == 1)
			continue;
		e = SSL_get_error(c->ssl, 0);
		ERR_clear_error();
		return e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE;
	}
}

void tw_sl_close(struct tw_sl_conn *c)
{
	if (c->ssl) {
		/* one close_notify, without waiting for the peer's */
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	ERR_clear_error();
}

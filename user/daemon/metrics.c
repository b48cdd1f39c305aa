// SPDX-License-Identifier: GPL-2.0-only
/*
 * metrics.c - the metrics endpoint (metrics.h): its address, its socket,
 * and the HTTP server (libmicrohttpd, one internal thread polling with
 * epoll). Only GET /metrics is answered: 404 for any other path, 405 for
 * any other method. Connections, their time and a request's size are
 * bounded (TW_METRICS_*); what libmicrohttpd refuses over them it answers
 * itself (431 for headers too large) or closes.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <microhttpd.h>

#include "metrics.h"
#include "state.h"
#include "util.h"

static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	if (!v || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* IPv4:PORT or [IPv6]:PORT into M->ss. */
static int parse_inet(struct tw_metrics *m, const char *a)
{
	char host[64];
	const char *colon;
	uint16_t port;
	size_t hl;

	if (a[0] == '[') {
		const char *end = strchr(a, ']');
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&m->ss;

		if (!end || end[1] != ':' || (hl = (size_t)(end - a - 1)) == 0 ||
		    hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, a + 1, hl);
		host[hl] = 0;
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1 ||
		    parse_port(end + 2, &port))
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		m->sslen = sizeof(*s6);
		return 0;
	}
	colon = strrchr(a, ':');
	if (!colon || (hl = (size_t)(colon - a)) == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, a, hl);
	host[hl] = 0;
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *)&m->ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1 ||
		    parse_port(colon + 1, &port))
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		m->sslen = sizeof(*s4);
	}
	return 0;
}

struct tw_metrics *tw_metrics_new(const char *addr, char *err, size_t len)
{
	struct tw_metrics *m = calloc(1, sizeof(*m));
	int ret = -EINVAL;

	if (!m) {
		snprintf(err, len, "--metrics %s: out of memory", addr);
		return NULL;
	}
	m->fd = -1;
	snprintf(m->addr, sizeof(m->addr), "%s", addr);
	if (!strncmp(addr, "unix:", 5)) {
		struct sockaddr_un *su = (struct sockaddr_un *)&m->ss;
		const char *path = addr + 5;

		if (path[0] == '/' && strlen(path) < sizeof(su->sun_path)) {
			su->sun_family = AF_UNIX;
			strcpy(su->sun_path, path);
			m->sslen = sizeof(*su);
			ret = 0;
		}
	} else if (strlen(addr) < sizeof(m->addr)) {
		ret = parse_inet(m, addr);
	}
	if (ret) {
		snprintf(err, len,
			 "--metrics %s: want IPv4:PORT (e.g. 127.0.0.1:9464), "
			 "[IPv6]:PORT (e.g. [::1]:9464) or unix:PATH (an "
			 "absolute path, at most %zu bytes); a host name is "
			 "not resolved, PORT is 1 to 65535",
			 addr, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		free(m);
		return NULL;
	}
	return m;
}

/*
 * A unix socket file at PATH: a stale one (nothing accepts on it) is
 * removed; a live one, or anything else, refuses. 0 or -errno (ERR).
 */
static int unix_clear(const struct tw_metrics *m, const char *path, char *err,
		      size_t len)
{
	struct stat st;
	int fd, live;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, len, "--metrics %s: %s exists and is not a socket",
			 m->addr, path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	live = !connect(fd, (const struct sockaddr *)&m->ss, m->sslen);
	close(fd);
	if (live) {
		snprintf(err, len, "--metrics %s: something already serves %s",
			 m->addr, path);
		return -EADDRINUSE;
	}
	return unlink(path) ? -errno : 0;
}

/* The unix socket's file: 0660 root:TW_METRICS_GROUP, or 0600. */
static int unix_own(struct tw_metrics *m, const char *path)
{
	struct group *g = getgrnam(TW_METRICS_GROUP);
	struct stat st;

	if (g && (chown(path, 0, g->gr_gid) || chmod(path, 0660)))
		return -errno;
	if (lstat(path, &st))
		return -errno;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	return 0;
}

int tw_metrics_listen(struct tw_metrics *m, char *err, size_t len)
{
	int family = m->ss.ss_family, one = 1, ret;
	const char *path = ((struct sockaddr_un *)&m->ss)->sun_path;
	mode_t old;

	if (family == AF_UNIX) {
		ret = unix_clear(m, path, err, len);
		if (ret == -EEXIST || ret == -EADDRINUSE)
			return ret;
		if (ret)
			goto fail;
	}
	m->fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->fd < 0)
		goto fail_errno;
	if (family != AF_UNIX)
		setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(m->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* No thread runs yet: the umask covers only this socket file. */
	old = umask(0177);
	ret = bind(m->fd, (const struct sockaddr *)&m->ss, m->sslen);
	umask(old);
	if (ret || listen(m->fd, TW_METRICS_CONNECTIONS))
		goto fail_errno;
	if (family == AF_UNIX && (ret = unix_own(m, path)))
		goto fail;
	return 0;
fail_errno:
	ret = -errno;
fail:
	snprintf(err, len, "--metrics %s: cannot listen: %s", m->addr,
		 strerror(-ret));
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	return ret;
}

/*
 * libmicrohttpd is loaded when --metrics asks for it, not linked: linked,
 * it and the GnuTLS it brings along cost every toolwall process about
 * 2 ms of start-up, each tool call's launch included (bench/README.md).
 */
#define TW_MHD_SONAME "libmicrohttpd.so.12"

static struct {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_create_response_from_buffer) *create_response;
	__typeof__(MHD_add_response_header) *add_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
} mhd;

static int mhd_load(const char *addr, char *err, size_t len)
{
	static const char *const names[] = {
		"MHD_start_daemon",	 "MHD_stop_daemon",
		"MHD_create_response_from_buffer", "MHD_add_response_header",
		"MHD_queue_response",	 "MHD_destroy_response" };
	void *fn[6], *h;

	if (mhd.start_daemon)
		return 0;
	h = dlopen(TW_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	for (size_t i = 0; h && i < 6; i++)
		if (!(fn[i] = dlsym(h, names[i]))) {
			dlclose(h);
			h = NULL;
		}
	if (!h) {
		snprintf(err, len,
			 "--metrics %s: cannot load %s (%s); install "
			 "libmicrohttpd12",
			 addr, TW_MHD_SONAME, dlerror());
		return -ENOENT;
	}
	mhd.start_daemon = (__typeof__(mhd.start_daemon))fn[0];
	mhd.stop_daemon = (__typeof__(mhd.stop_daemon))fn[1];
	mhd.create_response = (__typeof__(mhd.create_response))fn[2];
	mhd.add_header = (__typeof__(mhd.add_header))fn[3];
	mhd.queue_response = (__typeof__(mhd.queue_response))fn[4];
	mhd.destroy_response = (__typeof__(mhd.destroy_response))fn[5];
	return 0; /* loaded for the daemon's lifetime: never closed */
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     char *body, size_t n, bool must_free,
			     const char *allow)
{
	struct MHD_Response *r = mhd.create_response(
		n, body, must_free ? MHD_RESPMEM_MUST_FREE :
				     MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r) {
		if (must_free)
			free(body);
		return MHD_NO;
	}
	mhd.add_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				status == MHD_HTTP_OK ? TW_PROM_CONTENT_TYPE :
							"text/plain; charset=utf-8");
	if (allow)
		mhd.add_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	ret = mhd.queue_response(c, status, r);
	mhd.destroy_response(r);
	return ret;
}

/* Answered at the first call for the request, its body (if any) unread:
 * libmicrohttpd closes the connection after such an answer. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	static char not_found[] = "not found: toolwall serves GET /metrics\n";
	static char not_allowed[] = "method not allowed: GET /metrics only\n";
	static char no_memory[] = "out of memory\n";
	struct tw_metrics *m = cls;
	struct tw_prom p = {};

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)req_cls;
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, not_found,
			     sizeof(not_found) - 1, false, NULL);
	if (strcmp(method, MHD_HTTP_METHOD_GET))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed,
			     sizeof(not_allowed) - 1, false, "GET");
	tw_scrape_text(m->d, &m->scrape, &p);
	if (p.oom || !p.buf) {
		free(p.buf);
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, no_memory,
			     sizeof(no_memory) - 1, false, NULL);
	}
	return reply(c, MHD_HTTP_OK, p.buf, p.len, true, NULL);
}

int tw_metrics_start(struct tw_daemon *d, char *err, size_t len)
{
	struct tw_metrics *m = d->metrics;

	if (!m)
		return 0;
	if (mhd_load(m->addr, err, len))
		return -ENOENT;
	m->d = d;
	pthread_mutex_lock(&d->lock);
	tw_scrape_zero(d, &m->scrape);
	pthread_mutex_unlock(&d->lock);
	/* Signals stay blocked in its thread (they are the event loop's). */
	m->mhd = mhd.start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
		on_request, m, MHD_OPTION_LISTEN_SOCKET, m->fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)TW_METRICS_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)TW_METRICS_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)TW_METRICS_REQUEST_MAX, MHD_OPTION_END);
	if (!m->mhd) {
		snprintf(err, len, "--metrics %s: cannot start the HTTP server",
			 m->addr);
		return -EIO;
	}
	m->fd = -1; /* libmicrohttpd's now: it closes it when it stops */
	tw_info("serving metrics: GET /metrics on %s", m->addr);
	return 0;
}

void tw_metrics_close(struct tw_daemon *d)
{
	struct tw_metrics *m = d->metrics;
	struct stat st;

	if (!m)
		return;
	if (m->mhd)
		mhd.stop_daemon(m->mhd);
	if (m->fd >= 0)
		close(m->fd);
	/* Our socket file only: not one a successor made meanwhile. */
	if (m->ss.ss_family == AF_UNIX && m->ino) {
		const char *path = ((struct sockaddr_un *)&m->ss)->sun_path;

		if (!lstat(path, &st) && st.st_dev == m->dev &&
		    st.st_ino == m->ino)
			unlink(path);
	}
	tw_scrape_free(&m->scrape);
	free(m);
	d->metrics = NULL;
}

void tw_metrics_refill(struct tw_daemon *d, int slot)
{
	if (d->metrics)
		tw_scrape_refill(d, &d->metrics->scrape, slot);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * util.c - messages, the control socket client, time and address text.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "record.h"
#include "util.h"

bool tw_quiet;

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* ---- with -j, errors as JSON on stdout ---------------------------------- */

static const char *dflt_where; /* NULL: not collecting */
static json_t *errors;

void tw_error_json(const char *where)
{
	dflt_where = where;
}

bool tw_error_json_on(void)
{
	return dflt_where != NULL;
}

bool tw_error_json_add(const char *where, const char *msg)
{
	json_t *e;

	if (!dflt_where)
		return false;
	if (!errors)
		errors = json_array();
	e = json_pack("{s:s,s:s}", "error", msg, "where",
		      where ? where : dflt_where);
	/* out of memory: say it on stderr rather than lose it */
	if (!errors || !e || json_array_append_new(errors, e)) {
		fprintf(stderr, "Error: %s: %s\n", where ? where : dflt_where,
			msg);
		return true;
	}
	return true;
}

int tw_error_flush(int status)
{
	json_t *first = json_array_get(errors, 0), *o;
	char *s;

	if (!first)
		return status;
	o = json_pack("{s:b,s:O,s:O,s:O}", "ok", 0, "error",
		      json_object_get(first, "error"), "where",
		      json_object_get(first, "where"), "errors", errors);
	s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (s)
		puts(s);
	else
		fputs("{\"ok\":false,\"error\":\"out of memory\"}\n", stdout);
	fflush(stdout);
	free(s);
	json_decref(o);
	json_decref(errors);
	errors = NULL;
	return status ? status : 1;
}

/* With -j, to the command's JSON errors; else on stderr. */
static void verror(const char *where, const char *fmt, va_list ap)
{
	char msg[2048];

	if (tw_error_json_on()) {
		vsnprintf(msg, sizeof(msg), fmt, ap);
		tw_error_json_add(where, msg);
		return;
	}
	fputs("Error: ", stderr);
	if (where)
		fprintf(stderr, "%s: ", where);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void tw_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(NULL, fmt, ap);
	va_end(ap);
}

void tw_error_at(const char *where, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(where, fmt, ap);
	va_end(ap);
}

void tw_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("Warning: ", fmt, ap);
	va_end(ap);
}

void tw_info(const char *fmt, ...)
{
	va_list ap;

	if (tw_quiet)
		return;
	va_start(ap, fmt);
	vmsg("toolwall: ", fmt, ap);
	va_end(ap);
}

const char *tw_control_path(void)
{
	const char *p = getenv("TOOLWALL_CONTROL");

	return p && *p ? p : tw_roots.control;
}

int tw_send_json(int fd, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	size_t len, off = 0;
	int ret = 0;

	if (!s)
		return -ENOMEM;
	len = strlen(s);
	s[len++] = '\n'; /* json_dumps leaves room: the NUL */
	while (off < len) {
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == ENOTSOCK) /* a file or a pipe */
			n = write(fd, s + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		off += n;
	}
	free(s);
	return ret;
}

int tw_json_lines(char *buf, size_t *len, int (*fn)(json_t *m, void *arg),
		  void *arg)
{
	char *nl;

	while ((nl = memchr(buf, '\n', *len))) {
		json_t *m = json_loadb(buf, (size_t)(nl - buf), 0, NULL);
		int ret = m ? fn(m, arg) : -1;

		json_decref(m);
		*len -= (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, *len);
		if (ret >= 0)
			return ret;
	}
	return -1;
}

json_t *tw_recv_json(int fd, int timeout_ms)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	json_t *msg = NULL;
	json_error_t jerr;

	if (!buf)
		return NULL;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		char *nl;

		if (poll(&p, 1, timeout_ms) <= 0) {
			errno = ETIMEDOUT;
			break;
		}
		if (len + 1024 > cap) {
			char *nb;

			if (cap > (64u << 20)) {
				errno = EMSGSIZE;
				break;
			}
			nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			break;
		}
		len += n;
		buf[len] = 0;
		nl = memchr(buf, '\n', len);
		if (nl) {
			msg = json_loadb(buf, nl - buf, 0, &jerr);
			if (!msg)
				errno = EPROTO;
			break;
		}
	}
	free(buf);
	return msg;
}

json_t *tw_control_call(json_t *req)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = TW_CTL_CONNECT_S };
	json_t *rep = NULL;
	int fd, err;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	/* a daemon that stopped accepting: fail after a while, not never */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", tw_control_path());
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	if (tw_send_json(fd, req) < 0)
		goto out;
	rep = tw_recv_json(fd, 60000);
out:
	err = errno;
	close(fd);
	errno = err;
	return rep;
}

uint64_t tw_now_ns(int clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void tw_rfc3339(uint64_t ns, char *buf, size_t len)
{
	tw_audit_ts_format(ns, buf, len); /* one format for every timestamp */
}

void tw_addr_str(int family, const uint8_t *addr, char *buf, size_t len)
{
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, buf, len))
		snprintf(buf, len, "?");
}

int tw_mkdir_p(const char *path, unsigned mode)
{
	char tmp[4096];
	size_t n = strlen(path);

	if (n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int tw_write_file_atomic(const char *path, const char *data, size_t len,
			 unsigned mode)
{
	char tmp[4096];
	int fd, ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		ret = -EIO;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}
int tw_sockaddr_parse(const char *s, struct sockaddr_storage *ss,
		      socklen_t *len, bool port0_ok)
{
	char host[64];
	const char *colon;
	unsigned long port;
	char *e;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, rb - s - 1);
		host[rb - s - 1] = 0;
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, colon - s);
		host[colon - s] = 0;
	}
	errno = 0;
	port = strtoul(colon + 1, &e, 10);
	if (errno || *e || port > 65535 || e == colon + 1 ||
	    (!port && !port0_ok))
		return -EINVAL;
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) ==
	    1) {
		ss->ss_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons(port);
		*len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host,
		      &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
		*len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -EINVAL;
}

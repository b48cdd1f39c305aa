// SPDX-License-Identifier: GPL-2.0-only
/*
 * broker.c - the credential broker's event loop (see broker.h).
 *
 * One epoll loop, non-blocking sockets and TLS on both sides. Per
 * connection, bytes flow client -> request parser (libhttp-parser) ->
 * judge -> rebuilt head + re-framed body -> upstream, and upstream ->
 * response parser (message boundaries only) -> client, each direction
 * through one bounded buffer: a side is not read while the buffer it feeds
 * is full, so memory stays flat whatever the body size.
 */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "bkctl.h"
#include "broker.h"
#include "toolwall.h"

#define BUF_CAP (256 * 1024) /* per direction; reads stop above it */
#define READ_CHUNK (16 * 1024)
#define HEAD_MAX (32 * 1024) /* a request head larger than this: 431 */
#define HEADERS_MAX 100
#define PENDING_MAX 16 /* pipelined requests awaiting their response */

struct buf {
	char *d;
	size_t len, off;
};

struct pending {
	char method[16];
	char path[512];
	const char *credential;
	const char *call_id;
	unsigned long long bytes_out, bytes_in;
	struct timespec start;
};

struct conn {
	struct tw_broker *b;
	const struct tw_bk_route *route;
	/* daemon mode: where the kernel says it was going, and whose */
	struct tw_bk_route own;
	struct tw_bk_call *call; /* NULL: no live call (placeholders stay) */
	uint64_t cgid;
	int cfd, ufd;
	SSL *cssl, *ussl;
	bool chs_done, uhs_done, uconnecting, uconnected;
	bool client_eof, upstream_eof, closing, dead;
	unsigned cev, uev; /* the epoll events each side is registered for */
	char sni[256];
	http_parser req, resp;
	struct buf c2u, u2c;
	/* the request head being parsed */
	char url[8192];
	size_t url_len, head_bytes;
	size_t head_len; /* bytes of the head being parsed (HEAD_MAX) */
	bool head_big;
	bool folded; /* a header value continued on the next line */
	const char *feed_at; /* the buffer being parsed, and whether the one */
	bool feed_after_lf;  /* before it ended a line */
	struct tw_bk_header h[HEADERS_MAX];
	size_t nh;
	bool in_value;
	bool chunked;
	bool in_body; /* the last pending request's body is being read */
	struct pending q[PENDING_MAX];
	unsigned qhead, qlen;
	unsigned long long resp_bytes;
	/* a refusal to answer once the client side drains */
	int refuse_status;
	char refuse_reason[256], refuse_hint[256];
	const char *refuse_cred;
};

/* ---- records -------------------------------------------------------- */

static void rfc3339(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%09ldZ", base, ts.tv_nsec);
}

static void record(struct conn *c, const struct pending *p, int status,
		   const char *decision, const char *reason, const char *hint)
{
	char ts[48], why[256];
	json_t *r;
	char *line;

	if (!c->b->records && c->b->ctl_fd < 0)
		return;
	if (reason) { /* it may quote a Host, an SNI or a target */
		snprintf(why, sizeof(why), "%s", reason);
		tw_bk_mask_placeholders(why);
		reason = why;
	}
	rfc3339(ts, sizeof(ts));
	r = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:I, s:I, "
		      "s:s?, s:s?, s:s, s:s?, s:s?}",
		      "ts", ts, "event", "request", "context",
		      c->route->context, "method", p->method, "host",
		      c->route->origin.host, "port", c->route->origin.port,
		      "path", p->path, "status", status, "bytes_out",
		      (json_int_t)p->bytes_out, "bytes_in",
		      (json_int_t)p->bytes_in, "credential", p->credential,
		      "call_id", p->call_id, "decision", decision, "reason",
		      reason, "hint", hint && *hint ? hint : NULL);
	if (!r)
		return;
	if (c->b->ctl_fd >= 0) { /* the daemon writes it, chained */
		json_object_set_new(r, "op", json_string("request"));
		json_object_set_new(r, "cgid", json_integer((json_int_t)c->cgid));
		tw_broker_send(c->b, r);
		return;
	}
	line = json_dumps(r, JSON_COMPACT);
	if (line) {
		fprintf(c->b->records, "%s\n", line);
		fflush(c->b->records);
		free(line);
	}
	json_decref(r);
}

/* ---- buffers --------------------------------------------------------- */

static int buf_put(struct buf *b, const void *d, size_t n)
{
	if (b->off && b->off == b->len)
		b->off = b->len = 0;
	if (!b->d) {
		b->d = malloc(BUF_CAP + HEAD_MAX + 64);
		if (!b->d)
			return -ENOMEM;
	}
	if (b->len + n > BUF_CAP + HEAD_MAX + 64) {
		memmove(b->d, b->d + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->len + n > BUF_CAP + HEAD_MAX + 64)
			return -ENOBUFS;
	}
	memcpy(b->d + b->len, d, n);
	b->len += n;
	return 0;
}

static size_t buf_pending(const struct buf *b)
{
	return b->len - b->off;
}

static int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof(tmp))
		return -EINVAL;
	return buf_put(b, tmp, n);
}

/* ---- answers the broker writes itself -------------------------------- */

static void answer(struct conn *c, int status, const char *reason,
		   const char *hint, const char *cred)
{
	const char *text = status == 403 ? "Forbidden" :
			   status == 400 ? "Bad Request" :
			   status == 431 ? "Request Header Fields Too Large" :
			   status == 502 ? "Bad Gateway" :
					   "Error";
	json_t *body = json_pack("{s:s, s:s, s:s?, s:s?}", "error",
				 status == 502 ? "upstream" : "refused",
				 "reason", reason, "credential", cred, "hint",
				 hint && *hint ? hint : NULL);
	char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;

	buf_printf(&c->u2c,
		   "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
		   "Content-Length: %zu\r\nConnection: close\r\n"
		   "X-Toolwall: broker\r\n\r\n",
		   status, text, s ? strlen(s) + 1 : 0);
	if (s) {
		buf_put(&c->u2c, s, strlen(s));
		buf_put(&c->u2c, "\n", 1);
	}
	free(s);
	json_decref(body);
	c->closing = true;
}

/* ---- the request side ------------------------------------------------ */

static struct conn *of(http_parser *p)
{
	return p->data;
}

static void head_reset(struct conn *c)
{
	for (size_t i = 0; i < c->nh; i++) {
		free(c->h[i].name);
		if (c->h[i].value) {
			OPENSSL_cleanse(c->h[i].value, strlen(c->h[i].value));
			free(c->h[i].value);
		}
	}
	c->nh = 0;
	c->url_len = 0;
	c->url[0] = 0;
	c->head_bytes = 0;
	c->head_len = 0;
	c->in_value = false;
}

static int append(char **s, const char *at, size_t n)
{
	size_t old = *s ? strlen(*s) : 0;
	char *r = realloc(*s, old + n + 1);

	if (!r)
		return -1;
	memcpy(r + old, at, n);
	r[old + n] = 0;
	*s = r;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct conn *c = of(p);

	if (c->url_len + n >= sizeof(c->url))
		return -1;
	memcpy(c->url + c->url_len, at, n);
	c->url_len += n;
	c->url[c->url_len] = 0;
	return 0;
}

/* A head over HEAD_MAX stops the parser: 431, nothing forwarded. */
static bool head_grow(struct conn *c, size_t n)
{
	c->head_len += n;
	if (c->head_len <= HEAD_MAX)
		return true;
	c->head_big = true;
	return false;
}

static int on_hfield(http_parser *p, const char *at, size_t n)
{
	struct conn *c = of(p);

	if (!head_grow(c, n))
		return -1;
	if (c->in_value || !c->nh) {
		if (c->nh == HEADERS_MAX)
			return -1;
		c->h[c->nh].name = NULL;
		c->h[c->nh].value = strdup("");
		if (!c->h[c->nh].value)
			return -1;
		c->nh++;
		c->in_value = false;
	}
	return append(&c->h[c->nh - 1].name, at, n);
}

static int on_hvalue(http_parser *p, const char *at, size_t n)
{
	struct conn *c = of(p);

	if (!head_grow(c, n))
		return -1;
	if (!c->nh)
		return -1;
	/*
	 * A second piece of one value is the rest of a value split between
	 * two reads (at the start of a buffer, the last one ended mid-line),
	 * or obs-fold: refused (RFC 9112 5.2), a value stays one line.
	 */
	if (c->in_value && (at != c->feed_at || c->feed_after_lf)) {
		c->folded = true;
		return -1;
	}
	c->in_value = true;
	return append(&c->h[c->nh - 1].value, at, n);
}

static bool hop_by_hop(const char *name)
{
	return !strcasecmp(name, "Proxy-Connection") ||
	       !strcasecmp(name, "Proxy-Authorization") ||
	       !strcasecmp(name, "Keep-Alive") || !strcasecmp(name, "TE") ||
	       !strcasecmp(name, "Upgrade");
}

static int upstream_start(struct conn *c);

static int on_headers_complete(http_parser *p)
{
	struct conn *c = of(p);
	struct tw_bk_table t = { c->b->creds, c->b->ncreds, c->b->ph,
				 c->b->nph };

	/* Daemon mode: only the placeholders of the connection's own call. */
	if (c->b->ctl_fd >= 0)
		t = c->call ? (struct tw_bk_table){ c->call->creds,
						    c->call->ncreds,
						    c->call->ph, c->call->nph } :
			      (struct tw_bk_table){ 0 };
	struct tw_bk_request r = {
		.method = http_method_str(p->method),
		.target = c->url,
		.sni = c->route->origin.tls ? c->sni : NULL,
		.context = c->route->context,
		.origin = c->route->origin,
		.h = c->h,
		.nh = c->nh,
	};
	struct tw_bk_verdict v;
	struct pending *q;
	int err = 0;

	if (c->qlen == PENDING_MAX)
		return -1;
	q = &c->q[(c->qhead + c->qlen) % PENDING_MAX];
	memset(q, 0, sizeof(*q));
	snprintf(q->method, sizeof(q->method), "%s", r.method);
	tw_bk_path_only(c->url, q->path, sizeof(q->path));
	clock_gettime(CLOCK_MONOTONIC, &q->start);
	if (p->flags & F_CHUNKED && p->content_length != ULLONG_MAX &&
	    p->content_length) {
		v.status = 400; /* both framings: never guess which one wins */
		snprintf(v.reason, sizeof(v.reason),
			 "both Content-Length and Transfer-Encoding");
		v.hint[0] = 0;
		v.credential = NULL;
	} else if (p->upgrade) {
		memset(&v, 0, sizeof(v));
		v.status = 403;
		snprintf(v.reason, sizeof(v.reason),
			 "protocol upgrades are not brokered");
	} else if (tw_bk_judge(&t, &r, &v)) {
		return -1;
	}
	q->credential = v.credential;
	q->call_id = v.call_id;
	if (v.status) {
		c->refuse_status = v.status;
		snprintf(c->refuse_reason, sizeof(c->refuse_reason), "%s",
			 v.reason);
		snprintf(c->refuse_hint, sizeof(c->refuse_hint), "%s", v.hint);
		c->refuse_cred = v.credential;
		c->qlen++;
		return -1; /* stop parsing: nothing more is forwarded */
	}
	c->chunked = p->flags & F_CHUNKED;
	err |= buf_printf(&c->c2u, "%s %s HTTP/1.1\r\n", r.method, c->url);
	for (size_t i = 0; i < c->nh; i++) {
		if (hop_by_hop(c->h[i].name))
			continue;
		err |= buf_put(&c->c2u, c->h[i].name, strlen(c->h[i].name));
		err |= buf_put(&c->c2u, ": ", 2);
		err |= buf_put(&c->c2u, c->h[i].value, strlen(c->h[i].value));
		err |= buf_put(&c->c2u, "\r\n", 2);
	}
	err |= buf_put(&c->c2u, "\r\n", 2);
	q->bytes_out = 0;
	c->qlen++;
	c->in_body = true;
	head_reset(c);
	if (err)
		return -1;
	if (!c->uconnecting && !c->uconnected && upstream_start(c))
		return -1;
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct conn *c = of(p);
	struct pending *q = &c->q[(c->qhead + c->qlen - 1) % PENDING_MAX];
	int err = 0;

	if (c->chunked)
		err |= buf_printf(&c->c2u, "%zx\r\n", n);
	err |= buf_put(&c->c2u, at, n);
	if (c->chunked)
		err |= buf_put(&c->c2u, "\r\n", 2);
	q->bytes_out += n;
	return err ? -1 : 0;
}

static int on_message_complete(http_parser *p)
{
	struct conn *c = of(p);

	if (c->chunked && buf_put(&c->c2u, "0\r\n\r\n", 5))
		return -1;
	c->chunked = false;
	c->in_body = false;
	return 0;
}

static const http_parser_settings req_settings = {
	.on_url = on_url,
	.on_header_field = on_hfield,
	.on_header_value = on_hvalue,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* ---- the response side: boundaries only, bytes pass as they are ------ */

static int on_resp_headers(http_parser *p)
{
	struct conn *c = of(p);

	if (!c->qlen)
		return -1; /* an answer nobody asked for */
	/* A response to HEAD has no body whatever its headers say. */
	return !strcmp(c->q[c->qhead].method, "HEAD") ? 1 : 0;
}

static int on_resp_complete(http_parser *p)
{
	struct conn *c = of(p);
	struct pending *q;

	if (p->status_code / 100 == 1 || !c->qlen)
		return 0; /* 100 Continue: the real answer follows */
	q = &c->q[c->qhead];
	q->bytes_in = c->resp_bytes;
	c->resp_bytes = 0;
	c->b->requests++;
	record(c, q, p->status_code, "allow", NULL, NULL);
	c->qhead = (c->qhead + 1) % PENDING_MAX;
	c->qlen--;
	return 0;
}

static const http_parser_settings resp_settings = {
	.on_headers_complete = on_resp_headers,
	.on_message_complete = on_resp_complete,
};

/* ---- I/O ------------------------------------------------------------- */

/* Read into TMP from a side: >0 bytes, 0 would block, -1 EOF or error. */
static ssize_t side_read(int fd, SSL *ssl, char *tmp, size_t n)
{
	ssize_t r;

	if (ssl) {
		r = SSL_read(ssl, tmp, n);
		if (r > 0)
			return r;
		switch (SSL_get_error(ssl, r)) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			return 0;
		default:
			ERR_clear_error();
			return -1;
		}
	}
	r = read(fd, tmp, n);
	if (r > 0)
		return r;
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return -1;
}

/* Write what B holds: 0 done or would block, -1 error. */
static int side_write(int fd, SSL *ssl, struct buf *b)
{
	while (buf_pending(b)) {
		ssize_t w;

		if (ssl) {
			w = SSL_write(ssl, b->d + b->off, buf_pending(b));
			if (w <= 0) {
				int e = SSL_get_error(ssl, w);

				if (e == SSL_ERROR_WANT_WRITE ||
				    e == SSL_ERROR_WANT_READ)
					return 0;
				ERR_clear_error();
				return -1;
			}
		} else {
			w = send(fd, b->d + b->off, buf_pending(b),
				 MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return 0;
				return -1;
			}
		}
		b->off += w;
	}
	b->off = b->len = 0;
	return 0;
}

/* The first N requests awaiting their answer, forwarded (with their
 * values, it may be) and now cut off unanswered: each still gets its
 * record, status 502. */
static void cut_off(struct conn *c, unsigned n, const char *why)
{
	for (unsigned i = 0; i < n; i++) {
		struct pending *q = &c->q[(c->qhead + i) % PENDING_MAX];

		if (!i)
			q->bytes_in = c->resp_bytes;
		record(c, q, 502, "allow", why, NULL);
	}
}

static void upstream_fail(struct conn *c, const char *why)
{
	char reason[256];
	struct pending *q = c->qlen ? &c->q[c->qhead] : NULL;

	snprintf(reason, sizeof(reason), "upstream %s:%u: %s",
		 c->route->origin.host, c->route->origin.port, why);
	c->b->failed++;
	cut_off(c, c->qlen, reason);
	c->qlen = 0;
	c->c2u.off = c->c2u.len = 0;
	answer(c, 502, reason, NULL, q ? q->credential : NULL);
}

/* A relay writes what it has as soon as it has it: a small write (the
 * body after the head) must not wait for the peer's delayed ACK. */
static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int upstream_start(struct conn *c)
{
	int fd = socket(c->route->upstream.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };

	if (fd < 0)
		return -1;
	nodelay(fd);
	if (connect(fd, (struct sockaddr *)&c->route->upstream,
		    c->route->upstream_len) &&
	    errno != EINPROGRESS) {
		close(fd);
		upstream_fail(c, strerror(errno));
		return 0;
	}
	c->ufd = fd;
	c->uconnecting = true;
	c->uev = ev.events;
	ev.data.ptr = (char *)c + 1; /* tagged: the upstream side */
	epoll_ctl(c->b->epfd, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

static int upstream_tls(struct conn *c)
{
	const char *host = c->route->origin.host;
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, host, ip) == 1 ||
		     inet_pton(AF_INET6, host, ip) == 1;

	c->ussl = SSL_new(c->b->client);
	if (!c->ussl || !SSL_set_fd(c->ussl, c->ufd))
		return -1;
	if (is_ip) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ussl), host);
	} else {
		SSL_set_tlsext_host_name(c->ussl, host);
		SSL_set1_host(c->ussl, host);
	}
	SSL_set_verify(c->ussl, SSL_VERIFY_PEER, NULL);
	SSL_set_alpn_protos(c->ussl, (const unsigned char *)"\x08http/1.1",
			    9);
	SSL_set_connect_state(c->ussl);
	return 0;
}

int tw_broker_sni_cb(SSL *ssl, int *al, void *arg)
{
	struct conn *c = SSL_get_app_data(ssl);
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	char err[256];
	SSL_CTX *ctx;

	(void)al;
	(void)arg;
	snprintf(c->sni, sizeof(c->sni), "%s", name ? name : "");
	/* The certificate names the service the kernel redirected; an SNI
	 * for another name is caught per request (domain fronting). */
	ctx = tw_ca_server_ctx(&c->b->ca, c->route->origin.host, err,
			       sizeof(err));
	if (!ctx)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	SSL_set_SSL_CTX(ssl, ctx);
	return SSL_TLSEXT_ERR_OK;
}

static void conn_free(struct conn *c)
{
	head_reset(c);
	if (c->call)
		tw_broker_call_put(c->b, c->call);
	if (c->cssl)
		SSL_free(c->cssl);
	if (c->ussl)
		SSL_free(c->ussl);
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	free(c->c2u.d);
	free(c->u2c.d);
	free(c);
}

/* The request was refused while parsing: answer it and record it. */
static void refused(struct conn *c)
{
	struct pending *q = &c->q[(c->qhead + c->qlen - 1) % PENDING_MAX];

	c->b->refused++;
	cut_off(c, c->qlen ? c->qlen - 1 : 0,
		"not answered: a later request on its connection was refused");
	record(c, q, c->refuse_status, "deny", c->refuse_reason,
	       c->refuse_hint);
	c->qlen = 0;
	c->c2u.off = c->c2u.len = 0;
	if (c->ufd >= 0) {
		epoll_ctl(c->b->epfd, EPOLL_CTL_DEL, c->ufd, NULL);
		close(c->ufd);
		c->ufd = -1;
	}
	answer(c, c->refuse_status, c->refuse_reason, c->refuse_hint,
	       c->refuse_cred);
}

static void feed_request(struct conn *c, const char *d, size_t n)
{
	size_t used;

	if (c->closing)
		return;
	c->feed_at = d;
	used = http_parser_execute(&c->req, &req_settings, d, n);
	c->feed_after_lf = n && d[n - 1] == '\n';
	c->head_bytes += used;
	if (c->refuse_status) {
		refused(c);
		return;
	}
	if (HTTP_PARSER_ERRNO(&c->req) != HPE_OK || used != n) {
		enum http_errno e = HTTP_PARSER_ERRNO(&c->req);
		bool big = e == HPE_HEADER_OVERFLOW || c->nh == HEADERS_MAX ||
			   c->head_big;

		c->refuse_status = big ? 431 : 400;
		snprintf(c->refuse_reason, sizeof(c->refuse_reason),
			 "malformed request: %s",
			 big	     ? "header fields too large" :
			 c->folded ? "a header value continued on the next "
				     "line (obsolete line folding)" :
				     http_errno_description(e));
		/* A request of its own unless the error is in the body of
		 * the last one (a valid request pipelined before it keeps its
		 * method and path) */
		if (c->qlen < PENDING_MAX &&
		    (!c->qlen || !c->in_body ||
		     c->q[(c->qhead + c->qlen - 1) % PENDING_MAX].method[0] ==
			     0)) {
			struct pending *q =
				&c->q[(c->qhead + c->qlen) % PENDING_MAX];

			memset(q, 0, sizeof(*q));
			/* its own method once its target began (else the last's) */
			snprintf(q->method, sizeof(q->method), "%s",
				 c->url_len ? http_method_str(c->req.method) : "?");
			tw_bk_path_only(c->url, q->path, sizeof(q->path));
			c->qlen++;
		}
		refused(c);
	}
}

static void pump(struct conn *c)
{
	char tmp[READ_CHUNK];
	ssize_t r;

	if (!c->chs_done) {
		int ret = SSL_accept(c->cssl);

		if (ret != 1) {
			int e = SSL_get_error(c->cssl, ret);

			ERR_clear_error();
			if (e != SSL_ERROR_WANT_READ &&
			    e != SSL_ERROR_WANT_WRITE)
				c->dead = true;
			return;
		}
		c->chs_done = true;
	}
	/* client -> request parser -> c2u */
	while (!c->client_eof && !c->closing &&
	       buf_pending(&c->c2u) < BUF_CAP) {
		r = side_read(c->cfd, c->cssl, tmp, sizeof(tmp));
		if (r == 0)
			break;
		if (r < 0) {
			c->client_eof = true;
			break;
		}
		feed_request(c, tmp, r);
	}
	/* upstream connect and handshake */
	if (c->uconnecting) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr) {
			c->uconnecting = false;
			upstream_fail(c, strerror(soerr));
		} else {
			struct sockaddr_storage ss;
			socklen_t l = sizeof(ss);

			if (!getpeername(c->ufd, (struct sockaddr *)&ss, &l)) {
				c->uconnecting = false;
				c->uconnected = true;
				if (c->route->origin.tls && upstream_tls(c))
					c->dead = true;
			}
		}
	}
	if (c->uconnected && c->ussl && !c->uhs_done) {
		int ret = SSL_do_handshake(c->ussl);

		if (ret == 1) {
			c->uhs_done = true;
		} else {
			int e = SSL_get_error(c->ussl, ret);

			if (e != SSL_ERROR_WANT_READ &&
			    e != SSL_ERROR_WANT_WRITE) {
				long vr = SSL_get_verify_result(c->ussl);
				char why[200];

				snprintf(why, sizeof(why), "TLS: %s",
					 vr != X509_V_OK ?
						 X509_verify_cert_error_string(
							 vr) :
						 "handshake failed");
				ERR_clear_error();
				c->uconnected = false;
				upstream_fail(c, why);
			}
		}
	}
	bool up_ready = c->uconnected && (!c->ussl || c->uhs_done);

	if (up_ready && side_write(c->ufd, c->ussl, &c->c2u))
		upstream_fail(c, "write failed");
	/* upstream -> response parser -> u2c, bytes as they came */
	while (up_ready && !c->upstream_eof &&
	       buf_pending(&c->u2c) < BUF_CAP) {
		size_t used;

		r = side_read(c->ufd, c->ussl, tmp, sizeof(tmp));
		if (r == 0)
			break;
		if (r < 0) {
			c->upstream_eof = true;
			http_parser_execute(&c->resp, &resp_settings, NULL, 0);
			break;
		}
		/* counted first: the read that ends a response is its own
		 * (an answer pipelined behind it in the same read is counted
		 * with this one) */
		c->resp_bytes += r;
		used = http_parser_execute(&c->resp, &resp_settings, tmp, r);
		if (used != (size_t)r ||
		    HTTP_PARSER_ERRNO(&c->resp) != HPE_OK) {
			upstream_fail(c, "malformed response");
			break;
		}
		if (buf_put(&c->u2c, tmp, r)) {
			c->dead = true;
			break;
		}
	}
	if (side_write(c->cfd, c->cssl, &c->u2c))
		c->dead = true;
	if (!buf_pending(&c->u2c) &&
	    (c->closing || (c->upstream_eof && !c->qlen) ||
	     (c->client_eof && !c->qlen)))
		c->dead = true;
}

/*
 * What to wait for on each side (level-triggered): reading only while the
 * buffer it feeds has room and the side has not ended (else a readable
 * socket would wake the loop again and again), writing while there is
 * something for it. Changed in the kernel only when it changes.
 */
static void interest(struct conn *c)
{
	struct epoll_event ev = { .data.ptr = c };
	bool cin = !c->client_eof && !c->closing &&
		   buf_pending(&c->c2u) < BUF_CAP;
	bool uin = !c->upstream_eof && buf_pending(&c->u2c) < BUF_CAP;

	ev.events = (cin || (c->cssl && !c->chs_done) ? EPOLLIN : 0) |
		    (buf_pending(&c->u2c) || (c->cssl && !c->chs_done) ?
			     EPOLLOUT :
			     0);
	if (ev.events != c->cev) {
		epoll_ctl(c->b->epfd, EPOLL_CTL_MOD, c->cfd, &ev);
		c->cev = ev.events;
	}
	if (c->ufd >= 0) {
		ev.data.ptr = (char *)c + 1;
		ev.events = (uin || (c->ussl && !c->uhs_done) ? EPOLLIN : 0) |
			    (c->uconnecting || buf_pending(&c->c2u) ||
					     (c->ussl && !c->uhs_done) ?
				     EPOLLOUT :
				     0);
		if (ev.events != c->uev) {
			epoll_ctl(c->b->epfd, EPOLL_CTL_MOD, c->ufd, &ev);
			c->uev = ev.events;
		}
	}
}

static void accept_one(struct tw_broker *b, struct tw_bk_route *rt)
{
	int fd = accept4(rt->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	struct conn *c;

	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->b = b;
	c->route = rt;
	/* Daemon mode: where the kernel says it was going, and whose; a
	 * connection it did not redirect here is closed. */
	if (b->ctl_fd >= 0 &&
	    tw_broker_conn_origin(b, fd, &c->own, &c->cgid, &c->call)) {
		b->unknown++;
		close(fd);
		free(c);
		return;
	}
	if (b->ctl_fd >= 0)
		c->route = &c->own;
	c->cfd = fd;
	c->ufd = -1;
	nodelay(fd);
	http_parser_init(&c->req, HTTP_REQUEST);
	http_parser_init(&c->resp, HTTP_RESPONSE);
	c->req.data = c->resp.data = c;
	if (c->route->origin.tls) {
		c->cssl = SSL_new(b->server);
		if (!c->cssl) {
			conn_free(c);
			return;
		}
		SSL_set_app_data(c->cssl, c);
		SSL_set_fd(c->cssl, fd);
		SSL_set_accept_state(c->cssl);
	} else {
		c->chs_done = true;
	}
	b->conns++;
	ev.data.ptr = c;
	epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev);
	c->cev = ev.events;
	pump(c);
	if (c->dead) {
		epoll_ctl(b->epfd, EPOLL_CTL_DEL, fd, NULL);
		conn_free(c);
		return;
	}
	interest(c);
}

int tw_broker_run(struct tw_broker *b, volatile int *stop)
{
	struct epoll_event evs[64];

	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epfd < 0)
		return -errno;
	for (size_t i = 0; i < b->nroutes; i++) {
		struct epoll_event ev = { .events = EPOLLIN };

		ev.data.ptr = &b->routes[i];
		/* Routes and connections share the epoll set: tell them
		 * apart by address range (routes live in one array). */
		epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->routes[i].fd, &ev);
	}
	if (b->ctl_fd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.ptr = &b->ctl_fd };

		epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->ctl_fd, &ev);
	}
	while (!*stop) {
		int n = epoll_wait(b->epfd, evs, 64, 500);

		for (int i = 0; i < n; i++) {
			char *p = evs[i].data.ptr;
			struct conn *c;

			if (!p)
				continue; /* its connection ended this batch */
			if (p == (char *)&b->ctl_fd) {
				if (tw_broker_control(b))
					*stop = 1;
				continue;
			}
			if (p >= (char *)b->routes &&
			    p < (char *)(b->routes + b->nroutes)) {
				accept_one(b, (struct tw_bk_route *)p);
				continue;
			}
			c = (struct conn *)(p - ((uintptr_t)p & 1));
			pump(c);
			if (c->dead) {
				epoll_ctl(b->epfd, EPOLL_CTL_DEL, c->cfd, NULL);
				if (c->ufd >= 0)
					epoll_ctl(b->epfd, EPOLL_CTL_DEL,
						  c->ufd, NULL);
				/* Later events of this batch may name it. */
				for (int k = i + 1; k < n; k++) {
					char *q = evs[k].data.ptr;

					if (q == (char *)c || q == (char *)c + 1)
						evs[k].data.ptr = NULL;
				}
				conn_free(c);
				continue;
			}
			interest(c);
		}
	}
	close(b->epfd);
	return 0;
}

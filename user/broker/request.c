// SPDX-License-Identifier: GPL-2.0-only
/*
 * request.c - the broker's decision about one request (see request.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "request.h"

int tw_bk_origin_parse(const char *s, struct tw_bk_origin *o)
{
	const char *h, *end, *colon;
	size_t n;
	char *e;

	memset(o, 0, sizeof(*o));
	if (!strncmp(s, "https://", 8)) {
		o->tls = true;
		o->port = 443;
		h = s + 8;
	} else if (!strncmp(s, "http://", 7)) {
		o->port = 80;
		h = s + 7;
	} else {
		return -EINVAL;
	}
	end = h + strlen(h);
	if (end > h && end[-1] == '/')
		end--;
	if (*h == '[') { /* [v6]:port */
		const char *rb = memchr(h, ']', end - h);

		if (!rb)
			return -EINVAL;
		n = rb - h - 1;
		colon = rb + 1 < end ? rb + 1 : NULL;
		if (colon && *colon != ':')
			return -EINVAL;
		h++;
	} else {
		colon = memchr(h, ':', end - h);
		n = (colon ? colon : end) - h;
	}
	if (!n || n >= sizeof(o->host) || memchr(h, '/', n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		o->host[i] = tolower((unsigned char)h[i]);
	if (colon) {
		unsigned long p;

		if (colon + 1 >= end)
			return -EINVAL;
		errno = 0;
		p = strtoul(colon + 1, &e, 10);
		if (errno || e != end || !p || p > 65535)
			return -EINVAL;
		o->port = p;
	}
	return 0;
}

int tw_bk_template_parse(const char *s, struct tw_bk_cred *c)
{
	const char *colon = strchr(s, ':'), *v, *ph;
	size_t n;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(c->header))
		return -EINVAL;
	for (const char *p = s; p < colon; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return -EINVAL;
	memcpy(c->header, s, colon - s);
	c->header[colon - s] = 0;
	v = colon + 1;
	while (*v == ' ')
		v++;
	ph = strstr(v, "{}");
	if (!ph || strstr(ph + 2, "{}"))
		return -EINVAL;
	n = ph - v;
	if (n >= sizeof(c->prefix) || strlen(ph + 2) >= sizeof(c->suffix))
		return -EINVAL;
	memcpy(c->prefix, v, n);
	c->prefix[n] = 0;
	strcpy(c->suffix, ph + 2);
	for (const char *p = s; *p; p++)
		if (*p == '\r' || *p == '\n')
			return -EINVAL;
	return 0;
}


static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Is the query parameter at P named NAME (any case), its name read as a
 * server decodes it (%XX, '+'), up to '=' (or %3D), '&', ';' or the end? */
static bool param_is(const char *p, const char *name)
{
	size_t i = 0;

	for (; *p && *p != '=' && *p != '&' && *p != ';' && *p != ' '; p++) {
		int c = (unsigned char)*p;

		if (c == '%' && unhex(p[1]) >= 0 && unhex(p[2]) >= 0) {
			c = unhex(p[1]) << 4 | unhex(p[2]);
			p += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == '=')
			break;
		if (!name[i] || tolower(c) != tolower((unsigned char)name[i]))
			return false;
		i++;
	}
	return !name[i];
}

/* Header field names equal as CGI and WSGI servers see them: any case,
 * '_' for '-' (both become HTTP_X_HTTP_METHOD_OVERRIDE there). */
static bool same_field(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '_' ? '-' : (char)tolower((unsigned char)*a);
		char y = *b == '_' ? '-' : (char)tolower((unsigned char)*b);

		if (x != y)
			return false;
	}
	return !*a && !*b;
}

/*
 * Does R ask, besides its method, to be taken for another one? The headers
 * frameworks and API gateways honour (X-HTTP-Method-Override and its two
 * variants, any case, '_' for '-') or a `_method` parameter in the query
 * (Rails, Laravel, Symfony). WHY names it. A read-scoped credential goes
 * with no such request: the service would act on the method asked for.
 */
static bool asks_other_method(const struct tw_bk_request *r, char *why,
			      size_t len)
{
	static const char *const names[] = { "X-HTTP-Method-Override",
					     "X-HTTP-Method",
					     "X-Method-Override" };
	const char *q = r->target ? strchr(r->target, '?') : NULL;

	for (size_t i = 0; i < r->nh; i++)
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (same_field(r->h[i].name, names[k])) {
				snprintf(why, len, "header %s", names[k]);
				return true;
			}
	for (; q; q = strpbrk(q + 1, "&;"))
		if (param_is(q + 1, "_method")) {
			snprintf(why, len, "query parameter _method");
			return true;
		}
	return false;
}

bool tw_bk_scope_allows(enum tw_bk_scope scope,
			const struct tw_bk_request *r, char *why, size_t len)
{
	char how[64];

	if (scope == TW_BK_WRITE)
		return true;
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD") &&
	    strcmp(r->method, "OPTIONS")) {
		snprintf(why, len, "%s is not allowed (read allows GET, HEAD, "
				   "OPTIONS)", r->method);
		return false;
	}
	if (asks_other_method(r, how, sizeof(how))) {
		snprintf(why, len, "the %s request asks for another method "
				   "(%s)", r->method, how);
		return false;
	}
	return true;
}

static bool is_hexlower(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

long tw_bk_find_placeholder(const char *s, size_t n)
{
	for (size_t i = 0; i + TW_PH_LEN <= n; i++) {
		size_t j;

		if (memcmp(s + i, TW_PH_PREFIX, 5))
			continue;
		for (j = 5; j < TW_PH_LEN && is_hexlower(s[i + j]); j++)
			;
		if (j == TW_PH_LEN)
			return (long)i;
	}
	return -1;
}

void tw_bk_mask_placeholders(char *s)
{
	static const char mark[] = TW_PH_MASK;
	long off;

	_Static_assert(sizeof(mark) - 1 <= TW_PH_LEN, "the mark fits");
	while ((off = tw_bk_find_placeholder(s, strlen(s))) >= 0) {
		char *rest = s + off + TW_PH_LEN;

		memcpy(s + off, mark, sizeof(mark) - 1);
		memmove(s + off + sizeof(mark) - 1, rest, strlen(rest) + 1);
	}
}

void tw_bk_path_only(const char *url, char *out, size_t len)
{
	size_t n = strcspn(url, "?#");

	if (n >= len)
		n = len - 1;
	memcpy(out, url, n);
	out[n] = 0;
	tw_bk_mask_placeholders(out);
}

static const struct tw_bk_placeholder *
find_ph(const struct tw_bk_table *t, const char *tok)
{
	for (size_t i = 0; i < t->nph; i++)
		if (!memcmp(t->ph[i].token, tok, TW_PH_LEN))
			return &t->ph[i];
	return NULL;
}

static bool serves(const struct tw_bk_cred *c, const struct tw_bk_origin *o)
{
	for (size_t i = 0; i < c->nservices; i++)
		if (c->services[i].tls == o->tls &&
		    c->services[i].port == o->port &&
		    !strcmp(c->services[i].host, o->host))
			return true;
	return false;
}

/* Split a Host header into host (lower case) and port. */
static int host_header(const char *v, bool tls, char *host, size_t hlen,
		       uint16_t *port)
{
	char buf[300];
	struct tw_bk_origin o;

	if (snprintf(buf, sizeof(buf), "%s://%s", tls ? "https" : "http",
		     v) >= (int)sizeof(buf))
		return -EINVAL;
	if (tw_bk_origin_parse(buf, &o))
		return -EINVAL;
	snprintf(host, hlen, "%s", o.host);
	*port = o.port;
	return 0;
}

static bool is_ip(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

static int refuse(struct tw_bk_verdict *v, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(struct tw_bk_verdict *v, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
	v->status = status;
	return 0;
}

/* An absolute-form target (RFC 9112 3.2.2) names the origin a server
 * must use, whatever Host says: it must be the destination too. */
static int check_target(const struct tw_bk_request *r,
			struct tw_bk_verdict *v)
{
	const char *t = r->target, *a;
	struct tw_bk_origin o;
	char buf[300];
	size_t n;

	if (!t || *t == '/' || !strcmp(t, "*"))
		return 0;
	a = strstr(t, "://");
	if (!a)
		return refuse(v, 400, "malformed request target");
	a += 3;
	n = strcspn(a, "/?#");
	if (memchr(a, '@', n))
		return refuse(v, 403, "a request target with userinfo "
				      "(domain fronting)");
	if (snprintf(buf, sizeof(buf), "%.*s%.*s", (int)(a - t), t, (int)n,
		     a) >= (int)sizeof(buf) ||
	    tw_bk_origin_parse(buf, &o))
		return refuse(v, 400, "malformed request target");
	if (o.tls != r->origin.tls || strcmp(o.host, r->origin.host) ||
	    o.port != r->origin.port)
		return refuse(v, 403,
			      "request target %s does not match the "
			      "destination %s:%u (domain fronting)",
			      buf, r->origin.host, r->origin.port);
	return 0;
}

/* No domain fronting: the SNI, the Host header, an absolute-form target
 * and the destination the kernel redirected must name one origin. */
static int check_origin(const struct tw_bk_request *r,
			struct tw_bk_verdict *v)
{
	const char *hv = NULL;
	char host[256];
	uint16_t port;

	for (size_t i = 0; i < r->nh; i++) {
		if (strcasecmp(r->h[i].name, "Host"))
			continue;
		if (hv)
			return refuse(v, 400, "more than one Host header");
		hv = r->h[i].value;
	}
	if (!hv)
		return refuse(v, 400, "no Host header");
	if (check_target(r, v) || v->status)
		return 0;
	if (host_header(hv, r->origin.tls, host, sizeof(host), &port))
		return refuse(v, 400, "malformed Host header");
	if (strcmp(host, r->origin.host) || port != r->origin.port)
		return refuse(v, 403,
			      "Host %s does not match the destination %s:%u "
			      "(domain fronting)",
			      host, r->origin.host, r->origin.port);
	/* A name needs its SNI; an address has none (RFC 6066), and an SNI
	 * naming anything else is fronting too. */
	if (r->origin.tls && (r->sni && *r->sni ?
				      strcasecmp(r->sni, r->origin.host) :
				      !is_ip(r->origin.host)))
		return refuse(v, 403,
			      "TLS server name %s does not match the "
			      "destination %s (domain fronting)",
			      r->sni && *r->sni ? r->sni : "(none)",
			      r->origin.host);
	return 0;
}

/* Replace the token at OFF (TW_PH_LEN bytes) of S with VALUE. */
static char *splice(const char *s, size_t off, const unsigned char *value,
		    size_t vlen)
{
	size_t n = strlen(s), out = n - TW_PH_LEN + vlen;
	char *r = malloc(out + 1);

	if (!r)
		return NULL;
	memcpy(r, s, off);
	memcpy(r + off, value, vlen);
	memcpy(r + off + vlen, s + off + TW_PH_LEN, n - off - TW_PH_LEN);
	r[out] = 0;
	return r;
}

/*
 * Is the placeholder TOK usable here? Returns the credential, or NULL when
 * it stays a placeholder (unknown or ended call, another context, another
 * service). Refuses (v->status) when the scope does not allow the method.
 */
static const struct tw_bk_cred *usable(const struct tw_bk_table *t,
				       const struct tw_bk_request *r,
				       const char *tok,
				       struct tw_bk_verdict *v)
{
	const struct tw_bk_placeholder *ph = find_ph(t, tok);
	const struct tw_bk_cred *c;
	char why[160];

	if (!ph || ph->cred >= t->ncreds || !r->context ||
	    strcmp(ph->context, r->context))
		return NULL;
	c = &t->creds[ph->cred];
	if (!serves(c, &r->origin))
		return NULL;
	v->credential = c->name;
	v->call_id = ph->call_id;
	if (!tw_bk_scope_allows(c->scope, r, why, sizeof(why))) {
		refuse(v, 403, "credential %s has scope read: %s", c->name,
		       why);
		snprintf(v->hint, sizeof(v->hint),
			 "a credential with scope write for %s", r->origin.host);
		return NULL;
	}
	if (memchr(c->value, '\r', c->vlen) || memchr(c->value, '\n', c->vlen) ||
	    memchr(c->value, 0, c->vlen)) {
		refuse(v, 502, "credential %s holds a line break or NUL",
		       c->name);
		return NULL;
	}
	return c;
}

/* Swap every usable placeholder of one plain header value (SECOND: an
 * earlier header has its name, so it is no template's: a repeated field
 * is read as the first by one server and as the last by another). */
static int swap_plain(const struct tw_bk_table *t,
		      const struct tw_bk_request *r, struct tw_bk_header *h,
		      bool second, struct tw_bk_verdict *v)
{
	size_t from = 0;
	long off;

	while ((off = tw_bk_find_placeholder(h->value + from,
					     strlen(h->value + from))) >= 0) {
		size_t at = from + off;
		const struct tw_bk_cred *c = usable(t, r, h->value + at, v);
		char *n;

		if (v->status)
			return 0;
		if (!c || second || strcasecmp(c->header, h->name)) {
			from = at + TW_PH_LEN;
			continue;
		}
		n = splice(h->value, at, c->value, c->vlen);
		if (!n)
			return -ENOMEM;
		free(h->value);
		h->value = n;
		from = at + c->vlen;
		v->swapped++;
	}
	return 0;
}

/* "Authorization: Basic base64(user:twph_...)": the placeholder as the
 * password. */
static int swap_basic(const struct tw_bk_table *t,
		      const struct tw_bk_request *r, struct tw_bk_header *h,
		      struct tw_bk_verdict *v)
{
	const char *b64 = h->value + 6;
	size_t n = strlen(b64), dlen;
	unsigned char *dec;
	char *plain = NULL, *spliced, *out;
	const struct tw_bk_cred *c;
	int ret = 0, m;
	long off;

	while (n && b64[n - 1] == ' ')
		n--;
	if (!n || n % 4 || n > 8192)
		return 0;
	dec = malloc(n);
	if (!dec)
		return -ENOMEM;
	m = EVP_DecodeBlock(dec, (const unsigned char *)b64, n);
	if (m < 0)
		goto out;
	dlen = m;
	for (size_t i = n; i > 0 && b64[i - 1] == '='; i--)
		dlen--; /* EVP_DecodeBlock counts padding as zero bytes */
	plain = strndup((char *)dec, dlen);
	if (!plain || strlen(plain) != dlen) {
		ret = plain ? 0 : -ENOMEM;
		goto out;
	}
	off = tw_bk_find_placeholder(plain, dlen);
	if (off < 0 || !memchr(plain, ':', off))
		goto out;
	c = usable(t, r, plain + off, v);
	if (!c || v->status)
		goto out;
	spliced = splice(plain, off, c->value, c->vlen);
	if (!spliced) {
		ret = -ENOMEM;
		goto out;
	}
	dlen = strlen(spliced);
	out = malloc(6 + 4 * ((dlen + 2) / 3) + 1);
	if (!out) {
		free(spliced);
		ret = -ENOMEM;
		goto out;
	}
	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, (unsigned char *)spliced,
			dlen);
	OPENSSL_cleanse(spliced, dlen);
	free(spliced);
	free(h->value);
	h->value = out;
	v->swapped++;
out:
	if (plain) {
		OPENSSL_cleanse(plain, strlen(plain));
		free(plain);
	}
	free(dec);
	return ret;
}

int tw_bk_judge(const struct tw_bk_table *t, struct tw_bk_request *r,
		struct tw_bk_verdict *v)
{
	int ret;

	memset(v, 0, sizeof(*v));
	if (check_origin(r, v) || v->status)
		return 0;
	for (size_t i = 0; i < r->nh; i++) {
		struct tw_bk_header *h = &r->h[i];
		bool second = false;

		for (size_t j = 0; j < i && !second; j++)
			second = !strcasecmp(r->h[j].name, h->name);
		if (!second && !strcasecmp(h->name, "Authorization") &&
		    !strncasecmp(h->value, "Basic ", 6))
			ret = swap_basic(t, r, h, v);
		else
			ret = swap_plain(t, r, h, second, v);
		if (ret)
			return ret;
		if (v->status)
			return 0;
	}
	return 0;
}

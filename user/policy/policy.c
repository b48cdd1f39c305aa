/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * policy.c - JSON policy text -> the policy model (see policy.h).
 *
 * jansson parses the JSON; locate.c says where each value sits, so every
 * problem is reported at the offending key or value. Each object is checked
 * against a table of the keys its kind allows, and checking goes on after a
 * problem so that one run reports all of them. tw_policy_link() then does
 * the checks that need the whole policy.
 *
 * Pure: no files, no logging. Problems go to diagnostics, allocation
 * failures come back as -ENOMEM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locate.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Diagnostics                                                         */

static void diags_vadd(struct tw_diags *d, struct tw_loc loc, const char *fmt,
		       va_list ap)
{
	const char *file = loc.file ? loc.file : "(policy)";
	size_t flen = strlen(file), mlen;
	va_list aq;
	char *msg;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	mlen = (size_t)n;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct tw_diag *v;

		if (cap > SIZE_MAX / sizeof(*v))
			return;
		v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return; /* lost; the caller still returns an error */
		d->v = v;
		d->cap = cap;
	}
	/*
	 * One block holds the message and a copy of the file name, so a
	 * diagnostic stays valid after the policy that named the file is gone.
	 */
	msg = malloc(mlen + 1 + flen + 1);
	if (!msg)
		return;
	vsnprintf(msg, mlen + 1, fmt, ap);
	memcpy(msg + mlen + 1, file, flen + 1);
	loc.file = msg + mlen + 1;
	d->v[d->n].loc = loc;
	d->v[d->n].msg = msg;
	d->n++;
}

void tw_diags_add(struct tw_diags *d, struct tw_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diags_vadd(d, loc, fmt, ap);
	va_end(ap);
}

void tw_diags_free(struct tw_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
}

struct diag_ix {
	struct tw_diag d;
	size_t i;
};

static int diag_cmp(const void *pa, const void *pb)
{
	const struct diag_ix *a = pa, *b = pb;
	int r = strcmp(a->d.loc.file, b->d.loc.file);

	if (r)
		return r;
	if (a->d.loc.line != b->d.loc.line)
		return a->d.loc.line < b->d.loc.line ? -1 : 1;
	if (a->d.loc.col != b->d.loc.col)
		return a->d.loc.col < b->d.loc.col ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

void tw_diags_sort(struct tw_diags *d)
{
	struct diag_ix *v;
	size_t i;

	if (d->n < 2)
		return;
	/* qsort is not stable: the original index breaks ties. */
	v = calloc(d->n, sizeof(*v));
	if (!v)
		return;
	for (i = 0; i < d->n; i++)
		v[i] = (struct diag_ix){ d->v[i], i };
	qsort(v, d->n, sizeof(*v), diag_cmp);
	for (i = 0; i < d->n; i++)
		d->v[i] = v[i].d;
	free(v);
}

/* ------------------------------------------------------------------ */
/* Words                                                               */

#define QLEN 80

/*
 * Echo user text in a message: quoted, escaped and shortened, so that a
 * hostile value can neither break the one-line-per-problem output nor
 * flood it. Q() gives each use its own buffer for the enclosing block.
 */
static const char *quote(const char *s, char *out)
{
	size_t o = 0;

	out[o++] = '"';
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (o + 9 > QLEN) {
			/* don't leave half a UTF-8 sequence behind */
			while (o > 1 && (out[o - 1] & 0xc0) == 0x80)
				o--;
			if (o > 1 && (out[o - 1] & 0xc0) == 0xc0)
				o--;
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

#define Q(s) quote((s), (char[QLEN]){ 0 })

/* An object's own name in prose: bare when valid, quoted otherwise. */
#define NM(s) ((s) && tw_name_valid(s) ? (s) : Q((s) ? (s) : ""))

static bool is_lower_digit(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool tw_name_valid(const char *s)
{
	size_t n;

	if (!s || !is_lower_digit(*s))
		return false;
	for (n = 1; s[n]; n++) {
		if (n >= TW_NAME_MAX)
			return false;
		if (!is_lower_digit(s[n]) && !strchr("._-", s[n]))
			return false;
	}
	return true;
}

/* [A-Za-z_][A-Za-z0-9_]*: what a shell and execve's callers accept. */
static bool env_valid(const char *s)
{
	size_t i;

	if (!s || !(*s == '_' || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= 'a' && *s <= 'z')))
		return false;
	for (i = 1; s[i]; i++)
		if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') ||
		      is_lower_digit(s[i])))
			return false;
	return true;
}

/* [a-z_][a-z0-9_-]{0,31}: the portable subset useradd accepts. */
static bool user_valid(const char *s)
{
	size_t i;

	if (!s || !(*s == '_' || (*s >= 'a' && *s <= 'z')))
		return false;
	for (i = 1; s[i]; i++)
		if (i > 31 || !(is_lower_digit(s[i]) || s[i] == '_' ||
				s[i] == '-'))
			return false;
	return true;
}

/*
 * Absolute, "//" collapsed, no trailing "/" (but "/" itself), no "." or
 * ".." component. Policies name things by exact path; a path that could
 * be spelled two ways would silently match neither.
 */
static int path_norm(const char *in, char **out, const char **why)
{
	size_t len = strlen(in), o = 0;
	const char *p = in;
	char *buf;

	*out = NULL;
	if (in[0] != '/') {
		*why = "must be an absolute path";
		return -EINVAL;
	}
	if (len >= PATH_MAX) {
		*why = "is longer than PATH_MAX";
		return -EINVAL;
	}
	buf = malloc(len + 2);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (!n)
			break;
		if (p[0] == '.' && (n == 1 || (n == 2 && p[1] == '.'))) {
			free(buf);
			*why = "must not contain \".\" or \"..\" components";
			return -EINVAL;
		}
		buf[o++] = '/';
		memcpy(buf + o, p, n);
		o += n;
		p += n;
	}
	if (!o)
		buf[o++] = '/';
	buf[o] = '\0';
	*out = buf;
	return 0;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Ports                                                               */

static int port_num(const char **p, unsigned *v, char *err, size_t errlen)
{
	const char *s = *p;
	unsigned long x = 0;
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		if (x <= 65535)
			x = x * 10 + (unsigned long)(s[n] - '0');
		n++;
	}
	if (!n) {
		if (!*s || *s == ',')
			seterr(err, errlen, "empty port in port list");
		else
			seterr(err, errlen, "invalid port list (use 443, "
			       "8000-8999 or 443,8443)");
		return -EINVAL;
	}
	if (x > 65535) {
		seterr(err, errlen, "port %.*s is out of range (1-65535)",
		       n > 12 ? 12 : (int)n, s);
		return -EINVAL;
	}
	if (!x) {
		seterr(err, errlen, "port 0 is not a valid port (1-65535)");
		return -EINVAL;
	}
	*v = (unsigned)x;
	*p = s + n;
	return 0;
}

static int port_item(const char **p, struct tw_port_range *r, char *err,
		     size_t errlen)
{
	unsigned lo, hi;

	if (port_num(p, &lo, err, errlen))
		return -EINVAL;
	hi = lo;
	if (**p == '-') {
		(*p)++;
		if (port_num(p, &hi, err, errlen))
			return -EINVAL;
		if (lo > hi) {
			seterr(err, errlen, "port range %u-%u is reversed "
			       "(write low-high)", lo, hi);
			return -EINVAL;
		}
	}
	if (**p && **p != ',') {
		seterr(err, errlen, "invalid port list (use 443, 8000-8999 "
		       "or 443,8443)");
		return -EINVAL;
	}
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return 0;
}

static int range_cmp(const void *pa, const void *pb)
{
	const struct tw_port_range *a = pa, *b = pb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return (a->hi > b->hi) - (a->hi < b->hi);
}

/* Sort and merge overlapping or adjacent ranges; returns the new count. */
static size_t ranges_merge(struct tw_port_range *r, size_t n)
{
	size_t i, m = 0;

	qsort(r, n, sizeof(*r), range_cmp);
	for (i = 0; i < n; i++) {
		if (m && r[i].lo <= (unsigned)r[m - 1].hi + 1) {
			if (r[i].hi > r[m - 1].hi)
				r[m - 1].hi = r[i].hi;
		} else {
			r[m++] = r[i];
		}
	}
	return m;
}

int tw_ports_parse(const char *s, struct tw_port_range **out, size_t *n,
		   char *err, size_t errlen)
{
	struct tw_port_range *r;
	size_t cap = 1, cnt = 0;
	const char *p;

	*out = NULL;
	*n = 0;
	if (!s || !*s) {
		seterr(err, errlen, "empty port list");
		return -EINVAL;
	}
	for (p = s; *p; p++)
		cap += *p == ',';
	r = calloc(cap, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (p = s;; p++) {
		if (port_item(&p, &r[cnt++], err, errlen)) {
			free(r);
			return -EINVAL;
		}
		if (!*p)
			break;
	}
	*n = ranges_merge(r, cnt);
	*out = r;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Connect entries                                                     */

static int cidr_prefix(const char *s, int max, int *out)
{
	int v = 0;
	size_t n;

	for (n = 0; s[n] >= '0' && s[n] <= '9'; n++) {
		if (n == 3)
			return -EINVAL;
		v = v * 10 + (s[n] - '0');
	}
	if (!n || s[n] || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int host_bits(const struct tw_endpoint *ep, const char *as_written,
		     char *err, size_t errlen)
{
	int af = ep->family == 4 ? AF_INET : AF_INET6;
	int bytes = ep->family == 4 ? 4 : 16, i;
	char canon[INET6_ADDRSTRLEN];
	uint8_t net[16];
	bool set = false;

	for (i = 0; i < bytes; i++) {
		int keep = ep->prefixlen - i * 8;
		uint8_t mask = keep >= 8 ? 0xff :
			       keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));

		net[i] = ep->addr[i] & mask;
		set |= net[i] != ep->addr[i];
	}
	if (!set)
		return 0;
	if (!inet_ntop(af, net, canon, sizeof(canon)))
		canon[0] = '\0';
	seterr(err, errlen, "host bits set in %s/%d, did you mean %s/%d?",
	       as_written, ep->prefixlen, canon, ep->prefixlen);
	return -EINVAL;
}

static int parse_cidr(int family, const char *h, size_t n,
		      struct tw_endpoint *ep, char *err, size_t errlen)
{
	int af = family == 4 ? AF_INET : AF_INET6;
	int max = family == 4 ? 32 : 128;
	char buf[INET6_ADDRSTRLEN + 8], *slash;

	if (n >= sizeof(buf))
		goto bad_addr;
	memcpy(buf, h, n);
	buf[n] = '\0';
	ep->kind = TW_HOST_CIDR;
	ep->family = family;
	ep->prefixlen = max;
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		if (cidr_prefix(slash + 1, max, &ep->prefixlen)) {
			seterr(err, errlen, "invalid prefix length (0-%d)",
			       max);
			return -EINVAL;
		}
	}
	if (inet_pton(af, buf, ep->addr) != 1)
		goto bad_addr;
	return host_bits(ep, buf, err, errlen);
bad_addr:
	seterr(err, errlen, "invalid IPv%d address", family);
	return -EINVAL;
}

/* Lower-case copy of a DNS name, checked label by label (RFC 1035). */
static int dns_name(const char *h, size_t n, char **out, char *err,
		    size_t errlen)
{
	size_t i, label = 0;
	char *buf;

	if (n && h[n - 1] == '.') /* a trailing dot names the same host */
		n--;
	if (!n) {
		seterr(err, errlen, "empty DNS name");
		return -EINVAL;
	}
	if (n > 253) {
		seterr(err, errlen, "DNS name is longer than 253 bytes");
		return -EINVAL;
	}
	buf = malloc(n + 1);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i <= n; i++) {
		char c = i < n ? h[i] : '.';

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		buf[i] = c;
		if (c == '.') {
			if (!label)
				goto empty;
			if (buf[i - 1] == '-')
				goto dash;
			label = 0;
		} else if (is_lower_digit(c) || c == '-') {
			if (!label && c == '-')
				goto dash;
			if (++label > 63)
				goto long_label;
		} else {
			goto bad_char;
		}
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
empty:
	seterr(err, errlen, "empty label in DNS name");
	goto fail;
dash:
	seterr(err, errlen, "DNS labels must not start or end with '-'");
	goto fail;
long_label:
	seterr(err, errlen, "DNS label longer than 63 bytes");
	goto fail;
bad_char:
	if (h[i] == '*')
		seterr(err, errlen, "'*' is only allowed as a leading \"*.\" "
		       "label (*.example.com)");
	else
		seterr(err, errlen, "invalid character in DNS name (use "
		       "a-z, 0-9, '-' and '.')");
fail:
	free(buf);
	return -EINVAL;
}

static int parse_host(const char *h, size_t n, struct tw_endpoint *ep,
		      char *err, size_t errlen)
{
	if (h[0] == '*') {
		if (n == 1 || (n == 2 && h[1] == '.')) {
			seterr(err, errlen, "a bare wildcard matches every "
			       "name; write *.example.com");
			return -EINVAL;
		}
		if (h[1] != '.') {
			seterr(err, errlen, "'*' is only allowed as a leading "
			       "\"*.\" label (*.example.com)");
			return -EINVAL;
		}
		ep->kind = TW_HOST_WILDCARD;
		return dns_name(h + 2, n - 2, &ep->name, err, errlen);
	}
	/* An all-numeric name is no DNS name (RFC 3696): it is IPv4. */
	if (strspn(h, "0123456789./") >= n)
		return parse_cidr(4, h, n, ep, err, errlen);
	ep->kind = TW_HOST_NAME;
	return dns_name(h, n, &ep->name, err, errlen);
}

static int parse_unix(const char *path, struct tw_endpoint *ep, char *err,
		      size_t errlen)
{
	const char *why;
	int ret;

	ep->proto = TW_PROTO_UNIX;
	ep->kind = TW_HOST_UNIX;
	ret = path_norm(path, &ep->name, &why);
	if (ret == -EINVAL)
		seterr(err, errlen, "unix socket path %s", why);
	if (ret)
		return ret;
	if (strlen(ep->name) > TW_UNIX_PATH_MAX) {
		seterr(err, errlen, "unix socket path is longer than %d bytes",
		       TW_UNIX_PATH_MAX);
		return -EINVAL;
	}
	return 0;
}

static const char *strip_proto(const char *s, struct tw_endpoint *ep)
{
	ep->proto = TW_PROTO_TCP;
	if (!strncmp(s, "tcp://", 6))
		return s + 6;
	if (!strncmp(s, "udp://", 6)) {
		ep->proto = TW_PROTO_UDP;
		return s + 6;
	}
	return strstr(s, "://") ? NULL : s;
}

static int parse_inet(const char *s, struct tw_endpoint *ep, char *err,
		      size_t errlen)
{
	const char *host, *rest;
	size_t n;
	int ret;

	s = strip_proto(s, ep);
	if (!s) {
		seterr(err, errlen, "unknown protocol (use tcp://, udp:// or "
		       "unix:PATH)");
		return -EINVAL;
	}
	if (*s == '[') {
		host = s + 1;
		rest = strchr(host, ']');
		if (!rest) {
			seterr(err, errlen, "missing ']' after IPv6 address");
			return -EINVAL;
		}
		n = (size_t)(rest - host);
		rest++;
		if (*rest && *rest != ':') {
			seterr(err, errlen, "expected ':PORTS' after ']'");
			return -EINVAL;
		}
		ret = n ? parse_cidr(6, host, n, ep, err, errlen) : -EINVAL;
	} else {
		host = s;
		n = strcspn(s, ":");
		rest = s + n;
		if (*rest && strchr(rest + 1, ':')) {
			seterr(err, errlen, "IPv6 addresses go in brackets: "
			       "[2001:db8::1]:443");
			return -EINVAL;
		}
		ret = n ? parse_host(host, n, ep, err, errlen) : -EINVAL;
	}
	if (!n)
		seterr(err, errlen, "missing host");
	if (ret)
		return ret;
	if (*rest == ':')
		return tw_ports_parse(rest + 1, &ep->ports, &ep->nports, err,
				      errlen);
	ep->ports = calloc(1, sizeof(*ep->ports));
	if (!ep->ports)
		return -ENOMEM;
	ep->ports[0] = (struct tw_port_range){ 0, 65535 };
	ep->nports = 1;
	return 0;
}

int tw_endpoint_parse(const char *text, struct tw_endpoint *ep, char *err,
		      size_t errlen)
{
	int ret;

	memset(ep, 0, sizeof(*ep));
	if (!text) {
		seterr(err, errlen, "missing connect entry");
		return -EINVAL;
	}
	ep->text = strdup(text);
	if (!ep->text)
		return -ENOMEM;
	if (!strncmp(text, "unix:", 5))
		ret = parse_unix(text + 5, ep, err, errlen);
	else
		ret = parse_inet(text, ep, err, errlen);
	if (ret)
		tw_endpoint_free(ep);
	return ret;
}

void tw_endpoint_free(struct tw_endpoint *ep)
{
	if (!ep)
		return;
	free(ep->text);
	free(ep->name);
	free(ep->ports);
	ep->text = ep->name = NULL;
	ep->ports = NULL;
	ep->nports = 0;
}

int tw_listen_parse(const char *text, struct tw_endpoint *ep, char *err,
		    size_t errlen)
{
	const char *h, *colon;
	int ret;

	memset(ep, 0, sizeof(*ep));
	if (!text) {
		seterr(err, errlen, "missing listen entry");
		return -EINVAL;
	}
	if (!strncmp(text, "unix:", 5)) {
		seterr(err, errlen, "listen entries are inet addresses "
		       "([tcp://|udp://]ADDR:PORTS), not unix sockets");
		return -EINVAL;
	}
	ret = tw_endpoint_parse(text, ep, err, errlen);
	if (ret)
		return ret;
	if (ep->kind != TW_HOST_CIDR) {
		seterr(err, errlen, "listen entries take an IP address or "
		       "CIDR (0.0.0.0 or [::] for every address), not a name");
		tw_endpoint_free(ep);
		return -EINVAL;
	}
	h = strstr(text, "://");
	h = h ? h + 3 : text;
	colon = *h == '[' ? strchr(h, ']') : h;
	colon = colon ? strchr(colon, ':') : NULL;
	if (!colon) {
		seterr(err, errlen, "listen entries need ports: ADDR:PORTS "
		       "(127.0.0.1:8080, [::]:8000-8099)");
		tw_endpoint_free(ep);
		return -EINVAL;
	}
	if (ep->ports[0].lo == 0) {
		seterr(err, errlen, "port 0 is no port to listen on (a "
		       "port-0 bind, an ephemeral port, is always allowed)");
		tw_endpoint_free(ep);
		return -EINVAL;
	}
	return 0;
}

/* "IPv4:PORT" or "[IPv6]:PORT", as the resolver forwards to. */
static bool upstream_valid(const char *s)
{
	char buf[INET6_ADDRSTRLEN];
	const char *port, *end;
	uint8_t addr[16];
	unsigned v = 0;
	size_t n;
	int af = AF_INET;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || end[1] != ':')
			return false;
		s++;
		port = end + 2;
		af = AF_INET6;
	} else {
		end = strchr(s, ':');
		if (!end || strchr(end + 1, ':'))
			return false;
		port = end + 1;
	}
	n = (size_t)(end - s);
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(af, buf, addr) != 1)
		return false;
	for (n = 0; port[n] >= '0' && port[n] <= '9' && n < 6; n++)
		v = v * 10 + (unsigned)(port[n] - '0');
	return n && !port[n] && v >= 1 && v <= 65535;
}

/* ------------------------------------------------------------------ */
/* Parsing: context and value helpers                                  */

struct pctx {
	struct tw_policy *pol;
	struct tw_diags *diags;
	const char *file;   /* interned */
	struct tw_loc here; /* start of the current top-level value */
	int ndiags;	    /* added by this call */
	int err;	    /* -ENOMEM once an allocation failed */
};

static void diag(struct pctx *c, struct tw_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void diag(struct pctx *c, struct tw_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diags_vadd(c->diags, loc, fmt, ap);
	va_end(ap);
	c->ndiags++;
}

/* Where node N's value starts; the top-level value when unknown. */
static struct tw_loc at(const struct pctx *c, const struct tw_lnode *n)
{
	struct tw_loc l = c->here;

	if (n && n->line > 0) {
		l.line = n->line;
		l.col = n->col;
	}
	return l;
}

static struct tw_loc at_key(const struct pctx *c, const struct tw_lnode *n)
{
	struct tw_loc l = at(c, n);

	if (n && n->key_line > 0) {
		l.line = n->key_line;
		l.col = n->key_col;
	}
	return l;
}

static char *xstrdup(struct pctx *c, const char *s)
{
	char *p = strdup(s);

	if (!p)
		c->err = -ENOMEM;
	return p;
}

static void *xcalloc(struct pctx *c, size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p)
		c->err = -ENOMEM;
	return p;
}

/*
 * The model keeps no capacities, so arrays are sized to the next power of
 * two and grow when their length reaches one: appends stay amortised O(1).
 * Returns the (maybe moved) array, or NULL with ARR untouched.
 */
static void *grow(void *arr, size_t n, size_t sz)
{
	size_t cap;

	if (n & (n - 1))
		return arr;
	cap = n ? n * 2 : 1;
	if (cap > SIZE_MAX / sz)
		return NULL;
	return realloc(arr, cap * sz);
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		break;
	}
	return "null";
}

/* ------------------------------------------------------------------ */
/* Parsing: what each kind of object may hold                         */

enum ftype {
	F_NAME,	     /* a name, [a-z0-9][a-z0-9._-]{0,62} */
	F_STRING,    /* any string */
	F_PATH,	     /* an absolute path, normalised */
	F_USER,	     /* a Unix user name */
	F_ENV,	     /* an environment variable name */
	F_WSREF,     /* a workspace's name; its loc goes to .aux */
	F_BOOL,	     /* true/false: the enum tw_background member at .off */
	F_MODE,	     /* enums: the int member at .off */
	F_SCOPE,
	F_OWNER,
	F_ACCESS,
	F_REFS,	     /* bundle names: tw_ref array, count at .aux */
	F_PATHS,     /* absolute paths: char * array, count at .aux */
	F_UPSTREAMS, /* DNS resolvers: char * array, count at .aux */
	F_OBJECT,    /* a nested object whose keys fill the same struct */
	F_CONNECT,   /* bundle lists, stored in struct tw_bundle */
	F_LISTEN,
	F_CREDS,
	F_REPOS,
	F_SKILLS,
	F_PIDS,	     /* limits: a process count, uint64_t at .off */
	F_SIZE,	     /* limits: bytes ("512M" or a number), uint64_t */
};

#define NOWHERE SIZE_MAX /* checked, then dropped (descriptions) */

struct schema;

struct field {
	const char *key;
	enum ftype type;
	size_t off; /* member that receives the value, or NOWHERE */
	size_t aux; /* count member of lists; loc member of F_WSREF */
	const struct schema *sub;
};

struct schema {
	const char *what; /* "bundle", "credential"... for messages */
	const struct field *fields;
	size_t n;
};

#define FIELD(st, key, type, m) { key, type, offsetof(st, m), 0, NULL }
#define LIST(st, key, type, m, cnt) \
	{ key, type, offsetof(st, m), offsetof(st, cnt), NULL }
#define TEXT(key) { key, F_STRING, NOWHERE, 0, NULL }
#define SCHEMA(what, f) { what, f, ARRAY_SIZE(f) }

_Static_assert(sizeof(enum tw_mode) == sizeof(int) &&
		       sizeof(enum tw_scope) == sizeof(int) &&
		       sizeof(enum tw_owner) == sizeof(int) &&
		       sizeof(enum tw_access) == sizeof(int),
	       "enum members are written through int *");

static const struct field agent_fields[] = {
	FIELD(struct tw_workspace, "name", F_NAME, agent_name),
	FIELD(struct tw_workspace, "user", F_USER, agent_user),
};
static const struct schema agent_schema = SCHEMA("agent", agent_fields);

static const struct field dns_fields[] = {
	LIST(struct tw_workspace, "upstream", F_UPSTREAMS, dns_upstream,
	     ndns_upstream),
};
static const struct schema dns_schema = SCHEMA("dns", dns_fields);

/* One "limits" schema per object kind: the fields land in its struct. */
#define LIMITS_SCHEMA(name, st)                                         \
	static const struct field name##_fields[] = {                   \
		FIELD(st, "pids", F_PIDS, limits.pids),                 \
		FIELD(st, "memory", F_SIZE, limits.memory),             \
	};                                                              \
	static const struct schema name##_schema =                      \
		SCHEMA("limits", name##_fields)

LIMITS_SCHEMA(ws_limits, struct tw_workspace);
LIMITS_SCHEMA(ch_limits, struct tw_channel);
LIMITS_SCHEMA(dm_limits, struct tw_dm);

static const struct field workspace_fields[] = {
	FIELD(struct tw_workspace, "workspace", F_NAME, name),
	TEXT("description"),
	{ "agent", F_OBJECT, 0, 0, &agent_schema },
	LIST(struct tw_workspace, "baseline", F_REFS, baseline, nbaseline),
	FIELD(struct tw_workspace, "mode", F_MODE, mode),
	{ "dns", F_OBJECT, 0, 0, &dns_schema },
	LIST(struct tw_workspace, "system_paths", F_PATHS, system_paths,
	     nsystem_paths),
	FIELD(struct tw_workspace, "credentials_dir", F_PATH,
	      credentials_dir),
	FIELD(struct tw_workspace, "background", F_BOOL, background),
	{ "limits", F_OBJECT, 0, 0, &ws_limits_schema },
};
static const struct schema workspace_schema =
	SCHEMA("workspace", workspace_fields);

static const struct field credential_fields[] = {
	FIELD(struct tw_credential, "name", F_NAME, name),
	FIELD(struct tw_credential, "scope", F_SCOPE, scope),
	FIELD(struct tw_credential, "owner", F_OWNER, owner),
	FIELD(struct tw_credential, "env", F_ENV, env),
	FIELD(struct tw_credential, "file", F_PATH, file),
};
static const struct schema credential_schema =
	SCHEMA("credential", credential_fields);

static const struct field repository_fields[] = {
	FIELD(struct tw_repository, "path", F_PATH, path),
	FIELD(struct tw_repository, "access", F_ACCESS, access),
};
static const struct schema repository_schema =
	SCHEMA("repository", repository_fields);

static const struct field bundle_fields[] = {
	FIELD(struct tw_bundle, "bundle", F_NAME, name),
	FIELD(struct tw_bundle, "description", F_STRING, description),
	{ "connect", F_CONNECT, 0, 0, NULL },
	{ "listen", F_LISTEN, 0, 0, NULL },
	{ "credentials", F_CREDS, 0, 0, NULL },
	{ "repositories", F_REPOS, 0, 0, NULL },
	{ "skills", F_SKILLS, 0, 0, NULL },
	FIELD(struct tw_bundle, "instructions", F_STRING, instructions),
};
static const struct schema bundle_schema = SCHEMA("bundle", bundle_fields);

static const struct field channel_fields[] = {
	FIELD(struct tw_channel, "channel", F_NAME, name),
	TEXT("description"),
	LIST(struct tw_channel, "workspace", F_WSREF, workspace_name,
	     workspace_loc),
	LIST(struct tw_channel, "step_up", F_REFS, step_up, nstep_up),
	FIELD(struct tw_channel, "mode", F_MODE, mode),
	FIELD(struct tw_channel, "background", F_BOOL, background),
	{ "limits", F_OBJECT, 0, 0, &ch_limits_schema },
};
static const struct schema channel_schema = SCHEMA("channel", channel_fields);

static const struct field dm_fields[] = {
	FIELD(struct tw_dm, "dm", F_NAME, name),
	TEXT("description"),
	LIST(struct tw_dm, "workspace", F_WSREF, workspace_name,
	     workspace_loc),
	LIST(struct tw_dm, "personal", F_REFS, personal, npersonal),
	FIELD(struct tw_dm, "credentials_dir", F_PATH, credentials_dir),
	FIELD(struct tw_dm, "run_as", F_USER, run_as),
	FIELD(struct tw_dm, "mode", F_MODE, mode),
	FIELD(struct tw_dm, "background", F_BOOL, background),
	{ "limits", F_OBJECT, 0, 0, &dm_limits_schema },
};
static const struct schema dm_schema = SCHEMA("dm", dm_fields);

struct choice {
	const char *word;
	int val;
};

static const struct choice modes[] = { { "enforce", TW_MODE_ENFORCE },
				       { "audit", TW_MODE_AUDIT } };
static const struct choice scopes[] = { { "read", TW_SCOPE_READ },
					{ "write", TW_SCOPE_WRITE } };
static const struct choice owners[] = { { "agent", TW_OWNER_AGENT },
					{ "person", TW_OWNER_PERSON } };
static const struct choice accesses[] = { { "read", TW_ACCESS_READ },
					  { "write", TW_ACCESS_WRITE } };

static const struct choice *choices(enum ftype t)
{
	switch (t) {
	case F_MODE:
		return modes;
	case F_SCOPE:
		return scopes;
	case F_OWNER:
		return owners;
	default:
		return accesses;
	}
}

/* ------------------------------------------------------------------ */
/* Parsing: values                                                     */

static void walk(struct pctx *c, const struct schema *s, void *obj,
		 json_t *o, const struct tw_lnode *n);

static const char *want_string(struct pctx *c, const char *key, json_t *v,
			       const struct tw_lnode *n)
{
	if (json_is_string(v))
		return json_string_value(v);
	diag(c, at(c, n), "\"%s\" must be a string, not %s", key,
	     type_name(v));
	return NULL;
}

static bool want_array(struct pctx *c, const char *key, const char *of,
		       json_t *v, const struct tw_lnode *n)
{
	if (json_is_array(v))
		return true;
	diag(c, at(c, n), "\"%s\" must be an array of %s, not %s", key, of,
	     type_name(v));
	return false;
}

/* Check one string value; returns the copy to store, or NULL. */
static char *string_value(struct pctx *c, const struct schema *s,
			  const struct field *f, const char *v,
			  struct tw_loc loc)
{
	const char *label = strcmp(f->key, "name") ? f->key : s->what;
	const char *why;
	char *out;

	switch (f->type) {
	case F_NAME:
		/* kept even when invalid, so references to it still resolve */
		if (!tw_name_valid(v))
			diag(c, loc, "invalid %s name %s (names match "
			     "[a-z0-9][a-z0-9._-]{0,62})", label, Q(v));
		break;
	case F_USER:
		if (!user_valid(v)) {
			diag(c, loc, "\"%s\" is not a valid Unix user name: %s "
			     "(use [a-z_][a-z0-9_-]{0,31})", f->key, Q(v));
			return NULL;
		}
		break;
	case F_ENV:
		if (!env_valid(v)) {
			diag(c, loc, "\"%s\" is not a valid environment "
			     "variable name: %s (use [A-Za-z_][A-Za-z0-9_]*)",
			     f->key, Q(v));
			return NULL;
		}
		break;
	case F_PATH:
		if (path_norm(v, &out, &why) == -EINVAL)
			diag(c, loc, "\"%s\" %s: %s", f->key, why, Q(v));
		else if (!out)
			c->err = -ENOMEM;
		return out;
	default:
		break;
	}
	return xstrdup(c, v);
}

static void take_string(struct pctx *c, const struct schema *s,
			const struct field *f, char *obj, json_t *v,
			const struct tw_lnode *n)
{
	const char *str = want_string(c, f->key, v, n);
	char *val;

	if (!str)
		return;
	val = string_value(c, s, f, str, at(c, n));
	if (f->off == NOWHERE) {
		free(val);
		return;
	}
	*(char **)(obj + f->off) = val;
	if (f->type == F_WSREF)
		*(struct tw_loc *)(obj + f->aux) = at(c, n);
}

static void take_choice(struct pctx *c, const struct field *f, char *obj,
			json_t *v, const struct tw_lnode *n)
{
	const struct choice *ch = choices(f->type);
	const char *str = want_string(c, f->key, v, n);
	int i;

	if (!str)
		return;
	for (i = 0; i < 2; i++) {
		if (!strcmp(str, ch[i].word)) {
			*(int *)(obj + f->off) = ch[i].val;
			return;
		}
	}
	diag(c, at(c, n), "\"%s\" must be \"%s\" or \"%s\", not %s", f->key,
	     ch[0].word, ch[1].word, Q(str));
}

static void take_bool(struct pctx *c, const struct field *f, char *obj,
		      json_t *v, const struct tw_lnode *n)
{
	if (!json_is_boolean(v)) {
		diag(c, at(c, n), "\"%s\" must be true or false, not %s",
		     f->key, type_name(v));
		return;
	}
	*(enum tw_background *)(obj + f->off) =
		json_is_true(v) ? TW_BG_ON : TW_BG_OFF;
}

/* "pids": a whole number of processes, 1..TW_LIMIT_PIDS_MAX. */
static void take_pids(struct pctx *c, const struct field *f, char *obj,
		      json_t *v, const struct tw_lnode *n)
{
	json_int_t x;

	if (!json_is_integer(v)) {
		diag(c, at(c, n), "\"%s\" must be a whole number of processes, "
		     "not %s", f->key,
		     json_is_real(v) ? "a fraction" : type_name(v));
		return;
	}
	x = json_integer_value(v);
	if (x < 1 || x > TW_LIMIT_PIDS_MAX) {
		diag(c, at(c, n), "\"%s\" must be 1 to %d, not %lld", f->key,
		     TW_LIMIT_PIDS_MAX, (long long)x);
		return;
	}
	*(uint64_t *)(obj + f->off) = (uint64_t)x;
}

/* Parse "512M", "2G", "1048576": digits and an optional K, M, G, T or P
 * (powers of 1024, either case, an optional trailing "B" or "iB").
 * Returns 0 and the bytes, or -EINVAL (format) / -ERANGE (overflow). */
int tw_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTP";
	uint64_t v = 0;
	const char *p = s, *u;
	int shift = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p && (u = strchr(units, *p & ~0x20))) {
		shift = 10 * (int)(u - units + 1);
		p++;
		if (*p == 'i' && p[1] == 'B')
			p += 2;
		else if (*p == 'B' || *p == 'b')
			p++;
	} else if (*p == 'B') {
		p++;
	}
	if (*p)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

void tw_size_str(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	int i = -1;

	while (i < 4 && v && !(v & 1023)) {
		v >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)v, units[i]);
}

/* "memory": bytes, as "512M" or a whole number, 16M..1P. */
static void take_size(struct pctx *c, const struct field *f, char *obj,
		      json_t *v, const struct tw_lnode *n)
{
	uint64_t x = 0;
	int err = 0;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			err = -ERANGE;
		else
			x = (uint64_t)json_integer_value(v);
	} else if (json_is_string(v)) {
		err = tw_parse_size(json_string_value(v), &x);
	} else {
		diag(c, at(c, n), "\"%s\" must be a size such as \"512M\" or "
		     "\"2G\", not %s", f->key, type_name(v));
		return;
	}
	if (err == -EINVAL) {
		diag(c, at(c, n), "\"%s\": %s is not a size; write digits and "
		     "an optional K, M, G, T or P, e.g. \"512M\"", f->key,
		     Q(json_string_value(v)));
		return;
	}
	if (err || x < TW_LIMIT_MEMORY_MIN || x > TW_LIMIT_MEMORY_MAX) {
		char num[32];

		snprintf(num, sizeof(num), "%lld",
			 (long long)json_integer_value(v));
		diag(c, at(c, n), "\"%s\" must be 16M to 1P (a call needs "
		     "memory to start at all), not %s", f->key,
		     json_is_string(v) ? Q(json_string_value(v)) : num);
		return;
	}
	*(uint64_t *)(obj + f->off) = x;
}

static void take_refs(struct pctx *c, const struct field *f, char *obj,
		      json_t *v, const struct tw_lnode *n)
{
	struct tw_ref *refs;
	size_t i, cnt = 0;
	json_t *e;

	if (!want_array(c, f->key, "bundle names", v, n))
		return;
	refs = xcalloc(c, json_array_size(v), sizeof(*refs));
	if (!refs)
		return;
	json_array_foreach(v, i, e) {
		const struct tw_lnode *en = tw_lnode_elem(n, i);

		if (!json_is_string(e)) {
			diag(c, at(c, en), "entries of \"%s\" must be bundle "
			     "names (strings), not %s", f->key, type_name(e));
			continue;
		}
		refs[cnt].name = xstrdup(c, json_string_value(e));
		if (!refs[cnt].name)
			continue;
		refs[cnt].loc = at(c, en);
		refs[cnt++].bundle = -1;
	}
	*(struct tw_ref **)(obj + f->off) = refs;
	*(size_t *)(obj + f->aux) = cnt;
}

/* A list of strings each checked by F's element type (paths, upstreams). */
static size_t take_strings(struct pctx *c, const struct field *f,
			   json_t *v, const struct tw_lnode *n, char ***out,
			   struct tw_loc **locs)
{
	const char *of = f->type == F_UPSTREAMS ? "\"ADDR:PORT\" strings" :
						  "absolute paths";
	size_t i, cnt = 0;
	json_t *e;

	*out = NULL;
	if (locs)
		*locs = NULL;
	if (!want_array(c, f->key, of, v, n))
		return 0;
	*out = xcalloc(c, json_array_size(v), sizeof(**out));
	if (locs)
		*locs = xcalloc(c, json_array_size(v), sizeof(**locs));
	if (!*out || (locs && !*locs))
		return 0;
	json_array_foreach(v, i, e) {
		const struct tw_lnode *en = tw_lnode_elem(n, i);
		const char *s = json_string_value(e), *why;
		char *val = NULL;

		if (!s) {
			diag(c, at(c, en), "entries of \"%s\" must be %s, not "
			     "%s", f->key, of, type_name(e));
		} else if (f->type == F_UPSTREAMS) {
			if (upstream_valid(s))
				val = xstrdup(c, s);
			else
				diag(c, at(c, en), "invalid DNS upstream %s "
				     "(use IPv4:PORT or [IPv6]:PORT, e.g. "
				     "192.0.2.53:53)", Q(s));
		} else if (path_norm(s, &val, &why) == -EINVAL) {
			diag(c, at(c, en), "\"%s\" entry %s: %s", f->key, why,
			     Q(s));
		} else if (!val) {
			c->err = -ENOMEM;
		}
		if (!val)
			continue;
		if (locs)
			(*locs)[cnt] = at(c, en);
		(*out)[cnt++] = val;
	}
	return cnt;
}

static void take_connect(struct pctx *c, struct tw_bundle *b, json_t *v,
			 const struct tw_lnode *n)
{
	size_t i;
	json_t *e;

	if (!want_array(c, "connect", "endpoint strings", v, n))
		return;
	b->connect = xcalloc(c, json_array_size(v), sizeof(*b->connect));
	if (!b->connect)
		return;
	json_array_foreach(v, i, e) {
		struct tw_endpoint *ep = &b->connect[b->nconnect];
		const struct tw_lnode *en = tw_lnode_elem(n, i);
		char err[160];
		int ret;

		if (!json_is_string(e)) {
			diag(c, at(c, en), "entries of \"connect\" must be "
			     "strings, not %s", type_name(e));
			continue;
		}
		ret = tw_endpoint_parse(json_string_value(e), ep, err,
					sizeof(err));
		if (ret == -ENOMEM)
			c->err = ret;
		else if (ret)
			diag(c, at(c, en), "connect entry %s: %s",
			     Q(json_string_value(e)), err);
		if (ret)
			continue;
		ep->loc = at(c, en);
		b->nconnect++;
	}
}

static void take_listen(struct pctx *c, struct tw_bundle *b, json_t *v,
			const struct tw_lnode *n)
{
	size_t i;
	json_t *e;

	if (!want_array(c, "listen", "address strings", v, n))
		return;
	b->listen = xcalloc(c, json_array_size(v), sizeof(*b->listen));
	if (!b->listen)
		return;
	json_array_foreach(v, i, e) {
		struct tw_endpoint *ep = &b->listen[b->nlisten];
		const struct tw_lnode *en = tw_lnode_elem(n, i);
		char err[160];
		int ret;

		if (!json_is_string(e)) {
			diag(c, at(c, en), "entries of \"listen\" must be "
			     "strings, not %s", type_name(e));
			continue;
		}
		ret = tw_listen_parse(json_string_value(e), ep, err,
				      sizeof(err));
		if (ret == -ENOMEM)
			c->err = ret;
		else if (ret)
			diag(c, at(c, en), "listen entry %s: %s",
			     Q(json_string_value(e)), err);
		if (ret)
			continue;
		ep->loc = at(c, en);
		b->nlisten++;
	}
}

static void check_credential(struct pctx *c, struct tw_credential *cr,
			     json_t *o, const struct tw_lnode *n)
{
	const char *owner = json_string_value(json_object_get(o, "owner"));
	const char *nm = cr->name ? cr->name : "";
	bool person;

	if (!json_object_get(o, "name"))
		diag(c, cr->loc, "credential has no \"name\"");
	if (!json_object_get(o, "scope"))
		diag(c, cr->loc, "credential %s has no \"scope\" (\"read\" or "
		     "\"write\": its scope at the provider)", Q(nm));
	/* an unknown owner is already reported; guessing would mislead */
	if (json_object_get(o, "owner") && (!owner ||
	    (strcmp(owner, "agent") && strcmp(owner, "person"))))
		return;
	person = owner && !strcmp(owner, "person");
	if (!person && !json_object_get(o, "file"))
		diag(c, cr->loc, "agent-owned credential %s needs \"file\" "
		     "(where the agent's secret is stored)", Q(nm));
	if (person && json_object_get(o, "file"))
		diag(c, at_key(c, tw_lnode_member(n, "file", 0)),
		     "person-owned credential %s must not have \"file\": its "
		     "secret is looked up by name in the DM's credentials_dir",
		     Q(nm));
}

static void credential_clear(struct tw_credential *cr)
{
	free(cr->name);
	free(cr->env);
	free(cr->file);
}

static void take_creds(struct pctx *c, struct tw_bundle *b, json_t *v,
		       const struct tw_lnode *n)
{
	size_t i;
	json_t *e;

	if (!want_array(c, "credentials", "objects", v, n))
		return;
	b->creds = xcalloc(c, json_array_size(v), sizeof(*b->creds));
	if (!b->creds)
		return;
	json_array_foreach(v, i, e) {
		struct tw_credential *cr = &b->creds[b->ncreds];
		const struct tw_lnode *en = tw_lnode_elem(n, i);

		if (!json_is_object(e)) {
			diag(c, at(c, en), "entries of \"credentials\" must be "
			     "objects, not %s", type_name(e));
			continue;
		}
		cr->loc = at(c, en);
		walk(c, &credential_schema, cr, e, en);
		check_credential(c, cr, e, en);
		/* even a broken person-owned credential makes it personal */
		if (cr->owner == TW_OWNER_PERSON)
			b->personal = true;
		if (cr->name) {
			b->ncreds++;
		} else {
			credential_clear(cr);
			memset(cr, 0, sizeof(*cr)); /* the slot is reused */
		}
	}
}

static void take_repos(struct pctx *c, struct tw_bundle *b, json_t *v,
		       const struct tw_lnode *n)
{
	size_t i;
	json_t *e;

	if (!want_array(c, "repositories", "objects", v, n))
		return;
	b->repos = xcalloc(c, json_array_size(v), sizeof(*b->repos));
	if (!b->repos)
		return;
	json_array_foreach(v, i, e) {
		struct tw_repository *r = &b->repos[b->nrepos];
		const struct tw_lnode *en = tw_lnode_elem(n, i);

		if (!json_is_object(e)) {
			diag(c, at(c, en), "entries of \"repositories\" must "
			     "be objects, not %s", type_name(e));
			continue;
		}
		r->loc = at(c, en);
		walk(c, &repository_schema, r, e, en);
		if (!json_object_get(e, "path"))
			diag(c, r->loc, "repository has no \"path\"");
		if (!json_object_get(e, "access"))
			diag(c, r->loc, "repository has no \"access\" "
			     "(\"read\" or \"write\")");
		if (r->path)
			b->nrepos++;
		else
			memset(r, 0, sizeof(*r)); /* the slot is reused */
	}
}

static void take_value(struct pctx *c, const struct schema *s,
		       const struct field *f, char *obj, json_t *v,
		       const struct tw_lnode *n)
{
	switch (f->type) {
	case F_NAME:
	case F_STRING:
	case F_PATH:
	case F_USER:
	case F_ENV:
	case F_WSREF:
		take_string(c, s, f, obj, v, n);
		break;
	case F_BOOL:
		take_bool(c, f, obj, v, n);
		break;
	case F_MODE:
	case F_SCOPE:
	case F_OWNER:
	case F_ACCESS:
		take_choice(c, f, obj, v, n);
		break;
	case F_REFS:
		take_refs(c, f, obj, v, n);
		break;
	case F_PATHS:
	case F_UPSTREAMS:
		*(size_t *)(obj + f->aux) =
			take_strings(c, f, v, n, (char ***)(obj + f->off),
				     NULL);
		break;
	case F_OBJECT:
		if (json_is_object(v))
			walk(c, f->sub, obj, v, n);
		else
			diag(c, at(c, n), "\"%s\" must be an object, not %s",
			     f->key, type_name(v));
		break;
	case F_CONNECT:
		take_connect(c, (struct tw_bundle *)obj, v, n);
		break;
	case F_LISTEN:
		take_listen(c, (struct tw_bundle *)obj, v, n);
		break;
	case F_CREDS:
		take_creds(c, (struct tw_bundle *)obj, v, n);
		break;
	case F_REPOS:
		take_repos(c, (struct tw_bundle *)obj, v, n);
		break;
	case F_PIDS:
		take_pids(c, f, obj, v, n);
		break;
	case F_SIZE:
		take_size(c, f, obj, v, n);
		break;
	case F_SKILLS: {
		struct tw_bundle *b = (struct tw_bundle *)obj;

		b->nskills = take_strings(c, f, v, n, &b->skills,
					  &b->skill_locs);
		break;
	}
	}
}

static void unknown_key(struct pctx *c, const struct schema *s,
			const char *key, const struct tw_lnode *kn)
{
	char allowed[256];
	size_t i, o = 0;

	allowed[0] = '\0';
	for (i = 0; i < s->n && o < sizeof(allowed); i++)
		o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s%s",
				      i ? ", " : "", s->fields[i].key);
	diag(c, at_key(c, kn), "unknown key %s in %s (allowed: %s)", Q(key),
	     s->what, allowed);
}

/* Check every member of O against schema S, filling OBJ. */
static void walk(struct pctx *c, const struct schema *s, void *obj,
		 json_t *o, const struct tw_lnode *n)
{
	const char *key;
	size_t i = 0, j;
	json_t *v;

	json_object_foreach(o, key, v) {
		/* jansson keeps members in source order: I is the hint */
		const struct tw_lnode *kn = tw_lnode_member(n, key, i++);

		for (j = 0; j < s->n; j++)
			if (!strcmp(s->fields[j].key, key))
				break;
		if (j == s->n)
			unknown_key(c, s, key, kn);
		else
			take_value(c, s, &s->fields[j], obj, v, kn);
	}
}

/* ------------------------------------------------------------------ */
/* Parsing: objects                                                    */

static void refs_free(struct tw_ref *refs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(refs[i].name);
	free(refs);
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void bundle_clear(struct tw_bundle *b)
{
	size_t i;

	for (i = 0; i < b->nconnect; i++)
		tw_endpoint_free(&b->connect[i]);
	free(b->connect);
	for (i = 0; i < b->nlisten; i++)
		tw_endpoint_free(&b->listen[i]);
	free(b->listen);
	for (i = 0; i < b->ncreds; i++)
		credential_clear(&b->creds[i]);
	free(b->creds);
	for (i = 0; i < b->nrepos; i++)
		free(b->repos[i].path);
	free(b->repos);
	strv_free(b->skills, b->nskills);
	free(b->skill_locs);
	free(b->name);
	free(b->description);
	free(b->instructions);
}

static void workspace_clear(struct tw_workspace *w)
{
	free(w->name);
	free(w->agent_name);
	free(w->agent_user);
	refs_free(w->baseline, w->nbaseline);
	strv_free(w->dns_upstream, w->ndns_upstream);
	strv_free(w->system_paths, w->nsystem_paths);
	free(w->credentials_dir);
}

static void channel_clear(struct tw_channel *ch)
{
	free(ch->name);
	free(ch->workspace_name);
	refs_free(ch->step_up, ch->nstep_up);
}

static void dm_clear(struct tw_dm *dm)
{
	free(dm->name);
	free(dm->workspace_name);
	refs_free(dm->personal, dm->npersonal);
	free(dm->credentials_dir);
	free(dm->run_as);
}

/*
 * Append the object parsed into OBJ to ARR, or clear it when it has no
 * usable name (it could never be referred to) or memory ran out.
 */
#define KEEP(c, arr, n, obj, clear)                                    \
	do {                                                           \
		void *p_ = (obj).name ? grow((arr), (n), sizeof(obj)) : NULL; \
		if ((obj).name && !p_)                                 \
			(c)->err = -ENOMEM;                            \
		if (p_) {                                              \
			(arr) = p_;                                    \
			(arr)[(n)++] = (obj);                          \
		} else {                                               \
			clear(&(obj));                                 \
		}                                                      \
	} while (0)

static void check_agent(struct pctx *c, struct tw_workspace *w, json_t *o,
			const struct tw_lnode *n)
{
	json_t *agent = json_object_get(o, "agent");
	struct tw_loc loc = w->loc;

	if (agent && !json_is_object(agent))
		return; /* already reported */
	if (agent)
		loc = at(c, tw_lnode_member(n, "agent", 0));
	if (!json_object_get(agent, "name"))
		diag(c, loc, "workspace %s has no agent name (agent.name)",
		     NM(w->name));
	if (!json_object_get(agent, "user"))
		diag(c, loc, "workspace %s has no agent account (agent.user)",
		     NM(w->name));
}

static void parse_workspace(struct pctx *c, json_t *o,
			    const struct tw_lnode *n)
{
	struct tw_workspace w = { 0 };
	json_t *dns = json_object_get(o, "dns");

	walk(c, &workspace_schema, &w, o, n);
	w.loc = at(c, tw_lnode_member(n, "workspace", 0));
	check_agent(c, &w, o, n);
	if (json_is_object(dns) && !json_object_get(dns, "upstream"))
		diag(c, at(c, tw_lnode_member(n, "dns", 0)), "\"dns\" needs "
		     "\"upstream\", e.g. [\"192.0.2.53:53\"]");
	if (w.mode == TW_MODE_UNSET)
		w.mode = TW_MODE_ENFORCE;
	if (w.background == TW_BG_UNSET)
		w.background = TW_BG_OFF;
	KEEP(c, c->pol->workspaces, c->pol->nworkspaces, w, workspace_clear);
}

static void parse_bundle(struct pctx *c, json_t *o, const struct tw_lnode *n)
{
	struct tw_bundle b = { 0 };

	walk(c, &bundle_schema, &b, o, n);
	b.loc = at(c, tw_lnode_member(n, "bundle", 0));
	KEEP(c, c->pol->bundles, c->pol->nbundles, b, bundle_clear);
}

static void parse_channel(struct pctx *c, json_t *o, const struct tw_lnode *n)
{
	struct tw_channel ch = { .workspace = -1 };

	walk(c, &channel_schema, &ch, o, n);
	ch.loc = at(c, tw_lnode_member(n, "channel", 0));
	if (!json_object_get(o, "workspace"))
		diag(c, ch.loc, "channel %s has no \"workspace\"",
		     NM(ch.name));
	KEEP(c, c->pol->channels, c->pol->nchannels, ch, channel_clear);
}

static void parse_dm(struct pctx *c, json_t *o, const struct tw_lnode *n)
{
	struct tw_dm dm = { .workspace = -1 };

	walk(c, &dm_schema, &dm, o, n);
	dm.loc = at(c, tw_lnode_member(n, "dm", 0));
	if (!json_object_get(o, "workspace"))
		diag(c, dm.loc, "dm %s has no \"workspace\"", NM(dm.name));
	KEEP(c, c->pol->dms, c->pol->ndms, dm, dm_clear);
}

static const struct {
	const char *key;
	void (*parse)(struct pctx *c, json_t *o, const struct tw_lnode *n);
} kinds[] = {
	{ "workspace", parse_workspace },
	{ "bundle", parse_bundle },
	{ "channel", parse_channel },
	{ "dm", parse_dm },
};

/*
 * "workspace" names a workspace object, but in a channel or DM it is the
 * reference to one: only "bundle", "channel" and "dm" exclude each other.
 */
static int kind_of(const char *key)
{
	size_t i;

	for (i = 1; i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(kinds[i].key, key))
			return (int)i;
	return -1;
}

static void parse_object(struct pctx *c, json_t *o, const struct tw_lnode *n)
{
	const char *key;
	size_t i = 0;
	int kind = -1;
	json_t *v;

	if (!json_is_object(o)) {
		diag(c, at(c, n), "expected a policy object (workspace, "
		     "bundle, channel or dm), not %s", type_name(o));
		return;
	}
	json_object_foreach(o, key, v) {
		int k = kind_of(key);

		i++;
		if (k < 0)
			continue;
		if (kind >= 0) {
			diag(c, at_key(c, tw_lnode_member(n, key, i - 1)),
			     "object has both \"%s\" and \"%s\" (each object "
			     "is one workspace, bundle, channel or dm)",
			     kinds[kind].key, key);
			return;
		}
		kind = k;
	}
	if (kind < 0 && json_object_get(o, "workspace"))
		kind = 0;
	if (kind < 0) {
		diag(c, at(c, n), "object has none of the keys \"workspace\", "
		     "\"bundle\", \"channel\", \"dm\"");
		return;
	}
	kinds[kind].parse(c, o, n);
}

/* ------------------------------------------------------------------ */
/* Parsing: the text                                                   */

/* Advance LINE:COL (the position of TEXT[FROM]) to TEXT[TO]. */
static void advance(const char *text, size_t from, size_t to, int *line,
		    int *col)
{
	for (; from < to; from++) {
		if (text[from] == '\n') {
			if (*line < INT_MAX)
				(*line)++;
			*col = 1;
		} else if (*col < INT_MAX) {
			(*col)++;
		}
	}
}

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* jansson's message, with control and non-ASCII bytes escaped. */
static void json_text(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in && o + 5 < outlen; in++) {
		unsigned char ch = (unsigned char)*in;

		if (ch < 0x20 || ch >= 0x7f)
			o += (size_t)snprintf(out + o, 5, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
}

/*
 * jansson stops just after a repeated key. Report it at its opening
 * quote, and say where the first one is when the locator can tell.
 */
static bool dup_key(struct pctx *c, const char *text, size_t off,
		    size_t end, struct tw_loc loc)
{
	const struct tw_lnode *parent;
	struct tw_lnode *root;
	size_t q, idx, j;
	bool found = false, done = false;

	if (end <= off + 1 || text[end - 1] != '"')
		return false;
	/* its opening quote: the nearest '"' after an even run of '\' */
	for (q = end - 1; !found && q-- > off;) {
		size_t bs = 0;

		while (q - bs > off && text[q - bs - 1] == '\\')
			bs++;
		found = text[q] == '"' && !(bs & 1);
	}
	if (!found)
		return false;
	loc.line = c->here.line;
	loc.col = c->here.col;
	advance(text, off, q, &loc.line, &loc.col);
	if (tw_locate(text, end, off, c->here.line, c->here.col, &root) ==
	    -ENOMEM)
		c->err = -ENOMEM;
	if (!tw_lnode_find_key(root, loc.line, loc.col, &parent, &idx)) {
		for (j = 0; j < idx && !done; j++) {
			const struct tw_lnode *k = &parent->kids[j];

			if (!k->key || strcmp(k->key, parent->kids[idx].key))
				continue;
			diag(c, loc, "duplicate key %s (first at line %d, "
			     "column %d)", Q(k->key), k->key_line, k->key_col);
			done = true;
		}
	}
	tw_locate_free(root);
	return done;
}

static void json_error(struct pctx *c, const char *text, size_t len,
		       size_t off, const json_error_t *je)
{
	struct tw_loc loc = c->here;
	size_t end = off + (je->position > 0 ? (size_t)je->position : 0);
	char msg[JSON_ERROR_TEXT_LENGTH * 4];

	if (end > len)
		end = len;
	/* jansson points after the last byte it read: report that byte */
	advance(text, off, end > off ? end - 1 : off, &loc.line, &loc.col);
	if (json_error_code(je) == json_error_duplicate_key &&
	    dup_key(c, text, off, end, loc))
		return;
	json_text(je->text, msg, sizeof(msg));
	diag(c, loc, "invalid JSON: %s", msg);
}

/* One top-level JSON value: an object or an array of objects. */
static int parse_value(struct pctx *c, const char *text, size_t len,
		       size_t *off)
{
	json_error_t je;
	struct tw_lnode *root;
	size_t i, end;
	json_t *v, *e;

	v = json_loadb(text + *off, len - *off,
		       JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &je);
	if (!v) {
		json_error(c, text, len, *off, &je);
		return -EINVAL;
	}
	end = *off + (size_t)(je.position > 0 ? je.position : 0);
	if (end <= *off || end > len) /* cannot happen; never loop on it */
		end = len;
	if (tw_locate(text, end, *off, c->here.line, c->here.col, &root) ==
	    -ENOMEM)
		c->err = -ENOMEM;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			parse_object(c, e, tw_lnode_elem(root, i));
	} else {
		parse_object(c, v, root);
	}
	tw_locate_free(root);
	json_decref(v);
	*off = end;
	return 0;
}

static const char *intern(struct tw_policy *pol, const char *file)
{
	char **files, *copy;
	size_t i;

	for (i = pol->nfiles; i-- > 0;)
		if (!strcmp(pol->files[i], file))
			return pol->files[i];
	copy = strdup(file);
	files = copy ? grow(pol->files, pol->nfiles, sizeof(*files)) : NULL;
	if (!files) {
		free(copy);
		return NULL;
	}
	pol->files = files;
	pol->files[pol->nfiles++] = copy;
	return copy;
}

int tw_policy_parse(struct tw_policy *pol, const char *file, const char *text,
		    size_t len, struct tw_diags *diags)
{
	struct pctx c = { .pol = pol, .diags = diags };
	size_t off = 0;
	int line = 1, col = 1;
	const char *nul;
	bool any = false;

	if (!text)
		len = 0;
	c.file = intern(pol, file ? file : "(policy)");
	if (!c.file)
		return -ENOMEM;
	c.here = (struct tw_loc){ c.file, 1, 1 };
	if (len > TW_POLICY_MAX_BYTES) {
		diag(&c, c.here, "policy file is too large (%zu bytes, the "
		     "limit is %u MiB)", len, TW_POLICY_MAX_BYTES >> 20);
		return -EINVAL;
	}
	/*
	 * No JSON text holds a NUL byte, and jansson silently skips some,
	 * which would throw its positions off ours: refuse them outright.
	 */
	nul = len ? memchr(text, '\0', len) : NULL;
	if (nul) {
		advance(text, 0, (size_t)(nul - text), &c.here.line,
			&c.here.col);
		diag(&c, c.here, "NUL byte in policy file (expected JSON text)");
		return -EINVAL;
	}
	/* Several values may follow one another, as in the SPEC's example. */
	for (;;) {
		size_t start = off;

		while (off < len && is_ws(text[off]))
			off++;
		advance(text, start, off, &line, &col);
		if (off == len)
			break;
		c.here.line = line;
		c.here.col = col;
		start = off;
		if (parse_value(&c, text, len, &off))
			break; /* no way to resynchronise after bad JSON */
		advance(text, start, off, &line, &col);
		any = true;
	}
	if (!any && !c.ndiags)
		diag(&c, c.here, "empty policy file (expected a JSON object or "
		     "an array of objects)");
	if (c.err)
		return c.err;
	return c.ndiags ? -EINVAL : 0;
}

/* ------------------------------------------------------------------ */
/* Linking                                                             */

struct lctx {
	struct tw_policy *pol;
	struct tw_diags *diags;
	int ndiags;
	int err;
	struct named *bundles, *workspaces; /* sorted, for lookups */
};

/* A name with where it was defined, sorted to find repeats and lookups. */
struct named {
	const char *name;
	const char *scope; /* the workspace of channels and DMs, or NULL */
	struct tw_loc loc;
	size_t i;
};

static void ldiag(struct lctx *c, struct tw_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void ldiag(struct lctx *c, struct tw_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diags_vadd(c->diags, loc, fmt, ap);
	va_end(ap);
	c->ndiags++;
}

static int strcmp0(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int named_cmp(const void *pa, const void *pb)
{
	const struct named *a = pa, *b = pb;
	int r = strcmp0(a->scope, b->scope);

	if (!r)
		r = strcmp0(a->name, b->name);
	if (r)
		return r;
	return a->i < b->i ? -1 : a->i > b->i;
}

/* Report every entry that repeats an earlier one (V gets sorted). */
static void report_dups(struct lctx *c, struct named *v, size_t n,
			const char *kind)
{
	size_t i, first = 0;

	qsort(v, n, sizeof(*v), named_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp0(v[i].name, v[first].name) ||
		    strcmp0(v[i].scope, v[first].scope)) {
			first = i;
			continue;
		}
		ldiag(c, v[i].loc, "duplicate %s %s%s%s (first defined at "
		      "%s:%d:%d)", kind, NM(v[i].name),
		      v[i].scope ? " in workspace " : "",
		      v[i].scope ? NM(v[i].scope) : "", v[first].loc.file,
		      v[first].loc.line, v[first].loc.col);
	}
}

static struct named *names_new(struct lctx *c, size_t n)
{
	struct named *v = calloc(n ? n : 1, sizeof(*v));

	if (!v)
		c->err = -ENOMEM;
	return v;
}

/* The first definition of NAME in sorted V, or -1. */
static int lookup(const struct named *v, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	if (!v || !name)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp0(v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && !strcmp0(v[lo].name, name) ? (int)v[lo].i : -1;
}

static void link_refs(struct lctx *c, struct tw_ref *refs, size_t n,
		      const char *list, bool personal_ok)
{
	const struct tw_policy *pol = c->pol;
	struct named *v = names_new(c, n);
	size_t i;

	for (i = 0; i < n; i++) {
		struct tw_ref *r = &refs[i];

		r->bundle = lookup(c->bundles, pol->nbundles, r->name);
		if (r->bundle < 0)
			ldiag(c, r->loc, "unknown bundle %s in \"%s\"",
			      Q(r->name), list);
		else if (!personal_ok && pol->bundles[r->bundle].personal)
			ldiag(c, r->loc, "bundle %s is personal (it has a "
			      "person-owned credential): it can only be "
			      "granted in a DM's \"personal\" list, not in "
			      "\"%s\"", NM(r->name), list);
		if (v)
			v[i] = (struct named){ r->name, NULL, r->loc, i };
	}
	if (!v)
		return;
	qsort(v, n, sizeof(*v), named_cmp);
	for (i = 1; i < n; i++)
		if (!strcmp0(v[i].name, v[i - 1].name))
			ldiag(c, v[i].loc, "bundle %s is listed twice in "
			      "\"%s\" (first at line %d, column %d)",
			      NM(v[i].name), list, v[i - 1].loc.line,
			      v[i - 1].loc.col);
	free(v);
}

static int link_workspace_ref(struct lctx *c, const char *name,
			      struct tw_loc loc)
{
	int w;

	if (!name)
		return -1; /* missing: already reported */
	w = lookup(c->workspaces, c->pol->nworkspaces, name);
	if (w < 0)
		ldiag(c, loc, "unknown workspace %s", Q(name));
	return w;
}

static void link_dm(struct lctx *c, struct tw_dm *dm)
{
	size_t i;

	dm->workspace = link_workspace_ref(c, dm->workspace_name,
					   dm->workspace_loc);
	link_refs(c, dm->personal, dm->npersonal, "personal", true);
	if (dm->credentials_dir)
		return;
	for (i = 0; i < dm->npersonal; i++) {
		int b = dm->personal[i].bundle;

		if (b >= 0 && c->pol->bundles[b].personal) {
			ldiag(c, dm->loc, "dm %s needs \"credentials_dir\": "
			      "personal bundle %s has person-owned "
			      "credentials", NM(dm->name),
			      NM(c->pol->bundles[b].name));
			return;
		}
	}
}

/* Sorted name index of the bundles and workspaces; reports repeats. */
static void index_names(struct lctx *c)
{
	struct tw_policy *pol = c->pol;
	size_t i;

	c->bundles = names_new(c, pol->nbundles);
	c->workspaces = names_new(c, pol->nworkspaces);
	if (!c->bundles || !c->workspaces)
		return;
	for (i = 0; i < pol->nbundles; i++)
		c->bundles[i] = (struct named){ pol->bundles[i].name, NULL,
						pol->bundles[i].loc, i };
	for (i = 0; i < pol->nworkspaces; i++)
		c->workspaces[i] = (struct named){ pol->workspaces[i].name,
						   NULL,
						   pol->workspaces[i].loc, i };
	report_dups(c, c->bundles, pol->nbundles, "bundle");
	report_dups(c, c->workspaces, pol->nworkspaces, "workspace");
}

static void context_dups(struct lctx *c)
{
	struct tw_policy *pol = c->pol;
	struct named *v = names_new(c, pol->nchannels + pol->ndms);
	size_t i;

	if (!v)
		return;
	for (i = 0; i < pol->nchannels; i++)
		v[i] = (struct named){ pol->channels[i].name,
				       pol->channels[i].workspace_name,
				       pol->channels[i].loc, i };
	report_dups(c, v, pol->nchannels, "channel");
	for (i = 0; i < pol->ndms; i++)
		v[i] = (struct named){ pol->dms[i].name,
				       pol->dms[i].workspace_name,
				       pol->dms[i].loc, i };
	report_dups(c, v, pol->ndms, "dm");
	free(v);
}

int tw_policy_link(struct tw_policy *pol, struct tw_diags *diags)
{
	struct lctx c = { .pol = pol, .diags = diags };
	size_t i;

	index_names(&c);
	context_dups(&c);
	for (i = 0; i < pol->nworkspaces; i++)
		link_refs(&c, pol->workspaces[i].baseline,
			  pol->workspaces[i].nbaseline, "baseline", false);
	for (i = 0; i < pol->nchannels; i++) {
		struct tw_channel *ch = &pol->channels[i];

		ch->workspace = link_workspace_ref(&c, ch->workspace_name,
						   ch->workspace_loc);
		link_refs(&c, ch->step_up, ch->nstep_up, "step_up", false);
	}
	for (i = 0; i < pol->ndms; i++)
		link_dm(&c, &pol->dms[i]);
	if (!pol->nworkspaces) {
		struct tw_loc loc = { pol->nfiles ? pol->files[0] : "(policy)",
				      1, 1 };

		ldiag(&c, loc, "the policy defines no workspace");
	}
	free(c.bundles);
	free(c.workspaces);
	if (c.err)
		return c.err;
	return c.ndiags ? -EINVAL : 0;
}

void tw_policy_free(struct tw_policy *pol)
{
	size_t i;

	for (i = 0; i < pol->nworkspaces; i++)
		workspace_clear(&pol->workspaces[i]);
	for (i = 0; i < pol->nbundles; i++)
		bundle_clear(&pol->bundles[i]);
	for (i = 0; i < pol->nchannels; i++)
		channel_clear(&pol->channels[i]);
	for (i = 0; i < pol->ndms; i++)
		dm_clear(&pol->dms[i]);
	strv_free(pol->files, pol->nfiles);
	free(pol->workspaces);
	free(pol->bundles);
	free(pol->channels);
	free(pol->dms);
	memset(pol, 0, sizeof(*pol));
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * endpoint.c - connect and listen entries, port sets and resolver
 * upstreams as written in a policy (see endpoint.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "endpoint.h"
#include "text.h"

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
			tw_seterr(err, errlen, "empty port in port list");
		else
			tw_seterr(err, errlen, "invalid port list (use 443, "
			       "8000-8999 or 443,8443)");
		return -EINVAL;
	}
	if (x > 65535) {
		tw_seterr(err, errlen, "port %.*s is out of range (1-65535)",
		       n > 12 ? 12 : (int)n, s);
		return -EINVAL;
	}
	if (!x) {
		tw_seterr(err, errlen, "port 0 is not a valid port (1-65535)");
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
			tw_seterr(err, errlen, "port range %u-%u is reversed "
			       "(write low-high)", lo, hi);
			return -EINVAL;
		}
	}
	if (**p && **p != ',') {
		tw_seterr(err, errlen, "invalid port list (use 443, 8000-8999 "
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
		tw_seterr(err, errlen, "empty port list");
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
	tw_seterr(err, errlen, "host bits set in %s/%d, did you mean %s/%d?",
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
			tw_seterr(err, errlen, "invalid prefix length (0-%d)",
			       max);
			return -EINVAL;
		}
	}
	if (inet_pton(af, buf, ep->addr) != 1)
		goto bad_addr;
	return host_bits(ep, buf, err, errlen);
bad_addr:
	tw_seterr(err, errlen, "invalid IPv%d address", family);
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
		tw_seterr(err, errlen, "empty DNS name");
		return -EINVAL;
	}
	if (n > 253) {
		tw_seterr(err, errlen, "DNS name is longer than 253 bytes");
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
		} else if (tw_is_lower_digit(c) || c == '-') {
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
	tw_seterr(err, errlen, "empty label in DNS name");
	goto fail;
dash:
	tw_seterr(err, errlen, "DNS labels must not start or end with '-'");
	goto fail;
long_label:
	tw_seterr(err, errlen, "DNS label longer than 63 bytes");
	goto fail;
bad_char:
	if (h[i] == '*')
		tw_seterr(err, errlen, "'*' is only allowed as a leading \"*.\" "
		       "label (*.example.com)");
	else
		tw_seterr(err, errlen, "invalid character in DNS name (use "
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
			tw_seterr(err, errlen, "a bare wildcard matches every "
			       "name; write *.example.com");
			return -EINVAL;
		}
		if (h[1] != '.') {
			tw_seterr(err, errlen, "'*' is only allowed as a leading "
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
	ret = tw_path_norm(path, &ep->name, &why);
	if (ret == -EINVAL)
		tw_seterr(err, errlen, "unix socket path %s", why);
	if (ret)
		return ret;
	if (strlen(ep->name) > TW_UNIX_PATH_MAX) {
		tw_seterr(err, errlen, "unix socket path is longer than %d bytes",
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
		tw_seterr(err, errlen, "unknown protocol (use tcp://, udp:// or "
		       "unix:PATH)");
		return -EINVAL;
	}
	if (*s == '[') {
		host = s + 1;
		rest = strchr(host, ']');
		if (!rest) {
			tw_seterr(err, errlen, "missing ']' after IPv6 address");
			return -EINVAL;
		}
		n = (size_t)(rest - host);
		rest++;
		if (*rest && *rest != ':') {
			tw_seterr(err, errlen, "expected ':PORTS' after ']'");
			return -EINVAL;
		}
		ret = n ? parse_cidr(6, host, n, ep, err, errlen) : -EINVAL;
	} else {
		host = s;
		n = strcspn(s, ":");
		rest = s + n;
		if (*rest && strchr(rest + 1, ':')) {
			tw_seterr(err, errlen, "IPv6 addresses go in brackets: "
			       "[2001:db8::1]:443");
			return -EINVAL;
		}
		ret = n ? parse_host(host, n, ep, err, errlen) : -EINVAL;
	}
	if (!n)
		tw_seterr(err, errlen, "missing host");
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

/*
 * The protocol as the audit table writes it, after the ports: "/tcp" or
 * "/udp" (either case). 0 when TEXT has none, else the protocol and *LEN
 * shortened to leave it out.
 */
static enum tw_proto proto_suffix(const char *text, size_t *len)
{
	if (*len < 5 || text[*len - 4] != '/')
		return 0;
	if (!strcasecmp(text + *len - 3, "tcp")) {
		*len -= 4;
		return TW_PROTO_TCP;
	}
	if (!strcasecmp(text + *len - 3, "udp")) {
		*len -= 4;
		return TW_PROTO_UDP;
	}
	return 0;
}

static int parse_suffixed(const char *text, struct tw_endpoint *ep,
			  char *err, size_t errlen)
{
	size_t len = strlen(text);
	enum tw_proto suffix = proto_suffix(text, &len);
	char *bare = strndup(text, len);
	int ret;

	if (!bare)
		return -ENOMEM;
	ret = parse_inet(bare, ep, err, errlen);
	ep->proto_given = suffix || strstr(bare, "://");
	if (!ret && suffix && strstr(bare, "://") && suffix != ep->proto) {
		tw_seterr(err, errlen, "two protocols: %.*s and /%s (write "
			  "one)", (int)(strstr(bare, "://") - bare), bare,
			  text + len + 1);
		ret = -EINVAL;
	}
	if (suffix)
		ep->proto = suffix;
	free(bare);
	return ret;
}

int tw_endpoint_parse(const char *text, struct tw_endpoint *ep, char *err,
		      size_t errlen)
{
	int ret;

	memset(ep, 0, sizeof(*ep));
	if (!text) {
		tw_seterr(err, errlen, "missing connect entry");
		return -EINVAL;
	}
	ep->text = strdup(text);
	if (!ep->text)
		return -ENOMEM;
	if (!strncmp(text, "unix:", 5))
		ret = parse_unix(text + 5, ep, err, errlen);
	else
		ret = parse_suffixed(text, ep, err, errlen);
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
		tw_seterr(err, errlen, "missing listen entry");
		return -EINVAL;
	}
	if (!strncmp(text, "unix:", 5)) {
		tw_seterr(err, errlen, "listen entries are inet addresses "
		       "([tcp://|udp://]ADDR:PORTS), not unix sockets");
		return -EINVAL;
	}
	ret = tw_endpoint_parse(text, ep, err, errlen);
	if (ret)
		return ret;
	if (ep->kind != TW_HOST_CIDR) {
		tw_seterr(err, errlen, "listen entries take an IP address or "
		       "CIDR (0.0.0.0 or [::] for every address), not a name");
		tw_endpoint_free(ep);
		return -EINVAL;
	}
	h = strstr(text, "://");
	h = h ? h + 3 : text;
	colon = *h == '[' ? strchr(h, ']') : h;
	colon = colon ? strchr(colon, ':') : NULL;
	if (!colon) {
		tw_seterr(err, errlen, "listen entries need ports: ADDR:PORTS "
		       "(127.0.0.1:8080, [::]:8000-8099)");
		tw_endpoint_free(ep);
		return -EINVAL;
	}
	if (ep->ports[0].lo == 0) {
		tw_seterr(err, errlen, "port 0 is no port to listen on (a "
		       "port-0 bind, an ephemeral port, is always allowed)");
		tw_endpoint_free(ep);
		return -EINVAL;
	}
	return 0;
}

/* "IPv4:PORT" or "[IPv6]:PORT", as the resolver forwards to. */
bool tw_upstream_valid(const char *s)
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

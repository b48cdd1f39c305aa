/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * explain.c - may CONTEXT reach DEST, which bundle allows it, and for a
 * denial which bundles and contexts would. Pure: answers over compiled
 * rules, for `toolwall explain` and for the `hint` of audit records.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "explain.h"

/* ---- destinations ------------------------------------------------------- */

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_';
}

/* Lower-case and validate a DNS name into D->name (trailing dot dropped). */
static int parse_name(const char *s, size_t len, struct tw_dest *d, char *err,
		      size_t errlen)
{
	if (len && s[len - 1] == '.')
		len--;
	if (!len || len > 253) {
		snprintf(err, errlen, "bad host name '%.*s'", (int)len, s);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (!name_char_ok(c) || (c == '.' && (i == 0 || s[i - 1] == '.'))) {
			snprintf(err, errlen, "bad host name '%.*s'", (int)len,
				 s);
			return -EINVAL;
		}
		d->name[i] = c;
	}
	d->name[len] = '\0';
	d->kind = TW_HOST_NAME;
	return 0;
}

static int parse_port(const char *s, uint16_t *port, char *err, size_t errlen)
{
	unsigned long v = 0;

	if (!*s) {
		snprintf(err, errlen, "missing port (HOST:PORT)");
		return -EINVAL;
	}
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > 65535) {
			snprintf(err, errlen, "bad port '%s'", s);
			return -EINVAL;
		}
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v > 65535) {
		snprintf(err, errlen, "port %s out of range (0-65535)", s);
		return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

int tw_dest_parse(const char *s, struct tw_dest *d, char *err, size_t errlen)
{
	char buf[512], *host, *port, *slash;
	int plen;

	memset(d, 0, sizeof(*d));
	if (errlen)
		err[0] = '\0';
	if (!strncmp(s, "unix:", 5)) {
		const char *path = s + 5;
		size_t len = strlen(path);

		if (!len || len > TW_UNIX_PATH_MAX) {
			snprintf(err, errlen,
				 "unix socket path must be 1 to %d bytes",
				 TW_UNIX_PATH_MAX);
			return -EINVAL;
		}
		d->proto = TW_PROTO_UNIX;
		d->kind = TW_HOST_UNIX;
		memcpy(d->name, path, len + 1);
		return 0;
	}
	if (!strncmp(s, "listen:", 7)) {
		int ret = tw_dest_parse(s + 7, d, err, errlen);

		if (!ret && d->kind != TW_HOST_CIDR) {
			snprintf(err, errlen, "listen: takes an IP address "
				 "(listen:0.0.0.0:8080, listen:[::1]:8080)");
			ret = -EINVAL;
		}
		d->listen = !ret;
		return ret;
	}
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "destination too long");
		return -EINVAL;
	}
	strcpy(buf, s);
	host = buf;
	d->proto = TW_PROTO_TCP;
	/* the connect-entry spelling is accepted too */
	if (!strncmp(host, "tcp://", 6)) {
		host += 6;
	} else if (!strncmp(host, "udp://", 6)) {
		d->proto = TW_PROTO_UDP;
		host += 6;
	}
	slash = strrchr(host, '/');
	if (slash) {
		if (!strcasecmp(slash + 1, "udp")) {
			d->proto = TW_PROTO_UDP;
		} else if (!strcasecmp(slash + 1, "tcp")) {
			d->proto = TW_PROTO_TCP;
		} else {
			snprintf(err, errlen,
				 "bad protocol suffix '/%s' (use /tcp or /udp)",
				 slash + 1);
			return -EINVAL;
		}
		*slash = '\0';
	}

	if (*host == '[') {
		char *end = strchr(host, ']');

		if (!end || end[1] != ':') {
			snprintf(err, errlen,
				 "IPv6 destinations are written [ADDR]:PORT");
			return -EINVAL;
		}
		*end = '\0';
		port = end + 2;
		if (inet_pton(AF_INET6, host + 1, d->addr) != 1) {
			snprintf(err, errlen, "bad IPv6 address '%s'", host + 1);
			return -EINVAL;
		}
		d->kind = TW_HOST_CIDR;
		d->family = 6;
		plen = 128;
		tw_fold_v4(&d->family, d->addr, &plen);
		return parse_port(port, &d->port, err, errlen);
	}

	port = strrchr(host, ':');
	if (!port) {
		snprintf(err, errlen, "missing port in '%s' (HOST:PORT)", s);
		return -EINVAL;
	}
	*port++ = '\0';
	if (strchr(host, ':')) {
		snprintf(err, errlen,
			 "IPv6 destinations are written [ADDR]:PORT");
		return -EINVAL;
	}
	if (inet_pton(AF_INET, host, d->addr) == 1) {
		d->kind = TW_HOST_CIDR;
		d->family = 4;
	} else if (parse_name(host, strlen(host), d, err, errlen)) {
		return -EINVAL;
	}
	return parse_port(port, &d->port, err, errlen);
}

void tw_dest_format(const struct tw_dest *d, char *buf, size_t len)
{
	const char *sfx = d->proto == TW_PROTO_UDP ? "/udp" : "";
	char a[INET6_ADDRSTRLEN];

	switch (d->kind) {
	case TW_HOST_UNIX:
		snprintf(buf, len, "unix:%s", d->name);
		break;
	case TW_HOST_CIDR:
		inet_ntop(d->family == 4 ? AF_INET : AF_INET6, d->addr, a,
			  sizeof(a));
		snprintf(buf, len,
			 d->family == 4 ? "%s%s:%u%s" : "%s[%s]:%u%s",
			 d->listen ? "listen:" : "", a, d->port, sfx);
		break;
	default:
		snprintf(buf, len, "%s:%u%s", d->name, d->port, sfx);
		break;
	}
}

/* ---- matching ----------------------------------------------------------- */

static bool port_in(const struct tw_port_range *p, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (port >= p[i].lo && port <= p[i].hi)
			return true;
	return false;
}

bool tw_rule_matches(const struct tw_rule *r, const struct tw_dest *d)
{
	size_t dlen, rlen;

	if (r->proto != d->proto)
		return false;
	switch (r->kind) {
	case TW_HOST_UNIX:
		return d->kind == TW_HOST_UNIX && r->name &&
		       !strcmp(r->name, d->name);
	case TW_HOST_CIDR:
		return d->kind == TW_HOST_CIDR && r->family == d->family &&
		       tw_prefix_contains(r->addr, r->prefixlen, d->addr) &&
		       port_in(r->ports, r->nports, d->port);
	case TW_HOST_NAME:
	case TW_HOST_WILDCARD:
		break;
	}
	if (d->kind != TW_HOST_NAME || !r->name ||
	    !port_in(r->ports, r->nports, d->port))
		return false;
	/* names from the wire may carry the root's trailing dot */
	dlen = strlen(d->name);
	if (dlen && d->name[dlen - 1] == '.')
		dlen--;
	rlen = strlen(r->name);
	if (r->kind == TW_HOST_NAME)
		return dlen == rlen && !strncasecmp(d->name, r->name, rlen);
	/* "*.x": a.x and a.b.x, never x itself */
	return dlen > rlen + 1 && d->name[dlen - rlen - 1] == '.' &&
	       !strncasecmp(d->name + dlen - rlen, r->name, rlen);
}

/*
 * Which of two matching rules names the verdict: the kernel's longest
 * prefix for addresses; an exact name before a wildcard, a deeper
 * wildcard before a shallower one.
 */
static int specificity(const struct tw_rule *r)
{
	switch (r->kind) {
	case TW_HOST_CIDR:
		return r->prefixlen;
	case TW_HOST_NAME:
		return 1 << 20;
	case TW_HOST_WILDCARD:
		return (int)strlen(r->name);
	default:
		return 0;
	}
}

static int int_set_add(int **v, size_t *n, int x)
{
	size_t i = 0;
	int *p;

	while (i < *n && (*v)[i] < x)
		i++;
	if (i < *n && (*v)[i] == x)
		return 0;
	p = realloc(*v, (*n + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memmove(p + i + 1, p + i, (*n - i) * sizeof(*p));
	p[i] = x;
	*v = p;
	(*n)++;
	return 0;
}

static bool held_by(const struct tw_context *x, int bundle)
{
	for (size_t i = 0; i < x->nheld; i++)
		if (x->held[i].bundle == bundle)
			return true;
	return false;
}

/* Would some connect entry (listen entry, for D->listen) of bundle B
 * match D? */
static bool bundle_matches(const struct tw_bundle *b, const struct tw_dest *d)
{
	const struct tw_endpoint *eps = d->listen ? b->listen : b->connect;
	size_t neps = d->listen ? b->nlisten : b->nconnect;

	for (size_t i = 0; i < neps; i++) {
		const struct tw_endpoint *ep = &eps[i];
		struct tw_rule r = {
			.proto = ep->proto,
			.kind = ep->kind,
			.family = ep->family,
			.prefixlen = ep->prefixlen,
			.name = ep->name,
			.ports = ep->ports,
			.nports = ep->nports,
		};
		struct tw_port_range all = { 0, 65535 };

		if (ep->kind == TW_HOST_CIDR) {
			memcpy(r.addr, ep->addr, 16);
			tw_fold_v4(&r.family, r.addr, &r.prefixlen);
		}
		if (ep->kind != TW_HOST_UNIX && !ep->nports) {
			r.ports = &all;
			r.nports = 1;
		}
		if (tw_rule_matches(&r, d))
			return true;
	}
	return false;
}

bool tw_addr_loopback(int family, const uint8_t addr[16])
{
	static const uint8_t lo6[16] = { [15] = 1 };

	return family == 4 ? addr[0] == 127 : !memcmp(addr, lo6, 16);
}

int tw_explain_host(const struct tw_compiled *c, int ctx,
		    const struct tw_dest *d, struct tw_explain *out)
{
	struct tw_dest any = *d;
	int ret;

	/* any port: try the rules' own ports */
	any.listen = false;
	if (ctx >= 0 && (size_t)ctx < c->nctx) {
		const struct tw_context *x = &c->ctx[ctx];

		for (size_t i = 0; i < x->nrules; i++) {
			const struct tw_rule *r = &x->rules[i];

			if (r->kind != TW_HOST_CIDR || r->proto != d->proto ||
			    r->family != d->family || !r->nports ||
			    !tw_prefix_contains(r->addr, r->prefixlen,
						d->addr))
				continue;
			any.port = r->ports[0].lo;
			return tw_explain_dest(c, ctx, &any, out);
		}
	}
	/* denied: bundles with a rule for the host on any port */
	for (uint32_t p = 0; p < 65536; p += 65535) {
		any.port = (uint16_t)p;
		ret = tw_explain_dest(c, ctx, &any, out);
		if (ret || out->nbundles)
			return ret;
		tw_explain_free(out);
	}
	return tw_explain_dest(c, ctx, &any, out);
}

int tw_explain_dest(const struct tw_compiled *c, int ctx,
		    const struct tw_dest *d, struct tw_explain *out)
{
	const struct tw_context *x;
	const struct tw_policy *pol = c->pol;
	const struct tw_rule *rules;
	size_t nrules;

	memset(out, 0, sizeof(*out));
	out->rule = -1;
	if (ctx < 0 || (size_t)ctx >= c->nctx)
		return -ENOENT;
	x = &c->ctx[ctx];
	rules = d->listen ? x->listen : x->rules;
	nrules = d->listen ? x->nlisten : x->nrules;
	/* Loopback needs no listen entry (a port-0 bind needs none either). */
	if (d->listen && (!d->port || (d->kind == TW_HOST_CIDR &&
				       tw_addr_loopback(d->family, d->addr)))) {
		out->allowed = true;
		return 0;
	}
	for (size_t i = 0; i < nrules; i++) {
		const struct tw_rule *r = &rules[i];

		if (!tw_rule_matches(r, d))
			continue;
		if (out->rule < 0 ||
		    specificity(r) > specificity(&rules[out->rule]))
			out->rule = (int)i;
		for (size_t b = 0; b < r->nbundles; b++)
			if (int_set_add(&out->bundles, &out->nbundles,
					r->bundles[b]))
				goto nomem;
	}
	out->allowed = out->rule >= 0;
	if (out->allowed)
		return 0;

	for (size_t b = 0; b < pol->nbundles; b++)
		if (bundle_matches(&pol->bundles[b], d) &&
		    int_set_add(&out->bundles, &out->nbundles, (int)b))
			goto nomem;
	for (size_t i = 0; i < c->nctx; i++)
		for (size_t b = 0; b < out->nbundles; b++)
			if (held_by(&c->ctx[i], out->bundles[b])) {
				if (int_set_add(&out->contexts,
						&out->ncontexts, (int)i))
					goto nomem;
				break;
			}
	return 0;
nomem:
	tw_explain_free(out);
	return -ENOMEM;
}

void tw_explain_free(struct tw_explain *e)
{
	free(e->bundles);
	free(e->contexts);
	e->bundles = e->contexts = NULL;
	e->nbundles = e->ncontexts = 0;
}

/* snprintf that appends at *OFF and never runs past LEN. */
static void append(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off = *off + (size_t)n < len ? *off + (size_t)n : len - 1;
}

void tw_explain_hint(const struct tw_compiled *c, const struct tw_explain *e,
		     char *buf, size_t len)
{
	size_t off = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (size_t b = 0; b < e->nbundles; b++) {
		int held = 0;

		append(buf, len, &off, "%sbundle %s (", b ? "; " : "",
		       c->pol->bundles[e->bundles[b]].name);
		for (size_t i = 0; i < c->nctx; i++)
			if (held_by(&c->ctx[i], e->bundles[b]))
				append(buf, len, &off, "%s%s",
				       held++ ? ", " : "held by ",
				       c->ctx[i].name);
		append(buf, len, &off, "%s)", held ? "" : "held by no context");
	}
}

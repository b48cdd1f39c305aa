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

/*
 * Port 0 (an ephemeral-port bind, "listen:0.0.0.0:0") is a question
 * `explain` answers though no entry may name it: TEXT without its ":0"
 * (the protocol suffix kept) into BUF, or NULL when its port is not 0.
 */
static const char *port0(const char *text, char *buf, size_t len)
{
	const char *sfx = strrchr(text, '/'), *end;

	if (!sfx || (strcasecmp(sfx, "/tcp") && strcasecmp(sfx, "/udp")))
		sfx = text + strlen(text);
	end = sfx;
	if (end - text < 3 || strncmp(end - 2, ":0", 2) ||
	    (size_t)(end - text) + strlen(sfx) >= len)
		return NULL;
	snprintf(buf, len, "%.*s%s", (int)(end - text - 2), text, sfx);
	return buf;
}

/* One destination from an entry of the shared syntax (endpoint.h). */
static int dest_from(const struct tw_endpoint *ep, bool any_port,
		     struct tw_dest *d, char *err, size_t errlen)
{
	int plen;

	d->proto = ep->proto;
	d->kind = ep->kind;
	if (ep->kind == TW_HOST_UNIX || ep->kind == TW_HOST_NAME) {
		snprintf(d->name, sizeof(d->name), "%s", ep->name);
	} else if (ep->kind == TW_HOST_WILDCARD) {
		snprintf(err, errlen, "'%s' is every name under %s: ask about "
			 "one name", ep->text, ep->name);
		return -EINVAL;
	} else if (ep->prefixlen != (ep->family == 4 ? 32 : 128)) {
		snprintf(err, errlen, "'%s' is a network: ask about one "
			 "address", ep->text);
		return -EINVAL;
	} else {
		d->family = ep->family;
		memcpy(d->addr, ep->addr, sizeof(d->addr));
		plen = ep->prefixlen;
		tw_fold_v4(&d->family, d->addr, &plen);
	}
	if (ep->kind == TW_HOST_UNIX || any_port)
		return 0;
	if (ep->nports != 1 || ep->ports[0].lo != ep->ports[0].hi) {
		snprintf(err, errlen, ep->nports == 1 && !ep->ports[0].lo &&
				      ep->ports[0].hi == 65535 ?
				      "missing port in '%s' (HOST:PORT)" :
				      "'%s' names several ports: ask about one",
			 ep->text);
		return -EINVAL;
	}
	d->port = ep->ports[0].lo;
	return 0;
}

int tw_dest_parse(const char *s, struct tw_dest *d, char *err, size_t errlen)
{
	struct tw_endpoint ep;
	const char *text = s;
	char buf[600];
	int ret;

	memset(d, 0, sizeof(*d));
	if (errlen)
		err[0] = '\0';
	if (!strncmp(s, "listen:", 7)) {
		ret = tw_dest_parse(s + 7, d, err, errlen);
		if (!ret && d->kind != TW_HOST_CIDR) {
			snprintf(err, errlen, "listen: takes an IP address "
				 "(listen:0.0.0.0:8080, listen:[::1]:8080)");
			ret = -EINVAL;
		}
		d->listen = !ret;
		return ret;
	}
	if (strncmp(s, "unix:", 5) && port0(s, buf, sizeof(buf)))
		text = buf;
	ret = tw_endpoint_parse(text, &ep, err, errlen);
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (ret)
		return -EINVAL;
	ret = dest_from(&ep, text != s, d, err, errlen);
	tw_endpoint_free(&ep);
	return ret;
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

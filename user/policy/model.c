// SPDX-License-Identifier: GPL-2.0-only
/*
 * model.c - the compiled model's own helpers (see model.h): addresses and
 * prefixes, rules built from endpoints, port sets, text forms, and how a
 * context inherits its mode, background and limits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* ---- addresses ---------------------------------------------------------- */

static void mask_addr(uint8_t addr[16], int family, int prefixlen)
{
	int bits = family == 4 ? 32 : 128;

	for (int i = 0; i < 16; i++) {
		int lo = i * 8;

		if (lo >= bits || prefixlen <= lo)
			addr[i] = 0;
		else if (prefixlen < lo + 8)
			addr[i] &= (uint8_t)(0xff << (8 - (prefixlen - lo)));
	}
}

bool tw_prefix_contains(const uint8_t *a, int alen, const uint8_t *b)
{
	int full = alen / 8, rest = alen % 8;

	if (memcmp(a, b, full))
		return false;
	if (!rest)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static const uint8_t embed_mapped[12] = { [10] = 0xff, [11] = 0xff };

/*
 * Only IPv4-mapped ::ffff:0:0/96 carries an IPv4 host: a socket connected to
 * ::ffff:a.b.c.d talks IPv4 to a.b.c.d. NAT64 64:ff9b::/96, 6to4 2002::/16,
 * IPv4-compatible ::/96 and Teredo are IPv6 addresses of other hosts (a
 * translator, a relay), reached over IPv6: they stay IPv6 rules and
 * destinations, judged only by IPv6 rules.
 */
bool tw_fold_v4(int *family, uint8_t addr[16], int *prefixlen)
{
	uint8_t v4[4];
	int plen;

	if (*family != 6)
		return false;
	if (*prefixlen < 96 || memcmp(addr, embed_mapped, 12))
		return false;
	memcpy(v4, addr + 12, 4);
	plen = *prefixlen - 96;
	memset(addr, 0, 16);
	memcpy(addr, v4, 4);
	mask_addr(addr, 4, plen);
	*family = 4;
	*prefixlen = plen;
	return true;
}

/* ---- text helpers ------------------------------------------------------- */

void tw_rule_host_str(const struct tw_rule *r, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	switch (r->kind) {
	case TW_HOST_CIDR:
		inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->addr, a,
			  sizeof(a));
		snprintf(buf, len, "%s/%d", a, r->prefixlen);
		break;
	case TW_HOST_WILDCARD:
		snprintf(buf, len, "*.%s", r->name ? r->name : "");
		break;
	default:
		snprintf(buf, len, "%s", r->name ? r->name : "");
		break;
	}
}

void tw_ports_str(const struct tw_port_range *p, size_t n, char *buf,
		  size_t len)
{
	size_t off = 0;

	if (!len)
		return;
	buf[0] = '\0';
	if (!n || (n == 1 && p[0].lo == 0 && p[0].hi == 65535)) {
		snprintf(buf, len, "any");
		return;
	}
	for (size_t i = 0; i < n && off < len; i++) {
		int w;

		if (p[i].lo == p[i].hi)
			w = snprintf(buf + off, len - off, "%s%u", i ? "," : "",
				     p[i].lo);
		else
			w = snprintf(buf + off, len - off, "%s%u-%u",
				     i ? "," : "", p[i].lo, p[i].hi);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

int tw_port_range_cmp(const void *a, const void *b)
{
	const struct tw_port_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

/* Sort and merge overlapping or adjacent ranges in place; returns count. */
size_t tw_ports_normalise(struct tw_port_range *p, size_t n)
{
	size_t out = 0;

	if (!n)
		return 0;
	qsort(p, n, sizeof(*p), tw_port_range_cmp);
	for (size_t i = 1; i < n; i++) {
		if ((uint32_t)p[i].lo <= (uint32_t)p[out].hi + 1) {
			if (p[i].hi > p[out].hi)
				p[out].hi = p[i].hi;
		} else {
			p[++out] = p[i];
		}
	}
	return out + 1;
}

void tw_rule_free(struct tw_rule *r)
{
	free(r->name);
	free(r->ports);
	free(r->bundles);
}

int tw_rule_from_endpoint(const struct tw_endpoint *ep, int bundle,
			  struct tw_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->proto = ep->proto;
	r->kind = ep->kind;
	if (ep->kind == TW_HOST_CIDR) {
		r->family = ep->family;
		memcpy(r->addr, ep->addr, 16);
		r->prefixlen = ep->prefixlen;
		tw_fold_v4(&r->family, r->addr, &r->prefixlen);
		mask_addr(r->addr, r->family, r->prefixlen);
	} else {
		r->name = strdup(ep->name ? ep->name : "");
		if (!r->name)
			return -ENOMEM;
		if (ep->kind != TW_HOST_UNIX)
			for (char *p = r->name; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
	}
	if (ep->kind != TW_HOST_UNIX && ep->nports) {
		r->ports = malloc(ep->nports * sizeof(*r->ports));
		if (!r->ports)
			goto nomem;
		memcpy(r->ports, ep->ports, ep->nports * sizeof(*r->ports));
		r->nports = tw_ports_normalise(r->ports, ep->nports);
	} else if (ep->kind != TW_HOST_UNIX) {
		/* the parser never leaves inet ports empty; be safe anyway */
		r->ports = malloc(sizeof(*r->ports));
		if (!r->ports)
			goto nomem;
		r->ports[0] = (struct tw_port_range){ 0, 65535 };
		r->nports = 1;
	}
	r->bundles = malloc(sizeof(*r->bundles));
	if (!r->bundles)
		goto nomem;
	r->bundles[0] = bundle;
	r->nbundles = 1;
	return 0;
nomem:
	tw_rule_free(r);
	return -ENOMEM;
}

char *tw_str_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

enum tw_mode tw_resolve_mode(enum tw_mode own, const struct tw_workspace *ws)
{
	if (own != TW_MODE_UNSET)
		return own;
	if (ws && ws->mode != TW_MODE_UNSET)
		return ws->mode;
	return TW_MODE_ENFORCE;
}

bool tw_resolve_background(enum tw_background own,
			   const struct tw_workspace *ws)
{
	if (own != TW_BG_UNSET)
		return own == TW_BG_ON;
	return ws && ws->background == TW_BG_ON;
}

uint32_t tw_resolve_max_learned(uint64_t own, const struct tw_workspace *ws)
{
	if (own)
		return (uint32_t)own;
	return ws ? (uint32_t)ws->dns_max_learned : 0;
}

/* Each limit: the channel/DM's own, else the workspace's, else the
 * default. A NULL OWN resolves the workspace itself. */
struct tw_limits tw_resolve_limits(const struct tw_limits *own,
				   const struct tw_workspace *ws)
{
	struct tw_limits l = { TW_LIMIT_PIDS_DEFAULT, TW_LIMIT_MEMORY_DEFAULT };

	if (ws && ws->limits.pids)
		l.pids = ws->limits.pids;
	if (ws && ws->limits.memory)
		l.memory = ws->limits.memory;
	if (own && own->pids)
		l.pids = own->pids;
	if (own && own->memory)
		l.memory = own->memory;
	return l;
}

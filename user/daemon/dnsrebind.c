// SPDX-License-Identifier: GPL-2.0-only
/*
 * dnsrebind.c - the rebinding guard of the resolver (see dnsrebind.h).
 */
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsrebind.h"
#include "util.h"

/* Does some IP-literal rule of X cover the address? */
static bool literal_covers(const struct tw_context *x, int family,
			   const uint8_t *a)
{
	for (size_t i = 0; i < x->nrules; i++) {
		const struct tw_rule *r = &x->rules[i];

		if (r->kind == TW_HOST_CIDR && r->family == family &&
		    tw_prefix_contains(r->addr, r->prefixlen, a))
			return true;
	}
	return false;
}

/* Loopback, private, link-local (cloud metadata), CGNAT, multicast,
 * reserved: where a rebinding attack points a public name. */
static bool special_v4(const uint8_t *a)
{
	return a[0] == 0 || a[0] == 10 || a[0] == 127 ||
	       (a[0] == 100 && (a[1] & 0xc0) == 64) ||
	       (a[0] == 169 && a[1] == 254) ||
	       (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	       (a[0] == 192 && a[1] == 168) || a[0] >= 224;
}

static bool special_v6(const uint8_t *a)
{
	static const uint8_t zero[16];

	if (!memcmp(a, zero, 15) && (a[15] == 0 || a[15] == 1))
		return true; /* :: and ::1 */
	return (a[0] & 0xfe) == 0xfc ||		     /* fc00::/7 */
	       (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || /* fe80::/10 */
	       a[0] == 0xff;			     /* multicast */
}

/*
 * This host's addresses, read at most once a second rather than once per
 * answered address (getifaddrs is a netlink dump). Callers hold the daemon
 * lock, which also guards this cache.
 */
static struct {
	struct answer_host {
		int family;
		uint8_t addr[16];
	} *v;
	size_t n;
	uint64_t read_ns;
} own_addrs;

static void own_addrs_refresh(void)
{
	uint64_t now = tw_now_ns(CLOCK_MONOTONIC);
	struct ifaddrs *ifs, *i;
	size_t n = 0;

	if (own_addrs.read_ns && now - own_addrs.read_ns < 1000000000ull)
		return;
	if (getifaddrs(&ifs))
		return; /* keep the last list */
	for (i = ifs; i; i = i->ifa_next)
		n++;
	free(own_addrs.v);
	own_addrs.v = calloc(n + 1, sizeof(*own_addrs.v));
	own_addrs.n = 0;
	for (i = ifs; i && own_addrs.v; i = i->ifa_next) {
		struct answer_host *h = &own_addrs.v[own_addrs.n];

		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			h->family = 4;
			memcpy(h->addr,
			       &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			h->family = 6;
			memcpy(h->addr,
			       &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
			       16);
		} else {
			continue;
		}
		own_addrs.n++;
	}
	freeifaddrs(ifs);
	own_addrs.read_ns = now;
}

static bool host_owns(int family, const uint8_t *a)
{
	own_addrs_refresh();
	for (size_t i = 0; i < own_addrs.n; i++)
		if (own_addrs.v[i].family == family &&
		    !memcmp(own_addrs.v[i].addr, a, family == 4 ? 4 : 16))
			return true;
	return false;
}

bool tw_dns_rebinding(const struct tw_context *x, int family,
		      const uint8_t *addr)
{
	uint8_t a[16] = {};
	int plen = family == 4 ? 32 : 128, fam = family;

	memcpy(a, addr, family == 4 ? 4 : 16);
	tw_fold_v4(&fam, a, &plen);
	if (literal_covers(x, fam, a))
		return false;
	if (fam == 4 ? special_v4(a) : special_v6(a))
		return true;
	return host_owns(family, addr);
}

void tw_dns_rebinding_free(void)
{
	free(own_addrs.v);
	memset(&own_addrs, 0, sizeof(own_addrs));
}

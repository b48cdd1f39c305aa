// SPDX-License-Identifier: GPL-2.0-only
/*
 * service.c - origins of brokered credentials (see service.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"
#include "text.h"

static bool name_valid(const char *h)
{
	size_t n = strlen(h);

	if (!n || n > TW_SERVICE_HOST_MAX || h[0] == '.' || h[n - 1] == '.')
		return false;
	for (const char *p = h; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return false;
	return !strstr(h, "..");
}

int tw_service_parse(const char *text, struct tw_service *s, char *err,
		     size_t errlen)
{
	const char *h, *end, *colon;
	char host[TW_SERVICE_HOST_MAX + 1];
	size_t n;

	memset(s, 0, sizeof(*s));
	if (!strncmp(text, "https://", 8)) {
		s->tls = true;
		s->port = 443;
		h = text + 8;
	} else if (!strncmp(text, "http://", 7)) {
		s->port = 80;
		h = text + 7;
	} else {
		tw_seterr(err, errlen, "must start with https:// or http://");
		return -EINVAL;
	}
	end = h + strlen(h);
	if (end > h && end[-1] == '/')
		end--;
	if (memchr(h, '/', end - h) || memchr(h, '@', end - h) ||
	    memchr(h, '?', end - h)) {
		tw_seterr(err, errlen, "an origin has no path, query or user "
			  "(https://HOST[:PORT])");
		return -EINVAL;
	}
	if (*h == '[') {
		const char *rb = memchr(h, ']', end - h);

		if (!rb || (rb + 1 < end && rb[1] != ':')) {
			tw_seterr(err, errlen, "an IPv6 host is written "
				  "[ADDR] or [ADDR]:PORT");
			return -EINVAL;
		}
		n = rb - h - 1;
		h++;
		colon = rb + 1 < end ? rb + 1 : NULL;
	} else {
		colon = memchr(h, ':', end - h);
		n = (colon ? colon : end) - h;
	}
	if (!n || n > TW_SERVICE_HOST_MAX) {
		tw_seterr(err, errlen, "no host");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		host[i] = (char)tolower((unsigned char)h[i]);
	host[n] = '\0';
	if (colon) {
		char *e;
		unsigned long p;

		errno = 0;
		p = strtoul(colon + 1, &e, 10);
		if (colon + 1 == end || errno || e != end || !p || p > 65535 ||
		    !isdigit((unsigned char)colon[1])) {
			tw_seterr(err, errlen, "the port must be 1-65535");
			return -EINVAL;
		}
		s->port = (uint16_t)p;
	}
	if (inet_pton(AF_INET6, host, s->addr) == 1)
		s->family = 6;
	else if (inet_pton(AF_INET, host, s->addr) == 1)
		s->family = 4;
	else if (!name_valid(host)) {
		tw_seterr(err, errlen, "the host is neither a DNS name nor an "
			  "IP address");
		return -EINVAL;
	}
	memcpy(s->host, host, n + 1);
	return 0;
}

bool tw_header_valid(const char *text)
{
	const char *colon = strchr(text, ':'), *ph;

	if (!colon || colon == text || colon - text > 63 ||
	    strpbrk(text, "\r\n"))
		return false;
	for (const char *p = text; p < colon; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
	ph = strstr(colon, "{}");
	return ph && !strstr(ph + 2, "{}") && strlen(colon) < 250;
}

static bool prefix_holds(const struct tw_endpoint *e, int family,
			 const uint8_t *addr)
{
	int bits = e->prefixlen;

	if (e->family != family)
		return false;
	for (int i = 0; bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		if ((addr[i] & mask) != e->addr[i])
			return false;
	}
	return true;
}

static bool host_covered(const struct tw_service *s,
			 const struct tw_endpoint *e)
{
	size_t hl, nl;

	switch (e->kind) {
	case TW_HOST_CIDR:
		return s->family && prefix_holds(e, s->family, s->addr);
	case TW_HOST_NAME:
		return !s->family && !strcmp(e->name, s->host);
	case TW_HOST_WILDCARD:
		hl = strlen(s->host);
		nl = strlen(e->name);
		return !s->family && hl > nl + 1 &&
		       !strcmp(s->host + hl - nl, e->name) &&
		       s->host[hl - nl - 1] == '.';
	default:
		return false;
	}
}

bool tw_service_reachable(const struct tw_service *s,
			  const struct tw_endpoint *eps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct tw_endpoint *e = &eps[i];

		if (e->proto != TW_PROTO_TCP || !host_covered(s, e))
			continue;
		for (size_t k = 0; k < e->nports; k++)
			if (s->port >= e->ports[k].lo &&
			    s->port <= e->ports[k].hi)
				return true;
	}
	return false;
}

void tw_service_str(const struct tw_service *s, char *out, size_t len)
{
	bool dflt = s->port == (s->tls ? 443 : 80);
	const char *fmt = s->family == 6 ? (dflt ? "%s://[%s]" : "%s://[%s]:%u") :
					   (dflt ? "%s://%s" : "%s://%s:%u");

	snprintf(out, len, fmt, s->tls ? "https" : "http", s->host,
		 (unsigned)s->port);
}

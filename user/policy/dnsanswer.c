// SPDX-License-Identifier: GPL-2.0-only
/*
 * dnsanswer.c - an upstream's answer read from the wire (see
 * dnsanswer.h). Every read is checked against the message's length; a
 * name's jumps are bounded, so a pointer loop ends in -EBADMSG.
 */
#include <errno.h>
#include <string.h>

#include "dnsanswer.h"

/* More jumps than a name of TW_DNAME_MAX_WIRE octets can need. */
#define MAX_JUMPS 128

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

int tw_dns_name_at(const uint8_t *m, size_t len, size_t off,
		   struct tw_dname *n, size_t *next)
{
	size_t o = 0, at = off;
	int jumps = 0;

	memset(n, 0, sizeof(*n));
	*next = 0;
	for (;;) {
		uint8_t l;

		if (at >= len)
			return -EBADMSG;
		l = m[at];
		if ((l & 0xc0) == 0xc0) {
			if (at + 2 > len || ++jumps > MAX_JUMPS)
				return -EBADMSG;
			if (!*next)
				*next = at + 2;
			at = (size_t)(l & 0x3f) << 8 | m[at + 1];
			continue;
		}
		if (l & 0xc0)
			return -EBADMSG; /* another label type */
		if (at + 1 + l > len)
			return -EBADMSG;
		if (o + 1 + l > TW_DNAME_MAX_WIRE)
			return -ENAMETOOLONG;
		memcpy(n->wire + o, m + at, 1 + l);
		n->len = (uint16_t)(o + 1 + l);
		if (!l)
			break;
		n->off[n->nlabels++] = (uint8_t)o;
		o += 1 + l;
		at += 1 + l;
	}
	if (!*next)
		*next = at + 1;
	return 0;
}

int tw_dns_rr_at(const uint8_t *m, size_t len, size_t *off,
		 struct tw_dns_rr *rr)
{
	size_t p;

	if (tw_dns_name_at(m, len, *off, &rr->owner, &p) || p + 10 > len)
		return -EBADMSG;
	rr->type = get16(m + p);
	rr->rclass = get16(m + p + 2);
	rr->ttl = (uint32_t)get16(m + p + 4) << 16 | get16(m + p + 6);
	rr->rdlen = get16(m + p + 8);
	rr->rdoff = p + 10;
	if (rr->rdoff + rr->rdlen > len)
		return -EBADMSG;
	*off = rr->rdoff + rr->rdlen;
	return 0;
}

int tw_dns_msg_check(const uint8_t *m, size_t len, size_t *an,
		     uint16_t *ancount)
{
	struct tw_dname n;
	struct tw_dns_rr rr;
	size_t off = 12, rrs;

	if (len < 12)
		return -EBADMSG;
	for (unsigned int i = 0; i < get16(m + 4); i++) {
		if (tw_dns_name_at(m, len, off, &n, &off) || off + 4 > len)
			return -EBADMSG;
		off += 4;
	}
	*an = off;
	*ancount = get16(m + 6);
	rrs = (size_t)get16(m + 6) + get16(m + 8) + get16(m + 10);
	for (size_t i = 0; i < rrs; i++)
		if (tw_dns_rr_at(m, len, &off, &rr))
			return -EBADMSG;
	return 0;
}

int tw_dns_rr_name_target(const uint8_t *m, size_t len,
			  const struct tw_dns_rr *rr, struct tw_dname *n)
{
	size_t next;

	if (tw_dns_name_at(m, len, rr->rdoff, n, &next) ||
	    next != rr->rdoff + rr->rdlen)
		return -EBADMSG;
	return 0;
}

int tw_dns_ttl_cap(uint8_t *m, size_t len, uint32_t cap)
{
	struct tw_dns_rr rr;
	uint16_t ancount;
	size_t off, rrs;

	if (tw_dns_msg_check(m, len, &off, &ancount))
		return -EBADMSG;
	rrs = (size_t)ancount + get16(m + 8) + get16(m + 10);
	for (size_t i = 0; i < rrs; i++) {
		if (tw_dns_rr_at(m, len, &off, &rr))
			return -EBADMSG;
		/* an OPT record's "TTL" is EDNS's flags, not a time */
		if (rr.type == 41 || rr.ttl <= cap)
			continue;
		m[rr.rdoff - 6] = (uint8_t)(cap >> 24);
		m[rr.rdoff - 5] = (uint8_t)(cap >> 16);
		m[rr.rdoff - 4] = (uint8_t)(cap >> 8);
		m[rr.rdoff - 3] = (uint8_t)cap;
	}
	return 0;
}

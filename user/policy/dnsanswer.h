/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dnsanswer.h - an upstream's answer read straight from the wire, for the
 * addresses it holds (pure: bytes in, data out). Every section's records
 * must lie within the message and every name in it must read (compression
 * pointers followed, at most TW_DNAME_MAX_WIRE octets, a bounded number
 * of jumps): anything else is no answer, never a partial one.
 */
#ifndef TW_DNSANSWER_H
#define TW_DNSANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnswire.h"

/* One resource record of a message. */
struct tw_dns_rr {
	struct tw_dname owner;
	uint16_t type, rclass;
	uint32_t ttl;
	size_t rdoff; /* where its rdata starts in the message */
	uint16_t rdlen;
};

/*
 * The name at OFF of message M (LEN bytes) into N, compression pointers
 * followed. 0 with *NEXT the offset just past the name where it is
 * written; -EBADMSG (cut off, a bad pointer or label type, a pointer
 * loop), -ENAMETOOLONG.
 */
int tw_dns_name_at(const uint8_t *m, size_t len, size_t off,
		   struct tw_dname *n, size_t *next);

/*
 * Check the whole of message M: a header, its questions, and every
 * record of every section readable and within LEN. 0 with *AN the offset
 * of the answer section and *ANCOUNT its records, or -EBADMSG.
 */
int tw_dns_msg_check(const uint8_t *m, size_t len, size_t *an,
		     uint16_t *ancount);

/* The record at *OFF of a checked message, into RR; *OFF moves past it.
 * 0, or -EBADMSG. */
int tw_dns_rr_at(const uint8_t *m, size_t len, size_t *off,
		 struct tw_dns_rr *rr);

/* The name a record's rdata holds at its start (a CNAME's target), which
 * must end exactly where the rdata does: 0, or -EBADMSG. */
int tw_dns_rr_name_target(const uint8_t *m, size_t len,
			  const struct tw_dns_rr *rr, struct tw_dname *n);

/* Cut the TTL of every record of message M (LEN bytes) in every
 * section to at most CAP seconds, in place (an OPT record's field is not
 * a TTL and stays): 0, or -EBADMSG with M unchanged. */
int tw_dns_ttl_cap(uint8_t *m, size_t len, uint32_t cap);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * service.h - the origins of a brokered credential ("services":
 * "https://HOST[:PORT]" or "http://HOST[:PORT]") and its header template
 * ("Name: text {} text"), parsed from their text, and whether a bundle's
 * connect entries reach an origin. Pure, a leaf beside endpoint.h.
 */
#ifndef TW_SERVICE_H
#define TW_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"

#define TW_SERVICE_HOST_MAX 253
#define TW_HEADER_DEFAULT "Authorization: Bearer {}"

struct tw_service {
	bool tls;
	char host[TW_SERVICE_HOST_MAX + 1]; /* lower case; IPv6 without [] */
	uint16_t port;			    /* host order */
	int family;			    /* 4 or 6: HOST is an address; 0: a name */
	uint8_t addr[16];		    /* network order (IPv4: first 4) */
};

/* Parse an origin. 0, or -EINVAL with a message (no location) in ERR. */
int tw_service_parse(const char *text, struct tw_service *s, char *err,
		     size_t errlen);
/* Is TEXT a header template: a token name, ":", text with exactly one {},
 * no CR or LF? */
bool tw_header_valid(const char *text);
/* Does some TCP entry of EPS cover S (its host and its port)? */
bool tw_service_reachable(const struct tw_service *s,
			  const struct tw_endpoint *eps, size_t n);
/* "https://host:port" as the broker and the records name it. */
void tw_service_str(const struct tw_service *s, char *out, size_t len);

#endif

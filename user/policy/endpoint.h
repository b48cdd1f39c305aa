/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * endpoint.h - connect and listen entries ("[tcp://|udp://]HOST[:PORTS]",
 * "unix:PATH"), port sets, resolver upstreams: parsed from their text,
 * without the policy around them.
 */
#ifndef TW_ENDPOINT_H
#define TW_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diags.h"

#define TW_UNIX_PATH_MAX 107	/* sun_path minus the terminating NUL */
#define TW_MAX_PORT_RANGES 16	/* distinct port ranges per prefix/proto */

enum tw_proto {
	TW_PROTO_TCP = 6,  /* IPPROTO_TCP */
	TW_PROTO_UDP = 17, /* IPPROTO_UDP */
	TW_PROTO_UNIX = 1, /* unix:PATH entries */
};

enum tw_host_kind {
	TW_HOST_CIDR,	  /* IPv4/IPv6 address or CIDR (already canonical) */
	TW_HOST_NAME,	  /* exact DNS name, lower case, no trailing dot */
	TW_HOST_WILDCARD, /* "*.name": any name ending in ".name", never "name" */
	TW_HOST_UNIX,	  /* unix:PATH (path in .name) */
};

struct tw_port_range {
	uint16_t lo, hi; /* inclusive, host byte order; 0-65535 = every port */
};

/*
 * One destination as it is written everywhere: a
 * bundle's connect and listen entries, `explain`'s DEST and `audit --dst`
 * all take it, and the audit table prints it (toolwall-policy(5)):
 *   unix:PATH
 *   [tcp://|udp://]HOST[:PORTS][/tcp|/udp]
 * HOST an IPv4 address or CIDR, [IPv6] or [IPv6/LEN], a DNS name, or
 * *.NAME; PORTS 443, 8000-8999, 80,443 (none: every port); the protocol
 * TCP unless a scheme or the suffix says otherwise.
 */
struct tw_endpoint {
	struct tw_loc loc;
	char *text;	     /* the entry as written, for messages */
	enum tw_proto proto; /* tcp, udp or unix */
	bool proto_given;    /* by a scheme or a suffix (else TCP by default) */
	enum tw_host_kind kind;
	/*
	 * TW_HOST_CIDR: family 4 or 6, addr in network byte order (IPv4 in the
	 * first 4 bytes), prefixlen 0..32 or 0..128, host bits cleared.
	 * The parser does NOT fold IPv4-embedding IPv6 forms; the compiler does.
	 */
	int family;
	uint8_t addr[16];
	int prefixlen;
	char *name; /* NAME/WILDCARD: the name (without "*."); UNIX: the path */
	struct tw_port_range *ports; /* sorted, merged; never empty for inet */
	size_t nports;
};

/*
 * Parse a destination ("tcp://10.0.0.0/8:443", "10.0.0.1:53/udp",
 * "unix:/run/x.sock", ...). On error returns -EINVAL and writes a message
 * (no location) to ERR.
 */
int tw_endpoint_parse(const char *text, struct tw_endpoint *ep, char *err,
		      size_t errlen);
void tw_endpoint_free(struct tw_endpoint *ep);
/*
 * Parse a listen entry: "[tcp://|udp://]ADDR:PORTS", ADDR an IPv4 or IPv6
 * address or CIDR (IPv6 in brackets; 0.0.0.0 and :: are the wildcard),
 * PORTS as for connect and required. No names, no unix paths.
 */
int tw_listen_parse(const char *text, struct tw_endpoint *ep, char *err,
		    size_t errlen);
/* Parse "443", "8000-8999", "443,8443", "80,8000-8100" into merged ranges. */
int tw_ports_parse(const char *s, struct tw_port_range **out, size_t *n,
		   char *err, size_t errlen);
/* "ADDR:PORT" or "[V6]:PORT", numeric, as dns.upstream takes it. */
bool tw_upstream_valid(const char *s);

#endif

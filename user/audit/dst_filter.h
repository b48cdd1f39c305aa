/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dst_filter.h - `audit --dst DEST`: DEST in the syntax the audit table
 * prints and the policy's connect entries use (endpoint.h), and the
 * records it picks. Pure.
 */
#ifndef TW_DST_FILTER_H
#define TW_DST_FILTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"

/* 10.0.0.1, 10.0.0.0/8:443, [fd00::1]:53/udp, api.example:443, *.example,
 * unix:/run/x.sock */
struct tw_dst_filter {
	enum tw_host_kind kind;
	char path[512]; /* UNIX: raw bytes, or as the log writes them */
	int family;	/* CIDR: 4 or 6, address, prefix length */
	uint8_t addr[16];
	int plen;
	char name[256]; /* NAME, WILDCARD (without "*.") */
	int proto;	/* 0: either; TW_PROTO_TCP or TW_PROTO_UDP */
	struct tw_port_range ports[TW_MAX_PORT_RANGES];
	size_t nports;	/* 0: every port */
	char err[160];	/* what was wrong with DEST */
};

/* Parse DEST into F. 0, or -EINVAL with F->err saying why. */
int tw_dst_filter_parse(struct tw_dst_filter *f, const char *dest);
/* Is REC's destination one F names (address in the network, name,
 * protocol and port when F gives them; unix path)? */
bool tw_dst_filter_match(const struct tw_dst_filter *f, json_t *rec);

#endif

// SPDX-License-Identifier: GPL-2.0-only
/*
 * dst_filter.c - `audit --dst DEST`: DEST in the syntax the audit table
 * prints and the policy's connect entries use (endpoint.h), read by the
 * policy's own parser, and the records it picks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "compile.h"
#include "dst_filter.h"
#include "record.h"

#define S(r, k) json_string_value(json_object_get(r, k))

/* A unix path is kept as written: its bytes, or as the log encodes them
 * (record.h), never normalised (the record holds what the call passed). */
static int parse_unix_dst(struct tw_dst_filter *f, const char *path)
{
	if (!*path || strlen(path) >= sizeof(f->path)) {
		snprintf(f->err, sizeof(f->err), "unix socket path "
			 "must be 1 to %zu bytes", sizeof(f->path) - 1);
		return -EINVAL;
	}
	f->kind = TW_HOST_UNIX;
	snprintf(f->path, sizeof(f->path), "%s", path);
	return 0;
}

int tw_dst_filter_parse(struct tw_dst_filter *f, const char *s)
{
	struct tw_endpoint ep;
	int ret;

	memset(f, 0, sizeof(*f));
	f->err[0] = '\0';
	if (!strncmp(s, "unix:", 5))
		return parse_unix_dst(f, s + 5);
	ret = tw_endpoint_parse(s, &ep, f->err, sizeof(f->err));
	if (ret == -ENOMEM)
		snprintf(f->err, sizeof(f->err), "out of memory");
	if (ret)
		return -EINVAL;
	f->kind = ep.kind;
	f->family = ep.family;
	memcpy(f->addr, ep.addr, sizeof(f->addr));
	f->plen = ep.prefixlen;
	snprintf(f->name, sizeof(f->name), "%s", ep.name ?: "");
	f->proto = ep.proto_given ? (int)ep.proto : 0;
	f->nports = 0;
	if (ep.nports > TW_MAX_PORT_RANGES) {
		snprintf(f->err, sizeof(f->err), "more than %d port "
			 "ranges", TW_MAX_PORT_RANGES);
		ret = -EINVAL;
	} else if (ep.nports != 1 || ep.ports[0].lo || ep.ports[0].hi != 65535) {
		memcpy(f->ports, ep.ports, ep.nports * sizeof(*ep.ports));
		f->nports = ep.nports;
	}
	tw_endpoint_free(&ep);
	return ret;
}

static bool unix_match(const struct tw_dst_filter *f, json_t *rec)
{
	const char *p = S(rec, "path");
	char enc[4 * sizeof(f->path)];

	/* as the log writes it, or its bytes (record.h) */
	tw_bytes_encode(f->path, strlen(f->path), enc, sizeof(enc));
	return tw_audit_is_unix(rec) && (!strcmp(p, f->path) || !strcmp(p, enc));
}

static bool host_match(const struct tw_dst_filter *f, json_t *rec)
{
	const char *d = S(rec, "dst"), *dom = S(rec, "domain");
	uint8_t addr[16] = {};
	size_t n, dl;

	switch (f->kind) {
	case TW_HOST_CIDR:
		if (!d)
			return false;
		if (inet_pton(AF_INET, d, addr) == 1)
			return f->family == 4 &&
			       tw_prefix_contains(f->addr, f->plen, addr);
		return inet_pton(AF_INET6, d, addr) == 1 && f->family == 6 &&
		       tw_prefix_contains(f->addr, f->plen, addr);
	case TW_HOST_NAME:
		return dom && !strcasecmp(dom, f->name);
	case TW_HOST_WILDCARD: /* any name below, never the name itself */
		n = strlen(f->name);
		dl = dom ? strlen(dom) : 0;
		return dl > n + 1 && dom[dl - n - 1] == '.' &&
		       !strcasecmp(dom + dl - n, f->name);
	default:
		return false;
	}
}

bool tw_dst_filter_match(const struct tw_dst_filter *f, json_t *rec)
{
	json_t *port = json_object_get(rec, "port");
	const char *proto = S(rec, "proto");
	bool in = false;

	if (f->kind == TW_HOST_UNIX)
		return unix_match(f, rec);
	if (!host_match(f, rec))
		return false;
	if (f->proto && (!proto || strcmp(proto, f->proto ==
				      TW_PROTO_UDP ? "udp" : "tcp")))
		return false;
	if (!f->nports)
		return true;
	for (size_t i = 0; json_is_integer(port) && i < f->nports; i++)
		in |= json_integer_value(port) >= f->ports[i].lo &&
		      json_integer_value(port) <= f->ports[i].hi;
	return in;
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * explain.h - questions answered over compiled rules: may CONTEXT reach
 * DEST, which bundle allows it, and for a denial which bundles and contexts
 * would. Pure. Used by `toolwall explain` and by the daemon for the `hint`
 * of audit records.
 */
#ifndef TW_EXPLAIN_H
#define TW_EXPLAIN_H

#include "compile.h"

/* A destination as `explain` takes it. */
struct tw_dest {
	enum tw_proto proto;	/* tcp (default), udp ("/udp" suffix), unix */
	enum tw_host_kind kind; /* CIDR (an address, prefixlen 32/128),
				   NAME, or UNIX */
	int family;
	uint8_t addr[16];
	char name[256]; /* NAME (lower case) or unix path */
	uint16_t port;
	bool listen; /* "listen:ADDR:PORT": may a call bind/accept there? */
};

/*
 * Parse one destination in the syntax every command shares (endpoint.h:
 * "api.example:443", "10.0.0.1:53/udp", "udp://10.0.0.1:53",
 * "[fd00::1]:443", "unix:PATH"), naming one host and one port, or
 * "listen:ADDR:PORT[/udp]" (may a call bind and accept there: loopback
 * always, else a listen entry). Addresses are folded (tw_fold_v4) so
 * ::ffff:10.0.0.1 is judged as 10.0.0.1. Returns 0 or -EINVAL with a
 * message in ERR (a network, a wildcard or several ports ask about more
 * than one destination).
 */
int tw_dest_parse(const char *s, struct tw_dest *d, char *err, size_t errlen);

/* Render a destination as text ("10.0.0.1:443", "[fd00::1]:53/udp",
 * "unix:/run/x.sock", "api.example:443"). */
void tw_dest_format(const struct tw_dest *d, char *buf, size_t len);

struct tw_explain {
	bool allowed;
	int rule;	   /* allowing rule index in the context, or -1 */
	int *bundles;	   /* allowed: bundles granting it; denied: every
			      bundle of the policy that would allow it */
	size_t nbundles;
	int *contexts;	   /* denied: contexts that would allow it */
	size_t ncontexts;
};

/* Does rule R match D? (Names: exact, or "*.x" at any depth below x.) */
bool tw_rule_matches(const struct tw_rule *r, const struct tw_dest *d);

/* Judge D in context CTX (index into c->ctx). Returns 0 or -ENOMEM. */
int tw_explain_dest(const struct tw_compiled *c, int ctx,
		    const struct tw_dest *d, struct tw_explain *out);
void tw_explain_free(struct tw_explain *e);

/* Is D's address (any port) a host some rule of CTX covers for D's
 * protocol (a peer it may accept from)? Bundles as for tw_explain_dest. */
int tw_explain_host(const struct tw_compiled *c, int ctx,
		    const struct tw_dest *d, struct tw_explain *out);

/* Loopback: 127.0.0.0/8, ::1. */
bool tw_addr_loopback(int family, const uint8_t addr[16]);

/* "bundle a (held by workspace:acme, channel:acme/x); bundle b (held by
 * ...)" for the bundles of E, or "" when nothing would allow it; for audit
 * `hint` and exec summaries. */
void tw_explain_hint(const struct tw_compiled *c, const struct tw_explain *e,
		     char *buf, size_t len);

#endif

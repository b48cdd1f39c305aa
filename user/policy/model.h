/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * model.h - the compiled model: what a context holds (its bundles, rules,
 * grants, limits), the rule and address helpers every stage after the
 * compiler shares. compile.h builds it; lower.h lowers it for the kernel;
 * revision.h names a policy; explain and the daemon read it.
 */
#ifndef TW_MODEL_H
#define TW_MODEL_H

#include <jansson.h>

#include "policy.h"

enum tw_ctx_kind { TW_CTX_WORKSPACE, TW_CTX_CHANNEL, TW_CTX_DM };

/* Why a context holds a bundle (GRANTED: a live time-limited grant, for
 * the calls that start while it lasts; see tw_context_with). */
enum tw_grant {
	TW_GRANT_BASELINE,
	TW_GRANT_STEP_UP,
	TW_GRANT_PERSONAL,
	TW_GRANT_GRANTED,
};

struct tw_held {
	int bundle; /* index into policy->bundles */
	enum tw_grant via;
};

/*
 * One effective network rule of a context. CIDR rules are canonical (host
 * bits cleared) and IPv4-mapped IPv6 forms (::ffff:0:0/96) are folded into
 * family 4 (NAT64, 6to4, compatible forms stay IPv6: other hosts). Identical (proto, host, ports) grants from several bundles are
 * one rule with every granting bundle listed; rules with the same
 * (proto, host) have their port sets merged only when the granting bundle
 * lists are equal (so attribution stays exact).
 */
struct tw_rule {
	enum tw_proto proto;
	enum tw_host_kind kind;
	int family;	 /* CIDR: 4 or 6 */
	uint8_t addr[16]; /* CIDR: network byte order, IPv4 in first 4 bytes */
	int prefixlen;
	char *name; /* NAME/WILDCARD: name without "*."; UNIX: path */
	struct tw_port_range *ports; /* merged, sorted; empty for unix */
	size_t nports;
	int *bundles; /* granting bundles, ascending index */
	size_t nbundles;
};

/* A credential a context's tool calls receive. */
struct tw_cred_grant {
	int bundle;
	const struct tw_credential *cred;
	char *source; /* resolved store file (agent file, or DM dir + name) */
};

struct tw_repo_grant {
	int bundle;
	const struct tw_repository *repo; /* if two bundles grant one path,
					     the strongest access wins */
	enum tw_access access;
};

struct tw_skill_grant {
	int bundle;
	const char *path;
};

struct tw_context {
	char *name; /* "workspace:acme", "channel:acme/data", "dm:acme/alice" */
	enum tw_ctx_kind kind;
	int workspace; /* index into policy->workspaces */
	int channel;   /* index or -1 */
	int dm;	       /* index or -1 */
	enum tw_mode mode; /* resolved: the channel/DM's own, else workspace's */
	bool background;   /* resolved likewise: leftovers of a call run on */
	char *cgroup;  /* relative to the toolwall root: "acme/workspace",
			  "acme/channels/data", "acme/dms/alice" */
	const char *run_as; /* Unix account for tool calls (agent user, or a
			       DM's run_as) */
	struct tw_limits limits; /* resolved per key: the channel/DM's own,
				    else the workspace's, else the default;
				    never 0 */
	uint32_t max_learned;	 /* learned-address quota (compile.c):
				    explicit, else the default share; never
				    0 once compiled */
	bool max_learned_set;	 /* explicit (own or workspace's) */
	struct tw_held *held; /* sorted by bundle index */
	size_t nheld;
	struct tw_rule *rules; /* sorted: unix, then v4, v6, names; stable */
	size_t nrules;
	struct tw_rule *listen; /* `listen` grants: CIDR rules, same order
				   and merging as rules */
	size_t nlisten;
	struct tw_cred_grant *creds;
	size_t ncreds;
	struct tw_repo_grant *repos;
	size_t nrepos;
	struct tw_skill_grant *skills;
	size_t nskills;
};

struct tw_compiled {
	const struct tw_policy *pol; /* borrowed; must outlive this */
	struct tw_context *ctx;	     /* workspaces, then channels, then DMs,
					each group in name order */
	size_t nctx;
	char revision[65]; /* SHA-256 hex of the normalised policy */
};

/*
 * Fold an IPv4-mapped IPv6 address/prefix (::ffff:0:0/96) into IPv4 in
 * place; no other IPv6 form. Returns
 * true when it was folded (family becomes 4). Used by the compiler on rules
 * and by explain/daemon on destinations.
 */
bool tw_fold_v4(int *family, uint8_t addr[16], int *prefixlen);

/* A rule's host as text: "10.20.0.0/16", "fd00:30::/32", "api.example",
 * "*.cdn.example", "/run/x.sock". */
void tw_rule_host_str(const struct tw_rule *r, char *buf, size_t len);

/* Does prefix A/ALEN contain address (or prefix start) B? Network order,
 * IPv4 in the first 4 bytes. */
bool tw_prefix_contains(const uint8_t *a, int alen, const uint8_t *b);

/* A port set as text: "443", "8000-8999", "80,443"; "any" when empty or
 * 0-65535. */
void tw_ports_str(const struct tw_port_range *p, size_t n, char *buf,
		  size_t len);

/* Shared by the compiler, the revision and the lowering. */
char *tw_str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ENDPOINT of bundle BUNDLE as a compiled rule (folded, masked). 0 or -errno;
 * free with tw_rule_free. */
int tw_rule_from_endpoint(const struct tw_endpoint *ep, int bundle,
			  struct tw_rule *r);
void tw_rule_free(struct tw_rule *r);
/* qsort order of port ranges: by low, then high end. */
int tw_port_range_cmp(const void *a, const void *b);
/* Sort and merge overlapping or adjacent port ranges in place; returns
 * how many are left. */
size_t tw_ports_normalise(struct tw_port_range *p, size_t n);
/* A context's mode, background and limits: its own, else its workspace's,
 * else the default (shared by the compiler and the revision). */
enum tw_mode tw_resolve_mode(enum tw_mode own, const struct tw_workspace *ws);
bool tw_resolve_background(enum tw_background own,
			   const struct tw_workspace *ws);
struct tw_limits tw_resolve_limits(const struct tw_limits *own,
				   const struct tw_workspace *ws);
/* A context's explicit learned-address quota: its own ("dns":
 * {"max_learned"}), else its workspace's; 0 when neither sets one. */
uint32_t tw_resolve_max_learned(uint64_t own, const struct tw_workspace *ws);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * compile.h - policy model -> the effective rules of every context, each
 * rule naming the bundle(s) that grant it.
 *
 * Pure: no BPF, no files, no logging. maps.c turns the result into kernel
 * map entries; explain.c answers questions over it.
 */
#ifndef TW_COMPILE_H
#define TW_COMPILE_H

#include <jansson.h>

#include "policy.h"

enum tw_ctx_kind { TW_CTX_WORKSPACE, TW_CTX_CHANNEL, TW_CTX_DM };

/* Why a context holds a bundle. */
enum tw_grant { TW_GRANT_BASELINE, TW_GRANT_STEP_UP, TW_GRANT_PERSONAL };

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

/* Limits checked by the compiler (errors name the context). */
#define TW_MAX_CONTEXTS 4096
#define TW_MAX_RULES_PER_CTX 200000

/*
 * Compile POL (already linked). Returns 0, -EINVAL with diagnostics when a
 * limit is exceeded, or -ENOMEM.
 */
int tw_compile(const struct tw_policy *pol, struct tw_compiled *out,
	       struct tw_diags *diags);
void tw_compiled_free(struct tw_compiled *c);
int tw_compiled_find(const struct tw_compiled *c, const char *context);

/*
 * Fold an IPv4-mapped IPv6 address/prefix (::ffff:0:0/96) into IPv4 in
 * place; no other IPv6 form. Returns
 * true when it was folded (family becomes 4). Used by the compiler on rules
 * and by explain/daemon on destinations.
 */
bool tw_fold_v4(int *family, uint8_t addr[16], int *prefixlen);

/*
 * Kernel lowering of one context's CIDR rules for an LPM trie, which returns
 * only the longest matching prefix: every entry carries the union of the
 * port sets of all rules (same proto and family) whose prefix contains it.
 */
struct tw_lpm_entry {
	enum tw_proto proto;
	int family;
	uint8_t addr[16];
	int prefixlen;
	struct tw_port_range ports[TW_MAX_PORT_RANGES];
	size_t nports;
	uint32_t rule; /* index of the most specific rule (attribution) */
};

/* Returns the number of entries in *OUT (malloc'd), or -E2BIG when some
 * entry would need more than TW_MAX_PORT_RANGES ranges (ERR says which),
 * or -ENOMEM. */
long tw_lower_lpm(const struct tw_context *ctx, struct tw_lpm_entry **out,
		  char *err, size_t errlen);

/* The same lowering for the context's `listen` rules (the kernel stores
 * them with proto | TW_PROTO_LISTEN). */
long tw_lower_listen(const struct tw_context *ctx, struct tw_lpm_entry **out,
		     char *err, size_t errlen);

/*
 * The policy revision alone: SHA-256 hex of a canonical form of POL (no
 * locations, objects and unordered lists sorted), so the same policy split
 * across files in another order has the same revision. tw_compile() fills
 * c->revision with it. Returns 0 or -ENOMEM.
 */
int tw_policy_revision(const struct tw_policy *pol, char out[65]);

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

/*
 * What a tool call of context X receives besides its network rules, as
 * compile -j and the launcher (call-start) see it: {"credentials" (name,
 * scope, owner, env, bundle, source: never a value), "repositories",
 * "skills", "instructions"}.
 */
json_t *tw_context_access_json(const struct tw_compiled *c,
			       const struct tw_context *x);
/* [{"bundle", "text"}] of every bundle X holds that has instructions. */
json_t *tw_context_instructions_json(const struct tw_compiled *c,
				     const struct tw_context *x);

#endif

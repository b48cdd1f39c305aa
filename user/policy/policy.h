/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * policy.h - the policy model: JSON policy text -> typed objects with
 * source locations.
 *
 * Pure: the parser takes bytes (plus the file name they came from, for
 * messages) and returns data or diagnostics. It knows nothing of BPF,
 * cgroups or logging. The text stage is parse.c; each kind of object has
 * its own file (workspace.c, bundle.c, credential.c, context.c) and they
 * share the table walker of fields.c. Loading a directory or file from
 * disk lives in policy_load.c, which feeds the bytes in here.
 */
#ifndef TW_POLICY_H
#define TW_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diags.h"
#include "endpoint.h"

/* Limits shared with the compiler; exceeded limits are check errors. */
#define TW_NAME_MAX 63		/* [a-z0-9][a-z0-9._-]{0,62} */
/*
 * Names of workspaces, channels and DMs (persons) may also take the forms
 * chat systems give channels and people (SPEC): [A-Za-z0-9][A-Za-z0-9._@-]
 * {0,127}, upper case kept (names are compared exactly), never a name the
 * kernel gives its own files in a cgroup directory (cgroup.*, memory.*,
 * ...): a context's name is a component of its cgroup path. A context's
 * full name ("channel:WS/NAME") is at most TW_CONTEXT_NAME_MAX bytes, what
 * the daemon's records and resolver hold. Bundle, agent and credential
 * names stay TW_NAME_MAX.
 */
#define TW_CNAME_MAX 128
#define TW_CONTEXT_NAME_MAX 159
#define TW_POLICY_MAX_BYTES (16u << 20) /* per policy file */

/*
 * The resolver's learned addresses ("dns": {"max_learned": N} on a
 * workspace, channel or DM): how many (address, protocol) grants one
 * context may hold at once. All contexts' quotas together fit one slot of
 * the kernel's tw_learned map (TW_MAX_LEARNED / 2, checked in maps.c), so
 * the two slots a reload uses always fit it. A context with no quota of
 * its own or from its workspace gets TW_LEARNED_DEFAULT, or an equal share
 * of what the explicit quotas leave when that is less (compile.c).
 */
#define TW_LEARNED_MAX 131072
#define TW_LEARNED_DEFAULT 1024
#define TW_LEARNED_MIN_SHARE 16 /* a default share below this is an error */


enum tw_scope { TW_SCOPE_READ, TW_SCOPE_WRITE };
enum tw_owner { TW_OWNER_AGENT, TW_OWNER_PERSON };
/* "deliver": UNSET resolves to BROKER when "services" is set, else PLAIN. */
enum tw_deliver { TW_DELIVER_UNSET = 0, TW_DELIVER_BROKER, TW_DELIVER_PLAIN };

struct tw_credential {
	struct tw_loc loc;
	char *name;  /* credential name */
	enum tw_scope scope;
	enum tw_owner owner; /* "owner": "agent" (default) or "person" */
	char *env;   /* env var to set, or NULL */
	char *file;  /* agent store file, or NULL (person: looked up by name) */
	/* Brokering (SPEC "Brokered credentials"): origins where the value is
	 * injected, the header template, and how the value is delivered. */
	char **services; /* "https://HOST[:PORT]" as written, validated */
	struct tw_loc *service_locs;
	size_t nservices;
	char *header;		 /* template with {}, or NULL: the default */
	enum tw_deliver deliver; /* never UNSET after parsing */
	struct tw_loc deliver_loc;
};

/* Is CR brokered (tool calls get a placeholder, never its value)? */
static inline int tw_credential_brokered(const struct tw_credential *cr)
{
	return cr->nservices && cr->deliver == TW_DELIVER_BROKER;
}

enum tw_access { TW_ACCESS_READ, TW_ACCESS_WRITE };

struct tw_repository {
	struct tw_loc loc;
	char *path; /* absolute, normalised (no trailing slash, no . or ..) */
	enum tw_access access;
};

struct tw_bundle {
	struct tw_loc loc; /* of the "bundle" key's value */
	char *name;
	char *description; /* may be NULL */
	struct tw_endpoint *connect;
	size_t nconnect;
	struct tw_endpoint *listen; /* `listen`: CIDR endpoints with ports */
	size_t nlisten;
	struct tw_credential *creds;
	size_t ncreds;
	struct tw_repository *repos;
	size_t nrepos;
	char **skills; /* absolute paths */
	struct tw_loc *skill_locs;
	size_t nskills;
	char *instructions; /* may be NULL */
	bool personal;	    /* some credential has owner "person" */
};

enum tw_mode { TW_MODE_UNSET = 0, TW_MODE_ENFORCE, TW_MODE_AUDIT };

/* "background": what a tool call leaves behind runs on after it (ON) or is
 * killed with it (OFF, the default); UNSET inherits the workspace's. */
enum tw_background { TW_BG_UNSET = 0, TW_BG_OFF, TW_BG_ON };
/*
 * Per-call resource limits ("limits": {"pids": N, "memory": "512M"}) on a
 * workspace, channel or DM. 0 = not set on this object: a channel or DM
 * inherits each limit from its workspace, a workspace from the defaults.
 */
struct tw_limits {
	uint64_t pids;	 /* processes and threads of one call */
	uint64_t memory; /* bytes of memory of one call */
};

#define TW_LIMIT_PIDS_DEFAULT 512
#define TW_LIMIT_MEMORY_DEFAULT (2ULL << 30) /* 2G */
#define TW_LIMIT_PIDS_MAX 4194304	     /* the kernel's PID_MAX_LIMIT */
#define TW_LIMIT_MEMORY_MIN (16ULL << 20)    /* 16M: below, nothing starts */
#define TW_LIMIT_MEMORY_MAX (1ULL << 50)     /* 1P: a typo, not a host */

/* "512M" -> bytes: digits and an optional K, M, G, T or P (powers of 1024).
 * 0, -EINVAL (not a size) or -ERANGE. */
int tw_parse_size(const char *s, uint64_t *out);
/* Bytes -> the shortest exact form tw_parse_size reads back ("2G"). */
void tw_size_str(uint64_t v, char *buf, size_t len);

/* A reference to a bundle by name, resolved to an index by the parser. */
struct tw_ref {
	struct tw_loc loc;
	char *name;
	int bundle; /* index into policy->bundles */
};

struct tw_workspace {
	struct tw_loc loc;
	char *name;
	char *agent_name; /* agent.name */
	char *agent_user; /* agent.user: the Unix account tool calls run as */
	struct tw_ref *baseline;
	size_t nbaseline;
	enum tw_mode mode; /* default enforce */
	char **dns_upstream; /* "ADDR:PORT" strings, validated */
	size_t ndns_upstream;
	uint64_t dns_max_learned; /* 0: not set (see TW_LEARNED_MAX) */
	char **system_paths; /* NULL/0 = documented default */
	size_t nsystem_paths;
	char *credentials_dir; /* agent credential store dir, or NULL */
	char *broker_upstream_ca; /* broker.upstream_ca: extra CA, or NULL */
	enum tw_background background; /* default off */
	struct tw_limits limits;
	uint64_t max_grant; /* ns: longest grant (grantrule.h); 0: default */
};

struct tw_channel {
	struct tw_loc loc;
	char *name;
	char *workspace_name;
	int workspace; /* index into policy->workspaces */
	struct tw_ref *step_up;
	size_t nstep_up;
	enum tw_mode mode; /* UNSET = inherit the workspace's */
	enum tw_background background; /* UNSET = inherit the workspace's */
	struct tw_loc workspace_loc; /* of the "workspace" value */
	struct tw_limits limits;
	uint64_t dns_max_learned; /* 0: the workspace's */
};

struct tw_dm {
	struct tw_loc loc;
	char *name; /* the person */
	char *workspace_name;
	int workspace;
	struct tw_ref *personal;
	size_t npersonal;
	char *credentials_dir; /* the person's own store */
	char *run_as;	       /* local account for this DM, or NULL */
	enum tw_mode mode;
	enum tw_background background; /* UNSET = inherit the workspace's */
	struct tw_loc workspace_loc; /* of the "workspace" value */
	struct tw_limits limits;
	uint64_t dns_max_learned; /* 0: the workspace's */
};

struct tw_policy {
	struct tw_workspace *workspaces;
	size_t nworkspaces;
	struct tw_bundle *bundles;
	size_t nbundles;
	struct tw_channel *channels;
	size_t nchannels;
	struct tw_dm *dms;
	size_t ndms;
	char **files; /* interned file names, owned */
	size_t nfiles;
};

/*
 * Parse one policy document. TEXT/LEN is the content of FILE (used only for
 * locations). A file holds either one object or a top-level array of
 * objects; several objects may also simply follow one another (as in the
 * SPEC examples). Objects are appended to POL. Problems go to DIAGS; parsing
 * continues past them so every problem is reported.
 * Returns 0, or -EINVAL if any diagnostic was added by this call, or
 * -ENOMEM.
 * The model is complete only when no diagnostic was reported: objects
 * without a usable name, and entries with errors, are left out or NULL.
 * Diagnostics own copies of their file names (they outlive POL).
 */
int tw_policy_parse(struct tw_policy *pol, const char *file, const char *text,
		    size_t len, struct tw_diags *diags);

/*
 * Cross-object checks once every document is parsed: duplicate names,
 * dangling bundle and workspace references, personal bundles granted outside
 * a DM, workspaces with no agent account... Resolves tw_ref.bundle and the
 * workspace indexes. Returns 0 or -EINVAL (diagnostics added).
 */
int tw_policy_link(struct tw_policy *pol, struct tw_diags *diags);

void tw_policy_free(struct tw_policy *pol);

/* Parse helpers exposed for the compiler, explain and their tests. */
bool tw_name_valid(const char *s);
/* A workspace, channel or DM name (TW_CNAME_MAX): true, or false with
 * *WHY saying what is wrong (when WHY is not NULL). */
bool tw_cname_valid(const char *s, const char **why);
/* Load a policy from a directory (every *.json below it, sorted) or a file. */
int tw_policy_load(const char *path, struct tw_policy *pol,
		   struct tw_diags *diags);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * policy.h - the policy model: JSON policy text -> typed objects with
 * source locations.
 *
 * Pure: the parser takes bytes (plus the file name they came from, for
 * messages) and returns data or diagnostics. It knows nothing of BPF,
 * cgroups or logging. Loading a directory or file from disk lives in
 * policy_load.c, which feeds the bytes in here.
 */
#ifndef TW_POLICY_H
#define TW_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits shared with the compiler; exceeded limits are check errors. */
#define TW_NAME_MAX 63		/* [a-z0-9][a-z0-9._-]{0,62} */
#define TW_UNIX_PATH_MAX 107	/* sun_path minus the terminating NUL */
#define TW_MAX_PORT_RANGES 16	/* distinct port ranges per prefix/proto */
#define TW_POLICY_MAX_BYTES (16u << 20) /* per policy file */

/* A place in a policy file: 1-based line and column (column counts bytes). */
struct tw_loc {
	const char *file; /* owned by the policy (interned) */
	int line;
	int col;
};

/* One diagnostic: "FILE:LINE:COL: message". */
struct tw_diag {
	struct tw_loc loc;
	char *msg;
};

struct tw_diags {
	struct tw_diag *v;
	size_t n, cap;
};

void tw_diags_add(struct tw_diags *d, struct tw_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tw_diags_free(struct tw_diags *d);
/* Sort by file, line, column (stable) so output order is deterministic. */
void tw_diags_sort(struct tw_diags *d);

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

/* One "connect" entry of a bundle. */
struct tw_endpoint {
	struct tw_loc loc;
	char *text;	     /* the entry as written, for messages */
	enum tw_proto proto; /* tcp, udp or unix */
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

enum tw_scope { TW_SCOPE_READ, TW_SCOPE_WRITE };
enum tw_owner { TW_OWNER_AGENT, TW_OWNER_PERSON };

struct tw_credential {
	struct tw_loc loc;
	char *name;  /* credential name */
	enum tw_scope scope;
	enum tw_owner owner; /* "owner": "agent" (default) or "person" */
	char *env;   /* env var to set, or NULL */
	char *file;  /* agent store file, or NULL (person: looked up by name) */
};

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
	char **system_paths; /* NULL/0 = documented default */
	size_t nsystem_paths;
	char *credentials_dir; /* agent credential store dir, or NULL */
	enum tw_background background; /* default off */
	struct tw_limits limits;
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
/*
 * Parse a connect entry ("tcp://10.0.0.0/8:443", "unix:/run/x.sock", ...).
 * On error returns -EINVAL and writes a message (no location) to ERR.
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

/* Load a policy from a directory (every *.json below it, sorted) or a file. */
int tw_policy_load(const char *path, struct tw_policy *pol,
		   struct tw_diags *diags);

#endif

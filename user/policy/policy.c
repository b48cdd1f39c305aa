/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * policy.c - JSON policy text -> the policy model (see policy.h).
 *
 * jansson parses the JSON; locate.c says where each value sits, so every
 * problem is reported at the offending key or value. Each object is checked
 * against a table of the keys its kind allows, and checking goes on after a
 * problem so that one run reports all of them. tw_policy_link() then does
 * the checks that need the whole policy.
 *
 * Pure: no files, no logging. Problems go to diagnostics, allocation
 * failures come back as -ENOMEM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locate.h"
#include "duration.h"
#include "policy.h"
#include "service.h"
#include "text.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ */
/* Names                                                               */

/* An object's own name in prose: bare when valid, quoted otherwise. */
#define NM(s) ((s) && tw_name_valid(s) ? (s) : Q((s) ? (s) : ""))

bool tw_name_valid(const char *s)
{
	size_t n;

	if (!s || !tw_is_lower_digit(*s))
		return false;
	for (n = 1; s[n]; n++) {
		if (n >= TW_NAME_MAX)
			return false;
		if (!tw_is_lower_digit(s[n]) && !strchr("._-", s[n]))
			return false;
	}
	return true;
}

/* [A-Za-z_][A-Za-z0-9_]*: what a shell and execve's callers accept. */
static bool env_valid(const char *s)
{
	size_t i;

	if (!s || !(*s == '_' || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= 'a' && *s <= 'z')))
		return false;
	for (i = 1; s[i]; i++)
		if (!(s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') ||
		      tw_is_lower_digit(s[i])))
			return false;
	return true;
}

/* [a-z_][a-z0-9_-]{0,31}: the portable subset useradd accepts. */
static bool user_valid(const char *s)
{
	size_t i;

	if (!s || !(*s == '_' || (*s >= 'a' && *s <= 'z')))
		return false;
	for (i = 1; s[i]; i++)
		if (i > 31 || !(tw_is_lower_digit(s[i]) || s[i] == '_' ||
				s[i] == '-'))
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* Parsing: context and value helpers                                  */

struct pctx {
	struct tw_policy *pol;
	struct tw_diags *diags;
	const char *file;   /* interned */
	struct tw_loc here; /* start of the current top-level value */
	int ndiags;	    /* added by this call */
	int err;	    /* -ENOMEM once an allocation failed */
};

static void diag(struct pctx *c, struct tw_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void diag(struct pctx *c, struct tw_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tw_diags_vadd(c->diags, loc, fmt, ap);
	va_end(ap);
	c->ndiags++;
}

/* Where node N's value starts; the top-level value when unknown. */
static struct tw_loc at(const struct pctx *c, const struct tw_lnode *n)
{
	struct tw_loc l = c->here;

	if (n && n->line > 0) {
		l.line = n->line;
		l.col = n->col;
	}
	return l;
}

static struct tw_loc at_key(const struct pctx *c, const struct tw_lnode *n)
{
	struct tw_loc l = at(c, n);

	if (n && n->key_line > 0) {
		l.line = n->key_line;
		l.col = n->key_col;
	}
	return l;
}

static char *xstrdup(struct pctx *c, const char *s)
{
	char *p = strdup(s);

	if (!p)
		c->err = -ENOMEM;
	return p;
}

static void *xcalloc(struct pctx *c, size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p)
		c->err = -ENOMEM;
	return p;
}

/*
 * The model keeps no capacities, so arrays are sized to the next power of
 * two and grow when their length reaches one: appends stay amortised O(1).
 * Returns the (maybe moved) array, or NULL with ARR untouched.
 */
static void *grow(void *arr, size_t n, size_t sz)
{
	size_t cap;

	if (n & (n - 1))
		return arr;
	cap = n ? n * 2 : 1;
	if (cap > SIZE_MAX / sz)
		return NULL;
	return realloc(arr, cap * sz);
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		break;
	}
	return "null";
}

/* ------------------------------------------------------------------ */
/* Parsing: what each kind of object may hold                         */

enum ftype {
	F_NAME,	     /* a name, [a-z0-9][a-z0-9._-]{0,62} */
	F_STRING,    /* any string */
	F_PATH,	     /* an absolute path, normalised */
	F_USER,	     /* a Unix user name */
	F_ENV,	     /* an environment variable name */
	F_WSREF,     /* a workspace's name; its loc goes to .aux */
	F_BOOL,	     /* true/false: the enum tw_background member at .off */
	F_MODE,	     /* enums: the int member at .off */
	F_SCOPE,
	F_OWNER,
	F_ACCESS,
	F_DELIVER,   /* "broker" or "plain" */
	F_HEADER,    /* a header template with one {} */
	F_SERVICES,  /* brokered origins: char * array, locs, count */
	F_REFS,	     /* bundle names: tw_ref array, count at .aux */
	F_PATHS,     /* absolute paths: char * array, count at .aux */
	F_UPSTREAMS, /* DNS resolvers: char * array, count at .aux */
	F_OBJECT,    /* a nested object whose keys fill the same struct */
	F_CONNECT,   /* bundle lists, stored in struct tw_bundle */
	F_LISTEN,
	F_CREDS,
	F_REPOS,
	F_SKILLS,
	F_PIDS,	     /* limits: a process count, uint64_t at .off */
	F_SIZE,	     /* limits: bytes ("512M" or a number), uint64_t */
	F_LEARNED,   /* dns.max_learned: a count of grants, uint64_t */
	F_DURATION,  /* max_grant: DURATION text, ns in a uint64_t */
};

#define NOWHERE SIZE_MAX /* checked, then dropped (descriptions) */

struct schema;

struct field {
	const char *key;
	enum ftype type;
	size_t off; /* member that receives the value, or NOWHERE */
	size_t aux; /* count member of lists; loc member of F_WSREF */
	const struct schema *sub;
};

struct schema {
	const char *what; /* "bundle", "credential"... for messages */
	const struct field *fields;
	size_t n;
};

#define FIELD(st, key, type, m) { key, type, offsetof(st, m), 0, NULL }
#define LIST(st, key, type, m, cnt) \
	{ key, type, offsetof(st, m), offsetof(st, cnt), NULL }
#define TEXT(key) { key, F_STRING, NOWHERE, 0, NULL }
#define SCHEMA(what, f) { what, f, ARRAY_SIZE(f) }

_Static_assert(sizeof(enum tw_mode) == sizeof(int) &&
		       sizeof(enum tw_scope) == sizeof(int) &&
		       sizeof(enum tw_deliver) == sizeof(int) &&
		       sizeof(enum tw_owner) == sizeof(int) &&
		       sizeof(enum tw_access) == sizeof(int),
	       "enum members are written through int *");

static const struct field agent_fields[] = {
	FIELD(struct tw_workspace, "name", F_NAME, agent_name),
	FIELD(struct tw_workspace, "user", F_USER, agent_user),
};
static const struct schema agent_schema = SCHEMA("agent", agent_fields);

static const struct field dns_fields[] = {
	LIST(struct tw_workspace, "upstream", F_UPSTREAMS, dns_upstream,
	     ndns_upstream),
	FIELD(struct tw_workspace, "max_learned", F_LEARNED, dns_max_learned),
};
static const struct schema dns_schema = SCHEMA("dns", dns_fields);

/* A channel or DM may set its own quota; the resolvers are the workspace's. */
static const struct field ch_dns_fields[] = {
	FIELD(struct tw_channel, "max_learned", F_LEARNED, dns_max_learned),
};
static const struct schema ch_dns_schema = SCHEMA("dns", ch_dns_fields);
static const struct field dm_dns_fields[] = {
	FIELD(struct tw_dm, "max_learned", F_LEARNED, dns_max_learned),
};
static const struct schema dm_dns_schema = SCHEMA("dns", dm_dns_fields);
static const struct field broker_fields[] = {
	FIELD(struct tw_workspace, "upstream_ca", F_PATH, broker_upstream_ca),
};
static const struct schema broker_schema = SCHEMA("broker", broker_fields);

/* One "limits" schema per object kind: the fields land in its struct. */
#define LIMITS_SCHEMA(name, st)                                         \
	static const struct field name##_fields[] = {                   \
		FIELD(st, "pids", F_PIDS, limits.pids),                 \
		FIELD(st, "memory", F_SIZE, limits.memory),             \
	};                                                              \
	static const struct schema name##_schema =                      \
		SCHEMA("limits", name##_fields)

LIMITS_SCHEMA(ws_limits, struct tw_workspace);
LIMITS_SCHEMA(ch_limits, struct tw_channel);
LIMITS_SCHEMA(dm_limits, struct tw_dm);

static const struct field workspace_fields[] = {
	FIELD(struct tw_workspace, "workspace", F_NAME, name),
	TEXT("description"),
	{ "agent", F_OBJECT, 0, 0, &agent_schema },
	LIST(struct tw_workspace, "baseline", F_REFS, baseline, nbaseline),
	FIELD(struct tw_workspace, "mode", F_MODE, mode),
	{ "dns", F_OBJECT, 0, 0, &dns_schema },
	{ "broker", F_OBJECT, 0, 0, &broker_schema },
	LIST(struct tw_workspace, "system_paths", F_PATHS, system_paths,
	     nsystem_paths),
	FIELD(struct tw_workspace, "credentials_dir", F_PATH,
	      credentials_dir),
	FIELD(struct tw_workspace, "background", F_BOOL, background),
	{ "limits", F_OBJECT, 0, 0, &ws_limits_schema },
	FIELD(struct tw_workspace, "max_grant", F_DURATION, max_grant),
};
static const struct schema workspace_schema =
	SCHEMA("workspace", workspace_fields);

static const struct field credential_fields[] = {
	FIELD(struct tw_credential, "name", F_NAME, name),
	FIELD(struct tw_credential, "scope", F_SCOPE, scope),
	FIELD(struct tw_credential, "owner", F_OWNER, owner),
	FIELD(struct tw_credential, "env", F_ENV, env),
	FIELD(struct tw_credential, "file", F_PATH, file),
	LIST(struct tw_credential, "services", F_SERVICES, services,
	     nservices),
	FIELD(struct tw_credential, "header", F_HEADER, header),
	FIELD(struct tw_credential, "deliver", F_DELIVER, deliver),
};
static const struct schema credential_schema =
	SCHEMA("credential", credential_fields);

static const struct field repository_fields[] = {
	FIELD(struct tw_repository, "path", F_PATH, path),
	FIELD(struct tw_repository, "access", F_ACCESS, access),
};
static const struct schema repository_schema =
	SCHEMA("repository", repository_fields);

static const struct field bundle_fields[] = {
	FIELD(struct tw_bundle, "bundle", F_NAME, name),
	FIELD(struct tw_bundle, "description", F_STRING, description),
	{ "connect", F_CONNECT, 0, 0, NULL },
	{ "listen", F_LISTEN, 0, 0, NULL },
	{ "credentials", F_CREDS, 0, 0, NULL },
	{ "repositories", F_REPOS, 0, 0, NULL },
	{ "skills", F_SKILLS, 0, 0, NULL },
	FIELD(struct tw_bundle, "instructions", F_STRING, instructions),
};
static const struct schema bundle_schema = SCHEMA("bundle", bundle_fields);

static const struct field channel_fields[] = {
	FIELD(struct tw_channel, "channel", F_NAME, name),
	TEXT("description"),
	LIST(struct tw_channel, "workspace", F_WSREF, workspace_name,
	     workspace_loc),
	LIST(struct tw_channel, "step_up", F_REFS, step_up, nstep_up),
	FIELD(struct tw_channel, "mode", F_MODE, mode),
	FIELD(struct tw_channel, "background", F_BOOL, background),
	{ "limits", F_OBJECT, 0, 0, &ch_limits_schema },
	{ "dns", F_OBJECT, 0, 0, &ch_dns_schema },
};
static const struct schema channel_schema = SCHEMA("channel", channel_fields);

static const struct field dm_fields[] = {
	FIELD(struct tw_dm, "dm", F_NAME, name),
	TEXT("description"),
	LIST(struct tw_dm, "workspace", F_WSREF, workspace_name,
	     workspace_loc),
	LIST(struct tw_dm, "personal", F_REFS, personal, npersonal),
	FIELD(struct tw_dm, "credentials_dir", F_PATH, credentials_dir),
	FIELD(struct tw_dm, "run_as", F_USER, run_as),
	FIELD(struct tw_dm, "mode", F_MODE, mode),
	FIELD(struct tw_dm, "background", F_BOOL, background),
	{ "limits", F_OBJECT, 0, 0, &dm_limits_schema },
	{ "dns", F_OBJECT, 0, 0, &dm_dns_schema },
};
static const struct schema dm_schema = SCHEMA("dm", dm_fields);

struct choice {
	const char *word;
	int val;
};

static const struct choice modes[] = { { "enforce", TW_MODE_ENFORCE },
				       { "audit", TW_MODE_AUDIT } };
static const struct choice scopes[] = { { "read", TW_SCOPE_READ },
					{ "write", TW_SCOPE_WRITE } };
static const struct choice owners[] = { { "agent", TW_OWNER_AGENT },
					{ "person", TW_OWNER_PERSON } };
static const struct choice accesses[] = { { "read", TW_ACCESS_READ },
					  { "write", TW_ACCESS_WRITE } };
static const struct choice delivers[] = { { "broker", TW_DELIVER_BROKER },
					  { "plain", TW_DELIVER_PLAIN } };

static const struct choice *choices(enum ftype t)
{
	switch (t) {
	case F_MODE:
		return modes;
	case F_SCOPE:
		return scopes;
	case F_OWNER:
		return owners;
	case F_DELIVER:
		return delivers;
	default:
		return accesses;
	}
}

/* ------------------------------------------------------------------ */
/* Parsing: values                                                     */

static void walk(struct pctx *c, const struct schema *s, void *obj,
		 json_t *o, const struct tw_lnode *n);

static const char *want_string(struct pctx *c, const char *key, json_t *v,
			       const struct tw_lnode *n)
{
	if (json_is_string(v))
		return json_string_value(v);
	diag(c, at(c, n), "\"%s\" must be a string, not %s", key,
	     type_name(v));
	return NULL;
}

static bool want_array(struct pctx *c, const char *key, const char *of,
		       json_t *v, const struct tw_lnode *n)
{
	if (json_is_array(v))
		return true;
	diag(c, at(c, n), "\"%s\" must be an array of %s, not %s", key, of,
	     type_name(v));
	return false;
}

/* Check one string value; returns the copy to store, or NULL. */
static char *string_value(struct pctx *c, const struct schema *s,
			  const struct field *f, const char *v,
			  struct tw_loc loc)
{
	const char *label = strcmp(f->key, "name") ? f->key : s->what;
	const char *why;
	char *out;

	switch (f->type) {
	case F_NAME:
		/* kept even when invalid, so references to it still resolve */
		if (!tw_name_valid(v))
			diag(c, loc, "invalid %s name %s (names match "
			     "[a-z0-9][a-z0-9._-]{0,62})", label, Q(v));
		break;
	case F_USER:
		if (!user_valid(v)) {
			diag(c, loc, "\"%s\" is not a valid Unix user name: %s "
			     "(use [a-z_][a-z0-9_-]{0,31})", f->key, Q(v));
			return NULL;
		}
		break;
	case F_ENV:
		if (!env_valid(v)) {
			diag(c, loc, "\"%s\" is not a valid environment "
			     "variable name: %s (use [A-Za-z_][A-Za-z0-9_]*)",
			     f->key, Q(v));
			return NULL;
		}
		break;
	case F_HEADER:
		if (!tw_header_valid(v)) {
			diag(c, loc, "\"%s\" must be \"Name: text {} text\" "
			     "with exactly one {} standing for the value "
			     "(e.g. \"%s\"), not %s", f->key,
			     TW_HEADER_DEFAULT, Q(v));
			return NULL;
		}
		break;
	case F_PATH:
		if (tw_path_norm(v, &out, &why) == -EINVAL)
			diag(c, loc, "\"%s\" %s: %s", f->key, why, Q(v));
		else if (!out)
			c->err = -ENOMEM;
		return out;
	default:
		break;
	}
	return xstrdup(c, v);
}

static void take_string(struct pctx *c, const struct schema *s,
			const struct field *f, char *obj, json_t *v,
			const struct tw_lnode *n)
{
	const char *str = want_string(c, f->key, v, n);
	char *val;

	if (!str)
		return;
	val = string_value(c, s, f, str, at(c, n));
	if (f->off == NOWHERE) {
		free(val);
		return;
	}
	*(char **)(obj + f->off) = val;
	if (f->type == F_WSREF)
		*(struct tw_loc *)(obj + f->aux) = at(c, n);
}

static void take_choice(struct pctx *c, const struct field *f, char *obj,
			json_t *v, const struct tw_lnode *n)
{
	const struct choice *ch = choices(f->type);
	const char *str = want_string(c, f->key, v, n);
	int i;

	if (!str)
		return;
	for (i = 0; i < 2; i++) {
		if (!strcmp(str, ch[i].word)) {
			*(int *)(obj + f->off) = ch[i].val;
			return;
		}
	}
	diag(c, at(c, n), "\"%s\" must be \"%s\" or \"%s\", not %s", f->key,
	     ch[0].word, ch[1].word, Q(str));
}

static void take_bool(struct pctx *c, const struct field *f, char *obj,
		      json_t *v, const struct tw_lnode *n)
{
	if (!json_is_boolean(v)) {
		diag(c, at(c, n), "\"%s\" must be true or false, not %s",
		     f->key, type_name(v));
		return;
	}
	*(enum tw_background *)(obj + f->off) =
		json_is_true(v) ? TW_BG_ON : TW_BG_OFF;
}

/* "pids": a whole number of processes, 1..TW_LIMIT_PIDS_MAX. */
static void take_pids(struct pctx *c, const struct field *f, char *obj,
		      json_t *v, const struct tw_lnode *n)
{
	json_int_t x;

	if (!json_is_integer(v)) {
		diag(c, at(c, n), "\"%s\" must be a whole number of processes, "
		     "not %s", f->key,
		     json_is_real(v) ? "a fraction" : type_name(v));
		return;
	}
	x = json_integer_value(v);
	if (x < 1 || x > TW_LIMIT_PIDS_MAX) {
		diag(c, at(c, n), "\"%s\" must be 1 to %d, not %lld", f->key,
		     TW_LIMIT_PIDS_MAX, (long long)x);
		return;
	}
	*(uint64_t *)(obj + f->off) = (uint64_t)x;
}

/* "max_learned": a whole number of learned grants, 1..TW_LEARNED_MAX. */
static void take_learned(struct pctx *c, const struct field *f, char *obj,
			 json_t *v, const struct tw_lnode *n)
{
	json_int_t x;

	if (!json_is_integer(v)) {
		diag(c, at(c, n), "\"%s\" must be a whole number of learned "
		     "addresses, not %s", f->key,
		     json_is_real(v) ? "a fraction" : type_name(v));
		return;
	}
	x = json_integer_value(v);
	if (x < 1 || x > TW_LEARNED_MAX) {
		diag(c, at(c, n), "\"%s\" must be 1 to %d (the learned "
		     "addresses one context may hold at once), not %lld",
		     f->key, TW_LEARNED_MAX, (long long)x);
		return;
	}
	*(uint64_t *)(obj + f->off) = (uint64_t)x;
}

/* Parse "512M", "2G", "1048576": digits and an optional K, M, G, T or P
 * (powers of 1024, either case, an optional trailing "B" or "iB").
 * Returns 0 and the bytes, or -EINVAL (format) / -ERANGE (overflow). */
int tw_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTP";
	uint64_t v = 0;
	const char *p = s, *u;
	int shift = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p && (u = strchr(units, *p & ~0x20))) {
		shift = 10 * (int)(u - units + 1);
		p++;
		if (*p == 'i' && p[1] == 'B')
			p += 2;
		else if (*p == 'B' || *p == 'b')
			p++;
	} else if (*p == 'B') {
		p++;
	}
	if (*p)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

void tw_size_str(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	int i = -1;

	while (i < 4 && v && !(v & 1023)) {
		v >>= 10;
		i++;
	}
	if (i < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "%llu%c", (unsigned long long)v, units[i]);
}

/* "memory": bytes, as "512M" or a whole number, 16M..1P. */
static void take_size(struct pctx *c, const struct field *f, char *obj,
		      json_t *v, const struct tw_lnode *n)
{
	uint64_t x = 0;
	int err = 0;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			err = -ERANGE;
		else
			x = (uint64_t)json_integer_value(v);
	} else if (json_is_string(v)) {
		err = tw_parse_size(json_string_value(v), &x);
	} else {
		diag(c, at(c, n), "\"%s\" must be a size such as \"512M\" or "
		     "\"2G\", not %s", f->key, type_name(v));
		return;
	}
	if (err == -EINVAL) {
		diag(c, at(c, n), "\"%s\": %s is not a size; write digits and "
		     "an optional K, M, G, T or P, e.g. \"512M\"", f->key,
		     Q(json_string_value(v)));
		return;
	}
	if (err || x < TW_LIMIT_MEMORY_MIN || x > TW_LIMIT_MEMORY_MAX) {
		char num[32];

		snprintf(num, sizeof(num), "%lld",
			 (long long)json_integer_value(v));
		diag(c, at(c, n), "\"%s\" must be 16M to 1P (a call needs "
		     "memory to start at all), not %s", f->key,
		     json_is_string(v) ? Q(json_string_value(v)) : num);
		return;
	}
	*(uint64_t *)(obj + f->off) = x;
}

static void take_refs(struct pctx *c, const struct field *f, char *obj,
		      json_t *v, const struct tw_lnode *n)
{
	struct tw_ref *refs;
	size_t i, cnt = 0;
	json_t *e;

	if (!want_array(c, f->key, "bundle names", v, n))
		return;
	refs = xcalloc(c, json_array_size(v), sizeof(*refs));
	if (!refs)
		return;
	json_array_foreach(v, i, e) {
		const struct tw_lnode *en = tw_lnode_elem(n, i);

		if (!json_is_string(e)) {
			diag(c, at(c, en), "entries of \"%s\" must be bundle "
			     "names (strings), not %s", f->key, type_name(e));
			continue;
		}
		refs[cnt].name = xstrdup(c, json_string_value(e));
		if (!refs[cnt].name)
			continue;
		refs[cnt].loc = at(c, en);
		refs[cnt++].bundle = -1;
	}
	*(struct tw_ref **)(obj + f->off) = refs;
	*(size_t *)(obj + f->aux) = cnt;
}

/* A list of strings each checked by F's element type (paths, upstreams). */
static size_t take_strings(struct pctx *c, const struct field *f,
			   json_t *v, const struct tw_lnode *n, char ***out,
			   struct tw_loc **locs)
{
	const char *of = f->type == F_UPSTREAMS ? "\"ADDR:PORT\" strings" :
			 f->type == F_SERVICES ?
						  "origin strings" :
						  "absolute paths";
	size_t i, cnt = 0;
	json_t *e;

	*out = NULL;
	if (locs)
		*locs = NULL;
	if (!want_array(c, f->key, of, v, n))
		return 0;
	*out = xcalloc(c, json_array_size(v), sizeof(**out));
	if (locs)
		*locs = xcalloc(c, json_array_size(v), sizeof(**locs));
	if (!*out || (locs && !*locs))
		return 0;
	json_array_foreach(v, i, e) {
		const struct tw_lnode *en = tw_lnode_elem(n, i);
		const char *s = json_string_value(e), *why;
		char *val = NULL;

		if (!s) {
			diag(c, at(c, en), "entries of \"%s\" must be %s, not "
			     "%s", f->key, of, type_name(e));
		} else if (f->type == F_SERVICES) {
			struct tw_service sv;
			char why2[128];

			if (tw_service_parse(s, &sv, why2, sizeof(why2)) == 0)
				val = xstrdup(c, s);
			else
				diag(c, at(c, en), "invalid service %s: %s "
				     "(use https://HOST[:PORT] or "
				     "http://HOST[:PORT])", Q(s), why2);
		} else if (f->type == F_UPSTREAMS) {
			if (tw_upstream_valid(s))
				val = xstrdup(c, s);
			else
				diag(c, at(c, en), "invalid DNS upstream %s "
				     "(use IPv4:PORT or [IPv6]:PORT, e.g. "
				     "192.0.2.53:53)", Q(s));
		} else if (tw_path_norm(s, &val, &why) == -EINVAL) {
			diag(c, at(c, en), "\"%s\" entry %s: %s", f->key, why,
			     Q(s));
		} else if (!val) {
			c->err = -ENOMEM;
		}
		if (!val)
			continue;
		if (locs)
			(*locs)[cnt] = at(c, en);
		(*out)[cnt++] = val;
	}
	return cnt;
}

static void take_connect(struct pctx *c, struct tw_bundle *b, json_t *v,
			 const struct tw_lnode *n)
{
	size_t i;
	json_t *e;

	if (!want_array(c, "connect", "endpoint strings", v, n))
		return;
	b->connect = xcalloc(c, json_array_size(v), sizeof(*b->connect));
	if (!b->connect)
		return;
	json_array_foreach(v, i, e) {
		struct tw_endpoint *ep = &b->connect[b->nconnect];
		const struct tw_lnode *en = tw_lnode_elem(n, i);
		char err[160];
		int ret;

		if (!json_is_string(e)) {
			diag(c, at(c, en), "entries of \"connect\" must be "
			     "strings, not %s", type_name(e));
			continue;
		}
		ret = tw_endpoint_parse(json_string_value(e), ep, err,
					sizeof(err));
		if (ret == -ENOMEM)
			c->err = ret;
		else if (ret)
			diag(c, at(c, en), "connect entry %s: %s",
			     Q(json_string_value(e)), err);
		if (ret)
			continue;
		ep->loc = at(c, en);
		b->nconnect++;
	}
}

static void take_listen(struct pctx *c, struct tw_bundle *b, json_t *v,
			const struct tw_lnode *n)
{
	size_t i;
	json_t *e;

	if (!want_array(c, "listen", "address strings", v, n))
		return;
	b->listen = xcalloc(c, json_array_size(v), sizeof(*b->listen));
	if (!b->listen)
		return;
	json_array_foreach(v, i, e) {
		struct tw_endpoint *ep = &b->listen[b->nlisten];
		const struct tw_lnode *en = tw_lnode_elem(n, i);
		char err[160];
		int ret;

		if (!json_is_string(e)) {
			diag(c, at(c, en), "entries of \"listen\" must be "
			     "strings, not %s", type_name(e));
			continue;
		}
		ret = tw_listen_parse(json_string_value(e), ep, err,
				      sizeof(err));
		if (ret == -ENOMEM)
			c->err = ret;
		else if (ret)
			diag(c, at(c, en), "listen entry %s: %s",
			     Q(json_string_value(e)), err);
		if (ret)
			continue;
		ep->loc = at(c, en);
		b->nlisten++;
	}
}

static void check_credential(struct pctx *c, struct tw_credential *cr,
			     json_t *o, const struct tw_lnode *n)
{
	const char *owner = json_string_value(json_object_get(o, "owner"));
	const char *nm = cr->name ? cr->name : "";
	bool person;

	if (!json_object_get(o, "name"))
		diag(c, cr->loc, "credential has no \"name\"");
	if (!json_object_get(o, "scope"))
		diag(c, cr->loc, "credential %s has no \"scope\" (\"read\" or "
		     "\"write\": its scope at the provider)", Q(nm));
	/* an unknown owner is already reported; guessing would mislead */
	if (json_object_get(o, "owner") && (!owner ||
	    (strcmp(owner, "agent") && strcmp(owner, "person"))))
		return;
	if (!json_object_get(o, "services")) {
		if (json_object_get(o, "header"))
			diag(c, at_key(c, tw_lnode_member(n, "header", 0)),
			     "credential %s has \"header\" but no "
			     "\"services\": the header is injected only at "
			     "its services", Q(nm));
		if (cr->deliver == TW_DELIVER_BROKER)
			diag(c, cr->deliver_loc,
			     "credential %s: \"deliver\": \"broker\" needs "
			     "\"services\" (where the broker injects it)",
			     Q(nm));
	}
	if (cr->deliver == TW_DELIVER_UNSET)
		cr->deliver = cr->nservices ? TW_DELIVER_BROKER :
					      TW_DELIVER_PLAIN;
	person = owner && !strcmp(owner, "person");
	if (!person && !json_object_get(o, "file"))
		diag(c, cr->loc, "agent-owned credential %s needs \"file\" "
		     "(where the agent's secret is stored)", Q(nm));
	if (person && json_object_get(o, "file"))
		diag(c, at_key(c, tw_lnode_member(n, "file", 0)),
		     "person-owned credential %s must not have \"file\": its "
		     "secret is looked up by name in the DM's credentials_dir",
		     Q(nm));
}

static void strv_free(char **v, size_t n);

static void credential_clear(struct tw_credential *cr)
{
	free(cr->name);
	free(cr->env);
	free(cr->file);
	strv_free(cr->services, cr->nservices);
	free(cr->service_locs);
	free(cr->header);
}

static void take_creds(struct pctx *c, struct tw_bundle *b, json_t *v,
		       const struct tw_lnode *n)
{
	size_t i;
	json_t *e;

	if (!want_array(c, "credentials", "objects", v, n))
		return;
	b->creds = xcalloc(c, json_array_size(v), sizeof(*b->creds));
	if (!b->creds)
		return;
	json_array_foreach(v, i, e) {
		struct tw_credential *cr = &b->creds[b->ncreds];
		const struct tw_lnode *en = tw_lnode_elem(n, i);

		if (!json_is_object(e)) {
			diag(c, at(c, en), "entries of \"credentials\" must be "
			     "objects, not %s", type_name(e));
			continue;
		}
		cr->loc = at(c, en);
		walk(c, &credential_schema, cr, e, en);
		check_credential(c, cr, e, en);
		/* even a broken person-owned credential makes it personal */
		if (cr->owner == TW_OWNER_PERSON)
			b->personal = true;
		if (cr->name) {
			b->ncreds++;
		} else {
			credential_clear(cr);
			memset(cr, 0, sizeof(*cr)); /* the slot is reused */
		}
	}
}

static void take_repos(struct pctx *c, struct tw_bundle *b, json_t *v,
		       const struct tw_lnode *n)
{
	size_t i;
	json_t *e;

	if (!want_array(c, "repositories", "objects", v, n))
		return;
	b->repos = xcalloc(c, json_array_size(v), sizeof(*b->repos));
	if (!b->repos)
		return;
	json_array_foreach(v, i, e) {
		struct tw_repository *r = &b->repos[b->nrepos];
		const struct tw_lnode *en = tw_lnode_elem(n, i);

		if (!json_is_object(e)) {
			diag(c, at(c, en), "entries of \"repositories\" must "
			     "be objects, not %s", type_name(e));
			continue;
		}
		r->loc = at(c, en);
		walk(c, &repository_schema, r, e, en);
		if (!json_object_get(e, "path"))
			diag(c, r->loc, "repository has no \"path\"");
		if (!json_object_get(e, "access"))
			diag(c, r->loc, "repository has no \"access\" "
			     "(\"read\" or \"write\")");
		if (r->path)
			b->nrepos++;
		else
			memset(r, 0, sizeof(*r)); /* the slot is reused */
	}
}

static void take_value(struct pctx *c, const struct schema *s,
		       const struct field *f, char *obj, json_t *v,
		       const struct tw_lnode *n)
{
	switch (f->type) {
	case F_NAME:
	case F_STRING:
	case F_PATH:
	case F_HEADER:
	case F_USER:
	case F_ENV:
	case F_WSREF:
		take_string(c, s, f, obj, v, n);
		break;
	case F_BOOL:
		take_bool(c, f, obj, v, n);
		break;
	case F_MODE:
	case F_SCOPE:
	case F_OWNER:
	case F_ACCESS:
	case F_DELIVER:
		if (f->type == F_DELIVER)
			((struct tw_credential *)obj)->deliver_loc = at(c, n);
		take_choice(c, f, obj, v, n);
		break;
	case F_REFS:
		take_refs(c, f, obj, v, n);
		break;
	case F_SERVICES: {
		struct tw_credential *cr = (struct tw_credential *)obj;

		cr->nservices = take_strings(c, f, v, n, &cr->services,
					     &cr->service_locs);
		break;
	}
	case F_PATHS:
	case F_UPSTREAMS:
		*(size_t *)(obj + f->aux) =
			take_strings(c, f, v, n, (char ***)(obj + f->off),
				     NULL);
		break;
	case F_OBJECT:
		if (json_is_object(v))
			walk(c, f->sub, obj, v, n);
		else
			diag(c, at(c, n), "\"%s\" must be an object, not %s",
			     f->key, type_name(v));
		break;
	case F_CONNECT:
		take_connect(c, (struct tw_bundle *)obj, v, n);
		break;
	case F_LISTEN:
		take_listen(c, (struct tw_bundle *)obj, v, n);
		break;
	case F_CREDS:
		take_creds(c, (struct tw_bundle *)obj, v, n);
		break;
	case F_REPOS:
		take_repos(c, (struct tw_bundle *)obj, v, n);
		break;
	case F_PIDS:
		take_pids(c, f, obj, v, n);
		break;
	case F_SIZE:
		take_size(c, f, obj, v, n);
		break;
	case F_LEARNED:
		take_learned(c, f, obj, v, n);
		break;
	case F_DURATION: {
		char why[256];

		if (!json_is_string(v) ||
		    tw_parse_duration(json_string_value(v),
				      (uint64_t *)(obj + f->off), why,
				      sizeof(why)) ||
		    !*(uint64_t *)(obj + f->off))
			diag(c, at(c, n), "\"%s\" must be a duration above 0s "
			     "and up to 30 days (90s, 15m, 8h)", f->key);
		break;
	}
	case F_SKILLS: {
		struct tw_bundle *b = (struct tw_bundle *)obj;

		b->nskills = take_strings(c, f, v, n, &b->skills,
					  &b->skill_locs);
		break;
	}
	}
}

static void unknown_key(struct pctx *c, const struct schema *s,
			const char *key, const struct tw_lnode *kn)
{
	char allowed[256];
	size_t i, o = 0;

	allowed[0] = '\0';
	for (i = 0; i < s->n && o < sizeof(allowed); i++)
		o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s%s",
				      i ? ", " : "", s->fields[i].key);
	diag(c, at_key(c, kn), "unknown key %s in %s (allowed: %s)", Q(key),
	     s->what, allowed);
}

/* Check every member of O against schema S, filling OBJ. */
static void walk(struct pctx *c, const struct schema *s, void *obj,
		 json_t *o, const struct tw_lnode *n)
{
	const char *key;
	size_t i = 0, j;
	json_t *v;

	json_object_foreach(o, key, v) {
		/* jansson keeps members in source order: I is the hint */
		const struct tw_lnode *kn = tw_lnode_member(n, key, i++);

		for (j = 0; j < s->n; j++)
			if (!strcmp(s->fields[j].key, key))
				break;
		if (j == s->n)
			unknown_key(c, s, key, kn);
		else
			take_value(c, s, &s->fields[j], obj, v, kn);
	}
}

/* ------------------------------------------------------------------ */
/* Parsing: objects                                                    */

static void refs_free(struct tw_ref *refs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(refs[i].name);
	free(refs);
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void bundle_clear(struct tw_bundle *b)
{
	size_t i;

	for (i = 0; i < b->nconnect; i++)
		tw_endpoint_free(&b->connect[i]);
	free(b->connect);
	for (i = 0; i < b->nlisten; i++)
		tw_endpoint_free(&b->listen[i]);
	free(b->listen);
	for (i = 0; i < b->ncreds; i++)
		credential_clear(&b->creds[i]);
	free(b->creds);
	for (i = 0; i < b->nrepos; i++)
		free(b->repos[i].path);
	free(b->repos);
	strv_free(b->skills, b->nskills);
	free(b->skill_locs);
	free(b->name);
	free(b->description);
	free(b->instructions);
}

static void workspace_clear(struct tw_workspace *w)
{
	free(w->name);
	free(w->agent_name);
	free(w->agent_user);
	refs_free(w->baseline, w->nbaseline);
	strv_free(w->dns_upstream, w->ndns_upstream);
	strv_free(w->system_paths, w->nsystem_paths);
	free(w->credentials_dir);
	free(w->broker_upstream_ca);
}

static void channel_clear(struct tw_channel *ch)
{
	free(ch->name);
	free(ch->workspace_name);
	refs_free(ch->step_up, ch->nstep_up);
}

static void dm_clear(struct tw_dm *dm)
{
	free(dm->name);
	free(dm->workspace_name);
	refs_free(dm->personal, dm->npersonal);
	free(dm->credentials_dir);
	free(dm->run_as);
}

/*
 * Append the object parsed into OBJ to ARR, or clear it when it has no
 * usable name (it could never be referred to) or memory ran out.
 */
#define KEEP(c, arr, n, obj, clear)                                    \
	do {                                                           \
		void *p_ = (obj).name ? grow((arr), (n), sizeof(obj)) : NULL; \
		if ((obj).name && !p_)                                 \
			(c)->err = -ENOMEM;                            \
		if (p_) {                                              \
			(arr) = p_;                                    \
			(arr)[(n)++] = (obj);                          \
		} else {                                               \
			clear(&(obj));                                 \
		}                                                      \
	} while (0)

static void check_agent(struct pctx *c, struct tw_workspace *w, json_t *o,
			const struct tw_lnode *n)
{
	json_t *agent = json_object_get(o, "agent");
	struct tw_loc loc = w->loc;

	if (agent && !json_is_object(agent))
		return; /* already reported */
	if (agent)
		loc = at(c, tw_lnode_member(n, "agent", 0));
	if (!json_object_get(agent, "name"))
		diag(c, loc, "workspace %s has no agent name (agent.name)",
		     NM(w->name));
	if (!json_object_get(agent, "user"))
		diag(c, loc, "workspace %s has no agent account (agent.user)",
		     NM(w->name));
}

static void parse_workspace(struct pctx *c, json_t *o,
			    const struct tw_lnode *n)
{
	struct tw_workspace w = { 0 };
	json_t *dns = json_object_get(o, "dns");

	walk(c, &workspace_schema, &w, o, n);
	w.loc = at(c, tw_lnode_member(n, "workspace", 0));
	check_agent(c, &w, o, n);
	if (json_is_object(dns) && !json_object_get(dns, "upstream"))
		diag(c, at(c, tw_lnode_member(n, "dns", 0)), "\"dns\" needs "
		     "\"upstream\", e.g. [\"192.0.2.53:53\"]");
	if (w.mode == TW_MODE_UNSET)
		w.mode = TW_MODE_ENFORCE;
	if (w.background == TW_BG_UNSET)
		w.background = TW_BG_OFF;
	KEEP(c, c->pol->workspaces, c->pol->nworkspaces, w, workspace_clear);
}

/* Each service of a brokered credential must be reachable under a connect
 * entry of its own bundle: the kernel redirects only what it lets through. */
static void check_services(struct pctx *c, const struct tw_bundle *b)
{
	for (size_t i = 0; i < b->ncreds; i++) {
		const struct tw_credential *cr = &b->creds[i];

		for (size_t k = 0; k < cr->nservices; k++) {
			struct tw_service sv;
			char why[128];

			if (tw_service_parse(cr->services[k], &sv, why,
					     sizeof(why)) ||
			    tw_service_reachable(&sv, b->connect, b->nconnect))
				continue;
			diag(c, cr->service_locs[k],
			     "service %s of credential %s is not reachable "
			     "under any \"connect\" entry of bundle %s (add "
			     "\"%s%s%s:%u\")",
			     Q(cr->services[k]), Q(cr->name), NM(b->name),
			     sv.family == 6 ? "[" : "", sv.host,
			     sv.family == 6 ? "]" : "", (unsigned)sv.port);
		}
	}
}

static void parse_bundle(struct pctx *c, json_t *o, const struct tw_lnode *n)
{
	struct tw_bundle b = { 0 };

	walk(c, &bundle_schema, &b, o, n);
	b.loc = at(c, tw_lnode_member(n, "bundle", 0));
	check_services(c, &b);
	KEEP(c, c->pol->bundles, c->pol->nbundles, b, bundle_clear);
}

static void parse_channel(struct pctx *c, json_t *o, const struct tw_lnode *n)
{
	struct tw_channel ch = { .workspace = -1 };

	walk(c, &channel_schema, &ch, o, n);
	ch.loc = at(c, tw_lnode_member(n, "channel", 0));
	if (!json_object_get(o, "workspace"))
		diag(c, ch.loc, "channel %s has no \"workspace\"",
		     NM(ch.name));
	KEEP(c, c->pol->channels, c->pol->nchannels, ch, channel_clear);
}

static void parse_dm(struct pctx *c, json_t *o, const struct tw_lnode *n)
{
	struct tw_dm dm = { .workspace = -1 };

	walk(c, &dm_schema, &dm, o, n);
	dm.loc = at(c, tw_lnode_member(n, "dm", 0));
	if (!json_object_get(o, "workspace"))
		diag(c, dm.loc, "dm %s has no \"workspace\"", NM(dm.name));
	KEEP(c, c->pol->dms, c->pol->ndms, dm, dm_clear);
}

static const struct {
	const char *key;
	void (*parse)(struct pctx *c, json_t *o, const struct tw_lnode *n);
} kinds[] = {
	{ "workspace", parse_workspace },
	{ "bundle", parse_bundle },
	{ "channel", parse_channel },
	{ "dm", parse_dm },
};

/*
 * "workspace" names a workspace object, but in a channel or DM it is the
 * reference to one: only "bundle", "channel" and "dm" exclude each other.
 */
static int kind_of(const char *key)
{
	size_t i;

	for (i = 1; i < ARRAY_SIZE(kinds); i++)
		if (!strcmp(kinds[i].key, key))
			return (int)i;
	return -1;
}

static void parse_object(struct pctx *c, json_t *o, const struct tw_lnode *n)
{
	const char *key;
	size_t i = 0;
	int kind = -1;
	json_t *v;

	if (!json_is_object(o)) {
		diag(c, at(c, n), "expected a policy object (workspace, "
		     "bundle, channel or dm), not %s", type_name(o));
		return;
	}
	json_object_foreach(o, key, v) {
		int k = kind_of(key);

		i++;
		if (k < 0)
			continue;
		if (kind >= 0) {
			diag(c, at_key(c, tw_lnode_member(n, key, i - 1)),
			     "object has both \"%s\" and \"%s\" (each object "
			     "is one workspace, bundle, channel or dm)",
			     kinds[kind].key, key);
			return;
		}
		kind = k;
	}
	if (kind < 0 && json_object_get(o, "workspace"))
		kind = 0;
	if (kind < 0) {
		diag(c, at(c, n), "object has none of the keys \"workspace\", "
		     "\"bundle\", \"channel\", \"dm\"");
		return;
	}
	kinds[kind].parse(c, o, n);
}

/* ------------------------------------------------------------------ */
/* Parsing: the text                                                   */

/* Advance LINE:COL (the position of TEXT[FROM]) to TEXT[TO]. */
static void advance(const char *text, size_t from, size_t to, int *line,
		    int *col)
{
	for (; from < to; from++) {
		if (text[from] == '\n') {
			if (*line < INT_MAX)
				(*line)++;
			*col = 1;
		} else if (*col < INT_MAX) {
			(*col)++;
		}
	}
}

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* jansson's message, with control and non-ASCII bytes escaped. */
static void json_text(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in && o + 5 < outlen; in++) {
		unsigned char ch = (unsigned char)*in;

		if (ch < 0x20 || ch >= 0x7f)
			o += (size_t)snprintf(out + o, 5, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
}

/*
 * jansson stops just after a repeated key. Report it at its opening
 * quote, and say where the first one is when the locator can tell.
 */
static bool dup_key(struct pctx *c, const char *text, size_t off,
		    size_t end, struct tw_loc loc)
{
	const struct tw_lnode *parent;
	struct tw_lnode *root;
	size_t q, idx, j;
	bool found = false, done = false;

	if (end <= off + 1 || text[end - 1] != '"')
		return false;
	/* its opening quote: the nearest '"' after an even run of '\' */
	for (q = end - 1; !found && q-- > off;) {
		size_t bs = 0;

		while (q - bs > off && text[q - bs - 1] == '\\')
			bs++;
		found = text[q] == '"' && !(bs & 1);
	}
	if (!found)
		return false;
	loc.line = c->here.line;
	loc.col = c->here.col;
	advance(text, off, q, &loc.line, &loc.col);
	if (tw_locate(text, end, off, c->here.line, c->here.col, &root) ==
	    -ENOMEM)
		c->err = -ENOMEM;
	if (!tw_lnode_find_key(root, loc.line, loc.col, &parent, &idx)) {
		for (j = 0; j < idx && !done; j++) {
			const struct tw_lnode *k = &parent->kids[j];

			if (!k->key || strcmp(k->key, parent->kids[idx].key))
				continue;
			diag(c, loc, "duplicate key %s (first at line %d, "
			     "column %d)", Q(k->key), k->key_line, k->key_col);
			done = true;
		}
	}
	tw_locate_free(root);
	return done;
}

static void json_error(struct pctx *c, const char *text, size_t len,
		       size_t off, const json_error_t *je)
{
	struct tw_loc loc = c->here;
	size_t end = off + (je->position > 0 ? (size_t)je->position : 0);
	char msg[JSON_ERROR_TEXT_LENGTH * 4];

	if (end > len)
		end = len;
	/* jansson points after the last byte it read: report that byte */
	advance(text, off, end > off ? end - 1 : off, &loc.line, &loc.col);
	if (json_error_code(je) == json_error_duplicate_key &&
	    dup_key(c, text, off, end, loc))
		return;
	json_text(je->text, msg, sizeof(msg));
	diag(c, loc, "invalid JSON: %s", msg);
}

/* One top-level JSON value: an object or an array of objects. */
static int parse_value(struct pctx *c, const char *text, size_t len,
		       size_t *off)
{
	json_error_t je;
	struct tw_lnode *root;
	size_t i, end;
	json_t *v, *e;

	v = json_loadb(text + *off, len - *off,
		       JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &je);
	if (!v) {
		json_error(c, text, len, *off, &je);
		return -EINVAL;
	}
	end = *off + (size_t)(je.position > 0 ? je.position : 0);
	if (end <= *off || end > len) /* cannot happen; never loop on it */
		end = len;
	if (tw_locate(text, end, *off, c->here.line, c->here.col, &root) ==
	    -ENOMEM)
		c->err = -ENOMEM;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			parse_object(c, e, tw_lnode_elem(root, i));
	} else {
		parse_object(c, v, root);
	}
	tw_locate_free(root);
	json_decref(v);
	*off = end;
	return 0;
}

static const char *intern(struct tw_policy *pol, const char *file)
{
	char **files, *copy;
	size_t i;

	for (i = pol->nfiles; i-- > 0;)
		if (!strcmp(pol->files[i], file))
			return pol->files[i];
	copy = strdup(file);
	files = copy ? grow(pol->files, pol->nfiles, sizeof(*files)) : NULL;
	if (!files) {
		free(copy);
		return NULL;
	}
	pol->files = files;
	pol->files[pol->nfiles++] = copy;
	return copy;
}

int tw_policy_parse(struct tw_policy *pol, const char *file, const char *text,
		    size_t len, struct tw_diags *diags)
{
	struct pctx c = { .pol = pol, .diags = diags };
	size_t off = 0;
	int line = 1, col = 1;
	const char *nul;
	bool any = false;

	if (!text)
		len = 0;
	c.file = intern(pol, file ? file : "(policy)");
	if (!c.file)
		return -ENOMEM;
	c.here = (struct tw_loc){ c.file, 1, 1 };
	if (len > TW_POLICY_MAX_BYTES) {
		diag(&c, c.here, "policy file is too large (%zu bytes, the "
		     "limit is %u MiB)", len, TW_POLICY_MAX_BYTES >> 20);
		return -EINVAL;
	}
	/*
	 * No JSON text holds a NUL byte, and jansson silently skips some,
	 * which would throw its positions off ours: refuse them outright.
	 */
	nul = len ? memchr(text, '\0', len) : NULL;
	if (nul) {
		advance(text, 0, (size_t)(nul - text), &c.here.line,
			&c.here.col);
		diag(&c, c.here, "NUL byte in policy file (expected JSON text)");
		return -EINVAL;
	}
	/* Several values may follow one another, as in the SPEC's example. */
	for (;;) {
		size_t start = off;

		while (off < len && is_ws(text[off]))
			off++;
		advance(text, start, off, &line, &col);
		if (off == len)
			break;
		c.here.line = line;
		c.here.col = col;
		start = off;
		if (parse_value(&c, text, len, &off))
			break; /* no way to resynchronise after bad JSON */
		advance(text, start, off, &line, &col);
		any = true;
	}
	if (!any && !c.ndiags)
		diag(&c, c.here, "empty policy file (expected a JSON object or "
		     "an array of objects)");
	if (c.err)
		return c.err;
	return c.ndiags ? -EINVAL : 0;
}

void tw_policy_free(struct tw_policy *pol)
{
	size_t i;

	for (i = 0; i < pol->nworkspaces; i++)
		workspace_clear(&pol->workspaces[i]);
	for (i = 0; i < pol->nbundles; i++)
		bundle_clear(&pol->bundles[i]);
	for (i = 0; i < pol->nchannels; i++)
		channel_clear(&pol->channels[i]);
	for (i = 0; i < pol->ndms; i++)
		dm_clear(&pol->dms[i]);
	strv_free(pol->files, pol->nfiles);
	free(pol->workspaces);
	free(pol->bundles);
	free(pol->channels);
	free(pol->dms);
	memset(pol, 0, sizeof(*pol));
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fields.h - the policy parser's walker: each kind of object is a table of
 * the keys it may hold (struct tw_field), and tw_walk() checks a JSON object
 * against its table, filling a struct of the model and reporting every
 * problem at the offending key or value.
 *
 * Shared by the files that parse one kind of object each (workspace.c,
 * bundle.c, credential.c, context.c) and by the text stage (parse.c).
 * Pure: problems go to diagnostics, allocation failures to c->err.
 */
#ifndef TW_FIELDS_H
#define TW_FIELDS_H

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "locate.h"
#include "policy.h"
#include "text.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* An object's own name in prose: bare when valid, quoted otherwise. */
#define NM(s) ((s) && tw_cname_valid(s, NULL) ? (s) : Q((s) ? (s) : ""))

/* One tw_policy_parse() call. */
struct tw_pctx {
	struct tw_policy *pol;
	struct tw_diags *diags;
	const char *file;   /* interned */
	struct tw_loc here; /* start of the current top-level value */
	int ndiags;	    /* added by this call */
	int err;	    /* -ENOMEM once an allocation failed */
};

void tw_pdiag(struct tw_pctx *c, struct tw_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Where node N's value starts; the top-level value when unknown. */
static inline struct tw_loc tw_at(const struct tw_pctx *c,
				  const struct tw_lnode *n)
{
	struct tw_loc l = c->here;

	if (n && n->line > 0) {
		l.line = n->line;
		l.col = n->col;
	}
	return l;
}

/* Where node N's key starts (its value when it has none). */
static inline struct tw_loc tw_at_key(const struct tw_pctx *c,
				      const struct tw_lnode *n)
{
	struct tw_loc l = tw_at(c, n);

	if (n && n->key_line > 0) {
		l.line = n->key_line;
		l.col = n->key_col;
	}
	return l;
}

static inline char *tw_pstrdup(struct tw_pctx *c, const char *s)
{
	char *p = strdup(s);

	if (!p)
		c->err = -ENOMEM;
	return p;
}

static inline void *tw_pcalloc(struct tw_pctx *c, size_t n, size_t sz)
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
void *tw_grow(void *arr, size_t n, size_t sz);

/* "an object", "a string"...: V's JSON type in a message. */
const char *tw_json_type(const json_t *v);

enum tw_ftype {
	F_NAME,	     /* a name, [a-z0-9][a-z0-9._-]{0,62} */
	F_CNAME,     /* a workspace's, channel's or DM's (tw_cname_valid) */
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
	F_DELIVER,   /* "broker" or "plain"; its loc goes to .aux */
	F_HEADER,    /* a header template with one {} */
	F_SERVICES,  /* brokered origins (strings of a .take list) */
	F_REFS,	     /* bundle names: tw_ref array, count at .aux */
	F_PATHS,     /* absolute paths: char * array, count at .aux */
	F_UPSTREAMS, /* DNS resolvers: char * array, count at .aux */
	F_OBJECT,    /* a nested object whose keys fill the same struct */
	F_TAKE,	     /* filled by the row's own .take (bundle lists) */
	F_PIDS,	     /* limits: a process count, uint64_t at .off */
	F_SIZE,	     /* limits: bytes ("512M" or a number), uint64_t */
	F_LEARNED,   /* dns.max_learned: a count of grants, uint64_t */
	F_DURATION,  /* max_grant: DURATION text, ns in a uint64_t */
};

#define NOWHERE SIZE_MAX /* checked, then dropped (descriptions) */

struct tw_schema;
struct tw_field;

/* A row's own taker: fills OBJ from V (the value at node N). */
typedef void tw_take_fn(struct tw_pctx *c, const struct tw_field *f, void *obj,
			json_t *v, const struct tw_lnode *n);

struct tw_field {
	const char *key;
	enum tw_ftype type;
	size_t off; /* member that receives the value, or NOWHERE */
	size_t aux; /* count member of lists; loc member of F_WSREF */
	const struct tw_schema *sub;
	tw_take_fn *take; /* when set, it takes the value (any type) */
};

struct tw_schema {
	const char *what; /* "bundle", "credential"... for messages */
	const struct tw_field *fields;
	size_t n;
};

#define FIELD(st, key, type, m) { key, type, offsetof(st, m), 0, NULL, NULL }
#define LIST(st, key, type, m, cnt) \
	{ key, type, offsetof(st, m), offsetof(st, cnt), NULL, NULL }
#define TEXT(key) { key, F_STRING, NOWHERE, 0, NULL, NULL }
/* A list filled by its own taker FN (array at M, count at CNT). */
#define TAKE(st, key, m, cnt, fn) \
	{ key, F_TAKE, offsetof(st, m), offsetof(st, cnt), NULL, fn }
#define SCHEMA(what, f) { what, f, ARRAY_SIZE(f) }

/* One "limits" schema per object kind: the fields land in its struct. */
#define LIMITS_SCHEMA(name, st)                                         \
	static const struct tw_field name##_fields[] = {                \
		FIELD(st, "pids", F_PIDS, limits.pids),                 \
		FIELD(st, "memory", F_SIZE, limits.memory),             \
	};                                                              \
	static const struct tw_schema name##_schema =                   \
		SCHEMA("limits", name##_fields)

/* Check every member of O against schema S, filling OBJ. */
void tw_walk(struct tw_pctx *c, const struct tw_schema *s, void *obj, json_t *o,
	     const struct tw_lnode *n);

/* Is V an array? Reports "KEY must be an array of OF" when not. */
bool tw_want_array(struct tw_pctx *c, const char *key, const char *of,
		   json_t *v, const struct tw_lnode *n);

/*
 * A list of strings each checked by F's element type (F_PATHS, F_UPSTREAMS,
 * F_SERVICES) into *OUT (and their locations into *LOCS when not NULL).
 * Returns how many were kept.
 */
size_t tw_take_strings(struct tw_pctx *c, const struct tw_field *f, json_t *v,
		       const struct tw_lnode *n, char ***out,
		       struct tw_loc **locs);

void tw_strv_free(char **v, size_t n);
void tw_refs_free(struct tw_ref *refs, size_t n);

/*
 * Append the object parsed into OBJ to ARR, or clear it when it has no
 * usable name (it could never be referred to) or memory ran out.
 */
#define KEEP(c, arr, n, obj, clear)                                    \
	do {                                                           \
		void *p_ = (obj).name ? tw_grow((arr), (n), sizeof(obj)) : \
					NULL;                          \
		if ((obj).name && !p_)                                 \
			(c)->err = -ENOMEM;                            \
		if (p_) {                                              \
			(arr) = p_;                                    \
			(arr)[(n)++] = (obj);                          \
		} else {                                               \
			clear(&(obj));                                 \
		}                                                      \
	} while (0)

#endif

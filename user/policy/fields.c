/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fields.c - the policy parser's walker (see fields.h): names, values and
 * the table walk that every kind of object is parsed with.
 *
 * Pure: no files, no logging. Problems go to diagnostics, allocation
 * failures come back through c->err.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "fields.h"
#include "service.h"

/* ------------------------------------------------------------------ */
/* Names                                                               */

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

/* The prefixes of the files the kernel puts in every cgroup directory. */
static const char *const cgroup_files[] = {
	"cgroup",  "cpu",     "cpuset",	    "cpuacct", "io",	  "blkio",
	"memory",  "pids",    "rdma",	    "hugetlb", "misc",	  "devices",
	"freezer", "net_cls", "net_prio",   "perf_event",
};

bool tw_cname_valid(const char *s, const char **why)
{
	const char *dot;
	size_t n;

	if (why)
		*why = "names match [A-Za-z0-9][A-Za-z0-9._@-]{0,127}";
	if (!s || !isalnum((unsigned char)*s))
		return false;
	for (n = 1; s[n]; n++) {
		if (n >= TW_CNAME_MAX)
			return false;
		if (!isalnum((unsigned char)s[n]) && !strchr("@._-", s[n]))
			return false;
	}
	dot = strchr(s, '.');
	for (n = 0; dot && n < ARRAY_SIZE(cgroup_files); n++) {
		if ((size_t)(dot - s) == strlen(cgroup_files[n]) &&
		    !strncmp(s, cgroup_files[n], (size_t)(dot - s))) {
			if (why)
				*why = "a name the kernel gives its own files in "
				       "every cgroup directory (cgroup.*, "
				       "memory.*, ...): a context's name is a "
				       "directory there";
			return false;
		}
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

void tw_pdiag(struct tw_pctx *c, struct tw_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tw_diags_vadd(c->diags, loc, fmt, ap);
	va_end(ap);
	c->ndiags++;
}


void *tw_grow(void *arr, size_t n, size_t sz)
{
	size_t cap;

	if (n & (n - 1))
		return arr;
	cap = n ? n * 2 : 1;
	if (cap > SIZE_MAX / sz)
		return NULL;
	return realloc(arr, cap * sz);
}

const char *tw_json_type(const json_t *v)
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

static const struct choice *choices(enum tw_ftype t)
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

static const char *want_string(struct tw_pctx *c, const char *key, json_t *v,
			       const struct tw_lnode *n)
{
	if (json_is_string(v))
		return json_string_value(v);
	tw_pdiag(c, tw_at(c, n), "\"%s\" must be a string, not %s", key,
		 tw_json_type(v));
	return NULL;
}

bool tw_want_array(struct tw_pctx *c, const char *key, const char *of,
		   json_t *v, const struct tw_lnode *n)
{
	if (json_is_array(v))
		return true;
	tw_pdiag(c, tw_at(c, n), "\"%s\" must be an array of %s, not %s", key,
		 of, tw_json_type(v));
	return false;
}

/* Check one string value; returns the copy to store, or NULL. */
static char *string_value(struct tw_pctx *c, const struct tw_schema *s,
			  const struct tw_field *f, const char *v,
			  struct tw_loc loc)
{
	const char *label = strcmp(f->key, "name") ? f->key : s->what;
	const char *why;
	char *out;

	switch (f->type) {
	case F_CNAME:
		/* kept even when invalid, so references to it still resolve */
		if (!tw_cname_valid(v, &why))
			tw_pdiag(c, loc, "invalid %s name %s (%s)", label, Q(v),
				 why);
		break;
	case F_NAME:
		/* kept even when invalid, so references to it still resolve */
		if (!tw_name_valid(v))
			tw_pdiag(c, loc,
				 "invalid %s name %s (names match "
				 "[a-z0-9][a-z0-9._-]{0,62})",
				 label, Q(v));
		break;
	case F_USER:
		if (!user_valid(v)) {
			tw_pdiag(c, loc,
				 "\"%s\" is not a valid Unix user name: %s "
				 "(use [a-z_][a-z0-9_-]{0,31})",
				 f->key, Q(v));
			return NULL;
		}
		break;
	case F_ENV:
		if (!env_valid(v)) {
			tw_pdiag(
			    c, loc,
			    "\"%s\" is not a valid environment "
			    "variable name: %s (use [A-Za-z_][A-Za-z0-9_]*)",
			    f->key, Q(v));
			return NULL;
		}
		break;
	case F_HEADER:
		if (!tw_header_valid(v)) {
			tw_pdiag(c, loc,
				 "\"%s\" must be \"Name: text {} text\" "
				 "with exactly one {} standing for the value "
				 "(e.g. \"%s\"), not %s",
				 f->key, TW_HEADER_DEFAULT, Q(v));
			return NULL;
		}
		break;
	case F_PATH:
		if (tw_path_norm(v, &out, &why) == -EINVAL)
			tw_pdiag(c, loc, "\"%s\" %s: %s", f->key, why, Q(v));
		else if (!out)
			c->err = -ENOMEM;
		return out;
	default:
		break;
	}
	return tw_pstrdup(c, v);
}

static void take_string(struct tw_pctx *c, const struct tw_schema *s,
			const struct tw_field *f, char *obj, json_t *v,
			const struct tw_lnode *n)
{
	const char *str = want_string(c, f->key, v, n);
	char *val;

	if (!str)
		return;
	val = string_value(c, s, f, str, tw_at(c, n));
	if (f->off == NOWHERE) {
		free(val);
		return;
	}
	*(char **)(obj + f->off) = val;
	if (f->type == F_WSREF)
		*(struct tw_loc *)(obj + f->aux) = tw_at(c, n);
}

static void take_choice(struct tw_pctx *c, const struct tw_field *f, char *obj,
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
	tw_pdiag(c, tw_at(c, n), "\"%s\" must be \"%s\" or \"%s\", not %s",
		 f->key, ch[0].word, ch[1].word, Q(str));
}

static void take_bool(struct tw_pctx *c, const struct tw_field *f, char *obj,
		      json_t *v, const struct tw_lnode *n)
{
	if (!json_is_boolean(v)) {
		tw_pdiag(c, tw_at(c, n), "\"%s\" must be true or false, not %s",
			 f->key, tw_json_type(v));
		return;
	}
	*(enum tw_background *)(obj + f->off) =
		json_is_true(v) ? TW_BG_ON : TW_BG_OFF;
}

/* "pids": a whole number of processes, 1..TW_LIMIT_PIDS_MAX. */
static void take_pids(struct tw_pctx *c, const struct tw_field *f, char *obj,
		      json_t *v, const struct tw_lnode *n)
{
	json_int_t x;

	if (!json_is_integer(v)) {
		tw_pdiag(c, tw_at(c, n),
			 "\"%s\" must be a whole number of processes, "
			 "not %s",
			 f->key,
			 json_is_real(v) ? "a fraction" : tw_json_type(v));
		return;
	}
	x = json_integer_value(v);
	if (x < 1 || x > TW_LIMIT_PIDS_MAX) {
		tw_pdiag(c, tw_at(c, n), "\"%s\" must be 1 to %d, not %lld",
			 f->key, TW_LIMIT_PIDS_MAX, (long long)x);
		return;
	}
	*(uint64_t *)(obj + f->off) = (uint64_t)x;
}

/* "max_learned": a whole number of learned grants, 1..TW_LEARNED_MAX. */
static void take_learned(struct tw_pctx *c, const struct tw_field *f, char *obj,
			 json_t *v, const struct tw_lnode *n)
{
	json_int_t x;

	if (!json_is_integer(v)) {
		tw_pdiag(c, tw_at(c, n),
			 "\"%s\" must be a whole number of learned "
			 "addresses, not %s",
			 f->key,
			 json_is_real(v) ? "a fraction" : tw_json_type(v));
		return;
	}
	x = json_integer_value(v);
	if (x < 1 || x > TW_LEARNED_MAX) {
		tw_pdiag(c, tw_at(c, n),
			 "\"%s\" must be 1 to %d (the learned "
			 "addresses one context may hold at once), not %lld",
			 f->key, TW_LEARNED_MAX, (long long)x);
		return;
	}
	*(uint64_t *)(obj + f->off) = (uint64_t)x;
}

/* max_grant: DURATION text ("90s", "15m", "8h") into ns, above 0. */
static void take_duration(struct tw_pctx *c, const struct tw_field *f,
			  char *obj, json_t *v, const struct tw_lnode *n)
{
	uint64_t *ns = (uint64_t *)(obj + f->off);
	char why[256];

	if (!json_is_string(v) ||
	    tw_parse_duration(json_string_value(v), ns, why, sizeof(why)) ||
	    !*ns)
		tw_pdiag(c, tw_at(c, n),
			 "\"%s\" must be a duration above 0s and up to 30 "
			 "days (90s, 15m, 8h)",
			 f->key);
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
static void take_size(struct tw_pctx *c, const struct tw_field *f, char *obj,
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
		tw_pdiag(c, tw_at(c, n),
			 "\"%s\" must be a size such as \"512M\" or "
			 "\"2G\", not %s",
			 f->key, tw_json_type(v));
		return;
	}
	if (err == -EINVAL) {
		tw_pdiag(c, tw_at(c, n),
			 "\"%s\": %s is not a size; write digits and "
			 "an optional K, M, G, T or P, e.g. \"512M\"",
			 f->key, Q(json_string_value(v)));
		return;
	}
	if (err || x < TW_LIMIT_MEMORY_MIN || x > TW_LIMIT_MEMORY_MAX) {
		char num[32];

		snprintf(num, sizeof(num), "%lld",
			 (long long)json_integer_value(v));
		tw_pdiag(c, tw_at(c, n),
			 "\"%s\" must be 16M to 1P (a call needs "
			 "memory to start at all), not %s",
			 f->key,
			 json_is_string(v) ? Q(json_string_value(v)) : num);
		return;
	}
	*(uint64_t *)(obj + f->off) = x;
}

static void take_refs(struct tw_pctx *c, const struct tw_field *f, char *obj,
		      json_t *v, const struct tw_lnode *n)
{
	struct tw_ref *refs;
	size_t i, cnt = 0;
	json_t *e;

	if (!tw_want_array(c, f->key, "bundle names", v, n))
		return;
	refs = tw_pcalloc(c, json_array_size(v), sizeof(*refs));
	if (!refs)
		return;
	json_array_foreach(v, i, e) {
		const struct tw_lnode *en = tw_lnode_elem(n, i);

		if (!json_is_string(e)) {
			tw_pdiag(c, tw_at(c, en),
				 "entries of \"%s\" must be bundle "
				 "names (strings), not %s",
				 f->key, tw_json_type(e));
			continue;
		}
		refs[cnt].name = tw_pstrdup(c, json_string_value(e));
		if (!refs[cnt].name)
			continue;
		refs[cnt].loc = tw_at(c, en);
		refs[cnt++].bundle = -1;
	}
	*(struct tw_ref **)(obj + f->off) = refs;
	*(size_t *)(obj + f->aux) = cnt;
}

/* A list of strings each checked by F's element type (paths, upstreams). */
size_t tw_take_strings(struct tw_pctx *c, const struct tw_field *f, json_t *v,
		       const struct tw_lnode *n, char ***out,
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
	if (!tw_want_array(c, f->key, of, v, n))
		return 0;
	*out = tw_pcalloc(c, json_array_size(v), sizeof(**out));
	if (locs)
		*locs = tw_pcalloc(c, json_array_size(v), sizeof(**locs));
	if (!*out || (locs && !*locs))
		return 0;
	json_array_foreach(v, i, e) {
		const struct tw_lnode *en = tw_lnode_elem(n, i);
		const char *s = json_string_value(e), *why;
		char *val = NULL;

		if (!s) {
			tw_pdiag(c, tw_at(c, en),
				 "entries of \"%s\" must be %s, not "
				 "%s",
				 f->key, of, tw_json_type(e));
		} else if (f->type == F_SERVICES) {
			struct tw_service sv;
			char why2[128];

			if (tw_service_parse(s, &sv, why2, sizeof(why2)) == 0)
				val = tw_pstrdup(c, s);
			else
				tw_pdiag(c, tw_at(c, en),
					 "invalid service %s: %s "
					 "(use https://HOST[:PORT] or "
					 "http://HOST[:PORT])",
					 Q(s), why2);
		} else if (f->type == F_UPSTREAMS) {
			if (tw_upstream_valid(s))
				val = tw_pstrdup(c, s);
			else
				tw_pdiag(c, tw_at(c, en),
					 "invalid DNS upstream %s "
					 "(use IPv4:PORT or [IPv6]:PORT, e.g. "
					 "192.0.2.53:53)",
					 Q(s));
		} else if (tw_path_norm(s, &val, &why) == -EINVAL) {
			tw_pdiag(c, tw_at(c, en), "\"%s\" entry %s: %s", f->key,
				 why, Q(s));
		} else if (!val) {
			c->err = -ENOMEM;
		}
		if (!val)
			continue;
		if (locs)
			(*locs)[cnt] = tw_at(c, en);
		(*out)[cnt++] = val;
	}
	return cnt;
}

static void take_value(struct tw_pctx *c, const struct tw_schema *s,
		       const struct tw_field *f, char *obj, json_t *v,
		       const struct tw_lnode *n)
{
	if (f->take) {
		f->take(c, f, obj, v, n);
		return;
	}
	switch (f->type) {
	case F_NAME:
	case F_CNAME:
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
			*(struct tw_loc *)(obj + f->aux) = tw_at(c, n);
		take_choice(c, f, obj, v, n);
		break;
	case F_REFS:
		take_refs(c, f, obj, v, n);
		break;
	case F_PATHS:
	case F_UPSTREAMS:
		*(size_t *)(obj + f->aux) =
		    tw_take_strings(c, f, v, n, (char ***)(obj + f->off), NULL);
		break;
	case F_OBJECT:
		if (json_is_object(v))
			tw_walk(c, f->sub, obj, v, n);
		else
			tw_pdiag(c, tw_at(c, n),
				 "\"%s\" must be an object, not %s", f->key,
				 tw_json_type(v));
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
	case F_DURATION:
		take_duration(c, f, obj, v, n);
		break;
	case F_SERVICES:
	case F_TAKE:
		break; /* their rows have a .take */
	}
}

static void unknown_key(struct tw_pctx *c, const struct tw_schema *s,
			const char *key, const struct tw_lnode *kn)
{
	char allowed[256];
	size_t i, o = 0;

	allowed[0] = '\0';
	for (i = 0; i < s->n && o < sizeof(allowed); i++)
		o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s%s",
				      i ? ", " : "", s->fields[i].key);
	tw_pdiag(c, tw_at_key(c, kn), "unknown key %s in %s (allowed: %s)",
		 Q(key), s->what, allowed);
}

/* Check every member of O against schema S, filling OBJ. */
void tw_walk(struct tw_pctx *c, const struct tw_schema *s, void *obj, json_t *o,
	     const struct tw_lnode *n)
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

void tw_refs_free(struct tw_ref *refs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(refs[i].name);
	free(refs);
}

void tw_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

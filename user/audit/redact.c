// SPDX-License-Identifier: GPL-2.0-only
/*
 * redact.c - credential values kept out of audit records (see redact.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "redact.h"

static void wipe(struct tw_redact_value *v)
{
	explicit_bzero(v->value, v->len);
	free(v->value);
	if (v->enc)
		explicit_bzero(v->enc, v->enc_len);
	free(v->enc);
}

static unsigned char fold(char c);

static void index_first(struct tw_redactor *r)
{
	memset(r->first, 0, sizeof(r->first));
	for (size_t i = 0; i < r->n; i++) {
		unsigned char c = fold(r->v[i].value[0]);

		r->first[c] = 1;
		r->first[c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c] = 1;
		if (r->v[i].enc)
			r->first[(unsigned char)r->v[i].enc[0]] = 1;
	}
}

int tw_redact_add(struct tw_redactor *r, uint64_t owner, const char *name,
		  const void *value, size_t len)
{
	struct tw_redact_value nv = { .owner = owner, .len = len }, *t;
	size_t need;

	if (!len || !value || !name)
		return -EINVAL;
	snprintf(nv.name, sizeof(nv.name), "%s", name);
	nv.value = malloc(len + 1);
	if (!nv.value)
		return -ENOMEM;
	memcpy(nv.value, value, len);
	nv.value[len] = '\0';
	/* an encoding is longer than its bytes exactly when it escapes any */
	need = tw_bytes_encode(value, len, NULL, 0);
	if (need != len) {
		nv.enc = malloc(need + 1);
		if (!nv.enc) {
			wipe(&nv);
			return -ENOMEM;
		}
		nv.enc_len = tw_bytes_encode(value, len, nv.enc, need + 1);
	}
	t = realloc(r->v, (r->n + 1) * sizeof(*t));
	if (!t) {
		wipe(&nv);
		return -ENOMEM;
	}
	r->v = t;
	r->v[r->n++] = nv;
	index_first(r);
	return 0;
}

void tw_redact_drop(struct tw_redactor *r, uint64_t owner, uint64_t until_ns)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].owner == owner && !r->v[i].until_ns)
			r->v[i].until_ns = until_ns ? until_ns : 1;
}

void tw_redact_expire(struct tw_redactor *r, uint64_t now_ns)
{
	size_t o = 0;

	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].until_ns && r->v[i].until_ns <= now_ns)
			wipe(&r->v[i]);
		else
			r->v[o++] = r->v[i];
	}
	r->n = o;
	index_first(r);
}

void tw_redact_free(struct tw_redactor *r)
{
	tw_redact_expire(r, ~0ull);
	for (size_t i = 0; i < r->n; i++)
		wipe(&r->v[i]);
	free(r->v);
	r->v = NULL;
	r->n = 0;
	memset(r->first, 0, sizeof(r->first));
}

static unsigned char fold(char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') :
				      (unsigned char)c;
}

/*
 * How far value V (VL bytes) matches S (N bytes) from I on: *VM bytes of
 * V over the returned number of bytes of S, letters in any case, dots of S
 * between two characters of V passed over.
 */
static size_t match(const char *s, size_t n, size_t i, const char *v,
		    size_t vl, size_t *vm)
{
	size_t si = i, vi = 0;

	while (vi < vl && si < n) {
		if (fold(s[si]) == fold(v[vi])) {
			si++;
			vi++;
		} else if (s[si] == '.' && vi > 0) {
			si++;
		} else {
			break;
		}
	}
	*vm = vi;
	return si - i;
}

/* The longest match at S[I] of any needle: its S bytes, and its name. */
static size_t best_at(const struct tw_redactor *r, const char *s, size_t n,
		      size_t i, const char **name)
{
	size_t best = 0, vm, got;

	for (size_t k = 0; k < r->n; k++) {
		const struct tw_redact_value *v = &r->v[k];
		const char *nd[2] = { v->value, v->enc };
		size_t nl[2] = { v->len, v->enc_len };

		for (int w = 0; w < 2 && nd[w]; w++) {
			if (fold(s[i]) != fold(nd[w][0]))
				continue;
			got = match(s, n, i, nd[w], nl[w], &vm);
			/* the whole value; or the string ends within it */
			if (vm < nl[w] &&
			    (i + got < n || vm < TW_REDACT_MIN_PREFIX))
				continue;
			if (got > best) {
				best = got;
				*name = v->name;
			}
		}
	}
	return best;
}

static bool grow(char **out, size_t *cap, size_t need)
{
	char *t;

	if (need <= *cap)
		return true;
	t = realloc(*out, need * 2);
	if (!t)
		return false;
	*out = t;
	*cap = need * 2;
	return true;
}

char *tw_redact_str(const struct tw_redactor *r, const char *s, size_t n,
		    size_t *outlen)
{
	char *out = NULL, rep[160];
	size_t cap = 0, o = 0, from = 0;
	const char *name = NULL;

	if (!r->n)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t got, add;

		if (!r->first[(unsigned char)s[i]] ||
		    !(got = best_at(r, s, n, i, &name))) {
			i++;
			continue;
		}
		add = (size_t)snprintf(rep, sizeof(rep), "[credential %s]",
				       name);
		/* what came before it, then the marker */
		if (!grow(&out, &cap, o + (i - from) + add + 1)) {
			free(out);
			return NULL;
		}
		memcpy(out + o, s + from, i - from);
		o += i - from;
		memcpy(out + o, rep, add);
		o += add;
		i += got;
		from = i;
	}
	if (!out)
		return NULL;
	if (!grow(&out, &cap, o + (n - from) + 1)) {
		free(out);
		return NULL;
	}
	memcpy(out + o, s + from, n - from);
	o += n - from;
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* One string of a record: redacted, and valid UTF-8 whatever it held. */
static size_t redact_string(const struct tw_redactor *r, json_t *j,
			    json_t **repl)
{
	const char *s = json_string_value(j);
	size_t n = json_string_length(j), rl = 0;
	char *red = tw_redact_str(r, s, n, &rl);

	*repl = NULL;
	if (red) {
		*repl = tw_utf8_valid(red, rl) ? json_stringn(red, rl) :
						 tw_json_textn(red, rl);
		explicit_bzero(red, rl);
		free(red);
		return 1;
	}
	/* A writer's mistake (json_stringn_nocheck of bytes): escaped, not
	 * lost with its record. */
	if (!tw_utf8_valid(s, n))
		*repl = tw_json_textn(s, n);
	return 0;
}

size_t tw_redact_json(const struct tw_redactor *r, json_t *j)
{
	size_t changed = 0, i;
	const char *key;
	json_t *v, *repl;

	if (json_is_object(j)) {
		json_object_foreach (j, key, v) {
			if (json_is_string(v)) {
				changed += redact_string(r, v, &repl);
				if (repl)
					json_object_set_new(j, key, repl);
			} else {
				changed += tw_redact_json(r, v);
			}
		}
	} else if (json_is_array(j)) {
		json_array_foreach (j, i, v) {
			if (json_is_string(v)) {
				changed += redact_string(r, v, &repl);
				if (repl)
					json_array_set_new(j, i, repl);
			} else {
				changed += tw_redact_json(r, v);
			}
		}
	}
	return changed;
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * locate.c - source positions of JSON values (see locate.h).
 *
 * An iterative push-down scanner: it never recurses while scanning, so a
 * deeply nested input cannot exhaust the stack. It trusts nothing: every
 * read is bounds-checked and anything unexpected stops the scan.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "locate.h"

struct scan {
	const char *s;
	size_t len, pos;
	int line, col; /* of s[pos] */
};

static int peek(const struct scan *sc)
{
	return sc->pos < sc->len ? (unsigned char)sc->s[sc->pos] : -1;
}

static void bump(struct scan *sc)
{
	if (sc->pos >= sc->len)
		return;
	if (sc->s[sc->pos] == '\n') {
		if (sc->line < INT_MAX)
			sc->line++;
		sc->col = 1;
	} else if (sc->col < INT_MAX) {
		sc->col++;
	}
	sc->pos++;
}

static void skip_ws(struct scan *sc)
{
	for (;;) {
		int c = peek(sc);

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		bump(sc);
	}
}

/* A growable byte buffer for decoded keys. */
struct buf {
	char *p;
	size_t n, cap;
};

static int buf_put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16;
		char *p;

		while (cap < b->n + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

static int put_utf8(struct buf *b, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_put(b, u, n);
}

static int hex4(struct scan *sc, unsigned long *out)
{
	unsigned long v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		int c = peek(sc);

		if (c >= '0' && c <= '9')
			v = v * 16 + (unsigned long)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (unsigned long)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (unsigned long)(c - 'A' + 10);
		else
			return -EINVAL;
		bump(sc);
	}
	*out = v;
	return 0;
}

/* After "\u": one code point, joining a surrogate pair as jansson does. */
static int unicode_escape(struct scan *sc, struct buf *b)
{
	unsigned long cp, lo;

	if (hex4(sc, &cp))
		return -EINVAL;
	if (cp >= 0xd800 && cp <= 0xdbff && peek(sc) == '\\' &&
	    sc->pos + 1 < sc->len && sc->s[sc->pos + 1] == 'u') {
		bump(sc);
		bump(sc);
		if (hex4(sc, &lo))
			return -EINVAL;
		if (lo >= 0xdc00 && lo <= 0xdfff)
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		else
			cp = 0xfffd; /* jansson rejects these anyway */
	} else if (cp >= 0xd800 && cp <= 0xdfff) {
		cp = 0xfffd;
	}
	return b ? put_utf8(b, cp) : 0;
}

static int escape(struct scan *sc, struct buf *b)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *p;
	int c = peek(sc);

	if (c < 0)
		return -EINVAL;
	bump(sc);
	if (c == 'u')
		return unicode_escape(sc, b);
	p = c ? strchr(from, c) : NULL;
	if (!p)
		return -EINVAL;
	return b ? buf_put(b, &to[p - from], 1) : 0;
}

/* At the opening quote: skip the string, decoding it into B if given. */
static int string(struct scan *sc, struct buf *b)
{
	bump(sc);
	for (;;) {
		int c = peek(sc);
		size_t start = sc->pos;
		int err;

		if (c < 0)
			return -EINVAL;
		if (c == '"') {
			bump(sc);
			return b && !b->p ? buf_put(b, "", 0) : 0;
		}
		if (c == '\\') {
			bump(sc);
			err = escape(sc, b);
			if (err)
				return err;
			continue;
		}
		while (c >= 0 && c != '"' && c != '\\') {
			bump(sc);
			c = peek(sc);
		}
		if (b && buf_put(b, sc->s + start, sc->pos - start))
			return -ENOMEM;
	}
}

static int scalar(struct scan *sc)
{
	size_t start = sc->pos;

	for (;;) {
		int c = peek(sc);

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '-' ||
		      c == '.'))
			break;
		bump(sc);
	}
	return sc->pos > start ? 0 : -EINVAL;
}

/* Append an empty child to container N. */
static struct tw_lnode *add_kid(struct tw_lnode *n)
{
	if (n->nkids == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 4;
		struct tw_lnode *k;

		if (cap > SIZE_MAX / sizeof(*k))
			return NULL;
		k = realloc(n->kids, cap * sizeof(*k));
		if (!k)
			return NULL;
		n->kids = k;
		n->cap = cap;
	}
	memset(&n->kids[n->nkids], 0, sizeof(n->kids[0]));
	return &n->kids[n->nkids++];
}

enum want { VALUE, KEY_OR_END, KEY, VALUE_OR_END, COMMA_OR_END, DONE };

/*
 * The parser state. Pointers on the stack stay valid: a node lives in its
 * parent's kids array, and that array only grows when a sibling starts,
 * which is after the node itself has been closed and popped.
 */
struct locator {
	struct scan sc;
	struct tw_lnode **stack; /* grows: most values are shallow */
	size_t depth, cap;
	struct tw_lnode *cur; /* where the next value goes */
	enum want want;
};

static enum want after_value(const struct locator *l)
{
	return l->depth ? COMMA_OR_END : DONE;
}

/* Room for one more open container. */
static int stack_room(struct locator *l)
{
	struct tw_lnode **st;
	size_t cap;

	if (l->depth == TW_LOCATE_MAX_DEPTH)
		return -EINVAL;
	if (l->depth < l->cap)
		return 0;
	cap = l->cap ? l->cap * 2 : 16;
	st = realloc(l->stack, cap * sizeof(*st));
	if (!st)
		return -ENOMEM;
	l->stack = st;
	l->cap = cap;
	return 0;
}

static int value(struct locator *l)
{
	struct scan *sc = &l->sc;
	int c = peek(sc), err;

	l->cur->line = sc->line;
	l->cur->col = sc->col;
	if (c == '{' || c == '[') {
		err = stack_room(l);
		if (err)
			return err;
		l->cur->type = (char)c;
		l->stack[l->depth++] = l->cur;
		bump(sc);
		l->want = c == '{' ? KEY_OR_END : VALUE_OR_END;
		return 0;
	}
	l->cur->type = c == '"' ? '"' : 'n';
	err = c == '"' ? string(sc, NULL) : scalar(sc);
	if (err)
		return err;
	l->want = after_value(l);
	return 0;
}

static int key(struct locator *l)
{
	struct scan *sc = &l->sc;
	struct buf b = { 0 };
	int line = sc->line, col = sc->col, err;

	if (peek(sc) != '"')
		return -EINVAL;
	err = string(sc, &b);
	if (!err) {
		l->cur = add_kid(l->stack[l->depth - 1]);
		err = l->cur ? 0 : -ENOMEM;
	}
	if (err) {
		free(b.p);
		return err;
	}
	/* the key is indexed before its ':' so partial trees still have it */
	l->cur->key = b.p;
	l->cur->key_line = line;
	l->cur->key_col = col;
	skip_ws(sc);
	if (peek(sc) != ':')
		return -EINVAL;
	bump(sc);
	l->want = VALUE;
	return 0;
}

static int close_or(struct locator *l, int close, enum want next)
{
	struct scan *sc = &l->sc;

	if (peek(sc) == close) {
		bump(sc);
		l->depth--;
		l->want = after_value(l);
		return 0;
	}
	if (next == VALUE) {
		l->cur = add_kid(l->stack[l->depth - 1]);
		if (!l->cur)
			return -ENOMEM;
	}
	l->want = next;
	return 0;
}

static int comma_or_end(struct locator *l)
{
	struct tw_lnode *top = l->stack[l->depth - 1];
	int close = top->type == '{' ? '}' : ']';

	if (peek(&l->sc) == close)
		return close_or(l, close, DONE);
	if (peek(&l->sc) != ',')
		return -EINVAL;
	bump(&l->sc);
	if (top->type == '{') {
		l->want = KEY;
		return 0;
	}
	l->cur = add_kid(top);
	l->want = VALUE;
	return l->cur ? 0 : -ENOMEM;
}

static int step(struct locator *l)
{
	skip_ws(&l->sc);
	switch (l->want) {
	case VALUE:
		return value(l);
	case KEY_OR_END:
		return close_or(l, '}', KEY);
	case KEY:
		return key(l);
	case VALUE_OR_END:
		return close_or(l, ']', VALUE);
	case COMMA_OR_END:
		return comma_or_end(l);
	case DONE:
		break;
	}
	return 0;
}

int tw_locate(const char *text, size_t len, size_t off, int line, int col,
	      struct tw_lnode **root)
{
	struct locator l = { 0 };
	int err = 0;

	*root = NULL;
	if (!text || off > len)
		return -EINVAL;
	*root = calloc(1, sizeof(**root));
	if (!*root)
		return -ENOMEM;
	l.sc = (struct scan){ .s = text, .len = len, .pos = off,
			      .line = line, .col = col };
	l.cur = *root;
	l.want = VALUE;
	while (l.want != DONE && !err)
		err = step(&l);
	free(l.stack);
	return err;
}

/* Recursion is bounded: trees are never deeper than TW_LOCATE_MAX_DEPTH. */
static void lnode_clear(struct tw_lnode *n)
{
	size_t i;

	for (i = 0; i < n->nkids; i++)
		lnode_clear(&n->kids[i]);
	free(n->kids);
	free(n->key);
}

void tw_locate_free(struct tw_lnode *root)
{
	if (!root)
		return;
	lnode_clear(root);
	free(root);
}

const struct tw_lnode *tw_lnode_elem(const struct tw_lnode *n, size_t i)
{
	if (!n || n->type != '[' || i >= n->nkids)
		return NULL;
	return &n->kids[i];
}

const struct tw_lnode *tw_lnode_member(const struct tw_lnode *n,
				       const char *key, size_t hint)
{
	size_t i;

	if (!n || !key || n->type != '{')
		return NULL;
	if (hint < n->nkids && n->kids[hint].key &&
	    !strcmp(n->kids[hint].key, key))
		return &n->kids[hint];
	for (i = 0; i < n->nkids; i++)
		if (n->kids[i].key && !strcmp(n->kids[i].key, key))
			return &n->kids[i];
	return NULL;
}

/* One path segment, "~1" -> "/" and "~0" -> "~" as in RFC 6901. */
static char *segment(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i < n; i++) {
		if (s[i] == '~' && i + 1 < n && (s[i + 1] == '0' ||
						 s[i + 1] == '1')) {
			*o++ = s[i + 1] == '1' ? '/' : '~';
			i++;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

static const struct tw_lnode *path_step(const struct tw_lnode *n,
					const char *seg)
{
	char *end;
	unsigned long i;

	if (n->type == '{')
		return tw_lnode_member(n, seg, 0);
	if (seg[0] < '0' || seg[0] > '9')
		return NULL;
	errno = 0;
	i = strtoul(seg, &end, 10);
	if (*end || errno)
		return NULL;
	return tw_lnode_elem(n, i);
}

const struct tw_lnode *tw_lnode_path(const struct tw_lnode *root,
				     const char *path)
{
	const struct tw_lnode *n = root;

	if (!path)
		return NULL;
	while (n && *path == '/') {
		size_t len = strcspn(path + 1, "/");
		char *seg = segment(path + 1, len);

		if (!seg)
			return NULL;
		n = path_step(n, seg);
		free(seg);
		path += 1 + len;
	}
	return *path ? NULL : n;
}

/* Recursion bounded by TW_LOCATE_MAX_DEPTH, as in lnode_clear(). */
int tw_lnode_find_key(const struct tw_lnode *root, int line, int col,
		      const struct tw_lnode **parent, size_t *idx)
{
	size_t i;

	if (!root)
		return -ENOENT;
	for (i = 0; i < root->nkids; i++) {
		const struct tw_lnode *k = &root->kids[i];

		if (k->key && k->key_line == line && k->key_col == col) {
			*parent = root;
			*idx = i;
			return 0;
		}
		if (!tw_lnode_find_key(k, line, col, parent, idx))
			return 0;
	}
	return -ENOENT;
}

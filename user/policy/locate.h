/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * locate.h - where each value of a JSON text starts.
 *
 * jansson does not keep source positions, so the policy parser asks this
 * index instead. tw_locate() scans the bytes jansson accepted and builds a
 * tree that mirrors the JSON: object members and array elements in source
 * order, each node holding the 1-based line and byte column of its value
 * and, for an object member, of its key. Pure, and robust on any input: on
 * text that is not JSON it stops and keeps what it has seen so far.
 */
#ifndef TW_LOCATE_H
#define TW_LOCATE_H

#include <stddef.h>

/* Deeper than jansson's own limit (2048), so valid input always fits. */
#define TW_LOCATE_MAX_DEPTH 4096

struct tw_lnode {
	int line, col;		/* start of the value */
	int key_line, key_col;	/* start of the member's key, or 0 */
	char *key;		/* the member's decoded key, or NULL */
	char type;		/* '{', '[', '"', or 'n': another scalar */
	struct tw_lnode *kids;	/* members or elements, in source order */
	size_t nkids, cap;
};

/*
 * Index the JSON value that starts at TEXT[OFF] (after optional
 * whitespace); TEXT[OFF] is at LINE:COL. *ROOT gets the tree (NULL only
 * when nothing could be scanned). Returns 0 when a whole value was scanned,
 * -EINVAL when the text is not JSON (*ROOT holds the part before the
 * problem), -ENOMEM.
 */
int tw_locate(const char *text, size_t len, size_t off, int line, int col,
	      struct tw_lnode **root);
void tw_locate_free(struct tw_lnode *root);

/* The I-th element of array N, or NULL. */
const struct tw_lnode *tw_lnode_elem(const struct tw_lnode *n, size_t i);
/*
 * Member KEY of object N, or NULL. HINT is where the member probably is
 * (jansson keeps members in source order), which keeps a walk over every
 * member of a huge object linear.
 */
const struct tw_lnode *tw_lnode_member(const struct tw_lnode *n,
				       const char *key, size_t hint);
/* A JSON-pointer path ("", "/0/connect/3", "/a~1b" for key "a/b"). */
const struct tw_lnode *tw_lnode_path(const struct tw_lnode *root,
				     const char *path);
/*
 * The object member whose key starts at LINE:COL: its parent object goes to
 * *PARENT and its index to *IDX. Returns 0 or -ENOENT.
 */
int tw_lnode_find_key(const struct tw_lnode *root, int line, int col,
		      const struct tw_lnode **parent, size_t *idx);

#endif

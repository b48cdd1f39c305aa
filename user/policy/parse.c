/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * parse.c - JSON policy text -> the policy model (policy.h): the text
 * stage, and freeing the model.
 *
 * jansson parses the JSON; locate.c says where each value sits, so every
 * problem is reported at the offending key or value. Each top-level object
 * goes to the parser of its kind (workspace.c, bundle.c, context.c), which
 * checks it against the table of the keys it allows (fields.c); checking
 * goes on after a problem so that one run reports all of them.
 * tw_policy_link() then does the checks that need the whole policy.
 *
 * Pure: no files, no logging. Problems go to diagnostics, allocation
 * failures come back as -ENOMEM.
 */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "context.h"
#include "fields.h"
#include "locate.h"
#include "policy.h"
#include "workspace.h"

/* ------------------------------------------------------------------ */
/* Parsing: objects                                                    */

static const struct {
	const char *key;
	void (*parse)(struct tw_pctx *c, json_t *o, const struct tw_lnode *n);
} kinds[] = {
	{ "workspace", tw_parse_workspace },
	{ "bundle", tw_parse_bundle },
	{ "channel", tw_parse_channel },
	{ "dm", tw_parse_dm },
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

static void parse_object(struct tw_pctx *c, json_t *o, const struct tw_lnode *n)
{
	const char *key;
	size_t i = 0;
	int kind = -1;
	json_t *v;

	if (!json_is_object(o)) {
		tw_pdiag(c, tw_at(c, n),
			 "expected a policy object (workspace, "
			 "bundle, channel or dm), not %s",
			 tw_json_type(o));
		return;
	}
	json_object_foreach(o, key, v) {
		int k = kind_of(key);

		i++;
		if (k < 0)
			continue;
		if (kind >= 0) {
			tw_pdiag(
			    c, tw_at_key(c, tw_lnode_member(n, key, i - 1)),
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
		tw_pdiag(c, tw_at(c, n),
			 "object has none of the keys \"workspace\", "
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
static bool dup_key(struct tw_pctx *c, const char *text, size_t off, size_t end,
		    struct tw_loc loc)
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
			tw_pdiag(c, loc,
				 "duplicate key %s (first at line %d, "
				 "column %d)",
				 Q(k->key), k->key_line, k->key_col);
			done = true;
		}
	}
	tw_locate_free(root);
	return done;
}

static void json_error(struct tw_pctx *c, const char *text, size_t len,
		       size_t off, const json_error_t *je)
{
	struct tw_loc loc = c->here;
	size_t end = off + (je->position > 0 ? (size_t)je->position : 0);
	char msg[JSON_ERROR_TEXT_LENGTH * 4];
	size_t n = c->diags->n;

	if (end > len)
		end = len;
	/* jansson points after the last byte it read: report that byte */
	advance(text, off, end > off ? end - 1 : off, &loc.line, &loc.col);
	if (json_error_code(je) != json_error_duplicate_key ||
	    !dup_key(c, text, off, end, loc)) {
		json_text(je->text, msg, sizeof(msg));
		tw_pdiag(c, loc, "invalid JSON: %s", msg);
	}
	/* reported first: the rest may stem from it (what it kept from
	 * being read is "unknown" where it is referred to) */
	for (; n < c->diags->n; n++)
		c->diags->v[n].syntax = true;
}

/* One top-level JSON value: an object or an array of objects. */
static int parse_value(struct tw_pctx *c, const char *text, size_t len,
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
	files = copy ? tw_grow(pol->files, pol->nfiles, sizeof(*files)) : NULL;
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
	struct tw_pctx c = { .pol = pol, .diags = diags };
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
		tw_pdiag(&c, c.here,
			 "policy file is too large (%zu bytes, the "
			 "limit is %u MiB)",
			 len, TW_POLICY_MAX_BYTES >> 20);
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
		tw_pdiag(&c, c.here,
			 "NUL byte in policy file (expected JSON text)");
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
		tw_pdiag(&c, c.here,
			 "empty policy file (expected a JSON object or "
			 "an array of objects)");
	if (c.err)
		return c.err;
	return c.ndiags ? -EINVAL : 0;
}

void tw_policy_free(struct tw_policy *pol)
{
	size_t i;

	for (i = 0; i < pol->nworkspaces; i++)
		tw_workspace_clear(&pol->workspaces[i]);
	for (i = 0; i < pol->nbundles; i++)
		tw_bundle_clear(&pol->bundles[i]);
	for (i = 0; i < pol->nchannels; i++)
		tw_channel_clear(&pol->channels[i]);
	for (i = 0; i < pol->ndms; i++)
		tw_dm_clear(&pol->dms[i]);
	tw_strv_free(pol->files, pol->nfiles);
	free(pol->workspaces);
	free(pol->bundles);
	free(pol->channels);
	free(pol->dms);
	memset(pol, 0, sizeof(*pol));
}

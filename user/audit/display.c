// SPDX-License-Identifier: GPL-2.0-only
/*
 * display.c - agent-controlled text made inert for a terminal (display.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libsmartcols/libsmartcols.h>

#include "display.h"
#include "record.h"

/* A printable sequence at S: well-formed UTF-8 (record.h) that is not a
 * C1 control (U+0080..U+009F, which terminals act on too). */
static size_t utf8_len(const unsigned char *s, size_t len)
{
	size_t n = tw_utf8_seq(s, len);

	return n == 2 && s[0] == 0xc2 && s[1] <= 0x9f ? 0 : n;
}

size_t tw_display_escape(const char *s, size_t len, char *out, size_t outlen)
{
	static const char named[] = "\n\r\t\033\a\b\f\v\\";
	static const char letter[] = "nrteabfv\\";
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0, i = 0;

	if (!outlen)
		return 0;
	while (i < len) {
		char esc[8];
		const char *p;
		size_t n = u[i] ? utf8_len(u + i, len - i) : 0, w;

		if (n == 1 && (u[i] < 0x20 || u[i] == 0x7f || u[i] == '\\')) {
			p = strchr(named, u[i]);
			if (p && u[i])
				snprintf(esc, sizeof(esc), "\\%c",
					 letter[p - named]);
			else
				snprintf(esc, sizeof(esc), "\\x%02x", u[i]);
			n = 0;
		} else if (!n) {
			snprintf(esc, sizeof(esc), "\\x%02x", u[i]);
		}
		w = n ? n : strlen(esc);
		if (o + w >= outlen)
			break;
		memcpy(out + o, n ? s + i : esc, w);
		o += w;
		i += n ? n : 1;
	}
	out[o] = '\0';
	return o;
}

size_t tw_display_argv(json_t *argv, char *out, size_t outlen)
{
	char arg[1024], q[2100];
	size_t o = 0, i;
	json_t *a;

	if (!outlen)
		return 0;
	out[0] = '\0';
	json_array_foreach (argv, i, a) {
		const char *v = json_string_value(a) ?: "";
		size_t n = tw_display_escape(v, json_string_length(a), arg,
					     sizeof(arg)),
		       qn = 0;
		bool quote = !n || strpbrk(arg, " '\\");

		if (quote)
			q[qn++] = '\'';
		for (size_t k = 0; k < n && qn + 3 < sizeof(q); k++) {
			if (arg[k] == '\'')
				q[qn++] = '\\';
			q[qn++] = arg[k];
		}
		if (quote)
			q[qn++] = '\'';
		q[qn] = '\0';
		if (o + (i ? 1 : 0) + qn >= outlen)
			break; /* whole arguments only */
		o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? " " : "",
				      q);
	}
	return o;
}

/* ---- tables ------------------------------------------------------------- */

struct tw_table {
	struct libscols_table *tb;
	size_t ncols, pending;
	bool header_done;
};

struct tw_table *tw_table_new(const struct tw_table_col *cols, size_t n)
{
	struct tw_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->ncols = n;
	t->tb = scols_new_table();
	if (!t->tb)
		goto fail;
	/* laid out for the cells, never for the terminal's width */
	scols_table_set_termforce(t->tb, SCOLS_TERMFORCE_NEVER);
	for (size_t i = 0; i < n; i++)
		if (!scols_table_new_column(t->tb, cols[i].name, 0,
					    cols[i].right ? SCOLS_FL_RIGHT : 0))
			goto fail;
	return t;
fail:
	tw_table_free(t);
	return NULL;
}

int tw_table_row(struct tw_table *t, const char *const *cells)
{
	struct libscols_line *ln = scols_table_new_line(t->tb, NULL);

	if (!ln)
		return -ENOMEM;
	for (size_t i = 0; i < t->ncols; i++)
		if (scols_line_set_data(ln, i, cells[i] ?: "-"))
			return -ENOMEM;
	t->pending++;
	return 0;
}

size_t tw_table_pending(const struct tw_table *t)
{
	return t ? t->pending : 0;
}

int tw_table_flush(struct tw_table *t, FILE *out)
{
	int ret = 0;

	if (!t || (t->header_done && !t->pending))
		return 0;
	scols_table_enable_noheadings(t->tb, t->header_done);
	scols_table_set_stream(t->tb, out);
	if (t->pending)
		ret = scols_print_table(t->tb);
	/* no line at all still prints the header (libsmartcols prints
	 * nothing for an empty table) */
	if (!t->pending && !t->header_done) {
		for (size_t i = 0; i < t->ncols; i++) {
			struct libscols_column *c =
				scols_table_get_column(t->tb, i);

			fprintf(out, "%s%s", i ? " " : "",
				scols_cell_get_data(scols_column_get_header(c)));
		}
		fputc('\n', out);
	}
	scols_table_remove_lines(t->tb);
	t->pending = 0;
	t->header_done = true;
	return ret;
}

void tw_table_free(struct tw_table *t)
{
	if (!t)
		return;
	scols_unref_table(t->tb);
	free(t);
}

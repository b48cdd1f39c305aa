/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * display.h - agent-controlled text made inert for a terminal.
 *
 * A tool call chooses its process names, arguments, paths and the names it
 * resolves; a responder reads them in a table at 3 a.m. Before any of it
 * reaches a terminal, every byte that could move the cursor, clear the
 * screen, ring, end a row or be read as another character is shown as
 * what it is: \n \r \t \e \a \b \f \v, \\ for the backslash itself,
 * \xNN for any other control byte, DEL, a C1 control (as its UTF-8 bytes)
 * and every byte that is not part of valid UTF-8. Printable UTF-8 passes
 * unchanged. The escaping is reversible: nothing else uses a backslash.
 * Pure.
 */
#ifndef TW_DISPLAY_H
#define TW_DISPLAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Escape LEN bytes of S into OUT (always terminated; cut at a whole
 * escape). Returns the length written. */
size_t tw_display_escape(const char *s, size_t len, char *out, size_t outlen);

/*
 * An argv for one table cell with its boundaries visible: each argument
 * escaped, and quoted with '...' when it is empty or holds a space, a
 * quote or a backslash escape (a quote inside shown as \'), joined by one
 * space. Returns the length written.
 */
size_t tw_display_argv(json_t *argv, char *out, size_t outlen);

/*
 * A table of escaped cells, laid out by libsmartcols (column widths from
 * the cells, multibyte text measured as the terminal shows it), printed
 * in batches as rows come: tw_table_flush prints the rows added since the
 * last flush (the header before the first), aligned among themselves, and
 * forgets them, so a stream of any length takes bounded memory. The same
 * layout on a terminal as in a pipe: no column is cut or wrapped.
 * Cells must already be inert (tw_display_escape).
 */
struct tw_table;

struct tw_table_col {
	const char *name;
	bool right; /* numbers */
};

struct tw_table *tw_table_new(const struct tw_table_col *cols, size_t n);
/* Add a row of N cells (N as in tw_table_new). 0 or -errno. */
int tw_table_row(struct tw_table *t, const char *const *cells);
/* Rows waiting to be printed. */
size_t tw_table_pending(const struct tw_table *t);
int tw_table_flush(struct tw_table *t, FILE *out);
void tw_table_free(struct tw_table *t);

#endif

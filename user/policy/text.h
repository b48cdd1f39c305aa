/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * text.h - the policy stage's words: user text echoed safely in a message,
 * paths normalised, error strings. A leaf.
 */
#ifndef TW_TEXT_H
#define TW_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#define QLEN 80

/*
 * Echo user text in a message: quoted, escaped and shortened, so that a
 * hostile value can neither break the one-line-per-problem output nor
 * flood it. Q() gives each use its own buffer for the enclosing block.
 */
const char *tw_quote(const char *s, char *out);
#define Q(s) tw_quote((s), (char[QLEN]){ 0 })

static inline bool tw_is_lower_digit(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* An absolute path without trailing slash, "." or ".." into *OUT
 * (malloc'd). 0, or -EINVAL with *WHY saying what is wrong. */
int tw_path_norm(const char *in, char **out, const char **why);

/* printf into ERR (when not NULL). */
void tw_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif

// SPDX-License-Identifier: GPL-2.0-only
/*
 * display.c - agent-controlled text made inert for a terminal (display.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "display.h"

/* Length of the valid UTF-8 sequence at S (at most LEN bytes), else 0. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	/* C1 controls (U+0080..U+009F) act on terminals too */
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	return n;
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

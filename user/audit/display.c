// SPDX-License-Identifier: GPL-2.0-only
/*
 * display.c - agent-controlled text made inert for a terminal (display.h).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

// SPDX-License-Identifier: GPL-2.0-only
/*
 * text.c - user text in messages, paths and error strings (see text.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

const char *tw_quote(const char *s, char *out)
{
	size_t o = 0;

	out[o++] = '"';
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (o + 9 > QLEN) {
			/* don't leave half a UTF-8 sequence behind */
			while (o > 1 && (out[o - 1] & 0xc0) == 0x80)
				o--;
			if (o > 1 && (out[o - 1] & 0xc0) == 0xc0)
				o--;
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}



/*
 * Absolute, "//" collapsed, no trailing "/" (but "/" itself), no "." or
 * ".." component. Policies name things by exact path; a path that could
 * be spelled two ways would silently match neither.
 */
int tw_path_norm(const char *in, char **out, const char **why)
{
	size_t len = strlen(in), o = 0;
	const char *p = in;
	char *buf;

	*out = NULL;
	if (in[0] != '/') {
		*why = "must be an absolute path";
		return -EINVAL;
	}
	if (len >= PATH_MAX) {
		*why = "is longer than PATH_MAX";
		return -EINVAL;
	}
	buf = malloc(len + 2);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (!n)
			break;
		if (p[0] == '.' && (n == 1 || (n == 2 && p[1] == '.'))) {
			free(buf);
			*why = "must not contain \".\" or \"..\" components";
			return -EINVAL;
		}
		buf[o++] = '/';
		memcpy(buf + o, p, n);
		o += n;
		p += n;
	}
	if (!o)
		buf[o++] = '/';
	buf[o] = '\0';
	*out = buf;
	return 0;
}

void tw_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

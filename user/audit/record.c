// SPDX-License-Identifier: GPL-2.0-only
/*
 * record.c - what every audit record shares (see record.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record.h"

#define S(r, k) json_string_value(json_object_get(r, k))

uint64_t tw_audit_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void tw_audit_ts_format(uint64_t ns, char *buf, size_t len)
{
	time_t sec = ns / 1000000000ull;
	struct tm tm;
	char base[32];

	gmtime_r(&sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09lluZ", base,
		 (unsigned long long)(ns % 1000000000ull));
}

void tw_audit_ts_format_local(uint64_t ns, char *buf, size_t len)
{
	time_t sec = ns / 1000000000ull;
	struct tm tm;
	char base[32];
	long off;

	localtime_r(&sec, &tm);
	off = tm.tm_gmtoff / 60;
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09llu%c%02ld:%02ld", base,
		 (unsigned long long)(ns % 1000000000ull), off < 0 ? '-' : '+',
		 labs(off) / 60, labs(off) % 60);
}

int tw_audit_ts_parse(const char *s, uint64_t *ns)
{
	struct tm tm = {};
	const char *p;
	uint64_t frac = 0;
	long off = 0;
	int digits = 0;
	time_t t;

	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p)
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p = strptime(p + 1, "%H:%M:%S", &tm);
		if (!p)
			return -EINVAL;
		if (*p == '.') {
			for (p++; *p >= '0' && *p <= '9'; p++, digits++)
				if (digits < 9)
					frac = frac * 10 + (*p - '0');
			if (!digits)
				return -EINVAL;
			for (; digits < 9; digits++)
				frac *= 10;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int hh, mm;

			if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
				return -EINVAL;
			off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
			p += 6;
		} else {
			return -EINVAL;
		}
	}
	if (*p)
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1 || t - off < 0)
		return -EINVAL;
	*ns = (uint64_t)(t - off) * 1000000000ull + frac;
	return 0;
}

uint64_t tw_audit_weight(json_t *rec)
{
	const char *ev = json_string_value(json_object_get(rec, "event")) ?: "";
	json_t *c = json_object_get(rec, "count");
	uint64_t n = json_is_integer(c) ? (uint64_t)json_integer_value(c) : 1;

	if (!strcmp(ev, "deny") || !strcmp(ev, "audit"))
		return n;
	if (!strcmp(ev, "lost"))
		return json_is_integer(c) ? n : 0;
	return 0;
}

size_t tw_audit_argv_join(json_t *argv, char *buf, size_t len)
{
	size_t off = 0, i;
	json_t *a;

	if (!len)
		return 0;
	buf[0] = '\0';
	json_array_foreach (argv, i, a) {
		const char *w = json_string_value(a) ?: "";

		if (off + (i ? 1 : 0) + strlen(w) >= len) {
			if (!i) /* the program itself, cut short */
				off = (size_t)snprintf(buf, len, "%s", w);
			break; /* then whole words only */
		}
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					i ? " " : "", w);
	}
	return off < len ? off : len - 1;
}

bool tw_audit_known_event(const char *e)
{
	char list[] = TW_AUDIT_EVENTS, *save = NULL;

	for (char *t = strtok_r(list, ", ", &save); t;
	     t = strtok_r(NULL, ", ", &save))
		if (!strcmp(t, e))
			return true;
	return false;
}

bool tw_audit_is_unix(json_t *rec)
{
	const char *proto = S(rec, "proto");

	return S(rec, "path") && proto && !strcmp(proto, "unix");
}

void tw_audit_dest(json_t *rec, char *buf, size_t len)
{
	const char *d = S(rec, "dst"), *p = S(rec, "path"),
		   *dom = S(rec, "domain"), *proto = S(rec, "proto");
	json_t *port = json_object_get(rec, "port"), *sk;

	const char *sys = S(rec, "syscall"), *acc = S(rec, "access");
	json_t *argv = json_object_get(rec, "argv");

	if (json_is_array(argv) && json_array_size(argv)) {
		tw_audit_argv_join(argv, buf, len); /* exec: the command line */
	} else if (p && (sys || json_object_get(rec, "blockers"))) {
		/* a file the syscall audit saw refused */
		snprintf(buf, len, "%s%s%s%s", p, acc ? " (" : "", acc ?: "",
			 acc ? ")" : "");
	} else if (sys) {
		snprintf(buf, len, "%s()", sys);
	} else if (tw_audit_is_unix(rec)) {
		snprintf(buf, len, "unix:%s", p);
	} else if (p) {
		snprintf(buf, len, "%s", p); /* a policy loaded, say */
	} else if (d) {
		snprintf(buf, len, strchr(d, ':') ? "[%s]:%lld%s%s" :
						    "%s:%lld%s%s",
			 d, (long long)json_integer_value(port),
			 proto ? "/" : "", proto ?: "");
	} else if (dom) {
		if (json_is_integer(port))
			snprintf(buf, len, "%s:%lld", dom,
				 (long long)json_integer_value(port));
		else
			snprintf(buf, len, "%s", dom);
	} else if ((sk = json_object_get(rec, "socket"))) {
		snprintf(buf, len, "socket(%lld,%lld,%lld)",
			 (long long)json_integer_value(
				 json_object_get(sk, "family")),
			 (long long)json_integer_value(
				 json_object_get(sk, "type")),
			 (long long)json_integer_value(
				 json_object_get(sk, "protocol")));
	} else {
		snprintf(buf, len, "-");
	}
}

/* ---- agent-controlled bytes --------------------------------------------- */

/* The length of the well-formed UTF-8 sequence at S (N bytes left), or 0
 * when S[0] does not start one (RFC 3629, table 3-7 of Unicode). */
size_t tw_utf8_seq(const void *p, size_t n)
{
	const unsigned char *s = p;
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c >= 0x01 && c <= 0x7f)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0; /* NUL, continuation bytes, 0xc0, 0xc1, 0xf5.. */
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

bool tw_utf8_valid(const void *s, size_t n)
{
	const unsigned char *p = s;

	for (size_t i = 0, l; i < n; i += l)
		if (!(l = tw_utf8_seq(p + i, n - i)))
			return false;
	return true;
}

/* Encode S into OUT; BACKSLASH: double backslashes (bytes) or not
 * (sentences). */
static size_t encode(const void *s, size_t n, char *out, size_t cap,
		     bool backslash)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = s;
	size_t o = 0, end = 0;
	bool full = false;

	for (size_t i = 0; i < n;) {
		size_t l = tw_utf8_seq(p + i, n - i);
		char esc[4];
		const char *add = (const char *)p + i;
		size_t alen = l;

		if (!l) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[p[i] >> 4];
			esc[3] = hex[p[i] & 15];
			add = esc;
			alen = 4;
			l = 1;
		} else if (backslash && p[i] == '\\') {
			add = "\\\\";
			alen = 2;
		}
		/* whole characters and escapes only: a cut one is invalid */
		if (!full && o + alen < cap)
			memcpy(out + o, add, alen);
		else
			full = true;
		if (!full)
			end = o + alen;
		o += alen;
		i += l;
	}
	if (cap)
		out[end] = '\0';
	return o;
}

size_t tw_bytes_encode(const void *s, size_t n, char *out, size_t cap)
{
	return encode(s, n, out, cap, true);
}

size_t tw_text_encode(const void *s, size_t n, char *out, size_t cap)
{
	return encode(s, n, out, cap, false);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long tw_bytes_decode(const char *s, void *out, size_t cap)
{
	unsigned char *o = out;
	size_t n = 0;

	for (; *s; n++) {
		int c = (unsigned char)*s++;

		if (c == '\\') {
			if (*s == '\\') {
				s++;
			} else if (*s == 'x' && hexval(s[1]) >= 0 &&
				   hexval(s[2]) >= 0) {
				c = hexval(s[1]) << 4 | hexval(s[2]);
				s += 3;
			} else {
				return -EINVAL;
			}
		}
		if (n >= cap)
			return -ENOSPC;
		o[n] = (unsigned char)c;
	}
	if (n < cap)
		o[n] = 0;
	return (long)n;
}

static json_t *encoded(const void *s, size_t n, bool backslash)
{
	char buf[512], *p = buf;
	size_t need = encode(s, n, buf, sizeof(buf), backslash);
	json_t *j;

	if (need >= sizeof(buf)) {
		p = malloc(need + 1);
		if (!p)
			return NULL;
		encode(s, n, p, need + 1, backslash);
	}
	j = json_stringn(p, need);
	if (p != buf)
		free(p);
	return j;
}

json_t *tw_json_bytes(const void *s, size_t n)
{
	return encoded(s ? s : "", s ? n : 0, true);
}

json_t *tw_json_text(const char *s)
{
	s = s ? s : "";
	return encoded(s, strlen(s), false);
}

json_t *tw_json_textn(const void *s, size_t n)
{
	return encoded(s ? s : "", s ? n : 0, false);
}

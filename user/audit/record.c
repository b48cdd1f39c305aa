// SPDX-License-Identifier: GPL-2.0-only
/*
 * record.c - what every audit record shares (see record.h).
 */
#include <errno.h>
#include <stdio.h>
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
	} else if (p) {
		snprintf(buf, len, "unix:%s", p);
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

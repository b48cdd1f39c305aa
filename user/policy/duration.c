// SPDX-License-Identifier: GPL-2.0-only
/*
 * duration.c - DURATION text to nanoseconds and back (see duration.h).
 */
#include <errno.h>
#include <stdio.h>

#include "duration.h"

int tw_parse_duration(const char *s, uint64_t *ns, char *err, size_t len)
{
	uint64_t total = 0;
	const char *p = s;

	if (!s || !*s) {
		snprintf(err, len, "a duration is NUMBER followed by s, m or h "
			 "(90s, 15m, 2h), not an empty string");
		return -EINVAL;
	}
	while (*p) {
		uint64_t n = 0, unit;

		if (*p < '0' || *p > '9') {
			snprintf(err, len, "%s: a duration is NUMBER followed "
				 "by s, m or h (90s, 15m, 2h, 1h30m)", s);
			return -EINVAL;
		}
		for (; *p >= '0' && *p <= '9'; p++) {
			n = n * 10 + (uint64_t)(*p - '0');
			if (n > TW_MAX_GRANT_CAP / TW_NS_PER_S) {
				snprintf(err, len, "%s: longer than 30 days", s);
				return -ERANGE;
			}
		}
		switch (*p) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		default:
			snprintf(err, len, "%s: %s unit after %llu (s, m or h)",
				 s, *p ? "unknown" : "no",
				 (unsigned long long)n);
			return -EINVAL;
		}
		p++;
		total += n * unit;
		if (total > TW_MAX_GRANT_CAP / TW_NS_PER_S) {
			snprintf(err, len, "%s: longer than 30 days", s);
			return -ERANGE;
		}
	}
	*ns = total * TW_NS_PER_S;
	return 0;
}

void tw_duration_str(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / TW_NS_PER_S, h = s / 3600, m = s / 60 % 60;
	size_t off = 0;

	if (!len)
		return;
	buf[0] = 0;
	if (h)
		off += snprintf(buf + off, len - off, "%lluh",
				(unsigned long long)h);
	if (m && off < len)
		off += snprintf(buf + off, len - off, "%llum",
				(unsigned long long)m);
	if ((s % 60 || !off) && off < len)
		snprintf(buf + off, len - off, "%llus",
			 (unsigned long long)(s % 60));
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * promtext.c - the Prometheus text exposition format (promtext.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

static bool reserve(struct tw_prom *p, size_t more)
{
	char *nb;
	size_t cap;

	if (p->oom)
		return false;
	if (p->len + more + 1 <= p->cap)
		return true;
	cap = p->cap ? p->cap : 4096;
	while (cap < p->len + more + 1)
		cap *= 2;
	nb = realloc(p->buf, cap);
	if (!nb) {
		p->oom = true;
		return false;
	}
	p->buf = nb;
	p->cap = cap;
	return true;
}

static void put(struct tw_prom *p, const char *s, size_t n)
{
	if (!reserve(p, n))
		return;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = 0;
}

static void putf(struct tw_prom *p, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(p, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* HELP text escapes backslash and newline; label values also '"'. */
static void escaped(struct tw_prom *p, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(p, "\\\\", 2);
		else if (*s == '\n')
			put(p, "\\n", 2);
		else if (*s == '"' && quote)
			put(p, "\\\"", 2);
		else
			put(p, s, 1);
	}
}

void tw_prom_escape(struct tw_prom *p, const char *value)
{
	escaped(p, value, true);
}

void tw_prom_family(struct tw_prom *p, const char *name, const char *type,
		    const char *help)
{
	putf(p, "# HELP %s ", name);
	escaped(p, help, false);
	putf(p, "\n# TYPE %s %s\n", name, type);
}

static void sample_head(struct tw_prom *p, const char *name,
			const char *const *labels)
{
	put(p, name, strlen(name));
	if (!labels || !labels[0])
		return;
	put(p, "{", 1);
	for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
		if (i)
			put(p, ",", 1);
		putf(p, "%s=\"", labels[i]);
		escaped(p, labels[i + 1], true);
		put(p, "\"", 1);
	}
	put(p, "}", 1);
}

void tw_prom_u64(struct tw_prom *p, const char *name,
		 const char *const *labels, uint64_t value)
{
	sample_head(p, name, labels);
	putf(p, " %llu\n", (unsigned long long)value);
}

void tw_prom_time(struct tw_prom *p, const char *name,
		  const char *const *labels, uint64_t ns)
{
	sample_head(p, name, labels);
	putf(p, " %llu.%03llu\n", (unsigned long long)(ns / 1000000000ull),
	     (unsigned long long)(ns / 1000000ull % 1000));
}

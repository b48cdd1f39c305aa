// SPDX-License-Identifier: GPL-2.0-only
/*
 * audit_opts.c - `toolwall daemon`'s options of the audit log and its
 * syslog copy, checked before anything starts: a bad value is an error
 * that names the option and what it wants.
 */
#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_opts.h"
#include "syslog_conn.h"
#include "util.h"

static int parse_scaled(const char *val, const char *units,
			const uint64_t *mult, uint64_t *out)
{
	unsigned long long n;
	const char *u;
	char *end;

	if (*val < '0' || *val > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(val, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		u = strchr(units, *end);
		if (!u || end[1])
			return -EINVAL;
		if (n > UINT64_MAX / mult[u - units])
			return -ERANGE;
		n *= mult[u - units];
	}
	*out = n;
	return 0;
}

/* --syslog DEST, --syslog-ca FILE, --syslog-sd-id ID, --syslog-queue N */
static int syslog_opt(struct tw_audit_opts *o, const char *name,
		      const char *val)
{
	char why[600];
	unsigned long n;
	char *end;

	if (!strcmp(name, "syslog")) {
		if (!tw_syslog_check(val)) {
			o->syslog = val;
			return 0;
		}
		tw_error("--syslog %s: want udp://HOST:PORT, tcp://HOST:PORT, "
			 "tls://HOST:PORT or unix:PATH (a datagram socket)",
			 val);
	} else if (!strcmp(name, "syslog-ca")) {
		SSL_CTX *ctx = tw_sl_tls_ctx(val, why, sizeof(why));

		if (ctx) {
			SSL_CTX_free(ctx);
			o->syslog_ca = val;
			return 0;
		}
		tw_error("--syslog-ca: %s (want a PEM file of CA certificates)",
			 why);
	} else if (!strcmp(name, "syslog-sd-id")) {
		if (!tw_syslog_sd_id_check(val)) {
			o->syslog_sd_id = val;
			return 0;
		}
		tw_error("--syslog-sd-id %s: want NAME@NUMBER, NUMBER your "
			 "organization's IANA private enterprise number "
			 "(RFC 5424 6.3.2), at most 32 characters",
			 val);
	} else if (!strcmp(name, "syslog-queue")) {
		errno = 0;
		n = strtoul(val, &end, 10);
		if (!errno && end != val && !*end && n >= 1 && n <= 1000000) {
			o->syslog_queue = (unsigned)n;
			return 0;
		}
		tw_error("--syslog-queue %s: want a number of messages, 1 to "
			 "1000000 (default %d)",
			 val, TW_SYSLOG_QUEUE);
	}
	return -EINVAL;
}

int tw_audit_daemon_opt(struct tw_audit_opts *o, const char *name,
			const char *val)
{
	static const uint64_t bytes[] = { 1, 1, 1ull << 10, 1ull << 10,
					  1ull << 20, 1ull << 20, 1ull << 30,
					  1ull << 30 };
	static const uint64_t secs[] = { 1, 60, 3600, 86400 };
	uint64_t v;

	if (!strcmp(name, "max-size")) {
		if (!parse_scaled(val, "bBkKmMgG", bytes, &o->max_size))
			return 0;
		tw_error("--audit-max-size %s: want BYTES (K, M, G suffixes)",
			 val);
	} else if (!strcmp(name, "max-age")) {
		if (!parse_scaled(val, "smhd", secs, &o->max_age_s))
			return 0;
		tw_error("--audit-max-age %s: want SECONDS (s, m, h, d "
			 "suffixes)",
			 val);
	} else if (!strcmp(name, "keep")) {
		if (!parse_scaled(val, "", secs, &v) && v >= 1 && v <= 100000) {
			o->keep = (unsigned)v;
			return 0;
		}
		tw_error("--audit-keep %s: want a number of segments, 1 or more",
			 val);
	} else if (!strcmp(name, "group")) {
		struct group *g = *val ? getgrnam(val) : NULL;

		if (!*val || !strcmp(val, "none")) {
			o->no_group = true;
			return 0;
		}
		if (g) {
			o->has_group = true;
			o->group = g->gr_gid;
			return 0;
		}
		tw_error("--audit-group %s: no such group (create it with "
			 "`groupadd --system %s`, or say none)",
			 val, val);
	} else if (!strcmp(name, "key")) {
		static struct tw_ckpt_key key; /* the daemon's, for its life */
		char why[600];

		if (!tw_ckpt_load_private(val, &key, why, sizeof(why))) {
			o->key = &key;
			return 0;
		}
		tw_error("--audit-key: %s", why);
	} else if (!strcmp(name, "checkpoint")) {
		char *end;
		unsigned long long n = strtoull(val, &end, 10), t;

		if (end != val && *end == '/' && n >= 1) {
			t = strtoull(end + 1, &end, 10);
			if (!*end && t >= 1) {
				o->ckpt_records = n;
				o->ckpt_seconds = t;
				return 0;
			}
		}
		tw_error("--audit-checkpoint %s: want RECORDS/SECONDS, both 1 "
			 "or more (default %d/%d)",
			 val, TW_CKPT_RECORDS, TW_CKPT_SECONDS);
	} else {
		return syslog_opt(o, name, val);
	}
	return -EINVAL;
}

int tw_audit_daemon_opts_done(const struct tw_audit_opts *o)
{
	bool tls = o->syslog && !strncmp(o->syslog, "tls://", 6);

	if (o->syslog_ca && !tls) {
		tw_error("--syslog-ca %s: only for a tls:// destination "
			 "(--syslog tls://HOST:PORT)",
			 o->syslog_ca);
		return -EINVAL;
	}
	if ((o->syslog_sd_id || o->syslog_queue) && !o->syslog) {
		tw_error("--syslog-%s: no --syslog destination to apply it to",
			 o->syslog_sd_id ? "sd-id" : "queue");
		return -EINVAL;
	}
	if (o->syslog_queue && strncmp(o->syslog, "tcp://", 6) && !tls) {
		tw_error("--syslog-queue: only for a stream (tcp:// or "
			 "tls://); datagrams are sent at once");
		return -EINVAL;
	}
	return 0;
}


/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * audit_opts.h - `toolwall daemon`'s audit options, parsed into
 * struct tw_audit_opts (audit.h).
 */
#ifndef TW_AUDIT_OPTS_H
#define TW_AUDIT_OPTS_H

#include "audit.h"

/*
 * `toolwall daemon --audit-NAME VALUE` and `--syslog[-NAME] VALUE`:
 * max-size (BYTES, K/M/G suffixes), max-age (SECONDS, s/m/h/d suffixes),
 * keep (N >= 1), key (FILE), checkpoint (RECORDS/SECONDS), group (GROUP
 * or none), syslog (DEST), syslog-ca (FILE, PEM), syslog-sd-id
 * (NAME@PEN), syslog-queue (N). Prints "Error: ..." and returns -EINVAL
 * on a bad value.
 */
int tw_audit_daemon_opt(struct tw_audit_opts *o, const char *name,
			const char *val);

/* Once all are parsed: options that only go together (a CA file needs a
 * tls:// destination...). 0, or "Error: ..." and -EINVAL. */
int tw_audit_daemon_opts_done(const struct tw_audit_opts *o);

#endif

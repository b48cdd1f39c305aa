/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * callfilter.h - the seccomp filter every tool call gets (what it refuses
 * and why: sandbox.h), compiled by libseccomp into classic BPF once: the
 * daemon builds it at its first call-start and hands the program to each
 * launcher in the reply (base64, "seccomp"), which loads it with
 * seccomp(SECCOMP_SET_MODE_FILTER). Compiling it per call cost a launch
 * about 0.4 ms. The filter depends on nothing in the policy.
 *
 * Library code: 0 or -errno, never prints; ERR says what failed.
 */
#ifndef TW_CALLFILTER_H
#define TW_CALLFILTER_H

#include <stddef.h>

/* The largest program the kernel takes: BPF_MAXINSNS (4096) of 8 bytes. */
#define TW_CALLFILTER_MAX (4096 * 8)

struct tw_callfilter {
	void *insns; /* struct sock_filter[len / 8] */
	size_t len;  /* bytes */
};

/* Compile the filter with libseccomp into F (free with tw_callfilter_free). */
int tw_callfilter_build(struct tw_callfilter *f, char *err, size_t errlen);

/* F as base64 (malloc'd, NUL-terminated), or NULL when out of memory. */
char *tw_callfilter_b64(const struct tw_callfilter *f);

/* F from base64 B64: -EINVAL unless it decodes to whole instructions,
 * at least one and at most TW_CALLFILTER_MAX bytes. */
int tw_callfilter_from_b64(struct tw_callfilter *f, const char *b64);

/* Install F on the calling thread (no_new_privs must be set). */
int tw_callfilter_load(const struct tw_callfilter *f);

void tw_callfilter_free(struct tw_callfilter *f);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/* clang-format off: a table */
/*
 * calldir.h - the private directories of one tool call, removed when it
 * ends (RND: six random characters):
 *
 *   /run/toolwall-calls/PID.RND/       0711 root: traversable, not listable
 *     credentials/                     0500 the call's account
 *       NAME                           0400 the call's account: one
 *                                      credential (TOOLWALL_CREDENTIALS_DIR)
 *     instructions                     0444 root (TOOLWALL_INSTRUCTIONS_FILE)
 *   /var/tmp/toolwall-calls/PID.RND/   0700 the call's account: HOME, TMPDIR
 *
 * PID is the launcher's: a directory whose launcher is gone (killed before
 * it could clean up) is removed by the next launch. Sibling calls of the
 * same account are kept out of each other's directories by Landlock, not
 * by modes. Both roots must be root-owned directories that nobody else can
 * write (/var/tmp is world-writable: a pre-created root is refused).
 */
/* clang-format on */
#ifndef TW_CALLDIR_H
#define TW_CALLDIR_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "paths.h"

struct tw_calldir {
	char run[PATH_MAX];
	char creds[PATH_MAX];
	char instructions[PATH_MAX];
	char scratch[PATH_MAX];
	char err[PATH_MAX + 128];
};

/* Create both directories for account UID/GID. 0 or -errno (err set). */
int tw_calldir_create(struct tw_calldir *cd, uid_t uid, gid_t gid);

/* Write one credential file (NAME must be a plain file name). */
int tw_calldir_put_cred(struct tw_calldir *cd, const char *name,
			const char *value, size_t len, uid_t uid, gid_t gid);

/* Finish the credentials directory: 0500, owned by the account. */
int tw_calldir_seal(struct tw_calldir *cd, uid_t uid, gid_t gid);

int tw_calldir_put_instructions(struct tw_calldir *cd, const char *text);

/* Remove both directories (never following a symlink). 0 or -errno. */
int tw_calldir_remove(struct tw_calldir *cd);

/* Remove directories left behind by launchers that no longer run. */
void tw_calldir_sweep(void);

#endif

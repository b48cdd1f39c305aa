/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * creds.h - credentials of one tool call: read from their store (by root,
 * the launcher) and checked to be out of the agent account's reach.
 *
 * A plain credential's VALUE lives only in the launcher's memory, in the
 * call's private directory (calldir.h) and in the call's environment; a
 * brokered one's never leaves the broker (the call holds a placeholder). Nothing here
 * prints, and no error carries a value: only names and store paths.
 */
#ifndef TW_CREDS_H
#define TW_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define TW_CRED_MAX_BYTES 65536

/* A Unix account, resolved before the call is placed in its context. */
struct tw_account {
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
	char name[64];
};

/* Returns 0, -ENOENT (no such account), -E2BIG (too many groups). */
int tw_account_get(const char *name, struct tw_account *acct);

struct tw_cred {
	const char *name;   /* credential name: the file name in the call dir */
	const char *env;    /* env var, or NULL */
	const char *source; /* store file */
	const char *placeholder; /* brokered: what the call gets instead */
	char *value;	    /* secret; tw_cred_wipe() */
	size_t len;
};

/*
 * Read the store file SOURCE (a regular file, not a symlink, at most
 * TW_CRED_MAX_BYTES) into c->value. -ENOENT, -ELOOP (a symlink),
 * -EINVAL (not a regular file), -EFBIG, or another -errno.
 */
int tw_cred_read(struct tw_cred *c);

/* A brokered credential: the call's value is its placeholder (the
 * broker alone reads the store). 0 or -ENOMEM. */
int tw_cred_placeholder(struct tw_cred *c);

/* Overwrite and free the value. */
void tw_cred_wipe(struct tw_cred *c);

/*
 * Can ACCT open any of PATHS for reading? Tries, in a thread that has
 * become ACCT (so modes, ACLs and every directory on the way count); the
 * calling thread keeps its own credentials.
 * Sets *FIRST to the index of the first readable path, or -1 if none is.
 * Returns 0, or -errno when the check could not run.
 */
int tw_readable_by(const struct tw_account *acct, const char *const *paths,
		   size_t n, long *first);

/*
 * The value as an env var: without its trailing newlines. -EINVAL when it
 * holds a NUL byte (an environment cannot carry it; the file still can).
 */
int tw_cred_env_value(const struct tw_cred *c, char **out);

#endif

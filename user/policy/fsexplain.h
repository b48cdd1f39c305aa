/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fsexplain.h - why a tool call was refused a file, in words a responder
 * can act on. The kernel (Landlock, file modes) said EACCES or EPERM; this
 * works out, from the compiled policy alone, which it was likely to be and
 * which bundle would have granted the access:
 *
 *   - the path is a credential store or toolwall's own state: out of
 *     reach of every call, whatever the bundles say;
 *   - the path is in a tool call's private directory: each call reaches
 *     only its own, and nothing there is executable;
 *   - the context grants the access there: the file's own permissions
 *     refused it (the account, not the policy);
 *   - the context grants less there (read, not write; nothing executable
 *     in a repository);
 *   - no grant of the context covers the path (Landlock).
 *
 * The fixed parts of every call's filesystem view live here too, so that
 * the launcher (launch.c, sandbox.c) and this explanation cannot drift.
 * Pure: no I/O.
 */
#ifndef TW_FSEXPLAIN_H
#define TW_FSEXPLAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "compile.h"

enum tw_fs_want { TW_WANT_READ, TW_WANT_WRITE, TW_WANT_EXEC };

/* Every call may read these (programs' data, /proc of its own tree). */
extern const char *const tw_fs_fixed_read[];
/* Device files every call may read and write. */
extern const char *const tw_fs_fixed_dev[];
/*
 * Where programs may execute from when a workspace sets no system_paths:
 * the distribution's read-only program and library directories. Not
 * /usr/local (site-installed, often group-writable) and not /opt: grant
 * those as skills or system_paths explicitly.
 */
extern const char *const tw_default_system_paths[];

struct tw_fs_verdict {
	bool granted;	   /* the context grants WANT on the path */
	bool protected_;   /* a credential store or toolwall state */
	bool calldir;	   /* a tool call's private directory */
	char grant[320];   /* what covers the path in the context, or "" */
	char reason[512];
	char hint[512];	   /* bundles (and their contexts) that would grant
			      it, or "" */
};

/*
 * Every path no tool call may reach: the fixed ones, EXTRA (the daemon's
 * policy file; may be NULL), every workspace's and DM's credentials_dir and
 * every credential store of every context. The launcher carves them out of
 * its grants; tw_fs_explain names them. FN gets each (repeats possible).
 */
void tw_fs_protected_each(const struct tw_compiled *c, const char *extra,
			  void (*fn)(const char *path, void *arg), void *arg);

/* "read", "write", "execute". */
const char *tw_fs_want_name(enum tw_fs_want w);

/*
 * Is PATH equal to or below DIR? Both absolute; DIR without a trailing
 * slash ("/" covers everything).
 */
bool tw_path_under(const char *path, const char *dir);

/*
 * Normalise PATH lexically (collapse //, drop ".", resolve ".." against
 * the components before it). A relative PATH is taken relative to CWD
 * when CWD is given, else left relative. OUT gets at most LEN bytes.
 */
void tw_path_normalise(const char *path, const char *cwd, char *out,
		       size_t len);

/*
 * Explain a refused WANT on PATH (absolute, normalised) in context CTX
 * (index into c->ctx). EXTRA_PROTECTED (may be NULL) adds paths no call
 * may reach (the daemon's policy file).
 */
void tw_fs_explain(const struct tw_compiled *c, int ctx, const char *path,
		   enum tw_fs_want want, const char *extra_protected,
		   struct tw_fs_verdict *v);

#endif

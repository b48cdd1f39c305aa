// SPDX-License-Identifier: GPL-2.0-only
/*
 * fsexplain.c - why a file access of a tool call was refused, from the
 * compiled policy (see fsexplain.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "fsexplain.h"
#include "paths.h"

const char *const tw_fs_fixed_read[] = {"/usr", "/etc", "/proc", "/sys",
					NULL};
const char *const tw_fs_fixed_dev[] = {
    "/dev/null",    "/dev/zero", "/dev/full", "/dev/random",
    "/dev/urandom", "/dev/tty",	 "/dev/ptmx", "/dev/pts",
    NULL};
const char *const tw_default_system_paths[] = {
    "/usr/bin", "/bin",	      "/usr/sbin",    "/sbin",	    "/usr/lib",
    "/lib",	"/lib64",     "/usr/libexec", "/usr/lib64", "/usr/libx32",
    "/lib32",	"/usr/lib32", NULL,
};

const char *tw_fs_want_name(enum tw_fs_want w)
{
	return w == TW_WANT_WRITE ? "write" : w == TW_WANT_EXEC ? "execute" :
								   "read";
}

bool tw_path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strcmp(dir, "/"))
		return path[0] == '/';
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

void tw_path_normalise(const char *path, const char *cwd, char *out,
		       size_t len)
{
	char *buf, *save = NULL, *tok;
	size_t off = 0, need;
	bool abs = path[0] == '/' || (cwd && cwd[0] == '/');

	if (!len)
		return;
	out[0] = '\0';
	need = strlen(path) + (cwd ? strlen(cwd) : 0) + 2;
	buf = malloc(need);
	if (!buf)
		return;
	snprintf(buf, need, "%s%s%s", path[0] != '/' && cwd ? cwd : "",
		 path[0] != '/' && cwd ? "/" : "", path);
	for (tok = strtok_r(buf, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..") && abs) {
			char *slash = strrchr(out, '/');

			off = slash ? (size_t)(slash - out) : 0;
			out[off] = '\0';
			continue;
		}
		if (off + strlen(tok) + 2 > len)
			break; /* cut short: still a prefix of the real path */
		off += (size_t)snprintf(out + off, len - off, "%s%s",
					abs || off ? "/" : "", tok);
	}
	if (!out[0] && len > 1)
		snprintf(out, len, "%s", abs ? "/" : ".");
	free(buf);
}

static void say(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

void tw_fs_protected_each(const struct tw_compiled *c, const char *extra,
			  void (*fn)(const char *path, void *arg), void *arg)
{
	const struct tw_policy *pol = c->pol;

	fn(tw_roots.run, arg);
	fn(tw_roots.launch_dir, arg);
	fn("/etc/toolwall", arg);
	if (extra && *extra)
		fn(extra, arg);
	for (size_t i = 0; i < pol->nworkspaces; i++)
		if (pol->workspaces[i].credentials_dir)
			fn(pol->workspaces[i].credentials_dir, arg);
	for (size_t i = 0; i < pol->ndms; i++)
		if (pol->dms[i].credentials_dir)
			fn(pol->dms[i].credentials_dir, arg);
	for (size_t k = 0; k < c->nctx; k++)
		for (size_t i = 0; i < c->ctx[k].ncreds; i++)
			if (c->ctx[k].creds[i].source)
				fn(c->ctx[k].creds[i].source, arg);
}

struct under_any {
	const char *path;
	bool hit;
};

static void check_under(const char *dir, void *arg)
{
	struct under_any *u = arg;

	u->hit = u->hit || tw_path_under(u->path, dir);
}

static bool is_protected(const struct tw_compiled *c, const char *path,
			 const char *extra)
{
	struct under_any u = {.path = path};

	tw_fs_protected_each(c, extra, check_under, &u);
	return u.hit;
}

static void check_above(const char *prot, void *arg)
{
	struct under_any *u = arg;

	u->hit = u->hit ||
		 (strcmp(prot, u->path) && tw_path_under(prot, u->path));
}

/*
 * Does PATH hold a protected path below it? The launcher then grants its
 * entries one by one instead of PATH itself (sandbox.c), so PATH cannot be
 * listed and an entry made after the call started is not granted.
 */
static bool holds_protected(const struct tw_compiled *c, const char *path,
			    const char *extra)
{
	struct under_any u = {.path = path};

	tw_fs_protected_each(c, extra, check_above, &u);
	return u.hit;
}

/*
 * What the context grants on PATH: the strongest covering grant, preferring
 * one that gives WANT (a skill inside a writable repository is written
 * through the repository's grant, not the skill's).
 */
struct cover {
	enum tw_fs_want want;
	bool read, write, exec;
	char what[320]; /* the grant that gives the most */
};

static int cover_rank(enum tw_fs_want want, bool r, bool w, bool x)
{
	bool gives = want == TW_WANT_WRITE ? w : want == TW_WANT_EXEC ? x : r;

	return gives * 8 + r + w * 2 + x * 2;
}

static void cover_add(struct cover *cv, bool r, bool w, bool x,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void cover_add(struct cover *cv, bool r, bool w, bool x,
		      const char *fmt, ...)
{
	int had = cover_rank(cv->want, cv->read, cv->write, cv->exec);
	int now = cover_rank(cv->want, r, w, x);
	va_list ap;

	cv->read |= r;
	cv->write |= w;
	cv->exec |= x;
	if (now > had || !cv->what[0]) {
		va_start(ap, fmt);
		vsnprintf(cv->what, sizeof(cv->what), fmt, ap);
		va_end(ap);
	}
}

static void context_cover(const struct tw_compiled *c,
			  const struct tw_context *x, const char *path,
			  enum tw_fs_want want, struct cover *cv)
{
	const struct tw_policy *pol = c->pol;
	const struct tw_workspace *ws = &pol->workspaces[x->workspace];

	memset(cv, 0, sizeof(*cv));
	cv->want = want;
	for (size_t i = 0; tw_fs_fixed_read[i]; i++)
		if (tw_path_under(path, tw_fs_fixed_read[i]))
			cover_add(cv, true, false, false,
				  "%s, readable by every call",
				  tw_fs_fixed_read[i]);
	for (size_t i = 0; tw_fs_fixed_dev[i]; i++)
		if (tw_path_under(path, tw_fs_fixed_dev[i]))
			cover_add(cv, true, true, false, "device %s",
				  tw_fs_fixed_dev[i]);
	if (ws->nsystem_paths) {
		for (size_t i = 0; i < ws->nsystem_paths; i++)
			if (tw_path_under(path, ws->system_paths[i]))
				cover_add(cv, true, false, true,
					  "system path %s of workspace %s",
					  ws->system_paths[i], ws->name);
	} else {
		for (size_t i = 0; tw_default_system_paths[i]; i++)
			if (tw_path_under(path, tw_default_system_paths[i]))
				cover_add(cv, true, false, true,
					  "default system path %s",
					  tw_default_system_paths[i]);
	}
	for (size_t i = 0; i < x->nskills; i++)
		if (tw_path_under(path, x->skills[i].path))
			cover_add(cv, true, false, true,
				  "skill %s of bundle %s", x->skills[i].path,
				  pol->bundles[x->skills[i].bundle].name);
	for (size_t i = 0; i < x->nrepos; i++) {
		bool w = x->repos[i].access == TW_ACCESS_WRITE;

		if (tw_path_under(path, x->repos[i].repo->path))
			cover_add(cv, true, w, false,
				  "repository %s (%s) of bundle %s",
				  x->repos[i].repo->path, w ? "write" : "read",
				  pol->bundles[x->repos[i].bundle].name);
	}
}

static bool cover_gives(const struct cover *cv, enum tw_fs_want want)
{
	return want == TW_WANT_WRITE ? cv->write :
	       want == TW_WANT_EXEC  ? cv->exec :
				       cv->read;
}

/* Bundles of the policy whose repositories or skills would grant it. */
static void bundles_granting(const struct tw_compiled *c, const char *path,
			     enum tw_fs_want want, char *buf, size_t len)
{
	const struct tw_policy *pol = c->pol;
	int *list = calloc(pol->nbundles + 1, sizeof(*list));
	struct tw_explain ex = {.bundles = list};

	if (!list)
		return;
	for (size_t b = 0; b < pol->nbundles; b++) {
		const struct tw_bundle *bd = &pol->bundles[b];
		bool gives = false;

		for (size_t i = 0; !gives && i < bd->nrepos; i++)
			gives = tw_path_under(path, bd->repos[i].path) &&
				(want == TW_WANT_READ ||
				 (want == TW_WANT_WRITE &&
				  bd->repos[i].access == TW_ACCESS_WRITE));
		for (size_t i = 0; !gives && i < bd->nskills; i++)
			gives = want != TW_WANT_WRITE &&
				tw_path_under(path, bd->skills[i]);
		if (gives)
			list[ex.nbundles++] = (int)b;
	}
	tw_explain_hint(c, &ex, buf, len);
	free(list);
}

/* /proc/PID/... (or /proc/self/...): guarded by ptrace access checks. */
static bool proc_of_pid(const char *path)
{
	const char *p = path + 6;

	if (strncmp(path, "/proc/", 6))
		return false;
	if (!strncmp(p, "self", 4))
		p += 4;
	else if (!strncmp(p, "thread-self", 11))
		p += 11;
	else if (*p >= '0' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return false;
	return *p == '/' || *p == '\0';
}

void tw_fs_explain(const struct tw_compiled *c, int ctx, const char *path,
		   enum tw_fs_want want, const char *extra_protected,
		   struct tw_fs_verdict *v)
{
	const struct tw_context *x =
		ctx >= 0 && (size_t)ctx < c->nctx ? &c->ctx[ctx] : NULL;
	const char *wn = tw_fs_want_name(want);
	struct cover cv;

	memset(v, 0, sizeof(*v));
	if (path[0] != '/') {
		say(v->reason, sizeof(v->reason),
		    "%s refused on relative path %s (the process's working "
		    "directory was gone when the event was read)",
		    wn, path);
		return;
	}
	if (is_protected(c, path, extra_protected)) {
		v->protected_ = true;
		say(v->reason, sizeof(v->reason),
		    "%s is a credential store or toolwall's own state: no "
		    "tool call may reach it, whatever its bundles",
		    path);
		return;
	}
	if (tw_path_under(path, tw_roots.calls_run) ||
	    tw_path_under(path, tw_roots.calls_scratch)) {
		v->calldir = true;
		say(v->reason, sizeof(v->reason),
		    want == TW_WANT_EXEC ?
			    "%s is in a tool call's private directory: "
			    "writable, so never executable" :
			    "%s is in a tool call's private directory: each "
			    "call reaches only its own",
		    path);
		return;
	}
	if (x) {
		context_cover(c, x, path, want, &cv);
		snprintf(v->grant, sizeof(v->grant), "%s", cv.what);
		if (cover_gives(&cv, want) && proc_of_pid(path)) {
			v->granted = true;
			say(v->reason, sizeof(v->reason),
			    "%s belongs to a process: its /proc files (environ, "
			    "mem, fd, ...) open only within the call's own "
			    "process tree (Landlock ptrace scope) or to its "
			    "owner",
			    path);
			return;
		}
		if (cover_gives(&cv, want) &&
		    holds_protected(c, path, extra_protected)) {
			v->granted = true;
			say(v->reason, sizeof(v->reason),
			    "%s holds paths no tool call may reach (credential "
			    "stores, toolwall's state): its entries are granted "
			    "one by one (%s), so %s itself cannot be listed",
			    path, cv.what, path);
			return;
		}
		if (cover_gives(&cv, want)) {
			v->granted = true;
			say(v->reason, sizeof(v->reason),
			    "%s may %s %s (%s): the file's own permissions "
			    "refused the call's account",
			    x->name, wn, path, cv.what);
			return;
		}
		if (cv.what[0]) {
			say(v->reason, sizeof(v->reason),
			    "%s grants less than %s on %s (%s)%s", x->name,
			    wn, path, cv.what,
			    want == TW_WANT_EXEC ?
				    "; programs run only from system paths "
				    "and skills" :
				    "");
		} else {
			say(v->reason, sizeof(v->reason),
			    "no bundle of %s grants %s on %s", x->name, wn,
			    path);
		}
	} else {
		say(v->reason, sizeof(v->reason),
		    "%s refused on %s in a context the daemon cannot name",
		    wn, path);
	}
	bundles_granting(c, path, want, v->hint, sizeof(v->hint));
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * cgdelegate.c - the toolwall cgroup root under a service manager's
 * delegated cgroup (the rule is in cgdelegate.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cgdelegate.h"
#include "cgroups.h"
#include "paths.h"
#include "util.h"

static void record_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/cgroup-root", tw_roots.run);
}

/* Our cgroup v2 path ("/system.slice/toolwall.service"), from the "0::"
 * line of /proc/self/cgroup. */
static int own_cgroup(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[PATH_MAX + 8];
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = 0;
		ret = (size_t)snprintf(buf, len, "%s", line + 3) >= len ?
			      -ENAMETOOLONG :
			      0;
		break;
	}
	fclose(f);
	return ret;
}

/* xattr NAME of DIR as a string ("" when absent). */
static void xattr_str(const char *dir, const char *name, char *buf,
		      size_t len)
{
	ssize_t n = getxattr(dir, name, buf, len - 1);

	buf[n > 0 ? n : 0] = 0;
}

/* The names a cgroup root may hold (paths.c's rule): plain components
 * of letters, digits and . _ - @ +, none of them "" or "." or "..". */
static bool plain_rel(const char *p)
{
	while (*p) {
		size_t len = strcspn(p, "/");

		if (!len || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		for (size_t i = 0; i < len; i++)
			if (!((p[i] >= 'a' && p[i] <= 'z') ||
			      (p[i] >= 'A' && p[i] <= 'Z') ||
			      (p[i] >= '0' && p[i] <= '9') ||
			      strchr("._-@+", p[i])))
				return false;
		p += len;
		if (*p == '/' && !*++p)
			return false; /* trailing '/' */
	}
	return true;
}

/*
 * Is the cgroup at DIR delegated to this process? 0, or 1 with WHY
 * saying why not.
 */
static int not_delegated(const char *dir, char *why, size_t n)
{
	char mark[16], inv[64], file[PATH_MAX + 32];
	const char *want = getenv("INVOCATION_ID");

	xattr_str(dir, "trusted.delegate", mark, sizeof(mark));
	if (strcmp(mark, "1"))
		xattr_str(dir, "user.delegate", mark, sizeof(mark));
	if (strcmp(mark, "1")) {
		snprintf(why, n, "%s is not delegated (no Delegate=yes)", dir);
		return 1;
	}
	xattr_str(dir, "trusted.invocation_id", inv, sizeof(inv));
	if (*inv && want && strcmp(inv, want)) {
		snprintf(why, n, "%s belongs to another invocation (%s, not "
				 "$INVOCATION_ID %s)", dir, inv, want);
		return 1;
	}
	/* The service's main process starts alone in the unit's cgroup (its
	 * control processes go to .control); a process that shares it
	 * inherited the environment, e.g. a shell of a delegated CI runner. */
	if (tw_cg_nprocs(dir) != 1) {
		snprintf(why, n, "%s holds other processes: we are not the "
				 "service's main process", dir);
		return 1;
	}
	snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
	if (access(file, W_OK) == 0) {
		snprintf(file, sizeof(file), "%s/cgroup.subtree_control", dir);
		if (access(file, W_OK) == 0)
			return 0;
	}
	snprintf(why, n, "%s is delegated but not writable by us: %s", dir,
		 strerror(errno));
	return 1;
}

/* Move ourselves into OWN/daemon and root the tree at OWN/calls. */
static int take_delegated(const char *mnt, const char *own, char *why,
			  size_t n)
{
	char dir[PATH_MAX + 16], file[PATH_MAX + 32];
	int ret;

	if (strlen(own) + sizeof("/calls") > sizeof(tw_roots.cgroup))
		return snprintf(why, n, "%s%s: too long for a cgroup root",
				mnt, own), -ENAMETOOLONG;
	snprintf(dir, sizeof(dir), "%s%s/daemon", mnt, own);
	ret = tw_mkdir_p(dir, 0755);
	if (!ret)
		ret = tw_cg_attach(dir, getpid());
	if (ret)
		return snprintf(why, n, "cannot move the daemon into %s: %s",
				dir, strerror(-ret)), ret;
	snprintf(tw_roots.cgroup, sizeof(tw_roots.cgroup), "%s/calls", own + 1);
	record_path(file, sizeof(file));
	ret = tw_write_file_atomic(file, tw_roots.cgroup,
				   strlen(tw_roots.cgroup), 0600);
	if (ret)
		return snprintf(why, n, "cannot record the cgroup root in "
				"%s: %s", file, strerror(-ret)), ret;
	snprintf(why, n, "started by a service manager with the delegated "
			 "cgroup %s%s: the daemon runs in %s, tool calls under "
			 "%s/%s", mnt, own, dir, mnt, tw_roots.cgroup);
	return TW_CG_DELEGATED;
}

int tw_cg_delegate(char *why, size_t n)
{
	char mnt[PATH_MAX], own[PATH_MAX], dir[2 * PATH_MAX], rec[PATH_MAX];
	const char *inv = getenv("INVOCATION_ID"),
		   *ns = getenv("NOTIFY_SOCKET");
	int ret;

	record_path(rec, sizeof(rec));
	unlink(rec); /* a delegated daemon before us recorded its root */
	if (getenv("TOOLWALL_CGROUP_ROOT")) {
		snprintf(why, n, "TOOLWALL_CGROUP_ROOT sets the cgroup root: %s",
			 tw_roots.cgroup);
		return TW_CG_EXPLICIT;
	}
	if (!(inv && *inv) && !(ns && *ns)) {
		snprintf(why, n, "not started by a service manager: the "
				 "cgroup root is %s", tw_roots.cgroup);
		return TW_CG_DEFAULT;
	}
	ret = tw_cg_mount(mnt, sizeof(mnt));
	if (!ret)
		ret = own_cgroup(own, sizeof(own));
	if (ret) { /* no cgroup v2: the feature probes say so next */
		snprintf(why, n, "started by a service manager, but our cgroup "
				 "v2 is unknown (%s): the cgroup root is %s",
			 strerror(-ret), tw_roots.cgroup);
		return TW_CG_DEFAULT;
	}
	if (!strcmp(own, "/") || own[0] != '/' || !plain_rel(own + 1)) {
		snprintf(why, n, "started by a service manager in cgroup %s, "
				 "which is not one of its own: the cgroup root "
				 "is %s", own, tw_roots.cgroup);
		return TW_CG_DEFAULT;
	}
	snprintf(dir, sizeof(dir), "%s%s", mnt, own);
	if (not_delegated(dir, why, n)) {
		size_t l = strlen(why);

		snprintf(why + l, n - l, ": the cgroup root is %s",
			 tw_roots.cgroup);
		return TW_CG_DEFAULT;
	}
	return take_delegated(mnt, own, why, n);
}

int tw_cg_recorded_root(void)
{
	char file[PATH_MAX], buf[sizeof(tw_roots.cgroup)];
	FILE *f;
	size_t len;

	if (getenv("TOOLWALL_CGROUP_ROOT"))
		return 0;
	record_path(file, sizeof(file));
	f = fopen(file, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = 0;
	buf[strcspn(buf, "\n")] = 0;
	if (!*buf || !plain_rel(buf))
		return -EINVAL;
	snprintf(tw_roots.cgroup, sizeof(tw_roots.cgroup), "%s", buf);
	return 0;
}

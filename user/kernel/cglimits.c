// SPDX-License-Identifier: GPL-2.0-only
/*
 * cglimits.c - per-call process and memory limits (see cglimits.h).
 *
 * Hybrid hosts bind pids and memory to v1 hierarchies, where the v2 mount
 * never sees them; pure v2 hosts offer them in cgroup.controllers. Nothing
 * is assumed about paths: the mounts come from /proc/mounts.
 */
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups.h"
#include "cglimits.h"
#include "util.h"

static const char *const res_name[TW_LIM_N] = { "pids", "memory" };

const char *tw_limits_name(enum tw_limit_res r)
{
	return res_name[r];
}

/* Is WORD one of the space-separated words of the file PATH? */
static bool file_has_word(const char *path, const char *word)
{
	char buf[512], *save = NULL, *w;
	FILE *f = fopen(path, "re");
	bool hit = false;

	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f))
		for (w = strtok_r(buf, " \n", &save); w && !hit;
		     w = strtok_r(NULL, " \n", &save))
			hit = !strcmp(w, word);
	fclose(f);
	return hit;
}

int tw_limits_probe(struct tw_limit_ctl *lc)
{
	FILE *f = setmntent("/proc/mounts", "re");
	struct mntent *m;
	char file[PATH_MAX + 32];
	int r;

	memset(lc, 0, sizeof(*lc));
	if (!f)
		return -errno;
	while ((m = getmntent(f))) {
		if (!strcmp(m->mnt_type, "cgroup2") && !lc->v2[0]) {
			snprintf(lc->v2, sizeof(lc->v2), "%s", m->mnt_dir);
			continue;
		}
		if (strcmp(m->mnt_type, "cgroup"))
			continue;
		for (r = 0; r < TW_LIM_N; r++)
			if (!lc->v1[r][0] && hasmntopt(m, res_name[r]))
				snprintf(lc->v1[r], sizeof(lc->v1[r]), "%s",
					 m->mnt_dir);
	}
	endmntent(f);
	snprintf(file, sizeof(file), "%s/cgroup.controllers", lc->v2);
	for (r = 0; r < TW_LIM_N; r++) {
		/* a controller bound to v1 is never offered by v2 */
		lc->in_v2[r] = lc->v2[0] && file_has_word(file, res_name[r]);
		if (lc->in_v2[r])
			lc->v1[r][0] = '\0';
	}
	for (r = 0; r < TW_LIM_N; r++)
		if (!lc->in_v2[r] && !lc->v1[r][0])
			return -ENOENT;
	return 0;
}

const char *tw_limits_where(const struct tw_limit_ctl *lc,
			    enum tw_limit_res r, char *buf, size_t len)
{
	if (lc->in_v2[r])
		snprintf(buf, len, "cgroup2 %s", lc->v2);
	else if (lc->v1[r][0])
		snprintf(buf, len, "cgroup v1 %s", lc->v1[r]);
	else
		snprintf(buf, len, "none");
	return buf;
}

static int write_str(const char *dir, const char *name, const char *val)
{
	char path[PATH_MAX + 64];
	ssize_t n, len = (ssize_t)strlen(val);
	int fd, ret = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, (size_t)len);
	if (n != len)
		ret = n < 0 ? -errno : -EIO;
	close(fd);
	return ret;
}

/* A v1 call directory: <mount>/<cgroup root>/REL. */
static int v1_dir(const struct tw_limit_ctl *lc, enum tw_limit_res r,
		  const char *rel, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/%s/%s", lc->v1[r], tw_roots.cgroup,
			     rel) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* Enable R for the children of every cgroup from the v2 mount down to the
 * call's parent, so that the call's own directory has the control files. */
static int v2_enable(const struct tw_limit_ctl *lc, enum tw_limit_res r,
		     const char *v2call)
{
	size_t base = strlen(lc->v2);
	char dir[PATH_MAX], ctl[32];
	const char *end = strrchr(v2call, '/');
	int err;

	if (strncmp(v2call, lc->v2, base) || v2call[base] != '/' || !end)
		return -EINVAL;
	snprintf(ctl, sizeof(ctl), "+%s", res_name[r]);
	for (const char *p = v2call + base; p && p <= end;
	     p = strchr(p + 1, '/')) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(p - v2call), v2call);
		err = write_str(dir, "cgroup.subtree_control", ctl);
		if (err)
			return err;
		if (p == end)
			break;
	}
	return 0;
}

int tw_limits_apply(const struct tw_limit_ctl *lc, const char *v2call,
		    const char *rel, uint64_t pids, uint64_t memory,
		    struct tw_limit_join *j, const char **what)
{
	char val[32], dir[PATH_MAX];
	int err, r;

	memset(j, 0, sizeof(*j));
	*what = "";
	for (r = 0; r < TW_LIM_N; r++) {
		snprintf(val, sizeof(val), "%llu",
			 (unsigned long long)(r == TW_LIM_PIDS ? pids : memory));
		if (lc->in_v2[r]) {
			*what = "cgroup.subtree_control";
			err = v2_enable(lc, r, v2call);
			if (err)
				return err;
			*what = r == TW_LIM_PIDS ? "pids.max" : "memory.max";
			err = write_str(v2call, *what, val);
			if (err)
				return err;
			/* swap would let the call exceed its memory */
			if (r == TW_LIM_MEMORY) {
				err = write_str(v2call, "memory.swap.max", "0");
				if (err && err != -ENOENT)
					return *what = "memory.swap.max", err;
			}
			continue;
		}
		if (!lc->v1[r][0])
			return *what = res_name[r], -ENOENT;
		err = v1_dir(lc, r, rel, dir, sizeof(dir));
		if (!err)
			err = tw_mkdir_p(dir, 0755);
		if (err)
			return *what = res_name[r], err;
		if (r == TW_LIM_PIDS) {
			*what = "pids.max";
			err = write_str(dir, *what, val);
		} else {
			*what = "memory.limit_in_bytes";
			err = write_str(dir, *what, val);
			/* memory+swap: the same bound, so swap adds nothing
			 * (absent without swap accounting) */
			if (!err) {
				err = write_str(dir, "memory.memsw.limit_in_bytes",
						val);
				if (err == -ENOENT)
					err = 0;
				else if (err)
					*what = "memory.memsw.limit_in_bytes";
			}
		}
		if (err) {
			rmdir(dir);
			return err;
		}
		snprintf(j->path[j->n++], sizeof(j->path[0]), "%s", dir);
	}
	return 0;
}

int tw_limits_join(const struct tw_limit_join *j, int pid)
{
	for (int i = 0; i < j->n; i++) {
		int err = tw_cg_attach(j->path[i], pid);

		if (err)
			return err;
	}
	return 0;
}

/* The value after "KEY " in a flat-keyed file, 0 if absent. */
static uint64_t keyed(const char *dir, const char *name, const char *key)
{
	char path[PATH_MAX + 64], line[128];
	size_t kl = strlen(key);
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ' ')
			v = strtoull(line + kl + 1, NULL, 10);
	fclose(f);
	return v;
}

static uint64_t single(const char *dir, const char *name)
{
	char path[PATH_MAX + 64], line[64];
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f))
		v = strtoull(line, NULL, 10);
	fclose(f);
	return v;
}

void tw_limits_hits(const struct tw_limit_ctl *lc, const char *v2call,
		    const char *rel, struct tw_limit_hits *h)
{
	char dir[PATH_MAX];

	memset(h, 0, sizeof(*h));
	if (lc->in_v2[TW_LIM_PIDS])
		h->pids_max = keyed(v2call, "pids.events", "max");
	else if (lc->v1[TW_LIM_PIDS][0] &&
		 !v1_dir(lc, TW_LIM_PIDS, rel, dir, sizeof(dir)))
		h->pids_max = keyed(dir, "pids.events", "max");
	if (lc->in_v2[TW_LIM_MEMORY]) {
		h->oom_kills = keyed(v2call, "memory.events", "oom_kill");
		h->mem_max = keyed(v2call, "memory.events", "max");
	} else if (lc->v1[TW_LIM_MEMORY][0] &&
		   !v1_dir(lc, TW_LIM_MEMORY, rel, dir, sizeof(dir))) {
		h->oom_kills = keyed(dir, "memory.oom_control", "oom_kill");
		h->mem_max = single(dir, "memory.failcnt");
	}
}

int tw_limits_remove(const struct tw_limit_ctl *lc, const char *rel)
{
	char dir[PATH_MAX];
	int ret = 0;

	for (int r = 0; r < TW_LIM_N; r++) {
		if (lc->in_v2[r] || !lc->v1[r][0] ||
		    v1_dir(lc, r, rel, dir, sizeof(dir)))
			continue;
		for (int i = 0; i < 50; i++) {
			if (rmdir(dir) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY || i == 49) {
				if (!ret)
					ret = -errno;
				break;
			}
			usleep(20000); /* exiting tasks leave shortly */
		}
	}
	return ret;
}

int tw_limits_remove_all(const struct tw_limit_ctl *lc)
{
	char dir[PATH_MAX];
	int ret = 0;

	for (int r = 0; r < TW_LIM_N; r++) {
		int err;

		if (lc->in_v2[r] || !lc->v1[r][0])
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", lc->v1[r], tw_roots.cgroup);
		/* what still runs there goes to the hierarchy's root */
		err = tw_cg_remove_tree(dir, lc->v1[r]);
		if (err && !ret)
			ret = err;
	}
	return ret;
}

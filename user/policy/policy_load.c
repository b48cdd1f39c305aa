/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * policy_load.c - read a policy from disk and hand the bytes to the pure
 * parser: a directory means every regular *.json file below it, in byte
 * order of their paths (so the result does not depend on readdir order);
 * a file means that file. Hidden entries (".git", editor lock files) are
 * skipped, and symlinked directories are not followed, so a walk always
 * ends.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"

struct pathv {
	char **v;
	size_t n, cap;
};

static int pathv_add(struct pathv *pv, char *p)
{
	if (pv->n == pv->cap) {
		size_t cap = pv->cap ? pv->cap * 2 : 16;
		char **v = realloc(pv->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		pv->v = v;
		pv->cap = cap;
	}
	pv->v[pv->n++] = p;
	return 0;
}

static void pathv_free(struct pathv *pv)
{
	size_t i;

	for (i = 0; i < pv->n; i++)
		free(pv->v[i]);
	free(pv->v);
}

/* A problem with a path as a whole: reported at its line 1, column 1. */
static void path_diag(struct tw_diags *diags, const char *path, int err,
		      const char *what)
{
	struct tw_loc loc = { path, 1, 1 };

	tw_diags_add(diags, loc, "%s: %s", what, strerror(err));
}

static bool is_json(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && !strcmp(name + n - 5, ".json");
}

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir);
	char *p;

	if (asprintf(&p, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/",
		     name) < 0)
		return NULL;
	return p;
}

static int walk_dir(const char *dir, struct pathv *out,
		    struct tw_diags *diags);

/* Collect PATH if it is (or links to) a regular file. Takes PATH. */
static int add_json(char *path, struct pathv *out, struct tw_diags *diags)
{
	struct stat st;
	int err = 0;

	if (stat(path, &st)) {
		path_diag(diags, path, errno, "cannot read policy");
	} else if (S_ISREG(st.st_mode)) {
		if (!pathv_add(out, path))
			return 0;
		err = -ENOMEM;
	}
	free(path);
	return err;
}

/* One directory entry: recurse into directories, collect *.json files. */
static int walk_entry(const char *dir, const char *name, struct pathv *out,
		      struct tw_diags *diags)
{
	struct stat st;
	char *path;
	int err = 0;

	if (name[0] == '.')
		return 0;
	path = join(dir, name);
	if (!path)
		return -ENOMEM;
	/* lstat: a symlinked directory could lead back up the tree */
	if (lstat(path, &st)) {
		path_diag(diags, path, errno, "cannot read policy");
	} else if (S_ISDIR(st.st_mode)) {
		err = walk_dir(path, out, diags);
	} else if (is_json(name)) {
		return add_json(path, out, diags);
	}
	free(path);
	return err;
}

static int walk_dir(const char *dir, struct pathv *out,
		    struct tw_diags *diags)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int err = 0;

	if (!d) {
		path_diag(diags, dir, errno, "cannot read policy directory");
		return 0;
	}
	while (!err && (de = readdir(d)))
		err = walk_entry(dir, de->d_name, out, diags);
	closedir(d);
	return err;
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read all of FD; more than the cap is an error, whatever st_size says. */
static int read_all(int fd, char **buf, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *p = malloc(cap);

	if (!p)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *q;

			if (cap > TW_POLICY_MAX_BYTES) {
				free(p);
				return -EFBIG;
			}
			cap *= 2;
			q = realloc(p, cap);
			if (!q) {
				free(p);
				return -ENOMEM;
			}
			p = q;
		}
		r = read(fd, p + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(p);
			return -errno;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	if (n > TW_POLICY_MAX_BYTES) {
		free(p);
		return -EFBIG;
	}
	*buf = p;
	*len = n;
	return 0;
}

static int load_file(const char *path, struct tw_policy *pol,
		     struct tw_diags *diags)
{
	struct tw_loc loc = { path, 1, 1 };
	size_t len = 0;
	char *buf = NULL;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		path_diag(diags, path, errno, "cannot read policy");
		return -EINVAL;
	}
	err = read_all(fd, &buf, &len);
	close(fd);
	if (err == -EFBIG) {
		tw_diags_add(diags, loc, "policy file is larger than %u MiB",
			     TW_POLICY_MAX_BYTES >> 20);
		return -EINVAL;
	}
	if (err == -ENOMEM)
		return err;
	if (err) {
		path_diag(diags, path, -err, "cannot read policy");
		return -EINVAL;
	}
	err = tw_policy_parse(pol, path, buf, len, diags);
	free(buf);
	return err;
}

static int load_dir(const char *path, struct tw_policy *pol,
		    struct tw_diags *diags)
{
	struct pathv files = { 0 };
	size_t i, before = diags->n;
	int err, ret = 0;

	err = walk_dir(path, &files, diags);
	if (err)
		goto out;
	if (!files.n && diags->n == before) {
		struct tw_loc loc = { path, 1, 1 };

		tw_diags_add(diags, loc, "no *.json policy files in this "
			     "directory");
		err = -EINVAL;
		goto out;
	}
	qsort(files.v, files.n, sizeof(*files.v), path_cmp);
	for (i = 0; i < files.n; i++) {
		err = load_file(files.v[i], pol, diags);
		if (err == -ENOMEM)
			goto out;
		if (err)
			ret = err;
	}
	err = diags->n != before ? -EINVAL : ret;
out:
	pathv_free(&files);
	return err;
}

int tw_policy_load(const char *path, struct tw_policy *pol,
		   struct tw_diags *diags)
{
	struct stat st;
	int err, lerr;

	if (stat(path, &st)) {
		path_diag(diags, path, errno, "cannot read policy");
		return -EINVAL;
	}
	if (S_ISDIR(st.st_mode))
		err = load_dir(path, pol, diags);
	else
		err = load_file(path, pol, diags);
	/* nothing was read: linking would only add "no workspace" noise */
	if (err == -ENOMEM || (err && !pol->nfiles))
		return err;
	lerr = tw_policy_link(pol, diags);
	return err ? err : lerr;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * calldir.c - per-call private directories (see calldir.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calldir.h"

static int cd_fail(struct tw_calldir *cd, int err, const char *what,
		   const char *path)
{
	snprintf(cd->err, sizeof(cd->err), "%s %s: %s", what, path,
		 strerror(-err));
	return err;
}

/*
 * A root of call directories: a root-owned directory nobody else may
 * write, made if missing.
 */
static int root_dir(struct tw_calldir *cd, const char *path)
{
	struct stat st;

	if (mkdir(path, 0711) && errno != EEXIST)
		return cd_fail(cd, -errno, "cannot create", path);
	if (lstat(path, &st))
		return cd_fail(cd, -errno, "cannot inspect", path);
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022)) {
		snprintf(cd->err, sizeof(cd->err),
			 "%s must be a directory owned by root and writable "
			 "by nobody else (it is %s, uid %u, mode %04o); "
			 "remove it",
			 path, S_ISDIR(st.st_mode) ? "a directory" : "not one",
			 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/* Remove NAME below DIRFD, never following symlinks or leaving DIRFD's
 * file system. */
static int rmtree_at(int parent, const char *name, dev_t dev, int depth)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int fd, err = 0;

	if (!unlinkat(parent, name, 0) || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth > 256)
		return -ELOOP;
	fd = openat(parent, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_dev != dev) {
		close(fd);
		return -EXDEV;
	}
	/* The call may have made its own directories unwritable. */
	fchmod(fd, 0700);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d))) {
		int r;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		r = rmtree_at(dirfd(d), e->d_name, dev, depth + 1);
		if (r && !err)
			err = r;
	}
	closedir(d);
	if (unlinkat(parent, name, AT_REMOVEDIR) && !err && errno != ENOENT)
		err = -errno;
	return err;
}

static int rmtree(const char *path)
{
	char parent[PATH_MAX], *slash;
	struct stat st;
	int fd, err;

	if (!*path)
		return 0;
	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return -EINVAL;
	*slash = '\0';
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st)) {
		err = -errno;
	} else {
		err = rmtree_at(fd, slash + 1, st.st_dev, 0);
	}
	close(fd);
	return err;
}

/*
 * A new 0700 directory ROOT/PID.<six random characters> (mkdtemp's
 * pattern, which must end the name), named in OUT.
 */
static int private_dir(const char *root, char out[PATH_MAX])
{
	static const char random_suffix[] = "XXXXXX";

	snprintf(out, PATH_MAX, "%s/%d.%s", root, (int)getpid(),
		 random_suffix);
	return mkdtemp(out) ? 0 : -errno;
}

int tw_calldir_create(struct tw_calldir *cd, uid_t uid, gid_t gid)
{
	int err;

	memset(cd, 0, sizeof(*cd));
	if ((err = root_dir(cd, tw_roots.calls_run)) ||
	    (err = root_dir(cd, tw_roots.calls_scratch)))
		return err;
	if ((err = private_dir(tw_roots.calls_run, cd->run))) {
		cd->run[0] = '\0';
		return cd_fail(cd, err, "cannot create a directory in",
			       tw_roots.calls_run);
	}
	snprintf(cd->creds, sizeof(cd->creds), "%s/credentials", cd->run);
	snprintf(cd->instructions, sizeof(cd->instructions), "%s/instructions",
		 cd->run);
	if (chmod(cd->run, 0711) || mkdir(cd->creds, 0700)) {
		err = -errno;
	} else if ((err = private_dir(tw_roots.calls_scratch, cd->scratch))) {
		cd->scratch[0] = '\0';
	} else if (chown(cd->scratch, uid, gid)) {
		err = -errno;
	}
	if (!err)
		return 0;
	cd_fail(cd, err, "cannot prepare the call's directories under",
		cd->scratch[0] ? cd->scratch : cd->run);
	tw_calldir_remove(cd);
	return err;
}

/*
 * Create PATH (it must not exist: O_EXCL, no symlink followed) with MODE,
 * write all of DATA, and give it to UID/GID unless UID is -1.
 */
static int write_new(struct tw_calldir *cd, const char *path, const void *data,
		     size_t len, mode_t mode, uid_t uid, gid_t gid)
{
	size_t done = 0;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  mode);
	if (fd < 0)
		return cd_fail(cd, -errno, "cannot create", path);
	while (done < len) {
		ssize_t w = write(fd, (const char *)data + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err = -errno;
			break;
		}
		done += (size_t)w;
	}
	if (!err && uid != (uid_t)-1 && fchown(fd, uid, gid))
		err = -errno;
	close(fd);
	return err ? cd_fail(cd, err, "cannot write", path) : 0;
}

int tw_calldir_put_cred(struct tw_calldir *cd, const char *name,
			const char *value, size_t len, uid_t uid, gid_t gid)
{
	char path[PATH_MAX];

	if (!*name || strchr(name, '/') || name[0] == '.')
		return cd_fail(cd, -EINVAL,
			       "credential name not usable as a "
			       "file name:",
			       name);
	snprintf(path, sizeof(path), "%s/%s", cd->creds, name);
	return write_new(cd, path, value, len, 0400, uid, gid);
}

int tw_calldir_seal(struct tw_calldir *cd, uid_t uid, gid_t gid)
{
	if (chown(cd->creds, uid, gid) || chmod(cd->creds, 0500))
		return cd_fail(cd, -errno, "cannot hand over", cd->creds);
	return 0;
}

int tw_calldir_put_instructions(struct tw_calldir *cd, const char *text)
{
	return write_new(cd, cd->instructions, text, strlen(text), 0444,
			 (uid_t)-1, (gid_t)-1);
}

int tw_calldir_remove(struct tw_calldir *cd)
{
	int e1 = rmtree(cd->run), e2 = rmtree(cd->scratch);

	if (e1)
		return cd_fail(cd, e1, "cannot remove", cd->run);
	if (e2)
		return cd_fail(cd, e2, "cannot remove", cd->scratch);
	cd->run[0] = cd->scratch[0] = '\0';
	return 0;
}

static void sweep_root(const char *root)
{
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (lstat(root, &st) || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022))
		return;
	d = opendir(root);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);

		if (end == e->d_name || *end != '.' || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* its launcher runs (or a PID reuse) */
		rmtree_at(dirfd(d), e->d_name, st.st_dev, 0);
	}
	closedir(d);
}

void tw_calldir_sweep(void)
{
	sweep_root(tw_roots.calls_run);
	sweep_root(tw_roots.calls_scratch);
}

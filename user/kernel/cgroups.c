// SPDX-License-Identifier: GPL-2.0-only
/*
 * cgroups.c - find the cgroup v2 mount, create and remove context and call
 * cgroups. The mount is discovered from /proc/mounts, never assumed: hybrid
 * layouts put it at /sys/fs/cgroup/unified.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <mntent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroups.h"
#include "util.h"

int tw_cg_mount(char *buf, size_t len)
{
	FILE *f = setmntent("/proc/mounts", "re");
	struct mntent *m;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while ((m = getmntent(f))) {
		if (strcmp(m->mnt_type, "cgroup2"))
			continue;
		if ((size_t)snprintf(buf, len, "%s", m->mnt_dir) >= len)
			ret = -ENAMETOOLONG;
		else
			ret = 0;
		break;
	}
	endmntent(f);
	return ret;
}

int tw_cg_root(char *buf, size_t len)
{
	char mnt[PATH_MAX];
	int err = tw_cg_mount(mnt, sizeof(mnt));

	if (err)
		return err;
	if ((size_t)snprintf(buf, len, "%s/%s", mnt, tw_roots.cgroup) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int tw_cg_id(const char *path, uint64_t *id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh.handle_bytes = sizeof(uint64_t) };
	int mnt_id;

	/* The kernfs node id that bpf_get_current_cgroup_id() returns. */
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mnt_id, 0) < 0)
		return -errno;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

int tw_cg_make(const char *root, const char *rel, uint64_t *id)
{
	char path[PATH_MAX];
	int err;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", root, rel) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	err = tw_mkdir_p(path, 0755);
	if (err)
		return err;
	return id ? tw_cg_id(path, id) : 0;
}

int tw_cg_attach(const char *path, int pid)
{
	char file[PATH_MAX], buf[32];
	int fd, n, ret = 0;

	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d\n", pid);
	if (write(fd, buf, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

/* This process runs one thread (from /proc/self/status). */
static bool one_thread(void)
{
	char line[128];
	bool one = false;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Threads:", 8)) {
			one = atoi(line + 8) == 1;
			break;
		}
	fclose(f);
	return one;
}

pid_t tw_cg_clone_into(const char *path, uint64_t flags)
{
	struct clone_args ca = { .flags = CLONE_INTO_CGROUP | flags,
				 .exit_signal = SIGCHLD };
	long pid;
	int fd, e;

	/* The child of a raw clone3 inherits the C library's view of threads
	 * that are not there (their locks, the set*id broadcast to them) */
	if (!one_thread()) {
		errno = EBUSY;
		return -1;
	}
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ca.cgroup = (uint64_t)fd;
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	e = errno;
	close(fd);
	errno = e;
	return (pid_t)pid;
}

int tw_cg_rejoin_self(void)
{
	char mnt[PATH_MAX], line[PATH_MAX], file[2 * PATH_MAX];
	FILE *f;
	int err = tw_cg_mount(mnt, sizeof(mnt));

	if (err)
		return err;
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	err = -ENOENT;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::/", 4)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(file, sizeof(file), "%s%s", mnt, line + 3);
			err = 0;
			break;
		}
	fclose(f);
	/* "0": the writer itself */
	return err ? err : tw_cg_attach(file, 0);
}

int tw_cg_nprocs(const char *path)
{
	char file[PATH_MAX], line[64];
	FILE *f;
	int n = 0;

	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	f = fopen(file, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

int tw_cg_populated(const char *path)
{
	char file[PATH_MAX], line[64];
	int populated = -ENODATA;
	FILE *f;

	snprintf(file, sizeof(file), "%s/cgroup.events", path);
	f = fopen(file, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "populated ", 10))
			populated = atoi(line + 10) != 0;
	fclose(f);
	return populated;
}

/* Move the processes of one cgroup to DEST (best effort, repeated while
 * new ones appear, e.g. forks racing the move). */
static void evacuate(const char *path, const char *dest)
{
	char file[PATH_MAX], line[64];

	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	for (int round = 0; round < 10; round++) {
		FILE *f = fopen(file, "re");
		int moved = 0;

		if (!f)
			return;
		while (fgets(line, sizeof(line), f)) {
			if (tw_cg_attach(dest, atoi(line)) == 0)
				moved++;
		}
		fclose(f);
		if (!moved)
			return;
	}
}

int tw_cg_remove_tree(const char *path, const char *dest)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int ret = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
				     de->d_name) >= sizeof(sub))
			continue;
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
			int err = tw_cg_remove_tree(sub, dest);

			if (err && !ret)
				ret = err;
		}
	}
	closedir(d);
	if (dest)
		evacuate(path, dest);
	for (int i = 0; i < 50; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return ret;
		if (errno != EBUSY)
			break;
		usleep(20000); /* exiting tasks leave the cgroup shortly */
	}
	return ret ? ret : -errno;
}

int tw_cg_kill(const char *path)
{
	char file[PATH_MAX];
	int fd, ret = 0;

	snprintf(file, sizeof(file), "%s/cgroup.kill", path);
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "1", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * creds.c - read credential stores as root, and prove the agent account
 * cannot.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "creds.h"

int tw_account_get(const char *name, struct tw_account *a)
{
	struct passwd *pw = name && *name ? getpwnam(name) : NULL;

	if (!pw)
		return -ENOENT;
	a->uid = pw->pw_uid;
	a->gid = pw->pw_gid;
	a->ngroups = sizeof(a->groups) / sizeof(a->groups[0]);
	snprintf(a->name, sizeof(a->name), "%s", pw->pw_name);
	if (getgrouplist(pw->pw_name, pw->pw_gid, a->groups, &a->ngroups) < 0)
		return -E2BIG;
	return 0;
}

int tw_cred_read(struct tw_cred *c)
{
	struct stat st;
	ssize_t r;
	size_t got = 0;
	int fd, err = 0;

	c->value = NULL;
	c->len = 0;
	fd = open(c->source,
		  O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	if (st.st_size > TW_CRED_MAX_BYTES) {
		err = -EFBIG;
		goto out;
	}
	c->value = malloc((size_t)st.st_size + 1);
	if (!c->value) {
		err = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		r = read(fd, c->value + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	c->value[got] = '\0';
	c->len = got; /* also what the wipe below covers on an error */
out:
	close(fd);
	if (err)
		tw_cred_wipe(c);
	return err;
}

int tw_cred_placeholder(struct tw_cred *c)
{
	c->value = strdup(c->placeholder);
	c->len = c->value ? strlen(c->value) : 0;
	return c->value ? 0 : -ENOMEM;
}

void tw_cred_wipe(struct tw_cred *c)
{
	if (c->value) {
		explicit_bzero(c->value, c->len + 1);
		free(c->value);
	}
	c->value = NULL;
	c->len = 0;
}

int tw_cred_env_value(const struct tw_cred *c, char **out)
{
	size_t n = c->len;

	if (memchr(c->value, '\0', c->len))
		return -EINVAL;
	while (n && (c->value[n - 1] == '\n' || c->value[n - 1] == '\r'))
		n--;
	*out = strndup(c->value, n);
	return *out ? 0 : -ENOMEM;
}

int tw_readable_by(const struct tw_account *a, const char *const *paths,
		   size_t n, long *first_readable)
{
	int pfd[2], status;
	long idx = -1;
	ssize_t r;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(pfd[0]);
		close(pfd[1]);
		return err;
	}
	if (pid == 0) {
		long first = -1;

		close(pfd[0]);
		if (setgroups(a->ngroups, a->groups) || setgid(a->gid) ||
		    setuid(a->uid) || setuid(0) == 0)
			_exit(2);
		for (size_t i = 0; i < n && first < 0; i++) {
			int fd = open(paths[i], O_RDONLY | O_CLOEXEC |
						    O_NOCTTY | O_NONBLOCK);

			if (fd >= 0) {
				close(fd);
				first = (long)i;
			}
		}
		if (write(pfd[1], &first, sizeof(first)) != sizeof(first))
			_exit(2);
		_exit(0);
	}
	close(pfd[1]);
	do
		r = read(pfd[0], &idx, sizeof(idx));
	while (r < 0 && errno == EINTR);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r != sizeof(idx) || !WIFEXITED(status) || WEXITSTATUS(status))
		return -EPERM; /* could not become the account */
	*first_readable = idx;
	return 0;
}

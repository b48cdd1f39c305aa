// SPDX-License-Identifier: GPL-2.0-only
/*
 * creds.c - read credential stores as root, and prove the agent account
 * cannot.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

struct readable_job {
	const struct tw_account *a;
	const char *const *paths;
	size_t n;
	long first;
	int err;
};

/*
 * The thread becomes the account by raw system calls: the kernel keeps
 * credentials per thread, and only the C library's wrappers apply them to
 * every thread of the process. This thread alone drops root, for good
 * (it checks it cannot come back), and ends; the launcher stays root.
 */
static void *readable_thread(void *arg)
{
	struct readable_job *j = arg;

	j->first = -1;
	if (syscall(SYS_setgroups, (long)j->a->ngroups, j->a->groups) ||
	    syscall(SYS_setresgid, (long)j->a->gid, (long)j->a->gid,
		    (long)j->a->gid) ||
	    syscall(SYS_setresuid, (long)j->a->uid, (long)j->a->uid,
		    (long)j->a->uid) ||
	    syscall(SYS_setresuid, 0L, 0L, 0L) == 0) {
		j->err = -EPERM; /* could not become the account */
		return NULL;
	}
	for (size_t i = 0; i < j->n && j->first < 0; i++) {
		int fd = open(j->paths[i],
			      O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

		if (fd >= 0) {
			close(fd);
			j->first = (long)i;
		}
	}
	return NULL;
}

int tw_readable_by(const struct tw_account *a, const char *const *paths,
		   size_t n, long *first_readable)
{
	struct readable_job j = { .a = a, .paths = paths, .n = n };
	pthread_t t;
	int err = pthread_create(&t, NULL, readable_thread, &j);

	if (err)
		return -err;
	pthread_join(t, NULL);
	if (j.err)
		return j.err;
	*first_readable = j.first;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * notify.c - sd_notify(3) over $NOTIFY_SOCKET, by hand (see notify.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

static struct sockaddr_un notify_addr;
static socklen_t notify_len; /* 0: no socket */

int tw_notify_init(void)
{
	const char *v = getenv("NOTIFY_SOCKET");
	size_t n;

	notify_len = 0;
	if (!v || !*v)
		return 1;
	n = strlen(v);
	if (v[0] != '/' && v[0] != '@')
		return strchr(v, ':') ? -EAFNOSUPPORT : -EINVAL;
	if (n < 2 || n > sizeof(notify_addr.sun_path))
		return -EINVAL;
	memset(&notify_addr, 0, sizeof(notify_addr));
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, v, n);
	if (v[0] == '@')
		notify_addr.sun_path[0] = '\0'; /* abstract namespace */
	/* An abstract name is exactly its bytes; a path ends at its NUL. */
	notify_len = offsetof(struct sockaddr_un, sun_path) + n +
		     (v[0] == '/' && n < sizeof(notify_addr.sun_path));
	unsetenv("NOTIFY_SOCKET");
	return 0;
}

int tw_notify(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	ssize_t sent;
	int fd, n, ret = 0;

	if (!notify_len)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1; /* a STATUS= line cut short */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sent = sendto(fd, msg, n, MSG_NOSIGNAL,
		      (const struct sockaddr *)&notify_addr, notify_len);
	if (sent < 0)
		ret = -errno;
	else if (sent != n)
		ret = -EMSGSIZE;
	close(fd);
	return ret;
}

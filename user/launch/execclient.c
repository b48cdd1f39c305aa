// SPDX-License-Identifier: GPL-2.0-only
/*
 * execclient.c - `toolwall exec` for anyone but root (see execclient.h):
 * one request over the daemon's launch socket, with stdin, stdout, stderr
 * and the working directory as SCM_RIGHTS; then this process only relays
 * its signals and waits for the call's exit status. Nothing here decides
 * anything: the daemon checks who we are (SO_PEERCRED) and its supervisor
 * runs the call exactly as root's exec would.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "execclient.h"
#include "prepare.h"
#include "callsummary.h"
#include "util.h"

extern char **environ;

/* What the client relays: by name, as the protocol says them. */
static const int relayed[] = { SIGINT,	SIGTERM, SIGHUP,  SIGQUIT,
			       SIGUSR1, SIGUSR2, SIGWINCH };

static json_t *request(const struct exec_args *a)
{
	json_t *req, *argv = json_array(), *env = json_array(),
		     *pres = json_array();

	for (char **c = a->cmd; argv && *c; c++)
		json_array_append_new(argv, json_string(*c));
	for (size_t i = 0; env && i < a->nenvs; i++)
		json_array_append_new(env, json_string(a->envs[i]));
	for (char **e = environ; pres && *e; e++)
		if (tw_env_presentation(*e))
			json_array_append_new(pres, json_string(*e));
	req = json_pack("{s:i,s:s,s:s,s:s?,s:s?,s:o,s:o,s:o,s:b}", "v",
			TW_CTL_VERSION, "op", "exec", "context", a->ctx,
			"call_id", a->call_id, "requester", a->requester,
			"argv", argv, "env", env, "environ", pres, "quiet",
			a->quiet);
	return req;
}

/* The request line with our stdin, stdout, stderr and working directory
 * (a closed one of 0-2 goes as /dev/null). 0 or -errno. */
static int send_request(int sock, json_t *req)
{
	char *txt = json_dumps(req, JSON_COMPACT);
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u = {};
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf };
	int fds[4] = { 0, 1, 2, -1 }, nfds = 3, null = -1, ret = 0;
	size_t len, off = 0;
	struct cmsghdr *cm;

	if (!txt)
		return -ENOMEM;
	len = strlen(txt);
	txt[len++] = '\n';
	for (int i = 0; i < 3; i++) {
		if (fcntl(i, F_GETFD) >= 0)
			continue;
		if (null < 0)
			null = open("/dev/null", O_RDWR | O_CLOEXEC);
		fds[i] = null;
	}
	fds[3] = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fds[3] >= 0)
		nfds = 4;
	mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	while (off < len) {
		ssize_t n;

		iov = (struct iovec){ txt + off, len - off };
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		off += (size_t)n;
		mh.msg_control = NULL; /* the descriptors went with the first */
		mh.msg_controllen = 0;
	}
	if (fds[3] >= 0)
		close(fds[3]);
	if (null >= 0)
		close(null);
	free(txt);
	return ret;
}

static int launch_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", tw_roots.launch);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* One message of the daemon's: the end (the exit status, >= 0), a
 * refusal (TW_EXIT_TOOLWALL), or -1 to go on. */
static int on_message(json_t *m, void *arg)
{
	const struct exec_args *a = arg;
	json_t *st = json_object_get(m, "status"), *sum;
	int err;

	if (!json_is_true(json_object_get(m, "ok"))) {
		const char *e = json_string_value(json_object_get(m, "error"));

		tw_error("exec: %s", e ? e : "the daemon refused the call");
		return TW_EXIT_TOOLWALL;
	}
	if (!json_is_integer(st))
		return -1; /* a message a later version may send */
	sum = json_object_get(m, "summary");
	if (a->summary_fd >= 0 && json_is_object(sum)) {
		err = tw_send_json(a->summary_fd, sum);
		if (err)
			tw_warn("exec: cannot write the summary to descriptor "
				"%d: %s",
				a->summary_fd, strerror(-err));
	}
	return (int)json_integer_value(st) & 0xff;
}

/* Our signals, by name, to the daemon's supervisor of the call. */
static void relay_signal(int sock, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		const char *name = sigabbrev_np((int)si.ssi_signo);
		json_t *m = json_pack("{s:i,s:s,s:s}", "v", TW_CTL_VERSION,
				      "op", "signal", "signal",
				      name ? name : "?");

		if (m)
			tw_send_json(sock, m); /* gone: the reply loop sees it */
		json_decref(m);
	}
}

/* Read the daemon's lines until the call's end. */
static int wait_end(const struct exec_args *a, int sock, int sfd)
{
	char buf[65536];
	size_t len = 0;

	for (;;) {
		struct pollfd pf[2] = { { .fd = sock, .events = POLLIN },
					{ .fd = sfd, .events = POLLIN } };
		ssize_t n;
		int code;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents & POLLIN)
			relay_signal(sock, sfd);
		if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(sock, buf + len, sizeof(buf) - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		code = tw_json_lines(buf, &len, on_message, (void *)a);
		if (code >= 0)
			return code;
		if (len == sizeof(buf) - 1)
			break; /* no line this long is ours */
	}
	tw_error("exec: the daemon ended the call without its exit status "
		 "(see the audit log)");
	return TW_EXIT_TOOLWALL;
}

int tw_exec_client(const struct exec_args *a)
{
	json_t *req = request(a);
	int sock, sfd, err, code;
	sigset_t set;

	if (!req) {
		tw_error("exec: out of memory");
		return TW_EXIT_TOOLWALL;
	}
	sock = launch_connect();
	if (sock < 0) {
		tw_error("exec: toolwall daemon not reachable at %s (%s)%s; the "
			 "tool call was not started",
			 tw_roots.launch, strerror(-sock),
			 sock == -EACCES ?
				 ": only root and members of the launcher "
				 "group may launch tool calls" :
				 "");
		json_decref(req);
		return TW_EXIT_TOOLWALL;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(relayed) / sizeof(relayed[0]); i++)
		sigaddset(&set, relayed[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	err = send_request(sock, req);
	json_decref(req);
	/* refused before it read the request: its answer is still there */
	if (err && err != -EPIPE && err != -ECONNRESET) {
		tw_error("exec: cannot send the request to %s: %s",
			 tw_roots.launch, strerror(-err));
		code = TW_EXIT_TOOLWALL;
	} else {
		code = wait_end(a, sock, sfd);
	}
	if (sfd >= 0)
		close(sfd);
	close(sock);
	return code;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * supervise.c - `toolwall supervise` (internal: the daemon runs it, nobody
 * else): root's side of one call a launcher asked for over the launch
 * socket. The daemon accepted the connection (its peer is root or in the
 * launcher group), then started this binary with the connection as fd 3.
 * Here the request and the launcher's stdin, stdout, stderr and working
 * directory are read from it, and the call runs through the very path of
 * root's own exec (launch.c: call-start, account, Landlock, seccomp,
 * namespaces, limits, brokered placeholders, call-end), with the launcher's
 * descriptors as its stdio. Its signals come in as messages; the launcher
 * going away kills the call (as root's exec killed does); the exit status
 * and the summary go back as the last message. See toolwall-protocol(7).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "execargs.h"
#include "launch.h"
#include "prepare.h"
#include "callsummary.h"
#include "util.h"

#define SV_FD 3			   /* the launcher's connection */
#define SV_REQUEST_MS 10000	   /* to send the request, at most */
#define SV_MAX_REQUEST (256 * 1024) /* bytes */
#define SV_MAX_ARGS 4096

/* The signals a launcher may send the call, by the names it uses. */
static const struct {
	const char *name;
	int sig;
} sv_signals[] = {
	{ "INT", SIGINT },   { "TERM", SIGTERM }, { "HUP", SIGHUP },
	{ "QUIT", SIGQUIT }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
	{ "WINCH", SIGWINCH },
};

/* What the reader thread and the run share, under mu. */
static struct {
	pthread_mutex_t mu;
	int pidfd;	 /* the call's init, while it runs; else -1 */
	bool background; /* its leftovers run on: the launcher's end too */
} sv = { PTHREAD_MUTEX_INITIALIZER, -1, false };

static void reply_error(const char *fmt, const char *arg)
{
	char msg[512];
	json_t *m;

	snprintf(msg, sizeof(msg), fmt, arg);
	m = json_pack("{s:i,s:b,s:s}", "v", TW_CTL_VERSION, "ok", 0, "error",
		      msg);
	if (m)
		tw_send_json(SV_FD, m);
	json_decref(m);
}

/* Take the descriptors of the first SCM_RIGHTS message (4 at most);
 * any others are closed. */
static void take_fds(struct msghdr *mh, int *fds, int *nfds, bool *taken)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int got[8];

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue; /* SCM_CREDENTIALS: never asked for, unused */
		n = n > 8 ? 8 : n;
		memcpy(got, CMSG_DATA(c), n * sizeof(int));
		for (int i = 0; i < n; i++) {
			if (!*taken && *nfds < 4)
				fds[(*nfds)++] = got[i];
			else
				close(got[i]);
		}
		*taken = true;
	}
}

/* The request line and its descriptors (FDS, *NFDS), within
 * SV_REQUEST_MS. NULL: said to the launcher. */
static json_t *read_request(int *fds, int *nfds)
{
	struct timespec t0, t;
	size_t len = 0;
	char *buf = malloc(SV_MAX_REQUEST);
	json_t *req = NULL;
	bool taken = false;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (buf) {
		union {
			char b[CMSG_SPACE(8 * sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = { buf + len, SV_MAX_REQUEST - 1 - len };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = u.b,
				     .msg_controllen = sizeof(u.b) };
		struct pollfd pf = { .fd = SV_FD, .events = POLLIN };
		long left;
		ssize_t n;
		char *nl;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = SV_REQUEST_MS - ((t.tv_sec - t0.tv_sec) * 1000 +
					(t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&pf, 1, (int)left) <= 0) {
			reply_error("%s", "no request within 10 s");
			break;
		}
		n = recvmsg(SV_FD, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* gone before its request */
		take_fds(&mh, fds, nfds, &taken);
		len += (size_t)n;
		nl = memchr(buf, '\n', len);
		if (nl) {
			req = json_loadb(buf, (size_t)(nl - buf), 0, NULL);
			if (!json_is_object(req)) {
				json_decref(req);
				req = NULL;
				reply_error("%s", "the request is not a JSON "
						  "object on one line");
			}
			break;
		}
		if (len >= SV_MAX_REQUEST - 1) {
			reply_error("%s", "the request is longer than 256 KiB");
			break;
		}
	}
	free(buf);
	return req;
}

/* A string array of at most MAX items, each without a NUL: into a new
 * NULL-terminated vector. NULL: not one (said). */
static char **strings(json_t *arr, const char *field, size_t max)
{
	size_t i, n = json_array_size(arr);
	char **v;
	json_t *x;

	if (!json_is_array(arr) || n > max) {
		reply_error("\"%s\" must be an array of strings", field);
		return NULL;
	}
	v = calloc(n + 1, sizeof(*v));
	json_array_foreach (arr, i, x) {
		const char *s = json_string_value(x);

		if (!v || !s || strlen(s) != json_string_length(x)) {
			reply_error("\"%s\" must be an array of strings "
				    "without NUL bytes",
				    field);
			free(v);
			return NULL;
		}
		v[i] = (char *)s;
	}
	return v;
}

/* The request's fields into A (pointing into REQ). 0, or -1 (said). */
static int parse_request(json_t *req, struct exec_args *a, char ***environ_v)
{
	static const char *const known[] = { "v",	 "op",	"context",
					     "call_id", "requester",
					     "argv",	 "env", "environ",
					     "quiet",	 NULL };
	json_t *v = json_object_get(req, "v"), *x, *none = json_array();
	int ret = -1;
	const char *key, *op = json_string_value(json_object_get(req, "op"));

	if (!op || strcmp(op, "exec")) {
		reply_error("the first request must be \"exec\", not \"%s\"",
			    op ? op : "(none)");
		goto out;
	}
	json_object_foreach (req, key, x) {
		size_t k = 0;

		while (known[k] && strcmp(known[k], key))
			k++;
		if (!known[k]) {
			reply_error("unknown field \"%s\" in an exec request "
				    "(toolwall-protocol(7))",
				    key);
			goto out;
		}
	}
	if (v && json_integer_value(v) != TW_CTL_VERSION) {
		reply_error("%s", "protocol version not supported (this "
				  "daemon speaks \"v\": 1)");
		goto out;
	}
	a->ctx = json_string_value(json_object_get(req, "context"));
	a->call_id = json_string_value(json_object_get(req, "call_id"));
	a->requester = json_string_value(json_object_get(req, "requester"));
	a->quiet = json_is_true(json_object_get(req, "quiet"));
	if (!a->ctx || !*a->ctx) {
		reply_error("%s", "an exec request needs a \"context\"");
		goto out;
	}
	a->cmd = strings(json_object_get(req, "argv"), "argv", SV_MAX_ARGS);
	if (!a->cmd)
		goto out;
	if (!a->cmd[0] || !*a->cmd[0]) {
		reply_error("%s", "\"argv\" names no command");
		goto out;
	}
	x = json_object_get(req, "env");
	a->envs = strings(x ? x : none, "env", 256);
	x = json_object_get(req, "environ");
	*environ_v = a->envs ? strings(x ? x : none, "environ", 256) : NULL;
	if (!a->envs || !*environ_v)
		goto out;
	for (a->nenvs = 0; a->envs[a->nenvs]; a->nenvs++)
		if (!strchr(a->envs[a->nenvs], '=') ||
		    a->envs[a->nenvs][0] == '=') {
			reply_error("\"env\" takes NAME=VALUE, not '%s'",
				    a->envs[a->nenvs]);
			goto out;
		}
	ret = 0;
out:
	json_decref(none);
	return ret;
}

/*
 * The launcher's stdio may be what it could open itself, never a way
 * around the call's confinement: no directory (a path base outside the
 * call's mount namespace) and no O_PATH descriptor; a socket only of the
 * unix family whose other end is the launcher's own account (a pipe of
 * its runtime, not a connection to a service or a host the call may not
 * reach). 0, or -1 (said).
 */
static int check_stdio(const int *fds, int nfds, uid_t uid)
{
	static const char *const name[] = { "stdin", "stdout", "stderr" };

	for (int i = 0; i < 3 && i < nfds; i++) {
		struct ucred cr;
		socklen_t len = sizeof(cr);
		int dom = 0, fl = fcntl(fds[i], F_GETFL);
		socklen_t dlen = sizeof(dom);
		struct stat st;

		if (fstat(fds[i], &st) || fl < 0 || (fl & O_PATH) ||
		    S_ISDIR(st.st_mode)) {
			reply_error("refused: the launcher's %s is a directory "
				    "or an O_PATH descriptor",
				    name[i]);
			return -1;
		}
		if (!S_ISSOCK(st.st_mode))
			continue;
		if (getsockopt(fds[i], SOL_SOCKET, SO_DOMAIN, &dom, &dlen) ||
		    dom != AF_UNIX ||
		    getsockopt(fds[i], SOL_SOCKET, SO_PEERCRED, &cr, &len) ||
		    cr.uid != uid) {
			reply_error("refused: the launcher's %s is a socket "
				    "other than a unix socket to its own "
				    "account",
				    name[i]);
			return -1;
		}
	}
	return 0;
}

/* The launcher's descriptors become ours: stdio and working directory
 * (the call starts there when a grant covers it, as root's exec does). */
static void take_stdio(int *fds, int nfds)
{
	struct stat st;

	for (int i = 0; i < 3; i++)
		dup2(fds[i], i);
	if (nfds < 4 || fstat(fds[3], &st) || !S_ISDIR(st.st_mode) ||
	    fchdir(fds[3]))
		(void)!chdir("/");
	for (int i = 0; i < nfds; i++)
		if (fds[i] > 2)
			close(fds[i]);
}

/* The call's presentation variables are the launcher's, not the daemon's. */
static void take_environ(char **pres)
{
	extern char **environ;
	char name[256];

	for (size_t i = 0; environ[i];)
		if (tw_env_presentation(environ[i])) {
			snprintf(name, sizeof(name), "%.*s",
				 (int)strcspn(environ[i], "="), environ[i]);
			unsetenv(name);
		} else {
			i++;
		}
	for (size_t i = 0; pres[i]; i++)
		if (tw_env_presentation(pres[i]))
			putenv(pres[i]);
}

static void send_sig(int sig)
{
	if (sv.pidfd >= 0 && sig == SIGKILL)
		syscall(SYS_pidfd_send_signal, sv.pidfd, SIGKILL, NULL, 0);
	else if (sv.pidfd >= 0)
		kill(getpid(), sig); /* the relay's signalfd passes it on */
}

/* {"op":"signal","signal":NAME}: one of sv_signals, for the call. */
static int on_message(json_t *m, void *arg)
{
	const char *s = json_string_value(json_object_get(m, "signal"));

	(void)arg;
	for (size_t i = 0; s && i < sizeof(sv_signals) / sizeof(sv_signals[0]);
	     i++)
		if (!strcmp(s, sv_signals[i].name)) {
			pthread_mutex_lock(&sv.mu);
			send_sig(sv_signals[i].sig);
			pthread_mutex_unlock(&sv.mu);
		}
	return -1;
}

/* The launcher's messages: signals for the call; its end kills the call
 * (unless the context runs leftovers on, as root's exec killed would). */
static void *reader(void *arg)
{
	char buf[4096];
	size_t len = 0;

	(void)arg;
	for (;;) {
		ssize_t n = recv(SV_FD, buf + len, sizeof(buf) - 1 - len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		tw_json_lines(buf, &len, on_message, NULL);
		if (len == sizeof(buf) - 1)
			len = 0; /* no message of ours is this long */
	}
	pthread_mutex_lock(&sv.mu);
	if (!sv.background)
		send_sig(SIGKILL);
	pthread_mutex_unlock(&sv.mu);
	return NULL;
}

/*
 * The call's init runs: the launcher's messages are read from now on
 * (what it sent meanwhile waited in the socket). The reader starts only
 * now, so that the init came from a process of one thread, created in its
 * cgroup (tw_callns_fork_init).
 */
static void on_running(pid_t init, bool background, void *arg)
{
	sigset_t set, all, old;
	pthread_t th;

	(void)arg;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(sv_signals) / sizeof(sv_signals[0]); i++)
		sigaddset(&set, sv_signals[i].sig);
	sigprocmask(SIG_BLOCK, &set, NULL); /* for the relay's signalfd */
	pthread_mutex_lock(&sv.mu);
	sv.pidfd = (int)syscall(SYS_pidfd_open, init, 0);
	sv.background = background;
	pthread_mutex_unlock(&sv.mu);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&th, NULL, reader, NULL)) {
		/* no one would pass on the launcher's signals or its end */
		tw_error("supervise: cannot start the reader; the call is "
			 "ended");
		pthread_mutex_lock(&sv.mu);
		send_sig(SIGKILL);
		pthread_mutex_unlock(&sv.mu);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The call, run as root's exec runs it; its end told to the launcher. */
static int run(struct exec_args *a)
{
	struct tw_exec_hooks h = { .running = on_running };
	char id[128];
	json_t *end = NULL, *sum, *m;
	int code;

	code = tw_exec_call(a, &h, &end, id, sizeof(id));
	pthread_mutex_lock(&sv.mu);
	if (sv.pidfd >= 0)
		close(sv.pidfd); /* reaped: nothing to signal any more */
	sv.pidfd = -1;
	pthread_mutex_unlock(&sv.mu);
	sum = tw_call_summary_json(end, a->ctx, id, code);
	m = json_pack("{s:i,s:b,s:s,s:i,s:o?}", "v", TW_CTL_VERSION, "ok", 1,
		      "event", "exit", "status", code, "summary", sum);
	if (m)
		tw_send_json(SV_FD, m);
	json_decref(m);
	json_decref(end);
	return code;
}

int cmd_supervise(int argc, char **argv)
{
	struct exec_args a = { .summary_fd = -1 };
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fds[4] = { -1, -1, -1, -1 }, nfds = 0, code = TW_EXIT_TOOLWALL;
	char **pres = NULL;
	json_t *req;

	(void)argv;
	if (argc != 1 || geteuid() != 0 ||
	    getsockopt(SV_FD, SOL_SOCKET, SO_PEERCRED, &cr, &len)) {
		tw_error("supervise: internal to `toolwall daemon`, which "
			 "runs it as root for one launch socket connection");
		return TW_EXIT_TOOLWALL;
	}
	setsid();
	signal(SIGPIPE, SIG_IGN);
	req = read_request(fds, &nfds);
	if (!req)
		goto out;
	a.launcher_uid = cr.uid;
	if (parse_request(req, &a, &pres))
		goto out;
	if (nfds < 3) {
		reply_error("%s", "the request must carry stdin, stdout and "
				  "stderr (SCM_RIGHTS)");
		goto out;
	}
	if (check_stdio(fds, nfds, cr.uid))
		goto out;
	take_stdio(fds, nfds);
	nfds = 0;
	take_environ(pres);
	code = run(&a);
out:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	free(a.cmd);
	free(a.envs);
	free(pres);
	json_decref(req);
	return code;
}

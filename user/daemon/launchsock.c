// SPDX-License-Identifier: GPL-2.0-only
/*
 * launchsock.c - the launch socket: how anyone but root starts a tool call
 * (see launchsock.h and toolwall-protocol(7)).
 *
 * The daemon only decides who may launch and never talks with a launcher
 * beyond one line: at accept it reads the peer's credentials from the
 * kernel (SO_PEERCRED, taken at connect: nothing the client says), and
 * resolves the uid's groups itself from the account database. Root and
 * members of the launcher group get a supervisor: this very binary,
 * started as `toolwall supervise` with the connection as fd 3, which runs
 * the call by root's own exec path and relays for as long as it lasts.
 * Anyone else gets a refusal line and a `launch` audit record. The
 * daemon's loop never waits on a launcher: the refusal is one
 * non-blocking send, and a supervisor is a pidfd in the loop's epoll.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launchsock.h"
#include "record.h"
#include "state.h"
#include "util.h"

extern char **environ;

#define LISTENER TW_LAUNCH_MAX_LIMIT /* the listener's index in its tag */

struct sv_slot {
	pid_t pid; /* 0: free */
	int pidfd;
};

struct tw_launchsock {
	int fd, ep;
	gid_t gid;
	bool group_ok; /* the launcher group exists: its members may launch */
	struct sv_slot *slot;
	unsigned int running;
	uint64_t started, refused, busy, failed;
};

/* Does UID belong to GID, by the account database (never the client)? */
static bool member(uid_t uid, gid_t gid)
{
	struct passwd pw, *pp = NULL;
	gid_t groups[256];
	int n = 256;
	char buf[4096];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pp) || !pp)
		return false;
	if (pw.pw_gid == gid)
		return true;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return false; /* more than 256 groups: not resolved, refused */
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* What the refused peer is: its account name, comm and command line
 * (read now from /proc: for the record only, never for a decision). */
static void peer_what(json_t *rec, const struct ucred *cr)
{
	struct passwd pw, *pp = NULL;
	char buf[4096], path[64];
	json_t *argv = json_array();
	ssize_t n = 0;
	int fd;

	json_object_set_new(rec, "user",
			    !getpwuid_r(cr->uid, &pw, buf, sizeof(buf), &pp) &&
					    pp ?
				    json_string(pw.pw_name) :
				    json_null());
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)cr->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, 64);
		close(fd);
	}
	json_object_set_new(rec, "comm",
			    n > 0 ? tw_json_bytes(buf, (size_t)n - 1) :
				    json_null());
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)cr->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
	if (fd >= 0)
		close(fd);
	for (ssize_t i = 0; argv && n > 0 && i < n && json_array_size(argv) < 64;
	     i += (ssize_t)strnlen(buf + i, (size_t)(n - i)) + 1)
		json_array_append_new(
			argv, tw_json_bytes(buf + i, strnlen(buf + i,
							     (size_t)(n - i))));
	json_object_set_new(rec, "argv", argv);
}

/* A `launch` record of a refused peer; a flood from one uid is one record
 * with a count. d->lock held. */
static void record_refusal(struct tw_daemon *d, const struct ucred *cr,
			   const char *reason)
{
	struct {
		char tag[8];
		uint32_t uid;
	} key = { "launch", (uint32_t)cr->uid };
	json_t *rec;

	if (tw_audit_aggregate(&d->audit, &key, sizeof(key),
			       tw_now_ns(CLOCK_REALTIME)))
		return;
	rec = tw_audit_record(&d->audit, "launch", 0);
	json_object_set_new(rec, "action", json_string("exec"));
	json_object_set_new(rec, "outcome", json_string("refused"));
	json_object_set_new(rec, "pid", json_integer(cr->pid));
	json_object_set_new(rec, "uid", json_integer(cr->uid));
	json_object_set_new(rec, "gid", json_integer(cr->gid));
	peer_what(rec, cr);
	json_object_set_new(rec, "reason", json_string(reason));
	json_object_set_new(
		rec, "hint",
		json_string("root and members of the launcher group may "
			    "launch tool calls (daemon --launch-group)"));
	tw_audit_write_first(&d->audit, rec, &key, sizeof(key),
			     (uint32_t)cr->pid);
}

/* One line to a peer we do not keep: never waits (the socket's buffer is
 * empty, the line short). */
static void say(int fd, const char *msg)
{
	json_t *m = json_pack("{s:i,s:b,s:s}", "v", TW_CTL_VERSION, "ok", 0,
			      "error", msg);
	char *s = m ? json_dumps(m, JSON_COMPACT) : NULL;

	if (s) {
		size_t len = strlen(s);

		s[len++] = '\n';
		(void)!send(fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	free(s);
	json_decref(m);
}

/* The supervisor of connection FD: `toolwall supervise`, fd 3, a session
 * of its own, default signals. Its pid, or -errno. */
static pid_t spawn_supervisor(int fd)
{
	char *argv[] = { "toolwall", "supervise", NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	pid_t pid = 0;
	int err;

	if (fd == 3) { /* dup2(3, 3) would keep its close-on-exec */
		int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 4);

		if (nfd < 0)
			return -errno;
		close(fd);
		fd = nfd;
	}
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 3);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
					      POSIX_SPAWN_SETSIGDEF |
					      POSIX_SPAWN_SETSID);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	/* the daemon's own binary, even if the file was replaced since */
	err = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return err ? -err : pid;
}

/* A launcher the daemon accepted: its supervisor, watched by pidfd. */
static void start(struct tw_daemon *d, struct tw_launchsock *t, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned int i = 0;
	pid_t pid;
	int pidfd;

	while (i < d->launch_max && t->slot[i].pid)
		i++;
	pid = spawn_supervisor(fd);
	if (pid < 0) {
		t->failed++;
		tw_warn("cannot start a launch supervisor: %s",
			strerror((int)-pid));
		say(fd, "the daemon could not start the call's supervisor");
		return;
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ev.data.u64 = TW_LAUNCH_TAG | i;
	if (pidfd < 0 || epoll_ctl(t->ep, EPOLL_CTL_ADD, pidfd, &ev)) {
		/* unwatched, it could not be reaped: it goes now */
		t->failed++;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (pidfd >= 0)
			close(pidfd);
		return;
	}
	fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	t->slot[i] = (struct sv_slot){ pid, pidfd };
	t->running++;
	t->started++;
}

static void on_accept(struct tw_daemon *d, struct tw_launchsock *t)
{
	for (int k = 0; k < 64; k++) {
		/* blocking for the supervisor that inherits it */
		int fd = accept4(t->fd, NULL, NULL, SOCK_CLOEXEC);
		struct ucred cr;
		socklen_t len = sizeof(cr);
		char why[256];

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len)) {
			close(fd);
			continue;
		}
		if (cr.uid != 0 && !(t->group_ok && member(cr.uid, t->gid))) {
			snprintf(why, sizeof(why),
				 "uid %u may not launch tool calls: only root "
				 "and members of the launcher group %s may",
				 (unsigned)cr.uid,
				 t->group_ok ? d->launch_group :
					       "(none on this host)");
			t->refused++;
			/* recorded first: the peer's comm and argv are read
			 * from /proc while it still waits for the answer */
			pthread_mutex_lock(&d->lock);
			record_refusal(d, &cr, why);
			pthread_mutex_unlock(&d->lock);
			say(fd, why);
		} else if (t->running >= d->launch_max) {
			snprintf(why, sizeof(why),
				 "the daemon runs %u launched tool calls, its "
				 "most (daemon --launch-max); try again when "
				 "one has ended",
				 t->running);
			t->busy++;
			say(fd, why);
		} else {
			start(d, t, fd);
		}
		close(fd);
	}
}

/* A supervisor ended: reap it, free its slot. */
static void on_exit_of(struct tw_launchsock *t, unsigned int i)
{
	struct sv_slot *s = &t->slot[i];

	if (!s->pid)
		return;
	waitpid(s->pid, NULL, WNOHANG);
	epoll_ctl(t->ep, EPOLL_CTL_DEL, s->pidfd, NULL);
	close(s->pidfd);
	*s = (struct sv_slot){ 0, -1 };
	t->running--;
}

void tw_launch_event(struct tw_daemon *d, uint64_t tag)
{
	struct tw_launchsock *t = d->launch;
	uint64_t i = tag & ~TW_LAUNCH_TAG;

	if (!t)
		return;
	if (i == LISTENER)
		on_accept(d, t);
	else if (i < d->launch_max)
		on_exit_of(t, (unsigned int)i);
}

/* RUN-launch: root's (0755; the socket in it is open to every account:
 * who may launch is decided at accept, and a refusal is recorded, which
 * a socket the kernel keeps closed to non-members could not do). */
static int launch_dir(gid_t gid)
{
	struct stat st;
	int fd;

	if (mkdir(tw_roots.launch_dir, 0700) && errno != EEXIST)
		return -errno;
	fd = open(tw_roots.launch_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					       O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || fchown(fd, 0, gid) || fchmod(fd, 0755)) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	return 0;
}

/* The launcher group: its gid, or -errno (-ENOENT: no such group). */
static int group_of(const char *name, gid_t *gid)
{
	struct group gr, *gp = NULL;
	char buf[16384];
	int err = getgrnam_r(name, &gr, buf, sizeof(buf), &gp);

	if (err)
		return -err;
	if (!gp)
		return -ENOENT;
	*gid = gr.gr_gid;
	return 0;
}

static int listen_on(struct tw_launchsock *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.u64 = TW_LAUNCH_TAG | LISTENER };
	mode_t old;
	int err = 0;

	t->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (t->fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", tw_roots.launch);
	unlink(tw_roots.launch);
	old = umask(0177); /* root's alone until its group is set */
	if (bind(t->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chown(tw_roots.launch, 0, t->gid) < 0 ||
	    chmod(tw_roots.launch, 0666) < 0 ||
	    listen(t->fd, TW_CONTROL_BACKLOG) < 0 ||
	    epoll_ctl(t->ep, EPOLL_CTL_ADD, t->fd, &ev) < 0)
		err = -errno;
	umask(old);
	return err;
}

int tw_launch_open(struct tw_daemon *d, int ep)
{
	struct tw_launchsock *t = calloc(1, sizeof(*t));
	int err;

	if (!t || !(t->slot = calloc(d->launch_max, sizeof(*t->slot)))) {
		free(t);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < d->launch_max; i++)
		t->slot[i].pidfd = -1;
	t->ep = ep;
	t->fd = -1;
	err = group_of(d->launch_group, &t->gid);
	t->group_ok = !err;
	if (err && d->launch_group_set) {
		tw_error("--launch-group %s: %s", d->launch_group,
			 err == -ENOENT ? "no such group" : strerror(-err));
		goto fail;
	}
	if (err) {
		t->gid = 0;
		tw_warn("no group %s on this host: only root may launch tool "
			"calls (create it, or name another with --launch-group)",
			d->launch_group);
	}
	err = launch_dir(t->gid);
	if (!err)
		err = listen_on(t);
	if (err) {
		tw_error("cannot serve the launch socket %s: %s",
			 tw_roots.launch, strerror(-err));
		goto fail;
	}
	d->launch = t;
	return 0;
fail:
	if (t->fd >= 0)
		close(t->fd);
	free(t->slot);
	free(t);
	return err ? err : -EINVAL;
}

json_t *tw_launch_status(struct tw_daemon *d)
{
	const struct tw_launchsock *t = d->launch;

	if (!t)
		return json_null();
	return json_pack("{s:s,s:s?,s:i,s:i,s:I,s:I,s:I,s:I}", "socket",
			 tw_roots.launch,
			 "group", t->group_ok ? d->launch_group : NULL,
			 "running", (int)t->running, "max",
			 (int)d->launch_max, "started", (json_int_t)t->started,
			 "refused", (json_int_t)t->refused, "busy",
			 (json_int_t)t->busy, "failed", (json_int_t)t->failed);
}

void tw_launch_close(struct tw_daemon *d)
{
	struct tw_launchsock *t = d->launch;

	if (!t)
		return;
	/* Running supervisors go on: their calls end as they would (their
	 * call-end then finds no daemon, and says so). */
	for (unsigned int i = 0; i < d->launch_max; i++)
		if (t->slot[i].pid)
			close(t->slot[i].pidfd);
	if (t->fd >= 0)
		close(t->fd);
	unlink(tw_roots.launch);
	free(t->slot);
	free(t);
	d->launch = NULL;
}

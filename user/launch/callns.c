// SPDX-License-Identifier: GPL-2.0-only
/*
 * callns.c - a tool call's own PID, mount and IPC namespaces, and its init
 * (see callns.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "callns.h"
#include "cgroups.h"

#define MEMFD_NOEXEC_SYSCTL "/proc/sys/vm/memfd_noexec"

static int ns_fail(struct tw_callns *ns, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ns_fail(struct tw_callns *ns, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ns->err, sizeof(ns->err), fmt, ap);
	va_end(ap);
	return err;
}

pid_t tw_callns_fork_init(struct tw_callns *ns, const char *cgroup,
			  bool *in_cgroup)
{
	/* (the fault tests' way to take the old path on a kernel that has
	 * the new one) */
	pid_t pid = getenv("TOOLWALL_TEST_NO_CLONE3") ?
			    (errno = ENOSYS, -1) :
			    tw_cg_clone_into(cgroup, CLONE_NEWPID);
	int self, e;

	*in_cgroup = pid >= 0;
	if (pid >= 0 || errno == EAGAIN || errno == ENOMEM)
		goto out;
	/* The old way: a new PID namespace for the next child, which then
	 * joins its cgroup itself; this process's own children (threads
	 * included) go back to its namespace after. */
	self = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (self < 0 || unshare(CLONE_NEWPID)) {
		e = errno;
		if (self >= 0)
			close(self);
		return ns_fail(ns, -1, "cannot create the call's PID "
				       "namespace: %s", strerror(e));
	}
	pid = fork();
	e = errno;
	if (pid != 0)
		(void)!setns(self, CLONE_NEWPID);
	close(self);
	errno = e;
out:
	if (pid < 0)
		return ns_fail(ns, -1, "cannot start the call's init: %s",
			       strerror(errno));
	return pid;
}

/*
 * Cover PATH with a bind mount of itself that forbids exec (and set-id
 * and device files), recursively. Done with the fd-based mount API so
 * that a symlink swapped in by a writer of the parent directory is never
 * followed: both ends are opened without following one.
 */
static int noexec_bind(struct tw_callns *ns, const char *path)
{
	struct mount_attr attr = {
	    .attr_set =
		MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
	};
	int tree, target, err = 0;

	tree = open_tree(AT_FDCWD, path,
			 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE |
			     AT_SYMLINK_NOFOLLOW);
	if (tree < 0) {
		if (errno == ENOENT)
			return 0;
		return ns_fail(ns, -errno, "cannot bind %s noexec: %s", path,
			       strerror(errno));
	}
	target = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0) {
		err = ns_fail(ns, -errno, "cannot open %s: %s", path,
			      strerror(errno));
		goto out;
	}
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
			  sizeof(attr))) {
		err = ns_fail(ns, -errno, "cannot make %s noexec: %s", path,
			      strerror(errno));
		goto out;
	}
	if (move_mount(tree, "", target, "",
		       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH))
		err = ns_fail(ns, -errno, "cannot mount %s noexec: %s", path,
			      strerror(errno));
out:
	if (target >= 0)
		close(target);
	close(tree);
	return err;
}

/*
 * vm.memfd_noexec is per PID namespace and only ever raised: 2 makes every
 * memfd of the call non-executable (sealed) and refuses MFD_EXEC. The
 * write goes through our own /proc, so it lands in our namespace.
 */
static int memfd_noexec(struct tw_callns *ns)
{
	int fd, err = 0;

	fd = open(MEMFD_NOEXEC_SYSCTL, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return ns_fail(ns, -errno,
			       "cannot open %s (%s): toolwall needs Linux 6.3 "
			       "or later to keep memfds of a tool call from "
			       "being executed",
			       MEMFD_NOEXEC_SYSCTL, strerror(errno));
	if (write(fd, "2\n", 2) != 2)
		err = ns_fail(ns, -errno, "cannot set %s to 2: %s",
			      MEMFD_NOEXEC_SYSCTL, strerror(errno));
	close(fd);
	return err;
}

int tw_callns_setup(struct tw_callns *ns)
{
	int err;

	ns->err[0] = '\0';
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC))
		return ns_fail(ns, -errno,
			       "cannot create the call's mount and IPC "
			       "namespaces: %s",
			       strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL))
		return ns_fail(ns, -errno,
			       "cannot keep the call's mounts from the host: "
			       "%s",
			       strerror(errno));
	/* Over the host's /proc: the same path, so the call's Landlock
	 * grant on /proc still covers it. */
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL))
		return ns_fail(ns, -errno, "cannot mount the call's /proc: %s",
			       strerror(errno));
	for (size_t i = 0; i < ns->nnoexec; i++) {
		err = noexec_bind(ns, ns->noexec[i]);
		if (err)
			return err;
	}
	return memfd_noexec(ns);
}

/* Fields 48-51 of /proc/self/stat: arg_start, arg_end, env_start, env_end. */
static int arg_env_area(unsigned long v[4])
{
	char buf[2048], *p;
	ssize_t n;
	int fd, field;

	fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	if (!p)
		return -EIO;
	p++;
	for (field = 3; field < 48 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p ||
	    sscanf(p, " %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4)
		return -EIO;
	return 0;
}

void tw_callns_scrub_args(void)
{
	static const char name[] = "toolwall-init";
	unsigned long v[4];

	clearenv();
	if (arg_env_area(v))
		return;
	if (v[1] > v[0]) {
		memset((void *)v[0], 0, v[1] - v[0]);
		if (v[1] - v[0] > sizeof(name))
			memcpy((void *)v[0], name, sizeof(name));
	}
	if (v[3] > v[2])
		memset((void *)v[2], 0, v[3] - v[2]);
}

static const int fwd_signals[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2,
				  SIGCONT, SIGINT,  SIGQUIT};

void tw_callns_hold_signals(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(fwd_signals) / sizeof(fwd_signals[0]);
	     i++)
		sigaddset(&set, fwd_signals[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

static volatile pid_t init_cmd;

static void init_forward(int sig)
{
	int saved = errno;

	/* SIGCONT: the launcher resumed as the shell's job; the command's
	 * whole process group goes on with it. SIGINT, SIGQUIT (a launcher
	 * without a terminal interrupted): to that group, as a terminal
	 * sends them to its foreground group. */
	if (init_cmd > 0)
		kill(sig == SIGCONT || sig == SIGINT || sig == SIGQUIT ?
			     -init_cmd :
			     init_cmd,
		     sig);
	errno = saved;
}

void tw_callns_init(pid_t cmd, int status_fd, bool background,
		    const sigset_t *old)
{
	struct sigaction sa = {.sa_handler = init_forward};
	bool reported = false;
	int st, null;
	pid_t p;

	init_cmd = cmd;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(fwd_signals) / sizeof(fwd_signals[0]);
	     i++)
		sigaction(fwd_signals[i], &sa, NULL);
	/* What arrived since the fork is forwarded now. */
	sigprocmask(SIG_SETMASK, old, NULL);
	signal(SIGPIPE, SIG_IGN); /* a launcher gone: nobody to tell */
	/* Only the command holds the caller's stdin, stdout and stderr: a
	 * background init must not keep the caller's pipes open. */
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	for (;;) {
		p = waitpid(-1, &st, WUNTRACED);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			break; /* ECHILD: the namespace is empty */
		}
		if (p != cmd || reported)
			continue;
		if (WIFSTOPPED(st)) {
			/* the command stopped itself: the launcher stops too,
			 * as the shell's job, and its SIGCONT comes back here */
			(void)!write(status_fd, &st, sizeof(st));
			continue;
		}
		reported = true;
		init_cmd = 0;
		/* a failed write: the launcher is gone, nobody to tell */
		(void)!write(status_fd, &st, sizeof(st));
		close(status_fd);
		/* pid 1 leaving ends the namespace: the kernel kills the rest
		 */
		if (!background)
			_exit(0);
	}
	_exit(0);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * sbprobe - try one escape syscall and say what happened, for
 * tests/kernel/test_sandbox.sh. First line of stdout: "OK" or "ERR ENAME".
 *
 * Each probe is built so that, without toolwall's seccomp filter, an
 * unprivileged process gets a result other than EPERM where the kernel
 * allows it (OK, ENOENT, EBADF...): the test runs every probe both inside a
 * tool call and as the bare agent account, so a filter that stopped
 * working would show.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static const char *ename(int e)
{
	static const struct {
		int e;
		const char *n;
	} t[] = {
	    {EPERM, "EPERM"},		{ENOENT, "ENOENT"},
	    {EACCES, "EACCES"},		{EBADF, "EBADF"},
	    {EINVAL, "EINVAL"},		{ENOSYS, "ENOSYS"},
	    {EFAULT, "EFAULT"},		{ENOKEY, "ENOKEY"},
	    {EOPNOTSUPP, "EOPNOTSUPP"}, {EAFNOSUPPORT, "EAFNOSUPPORT"},
	    {ESRCH, "ESRCH"},		{EEXIST, "EEXIST"},
	    {ENOTTY, "ENOTTY"},		{EIO, "EIO"},
	    {E2BIG, "E2BIG"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].n;
	return "E?";
}

static int result(long ret)
{
	if (ret < 0) {
		int e = errno;

		printf("ERR %s\n", ename(e));
		fprintf(stderr, "sbprobe: %s\n", strerror(e));
		return 1;
	}
	printf("OK\n");
	return 0;
}

static long do_clone(unsigned long flags)
{
	long pid = syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return pid;
}

/* TIOCSTI on our own controlling terminal (a fresh pty). */
static long tiocsti(unsigned long req)
{
	char c = 'x', *name;
	int m, s;

	if (setsid() < 0 && errno != EPERM)
		return -1;
	m = posix_openpt(O_RDWR);
	if (m < 0 || grantpt(m) || unlockpt(m) || !(name = ptsname(m)))
		return -1;
	s = open(name, O_RDWR); /* no O_NOCTTY: becomes our ctty */
	if (s < 0)
		return -1;
	return syscall(SYS_ioctl, s, req, &c);
}

static long ptrace_pid(pid_t pid)
{
	long r = ptrace(PTRACE_ATTACH, pid, NULL, NULL);

	if (r == 0) {
		waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
	}
	return r;
}

static long ptrace_child(void)
{
	pid_t pid = fork();
	long r;

	if (pid == 0) {
		pause();
		_exit(0);
	}
	r = ptrace_pid(pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return r;
}

static long perf_open(void)
{
	struct perf_event_attr a = {
	    .type = PERF_TYPE_SOFTWARE,
	    .size = sizeof(a),
	    .config = PERF_COUNT_SW_TASK_CLOCK,
	    .exclude_kernel = 1,
	    .exclude_hv = 1,
	};

	return syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static long int80_getpid(void)
{
#if defined(__x86_64__)
	long ret = 20; /* __NR_getpid on i386 */

	__asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
	return ret;
#else
	errno = ENOSYS;
	return -1;
#endif
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	char buf[8];
	int sv[2];

	if (!strcmp(m, "bpf")) {
		/* A non-zero byte past the kernel's attr: the kernel itself
		 * answers E2BIG before any privilege check, so EPERM can only
		 * come from the filter. */
		struct {
			union bpf_attr a;
			char tail[64];
		} x = {.a = {.map_type = BPF_MAP_TYPE_ARRAY,
			     .key_size = 4,
			     .value_size = 4,
			     .max_entries = 1}};

		x.tail[sizeof(x.tail) - 1] = 1;
		return result(syscall(SYS_bpf, BPF_MAP_CREATE, &x, sizeof(x)));
	}
	if (!strcmp(m, "mount"))
		return result(
		    mount("none", "/nonexistent/tw", "tmpfs", 0, NULL));
	if (!strcmp(m, "umount"))
		return result(umount2("/nonexistent/tw", 0));
	if (!strcmp(m, "open_tree"))
		return result(
		    syscall(SYS_open_tree, AT_FDCWD, "/nonexistent/tw", 0));
	if (!strcmp(m, "chroot"))
		return result(chroot("/nonexistent/tw"));
	if (!strcmp(m, "pivot_root"))
		return result(syscall(SYS_pivot_root, "/nonexistent/a",
				      "/nonexistent/b"));
	if (!strcmp(m, "unshare-user"))
		return result(unshare(CLONE_NEWUSER));
	if (!strcmp(m, "unshare-usernet"))
		return result(unshare(CLONE_NEWUSER | CLONE_NEWNET));
	if (!strcmp(m, "unshare-files"))
		return result(unshare(CLONE_FILES));
	if (!strcmp(m, "clone-user"))
		return result(do_clone(CLONE_NEWUSER));
	if (!strcmp(m, "clone-plain"))
		return result(do_clone(0));
	if (!strcmp(m, "clone3"))
		return result(syscall(SYS_clone3, NULL, 0));
	if (!strcmp(m, "setns"))
		return result(setns(-1, 0));
	if (!strcmp(m, "keyctl"))
		return result(syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */,
				      -3 /* session */, 0));
	if (!strcmp(m, "add_key"))
		return result(syscall(SYS_add_key, "user", "tw", "v", 1,
				      -2 /* process keyring */));
	if (!strcmp(m, "request_key"))
		return result(
		    syscall(SYS_request_key, "user", "tw-none", NULL, 0));
	if (!strcmp(m, "kexec_load"))
		return result(syscall(SYS_kexec_load, 0, 0, NULL, 0));
	if (!strcmp(m, "init_module"))
		return result(syscall(SYS_init_module, NULL, 0, ""));
	if (!strcmp(m, "finit_module"))
		return result(syscall(SYS_finit_module, -1, "", 0));
	if (!strcmp(m, "delete_module"))
		return result(syscall(SYS_delete_module, "tw_none", 0));
	if (!strcmp(m, "perf_event_open"))
		return result(perf_open());
	if (!strcmp(m, "io_uring_setup")) {
		char p[120] = {};

		return result(syscall(SYS_io_uring_setup, 2, p));
	}
	if (!strcmp(m, "socket-vsock"))
		return result(socket(AF_VSOCK, SOCK_STREAM, 0));
	if (!strcmp(m, "socket-netlink"))
		return result(socket(AF_NETLINK, SOCK_RAW, 0));
	if (!strcmp(m, "socket-packet")) /* an invalid type: the kernel says
					    EINVAL before the capability
					    check; EPERM is the filter's */
		return result(socket(AF_PACKET, 12, 0));
	if (!strcmp(m, "socket-inet"))
		return result(socket(AF_INET, SOCK_STREAM, 0));
	if (!strcmp(m, "socket-inet6"))
		return result(socket(AF_INET6, SOCK_DGRAM, 0));
	if (!strcmp(m, "socket-unix"))
		return result(socket(AF_UNIX, SOCK_STREAM, 0));
	if (!strcmp(m, "socket-inet-highbits")) /* the kernel sees AF_INET */
		return result(syscall(SYS_socket, 0x100000000L | AF_INET,
				      SOCK_STREAM, 0));
	if (!strcmp(m, "socketpair-unix"))
		return result(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	if (!strcmp(m, "socketpair-netlink"))
		return result(socketpair(AF_NETLINK, SOCK_RAW, 0, sv));
	if (!strcmp(m, "tiocsti"))
		return result(tiocsti(TIOCSTI));
	if (!strcmp(m, "tiocsti-highbits"))
		return result(tiocsti(0x100000000UL | TIOCSTI));
	if (!strcmp(m, "ptrace-child"))
		return result(ptrace_child());
	if (!strcmp(m, "ptrace") && argc == 3)
		return result(ptrace_pid((pid_t)atoi(argv[2])));
	if (!strcmp(m, "kill0") && argc == 3)
		return result(kill((pid_t)atoi(argv[2]), 0));
	if (!strcmp(m, "int80"))
		return result(int80_getpid());
	if (!strcmp(m, "read") && argc == 3) {
		int fd = open(argv[2], O_RDONLY);

		if (fd < 0)
			return result(-1);
		return result(read(fd, buf, sizeof(buf)));
	}
	fprintf(stderr, "usage: sbprobe MODE [ARG]\n");
	return 2;
}

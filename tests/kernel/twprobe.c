// SPDX-License-Identifier: GPL-2.0-only
/*
 * twprobe: perform ONE network operation and report its outcome, so that
 * table-driven kernel tests can assert the exact errno.
 *
 * stdout: one line, "OK" or "ERR <ERRNAME>"
 *         (tcp-loop: "OK <n_ok> <n_eperm> <n_other>")
 * exit:   0 for OK, 1 for ERR, 2 for a usage error (nothing on stdout)
 * stderr: a human-readable detail of the failing step
 *
 * Every wait is bounded: connects and replies time out after 2 s (reported as
 * ETIMEDOUT), and an alarm ends the probe if anything else hangs. A peer that
 * closes without replying is reported as ENODATA.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/vm_sockets.h>
#include <net/ethernet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

#define TIMEOUT_MS 2000
#define ALARM_S	   20 /* backstop: no probe may outlive this */

static const char ping[] = "ping\n";

/* A parsed HOST [PORT] argument pair. */
struct target {
	struct sockaddr_storage ss;
	socklen_t len;
	int family;
};

static const char *errname(int err)
{
	static char buf[16];
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

/* Log the failing step on stderr and hand back err, for `return fail(...)`. */
static int fail(const char *what, int err)
{
	fprintf(stderr, "twprobe: %s: %s\n", what, strerror(err));
	return err;
}

static void format_result(int err, char *buf, size_t size)
{
	if (err)
		snprintf(buf, size, "ERR %s\n", errname(err));
	else
		snprintf(buf, size, "OK\n");
}

static void on_alarm(int sig)
{
	static const char msg[] = "ERR ETIMEDOUT\n";

	(void)sig;
	/* write() is warn_unused_result; there is nothing to do if it fails */
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static void arm_alarm(unsigned int seconds)
{
	signal(SIGALRM, on_alarm);
	alarm(seconds);
}

/* HOST is a numeric literal; brackets are allowed around IPv6. */
static int parse_target(const char *host, const char *port, struct target *t)
{
	char buf[INET6_ADDRSTRLEN + 2];
	unsigned long p = 0;
	char *end;
	size_t n;

	memset(t, 0, sizeof(*t));
	if (port) {
		errno = 0;
		p = strtoul(port, &end, 10);
		if (errno || !*port || *end || p > 65535)
			return -1;
	}
	n = strlen(host);
	if (n >= sizeof(buf))
		return -1;
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
	} else {
		memcpy(buf, host, n + 1);
	}

	if (strchr(buf, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t->ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		if (inet_pton(AF_INET6, buf, &s6->sin6_addr) != 1)
			return -1;
		t->len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&t->ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		if (inet_pton(AF_INET, buf, &s4->sin_addr) != 1)
			return -1;
		t->len = sizeof(*s4);
	}
	t->family = t->ss.ss_family;
	return 0;
}

static int set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = TIMEOUT_MS / 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return fail("setsockopt(SO_RCVTIMEO/SO_SNDTIMEO)", errno);
	return 0;
}

/* Wait for an in-progress connect; returns 0 or the connect's errno. */
static int wait_connected(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0, n;

	n = poll(&pfd, 1, TIMEOUT_MS);
	if (n < 0)
		return errno;
	if (n == 0)
		return ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return errno;
	return err;
}

/*
 * connect() with a bounded wait, then back to the socket's blocking mode.
 * Does not log: tcp-loop calls it thousands of times.
 */
static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t len)
{
	int flags = fcntl(fd, F_GETFL);
	int err = 0;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK))
		return fail("fcntl", errno);
	if (connect(fd, sa, len)) {
		err = errno;
		if (err == EINPROGRESS)
			err = wait_connected(fd);
	}
	if (fcntl(fd, F_SETFL, flags) && !err)
		err = errno;
	return err;
}

/* Read some reply bytes: timeout -> ETIMEDOUT, orderly close -> ENODATA. */
static int read_reply(int fd)
{
	char buf[512];
	ssize_t n;

	n = recv(fd, buf, sizeof(buf), 0);
	if (n > 0)
		return 0;
	if (n == 0)
		return fail("recv", ENODATA);
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return fail("recv", ETIMEDOUT);
	return fail("recv", errno);
}

/* Send "ping\n" on a connected socket and wait for the echo. */
static int exchange(int fd)
{
	int err = set_timeouts(fd);

	if (err)
		return err;
	if (send(fd, ping, sizeof(ping) - 1, MSG_NOSIGNAL) < 0)
		return fail("send", errno == EAGAIN ? ETIMEDOUT : errno);
	return read_reply(fd);
}

static int connect_exchange(int fd, const struct target *t)
{
	int err = connect_timeout(fd, (const struct sockaddr *)&t->ss, t->len);

	return err ? fail("connect", err) : exchange(fd);
}

static int open_socket(int family, int type, int proto, const char *what)
{
	int fd = socket(family, type | SOCK_CLOEXEC, proto);

	if (fd < 0)
		return -fail(what, errno);
	return fd;
}

/* ---- TCP ---------------------------------------------------------------- */

static int do_tcp(const struct target *t)
{
	int fd, err;

	fd = open_socket(t->family, SOCK_STREAM, 0, "socket");
	if (fd < 0)
		return -fd;
	err = connect_exchange(fd, t);
	close(fd);
	return err;
}

/*
 * sendto(MSG_FASTOPEN): connect and send in one call (the data rides on the
 * SYN once the client holds a cookie).
 */
static int do_tcp_fastopen(const struct target *t)
{
	int fd, err = 0;
	ssize_t n;

	fd = open_socket(t->family, SOCK_STREAM, 0, "socket");
	if (fd < 0)
		return -fd;
	n = sendto(fd, ping, sizeof(ping) - 1, MSG_FASTOPEN | MSG_DONTWAIT,
		   (const struct sockaddr *)&t->ss, t->len);
	if (n < 0) {
		err = errno;
		if (err != EINPROGRESS) {
			fail("sendto(MSG_FASTOPEN)", err);
			goto out;
		}
		/* No cookie yet: a plain handshake is on, data not sent */
		err = wait_connected(fd);
		if (err) {
			fail("connect (fast open)", err);
			goto out;
		}
		err = exchange(fd);
		goto out;
	}
	err = set_timeouts(fd);
	if (!err)
		err = read_reply(fd);
out:
	close(fd);
	return err;
}

static int do_tcp_fastopen_connect(const struct target *t)
{
	int fd, err, one = 1;

	fd = open_socket(t->family, SOCK_STREAM, 0, "socket");
	if (fd < 0)
		return -fd;
	if (setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one,
		       sizeof(one)))
		err = fail("setsockopt(TCP_FASTOPEN_CONNECT)", errno);
	else
		err = connect_exchange(fd, t);
	close(fd);
	return err;
}

/*
 * connect+close as fast as possible; RST on close so no TIME_WAIT piles up.
 * SWEEP: the port moves on at every try (1..65535 in turn), so no two
 * events in a row are alike.
 */
static int do_tcp_loop(const struct target *t, unsigned int seconds,
		       bool sweep)
{
	unsigned long n_ok = 0, n_eperm = 0, n_other = 0;
	struct target tt = *t;
	const struct sockaddr *sa = (const struct sockaddr *)&tt.ss;
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct timespec now, end;
	int fd = -1, err;
	uint16_t port = ntohs(tt.ss.ss_family == AF_INET6 ?
				      ((struct sockaddr_in6 *)&tt.ss)->sin6_port :
				      ((struct sockaddr_in *)&tt.ss)->sin_port);

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += seconds;
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		if (sweep) {
			port = port == 65535 ? 1 : port + 1;
			if (tt.ss.ss_family == AF_INET6)
				((struct sockaddr_in6 *)&tt.ss)->sin6_port =
					htons(port);
			else
				((struct sockaddr_in *)&tt.ss)->sin_port =
					htons(port);
		}
		if (fd < 0)
			fd = socket(t->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = errno;
		} else {
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			err = connect_timeout(fd, sa, t->len);
			/* A socket refused by the hook is as new: a sweep
			 * tries the next port on it (a flood at syscall
			 * speed, not socket() speed). */
			if (!sweep || err != EPERM) {
				close(fd);
				fd = -1;
			}
		}
		if (!err)
			n_ok++;
		else if (err == EPERM)
			n_eperm++;
		else
			n_other++;
	}
	if (fd >= 0)
		close(fd);
	printf("OK %lu %lu %lu\n", n_ok, n_eperm, n_other);
	return 0;
}

/* ---- UDP ---------------------------------------------------------------- */

static int udp_socket(const struct target *t)
{
	int fd = open_socket(t->family, SOCK_DGRAM, 0, "socket");

	if (fd >= 0) {
		int err = set_timeouts(fd);

		if (err) {
			close(fd);
			return -err;
		}
	}
	return fd;
}

static int do_udp(const struct target *t)
{
	int fd, err = 0;

	fd = udp_socket(t);
	if (fd < 0)
		return -fd;
	if (sendto(fd, ping, sizeof(ping) - 1, 0,
		   (const struct sockaddr *)&t->ss, t->len) < 0)
		err = fail("sendto", errno);
	if (!err)
		err = read_reply(fd);
	close(fd);
	return err;
}

static int do_udp_connect(const struct target *t)
{
	int fd, err = 0;

	fd = udp_socket(t);
	if (fd < 0)
		return -fd;
	if (connect(fd, (const struct sockaddr *)&t->ss, t->len))
		err = fail("connect", errno);
	else if (send(fd, ping, sizeof(ping) - 1, 0) < 0)
		err = fail("send", errno);
	if (!err)
		err = read_reply(fd);
	close(fd);
	return err;
}

static void fill_msg(struct msghdr *msg, struct iovec *iov,
		     const struct target *t)
{
	iov->iov_base = (void *)ping;
	iov->iov_len = sizeof(ping) - 1;
	memset(msg, 0, sizeof(*msg));
	msg->msg_name = (void *)&t->ss;
	msg->msg_namelen = t->len;
	msg->msg_iov = iov;
	msg->msg_iovlen = 1;
}

static int do_udp_sendmsg(const struct target *t)
{
	struct msghdr msg;
	struct iovec iov;
	int fd, err = 0;

	fd = udp_socket(t);
	if (fd < 0)
		return -fd;
	fill_msg(&msg, &iov, t);
	if (sendmsg(fd, &msg, 0) < 0)
		err = fail("sendmsg", errno);
	if (!err)
		err = read_reply(fd);
	close(fd);
	return err;
}

/* The hook runs per message: a denial shows as a partial count, then errno */
static int do_udp_sendmmsg(const struct target *t)
{
	struct mmsghdr mm[2];
	struct iovec iov[2];
	int fd, i, sent = 0, n, err = 0;

	fd = udp_socket(t);
	if (fd < 0)
		return -fd;
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < 2; i++)
		fill_msg(&mm[i].msg_hdr, &iov[i], t);
	while (sent < 2) {
		n = sendmmsg(fd, mm + sent, 2 - sent, 0);
		if (n < 0) {
			err = errno;
			fprintf(stderr, "twprobe: sendmmsg: %d of 2 sent: %s\n",
				sent, strerror(err));
			break;
		}
		if (n == 0) {
			err = fail("sendmmsg returned 0", EIO);
			break;
		}
		sent += n;
	}
	if (!err)
		err = read_reply(fd);
	close(fd);
	return err;
}

/* ---- io_uring ----------------------------------------------------------- */

/*
 * Submit sqe (user_data 1) linked to a 2 s timeout and return its result as a
 * positive errno (0 for success; a cancelled op counts as ETIMEDOUT).
 */
static int uring_run(struct io_uring *ring, struct io_uring_sqe *sqe,
		     const char *what)
{
	struct __kernel_timespec ts = { .tv_sec = TIMEOUT_MS / 1000 };
	struct io_uring_cqe *cqe;
	int res = -ETIMEDOUT, seen = 0, ret;

	io_uring_sqe_set_data64(sqe, 1);
	sqe->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_link_timeout(sqe, &ts, 0);
	io_uring_sqe_set_data64(sqe, 2);
	ret = io_uring_submit(ring);
	if (ret < 0)
		return fail("io_uring_submit", -ret);
	while (seen < 2) {
		ret = io_uring_wait_cqe(ring, &cqe);
		if (ret < 0)
			return fail("io_uring_wait_cqe", -ret);
		if (cqe->user_data == 1)
			res = cqe->res;
		seen++;
		io_uring_cqe_seen(ring, cqe);
	}
	if (res == -ECANCELED)
		res = -ETIMEDOUT;
	return res < 0 ? fail(what, -res) : 0;
}

static int do_uring(const struct target *t, int type)
{
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	struct msghdr msg;
	struct iovec iov;
	int fd, err;

	err = io_uring_queue_init(4, &ring, 0);
	if (err)
		return fail("io_uring_queue_init", -err);
	fd = type == SOCK_STREAM ? open_socket(t->family, type, 0, "socket")
				 : udp_socket(t);
	if (fd < 0) {
		err = -fd;
		goto out;
	}
	sqe = io_uring_get_sqe(&ring);
	if (type == SOCK_STREAM) {
		io_uring_prep_connect(sqe, fd, (const struct sockaddr *)&t->ss,
				      t->len);
		err = uring_run(&ring, sqe, "io_uring connect");
		if (!err)
			err = exchange(fd);
	} else {
		fill_msg(&msg, &iov, t);
		io_uring_prep_sendmsg(sqe, fd, &msg, 0);
		err = uring_run(&ring, sqe, "io_uring sendmsg");
		if (!err)
			err = read_reply(fd);
	}
	close(fd);
out:
	io_uring_queue_exit(&ring);
	return err;
}

/* ---- ICMP and other socket families ------------------------------------- */

static unsigned short inet_csum(const void *data, size_t len)
{
	const unsigned char *p = data;
	unsigned long sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (p[0] << 8) | p[1];
	if (len)
		sum += p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

/*
 * Send an ICMP(v6) echo request on fd and wait for an echo reply. Raw IPv4
 * sockets see the IP header and every ICMP packet, so skip what is not ours.
 */
static int icmp_echo(int fd, const struct target *t, int raw)
{
	int v6 = t->family == AF_INET6;
	unsigned char pkt[64] = { 0 }, buf[1500];
	unsigned short id = getpid() & 0xffff, csum;
	struct timespec start, now;
	ssize_t n;
	int err;

	pkt[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
	memcpy(pkt + 4, &id, 2);
	pkt[7] = 1; /* sequence */
	/* The kernel checksums ICMPv6 and ping sockets; raw IPv4 needs ours. */
	if (!v6) {
		csum = inet_csum(pkt, sizeof(pkt));
		memcpy(pkt + 2, &csum, 2);
	}
	err = set_timeouts(fd);
	if (err)
		return err;
	if (sendto(fd, pkt, sizeof(pkt), 0, (const struct sockaddr *)&t->ss,
		   t->len) < 0)
		return fail("sendto (echo request)", errno);

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		unsigned char *icmp = buf;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return fail("recv (echo reply)",
				    errno == EAGAIN ? ETIMEDOUT : errno);
		if (raw && !v6 && n >= 20) {
			size_t hl = (buf[0] & 0x0f) * 4;

			icmp += hl;
			n -= hl;
		}
		/* Ping sockets rewrite the id: any reply on them is ours. */
		if (n >= 8 &&
		    icmp[0] == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY) &&
		    (!raw || !memcmp(icmp + 4, &id, 2)))
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > TIMEOUT_MS / 1000)
			return fail("recv (echo reply)", ETIMEDOUT);
	}
}

struct sockmode {
	const char *name;
	int family, type, proto;
	int icmp; /* 1: raw ICMP, 2: ping socket; a HOST gets an echo */
};

static const struct sockmode sockmodes[] = {
	{ "raw4", AF_INET, SOCK_RAW, IPPROTO_ICMP, 1 },
	{ "raw6", AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, 1 },
	{ "icmp4", AF_INET, SOCK_DGRAM, IPPROTO_ICMP, 2 },
	{ "icmp6", AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6, 2 },
	{ "packet", AF_PACKET, SOCK_RAW, ETH_P_ALL, 0 }, /* proto: host order */
	{ "sctp4", AF_INET, SOCK_STREAM, IPPROTO_SCTP, 0 },
	{ "udplite4", AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE, 0 },
	{ "mptcp4", AF_INET, SOCK_STREAM, IPPROTO_MPTCP, 0 },
	{ "vsock", AF_VSOCK, SOCK_STREAM, 0, 0 },
	{ "netlink", AF_NETLINK, SOCK_RAW, 0 /* NETLINK_ROUTE */, 0 },
};

/*
 * socket() and, if a target is given: an ICMP echo (raw/ping sockets),
 * connect plus echo (stream) or one sendto (datagram). An IP family with
 * an IPv6 target uses AF_INET6.
 */
static int do_socket(const struct sockmode *m, const struct target *t)
{
	int family = m->family, proto = m->proto, fd, err = 0;

	if (t && (family == AF_INET || family == AF_INET6))
		family = t->family;
	if (family == AF_PACKET)
		proto = htons(proto);
	fd = open_socket(family, m->type, proto, "socket");
	if (fd < 0)
		return -fd;
	if (!t)
		err = 0;
	else if (m->icmp)
		err = icmp_echo(fd, t, m->icmp == 1);
	else if (m->type == SOCK_STREAM)
		err = connect_exchange(fd, t);
	else if (sendto(fd, ping, sizeof(ping) - 1, 0,
			(const struct sockaddr *)&t->ss, t->len) < 0)
		err = fail("sendto", errno);
	close(fd);
	return err;
}

/* ---- unix --------------------------------------------------------------- */

static int unix_addr(const char *name, int abstract, struct sockaddr_un *sun,
		     socklen_t *len)
{
	size_t n = strlen(name);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (n + 1 > sizeof(sun->sun_path))
		return -1;
	memcpy(sun->sun_path + !!abstract, name, n);
	*len = offsetof(struct sockaddr_un, sun_path) + n + 1;
	return 0;
}

static int do_unix(const struct sockaddr_un *sun, socklen_t len, int type)
{
	int fd, err = 0;

	fd = open_socket(AF_UNIX, type, 0, "socket");
	if (fd < 0)
		return -fd;
	if (type == SOCK_DGRAM) {
		if (sendto(fd, ping, sizeof(ping) - 1, 0,
			   (const struct sockaddr *)sun, len) < 0)
			err = fail("sendto", errno);
	} else {
		err = connect_timeout(fd, (const struct sockaddr *)sun, len);
		err = err ? fail("connect", err) : exchange(fd);
	}
	close(fd);
	return err;
}

/* ---- process shapes ----------------------------------------------------- */

/* The child inherits stdout and prints its own result. */
static int do_fork_tcp(const struct target *t)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail("fork", errno);
	if (pid == 0) {
		char line[64];

		arm_alarm(ALARM_S);
		format_result(do_tcp(t), line, sizeof(line));
		fputs(line, stdout);
		fflush(stdout);
		_exit(line[0] == 'O' ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) < 0)
		return fail("waitpid", errno);
	if (WIFSIGNALED(status)) {
		printf("ERR SIG%s\n",
		       sigabbrev_np(WTERMSIG(status)) ?: "UNKNOWN");
		exit(1);
	}
	exit(WEXITSTATUS(status));
}

/*
 * Double fork + setsid: the grandchild, detached from the caller's session and
 * stdio, runs `tcp` after 200 ms and writes its result line to OUTFILE
 * (atomically, via rename, so a test may poll for the file).
 */
static int do_daemon_tcp(const struct target *t, const char *outfile)
{
	int status, fd;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail("fork", errno);
	if (pid == 0) {
		char line[64], tmp[4096];

		if (setsid() < 0 || fork() != 0)
			_exit(0);
		arm_alarm(ALARM_S);
		fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			if (fd > STDERR_FILENO)
				close(fd);
		}
		usleep(200 * 1000);
		format_result(do_tcp(t), line, sizeof(line));
		snprintf(tmp, sizeof(tmp), "%s.tmp.%d", outfile, getpid());
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			_exit(1);
		if (write(fd, line, strlen(line)) < 0 || close(fd) ||
		    rename(tmp, outfile))
			_exit(1);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0)
		return fail("waitpid", errno);
	return 0;
}

/* ---- main --------------------------------------------------------------- */

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: twprobe MODE ARGS...\n"
	    "  tcp|udp|udp-connect|udp-sendmsg|udp-sendmmsg HOST PORT\n"
	    "  tcp-fastopen|tcp-fastopen-connect HOST PORT\n"
	    "  uring-connect|uring-sendmsg HOST PORT\n"
	    "  raw4|raw6|icmp4|icmp6 [HOST]\n"
	    "  sctp4|udplite4|mptcp4 [HOST PORT]\n"
	    "  packet|vsock|netlink\n"
	    "  unix|unix-dgram PATH    unix-abstract NAME\n"
	    "  fork-tcp HOST PORT      daemon-tcp HOST PORT OUTFILE\n"
	    "  tcp-loop HOST PORT SECONDS\n"
	    "  tcp-sweep HOST PORT SECONDS   (tcp-loop, the port moving on)\n"
	    "HOST is a numeric IPv4 or IPv6 address (IPv6 optionally in []).\n"
	    "Prints OK or ERR <ERRNAME>; exit 0, 1, or 2 for usage.\n");
	exit(2);
}

static int run(int argc, char **argv)
{
	const char *mode = argv[1];
	struct target t;
	size_t i;

	for (i = 0; i < sizeof(sockmodes) / sizeof(sockmodes[0]); i++) {
		const struct sockmode *m = &sockmodes[i];
		int want = m->icmp ? 3 : 4; /* argc with the optional target */

		if (strcmp(mode, m->name))
			continue;
		if (argc == 2)
			return do_socket(m, NULL);
		if (m->family == AF_PACKET || m->family == AF_VSOCK ||
		    m->family == AF_NETLINK || argc != want ||
		    parse_target(argv[2], argc > 3 ? argv[3] : NULL, &t))
			usage();
		if (m->icmp && t.family != m->family)
			usage();
		return do_socket(m, &t);
	}

	if (!strcmp(mode, "unix") || !strcmp(mode, "unix-dgram") ||
	    !strcmp(mode, "unix-abstract")) {
		int abstract = !strcmp(mode, "unix-abstract");
		struct sockaddr_un sun;
		socklen_t len;

		if (argc != 3 || unix_addr(argv[2], abstract, &sun, &len))
			usage();
		return do_unix(&sun, len,
			       strcmp(mode, "unix-dgram") ? SOCK_STREAM
							  : SOCK_DGRAM);
	}

	if (argc < 4 || parse_target(argv[2], argv[3], &t))
		usage();

	if (!strcmp(mode, "daemon-tcp")) {
		if (argc != 5)
			usage();
		return do_daemon_tcp(&t, argv[4]);
	}
	if (!strcmp(mode, "tcp-loop") || !strcmp(mode, "tcp-sweep")) {
		char *end;
		unsigned long secs = argc == 5 ? strtoul(argv[4], &end, 10) : 0;

		if (argc != 5 || !*argv[4] || *end || secs == 0 || secs > 3600)
			usage();
		arm_alarm(secs + ALARM_S);
		return do_tcp_loop(&t, secs, !strcmp(mode, "tcp-sweep"));
	}
	if (argc != 4)
		usage();
	if (!strcmp(mode, "tcp"))
		return do_tcp(&t);
	if (!strcmp(mode, "udp"))
		return do_udp(&t);
	if (!strcmp(mode, "udp-connect"))
		return do_udp_connect(&t);
	if (!strcmp(mode, "udp-sendmsg"))
		return do_udp_sendmsg(&t);
	if (!strcmp(mode, "udp-sendmmsg"))
		return do_udp_sendmmsg(&t);
	if (!strcmp(mode, "tcp-fastopen"))
		return do_tcp_fastopen(&t);
	if (!strcmp(mode, "tcp-fastopen-connect"))
		return do_tcp_fastopen_connect(&t);
	if (!strcmp(mode, "uring-connect"))
		return do_uring(&t, SOCK_STREAM);
	if (!strcmp(mode, "uring-sendmsg"))
		return do_uring(&t, SOCK_DGRAM);
	if (!strcmp(mode, "fork-tcp"))
		return do_fork_tcp(&t);
	usage();
	return 0;
}

int main(int argc, char **argv)
{
	char line[64];
	int err;

	if (argc < 2)
		usage();
	signal(SIGPIPE, SIG_IGN);
	arm_alarm(ALARM_S);
	err = run(argc, argv);
	if (!strcmp(argv[1], "tcp-loop") || !strcmp(argv[1], "tcp-sweep"))
		return 0; /* already printed its counters */
	format_result(err, line, sizeof(line));
	fputs(line, stdout);
	return err ? 1 : 0;
}

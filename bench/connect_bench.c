// SPDX-License-Identifier: GPL-2.0-only
/*
 * connect_bench.c - the load generator of `make bench` (bench/run.sh).
 *
 *   connect_bench [-c CGROUP_DIR] [-n NETNS_PATH] serve TCP UDP SINK
 *   connect_bench [-c CGROUP_DIR] [-n NETNS_PATH] [-t MS] [-x ok|fail]
 *                 MODE PORT
 *
 * -c joins a cgroup (writes our pid to CGROUP_DIR/cgroup.procs) and then -n
 * enters a network namespace, in that order: `ip netns exec` would remount
 * /sys and hide cgroupfs. Every socket is opened after both.
 *
 * serve: on 127.0.0.1, a TCP listener on TCP that accepts and closes, a UDP
 * socket on UDP that nobody reads (sends still complete; excess is dropped
 * at the receiver), and a TCP sink on SINK that reads and discards. Prints
 * "ready" once all three listen, then runs until a signal ends it.
 *
 * Modes, each against 127.0.0.1:PORT, timed for MS milliseconds (default
 * 300) after a warm-up of a tenth of that:
 *   tcp        socket + connect + close (RST on close: no TIME_WAIT pile)
 *   udp        socket + connect + close on UDP: the connect4 hook without a
 *              handshake, plus socket creation (the sock_create hook)
 *   reconnect  connect() again and again on one UDP socket: the connect4
 *              hook and little else
 *   sendto     unconnected 64-byte UDP sendto(): the sendmsg4 hook per send
 *   bulk       TCP write() of 128 KiB buffers to the sink: bytes per second
 *   gap        UDP connect() loop until SIGINT/SIGTERM, counting successes
 *              and failures (for the reload-gap figure); -t is ignored
 * -x ok (default) makes any failure fatal; -x fail expects every connect to
 * fail (EPERM from toolwall, ECONNREFUSED from a netfilter REJECT or from a
 * port nobody listens on) and times the failures.
 *
 * Output, one line: "ops N ns_per_op X warm W" (W: warm-up operations,
 * untimed); "bytes N mbit_s X" for bulk; "ok N failed N first_errno E"
 * for gap.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int die(const char *what)
{
	fprintf(stderr, "connect_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };

	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

static int join(const char *cgroup, const char *netns)
{
	char path[4096];
	int fd;

	if (cgroup) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
		fd = open(path, O_WRONLY);
		if (fd < 0 || dprintf(fd, "%d\n", getpid()) < 0)
			die(path);
		close(fd);
	}
	if (netns) {
		fd = open(netns, O_RDONLY);
		if (fd < 0 || setns(fd, CLONE_NEWNET))
			die(netns);
		close(fd);
	}
	return 0;
}

/* ---- serve ---------------------------------------------------------- */

static int listen_on(int type, int port)
{
	struct sockaddr_in sa = loopback(port);
	int fd = socket(AF_INET, type, 0), one = 1;

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind");
	if (type == SOCK_STREAM && listen(fd, 4096))
		die("listen");
	return fd;
}

static void *accept_close(void *arg)
{
	int lfd = (int)(long)arg;

	for (;;) {
		int c = accept(lfd, NULL, NULL);

		if (c >= 0)
			close(c);
	}
	return NULL;
}

static void *drain(void *arg)
{
	static char buf[1 << 17];
	int c = (int)(long)arg;

	while (read(c, buf, sizeof(buf)) > 0)
		;
	close(c);
	return NULL;
}

static void *sink(void *arg)
{
	int lfd = (int)(long)arg;
	pthread_t th;

	for (;;) {
		int c = accept(lfd, NULL, NULL);

		if (c >= 0 && pthread_create(&th, NULL, drain, (void *)(long)c) == 0)
			pthread_detach(th);
	}
	return NULL;
}

static int serve(int tcp, int udp, int snk)
{
	pthread_t th;

	pthread_create(&th, NULL, accept_close,
		       (void *)(long)listen_on(SOCK_STREAM, tcp));
	listen_on(SOCK_DGRAM, udp);
	pthread_create(&th, NULL, sink, (void *)(long)listen_on(SOCK_STREAM, snk));
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
	return 0;
}

/* ---- clients -------------------------------------------------------- */

enum mode { M_TCP, M_UDP, M_RECONNECT, M_SENDTO, M_BULK, M_GAP };

struct run {
	enum mode mode;
	struct sockaddr_in sa;
	int expect_fail;
	int fd; /* reconnect, sendto, bulk */
	unsigned long long bytes;
};

static void check(const struct run *r, int ret, const char *what)
{
	if (r->expect_fail ? ret == 0 : ret < 0) {
		if (r->expect_fail)
			fprintf(stderr, "connect_bench: %s succeeded, expected a failure\n", what);
		else
			fprintf(stderr, "connect_bench: %s: %s\n", what, strerror(errno));
		exit(1);
	}
}

static void one_op(struct run *r)
{
	static char buf[1 << 17];
	struct linger lg = { 1, 0 };
	int fd, ret;
	ssize_t n;

	switch (r->mode) {
	case M_TCP:
	case M_UDP:
		fd = socket(AF_INET, r->mode == M_TCP ? SOCK_STREAM : SOCK_DGRAM, 0);
		if (fd < 0)
			die("socket");
		if (r->mode == M_TCP)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		ret = connect(fd, (struct sockaddr *)&r->sa, sizeof(r->sa));
		check(r, ret, "connect");
		close(fd);
		break;
	case M_RECONNECT:
		ret = connect(r->fd, (struct sockaddr *)&r->sa, sizeof(r->sa));
		check(r, ret, "connect");
		break;
	case M_SENDTO:
		n = sendto(r->fd, buf, 64, 0, (struct sockaddr *)&r->sa,
			   sizeof(r->sa));
		check(r, n == 64 ? 0 : -1, "sendto");
		break;
	case M_BULK:
		n = write(r->fd, buf, sizeof(buf));
		if (n < 0)
			die("write");
		r->bytes += n;
		break;
	case M_GAP:
		break;
	}
}

static int gap(struct run *r)
{
	unsigned long long ok = 0, failed = 0;
	int first = 0;

	while (!stop) {
		if (connect(r->fd, (struct sockaddr *)&r->sa, sizeof(r->sa)) == 0) {
			ok++;
		} else {
			if (!failed)
				first = errno;
			failed++;
		}
	}
	printf("ok %llu failed %llu first_errno %d\n", ok, failed, first);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cgroup = NULL, *netns = NULL;
	struct run r = { .fd = -1 };
	unsigned long long ms = 300, ops = 0, warm = 0, t0, t1, end;
	struct sigaction sa = { .sa_handler = on_signal };
	int opt, batch;

	while ((opt = getopt(argc, argv, "+c:n:t:x:")) != -1) {
		switch (opt) {
		case 'c':
			cgroup = optarg;
			break;
		case 'n':
			netns = optarg;
			break;
		case 't':
			ms = strtoull(optarg, NULL, 10);
			break;
		case 'x':
			r.expect_fail = !strcmp(optarg, "fail");
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		goto usage;
	join(cgroup, netns);
	if (!strcmp(argv[0], "serve")) {
		if (argc != 4)
			goto usage;
		return serve(atoi(argv[1]), atoi(argv[2]), atoi(argv[3]));
	}
	if (!strcmp(argv[0], "tcp"))
		r.mode = M_TCP;
	else if (!strcmp(argv[0], "udp"))
		r.mode = M_UDP;
	else if (!strcmp(argv[0], "reconnect"))
		r.mode = M_RECONNECT;
	else if (!strcmp(argv[0], "sendto"))
		r.mode = M_SENDTO;
	else if (!strcmp(argv[0], "bulk"))
		r.mode = M_BULK;
	else if (!strcmp(argv[0], "gap"))
		r.mode = M_GAP;
	else
		goto usage;
	r.sa = loopback(atoi(argv[1]));
	if (r.mode == M_RECONNECT || r.mode == M_SENDTO || r.mode == M_GAP) {
		r.fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (r.fd < 0)
			die("socket");
	} else if (r.mode == M_BULK) {
		r.fd = socket(AF_INET, SOCK_STREAM, 0);
		if (r.fd < 0 || connect(r.fd, (struct sockaddr *)&r.sa, sizeof(r.sa)))
			die("connect to the sink");
	}
	if (r.mode == M_GAP) {
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		return gap(&r);
	}

	/* Warm-up (caches, the map paths, the listener's queue), then the
	 * timed part. The clock is read once per BATCH operations: the fast
	 * modes take about a microsecond, the slow ones (a long iptables
	 * chain) milliseconds. */
	batch = r.mode == M_RECONNECT || r.mode == M_SENDTO ? 32 : 1;
	end = now_ns() + ms * 100000ull;
	while (now_ns() < end) {
		for (int i = 0; i < batch; i++)
			one_op(&r);
		warm += batch;
	}
	r.bytes = 0;
	t0 = now_ns();
	end = t0 + ms * 1000000ull;
	do {
		for (int i = 0; i < batch; i++)
			one_op(&r);
		ops += batch;
		t1 = now_ns();
	} while (t1 < end);
	if (r.mode == M_BULK)
		printf("bytes %llu mbit_s %.1f\n", r.bytes,
		       r.bytes * 8.0 / 1e6 / ((t1 - t0) / 1e9));
	else
		printf("ops %llu ns_per_op %.1f warm %llu\n", ops,
		       (double)(t1 - t0) / ops, warm);
	return 0;
usage:
	fprintf(stderr,
		"usage: connect_bench [-c CGROUP] [-n NETNS] serve TCP UDP SINK\n"
		"       connect_bench [-c CGROUP] [-n NETNS] [-t MS] [-x ok|fail] "
		"tcp|udp|reconnect|sendto|bulk|gap PORT\n");
	return 2;
}

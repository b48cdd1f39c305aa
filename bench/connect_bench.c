// SPDX-License-Identifier: GPL-2.0-only
/*
 * connect_bench.c - connect()+close() latency to a loopback TCP listener.
 *
 *   connect_bench PORT ITERATIONS [--expect-eperm]
 *
 * Listens on 127.0.0.1:PORT (an accept thread drains the queue), then times
 * ITERATIONS connect+close pairs and prints "ns_per_op N". With
 * --expect-eperm every connect must fail with EPERM (the cost of a denial).
 * Run it in a toolwall context cgroup and outside to compare.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int lfd = -1;

static void *drain(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(lfd, NULL, NULL);

		if (c >= 0)
			close(c);
	}
	return NULL;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int port, iters, eperm = 0, one = 1;
	unsigned long long t0, t1;
	pthread_t th;

	if (argc < 3) {
		fprintf(stderr, "usage: connect_bench PORT ITERATIONS [--expect-eperm]\n");
		return 2;
	}
	port = atoi(argv[1]);
	iters = atoi(argv[2]);
	eperm = argc > 3 && !strcmp(argv[3], "--expect-eperm");
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!eperm) {
		lfd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    listen(lfd, 4096)) {
			perror("listen");
			return 1;
		}
		pthread_create(&th, NULL, drain, NULL);
	}
	t0 = now_ns();
	for (int i = 0; i < iters; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct linger lg = { 1, 0 }; /* RST on close: no TIME_WAIT pile */
		int r;

		if (fd < 0) {
			perror("socket");
			return 1;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		if (eperm ? !(r < 0 && errno == EPERM) : r < 0) {
			fprintf(stderr, "connect %d: %s\n", i, strerror(errno));
			return 1;
		}
		close(fd);
	}
	t1 = now_ns();
	printf("ns_per_op %.1f\n", (double)(t1 - t0) / iters);
	return 0;
}

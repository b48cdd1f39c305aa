// SPDX-License-Identifier: GPL-2.0-only
/*
 * dns_bench.c - DNS query latency and rate against one server.
 *
 *   dns_bench SERVER NAME lat N          N sequential queries:
 *                                        "p50_us X p99_us Y answered A of N
 *                                         failed F"
 *   dns_bench SERVER NAME qps SECS WIN   WIN queries in flight for SECS:
 *                                        "qps X answered N timeouts T
 *                                         failed F"
 *
 * The query is built with ldns; each one gets its own id. Run it inside a
 * toolwall context (queries are redirected to toolwall's resolver) and
 * outside (straight to the server) to compare. Only answers count (rcode
 * NOERROR with at least one record); a reply without one (REFUSED by a
 * budget, SERVFAIL) is counted as failed, never as an answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* A reply of R bytes that answers (NOERROR, ANCOUNT > 0). */
static int is_answer(const uint8_t *r, ssize_t n)
{
	return n >= 12 && (r[3] & 0x0f) == 0 && (r[6] | r[7]) != 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	ldns_pkt *q;
	uint8_t *wire, buf[4096];
	size_t wlen;
	int fd;

	if (argc < 5 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "usage: dns_bench SERVER NAME lat N | "
				"dns_bench SERVER NAME qps SECS WINDOW\n");
		return 2;
	}
	q = ldns_pkt_query_new(ldns_dname_new_frm_str(argv[2]), LDNS_RR_TYPE_A,
			       LDNS_RR_CLASS_IN, LDNS_RD);
	if (!q || ldns_pkt2wire(&wire, q, &wlen) != LDNS_STATUS_OK)
		return 1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("socket");
		return 1;
	}
	if (!strcmp(argv[3], "lat")) {
		int n = atoi(argv[4]), got = 0, failed = 0;
		double *lat = calloc(n, sizeof(*lat));

		for (int i = 0; i < n; i++) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			double t0 = now_us();

			wire[0] = i >> 8;
			wire[1] = i & 0xff;
			if (send(fd, wire, wlen, 0) < 0)
				return perror("send"), 1;
			while (poll(&p, 1, 2000) > 0) {
				ssize_t r = recv(fd, buf, sizeof(buf), 0);

				if (r >= 2 && buf[0] == wire[0] && buf[1] == wire[1]) {
					if (is_answer(buf, r))
						lat[got++] = now_us() - t0;
					else
						failed++;
					break;
				}
			}
		}
		if (!got)
			return fprintf(stderr, "no answers\n"), 1;
		qsort(lat, got, sizeof(*lat), cmp);
		printf("p50_us %.1f p99_us %.1f answered %d of %d failed %d\n",
		       lat[got / 2], lat[(int)(got * 0.99)], got, n, failed);
		return 0;
	}
	if (!strcmp(argv[3], "qps") && argc >= 6) {
		double secs = atof(argv[4]), t0 = now_us(), end = t0 + secs * 1e6;
		int win = atoi(argv[5]), inflight = 0;
		long sent = 0, answered = 0, timeouts = 0, failed = 0;
		ssize_t r;
		uint16_t id = 0;

		while (now_us() < end) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			while (inflight < win) {
				wire[0] = id >> 8;
				wire[1] = id & 0xff;
				id++;
				if (send(fd, wire, wlen, 0) < 0)
					break;
				sent++;
				inflight++;
			}
			if (poll(&p, 1, 500) <= 0) {
				timeouts += inflight; /* lost: refill */
				inflight = 0;
				continue;
			}
			while ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
				if (is_answer(buf, r))
					answered++;
				else
					failed++;
				if (inflight)
					inflight--;
			}
		}
		printf("qps %.0f answered %ld timeouts %ld failed %ld\n",
		       answered / ((now_us() - t0) / 1e6), answered, timeouts,
		       failed);
		return 0;
	}
	return 2;
}

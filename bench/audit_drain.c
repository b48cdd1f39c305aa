// SPDX-License-Identifier: GPL-2.0-only
/*
 * audit_drain.c - the raw ring-buffer drain rate, for bench/audit_bench.sh:
 * consume toolwall's pinned event ring buffer (no daemon running) with a
 * callback that only counts, for SECONDS, and print
 *   {"events": N, "seconds": S, "cpu_s": C}
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define EVENTS_PIN "/sys/fs/bpf/toolwall/maps/tw_events"

static unsigned long long events;

static int count(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	events++;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct ring_buffer *rb;
	struct rusage ru;
	double secs, start;
	int fd;

	if (argc != 2 || (secs = atof(argv[1])) <= 0) {
		fprintf(stderr, "usage: audit_drain SECONDS\n");
		return 2;
	}
	fd = bpf_obj_get(EVENTS_PIN);
	if (fd < 0) {
		fprintf(stderr, "Error: %s: %s\n", EVENTS_PIN, strerror(errno));
		return 1;
	}
	rb = ring_buffer__new(fd, count, NULL, NULL);
	if (!rb) {
		fprintf(stderr, "Error: ring buffer: %s\n", strerror(errno));
		return 1;
	}
	ring_buffer__consume(rb); /* whatever was queued before */
	events = 0;
	start = now_s();
	while (now_s() - start < secs)
		ring_buffer__poll(rb, 100);
	ring_buffer__consume(rb);
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"events\": %llu, \"seconds\": %.3f, \"cpu_s\": %.3f}\n", events,
	       now_s() - start,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	ring_buffer__free(rb);
	return 0;
}

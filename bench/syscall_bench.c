// SPDX-License-Identifier: GPL-2.0-only
/*
 * syscall_bench.c - the cost of one cheap syscall (getppid), for the price
 * the syscall audit's sys_exit tracepoint puts on every syscall of the host.
 *
 *   syscall_bench MS   -> "getppid ns N" (mean over MS milliseconds)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	double ms = argc > 1 ? atof(argv[1]) : 300, t0, t;
	long n = 0;

	if (ms <= 0) {
		fprintf(stderr, "usage: syscall_bench MS\n");
		return 2;
	}
	t0 = now_ns();
	do {
		for (int i = 0; i < 10000; i++)
			syscall(SYS_getppid);
		n += 10000;
		t = now_ns();
	} while (t - t0 < ms * 1e6);
	printf("getppid ns %.1f\n", (t - t0) / n);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * ckpt_bench.c - what signed checkpoints cost the audit writer: records
 * per second written through tw_audit_write (redaction, sealing, the hash
 * chain, one write(2) each, rotation off) without a key, with the
 * daemon's default checkpoint interval (--audit-key, 1000 records), and
 * with a checkpoint every 100 records, interleaved round by round in one
 * run so that the ratios are comparable on a noisy machine.
 *
 *   build/ckpt_bench DIR [RECORDS] [ROUNDS]   (default 20000 records, 5 rounds)
 *
 * Prints one JSON object per variant: median records/s, min, max, ratio
 * to the no-key median; and the time of one signature (the whole of a
 * checkpoint's extra work but its own record), the median of ROUNDS runs
 * of 1000, which is steadier than the ratios on a busy machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"

struct variant {
	const char *name;
	uint64_t every; /* 0: no key */
	double rate[64];
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Records per second for N denial-shaped records into a fresh log. */
static double run(const char *dir, const struct tw_ckpt_key *key,
		  uint64_t every, unsigned n)
{
	struct tw_audit_opts o = { .keep = 1, .no_group = true };
	char path[4200];
	struct tw_audit a;
	double t0, t;

	snprintf(path, sizeof(path), "%s/bench.jsonl", dir);
	unlink(path);
	o.key = every ? key : NULL;
	o.ckpt_records = every;
	o.ckpt_seconds = 3600;
	if (tw_audit_open(&a, path, &o)) {
		fprintf(stderr, "ckpt_bench: cannot open %s\n", path);
		exit(1);
	}
	t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		json_t *r = tw_audit_record(&a, "deny", 0);

		json_object_set_new(r, "context", json_string("workspace:bench"));
		json_object_set_new(r, "workspace", json_string("bench"));
		json_object_set_new(r, "pid", json_integer(4242));
		json_object_set_new(r, "uid", json_integer(1000));
		json_object_set_new(r, "comm", json_string("curl"));
		json_object_set_new(r, "call_id", json_string("bench-1"));
		json_object_set_new(r, "requester", json_string("bench"));
		json_object_set_new(r, "action", json_string("connect"));
		json_object_set_new(r, "proto", json_string("tcp"));
		json_object_set_new(r, "dst", json_string("10.30.1.10"));
		json_object_set_new(r, "port", json_integer(1000 + i % 60000));
		json_object_set_new(r, "reason",
				    json_string("no rule of workspace:bench "
						"allows tcp 10.30.1.10:5439"));
		json_object_set_new(r, "policy_rev", json_string("6be45653f793"));
		json_object_set_new(r, "hint", json_string(""));
		if (tw_audit_write(&a, r)) {
			fprintf(stderr, "ckpt_bench: write failed\n");
			exit(1);
		}
	}
	t = now_s() - t0;
	tw_audit_close(&a);
	return n / t;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct variant v[] = { { "none", 0 },
			       { "key_every_1000", TW_CKPT_RECORDS },
			       { "key_every_100", 100 } };
	const size_t nv = sizeof(v) / sizeof(v[0]);
	unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 20000;
	unsigned rounds = argc > 3 ? (unsigned)atoi(argv[3]) : 5;
	struct tw_ckpt_key key = {};
	char kpath[4200], why[600];
	double base = 0;

	if (argc < 2 || rounds < 1 || rounds > 64 || n < 1) {
		fprintf(stderr, "usage: ckpt_bench DIR [RECORDS] [ROUNDS]\n");
		return 2;
	}
	snprintf(kpath, sizeof(kpath), "%s/bench.key", argv[1]);
	if (tw_ckpt_keygen(kpath, &key, why, sizeof(why))) {
		fprintf(stderr, "ckpt_bench: %s\n", why);
		return 1;
	}
	tw_ckpt_key_free(&key);
	if (tw_ckpt_load_private(kpath, &key, why, sizeof(why))) {
		fprintf(stderr, "ckpt_bench: %s\n", why);
		return 1;
	}
	run(argv[1], &key, 0, n / 10 + 1); /* warm-up */
	/* interleaved, the order rotating round by round */
	for (unsigned r = 0; r < rounds; r++)
		for (size_t k = 0; k < nv; k++) {
			struct variant *x = &v[(k + r) % nv];

			x->rate[r] = run(argv[1], &key, x->every, n);
		}
	for (size_t k = 0; k < nv; k++) {
		double med;

		qsort(v[k].rate, rounds, sizeof(double), cmp);
		med = v[k].rate[rounds / 2];
		if (!k)
			base = med;
		printf("{\"bench\":\"audit_checkpoint\",\"variant\":\"%s\","
		       "\"records\":%u,\"rounds\":%u,\"value\":%.0f,"
		       "\"unit\":\"records/s\",\"ratio_to_baseline\":%.3f,"
		       "\"note\":\"min %.0f max %.0f\"}\n",
		       v[k].name, n, rounds, med, med / base, v[k].rate[0],
		       v[k].rate[rounds - 1]);
	}
	{
		double us[64], t0;
		char sig[TW_SIG_HEX + 1];
		const char *msg = "toolwall-checkpoint v1 key=0123456789abcdef "
				  "seq=1000 ts=2026-01-01T00:00:00.000000000Z "
				  "head=00 every=1000/60";

		for (unsigned r = 0; r < rounds; r++) {
			t0 = now_s();
			for (int i = 0; i < 1000; i++)
				tw_ckpt_sign(&key, msg, sig);
			us[r] = (now_s() - t0) * 1e3; /* us per signature */
		}
		qsort(us, rounds, sizeof(double), cmp);
		printf("{\"bench\":\"audit_checkpoint\",\"variant\":\"sign\","
		       "\"value\":%.1f,\"unit\":\"us/signature\","
		       "\"note\":\"as long as %.1f records at %.0f records/s: "
		       "a checkpoint every N records costs (that + 1) / N\"}\n",
		       us[rounds / 2], us[rounds / 2] * base / 1e6, base);
	}
	tw_ckpt_key_free(&key);
	return 0;
}

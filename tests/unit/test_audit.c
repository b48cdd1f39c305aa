/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_audit.c - the audit log writer: the hash chain and --verify's
 * verdict on every kind of tampering, restarts that continue the chain,
 * rotation by size with gzip'd segments and retention, damaged segments,
 * flood aggregation with exact counts, and loss accounting when the log
 * cannot be written.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "audit.h"
#include "audit_agg.h"
#include "audit_chain.h"
#include "audit_seg.h"
#include "checkpoint.h"
#include "record.h"
#include "redact.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char dir[256];
static char logp[512];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tw-unit-audit.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(logp, sizeof(logp), "%s/sub/audit.jsonl", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* ---- helpers ---------------------------------------------------------- */

/* A fresh log: no live file, no rotated segments. */
static void reset(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/sub'", dir);
	assert_int_equal(system(cmd), 0);
}

static void write_n(struct tw_audit *a, int n, const char *event)
{
	for (int i = 0; i < n; i++) {
		json_t *r = tw_audit_record(a, event, 0);

		json_object_set_new(r, "context",
				    json_string("workspace:acme"));
		json_object_set_new(r, "i", json_integer(i));
		assert_int_equal(tw_audit_write(a, r), 0);
	}
}

static char **read_lines(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	char **v = NULL, *line = NULL;
	size_t cap = 0;
	ssize_t len;

	*n = 0;
	assert_non_null(f);
	while ((len = getline(&line, &cap, f)) > 0) {
		v = realloc(v, (*n + 2) * sizeof(*v)); /* room to insert */
		v[(*n)++] = strdup(line);
	}
	free(line);
	fclose(f);
	return v;
}

static void write_lines(const char *path, char **v, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fputs(v[i], f);
	fclose(f);
}

static void free_lines(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

struct vctx {
	struct tw_verify v;
	unsigned long lines;
};

static int vline(void *arg, const struct tw_seg *s, unsigned long lineno,
		 const char *text, size_t len)
{
	struct vctx *c = arg;

	c->lines++;
	tw_verify_line(&c->v, s->path, lineno, text, len);
	return 0;
}

static void vdamaged(void *arg, const struct tw_seg *s, unsigned long lineno,
		     const char *why)
{
	struct vctx *c = arg;

	tw_verify_damaged(&c->v, s->path, lineno, why);
}

/* Verify the whole log at logp; returns tw_verify_finish's result. */
static int verify_log(struct vctx *c)
{
	struct tw_seg *segs = NULL;
	size_t n = 0;
	struct tw_seg_cb cb = { .line = vline, .damaged = vdamaged, .arg = c };

	memset(c, 0, sizeof(*c));
	tw_verify_init(&c->v);
	assert_int_equal(tw_segs_list(logp, &segs, &n), 0);
	tw_segs_read(segs, n, &cb);
	free(segs);
	return tw_verify_finish(&c->v);
}

/* ---- the chain --------------------------------------------------------- */

static void test_sha256_known_answer(void **state)
{
	char hex[TW_HASH_HEX + 1];

	(void)state;
	assert_int_equal(tw_chain_sha256("abc", 3, hex), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_seal_is_hash_of_canonical_bytes(void **state)
{
	const char *json = "{\"seq\":1,\"prev\":\"" TW_CHAIN_GENESIS "\"}";
	char hash[TW_HASH_HEX + 1], want[TW_HASH_HEX + 1], prev[TW_HASH_HEX + 1];
	char h2[TW_HASH_HEX + 1], expect[512], *line;
	size_t len;
	uint64_t seq;

	(void)state;
	assert_int_equal(tw_chain_seal(json, strlen(json), &line, &len, hash), 0);
	assert_int_equal(tw_chain_sha256(json, strlen(json), want), 0);
	assert_string_equal(hash, want);
	snprintf(expect, sizeof(expect), "{\"seq\":1,\"prev\":\"%s\",\"hash\":\"%s\"}\n",
		 TW_CHAIN_GENESIS, want);
	assert_string_equal(line, expect);
	assert_int_equal(len, strlen(expect));
	assert_int_equal(tw_chain_check(line, len, &seq, prev, h2, NULL), TW_LINE_OK);
	assert_int_equal(seq, 1);
	assert_string_equal(h2, want);
	/* one byte changed anywhere: the hash no longer matches */
	line[3] = 'x';
	assert_int_equal(tw_chain_check(line, len, &seq, prev, h2, NULL),
			 TW_LINE_MISMATCH);
	free(line);
	assert_int_equal(tw_chain_check("{\"seq\":1}", 9, &seq, prev, h2, NULL),
			 TW_LINE_UNSEALED);
	assert_int_equal(tw_chain_check("{\"seq\":", 7, &seq, prev, h2, NULL),
			 TW_LINE_NOT_JSON);
}

static void test_chain_continues_across_restart(void **state)
{
	struct tw_audit a;
	struct vctx c;
	char **v;
	size_t n;
	json_t *last, *first2;

	(void)state;
	assert_int_equal(tw_audit_open(&a, logp, NULL), 0);
	write_n(&a, 3, "deny");
	tw_audit_close(&a);
	assert_int_equal(tw_audit_open(&a, logp, NULL), 0);
	assert_int_equal(a.seq, 3);
	write_n(&a, 2, "deny");
	tw_audit_close(&a);

	v = read_lines(logp, &n);
	assert_int_equal(n, 5);
	last = json_loads(v[2], 0, NULL);
	first2 = json_loads(v[3], 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(first2, "seq")), 4);
	assert_string_equal(json_string_value(json_object_get(first2, "prev")),
			    json_string_value(json_object_get(last, "hash")));
	json_decref(last);
	json_decref(first2);
	free_lines(v, n);
	assert_int_equal(verify_log(&c), 0);
	assert_int_equal(c.v.records, 5);
	assert_int_equal(c.v.first_seq, 1);
	assert_int_equal(c.v.last_seq, 5);
}

/* Each row tampers with a 6-record log and names what verify must say. */
struct tamper {
	const char *name;
	void (*fn)(char **v, size_t *n);
	const char *kind;
	unsigned long line; /* of the first bad record */
	uint64_t seq;
	const char *says;
};

static void t_alter(char **v, size_t *n)
{
	(void)n;
	char *p = strstr(v[2], "workspace:acme");
	p[0] = 'W';
}

/* Change record 3 and re-seal it so its own hash is right again. */
static void t_alter_reseal(char **v, size_t *n)
{
	json_t *r = json_loads(v[2], 0, NULL);
	char *s, *line, hash[TW_HASH_HEX + 1];
	size_t len;

	(void)n;
	json_object_set_new(r, "context", json_string("workspace:evil"));
	json_object_del(r, "hash");
	s = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_int_equal(tw_chain_seal(s, strlen(s), &line, &len, hash), 0);
	free(v[2]);
	v[2] = line;
	free(s);
	json_decref(r);
}

static void t_delete(char **v, size_t *n)
{
	free(v[3]);
	memmove(&v[3], &v[4], (*n - 4) * sizeof(*v));
	(*n)--;
}

static void t_delete_two(char **v, size_t *n)
{
	t_delete(v, n);
	t_delete(v, n);
}

static void t_duplicate(char **v, size_t *n)
{
	memmove(&v[3], &v[2], (*n - 2) * sizeof(*v));
	v[2] = strdup(v[3]);
	(*n)++;
}

static void t_swap(char **v, size_t *n)
{
	char *t = v[2];

	(void)n;
	v[2] = v[3];
	v[3] = t;
}

static void t_truncate_line(char **v, size_t *n)
{
	(void)n;
	strcpy(v[4] + 20, "\n");
}

static const struct tamper tampers[] = {
	{ "altered", t_alter, "altered", 3, 3, "does not match its hash" },
	{ "altered, re-sealed", t_alter_reseal, "altered", 3, 3, "seq 3 was changed" },
	{ "deleted", t_delete, "missing", 4, 4, "record seq 4 is missing" },
	{ "two deleted", t_delete_two, "missing", 4, 4, "records seq 4-5 are missing" },
	{ "duplicated", t_duplicate, "inserted", 4, 3, "a copy of" },
	{ "swapped", t_swap, "reordered", 4, 3, "reordered: seq 3 belongs between" },
	{ "cut short", t_truncate_line, "altered", 5, 5, "not a JSON record" },
};

static void test_verify_names_first_tampering(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(tampers); i++) {
		const struct tamper *t = &tampers[i];
		struct tw_audit a;
		struct vctx c;
		char **v, where[600];
		size_t n;

		reset();
		assert_int_equal(tw_audit_open(&a, logp, NULL), 0);
		write_n(&a, 6, "deny");
		tw_audit_close(&a);
		assert_int_equal(verify_log(&c), 0);
		v = read_lines(logp, &n);
		t->fn(v, &n);
		write_lines(logp, v, n);
		free_lines(v, n);
		if (verify_log(&c) != -EBADMSG)
			fail_msg("%s: verified", t->name);
		snprintf(where, sizeof(where), "%s:%lu", logp, t->line);
		if (strcmp(c.v.kind, t->kind) || strcmp(c.v.where, where) ||
		    c.v.where_seq != t->seq || !strstr(c.v.error, t->says))
			fail_msg("%s: got %s at %s seq %llu: %s", t->name,
				 c.v.kind, c.v.where,
				 (unsigned long long)c.v.where_seq, c.v.error);
	}
}

/* ---- rotation -------------------------------------------------------------- */

static void test_rotation_by_size_keeps_chain_and_retention(void **state)
{
	struct tw_audit_opts o = { .max_size = 2000, .keep = 3 };
	struct tw_audit a;
	struct tw_seg *segs;
	struct vctx c;
	char path[700];
	size_t n;
	struct stat st;

	(void)state;
	assert_int_equal(tw_audit_open(&a, logp, &o), 0);
	write_n(&a, 80, "deny");
	assert_true(a.rotations >= 4);
	tw_audit_close(&a);

	assert_int_equal(tw_segs_list(logp, &segs, &n), 0);
	assert_int_equal(n, 4); /* .3.gz .2.gz .1.gz live */
	assert_int_equal(segs[0].index, 3);
	assert_true(segs[0].gz);
	assert_int_equal(segs[3].index, 0);
	free(segs);
	snprintf(path, sizeof(path), "%s.4.gz", logp);
	assert_int_not_equal(stat(path, &st), 0);
	/* truly gzip */
	snprintf(path, sizeof(path), "%s.1.gz", logp);
	{
		unsigned char magic[2];
		FILE *f = fopen(path, "rb");

		assert_non_null(f);
		assert_int_equal(fread(magic, 1, 2, f), 2);
		fclose(f);
		assert_int_equal(magic[0], 0x1f);
		assert_int_equal(magic[1], 0x8b);
	}
	assert_int_equal(verify_log(&c), 0);
	assert_true(c.v.first_seq > 1); /* older ones removed by retention */
	assert_int_equal(c.v.retained_from, c.v.first_seq);

	/* A restart after rotation continues from the newest record. */
	assert_int_equal(tw_audit_open(&a, logp, &o), 0);
	write_n(&a, 1, "policy");
	tw_audit_close(&a);
	assert_int_equal(verify_log(&c), 0);

	/* Removing the oldest kept segment is noticed. */
	snprintf(path, sizeof(path), "%s.3.gz", logp);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(verify_log(&c), -EBADMSG);
	assert_string_equal(c.v.kind, "missing");
	assert_non_null(strstr(c.v.error, "oldest segment"));
}

static int count_line(void *arg, const struct tw_seg *s, unsigned long lineno,
		      const char *text, size_t len)
{
	unsigned long *n = arg;

	(void)s;
	(void)lineno;
	(void)text;
	(void)len;
	(*n)++;
	return 0;
}

static unsigned long damaged_count;

static void count_damaged(void *arg, const struct tw_seg *s,
			  unsigned long lineno, const char *why)
{
	(void)arg;
	(void)s;
	(void)lineno;
	(void)why;
	damaged_count++;
}

static void test_damaged_segment_is_reported_and_reading_goes_on(void **state)
{
	struct tw_audit_opts o = { .max_size = 4000, .keep = 5 };
	struct tw_audit a;
	struct tw_seg *segs;
	struct tw_seg_cb cb = { .line = count_line, .damaged = count_damaged };
	unsigned long before = 0, after = 0;
	struct vctx c;
	char path[700];
	struct stat st;
	size_t n;

	(void)state;
	reset();
	assert_int_equal(tw_audit_open(&a, logp, &o), 0);
	write_n(&a, 60, "deny");
	tw_audit_close(&a);
	assert_int_equal(tw_segs_list(logp, &segs, &n), 0);
	assert_true(n >= 3);
	cb.arg = &before;
	damaged_count = 0;
	tw_segs_read(segs, n, &cb);
	assert_int_equal(damaged_count, 0);
	assert_int_equal(before, 60 + (n - 1));

	/* cut the middle segment in half */
	snprintf(path, sizeof(path), "%s", segs[1].path);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size / 2), 0);
	cb.arg = &after;
	tw_segs_read(segs, n, &cb);
	free(segs);
	assert_int_equal(damaged_count, 1);
	assert_true(after < before);
	assert_true(after > 0);
	assert_int_equal(verify_log(&c), -EBADMSG);
	assert_true(!strcmp(c.v.kind, "corrupt") || !strcmp(c.v.kind, "missing"));
}

/* ---- aggregation ------------------------------------------------------------- */

static bool always_alive(uint32_t pid)
{
	(void)pid;
	return true;
}

static bool none_alive(uint32_t pid)
{
	(void)pid;
	return false;
}

struct emitted {
	json_t *recs;
};

static void emit_collect(void *arg, json_t *rec)
{
	struct emitted *e = arg;

	json_array_append_new(e->recs, rec);
}

static void test_aggregation_counts_exactly(void **state)
{
	struct tw_agg g;
	struct emitted out = { json_array() };
	const uint64_t t0 = 1700000000ull * 1000000000ull;
	const char *k1 = "ctx|pid1|connect|10.0.0.1:443|reason";
	const char *k2 = "ctx|pid2|connect|10.0.0.1:443|reason";
	uint64_t total = 0;
	size_t i;
	json_t *r;

	(void)state;
	tw_agg_init(&g, 1000000000ull);
	/* first of a kind: not aggregated, the caller writes it */
	assert_false(tw_agg_hit(&g, k1, strlen(k1), t0));
	assert_int_equal(tw_agg_add(&g, k1, strlen(k1), 1,
				    json_pack("{s:s,s:s}", "event", "deny", "ts", "x"), t0), 0);
	total++;
	for (int n = 1; n < 100000; n++)
		assert_true(tw_agg_hit(&g, k1, strlen(k1), t0 + n * 1000));
	total += 99999;
	assert_false(tw_agg_hit(&g, k2, strlen(k2), t0));
	tw_agg_add(&g, k2, strlen(k2), 2, json_pack("{s:s}", "event", "deny"), t0);
	total++;
	assert_true(tw_agg_hit(&g, k2, strlen(k2), t0 + 5));
	total++;
	assert_int_equal(tw_agg_pending(&g), 100000);

	/* nothing is due yet while the processes live and the window runs */
	assert_int_equal(tw_agg_flush(&g, TW_AGG_DUE, t0 + 500000000ull,
				      always_alive, emit_collect, &out), 0);
	/* the window is over */
	assert_int_equal(tw_agg_flush(&g, TW_AGG_DUE, t0 + 1000001001ull,
				      always_alive, emit_collect, &out), 2);
	json_array_foreach(out.recs, i, r) {
		json_t *c = json_object_get(r, "count");

		if (json_is_integer(c)) {
			assert_non_null(json_object_get(r, "first_ts"));
			assert_non_null(json_object_get(r, "last_ts"));
			assert_int_equal(json_integer_value(c), 99999);
		} else {
			/* one pending event: a plain record, no count */
			assert_null(json_object_get(r, "first_ts"));
		}
	}
	/* written records + counts = every event */
	{
		uint64_t sum = 2; /* the two first-of-a-kind records */

		json_array_foreach(out.recs, i, r) {
			json_t *c = json_object_get(r, "count");

			sum += json_is_integer(c) ? json_integer_value(c) : 1;
		}
		assert_int_equal(sum, total);
	}
	/* a process that is gone is flushed at once */
	assert_true(tw_agg_hit(&g, k1, strlen(k1), t0 + 1100000000ull));
	assert_int_equal(tw_agg_flush(&g, TW_AGG_DUE, t0 + 1100000001ull,
				      always_alive, emit_collect, &out), 0);
	assert_int_equal(tw_agg_flush(&g, TW_AGG_DUE, t0 + 1100000001ull,
				      none_alive, emit_collect, &out), 1);
	assert_int_equal(tw_agg_pending(&g), 0);
	/* everything at stop */
	assert_false(tw_agg_hit(&g, k1, strlen(k1), t0 + 1200000000ull));
	tw_agg_add(&g, k1, strlen(k1), 1, json_pack("{s:s}", "event", "deny"),
		   t0 + 1200000000ull);
	assert_true(tw_agg_hit(&g, k1, strlen(k1), t0 + 1200000001ull));
	assert_int_equal(tw_agg_flush(&g, TW_AGG_ALL, t0 + 1200000002ull, NULL,
				      emit_collect, &out), 1);
	tw_agg_free(&g);
	json_decref(out.recs);
}

/* A claimed kind counts the twins that come before its first record is
 * written (another thread looking things up), then writes them as one. */
static void test_aggregation_claim_counts_twins_in_flight(void **state)
{
	struct tw_agg g;
	struct emitted out = { json_array() };
	const uint64_t t0 = 1700000000ull * 1000000000ull;
	const char *k = "dns|ctx|agg-probe.exfil.example|A|NXDOMAIN";
	json_t *r;

	(void)state;
	tw_agg_init(&g, 1000000000ull);
	assert_false(tw_agg_claim(&g, k, strlen(k), t0));
	for (int n = 1; n < 150; n++)
		assert_true(tw_agg_claim(&g, k, strlen(k), t0 + n));
	/* not due while the first record is on its way, even at stop */
	assert_int_equal(tw_agg_flush(&g, TW_AGG_DUE, t0 + 2000000000ull,
				      none_alive, emit_collect, &out), 0);
	assert_int_equal(tw_agg_flush(&g, TW_AGG_ALL, t0 + 2000000000ull,
				      NULL, emit_collect, &out), 0);
	assert_int_equal(tw_agg_pending(&g), 149);
	/* the first record completes the claim: no second entry */
	assert_int_equal(tw_agg_add(&g, k, strlen(k), 7,
				    json_pack("{s:s}", "event", "deny"), t0), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(tw_agg_flush(&g, TW_AGG_DUE, t0 + 2000000001ull,
				      always_alive, emit_collect, &out), 1);
	r = json_array_get(out.recs, 0);
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 149);
	/* a claim never completed is forgotten after ten windows */
	assert_false(tw_agg_claim(&g, "other", 5, t0 + 3000000000ull));
	assert_int_equal(tw_agg_flush(&g, TW_AGG_DUE, t0 + 13000000000ull,
				      always_alive, emit_collect, &out), 0);
	assert_false(tw_agg_hit(&g, "other", 5, t0 + 13000000001ull));
	tw_agg_free(&g);
	json_decref(out.recs);
}

/* ---- faults ------------------------------------------------------------------ */

static void test_unwritable_log_is_counted_then_recorded(void **state)
{
	struct tw_audit a;
	struct vctx c;
	char **v;
	size_t n;
	json_t *lost;
	int good;

	(void)state;
	reset();
	assert_int_equal(tw_audit_open(&a, logp, NULL), 0);
	write_n(&a, 2, "deny");
	/* the log's descriptor goes bad under the writer (read-only) */
	good = a.fd;
	a.fd = open(logp, O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < 5; i++) {
		json_t *r = tw_audit_record(&a, "deny", 0);

		json_object_set_new(r, "count", json_integer(10));
		assert_int_not_equal(tw_audit_write(&a, r), 0);
	}
	assert_int_not_equal(tw_audit_write(&a, tw_audit_record(&a, "policy", 0)), 0);
	assert_int_equal(a.gap.records, 6);
	assert_int_equal(a.gap.events, 50);
	close(a.fd);
	a.fd = good;
	write_n(&a, 1, "deny"); /* writing works again */
	tw_audit_close(&a);

	v = read_lines(logp, &n);
	assert_int_equal(n, 4); /* 2 deny, lost, deny */
	lost = json_loads(v[2], 0, NULL);
	assert_string_equal(json_string_value(json_object_get(lost, "event")), "lost");
	assert_int_equal(json_integer_value(json_object_get(lost, "count")), 50);
	assert_int_equal(json_integer_value(json_object_get(lost, "records")), 6);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(lost, "by_event"), "deny")), 5);
	assert_non_null(strstr(json_string_value(json_object_get(lost, "reason")),
			       "Bad file descriptor"));
	json_decref(lost);
	free_lines(v, n);
	/* the chain has no hole: the lost records never took a seq */
	assert_int_equal(verify_log(&c), 0);
}

static void test_partial_last_line_is_dropped_at_open(void **state)
{
	struct tw_audit a;
	struct vctx c;
	FILE *f;

	(void)state;
	reset();
	assert_int_equal(tw_audit_open(&a, logp, NULL), 0);
	write_n(&a, 2, "deny");
	tw_audit_close(&a);
	f = fopen(logp, "a");
	fputs("{\"ts\":\"2024-01-01T00:00:00Z\",\"seq\":3,\"ev", f);
	fclose(f);
	assert_int_equal(tw_audit_open(&a, logp, NULL), 0);
	assert_int_equal(a.seq, 2);
	write_n(&a, 1, "deny");
	tw_audit_close(&a);
	assert_int_equal(verify_log(&c), 0);
	assert_int_equal(c.v.records, 3);
}

/* Records of kernel events K..K+N-1 (kernel_ns 1000+k, tid k), with
 * other records in between that carry no kernel_ns. */
static void write_kevents(struct tw_audit *a, int k, int n)
{
	for (int i = k; i < k + n; i++) {
		json_t *r = tw_audit_record(a, "deny", 0);

		json_object_set_new(r, "tid", json_integer(i));
		json_object_set_new(r, "kernel_ns", json_integer(1000 + i));
		json_object_set_new(r, "pad", json_string("................"
							  "................"));
		assert_int_equal(tw_audit_write(a, r), 0);
		write_n(a, 1, "dns");
	}
}

static bool has_kevent(const struct tw_kevent *ids, size_t n, int i)
{
	for (size_t j = 0; j < n; j++)
		if (ids[j].kernel_ns == (uint64_t)(1000 + i) &&
		    ids[j].tid == (uint32_t)i)
			return true;
	return false;
}

static void test_recent_kernel_events_are_found_after_restart(void **state)
{
	struct tw_audit_opts o = { .max_size = 4000, .keep = 100 };
	struct tw_kevent ids[4];
	struct tw_audit a;
	int only_rotated = 0;
	size_t n;

	(void)state;
	reset();
	/* An empty log has none; records without kernel_ns are not events. */
	assert_int_equal(tw_audit_open(&a, logp, &o), 0);
	assert_int_equal(tw_audit_recent_kevents(&a, ids, 4), 0);
	write_n(&a, 3, "policy");
	tw_audit_close(&a);
	assert_int_equal(tw_audit_open(&a, logp, &o), 0);
	assert_int_equal(tw_audit_recent_kevents(&a, ids, 4), 0);

	/* The last four, newest included, wherever rotation put them: in
	 * the live file, or in the segment before a live file that holds
	 * only what followed the rotation. */
	for (int k = 0; k < 60; k++) {
		char **v;
		size_t nl;
		bool live_has = false;

		write_kevents(&a, k, 1);
		tw_audit_close(&a);
		v = read_lines(logp, &nl);
		for (size_t i = 0; i < nl; i++)
			live_has |= strstr(v[i], "kernel_ns") != NULL;
		free_lines(v, nl);
		only_rotated += !live_has;
		assert_int_equal(tw_audit_open(&a, logp, &o), 0);
		n = tw_audit_recent_kevents(&a, ids, 4);
		assert_int_equal(n, k < 3 ? k + 1 : 4);
		for (int i = k < 3 ? 0 : k - 3; i <= k; i++)
			assert_true(has_kevent(ids, n, i));
	}
	assert_true(only_rotated > 0);
	tw_audit_close(&a);

	/* A live file larger than the part read: its tail has them. */
	reset();
	o.max_size = 0;
	assert_int_equal(tw_audit_open(&a, logp, &o), 0);
	write_kevents(&a, 0, 600);
	tw_audit_close(&a);
	assert_int_equal(tw_audit_open(&a, logp, &o), 0);
	n = tw_audit_recent_kevents(&a, ids, 4);
	assert_int_equal(n, 4);
	assert_true(has_kevent(ids, n, 599));
	assert_false(has_kevent(ids, n, 590));
	tw_audit_close(&a);
}

/* ---- signed checkpoints ------------------------------------------------ */

/* Rewrite the live log with line SEQ's FROM replaced by TO, every record
 * after re-hashed so that the chain alone still verifies. */
static void rewrite_rehash(int seq, const char *from, const char *to)
{
	char prev[TW_HASH_HEX + 1] = TW_CHAIN_GENESIS, hash[TW_HASH_HEX + 1];
	size_t n, linelen;
	char **v = read_lines(logp, &n), *line;

	for (size_t i = 0; i < n; i++) {
		char *t = v[i], *h = strstr(t, ",\"hash\":\""), *p, buf[8192];

		assert_non_null(h);
		snprintf(buf, sizeof(buf), "%.*s}", (int)(h - t), t);
		if ((int)i + 1 == seq && (p = strstr(buf, from))) {
			char tmp[8192];

			snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)(p - buf),
				 buf, to, p + strlen(from));
			snprintf(buf, sizeof(buf), "%s", tmp);
		}
		p = strstr(buf, "\"prev\":\"");
		assert_non_null(p);
		memcpy(p + 8, prev, TW_HASH_HEX);
		assert_int_equal(tw_chain_seal(buf, strlen(buf), &line, &linelen,
					       hash), 0);
		free(v[i]);
		v[i] = line;
		memcpy(prev, hash, sizeof(prev));
	}
	write_lines(logp, v, n);
	free_lines(v, n);
}

static int verify_with(struct vctx *c, const struct tw_ckpt_key *k)
{
	struct tw_seg *segs = NULL;
	size_t n = 0;
	struct tw_seg_cb cb = { .line = vline, .damaged = vdamaged, .arg = c };

	memset(c, 0, sizeof(*c));
	tw_verify_init(&c->v);
	c->v.key = k;
	assert_int_equal(tw_segs_list(logp, &segs, &n), 0);
	tw_segs_read(segs, n, &cb);
	free(segs);
	return tw_verify_finish(&c->v);
}

static void test_checkpoints_anchor_the_chain(void **state)
{
	struct tw_ckpt_key key, pub, other;
	struct tw_audit_opts o = { .ckpt_records = 5 };
	char kf[600], why[600];
	struct tw_audit a;
	struct vctx c;

	(void)state;
	reset();
	snprintf(kf, sizeof(kf), "%s/key", dir);
	unlink(kf);
	assert_int_equal(tw_ckpt_keygen(kf, &key, why, sizeof(why)), 0);
	strcat(kf, ".pub");
	assert_int_equal(tw_ckpt_load_public(kf, &pub, why, sizeof(why)), 0);
	assert_string_equal(pub.id, key.id);
	snprintf(kf, sizeof(kf), "%s/other", dir);
	unlink(kf);
	assert_int_equal(tw_ckpt_keygen(kf, &other, why, sizeof(why)), 0);

	/* at open, every 5 records, at close: 1 + 12 + 1 + 1 + ... */
	o.key = &key;
	assert_int_equal(tw_audit_open(&a, logp, &o), 0);
	write_n(&a, 12, "deny");
	tw_audit_close(&a);
	assert_int_equal(verify_with(&c, &pub), 0);
	assert_int_equal(c.v.checkpoints, 4); /* open, 5, 10, close */
	assert_int_equal(c.v.after_ckpt, 0);

	/* a restart without the key leaves an unsigned tail, counted */
	assert_int_equal(tw_audit_open(&a, logp, NULL), 0);
	write_n(&a, 3, "deny");
	tw_audit_close(&a);
	assert_int_equal(verify_with(&c, &pub), 0);
	assert_int_equal(c.v.after_ckpt, 3);

	/* another key's checkpoints do not verify */
	assert_int_equal(verify_with(&c, &other), -EBADMSG);
	assert_string_equal(c.v.kind, "forged");

	/* a record altered and the whole file re-hashed: the chain alone
	 * verifies, the checkpoints do not */
	rewrite_rehash(4, "\"i\":2", "\"i\":9");
	assert_int_equal(verify_log(&c), 0);
	assert_int_equal(verify_with(&c, &pub), -EBADMSG);
	assert_string_equal(c.v.kind, "forged");
	assert_non_null(strstr(c.v.error, "does not verify"));

	/* a log with no checkpoint at all proves nothing */
	reset();
	assert_int_equal(tw_audit_open(&a, logp, NULL), 0);
	write_n(&a, 3, "deny");
	tw_audit_close(&a);
	assert_int_equal(verify_with(&c, &pub), -EBADMSG);
	assert_string_equal(c.v.kind, "unsigned");
	tw_ckpt_key_free(&key);
	tw_ckpt_key_free(&pub);
	tw_ckpt_key_free(&other);
}

/* ---- agent bytes in records (record.h) ------------------------------ */

static const struct {
	const char *in;
	size_t len;
	const char *enc;
} enc_cases[] = {
	{ "plain /usr/bin/x", 16, "plain /usr/bin/x" },
	{ "a\\b", 3, "a\\\\b" },		      /* the escape char itself */
	{ "\\x41", 4, "\\\\x41" },		      /* text that looks escaped */
	{ "\xff", 1, "\\xff" },			      /* never valid */
	{ "caf\xc3\xa9", 5, "caf\xc3\xa9" },	      /* valid UTF-8 stays */
	{ "\xc3", 1, "\\xc3" },			      /* a cut sequence */
	{ "\xc0\x80", 2, "\\xc0\\x80" },	      /* overlong NUL */
	{ "\xe0\x80\xaf", 3, "\\xe0\\x80\\xaf" },     /* overlong '/' */
	{ "\xed\xa0\x80", 3, "\\xed\\xa0\\x80" },     /* a surrogate */
	{ "\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80" }, /* > U+10FFFF */
	{ "\xf0\x9f\x99\x82", 4, "\xf0\x9f\x99\x82" }, /* 4 bytes, valid */
	{ "a\0b", 3, "a\\x00b" },		      /* NUL */
	{ "\n\t\x7f", 3, "\n\t\x7f" },		      /* controls are UTF-8 */
	{ "x\x80\\", 3, "x\\x80\\\\" },
};

static void test_bytes_encoding_is_valid_and_reversible(void **state)
{
	unsigned char raw[64], back[64];
	char enc[300], *dump;
	json_t *j;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(enc_cases); i++) {
		size_t n = tw_bytes_encode(enc_cases[i].in, enc_cases[i].len,
					   enc, sizeof(enc));

		assert_string_equal(enc, enc_cases[i].enc);
		assert_int_equal(n, strlen(enc_cases[i].enc));
		assert_int_equal(tw_bytes_decode(enc, back, sizeof(back)),
				 enc_cases[i].len);
		assert_memory_equal(back, enc_cases[i].in, enc_cases[i].len);
		j = tw_json_bytes(enc_cases[i].in, enc_cases[i].len);
		assert_non_null(j);
		dump = json_dumps(j, JSON_ENCODE_ANY);
		assert_non_null(dump);
		free(dump);
		json_decref(j);
	}
	/* every byte string round-trips and always makes a JSON string */
	srand(7);
	for (int t = 0; t < 2000; t++) {
		size_t n = (size_t)(rand() % (int)sizeof(raw));

		for (size_t k = 0; k < n; k++)
			raw[k] = (unsigned char)(t & 1 ? rand() : "\\\xc3\xa9\x80" "a"[rand() % 5]);
		tw_bytes_encode(raw, n, enc, sizeof(enc));
		assert_true(tw_utf8_valid(enc, strlen(enc)));
		assert_int_equal(tw_bytes_decode(enc, back, sizeof(back)), n);
		assert_memory_equal(back, raw, n);
		j = tw_json_bytes(raw, n);
		assert_non_null(j);
		json_decref(j);
	}
	/* not an encoding */
	assert_int_equal(tw_bytes_decode("a\\qb", back, sizeof(back)), -EINVAL);
	assert_int_equal(tw_bytes_decode("a\\x4", back, sizeof(back)), -EINVAL);
	assert_int_equal(tw_bytes_decode("abc", back, 2), -ENOSPC);
	/* cut short, never inside a character or an escape */
	assert_int_equal(tw_bytes_encode("\xff\xff", 2, enc, 6), 8);
	assert_string_equal(enc, "\\xff");
	assert_int_equal(tw_bytes_encode("a\xc3\xa9", 3, enc, 3), 3);
	assert_string_equal(enc, "a");
	/* a sentence keeps its backslashes, escapes only what is invalid */
	j = tw_json_text("no rule allows C:\\x \xff");
	assert_string_equal(json_string_value(j), "no rule allows C:\\x \\xff");
	json_decref(j);
}

#define VALUE "whs-0123456789abcdef"
#define MARK "[credential warehouse-reader]"

static void redacts(const struct tw_redactor *r, const char *in,
		    const char *want)
{
	size_t n = 0;
	char *out = tw_redact_str(r, in, strlen(in), &n);

	if (!want) {
		if (out)
			fail_msg("'%s' became '%s'", in, out);
		return;
	}
	if (!out)
		fail_msg("'%s' was not redacted", in);
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
	free(out);
}

static void test_redactor_covers_every_form(void **state)
{
	struct tw_redactor r = {};

	(void)state;
	redacts(&r, VALUE, NULL); /* nothing registered */
	assert_int_equal(tw_redact_add(&r, 7, "warehouse-reader", VALUE,
				       strlen(VALUE)), 0);
	assert_int_equal(tw_redact_add(&r, 8, "odd", "k\\\xffz-secret", 11),
			 0);
	assert_int_equal(tw_redact_add(&r, 8, "x", "", 0), -EINVAL);
	/* anywhere in a string, as often as it comes */
	redacts(&r, "--token=" VALUE, "--token=" MARK);
	redacts(&r, VALUE "/" VALUE, MARK "/" MARK);
	/* a process name: cut to 15 bytes, at the start or after others */
	redacts(&r, "whs-0123456789a", MARK);
	redacts(&r, "ab" "whs-0123456789", "ab" MARK);
	/* the shortest start that counts, and one byte less */
	redacts(&r, "sh whs-0123", "sh " MARK);
	redacts(&r, "sh whs-012", NULL);
	/* a start of it that does not end the string is not cut */
	redacts(&r, "whs-0123456789 more", NULL);
	/* a DNS name: any case, as a label, split across labels */
	redacts(&r, "WHS-0123456789ABCDEF.exfil.example",
		MARK ".exfil.example");
	redacts(&r, "whs-01234.56789abcdef.exfil.example",
		MARK ".exfil.example");
	redacts(&r, "x.whs-0123456", "x." MARK);
	/* a unix socket path, abstract or not */
	redacts(&r, "@" VALUE, "@" MARK);
	redacts(&r, "/tmp/" VALUE ".sock", "/tmp/" MARK ".sock");
	/* a value with bytes that are not UTF-8: raw, and as encoded */
	redacts(&r, "a k\\\xffz-secret b", "a [credential odd] b");
	redacts(&r, "a k\\\\\\xffz-secret b", "a [credential odd] b");
	/* dropped: still redacted until its time is over, then wiped */
	tw_redact_drop(&r, 7, 100);
	tw_redact_expire(&r, 99);
	redacts(&r, VALUE, MARK);
	tw_redact_expire(&r, 100);
	redacts(&r, VALUE, NULL);
	assert_int_equal(r.n, 1);
	tw_redact_free(&r);
	assert_int_equal(r.n, 0);
}

static void test_redact_json_walks_every_string(void **state)
{
	struct tw_redactor r = {};
	json_t *rec;
	char *s;

	(void)state;
	assert_int_equal(tw_redact_add(&r, 1, "warehouse-reader", VALUE,
				       strlen(VALUE)), 0);
	rec = json_pack("{s:s,s:[s,s],s:{s:s,s:[{s:s}]},s:i}", "comm",
			"whs-0123456789a", "argv", "env", "x" VALUE, "socket",
			"path", "@" VALUE, "deep", "domain", VALUE ".zone",
			"pid", 4);
	json_object_set_new(rec, "bad", json_stringn_nocheck("a\xff", 2));
	assert_int_equal(tw_redact_json(&r, rec), 4);
	s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_non_null(s); /* the invalid string no longer stops it */
	assert_null(strstr(s, "0123456"));
	assert_string_equal(
		s, "{\"comm\":\"" MARK "\",\"argv\":[\"env\",\"x" MARK
		   "\"],\"socket\":{\"path\":\"@" MARK
		   "\",\"deep\":[{\"domain\":\"" MARK
		   ".zone\"}]},\"pid\":4,\"bad\":\"a\\\\xff\"}");
	free(s);
	json_decref(rec);
	tw_redact_free(&r);
}

/* Everything grep can find of the value in a file: its first 8 bytes. */
static bool file_has(const char *path, const char *needle)
{
	char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return strstr(buf, needle) != NULL;
}

static void test_writer_redacts_every_record_and_its_syslog_copy(void **state)
{
	struct tw_audit_opts o = {};
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char spec[300], msg[65536];
	struct tw_audit a;
	struct vctx c;
	ssize_t n;
	json_t *rec;
	int fd;
	uint64_t key = 42;

	(void)state;
	reset();
	snprintf(un.sun_path, sizeof(un.sun_path), "%s/sl.sock", dir);
	unlink(un.sun_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	snprintf(spec, sizeof(spec), "unix:%s", un.sun_path);
	o.syslog = spec;
	assert_int_equal(tw_audit_open(&a, logp, &o), 0);
	assert_int_equal(tw_audit_secret_add(&a, 9, "warehouse-reader", VALUE,
					     strlen(VALUE)), 0);
	/* a record of every shape, and one that is not UTF-8 */
	rec = tw_audit_record(&a, "deny", 0);
	json_object_set_new(rec, "comm", json_string("whs-0123456789a"));
	json_object_set_new(rec, "path", json_string("@" VALUE));
	json_object_set_new(rec, "dst", json_string(VALUE ".exfil.example"));
	json_object_set_new(rec, "argv", json_pack("[s,s]", "x", VALUE));
	json_object_set_new(rec, "reason",
			    json_stringn_nocheck("bytes \xff" VALUE, 27));
	assert_int_equal(tw_audit_write(&a, rec), 0);
	n = recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	msg[n] = 0;
	assert_null(strstr(msg, "0123456"));
	assert_non_null(strstr(msg, MARK));
	/* an aggregate written after the call's values were wiped */
	rec = tw_audit_record(&a, "deny", 0);
	json_object_set_new(rec, "path", json_string("/tmp/" VALUE));
	assert_false(tw_audit_aggregate(&a, &key, sizeof(key), tw_audit_now_ns()));
	assert_int_equal(tw_audit_write_first(&a, rec, &key, sizeof(key), 1), 0);
	assert_true(tw_audit_aggregate(&a, &key, sizeof(key), tw_audit_now_ns()));
	tw_audit_secret_drop(&a, 9);
	tw_redact_expire(&a.red, ~0ull);
	assert_int_equal(a.red.n, 0);
	tw_audit_flush(&a, TW_AGG_ALL);
	assert_int_equal(a.failed, 0);
	assert_int_equal(a.written, 3);
	tw_audit_close(&a);
	close(fd);
	unlink(un.sun_path);
	assert_false(file_has(logp, "0123456"));
	assert_true(file_has(logp, "\"comm\":\"" MARK "\""));
	assert_true(file_has(logp, "\"reason\":\"bytes \\\\xff" MARK "\""));
	/* the aggregate's own record (its one repeat) was written last */
	assert_true(file_has(logp, "\"path\":\"/tmp/" MARK "\""));
	assert_int_equal(verify_log(&c), 0);
	assert_int_equal(c.lines, 3);
}


/*
 * A datagram collector that is away: what it missed is counted, said once
 * it takes messages again (one `lost` record, source syslog, the seq
 * range), not while it is away (a lost record it cannot get would be one
 * more to count, every second).
 */
static void test_syslog_datagram_loss_is_one_lost_record(void **state)
{
	struct tw_audit_opts o = {};
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char spec[300], msg[65536];
	struct tw_audit a;
	struct vctx c;
	size_t n;
	char **v;
	json_t *st, *r;
	int fd, lost = 0;

	(void)state;
	reset();
	snprintf(un.sun_path, sizeof(un.sun_path), "%s/away.sock", dir);
	unlink(un.sun_path);
	snprintf(spec, sizeof(spec), "unix:%s", un.sun_path);
	o.syslog = spec;
	assert_int_equal(tw_audit_open(&a, logp, &o), 0);
	write_n(&a, 4, "deny"); /* seq 1-4: nobody listens */
	tw_audit_tick(&a);
	tw_audit_tick(&a);
	st = tw_syslog_status(a.sl);
	assert_int_equal(json_integer_value(json_object_get(st, "lost")), 4);
	assert_true(json_is_false(json_object_get(st, "connected")));
	json_decref(st);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&un, sizeof(un)), 0);
	write_n(&a, 1, "deny"); /* seq 5: it is back */
	tw_audit_tick(&a);
	tw_audit_tick(&a);
	/* the collector got seq 5, then the lost record */
	assert_true(recv(fd, msg, sizeof(msg), MSG_DONTWAIT) > 0);
	assert_true(recv(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT) > 0);
	assert_non_null(strstr(msg, "\"source\":\"syslog\""));
	tw_audit_close(&a);
	close(fd);
	unlink(un.sun_path);
	v = read_lines(logp, &n);
	for (size_t i = 0; i < n; i++) {
		r = json_loads(v[i], 0, NULL);
		if (!strcmp(json_string_value(json_object_get(r, "event")),
			    "lost")) {
			lost++;
			assert_string_equal(
				json_string_value(json_object_get(r, "source")),
				"syslog");
			assert_int_equal(json_integer_value(
						 json_object_get(r, "records")),
					 4);
			assert_int_equal(json_integer_value(json_object_get(
						 r, "first_seq")),
					 1);
			assert_int_equal(json_integer_value(json_object_get(
						 r, "last_seq")),
					 4);
			assert_null(json_object_get(r, "count"));
		}
		json_decref(r);
		free(v[i]);
	}
	free(v);
	assert_int_equal(lost, 1);
	assert_int_equal(verify_log(&c), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_known_answer),
		cmocka_unit_test(test_seal_is_hash_of_canonical_bytes),
		cmocka_unit_test(test_chain_continues_across_restart),
		cmocka_unit_test(test_verify_names_first_tampering),
		cmocka_unit_test(test_rotation_by_size_keeps_chain_and_retention),
		cmocka_unit_test(test_damaged_segment_is_reported_and_reading_goes_on),
		cmocka_unit_test(test_aggregation_counts_exactly),
		cmocka_unit_test(test_aggregation_claim_counts_twins_in_flight),
		cmocka_unit_test(test_unwritable_log_is_counted_then_recorded),
		cmocka_unit_test(test_partial_last_line_is_dropped_at_open),
		cmocka_unit_test(
			test_recent_kernel_events_are_found_after_restart),
		cmocka_unit_test(test_checkpoints_anchor_the_chain),
		cmocka_unit_test(test_bytes_encoding_is_valid_and_reversible),
		cmocka_unit_test(test_redactor_covers_every_form),
		cmocka_unit_test(test_redact_json_walks_every_string),
		cmocka_unit_test(
			test_writer_redacts_every_record_and_its_syslog_copy),
		cmocka_unit_test(test_syslog_datagram_loss_is_one_lost_record),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_learned.c - the resolver's learned-address table (user/daemon/
 * learned.c) and the quotas the compiler gives it: the hash index and the
 * expiry heap against a plain model under thousands of random operations,
 * the quota (all or nothing per answer, expired entries first, no other
 * context touched), a reload's re-judging (revoked names dropped, contexts
 * renumbered, quotas cut to the latest expiries), and the policy field
 * "dns": {"max_learned"} with its default share and its sum check.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compile.h"
#include "explain.h"
#include "learned.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- a sink that records what reaches the "kernel" ------------------------ */

struct sink_log {
	size_t granted, withdrawn;
	struct tw_learn_entry last_withdrawn;
	int fail; /* grant returns this when non-zero */
};

static int rec_grant(void *arg, const struct tw_learn_entry *e)
{
	struct sink_log *s = arg;

	(void)e;
	s->granted++;
	return s->fail;
}

static void rec_withdraw(void *arg, const struct tw_learn_entry *e)
{
	struct sink_log *s = arg;

	s->withdrawn++;
	s->last_withdrawn = *e;
}

static void table_open(struct tw_learned_table *t, struct sink_log *s)
{
	memset(s, 0, sizeof(*s));
	tw_learned_init(t, &(struct tw_learned_sink){ .grant = rec_grant,
						      .withdraw = rec_withdraw,
						      .arg = s });
}

/* The grants NAME earns in X, judged as dns.c does (name rules only). */
static int grants(const struct tw_context *x, const char *name,
		  struct tw_learn_entry out[2], uint32_t ci)
{
	int n = 0;

	memset(out, 0, 2 * sizeof(*out));
	for (size_t i = 0; i < x->nrules && n < 2; i++) {
		const struct tw_rule *r = &x->rules[i];
		struct tw_dest d = { .kind = TW_HOST_NAME, .proto = r->proto };

		if ((r->kind != TW_HOST_NAME && r->kind != TW_HOST_WILDCARD) ||
		    !r->nports)
			continue;
		d.port = r->ports[0].lo;
		snprintf(d.name, sizeof(d.name), "%s", name);
		if (!tw_rule_matches(r, &d))
			continue;
		out[n].ctx = ci;
		out[n].proto = (uint8_t)r->proto;
		out[n].rule = (uint32_t)i;
		out[n].ports[0] = r->ports[0];
		out[n++].nports = 1;
	}
	return n;
}

static struct tw_learn_entry entry(uint32_t ctx, uint32_t a)
{
	struct tw_learn_entry e = { .ctx = ctx, .proto = 6, .family = 4,
				    .nports = 1 };

	e.addr[0] = 198;
	e.addr[1] = (uint8_t)(18 + (a >> 16));
	e.addr[2] = (uint8_t)(a >> 8);
	e.addr[3] = (uint8_t)a;
	e.ports[0].lo = e.ports[0].hi = 443;
	return e;
}

/* Quotas for NCTX contexts of MAX each, as a load would set them. */
static void set_quotas(struct tw_learned_table *t, size_t nctx, uint32_t max)
{
	free(t->quota);
	t->quota = calloc(nctx, sizeof(*t->quota));
	assert_non_null(t->quota);
	t->nquota = nctx;
	for (size_t i = 0; i < nctx; i++)
		t->quota[i].max = max;
}

/* Every entry is found by its key; the heap orders by expiry; the quota
 * counts are exact. */
static void check_invariants(const struct tw_learned_table *t)
{
	size_t used[8] = { 0 };

	for (size_t i = 0; i < t->n; i++) {
		assert_ptr_equal(tw_learned_find(t, &t->v[i].e), &t->v[i]);
		assert_int_equal(t->heap[t->v[i].hpos], i);
		if (i > 0)
			assert_true(t->v[t->heap[(i - 1) / 2]].expires_ns <=
				    t->v[t->heap[i]].expires_ns);
		if (t->v[i].e.ctx < 8)
			used[t->v[i].e.ctx]++;
	}
	for (size_t c = 0; c < t->nquota && c < 8; c++)
		assert_int_equal(t->quota[c].used, used[c]);
}

/* ---- the index and the heap against a model --------------------------------- */

static void test_index_random(void **state)
{
	enum { N = 6000, OPS = 40000 };
	static uint64_t model[3][N]; /* expiry per (ctx, addr); 0: absent */
	struct tw_learned_table t;
	struct sink_log s;
	uint64_t now = 1000;
	unsigned seed = 7;

	(void)state;
	memset(model, 0, sizeof(model));
	table_open(&t, &s);
	set_quotas(&t, 3, N);
	for (int op = 0; op < OPS; op++) {
		uint32_t c = (uint32_t)(rand_r(&seed) % 3);
		uint32_t a = (uint32_t)(rand_r(&seed) % N);
		struct tw_learn_entry e = entry(c, a);

		if (rand_r(&seed) % 50 == 0) { /* time passes */
			now += (uint64_t)(rand_r(&seed) % 40);
			tw_learned_expire(&t, now);
			for (int k = 0; k < 3; k++)
				for (int i = 0; i < N; i++)
					if (model[k][i] && model[k][i] <= now)
						model[k][i] = 0;
			continue;
		}
		uint64_t exp = now + 1 + (uint64_t)(rand_r(&seed) % 200);

		assert_int_equal(tw_learned_add(&t, "x", "n", &e, exp), 0);
		if (exp > model[c][a])
			model[c][a] = exp;
	}
	check_invariants(&t);
	size_t live = 0;

	for (int k = 0; k < 3; k++)
		for (int i = 0; i < N; i++) {
			struct tw_learn_entry e = entry((uint32_t)k, (uint32_t)i);
			const struct tw_learned *l = tw_learned_find(&t, &e);

			live += model[k][i] != 0;
			if (!model[k][i]) {
				assert_null(l);
				continue;
			}
			assert_non_null(l);
			assert_int_equal(l->expires_ns, model[k][i]);
		}
	assert_int_equal(tw_learned_count(&t), live);
	/* Everything goes at the end, in expiry order, and nothing early. */
	tw_learned_expire(&t, now + 1000);
	assert_int_equal(tw_learned_count(&t), 0);
	assert_int_equal(s.withdrawn, t.expired);
	tw_learned_free(&t);
}

/* A longer TTL in a repeated answer keeps the entry past the first one. */
static void test_expiry_extended(void **state)
{
	struct tw_learned_table t;
	struct sink_log s;
	struct tw_learn_entry e = entry(0, 1), f = entry(0, 2);

	(void)state;
	table_open(&t, &s);
	set_quotas(&t, 1, 8);
	assert_int_equal(tw_learned_add(&t, "x", "n", &e, 10), 0);
	assert_int_equal(tw_learned_add(&t, "x", "n", &f, 20), 0);
	assert_int_equal(tw_learned_add(&t, "x", "n", &e, 30), 0);
	assert_int_equal(s.granted, 2); /* the repeat only extends */
	assert_int_equal(tw_learned_expire(&t, 25), 1);
	assert_memory_equal(s.last_withdrawn.addr, f.addr, 16);
	assert_non_null(tw_learned_find(&t, &e));
	tw_learned_free(&t);
}

/* ---- quotas ---------------------------------------------------------------- */

static void test_quota_all_or_nothing(void **state)
{
	struct tw_learned_table t;
	struct sink_log s;
	struct tw_learn_entry ans[2] = { entry(0, 1), entry(0, 2) };
	struct tw_learn_entry more[3] = { entry(0, 2), entry(0, 3), entry(0, 4) };
	struct tw_learn_entry dup[2] = { entry(0, 9), entry(0, 9) };
	struct tw_learn_entry other = entry(1, 4);

	(void)state;
	table_open(&t, &s);
	set_quotas(&t, 2, 3);
	assert_int_equal(tw_learned_admit(&t, ans, 2, 0), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(tw_learned_add(&t, "a", "n", &ans[i], 100), 0);
	/* two new (2 is held already) where one fits: refused whole */
	assert_int_equal(tw_learned_admit(&t, more, 3, 0), -ENOSPC);
	assert_int_equal(t.refused, 1);
	assert_int_equal(tw_learned_count(&t), 2);
	/* what it holds needs no room; duplicates in an answer count once */
	assert_int_equal(tw_learned_admit(&t, ans, 2, 0), 0);
	assert_int_equal(tw_learned_admit(&t, dup, 2, 0), 0);
	assert_int_equal(tw_learned_add(&t, "a", "n", &dup[0], 100), 0);
	assert_int_equal(tw_learned_quota_of(&t, 0).used, 3);
	/* full: a new entry is refused even without admit */
	assert_int_equal(tw_learned_add(&t, "a", "n", &more[2], 100), -ENOSPC);
	/* the other context is untouched */
	assert_int_equal(tw_learned_admit(&t, &other, 1, 0), 0);
	assert_int_equal(tw_learned_add(&t, "b", "n", &other, 100), 0);
	assert_int_equal(tw_learned_quota_of(&t, 1).used, 1);
	assert_int_equal(s.withdrawn, 0);
	check_invariants(&t);
	tw_learned_free(&t);
}

static void test_quota_expired_first(void **state)
{
	struct tw_learned_table t;
	struct sink_log s;
	struct tw_learn_entry a = entry(0, 1), b = entry(0, 2), c = entry(0, 3);
	struct tw_learn_entry o = entry(1, 7);

	(void)state;
	table_open(&t, &s);
	set_quotas(&t, 2, 2);
	assert_int_equal(tw_learned_add(&t, "a", "n", &a, 10), 0);
	assert_int_equal(tw_learned_add(&t, "a", "n", &b, 50), 0);
	assert_int_equal(tw_learned_add(&t, "b", "n", &o, 5), 0);
	/* nothing of context 0 expired at 9: refused, nothing withdrawn
	 * but what had expired anyway (context 1's, at 5) */
	assert_int_equal(tw_learned_admit(&t, &c, 1, 9), -ENOSPC);
	assert_int_equal(tw_learned_count(&t), 2);
	assert_null(tw_learned_find(&t, &o));
	/* at 10, a's expiry makes the room; b stays */
	assert_int_equal(tw_learned_admit(&t, &c, 1, 10), 0);
	assert_null(tw_learned_find(&t, &a));
	assert_non_null(tw_learned_find(&t, &b));
	assert_int_equal(tw_learned_add(&t, "a", "n", &c, 60), 0);
	check_invariants(&t);
	tw_learned_free(&t);
}

/* ---- reloads ----------------------------------------------------------------- */

struct fixture {
	struct tw_policy pol;
	struct tw_diags diags;
	struct tw_compiled c;
};

static int build(struct fixture *f, const char *text)
{
	int err;

	memset(f, 0, sizeof(*f));
	err = tw_policy_parse(&f->pol, "t.json", text, strlen(text), &f->diags);
	if (!err)
		err = tw_policy_link(&f->pol, &f->diags);
	if (!err)
		err = tw_compile(&f->pol, &f->c, &f->diags);
	return err;
}

static void unbuild(struct fixture *f)
{
	tw_compiled_free(&f->c);
	tw_policy_free(&f->pol);
	tw_diags_free(&f->diags);
}

#define WS "{ \"workspace\": \"w\", \"agent\": { \"name\": \"a\", \"user\": \"agent\" }, " \
	   "\"baseline\": [\"b\"], \"dns\": { \"upstream\": [\"192.0.2.53:53\"] } }\n"

static void learn_name(struct tw_learned_table *t, const struct tw_compiled *c,
		       const char *ctx, const char *name, uint32_t a,
		       uint64_t exp)
{
	int ci = tw_compiled_find(c, ctx);
	struct tw_learn_entry g[2];

	assert_true(ci >= 0);
	assert_int_equal(grants(&c->ctx[ci], name, g, (uint32_t)ci), 1);
	g[0].family = 4;
	memcpy(g[0].addr, entry(0, a).addr, 16);
	assert_int_equal(tw_learned_add(t, ctx, name, &g[0], exp), 0);
}

static void reload(struct tw_learned_table *t, const struct tw_compiled *c,
		   uint64_t now, size_t want)
{
	struct tw_learn_entry *out;
	size_t n;

	assert_int_equal(tw_learned_prepare(t, c, grants, now, &out, &n), 0);
	assert_int_equal(n, want);
	for (size_t i = 0; i < n; i++)
		assert_true(out[i].ctx < c->nctx);
	tw_learned_commit(t, NULL);
	assert_int_equal(tw_learned_count(t), want);
	free(out);
}

static void test_reload_rejudges(void **state)
{
	struct fixture a, b;
	struct tw_learned_table t;
	struct sink_log s;

	(void)state;
	assert_int_equal(build(&a, WS "{ \"bundle\": \"b\", \"connect\": "
				      "[\"*.keep.example:443\", \"*.gone.example:443\"] }\n"
				      "{ \"channel\": \"m\", \"workspace\": \"w\" }"),
			 0);
	/* a context sorted first renumbers the others; gone.example revoked */
	assert_int_equal(build(&b, WS "{ \"bundle\": \"b\", \"connect\": "
				      "[\"*.keep.example:8443\"] }\n"
				      "{ \"channel\": \"a\", \"workspace\": \"w\" }\n"
				      "{ \"channel\": \"m\", \"workspace\": \"w\" }"),
			 0);
	table_open(&t, &s);
	reload(&t, &a.c, 0, 0); /* the load: quotas only */
	learn_name(&t, &a.c, "channel:w/m", "x.keep.example", 1, 100);
	learn_name(&t, &a.c, "channel:w/m", "x.gone.example", 2, 100);
	learn_name(&t, &a.c, "workspace:w", "y.keep.example", 3, 100);
	learn_name(&t, &a.c, "workspace:w", "z.keep.example", 4, 5);
	/* at 10: the gone name is revoked, z expired */
	reload(&t, &b.c, 10, 2);
	check_invariants(&t);
	int m = tw_compiled_find(&b.c, "channel:w/m");
	struct tw_learn_entry k = entry((uint32_t)m, 1), g = entry((uint32_t)m, 2);
	const struct tw_learned *l = tw_learned_find(&t, &k);

	assert_non_null(l);
	assert_int_equal(l->e.ports[0].lo, 8443); /* the new rule's ports */
	assert_null(tw_learned_find(&t, &g));
	assert_int_equal(tw_learned_quota_of(&t, (uint32_t)m).used, 1);
	assert_int_equal(t.dropped, 2);
	tw_learned_free(&t);
	unbuild(&a);
	unbuild(&b);
}

static void test_reload_cuts_to_quota(void **state)
{
	struct fixture a, b;
	struct tw_learned_table t;
	struct sink_log s;

	(void)state;
	assert_int_equal(build(&a, WS "{ \"bundle\": \"b\", \"connect\": [\"*.e.example:443\"] }"), 0);
	assert_int_equal(build(&b, "{ \"workspace\": \"w\", \"agent\": { \"name\": \"a\", "
				   "\"user\": \"agent\" }, \"baseline\": [\"b\"], \"dns\": "
				   "{ \"upstream\": [\"192.0.2.53:53\"], \"max_learned\": 2 } }\n"
				   "{ \"bundle\": \"b\", \"connect\": [\"*.e.example:443\"] }"),
			 0);
	table_open(&t, &s);
	reload(&t, &a.c, 0, 0);
	for (uint32_t i = 0; i < 5; i++)
		learn_name(&t, &a.c, "workspace:w", "n.e.example", i, 100 + i);
	reload(&t, &b.c, 0, 2);
	/* the two that expire last stay */
	for (uint32_t i = 0; i < 5; i++) {
		struct tw_learn_entry e = entry(0, i);

		if (i >= 3)
			assert_non_null(tw_learned_find(&t, &e));
		else
			assert_null(tw_learned_find(&t, &e));
	}
	check_invariants(&t);
	tw_learned_free(&t);
	unbuild(&a);
	unbuild(&b);
}

/* A prepared table is dropped by abort: the one in force is untouched. */
static void test_reload_abort(void **state)
{
	struct fixture a;
	struct tw_learned_table t;
	struct sink_log s;
	struct tw_learn_entry *out;
	size_t n;

	(void)state;
	assert_int_equal(build(&a, WS "{ \"bundle\": \"b\", \"connect\": [\"*.e.example:443\"] }"), 0);
	table_open(&t, &s);
	reload(&t, &a.c, 0, 0);
	learn_name(&t, &a.c, "workspace:w", "n.e.example", 1, 100);
	assert_int_equal(tw_learned_prepare(&t, &a.c, grants, 200, &out, &n), 0);
	assert_int_equal(n, 0); /* expired by 200 */
	free(out);
	tw_learned_abort(&t);
	assert_int_equal(tw_learned_count(&t), 1);
	assert_int_equal(tw_learned_quota_of(&t, 0).used, 1);
	tw_learned_free(&t);
	unbuild(&a);
}

/* ---- the policy field --------------------------------------------------------- */

static void test_quota_policy(void **state)
{
	struct fixture f;
	char *text = malloc(64 * 300);
	size_t o;

	(void)state;
	/* the default, an inherited and an own quota */
	assert_int_equal(build(&f, "{ \"workspace\": \"w\", \"agent\": { \"name\": \"a\", "
				   "\"user\": \"agent\" }, \"dns\": { \"upstream\": "
				   "[\"192.0.2.53:53\"], \"max_learned\": 300 } }\n"
				   "{ \"workspace\": \"v\", \"agent\": { \"name\": \"a\", "
				   "\"user\": \"agent\" } }\n"
				   "{ \"channel\": \"c\", \"workspace\": \"w\", \"dns\": "
				   "{ \"max_learned\": 7 } }\n"
				   "{ \"dm\": \"d\", \"workspace\": \"w\" }"),
			 0);
	assert_int_equal(f.c.ctx[tw_compiled_find(&f.c, "workspace:v")].max_learned,
			 TW_LEARNED_DEFAULT);
	assert_int_equal(f.c.ctx[tw_compiled_find(&f.c, "workspace:w")].max_learned, 300);
	assert_int_equal(f.c.ctx[tw_compiled_find(&f.c, "channel:w/c")].max_learned, 7);
	assert_int_equal(f.c.ctx[tw_compiled_find(&f.c, "dm:w/d")].max_learned, 300);
	unbuild(&f);

	/* explicit quotas leave less than the default to the others: an
	 * equal share of the rest */
	o = (size_t)snprintf(text, 64 * 300,
			     "{ \"workspace\": \"w\", \"agent\": { \"name\": \"a\", "
			     "\"user\": \"agent\" }, \"dns\": { \"upstream\": "
			     "[\"192.0.2.53:53\"] } }\n"
			     "{ \"channel\": \"big\", \"workspace\": \"w\", \"dns\": "
			     "{ \"max_learned\": 131000 } }\n");
	for (int i = 0; i < 3; i++)
		o += (size_t)snprintf(text + o, 64 * 300 - o,
				      "{ \"channel\": \"c%d\", \"workspace\": \"w\" }\n", i);
	assert_int_equal(build(&f, text), 0);
	assert_int_equal(f.c.ctx[tw_compiled_find(&f.c, "channel:w/c1")].max_learned,
			 (TW_LEARNED_MAX - 131000) / 4);
	unbuild(&f);

	/* too much: an error naming the context where the sum went over */
	o = (size_t)snprintf(text, 64 * 300,
			     "{ \"workspace\": \"w\", \"agent\": { \"name\": \"a\", "
			     "\"user\": \"agent\" }, \"dns\": { \"upstream\": "
			     "[\"192.0.2.53:53\"], \"max_learned\": 70000 } }\n"
			     "{ \"channel\": \"c\", \"workspace\": \"w\" }\n");
	assert_int_equal(build(&f, text), -EINVAL);
	assert_int_equal(f.diags.n, 1);
	assert_non_null(strstr(f.diags.v[0].msg,
			       "context channel:w/c: \"dns\": {\"max_learned\"}: the "
			       "learned-address quotas of the 2 contexts add up to "
			       "140000"));
	assert_int_equal(f.diags.v[0].loc.line, 2);
	unbuild(&f);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_random),
		cmocka_unit_test(test_expiry_extended),
		cmocka_unit_test(test_quota_all_or_nothing),
		cmocka_unit_test(test_quota_expired_first),
		cmocka_unit_test(test_reload_rejudges),
		cmocka_unit_test(test_reload_cuts_to_quota),
		cmocka_unit_test(test_reload_abort),
		cmocka_unit_test(test_quota_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

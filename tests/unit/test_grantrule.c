/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_grantrule.c - DURATION text, the refusal rules of grants on the
 * reference policy (a grant never breaks the policy's rules), what a grant
 * opens, the grant command of a denial's hint, and the workspace's
 * `max_grant`. Tables of cases with the expected outcome.
 */
#include <errno.h>
#include <stdlib.h>

#include "unit.h"

#include "compile.h"
#include "duration.h"
#include "explain.h"
#include "grantrule.h"

#define REF_POLICY "policy/examples/acme"
#define S TW_NS_PER_S

static const struct {
	const char *text;
	int ret;
	uint64_t ns;
} durations[] = {
	{ "90s", 0, 90 * S },
	{ "15m", 0, 900 * S },
	{ "2h", 0, 7200 * S },
	{ "1h30m", 0, 5400 * S },
	{ "0s", 0, 0 },
	{ "720h", 0, 720 * 3600 * S },
	{ "721h", -ERANGE, 0 },
	{ "99999999999999999999s", -ERANGE, 0 },
	{ "", -EINVAL, 0 },
	{ "15", -EINVAL, 0 },
	{ "15x", -EINVAL, 0 },
	{ "m", -EINVAL, 0 },
	{ "-5m", -EINVAL, 0 },
	{ "5 m", -EINVAL, 0 },
	{ "1.5h", -EINVAL, 0 },
};

static void test_durations(void **state)
{
	(void)state;
	for (size_t i = 0; i < UNIT_ARRAY_SIZE(durations); i++) {
		uint64_t ns = 12345;
		char err[256] = "";
		int ret = tw_parse_duration(durations[i].text, &ns, err,
					    sizeof(err));

		if (ret != durations[i].ret)
			fail_msg("%s: got %d, want %d (%s)", durations[i].text,
				 ret, durations[i].ret, err);
		if (!ret && ns != durations[i].ns)
			fail_msg("%s: got %llu ns", durations[i].text,
				 (unsigned long long)ns);
		if (ret && !err[0])
			fail_msg("%s: refused without a message",
				 durations[i].text);
	}
}

static void test_duration_str(void **state)
{
	static const struct {
		uint64_t ns;
		const char *want;
	} rows[] = {
		{ 0, "0s" },	      { 90 * S, "1m30s" }, { 900 * S, "15m" },
		{ 7200 * S, "2h" },   { 5400 * S, "1h30m" },
		{ 3601 * S, "1h1s" }, { S / 2, "0s" },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < UNIT_ARRAY_SIZE(rows); i++) {
		tw_duration_str(rows[i].ns, buf, sizeof(buf));
		assert_string_equal(buf, rows[i].want);
	}
}

static struct tw_policy pol;
static struct tw_diags diags;
static struct tw_compiled comp;

static int ref_setup(void **state)
{
	(void)state;
	if (tw_policy_load(REF_POLICY, &pol, &diags) ||
	    tw_compile(&pol, &comp, &diags)) {
		unit_diags_dump(&diags);
		return -1;
	}
	return 0;
}

static int ref_teardown(void **state)
{
	(void)state;
	tw_compiled_free(&comp);
	tw_policy_free(&pol);
	tw_diags_free(&diags);
	return 0;
}

static const struct {
	const char *ctx, *bundle, *connect, *dur;
	int ret;
	const char *msg; /* a substring of the refusal */
} asks[] = {
	{ "channel:acme/general", "warehouse-read", NULL, "15m", 0, NULL },
	{ "workspace:acme", "warehouse-read", NULL, "8h", 0, NULL },
	{ "channel:acme/general", NULL, "10.50.1.10:80", "90s", 0, NULL },
	{ "channel:acme/general", NULL, "udp://10.50.0.0/16:53", "1m", 0,
	  NULL },
	{ "dm:acme/alice", "warehouse-read", NULL, "1h", 0, NULL },
	/* refused */
	{ "channel:acme/general", "warehouse-read", NULL, "8h1s", -ERANGE,
	  "at most 8h" },
	{ "channel:acme/general", "warehouse-read", NULL, "0s", -ERANGE,
	  "more than 0s" },
	{ "channel:acme/general", "recruiting", NULL, "5m", -EPERM,
	  "personal" },
	{ "workspace:acme", "recruiting", NULL, "5m", -EPERM, "personal" },
	{ "dm:acme/alice", "recruiting", NULL, "5m", -EINVAL,
	  "holds bundle recruiting already" },
	{ "channel:acme/data-team", "warehouse-read", NULL, "5m", -EINVAL,
	  "holds bundle warehouse-read already" },
	{ "channel:acme/general", "issue-tracker", NULL, "5m", -EINVAL,
	  "holds" },
	{ "channel:acme/general", "nope", NULL, "5m", -ENOENT,
	  "no bundle nope" },
	{ "channel:acme/nope", "warehouse-read", NULL, "5m", -ENOENT,
	  "no context channel:acme/nope" },
	{ "channel:acme/general", NULL, "api.tracker.example:443", "5m",
	  -EINVAL, "give an address" },
	{ "channel:acme/general", NULL, "unix:/run/x.sock", "5m", -EINVAL,
	  "give an address" },
	{ "channel:acme/general", NULL, "10.0.0.1:99999", "5m", -EINVAL,
	  "--connect" },
	{ "channel:acme/general", "warehouse-read", "10.0.0.1:80", "5m",
	  -EINVAL, "one" },
	{ "channel:acme/general", NULL, NULL, "5m", -EINVAL, "one" },
};

static void test_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < UNIT_ARRAY_SIZE(asks); i++) {
		struct tw_grant_ask a = { .context = asks[i].ctx,
					  .bundle = asks[i].bundle,
					  .connect = asks[i].connect };
		char err[512] = "";
		int ctx, b, ret;

		assert_int_equal(tw_parse_duration(asks[i].dur, &a.duration,
						   err, sizeof(err)),
				 0);
		ret = tw_grant_check(&comp, &a, &ctx, &b, err, sizeof(err));
		if (ret != asks[i].ret)
			fail_msg("row %zu (%s %s): got %d, want %d: %s", i,
				 asks[i].ctx, asks[i].bundle ?: asks[i].connect,
				 ret, asks[i].ret, err);
		if (asks[i].msg && !strstr(err, asks[i].msg))
			fail_msg("row %zu: '%s' does not say '%s'", i, err,
				 asks[i].msg);
	}
}

/* A grant opens the bundle's address rules, nothing else. */
static void test_lower(void **state)
{
	struct tw_grant_ask a = { .context = "channel:acme/general",
				  .bundle = "warehouse-read",
				  .duration = 60 * S };
	struct tw_lpm_entry *e = NULL;
	char err[256];
	long n;
	int tcp4 = 0, tcp6 = 0, udp4 = 0;

	(void)state;
	n = tw_grant_lower(&comp, &a, &e, err, sizeof(err));
	/* 10.30.0.0/16:5439, [fd00:30::/32]:5439, udp 10.30.0.53:8125; the
	 * name warehouse.acme.example is not an address */
	assert_int_equal(n, 3);
	for (long i = 0; i < n; i++) {
		assert_int_equal(e[i].nports, 1);
		if (e[i].proto == TW_PROTO_TCP && e[i].family == 4) {
			tcp4++;
			assert_int_equal(e[i].prefixlen, 16);
			assert_int_equal(e[i].ports[0].lo, 5439);
		} else if (e[i].proto == TW_PROTO_TCP) {
			tcp6++;
			assert_int_equal(e[i].prefixlen, 32);
		} else {
			udp4++;
			assert_int_equal(e[i].prefixlen, 32);
			assert_int_equal(e[i].ports[0].lo, 8125);
		}
	}
	assert_true(tcp4 == 1 && tcp6 == 1 && udp4 == 1);
	free(e);

	a.bundle = NULL;
	a.connect = "10.50.1.10:80,443";
	n = tw_grant_lower(&comp, &a, &e, err, sizeof(err));
	assert_int_equal(n, 1);
	assert_int_equal(e[0].prefixlen, 32);
	assert_int_equal(e[0].nports, 2);
	free(e);
}

/* A call that starts during a grant: the context with the granted
 * bundle's credentials, repositories, skills and instructions; the
 * compiled context itself unchanged. */
static void test_context_with(void **state)
{
	int ci = tw_compiled_find(&comp, "channel:acme/general");
	int wh = tw_grant_bundle(comp.pol, "warehouse-read");
	int bundles[] = { wh, -1 };
	const struct tw_context *x;
	struct tw_context g;
	size_t ncreds, nheld, nrules;
	bool cred = false, held = false;
	json_t *ins, *own;

	(void)state;
	assert_true(ci >= 0 && wh >= 0);
	assert_int_equal(tw_grant_bundle(comp.pol, "nope"), -1);
	x = &comp.ctx[ci];
	ncreds = x->ncreds;
	nheld = x->nheld;
	nrules = x->nrules;
	assert_int_equal(tw_context_with(&comp, x, bundles, 2, &g), 0);
	assert_string_equal(g.name, x->name);
	assert_int_equal(g.nheld, nheld + 1);
	assert_int_equal(g.ncreds, ncreds + 1);
	for (size_t i = 0; i < g.ncreds; i++)
		cred |= !strcmp(g.creds[i].cred->name, "warehouse-reader");
	for (size_t i = 0; i < g.nheld; i++)
		held |= g.held[i].bundle == wh && g.held[i].via == TW_GRANT_GRANTED;
	assert_true(cred && held);
	ins = tw_context_instructions_json(&comp, &g);
	own = tw_context_instructions_json(&comp, x);
	assert_int_equal(json_array_size(ins), json_array_size(own) + 1);
	json_decref(ins);
	json_decref(own);
	tw_context_free(&g);
	/* the compiled context is what it was */
	assert_int_equal(x->ncreds, ncreds);
	assert_int_equal(x->nheld, nheld);
	assert_int_equal(x->nrules, nrules);
}

/* A denial's hint: the grant command, only where a grant is allowed. */
static void test_hint(void **state)
{
	struct tw_dest d;
	struct tw_explain ex = {};
	char err[128], hint[1024];
	int gen = tw_compiled_find(&comp, "channel:acme/general");
	int ws = tw_compiled_find(&comp, "workspace:acme");

	(void)state;
	assert_int_equal(tw_dest_parse("10.30.1.10:5439", &d, err, sizeof(err)),
			 0);
	assert_int_equal(tw_explain_dest(&comp, gen, &d, &ex), 0);
	hint[0] = 0;
	tw_grant_hint(&comp, gen, &ex, hint, sizeof(hint));
	assert_string_equal(hint,
			    "for a while: toolwall grant channel:acme/general "
			    "warehouse-read --for 15m --approved-by WHO");
	tw_explain_free(&ex);

	/* recruiting (personal) would allow 10.40.2.2:443: no grant outside
	 * the DM, so no command */
	assert_int_equal(tw_dest_parse("10.40.2.2:443", &d, err, sizeof(err)),
			 0);
	assert_int_equal(tw_explain_dest(&comp, ws, &d, &ex), 0);
	assert_true(ex.nbundles > 0);
	snprintf(hint, sizeof(hint), "bundle recruiting");
	tw_grant_hint(&comp, ws, &ex, hint, sizeof(hint));
	assert_string_equal(hint, "bundle recruiting");
	tw_explain_free(&ex);
}

/* `max_grant` on a workspace: DURATION text, above 0, caps grants. */
static void test_max_grant(void **state)
{
	static const char ok_text[] =
		"{\"workspace\":\"w\",\"agent\":{\"name\":\"a\",\"user\":"
		"\"nobody\"},\"max_grant\":\"30m\"}";
	static const char *const bad[] = { "\"0s\"", "\"soon\"", "30",
					   "\"31d\"" };
	struct tw_policy p = {};
	struct tw_diags dg = {};
	char text[256];

	(void)state;
	assert_int_equal(unit_parse(ok_text, true, &p, &dg), 0);
	assert_int_equal(p.workspaces[0].max_grant, 1800 * S);
	tw_policy_free(&p);
	tw_diags_free(&dg);
	for (size_t i = 0; i < UNIT_ARRAY_SIZE(bad); i++) {
		memset(&p, 0, sizeof(p));
		memset(&dg, 0, sizeof(dg));
		snprintf(text, sizeof(text),
			 "{\"workspace\":\"w\",\"agent\":{\"name\":\"a\","
			 "\"user\":\"nobody\"},\"max_grant\":%s}",
			 bad[i]);
		assert_int_not_equal(unit_parse(text, true, &p, &dg), 0);
		if (!unit_diag_has(&dg, "t.json:1:67: \"max_grant\" must be a "
					"duration")) {
			unit_diags_dump(&dg);
			fail_msg("max_grant %s: no diagnostic", bad[i]);
		}
		tw_policy_free(&p);
		tw_diags_free(&dg);
	}
}

/* The workspace's limit applies: 30m caps the reference policy's grants. */
static void test_limit(void **state)
{
	int gen = tw_compiled_find(&comp, "channel:acme/general");
	struct tw_grant_ask a = { .context = "channel:acme/general",
				  .bundle = "warehouse-read",
				  .duration = 31 * 60 * S };
	struct tw_workspace *ws = &pol.workspaces[comp.ctx[gen].workspace];
	char err[256];
	int x, b;

	(void)state;
	assert_int_equal(tw_grant_limit(&comp, gen), TW_MAX_GRANT_DEFAULT);
	ws->max_grant = 30 * 60 * S;
	assert_int_equal(tw_grant_check(&comp, &a, &x, &b, err, sizeof(err)),
			 -ERANGE);
	assert_non_null(strstr(err, "at most 30m"));
	a.duration = 30 * 60 * S;
	assert_int_equal(tw_grant_check(&comp, &a, &x, &b, err, sizeof(err)),
			 0);
	ws->max_grant = 0;
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_duration_str),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_lower),
		cmocka_unit_test(test_context_with),
		cmocka_unit_test(test_hint),
		cmocka_unit_test(test_max_grant),
		cmocka_unit_test(test_limit),
	};

	return cmocka_run_group_tests_name("grantrule", t, ref_setup,
					   ref_teardown);
}

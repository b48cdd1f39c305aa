/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_compile.c - the compiler: IPv4-embedding folds, rule merging and
 * attribution, the contexts of the reference policy and their grants, the
 * policy revision, the LPM lowering and the limits. Tables of cases with
 * the expected outcome; every row is a test case of its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "compile.h"
#include "policy.h"

#define REF_POLICY "policy/examples/acme"

/* "Well under a second"; sanitizers slow everything down several times. */
#if defined(__SANITIZE_ADDRESS__)
#define LPM_100K_MAX_SECS 2.0
#else
#define LPM_100K_MAX_SECS 0.5
#endif
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------ */

struct fixture {
	struct tw_policy pol;
	struct tw_diags diags;
	struct tw_compiled c;
};

static void dump_diags(const struct tw_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		print_error("%s:%d:%d: %s\n",
			    d->v[i].loc.file ? d->v[i].loc.file : "?",
			    d->v[i].loc.line, d->v[i].loc.col, d->v[i].msg);
}

/* Parse DOCS (one "file" each, in this order), link, compile. */
static int build_docs(struct fixture *f, const char *const *docs, size_t n)
{
	char file[32];
	int err = 0;

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n && !err; i++) {
		snprintf(file, sizeof(file), "doc%zu.json", i);
		err = tw_policy_parse(&f->pol, file, docs[i], strlen(docs[i]),
				      &f->diags);
	}
	if (!err)
		err = tw_policy_link(&f->pol, &f->diags);
	if (!err)
		err = tw_compile(&f->pol, &f->c, &f->diags);
	return err;
}

static void build_ok(struct fixture *f, const char *const *docs, size_t n)
{
	int err = build_docs(f, docs, n);

	if (err)
		dump_diags(&f->diags);
	assert_int_equal(err, 0);
}

static void build_ref(struct fixture *f)
{
	int err;

	memset(f, 0, sizeof(*f));
	/* tw_policy_load links too */
	err = tw_policy_load(REF_POLICY, &f->pol, &f->diags);
	if (!err)
		err = tw_compile(&f->pol, &f->c, &f->diags);
	if (err)
		dump_diags(&f->diags);
	assert_int_equal(err, 0);
}

static void fixture_free(struct fixture *f)
{
	tw_compiled_free(&f->c);
	tw_policy_free(&f->pol);
	tw_diags_free(&f->diags);
}

static const struct tw_context *ctx_of(const struct fixture *f,
				       const char *name)
{
	int i = tw_compiled_find(&f->c, name);

	if (i < 0)
		fail_msg("no context %s", name);
	return &f->c.ctx[i];
}

/* "tcp 10.20.0.0/16 5432 <- a,b" for comparisons. */
static void rule_line(const struct fixture *f, const struct tw_rule *r,
		      char *buf, size_t len)
{
	char host[300], ports[200];
	size_t off;

	tw_rule_host_str(r, host, sizeof(host));
	tw_ports_str(r->ports, r->nports, ports, sizeof(ports));
	off = (size_t)snprintf(buf, len, "%s %s %s <-",
			       r->proto == TW_PROTO_UDP  ? "udp" :
			       r->proto == TW_PROTO_UNIX ? "unix" :
							   "tcp",
			       host, r->kind == TW_HOST_UNIX ? "-" : ports);
	for (size_t i = 0; i < r->nbundles && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					i ? "," : " ",
					f->pol.bundles[r->bundles[i]].name);
}

static void assert_rules(const struct fixture *f, const char *ctx,
			 const char *const *want, size_t n)
{
	const struct tw_context *x = ctx_of(f, ctx);
	char got[512];

	for (size_t i = 0; i < x->nrules; i++) {
		rule_line(f, &x->rules[i], got, sizeof(got));
		if (i >= n)
			fail_msg("%s: unexpected rule %s", ctx, got);
		if (strcmp(got, want[i]))
			fail_msg("%s: rule %zu is '%s', want '%s'", ctx, i, got,
				 want[i]);
	}
	if (x->nrules != n)
		fail_msg("%s: %zu rules, want %zu", ctx, x->nrules, n);
}

#define WS "{\"workspace\":\"w\",\"agent\":{\"name\":\"a\",\"user\":\"agent\"},"

/* ---- tw_fold_v4 --------------------------------------------------------- */

struct fold_case {
	const char *in; /* address text */
	int plen;
	bool folded;
	const char *out; /* expected address text afterwards */
	int out_plen;
};

static const struct fold_case fold_cases[] = {
	/* IPv4-mapped ::ffff:0:0/96 */
	{ "::ffff:10.1.2.3", 128, true, "10.1.2.3", 32 },
	{ "::ffff:10.0.0.0", 104, true, "10.0.0.0", 8 },
	{ "::ffff:0.0.0.0", 96, true, "0.0.0.0", 0 },
	{ "::ffff:0.0.0.0", 95, false, "::ffff:0.0.0.0", 95 },
	/* Every other IPv4-embedding form is another IPv6 host: no fold */
	{ "::10.1.2.3", 128, false, "::10.1.2.3", 128 },
	{ "::", 128, false, "::", 128 },
	{ "::1", 128, false, "::1", 128 },
	{ "::10.20.0.0", 112, false, "::10.20.0.0", 112 },
	{ "64:ff9b::10.1.2.3", 128, false, "64:ff9b::10.1.2.3", 128 },
	{ "64:ff9b::", 96, false, "64:ff9b::", 96 },
	{ "2002:a01:203::", 48, false, "2002:a01:203::", 48 },
	{ "2002:a01:203:4::1", 128, false, "2002:a01:203:4::1", 128 },
	{ "2002::", 16, false, "2002::", 16 },
	{ "2001:0:4136:e378:8000:63bf:3fff:fdd2", 128, false,
	  "2001:0:4136:e378:8000:63bf:3fff:fdd2", 128 }, /* Teredo */
	/* not embedding */
	{ "2001:db8::", 32, false, "2001:db8::", 32 },
	{ "fd00:30::", 32, false, "fd00:30::", 32 },
	{ "::ffff:0:0:0", 128, false, "::ffff:0:0:0", 128 },
	{ "10.1.2.3", 32, false, "10.1.2.3", 32 },
};

static void test_fold(void **state)
{
	const struct fold_case *tc = *state;
	bool v4 = !strchr(tc->in, ':');
	int family = v4 ? 4 : 6, plen = tc->plen;
	uint8_t addr[16] = { 0 }, want[16] = { 0 };
	bool want_v4 = !strchr(tc->out, ':');

	assert_int_equal(inet_pton(v4 ? AF_INET : AF_INET6, tc->in, addr), 1);
	assert_int_equal(inet_pton(want_v4 ? AF_INET : AF_INET6, tc->out,
				   want), 1);
	assert_int_equal(tw_fold_v4(&family, addr, &plen), tc->folded);
	assert_int_equal(family, want_v4 ? 4 : 6);
	assert_int_equal(plen, tc->out_plen);
	assert_memory_equal(addr, want, 16);
}

/* ---- rule merging, on small policies ------------------------------------ */

struct merge_case {
	const char *name;
	const char *bundles; /* bundle objects, comma-joined */
	const char *baseline; /* JSON array */
	const char *want[6];
};

static const struct merge_case merge_cases[] = {
	{ "port sets of one bundle merge",
	  "{\"bundle\":\"a\",\"connect\":[\"10.0.0.0/8:443\",\"10.0.0.0/8:80\","
	  "\"10.0.0.0/8:444\",\"10.0.0.0/8:8000-8100\",\"10.0.0.0/8:8050-8200\"]}",
	  "[\"a\"]",
	  { "tcp 10.0.0.0/8 80,443-444,8000-8200 <- a" } },
	{ "identical grants keep both bundles",
	  "{\"bundle\":\"a\",\"connect\":[\"10.0.0.0/8:443\"]},"
	  "{\"bundle\":\"b\",\"connect\":[\"10.0.0.0/8:443\"]}",
	  "[\"a\",\"b\"]",
	  { "tcp 10.0.0.0/8 443 <- a,b" } },
	{ "different bundles, different ports stay apart",
	  "{\"bundle\":\"a\",\"connect\":[\"10.0.0.0/8:443\"]},"
	  "{\"bundle\":\"b\",\"connect\":[\"10.0.0.0/8:80\"]}",
	  "[\"a\",\"b\"]",
	  { "tcp 10.0.0.0/8 80 <- b", "tcp 10.0.0.0/8 443 <- a" } },
	{ "merged ports become identical to another grant",
	  "{\"bundle\":\"a\",\"connect\":[\"h.example:80\",\"h.example:443\"]},"
	  "{\"bundle\":\"b\",\"connect\":[\"h.example:80,443\"]}",
	  "[\"a\",\"b\"]",
	  { "tcp h.example 80,443 <- a,b" } },
	{ "mapped forms fold onto the IPv4 rule, NAT64 stays IPv6",
	  "{\"bundle\":\"a\",\"connect\":[\"[::ffff:10.0.0.0/104]:443\"]},"
	  "{\"bundle\":\"b\",\"connect\":[\"10.0.0.0/8:443\","
	  "\"[64:ff9b::10.9.9.9]:443\"]}",
	  "[\"a\",\"b\"]",
	  { "tcp 10.0.0.0/8 443 <- a,b", "tcp 64:ff9b::a09:909/128 443 <- b" } },
	{ "6to4 and ::1 stay IPv6",
	  "{\"bundle\":\"a\",\"connect\":[\"[2002:a01:203:4::/64]:22\","
	  "\"[::1]:22\"]}",
	  "[\"a\"]",
	  { "tcp ::1/128 22 <- a", "tcp 2002:a01:203:4::/64 22 <- a" } },
	{ "order: unix, IPv4, IPv6, names; protocols apart",
	  "{\"bundle\":\"a\",\"connect\":[\"b.example:443\",\"*.a.example\","
	  "\"[fd00::/16]:53\",\"udp://10.0.0.1:53\",\"10.0.0.1:53\","
	  "\"unix:/run/x.sock\"]}",
	  "[\"a\"]",
	  { "unix /run/x.sock - <- a", "tcp 10.0.0.1/32 53 <- a",
	    "udp 10.0.0.1/32 53 <- a", "tcp fd00::/16 53 <- a",
	    "tcp *.a.example any <- a", "tcp b.example 443 <- a" } },
	{ "a name and its wildcard stay apart",
	  "{\"bundle\":\"a\",\"connect\":[\"*.x.example:443\",\"X.Example.:443\"]}",
	  "[\"a\"]",
	  { "tcp x.example 443 <- a", "tcp *.x.example 443 <- a" } },
};

static void test_merge(void **state)
{
	const struct merge_case *tc = *state;
	char ws[512], *bundles;
	const char *docs[2];
	struct fixture f;
	size_t n = 0;

	snprintf(ws, sizeof(ws), WS "\"baseline\":%s}", tc->baseline);
	assert_true(asprintf(&bundles, "[%s]", tc->bundles) > 0);
	docs[0] = ws;
	docs[1] = bundles;
	build_ok(&f, docs, 2);
	while (n < ARRAY_SIZE(tc->want) && tc->want[n])
		n++;
	assert_rules(&f, "workspace:w", tc->want, n);
	fixture_free(&f);
	free(bundles);
}

/* ---- listen grants ------------------------------------------------------ */

static void test_listen(void **state)
{
	static const char *const docs[] = {
		WS "\"baseline\":[\"a\",\"b\"]}",
		"[{\"bundle\":\"a\",\"listen\":[\"10.0.0.5:8080\","
		"\"udp://0.0.0.0:5353\",\"[::ffff:10.0.0.0/104]:9000\"]},"
		"{\"bundle\":\"b\",\"listen\":[\"10.0.0.5:8080\","
		"\"[::]:7000-7001\"],\"connect\":[\"10.0.0.0/8:443\"]}]",
	};
	static const char *const want[] = {
		"udp 0.0.0.0/32 5353 <- a", "tcp 10.0.0.0/8 9000 <- a",
		"tcp 10.0.0.5/32 8080 <- a,b", "tcp ::/128 7000-7001 <- b",
	};
	const struct tw_context *x;
	struct tw_lpm_entry *ents = NULL;
	struct fixture f;
	char got[512], err[128];
	long n;

	(void)state;
	build_ok(&f, docs, 2);
	x = ctx_of(&f, "workspace:w");
	assert_int_equal(x->nlisten, ARRAY_SIZE(want));
	for (size_t i = 0; i < x->nlisten; i++) {
		rule_line(&f, &x->listen[i], got, sizeof(got));
		assert_string_equal(got, want[i]);
	}
	/* connect rules are apart from listen grants */
	assert_int_equal(x->nrules, 1);
	/* the kernel lowering: the /32 inherits the /8's port 9000 */
	n = tw_lower_listen(x, &ents, err, sizeof(err));
	assert_int_equal(n, 4);
	for (long i = 0; i < n; i++)
		if (ents[i].family == 4 && ents[i].prefixlen == 32 &&
		    ents[i].proto == TW_PROTO_TCP) {
			assert_int_equal(ents[i].nports, 2);
			assert_int_equal(ents[i].ports[0].lo, 8080);
			assert_int_equal(ents[i].ports[1].lo, 9000);
		}
	free(ents);
	fixture_free(&f);
}

/* ---- the reference policy ----------------------------------------------- */

static void test_ref_contexts(void **state)
{
	static const struct {
		const char *name, *cgroup, *run_as;
		enum tw_ctx_kind kind;
		const char *held; /* "bundle/via ..." */
	} want[] = {
		{ "workspace:acme", "acme/workspace", "toolwall-agent",
		  TW_CTX_WORKSPACE, "docs-search/0 issue-tracker/0" },
		{ "channel:acme/data-team", "acme/channels/data-team",
		  "toolwall-agent", TW_CTX_CHANNEL,
		  "docs-search/0 issue-tracker/0 warehouse-read/1" },
		{ "channel:acme/general", "acme/channels/general",
		  "toolwall-agent", TW_CTX_CHANNEL,
		  "docs-search/0 issue-tracker/0" },
		{ "dm:acme/alice", "acme/dms/alice", "toolwall-agent", TW_CTX_DM,
		  "docs-search/0 issue-tracker/0 recruiting/2" },
	};
	struct fixture f;

	(void)state;
	build_ref(&f);
	assert_int_equal(f.c.nctx, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const struct tw_context *x = &f.c.ctx[i];
		char held[256] = "";
		size_t off = 0;

		assert_string_equal(x->name, want[i].name);
		assert_string_equal(x->cgroup, want[i].cgroup);
		assert_string_equal(x->run_as, want[i].run_as);
		assert_int_equal(x->kind, want[i].kind);
		assert_int_equal(x->mode, TW_MODE_ENFORCE);
		assert_int_equal(tw_compiled_find(&f.c, want[i].name), (int)i);
		for (size_t h = 0; h < x->nheld; h++)
			off += (size_t)snprintf(
				held + off, sizeof(held) - off, "%s%s/%d",
				h ? " " : "", f.pol.bundles[x->held[h].bundle].name,
				(int)x->held[h].via);
		assert_string_equal(held, want[i].held);
	}
	assert_int_equal(tw_compiled_find(&f.c, "channel:acme/nope"), -ENOENT);
	assert_int_equal(strlen(f.c.revision), 64);
	fixture_free(&f);
}

#define BASE_UNIX "unix /run/toolwall-demo/tracker.sock - <- issue-tracker"
#define BASE_V4                                              \
	"tcp 10.10.1.0/24 80,443 <- docs-search",            \
		"tcp 10.20.0.0/16 5432 <- issue-tracker",    \
		"tcp 10.20.1.10/32 8000-8999 <- issue-tracker", \
		"udp 10.20.1.10/32 123 <- issue-tracker"
#define BASE_V6 "tcp fd00:10:10:1::/64 443 <- docs-search"
#define BASE_NAMES                                      \
	"tcp api.tracker.example 443 <- issue-tracker",    \
		"tcp *.docs-cdn.example 443 <- docs-search", \
		"tcp docs.acme.example 443 <- docs-search"

static void test_ref_rules(void **state)
{
	static const char *const ws[] = { BASE_UNIX, BASE_V4, BASE_V6,
					  BASE_NAMES };
	static const char *const data[] = {
		BASE_UNIX,
		"tcp 10.10.1.0/24 80,443 <- docs-search",
		"tcp 10.20.0.0/16 5432 <- issue-tracker",
		"tcp 10.20.1.10/32 8000-8999 <- issue-tracker",
		"udp 10.20.1.10/32 123 <- issue-tracker",
		"tcp 10.30.0.0/16 5439 <- warehouse-read",
		"udp 10.30.0.53/32 8125 <- warehouse-read",
		BASE_V6,
		"tcp fd00:30::/32 5439 <- warehouse-read",
		BASE_NAMES,
		"tcp warehouse.acme.example 5439 <- warehouse-read",
	};
	static const char *const alice[] = {
		BASE_UNIX,
		"tcp 10.10.1.0/24 80,443 <- docs-search",
		"tcp 10.20.0.0/16 5432 <- issue-tracker",
		"tcp 10.20.1.10/32 8000-8999 <- issue-tracker",
		"udp 10.20.1.10/32 123 <- issue-tracker",
		"tcp 10.40.0.0/16 443 <- recruiting",
		BASE_V6,
		"tcp api.tracker.example 443 <- issue-tracker",
		"tcp ats.recruiting.example 443 <- recruiting",
		"tcp *.docs-cdn.example 443 <- docs-search",
		"tcp docs.acme.example 443 <- docs-search",
	};
	struct fixture f;

	(void)state;
	build_ref(&f);
	assert_rules(&f, "workspace:acme", ws, ARRAY_SIZE(ws));
	assert_rules(&f, "channel:acme/general", ws, ARRAY_SIZE(ws));
	assert_rules(&f, "channel:acme/data-team", data, ARRAY_SIZE(data));
	assert_rules(&f, "dm:acme/alice", alice, ARRAY_SIZE(alice));
	fixture_free(&f);
}

struct grant_case {
	const char *ctx;
	const char *creds;  /* "name:scope:env:source:bundle ..." */
	const char *repos;  /* "path:access:bundle ..." */
	const char *skills; /* "path:bundle ..." */
};

#define TRACKER_CRED                                                      \
	"tracker-agent:write:TRACKER_TOKEN:/etc/toolwall/credentials/tracker-agent:issue-tracker"
#define REF_REPOS "/srv/git/ops:read:issue-tracker"
#define REF_SKILLS                                                        \
	"/opt/skills/tracker-cli:issue-tracker /usr/bin/curl:docs-search " \
	"/usr/bin/git:issue-tracker"

static const struct grant_case grant_cases[] = {
	{ "workspace:acme", TRACKER_CRED, REF_REPOS, REF_SKILLS },
	{ "channel:acme/general", TRACKER_CRED, REF_REPOS, REF_SKILLS },
	{ "channel:acme/data-team",
	  TRACKER_CRED " warehouse-reader:read:WAREHOUSE_TOKEN:"
		       "/etc/toolwall/credentials/warehouse-reader:warehouse-read",
	  REF_REPOS, REF_SKILLS },
	{ "dm:acme/alice",
	  TRACKER_CRED " ats-token:read:ATS_TOKEN:"
		       "/home/alice/.config/toolwall/credentials/ats-token:recruiting",
	  REF_REPOS, REF_SKILLS },
};

static void test_ref_grants(void **state)
{
	const struct grant_case *tc = *state;
	const struct tw_context *x;
	char buf[2048];
	struct fixture f;
	size_t off = 0;

	build_ref(&f);
	x = ctx_of(&f, tc->ctx);
	for (size_t i = 0; i < x->ncreds; i++) {
		const struct tw_cred_grant *g = &x->creds[i];

		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
					"%s%s:%s:%s:%s:%s", i ? " " : "",
					g->cred->name,
					g->cred->scope == TW_SCOPE_WRITE ? "write" :
									   "read",
					g->cred->env ? g->cred->env : "-",
					g->source ? g->source : "-",
					f.pol.bundles[g->bundle].name);
	}
	buf[off] = '\0';
	assert_string_equal(buf, tc->creds);
	off = 0;
	for (size_t i = 0; i < x->nrepos; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
					"%s%s:%s:%s", i ? " " : "",
					x->repos[i].repo->path,
					x->repos[i].access == TW_ACCESS_WRITE ?
						"write" :
						"read",
					f.pol.bundles[x->repos[i].bundle].name);
	buf[off] = '\0';
	assert_string_equal(buf, tc->repos);
	off = 0;
	for (size_t i = 0; i < x->nskills; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s:%s",
					i ? " " : "", x->skills[i].path,
					f.pol.bundles[x->skills[i].bundle].name);
	buf[off] = '\0';
	assert_string_equal(buf, tc->skills);
	fixture_free(&f);
}

/* ---- grants, modes, identities on small policies ------------------------ */

static void test_repo_strongest_and_skill_dedup(void **state)
{
	static const char *const docs[] = {
		WS "\"baseline\":[\"r\",\"w\"]}",
		"[{\"bundle\":\"r\",\"repositories\":[{\"path\":\"/srv/git/a\","
		"\"access\":\"read\"},{\"path\":\"/srv/git/b\",\"access\":\"read\"}],"
		"\"skills\":[\"/usr/bin/git\",\"/usr/bin/jq\"]},"
		"{\"bundle\":\"w\",\"repositories\":[{\"path\":\"/srv/git/a\","
		"\"access\":\"write\"}],\"skills\":[\"/usr/bin/git\"]}]",
	};
	const struct tw_context *x;
	struct fixture f;

	(void)state;
	build_ok(&f, docs, ARRAY_SIZE(docs));
	x = ctx_of(&f, "workspace:w");
	assert_int_equal(x->nrepos, 2);
	assert_string_equal(x->repos[0].repo->path, "/srv/git/a");
	assert_int_equal(x->repos[0].access, TW_ACCESS_WRITE);
	assert_string_equal(f.pol.bundles[x->repos[0].bundle].name, "w");
	assert_string_equal(x->repos[1].repo->path, "/srv/git/b");
	assert_int_equal(x->repos[1].access, TW_ACCESS_READ);
	assert_int_equal(x->nskills, 2);
	assert_string_equal(x->skills[0].path, "/usr/bin/git");
	assert_string_equal(x->skills[1].path, "/usr/bin/jq");
	fixture_free(&f);
}

static void test_modes_and_run_as(void **state)
{
	static const char *const docs[] = {
		WS "\"baseline\":[],\"mode\":\"audit\"}",
		"{\"channel\":\"loud\",\"workspace\":\"w\",\"mode\":\"enforce\"}",
		"{\"channel\":\"quiet\",\"workspace\":\"w\"}",
		"{\"dm\":\"bob\",\"workspace\":\"w\",\"run_as\":\"bob\","
		"\"credentials_dir\":\"/home/bob/creds\"}",
	};
	struct fixture f;

	(void)state;
	build_ok(&f, docs, ARRAY_SIZE(docs));
	assert_int_equal(f.c.nctx, 4);
	assert_string_equal(f.c.ctx[1].name, "channel:w/loud");
	assert_string_equal(f.c.ctx[2].name, "channel:w/quiet");
	assert_int_equal(ctx_of(&f, "workspace:w")->mode, TW_MODE_AUDIT);
	assert_int_equal(ctx_of(&f, "channel:w/loud")->mode, TW_MODE_ENFORCE);
	assert_int_equal(ctx_of(&f, "channel:w/quiet")->mode, TW_MODE_AUDIT);
	assert_int_equal(ctx_of(&f, "dm:w/bob")->mode, TW_MODE_AUDIT);
	assert_string_equal(ctx_of(&f, "dm:w/bob")->run_as, "bob");
	assert_string_equal(ctx_of(&f, "channel:w/quiet")->run_as, "agent");
	/* no baseline: nothing at all (default deny) */
	assert_int_equal(ctx_of(&f, "workspace:w")->nrules, 0);
	fixture_free(&f);
}

/* Limits: per key, the channel/DM's own, else the workspace's, else the
 * defaults; a change of limits is a new revision. */
static void test_limits_inherit(void **state)
{
	static const char *const docs[] = {
		WS "\"baseline\":[],\"limits\":{\"pids\":64}}",
		"{\"channel\":\"big\",\"workspace\":\"w\","
		"\"limits\":{\"memory\":\"4G\"}}",
		"{\"channel\":\"plain\",\"workspace\":\"w\"}",
		"{\"dm\":\"bob\",\"workspace\":\"w\",\"credentials_dir\":\"/c\","
		"\"limits\":{\"pids\":8,\"memory\":33554432}}",
		"{\"workspace\":\"v\",\"agent\":{\"name\":\"x\",\"user\":\"u\"}}",
	};
	static const struct {
		const char *ctx;
		uint64_t pids, memory;
	} want[] = {
		{ "workspace:w", 64, TW_LIMIT_MEMORY_DEFAULT },
		{ "channel:w/big", 64, 4ULL << 30 },
		{ "channel:w/plain", 64, TW_LIMIT_MEMORY_DEFAULT },
		{ "dm:w/bob", 8, 32ULL << 20 },
		{ "workspace:v", TW_LIMIT_PIDS_DEFAULT, TW_LIMIT_MEMORY_DEFAULT },
	};
	static const char *const other[] = {
		WS "\"baseline\":[],\"limits\":{\"pids\":65}}",
		"{\"channel\":\"big\",\"workspace\":\"w\","
		"\"limits\":{\"memory\":\"4G\"}}",
		"{\"channel\":\"plain\",\"workspace\":\"w\"}",
		"{\"dm\":\"bob\",\"workspace\":\"w\",\"credentials_dir\":\"/c\","
		"\"limits\":{\"pids\":8,\"memory\":33554432}}",
		"{\"workspace\":\"v\",\"agent\":{\"name\":\"x\",\"user\":\"u\"}}",
	};
	struct fixture f, g;

	(void)state;
	build_ok(&f, docs, ARRAY_SIZE(docs));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const struct tw_context *x = ctx_of(&f, want[i].ctx);

		assert_int_equal(x->limits.pids, want[i].pids);
		assert_int_equal(x->limits.memory, want[i].memory);
	}
	build_ok(&g, other, ARRAY_SIZE(other));
	assert_string_not_equal(f.c.revision, g.c.revision);
	fixture_free(&g);
	fixture_free(&f);
}

static void test_size_text(void **state)
{
	static const struct {
		const char *in;
		int err;
		uint64_t bytes;
		const char *back;
	} t[] = {
		{ "512M", 0, 512ULL << 20, "512M" },
		{ "2G", 0, 2ULL << 30, "2G" },
		{ "2g", 0, 2ULL << 30, "2G" },
		{ "1536MiB", 0, 1536ULL << 20, "1536M" },
		{ "64KB", 0, 64ULL << 10, "64K" },
		{ "1048577", 0, 1048577, "1048577" },
		{ "1P", 0, 1ULL << 50, "1P" },
		{ "", -EINVAL, 0, NULL },
		{ "M", -EINVAL, 0, NULL },
		{ "-1M", -EINVAL, 0, NULL },
		{ "1.5G", -EINVAL, 0, NULL },
		{ "12 M", -EINVAL, 0, NULL },
		{ "5Q", -EINVAL, 0, NULL },
		{ "99999999999999999999", -ERANGE, 0, NULL },
		{ "99999999999T", -ERANGE, 0, NULL },
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		uint64_t v = 0;
		int err = tw_parse_size(t[i].in, &v);

		if (err != t[i].err)
			fail_msg("%s: got %d, want %d", t[i].in, err, t[i].err);
		if (err)
			continue;
		assert_int_equal(v, t[i].bytes);
		tw_size_str(v, buf, sizeof(buf));
		assert_string_equal(buf, t[i].back);
	}
}

/* "background": the channel's or DM's own, else the workspace's, else off;
 * in the revision only where it is on. */
static void test_background(void **state)
{
	static const char *const docs[] = {
		WS "\"baseline\":[],\"background\":true}",
		"{\"channel\":\"fg\",\"workspace\":\"w\",\"background\":false}",
		"{\"channel\":\"inherit\",\"workspace\":\"w\"}",
		"{\"dm\":\"bob\",\"workspace\":\"w\","
		"\"credentials_dir\":\"/c\",\"background\":false}",
	};
	static const char *const plain[] = {
		WS "\"baseline\":[]}",
		"{\"channel\":\"bg\",\"workspace\":\"w\",\"background\":true}",
		"{\"channel\":\"fg\",\"workspace\":\"w\"}",
	};
	static const char *const off[] = {
		WS "\"baseline\":[],\"background\":false}",
		"{\"channel\":\"bg\",\"workspace\":\"w\"}",
		"{\"channel\":\"fg\",\"workspace\":\"w\"}",
	};
	static const char *const none[] = {
		WS "\"baseline\":[]}",
		"{\"channel\":\"bg\",\"workspace\":\"w\"}",
		"{\"channel\":\"fg\",\"workspace\":\"w\"}",
	};
	struct fixture f, g;

	(void)state;
	build_ok(&f, docs, ARRAY_SIZE(docs));
	assert_true(ctx_of(&f, "workspace:w")->background);
	assert_false(ctx_of(&f, "channel:w/fg")->background);
	assert_true(ctx_of(&f, "channel:w/inherit")->background);
	assert_false(ctx_of(&f, "dm:w/bob")->background);
	fixture_free(&f);

	build_ok(&f, plain, ARRAY_SIZE(plain));
	assert_false(ctx_of(&f, "workspace:w")->background);
	assert_true(ctx_of(&f, "channel:w/bg")->background);
	assert_false(ctx_of(&f, "channel:w/fg")->background);
	/* an explicit false is the default: the same revision */
	build_ok(&g, off, ARRAY_SIZE(off));
	assert_string_not_equal(f.c.revision, g.c.revision);
	fixture_free(&g);
	build_ok(&g, none, ARRAY_SIZE(none));
	fixture_free(&f);
	build_ok(&f, off, ARRAY_SIZE(off));
	assert_string_equal(f.c.revision, g.c.revision);
	fixture_free(&f);
	fixture_free(&g);
}

static void test_context_order(void **state)
{
	static const char *const docs[] = {
		"{\"channel\":\"zeta\",\"workspace\":\"b\"}",
		"{\"dm\":\"al\",\"workspace\":\"a\",\"credentials_dir\":\"/c\"}",
		"{\"channel\":\"alpha\",\"workspace\":\"b\"}",
		"{\"workspace\":\"b\",\"agent\":{\"name\":\"x\",\"user\":\"u\"}}",
		"{\"channel\":\"mid\",\"workspace\":\"a\"}",
		"{\"workspace\":\"a\",\"agent\":{\"name\":\"x\",\"user\":\"u\"}}",
	};
	static const char *const want[] = {
		"workspace:a",	   "workspace:b", "channel:a/mid",
		"channel:b/alpha", "channel:b/zeta", "dm:a/al",
	};
	struct fixture f;

	(void)state;
	build_ok(&f, docs, ARRAY_SIZE(docs));
	assert_int_equal(f.c.nctx, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_string_equal(f.c.ctx[i].name, want[i]);
	fixture_free(&f);
}

/* ---- revision ----------------------------------------------------------- */

static const char *const rev_objs[] = {
	WS "\"baseline\":[\"a\",\"b\"],\"dns\":{\"upstream\":[\"192.0.2.53:53\"]}}",
	"{\"bundle\":\"a\",\"connect\":[\"10.0.0.0/8:443\",\"x.example:443\"],"
	"\"skills\":[\"/usr/bin/git\",\"/usr/bin/jq\"],\"instructions\":\"hi\"}",
	"{\"bundle\":\"b\",\"connect\":[\"udp://10.0.0.1:53\"]}",
	"{\"channel\":\"c\",\"workspace\":\"w\",\"step_up\":[\"b\"]}",
};

/* The same objects and lists in another order, keys in another order. */
static const char *const rev_shuffled[] = {
	"{\"step_up\":[\"b\"],\"workspace\":\"w\",\"channel\":\"c\"}",
	"[{\"connect\":[\"udp://10.0.0.1:53\"],\"bundle\":\"b\"},"
	"{\"instructions\":\"hi\",\"bundle\":\"a\",\"skills\":[\"/usr/bin/jq\","
	"\"/usr/bin/git\"],\"connect\":[\"x.example:443\",\"10.0.0.0/8:443\"]}]",
	"{\"workspace\":\"w\",\"baseline\":[\"b\",\"a\"],\"agent\":{\"user\":"
	"\"agent\",\"name\":\"a\"},\"dns\":{\"upstream\":[\"192.0.2.53:53\"]}}",
};

struct rev_case {
	const char *name;
	int obj;	     /* which of rev_objs to replace */
	const char *changed; /* by this */
};

static const struct rev_case rev_cases[] = {
	{ "another port", 2, "{\"bundle\":\"b\",\"connect\":[\"udp://10.0.0.1:54\"]}" },
	{ "another protocol", 2, "{\"bundle\":\"b\",\"connect\":[\"10.0.0.1:53\"]}" },
	{ "another instruction", 1,
	  "{\"bundle\":\"a\",\"connect\":[\"10.0.0.0/8:443\",\"x.example:443\"],"
	  "\"skills\":[\"/usr/bin/git\",\"/usr/bin/jq\"],\"instructions\":\"ho\"}" },
	{ "a bundle moved to step-up", 0,
	  WS "\"baseline\":[\"a\"],\"dns\":{\"upstream\":[\"192.0.2.53:53\"]}}" },
	{ "audit mode", 0,
	  WS "\"baseline\":[\"a\",\"b\"],\"mode\":\"audit\",\"dns\":{\"upstream\":"
	     "[\"192.0.2.53:53\"]}}" },
};

static void revision_of(const char *const *docs, size_t n, char out[65])
{
	struct fixture f;

	build_ok(&f, docs, n);
	memcpy(out, f.c.revision, 65);
	fixture_free(&f);
}

static void test_revision_stable(void **state)
{
	char a[65], b[65];

	(void)state;
	revision_of(rev_objs, ARRAY_SIZE(rev_objs), a);
	revision_of(rev_shuffled, ARRAY_SIZE(rev_shuffled), b);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);
	assert_string_equal(a, b);
}

static void test_revision_changes(void **state)
{
	const struct rev_case *tc = *state;
	const char *docs[ARRAY_SIZE(rev_objs)];
	char a[65], b[65];

	memcpy(docs, rev_objs, sizeof(docs));
	docs[tc->obj] = tc->changed;
	revision_of(rev_objs, ARRAY_SIZE(rev_objs), a);
	revision_of(docs, ARRAY_SIZE(docs), b);
	if (!strcmp(a, b))
		fail_msg("%s: revision did not change", tc->name);
}

/* The reference files parsed in reverse order give the same revision. */
static void test_revision_ref_reversed(void **state)
{
	static const char *const files[] = {
		"workspace.json",	     "dms.json",
		"channels.json",	     "bundles/warehouse-read.json",
		"bundles/recruiting.json",   "bundles/issue-tracker.json",
		"bundles/docs-search.json",
	};
	const char *docs[ARRAY_SIZE(files)];
	char *text[ARRAY_SIZE(files)];
	struct fixture f;
	char rev[65];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char path[256];
		FILE *fp;
		long len;

		snprintf(path, sizeof(path), REF_POLICY "/%s", files[i]);
		fp = fopen(path, "r");
		assert_non_null(fp);
		fseek(fp, 0, SEEK_END);
		len = ftell(fp);
		rewind(fp);
		text[i] = calloc(1, (size_t)len + 1);
		assert_non_null(text[i]);
		assert_int_equal(fread(text[i], 1, (size_t)len, fp), (size_t)len);
		fclose(fp);
		docs[i] = text[i];
	}
	revision_of(docs, ARRAY_SIZE(docs), rev);
	build_ref(&f);
	assert_string_equal(f.c.revision, rev);
	fixture_free(&f);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		free(text[i]);
}

/* ---- LPM lowering ------------------------------------------------------- */

/* A context made by hand: RULES as "proto cidr ports". */
struct hand_ctx {
	struct tw_context x;
	struct tw_rule r[8];
	struct tw_port_range p[8][20];
	int bundle[8];
};

static void hand_rule(struct hand_ctx *h, size_t i, enum tw_proto proto,
		      const char *cidr, const char *ports)
{
	struct tw_rule *r = &h->r[i];
	char a[64], *slash;
	struct tw_port_range *pp = NULL;
	size_t np = 0;
	char err[128];

	snprintf(a, sizeof(a), "%s", cidr);
	slash = strchr(a, '/');
	*slash = '\0';
	memset(r, 0, sizeof(*r));
	r->proto = proto;
	r->kind = TW_HOST_CIDR;
	r->family = strchr(a, ':') ? 6 : 4;
	assert_int_equal(inet_pton(r->family == 4 ? AF_INET : AF_INET6, a,
				   r->addr), 1);
	r->prefixlen = atoi(slash + 1);
	assert_int_equal(tw_ports_parse(ports, &pp, &np, err, sizeof(err)), 0);
	assert_true(np <= 20);
	memcpy(h->p[i], pp, np * sizeof(*pp));
	free(pp);
	r->ports = h->p[i];
	r->nports = np;
	r->bundles = &h->bundle[i];
	r->nbundles = 1;
	h->x.rules = h->r;
	h->x.nrules = i + 1;
	h->x.name = "hand";
}

static const struct tw_lpm_entry *lpm_find(const struct tw_lpm_entry *e,
					   long n, enum tw_proto proto,
					   const char *cidr)
{
	char a[64];
	uint8_t addr[16] = { 0 };
	const char *slash = strchr(cidr, '/');
	int fam;

	snprintf(a, sizeof(a), "%.*s", (int)(slash - cidr), cidr);
	fam = strchr(a, ':') ? 6 : 4;
	inet_pton(fam == 4 ? AF_INET : AF_INET6, a, addr);
	for (long i = 0; i < n; i++)
		if (e[i].proto == proto && e[i].family == fam &&
		    e[i].prefixlen == atoi(slash + 1) &&
		    !memcmp(e[i].addr, addr, 16))
			return &e[i];
	fail_msg("no LPM entry for %s", cidr);
	return NULL;
}

static void assert_ports(const struct tw_lpm_entry *e, const char *want)
{
	char got[256];

	tw_ports_str(e->ports, e->nports, got, sizeof(got));
	assert_string_equal(got, want);
}

static void test_lpm_pushdown(void **state)
{
	struct hand_ctx h = { 0 };
	struct tw_lpm_entry *e;
	char err[256];
	long n;

	(void)state;
	hand_rule(&h, 0, TW_PROTO_TCP, "10.0.0.0/8", "443");
	hand_rule(&h, 1, TW_PROTO_TCP, "10.1.0.0/16", "80");
	hand_rule(&h, 2, TW_PROTO_TCP, "10.1.2.0/24", "22");
	hand_rule(&h, 3, TW_PROTO_TCP, "10.2.0.0/16", "8080");
	hand_rule(&h, 4, TW_PROTO_UDP, "10.1.2.3/32", "53");
	hand_rule(&h, 5, TW_PROTO_TCP, "fd00::/8", "1-100");
	hand_rule(&h, 6, TW_PROTO_TCP, "fd00:1::/32", "443");
	n = tw_lower_lpm(&h.x, &e, err, sizeof(err));
	assert_int_equal(n, 7);
	assert_ports(lpm_find(e, n, TW_PROTO_TCP, "10.0.0.0/8"), "443");
	assert_ports(lpm_find(e, n, TW_PROTO_TCP, "10.1.0.0/16"), "80,443");
	assert_ports(lpm_find(e, n, TW_PROTO_TCP, "10.1.2.0/24"), "22,80,443");
	assert_ports(lpm_find(e, n, TW_PROTO_TCP, "10.2.0.0/16"), "443,8080");
	/* other protocol, other family: nothing inherited */
	assert_ports(lpm_find(e, n, TW_PROTO_UDP, "10.1.2.3/32"), "53");
	assert_ports(lpm_find(e, n, TW_PROTO_TCP, "fd00:1::/32"), "1-100,443");
	assert_int_equal(lpm_find(e, n, TW_PROTO_TCP, "10.1.0.0/16")->rule, 1);
	assert_int_equal(lpm_find(e, n, TW_PROTO_TCP, "10.1.2.0/24")->rule, 2);
	free(e);
}

static void test_lpm_same_prefix_one_entry(void **state)
{
	struct hand_ctx h = { 0 };
	struct tw_lpm_entry *e;
	char err[256];
	long n;

	(void)state;
	hand_rule(&h, 0, TW_PROTO_TCP, "10.0.0.0/8", "443");
	hand_rule(&h, 1, TW_PROTO_TCP, "10.0.0.0/8", "80");
	h.bundle[1] = 1;
	n = tw_lower_lpm(&h.x, &e, err, sizeof(err));
	assert_int_equal(n, 1);
	assert_ports(&e[0], "80,443");
	assert_int_equal(e[0].rule, 0);
	free(e);
}

static void test_lpm_e2big(void **state)
{
	struct hand_ctx h = { 0 };
	struct tw_lpm_entry *e = NULL;
	char err[256];
	long n;

	(void)state;
	/* 10 + 7 = 17 ranges only where the /16 inherits from the /8 */
	hand_rule(&h, 0, TW_PROTO_TCP, "10.0.0.0/8",
		  "1,3,5,7,9,11,13,15,17,19");
	hand_rule(&h, 1, TW_PROTO_TCP, "10.1.0.0/16",
		  "101,103,105,107,109,111,113");
	hand_rule(&h, 2, TW_PROTO_TCP, "11.0.0.0/8",
		  "101,103,105,107,109,111,113");
	n = tw_lower_lpm(&h.x, &e, err, sizeof(err));
	assert_int_equal(n, -E2BIG);
	assert_null(e);
	assert_non_null(strstr(err, "10.1.0.0/16"));
}

static void test_lpm_100k_fast(void **state)
{
	size_t n = 100000;
	struct tw_context x = { .name = "big" };
	struct tw_port_range p443 = { 443, 443 }, p80 = { 80, 80 };
	struct tw_lpm_entry *e;
	struct timespec t0, t1;
	int bundle = 0;
	char err[256];
	double secs;
	long got;

	(void)state;
	x.rules = calloc(n, sizeof(*x.rules));
	assert_non_null(x.rules);
	/* one /8 over 99 999 host routes in it (10.0.0.1 to
	 * 10.1.134.159), in reverse order */
	for (size_t i = 0; i < n; i++) {
		struct tw_rule *r = &x.rules[i];
		uint32_t a = i ? htonl(0x0a000000u + (uint32_t)(n - i)) :
				 htonl(0x0a000000u);

		r->proto = TW_PROTO_TCP;
		r->kind = TW_HOST_CIDR;
		r->family = 4;
		memcpy(r->addr, &a, 4);
		r->prefixlen = i ? 32 : 8;
		r->ports = i ? &p80 : &p443;
		r->nports = 1;
		r->bundles = &bundle;
		r->nbundles = 1;
	}
	x.nrules = n;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	got = tw_lower_lpm(&x, &e, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(got, (long)n);
	assert_ports(lpm_find(e, got, TW_PROTO_TCP, "10.0.0.0/8"), "443");
	assert_ports(lpm_find(e, got, TW_PROTO_TCP, "10.1.134.159/32"),
		     "80,443");
	if (secs > LPM_100K_MAX_SECS)
		fail_msg("100000 rules lowered in %.3f s", secs);
	free(e);
	free(x.rules);
}

/* ---- limits ------------------------------------------------------------- */

static void test_limit_port_ranges_in_check(void **state)
{
	static const char *const docs[] = {
		WS "\"baseline\":[\"a\",\"b\"]}",
		"{\"bundle\":\"a\",\"connect\":[\"10.0.0.0/8:1,3,5,7,9,11,13,15,17\"]}",
		"{\"bundle\":\"b\",\"connect\":[\"10.1.0.0/16:21,23,25,27,29,31,33,35\"]}",
	};
	struct fixture f;

	(void)state;
	assert_int_equal(build_docs(&f, docs, ARRAY_SIZE(docs)), -EINVAL);
	assert_int_equal(f.diags.n, 1);
	assert_non_null(strstr(f.diags.v[0].msg, "workspace:w"));
	assert_non_null(strstr(f.diags.v[0].msg, "10.1.0.0/16"));
	assert_int_equal(f.c.nctx, 0);
	fixture_free(&f);
}

static void test_limit_contexts(void **state)
{
	size_t n = TW_MAX_CONTEXTS, len = 0, cap = 64 * (n + 2);
	char *doc = malloc(cap);
	const char *docs[2];
	struct fixture f;

	(void)state;
	assert_non_null(doc);
	/* one workspace + 4096 channels = 4097 contexts */
	len += (size_t)snprintf(doc + len, cap - len, "[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(doc + len, cap - len,
					"%s{\"channel\":\"c%05zu\",\"workspace\":\"w\"}",
					i ? "," : "", i);
	snprintf(doc + len, cap - len, "]");
	docs[0] = WS "\"baseline\":[]}";
	docs[1] = doc;
	assert_int_equal(build_docs(&f, docs, 2), -EINVAL);
	assert_int_equal(f.diags.n, 1);
	assert_non_null(strstr(f.diags.v[0].msg, "channel:w/c04095"));
	fixture_free(&f);
	free(doc);
}

/* ---- runner ------------------------------------------------------------- */

/* One test case per table row, named after the row. */
#define ROWS(fn, table, label, out, n)                                     \
	do {                                                               \
		for (size_t i_ = 0; i_ < ARRAY_SIZE(table); i_++) {        \
			char *name_;                                       \
			if (asprintf(&name_, "%s: %s", #fn,                \
				     label(&table[i_])) < 0)               \
				return 1;                                  \
			out[n++] = (struct CMUnitTest){                    \
				name_, fn, NULL, NULL, (void *)&table[i_]  \
			};                                                 \
		}                                                          \
	} while (0)

static const char *fold_label(const struct fold_case *c)
{
	static char buf[ARRAY_SIZE(fold_cases)][64];
	size_t i = (size_t)(c - fold_cases);

	snprintf(buf[i], sizeof(buf[i]), "%s/%d", c->in, c->plen);
	return buf[i];
}

static const char *merge_label(const struct merge_case *c)
{
	return c->name;
}

static const char *grant_label(const struct grant_case *c)
{
	return c->ctx;
}

static const char *rev_label(const struct rev_case *c)
{
	return c->name;
}

int main(void)
{
	static struct CMUnitTest t[128];
	size_t n = 0;

	ROWS(test_fold, fold_cases, fold_label, t, n);
	ROWS(test_merge, merge_cases, merge_label, t, n);
	ROWS(test_ref_grants, grant_cases, grant_label, t, n);
	ROWS(test_revision_changes, rev_cases, rev_label, t, n);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_listen);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_ref_contexts);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_ref_rules);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(
		test_repo_strongest_and_skill_dedup);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_modes_and_run_as);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_background);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_limits_inherit);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_size_text);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_context_order);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_revision_stable);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(
		test_revision_ref_reversed);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_lpm_pushdown);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(
		test_lpm_same_prefix_one_entry);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_lpm_e2big);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_lpm_100k_fast);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(
		test_limit_port_ranges_in_check);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_limit_contexts);
	return _cmocka_run_group_tests("compile", t, n, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_explain.c - destinations as `explain` takes them, rule matching, and
 * the answers for every context of the reference policy: allowed by which
 * bundle, or denied and which bundles and contexts would allow it. Tables
 * of cases with the expected outcome; every row is a test case of its own.
 */
#include <arpa/inet.h>
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
#include "policy.h"

#define REF_POLICY "policy/examples/acme"
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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

static void fixture_free(struct fixture *f)
{
	tw_compiled_free(&f->c);
	tw_policy_free(&f->pol);
	tw_diags_free(&f->diags);
}

/* The reference policy, loaded once for the whole group. */
static struct fixture ref;

static int ref_setup(void **state)
{
	int err;

	(void)state;
	memset(&ref, 0, sizeof(ref));
	err = tw_policy_load(REF_POLICY, &ref.pol, &ref.diags); /* links */
	if (!err)
		err = tw_compile(&ref.pol, &ref.c, &ref.diags);
	if (err) {
		dump_diags(&ref.diags);
		fixture_free(&ref);
		return -1;
	}
	return 0;
}

static int ref_teardown(void **state)
{
	(void)state;
	fixture_free(&ref);
	return 0;
}

/* ---- destination parsing ------------------------------------------------ */

struct dest_case {
	const char *in;
	int ok; /* 0 or -EINVAL */
	enum tw_proto proto;
	enum tw_host_kind kind;
	const char *host; /* address text (after folding), name or path */
	unsigned port;
	const char *formatted;
};

static const struct dest_case dest_cases[] = {
	{ "api.tracker.example:443", 0, TW_PROTO_TCP, TW_HOST_NAME,
	  "api.tracker.example", 443, "api.tracker.example:443" },
	{ "API.Tracker.Example.:443", 0, TW_PROTO_TCP, TW_HOST_NAME,
	  "api.tracker.example", 443, "api.tracker.example:443" },
	{ "10.20.1.10:5432", 0, TW_PROTO_TCP, TW_HOST_CIDR, "10.20.1.10", 5432,
	  "10.20.1.10:5432" },
	{ "10.20.1.10:123/udp", 0, TW_PROTO_UDP, TW_HOST_CIDR, "10.20.1.10",
	  123, "10.20.1.10:123/udp" },
	{ "10.20.1.10:123/tcp", 0, TW_PROTO_TCP, TW_HOST_CIDR, "10.20.1.10",
	  123, "10.20.1.10:123" },
	{ "udp://10.30.0.53:8125", 0, TW_PROTO_UDP, TW_HOST_CIDR, "10.30.0.53",
	  8125, "10.30.0.53:8125/udp" },
	{ "[::ffff:10.20.1.10]:5432", 0, TW_PROTO_TCP, TW_HOST_CIDR,
	  "10.20.1.10", 5432, "10.20.1.10:5432" },
	{ "[64:ff9b::a14:10a]:5432", 0, TW_PROTO_TCP, TW_HOST_CIDR,
	  "64:ff9b::a14:10a", 5432, "[64:ff9b::a14:10a]:5432" },
	{ "[2002:a14:10a::1]:5432", 0, TW_PROTO_TCP, TW_HOST_CIDR,
	  "2002:a14:10a::1", 5432, "[2002:a14:10a::1]:5432" },
	{ "listen:10.10.1.1:7000", 0, TW_PROTO_TCP, TW_HOST_CIDR, "10.10.1.1",
	  7000, "listen:10.10.1.1:7000" },
	{ "listen:[::]:53/udp", 0, TW_PROTO_UDP, TW_HOST_CIDR, "::", 53,
	  "listen:[::]:53/udp" },
	{ "listen:[::ffff:127.0.0.1]:80", 0, TW_PROTO_TCP, TW_HOST_CIDR,
	  "127.0.0.1", 80, "listen:127.0.0.1:80" },
	{ "listen:api.example:80", -EINVAL },
	{ "listen:unix:/x", -EINVAL },
	{ "[::a14:10a]:5432", 0, TW_PROTO_TCP, TW_HOST_CIDR, "::10.20.1.10", 5432,
	  "[::10.20.1.10]:5432" },
	{ "[fd00:30::1]:5439", 0, TW_PROTO_TCP, TW_HOST_CIDR, "fd00:30::1",
	  5439, "[fd00:30::1]:5439" },
	{ "[::1]:53/udp", 0, TW_PROTO_UDP, TW_HOST_CIDR, "::1", 53,
	  "[::1]:53/udp" },
	{ "unix:/run/x.sock", 0, TW_PROTO_UNIX, TW_HOST_UNIX, "/run/x.sock", 0,
	  "unix:/run/x.sock" },
	{ "10.20.1.10", -EINVAL },
	{ "10.20.1.10:", -EINVAL },
	{ "10.20.1.10:65536", -EINVAL },
	{ "10.20.1.10:44x", -EINVAL },
	{ "10.20.1.10:443/sctp", -EINVAL },
	{ "fd00::1:443", -EINVAL },
	{ "[fd00::1:443", -EINVAL },
	{ "[fd00::zz]:443", -EINVAL },
	{ "bad_host!:443", -EINVAL },
	{ "a..b:443", -EINVAL },
	{ "unix:", -EINVAL },
	/* the syntax policy entries and the audit table share */
	{ "10.20.1.10:53/UDP", 0, TW_PROTO_UDP, TW_HOST_CIDR, "10.20.1.10", 53,
	  "10.20.1.10:53/udp" },
	{ "[fd00:30::1]:5439/tcp", 0, TW_PROTO_TCP, TW_HOST_CIDR, "fd00:30::1",
	  5439, "[fd00:30::1]:5439" },
	{ "udp://10.20.1.10:53/udp", 0, TW_PROTO_UDP, TW_HOST_CIDR,
	  "10.20.1.10", 53, "10.20.1.10:53/udp" },
	{ "10.20.1.10/32:443", 0, TW_PROTO_TCP, TW_HOST_CIDR, "10.20.1.10", 443,
	  "10.20.1.10:443" },
	{ "[fd00::1/128]:443", 0, TW_PROTO_TCP, TW_HOST_CIDR, "fd00::1", 443,
	  "[fd00::1]:443" },
	{ "tcp://api.example:443", 0, TW_PROTO_TCP, TW_HOST_NAME, "api.example",
	  443, "api.example:443" },
	{ "listen:0.0.0.0:0", 0, TW_PROTO_TCP, TW_HOST_CIDR, "0.0.0.0", 0,
	  "listen:0.0.0.0:0" },
	{ "listen:[::]:0/udp", 0, TW_PROTO_UDP, TW_HOST_CIDR, "::", 0,
	  "listen:[::]:0/udp" },
	/* more than one destination, or two protocols: errors */
	{ "udp://10.20.1.10:53/tcp", -EINVAL },
	{ "10.0.0.0/8:443", -EINVAL },
	{ "[fd00::/64]:443", -EINVAL },
	{ "*.example:443", -EINVAL },
	{ "10.20.1.10:80-90", -EINVAL },
	{ "10.20.1.10:80,443", -EINVAL },
	{ "api.example", -EINVAL },
	{ "ftp://api.example:21", -EINVAL },
	{ "unix:relative.sock", -EINVAL },
};

/* The message of each error names what is wrong. */
static const struct {
	const char *in, *says;
} dest_errors[] = {
	{ "udp://10.20.1.10:53/tcp", "two protocols" },
	{ "10.0.0.0/8:443", "is a network" },
	{ "*.example:443", "every name under example" },
	{ "10.20.1.10:80-90", "several ports" },
	{ "api.example", "missing port" },
	{ "10.20.1.10:65536", "out of range" },
	{ "fd00::1:443", "in brackets" },
	{ "listen:api.example:80", "listen: takes an IP address" },
};

static void test_dest_errors(void **state)
{
	struct tw_dest d;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(dest_errors) / sizeof(dest_errors[0]);
	     i++) {
		err[0] = '\0';
		assert_int_equal(tw_dest_parse(dest_errors[i].in, &d, err,
					       sizeof(err)), -EINVAL);
		if (!strstr(err, dest_errors[i].says))
			fail_msg("%s: '%s' does not say '%s'", dest_errors[i].in,
				 err, dest_errors[i].says);
	}
}

static void test_dest_parse(void **state)
{
	const struct dest_case *tc = *state;
	char err[256] = "", text[300];
	struct tw_dest d;
	int ret = tw_dest_parse(tc->in, &d, err, sizeof(err));

	assert_int_equal(ret, tc->ok);
	if (ret) {
		assert_true(err[0] != '\0');
		return;
	}
	assert_int_equal(d.proto, tc->proto);
	assert_int_equal(d.kind, tc->kind);
	if (d.kind == TW_HOST_CIDR) {
		inet_ntop(d.family == 4 ? AF_INET : AF_INET6, d.addr, text,
			  sizeof(text));
		assert_string_equal(text, tc->host);
	} else {
		assert_string_equal(d.name, tc->host);
	}
	assert_int_equal(d.port, tc->port);
	tw_dest_format(&d, text, sizeof(text));
	assert_string_equal(text, tc->formatted);
}

/* ---- tw_rule_matches on names ------------------------------------------- */

struct match_case {
	enum tw_host_kind kind;
	const char *rule; /* name without "*." */
	const char *dest;
	bool match;
};

static const struct match_case match_cases[] = {
	{ TW_HOST_WILDCARD, "docs-cdn.example", "a.docs-cdn.example:443", true },
	{ TW_HOST_WILDCARD, "docs-cdn.example", "a.b.c.docs-cdn.example:443", true },
	{ TW_HOST_WILDCARD, "docs-cdn.example", "docs-cdn.example:443", false },
	{ TW_HOST_WILDCARD, "docs-cdn.example", "xdocs-cdn.example:443", false },
	{ TW_HOST_WILDCARD, "docs-cdn.example", "a.docs-cdn.example.evil:443", false },
	{ TW_HOST_WILDCARD, "docs-cdn.example", "A.DOCS-CDN.EXAMPLE.:443", true },
	{ TW_HOST_WILDCARD, "docs-cdn.example", "a.docs-cdn.example:80", false },
	{ TW_HOST_NAME, "docs.acme.example", "docs.acme.example:443", true },
	{ TW_HOST_NAME, "docs.acme.example", "Docs.Acme.Example.:443", true },
	{ TW_HOST_NAME, "docs.acme.example", "a.docs.acme.example:443", false },
	{ TW_HOST_NAME, "docs.acme.example", "docs.acme.example:443/udp", false },
	{ TW_HOST_NAME, "docs.acme.example", "10.0.0.1:443", false },
};

static void test_rule_matches(void **state)
{
	const struct match_case *tc = *state;
	struct tw_port_range p = { 443, 443 };
	char err[256], name[256];
	struct tw_rule r = {
		.proto = TW_PROTO_TCP,
		.kind = tc->kind,
		.name = name,
		.ports = &p,
		.nports = 1,
	};
	struct tw_dest d;

	snprintf(name, sizeof(name), "%s", tc->rule);
	assert_int_equal(tw_dest_parse(tc->dest, &d, err, sizeof(err)), 0);
	assert_int_equal(tw_rule_matches(&r, &d), tc->match);
}

/* ---- explain over the reference policy ---------------------------------- */

struct explain_case {
	const char *ctx;
	const char *dest;
	bool allowed;
	const char *bundles;  /* space-separated, ascending policy order */
	const char *contexts; /* denied: space-separated */
	const char *hint;     /* denied: exact tw_explain_hint() text */
};

#define ALL_CTX "workspace:acme channel:acme/data-team channel:acme/general dm:acme/alice"
#define WAREHOUSE_HINT "bundle warehouse-read (held by channel:acme/data-team)"
#define RECRUITING_HINT "bundle recruiting (held by dm:acme/alice)"

static const struct explain_case explain_cases[] = {
	/* port ranges */
	{ "workspace:acme", "10.20.1.10:8500", true, "issue-tracker" },
	{ "workspace:acme", "10.20.1.10:8000", true, "issue-tracker" },
	{ "workspace:acme", "10.20.1.10:8999", true, "issue-tracker" },
	{ "workspace:acme", "10.20.1.10:9000", false, "", "", "" },
	{ "workspace:acme", "10.20.1.10:7999", false, "", "", "" },
	/* a /16 and a host inside it with other ports */
	{ "workspace:acme", "10.20.1.10:5432", true, "issue-tracker" },
	{ "workspace:acme", "10.20.99.1:5432", true, "issue-tracker" },
	{ "workspace:acme", "10.21.0.1:5432", false, "", "", "" },
	/* IPv4-mapped IPv6 destinations are judged as IPv4, no other form */
	{ "workspace:acme", "[::ffff:10.20.1.10]:5432", true, "issue-tracker" },
	{ "workspace:acme", "[::ffff:10.20.1.10]:8500", true, "issue-tracker" },
	{ "workspace:acme", "[64:ff9b::a14:10a]:5432", false, "", "", "" },
	{ "workspace:acme", "[2002:a14:10a::1]:5432", false, "", "", "" },
	{ "workspace:acme", "[::10.20.1.10]:5432", false, "", "", "" },
	{ "workspace:acme", "[::ffff:10.20.1.10]:9000", false, "", "", "" },
	/* listen: loopback and port 0 need no entry; the reference policy has
	 * none, so everything else is denied */
	{ "workspace:acme", "listen:127.0.0.1:8080", true, "" },
	{ "workspace:acme", "listen:[::1]:8080", true, "" },
	{ "workspace:acme", "listen:0.0.0.0:0", true, "" },
	{ "workspace:acme", "listen:0.0.0.0:8080", false, "", "", "" },
	{ "workspace:acme", "listen:10.20.1.10:5432", false, "", "", "" },
	/* protocols */
	{ "workspace:acme", "10.20.1.10:123/udp", true, "issue-tracker" },
	{ "workspace:acme", "10.20.1.10:123", false, "", "", "" },
	{ "workspace:acme", "10.20.1.10:5432/udp", false, "", "", "" },
	/* unix sockets */
	{ "workspace:acme", "unix:/run/toolwall-demo/tracker.sock", true,
	  "issue-tracker" },
	{ "channel:acme/data-team", "unix:/run/toolwall-demo/tracker.sock",
	  true, "issue-tracker" },
	{ "channel:acme/general", "unix:/run/toolwall-demo/tracker.sock", true,
	  "issue-tracker" },
	{ "dm:acme/alice", "unix:/run/toolwall-demo/tracker.sock", true,
	  "issue-tracker" },
	{ "dm:acme/alice", "unix:/run/toolwall-demo/other.sock", false, "", "",
	  "" },
	/* names and wildcards */
	{ "workspace:acme", "api.tracker.example:443", true, "issue-tracker" },
	{ "workspace:acme", "docs.acme.example:443", true, "docs-search" },
	{ "workspace:acme", "docs.acme.example:80", false, "", "", "" },
	{ "workspace:acme", "a.docs-cdn.example:443", true, "docs-search" },
	{ "workspace:acme", "x.y.docs-cdn.example:443", true, "docs-search" },
	{ "workspace:acme", "docs-cdn.example:443", false, "", "", "" },
	{ "workspace:acme", "evildocs-cdn.example:443", false, "", "", "" },
	{ "workspace:acme", "10.10.1.7:80", true, "docs-search" },
	{ "workspace:acme", "10.10.1.7:8080", false, "", "", "" },
	{ "workspace:acme", "[fd00:10:10:1::9]:443", true, "docs-search" },
	/* the channel step-up exists only in its channel */
	{ "channel:acme/data-team", "[fd00:30::5]:5439", true,
	  "warehouse-read" },
	{ "channel:acme/data-team", "10.30.9.9:5439", true, "warehouse-read" },
	{ "channel:acme/data-team", "10.30.0.53:8125/udp", true,
	  "warehouse-read" },
	{ "channel:acme/data-team", "warehouse.acme.example:5439", true,
	  "warehouse-read" },
	{ "workspace:acme", "[fd00:30::5]:5439", false, "warehouse-read",
	  "channel:acme/data-team", WAREHOUSE_HINT },
	{ "channel:acme/general", "warehouse.acme.example:5439", false,
	  "warehouse-read", "channel:acme/data-team", WAREHOUSE_HINT },
	{ "dm:acme/alice", "[::ffff:10.30.1.1]:5439", false, "warehouse-read",
	  "channel:acme/data-team", WAREHOUSE_HINT },
	/* personal bundles exist only in the person's DM */
	{ "dm:acme/alice", "10.40.2.2:443", true, "recruiting" },
	{ "dm:acme/alice", "ats.recruiting.example:443", true, "recruiting" },
	{ "channel:acme/general", "10.40.2.2:443", false, "recruiting",
	  "dm:acme/alice", RECRUITING_HINT },
	{ "channel:acme/data-team", "ats.recruiting.example:443", false,
	  "recruiting", "dm:acme/alice", RECRUITING_HINT },
	{ "workspace:acme", "10.40.2.2:80", false, "", "", "" },
	/* the baseline is everywhere */
	{ "dm:acme/alice", "10.20.1.10:8500", true, "issue-tracker" },
	{ "channel:acme/data-team", "docs.acme.example:443", true,
	  "docs-search" },
};

static void words(char *buf, size_t len, const char *const *v, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					i ? " " : "", v[i]);
}

static void test_explain(void **state)
{
	const struct explain_case *tc = *state;
	const char *names[64];
	char err[256], got[1024], hint[1024];
	struct tw_explain e;
	struct tw_dest d;
	int ctx = tw_compiled_find(&ref.c, tc->ctx);

	assert_true(ctx >= 0);
	assert_int_equal(tw_dest_parse(tc->dest, &d, err, sizeof(err)), 0);
	assert_int_equal(tw_explain_dest(&ref.c, ctx, &d, &e), 0);
	if (e.allowed != tc->allowed)
		fail_msg("%s -> %s: %s, want %s", tc->ctx, tc->dest,
			 e.allowed ? "allowed" : "denied",
			 tc->allowed ? "allowed" : "denied");
	for (size_t i = 0; i < e.nbundles; i++)
		names[i] = ref.pol.bundles[e.bundles[i]].name;
	words(got, sizeof(got), names, e.nbundles);
	assert_string_equal(got, tc->bundles);
	if (tc->allowed && d.listen) {
		/* loopback / port 0: no rule, no bundle */
		assert_int_equal(e.rule, -1);
		assert_int_equal(e.nbundles, 0);
	} else if (tc->allowed) {
		const struct tw_rule *r;

		assert_true(e.rule >= 0 && (size_t)e.rule < ref.c.ctx[ctx].nrules);
		r = &ref.c.ctx[ctx].rules[e.rule];
		assert_true(tw_rule_matches(r, &d));
		assert_int_equal(e.ncontexts, 0);
	} else {
		assert_int_equal(e.rule, -1);
		for (size_t i = 0; i < e.ncontexts; i++)
			names[i] = ref.c.ctx[e.contexts[i]].name;
		words(got, sizeof(got), names, e.ncontexts);
		assert_string_equal(got, tc->contexts);
		tw_explain_hint(&ref.c, &e, hint, sizeof(hint));
		assert_string_equal(hint, tc->hint);
	}
	tw_explain_free(&e);
}

/* The most specific rule names an allowed verdict. */
static void test_explain_most_specific_rule(void **state)
{
	static const char *const docs[] = {
		"{\"workspace\":\"w\",\"agent\":{\"name\":\"a\",\"user\":\"u\"},"
		"\"baseline\":[\"wide\",\"narrow\"]}",
		"[{\"bundle\":\"wide\",\"connect\":[\"10.0.0.0/8:443\",\"*.example:443\"]},"
		"{\"bundle\":\"narrow\",\"connect\":[\"10.1.0.0/16:443\","
		"\"*.a.example:443\"]}]",
	};
	struct fixture f = { 0 };
	struct tw_explain e;
	struct tw_dest d;
	char err[128], host[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++)
		assert_int_equal(tw_policy_parse(&f.pol, "t.json", docs[i],
						 strlen(docs[i]), &f.diags),
				 0);
	assert_int_equal(tw_policy_link(&f.pol, &f.diags), 0);
	assert_int_equal(tw_compile(&f.pol, &f.c, &f.diags), 0);

	assert_int_equal(tw_dest_parse("10.1.2.3:443", &d, err, sizeof(err)), 0);
	assert_int_equal(tw_explain_dest(&f.c, 0, &d, &e), 0);
	assert_true(e.allowed);
	tw_rule_host_str(&f.c.ctx[0].rules[e.rule], host, sizeof(host));
	assert_string_equal(host, "10.1.0.0/16");
	assert_int_equal(e.nbundles, 2); /* both grant it */
	tw_explain_free(&e);

	assert_int_equal(tw_dest_parse("x.a.example:443", &d, err, sizeof(err)),
			 0);
	assert_int_equal(tw_explain_dest(&f.c, 0, &d, &e), 0);
	assert_true(e.allowed);
	tw_rule_host_str(&f.c.ctx[0].rules[e.rule], host, sizeof(host));
	assert_string_equal(host, "*.a.example");
	tw_explain_free(&e);
	fixture_free(&f);
}

/* Several bundles would allow it; one of them is held nowhere. */
static void test_explain_hint_many(void **state)
{
	static const char *const docs[] = {
		"{\"workspace\":\"w\",\"agent\":{\"name\":\"a\",\"user\":\"u\"},"
		"\"baseline\":[]}",
		"[{\"bundle\":\"one\",\"connect\":[\"db.example:5432\"]},"
		"{\"bundle\":\"two\",\"connect\":[\"*.example\"]},"
		"{\"bundle\":\"three\",\"connect\":[\"db.example:1-9999\"]}]",
		"[{\"channel\":\"x\",\"workspace\":\"w\",\"step_up\":[\"one\",\"two\"]},"
		"{\"channel\":\"y\",\"workspace\":\"w\",\"step_up\":[\"one\"]}]",
	};
	struct fixture f = { 0 };
	struct tw_explain e;
	struct tw_dest d;
	char err[128], hint[512];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(docs); i++)
		assert_int_equal(tw_policy_parse(&f.pol, "t.json", docs[i],
						 strlen(docs[i]), &f.diags),
				 0);
	assert_int_equal(tw_policy_link(&f.pol, &f.diags), 0);
	assert_int_equal(tw_compile(&f.pol, &f.c, &f.diags), 0);
	assert_int_equal(tw_dest_parse("db.example:5432", &d, err, sizeof(err)),
			 0);
	assert_int_equal(tw_explain_dest(&f.c, tw_compiled_find(&f.c, "workspace:w"),
					 &d, &e),
			 0);
	assert_false(e.allowed);
	assert_int_equal(e.nbundles, 3);
	assert_int_equal(e.ncontexts, 2);
	tw_explain_hint(&f.c, &e, hint, sizeof(hint));
	assert_string_equal(hint,
			    "bundle one (held by channel:w/x, channel:w/y); "
			    "bundle two (held by channel:w/x); "
			    "bundle three (held by no context)");
	/* a short buffer is cut, never overrun */
	tw_explain_hint(&f.c, &e, hint, 12);
	assert_string_equal(hint, "bundle one ");
	tw_explain_free(&e);
	fixture_free(&f);
}

static void test_explain_unknown_context(void **state)
{
	struct tw_explain e;
	struct tw_dest d;
	char err[64];

	(void)state;
	assert_int_equal(tw_compiled_find(&ref.c, "channel:acme/nope"), -ENOENT);
	assert_int_equal(tw_dest_parse("10.0.0.1:1", &d, err, sizeof(err)), 0);
	assert_int_equal(tw_explain_dest(&ref.c, 99, &d, &e), -ENOENT);
}

/* ---- runner ------------------------------------------------------------- */

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

static const char *dest_label(const struct dest_case *c)
{
	return c->in;
}

static const char *match_label(const struct match_case *c)
{
	static char buf[ARRAY_SIZE(match_cases)][300];
	size_t i = (size_t)(c - match_cases);

	snprintf(buf[i], sizeof(buf[i]), "%s%s ~ %s",
		 c->kind == TW_HOST_WILDCARD ? "*." : "", c->rule, c->dest);
	return buf[i];
}

static const char *explain_label(const struct explain_case *c)
{
	static char buf[ARRAY_SIZE(explain_cases)][300];
	size_t i = (size_t)(c - explain_cases);

	snprintf(buf[i], sizeof(buf[i]), "%s -> %s", c->ctx, c->dest);
	return buf[i];
}

int main(void)
{
	static struct CMUnitTest t[200];
	size_t n = 0;

	ROWS(test_dest_parse, dest_cases, dest_label, t, n);
	ROWS(test_rule_matches, match_cases, match_label, t, n);
	ROWS(test_explain, explain_cases, explain_label, t, n);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(
		test_explain_most_specific_rule);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_explain_hint_many);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(test_dest_errors);
	t[n++] = (struct CMUnitTest)cmocka_unit_test(
		test_explain_unknown_context);
	return _cmocka_run_group_tests("explain", t, n, ref_setup, ref_teardown);
}

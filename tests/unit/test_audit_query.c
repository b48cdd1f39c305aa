/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_audit_query.c - what `toolwall audit` asks of records: times
 * (RFC 3339 and ages), destination filters, the summary, the suggested
 * bundle (checked by the real policy parser and explain), and the two
 * export shapes: RFC 5424 syslog and OCSF.
 */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "audit_export.h"
#include "audit_syslog.h"
#include "audit_query.h"
#include "record.h"
#include "compile.h"
#include "explain.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NS 1000000000ull

static void test_times(void **state)
{
	static const struct {
		const char *in;
		int ret;
		uint64_t ns;
	} rows[] = {
		{ "2024-05-01T10:00:00Z", 0, 1714557600ull * NS },
		{ "2024-05-01T10:00:00.5Z", 0, 1714557600ull * NS + 500000000 },
		{ "2024-05-01T10:00:00.123456789Z", 0, 1714557600ull * NS + 123456789 },
		{ "2024-05-01T12:00:00+02:00", 0, 1714557600ull * NS },
		{ "2024-05-01T05:30:00-04:30", 0, 1714557600ull * NS },
		{ "2024-05-01", 0, 1714521600ull * NS },
		{ "now", 0, 1714557600ull * NS },
		{ "10m", 0, (1714557600ull - 600) * NS },
		{ "2h", 0, (1714557600ull - 7200) * NS },
		{ "7d", 0, (1714557600ull - 7 * 86400) * NS },
		{ "90s", 0, (1714557600ull - 90) * NS },
		{ "10x", -EINVAL, 0 },
		{ "10", -EINVAL, 0 },
		{ "2024-05-01T10:00:00", -EINVAL, 0 },
		{ "yesterday", -EINVAL, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		uint64_t ns = 0;
		int ret = tw_audit_parse_when(rows[i].in, 1714557600ull * NS, &ns);

		if (ret != rows[i].ret || (!ret && ns != rows[i].ns))
			fail_msg("%s: ret %d ns %llu", rows[i].in, ret,
				 (unsigned long long)ns);
	}
	{
		char buf[64];
		uint64_t back;

		tw_audit_ts_format(1714557600ull * NS + 7, buf, sizeof(buf));
		assert_string_equal(buf, "2024-05-01T10:00:00.000000007Z");
		assert_int_equal(tw_audit_ts_parse(buf, &back), 0);
		assert_int_equal(back, 1714557600ull * NS + 7);
	}
}

static json_t *rec(const char *s)
{
	json_t *r = json_loads(s, 0, NULL);

	assert_non_null(r);
	return r;
}

static void test_filters(void **state)
{
	static const struct {
		const char *dst;
		bool v4, v6, unix_, dom;
	} rows[] = {
		{ "10.30.1.10", true, false, false, false },
		{ "10.30.0.0/16", true, false, false, false },
		{ "10.31.0.0/16", false, false, false, false },
		{ "10.30.1.10:5439", true, false, false, false },
		{ "10.30.1.10:5432", false, false, false, false },
		{ "[fd00:30::5]", false, true, false, false },
		{ "[fd00:30::/32]:5439", false, true, false, false },
		{ "[fd00:30::5]:443", false, false, false, false },
		{ "unix:/run/x.sock", false, false, true, false },
		/* the syntax of the table and of the policy's entries */
		{ "10.30.1.10:5439/tcp", true, false, false, false },
		{ "10.30.1.10:5439/udp", false, false, false, false },
		{ "udp://10.30.0.0/16", false, false, false, false },
		{ "tcp://10.30.0.0/16:5000-6000", true, false, false, false },
		{ "10.30.1.10:80,443", false, false, false, false },
		{ "10.30.1.10:443,5439", true, false, false, false },
		{ "[fd00:30::5]:5439/tcp", false, false, false, false },
		{ "api.tracker.example", false, false, false, true },
		{ "API.Tracker.Example.", false, false, false, true },
		{ "*.tracker.example", false, false, false, true },
		{ "*.api.tracker.example", false, false, false, false },
		{ "api.tracker.example:443", false, false, false, false },
	};
	json_t *v4 = rec("{\"ts\":\"2024-05-01T10:00:00Z\",\"event\":\"deny\",\"context\":\"workspace:acme\",\"workspace\":\"acme\",\"pid\":42,\"action\":\"connect\",\"proto\":\"tcp\",\"dst\":\"10.30.1.10\",\"port\":5439}");
	json_t *v6 = rec("{\"ts\":\"2024-05-01T10:00:00Z\",\"event\":\"deny\",\"dst\":\"fd00:30::5\",\"port\":5439}");
	json_t *ux = rec("{\"ts\":\"2024-05-01T10:00:00Z\",\"event\":\"deny\",\"proto\":\"unix\",\"path\":\"/run/x.sock\"}");
	json_t *agg = rec("{\"ts\":\"2024-05-01T10:00:00Z\",\"event\":\"deny\",\"count\":5,\"first_ts\":\"2024-05-01T10:00:00Z\",\"last_ts\":\"2024-05-01T10:05:00Z\",\"domain\":\"api.tracker.example\"}");
	struct tw_audit_filter f;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		memset(&f, 0, sizeof(f));
		assert_int_equal(tw_audit_parse_dst(&f, rows[i].dst), 0);
		if (tw_audit_match(&f, v4) != rows[i].v4 ||
		    tw_audit_match(&f, v6) != rows[i].v6 ||
		    tw_audit_match(&f, ux) != rows[i].unix_ ||
		    tw_audit_match(&f, agg) != rows[i].dom)
			fail_msg("--dst %s", rows[i].dst);
	}
	/* a path that is not a socket's (a policy loaded, a command run) is
	 * no unix destination */
	{
		json_t *pol = rec("{\"ts\":\"2024-05-01T10:00:00Z\",\"event\":\"policy\",\"action\":\"load\",\"path\":\"/run/x.sock\"}");
		json_t *ex = rec("{\"ts\":\"2024-05-01T10:00:00Z\",\"event\":\"exec\",\"action\":\"exec\",\"path\":\"/run/x.sock\",\"argv\":[\"x\"]}");

		memset(&f, 0, sizeof(f));
		assert_int_equal(tw_audit_parse_dst(&f, "unix:/run/x.sock"), 0);
		assert_true(tw_audit_match(&f, ux));
		assert_false(tw_audit_match(&f, pol));
		assert_false(tw_audit_match(&f, ex));
		json_decref(pol);
		json_decref(ex);
	}
	/* each error says what is wrong */
	{
		static const struct {
			const char *dst, *says;
		} bad[] = {
			{ "10.0.0.1/33", "invalid prefix length" },
			{ "10.0.0.1/8", "host bits set" },
			{ "non sense", "invalid character in DNS name" },
			{ "/run/x.sock", "invalid character in DNS name" },
			{ "10.0.0.1:99999", "out of range" },
			{ "udp://10.0.0.1:53/tcp", "two protocols" },
			{ "fd00::1:443", "IPv6 addresses go in brackets" },
			{ "fd00:30::5", "IPv6 addresses go in brackets" },
			{ "unix:", "unix socket path must be" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			memset(&f, 0, sizeof(f));
			assert_int_equal(tw_audit_parse_dst(&f, bad[i].dst),
					 -EINVAL);
			if (!strstr(f.dst.err, bad[i].says))
				fail_msg("--dst %s: '%s' does not say '%s'",
					 bad[i].dst, f.dst.err, bad[i].says);
		}
	}

	memset(&f, 0, sizeof(f));
	f.context = "workspace:acme";
	f.has_pid = true;
	f.pid = 42;
	assert_true(tw_audit_match(&f, v4));
	f.pid = 43;
	assert_false(tw_audit_match(&f, v4));
	assert_false(tw_audit_match(&f, v6)); /* no context */

	/* an aggregated record meets a window inside its span */
	memset(&f, 0, sizeof(f));
	tw_audit_ts_parse("2024-05-01T10:03:00Z", &f.since_ns);
	assert_true(tw_audit_match(&f, agg));
	assert_false(tw_audit_match(&f, v4));
	tw_audit_ts_parse("2024-05-01T10:06:00Z", &f.since_ns);
	assert_false(tw_audit_match(&f, agg));

	memset(&f, 0, sizeof(f));
	f.domain = "*.tracker.example";
	assert_true(tw_audit_match(&f, agg));
	f.domain = "*.api.tracker.example";
	assert_false(tw_audit_match(&f, agg));
	f.domain = "API.tracker.example";
	assert_true(tw_audit_match(&f, agg));
	json_decref(v4);
	json_decref(v6);
	json_decref(ux);
	json_decref(agg);
}

static void test_summary_weights_counts(void **state)
{
	const char *lines[] = {
		"{\"ts\":\"2024-05-01T10:00:01Z\",\"event\":\"deny\",\"context\":\"workspace:acme\",\"pid\":7,\"comm\":\"curl\",\"proto\":\"tcp\",\"dst\":\"10.30.1.10\",\"port\":5439,\"hint\":\"bundle warehouse-read (held by channel:acme/data-team)\"}",
		"{\"ts\":\"2024-05-01T10:00:02Z\",\"event\":\"deny\",\"context\":\"workspace:acme\",\"pid\":7,\"comm\":\"curl\",\"proto\":\"tcp\",\"dst\":\"10.30.1.10\",\"port\":5439,\"count\":1000,\"first_ts\":\"2024-05-01T10:00:02Z\",\"last_ts\":\"2024-05-01T10:00:09Z\",\"hint\":\"bundle warehouse-read (held by channel:acme/data-team)\"}",
		"{\"ts\":\"2024-05-01T10:01:00Z\",\"event\":\"deny\",\"context\":\"workspace:acme\",\"pid\":8,\"comm\":\"nc\",\"proto\":\"tcp\",\"dst\":\"10.50.1.10\",\"port\":80,\"hint\":\"\"}",
		"{\"ts\":\"2024-05-01T10:01:30Z\",\"event\":\"lost\",\"count\":25}",
	};
	struct tw_summary s;
	json_t *j, *top;

	(void)state;
	tw_summary_init(&s);
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		json_t *r = rec(lines[i]);

		tw_summary_add(&s, r);
		json_decref(r);
	}
	j = tw_summary_json(&s, 10);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "totals"), "deny")), 1002);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "totals"), "lost")), 25);
	top = json_object_get(json_object_get(json_object_get(j, "by_context"), "workspace:acme"), "top");
	assert_int_equal(json_array_size(top), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(top, 0), "dst")),
			    "10.30.1.10:5439/tcp");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(top, 0), "count")), 1001);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(j, "by_bundle"), "warehouse-read"), "total")), 1001);
	assert_non_null(json_object_get(json_object_get(j, "by_process"), "nc[8]"));
	assert_int_equal(json_array_size(json_object_get(j, "timeline")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "timeline"), 0), "minute")),
			    "2024-05-01T10:00Z");
	json_decref(j);
	tw_summary_free(&s);

	j = tw_hint_bundles("bundle a (held by x); bundle b-2 (held by no context)");
	assert_int_equal(json_array_size(j), 2);
	assert_string_equal(json_string_value(json_array_get(j, 1)), "b-2");
	json_decref(j);
}

/* The suggested bundle, granted to the context, allows what was recorded:
 * checked with the real parser, compiler and explain. */
static void test_suggest_is_a_working_bundle(void **state)
{
	const char *lines[] = {
		"{\"ts\":\"2024-05-01T10:00:01Z\",\"event\":\"audit\",\"context\":\"channel:acme/general\",\"proto\":\"tcp\",\"dst\":\"10.30.1.10\",\"port\":5439}",
		"{\"ts\":\"2024-05-01T10:00:02Z\",\"event\":\"audit\",\"context\":\"channel:acme/general\",\"proto\":\"tcp\",\"dst\":\"10.30.1.10\",\"port\":5440,\"count\":3}",
		"{\"ts\":\"2024-05-01T10:00:03Z\",\"event\":\"audit\",\"context\":\"channel:acme/general\",\"proto\":\"udp\",\"dst\":\"fd00:30::5\",\"port\":8125}",
		"{\"ts\":\"2024-05-01T10:00:04Z\",\"event\":\"audit\",\"context\":\"channel:acme/general\",\"proto\":\"unix\",\"path\":\"/run/other.sock\"}",
		"{\"ts\":\"2024-05-01T10:00:05Z\",\"event\":\"audit\",\"context\":\"channel:acme/general\",\"action\":\"socket\",\"socket\":{\"family\":2,\"type\":3,\"protocol\":1}}",
		"{\"ts\":\"2024-05-01T10:00:06Z\",\"event\":\"deny\",\"context\":\"channel:acme/general\",\"proto\":\"tcp\",\"dst\":\"10.99.0.1\",\"port\":1}",
		"{\"ts\":\"2024-05-01T10:00:07Z\",\"event\":\"audit\",\"context\":\"workspace:acme\",\"proto\":\"tcp\",\"dst\":\"10.98.0.1\",\"port\":1}",
	};
	static const struct {
		const char *dest;
		bool allowed;
	} after[] = {
		{ "10.30.1.10:5439", true },  { "10.30.1.10:5440", true },
		{ "10.30.1.10:5441", false }, { "[fd00:30::5]:8125/udp", true },
		{ "unix:/run/other.sock", true }, { "10.99.0.1:1", false },
		{ "10.98.0.1:1", false },
	};
	const char *base =
		"[{\"workspace\":\"acme\",\"agent\":{\"name\":\"c\",\"user\":\"nobody\"},\"baseline\":[]},"
		"{\"channel\":\"general\",\"workspace\":\"acme\",\"step_up\":[\"suggested-channel-acme-general\"]},";
	struct tw_suggest g;
	struct tw_policy pol = {};
	struct tw_diags dg = {};
	struct tw_compiled c = {};
	json_t *b, *connect;
	char *bs, *text;
	int ci;

	(void)state;
	tw_suggest_init(&g, "channel:acme/general");
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		json_t *r = rec(lines[i]);

		tw_suggest_add(&g, r);
		json_decref(r);
	}
	assert_int_equal(g.records, 5);
	assert_int_equal(g.events, 7);
	assert_int_equal(g.ungrantable, 1);
	b = tw_suggest_bundle(&g, "suggested-channel-acme-general");
	assert_non_null(b);
	connect = json_object_get(b, "connect");
	assert_int_equal(json_array_size(connect), 3);
	assert_string_equal(json_string_value(json_array_get(connect, 0)), "10.30.1.10:5439-5440");
	assert_string_equal(json_string_value(json_array_get(connect, 1)), "udp://[fd00:30::5]:8125");
	assert_string_equal(json_string_value(json_array_get(connect, 2)), "unix:/run/other.sock");

	bs = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_int_not_equal(asprintf(&text, "%s%s]", base, bs), -1);
	assert_int_equal(tw_policy_parse(&pol, "s.json", text, strlen(text), &dg), 0);
	assert_int_equal(tw_policy_link(&pol, &dg), 0);
	if (dg.n)
		fail_msg("suggested bundle: %s", dg.v[0].msg);
	assert_int_equal(tw_compile(&pol, &c, &dg), 0);
	ci = tw_compiled_find(&c, "channel:acme/general");
	assert_true(ci >= 0);
	for (size_t i = 0; i < ARRAY_SIZE(after); i++) {
		struct tw_dest d;
		struct tw_explain ex = {};
		char err[256];

		assert_int_equal(tw_dest_parse(after[i].dest, &d, err, sizeof(err)), 0);
		assert_int_equal(tw_explain_dest(&c, ci, &d, &ex), 0);
		if (ex.allowed != after[i].allowed)
			fail_msg("%s: allowed=%d", after[i].dest, ex.allowed);
		tw_explain_free(&ex);
	}
	tw_compiled_free(&c);
	tw_policy_free(&pol);
	tw_diags_free(&dg);
	free(text);
	free(bs);
	json_decref(b);
	tw_suggest_free(&g);

	tw_suggest_init(&g, "dm:acme/alice");
	assert_null(tw_suggest_bundle(&g, "x"));
	tw_suggest_free(&g);
}

/* --time local: the same instant in the zone of TZ, with its offset. */
static void test_local_time(void **state)
{
	static const struct {
		const char *tz, *want;
	} cases[] = {
		{ "UTC0", "2024-05-01T10:00:00.000000042+00:00" },
		{ "IST-05:30", "2024-05-01T15:30:00.000000042+05:30" },
		{ "EST5", "2024-05-01T05:00:00.000000042-05:00" },
		{ "NDT+09:45", "2024-05-01T00:15:00.000000042-09:45" },
	};
	uint64_t ns, back;
	char buf[64];

	(void)state;
	assert_int_equal(tw_audit_ts_parse("2024-05-01T10:00:00.000000042Z", &ns), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		setenv("TZ", cases[i].tz, 1);
		tzset();
		tw_audit_ts_format_local(ns, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
		/* what it prints, --since takes back */
		assert_int_equal(tw_audit_ts_parse(buf, &back), 0);
		assert_true(back == ns);
	}
	unsetenv("TZ");
	tzset();
}

/* The DESTINATION column: each kind of record says what it was about. */
static void test_dest_column(void **state)
{
	static const struct {
		const char *rec, *want;
	} cases[] = {
		{"{\"dst\":\"10.1.2.3\",\"port\":443,\"proto\":\"tcp\"}",
		 "10.1.2.3:443/tcp"},
		{"{\"dst\":\"fd00::1\",\"port\":53,\"proto\":\"udp\"}",
		 "[fd00::1]:53/udp"},
		{"{\"path\":\"/run/x.sock\",\"action\":\"connect\","
		 "\"proto\":\"unix\"}",
		 "unix:/run/x.sock"},
		/* a policy's path is not a unix socket */
		{"{\"event\":\"policy\",\"action\":\"load\","
		 "\"path\":\"/etc/toolwall/policy\"}",
		 "/etc/toolwall/policy"},
		{"{\"event\":\"exec\",\"path\":\"/usr/bin/sh\","
		 "\"argv\":[\"sh\",\"-c\",\"ls /\"]}",
		 "sh -c ls /"},
		{"{\"event\":\"deny\",\"syscall\":\"openat\","
		 "\"path\":\"/root\",\"access\":\"read\"}",
		 "/root (read)"},
		{"{\"event\":\"deny\",\"source\":\"landlock\","
		 "\"blockers\":\"fs.execute\",\"path\":\"/tmp/t\"}",
		 "/tmp/t"},
		{"{\"event\":\"deny\",\"syscall\":\"mount\"}", "mount()"},
	};
	char buf[128], small[8];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *r = json_loads(cases[i].rec, 0, NULL);

		assert_non_null(r);
		tw_audit_dest(r, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
		json_decref(r);
	}
	/* A long command line is cut at a word, never overflows. */
	json_t *r = json_loads("{\"argv\":[\"aaaa\",\"bbbb\",\"cccc\"]}", 0,
			       NULL);

	tw_audit_dest(r, small, sizeof(small));
	assert_string_equal(small, "aaaa");
	json_decref(r);
	r = json_loads("{\"argv\":[\"/a/very/long/program\",\"x\"]}", 0, NULL);
	tw_audit_dest(r, small, sizeof(small));
	assert_string_equal(small, "/a/very");
	json_decref(r);
}

/* Execs and refused files map to OCSF's process and file classes. */
static void test_ocsf_syscall_audit(void **state)
{
	json_t *r, *o;

	(void)state;
	r = rec("{\"ts\":\"2024-05-01T10:00:00Z\",\"seq\":1,\"event\":\"exec\","
		"\"action\":\"exec\",\"pid\":42,\"ppid\":41,\"comm\":\"ls\","
		"\"path\":\"/usr/bin/ls\",\"argv\":[\"ls\",\"-l\",\"/srv\"]}");
	o = tw_ocsf_from_record(r);
	assert_int_equal(json_integer_value(json_object_get(o, "type_uid")),
			 100701);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(o, "process"), "cmd_line")),
			    "ls -l /srv");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(json_object_get(o, "process"),
						 "parent_process"),
				 "pid")),
			 41);
	json_decref(o);
	json_decref(r);

	r = rec("{\"ts\":\"2024-05-01T10:00:00Z\",\"seq\":2,\"event\":\"deny\","
		"\"action\":\"open\",\"syscall\":\"openat\",\"path\":\"/root\"}");
	o = tw_ocsf_from_record(r);
	assert_int_equal(json_integer_value(json_object_get(o, "type_uid")),
			 100114);
	assert_string_equal(json_string_value(json_object_get(o, "disposition")),
			    "Blocked");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(o, "file"), "path")),
			    "/root");
	assert_null(json_object_get(o, "dst_endpoint"));
	json_decref(o);
	json_decref(r);

	r = rec("{\"ts\":\"2024-05-01T10:00:00Z\",\"seq\":3,\"event\":\"deny\","
		"\"action\":\"exec\",\"syscall\":\"execve\",\"path\":\"/tmp/x\"}");
	o = tw_ocsf_from_record(r);
	assert_int_equal(json_integer_value(json_object_get(o, "type_uid")),
			 100701);
	assert_string_equal(json_string_value(json_object_get(o, "status")),
			    "Failure");
	json_decref(o);
	json_decref(r);

	r = rec("{\"ts\":\"2024-05-01T10:00:00Z\",\"seq\":4,\"event\":\"deny\","
		"\"action\":\"mount\",\"syscall\":\"mount\"}");
	o = tw_ocsf_from_record(r);
	assert_int_equal(json_integer_value(json_object_get(o, "class_uid")), 0);
	assert_string_equal(json_string_value(json_object_get(o, "action")),
			    "Denied");
	assert_null(json_object_get(o, "connection_info"));
	json_decref(o);
	json_decref(r);
}

static void test_syslog_rfc5424(void **state)
{
	const char *line = "{\"ts\":\"2024-05-01T10:00:00.123456789Z\",\"seq\":7,\"event\":\"deny\","
			   "\"context\":\"channel:acme/gen\\\"]\",\"action\":\"connect\",\"dst\":\"10.30.1.10\","
			   "\"port\":5439,\"count\":3,\"hash\":\"abcd\"}";
	/* RFC 5424 header, one SD-ELEMENT with escaped values, then MSG */
	const char *re =
		"^<108>1 2024-05-01T10:00:00\\.123456Z host1 toolwall 99 deny "
		"\\[toolwall@32473 seq=\"7\" context=\"channel:acme/gen\\\\\"\\\\]\" "
		"action=\"connect\" dst=\"10\\.30\\.1\\.10\" port=\"5439\" count=\"3\" "
		"hash=\"abcd\"\\] \\{";
	json_t *r = rec(line);
	char buf[2048];
	regex_t rx;
	int n;

	(void)state;
	n = tw_syslog_format(r, line, strlen(line), "host1", 99,
			     "toolwall@32473", buf, sizeof(buf));
	assert_true(n > 0);
	buf[n] = 0;
	assert_int_equal(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&rx, buf, 0, NULL, 0))
		fail_msg("not RFC 5424 as expected: %s", buf);
	regfree(&rx);
	/* the record travels whole, so the collector can verify it */
	assert_string_equal(strstr(buf, "] {") + 2, line);
	assert_int_equal(tw_syslog_format(r, line, strlen(line), "h", 1,
					  "toolwall@32473", buf, 40), -ENOSPC);
	/* no SD-ID of the operator's: no structured data, all of it in MSG */
	n = tw_syslog_format(r, line, strlen(line), "host1", 99, NULL, buf,
			     sizeof(buf));
	assert_true(n > 0);
	buf[n] = 0;
	assert_non_null(strstr(buf, " toolwall 99 deny - {"));
	assert_string_equal(strstr(buf, " - {") + 3, line);
	json_decref(r);
}

/* SD-IDs: NAME@PEN only (RFC 5424 6.3.2: names without @ are IANA's). */
static void test_syslog_sd_id(void **state)
{
	static const char *const good[] = { "toolwall@32473", "tw@1",
					     "audit.acme@123456" };
	static const char *const bad[] = { "toolwall", "toolwall@", "@32473",
					   "tool wall@1", "tool]@1", "tw@12a",
					   "tool\"wall@1", "t=w@1",
					   "abcdefghijklmnopqrstuvwxyz@123456" };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(tw_syslog_sd_id_check(good[i]), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (tw_syslog_sd_id_check(bad[i]) != -EINVAL)
			fail_msg("SD-ID %s taken", bad[i]);
	assert_int_equal(tw_syslog_check("tls://collector.example:6514"), 0);
	assert_int_equal(tw_syslog_check("tcp://[::1]:514"), 0);
	assert_int_equal(tw_syslog_check("udp://127.0.0.1:514"), 0);
	assert_int_equal(tw_syslog_check("unix:/dev/log"), 0);
	assert_int_equal(tw_syslog_check("tls://host"), -EINVAL);
	assert_int_equal(tw_syslog_check("tls://host:0"), -EINVAL);
	assert_int_equal(tw_syslog_check("tls://host:65536"), -EINVAL);
	assert_int_equal(tw_syslog_check("tcp://:514"), -EINVAL);
	assert_int_equal(tw_syslog_check("tcp://a@b:514"), -EINVAL);
	assert_int_equal(tw_syslog_check("relp://host:514"), -EINVAL);
	assert_int_equal(tw_syslog_check("unix:"), -EINVAL);
}

static void test_ocsf(void **state)
{
	json_t *r = rec("{\"ts\":\"2024-05-01T10:00:00.5Z\",\"seq\":7,\"event\":\"deny\",\"context\":\"workspace:acme\","
			"\"pid\":42,\"tid\":43,\"uid\":999,\"comm\":\"curl\",\"action\":\"connect\",\"proto\":\"tcp\","
			"\"dst\":\"10.30.1.10\",\"port\":5439,\"reason\":\"no rule\",\"count\":3,"
			"\"first_ts\":\"2024-05-01T10:00:00.5Z\",\"last_ts\":\"2024-05-01T10:00:01Z\"}");
	json_t *o = tw_ocsf_from_record(r), *d;

	(void)state;
	assert_int_equal(json_integer_value(json_object_get(o, "class_uid")), 4001);
	assert_int_equal(json_integer_value(json_object_get(o, "category_uid")), 4);
	assert_int_equal(json_integer_value(json_object_get(o, "activity_id")), 5);
	assert_int_equal(json_integer_value(json_object_get(o, "type_uid")), 400105);
	assert_int_equal(json_integer_value(json_object_get(o, "time")), 1714557600500);
	assert_int_equal(json_integer_value(json_object_get(o, "end_time")), 1714557601000);
	assert_int_equal(json_integer_value(json_object_get(o, "action_id")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "disposition_id")), 2);
	assert_int_equal(json_integer_value(json_object_get(o, "count")), 3);
	d = json_object_get(o, "dst_endpoint");
	assert_string_equal(json_string_value(json_object_get(d, "ip")), "10.30.1.10");
	assert_int_equal(json_integer_value(json_object_get(d, "port")), 5439);
	d = json_object_get(json_object_get(o, "actor"), "process");
	assert_int_equal(json_integer_value(json_object_get(d, "pid")), 42);
	assert_string_equal(json_string_value(json_object_get(d, "name")), "curl");
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "user"), "uid")), "999");
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "unmapped"), "context")),
			    "workspace:acme");
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "metadata"), "version")), "1.1.0");
	json_decref(o);
	json_decref(r);
}

/*
 * One destination syntax: what the table prints for a record (its
 * DESTINATION column) is taken back by --dst and picks that record, is a
 * valid connect entry of a policy, and, naming one port, a DEST for
 * explain.
 */
static void test_dst_round_trip(void **state)
{
	static const char *const recs[] = {
		"{\"event\":\"deny\",\"proto\":\"tcp\",\"dst\":\"10.30.1.10\",\"port\":5439}",
		"{\"event\":\"deny\",\"proto\":\"udp\",\"dst\":\"fd00:30::5\",\"port\":53}",
		"{\"event\":\"deny\",\"dst\":\"fd00:30::5\",\"port\":5439}",
		"{\"event\":\"deny\",\"proto\":\"unix\",\"path\":\"/run/x.sock\"}",
		"{\"event\":\"deny\",\"domain\":\"api.tracker.example\"}",
		"{\"event\":\"deny\",\"domain\":\"api.tracker.example\",\"port\":443}",
	};
	static const char *const printed[] = {
		"10.30.1.10:5439/tcp", "[fd00:30::5]:53/udp", "[fd00:30::5]:5439",
		"unix:/run/x.sock", "api.tracker.example",
		"api.tracker.example:443",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(recs); i++) {
		json_t *r = rec(recs[i]);
		struct tw_audit_filter f = { 0 };
		struct tw_endpoint ep;
		struct tw_dest d;
		char dest[300], err[256];

		tw_audit_dest(r, dest, sizeof(dest));
		assert_string_equal(dest, printed[i]);
		if (tw_audit_parse_dst(&f, dest) || !tw_audit_match(&f, r))
			fail_msg("--dst %s: %s", dest, f.dst.err);
		if (tw_endpoint_parse(dest, &ep, err, sizeof(err)))
			fail_msg("connect entry %s: %s", dest, err);
		tw_endpoint_free(&ep);
		if (strchr(dest + 1, ':') && !strstr(dest, "unix:") &&
		    tw_dest_parse(dest, &d, err, sizeof(err)))
			fail_msg("explain %s: %s", dest, err);
		json_decref(r);
	}
}

/* --dst unix:PATH finds a path of bytes that are not UTF-8 whether it is
 * given as the log writes it or as its bytes. */
static void test_dst_on_encoded_path(void **state)
{
	struct tw_audit_filter f = { 0 }, g = { 0 }, h = { 0 };
	char enc[128], arg[140];
	json_t *rec;

	(void)state;
	tw_bytes_encode("/tmp/a\\\xff.sock", 13, enc, sizeof(enc));
	assert_string_equal(enc, "/tmp/a\\\\\\xff.sock");
	rec = json_pack("{s:s,s:s,s:o}", "event", "deny", "proto", "unix",
			"path", tw_json_bytes("/tmp/a\\\xff.sock", 13));
	assert_int_equal(tw_audit_parse_dst(&f, "unix:/tmp/a\\\xff.sock"), 0);
	assert_true(tw_audit_match(&f, rec)); /* the bytes */
	snprintf(arg, sizeof(arg), "unix:%s", enc);
	assert_int_equal(tw_audit_parse_dst(&g, arg), 0);
	assert_true(tw_audit_match(&g, rec)); /* as logged */
	assert_int_equal(tw_audit_parse_dst(&h, "unix:/tmp/a\\\\xff.sock"), 0);
	assert_false(tw_audit_match(&h, rec)); /* other bytes */
	json_decref(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_summary_weights_counts),
		cmocka_unit_test(test_suggest_is_a_working_bundle),
		cmocka_unit_test(test_dest_column),
		cmocka_unit_test(test_local_time),
		cmocka_unit_test(test_dst_round_trip),
		cmocka_unit_test(test_ocsf_syscall_audit),
		cmocka_unit_test(test_syslog_rfc5424),
		cmocka_unit_test(test_syslog_sd_id),
		cmocka_unit_test(test_ocsf),
		cmocka_unit_test(test_dst_on_encoded_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

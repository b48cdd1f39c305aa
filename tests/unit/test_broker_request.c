/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_broker_request.c - the broker's judge: where a placeholder becomes its
 * credential and where it stays a placeholder. Every refusal is checked for
 * its status and the words a reader needs; every swap for the exact bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "request.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define TOK_W "twph_0123456789abcdef0123456789abcdef"
#define TOK_R "twph_fedcba9876543210fedcba9876543210"
#define SECRET_W "s3cr3t-write-value"
#define SECRET_R "r3ad-only-value"

/* Two credentials: a write token for the tracker (Bearer), a read token for
 * the warehouse (X-Api-Key); each handed to one call of one context. */
static struct tw_bk_origin tracker[1], warehouse[1];
static struct tw_bk_cred creds[2];
static struct tw_bk_placeholder ph[2];
static struct tw_bk_table table = { creds, 2, ph, 2 };

static int setup(void **state)
{
	(void)state;
	memset(creds, 0, sizeof(creds));
	memset(ph, 0, sizeof(ph));
	assert_int_equal(tw_bk_origin_parse("https://api.tracker.example",
					    &tracker[0]), 0);
	assert_int_equal(tw_bk_origin_parse("https://db.warehouse.example:8443",
					    &warehouse[0]), 0);
	snprintf(creds[0].name, sizeof(creds[0].name), "tracker-agent");
	creds[0].scope = TW_BK_WRITE;
	assert_int_equal(tw_bk_template_parse("Authorization: Bearer {}",
					      &creds[0]), 0);
	creds[0].value = (const unsigned char *)SECRET_W;
	creds[0].vlen = strlen(SECRET_W);
	creds[0].services = tracker;
	creds[0].nservices = 1;
	snprintf(creds[1].name, sizeof(creds[1].name), "warehouse-read");
	creds[1].scope = TW_BK_READ;
	assert_int_equal(tw_bk_template_parse("X-Api-Key: {}", &creds[1]), 0);
	creds[1].value = (const unsigned char *)SECRET_R;
	creds[1].vlen = strlen(SECRET_R);
	creds[1].services = warehouse;
	creds[1].nservices = 1;
	snprintf(ph[0].token, sizeof(ph[0].token), TOK_W);
	ph[0].cred = 0;
	snprintf(ph[0].context, sizeof(ph[0].context), "workspace:acme");
	snprintf(ph[0].call_id, sizeof(ph[0].call_id), "call-1");
	snprintf(ph[1].token, sizeof(ph[1].token), TOK_R);
	ph[1].cred = 1;
	snprintf(ph[1].context, sizeof(ph[1].context), "channel:acme/data-team");
	snprintf(ph[1].call_id, sizeof(ph[1].call_id), "call-2");
	return 0;
}

/* One request: method, destination, SNI, context and up to 4 headers. */
struct req {
	struct tw_bk_request r;
	struct tw_bk_header h[4];
};

static void req_init(struct req *q, const char *method, const char *origin,
		     const char *sni, const char *context)
{
	memset(q, 0, sizeof(*q));
	q->r.method = method;
	q->r.sni = sni;
	q->r.context = context;
	assert_int_equal(tw_bk_origin_parse(origin, &q->r.origin), 0);
	q->r.h = q->h;
}

static void req_add(struct req *q, const char *name, const char *value)
{
	assert_true(q->r.nh < ARRAY_SIZE(q->h));
	q->h[q->r.nh].name = strdup(name);
	q->h[q->r.nh].value = strdup(value);
	q->r.nh++;
}

static void req_free(struct req *q)
{
	for (size_t i = 0; i < q->r.nh; i++) {
		free(q->h[i].name);
		free(q->h[i].value);
	}
}

static void judge(struct req *q, struct tw_bk_verdict *v)
{
	assert_int_equal(tw_bk_judge(&table, &q->r, v), 0);
}

static void test_origin_parse(void **state)
{
	static const struct {
		const char *in;
		int ret;
		int tls;
		const char *host;
		unsigned port;
	} cases[] = {
		{ "https://API.Tracker.example", 0, 1, "api.tracker.example", 443 },
		{ "https://api.tracker.example/", 0, 1, "api.tracker.example", 443 },
		{ "http://10.0.0.1:8080", 0, 0, "10.0.0.1", 8080 },
		{ "https://[2001:db8::1]:8443", 0, 1, "2001:db8::1", 8443 },
		{ "https://[::1]", 0, 1, "::1", 443 },
		{ "ftp://a.example", -EINVAL, 0, 0, 0 },
		{ "https://", -EINVAL, 0, 0, 0 },
		{ "https://a.example:", -EINVAL, 0, 0, 0 },
		{ "https://a.example:0", -EINVAL, 0, 0, 0 },
		{ "https://a.example:65536", -EINVAL, 0, 0, 0 },
		{ "https://a.example:44x", -EINVAL, 0, 0, 0 },
		{ "https://a.example/path", -EINVAL, 0, 0, 0 },
		{ "https://[::1", -EINVAL, 0, 0, 0 },
		{ "https://[::1]x", -EINVAL, 0, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tw_bk_origin o;
		int ret = tw_bk_origin_parse(cases[i].in, &o);

		if (ret != cases[i].ret)
			fail_msg("%s: got %d, want %d", cases[i].in, ret,
				 cases[i].ret);
		if (ret)
			continue;
		assert_int_equal(o.tls, cases[i].tls);
		assert_string_equal(o.host, cases[i].host);
		assert_int_equal(o.port, cases[i].port);
	}
}

static void test_template_parse(void **state)
{
	static const char *bad[] = {
		"Bearer {}",		       /* no header name */
		": {}",			       /* empty name */
		"Authorization: Bearer",       /* no {} */
		"Authorization: {} and {}",    /* two {} */
		"Bad Name: {}",		       /* space in the name */
		"X-Key: {}\r\nX-Evil: 1",      /* header injection */
	};
	struct tw_bk_cred c;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(tw_bk_template_parse("Authorization: token {} end", &c),
			 0);
	assert_string_equal(c.header, "Authorization");
	assert_string_equal(c.prefix, "token ");
	assert_string_equal(c.suffix, " end");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (tw_bk_template_parse(bad[i], &c) != -EINVAL)
			fail_msg("template accepted: %s", bad[i]);
}

static void test_scope_and_find(void **state)
{
	const char *s = "x twph_0123 twph_0123456789abcdef0123456789abcdef y";

	(void)state;
	static const struct {
		enum tw_bk_scope scope;
		const char *method, *why; /* why: NULL when allowed */
	} m[] = {
		{ TW_BK_READ, "GET", NULL },
		{ TW_BK_READ, "HEAD", NULL },
		{ TW_BK_READ, "OPTIONS", NULL },
		{ TW_BK_READ, "POST",
		  "POST is not allowed (read allows GET, HEAD, OPTIONS)" },
		{ TW_BK_READ, "get",
		  "get is not allowed (read allows GET, HEAD, OPTIONS)" },
		{ TW_BK_WRITE, "DELETE", NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(m); i++) {
		struct tw_bk_request r = { .method = m[i].method };
		char why[160] = "";
		bool ok = tw_bk_scope_allows(m[i].scope, &r, why, sizeof(why));

		if (ok != !m[i].why || (m[i].why && strcmp(why, m[i].why)))
			fail_msg("%s: %d '%s'", m[i].method, ok, why);
	}
	assert_int_equal(tw_bk_find_placeholder(s, strlen(s)), 12);
	/* upper-case hex is not a placeholder, nor a cut one */
	assert_int_equal(tw_bk_find_placeholder("twph_0123456789ABCDEF0123456789abcdef",
						37), -1);
	assert_int_equal(tw_bk_find_placeholder(TOK_W, 36), -1);
}

static void test_swap_at_own_service(void **state)
{
	struct tw_bk_verdict v;
	struct req q;

	(void)state;
	req_init(&q, "POST", "https://api.tracker.example", "api.tracker.example",
		 "workspace:acme");
	req_add(&q, "Host", "api.tracker.example");
	req_add(&q, "Authorization", "Bearer " TOK_W);
	req_add(&q, "X-Trace", "keep " TOK_W " here");
	judge(&q, &v);
	assert_int_equal(v.status, 0);
	assert_int_equal(v.swapped, 1);
	assert_string_equal(v.credential, "tracker-agent");
	assert_string_equal(v.call_id, "call-1");
	assert_string_equal(q.h[1].value, "Bearer " SECRET_W);
	/* only the template's header carries the value */
	assert_string_equal(q.h[2].value, "keep " TOK_W " here");
	req_free(&q);
}

/* Elsewhere the placeholder stays what it is: another service, another
 * context, an unknown token, a plain-HTTP origin of the same host. */
static void test_stays_placeholder(void **state)
{
	static const struct {
		const char *origin, *sni, *host, *ctx, *auth;
	} cases[] = {
		{ "https://paste.example", "paste.example", "paste.example",
		  "workspace:acme", "Bearer " TOK_W },
		{ "https://api.tracker.example", "api.tracker.example",
		  "api.tracker.example", "channel:acme/general", "Bearer " TOK_W },
		{ "http://api.tracker.example", NULL, "api.tracker.example",
		  "workspace:acme", "Bearer " TOK_W },
		{ "https://api.tracker.example:8443", "api.tracker.example",
		  "api.tracker.example:8443", "workspace:acme", "Bearer " TOK_W },
		{ "https://api.tracker.example", "api.tracker.example",
		  "api.tracker.example", "workspace:acme",
		  "Bearer twph_00000000000000000000000000000000" },
		{ "https://db.warehouse.example:8443", "db.warehouse.example",
		  "db.warehouse.example:8443", "workspace:acme",
		  "Bearer " TOK_R },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tw_bk_verdict v;
		struct req q;

		req_init(&q, "GET", cases[i].origin, cases[i].sni, cases[i].ctx);
		req_add(&q, "Host", cases[i].host);
		req_add(&q, "Authorization", cases[i].auth);
		req_add(&q, "X-Api-Key", cases[i].auth + 7);
		judge(&q, &v);
		if (v.status || v.swapped)
			fail_msg("case %zu: status %d swapped %u (%s)", i,
				 v.status, v.swapped, v.reason);
		assert_string_equal(q.h[1].value, cases[i].auth);
		assert_string_equal(q.h[2].value, cases[i].auth + 7);
		req_free(&q);
	}
}

static void test_read_scope_refuses_write(void **state)
{
	struct tw_bk_verdict v;
	struct req q;

	(void)state;
	req_init(&q, "DELETE", "https://db.warehouse.example:8443",
		 "db.warehouse.example", "channel:acme/data-team");
	req_add(&q, "Host", "db.warehouse.example:8443");
	req_add(&q, "X-Api-Key", TOK_R);
	judge(&q, &v);
	assert_int_equal(v.status, 403);
	assert_int_equal(v.swapped, 0);
	assert_non_null(strstr(v.reason, "scope read"));
	assert_non_null(strstr(v.reason, "DELETE"));
	assert_non_null(strstr(v.hint, "scope write"));
	assert_string_equal(v.credential, "warehouse-read");
	assert_string_equal(q.h[1].value, TOK_R);
	req_free(&q);

	req_init(&q, "GET", "https://db.warehouse.example:8443",
		 "db.warehouse.example", "channel:acme/data-team");
	req_add(&q, "Host", "db.warehouse.example:8443");
	req_add(&q, "X-Api-Key", TOK_R);
	judge(&q, &v);
	assert_int_equal(v.status, 0);
	assert_string_equal(q.h[1].value, SECRET_R);
	req_free(&q);
}

/*
 * A read-scoped credential does not go with a GET that asks to be taken for
 * another method (override headers in any case, `_method` in the query);
 * a write-scoped one does, and a read-scoped GET without them too.
 */
static void test_read_scope_refuses_method_override(void **state)
{
	static const struct {
		const char *target, *header, *value;
		const char *why; /* NULL: forwarded */
	} cases[] = {
		{ "/q", "X-HTTP-Method-Override", "POST",
		  "header X-HTTP-Method-Override" },
		{ "/q", "x-http-method-override", "DELETE",
		  "header X-HTTP-Method-Override" },
		{ "/q", "X-HTTP-Method", "PUT", "header X-HTTP-Method" },
		{ "/q", "X-Method-Override", "PATCH", "header X-Method-Override" },
		{ "/q", "x_http_method_override", "PUT",
		  "header X-HTTP-Method-Override" },
		{ "/q", "X-HTTP-Method-Overrides", "PUT", NULL },
		{ "/q?a=1&_method=DELETE", NULL, NULL, "query parameter _method" },
		{ "/q?_METHOD=put", NULL, NULL, "query parameter _method" },
		{ "/q?a=1;_method%3DPUT", NULL, NULL, "query parameter _method" },
		{ "/q?%5Fmethod=DELETE", NULL, NULL, "query parameter _method" },
		{ "/q?a&%5f%4DETHOD%3dput", NULL, NULL, "query parameter _method" },
		{ "/q?_method", NULL, NULL, "query parameter _method" },
		{ "/q?x_method=DELETE&method=GET", NULL, NULL, NULL },
		{ "/q?_methods=DELETE&_metho=PUT", NULL, NULL, NULL },
		{ "/_method=DELETE", NULL, NULL, NULL },
		{ "/q", "X-Override-Note", "POST", NULL },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		for (int write = 0; write < 2; write++) {
			struct tw_bk_verdict v;
			struct req q;

			if (write)
				req_init(&q, "GET", "https://api.tracker.example",
					 "api.tracker.example", "workspace:acme");
			else
				req_init(&q, "GET",
					 "https://db.warehouse.example:8443",
					 "db.warehouse.example",
					 "channel:acme/data-team");
			q.r.target = cases[i].target;
			req_add(&q, "Host", write ? "api.tracker.example" :
						    "db.warehouse.example:8443");
			if (write)
				req_add(&q, "Authorization", "Bearer " TOK_W);
			else
				req_add(&q, "X-Api-Key", TOK_R);
			if (cases[i].header)
				req_add(&q, cases[i].header, cases[i].value);
			judge(&q, &v);
			if (write || !cases[i].why) {
				if (v.status || v.swapped != 1)
					fail_msg("case %zu (%s): status %d (%s)",
						 i, write ? "write" : "read",
						 v.status, v.reason);
			} else {
				if (v.status != 403 || v.swapped ||
				    !strstr(v.reason, "scope read") ||
				    !strstr(v.reason, cases[i].why) ||
				    strcmp(q.h[1].value, TOK_R))
					fail_msg("case %zu: status %d swapped %u (%s)",
						 i, v.status, v.swapped, v.reason);
				assert_non_null(strstr(v.hint, "scope write"));
			}
			req_free(&q);
		}
	}
}

/* The SNI, the Host header and the destination name one origin. */
static void test_fronting(void **state)
{
	static const struct {
		const char *sni;
		const char *host[2];
		int status;
		const char *words;
	} cases[] = {
		{ "api.tracker.example", { "paste.example", 0 }, 403,
		  "domain fronting" },
		{ "paste.example", { "api.tracker.example", 0 }, 403,
		  "TLS server name" },
		{ NULL, { "api.tracker.example", 0 }, 403, "(none)" },
		{ "api.tracker.example",
		  { "api.tracker.example", "api.tracker.example" }, 400,
		  "more than one Host" },
		{ "api.tracker.example", { 0, 0 }, 400, "no Host" },
		{ "api.tracker.example", { "api.tracker.example:x", 0 }, 400,
		  "malformed Host" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tw_bk_verdict v;
		struct req q;

		req_init(&q, "GET", "https://api.tracker.example", cases[i].sni,
			 "workspace:acme");
		for (int k = 0; k < 2; k++)
			if (cases[i].host[k])
				req_add(&q, "Host", cases[i].host[k]);
		req_add(&q, "Authorization", "Bearer " TOK_W);
		judge(&q, &v);
		if (v.status != cases[i].status ||
		    !strstr(v.reason, cases[i].words))
			fail_msg("case %zu: status %d reason '%s'", i, v.status,
				 v.reason);
		assert_int_equal(v.swapped, 0);
		assert_null(strstr(q.h[q.r.nh - 1].value, SECRET_W));
		req_free(&q);
	}
}

/* An absolute-form target names the origin a server must use (RFC 9112
 * 3.2.2): another one than the destination is fronting, whatever Host says. */
static void test_fronting_target(void **state)
{
	static const struct {
		const char *target;
		int status;
		const char *words;
	} cases[] = {
		{ "/issues?q=1", 0, "" },
		{ "*", 0, "" },
		{ "https://api.tracker.example/issues", 0, "" },
		{ "https://API.tracker.example:443/", 0, "" },
		{ "https://paste.example/x", 403,
		  "request target https://paste.example does not match" },
		{ "https://api.tracker.example:8443/", 403, "domain fronting" },
		{ "http://api.tracker.example/", 403, "domain fronting" },
		{ "https://api.tracker.example@paste.example/", 403,
		  "userinfo" },
		{ "paste.example/x", 400, "malformed request target" },
		{ "https://api.tracker.example:x/", 400,
		  "malformed request target" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tw_bk_verdict v;
		struct req q;

		req_init(&q, "GET", "https://api.tracker.example",
			 "api.tracker.example", "workspace:acme");
		q.r.target = cases[i].target;
		req_add(&q, "Host", "api.tracker.example");
		req_add(&q, "Authorization", "Bearer " TOK_W);
		judge(&q, &v);
		if (v.status != cases[i].status ||
		    !strstr(v.reason, cases[i].words))
			fail_msg("case %zu (%s): status %d reason '%s'", i,
				 cases[i].target, v.status, v.reason);
		assert_int_equal(v.swapped, cases[i].status ? 0 : 1);
		req_free(&q);
	}
}

/* What a record keeps of a target: the path, no query, no placeholder. */
static void test_record_path(void **state)
{
	char out[64], s[128] = "Host " TOK_W ".example and " TOK_R;

	(void)state;
	tw_bk_path_only("/a/" TOK_W "/b?q=" TOK_R, out, sizeof(out));
	assert_string_equal(out, "/a/" TW_PH_MASK "/b");
	tw_bk_path_only("/abcdefghij?x", out, 6);
	assert_string_equal(out, "/abcd");
	tw_bk_mask_placeholders(s);
	assert_string_equal(s, "Host " TW_PH_MASK ".example and " TW_PH_MASK);
}

/* A repeated template header: only the first carries the value (one
 * server reads the first of a repeated field, another the last). */
static void test_second_template_header(void **state)
{
	struct tw_bk_verdict v;
	struct req q;

	(void)state;
	req_init(&q, "GET", "https://api.tracker.example", "api.tracker.example",
		 "workspace:acme");
	req_add(&q, "Host", "api.tracker.example");
	req_add(&q, "Authorization", "Bearer none");
	req_add(&q, "authorization", "Bearer " TOK_W);
	judge(&q, &v);
	assert_int_equal(v.status, 0);
	assert_int_equal(v.swapped, 0);
	assert_string_equal(q.h[2].value, "Bearer " TOK_W);
	req_free(&q);
}

/* An address origin: no SNI is right (RFC 6066 has none for addresses),
 * an SNI naming anything else is fronting. */
static void test_fronting_ip(void **state)
{
	static const struct {
		const char *sni;
		int status;
	} cases[] = {
		{ NULL, 0 },
		{ "", 0 },
		{ "paste.example", 403 },
		{ "10.20.1.11", 403 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tw_bk_verdict v;
		struct req q;

		req_init(&q, "GET", "https://10.20.1.10:8443", cases[i].sni,
			 "workspace:acme");
		req_add(&q, "Host", "10.20.1.10:8443");
		judge(&q, &v);
		if (v.status != cases[i].status ||
		    (v.status && !strstr(v.reason, "TLS server name")))
			fail_msg("case %zu: status %d reason '%s'", i, v.status,
				 v.reason);
		req_free(&q);
	}
}

static char *b64(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, n);
	return out;
}

static void test_basic_auth_password(void **state)
{
	char *in = b64("agent:" TOK_W), *want = b64("agent:" SECRET_W);
	char hv[256], wv[256];
	struct tw_bk_verdict v;
	struct req q;

	(void)state;
	snprintf(hv, sizeof(hv), "Basic %s", in);
	snprintf(wv, sizeof(wv), "Basic %s", want);
	/* a Basic password swaps whatever the template's header is */
	req_init(&q, "GET", "https://api.tracker.example", "api.tracker.example",
		 "workspace:acme");
	req_add(&q, "Host", "api.tracker.example");
	req_add(&q, "Authorization", hv);
	judge(&q, &v);
	assert_int_equal(v.status, 0);
	assert_int_equal(v.swapped, 1);
	assert_string_equal(q.h[1].value, wv);
	req_free(&q);
	/* as the user name (before the colon) it stays */
	free(in);
	in = b64(TOK_W ":x");
	snprintf(hv, sizeof(hv), "Basic %s", in);
	req_init(&q, "GET", "https://api.tracker.example", "api.tracker.example",
		 "workspace:acme");
	req_add(&q, "Host", "api.tracker.example");
	req_add(&q, "Authorization", hv);
	judge(&q, &v);
	assert_int_equal(v.swapped, 0);
	assert_string_equal(q.h[1].value, hv);
	req_free(&q);
	free(in);
	free(want);
}

static void test_value_with_line_break(void **state)
{
	struct tw_bk_verdict v;
	struct req q;

	(void)state;
	creds[0].value = (const unsigned char *)"bad\r\nX-Evil: 1";
	creds[0].vlen = strlen((const char *)creds[0].value);
	req_init(&q, "GET", "https://api.tracker.example", "api.tracker.example",
		 "workspace:acme");
	req_add(&q, "Host", "api.tracker.example");
	req_add(&q, "Authorization", "Bearer " TOK_W);
	judge(&q, &v);
	assert_int_equal(v.status, 502);
	assert_non_null(strstr(v.reason, "line break"));
	assert_string_equal(q.h[1].value, "Bearer " TOK_W);
	req_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin_parse),
		cmocka_unit_test(test_template_parse),
		cmocka_unit_test(test_scope_and_find),
		cmocka_unit_test_setup(test_swap_at_own_service, setup),
		cmocka_unit_test_setup(test_stays_placeholder, setup),
		cmocka_unit_test_setup(test_read_scope_refuses_write, setup),
		cmocka_unit_test_setup(test_read_scope_refuses_method_override, setup),
		cmocka_unit_test_setup(test_fronting, setup),
		cmocka_unit_test_setup(test_fronting_ip, setup),
		cmocka_unit_test_setup(test_fronting_target, setup),
		cmocka_unit_test_setup(test_second_template_header, setup),
		cmocka_unit_test(test_record_path),
		cmocka_unit_test_setup(test_basic_auth_password, setup),
		cmocka_unit_test_setup(test_value_with_line_break, setup),
	};

	return cmocka_run_group_tests_name("broker request", tests, NULL, NULL);
}

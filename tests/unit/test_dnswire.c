/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_dnswire.c - DNS questions judged as label sequences: which policy
 * names cover which wire names (a table), the length bounds that refuse
 * rather than cut, names with bytes no policy name holds, and the rebuilt
 * upstream query (exactly one question, class IN, our own OPT, nothing
 * else of the client's).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dnsanswer.h"
#include "dnswire.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A query for the labels of TEXT (escapes as in presentation). */
static size_t mkquery(const char *text, uint16_t qtype, uint8_t *m)
{
	struct tw_dname n;
	size_t o = 12;

	assert_int_equal(tw_dname_from_text(text, &n), 0);
	memset(m, 0, 12);
	m[0] = 0x12, m[1] = 0x34, m[2] = 0x01, m[5] = 1;
	memcpy(m + o, n.wire, n.len);
	o += n.len;
	m[o++] = qtype >> 8, m[o++] = qtype & 0xff, m[o++] = 0, m[o++] = 1;
	return o;
}

static const struct {
	const char *name, *rule;
	bool wildcard, covered;
} cover[] = {
	{ "api.tracker.example", "api.tracker.example", false, true },
	{ "API.Tracker.EXAMPLE", "api.tracker.example", false, true },
	{ "x.api.tracker.example", "api.tracker.example", false, false },
	{ "a.cdn.example", "cdn.example", true, true },
	{ "a.b.c.cdn.example", "cdn.example", true, true },
	{ "_dmarc.cdn.example", "cdn.example", true, true },
	{ "cdn.example", "cdn.example", true, false },
	{ "xcdn.example", "cdn.example", true, false },
	/* one label "x.cdn" under "example": prints like a.cdn.example */
	{ "x\\.cdn.example", "cdn.example", true, false },
	{ "leak\\.cdn.example", "example", true, false },
	{ "a\\000b.cdn.example", "cdn.example", true, false },
	{ "a\\032b.cdn.example", "cdn.example", true, false },
	{ "a\\200.cdn.example", "cdn.example", true, false },
	{ "a\\\\b.cdn.example", "cdn.example", true, false },
	{ "ok.a\\.b.cdn.example", "cdn.example", true, false },
	{ "cdn\\.example", "cdn.example", false, false },
	/* the rule's own text: read label by label, as text would parse */
	{ "api.example", "api.example.", false, true },
	{ "api.example", "API.Example", false, true },
	{ "a.cdn.example", "cdn.example.", true, true },
	{ "api.example", "example", false, false },
	{ "example", "api.example", false, false },
	{ "example", "api.example", true, false },
	{ "api.example", "api..example", false, false },
	{ "api.example", ".api.example", false, false },
	{ "api.example", ".", false, false },
	{ "api.example", "", false, false },
	{ "a\\.b.example", "a\\.b.example", false, true },
	{ "a.b.example", "a\\.b.example", false, false },
	{ "x.a\\.b.example", "a\\.b.example", true, true },
	{ "a b.example", "a\\032b.example", false, true },
};

static void test_covered(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cover); i++) {
		struct tw_dname n;

		assert_int_equal(tw_dname_from_text(cover[i].name, &n), 0);
		if (tw_dname_covered(&n, cover[i].rule, cover[i].wildcard) !=
		    cover[i].covered)
			fail_msg("%s under %s%s: expected %d", cover[i].name,
				 cover[i].wildcard ? "*." : "", cover[i].rule,
				 cover[i].covered);
	}
}

/* The longest name there is (255 octets) is judged whole; one octet more
 * is refused, never cut to fit. */
static void test_bounds(void **state)
{
	char name[400], text[TW_DNAME_TEXT_MAX];
	uint8_t m[600];
	struct tw_dns_question q;
	struct tw_dname n;
	size_t len;

	(void)state;
	/* 3 x 63 + 49 + ".cdn.example" = 253 characters */
	snprintf(name, sizeof(name), "%.63s.%.63s.%.63s.%.49s.cdn.example",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		 "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
		 "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	assert_int_equal(strlen(name), 253);
	len = mkquery(name, 1, m);
	assert_int_equal(tw_dns_question_parse(m, len, &q), TW_DQ_OK);
	assert_int_equal(q.name.len, 255);
	assert_true(tw_dname_covered(&q.name, "cdn.example", true));
	tw_dname_text(&q.name, text, sizeof(text));
	assert_string_equal(text, name);
	/* one label more: text refuses it, and so does the wire */
	memmove(name + 2, name, strlen(name) + 1);
	memcpy(name, "x.", 2);
	assert_int_equal(tw_dname_from_text(name, &n), -ENAMETOOLONG);
	{
		/* hand-made: 4 labels of 63 + "cdn.example" = 269 octets */
		size_t o = 12;

		memset(m, 0, 12);
		m[2] = 1, m[5] = 1;
		for (int i = 0; i < 4; i++) {
			m[o++] = 63;
			memset(m + o, 'a', 63);
			o += 63;
		}
		memcpy(m + o, "\3cdn\7example\0\0\1\0\1", 17);
		o += 17;
		assert_int_equal(tw_dns_question_parse(m, o, &q), TW_DQ_LONG);
		/* a 64-octet label: its length octet is another label type */
		m[12] = 64;
		assert_int_equal(tw_dns_question_parse(m, o, &q), TW_DQ_LABEL);
		m[12] = 0xc0;
		assert_int_equal(tw_dns_question_parse(m, o, &q), TW_DQ_POINTER);
		assert_int_equal(tw_dns_question_parse(m, 20, &q), TW_DQ_POINTER);
		m[12] = 63;
		assert_int_equal(tw_dns_question_parse(m, 40, &q), TW_DQ_SHORT);
	}
	memset(name, 'a', 64);
	name[64] = 0;
	assert_int_equal(tw_dname_from_text(name, &n), -EINVAL);
}

static void test_text(void **state)
{
	static const char *names[] = { "a.b", "x\\.cdn.example", "a\\000b.c",
				       "a\\\\b.c", "_x-1.y" };
	char text[TW_DNAME_TEXT_MAX];
	struct tw_dname n, m;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		assert_int_equal(tw_dname_from_text(names[i], &n), 0);
		tw_dname_text(&n, text, sizeof(text));
		assert_string_equal(text, names[i]);
		assert_int_equal(tw_dname_from_text(text, &m), 0);
		assert_true(tw_dname_equal(&n, &m));
	}
	assert_int_equal(tw_dname_from_text("a..b", &n), -EINVAL);
	assert_int_equal(tw_dname_from_text("a\\", &n), -EINVAL);
	assert_int_equal(tw_dname_from_text("a.b.", &n), 0);
	assert_int_equal(n.nlabels, 2);
}

static void test_header(void **state)
{
	struct tw_dns_question q;
	uint8_t m[300];
	size_t len;

	(void)state;
	len = mkquery("a.b", 1, m);
	m[2] |= 0x80;
	assert_int_equal(tw_dns_question_parse(m, len, &q), TW_DQ_RESPONSE);
	m[2] &= 0x7f;
	m[5] = 2;
	assert_int_equal(tw_dns_question_parse(m, len, &q), TW_DQ_COUNT);
	m[5] = 1;
	m[2] = 0x28 | 1; /* UPDATE */
	assert_int_equal(tw_dns_question_parse(m, len, &q), TW_DQ_OK);
	assert_int_equal(q.opcode, 5);
	assert_int_equal(tw_dns_question_parse(m, 5, &q), TW_DQ_SHORT);
	assert_int_equal(q.id, 0x1234);
	assert_true(tw_dns_qtype_forwardable(1));
	assert_true(tw_dns_qtype_forwardable(16));
	assert_true(tw_dns_qtype_forwardable(65));
	assert_false(tw_dns_qtype_forwardable(255));
	assert_false(tw_dns_qtype_forwardable(252));
	assert_false(tw_dns_qtype_forwardable(41));
	assert_false(tw_dns_qtype_forwardable(0));
}

/* The upstream query carries the judged question and nothing else. */
static void test_rebuild(void **state)
{
	static const uint8_t want[] = {
		0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1,
		3, 'a', 'p', 'i', 2, 'e', 'x', 0, 0, 16, 0, 1,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0,
	};
	struct tw_dns_question q;
	uint8_t m[300], out[300];
	size_t len, n;

	(void)state;
	len = mkquery("API.Ex", 16, m);
	m[2] = 0x01; /* RD */
	m[3] = 0x70;		  /* Z, AD, CD: not forwarded */
	m[7] = 1;		  /* an answer record it claims to carry */
	assert_int_equal(tw_dns_question_parse(m, len, &q), TW_DQ_OK);
	n = tw_dns_query_build(&q, 0xbeef, true, out, sizeof(out));
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, n);
	assert_int_equal(tw_dns_query_build(&q, 1, false, out, 20), 0);
	n = tw_dns_reply_build(&q, true, 5, false, out, sizeof(out));
	assert_int_equal(n, len);
	assert_int_equal(out[0], 0x12);
	assert_int_equal(out[3] & 0x0f, 5);
	assert_memory_equal(out + 12, m + 12, len - 12);
}

/* A granted name's answer: every TTL cut to the grant's time left, in
 * every section, but an OPT record's flags are not a TTL. */
static void test_ttl_cap(void **state)
{
	static const uint8_t rr[] = {
		0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 10, 0, 0, 1,
		0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 10, 0, 4, 10, 0, 0, 2,
		0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0,
	};
	uint8_t m[300], copy[300];
	size_t len;
	uint16_t an;
	size_t off;

	(void)state;
	len = mkquery("a.ex", 1, m);
	m[2] = 0x81, m[3] = 0x80, m[7] = 2, m[11] = 1;
	memcpy(m + len, rr, sizeof(rr));
	len += sizeof(rr);
	assert_int_equal(tw_dns_msg_check(m, len, &off, &an), 0);
	assert_int_equal(tw_dns_ttl_cap(m, len, 60), 0);
	assert_int_equal(m[len - sizeof(rr) + 9], 60); /* 3600 -> 60 */
	assert_int_equal(m[len - sizeof(rr) + 8], 0);
	assert_int_equal(m[len - sizeof(rr) + 16 + 9], 10); /* stays */
	assert_memory_equal(m + len - 11, rr + sizeof(rr) - 11, 11); /* OPT */
	memcpy(copy, m, len);
	assert_int_equal(tw_dns_ttl_cap(m, len - 1, 0), -EBADMSG);
	assert_memory_equal(m, copy, len);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_covered), cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_text),	cmocka_unit_test(test_header),
		cmocka_unit_test(test_rebuild), cmocka_unit_test(test_ttl_cap),
	};

	return cmocka_run_group_tests(t, NULL, NULL);
}

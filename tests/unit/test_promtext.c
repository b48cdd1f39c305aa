// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_promtext.c - the Prometheus text format writer (promtext.c): HELP
 * and TYPE lines, samples with labels, label values escaped (backslash,
 * double quote, newline), times in seconds, growth past the first buffer.
 */
#include "unit.h"

#include <stdlib.h>

#include "promtext.h"

static void test_family_and_samples(void **state)
{
	struct tw_prom p = {};
	const char *l[] = { "context", "channel:acme/general", "verdict",
			    "allowed", NULL };

	(void)state;
	tw_prom_family(&p, "toolwall_decisions_total", "counter",
		       "Decisions.\nTwo lines, a \\ too.");
	tw_prom_u64(&p, "toolwall_decisions_total", l, 18446744073709551615ull);
	tw_prom_u64(&p, "toolwall_x", NULL, 0);
	tw_prom_time(&p, "toolwall_t_seconds", NULL, 1700000000123456789ull);
	assert_false(p.oom);
	assert_string_equal(
		p.buf,
		"# HELP toolwall_decisions_total Decisions.\\nTwo lines, a \\\\ too.\n"
		"# TYPE toolwall_decisions_total counter\n"
		"toolwall_decisions_total{context=\"channel:acme/general\","
		"verdict=\"allowed\"} 18446744073709551615\n"
		"toolwall_x 0\n"
		"toolwall_t_seconds 1700000000.123\n");
	assert_int_equal(p.len, strlen(p.buf));
	free(p.buf);
}

/* Context names may hold what the format must escape. */
static void test_label_escapes(void **state)
{
	static const struct {
		const char *value, *want;
	} rows[] = {
		{ "plain", "plain" },
		{ "a\"b", "a\\\"b" },
		{ "back\\slash", "back\\\\slash" },
		{ "new\nline", "new\\nline" },
		{ "\\\"\n", "\\\\\\\"\\n" },
		{ "@Alice Ünïcode", "@Alice Ünïcode" },
		{ "", "" },
	};

	(void)state;
	for (size_t i = 0; i < UNIT_ARRAY_SIZE(rows); i++) {
		struct tw_prom p = {};
		const char *l[] = { "context", rows[i].value, NULL };
		char want[128];

		tw_prom_u64(&p, "m", l, 1);
		snprintf(want, sizeof(want), "m{context=\"%s\"} 1\n",
			 rows[i].want);
		assert_string_equal(p.buf, want);
		free(p.buf);
	}
}

/* Many samples: the buffer grows and stays whole. */
static void test_growth(void **state)
{
	struct tw_prom p = {};
	size_t lines = 0;

	(void)state;
	for (int i = 0; i < 20000; i++)
		tw_prom_u64(&p, "toolwall_many", NULL, (uint64_t)i);
	assert_false(p.oom);
	for (size_t k = 0; k < p.len; k++)
		lines += p.buf[k] == '\n';
	assert_int_equal(lines, 20000);
	assert_non_null(strstr(p.buf, "toolwall_many 19999\n"));
	free(p.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_and_samples),
		cmocka_unit_test(test_label_escapes),
		cmocka_unit_test(test_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_display.c - agent-controlled text made inert (display.h): terminal
 * controls, C1 controls, invalid UTF-8 and backslashes escaped, printable
 * UTF-8 kept, argument boundaries visible.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "display.h"

static const char *esc(const char *s, size_t len)
{
	static char out[512];

	tw_display_escape(s, len, out, sizeof(out));
	return out;
}

#define ESC(lit) esc(lit, sizeof(lit) - 1)

static void test_controls_are_visible(void **state)
{
	(void)state;
	assert_string_equal(ESC("a\nb"), "a\\nb");
	assert_string_equal(ESC("\033[2J\033]0;x\a"), "\\e[2J\\e]0;x\\a");
	assert_string_equal(ESC("row\rforged"), "row\\rforged");
	assert_string_equal(ESC("t\tb\bf\fv\v"), "t\\tb\\bf\\fv\\v");
	assert_string_equal(ESC("\x01\x1f\x7f"), "\\x01\\x1f\\x7f");
	assert_string_equal(ESC("nul\0byte"), "nul\\x00byte");
	assert_string_equal(ESC("back\\slash"), "back\\\\slash");
	/* C1 controls: CSI (U+009B) as UTF-8 */
	assert_string_equal(ESC("\xc2\x9b" "2J"), "\\xc2\\x9b2J");
}

static void test_utf8_kept_invalid_escaped(void **state)
{
	(void)state;
	assert_string_equal(ESC("café ✓ 日本"), "café ✓ 日本");
	assert_string_equal(ESC("\xff\xfe"), "\\xff\\xfe");
	assert_string_equal(ESC("a\xc3"), "a\\xc3");		/* cut short */
	assert_string_equal(ESC("\xc0\xaf"), "\\xc0\\xaf");	/* overlong */
	assert_string_equal(ESC("\xed\xa0\x80"), "\\xed\\xa0\\x80"); /* surrogate */
}

static void test_no_output_line_breaks(void **state)
{
	char in[256], out[64];

	(void)state;
	for (int i = 0; i < 256; i++)
		in[i] = (char)i;
	tw_display_escape(in, sizeof(in), out, sizeof(out));
	/* cut at a whole escape, never a raw control byte */
	for (size_t i = 0; out[i]; i++)
		assert_true((unsigned char)out[i] >= 0x20 &&
			    (unsigned char)out[i] != 0x7f);
	assert_true(strlen(out) < sizeof(out));
}

static void test_argv_boundaries(void **state)
{
	char out[256];
	json_t *a = json_pack("[s,s,s,s,s]", "/bin/sh", "-c", "echo a b", "",
			      "it's\n");

	(void)state;
	tw_display_argv(a, out, sizeof(out));
	assert_string_equal(out, "/bin/sh -c 'echo a b' '' 'it\\'s\\n'");
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controls_are_visible),
		cmocka_unit_test(test_utf8_kept_invalid_escaped),
		cmocka_unit_test(test_no_output_line_breaks),
		cmocka_unit_test(test_argv_boundaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

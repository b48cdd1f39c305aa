/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_policy.c - libFuzzer harness for the policy parser.
 *
 * Any bytes go through the whole pure front end: parse, link, sort the
 * diagnostics, free. The locator and the connect-entry and port parsers
 * also get the bytes on their own, since the parser only hands them text
 * that jansson has already accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "locate.h"
#include "policy.h"

static void fuzz_helpers(const uint8_t *data, size_t size)
{
	struct tw_port_range *ports;
	struct tw_endpoint ep;
	struct tw_lnode *root;
	char err[160], *s;
	size_t n;

	tw_locate((const char *)data, size, 0, 1, 1, &root);
	tw_locate_free(root);
	/* the string helpers take C strings: stop at the first NUL */
	s = strndup((const char *)data, size);
	if (!s)
		return;
	if (!tw_endpoint_parse(s, &ep, err, sizeof(err)))
		tw_endpoint_free(&ep);
	if (!tw_ports_parse(s, &ports, &n, err, sizeof(err)))
		free(ports);
	tw_name_valid(s);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tw_policy pol = { 0 };
	struct tw_diags diags = { 0 };

	tw_policy_parse(&pol, "fuzz.json", (const char *)data, size, &diags);
	tw_policy_link(&pol, &diags);
	tw_diags_sort(&diags);
	tw_policy_free(&pol);
	tw_diags_free(&diags);
	fuzz_helpers(data, size);
	return 0;
}

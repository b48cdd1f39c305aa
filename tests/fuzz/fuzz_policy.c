/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_policy.c - libFuzzer harness for the policy parser.
 *
 * Any bytes go through the whole pure front end: parse, link, sort the
 * diagnostics, free. The locator, the connect-entry and the port parsers
 * also get the bytes on their own, since the parser only hands them text
 * that jansson has already accepted. Where jansson accepts the bytes, the
 * locator must agree with it on every key and element (else abort), since
 * a disagreement would put diagnostics in the wrong place.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "locate.h"
#include "policy.h"

/* Recursion is bounded by jansson's own depth limit. */
static void same_shape(json_t *v, const struct tw_lnode *n)
{
	const char *key;
	size_t i = 0;
	json_t *e;

	if (!n || n->line < 1 || n->col < 1)
		abort();
	if (json_is_object(v)) {
		if (n->type != '{' || n->nkids != json_object_size(v))
			abort();
		json_object_foreach(v, key, e)
			same_shape(e, tw_lnode_member(n, key, i++));
	} else if (json_is_array(v)) {
		if (n->type != '[' || n->nkids != json_array_size(v))
			abort();
		json_array_foreach(v, i, e)
			same_shape(e, tw_lnode_elem(n, i));
	} else if (n->type != (json_is_string(v) ? '"' : 'n')) {
		abort();
	}
}

static void fuzz_locate(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct tw_lnode *root;
	json_error_t je;
	json_t *v;
	int ret;

	ret = tw_locate(text, size, 0, 1, 1, &root);
	/* jansson skips some NUL bytes; the parser refuses them first */
	v = memchr(text, '\0', size) ? NULL :
		json_loadb(text, size,
			   JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &je);
	if (v) {
		if (ret)
			abort();
		same_shape(v, root);
	}
	json_decref(v);
	tw_locate_free(root);
}

static void fuzz_strings(const uint8_t *data, size_t size)
{
	struct tw_port_range *ports;
	struct tw_endpoint ep;
	char err[160], *s;
	size_t n;

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
	fuzz_locate(data, size);
	fuzz_strings(data, size);
	return 0;
}

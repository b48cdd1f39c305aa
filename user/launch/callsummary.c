// SPDX-License-Identifier: GPL-2.0-only
/*
 * callsummary.c - a tool call's denial summary, in prose and in JSON (see
 * callsummary.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callsummary.h"
#include "util.h"

void tw_call_summary_print(json_t *end, const char *ctx)
{
	json_t *den = json_object_get(end, "denials"), *x;
	size_t i, n = json_array_size(den);
	int lingering = json_integer_value(json_object_get(end, "lingering"));

	if (n)
		fprintf(stderr,
			"toolwall: %zu kind%s of operation denied in %s "
			"during this tool call:\n",
			n, n == 1 ? "" : "s", ctx);
	json_array_foreach (den, i, x) {
		const char *what = json_string_value(json_object_get(x, "what"));
		const char *hint = json_string_value(json_object_get(x, "hint"));
		long long count = json_integer_value(json_object_get(x, "count"));

		fprintf(stderr, "  - %s", what ? what : "?");
		if (count > 1)
			fprintf(stderr, " (%lld times)", count);
		fprintf(stderr, ": %s.",
			json_string_value(json_object_get(x, "reason")));
		if (hint && *hint)
			fprintf(stderr, " Would be allowed by %s.", hint);
		else if (what && strncmp(what, "socket(", 7))
			fprintf(stderr, " No bundle allows it.");
		fputc('\n', stderr);
	}
	json_array_foreach (json_object_get(end, "limits_hit"), i, x)
		fprintf(stderr, "toolwall: %s.\n",
			json_string_value(json_object_get(x, "reason")));
	if (lingering > 0)
		fprintf(stderr,
			"toolwall: %d process%s of this call still run%s, "
			"confined to %s\n",
			lingering, lingering == 1 ? "" : "es",
			lingering == 1 ? "s" : "", ctx);
}

json_t *tw_call_summary_json(json_t *end, const char *ctx, const char *call_id,
			int exit_status)
{
	static const char *const keep[] = { "call_id", "context", "denials",
					    "limits_hit", "lingering" };
	json_t *s = json_pack("{s:i,s:s?,s:s?}", "v", TW_CTL_VERSION,
			      "call_id", call_id, "context", ctx);

	if (!s)
		return NULL;
	for (size_t i = 0; end && i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *x = json_object_get(end, keep[i]);

		if (x)
			json_object_set(s, keep[i], x);
	}
	if (!end)
		json_object_set_new(
			s, "error",
			json_string("the daemon was unreachable at the end of "
				    "the call: its denials are in the audit "
				    "log only"));
	json_object_set_new(s, "exit_status", json_integer(exit_status));
	return s;
}

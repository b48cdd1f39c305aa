/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * callsummary.h - what a tool call was denied, told twice when it ends: in
 * prose on stderr for the agent to read, and as one JSON object for the
 * runtime (`exec --summary-json FD`, toolwall-protocol(7)).
 */
#ifndef TW_CALLSUMMARY_H
#define TW_CALLSUMMARY_H

#include <jansson.h>

/* The prose, from the daemon's call-end reply END, on stderr. */
void tw_call_summary_print(json_t *end, const char *ctx);
/*
 * The JSON summary (written as one line with tw_send_json): END's call_id, context, denials, limits_hit and
 * lingering (END NULL: the daemon was unreachable at the call's end, said
 * in "error"), with "v" and the call's EXIT status. A new reference.
 */
json_t *tw_call_summary_json(json_t *end, const char *ctx, const char *call_id,
			int exit_status);

#endif

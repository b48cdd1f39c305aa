/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * launch.h - one tool call run by root, from call-start to call-end
 * (launch.c): root's own `toolwall exec`, and the daemon's supervisor of
 * a call a launcher asked for (supervise.c).
 */
#ifndef TW_LAUNCH_H
#define TW_LAUNCH_H

#include <stddef.h>

#include <jansson.h>

#include "execargs.h"

/*
 * Run the call A describes: its exit status (128+N when signal N ended
 * it) or TW_EXIT_TOOLWALL (said on stderr); the denials in prose on
 * stderr unless A->quiet; the daemon's call-end reply in *END (NULL when
 * it was unreachable); the call's id in CALL_ID (IDLEN bytes). H: the
 * supervisor's hooks, or NULL.
 */
int tw_exec_call(const struct exec_args *a, const struct tw_exec_hooks *h,
		 json_t **end, char *call_id, size_t idlen);

#endif

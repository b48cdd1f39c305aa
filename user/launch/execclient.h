/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * execclient.h - `toolwall exec` for anyone but root: the call is asked of
 * the daemon over its launch socket (toolwall-protocol(7)), with this
 * process's stdin, stdout, stderr and working directory passed along, its
 * signals relayed, and the call's exit status and summary brought back.
 */
#ifndef TW_EXECCLIENT_H
#define TW_EXECCLIENT_H

#include "execargs.h"

/* The call's exit status, or TW_EXIT_TOOLWALL (said on stderr). */
int tw_exec_client(const struct exec_args *a);

#endif

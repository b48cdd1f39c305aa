/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fdpass.h - one datagram with open descriptors attached (SCM_RIGHTS), on
 * a SOCK_SEQPACKET socket: how the daemon hands the broker a credential
 * store it opened (the broker, without privileges, could not open it, and
 * the daemon never reads it).
 */
#ifndef TW_FDPASS_H
#define TW_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

#define TW_FDPASS_MAX 64 /* descriptors in one datagram */

/* Send BUF[0..LEN) with FDS[0..N) attached (N <= TW_FDPASS_MAX). Returns
 * 0 or -errno. The descriptors stay open here. */
int tw_fdpass_send(int sock, const void *buf, size_t len, const int *fds,
		   size_t n);

/*
 * Receive one datagram into BUF (at most LEN bytes), without blocking,
 * and the descriptors that came with it into FDS (close-on-exec; *N of
 * them, at most TW_FDPASS_MAX). Returns its length, 0 at end of stream,
 * or -errno (-EAGAIN: nothing waiting).
 */
ssize_t tw_fdpass_recv(int sock, void *buf, size_t len, int *fds, size_t *n);

#endif

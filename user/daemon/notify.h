/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * notify.h - the service manager's readiness protocol (sd_notify(3)),
 * spoken directly: one datagram of "KEY=VALUE\n" lines to the unix socket
 * named by $NOTIFY_SOCKET (a path, or an abstract name written "@name").
 * No libsystemd: the protocol is one sendto().
 *
 * The daemon sends READY=1 once enforcement is up (programs attached,
 * policy pushed, control socket and resolver serving), RELOADING=1 then
 * READY=1 around a reload, STOPPING=1 at stop, and STATUS= lines that
 * `systemctl status` shows. A leaf: it depends on nothing of ours.
 */
#ifndef TW_NOTIFY_H
#define TW_NOTIFY_H

/*
 * Take the socket from $NOTIFY_SOCKET and unset it, so that nothing the
 * daemon starts (tool calls) inherits it. 0 when there is a socket, 1
 * when there is none (not started by a service manager), -EINVAL when
 * the variable is not a usable address (-EAFNOSUPPORT: a form this does
 * not speak, e.g. vsock:).
 */
int tw_notify_init(void);

/*
 * Send one message (printf format; lines separated by '\n'). 0 when sent
 * or when there is no socket, -errno when sending failed.
 */
int tw_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

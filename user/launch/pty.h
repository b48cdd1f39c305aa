/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pty.h - a tool call's own terminal.
 *
 * A call runs in a session of its own. When any of the launcher's stdin,
 * stdout or stderr is a terminal, the call gets a fresh pty instead (as
 * its controlling terminal, on exactly those descriptors) and the launcher
 * relays between it and the user's terminal: keystrokes (ctrl-C, ctrl-D
 * included: the call's line discipline turns them into signals and EOF),
 * output, and window size. When the call's first process ends, the relay
 * stops and the pty is hung up, so a process the call left behind can no
 * longer read what the user types next (an inherited descriptor of the
 * user's own terminal would let it, setsid or not). Pipes and files pass
 * through untouched, as before.
 */
#ifndef TW_PTY_H
#define TW_PTY_H

#include <stdbool.h>
#include <sys/types.h>
#include <termios.h>

struct tw_pty {
	int master;	/* -1: no pty (no terminal among fds 0-2) */
	int slave;
	int in_fd;	/* the user's terminal we read keystrokes from, or -1 */
	int out_fd;	/* where the call's terminal output goes */
	bool tty[3];	/* which of fds 0-2 the call gets the pty on */
	bool raw;	/* in_fd switched to raw mode; saved restores it */
	struct termios saved;
};

/* In the launcher, before the fork: open the pty if a terminal is among
 * fds 0-2 (root's, mode 0600: only the call's descriptors and its
 * /dev/tty reach it). 0 or -errno. */
int tw_pty_open(struct tw_pty *p);
/* In the call's first process: a new session; with a pty, make it the
 * controlling terminal and put it on the descriptors that were terminals.
 * 0 or -errno. */
int tw_pty_enter(struct tw_pty *p);
/* In the launcher, after the fork: relay until PID exits or DONE_FD
 * (when >= 0) tells the command's end, forwarding SIGINT/SIGQUIT (to the
 * call's foreground process group; without a pty to PID, which passes
 * them to the command's group), SIGTERM, SIGHUP, SIGUSR1/2 (to PID) and
 * window changes. DONE_FD carries wait statuses: a stop suspends the
 * launcher as the shell's job (SIGCONT to PID when it resumes); anything
 * else is the end: *DONE gets it (-1 at EOF) and -1 is returned. Else
 * returns PID's wait status. Restores the user's terminal and hangs the
 * pty up. */
int tw_pty_relay(struct tw_pty *p, pid_t pid, int done_fd, int *done);
/* Restore the user's terminal and close what is open (idempotent). */
void tw_pty_close(struct tw_pty *p);

#endif

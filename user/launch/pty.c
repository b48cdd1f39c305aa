// SPDX-License-Identifier: GPL-2.0-only
/*
 * pty.c - a tool call's own terminal, relayed by the launcher (see pty.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pty.h"

#define RELAY_BUF 4096
#define DRAIN_MS 1000 /* at most this long reading output after the end */

int tw_pty_open(struct tw_pty *p)
{
	struct termios tio;
	struct winsize ws;
	int term = -1, err;

	memset(p, 0, sizeof(*p));
	p->master = p->slave = p->in_fd = p->out_fd = -1;
	for (int fd = 0; fd < 3; fd++) {
		p->tty[fd] = isatty(fd);
		if (p->tty[fd] && term < 0)
			term = fd;
	}
	if (term < 0)
		return 0;
	p->in_fd = p->tty[0] ? 0 : -1;
	p->out_fd = p->tty[1] ? 1 : p->tty[2] ? 2 : -1;
	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->master < 0)
		goto fail;
	if (grantpt(p->master) || unlockpt(p->master))
		goto fail;
	p->slave = open(ptsname(p->master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (p->slave < 0)
		goto fail;
	/* root's, 0600: other calls of the same account cannot open it; the
	 * call itself reaches it through its descriptors and /dev/tty */
	if (fchmod(p->slave, 0600))
		goto fail;
	/* it starts as the user's terminal is now: modes, size */
	if (tcgetattr(term, &tio) == 0)
		tcsetattr(p->slave, TCSANOW, &tio);
	if (ioctl(term, TIOCGWINSZ, &ws) == 0)
		ioctl(p->slave, TIOCSWINSZ, &ws);
	if (fcntl(p->master, F_SETFL, O_NONBLOCK) < 0)
		goto fail;
	return 0;
fail:
	err = -errno;
	tw_pty_close(p);
	return err;
}

int tw_pty_enter(struct tw_pty *p)
{
	if (setsid() < 0)
		return -errno;
	if (p->master < 0)
		return 0;
	close(p->master);
	if (ioctl(p->slave, TIOCSCTTY, 0) < 0)
		return -errno;
	for (int fd = 0; fd < 3; fd++)
		if (p->tty[fd] && dup2(p->slave, fd) < 0)
			return -errno;
	if (p->slave > 2)
		close(p->slave);
	return 0;
}

void tw_pty_close(struct tw_pty *p)
{
	if (p->raw) {
		tcsetattr(p->in_fd, TCSADRAIN, &p->saved);
		p->raw = false;
	}
	if (p->master >= 0)
		close(p->master);
	if (p->slave >= 0)
		close(p->slave);
	p->master = p->slave = -1;
}

/* Write all of BUF to the user's terminal (blocking, as a terminal is). */
static void put_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the user's terminal is gone: drop output */
		buf += n;
		len -= (size_t)n;
	}
}

/* Read what the call wrote, for at most DRAIN_MS after its end: its last
 * output may still be in the pty; a process it left behind may not keep
 * us here. */
static void drain(struct tw_pty *p)
{
	struct pollfd pf = { .fd = p->master, .events = POLLIN };
	struct timespec t0, t;
	char buf[RELAY_BUF];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 +
			    (t.tv_nsec - t0.tv_nsec) / 1000000 >
		    DRAIN_MS)
			return;
		if (poll(&pf, 1, 20) <= 0)
			return;
		n = read(p->master, buf, sizeof(buf));
		if (n <= 0)
			return;
		if (p->out_fd >= 0)
			put_all(p->out_fd, buf, (size_t)n);
	}
}

static void winsize_copy(struct tw_pty *p)
{
	int term = p->in_fd >= 0 ? p->in_fd : p->out_fd;
	struct winsize ws;

	if (term >= 0 && ioctl(term, TIOCGWINSZ, &ws) == 0)
		ioctl(p->master, TIOCSWINSZ, &ws);
}

static void forward(struct tw_pty *p, pid_t pid, int sig)
{
	pid_t fg;

	if ((sig == SIGINT || sig == SIGQUIT) && p->master >= 0) {
		/* as a terminal would: the foreground process group */
		fg = tcgetpgrp(p->master);
		if (fg > 0) {
			kill(-fg, sig);
			return;
		}
	}
	/* to the call's init, which passes it on to the command (SIGINT and
	 * SIGQUIT to its process group) */
	kill(pid, sig);
}

/*
 * The call's first process stopped (SIGSTOP; a ctrl-Z on its terminal
 * stops nothing, its session being an orphaned process group): stop with
 * it, as the job the user's shell knows is this launcher, with the user's
 * terminal back as it was; when continued, take the terminal again and
 * continue the call.
 */
static void suspend(struct tw_pty *p, pid_t pid)
{
	pid_t pp = getppid();
	struct termios raw;
	sigset_t cont;

	/* No shell with job control above us (an orphaned process group,
	 * where the kernel drops SIGTSTP): nobody could continue us, so the
	 * call goes on at once, as a shell without job control would. */
	if (getsid(pp) != getsid(0) || getpgid(pp) == getpgrp()) {
		kill(-pid, SIGCONT);
		kill(pid, SIGCONT);
		return;
	}
	if (p->raw)
		tcsetattr(p->in_fd, TCSADRAIN, &p->saved);
	sigemptyset(&cont);
	sigaddset(&cont, SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &cont, NULL);
	signal(SIGTSTP, SIG_DFL);
	raise(SIGTSTP); /* returns once the shell continues us */
	if (p->raw) {
		raw = p->saved;
		cfmakeraw(&raw);
		tcsetattr(p->in_fd, TCSADRAIN, &raw);
	}
	winsize_copy(p);
	kill(-pid, SIGCONT);
	kill(pid, SIGCONT);
}

/* Keystrokes on their way to the call, and the relay's view of both ends. */
struct relay {
	char in[RELAY_BUF];
	size_t in_len, in_off;
	bool in_open; /* the user's side still gives input */
	bool idle;    /* no process holds the pty any more */
};

static const int relay_sigs[] = { SIGCHLD, SIGWINCH, SIGINT,  SIGQUIT,
				  SIGTERM, SIGHUP,   SIGUSR1, SIGUSR2 };

/* The signals the relay handles, as a signalfd (-1: none, then polled);
 * the user's terminal in raw mode when it is one. */
static int relay_start(struct tw_pty *p, const struct relay *r)
{
	sigset_t set;
	int sfd;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(relay_sigs) / sizeof(relay_sigs[0]); i++)
		sigaddset(&set, relay_sigs[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* blocked, they queue for the signalfd; an ignored one would not */
	for (size_t i = 0; i < sizeof(relay_sigs) / sizeof(relay_sigs[0]); i++)
		signal(relay_sigs[i], SIG_DFL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (p->slave >= 0) {
		close(p->slave); /* the call holds it now */
		p->slave = -1;
	}
	if (r->in_open && tcgetattr(p->in_fd, &p->saved) == 0) {
		struct termios raw = p->saved;

		cfmakeraw(&raw);
		/* keystrokes go to the call's terminal unchanged */
		if (tcsetattr(p->in_fd, TCSADRAIN, &raw) == 0)
			p->raw = true;
	}
	return sfd;
}

static void relay_signals(struct tw_pty *p, pid_t pid, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGWINCH && p->master >= 0)
			winsize_copy(p);
		else if (si.ssi_signo != SIGCHLD && si.ssi_signo != SIGWINCH)
			forward(p, pid, (int)si.ssi_signo);
	}
}

/* The pty's side: its output to the user, pending keystrokes into it. */
static void relay_master(struct tw_pty *p, struct relay *r, short revents)
{
	char out[RELAY_BUF];

	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		ssize_t n = read(p->master, out, sizeof(out));

		if (n > 0 && p->out_fd >= 0)
			put_all(p->out_fd, out, (size_t)n);
		else if (n < 0 && errno == EIO)
			r->idle = true; /* no process holds the pty */
	}
	if (r->in_len && (revents & POLLOUT)) {
		ssize_t n = write(p->master, r->in + r->in_off, r->in_len);

		if (n > 0) {
			r->in_off += (size_t)n;
			r->in_len -= (size_t)n;
			if (!r->in_len)
				r->in_off = 0;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			r->in_len = r->in_off = 0;
		}
	}
}

/* The user's side: keystrokes in; at its end, the call sees end of input. */
static void relay_input(struct tw_pty *p, struct relay *r)
{
	ssize_t n = read(p->in_fd, r->in, sizeof(r->in));
	struct termios t;

	if (n > 0) {
		r->in_len = (size_t)n;
		r->in_off = 0;
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		r->in_open = false;
		if (tcgetattr(p->master, &t) == 0) {
			r->in[0] = (char)t.c_cc[VEOF];
			r->in_len = 1;
			r->in_off = 0;
		}
	}
}

int tw_pty_relay(struct tw_pty *p, pid_t pid, int done_fd, int *done)
{
	struct relay r = { .in_open = p->in_fd >= 0 && p->master >= 0 };
	struct pollfd pf[4];
	int sfd = relay_start(p, &r), status = 0;

	for (;;) {
		pid_t w = waitpid(pid, &status,
				  WNOHANG | (p->master >= 0 ? WUNTRACED : 0));
		int nf = 0, im = -1, ii = -1, id = -1;

		if (w == pid && WIFSTOPPED(status)) {
			suspend(p, pid);
			continue;
		}
		if (w == pid || (w < 0 && errno == ECHILD))
			break;
		pf[nf++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		if (p->master >= 0 && !r.idle) {
			im = nf;
			pf[nf++] = (struct pollfd){
				.fd = p->master,
				.events = POLLIN | (r.in_len ? POLLOUT : 0)
			};
		}
		if (r.in_open && !r.in_len) {
			ii = nf;
			pf[nf++] = (struct pollfd){ .fd = p->in_fd,
						    .events = POLLIN };
		}
		if (done_fd >= 0) {
			id = nf;
			pf[nf++] = (struct pollfd){ .fd = done_fd,
						    .events = POLLIN };
		}
		if (sfd < 0) /* no signalfd: look for the end now and then */
			pf[0].fd = -1;
		if (poll(pf, (nfds_t)nf, sfd < 0 ? 100 : -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (id >= 0 && (pf[id].revents & (POLLIN | POLLHUP | POLLERR))) {
			int v;
			ssize_t n = read(done_fd, &v, sizeof(v));

			if (n < 0 && errno == EINTR)
				continue;
			if (n == sizeof(v) && WIFSTOPPED(v)) {
				suspend(p, pid); /* the command stopped itself */
				continue;
			}
			*done = n == sizeof(v) ? v : -1;
			status = -1; /* the call's end, told on DONE_FD */
			break;
		}
		if (pf[0].revents & POLLIN)
			relay_signals(p, pid, sfd);
		if (im >= 0)
			relay_master(p, &r, pf[im].revents);
		if (r.idle)
			r.in_len = 0; /* nobody left to read it */
		if (ii >= 0 && (pf[ii].revents & (POLLIN | POLLHUP | POLLERR)))
			relay_input(p, &r);
	}
	if (p->master >= 0)
		drain(p);
	/* the user's terminal back as it was, then the pty hung up: what
	 * the call left behind reads EOF or EIO, never the user's keys */
	tw_pty_close(p);
	if (sfd >= 0)
		close(sfd);
	return status;
}

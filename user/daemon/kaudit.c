// SPDX-License-Identifier: GPL-2.0-only
/*
 * kaudit.c - Landlock's own audit records, the syscall audit's second
 * source (see kaudit.h). Read-only: the daemon joins the kernel audit
 * log's multicast group, which needs no audit daemon and changes nothing
 * for one that runs; it never turns auditing on or off.
 *
 * One kernel event is several records sharing a serial ("audit(T:SERIAL)"),
 * ended by an EOE record:
 *   1423 LANDLOCK_ACCESS  domain=ID blockers=fs.execute path="/x" ...
 *   1424 LANDLOCK_DOMAIN  domain=ID status=allocated ... pid=P (first use)
 *   1300 SYSCALL          ... syscall=59 ... pid=P ... comm="sh" ...
 *   1320 EOE
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/netlink.h>

#include "cgroups.h"
#include "fsexplain.h"
#include "kaudit.h"
#include "state.h"
#include "sysaudit.h"
#include "util.h"

#ifndef AUDIT_LANDLOCK_ACCESS
#define AUDIT_LANDLOCK_ACCESS 1423
#endif
#ifndef AUDIT_LANDLOCK_DOMAIN
#define AUDIT_LANDLOCK_DOMAIN 1424
#endif
#ifndef AUDIT_NLGRP_READLOG
#define AUDIT_NLGRP_READLOG 1
#endif

int tw_kaudit_open(char *why, size_t len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = 1u << (AUDIT_NLGRP_READLOG - 1) };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			NETLINK_AUDIT);

	if (fd < 0) {
		snprintf(why, len, "no kernel audit subsystem: %s",
			 strerror(errno));
		return -errno;
	}
	/* Room for bursts: the kernel drops what does not fit (counted). */
	int rcv = 4 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = -errno;

		snprintf(why, len, "cannot read the kernel audit log: %s",
			 strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

int tw_kaudit_enabled(void)
{
	struct {
		struct nlmsghdr h;
		struct audit_status s;
	} req = { .h = { .nlmsg_len = NLMSG_LENGTH(0),
			 .nlmsg_type = AUDIT_GET,
			 .nlmsg_flags = NLM_F_REQUEST } };
	char buf[512];
	struct timeval tv = { 0, 200000 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	int ret = -ENODATA;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, &req, req.h.nlmsg_len, 0) < 0) {
		ret = -errno;
		goto out;
	}
	for (int i = 0; i < 4; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < (ssize_t)sizeof(*h))
			break;
		if (h->nlmsg_type == AUDIT_GET &&
		    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct audit_status))) {
			struct audit_status *s = NLMSG_DATA(h);

			ret = s->enabled ? 1 : 0;
			break;
		}
		if (h->nlmsg_type == NLMSG_ERROR) {
			struct nlmsgerr *e = NLMSG_DATA(h);

			if (e->error) {
				ret = e->error;
				break;
			}
		}
	}
out:
	close(fd);
	return ret;
}

/*
 * The value of KEY= in a record's text, unquoted, or hex-decoded (the
 * kernel hex-encodes strings with spaces, quotes or control characters).
 */
static bool field(const char *text, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);
	const char *p = text;

	if (!len)
		return false;
	for (;;) {
		p = strstr(p, key);
		if (!p)
			return false;
		if ((p == text || p[-1] == ' ') && p[kl] == '=')
			break;
		p += kl;
	}
	p += kl + 1;
	if (*p == '"') {
		const char *e = strchr(p + 1, '"');
		size_t n = e ? (size_t)(e - p - 1) : strlen(p + 1);

		snprintf(out, len, "%.*s", (int)n, p + 1);
		return true;
	}
	size_t n = strcspn(p, " \n"), o = 0;
	bool hex = n % 2 == 0 && n > 0 && strspn(p, "0123456789ABCDEF") >= n &&
		   (!strcmp(key, "path") || !strcmp(key, "comm") ||
		    !strcmp(key, "exe") || !strcmp(key, "name"));

	if (!hex) {
		snprintf(out, len, "%.*s", (int)n, p);
		return true;
	}
	for (size_t i = 0; i + 1 < n && o + 1 < len; i += 2) {
		unsigned v;

		if (sscanf(p + i, "%2x", &v) != 1)
			break;
		out[o++] = (char)v;
	}
	out[o] = '\0';
	return true;
}

/* "audit(1795943497.801:17): ..." -> serial 17, and the text after. */
static const char *serial_of(const char *msg, unsigned long *serial,
			     uint64_t *ts_ns)
{
	const char *colon = strstr(msg, "):");
	const char *p = colon, *open = strstr(msg, "audit(");
	unsigned long sec = 0, ms = 0;

	if (!colon)
		return NULL;
	while (p > msg && p[-1] != ':')
		p--;
	*serial = strtoul(p, NULL, 10);
	*ts_ns = 0;
	if (open && sscanf(open, "audit(%lu.%lu:", &sec, &ms) == 2)
		*ts_ns = (uint64_t)sec * 1000000000ull + ms * 1000000ull;
	return colon + 2 + (colon[2] == ' ');
}

/* Landlock's rights, in the audit log's words. */
static const char *action_of(const char *blockers, enum tw_fs_want *want)
{
	*want = TW_WANT_WRITE;
	if (strstr(blockers, "fs.execute")) {
		*want = TW_WANT_EXEC;
		return "exec";
	}
	if (strstr(blockers, "fs.read_")) {
		*want = TW_WANT_READ;
		return "open";
	}
	if (strstr(blockers, "fs.write_file") || strstr(blockers, "fs.truncate"))
		return "open";
	if (strstr(blockers, "fs.make_"))
		return "create";
	if (strstr(blockers, "fs.remove_"))
		return "unlink";
	if (strstr(blockers, "fs.refer"))
		return "rename";
	if (strstr(blockers, "fs.ioctl_dev"))
		return "ioctl";
	if (strstr(blockers, "scope.signal"))
		return "kill";
	if (strstr(blockers, "scope.abstract_unix_socket"))
		return "unix_connect";
	if (strstr(blockers, "net.connect_tcp"))
		return "connect";
	if (strstr(blockers, "net.bind_tcp"))
		return "bind";
	if (strstr(blockers, "ptrace"))
		return "ptrace";
	return "landlock";
}

/* Write the record of the pending event, if it is a Landlock denial. */
static void emit(struct tw_daemon *d)
{
	struct tw_kaudit_event *k = &d->kaudit_ev;
	const struct tw_revision *rev = NULL;
	const struct tw_context *x = NULL;
	struct tw_call *call = NULL;
	struct tw_fs_verdict v = {};
	enum tw_fs_want want;
	const char *action;
	uint64_t cgid = 0;
	int idx = -1;
	json_t *rec;

	if (!k->access[0])
		goto done;
	d->kaudit_records++;
	if (k->pid && tw_sysaudit_pid_cgid(d, k->pid, &cgid) == 0)
		call = tw_call_find(d, cgid);
	if (!call && k->domain_pid &&
	    tw_sysaudit_pid_cgid(d, k->domain_pid, &cgid) == 0)
		call = tw_call_find(d, cgid);
	if (call) {
		rev = &d->rev[d->slot];
		idx = rev->valid ? tw_compiled_find(&rev->comp, call->context) :
				   -1;
		if (idx >= 0)
			x = &rev->comp.ctx[idx];
		else
			rev = NULL;
	}
	field(k->access, "blockers", k->blockers, sizeof(k->blockers));
	field(k->access, "path", k->path, sizeof(k->path));
	field(k->access, "domain", k->domain, sizeof(k->domain));
	action = action_of(k->blockers, &want);
	if (rev && k->path[0] == '/')
		tw_fs_explain(&rev->comp, idx, k->path, want, NULL, &v);

	rec = tw_audit_record(&d->audit, "deny", k->ts_ns);
	json_object_set_new(rec, "source", json_string("landlock"));
	tw_record_where(rec, rev ? &rev->pol : NULL, x, call);
	json_object_set_new(rec, "pid",
			    k->pid ? json_integer(k->pid) : json_null());
	json_object_set_new(rec, "comm",
			    k->comm[0] ? tw_json_bytes(k->comm, strlen(k->comm)) :
					 json_null());
	json_object_set_new(rec, "action", json_string(action));
	json_object_set_new(rec, "blockers", tw_json_text(k->blockers));
	if (k->path[0])
		json_object_set_new(rec, "path",
				    tw_json_bytes(k->path, strlen(k->path)));
	json_object_set_new(rec, "landlock_domain", tw_json_text(k->domain));
	json_object_set_new(rec, "kernel_audit_serial",
			    json_integer((json_int_t)k->serial));
	json_object_set_new(
		rec, "reason",
		tw_json_text(v.reason[0] ? v.reason :
					   "Landlock refused it (kernel audit)"));
	json_object_set_new(rec, "hint", tw_json_text(v.hint));
	json_object_set_new(rec, "policy_rev",
			    rev ? json_string(rev->comp.revision) :
				  json_null());
	tw_audit_write(&d->audit, rec);
done:
	memset(k, 0, sizeof(*k));
}

static void take(struct tw_daemon *d, int type, const char *msg)
{
	struct tw_kaudit_event *k = &d->kaudit_ev;
	unsigned long serial;
	uint64_t ts;
	const char *text = serial_of(msg, &serial, &ts);
	char num[32];

	if (!text)
		return;
	if (k->serial && serial != k->serial)
		emit(d); /* the EOE was lost: finish the previous event */
	k->serial = serial;
	if (!k->ts_ns)
		k->ts_ns = ts;
	switch (type) {
	case AUDIT_LANDLOCK_ACCESS:
		snprintf(k->access, sizeof(k->access), "%s", text);
		break;
	case AUDIT_LANDLOCK_DOMAIN:
		if (field(text, "pid", num, sizeof(num)))
			k->domain_pid = (uint32_t)strtoul(num, NULL, 10);
		break;
	case AUDIT_SYSCALL:
		if (field(text, "pid", num, sizeof(num)))
			k->pid = (uint32_t)strtoul(num, NULL, 10);
		field(text, "comm", k->comm, sizeof(k->comm));
		break;
	case AUDIT_EOE:
		emit(d);
		break;
	default:
		break;
	}
}

void tw_kaudit_read(struct tw_daemon *d)
{
	char buf[16384];

	/* The exec records first: they name the pids Landlock's records
	 * carry, and the kernel audit log is faster than our drain timer. */
	d->drain(d);

	for (;;) {
		ssize_t n = recv(d->kaudit_fd, buf, sizeof(buf) - 1, 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0) {
			if (errno == ENOBUFS)
				d->kaudit_overruns++; /* the kernel dropped
							 some: keep reading */
			if (errno == ENOBUFS || errno == EINTR)
				continue;
			break;
		}
		int left = (int)n; /* NLMSG_NEXT may take it below 0 */

		for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			size_t l = h->nlmsg_len - NLMSG_HDRLEN;
			char line[8192]; /* the kernel does not terminate it */

			snprintf(line, sizeof(line), "%.*s", (int)l,
				 (const char *)NLMSG_DATA(h));
			take(d, h->nlmsg_type, line);
		}
	}
	d->kaudit_ev.ticks = 0;
}

void tw_kaudit_tick(struct tw_daemon *d)
{
	/* For status: asked here, once a second, not per status request. */
	if (d->kaudit_fd >= 0)
		d->kaudit_enabled = tw_kaudit_enabled();
	/* Overruns of our socket: the kernel dropped audit messages for us.
	 * How many is unknown; each overrun is at least one. */
	if (d->kaudit_overruns > d->kaudit_overruns_seen) {
		tw_daemon_lost(d, d->kaudit_overruns - d->kaudit_overruns_seen,
			       true, "kernel-audit-log",
			       "the kernel audit log overran toolwall's "
			       "socket: some of Landlock's own records were "
			       "not read (the tracepoint records of the same "
			       "refusals are complete)");
		d->kaudit_overruns_seen = d->kaudit_overruns;
	}
	/* An event whose EOE never came (no syscall context): a second on. */
	if (d->kaudit_ev.serial && d->kaudit_ev.ticks++)
		emit(d);
}

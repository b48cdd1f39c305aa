// SPDX-License-Identifier: GPL-2.0-only
/*
 * sysaudit.c - the syscall audit's user half (see sysaudit.h):
 * proc.bpf.c's events turned into audit records.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgroups.h"
#include "creds.h"
#include "fsexplain.h"
#include "grants.h"
#include "maps.h"
#include "state.h"
#include "sysaudit.h"
#include "syscalls.h"
#include "toolwall.h"
#include "util.h"

/* ---- events -> records ------------------------------------------ */

/* The access a refused file syscall wanted. */
static enum tw_fs_want wanted(const struct tw_sysaudit *s,
			      const struct tw_proc_event *e)
{
	if (s->action == TW_SA_EXEC)
		return TW_WANT_EXEC;
	if (s->action == TW_SA_CHDIR)
		return TW_WANT_READ;
	if (s->action == TW_SA_OPEN) {
		long fl;

#ifdef SYS_creat
		if (s->nr == SYS_creat)
			return TW_WANT_WRITE;
#endif
		if (s->flags_arg < 0)
			return TW_WANT_READ; /* openat2: flags are in memory */
		fl = (long)e->args[s->flags_arg];
		return (fl & O_ACCMODE) != O_RDONLY ||
				       (fl & (O_CREAT | O_TRUNC)) ?
			       TW_WANT_WRITE :
			       TW_WANT_READ;
	}
	return TW_WANT_WRITE;
}

static void open_flags(long fl, char *buf, size_t len)
{
	static const struct {
		long bit;
		const char *name;
	} bits[] = { { O_CREAT, "O_CREAT" },	 { O_TRUNC, "O_TRUNC" },
		     { O_APPEND, "O_APPEND" },	 { O_EXCL, "O_EXCL" },
		     { O_DIRECTORY, "O_DIRECTORY" },
		     { O_NOFOLLOW, "O_NOFOLLOW" } };
	size_t off;

	off = (size_t)snprintf(buf, len, "%s",
			       (fl & O_ACCMODE) == O_WRONLY ? "O_WRONLY" :
			       (fl & O_ACCMODE) == O_RDWR   ? "O_RDWR" :
							      "O_RDONLY");
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if ((fl & bits[i].bit) && off < len)
			off += (size_t)snprintf(buf + off, len - off, "|%s",
						bits[i].name);
}

/*
 * Where a relative path of a live process points: its working directory,
 * or the directory fd of an *at syscall. Best effort: the process may be
 * gone by the time the event is read.
 */
static void resolve_path(const struct tw_sysaudit *s,
			 const struct tw_proc_event *e, char *out, size_t len)
{
	char raw[TW_PROC_PATH_LEN + 1], link[64], dir[4096] = "";
	ssize_t n = -1;

	snprintf(raw, sizeof(raw), "%.*s", (int)sizeof(e->path), e->path);
	if (s->fd_argn) {
		/* ftruncate and friends: the file the descriptor is open on */
		snprintf(link, sizeof(link), "/proc/%u/fd/%d", e->pid,
			 (int)e->args[s->fd_argn - 1]);
		n = readlink(link, raw, sizeof(raw) - 1);
		raw[n > 0 ? n : 0] = '\0';
		if (n <= 0)
			snprintf(raw, sizeof(raw), "fd %d",
				 (int)e->args[s->fd_argn - 1]);
		n = -1;
	} else if (raw[0] != '/' && raw[0]) {
		int dfd = s->dirfd_arg >= 0 ? (int)e->args[s->dirfd_arg] :
					      AT_FDCWD;

		if (dfd == AT_FDCWD)
			snprintf(link, sizeof(link), "/proc/%u/cwd", e->pid);
		else
			snprintf(link, sizeof(link), "/proc/%u/fd/%d", e->pid,
				 dfd);
		n = readlink(link, dir, sizeof(dir) - 1);
		if (n > 0)
			dir[n] = '\0';
	}
	tw_path_normalise(raw, n > 0 && dir[0] == '/' ? dir : NULL, out, len);
}

/* ---- credential values are never written ------------------------ */

void tw_call_secrets_load(struct tw_daemon *d, struct tw_call *c)
{
	const struct tw_revision *r = &d->rev[d->slot];
	const struct tw_context *x;
	struct tw_context granted;
	int ci, g;

	if (c->secrets_loaded || !r->valid ||
	    (ci = tw_compiled_find(&r->comp, c->context)) < 0)
		return; /* not yet: the next event tries again */
	x = &r->comp.ctx[ci];
	/* with what live grants gave the call when it started (right
	 * before this, at call-start) */
	g = tw_grants_call_context(d, &r->comp, x, c->call_id, &granted);
	if (g > 0)
		x = &granted;
	c->secrets_loaded = true;
	/* The audit writer keeps them out of every record (redact.h). */
	for (size_t i = 0; i < x->ncreds; i++) {
		struct tw_cred cr = { .name = x->creds[i].cred->name,
				      .source = x->creds[i].source };
		char *v = NULL;

		if (!cr.source || tw_cred_read(&cr))
			continue;
		if (!tw_cred_env_value(&cr, &v) && v && *v)
			tw_audit_secret_add(&d->audit, c->cgid, cr.name, v,
					    strlen(v));
		if (v) {
			explicit_bzero(v, strlen(v));
			free(v);
		}
		tw_cred_wipe(&cr);
	}
	if (g > 0)
		tw_context_free(&granted);
}

void tw_calls_secrets_load(struct tw_daemon *d)
{
	for (size_t i = 0; i < d->ncalls; i++)
		tw_call_secrets_load(d, &d->calls[i]);
}

/* ---- the records ------------------------------------------------- */

/* Who, where, when: the fields every syscall audit record carries. */
static json_t *record_start(struct tw_daemon *d, const char *event,
			    const struct tw_proc_event *e,
			    const struct tw_call *call,
			    const struct tw_revision *rev,
			    const struct tw_context *x)
{
	json_t *rec = tw_audit_record(&d->audit, event,
				      e->ts_ns + tw_boot_to_real_ns);

	tw_record_where(rec, rev ? &rev->pol : NULL, x, call);
	tw_record_who(rec, e->pid, e->tid, e->ts_ns, e->uid, e->comm,
		      sizeof(e->comm));
	json_object_set_new(rec, "ppid", json_integer(e->ppid));
	return rec;
}

static void record_end(json_t *rec, const struct tw_proc_event *e,
		       const struct tw_revision *rev)
{
	json_object_set_new(rec, "policy_rev",
			    rev ? json_string(rev->comp.revision) :
				  json_null());
	json_object_set_new(rec, "cgroup_id", json_integer((json_int_t)e->cgid));
}

static void exec_record(struct tw_daemon *d, const struct tw_proc_event *e,
			struct tw_call *call, const struct tw_revision *rev,
			const struct tw_context *x)
{
	json_t *rec = record_start(d, "exec", e, call, rev, x);
	json_t *argv = json_array();
	size_t n = e->argv_len < sizeof(e->argv) ? e->argv_len :
						   sizeof(e->argv);

	json_object_set_new(rec, "action", json_string("exec"));
	json_object_set_new(rec, "path",
			    tw_json_bytes(e->path,
					  strnlen(e->path, sizeof(e->path))));
	for (size_t i = 0; i < n;) {
		size_t l = strnlen(e->argv + i, n - i);

		json_array_append_new(argv, tw_json_bytes(e->argv + i, l));
		i += l + 1;
	}
	json_object_set_new(rec, "argv", argv);
	if (e->truncated & 2)
		json_object_set_new(rec, "argv_truncated", json_true());
	record_end(rec, e, rev);
	tw_audit_write(&d->audit, rec);
}

static void deny_record(struct tw_daemon *d, const struct tw_proc_event *e,
			struct tw_call *call, const struct tw_revision *rev,
			const struct tw_context *x, int ctx_idx)
{
	const struct tw_sysaudit *s = tw_sysaudit_find(e->sysnr);
	struct tw_fs_verdict v = {};
	char path[4096] = "", what[1200], flags[128] = "", shown[1100];
	enum tw_fs_want want = TW_WANT_READ;
	bool file = s && (s->path_arg >= 0 || s->fd_argn);
	json_t *rec;
	struct {
		uint64_t cgid;
		uint32_t pid, sysnr;
		int32_t err;
		uint32_t ctx;
		char path[TW_PROC_PATH_LEN];
		uint64_t args[2];
		char rev[65];
	} key;

	if (!s)
		return; /* the table changed under a pinned map: not ours */

	/* Floods: the same refusal of the same process only counts, judged
	 * on the event as it came (no /proc lookups per repeat). */
	memset(&key, 0, sizeof(key));
	key.cgid = e->cgid;
	key.pid = e->pid;
	key.sysnr = e->sysnr;
	key.err = e->err;
	key.ctx = e->ctx;
	memcpy(key.path, e->path, sizeof(key.path));
	if (!file || s->fd_argn) {
		key.args[0] = e->args[0];
		key.args[1] = e->args[1];
	} else if (s->dirfd_arg >= 0) {
		key.args[0] = e->args[s->dirfd_arg];
	}
	if (rev)
		memcpy(key.rev, rev->comp.revision, sizeof(key.rev));
	/* The agent's summary names the path as the program wrote it. */
	if (file) {
		want = wanted(s, e);
		tw_bytes_encode(e->path, strnlen(e->path, sizeof(e->path)),
				shown, sizeof(shown));
		snprintf(what, sizeof(what), "%s %s (%s)",
			 tw_sysaudit_action(s), shown[0] ? shown : "(fd)",
			 tw_fs_want_name(want));
	} else {
		snprintf(what, sizeof(what), "%s()", s->name);
	}
	if (tw_audit_aggregate(&d->audit, &key, sizeof(key),
			       e->ts_ns + tw_boot_to_real_ns)) {
		if (call)
			tw_call_note(call, what, strlen(what), what, NULL, NULL);
		return;
	}

	if (file) {
		resolve_path(s, e, path, sizeof(path));
		if (s->flags_arg >= 0)
			open_flags((long)e->args[s->flags_arg], flags,
				   sizeof(flags));
	}
	if (file && s->fd_argn && path[0] != '/') {
		snprintf(v.reason, sizeof(v.reason),
			 "%s refused on %s; the file could not be named: the "
			 "process had closed it or exited when the event was "
			 "read",
			 tw_fs_want_name(want), path);
	} else if (file && rev) {
		tw_fs_explain(&rev->comp, ctx_idx, path, want, d->policy_real,
			      &v);
	} else if (s->action == TW_SA_SIGNAL) {
		snprintf(v.reason, sizeof(v.reason),
			 "tool calls may not %s (Landlock scope; or the "
			 "account's own permissions)",
			 s->what);
	} else if (!file) {
		snprintf(v.reason, sizeof(v.reason),
			 "tool calls may not %s: seccomp denies %s()",
			 s->what, s->name);
	} else {
		snprintf(v.reason, sizeof(v.reason),
			 "%s refused in a context the daemon cannot name",
			 s->name);
	}

	rec = record_start(d, "deny", e, call, rev, x);
	json_object_set_new(rec, "action", json_string(tw_sysaudit_action(s)));
	json_object_set_new(rec, "syscall", json_string(s->name));
	json_object_set_new(rec, "errno",
			    json_string(e->err == EACCES ? "EACCES" :
					e->err == EPERM	 ? "EPERM" :
							   "E?"));
	if (file) {
		json_object_set_new(rec, "path",
				    tw_json_bytes(path, strlen(path)));
		json_object_set_new(rec, "access",
				    json_string(tw_fs_want_name(want)));
		if (*flags)
			json_object_set_new(rec, "flags", json_string(flags));
		if (e->truncated & 1)
			json_object_set_new(rec, "path_truncated", json_true());
	} else if (e->sysnr == SYS_socket || e->sysnr == SYS_socketpair) {
		json_object_set_new(rec, "socket",
				    json_pack("{s:I,s:I,s:I}", "family",
					      (json_int_t)e->args[0], "type",
					      (json_int_t)(e->args[1] & 0xff),
					      "protocol",
					      (json_int_t)e->args[2]));
	} else if (s->action == TW_SA_SIGNAL) {
		json_object_set_new(rec, "target_pid",
				    json_integer((json_int_t)(int)e->args[
					    e->sysnr == SYS_ptrace ? 1 : 0]));
	}
	json_object_set_new(rec, "reason", tw_json_text(v.reason));
	json_object_set_new(rec, "hint", tw_json_text(v.hint));
	record_end(rec, e, rev);
	tw_audit_write_first(&d->audit, rec, &key, sizeof(key), e->pid);
	if (call)
		tw_call_note(call, what, strlen(what), what, v.reason, v.hint);
}

int tw_sysaudit_pid_cgid(struct tw_daemon *d, uint32_t pid, uint64_t *cgid)
{
	char file[64], line[4096], path[8192];
	size_t n = sizeof(d->pids) / sizeof(d->pids[0]);
	FILE *f;

	/* Most recent first: a pid may have been reused. */
	for (size_t i = 0; i < n; i++) {
		size_t k = (d->pids_next + n - 1 - i) % n;

		if (d->pids[k].pid == pid && d->pids[k].cgid) {
			*cgid = d->pids[k].cgid;
			return 0;
		}
	}
	snprintf(file, sizeof(file), "/proc/%u/cgroup", pid);
	f = fopen(file, "re");
	if (!f)
		return -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, sizeof(path), "%s%s", d->ld.cg_mount, line + 3);
		fclose(f);
		return tw_cg_id(path, cgid) ? -ENOENT : 0;
	}
	fclose(f);
	return -ENOENT;
}

/* Inodes of the sockets in /proc/net/FILE bound to local port PORT. */
static size_t port_inodes(const char *file, unsigned port,
			  unsigned long *ino, size_t max)
{
	char path[64], line[512];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/net/%s", file);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		char local[64];
		unsigned lport;
		unsigned long inode;
		char *colon;

		/* sl local_address rem_address st tx:rx tr:when retr uid
		 * timeout inode */
		if (sscanf(line, " %*s %63s %*s %*s %*s %*s %*s %*s %*s %lu",
			   local, &inode) != 2)
			continue;
		colon = strrchr(local, ':');
		if (!colon || sscanf(colon + 1, "%x", &lport) != 1)
			continue;
		if (lport == port && inode)
			ino[n++] = inode;
	}
	fclose(f);
	return n;
}

/* Does process PID hold one of the sockets INO? */
static bool holds_socket(uint32_t pid, const unsigned long *ino, size_t n)
{
	char dir[64], link[96], target[64];
	struct dirent *de;
	bool found = false;
	DIR *dh;

	snprintf(dir, sizeof(dir), "/proc/%u/fd", pid);
	dh = opendir(dir);
	while (dh && !found && (de = readdir(dh))) {
		ssize_t l;
		unsigned long i;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		l = readlink(link, target, sizeof(target) - 1);
		if (l <= 0)
			continue;
		target[l] = '\0';
		if (sscanf(target, "socket:[%lu]", &i) != 1)
			continue;
		for (size_t k = 0; k < n && !found; k++)
			found = ino[k] == i;
	}
	if (dh)
		closedir(dh);
	return found;
}

/* Is PID (from cgroup.procs of DIR) the owner? Walks DIR's subtree. */
static uint32_t owner_in(const char *cg, const unsigned long *ino, size_t n,
			 int depth)
{
	char file[4200], line[32];
	struct dirent *de;
	uint32_t pid = 0;
	FILE *f;
	DIR *dh;

	snprintf(file, sizeof(file), "%s/cgroup.procs", cg);
	f = fopen(file, "re");
	while (f && !pid && fgets(line, sizeof(line), f)) {
		uint32_t p = (uint32_t)strtoul(line, NULL, 10);

		if (p && holds_socket(p, ino, n))
			pid = p;
	}
	if (f)
		fclose(f);
	if (pid || depth > 2)
		return pid;
	dh = opendir(cg);
	while (dh && !pid && (de = readdir(dh))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", cg, de->d_name);
		pid = owner_in(file, ino, n, depth + 1);
	}
	if (dh)
		closedir(dh);
	return pid;
}

int tw_socket_owner(struct tw_daemon *d, const char *ctx_cgroup,
		    const struct sockaddr *peer, bool tcp, uint32_t *pid)
{
	unsigned long ino[16];
	unsigned port;
	size_t n;
	char cg[4200];

	if (peer->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)peer)->sin_port);
	else if (peer->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)peer)->sin6_port);
	else
		return -EAFNOSUPPORT;
	/* A v6 socket may have sent to a mapped v4 address: both tables. */
	n = port_inodes(tcp ? "tcp" : "udp", port, ino, 16);
	n += port_inodes(tcp ? "tcp6" : "udp6", port, ino + n, 16 - n);
	if (!n)
		return -ENOENT;
	snprintf(cg, sizeof(cg), "%s/%s", d->ld.cg_root, ctx_cgroup);
	*pid = owner_in(cg, ino, n, 0);
	return *pid ? 0 : -ENOENT;
}

int tw_sysaudit_event(void *ctx, void *data, size_t size)
{
	struct tw_daemon *d = ctx;
	const struct tw_proc_event *e = data;
	const struct tw_revision *rev;
	const struct tw_context *x = NULL;
	struct tw_call *call;
	int idx = -1;

	if (size < TW_PROC_DENIED_SIZE ||
	    (e->kind == TW_PROC_EXEC && size < sizeof(*e)) ||
	    tw_daemon_recorded(d, 1, e->ts_ns, e->tid))
		return 0;
	d->proc_events++;
	call = tw_call_find(d, e->cgid);
	rev = tw_daemon_context(d, e->ctx, &idx);
	if (rev)
		x = &rev->comp.ctx[idx];
	if (call) /* a call adopted after a restart: its values now */
		tw_call_secrets_load(d, call);
	if (e->kind == TW_PROC_EXEC) {
		size_t n = sizeof(d->pids) / sizeof(d->pids[0]);

		d->pids[d->pids_next % n].pid = e->pid;
		d->pids[d->pids_next % n].cgid = e->cgid;
		d->pids_next = (d->pids_next + 1) % n;
		exec_record(d, e, call, rev, x);
	}
	else if (e->kind == TW_PROC_DENIED)
		deny_record(d, e, call, rev, x, idx);
	return 0;
}

void tw_sysaudit_account_loss(struct tw_daemon *d)
{
	uint64_t stats[TW_PSTAT_MAX];
	struct tw_proc_state st = {};
	__u32 zero = 0;

	if (tw_maps_percpu_sum(d->ld.maps.proc_stats, stats, TW_PSTAT_MAX) ||
	    bpf_map_lookup_elem(d->ld.maps.proc_state, &zero, &st))
		return;
	if (stats[TW_PSTAT_LOST] <= st.lost_seen)
		return;
	tw_daemon_lost(d, stats[TW_PSTAT_LOST] - st.lost_seen, false,
		       "kernel-syscall-audit",
		       "the syscall audit ring buffer was full; these execs "
		       "and refused syscalls happened but were not recorded");
	st.lost_seen = stats[TW_PSTAT_LOST];
	bpf_map_update_elem(d->ld.maps.proc_state, &zero, &st, BPF_ANY);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * audit.c - write audit records: seal them into the hash chain, rotate the
 * log, aggregate floods, copy to syslog, and account for every record
 * that could not be written. `toolwall audit` (reading) is audit_cmd.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_export.h"
#include "audit_seg.h"

/* ---- opening, and continuing the chain ---------------------------------- */

/* Create the missing directories above PATH: 0700, the log's own one
 * 0750 and of GROUP when responders share it. Existing ones are left as
 * they are (the log may live anywhere, /tmp included). */
static int mkdir_parents(const char *path, bool has_group, gid_t group)
{
	char buf[4096], *last;

	snprintf(buf, sizeof(buf), "%s", path);
	last = strrchr(buf, '/');
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (!mkdir(buf, 0700)) {
			if (p == last && has_group &&
			    !chown(buf, (uid_t)-1, group))
				chmod(buf, 0750);
		} else if (errno != EEXIST) {
			return -errno;
		}
		*p = '/';
	}
	return 0;
}

/* The last line of a plain file (malloc'd), or NULL. */
static char *last_line_fd(int fd, off_t size)
{
	char buf[65536];
	off_t off = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1
						  : 0;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, off);
	char *end, *start;

	if (n <= 0)
		return NULL;
	buf[n] = 0;
	end = buf + n;
	while (end > buf && end[-1] == '\n')
		*--end = 0;
	start = strrchr(buf, '\n');
	start = start ? start + 1 : buf;
	return *start ? strdup(start) : NULL;
}

struct last_arg {
	char *line;
};

static int last_cb(void *arg, const struct tw_seg *s, unsigned long lineno,
		   const char *text, size_t len)
{
	struct last_arg *l = arg;

	(void)s;
	(void)lineno;
	if (!len)
		return 0;
	free(l->line);
	l->line = strndup(text, len);
	return 0;
}

/* Take seq and chain head from the last record of the log. */
static void continue_from(struct tw_audit *a, const char *line)
{
	char prev[TW_HASH_HEX + 1], hash[TW_HASH_HEX + 1];
	uint64_t seq = 0;
	json_t *rec;

	if (tw_chain_check(line, strlen(line), &seq, prev, hash, NULL) ==
	    TW_LINE_OK) {
		a->seq = seq;
		memcpy(a->prev, hash, sizeof(a->prev));
		return;
	}
	/* Unsealed (older toolwall) or damaged: carry on from what it
	 * says; --verify reports the record itself. */
	rec = json_loads(line, 0, NULL);
	a->seq = json_integer_value(json_object_get(rec, "seq"));
	json_decref(rec);
	if (tw_chain_sha256(line, strlen(line), a->prev))
		memcpy(a->prev, TW_CHAIN_GENESIS, sizeof(a->prev));
}

static void first_ts_of(struct tw_audit *a)
{
	char buf[4096];
	ssize_t n = pread(a->fd, buf, sizeof(buf) - 1, 0);
	json_t *rec;
	char *nl;

	a->seg_start_ns = 0;
	a->seg_has_data = a->size > 0;
	if (n <= 0)
		return;
	buf[n] = 0;
	nl = strchr(buf, '\n');
	if (nl)
		*nl = 0;
	rec = json_loads(buf, 0, NULL);
	if (tw_audit_ts_parse(json_string_value(json_object_get(rec, "ts")) ?:
				      "",
			      &a->seg_start_ns))
		a->seg_start_ns = tw_audit_now_ns();
	if (!strcmp(json_string_value(json_object_get(rec, "event")) ?: "",
		    "rotate") &&
	    nl && (size_t)(nl - buf) + 1 >= a->size)
		a->seg_has_data = false;
	json_decref(rec);
}

/*
 * Responders read the log without root when a group is set: FILE 0640,
 * owned by that group (FD: FILE, open); else root only. Nothing in the log
 * is a secret.
 */
static void share(const struct tw_audit *a, const char *file, int fd)
{
	mode_t fm = a->o.has_group ? 0640 : 0600;
	gid_t g = a->o.has_group ? (gid_t)a->o.group : 0;

	if (fd >= 0 ? fchown(fd, (uid_t)-1, g) : chown(file, (uid_t)-1, g))
		return;
	if (fd >= 0)
		fchmod(fd, fm);
	else
		chmod(file, fm);
}

static int open_live(struct tw_audit *a, bool find_head)
{
	struct stat st;
	char *line = NULL;
	int fd;

	mkdir_parents(a->path, a->o.has_group, (gid_t)a->o.group);
	fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	share(a, a->path, fd);
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	a->fd = fd;
	a->size = st.st_size;
	if (st.st_size > 0) {
		char c = 0;

		/* An interrupted write left part of a line: drop it, so that
		 * the next record starts on a line of its own. */
		if (pread(fd, &c, 1, st.st_size - 1) == 1 && c != '\n') {
			line = last_line_fd(fd, st.st_size);
			a->size -= line ? strlen(line) : 0;
			if (ftruncate(fd, a->size))
				a->size = st.st_size;
			free(line);
			line = NULL;
		}
	}
	first_ts_of(a);
	if (!find_head)
		return 0;
	if (a->size > 0) {
		line = last_line_fd(fd, a->size);
	} else {
		/* Just rotated: the chain goes on from the newest segment. */
		struct tw_seg *segs = NULL;
		size_t n = 0;

		if (!tw_segs_list(a->path, &segs, &n) && n) {
			struct last_arg l = {};
			struct tw_seg_cb cb = { .line = last_cb, .arg = &l };
			size_t i = segs[n - 1].index ? n - 1 :
				   n > 1	       ? n - 2 :
							 n;

			if (i < n)
				tw_seg_read(&segs[i], &cb);
			line = l.line;
		}
		free(segs);
	}
	if (line)
		continue_from(a, line);
	free(line);
	return 0;
}

/* ---- the kernel events recorded last ------------------------------------ */

struct kevents {
	struct tw_kevent *ids;
	size_t max, n, next; /* a ring of the last MAX seen */
};

static void kevent_add(struct kevents *k, const char *text, size_t len)
{
	json_t *rec = json_loadb(text, len, 0, NULL);
	json_t *ns = json_object_get(rec, "kernel_ns");
	json_t *tid = json_object_get(rec, "tid");

	if (json_is_integer(ns) && json_is_integer(tid)) {
		k->ids[k->next].kernel_ns = (uint64_t)json_integer_value(ns);
		k->ids[k->next].tid = (uint32_t)json_integer_value(tid);
		k->next = (k->next + 1) % k->max;
		if (k->n < k->max)
			k->n++;
	}
	json_decref(rec);
}

static int kevent_cb(void *arg, const struct tw_seg *s, unsigned long lineno,
		     const char *text, size_t len)
{
	(void)s;
	(void)lineno;
	kevent_add(arg, text, len);
	return 0;
}

size_t tw_audit_recent_kevents(struct tw_audit *a, struct tw_kevent *ids,
			       size_t max)
{
	struct kevents k = { .ids = ids, .max = max };
	const size_t bufsz = 65536;
	char *buf = malloc(bufsz), *line, *nl;
	off_t off = 0;
	ssize_t n = 0;

	if (!max || !buf) {
		free(buf);
		return 0;
	}
	pthread_mutex_lock(&a->lock);
	if (a->fd >= 0 && a->size > 0) {
		off = a->size > (off_t)bufsz ? a->size - (off_t)bufsz : 0;
		n = pread(a->fd, buf, bufsz, off);
	}
	if (n >= 0 && off == 0) {
		struct tw_seg *segs = NULL;
		size_t ns = 0;

		if (!tw_segs_list(a->path, &segs, &ns)) {
			struct tw_seg_cb cb = { .line = kevent_cb, .arg = &k };
			size_t i = ns && !segs[ns - 1].index ? ns - 1 : ns;

			if (i > 0)
				tw_seg_read(&segs[i - 1], &cb);
		}
		free(segs);
	}
	/* a partial first line (the buffer starts mid-file) is skipped */
	line = buf;
	if (off > 0 && n > 0) {
		nl = memchr(buf, '\n', (size_t)n);
		line = nl ? nl + 1 : buf + n;
	}
	while (n > 0 && line < buf + n) {
		nl = memchr(line, '\n', (size_t)(buf + n - line));
		if (!nl)
			break;
		kevent_add(&k, line, (size_t)(nl - line));
		line = nl + 1;
	}
	pthread_mutex_unlock(&a->lock);
	free(buf);
	/* the ring's order does not matter to a caller: it is a set */
	return k.n;
}

/* ---- writing ------------------------------------------------------------- */

static void gap_add(struct tw_audit *a, json_t *rec, int err)
{
	const char *ev = json_string_value(json_object_get(rec, "event")) ?: "?";
	uint64_t now = tw_audit_now_ns();
	json_t *n;

	if (!a->gap.records) {
		a->gap.first_ns = now;
		a->gap.err = err;
		json_decref(a->gap.by_event);
		a->gap.by_event = json_object();
	}
	a->gap.records++;
	a->gap.events += tw_audit_weight(rec);
	a->gap.last_ns = now;
	n = json_object_get(a->gap.by_event, ev);
	json_object_set_new(a->gap.by_event, ev,
			    json_integer(json_integer_value(n) + 1));
	a->failed++;
	a->events_lost += tw_audit_weight(rec);
}

static int write_sealed(struct tw_audit *a, json_t *rec);

static int rotate(struct tw_audit *a);

/* The `lost` record of a gap, written before anything else once the log
 * can be written again. */
static int write_gap(struct tw_audit *a)
{
	char ts[64], why[300];
	json_t *rec;
	int ret;

	if (!a->gap.records)
		return 0;
	rec = tw_audit_record(a, "lost", 0);
	json_object_set_new(rec, "count", json_integer(a->gap.events));
	json_object_set_new(rec, "records", json_integer(a->gap.records));
	json_object_set(rec, "by_event", a->gap.by_event);
	tw_audit_ts_format(a->gap.first_ns, ts, sizeof(ts));
	json_object_set_new(rec, "first_ts", json_string(ts));
	tw_audit_ts_format(a->gap.last_ns, ts, sizeof(ts));
	json_object_set_new(rec, "last_ts", json_string(ts));
	json_object_set_new(rec, "source", json_string("daemon"));
	snprintf(why, sizeof(why),
		 "the audit log could not be written (%s): these events were "
		 "enforced but not recorded",
		 strerror(a->gap.err));
	json_object_set_new(rec, "reason", json_string(why));
	ret = write_sealed(a, rec);
	if (!ret) {
		json_decref(a->gap.by_event);
		memset(&a->gap, 0, sizeof(a->gap));
	}
	return ret;
}

/* Seal REC (owned) and append it; on failure nothing is counted here. */
static int write_sealed(struct tw_audit *a, json_t *rec)
{
	char hash[TW_HASH_HEX + 1], *s = NULL, *line = NULL;
	size_t linelen;
	ssize_t n;
	int ret;

	if (a->fd < 0) {
		ret = open_live(a, false);
		if (ret)
			goto out;
	}
	/* The one place every record passes: no credential value, and no
	 * string that is not UTF-8 (it would make the record unwritable). */
	tw_redact_json(&a->red, rec);
	json_object_set_new(rec, "seq", json_integer((json_int_t)a->seq + 1));
	json_object_set_new(rec, "prev", json_string(a->prev));
	s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!s) {
		ret = -ENOMEM;
		goto out;
	}
	ret = tw_chain_seal(s, strlen(s), &line, &linelen, hash);
	if (ret)
		goto out;
	/* One write per record: O_APPEND keeps lines whole. */
	n = write(a->fd, line, linelen);
	if (n != (ssize_t)linelen) {
		ret = n < 0 ? -errno : -ENOSPC;
		/* a partial line would break the next record: take it back */
		if (n > 0 && ftruncate(a->fd, a->size)) {
			/* and if even that fails, start afresh at the next
			 * open, which drops a partial last line */
			close(a->fd);
			a->fd = -1;
		}
		goto out;
	}
	a->seq++;
	a->written++;
	a->size += linelen;
	memcpy(a->prev, hash, sizeof(a->prev));
	if (!a->seg_start_ns)
		a->seg_start_ns = tw_audit_now_ns();
	json_object_set_new(rec, "hash", json_string(hash));
	tw_syslog_send(a->sl, rec, line, linelen - 1);
out:
	free(s);
	free(line);
	json_decref(rec);
	return ret;
}

static int write_locked(struct tw_audit *a, json_t *rec);

/* A signed checkpoint of the chain head (checkpoint.h), when a key is set. */
static void checkpoint(struct tw_audit *a)
{
	char msg[512], sig[TW_SIG_HEX + 1];
	uint64_t every_r = a->o.ckpt_records ?: TW_CKPT_RECORDS;
	uint64_t every_s = a->o.ckpt_seconds ?: TW_CKPT_SECONDS;
	json_t *rec;

	if (!a->o.key)
		return;
	rec = tw_audit_record(a, "checkpoint", 0);
	tw_ckpt_message(a->o.key->id, a->seq + 1,
			json_string_value(json_object_get(rec, "ts")), a->prev,
			every_r, every_s, msg, sizeof(msg));
	if (tw_ckpt_sign(a->o.key, msg, sig)) {
		json_decref(rec);
		return;
	}
	json_object_set_new(rec, "head", json_string(a->prev));
	json_object_set_new(rec, "key_id", json_string(a->o.key->id));
	json_object_set_new(rec, "every",
			    json_pack("{s:I,s:I}", "records",
				      (json_int_t)every_r, "seconds",
				      (json_int_t)every_s));
	json_object_set_new(rec, "signature", json_string(sig));
	/* the seq signed is the one the record gets: nothing is written
	 * between (the lock is held) */
	if (!write_locked(a, rec)) {
		a->checkpoints++;
		a->since_ckpt = 0;
	}
	a->ckpt_ns = tw_audit_now_ns();
}

static int write_locked(struct tw_audit *a, json_t *rec)
{
	const char *ev = json_string_value(json_object_get(rec, "event")) ?: "";
	bool is_rotate = !strcmp(ev, "rotate");
	bool is_ckpt = !strcmp(ev, "checkpoint");
	int ret;

	if (a->gap.records) {
		ret = write_gap(a);
		if (ret) {
			gap_add(a, rec, -ret);
			json_decref(rec);
			return ret;
		}
	}
	json_incref(rec);
	ret = write_sealed(a, rec);
	if (ret) {
		gap_add(a, rec, -ret);
		json_decref(rec);
		return ret;
	}
	json_decref(rec);
	if (!is_rotate)
		a->seg_has_data = true;
	if (!is_ckpt)
		a->since_ckpt++;
	if (a->o.max_size && a->size >= a->o.max_size && !is_rotate &&
	    !is_ckpt) {
		/* a segment ends signed */
		if (!is_ckpt && a->since_ckpt)
			checkpoint(a);
		rotate(a);
	} else if (!is_ckpt && a->o.key &&
		   a->since_ckpt >= (a->o.ckpt_records ?: TW_CKPT_RECORDS)) {
		checkpoint(a);
	}
	return 0;
}

/* Rotate now; on failure retry at most once a second. */
static int rotate(struct tw_audit *a)
{
	struct tw_rotation r;
	const char *base;
	uint64_t now = tw_audit_now_ns(), last = a->seq;
	json_t *rec;
	int ret;

	if (now < a->rotate_retry_ns)
		return -EAGAIN;
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	ret = tw_seg_rotate(a->path, a->o.keep, &r);
	if (!ret)
		share(a, r.segment, -1);
	a->rotate_err = ret;
	if (ret)
		a->rotate_retry_ns = now + 1000000000ull;
	/* whatever happened, carry on in a live file */
	if (open_live(a, false))
		return ret;
	if (ret)
		return ret;
	a->rotations++;
	base = strrchr(r.segment, '/');
	rec = tw_audit_record(a, "rotate", 0);
	json_object_set_new(rec, "segment", json_string(base ? base + 1 :
								  r.segment));
	json_object_set_new(rec, "segment_last_seq", json_integer(last));
	json_object_set_new(rec, "retained_from_seq",
			    json_integer(r.retained_from));
	json_object_set_new(rec, "removed", json_integer(r.removed));
	write_locked(a, rec);
	a->seg_start_ns = tw_audit_now_ns();
	a->seg_has_data = false;
	return 0;
}

/* A `lost` record of the syslog copy's drops from SL (records that are in
 * this log, but not at the collector), when there were some. Lock held. */
static bool syslog_loss_of(struct tw_audit *a, struct tw_syslog *sl,
			   bool force)
{
	struct tw_syslog_loss l;
	char ts[64], why[600];
	json_t *rec;

	if (!tw_syslog_take_loss(sl, force, &l))
		return false;
	rec = tw_audit_record(a, "lost", 0);
	/* no "count": every event of these records is in this log */
	json_object_set_new(rec, "records", json_integer((json_int_t)l.records));
	json_object_set_new(rec, "first_seq",
			    json_integer((json_int_t)l.first_seq));
	json_object_set_new(rec, "last_seq",
			    json_integer((json_int_t)l.last_seq));
	tw_audit_ts_format(l.first_ns, ts, sizeof(ts));
	json_object_set_new(rec, "first_ts", json_string(ts));
	tw_audit_ts_format(l.last_ns, ts, sizeof(ts));
	json_object_set_new(rec, "last_ts", json_string(ts));
	json_object_set_new(rec, "source", json_string("syslog"));
	json_object_set_new(rec, "collector", json_string(a->o.syslog));
	snprintf(why, sizeof(why),
		 "the syslog collector did not get %llu record%s between seq "
		 "%llu and %llu (%s); they are in this log",
		 (unsigned long long)l.records, l.records == 1 ? "" : "s",
		 (unsigned long long)l.first_seq,
		 (unsigned long long)l.last_seq, l.why);
	json_object_set_new(rec, "reason", json_string(why));
	write_locked(a, rec);
	return true;
}

static bool syslog_loss(struct tw_audit *a, bool force)
{
	return a->sl && syslog_loss_of(a, a->sl, force);
}

int tw_audit_open(struct tw_audit *a, const char *path,
		  const struct tw_audit_opts *o)
{
	pthread_mutexattr_t at;
	int ret;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	if (o)
		a->o = *o;
	if (!a->o.keep)
		a->o.keep = 1;
	memcpy(a->prev, TW_CHAIN_GENESIS, sizeof(a->prev));
	snprintf(a->path, sizeof(a->path), "%s", path);
	pthread_mutexattr_init(&at);
	pthread_mutexattr_settype(&at, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&a->lock, &at);
	pthread_mutexattr_destroy(&at);
	tw_agg_init(&a->agg, a->o.window_ns);
	if (a->o.syslog) {
		struct tw_syslog_opts so = { .dest = a->o.syslog,
					     .ca = a->o.syslog_ca,
					     .sd_id = a->o.syslog_sd_id,
					     .queue = a->o.syslog_queue };

		ret = tw_syslog_open(&a->sl, &so);
		if (ret)
			return ret;
	}
	if (!a->o.has_group && !a->o.no_group) {
		struct group *g = getgrnam(TW_AUDIT_GROUP);

		a->o.has_group = g != NULL;
		a->o.group = g ? g->gr_gid : 0;
	}
	ret = open_live(a, true);
	{
		struct tw_seg *segs = NULL;
		size_t n = 0;

		/* segments of earlier runs follow the group of this one */
		if (!tw_segs_list(a->path, &segs, &n))
			for (size_t i = 0; i < n; i++)
				if (segs[i].index)
					share(a, segs[i].path, -1);
		free(segs);
	}
	if (!ret) {
		pthread_mutex_lock(&a->lock);
		checkpoint(a); /* the chain as this writer found it */
		pthread_mutex_unlock(&a->lock);
	}
	return ret;
}

static void emit_cb(void *arg, json_t *rec)
{
	write_locked(arg, rec);
}

void tw_audit_close(struct tw_audit *a)
{
	pthread_mutex_lock(&a->lock);
	tw_agg_flush(&a->agg, TW_AGG_ALL, tw_audit_now_ns(), NULL, emit_cb, a);
	if (a->gap.records)
		write_gap(a);
	/* the collector gets the log up to the stop's checkpoint, or is
	 * told in the log what it did not get */
	tw_syslog_drain(a->sl, TW_SYSLOG_DRAIN_MS);
	syslog_loss(a, true);
	if (a->since_ckpt)
		checkpoint(a);
	if (a->sl) {
		struct tw_syslog *sl = a->sl;

		tw_syslog_stop(sl, TW_SYSLOG_DRAIN_MS);
		a->sl = NULL; /* what follows is the local log's only */
		if (syslog_loss_of(a, sl, true))
			checkpoint(a);
		tw_syslog_free(sl);
	}
	tw_agg_free(&a->agg);
	tw_redact_free(&a->red);
	json_decref(a->gap.by_event);
	a->gap.by_event = NULL;
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_destroy(&a->lock);
}

json_t *tw_audit_record(struct tw_audit *a, const char *event, uint64_t ts_ns)
{
	char ts[64];
	json_t *rec = json_object();

	if (!ts_ns)
		ts_ns = tw_audit_now_ns();
	tw_audit_ts_format(ts_ns, ts, sizeof(ts));
	json_object_set_new(rec, "ts", json_string(ts));
	/* set for real when written: aggregated records are written late */
	json_object_set_new(rec, "seq", json_integer((json_int_t)a->seq + 1));
	json_object_set_new(rec, "event", json_string(event));
	return rec;
}

int tw_audit_write(struct tw_audit *a, json_t *rec)
{
	int ret;

	pthread_mutex_lock(&a->lock);
	ret = write_locked(a, rec);
	pthread_mutex_unlock(&a->lock);
	return ret;
}

/* OP (tw_agg_hit or tw_agg_claim) on the aggregate table, locked */
static bool agg_locked(struct tw_audit *a,
		       bool (*op)(struct tw_agg *, const void *, size_t,
				  uint64_t),
		       const void *key, size_t klen, uint64_t ts_ns)
{
	bool hit;

	pthread_mutex_lock(&a->lock);
	hit = op(&a->agg, key, klen, ts_ns);
	pthread_mutex_unlock(&a->lock);
	return hit;
}

bool tw_audit_aggregate(struct tw_audit *a, const void *key, size_t klen,
			uint64_t ts_ns)
{
	return agg_locked(a, tw_agg_hit, key, klen, ts_ns);
}

bool tw_audit_claim(struct tw_audit *a, const void *key, size_t klen,
		    uint64_t ts_ns)
{
	return agg_locked(a, tw_agg_claim, key, klen, ts_ns);
}

int tw_audit_write_first(struct tw_audit *a, json_t *rec, const void *key,
			 size_t klen, uint32_t pid)
{
	uint64_t ts = 0;
	int ret;

	pthread_mutex_lock(&a->lock);
	tw_audit_ts_parse(json_string_value(json_object_get(rec, "ts")) ?: "",
			  &ts);
	/* the copy the aggregate keeps is written later, maybe after the
	 * call's values were dropped: it holds none */
	tw_redact_json(&a->red, rec);
	tw_agg_add(&a->agg, key, klen, pid, json_deep_copy(rec), ts);
	ret = write_locked(a, rec);
	pthread_mutex_unlock(&a->lock);
	return ret;
}

static bool pid_alive(uint32_t pid)
{
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

void tw_audit_flush(struct tw_audit *a, enum tw_agg_flush how)
{
	pthread_mutex_lock(&a->lock);
	tw_agg_flush(&a->agg, how, tw_audit_now_ns(), pid_alive, emit_cb, a);
	pthread_mutex_unlock(&a->lock);
}

void tw_audit_tick(struct tw_audit *a)
{
	struct stat st, fst;
	uint64_t now = tw_audit_now_ns();

	pthread_mutex_lock(&a->lock);
	/* The live file was removed or replaced under us: writes to the old
	 * inode would vanish. Start a new live file. */
	if (a->fd >= 0 &&
	    (fstat(a->fd, &fst) || stat(a->path, &st) || fst.st_nlink == 0 ||
	     st.st_ino != fst.st_ino || st.st_dev != fst.st_dev)) {
		close(a->fd);
		a->fd = -1;
	}
	if (a->fd < 0)
		open_live(a, false);
	if (a->gap.records && a->fd >= 0)
		write_gap(a);
	syslog_loss(a, false);
	tw_agg_flush(&a->agg, TW_AGG_DUE, now, pid_alive, emit_cb, a);
	tw_redact_expire(&a->red, tw_audit_now_ns());
	if (a->o.max_age_s && a->seg_has_data && a->seg_start_ns &&
	    now >= a->seg_start_ns + a->o.max_age_s * 1000000000ull)
		rotate(a);
	else if (a->rotate_err && a->seg_has_data)
		rotate(a);
	if (a->since_ckpt &&
	    now >= a->ckpt_ns + (a->o.ckpt_seconds ?: TW_CKPT_SECONDS) *
					1000000000ull)
		checkpoint(a);
	pthread_mutex_unlock(&a->lock);
}

int tw_audit_secret_add(struct tw_audit *a, uint64_t owner, const char *name,
			const void *value, size_t len)
{
	int ret;

	pthread_mutex_lock(&a->lock);
	ret = tw_redact_add(&a->red, owner, name, value, len);
	pthread_mutex_unlock(&a->lock);
	return ret;
}

void tw_audit_secret_drop(struct tw_audit *a, uint64_t owner)
{
	pthread_mutex_lock(&a->lock);
	tw_redact_drop(&a->red, owner,
		       tw_audit_now_ns() + TW_AUDIT_SECRET_GRACE_NS);
	pthread_mutex_unlock(&a->lock);
}

void tw_audit_redact(struct tw_audit *a, json_t *j)
{
	pthread_mutex_lock(&a->lock);
	tw_redact_json(&a->red, j);
	pthread_mutex_unlock(&a->lock);
}

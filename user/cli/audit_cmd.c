// SPDX-License-Identifier: GPL-2.0-only
/*
 * audit_cmd.c - `toolwall audit`: read the audit log for incident
 * response. Every segment (rotated and gzip'd, then live) in order;
 * filters, a table or JSON Lines or OCSF, --follow, --summary, --suggest,
 * --verify.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_chain.h"
#include "audit_export.h"
#include "audit_query.h"
#include "audit_seg.h"
#include "display.h"
#include "cmds.h"
#include "util.h"

static const char audit_usage[] =
	"Usage: toolwall audit [--log FILE] [FILTERS] [-j | --format FMT]\n"
	"       toolwall audit [--log FILE] [FILTERS] --follow\n"
	"       toolwall audit [--log FILE] [FILTERS] --summary [--top N]\n"
	"       toolwall audit [--log FILE] [FILTERS] --suggest CONTEXT [--name N]\n"
	"       toolwall audit [--log FILE] --verify [--pubkey FILE.pub] [-j]\n"
	"       toolwall audit keygen --out FILE\n"
	"Read the audit log: the rotated segments (FILE.N.gz, oldest first) and\n"
	"the live file, as one stream. A damaged segment is reported and\n"
	"reading goes on (exit 1 at the end).\n"
	"  --log FILE        the live audit log (default $TOOLWALL_AUDIT_LOG,\n"
	"                    else " TW_DEFAULT_AUDIT_LOG ")\n"
	"Filters (all must match):\n"
	"  --since WHEN      records at or after WHEN: RFC 3339\n"
	"                    (2024-05-01T10:00:00Z), a date, or an age (90s,\n"
	"                    10m, 2h, 7d)\n"
	"  --until WHEN      records at or before WHEN\n"
	"  --context CTX     workspace:ws, channel:ws/ch, dm:ws/person\n"
	"  --workspace WS    --call-id ID   --pid PID\n"
	"  --action ACTION   connect, sendmsg, socket, egress, dns...\n"
	"  --event EVENT     deny, audit, lost, policy, daemon, rotate...\n"
	"  --grants          grant, revoke, expire, quarantine, release\n"
	"  --dst DEST        as the table prints it and the policy's\n"
	"                    connect entries write it: 10.0.0.1,\n"
	"                    10.0.0.0/8:443, 10.0.0.1:53/udp, [fd00::1]:443,\n"
	"                    api.example:80,443, *.example, unix:/run/x.sock\n"
	"  --domain NAME     a DNS name, or *.suffix\n"
	"Output:\n"
	"  (default)         a table\n"
	"  -j, --json        JSON Lines (the records as written)\n"
	"  --format FMT      table, json, or ocsf (OCSF 1.1-shaped JSON Lines)\n"
	"  --time ZONE       times of the table and the summary's timeline in\n"
	"                    utc (as written; default) or local (the TZ\n"
	"                    variable's zone, with its offset)\n"
	"  --follow, -f      keep printing new records (across rotations)\n"
	"  --summary         top denied destinations per context, per process\n"
	"                    and per bundle that would allow them; a per-minute\n"
	"                    timeline (--top N rows per group, default 10)\n"
	"  --suggest CTX     a bundle, as policy JSON, that would have allowed\n"
	"                    what audit mode recorded for CTX (--name NAME)\n"
	"  --verify          check the hash chain over every segment; name the\n"
	"                    first altered, missing, inserted or reordered record\n"
	"  --pubkey FILE     with --verify: every checkpoint must be signed by\n"
	"                    this key (the daemon's --audit-key), so a log\n"
	"                    rewritten and re-hashed fails; say how many records\n"
	"                    follow the last checkpoint unsigned. With a query:\n"
	"                    warn and exit 1 at a checkpoint that does not verify\n"
	"keygen --out FILE   write an Ed25519 key pair for the daemon's\n"
	"                    --audit-key: FILE (private, 0600) and FILE.pub\n";

enum fmt { FMT_TABLE, FMT_JSON, FMT_OCSF };

struct reader {
	struct tw_audit_filter f;
	enum fmt fmt;
	bool summary, verify;
	const char *suggest;
	struct tw_summary sum;
	struct tw_suggest sg;
	struct tw_verify v;
	unsigned long damaged, skipped, printed;
	struct tw_table *tab; /* the table, when it is one */
	bool local_time;      /* the table's times in local time (--time) */
	/* Queries check the chain of what they read, as they stream: each
	 * line's own hash, and that it follows the line before. */
	struct {
		bool have;
		uint64_t seq;
		char hash[TW_HASH_HEX + 1]; /* as the line claims it */
		char path[4096];	    /* its segment */
	} last;
	/* with --pubkey: checkpoints seen, and those that verify */
	const struct tw_ckpt_key *key;
	unsigned long checkpoints, ckpt_bad;
	unsigned long not_intact;
	/* the live file ends without a newline: its last line, partial */
	char *tail;
	size_t tail_len;
	unsigned long tail_line; /* where it was read; 0: not (yet) */
};

/* The partial last line of the live file LIVE, if it has one. */
static void find_tail(struct reader *r, const char *live)
{
	int fd = open(live, O_RDONLY | O_CLOEXEC);
	char buf[65536];
	struct stat st;
	off_t off;
	ssize_t n;
	char *nl;

	if (fd < 0 || fstat(fd, &st) || !st.st_size) {
		if (fd >= 0)
			close(fd);
		return;
	}
	off = st.st_size > (off_t)sizeof(buf) ? st.st_size - (off_t)sizeof(buf)
					       : 0;
	n = pread(fd, buf, sizeof(buf), off);
	close(fd);
	if (n <= 0 || buf[n - 1] == '\n')
		return;
	nl = memrchr(buf, '\n', (size_t)n);
	if (!nl && off > 0)
		return; /* a line longer than any record: not a partial one */
	nl = nl ? nl + 1 : buf;
	r->tail_len = (size_t)(buf + n - nl);
	r->tail = malloc(r->tail_len);
	if (r->tail)
		memcpy(r->tail, nl, r->tail_len);
}

static const struct tw_table_col columns[] = {
	{ "TIME" },   { "EVENT" },  { "CONTEXT" },	   { "CALL" },
	{ "PID", true }, { "COMM" }, { "ACTION" }, { "DESTINATION" },
	{ "COUNT", true }, { "REASON" },
};

/* Rows are printed in batches of at most this many, aligned within each. */
#define TABLE_BATCH 1000

static void table_flush(struct reader *r)
{
	tw_table_flush(r->tab, stdout);
	fflush(stdout);
}

#define SV(r, k) (json_string_value(json_object_get(r, k)) ?: "-")

/* Field K of REC made inert for the terminal (display.h), or "-". */
static const char *cell(json_t *rec, const char *k, char *buf, size_t len)
{
	json_t *v = json_object_get(rec, k);

	if (!json_is_string(v))
		return "-";
	tw_display_escape(json_string_value(v), json_string_length(v), buf,
			  len);
	return buf;
}

/* The TIME cell: as written (UTC), or in local time when asked for. */
static const char *when(struct reader *r, json_t *rec, char *buf, size_t len)
{
	uint64_t ns;

	if (!r->local_time || tw_audit_ts_parse(SV(rec, "ts"), &ns))
		return cell(rec, "ts", buf, len);
	tw_audit_ts_format_local(ns, buf, len);
	return buf;
}

static void print_record(struct reader *r, json_t *rec, const char *line,
			 size_t len)
{
	char dest[300], pid[16], count[24], raw[300];
	char ts[64], ev[32], ctx[160], call[160], comm[80], act[64], why[1200];
	json_t *o, *argv;

	r->printed++;
	if (r->fmt == FMT_JSON) {
		fwrite(line, 1, len, stdout);
		putchar('\n');
		return;
	}
	if (r->fmt == FMT_OCSF) {
		o = tw_ocsf_from_record(rec);
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
		return;
	}
	/* every field an agent could have chosen, made inert: no row is
	 * ever split, recoloured or overwritten by what it holds */
	argv = json_object_get(rec, "argv");
	if (json_is_array(argv) && json_array_size(argv)) {
		tw_display_argv(argv, dest, sizeof(dest));
	} else {
		tw_audit_dest(rec, raw, sizeof(raw));
		tw_display_escape(raw, strlen(raw), dest, sizeof(dest));
	}
	if (json_is_integer(json_object_get(rec, "pid")))
		snprintf(pid, sizeof(pid), "%lld",
			 (long long)json_integer_value(
				 json_object_get(rec, "pid")));
	else
		snprintf(pid, sizeof(pid), "-");
	if (json_is_integer(json_object_get(rec, "count")))
		snprintf(count, sizeof(count), "%lld",
			 (long long)json_integer_value(
				 json_object_get(rec, "count")));
	else
		snprintf(count, sizeof(count), "%s",
			 strcmp(SV(rec, "event"), "deny") &&
					 strcmp(SV(rec, "event"), "audit") ?
				 "-" :
				 "1");
	{
		const char *cells[] = {
			when(r, rec, ts, sizeof(ts)),
			cell(rec, "event", ev, sizeof(ev)),
			cell(rec, "context", ctx, sizeof(ctx)),
			cell(rec, "call_id", call, sizeof(call)),
			pid,
			cell(rec, "comm", comm, sizeof(comm)),
			cell(rec, "action", act, sizeof(act)),
			dest,
			count,
			cell(rec, "reason", why, sizeof(why)),
		};

		tw_table_row(r->tab, cells);
	}
	if (tw_table_pending(r->tab) >= TABLE_BATCH)
		table_flush(r);
}

/* Is this line the partial last line of the live file? */
static bool partial_line(struct reader *r, const struct tw_seg *s,
			 unsigned long lineno, const char *text, size_t len)
{
	if (!r->tail || s->index || len != r->tail_len ||
	    memcmp(text, r->tail, len))
		return false;
	r->tail_line = lineno;
	return true;
}

/*
 * Is the record on this line intact: sealed by its own hash, and the one
 * after the record before it? WHY says what is wrong when it is not.
 */
/* Is the line a chain's first of a segment after another one's? */
static bool seg_start(struct reader *r, const struct tw_seg *s,
		      unsigned long lineno)
{
	return lineno == 1 && r->last.have && strcmp(r->last.path, s->path);
}

static bool intact(struct reader *r, const struct tw_seg *s,
		   unsigned long lineno, const char *text, size_t len,
		   char *why, size_t n)
{
	char prev[TW_HASH_HEX + 1], hash[TW_HASH_HEX + 1];
	const char *h = len > 75 ? text + len - 75 : NULL; /* ,"hash":"H"} */
	uint64_t seq = 0;
	bool ok = true, had = r->last.have;
	uint64_t last_seq = r->last.seq;

	if (tw_chain_check(text, len, &seq, prev, hash, NULL) != TW_LINE_OK) {
		snprintf(why, n, "its content does not match its hash "
				 "(altered)");
		ok = false;
	} else if (had && seq == last_seq + 1 && strcmp(prev, r->last.hash)) {
		snprintf(why, n, "it does not chain to seq %llu before it (one "
				 "of the two was altered and re-sealed)",
			 (unsigned long long)last_seq);
		ok = false;
	} else if (had && seq > last_seq + 1 && seg_start(r, s, lineno)) {
		snprintf(why, n, "seq %llu-%llu are missing between segments "
				 "%s and %s (a segment deleted)",
			 (unsigned long long)last_seq + 1,
			 (unsigned long long)seq - 1, r->last.path, s->path);
		ok = false;
	} else if (had && seq > last_seq + 1) {
		if (seq == last_seq + 2)
			snprintf(why, n, "seq %llu before it is missing (deleted "
					 "or moved)",
				 (unsigned long long)last_seq + 1);
		else
			snprintf(why, n, "seq %llu-%llu before it are missing "
					 "(deleted or moved)",
				 (unsigned long long)last_seq + 1,
				 (unsigned long long)seq - 1);
		ok = false;
	} else if (had && seq <= last_seq && seg_start(r, s, lineno)) {
		snprintf(why, n, "segment %s starts at seq %llu, after seq %llu "
				 "in %s (segments swapped or renamed)",
			 s->path, (unsigned long long)seq,
			 (unsigned long long)last_seq, r->last.path);
		ok = false;
	} else if (had && seq <= last_seq) {
		snprintf(why, n, "seq %llu after seq %llu (inserted or "
				 "reordered)",
			 (unsigned long long)seq, (unsigned long long)last_seq);
		ok = false;
	}
	/* the next line links to the hash this one claims (an unreadable
	 * line leaves nothing to link to) */
	r->last.have = seq && h && !strncmp(h, ",\"hash\":\"", 9);
	if (r->last.have) {
		memcpy(r->last.hash, h + 9, TW_HASH_HEX);
		r->last.hash[TW_HASH_HEX] = 0;
		r->last.seq = seq;
		snprintf(r->last.path, sizeof(r->last.path), "%s", s->path);
	}
	return ok;
}

/*
 * With --pubkey, a query checks each checkpoint it reads as --verify does:
 * one that does not verify says that the records before it are not the
 * daemon's (a log re-hashed from start to end), whatever the filters.
 */
static void ckpt_check(struct reader *r, const struct tw_seg *s,
		       unsigned long lineno, const char *text, size_t len,
		       json_t *rec)
{
	char prev[TW_HASH_HEX + 1], hash[TW_HASH_HEX + 1], why[400];
	uint64_t seq = 0;

	if (!r->key || strcmp(json_string_value(json_object_get(rec, "event")) ?:
				      "",
			      "checkpoint"))
		return;
	r->checkpoints++;
	if (tw_chain_check(text, len, &seq, prev, hash, NULL) != TW_LINE_OK ||
	    !tw_ckpt_check_record(r->key, rec, seq, prev, why, sizeof(why)))
		return; /* intact() says what is wrong with the line itself */
	table_flush(r);
	tw_warn("%s:%lu: %s; the records read before it are not proven",
		s->path, lineno, why);
	r->ckpt_bad++;
}

static int on_line(void *arg, const struct tw_seg *s, unsigned long lineno,
		   const char *text, size_t len)
{
	struct reader *r = arg;
	char why[200];
	json_t *rec;
	bool ok;

	if (partial_line(r, s, lineno, text, len) && r->verify)
		return 0; /* not a record: reported as what it is */
	if (r->verify) {
		tw_verify_line(&r->v, s->path, lineno, text, len);
		return 0;
	}
	if (!len)
		return 0;
	rec = json_loadb(text, len, 0, NULL);
	if (!json_is_object(rec)) {
		if (r->tail_line == lineno && !s->index)
			tw_warn("%s:%lu: the last line is incomplete: the "
				"daemon stopped in the middle of writing it (a "
				"crash or a full disk), not tampering; it is "
				"dropped when the daemon starts",
				s->path, lineno);
		else
			tw_warn("%s:%lu: not a JSON record (altered), skipped",
				s->path, lineno);
		r->skipped++;
		r->last.have = false;
		json_decref(rec);
		return 0;
	}
	ckpt_check(r, s, lineno, text, len, rec);
	ok = intact(r, s, lineno, text, len, why, sizeof(why));
	if (tw_audit_match(&r->f, rec)) {
		if (!ok) {
			table_flush(r); /* the warning comes right above it */
			tw_warn("%s:%lu: the record %s is not intact: %s",
				s->path, lineno,
				r->summary || r->suggest ? "counted" : "below",
				why);
			r->not_intact++;
		}
		if (r->summary)
			tw_summary_add(&r->sum, rec);
		else if (r->suggest)
			tw_suggest_add(&r->sg, rec);
		else
			print_record(r, rec, text, len);
		if (!ok)
			table_flush(r);
	}
	json_decref(rec);
	return 0;
}

static void on_damaged(void *arg, const struct tw_seg *s, unsigned long lineno,
		       const char *why)
{
	struct reader *r = arg;

	r->damaged++;
	if (r->verify) {
		tw_verify_damaged(&r->v, s->path, lineno, why);
		return;
	}
	tw_warn("%s: damaged segment after line %lu (%s); reading goes on "
		"with the next segment",
		s->path, lineno, why);
}

/* ---- --follow ---------------------------------------------------------- */

static int follow(struct reader *r, const char *live, bool from_start)
{
	struct tw_seg seg = {};
	struct stat st, fst;
	char *buf = NULL;
	size_t cap = 0, len = 0;
	unsigned long lineno = 0;
	int fd = -1;

	snprintf(seg.path, sizeof(seg.path), "%s", live);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		char chunk[65536];
		ssize_t n;

		if (fd < 0) {
			fd = open(live, O_RDONLY | O_CLOEXEC);
			if (fd < 0) {
				usleep(200000);
				continue;
			}
			if (!from_start)
				lseek(fd, 0, SEEK_END);
			from_start = true; /* a new live file: from its start */
			len = 0;
			lineno = 0;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n > 0) {
			char *nl, *p;

			if (len + n + 1 > cap) {
				char *nb = realloc(buf, (len + n + 1) * 2);

				if (!nb)
					break;
				buf = nb;
				cap = (len + n + 1) * 2;
			}
			memcpy(buf + len, chunk, n);
			len += n;
			p = buf;
			while ((nl = memchr(p, '\n', buf + len - p))) {
				on_line(r, &seg, ++lineno, p, nl - p);
				p = nl + 1;
			}
			memmove(buf, p, buf + len - p);
			len -= p - buf;
			continue;
		}
		/* At the end: rotated away? Then the rest is in the new file. */
		if (!stat(live, &st) && !fstat(fd, &fst) &&
		    (st.st_ino != fst.st_ino || st.st_dev != fst.st_dev)) {
			close(fd);
			fd = -1;
			continue;
		}
		table_flush(r); /* what came, before waiting for more */
		usleep(200000);
	}
	free(buf);
	if (fd >= 0)
		close(fd);
	return 1;
}

/* ---- the command -------------------------------------------------------- */

/* With --pubkey: what the checkpoints prove, in one sentence. */
static void print_signed(const struct tw_verify *v)
{
	printf("signed: %llu checkpoint%s by key %s, the last at seq %llu; "
	       "%llu record%s after it %s unsigned",
	       (unsigned long long)v->checkpoints,
	       v->checkpoints == 1 ? "" : "s", v->key->id,
	       (unsigned long long)v->ckpt_seq,
	       (unsigned long long)v->after_ckpt, v->after_ckpt == 1 ? "" : "s",
	       v->after_ckpt == 1 ? "is" : "are");
	if (v->every_records && v->after_ckpt > v->every_records)
		printf(" (more than the %llu the daemon leaves between "
		       "checkpoints: treat them as suspect)",
		       (unsigned long long)v->every_records);
	printf("\n");
}

static int print_verify(struct reader *r, size_t nsegs, const char *log)
{
	int ret = tw_verify_finish(&r->v);
	char file[300] = "";
	unsigned long line = 0;
	char *colon;

	if (!r->v.records && !r->v.failed) {
		tw_error("audit log %s has no records: nothing to verify", log);
		return 1;
	}
	if (!ret && r->tail_line) {
		/* not tampering: what a crash mid-write leaves */
		snprintf(r->v.kind, sizeof(r->v.kind), "truncated");
		snprintf(r->v.where, sizeof(r->v.where), "%s:%lu", log,
			 r->tail_line);
		r->v.where_seq = r->v.last_seq + 1;
		snprintf(r->v.error, sizeof(r->v.error),
			 "%s:%lu: the last line is incomplete: the daemon "
			 "stopped in the middle of writing it (a crash or a "
			 "full disk), not tampering; the %llu records before "
			 "it verify, and the daemon drops the partial line "
			 "when it starts",
			 log, r->tail_line, (unsigned long long)r->v.records);
		ret = -EBADMSG;
	}

	if (ret) {
		snprintf(file, sizeof(file), "%s", r->v.where);
		colon = strrchr(file, ':');
		if (colon) {
			*colon = 0;
			line = strtoul(colon + 1, NULL, 10);
		}
	}
	if (tw_opts.json) {
		json_t *o = json_pack(
			"{s:b,s:s,s:I,s:i,s:I,s:I,s:s}", "ok", !ret, "log", log,
			"records", (json_int_t)r->v.records, "segments",
			(int)nsegs, "first_seq", (json_int_t)r->v.first_seq,
			"last_seq", (json_int_t)r->v.last_seq, "head",
			r->v.head);

		if (r->v.key)
			json_object_set_new(
				o, "signed",
				json_pack("{s:s,s:I,s:I,s:I}", "key_id",
					  r->v.key->id, "checkpoints",
					  (json_int_t)r->v.checkpoints,
					  "last_checkpoint_seq",
					  (json_int_t)r->v.ckpt_seq,
					  "unsigned_after",
					  (json_int_t)r->v.after_ckpt));

		if (ret)
			json_object_set_new(
				o, "error",
				json_pack("{s:s,s:s,s:I,s:I,s:s}", "kind",
					  r->v.kind, "file", file, "line",
					  (json_int_t)line, "seq",
					  (json_int_t)r->v.where_seq, "message",
					  r->v.error));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
		return ret ? 1 : 0;
	}
	if (ret && !strcmp(r->v.kind, "truncated")) {
		tw_error("audit log %s: %s", log, r->v.error);
		return 1;
	}
	if (ret) {
		tw_error("audit log %s does not verify: %s", log, r->v.error);
		fprintf(stderr, "first bad record: %s line %lu, seq %llu (%s)\n",
			file, line, (unsigned long long)r->v.where_seq,
			r->v.kind);
		return 1;
	}
	printf("audit log %s verifies: %llu records, seq %llu-%llu, in %zu "
	       "segment%s; chain head %s\n",
	       log, (unsigned long long)r->v.records,
	       (unsigned long long)r->v.first_seq,
	       (unsigned long long)r->v.last_seq, nsegs, nsegs == 1 ? "" : "s",
	       r->v.head);
	if (r->v.key)
		print_signed(&r->v);
	return 0;
}

static void print_groups(const char *title, json_t *groups)
{
	char name[600], dst[600];
	const char *g;
	json_t *v, *row;
	size_t i;

	printf("\n%s\n", title);
	if (!json_object_size(groups))
		printf("  (none)\n");
	json_object_foreach(groups, g, v) {
		/* process names and destinations are the agent's choice */
		tw_display_escape(g, strlen(g), name, sizeof(name));
		printf("  %s: %lld\n", name,
		       (long long)json_integer_value(json_object_get(v, "total")));
		json_array_foreach(json_object_get(v, "top"), i, row)
			printf("    %10lld  %s\n",
			       (long long)json_integer_value(
				       json_object_get(row, "count")),
			       cell(row, "dst", dst, sizeof(dst)));
	}
}

static void print_summary(json_t *s, bool local)
{
	const char *k;
	json_t *v, *row;
	size_t i;
	char at[64], utc[32], full[64];
	uint64_t ns;

	printf("totals:");
	json_object_foreach(json_object_get(s, "totals"), k, v)
		printf(" %s %lld", k, (long long)json_integer_value(v));
	printf("\n");
	print_groups("denied destinations per context:",
		     json_object_get(s, "by_context"));
	print_groups("denied destinations per process:",
		     json_object_get(s, "by_process"));
	print_groups("denied destinations per bundle that would allow them:",
		     json_object_get(s, "by_bundle"));
	printf("\ntimeline (per minute, %s):\n", local ? "local time" : "UTC");
	json_array_foreach(json_object_get(s, "timeline"), i, row) {
		/* 2024-05-01T10:00Z, or 2024-05-01T15:30+05:30 (--time local) */
		snprintf(at, sizeof(at), "%s",
			 json_string_value(json_object_get(row, "minute")));
		snprintf(utc, sizeof(utc), "%.16s:00Z", at);
		if (local && !tw_audit_ts_parse(utc, &ns)) {
			tw_audit_ts_format_local(ns, full, sizeof(full));
			snprintf(at, sizeof(at), "%.16s%s", full,
				 full + strlen(full) - 6);
		}
		printf("  %s ", at);
		json_object_foreach(row, k, v)
			if (strcmp(k, "minute"))
				printf(" %s %lld", k,
				       (long long)json_integer_value(v));
		printf("\n");
	}
}

/* "channel:acme/general" -> "suggested-channel-acme-general" */
static void suggest_name(const char *ctx, char *buf, size_t len)
{
	size_t off = snprintf(buf, len, "suggested-");

	for (; *ctx && off + 1 < len && off < 63; ctx++) {
		char c = *ctx;

		if (c >= 'A' && c <= 'Z')
			c = c - 'A' + 'a';
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			c = '-';
		buf[off++] = c;
	}
	buf[off] = 0;
}

/* What `toolwall audit` was asked for, besides the reader's filters. */
struct audit_args {
	const char *log, *name, *pubkey;
	bool follow;
	size_t top;
	uint64_t now;
};

static const struct option audit_opts[] = {
	{ "log", required_argument, 0, 'l' },
	{ "context", required_argument, 0, 'c' },
	{ "workspace", required_argument, 0, 'w' },
	{ "call-id", required_argument, 0, 'i' },
	{ "pid", required_argument, 0, 'P' },
	{ "event", required_argument, 0, 'e' },
	{ "grants", no_argument, 0, 'g' },
	{ "action", required_argument, 0, 'a' },
	{ "dst", required_argument, 0, 'D' },
	{ "domain", required_argument, 0, 'N' },
	{ "since", required_argument, 0, 's' },
	{ "until", required_argument, 0, 'u' },
	{ "follow", no_argument, 0, 'f' },
	{ "summary", no_argument, 0, 'S' },
	{ "top", required_argument, 0, 'T' },
	{ "suggest", required_argument, 0, 'G' },
	{ "name", required_argument, 0, 'n' },
	{ "verify", no_argument, 0, 'V' },
	{ "pubkey", required_argument, 0, 'K' },
	{ "format", required_argument, 0, 'F' },
	{ "json", no_argument, 0, 'j' },
	{ "time", required_argument, 0, 'Z' },
	{ "help", no_argument, 0, 'h' },
	{ 0 },
};

/* Fill A and R from the command line. -1: go on; else the exit status. */
static int audit_args(int argc, char **argv, struct audit_args *a,
		      struct reader *r)
{
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "fjh", audit_opts, NULL)) != -1) {
	switch (c) {
	case 'l': a->log = optarg; break;
	case 'c': r->f.context = optarg; break;
	case 'w': r->f.workspace = optarg; break;
	case 'i': r->f.call_id = optarg; break;
	case 'e':
		if (!tw_audit_known_event(optarg)) {
			tw_error("--event %s: not an event of the audit log "
				 "(%s)",
				 optarg, TW_AUDIT_EVENTS);
			return 2;
		}
		r->f.event = optarg;
		break;
	case 'a': r->f.action = optarg; break;
	case 'g': r->f.grants = true; break;
	case 'N': r->f.domain = optarg; break;
	case 'P':
		r->f.pid = strtoll(optarg, &end, 10);
		if (end == optarg || *end) {
			tw_error("--pid %s: not a number", optarg);
			return 2;
		}
		r->f.has_pid = true;
		break;
	case 'D':
		if (tw_audit_parse_dst(&r->f, optarg)) {
			tw_error_at("--dst", "%s: %s (write it as the "
				    "table prints it: 10.0.0.0/8:443, "
				    "[fd00::1]:53/udp, api.example:443, "
				    "unix:PATH)", optarg, r->f.dst.err);
			return 2;
		}
		break;
	case 's':
	case 'u':
		if (tw_audit_parse_when(optarg, a->now,
					c == 's' ? &r->f.since_ns :
						   &r->f.until_ns)) {
			tw_error("--%s %s: want RFC 3339, a date, or "
				 "an age like 10m",
				 c == 's' ? "since" : "until", optarg);
			return 2;
		}
		break;
	case 'f': a->follow = true; break;
	case 'S': r->summary = true; break;
	case 'T':
		a->top = strtoul(optarg, &end, 10);
		if (end == optarg || *end || !a->top || a->top > 100000) {
			tw_error("--top %s: want a number of rows, 1 to 100000",
				 optarg);
			return 2;
		}
		break;
	case 'G': r->suggest = optarg; break;
	case 'n': a->name = optarg; break;
	case 'V': r->verify = true; break;
	case 'K': a->pubkey = optarg; break;
	case 'F':
		if (!strcmp(optarg, "table"))
			r->fmt = FMT_TABLE;
		else if (!strcmp(optarg, "json"))
			r->fmt = FMT_JSON;
		else if (!strcmp(optarg, "ocsf"))
			r->fmt = FMT_OCSF;
		else {
			tw_error("--format %s: want table, json or ocsf",
				 optarg);
			return 2;
		}
		break;
	case 'j':
		tw_opts.json = true;
		r->fmt = FMT_JSON;
		break;
	case 'Z':
		if (strcmp(optarg, "utc") && strcmp(optarg, "local")) {
			tw_error("--time %s: want utc or local", optarg);
			return 2;
		}
		r->local_time = !strcmp(optarg, "local");
		break;
	case 'h':
		fputs(audit_usage, stdout);
		return 0;
	default: fputs(audit_usage, stderr); return 2;
	}
	}
	if (optind < argc ||
	    (r->summary + r->verify + !!r->suggest + a->follow) > 1) {
		if (optind >= argc)
			tw_error("--summary, --suggest, --verify and --follow "
				 "do not go together");
		fputs(audit_usage, stderr);
		return 2;
	}
	if (a->pubkey && (r->summary || r->suggest || a->follow)) {
		tw_error("--pubkey goes with --verify or a query's table or "
			 "-j");
		return 2;
	}
	return -1;
}

/* --suggest: a bundle learned from audit-mode records. */
static int print_suggestion(struct reader *r, const char *name)
{
	char nm[80];
	json_t *b;

	suggest_name(r->suggest, nm, sizeof(nm));
	b = tw_suggest_bundle(&r->sg, name ? name : nm);
	if (!b) {
		tw_error("no audit-mode records of %s to learn from%s",
			 r->suggest,
			 r->f.since_ns || r->f.until_ns ?
				 " in that time window" : "");
		return 1;
	}
	json_dumpf(b, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(b);
	if (r->sg.ungrantable)
		tw_warn("%llu records of %s (raw sockets and the like) "
			"cannot be granted by any bundle",
			(unsigned long long)r->sg.ungrantable, r->suggest);
	return 0;
}

/* toolwall audit keygen --out FILE */
static int audit_keygen(int argc, char **argv)
{
	struct tw_ckpt_key k;
	char why[600];

	if (argc == 2 && !strcmp(argv[1], "--help")) {
		fputs(audit_usage, stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "--out") || !*argv[2]) {
		tw_error("usage: toolwall audit keygen --out FILE");
		return 2;
	}
	umask(077);
	if (tw_ckpt_keygen(argv[2], &k, why, sizeof(why))) {
		tw_error("keygen: %s", why);
		return 1;
	}
	printf("wrote %s (private: give it to `toolwall daemon --audit-key`) "
	       "and %s.pub (public: for `toolwall audit --verify --pubkey`); "
	       "key id %s\n",
	       argv[2], argv[2], k.id);
	tw_ckpt_key_free(&k);
	return 0;
}

int cmd_audit(int argc, char **argv)
{
	struct audit_args a = { .log = getenv("TOOLWALL_AUDIT_LOG"),
				.top = 10,
				.now = tw_audit_now_ns() };
	struct reader *r = calloc(1, sizeof(*r));
	struct tw_seg *segs = NULL;
	struct tw_seg_cb cb;
	size_t nsegs = 0;
	int ret;

	struct tw_ckpt_key pub = {};
	char why[600];

	if (argc > 1 && !strcmp(argv[1], "keygen")) {
		free(r);
		return audit_keygen(argc - 1, argv + 1);
	}
	if (!r) {
		tw_error("out of memory");
		return 1;
	}
	if (!a.log || !*a.log)
		a.log = TW_DEFAULT_AUDIT_LOG;
	r->fmt = tw_opts.json ? FMT_JSON : FMT_TABLE;
	ret = audit_args(argc, argv, &a, r);
	if (ret >= 0)
		goto out;
	ret = tw_segs_list(a.log, &segs, &nsegs);
	if (ret || !nsegs) {
		tw_error("cannot read audit log %s: %s", a.log,
			 strerror(ret ? -ret : ENOENT));
		ret = 1;
		goto out;
	}
	cb = (struct tw_seg_cb){ .line = on_line, .damaged = on_damaged,
				 .arg = r };
	if (r->summary)
		tw_summary_init(&r->sum);
	if (r->suggest)
		tw_suggest_init(&r->sg, r->suggest);
	if (r->verify)
		tw_verify_init(&r->v);
	if (a.pubkey) {
		if (tw_ckpt_load_public(a.pubkey, &pub, why, sizeof(why))) {
			tw_error("%s", why);
			ret = 2;
			goto out;
		}
		r->v.key = &pub;
		r->key = &pub;
	}
	if (r->fmt == FMT_TABLE && !r->summary && !r->suggest && !r->verify) {
		r->tab = tw_table_new(columns,
				      sizeof(columns) / sizeof(columns[0]));
		if (!r->tab) {
			tw_error("out of memory");
			ret = 1;
			goto out;
		}
	}

	if (a.follow) {
		/* History only when asked for with --since. */
		if (r->f.since_ns)
			tw_segs_read(segs, nsegs - (segs[nsegs - 1].index == 0),
				     &cb);
		table_flush(r);
		ret = follow(r, a.log, r->f.since_ns != 0);
		goto out;
	}
	find_tail(r, a.log);
	ret = tw_segs_read(segs, nsegs, &cb);
	if (ret < 0) {
		tw_error("reading %s: %s", a.log, strerror(-ret));
		ret = 1;
		goto out;
	}
	ret = 0;
	table_flush(r);
	if (r->verify) {
		ret = print_verify(r, nsegs, a.log);
		goto out;
	}
	if (r->summary) {
		json_t *s = tw_summary_json(&r->sum, a.top);

		if (tw_opts.json) {
			json_dumpf(s, stdout,
				   JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			putchar('\n');
		} else {
			print_summary(s, r->local_time);
		}
		json_decref(s);
	}
	if (r->suggest && print_suggestion(r, a.name))
		ret = 1;
	if (r->key && !r->checkpoints)
		tw_warn("no checkpoint signed by key %s was read: nothing "
			"proves these records are the ones the daemon wrote",
			r->key->id);
	if (r->not_intact)
		tw_warn("%lu record%s read %s not intact: run `toolwall audit "
			"--verify` to find the first problem",
			r->not_intact, r->not_intact == 1 ? "" : "s",
			r->not_intact == 1 ? "is" : "are");
	if (r->damaged || r->not_intact || r->skipped || r->ckpt_bad ||
	    (r->key && !r->checkpoints))
		ret = 1;
out:
	if (r->summary)
		tw_summary_free(&r->sum);
	if (r->suggest)
		tw_suggest_free(&r->sg);
	tw_ckpt_key_free(&pub);
	tw_table_free(r->tab);
	free(r->tail);
	free(segs);
	free(r);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * audit.c - write audit records, and `toolwall audit` to read them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "cmds.h"
#include "util.h"

/* The seq of the last complete line of an existing log. */
static uint64_t last_seq(int fd)
{
	struct stat st;
	char buf[65536];
	off_t off;
	ssize_t n;
	json_t *rec;
	uint64_t seq = 0;
	char *end, *start;

	if (fstat(fd, &st) || st.st_size == 0)
		return 0;
	off = st.st_size > (off_t)sizeof(buf) - 1 ? st.st_size -
						    (off_t)sizeof(buf) + 1 :
					    0;
	n = pread(fd, buf, sizeof(buf) - 1, off);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	end = buf + n;
	while (end > buf && end[-1] == '\n')
		*--end = 0;
	start = strrchr(buf, '\n');
	start = start ? start + 1 : buf;
	rec = json_loads(start, 0, NULL);
	if (rec) {
		seq = json_integer_value(json_object_get(rec, "seq"));
		json_decref(rec);
	}
	return seq;
}

int tw_audit_open(struct tw_audit *a, const char *path)
{
	char dir[4096];

	memset(a, 0, sizeof(*a));
	snprintf(a->path, sizeof(a->path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	tw_mkdir_p(dirname(dir), 0700);
	a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (a->fd < 0)
		return -errno;
	a->seq = last_seq(a->fd);
	return 0;
}

void tw_audit_close(struct tw_audit *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}

json_t *tw_audit_record(struct tw_audit *a, const char *event, uint64_t ts_ns)
{
	char ts[64];
	json_t *rec = json_object();

	if (!ts_ns)
		ts_ns = tw_now_ns(CLOCK_REALTIME);
	tw_rfc3339(ts_ns, ts, sizeof(ts));
	json_object_set_new(rec, "ts", json_string(ts));
	json_object_set_new(rec, "seq", json_integer(a->seq + 1));
	json_object_set_new(rec, "event", json_string(event));
	return rec;
}

int tw_audit_write(struct tw_audit *a, json_t *rec)
{
	char *s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t len;
	int ret = 0;

	json_decref(rec);
	if (!s) {
		a->failed++;
		return -ENOMEM;
	}
	len = strlen(s);
	s[len++] = '\n';
	/* One write per record: O_APPEND keeps lines whole. */
	if (write(a->fd, s, len) != (ssize_t)len) {
		ret = -errno;
		a->failed++;
	} else {
		a->seq++;
		a->written++;
	}
	free(s);
	return ret;
}

/* ---- toolwall audit: read the log --------------------------------- */

static const char audit_usage[] =
	"Usage: toolwall audit [--log FILE] [--context CTX] [--call-id ID]\n"
	"                      [--event EVENT] [--action ACTION] [-j]\n"
	"Print audit records (a table, or JSON Lines with -j).\n"
	"  --log FILE      the audit log (default " TW_DEFAULT_AUDIT_LOG ")\n"
	"  --context CTX   only records of this context\n"
	"  --call-id ID    only records of this tool call\n"
	"  --event EVENT   only deny, audit, lost, policy, daemon...\n"
	"  --action ACTION only connect, sendmsg, socket, egress...\n"
	"  -j, --json      JSON Lines\n";

static bool field_is(json_t *rec, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(rec, key));

	return !want || (v && !strcmp(v, want));
}

int cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "log", required_argument, 0, 'l' },
		{ "context", required_argument, 0, 'c' },
		{ "call-id", required_argument, 0, 'i' },
		{ "event", required_argument, 0, 'e' },
		{ "action", required_argument, 0, 'a' },
		{ "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	const char *log = getenv("TOOLWALL_AUDIT_LOG");
	const char *ctx = NULL, *call = NULL, *event = NULL, *action = NULL;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int c, lineno = 0;

	if (!log || !*log)
		log = TW_DEFAULT_AUDIT_LOG;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'l': log = optarg; break;
		case 'c': ctx = optarg; break;
		case 'i': call = optarg; break;
		case 'e': event = optarg; break;
		case 'a': action = optarg; break;
		case 'j': tw_opts.json = true; break;
		case 'h': fputs(audit_usage, stdout); return 0;
		default: fputs(audit_usage, stderr); return 2;
		}
	}
	f = fopen(log, "re");
	if (!f) {
		tw_error("cannot open audit log %s: %s", log, strerror(errno));
		return 1;
	}
	if (!tw_opts.json)
		printf("%-30s %-6s %-24s %-8s %-7s %-28s %s\n", "TIME", "EVENT",
		       "CONTEXT", "CALL", "ACTION", "DESTINATION", "REASON");
	while (getline(&line, &cap, f) > 0) {
		json_t *rec = json_loads(line, 0, NULL);
		char dst[300];
		const char *d, *p;

		lineno++;
		if (!rec) {
			tw_warn("%s:%d: not a JSON record, skipped", log,
				lineno);
			continue;
		}
		if (!field_is(rec, "context", ctx) ||
		    !field_is(rec, "call_id", call) ||
		    !field_is(rec, "event", event) ||
		    !field_is(rec, "action", action)) {
			json_decref(rec);
			continue;
		}
		if (tw_opts.json) {
			fputs(line, stdout);
			json_decref(rec);
			continue;
		}
		d = json_string_value(json_object_get(rec, "dst"));
		p = json_string_value(json_object_get(rec, "path"));
		if (p)
			snprintf(dst, sizeof(dst), "unix:%s", p);
		else if (d)
			snprintf(dst, sizeof(dst), "%s:%lld/%s", d,
				 json_integer_value(json_object_get(rec, "port")),
				 json_string_value(json_object_get(rec, "proto")) ?: "");
		else
			snprintf(dst, sizeof(dst), "-");
#define S(k) (json_string_value(json_object_get(rec, k)) ?: "-")
		printf("%-30s %-6s %-24s %-8s %-7s %-28s %s\n", S("ts"),
		       S("event"), S("context"), S("call_id"), S("action"), dst,
		       S("reason"));
#undef S
		json_decref(rec);
	}
	free(line);
	fclose(f);
	return 0;
}

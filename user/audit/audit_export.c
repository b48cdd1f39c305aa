// SPDX-License-Identifier: GPL-2.0-only
/*
 * audit_export.c - RFC 5424 syslog messages and OCSF-shaped events from
 * audit records.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_export.h"
#include "record.h"

#define S(r, k) json_string_value(json_object_get(r, k))

static int severity(const char *ev)
{
	if (!strcmp(ev, "lost"))
		return 3; /* error */
	if (!strcmp(ev, "deny"))
		return 4; /* warning */
	if (!strcmp(ev, "audit") || !strcmp(ev, "policy"))
		return 5; /* notice */
	return 6;	  /* informational */
}

struct out {
	char *buf;
	size_t len, off;
	bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->off + n > o->len) {
		o->full = true;
		return;
	}
	memcpy(o->buf + o->off, s, n);
	o->off += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* PRINTUSASCII without spaces, at most MAX characters, or "-". */
static void put_token(struct out *o, const char *s, size_t max)
{
	size_t n = 0;

	for (; s && *s && n < max; s++) {
		if (*s > 32 && *s < 127) {
			put(o, s, 1);
			n++;
		}
	}
	if (!n)
		puts_(o, "-");
}

/* An SD-PARAM: name="value" with ", \ and ] escaped. */
static void put_param(struct out *o, const char *name, const char *val)
{
	if (!val)
		return;
	puts_(o, " ");
	puts_(o, name);
	puts_(o, "=\"");
	for (; *val; val++) {
		if (*val == '"' || *val == '\\' || *val == ']')
			put(o, "\\", 1);
		put(o, val, 1);
	}
	puts_(o, "\"");
}

/* The structured data element SD_ID: seq, the key fields, hash. */
static void put_sd(struct out *o, json_t *rec, const char *sd_id)
{
	char tmp[64];
	json_t *v;

	puts_(o, "[");
	puts_(o, sd_id);
	v = json_object_get(rec, "seq");
	snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
	put_param(o, "seq", tmp);
	put_param(o, "context", S(rec, "context"));
	put_param(o, "call_id", S(rec, "call_id"));
	put_param(o, "action", S(rec, "action"));
	put_param(o, "dst", S(rec, "dst") ?: S(rec, "path") ?: S(rec, "domain"));
	if (json_is_integer(v = json_object_get(rec, "port"))) {
		snprintf(tmp, sizeof(tmp), "%lld",
			 (long long)json_integer_value(v));
		put_param(o, "port", tmp);
	}
	if (json_is_integer(v = json_object_get(rec, "count"))) {
		snprintf(tmp, sizeof(tmp), "%lld",
			 (long long)json_integer_value(v));
		put_param(o, "count", tmp);
	}
	put_param(o, "hash", S(rec, "hash"));
	puts_(o, "]");
}

int tw_syslog_format(json_t *rec, const char *line, size_t linelen,
		     const char *host, int pid, const char *sd_id, char *buf,
		     size_t len)
{
	struct out o = { buf, len, 0, false };
	const char *ev = S(rec, "event") ?: "-", *ts = S(rec, "ts") ?: "";
	char tmp[128];

	snprintf(tmp, sizeof(tmp), "<%d>1 ",
		 TW_SYSLOG_FACILITY * 8 + severity(ev));
	puts_(&o, tmp);
	/* TIME-SECFRAC has at most 6 digits: ns -> us */
	{
		const char *dot = strchr(ts, '.');

		if (dot && strlen(dot) >= 8 && dot[strlen(dot) - 1] == 'Z') {
			put(&o, ts, dot - ts + 7);
			puts_(&o, "Z");
		} else {
			put_token(&o, ts, 64);
		}
	}
	puts_(&o, " ");
	put_token(&o, host, 255);
	puts_(&o, " toolwall ");
	snprintf(tmp, sizeof(tmp), "%d ", pid);
	puts_(&o, tmp);
	put_token(&o, ev, 32);
	puts_(&o, " ");
	if (sd_id)
		put_sd(&o, rec, sd_id);
	else
		puts_(&o, "-");
	puts_(&o, " ");
	put(&o, line, linelen);
	return o.full ? -ENOSPC : (int)o.off;
}

/* ---- OCSF ------------------------------------------------------------------ */

static json_int_t ms_of(const char *ts)
{
	uint64_t ns = 0;

	if (!ts || tw_audit_ts_parse(ts, &ns))
		return 0;
	return (json_int_t)(ns / 1000000ull);
}

/* File System Activity (1001) activity of a refused file syscall. */
static int file_activity(const char *act, const char **name)
{
	static const struct {
		const char *action, *name;
		int id;
	} map[] = {
		{"open", "Open", 14},	  {"mkdir", "Create", 1},
		{"mknod", "Create", 1},	  {"create", "Create", 1},
		{"link", "Create", 1},	  {"symlink", "Create", 1},
		{"unlink", "Delete", 4},  {"rmdir", "Delete", 4},
		{"rename", "Rename", 5},  {"truncate", "Update", 3},
		{"chmod", "Set Attributes", 6}, {"chown", "Set Attributes", 6},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(act, map[i].action)) {
			*name = map[i].name;
			return map[i].id;
		}
	*name = "Other";
	return 99;
}

/* The command line of an exec record, space separated, whole. */
static json_t *cmd_line(json_t *argv)
{
	size_t cap = 1, i;
	json_t *a, *out;
	char *s;

	json_array_foreach (argv, i, a)
		cap += strlen(json_string_value(a) ?: "") + 1;
	s = malloc(cap);
	if (!s)
		return json_null();
	tw_audit_argv_join(argv, s, cap);
	out = json_string(s);
	free(s);
	return out ? out : json_null();
}

/* The OCSF class and activity a record maps to. */
struct ocsf_class {
	int class_uid, category, activity;
	const char *class_name, *activity_name;
	bool deny, audit, sys;
};

static void ocsf_classify(json_t *rec, struct ocsf_class *k)
{
	const char *ev = S(rec, "event") ?: "", *act = S(rec, "action") ?: "";
	bool exec = !strcmp(ev, "exec");

	k->deny = !strcmp(ev, "deny");
	k->audit = !strcmp(ev, "audit");
	/* a refusal the syscall audit (or Landlock's own log) saw */
	k->sys = k->deny && (S(rec, "syscall") || S(rec, "blockers"));
	k->class_uid = 0;
	k->category = 0;
	k->activity = 99;
	k->class_name = "Base Event";
	k->activity_name = "Other";
	if (exec || (k->sys && !strcmp(act, "exec"))) {
		k->class_uid = 1007;
		k->category = 1;
		k->class_name = "Process Activity";
		k->activity = 1;
		k->activity_name = "Launch";
	} else if (k->sys && S(rec, "path")) {
		k->class_uid = 1001;
		k->category = 1;
		k->class_name = "File System Activity";
		k->activity = file_activity(act, &k->activity_name);
	} else if (k->sys) {
		/* an escape syscall (mount, bpf, ptrace...): no better class */
	} else if (k->deny || k->audit) {
		k->class_uid = 4001;
		k->category = 4;
		k->class_name = "Network Activity";
		/* a denial refuses the connection; audit mode let it open */
		k->activity = k->deny ? 5 : 1;
		k->activity_name = k->deny ? "Refuse" : "Open";
	} else if (!strcmp(ev, "daemon")) {
		k->class_uid = 6002;
		k->category = 6;
		k->class_name = "Application Lifecycle";
		k->activity = !strcmp(act, "stop") ? 4 : 3;
		k->activity_name = k->activity == 4 ? "Stop" : "Start";
	}
}

static void ocsf_disposition(json_t *o, bool deny)
{
	json_object_set_new(o, "action_id", json_integer(deny ? 2 : 1));
	json_object_set_new(o, "action", json_string(deny ? "Denied" : "Allowed"));
	json_object_set_new(o, "disposition_id", json_integer(deny ? 2 : 1));
	json_object_set_new(o, "disposition",
			    json_string(deny ? "Blocked" : "Allowed"));
	json_object_set_new(o, "status_id", json_integer(deny ? 2 : 1));
	json_object_set_new(o, "status", json_string(deny ? "Failure" : "Success"));
}

/* actor.process: who did it. */
static void ocsf_actor(json_t *o, json_t *rec)
{
	json_t *v = json_object_get(rec, "pid"), *proc;
	char uid[32];

	if (!json_is_integer(v))
		return;
	proc = json_pack("{s:O}", "pid", v);
	if (S(rec, "comm"))
		json_object_set_new(proc, "name", json_string(S(rec, "comm")));
	if (json_is_integer(v = json_object_get(rec, "tid")))
		json_object_set(proc, "tid", v);
	if (json_is_integer(v = json_object_get(rec, "uid"))) {
		snprintf(uid, sizeof(uid), "%lld",
			 (long long)json_integer_value(v));
		json_object_set_new(proc, "user", json_pack("{s:s}", "uid", uid));
	}
	json_object_set_new(o, "actor", json_pack("{s:o}", "process", proc));
}

/* process: the program a Process Activity launched. */
static void ocsf_process(json_t *o, json_t *rec)
{
	json_t *p = json_object(), *v;

	if (json_is_integer(v = json_object_get(rec, "pid")))
		json_object_set(p, "pid", v);
	if (S(rec, "comm"))
		json_object_set_new(p, "name", json_string(S(rec, "comm")));
	if (S(rec, "path"))
		json_object_set_new(p, "file",
				    json_pack("{s:s}", "path", S(rec, "path")));
	if (json_is_array(v = json_object_get(rec, "argv")))
		json_object_set_new(p, "cmd_line", cmd_line(v));
	if (json_is_integer(v = json_object_get(rec, "ppid")))
		json_object_set_new(p, "parent_process",
				    json_pack("{s:O}", "pid", v));
	json_object_set_new(o, "process", p);
}

/* dst_endpoint and connection_info of a network refusal. */
static void ocsf_network(json_t *o, json_t *rec)
{
	json_t *ep = json_object(), *v;

	if (S(rec, "dst"))
		json_object_set_new(ep, "ip", json_string(S(rec, "dst")));
	if (json_is_integer(v = json_object_get(rec, "port")))
		json_object_set(ep, "port", v);
	if (S(rec, "domain"))
		json_object_set_new(ep, "domain", json_string(S(rec, "domain")));
	if (json_object_size(ep))
		json_object_set_new(o, "dst_endpoint", ep);
	else
		json_decref(ep);
	json_object_set_new(o, "connection_info",
			    json_pack("{s:s,s:s,s:i}", "protocol_name",
				      S(rec, "proto") ?: "unknown", "direction",
				      "Outbound", "direction_id", 2));
}

json_t *tw_ocsf_from_record(json_t *rec)
{
	const char *ev = S(rec, "event") ?: "";
	json_t *o = json_object(), *v;
	struct ocsf_class k;
	int sev;

	ocsf_classify(rec, &k);
	sev = k.deny ? 3 : k.audit ? 2 : !strcmp(ev, "lost") ? 4 : 1;
	json_object_set_new(o, "class_uid", json_integer(k.class_uid));
	json_object_set_new(o, "class_name", json_string(k.class_name));
	json_object_set_new(o, "category_uid", json_integer(k.category));
	json_object_set_new(o, "activity_id", json_integer(k.activity));
	json_object_set_new(o, "activity_name", json_string(k.activity_name));
	json_object_set_new(
		o, "type_uid",
		json_integer((json_int_t)k.class_uid * 100 + k.activity));
	json_object_set_new(o, "severity_id", json_integer(sev));
	json_object_set_new(o, "time", json_integer(ms_of(S(rec, "ts"))));
	if (k.deny || k.audit)
		ocsf_disposition(o, k.deny);
	if (S(rec, "reason"))
		json_object_set_new(o, "message", json_string(S(rec, "reason")));
	if (json_is_integer(v = json_object_get(rec, "count")))
		json_object_set(o, "count", v);
	if (S(rec, "first_ts")) {
		json_object_set_new(o, "start_time",
				    json_integer(ms_of(S(rec, "first_ts"))));
		json_object_set_new(o, "end_time",
				    json_integer(ms_of(S(rec, "last_ts"))));
	}
	json_object_set_new(
		o, "metadata",
		json_pack("{s:s,s:{s:s,s:s},s:s,s:I,s:s?}", "version", "1.1.0",
			  "product", "name", "toolwall", "vendor_name",
			  "toolwall", "log_name", "toolwall-audit", "sequence",
			  json_integer_value(json_object_get(rec, "seq")),
			  "original_time", S(rec, "ts")));
	ocsf_actor(o, rec);
	if (k.class_uid == 1007)
		ocsf_process(o, rec);
	else if (k.class_uid == 1001)
		json_object_set_new(o, "file",
				    json_pack("{s:s}", "path", S(rec, "path")));
	if ((k.deny || k.audit) && !k.sys)
		ocsf_network(o, rec);
	json_object_set(o, "unmapped", rec);
	return o;
}

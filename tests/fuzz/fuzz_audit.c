/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_audit.c - libFuzzer harness for the audit log readers.
 *
 * The bytes are a log segment (plain, or gzip when they start with its
 * magic) read back the way `toolwall audit` reads one: tw_seg_read() hands
 * out the lines; each line goes through the --verify chain check and
 * through the query path (filters, table, OCSF and syslog forms, summary,
 * suggest). A line the chain accepts must re-seal to itself byte for byte
 * (else abort): the check and the writer must agree on the canonical form.
 * Each line's bytes also go through record.h's encoding (it must be valid
 * UTF-8 and decode back to them exactly) and the redactor (no registered
 * value may remain; a redacted record must still serialise).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audit.h"
#include "audit_chain.h"
#include "audit_export.h"
#include "audit_query.h"
#include "audit_seg.h"
#include "record.h"
#include "redact.h"

#define NFILTERS 5

static struct tw_audit_filter filters[NFILTERS];
static struct tw_redactor red;
#define FUZZ_VALUE "whs-0123456789abcdef"
static struct tw_seg seg;
static int memfd = -1;

struct reader {
	struct tw_verify v;
	struct tw_summary sum;
	struct tw_suggest sg;
	unsigned long lines, damaged;
};

static void filters_init(void)
{
	const uint64_t now = 1764672000ull * 1000000000ull; /* 2025-12-02 */
	struct tw_audit_filter *f;

	/* [0] matches everything, like a bare `toolwall audit` */
	f = &filters[1];
	f->context = "workspace:acme";
	f->event = "deny";
	f->action = "connect";
	if (tw_audit_parse_dst(f, "10.0.0.0/8:443") ||
	    tw_audit_parse_when("7d", now, &f->since_ns) ||
	    tw_audit_parse_when("2030-01-01T00:00:00Z", now, &f->until_ns))
		abort();
	f = &filters[2];
	f->domain = "*.example.com";
	f->workspace = "acme";
	f->has_pid = true;
	f->pid = 4242;
	if (tw_audit_parse_dst(&filters[3], "[fd00::1]:53") ||
	    tw_audit_parse_dst(&filters[4], "unix:/run/x.sock"))
		abort();
	filters[4].call_id = "call-1";
}

static void query_line(struct reader *r, const char *text, size_t len)
{
	char dest[300], msg[8192];
	json_t *rec, *o;

	if (!len)
		return;
	rec = json_loadb(text, len, 0, NULL);
	if (!json_is_object(rec)) {
		json_decref(rec);
		return;
	}
	for (int i = 0; i < NFILTERS; i++)
		tw_audit_match(&filters[i], rec);
	tw_summary_add(&r->sum, rec);
	tw_suggest_add(&r->sg, rec);
	tw_audit_dest(rec, dest, sizeof(dest));
	tw_audit_argv_join(json_object_get(rec, "argv"), msg, sizeof(msg));
	tw_audit_argv_join(json_object_get(rec, "argv"), msg, 8);
	o = tw_ocsf_from_record(rec);
	free(json_dumps(o, JSON_COMPACT));
	json_decref(o);
	tw_syslog_format(rec, text, len, "host", 1, "toolwall@32473", msg,
			 sizeof(msg));
	tw_syslog_format(rec, text, len, "host", 1, NULL, msg, 64);
	json_decref(rec);
}

/* Does any string value in J (keys are the writer's) hold the value? */
static bool holds_value(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_string(j))
		return memmem(json_string_value(j), json_string_length(j),
			      FUZZ_VALUE, strlen(FUZZ_VALUE)) != NULL;
	json_object_foreach (j, k, v)
		if (holds_value(v))
			return true;
	json_array_foreach (j, i, v)
		if (holds_value(v))
			return true;
	return false;
}

/* The encoding round-trips any bytes; the redactor leaves no value. */
static void bytes_line(const char *text, size_t len)
{
	size_t need = tw_bytes_encode(text, len, NULL, 0), rl = 0;
	char *enc = malloc(need + 1), *back = malloc(len + 1), *r;
	json_t *rec;

	if (!enc || !back)
		goto out;
	if (tw_bytes_encode(text, len, enc, need + 1) != need ||
	    strlen(enc) != need || !tw_utf8_valid(enc, need) ||
	    tw_bytes_decode(enc, back, len + 1) != (long)len ||
	    memcmp(back, text, len))
		abort();
	r = tw_redact_str(&red, text, len, &rl);
	if (r && (strlen(r) != rl || memmem(r, rl, FUZZ_VALUE,
					    strlen(FUZZ_VALUE))))
		abort();
	free(r);
	rec = json_loadb(text, len, 0, NULL);
	if (rec) {
		tw_redact_json(&red, rec);
		r = json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!r || holds_value(rec))
			abort();
		free(r);
		json_decref(rec);
	}
out:
	free(enc);
	free(back);
}

/* A line the chain accepts is canonical ,"hash":"<64 hex>"} */
static void reseal(const char *text, size_t len)
{
	const size_t tail = sizeof(",\"hash\":\"\"}") - 1 + TW_HASH_HEX;
	char prev[TW_HASH_HEX + 1], hash[TW_HASH_HEX + 1], h2[TW_HASH_HEX + 1];
	char *canon, *line = NULL;
	size_t llen = 0;
	uint64_t seq;

	if (tw_chain_check(text, len, &seq, prev, hash, NULL) != TW_LINE_OK)
		return;
	if (len < tail + 1)
		abort();
	canon = malloc(len - tail + 1);
	if (!canon)
		return;
	memcpy(canon, text, len - tail);
	canon[len - tail] = '}';
	if (!tw_chain_seal(canon, len - tail + 1, &line, &llen, h2) &&
	    (llen != len + 1 || memcmp(line, text, len) || strcmp(h2, hash)))
		abort();
	free(line);
	free(canon);
}

static int on_line(void *arg, const struct tw_seg *s, unsigned long lineno,
		   const char *text, size_t len)
{
	struct reader *r = arg;

	r->lines++;
	tw_verify_line(&r->v, s->path, lineno, text, len);
	reseal(text, len);
	bytes_line(text, len);
	query_line(r, text, len);
	return 0;
}

static void on_damaged(void *arg, const struct tw_seg *s, unsigned long lineno,
		       const char *why)
{
	struct reader *r = arg;

	r->damaged++;
	tw_verify_damaged(&r->v, s->path, lineno, why);
}

/* The first line also stands in for --since/--until/--dst arguments. */
static void parse_args(const uint8_t *data, size_t size)
{
	struct tw_audit_filter f = { 0 };
	const uint8_t *nl = memchr(data, '\n', size);
	char *s;
	uint64_t ns;

	s = strndup((const char *)data, nl ? (size_t)(nl - data) : size);
	if (!s)
		return;
	tw_audit_parse_when(s, 1764672000ull * 1000000000ull, &ns);
	tw_audit_parse_when(s, 0, &ns);
	tw_audit_parse_dst(&f, s);
	json_decref(tw_hint_bundles(s));
	free(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memfd = memfd_create("fuzz-audit", MFD_CLOEXEC);
	if (memfd < 0)
		abort();
	snprintf(seg.path, sizeof(seg.path), "/proc/self/fd/%d", memfd);
	filters_init();
	if (tw_redact_add(&red, 1, "warehouse-reader", FUZZ_VALUE,
			  strlen(FUZZ_VALUE)) ||
	    tw_redact_add(&red, 2, "odd", "k\\\xffz-secret", 11))
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tw_seg_cb cb = { .line = on_line, .damaged = on_damaged };
	struct reader r;
	json_t *o;

	if (ftruncate(memfd, 0) ||
	    pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	memset(&r, 0, sizeof(r));
	tw_verify_init(&r.v);
	tw_summary_init(&r.sum);
	tw_suggest_init(&r.sg, "workspace:acme");
	cb.arg = &r;
	tw_seg_read(&seg, &cb);
	/* A log verifies only if no line and no segment failed. */
	if (tw_verify_finish(&r.v) == 0 && (r.v.failed || r.damaged))
		abort();
	o = tw_summary_json(&r.sum, 10);
	free(json_dumps(o, JSON_COMPACT));
	json_decref(o);
	o = tw_suggest_bundle(&r.sg, "suggested");
	free(json_dumps(o, JSON_COMPACT));
	json_decref(o);
	tw_summary_free(&r.sum);
	tw_suggest_free(&r.sg);
	parse_args(data, size);
	return 0;
}

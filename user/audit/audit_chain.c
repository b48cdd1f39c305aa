// SPDX-License-Identifier: GPL-2.0-only
/*
 * audit_chain.c - seal audit records into a SHA-256 hash chain and verify
 * a whole log: the first altered, missing, inserted or reordered record.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "audit_chain.h"
#include "checkpoint.h"

#define HASH_PREFIX ",\"hash\":\""
#define HASH_PREFIX_LEN (sizeof(HASH_PREFIX) - 1)
/* ,"hash":"<64 hex>"} */
#define HASH_SUFFIX_LEN (HASH_PREFIX_LEN + TW_HASH_HEX + 2)

static void to_hex(const unsigned char *d, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[2 * n] = 0;
}

/* SHA-256 of A then B. */
static int sha256_2(const void *a, size_t alen, const void *b, size_t blen,
		    char hex[TW_HASH_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(ctx, a, alen) &&
	     (!blen || EVP_DigestUpdate(ctx, b, blen)) &&
	     EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (!ok || mdlen != TW_HASH_HEX / 2)
		return -EIO;
	to_hex(md, mdlen, hex);
	return 0;
}

int tw_chain_sha256(const void *data, size_t len, char hex[TW_HASH_HEX + 1])
{
	return sha256_2(data, len, NULL, 0, hex);
}

int tw_chain_seal(const char *json, size_t len, char **line, size_t *linelen,
		  char hash[TW_HASH_HEX + 1])
{
	char *out;
	size_t n;
	int ret;

	if (len < 2 || json[0] != '{' || json[len - 1] != '}')
		return -EINVAL;
	ret = tw_chain_sha256(json, len, hash);
	if (ret)
		return ret;
	/* {...} -> {...,"hash":"H"}\n ; an empty object {} has no comma */
	n = len - 1 + HASH_SUFFIX_LEN + 1;
	out = malloc(n + 1);
	if (!out)
		return -ENOMEM;
	memcpy(out, json, len - 1);
	if (len == 2) {
		memcpy(out + 1, &HASH_PREFIX[1], HASH_PREFIX_LEN - 1);
		n--;
		memcpy(out + HASH_PREFIX_LEN, hash, TW_HASH_HEX);
	} else {
		memcpy(out + len - 1, HASH_PREFIX, HASH_PREFIX_LEN);
		memcpy(out + len - 1 + HASH_PREFIX_LEN, hash, TW_HASH_HEX);
	}
	memcpy(out + n - 3, "\"}\n", 3);
	out[n] = 0;
	*line = out;
	*linelen = n;
	return 0;
}

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

enum tw_line_state tw_chain_check(const char *line, size_t len, uint64_t *seq,
				  char prev[TW_HASH_HEX + 1],
				  char hash[TW_HASH_HEX + 1], json_t **rec)
{
	const char *suffix, *p;
	char want[TW_HASH_HEX + 1];
	json_t *r, *s;

	if (rec)
		*rec = NULL;
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	r = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(r)) {
		json_decref(r);
		return TW_LINE_NOT_JSON;
	}
	if (len < HASH_SUFFIX_LEN + 2)
		goto unsealed;
	suffix = line + len - HASH_SUFFIX_LEN;
	if (memcmp(suffix, HASH_PREFIX, HASH_PREFIX_LEN) ||
	    !is_hex(suffix + HASH_PREFIX_LEN, TW_HASH_HEX) ||
	    memcmp(line + len - 2, "\"}", 2))
		goto unsealed;
	memcpy(hash, suffix + HASH_PREFIX_LEN, TW_HASH_HEX);
	hash[TW_HASH_HEX] = 0;
	if (sha256_2(line, suffix - line, "}", 1, want) ||
	    memcmp(want, hash, TW_HASH_HEX)) {
		json_decref(r);
		return TW_LINE_MISMATCH;
	}
	s = json_object_get(r, "seq");
	p = json_string_value(json_object_get(r, "prev"));
	if (!json_is_integer(s) || json_integer_value(s) < 1 || !p ||
	    strlen(p) != TW_HASH_HEX) {
		json_decref(r);
		return TW_LINE_NO_SEQ;
	}
	*seq = (uint64_t)json_integer_value(s);
	memcpy(prev, p, TW_HASH_HEX + 1);
	if (rec)
		*rec = r;
	else
		json_decref(r);
	return TW_LINE_OK;
unsealed:
	json_decref(r);
	return TW_LINE_UNSEALED;
}

/* ---- verify ------------------------------------------------------------ */

void tw_verify_init(struct tw_verify *v)
{
	memset(v, 0, sizeof(*v));
}

static void loc_set(struct tw_verify_loc *l, const char *file,
		    unsigned long line, uint64_t seq, const char *hash)
{
	snprintf(l->file, sizeof(l->file), "%s", file);
	l->line = line;
	l->seq = seq;
	snprintf(l->hash, sizeof(l->hash), "%s", hash ? hash : "");
}

static void __attribute__((format(printf, 6, 7)))
fail(struct tw_verify *v, const char *kind, const char *file,
     unsigned long line, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	if (v->failed)
		return;
	v->failed = true;
	snprintf(v->kind, sizeof(v->kind), "%s", kind);
	snprintf(v->where, sizeof(v->where), "%s:%lu", file, line);
	v->where_seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->error, sizeof(v->error), fmt, ap);
	va_end(ap);
}

void tw_verify_damaged(struct tw_verify *v, const char *file,
		       unsigned long line, const char *why)
{
	fail(v, "corrupt", file, line, 0,
	     "%s:%lu: segment damaged after this line (%s): the records after "
	     "it cannot be verified",
	     file, line, why);
}

static void resolve_gap(struct tw_verify *v)
{
	if (!v->gap)
		return;
	v->gap = false;
	if (v->gap_after.line == 1 && strcmp(v->gap_after.file,
					     v->gap_before.file))
		fail(v, "segment", v->gap_after.file, v->gap_after.line,
		     v->gap_lo,
		     "records seq %llu-%llu are missing between two segments: "
		     "%s ends at seq %llu and %s starts at seq %llu (a segment "
		     "deleted)",
		     (unsigned long long)v->gap_lo,
		     (unsigned long long)v->gap_hi, v->gap_before.file,
		     (unsigned long long)v->gap_before.seq, v->gap_after.file,
		     (unsigned long long)v->gap_after.seq);
	else if (v->gap_lo == v->gap_hi)
		fail(v, "missing", v->gap_after.file, v->gap_after.line,
		     v->gap_lo,
		     "record seq %llu is missing: %s:%lu (seq %llu) is followed "
		     "by %s:%lu (seq %llu)",
		     (unsigned long long)v->gap_lo, v->gap_before.file,
		     v->gap_before.line, (unsigned long long)v->gap_before.seq,
		     v->gap_after.file, v->gap_after.line,
		     (unsigned long long)v->gap_after.seq);
	else
		fail(v, "missing", v->gap_after.file, v->gap_after.line,
		     v->gap_lo,
		     "records seq %llu-%llu are missing: %s:%lu (seq %llu) is "
		     "followed by %s:%lu (seq %llu)",
		     (unsigned long long)v->gap_lo,
		     (unsigned long long)v->gap_hi, v->gap_before.file,
		     v->gap_before.line, (unsigned long long)v->gap_before.seq,
		     v->gap_after.file, v->gap_after.line,
		     (unsigned long long)v->gap_after.seq);
}

/*
 * With a key: a checkpoint record must carry the chain head it follows
 * (its prev), this key's id and a signature of both with its seq and ts;
 * any other record counts as one after the last checkpoint.
 */
int tw_ckpt_check_record(const struct tw_ckpt_key *k, json_t *rec,
			 uint64_t seq, const char *prev, char *why, size_t n)
{
	const char *head = json_string_value(json_object_get(rec, "head"));
	const char *kid = json_string_value(json_object_get(rec, "key_id"));
	const char *sig = json_string_value(json_object_get(rec, "signature"));
	const char *ts = json_string_value(json_object_get(rec, "ts"));
	json_t *every = json_object_get(rec, "every");
	char msg[512];

	if (!kid || strcmp(kid, k->id)) {
		snprintf(why, n,
			 "checkpoint seq %llu is signed by key %s, not by the "
			 "key given (%s)",
			 (unsigned long long)seq, kid ? kid : "(none)", k->id);
		return -EKEYREJECTED;
	}
	tw_ckpt_message(kid, seq, ts ? ts : "", head ? head : "",
			json_integer_value(json_object_get(every, "records")),
			json_integer_value(json_object_get(every, "seconds")),
			msg, sizeof(msg));
	if (!head || strcmp(head, prev) || !sig ||
	    !tw_ckpt_verify(k, msg, sig)) {
		snprintf(why, n,
			 "checkpoint seq %llu does not verify with key %s: the "
			 "records before it are not the ones the daemon signed "
			 "(altered and re-hashed) or the checkpoint itself was "
			 "forged",
			 (unsigned long long)seq, k->id);
		return -EBADMSG;
	}
	return 0;
}

static bool check_checkpoint(struct tw_verify *v, json_t *rec, uint64_t seq,
			     const char *prev, const char *file,
			     unsigned long line)
{
	const char *ev = json_string_value(json_object_get(rec, "event"));
	json_t *every = json_object_get(rec, "every");
	uint64_t er = json_integer_value(json_object_get(every, "records"));
	uint64_t es = json_integer_value(json_object_get(every, "seconds"));
	char why[512];

	if (!ev || strcmp(ev, "checkpoint")) {
		v->after_ckpt++;
		return true;
	}
	if (tw_ckpt_check_record(v->key, rec, seq, prev, why, sizeof(why))) {
		fail(v, "forged", file, line, seq, "%s:%lu: %s", file, line,
		     why);
		return false;
	}
	v->checkpoints++;
	v->ckpt_seq = seq;
	v->after_ckpt = 0;
	v->every_records = er;
	v->every_seconds = es;
	return true;
}

/* A record whose seq comes too late (reordered, inserted, a segment out
 * of its place): fail and say which. */
static bool out_of_order(struct tw_verify *v, const char *file,
			 unsigned long line, uint64_t seq, const char *hash)
{
	struct tw_verify_loc *old;

	if (v->gap && seq >= v->gap_lo && seq <= v->gap_hi && line == 1 &&
	    v->gap_after.line == 1) {
		fail(v, "segments", file, line, seq,
		     "%s: segments out of order: it starts at seq %llu, which "
		     "belongs before %s (seq %llu) (segments swapped or "
		     "renamed)",
		     file, (unsigned long long)seq, v->gap_after.file,
		     (unsigned long long)v->gap_after.seq);
		return true;
	}
	if (v->gap && seq >= v->gap_lo && seq <= v->gap_hi) {
		fail(v, "reordered", file, line, seq,
		     "%s:%lu: reordered: seq %llu belongs between %s:%lu "
		     "(seq %llu) and %s:%lu (seq %llu)",
		     file, line, (unsigned long long)seq, v->gap_before.file,
		     v->gap_before.line, (unsigned long long)v->gap_before.seq,
		     v->gap_after.file, v->gap_after.line,
		     (unsigned long long)v->gap_after.seq);
		return true;
	}
	if (v->records && seq <= v->last_seq) {
		old = &v->recent[seq % TW_VERIFY_RECENT];
		if (old->seq == seq && !strcmp(old->hash, hash))
			fail(v, "inserted", file, line, seq,
			     "%s:%lu: inserted: a copy of %s:%lu (seq %llu)",
			     file, line, old->file, old->line,
			     (unsigned long long)seq);
		else if (old->seq == seq)
			fail(v, "inserted", file, line, seq,
			     "%s:%lu: inserted: seq %llu again, already at "
			     "%s:%lu",
			     file, line, (unsigned long long)seq, old->file,
			     old->line);
		else if (line == 1)
			fail(v, "segments", file, line, seq,
			     "%s: segments out of order: it starts at seq %llu, "
			     "after seq %llu (segments swapped or renamed)",
			     file, (unsigned long long)seq,
			     (unsigned long long)v->last_seq);
		else
			fail(v, "inserted", file, line, seq,
			     "%s:%lu: inserted or reordered: seq %llu after "
			     "seq %llu",
			     file, line, (unsigned long long)seq,
			     (unsigned long long)v->last_seq);
		return true;
	}
	return false;
}

bool tw_verify_line(struct tw_verify *v, const char *file, unsigned long line,
		    const char *text, size_t len)
{
	char prev[TW_HASH_HEX + 1], hash[TW_HASH_HEX + 1];
	enum tw_line_state st;
	uint64_t seq = 0;
	json_t *rec = NULL;

	if (v->failed)
		return false;
	st = tw_chain_check(text, len, &seq, prev, hash, &rec);
	switch (st) {
	case TW_LINE_OK:
		break;
	case TW_LINE_NOT_JSON:
		fail(v, "altered", file, line, v->prev.seq + 1,
		     "%s:%lu: altered: not a JSON record", file, line);
		return false;
	case TW_LINE_UNSEALED:
		fail(v, "altered", file, line, v->prev.seq + 1,
		     "%s:%lu: altered: the record has no final \"hash\" member",
		     file, line);
		return false;
	case TW_LINE_MISMATCH:
		fail(v, "altered", file, line, v->prev.seq + 1,
		     "%s:%lu: altered: the record does not match its hash "
		     "(after seq %llu)",
		     file, line, (unsigned long long)v->prev.seq);
		return false;
	case TW_LINE_NO_SEQ:
		fail(v, "altered", file, line, v->prev.seq + 1,
		     "%s:%lu: altered: no seq or prev", file, line);
		return false;
	}

	/* A gap is missing records unless they turn up later: reordered. */
	if (out_of_order(v, file, line, seq, hash))
		goto out;
	if (v->gap) {
		/* Records after a gap: keep checking them for the missing ones,
		 * nothing else can be the first problem any more. */
		v->records++;
		v->last_seq = seq;
		goto out;
	}
	if (!v->records) {
		v->first_seq = seq;
		loc_set(&v->first, file, line, seq, hash);
		if (seq == 1 && strcmp(prev, TW_CHAIN_GENESIS))
			fail(v, "altered", file, line, seq,
			     "%s:%lu: altered: seq 1 does not start the chain",
			     file, line);
	} else if (seq > v->prev.seq + 1) {
		v->gap = true;
		v->gap_lo = v->prev.seq + 1;
		v->gap_hi = seq - 1;
		v->gap_before = v->prev;
		loc_set(&v->gap_after, file, line, seq, hash);
	} else if (strcmp(prev, v->prev.hash)) {
		fail(v, "altered", v->prev.file, v->prev.line, v->prev.seq,
		     "%s:%lu: altered: seq %llu was changed and re-sealed (or "
		     "%s:%lu forged): seq %llu does not chain to it",
		     v->prev.file, v->prev.line,
		     (unsigned long long)v->prev.seq, file, line,
		     (unsigned long long)seq);
		goto out;
	}
	if (v->key && !check_checkpoint(v, rec, seq, prev, file, line))
		goto out;
	if (!strcmp(json_string_value(json_object_get(rec, "event")) ?: "",
		    "rotate")) {
		json_t *r = json_object_get(rec, "retained_from_seq");

		if (json_is_integer(r))
			v->retained_from = json_integer_value(r);
	}
	v->records++;
	v->last_seq = seq;
	loc_set(&v->prev, file, line, seq, hash);
	v->recent[seq % TW_VERIFY_RECENT] = v->prev;
	memcpy(v->head, hash, sizeof(v->head));
out:
	json_decref(rec);
	return !v->failed;
}

int tw_verify_finish(struct tw_verify *v)
{
	resolve_gap(v);
	if (!v->failed && v->records && v->retained_from &&
	    v->first_seq > v->retained_from)
		fail(v, "missing", v->first.file, v->first.line,
		     v->retained_from,
		     "records seq %llu-%llu are missing: the oldest segment "
		     "kept by retention is gone (the log starts at %s:%lu)",
		     (unsigned long long)v->retained_from,
		     (unsigned long long)v->first_seq - 1, v->first.file,
		     v->first.line);
	if (!v->failed && v->key && !v->checkpoints)
		fail(v, "unsigned", v->first.file, v->first.line, v->first_seq,
		     "no checkpoint signed by key %s in the log: nothing "
		     "proves its records are the ones the daemon wrote",
		     v->key->id);
	return v->failed ? -EBADMSG : 0;
}

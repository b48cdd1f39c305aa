// SPDX-License-Identifier: GPL-2.0-only
/*
 * dnswire.c - DNS questions judged as label sequences, and the query
 * rebuilt from them (see dnswire.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dnswire.h"

static uint8_t lc(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool host_byte(uint8_t c)
{
	c = lc(c);
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

/*
 * Read a name at W[0..LEN): labels copied into N as far as they go (at
 * most TW_DNAME_MAX_WIRE octets). *USED: octets of W the name took.
 */
static enum tw_dq_err name_read(const uint8_t *w, size_t len,
				struct tw_dname *n, size_t *used)
{
	size_t o = 0;

	memset(n, 0, sizeof(*n));
	for (;;) {
		uint8_t l;

		if (o >= len)
			return TW_DQ_SHORT;
		l = w[o];
		if ((l & 0xc0) == 0xc0)
			return TW_DQ_POINTER;
		if (l & 0xc0)
			return TW_DQ_LABEL;
		if (o + 1 + l > TW_DNAME_MAX_WIRE)
			return o + 1 + l > len ? TW_DQ_SHORT : TW_DQ_LONG;
		if (o + 1 + l > len)
			return TW_DQ_SHORT;
		memcpy(n->wire + o, w + o, 1 + l);
		n->len = (uint16_t)(o + 1 + l);
		if (!l)
			break;
		n->off[n->nlabels++] = (uint8_t)o;
		o += 1 + l;
	}
	*used = o + 1;
	return TW_DQ_OK;
}

int tw_dname_from_wire(const uint8_t *w, size_t len, struct tw_dname *n)
{
	size_t used;
	enum tw_dq_err e = name_read(w, len, n, &used);

	return e == TW_DQ_OK ? 0 : e == TW_DQ_LONG ? -ENAMETOOLONG : -EINVAL;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

enum tw_dq_err tw_dns_question_parse(const uint8_t *msg, size_t len,
				     struct tw_dns_question *q)
{
	enum tw_dq_err e;
	size_t used = 0;

	memset(q, 0, sizeof(*q));
	if (len >= 2)
		q->id = get16(msg);
	if (len < 12)
		return TW_DQ_SHORT;
	q->opcode = (msg[2] >> 3) & 0x0f;
	q->rd = msg[2] & 0x01;
	q->cd = msg[3] & 0x10;
	q->qdcount = get16(msg + 4);
	q->ancount = get16(msg + 6);
	q->nscount = get16(msg + 8);
	q->arcount = get16(msg + 10);
	if (msg[2] & 0x80)
		return TW_DQ_RESPONSE;
	if (q->qdcount != 1)
		return TW_DQ_COUNT;
	e = name_read(msg + 12, len - 12, &q->name, &used);
	if (e)
		return e;
	if (12 + used + 4 > len)
		return TW_DQ_SHORT;
	q->qtype = get16(msg + 12 + used);
	q->qclass = get16(msg + 12 + used + 2);
	q->end = 12 + used + 4;
	return TW_DQ_OK;
}

const char *tw_dq_strerror(enum tw_dq_err e)
{
	switch (e) {
	case TW_DQ_OK:
		return "ok";
	case TW_DQ_SHORT:
		return "the message ends inside its header or question";
	case TW_DQ_LABEL:
		return "a label longer than 63 octets (or of another label type)";
	case TW_DQ_POINTER:
		return "a compression pointer in the question";
	case TW_DQ_LONG:
		return "the name is longer than 253 octets";
	case TW_DQ_RESPONSE:
		return "a response, not a query";
	case TW_DQ_COUNT:
		return "not exactly one question";
	}
	return "?";
}

/* One character of presentation text at *P (a "\\c" or "\\DDD" escape
 * too); moves *P past it. -1: a broken escape. */
static int text_char(const char **p)
{
	const char *s = *p;

	if (s[0] != '\\') {
		*p = s + 1;
		return (uint8_t)s[0];
	}
	if (s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9' &&
	    s[3] >= '0' && s[3] <= '9') {
		int v = (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');

		*p = s + 4;
		return v > 255 ? -1 : v;
	}
	if (!s[1])
		return -1;
	*p = s + 2;
	return (uint8_t)s[1];
}

int tw_dname_from_text(const char *s, struct tw_dname *n)
{
	uint8_t lab[TW_DNAME_MAX_LABEL];
	size_t ll = 0, o = 0;
	const char *p = s;

	memset(n, 0, sizeof(*n));
	if (!strcmp(s, ".")) {
		n->len = 1;
		return 0;
	}
	for (;;) {
		int c;

		if (!*p || *p == '.') {
			if (!ll)
				return -EINVAL; /* an empty label, or name */
			if (o + 1 + ll + 1 > TW_DNAME_MAX_WIRE)
				return -ENAMETOOLONG;
			n->off[n->nlabels++] = (uint8_t)o;
			n->wire[o] = (uint8_t)ll;
			memcpy(n->wire + o + 1, lab, ll);
			o += 1 + ll;
			ll = 0;
			if (!*p || !p[1]) /* the end, or a trailing dot */
				break;
			p++;
			continue;
		}
		c = text_char(&p);
		if (c < 0 || ll == TW_DNAME_MAX_LABEL)
			return -EINVAL;
		lab[ll++] = (uint8_t)c;
	}
	n->wire[o] = 0;
	n->len = (uint16_t)(o + 1);
	return 0;
}

void tw_dname_text(const struct tw_dname *n, char *buf, size_t len)
{
	size_t o = 0;

	if (!len)
		return;
	buf[0] = 0;
	for (size_t i = 0; i < n->nlabels; i++) {
		const uint8_t *l = n->wire + n->off[i];
		char t[8];

		if (i && o + 1 < len)
			buf[o++] = '.';
		for (size_t k = 1; k <= l[0]; k++) {
			uint8_t c = lc(l[k]);
			size_t tl;

			if (host_byte(c))
				t[0] = (char)c, t[1] = 0;
			else if (c == '.' || c == '\\')
				snprintf(t, sizeof(t), "\\%c", c);
			else
				snprintf(t, sizeof(t), "\\%03u", c);
			tl = strlen(t);
			if (o + tl >= len)
				goto out;
			memcpy(buf + o, t, tl);
			o += tl;
		}
	}
out:
	if (!n->nlabels && len > 1)
		buf[o++] = '.';
	buf[o < len ? o : len - 1] = 0;
}

static bool label_eq(const uint8_t *a, const uint8_t *b)
{
	if (a[0] != b[0])
		return false;
	for (size_t k = 1; k <= a[0]; k++)
		if (lc(a[k]) != lc(b[k]))
			return false;
	return true;
}

bool tw_dname_equal(const struct tw_dname *a, const struct tw_dname *b)
{
	if (a->nlabels != b->nlabels)
		return false;
	for (size_t i = 0; i < a->nlabels; i++)
		if (!label_eq(a->wire + a->off[i], b->wire + b->off[i]))
			return false;
	return true;
}

bool tw_dname_hostname(const struct tw_dname *n, size_t upto)
{
	for (size_t i = 0; i < upto && i < n->nlabels; i++) {
		const uint8_t *l = n->wire + n->off[i];

		for (size_t k = 1; k <= l[0]; k++)
			if (!host_byte(l[k]))
				return false;
	}
	return true;
}

/*
 * Is RULE plain text - labels of a-z 0-9 - _ (1 to 63 bytes) between
 * single dots, a trailing dot or none - whose labels read as they are
 * written? *LEN: its length without the trailing dot.
 */
static bool rule_plain(const char *rule, size_t *len)
{
	size_t ll = 0, i;

	for (i = 0; rule[i]; i++) {
		if (rule[i] != '.') {
			if (!host_byte((uint8_t)rule[i]) ||
			    ++ll > TW_DNAME_MAX_LABEL)
				return false;
			continue;
		}
		if (!ll)
			return false; /* an empty label */
		ll = 0;
	}
	*len = i && rule[i - 1] == '.' ? i - 1 : i;
	return *len > 0;
}

/*
 * Plain RULE (LEN bytes) against N's last labels, from the end, without
 * building RULE's wire form: how many labels RULE has, or -1 when they
 * are not N's last ones.
 */
static int covered_plain(const struct tw_dname *n, const char *rule,
			 size_t len)
{
	size_t i = n->nlabels;
	int nl = 0;

	for (;;) {
		size_t s = len;
		const uint8_t *l;

		while (s && rule[s - 1] != '.')
			s--;
		if (!i)
			return -1;
		l = n->wire + n->off[--i];
		if (l[0] != len - s)
			return -1;
		for (size_t k = 0; k < l[0]; k++)
			if (lc(l[1 + k]) != lc((uint8_t)rule[s + k]))
				return -1;
		nl++;
		if (!s)
			return nl;
		len = s - 1;
	}
}

bool tw_dname_covered(const struct tw_dname *n, const char *rule,
		      bool wildcard)
{
	struct tw_dname r;
	size_t skip, len;
	int nl;

	/* The policy's names are plain (a-z 0-9 - .): compared as they
	 * are, per query, with no wire form built. */
	if (!rule)
		return false;
	if (rule_plain(rule, &len)) {
		nl = covered_plain(n, rule, len);
		if (nl < 0)
			return false;
		if (wildcard ? n->nlabels <= (size_t)nl :
			       n->nlabels != (size_t)nl)
			return false;
		return tw_dname_hostname(n, n->nlabels - (size_t)nl);
	}

	/* Anything else (escapes) is read as presentation text. */
	if (tw_dname_from_text(rule, &r) || !r.nlabels)
		return false;
	if (wildcard ? n->nlabels <= r.nlabels : n->nlabels != r.nlabels)
		return false;
	skip = n->nlabels - r.nlabels;
	for (size_t i = 0; i < r.nlabels; i++)
		if (!label_eq(n->wire + n->off[skip + i], r.wire + r.off[i]))
			return false;
	/* What "*" stands for: hostname labels only. */
	return tw_dname_hostname(n, skip);
}

bool tw_dns_qtype_forwardable(uint16_t t)
{
	return t != 0 && t != 41 && !(t >= 128 && t <= 255) && t < 0xf000;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

size_t tw_dns_query_build(const struct tw_dns_question *q, uint16_t id,
			  bool dnssec_ok, uint8_t *out, size_t cap)
{
	size_t need = 12 + q->name.len + 4 + 11, o = 12;

	if (cap < need)
		return 0;
	memset(out, 0, need);
	put16(out, id);
	out[2] = 0x01; /* opcode QUERY, RD */
	put16(out + 4, 1);
	put16(out + 10, 1);
	for (size_t i = 0; i < q->name.len; i++)
		out[o++] = lc(q->name.wire[i]);
	put16(out + o, q->qtype);
	put16(out + o + 2, 1); /* IN */
	o += 4;
	out[o++] = 0; /* OPT: the root's name */
	put16(out + o, 41);
	put16(out + o + 2, TW_DNS_EDNS_SIZE);
	/* extended rcode 0, version 0, flags: DO only; no options */
	out[o + 6] = dnssec_ok ? 0x80 : 0;
	o += 10;
	return o;
}

size_t tw_dns_reply_build(const struct tw_dns_question *q, bool with_question,
			  int rcode, bool tc, uint8_t *out, size_t cap)
{
	size_t need = 12 + (with_question ? q->name.len + 4 : 0);

	if (cap < need)
		return 0;
	memset(out, 0, 12);
	put16(out, q->id);
	out[2] = 0x80 | (uint8_t)((q->opcode & 0x0f) << 3) | (tc ? 0x02 : 0) |
		 (q->rd ? 0x01 : 0);
	out[3] = 0x80 | (uint8_t)(rcode & 0x0f); /* RA */
	if (!with_question)
		return 12;
	put16(out + 4, 1);
	memcpy(out + 12, q->name.wire, q->name.len);
	put16(out + 12 + q->name.len, q->qtype);
	put16(out + 12 + q->name.len + 2, q->qclass);
	return need;
}

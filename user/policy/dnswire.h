/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dnswire.h - a client's DNS question as the wire carries it, judged label
 * by label (never through presentation text), and the query toolwall
 * rebuilds from exactly what was judged. Pure: bytes in, data out.
 *
 * A name is a sequence of labels. It is refused, never cut short, past
 * TW_DNAME_MAX_WIRE octets (253 in text) or TW_DNAME_MAX_LABEL per label.
 * A policy name ("api.example", "*.cdn.example") covers a query name when
 * their labels are equal (ASCII case ignored) - for a wildcard, the last
 * labels, with at least one more in front; the labels the wildcard covers
 * must be hostname bytes (a-z, 0-9, '-', '_'). A byte outside those (a dot
 * within a label, NUL, space, 0x80...) matches only a policy label that
 * names it, and policy names hold only a-z, 0-9 and '-': such names are
 * never resolved.
 */
#ifndef TW_DNSWIRE_H
#define TW_DNSWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TW_DNAME_MAX_WIRE 255 /* octets, the root's included (253 in text) */
#define TW_DNAME_MAX_LABEL 63
#define TW_DNAME_TEXT_MAX 1024 /* presentation, every byte escaped: 4 * 255 */

struct tw_dname {
	uint8_t wire[TW_DNAME_MAX_WIRE]; /* as received: len, bytes, ..., 0 */
	uint16_t len;			 /* octets of wire, the root's included */
	uint8_t nlabels;
	uint8_t off[128]; /* where each label's length octet is */
};

/* Why a question was not judged (the record's reason says it in words). */
enum tw_dq_err {
	TW_DQ_OK = 0,
	TW_DQ_SHORT,	 /* the message ends inside the header or question */
	TW_DQ_LABEL,	 /* a label type other than a plain label (0x40...) */
	TW_DQ_POINTER,	 /* a compression pointer in the question */
	TW_DQ_LONG,	 /* over 255 octets (253 in text) */
	TW_DQ_RESPONSE,	 /* QR set: not a query */
	TW_DQ_COUNT,	 /* not exactly one question */
};

/* What a client asked: the header fields toolwall keeps, and the question. */
struct tw_dns_question {
	uint16_t id;
	uint8_t opcode;
	bool rd, cd;
	uint16_t qdcount, ancount, nscount, arcount;
	struct tw_dname name;
	uint16_t qtype, qclass;
	size_t end; /* offset just past the question */
};

/*
 * Parse MSG's header and its one question. Returns TW_DQ_OK, or what is
 * wrong; whatever was read is in Q (the id always when LEN >= 2, the name
 * as far as it went - at most TW_DNAME_MAX_WIRE octets of it).
 */
enum tw_dq_err tw_dns_question_parse(const uint8_t *msg, size_t len,
				     struct tw_dns_question *q);
const char *tw_dq_strerror(enum tw_dq_err e);

/*
 * A name from the wire (no compression): 0, or -EINVAL (cut off, a
 * pointer, another label type), -ENAMETOOLONG. Used for answers' names.
 */
int tw_dname_from_wire(const uint8_t *w, size_t len, struct tw_dname *n);
/* A name from presentation text ("a.b", "a\.b", "a\032b", trailing dot
 * optional): 0 or -EINVAL / -ENAMETOOLONG. */
int tw_dname_from_text(const char *s, struct tw_dname *n);
/* Presentation text, lower case; a dot within a label is "\.", a
 * backslash "\\", any byte but a-z 0-9 - _ is "\DDD". */
void tw_dname_text(const struct tw_dname *n, char *buf, size_t len);
/* Same labels, ASCII case ignored. */
bool tw_dname_equal(const struct tw_dname *a, const struct tw_dname *b);
/* Is every byte of labels [0, upto) a hostname byte (a-z A-Z 0-9 - _)? */
bool tw_dname_hostname(const struct tw_dname *n, size_t upto);
/*
 * Does the policy name RULE (lower case, dotted, as the policy holds it)
 * cover N: exactly, or (WILDCARD) at any depth below it, never RULE itself?
 */
bool tw_dname_covered(const struct tw_dname *n, const char *rule,
		      bool wildcard);

/*
 * Query types forwarded: data types. Meta types (ANY, AXFR, IXFR, MAILA,
 * MAILB, TSIG, TKEY: 128-255), OPT (41), type 0 and the reserved range
 * 0xf000-0xffff never are.
 */
bool tw_dns_qtype_forwardable(uint16_t qtype);

/* EDNS payload size toolwall offers upstream (the 2020 DNS flag day's). */
#define TW_DNS_EDNS_SIZE 1232

/*
 * The upstream query rebuilt from what was judged, into OUT (CAP bytes):
 * ID, opcode QUERY, RD set, nothing else in the header; the one question
 * (name lower-cased, Q's type, class IN); one OPT record of our own
 * (payload TW_DNS_EDNS_SIZE, the client's DO bit, no options). Returns its
 * length, or 0 when CAP is too small.
 */
size_t tw_dns_query_build(const struct tw_dns_question *q, uint16_t id,
			  bool dnssec_ok, uint8_t *out, size_t cap);
/*
 * A reply to Q that carries only its question (none when Q's name was not
 * read whole): RCODE, TC. Returns its length, or 0 when CAP is too small.
 */
size_t tw_dns_reply_build(const struct tw_dns_question *q, bool with_question,
			  int rcode, bool tc, uint8_t *out, size_t cap);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * request.h - what the broker decides about one HTTP request: which
 * placeholders it carries, whether the credential behind each may be used
 * here (its own service, its own context, its scope), and the headers to
 * forward. Pure: no sockets, no TLS, no files; unit-tested and fuzzed.
 *
 * A placeholder is "twph_" + 32 lowercase hex digits, unique to one call
 * and one credential. It is swapped for the value only in the header the
 * credential's template names (or in the password of "Authorization:
 * Basic"), only at an origin listed in the credential's services, only for
 * a connection of the call's own context, only for a method its scope
 * allows (read: GET, HEAD, OPTIONS; write: any). Anywhere else it stays a
 * placeholder.
 */
#ifndef TW_BROKER_REQUEST_H
#define TW_BROKER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TW_PH_PREFIX "twph_"
#define TW_PH_LEN 37 /* "twph_" + 32 hex digits */

enum tw_bk_scope { TW_BK_READ, TW_BK_WRITE };

/* An origin: https://HOST[:PORT] or http://HOST[:PORT], host lower case. */
struct tw_bk_origin {
	bool tls;
	char host[256];
	uint16_t port;
};

struct tw_bk_cred {
	char name[64];
	enum tw_bk_scope scope;
	char header[64];  /* header name of the template, e.g. Authorization */
	char prefix[128]; /* template text before {} */
	char suffix[128]; /* template text after {} */
	const unsigned char *value;
	size_t vlen;
	const struct tw_bk_origin *services;
	size_t nservices;
};

/* One placeholder handed to one call. */
struct tw_bk_placeholder {
	char token[TW_PH_LEN + 1];
	size_t cred; /* index into the credential table */
	char context[160];
	char call_id[128];
};

struct tw_bk_table {
	const struct tw_bk_cred *creds;
	size_t ncreds;
	const struct tw_bk_placeholder *ph;
	size_t nph;
};

struct tw_bk_header {
	char *name;
	char *value; /* NUL-terminated; replaced in place by tw_bk_judge */
};

struct tw_bk_request {
	const char *method;
	const char *target;  /* the request target as sent (NULL: not known) */
	const char *sni;     /* NULL for plain HTTP */
	const char *context; /* of the connection, from the kernel */
	struct tw_bk_origin origin; /* where the call was going */
	struct tw_bk_header *h;
	size_t nh;
};

struct tw_bk_verdict {
	int status; /* 0: forward; else the HTTP status to answer with */
	char reason[256];
	char hint[256];
	const char *credential; /* the credential used or refused, or NULL */
	const char *call_id;    /* the call whose placeholder it was */
	unsigned swapped;       /* placeholders replaced by their values */
};

/* Parse "https://host[:port]" / "http://host[:port]". 0 or -EINVAL. */
int tw_bk_origin_parse(const char *s, struct tw_bk_origin *o);
/* Split a header template "Name: text {} text". 0 or -EINVAL. */
int tw_bk_template_parse(const char *s, struct tw_bk_cred *c);
/* Does SCOPE allow request R? write: any; read: GET, HEAD or OPTIONS that
 * asks for no other method (override headers, _method). WHY says why not. */
bool tw_bk_scope_allows(enum tw_bk_scope scope,
			const struct tw_bk_request *r, char *why, size_t len);
/* Find the first placeholder in S[0..N): its offset, or -1. */
long tw_bk_find_placeholder(const char *s, size_t n);
/* What a record shows where the call wrote a placeholder. */
#define TW_PH_MASK "[placeholder]"
/* Records never hold a placeholder: each in S becomes TW_PH_MASK. */
void tw_bk_mask_placeholders(char *s);
/* The path of URL without its query (a query may carry anything), into
 * OUT of LEN bytes, placeholders masked. */
void tw_bk_path_only(const char *url, char *out, size_t len);

/*
 * Judge R against T. On "forward" (status 0) the header values that carry
 * a usable placeholder are replaced (heap strings, caller frees every
 * value as before). Returns 0, or -ENOMEM.
 */
int tw_bk_judge(const struct tw_bk_table *t, struct tw_bk_request *r,
		struct tw_bk_verdict *v);

#endif

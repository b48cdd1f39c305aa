// SPDX-License-Identifier: GPL-2.0-only
/*
 * dns.c - the per-context resolver (see dns.h). DNS messages are parsed
 * and built with ldns.
 *
 *   query on context C's socket
 *     -> name allowed by C's bundles?    no: NXDOMAIN + `dns` deny record
 *     -> forward to the workspace upstream (UDP, TCP on truncation)
 *     -> addresses of the answer (CNAME chain within the answer only)
 *     -> private/loopback/metadata/own address not listed as an IP
 *        literal?                        yes: REFUSED + record (rebinding)
 *     -> grant each address to C with the rule's ports (tw_learned)
 *     -> release the answer to the client
 *
 * A name the context may not use never reaches an upstream: nothing can be
 * tunnelled through toolwall's resolver.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "dns.h"
#include "dnsallow.h"
#include "dnsrebind.h"
#include "dnsrefuse.h"
#include "dnstcp.h"
#include "dnsup.h"
#include "dnswire.h"
#include "duration.h"
#include "explain.h"
#include "grantdns.h"
#include "learned.h"
#include "state.h"
#include "sysaudit.h"
#include "util.h"

#define MAX_MSG 65535

static struct { enum ev_type type; } wake_ev = { EV_WAKE };

/* ---- listeners ----------------------------------------------------- */

static int listen_one(int kind, uint16_t *port)
{
	bool v6 = kind == L_UDP6 || kind == L_TCP6;
	bool tcp = kind == L_TCP4 || kind == L_TCP6;
	struct sockaddr_storage ss = {};
	socklen_t sl;
	int fd, one = 1;

	fd = socket(v6 ? AF_INET6 : AF_INET,
		    (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK |
			    SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*a);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) ||
	    (tcp && listen(fd, TW_DNS_TCP_BACKLOG)) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		int err = -errno;

		close(fd);
		return err;
	}
	*port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
			   ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static struct tw_dns_listener *listener_for(struct tw_daemon *d,
					    const char *context)
{
	struct tw_dns_listener *l, **nl;

	for (size_t i = 0; i < d->ndns_ctx; i++)
		if (!strcmp(d->dns_ctx[i]->context, context))
			return d->dns_ctx[i];
	nl = realloc(d->dns_ctx, (d->ndns_ctx + 1) * sizeof(*nl));
	if (!nl)
		return NULL;
	d->dns_ctx = nl;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	snprintf(l->context, sizeof(l->context), "%s", context);
	pthread_mutex_init(&l->lock, NULL);
	for (int k = 0; k < L_KINDS; k++) {
		struct epoll_event ev = { .events = EPOLLIN };

		l->sock[k] = (struct dns_sock){ EV_LISTEN, k, l };
		l->fd[k] = listen_one(k, &l->port[k]);
		if (l->fd[k] < 0) {
			l->port[k] = 0; /* e.g. no IPv6: that family's DNS is
					   denied, never let through */
			continue;
		}
		ev.data.ptr = &l->sock[k];
		epoll_ctl(d->dns_epoll, EPOLL_CTL_ADD, l->fd[k], &ev);
	}
	d->dns_ctx[d->ndns_ctx++] = l;
	return l;
}

int tw_dns_sync(struct tw_daemon *d, const struct tw_compiled *c,
		struct tw_dns_target *targets)
{
	for (size_t i = 0; i < c->nctx; i++) {
		struct tw_dns_listener *l = listener_for(d, c->ctx[i].name);
		struct tw_dns_target *t = &targets[i];
		struct in_addr lo4 = { htonl(INADDR_LOOPBACK) };

		memset(t, 0, sizeof(*t));
		if (!l)
			return -ENOMEM;
		memcpy(t->addr4, &lo4, 4);
		memcpy(t->addr6, &in6addr_loopback, 16);
		t->udp4 = l->port[L_UDP4];
		t->tcp4 = l->port[L_TCP4];
		t->udp6 = l->port[L_UDP6];
		t->tcp6 = l->port[L_TCP6];
	}
	return 0;
}

static uint64_t mono_ns(void)
{
	return tw_now_ns(CLOCK_MONOTONIC);
}


/* ---- one query ----------------------------------------------------------- */

/* A reply of Y's that carries only its question. -EINVAL: no reply (not
 * even an id to answer). */
static int reply(const struct query *y, int rcode, bool tc, uint8_t **out,
		 size_t *olen)
{
	size_t cap = 12 + TW_DNAME_MAX_WIRE + 4;

	if (y->len < 2)
		return -EINVAL;
	*out = malloc(cap);
	if (!*out)
		return -ENOMEM;
	*olen = tw_dns_reply_build(&y->q, y->have_q, rcode, tc, *out, cap);
	return 0;
}

/*
 * The EDNS of Y's message M (LEN bytes) when it is its question alone, or
 * its question and one option-less OPT record, nothing else: read from
 * the wire, as ldns would read it. false: anything else (ldns reads it).
 */
static bool edns_plain(struct query *y, const uint8_t *m, size_t len)
{
	const uint8_t *o = m + y->q.end;
	unsigned int size;

	if (y->q.ancount || y->q.nscount || y->q.arcount > 1)
		return false;
	if (!y->q.arcount)
		return len == y->q.end;
	/* root name, type OPT (41), payload size, TTL (extended rcode,
	 * version, flags: DO first), RDLENGTH 0 */
	if (len != y->q.end + 11 || o[0] || o[1] || o[2] != 41 || o[9] ||
	    o[10])
		return false;
	size = (unsigned int)o[3] << 8 | o[4];
	if (size > 512)
		y->maxudp = size;
	y->dnssec_ok = (o[7] & 0x80) != 0;
	return true;
}

/* The text of query type T (A and AAAA without an allocation). */
static void qtype_text(uint16_t t, char *out, size_t n)
{
	char *s;

	if (t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA) {
		snprintf(out, n, "%s", t == LDNS_RR_TYPE_A ? "A" : "AAAA");
		return;
	}
	snprintf(out, n, "TYPE%u", t);
	s = ldns_rr_type2str((ldns_rr_type)t);
	if (s) {
		snprintf(out, n, "%s", s);
		free(s);
	}
}

/*
 * Read the client's question; what it does not say is dropped here (its
 * other sections, EDNS options, header bits): only what is judged goes on.
 * Returns the rcode to refuse it with and its cause, or -1.
 */
static int query_parse(struct query *y, const uint8_t *m, size_t len,
		       enum dns_cause *cause, const char **why)
{
	ldns_pkt *pkt = NULL;

	y->maxudp = 512;
	y->perr = tw_dns_question_parse(m, len, &y->q);
	tw_dname_text(&y->q.name, y->name, sizeof(y->name));
	qtype_text(y->q.qtype, y->qtype, sizeof(y->qtype));
	*why = tw_dq_strerror(y->perr);
	if (y->perr) {
		*cause = y->perr == TW_DQ_LONG ? C_LONG : C_MALFORMED;
		return y->perr == TW_DQ_LONG ? LDNS_RCODE_REFUSED :
					       LDNS_RCODE_FORMERR;
	}
	y->have_q = true;
	/* The rest of the message only for its EDNS: the payload size the
	 * client takes, and whether it wants DNSSEC records. */
	if (edns_plain(y, m, len)) {
		/* read */
	} else if (ldns_wire2pkt(&pkt, m, len) != LDNS_STATUS_OK) {
		*cause = C_MALFORMED;
		*why = "the message does not parse past its question";
		return LDNS_RCODE_FORMERR;
	} else {
		if (ldns_pkt_edns(pkt) && ldns_pkt_edns_udp_size(pkt) > 512)
			y->maxudp = ldns_pkt_edns_udp_size(pkt);
		y->dnssec_ok = ldns_pkt_edns(pkt) && ldns_pkt_edns_do(pkt);
		ldns_pkt_free(pkt);
	}
	*cause = y->q.opcode != LDNS_PACKET_QUERY	 ? C_OPCODE :
		 y->q.qclass != LDNS_RR_CLASS_IN	 ? C_CLASS :
		 !tw_dns_qtype_forwardable(y->q.qtype) ? C_QTYPE :
							 0;
	*why = *cause == C_OPCODE ? "not a standard query (opcode)" :
	       *cause == C_CLASS  ? "not of class IN" :
	       *cause == C_QTYPE  ? "a query type toolwall does not forward "
				    "(meta types: ANY, AXFR, IXFR...)" :
				    NULL;
	return *cause == C_CLASS ? LDNS_RCODE_REFUSED :
	       *cause		 ? LDNS_RCODE_NOTIMPL :
				   -1;
}

/* Count a refusal of RCODE under the daemon lock. */
static void count_rcode(struct tw_daemon *d, int rcode)
{
	if (rcode == LDNS_RCODE_FORMERR)
		d->dns.formerr++;
	else if (rcode == LDNS_RCODE_NOTIMPL)
		d->dns.notimp++;
	else if (rcode == LDNS_RCODE_NXDOMAIN)
		d->dns.nxdomain++;
	else if (rcode == LDNS_RCODE_SERVFAIL)
		d->dns.servfail++;
	else
		d->dns.refused++;
}

/*
 * Judge Y (parsed: PRC is query_parse's verdict, CAUSE/WHY its reason)
 * in its context: the rcode to refuse it with (its record made ready), or
 * -1 with *UPS the workspace's upstreams (malloc'd, *NUPS of them).
 */
static int judge(struct tw_daemon *d, struct query *y, int prc,
		 enum dns_cause cause, const char *why, char ***ups,
		 size_t *nups)
{
	struct tw_learn_entry grants[2];
	const struct tw_revision *rev;
	const struct tw_context *x = NULL;
	struct tw_dns_listener *l = y->qc->l;
	char text[TW_DNAME_TEXT_MAX + 512];
	uint64_t left;
	int ci, rc = prc;

	if (l && d->dns_qps &&
	    !tw_dns_bucket_take(&l->queries, &l->lock, d->dns_qps,
				d->dns_burst)) {
		__atomic_fetch_add(&d->dns.ratelimited, 1, __ATOMIC_RELAXED);
		rc = LDNS_RCODE_REFUSED;
		cause = C_BUDGET;
		snprintf(text, sizeof(text),
			 "over the context's DNS budget of %u queries a "
			 "second (bursts of %u); answered REFUSED, nothing "
			 "was sent upstream",
			 d->dns_qps, d->dns_burst);
		why = text;
	}
	pthread_mutex_lock(&d->lock);
	d->dns.queries++;
	d->dns.tcp += y->qc->tcp;
	rev = &d->rev[d->slot];
	ci = rev->valid ? tw_compiled_find(&rev->comp, y->qc->context) : -1;
	if (ci >= 0)
		x = &rev->comp.ctx[ci];
	if (rc < 0 && x &&
	    !tw_dns_name_grants_dn(x, &y->q.name, grants, (uint32_t)ci) &&
	    !tw_grants_name(d, x->name, &y->q.name, &left)) {
		rc = LDNS_RCODE_NXDOMAIN;
		cause = C_NAME;
		snprintf(text, sizeof(text),
			 "no bundle of %s allows the name %s; answered "
			 "NXDOMAIN, nothing was sent upstream",
			 x->name, y->name);
		why = text;
	} else if (rc < 0 && !x) {
		rc = LDNS_RCODE_REFUSED; /* a context gone: no one to name */
	} else if (rc >= 0 && cause != C_BUDGET) {
		snprintf(text, sizeof(text),
			 "%s; answered %s, nothing was sent upstream", why,
			 ldns_lookup_by_id(ldns_rcodes, rc)->name);
		why = text;
	}
	if (rc >= 0) {
		if (cause != C_BUDGET)
			count_rcode(d, rc);
		if (x)
			tw_dns_refuse(d, y, rev, x, cause, why, NULL, NULL);
		pthread_mutex_unlock(&d->lock);
		return rc;
	}
	{
		const struct tw_workspace *ws =
			&rev->pol.workspaces[x->workspace];

		*nups = 0;
		*ups = calloc(ws->ndns_upstream + 1, sizeof(**ups));
		for (size_t i = 0; *ups && i < ws->ndns_upstream; i++)
			if (((*ups)[*nups] = strdup(ws->dns_upstream[i])))
				(*nups)++;
	}
	pthread_mutex_unlock(&d->lock);
	return -1;
}

/* Judge and refuse Y for CAUSE in the context in force (no record when
 * the context is gone). Daemon lock not held. */
static void refuse_now(struct tw_daemon *d, struct query *y,
		       enum dns_cause cause, const char *why)
{
	const struct tw_revision *rev;
	int ci;

	pthread_mutex_lock(&d->lock);
	rev = &d->rev[d->slot];
	ci = rev->valid ? tw_compiled_find(&rev->comp, y->qc->context) : -1;
	if (ci >= 0)
		tw_dns_refuse(d, y, rev, &rev->comp.ctx[ci], cause, why, NULL, NULL);
	pthread_mutex_unlock(&d->lock);
}

/* A slot among the context's TW_DNS_INFLIGHT upstream exchanges. */
static bool inflight_take(struct tw_dns_listener *l, unsigned int max)
{
	if (!l)
		return true;
	if (__atomic_add_fetch(&l->inflight, 1, __ATOMIC_ACQ_REL) <= max)
		return true;
	__atomic_sub_fetch(&l->inflight, 1, __ATOMIC_ACQ_REL);
	return false;
}

static void inflight_put(struct tw_dns_listener *l)
{
	if (l)
		__atomic_sub_fetch(&l->inflight, 1, __ATOMIC_ACQ_REL);
}

/*
 * Send the query rebuilt from Y's judged question (a fresh id, nothing
 * else of the client's) to UPS, and check that the answer is to that very
 * question. 0 with *RESP and *ANS (*ALEN bytes, the client's id put back),
 * or -errno; the caller frees *RESP and *ANS either way.
 */
static int upstream(const struct query *y, char **ups, size_t nups,
		    ldns_pkt **resp, uint8_t **ans, size_t *alen)
{
	uint8_t q[12 + TW_DNAME_MAX_WIRE + 4 + 11];
	size_t qlen = tw_dns_query_build(&y->q, (uint16_t)arc4random(),
					 y->dnssec_ok, q, sizeof(q));
	struct tw_dname n;
	ldns_rr *rr;

	if (!qlen || tw_dns_forward(ups, nups, q, qlen, ans, alen))
		return -EIO;
	if (ldns_wire2pkt(resp, *ans, *alen) != LDNS_STATUS_OK)
		return -EBADMSG;
	rr = ldns_pkt_qdcount(*resp) == 1 ?
		     ldns_rr_list_rr(ldns_pkt_question(*resp), 0) :
		     NULL;
	if (!rr || ldns_rr_get_type(rr) != (ldns_rr_type)y->q.qtype ||
	    !tw_dns_rr_name(ldns_rr_owner(rr), &n) || !tw_dname_equal(&n, &y->q.name))
		return -EBADMSG;
	(*ans)[0] = y->q.id >> 8;
	(*ans)[1] = y->q.id & 0xff;
	return 0;
}

/*
 * Grant each address of the answer to X (lock held), all or none: -ENOSPC
 * when X's learned-address quota has no room for them (learned.h).
 */
static int learn_answer(struct tw_daemon *d, const struct tw_context *x,
			const char *qname, const struct tw_learn_entry *grants,
			int ng, const struct tw_answer_addr *addrs, size_t naddr)
{
	struct tw_learn_entry want[2 * 64];
	uint64_t exp[2 * 64], now = mono_ns();
	size_t n = 0;

	for (size_t i = 0; i < naddr && i < 64; i++) {
		uint32_t ttl = addrs[i].ttl > 86400 ? 86400 : addrs[i].ttl;

		for (int g = 0; g < ng && g < 2; g++) {
			want[n] = grants[g];
			want[n].family = (uint8_t)addrs[i].family;
			memcpy(want[n].addr, addrs[i].addr, 16);
			exp[n++] = now + (uint64_t)(ttl + TW_DNS_GRACE_S) *
						 1000000000ull;
		}
	}
	if (tw_learned_admit(&d->learned, want, n, now))
		return -ENOSPC;
	for (size_t k = 0; k < n; k++)
		tw_learned_add(&d->learned, x->name, qname, &want[k], exp[k]);
	return 0;
}

/* Allow ADDRS to X for Y's name by its live grants (lock held): 0, or
 * the rcode to refuse with (its record written). */
static int learn_granted(struct tw_daemon *d, struct query *y,
			 const struct tw_revision *rev,
			 const struct tw_context *x,
			 const struct tw_answer_addr *addrs, size_t naddr)
{
	char why[TW_DNAME_TEXT_MAX + 256];
	int ret = tw_grants_learn(d, x->name, &y->q.name, y->name, addrs,
				  naddr, TW_DNS_GRACE_S);

	if (!ret)
		return 0;
	snprintf(why, sizeof(why),
		 "cannot allow the addresses of %s by the grant: %s; answered "
		 "REFUSED",
		 y->name,
		 ret == -ENOSPC ? "the grant holds as many addresses as it "
				  "may" :
				  strerror(-ret));
	tw_dns_refuse(d, y, rev, x, C_QUOTA, why, NULL, NULL);
	d->dns.refused++;
	return LDNS_RCODE_REFUSED;
}

/*
 * Y's answer holds ADDRS: judge the name again (a reload may have come
 * meanwhile) and each address for rebinding, then grant them to the
 * context before the answer is released (the client may connect as soon
 * as it has it). Returns the rcode to refuse with, or -1; *CAP: the TTL
 * the answer may carry at most (a name of a granted bundle: the grant's
 * time left), else UINT32_MAX.
 */
static int release(struct tw_daemon *d, struct query *y,
		   const struct tw_answer_addr *addrs, size_t naddr,
		   uint32_t *cap)
{
	struct tw_learn_entry grants[2];
	const struct tw_revision *rev;
	const struct tw_context *x;
	char why[TW_DNAME_TEXT_MAX + 512], a[INET6_ADDRSTRLEN];
	uint64_t left = 0;
	int ci, ng, rc;

	*cap = UINT32_MAX;
	pthread_mutex_lock(&d->lock);
	rev = &d->rev[d->slot];
	ci = rev->valid ? tw_compiled_find(&rev->comp, y->qc->context) : -1;
	x = ci >= 0 ? &rev->comp.ctx[ci] : NULL;
	ng = x ? tw_dns_name_grants_dn(x, &y->q.name, grants, (uint32_t)ci) : 0;
	if (!ng && x && tw_grants_name(d, x->name, &y->q.name, &left))
		*cap = (uint32_t)(left / TW_NS_PER_S);
	if (!ng && *cap == UINT32_MAX) {
		d->dns.refused++;
		snprintf(why, sizeof(why),
			 "no bundle of %s allows the name %s since a reload "
			 "while it was asked upstream; answered REFUSED",
			 y->qc->context, y->name);
		if (x)
			tw_dns_refuse(d, y, rev, x, C_NAME, why, NULL, NULL);
		pthread_mutex_unlock(&d->lock);
		return LDNS_RCODE_REFUSED;
	}
	for (size_t i = 0; i < naddr; i++) {
		uint8_t key[16] = {};

		if (!tw_dns_rebinding(x, addrs[i].family, addrs[i].addr))
			continue;
		tw_addr_str(addrs[i].family, addrs[i].addr, a, sizeof(a));
		snprintf(why, sizeof(why),
			 "rebinding: %s resolved to %s (loopback, private, "
			 "link-local, CGNAT, multicast or this host) and no "
			 "bundle of %s lists it as an IP literal; refused",
			 y->name, a, x->name);
		memcpy(key, addrs[i].addr, addrs[i].family == 4 ? 4 : 16);
		tw_dns_refuse(d, y, rev, x, C_REBINDING, why, a, key);
		d->dns.rebinding++;
		pthread_mutex_unlock(&d->lock);
		return LDNS_RCODE_REFUSED;
	}
	if (!ng) {
		rc = learn_granted(d, y, rev, x, addrs, naddr);
		if (!rc)
			d->dns.answered++;
		pthread_mutex_unlock(&d->lock);
		return rc ? rc : -1;
	}
	if (learn_answer(d, x, y->name, grants, ng, addrs, naddr)) {
		struct tw_learned_quota lq =
			tw_learned_quota_of(&d->learned, (uint32_t)ci);

		snprintf(why, sizeof(why),
			 "learned-address quota full: %s holds %u of its %u "
			 "(\"dns\": {\"max_learned\"}) and none has expired; "
			 "answered REFUSED, nothing was granted",
			 x->name, lq.used, lq.max);
		tw_dns_refuse(d, y, rev, x, C_QUOTA, why, NULL, NULL);
		d->dns.refused++;
		pthread_mutex_unlock(&d->lock);
		return LDNS_RCODE_REFUSED;
	}
	d->dns.answered++;
	pthread_mutex_unlock(&d->lock);
	return -1;
}

/* Cut every TTL of answer P to CAP and write it into *ANS (*ALEN bytes,
 * with the client's id ID). 0 or -errno (*ANS untouched). */
static int ttl_cap(ldns_pkt *p, uint32_t cap, uint16_t id, uint8_t **ans,
		   size_t *alen)
{
	ldns_rr_list *sec[3] = { ldns_pkt_answer(p), ldns_pkt_authority(p),
				 ldns_pkt_additional(p) };
	uint8_t *w = NULL;
	size_t wl = 0;

	for (int k = 0; k < 3; k++)
		for (size_t i = 0; sec[k] && i < ldns_rr_list_rr_count(sec[k]);
		     i++) {
			ldns_rr *rr = ldns_rr_list_rr(sec[k], i);

			if (ldns_rr_ttl(rr) > cap)
				ldns_rr_set_ttl(rr, cap);
		}
	ldns_pkt_set_id(p, id);
	if (ldns_pkt2wire(&w, p, &wl) != LDNS_STATUS_OK)
		return -EIO;
	free(*ans);
	*ans = w;
	*alen = wl;
	return 0;
}

/* Y is allowed: ask UPS, release the answer into *OUT (or a refusal). */
static int resolve(struct tw_daemon *d, struct query *y, char **ups,
		   size_t nups, uint8_t **out, size_t *olen)
{
	struct tw_answer_addr addrs[64];
	ldns_pkt *resp = NULL;
	uint8_t *ans = NULL;
	size_t alen = 0;
	uint32_t cap;
	char why[256];
	int ret;

	if (!inflight_take(y->qc->l, d->dns_inflight)) {
		__atomic_fetch_add(&d->dns.busy, 1, __ATOMIC_RELAXED);
		snprintf(why, sizeof(why),
			 "the context already has %u lookups in flight "
			 "upstream (its share of the resolver); answered "
			 "SERVFAIL",
			 d->dns_inflight);
		refuse_now(d, y, C_BUSY, why);
		return reply(y, LDNS_RCODE_SERVFAIL, false, out, olen);
	}
	ret = upstream(y, ups, nups, &resp, &ans, &alen);
	inflight_put(y->qc->l);
	if (ret) {
		pthread_mutex_lock(&d->lock);
		d->dns.servfail++;
		pthread_mutex_unlock(&d->lock);
		ret = reply(y, LDNS_RCODE_SERVFAIL, false, out, olen);
		goto out;
	}
	ret = release(d, y, addrs, tw_dns_answer_addrs(resp, &y->q.name, addrs, 64),
		      &cap);
	/* a granted name: no resolver may keep it past the grant */
	if (ret < 0 && cap != UINT32_MAX &&
	    ttl_cap(resp, cap, y->q.id, &ans, &alen))
		ret = LDNS_RCODE_SERVFAIL;
	if (ret >= 0) {
		ret = reply(y, ret, false, out, olen);
	} else if (!y->qc->tcp && alen > y->maxudp) {
		pthread_mutex_lock(&d->lock);
		d->dns.truncated++;
		pthread_mutex_unlock(&d->lock);
		ret = reply(y, LDNS_RCODE_NOERROR, true, out, olen);
	} else {
		*out = ans;
		*olen = alen;
		ans = NULL;
		ret = 0;
	}
out:
	free(ans);
	ldns_pkt_free(resp);
	return ret;
}

/*
 * Answer message M (LEN bytes) that arrived on QC's socket. *OUT is
 * malloc'd (caller frees). Returns 0 or -errno (no reply at all).
 *
 *   parse the question (dnswire.h)  malformed, over 253 octets, not a
 *                                   QUERY of class IN for a data type:
 *                                   FORMERR / REFUSED / NOTIMP + record
 *   the context's budget            over it: REFUSED + aggregated record
 *   the name allowed?               no: NXDOMAIN + record
 *   upstream, rebuilt query         over TW_DNS_INFLIGHT: SERVFAIL
 *   rebinding, learn, release
 */
static int answer(struct tw_daemon *d, const struct query_ctx *qc,
		  const uint8_t *m, size_t len, uint8_t **out, size_t *olen)
{
	struct query y = { .qc = qc, .len = len };
	enum dns_cause cause = 0;
	const char *why = NULL;
	char **ups = NULL;
	size_t nups = 0;
	int rc, ret;

	rc = query_parse(&y, m, len, &cause, &why);
	rc = judge(d, &y, rc, cause, why, &ups, &nups);
	if (rc >= 0)
		ret = reply(&y, rc, false, out, olen);
	else
		ret = resolve(d, &y, ups, nups, out, olen);
	/* before the answer is sent: the client still waits */
	tw_dns_query_record(d, &y);
	for (size_t i = 0; i < nups; i++)
		free(ups[i]);
	free(ups);
	return ret;
}

/* ---- the resolver threads -------------------------------------------- */

/*
 * At most TW_DNS_UDP_BATCH queries of socket FD, then back to epoll: a
 * flooded socket cannot keep this thread from the other ready ones.
 */
static void serve_udp(struct tw_daemon *d, int fd, const struct query_ctx *qc)
{
	uint8_t buf[MAX_MSG];

	for (int i = 0; i < TW_DNS_UDP_BATCH; i++) {
		struct query_ctx q = *qc;
		uint8_t *out = NULL;
		size_t olen = 0;
		ssize_t n;

		q.peerlen = sizeof(q.peer);
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&q.peer, &q.peerlen);
		if (n < 0)
			return; /* EAGAIN: drained */
		/* A full socket buffer or a client gone: the reply is lost,
		 * as a datagram may be; the query is recorded all the same. */
		if (answer(d, &q, buf, n, &out, &olen) == 0)
			(void)!sendto(fd, out, olen, MSG_NOSIGNAL | MSG_DONTWAIT,
				      (struct sockaddr *)&q.peer, q.peerlen);
		free(out);
	}
}

static void *resolver_main(void *arg)
{
	struct tw_daemon *d = arg;
	struct epoll_event evs[16];

	for (;;) {
		int n = epoll_wait(d->dns_epoll, evs, 16, TW_DNS_SWEEP_MS);

		for (int i = 0; i < n; i++) {
			enum ev_type *t = evs[i].data.ptr;
			const struct dns_sock *s;
			struct query_ctx qc = {};

			if (*t == EV_WAKE) {
				tw_dnsup_thread_end();
				return NULL;
			}
			if (*t == EV_CONN) {
				tw_dnstcp_event(d, evs[i].data.ptr,
						evs[i].events, answer);
				continue;
			}
			/* A listener: its context and fd never change. */
			s = evs[i].data.ptr;
			if (s->kind == L_TCP4 || s->kind == L_TCP6) {
				tw_dnstcp_accept(d, s);
				continue;
			}
			snprintf(qc.context, sizeof(qc.context), "%s",
				 s->l->context);
			qc.l = s->l;
			serve_udp(d, s->l->fd[s->kind], &qc);
		}
		tw_dnstcp_sweep();
	}
	return NULL;
}

int tw_dns_start(struct tw_daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &wake_ev };

	if (pipe2(d->dns_wake, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	epoll_ctl(d->dns_epoll, EPOLL_CTL_ADD, d->dns_wake[0], &ev);
	/* The threads share one epoll set; a datagram wakes one or more of
	 * them and whoever reads it first answers it. */
	for (int i = 0; i < TW_DNS_THREADS; i++) {
		if (pthread_create(&d->dns_thread[i], NULL, resolver_main, d)) {
			tw_dns_stop(d);
			return -EAGAIN;
		}
		d->dns_running = i + 1;
	}
	return 0;
}

void tw_dns_stop(struct tw_daemon *d)
{
	if (d->dns_running) {
		/* The pipe stays readable: every thread sees it and returns. */
		(void)!write(d->dns_wake[1], "x", 1);
		for (int i = 0; i < d->dns_running; i++)
			pthread_join(d->dns_thread[i], NULL);
		d->dns_running = 0;
	}
	tw_dnstcp_close_all(d);
	for (size_t i = 0; i < d->ndns_ctx; i++) {
		for (int k = 0; k < L_KINDS; k++)
			if (d->dns_ctx[i]->fd[k] >= 0)
				close(d->dns_ctx[i]->fd[k]);
		pthread_mutex_destroy(&d->dns_ctx[i]->lock);
		free(d->dns_ctx[i]);
	}
	free(d->dns_ctx);
	d->dns_ctx = NULL;
	d->ndns_ctx = 0;
	tw_learned_free(&d->learned);
	tw_dns_rebinding_free();
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * dns.c - the per-context resolver (see dns.h). A client's question is
 * read from the wire (dnswire.h; ldns for EDNS past a plain OPT), so is
 * the upstream's answer (dnsanswer.h). A thread takes up to
 * TW_DNS_UDP_BATCH queries of a socket at once and asks upstream for the
 * allowed ones in one exchange (one wait, not one per query).
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
#include "dnsanswer.h"
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

/* A UDP socket is read by one thread at a time (EPOLLONESHOT, armed
 * again once its batch is read: serve_udp): a datagram wakes one thread,
 * not every thread that then finds the socket drained. */
static uint32_t listen_events(int kind)
{
	return kind == L_UDP4 || kind == L_UDP6 ? EPOLLIN | EPOLLONESHOT :
						  EPOLLIN;
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
		struct epoll_event ev = { .events = listen_events(k) };

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

/* A slot among the context's TW_DNS_INFLIGHT upstream exchanges (one
 * per thread exchanging for it, whatever the batch). */
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
 * A query id for upstream: random, from a per-thread buffer filled 256
 * ids at a time (one getrandom for all of them, not one per query).
 */
static uint16_t query_id(void)
{
	static __thread uint16_t ids[256];
	static __thread unsigned int nids;

	if (!nids) {
		arc4random_buf(ids, sizeof(ids));
		nids = 256;
	}
	return ids[--nids];
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

/* One query on its way through a batch (serve_udp; answer: one alone). */
struct job {
	struct query y;
	struct query_ctx qc;
	char **ups; /* the workspace's upstreams, when it is to forward */
	size_t nups;
	uint8_t q[12 + TW_DNAME_MAX_WIRE + 4 + 11]; /* the rebuilt query */
	struct tw_dns_xchg x;
	uint8_t *out; /* the reply (malloc'd), OLEN bytes; RET -errno: none */
	size_t olen;
	int ret;
	bool fwd;     /* judged allowed: its answer comes from upstream */
	bool grouped; /* put in an upstream exchange (forward_jobs) */
};

/* J takes message M (LEN bytes): parsed and judged; a refusal's reply is
 * made at once, an allowed name waits for upstream (fwd). */
static void job_take(struct tw_daemon *d, struct job *j, const uint8_t *m,
		     size_t len)
{
	enum dns_cause cause = 0;
	const char *why = NULL;
	int rc;

	j->y.qc = &j->qc;
	j->y.len = len;
	rc = query_parse(&j->y, m, len, &cause, &why);
	rc = judge(d, &j->y, rc, cause, why, &j->ups, &j->nups);
	j->fwd = rc < 0;
	if (!j->fwd)
		j->ret = reply(&j->y, rc, false, &j->out, &j->olen);
}

/* Do J and K ask the same upstreams? */
static bool same_ups(const struct job *j, const struct job *k)
{
	if (j->nups != k->nups)
		return false;
	for (size_t i = 0; i < j->nups; i++)
		if (strcmp(j->ups[i], k->ups[i]))
			return false;
	return true;
}

/* A fresh id for job I of JOBS, unlike those before it. */
static uint16_t fresh_id(const struct job *jobs, size_t i)
{
	for (;;) {
		uint16_t id = query_id();
		bool taken = false;

		for (size_t k = 0; k < i && !taken; k++)
			taken = jobs[k].fwd && jobs[k].x.qlen &&
				jobs[k].q[0] == id >> 8 &&
				jobs[k].q[1] == (id & 0xff);
		if (!taken)
			return id;
	}
}

/*
 * Ask upstream for every job of JOBS to forward, those with the same
 * upstreams in one exchange (a reload may have come between two
 * judgements), each query rebuilt from its judged question with a fresh
 * id and nothing else of its client's.
 */
static void forward_jobs(struct job *jobs, size_t n)
{
	struct tw_dns_xchg x[TW_DNS_UDP_BATCH];
	size_t at[TW_DNS_UDP_BATCH];

	for (size_t i = 0; i < n; i++) {
		struct job *j = &jobs[i];

		if (!j->fwd)
			continue;
		j->x = (struct tw_dns_xchg){ .q = j->q, .ret = -EIO };
		j->x.qlen = tw_dns_query_build(&j->y.q, fresh_id(jobs, i),
					       j->y.dnssec_ok, j->q,
					       sizeof(j->q));
		j->grouped = false;
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;

		if (!jobs[i].fwd || jobs[i].grouped || !jobs[i].x.qlen)
			continue;
		for (size_t m = i; m < n && k < TW_DNS_UDP_BATCH; m++)
			if (jobs[m].fwd && !jobs[m].grouped &&
			    jobs[m].x.qlen && same_ups(&jobs[i], &jobs[m])) {
				at[k] = m;
				x[k++] = jobs[m].x;
			}
		tw_dns_forward(jobs[i].ups, jobs[i].nups, x, k);
		for (size_t m = 0; m < k; m++) {
			jobs[at[m]].x = x[m];
			jobs[at[m]].grouped = true;
		}
	}
}

/* J's upstream exchange is over: release its answer into J's reply (or
 * a refusal). */
static void job_finish(struct tw_daemon *d, struct job *j)
{
	struct tw_answer_addr addrs[64];
	struct query *y = &j->y;
	int na = -EBADMSG, rc;
	uint32_t cap = UINT32_MAX;

	if (!j->x.ret) {
		/* it answers the id toolwall chose: the client's goes back */
		j->x.ans[0] = y->q.id >> 8;
		j->x.ans[1] = y->q.id & 0xff;
		na = tw_dns_answer_addrs(j->x.ans, j->x.alen, &y->q.name,
					 addrs, 64);
	}
	if (na < 0) {
		pthread_mutex_lock(&d->lock);
		d->dns.servfail++;
		pthread_mutex_unlock(&d->lock);
		j->ret = reply(y, LDNS_RCODE_SERVFAIL, false, &j->out,
			       &j->olen);
	} else if ((rc = release(d, y, addrs, (size_t)na, &cap)) >= 0 ||
		   /* a granted name: no resolver may keep it past the grant */
		   (cap != UINT32_MAX &&
		    tw_dns_ttl_cap(j->x.ans, j->x.alen, cap))) {
		j->ret = reply(y, rc >= 0 ? rc : LDNS_RCODE_SERVFAIL, false,
			       &j->out, &j->olen);
	} else if (!y->qc->tcp && j->x.alen > y->maxudp) {
		pthread_mutex_lock(&d->lock);
		d->dns.truncated++;
		pthread_mutex_unlock(&d->lock);
		j->ret = reply(y, LDNS_RCODE_NOERROR, true, &j->out, &j->olen);
	} else {
		j->out = j->x.ans;
		j->olen = j->x.alen;
		j->x.ans = NULL;
		j->ret = 0;
	}
	free(j->x.ans);
	j->x.ans = NULL;
}

/* Called with each job whose reply is ready, its record written. */
typedef void (*job_done_fn)(struct job *j, void *arg);

static void job_done(struct tw_daemon *d, struct job *j, job_done_fn done,
		     void *arg)
{
	/* before the answer is sent: the client still waits */
	tw_dns_query_record(d, &j->y);
	done(j, arg);
	for (size_t i = 0; i < j->nups; i++)
		free(j->ups[i]);
	free(j->ups);
	j->ups = NULL;
	j->nups = 0;
}

/* The jobs to forward when the context has no slot left: SERVFAIL. */
static void jobs_busy(struct tw_daemon *d, struct job *jobs, size_t n,
		      job_done_fn done, void *arg)
{
	char why[256];

	snprintf(why, sizeof(why),
		 "the context already has %u lookups in flight upstream (its "
		 "share of the resolver); answered SERVFAIL",
		 d->dns_inflight);
	for (size_t i = 0; i < n; i++) {
		if (!jobs[i].fwd)
			continue;
		__atomic_fetch_add(&d->dns.busy, 1, __ATOMIC_RELAXED);
		refuse_now(d, &jobs[i].y, C_BUSY, why);
		jobs[i].ret = reply(&jobs[i].y, LDNS_RCODE_SERVFAIL, false,
				    &jobs[i].out, &jobs[i].olen);
		job_done(d, &jobs[i], done, arg);
	}
}

/*
 * Answer JOBS[0..N) of one context (taken: job_take), calling DONE with
 * each as its reply is ready: the refused ones first, then the forwarded
 * ones, whose upstream exchange takes one of the context's
 * TW_DNS_INFLIGHT slots for them all.
 *
 *   parse the question (dnswire.h)  malformed, over 253 octets, not a
 *                                   QUERY of class IN for a data type:
 *                                   FORMERR / REFUSED / NOTIMP + record
 *   the context's budget            over it: REFUSED + aggregated record
 *   the name allowed?               no: NXDOMAIN + record
 *   upstream, rebuilt query         no slot left: SERVFAIL
 *   rebinding, learn, release
 */
static void answer_jobs(struct tw_daemon *d, struct job *jobs, size_t n,
			job_done_fn done, void *arg)
{
	struct tw_dns_listener *l = n ? jobs[0].qc.l : NULL;
	size_t nfwd = 0;

	for (size_t i = 0; i < n; i++) {
		nfwd += jobs[i].fwd;
		if (!jobs[i].fwd)
			job_done(d, &jobs[i], done, arg);
	}
	if (!nfwd)
		return;
	if (!inflight_take(l, d->dns_inflight)) {
		jobs_busy(d, jobs, n, done, arg);
		return;
	}
	forward_jobs(jobs, n);
	inflight_put(l);
	for (size_t i = 0; i < n; i++) {
		if (!jobs[i].fwd)
			continue;
		job_finish(d, &jobs[i]);
		job_done(d, &jobs[i], done, arg);
	}
}

static void job_init(struct job *j, const struct query_ctx *qc)
{
	memset(j, 0, sizeof(*j));
	j->qc = *qc;
	j->ret = -EIO;
}

struct one {
	uint8_t **out;
	size_t *olen;
	int ret;
};

static void one_done(struct job *j, void *arg)
{
	struct one *o = arg;

	o->ret = j->ret;
	*o->out = j->out;
	*o->olen = j->olen;
	j->out = NULL;
}

/*
 * Answer message M (LEN bytes) that arrived on QC's socket, alone (a TCP
 * client's). *OUT is malloc'd (caller frees). Returns 0 or -errno (no
 * reply at all).
 */
static int answer(struct tw_daemon *d, const struct query_ctx *qc,
		  const uint8_t *m, size_t len, uint8_t **out, size_t *olen)
{
	struct job *j = malloc(sizeof(*j));
	struct one o = { out, olen, -ENOMEM };

	*out = NULL;
	*olen = 0;
	if (!j)
		return -ENOMEM;
	job_init(j, qc);
	job_take(d, j, m, len);
	answer_jobs(d, j, 1, one_done, &o);
	free(j);
	return o.ret;
}

/* ---- the resolver threads -------------------------------------------- */

/* A full socket buffer or a client gone: the reply is lost, as a datagram
 * may be; the query is recorded all the same. */
static void udp_done(struct job *j, void *arg)
{
	const int *fd = arg;

	if (j->ret == 0)
		(void)!sendto(*fd, j->out, j->olen, MSG_NOSIGNAL | MSG_DONTWAIT,
			      (struct sockaddr *)&j->qc.peer, j->qc.peerlen);
	free(j->out);
	j->out = NULL;
}

/*
 * At most TW_DNS_UDP_BATCH queries of socket FD, answered together (their
 * upstream exchanges as one), then back to epoll: a flooded socket cannot
 * keep this thread from the other ready ones. JOBS: room for the batch.
 */
static void serve_udp(struct tw_daemon *d, const struct dns_sock *s,
		      const struct query_ctx *qc, struct job *jobs)
{
	struct epoll_event ev = { .events = listen_events(s->kind),
				  .data.ptr = (void *)s };
	int fd = s->l->fd[s->kind];
	uint8_t buf[MAX_MSG];
	size_t n = 0;

	while (n < TW_DNS_UDP_BATCH) {
		struct job *j = &jobs[n];
		ssize_t r;

		job_init(j, qc);
		j->qc.peerlen = sizeof(j->qc.peer);
		r = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&j->qc.peer, &j->qc.peerlen);
		if (r < 0)
			break; /* EAGAIN: drained */
		job_take(d, j, buf, (size_t)r);
		n++;
	}
	/* the next datagrams to another thread while this one asks */
	epoll_ctl(d->dns_epoll, EPOLL_CTL_MOD, fd, &ev);
	answer_jobs(d, jobs, n, udp_done, &fd);
}

static void *resolver_main(void *arg)
{
	struct tw_daemon *d = arg;
	struct epoll_event evs[16];
	struct job *jobs = calloc(TW_DNS_UDP_BATCH, sizeof(*jobs));

	if (!jobs)
		return NULL;

	for (;;) {
		int n = epoll_wait(d->dns_epoll, evs, 16, TW_DNS_SWEEP_MS);

		for (int i = 0; i < n; i++) {
			enum ev_type *t = evs[i].data.ptr;
			const struct dns_sock *s;
			struct query_ctx qc = {};

			if (*t == EV_WAKE) {
				tw_dnsup_thread_end();
				free(jobs);
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
			serve_udp(d, s, &qc, jobs);
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

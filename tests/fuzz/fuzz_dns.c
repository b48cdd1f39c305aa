/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_dns.c - libFuzzer harness for the per-context resolver (dns.c).
 *
 * dns.c and dnsup.c are compiled into this file, so the query path is the
 * daemon's own answer(): parse the client's question, judge its name
 * against the context's bundles, forward the query rebuilt from it, read
 * the upstream's UDP answer (and its TCP answer when the UDP one is
 * truncated), check each address for rebinding, learn the grants, build
 * the reply; what the answer reader (dnsanswer.c) finds is what ldns
 * finds wherever ldns reads the answer whole. The upstream socket calls
 * are redirected below to an
 * upstream made of the fuzzer's bytes (which answers the id it was asked);
 * nothing leaves the process. Input layout:
 *
 *   byte 0        bit 0: the client came over TCP; bits 1-7: context index
 *                 (one past the last: a socket no context owns)
 *   bytes 1-2     query length N (big endian), then N bytes of query
 *   2 bytes       UDP answer length M, then M bytes of UDP answer
 *   the rest      the upstream's TCP byte stream (length-prefixed answer)
 *
 * Checked (abort otherwise): a name the context may not resolve never
 * reaches the upstream, judged on the client's wire labels; what reaches
 * the upstream is the rebuilt query (one question of class IN, the same
 * labels in lower case and type, opcode QUERY with RD alone, no other
 * records but our own option-less OPT), never the client's bytes; every
 * refusal (name, malformed, opcode, class, type, rebinding) is written
 * to the audit log or counted into its twins' pending record; no address
 * special to rebinding is learned unless an IP literal rule covers it;
 * every reply carries the query's id; re-judging the learned names under
 * the same policy (a reload) keeps them all.
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

#include "state.h"
#include "dns.h"
#include "dnsallow.h"
#include "dnsanswer.h"
#include "dnswire.h"
#include "explain.h"
#include "util.h"

#ifndef TW_FUZZ_POLICY
#define TW_FUZZ_POLICY "policy/examples/acme"
#endif

/* ---- the upstream, made of the fuzzer's bytes ----------------------------- */

static struct {
	int fd; /* a real descriptor number (of /dev/null) we answer for */
	const uint8_t *udp, *tcp;
	size_t udplen, tcplen, tcpoff;
	bool udp_read, tcp_mode;
	unsigned sockets, tcp_sockets;
	unsigned sent; /* queries sent upstream (a kept socket opens none) */
	const uint8_t *query; /* what the client sent */
	size_t qlen;
	uint8_t id[2]; /* of the query sent upstream: answers carry it */
} up = { .fd = -1 };

static int fake_socket(int domain, int type, int proto)
{
	(void)domain;
	(void)proto;
	up.sockets++;
	up.tcp_mode = (type & 0xf) == SOCK_STREAM;
	up.tcp_sockets += up.tcp_mode;
	up.udp_read = false;
	return up.fd;
}

static int fake_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (fd != up.fd)
		return connect(fd, sa, len);
	return 0;
}

static int fake_getsockopt(int fd, int level, int name, void *val,
			   socklen_t *len)
{
	if (fd != up.fd)
		return getsockopt(fd, level, name, val, len);
	memset(val, 0, *len);
	return 0;
}

/*
 * What goes upstream is the query rebuilt from the judged question, never
 * the client's bytes: one question (the client's name, lower case; its
 * type; class IN), opcode QUERY with RD alone, no answer or authority
 * records, and our own OPT (payload TW_DNS_EDNS_SIZE, no options). Its id
 * is kept to put into the answers the upstream "sends".
 */
static void sent_upstream(const void *buf, size_t len)
{
	struct tw_dns_question q, c;
	const uint8_t *m = buf;

	if (len == 2 && up.tcp_mode)
		return; /* the TCP length prefix */
	if (tw_dns_question_parse(m, len, &q) != TW_DQ_OK ||
	    tw_dns_question_parse(up.query, up.qlen, &c) != TW_DQ_OK)
		abort();
	if (m[2] != 0x01 || m[3] != 0 || q.ancount || q.nscount ||
	    q.arcount != 1 || q.qclass != 1 || q.qtype != c.qtype ||
	    !tw_dns_qtype_forwardable(q.qtype) || c.opcode != 0 ||
	    c.qclass != 1 || !tw_dname_equal(&q.name, &c.name) ||
	    len != q.end + 11 || m[q.end] != 0 || m[q.end + 1] != 0 ||
	    m[q.end + 2] != 41 || m[q.end + 9] || m[q.end + 10])
		abort();
	for (size_t i = 0; i < q.name.len; i++)
		if (q.name.wire[i] >= 'A' && q.name.wire[i] <= 'Z')
			abort();
	up.id[0] = m[0];
	up.id[1] = m[1];
	up.sent++;
}

static ssize_t fake_send(int fd, const void *buf, size_t len, int flags)
{
	if (fd != up.fd)
		return send(fd, buf, len, flags);
	sent_upstream(buf, len);
	return (ssize_t)len;
}

static ssize_t fake_write(int fd, const void *buf, size_t len)
{
	if (fd != up.fd)
		return write(fd, buf, len);
	sent_upstream(buf, len);
	return (ssize_t)len;
}

static ssize_t fake_read(int fd, void *buf, size_t len);

static ssize_t fake_recv(int fd, void *buf, size_t len, int flags)
{
	size_t n = up.udplen < len ? up.udplen : len;

	if (fd != up.fd)
		return recv(fd, buf, len, flags);
	if (up.tcp_mode) /* the resolver reads a TCP answer with recv too */
		return fake_read(fd, buf, len);
	if (up.udp_read) {
		errno = EAGAIN;
		return -1;
	}
	up.udp_read = true;
	if (n)
		memcpy(buf, up.udp, n);
	if (n >= 2) /* an upstream answers the id it was asked */
		memcpy(buf, up.id, 2);
	return (ssize_t)n;
}

static ssize_t fake_read(int fd, void *buf, size_t len)
{
	size_t n = up.tcplen - up.tcpoff;

	if (fd != up.fd)
		return read(fd, buf, len);
	if (n > len)
		n = len;
	if (n)
		memcpy(buf, up.tcp + up.tcpoff, n);
	/* the answer's id (after its 2-byte length) is the one asked */
	for (size_t i = 0; i < n; i++)
		if (up.tcpoff + i == 2 || up.tcpoff + i == 3)
			((uint8_t *)buf)[i] = up.id[up.tcpoff + i - 2];
	up.tcpoff += n;
	return (ssize_t)n;
}

/* Ready to write at once; readable while there is something to read
 * (a TCP end reads as EOF); else the upstream's silence is a timeout. */
static int fake_poll(struct pollfd *p, nfds_t n, int ms)
{
	if (n != 1 || p->fd != up.fd)
		return poll(p, n, ms);
	p->revents = 0;
	if (p->events & POLLOUT)
		p->revents = POLLOUT;
	else if (up.tcp_mode || !up.udp_read)
		p->revents = POLLIN;
	return p->revents ? 1 : 0;
}

static int fake_setsockopt(int fd, int level, int name, const void *val,
			   socklen_t len)
{
	if (fd != up.fd)
		return setsockopt(fd, level, name, val, len);
	return 0;
}

static int fake_close(int fd)
{
	return fd == up.fd ? 0 : close(fd);
}

#define socket(...) fake_socket(__VA_ARGS__)
#define connect(...) fake_connect(__VA_ARGS__)
#define getsockopt(...) fake_getsockopt(__VA_ARGS__)
#define setsockopt(...) fake_setsockopt(__VA_ARGS__)
#define send(...) fake_send(__VA_ARGS__)
#define write(...) fake_write(__VA_ARGS__)
#define recv(...) fake_recv(__VA_ARGS__)
#define read(...) fake_read(__VA_ARGS__)
#define poll(...) fake_poll(__VA_ARGS__)
#define close(...) fake_close(__VA_ARGS__)
#include "../../user/daemon/dnsup.c"
#include "../../user/daemon/dns.c"
#undef socket
#undef connect
#undef getsockopt
#undef setsockopt
#undef send
#undef write
#undef recv
#undef read
#undef poll
#undef close

/* ---- the rest of the daemon, stood in for --------------------------------- */

static void learned_prime(void);

static struct tw_daemon d;

/* The learned table's sink: the kernel map, stood in for. */
static int sink_grant(void *arg, const struct tw_learn_entry *e)
{
	(void)arg;
	(void)e;
	return 0;
}

static void sink_withdraw(void *arg, const struct tw_learn_entry *e)
{
	(void)arg;
	(void)e;
}

int tw_socket_owner(struct tw_daemon *dd, const char *ctx_cgroup,
		    const struct sockaddr *peer, bool tcp, uint32_t *pid)
{
	(void)dd;
	(void)ctx_cgroup;
	(void)peer;
	(void)tcp;
	*pid = 0;
	return -ENOENT;
}

int tw_sysaudit_pid_cgid(struct tw_daemon *dd, uint32_t pid, uint64_t *cgid)
{
	(void)dd;
	(void)pid;
	*cgid = 0;
	return -ENOENT;
}

/* Grants (grantdns.c): the harness's daemon holds none. */
int tw_grants_name(struct tw_daemon *dd, const char *ctx,
		   const struct tw_dname *n, uint64_t *left)
{
	(void)dd;
	(void)ctx;
	(void)n;
	*left = 0;
	return 0;
}

int tw_grants_learn(struct tw_daemon *dd, const char *ctx,
		    const struct tw_dname *n, const char *name,
		    const struct tw_answer_addr *a, size_t na, uint32_t grace_s)
{
	(void)dd, (void)ctx, (void)n, (void)name, (void)a, (void)na;
	(void)grace_s;
	abort(); /* never reached: no name is granted */
}

struct tw_call *tw_call_find(struct tw_daemon *dd, uint64_t cgid)
{
	(void)dd;
	(void)cgid;
	return NULL;
}

void tw_record_call(json_t *rec, const struct tw_call *call)
{
	(void)call;
	json_object_set_new(rec, "call_id", json_null());
}

void tw_record_where(json_t *rec, const struct tw_policy *pol,
		     const struct tw_context *x, const struct tw_call *call)
{
	(void)call;
	json_object_set_new(rec, "context", json_string(x->name));
	json_object_set_new(rec, "workspace",
			    json_string(pol->workspaces[x->workspace].name));
}

/* ---- the harness ---------------------------------------------------------- */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("TW_FUZZ_POLICY") ?: TW_FUZZ_POLICY;
	struct tw_audit_opts o = { .keep = 1 };
	struct tw_revision *r = &d.rev[0];
	struct tw_diags dg = { 0 };
	char dir[] = "/tmp/tw-fuzz-dns.XXXXXX", log[64];

	(void)argc;
	(void)argv;
	if (tw_policy_load(path, &r->pol, &dg) || dg.n ||
	    tw_compile(&r->pol, &r->comp, &dg) || dg.n) {
		fprintf(stderr, "fuzz_dns: cannot load policy %s\n", path);
		exit(1);
	}
	r->valid = true;
	d.dns_qps = TW_DNS_QPS;
	d.dns_burst = TW_DNS_QPS_BURST;
	d.dns_inflight = TW_DNS_INFLIGHT;
	pthread_mutex_init(&d.lock, NULL);
	tw_learned_init(&d.learned,
			&(struct tw_learned_sink){ .grant = sink_grant,
						   .withdraw = sink_withdraw });
	learned_prime();
	up.fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (up.fd < 0 || !mkdtemp(dir))
		abort();
	snprintf(log, sizeof(log), "%s/audit.jsonl", dir);
	pthread_mutex_init(&d.audit.lock, NULL);
	if (tw_audit_open(&d.audit, log, &o))
		abort();
	/* The records are written; the file need not outlive us. */
	unlink(log);
	rmdir(dir);
	return 0;
}

/* An empty learned table with the policy's quotas, as a daemon's load
 * leaves it. */
static void learned_prime(void)
{
	struct tw_learn_entry *none = NULL;
	size_t n;

	if (tw_learned_prepare(&d.learned, &d.rev[0].comp, tw_dns_name_grants,
			       0, &none, &n))
		abort();
	tw_learned_commit(&d.learned, NULL);
	free(none);
}

/* dns.c reads a plain query's EDNS from the wire (edns_plain): what it
 * reads is what ldns reads, and ldns parses such a message. */
static void check_edns(const uint8_t *m, size_t len)
{
	struct query y = { .maxudp = 512 };
	ldns_pkt *pkt = NULL;

	if (tw_dns_question_parse(m, len, &y.q) != TW_DQ_OK ||
	    !edns_plain(&y, m, len))
		return;
	if (ldns_wire2pkt(&pkt, m, len) != LDNS_STATUS_OK)
		abort();
	if (y.dnssec_ok != (ldns_pkt_edns(pkt) && ldns_pkt_edns_do(pkt)) ||
	    y.maxudp != (ldns_pkt_edns(pkt) && ldns_pkt_edns_udp_size(pkt) > 512 ?
				 ldns_pkt_edns_udp_size(pkt) : 512))
		abort();
	ldns_pkt_free(pkt);
}

/* ---- the answer reader against ldns --------------------------------------- */

static bool ldns_name(const ldns_rdf *r, struct tw_dname *n)
{
	return r && ldns_rdf_get_type(r) == LDNS_RDF_TYPE_DNAME &&
	       !tw_dname_from_wire(ldns_rdf_data(r), ldns_rdf_size(r), n);
}

static bool ldns_in_chain(const struct tw_dname *chain, size_t n,
			  const struct tw_dname *x)
{
	for (size_t i = 0; i < n; i++)
		if (tw_dname_equal(&chain[i], x))
			return true;
	return false;
}

/* What ldns reads of answer P for QNAME: the addresses dnsanswer.c must
 * read too (the resolver read them with ldns before). */
static size_t ldns_addrs(const ldns_pkt *p, const struct tw_dname *qname,
			 struct tw_answer_addr *out, size_t max)
{
	ldns_rr_list *an = ldns_pkt_answer(p);
	struct tw_dname chain[8], owner, target;
	size_t nchain = 1, n = 0, cnt = an ? ldns_rr_list_rr_count(an) : 0;
	bool grew = true;

	chain[0] = *qname;
	while (grew && nchain < 8) {
		grew = false;
		for (size_t i = 0; i < cnt && nchain < 8; i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);

			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME ||
			    !ldns_name(ldns_rr_owner(rr), &owner) ||
			    !ldns_name(ldns_rr_rdf(rr, 0), &target))
				continue;
			if (ldns_in_chain(chain, nchain, &owner) &&
			    !ldns_in_chain(chain, nchain, &target)) {
				chain[nchain++] = target;
				grew = true;
			}
		}
	}
	for (size_t i = 0; i < cnt && n < max; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		ldns_rdf *rd = ldns_rr_rdf(rr, 0);

		if ((t != LDNS_RR_TYPE_A && t != LDNS_RR_TYPE_AAAA) || !rd ||
		    !ldns_name(ldns_rr_owner(rr), &owner) ||
		    !ldns_in_chain(chain, nchain, &owner))
			continue;
		if ((t == LDNS_RR_TYPE_A && ldns_rdf_size(rd) != 4) ||
		    (t == LDNS_RR_TYPE_AAAA && ldns_rdf_size(rd) != 16))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].family = t == LDNS_RR_TYPE_A ? 4 : 6;
		memcpy(out[n].addr, ldns_rdf_data(rd), ldns_rdf_size(rd));
		out[n].ttl = ldns_rr_ttl(rr);
		n++;
	}
	return n;
}

/* Whether every record of the answer section of checked message A is
 * one both readers frame alike: an A of 4 bytes, an AAAA of 16, a CNAME
 * whose name fills its rdata. Elsewhere ldns reads a type's fields, not
 * RDLENGTH, and from there on reads other records than the wire holds. */
static bool framed_alike(const uint8_t *a, size_t n)
{
	struct tw_dname target;
	struct tw_dns_rr rr;
	uint16_t count;
	size_t off;

	if (tw_dns_msg_check(a, n, &off, &count))
		return false;
	while (count--) {
		if (tw_dns_rr_at(a, n, &off, &rr))
			return false;
		if ((rr.type == 1 && rr.rdlen != 4) ||
		    (rr.type == 28 && rr.rdlen != 16) ||
		    (rr.type == 5 && tw_dns_rr_name_target(a, n, &rr, &target)) ||
		    (rr.type != 1 && rr.type != 28 && rr.type != 5))
			return false;
	}
	return true;
}

/*
 * The answer A (N bytes) to a question for the client's name: what
 * dnsanswer.c reads of an answer ldns reads too holds no address ldns
 * does not find, where both frame its records alike. (Either may refuse what the other reads: ldns does not
 * go by RDLENGTH; what dnsanswer.c refuses is a SERVFAIL, nothing
 * granted, and the addresses it reads where ldns does not are checked
 * for rebinding and granted like any others.)
 */
static void check_answer_reader(const uint8_t *q, size_t qlen,
				const uint8_t *a, size_t n)
{
	struct tw_answer_addr mine[64], theirs[64];
	struct tw_dns_question cq;
	ldns_pkt *pkt = NULL;
	int got;
	size_t want;

	if (tw_dns_question_parse(q, qlen, &cq) != TW_DQ_OK)
		return;
	got = tw_dns_answer_addrs(a, n, &cq.name, mine, 64);
	if (ldns_wire2pkt(&pkt, a, n) != LDNS_STATUS_OK)
		return;
	want = ldns_addrs(pkt, &cq.name, theirs, 64);
	ldns_pkt_free(pkt);
	if (got < 0 || !framed_alike(a, n))
		return; /* e.g. an rdata longer than its type's fields: ldns
			   reads the next record from inside it, the RFC and
			   glibc's resolver go by RDLENGTH; SERVFAIL */
	/* Each of ours is one of ldns's, in order: ldns also takes an A or
	 * AAAA whose rdata is longer than the address (the rest dropped);
	 * dnsanswer.c skips it, as glibc's resolver does. */
	for (size_t i = 0, k = 0; i < (size_t)got; i++, k++) {
		while (k < want &&
		       (mine[i].family != theirs[k].family ||
			mine[i].ttl != theirs[k].ttl ||
			memcmp(mine[i].addr, theirs[k].addr, 16)))
			k++;
		if (k == want)
			abort();
	}
}

static void check_learned(size_t from)
{
	for (size_t i = from; i < tw_learned_count(&d.learned); i++) {
		const struct tw_learned *l = tw_learned_at(&d.learned, i);
		const struct tw_context *x = &d.rev[0].comp.ctx[l->e.ctx];
		struct tw_learn_entry g[2];

		if (l->e.ctx >= d.rev[0].comp.nctx ||
		    tw_dns_rebinding(x, l->e.family, l->e.addr) ||
		    !tw_dns_name_grants(x, l->name, g, l->e.ctx))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct tw_compiled *c = &d.rev[0].comp;
	struct tw_dns_stats before = d.dns;
	uint64_t written = d.audit.written;
	uint64_t aggregated = d.audit.agg.aggregated;
	struct query_ctx qc = { 0 };
	const uint8_t *q, *p, *end = data + size;
	uint8_t *out = NULL;
	size_t qlen, olen = 0, ci;
	int ret;

	if (size < 3)
		return 0;
	qc.tcp = data[0] & 1;
	ci = (size_t)(data[0] >> 1) % (c->nctx + 1);
	snprintf(qc.context, sizeof(qc.context), "%s",
		 ci < c->nctx ? c->ctx[ci].name : "workspace:none");
	qlen = (size_t)data[1] << 8 | data[2];
	q = data + 3;
	if (qlen > (size_t)(end - q))
		qlen = end - q;
	p = q + qlen;
	up.udp = up.tcp = NULL;
	up.udplen = up.tcplen = up.tcpoff = 0;
	up.udp_read = up.tcp_mode = false;
	up.sockets = up.tcp_sockets = up.sent = 0;
	up.query = q;
	up.qlen = qlen;
	if (end - p >= 2) {
		up.udplen = (size_t)p[0] << 8 | p[1];
		p += 2;
		if (up.udplen > (size_t)(end - p))
			up.udplen = end - p;
		up.udp = p;
		p += up.udplen;
		up.tcp = p;
		up.tcplen = end - p;
	}

	check_edns(q, qlen);
	if (up.udplen)
		check_answer_reader(q, qlen, up.udp, up.udplen);
	ret = answer(&d, &qc, q, qlen, &out, &olen);

	if (getenv("TW_FUZZ_DEBUG")) /* what a seed does, when run alone */
		fprintf(stderr,
			"ret %d reply %zu sockets %u/%u sent %u answered %d nxdomain %d "
			"refused %d rebinding %d servfail %d truncated %d "
			"formerr %d notimp %d learned %zu records %d\n",
			ret, olen, up.sockets, up.tcp_sockets, up.sent,
			(int)(d.dns.answered - before.answered),
			(int)(d.dns.nxdomain - before.nxdomain),
			(int)(d.dns.refused - before.refused),
			(int)(d.dns.rebinding - before.rebinding),
			(int)(d.dns.servfail - before.servfail),
			(int)(d.dns.truncated - before.truncated),
			(int)(d.dns.formerr - before.formerr),
			(int)(d.dns.notimp - before.notimp), tw_learned_count(&d.learned),
			(int)(d.audit.written - written));
	if (!ret && (!out || !olen))
		abort();
	/* Every reply answers the query's id (an upstream's answer too:
	 * it answered the id toolwall chose). */
	if (!ret && qlen >= 2 && (olen < 2 || out[0] != q[0] || out[1] != q[1]))
		abort();
	if (up.sent) {
		/* Only a name the context may resolve goes upstream, as the
		 * wire carries it (not as some text says it). */
		struct tw_dns_question cq;
		struct tw_learn_entry g[2];

		if (ci >= c->nctx ||
		    tw_dns_question_parse(q, qlen, &cq) != TW_DQ_OK ||
		    !tw_dns_name_grants_dn(&c->ctx[ci], &cq.name, g, (uint32_t)ci))
			abort();
	}
	if (d.dns.nxdomain != before.nxdomain && up.sent)
		abort();
	/* Every refusal is on the record: written, or counted into the
	 * pending record of its twins. A socket no context owns has no one
	 * to name. */
	{
		uint64_t refusals = (d.dns.nxdomain - before.nxdomain) +
				    (d.dns.rebinding - before.rebinding) +
				    (d.dns.formerr - before.formerr) +
				    (d.dns.notimp - before.notimp) +
				    (d.dns.refused - before.refused);
		uint64_t recorded = (d.audit.written - written) +
				    (d.audit.agg.aggregated - aggregated);

		if (ci < c->nctx ? recorded != refusals : recorded != 0)
			abort();
	}
	check_learned(0);
	free(out);
	{
		/* A reload of the same policy keeps every grant (dns.c
		 * re-judges the names it stored from the wire). */
		size_t before_n = tw_learned_count(&d.learned), n;
		struct tw_learn_entry *re = NULL;

		if (tw_learned_prepare(&d.learned, c, tw_dns_name_grants, 0,
				       &re, &n))
			abort();
		tw_learned_commit(&d.learned, NULL);
		if (tw_learned_count(&d.learned) != before_n || n != before_n)
			abort();
		free(re);
	}

	/* The next input starts with nothing learned and an empty log. */
	tw_learned_free(&d.learned);
	learned_prime();
	if (ftruncate(d.audit.fd, 0) == 0)
		d.audit.size = 0;
	return 0;
}

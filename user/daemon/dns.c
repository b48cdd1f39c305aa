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
#include "explain.h"
#include "state.h"
#include "sysaudit.h"
#include "util.h"

enum { L_UDP4, L_TCP4, L_UDP6, L_TCP6, L_KINDS };
#define MAX_MSG 65535

/* What an event of the resolver's epoll set points at: the first member
 * of each of these. */
enum ev_type { EV_WAKE = 1, EV_LISTEN, EV_CONN };

struct query_ctx {
	char context[160];
	bool tcp;
	struct sockaddr_storage peer; /* the client, as our socket sees it */
	socklen_t peerlen;
};

struct tw_dns_listener;

/* One listening socket of a context. */
struct dns_sock {
	enum ev_type type; /* EV_LISTEN */
	int kind;
	struct tw_dns_listener *l;
};

/*
 * A context's listeners. Allocated one by one and never freed before the
 * resolver stops, so an epoll event can point at them and a resolver
 * thread read them without any lock (context and fds never change).
 */
struct tw_dns_listener {
	char context[160];
	int fd[L_KINDS];
	uint16_t port[L_KINDS];
	struct dns_sock sock[L_KINDS];
	unsigned int ntcp; /* open DNS-over-TCP clients (tcp.lock) */
};

/*
 * One DNS-over-TCP client. Its socket is in the epoll set with
 * EPOLLONESHOT: whichever resolver thread gets the event owns the
 * connection until it re-arms it, so no two threads ever touch one.
 * Nothing it sends or withholds can hold a thread: reads and writes are
 * non-blocking, and a client that has not sent a whole query (or taken
 * its whole answer) by its deadline is shut down by the sweep.
 */
struct dns_conn {
	enum ev_type type; /* EV_CONN */
	int fd;
	struct tw_dns_listener *l;
	struct query_ctx qc;
	uint8_t hdr[2];
	size_t hdr_have;
	uint8_t *buf; /* the query (need bytes), then the answer with its
			 2-byte length (out_len bytes) */
	size_t need, have, out_len, out_off;
	bool writing;
	bool shut; /* the sweep shut it down: its deadline passed */
	uint64_t deadline_ns; /* CLOCK_MONOTONIC */
	struct dns_conn *prev, *next;
};

/* Every open DNS-over-TCP client, for the limits and the sweep. This lock
 * guards only the list and the counters; it is never held over I/O. */
static struct {
	pthread_mutex_t lock;
	struct dns_conn *head;
	unsigned int n;
	uint64_t swept_ns;
} tcp = { .lock = PTHREAD_MUTEX_INITIALIZER };

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

/* ---- what a context may resolve --------------------------------------- */

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s += 'a' - 'A';
}

/* Does name rule R cover NAME (exact, or "*.x" at any depth below x)? */
static bool name_rule_matches(const struct tw_rule *r, const char *name)
{
	struct tw_dest d = { .kind = TW_HOST_NAME, .proto = r->proto };

	if (r->kind != TW_HOST_NAME && r->kind != TW_HOST_WILDCARD)
		return false;
	if (!r->nports)
		return false;
	/* ldns escapes a byte no policy name holds, a dot within a label
	 * among them ("x\.cdn.example" is one label "x.cdn" under "example",
	 * not a name below cdn.example): such a name matches no rule. */
	if (strchr(name, '\\'))
		return false;
	d.port = r->ports[0].lo;
	snprintf(d.name, sizeof(d.name), "%s", name);
	return tw_rule_matches(r, &d);
}

static void add_ports(struct tw_learn_entry *e, const struct tw_rule *r)
{
	for (size_t i = 0; i < r->nports; i++) {
		bool merged = false;

		for (size_t k = 0; k < e->nports && !merged; k++) {
			struct tw_port_range *p = &e->ports[k];

			if (r->ports[i].lo <= p->hi + 1u &&
			    r->ports[i].hi + 1u >= p->lo) {
				if (r->ports[i].lo < p->lo)
					p->lo = r->ports[i].lo;
				if (r->ports[i].hi > p->hi)
					p->hi = r->ports[i].hi;
				merged = true;
			}
		}
		if (!merged && e->nports < TW_MAX_PORT_RANGES)
			e->ports[e->nports++] = r->ports[i];
	}
}

/*
 * The grants NAME earns in context X: one template per protocol with the
 * union of the ports of every matching name rule. Returns how many (0: the
 * name is not allowed).
 */
static int name_grants(const struct tw_context *x, const char *name,
		       struct tw_learn_entry out[2], uint32_t ctx_idx)
{
	int n = 0;

	memset(out, 0, 2 * sizeof(*out));
	for (size_t i = 0; i < x->nrules; i++) {
		const struct tw_rule *r = &x->rules[i];
		struct tw_learn_entry *e = NULL;

		if (!name_rule_matches(r, name))
			continue;
		for (int k = 0; k < n; k++)
			if (out[k].proto == (uint8_t)r->proto)
				e = &out[k];
		if (!e) {
			e = &out[n++];
			e->ctx = ctx_idx;
			e->proto = (uint8_t)r->proto;
			e->rule = (uint32_t)i;
		}
		add_ports(e, r);
	}
	return n;
}

/* Does some IP-literal rule of X cover the address? */
static bool literal_covers(const struct tw_context *x, int family,
			   const uint8_t *a)
{
	for (size_t i = 0; i < x->nrules; i++) {
		const struct tw_rule *r = &x->rules[i];

		if (r->kind == TW_HOST_CIDR && r->family == family &&
		    tw_prefix_contains(r->addr, r->prefixlen, a))
			return true;
	}
	return false;
}

/* Loopback, private, link-local (cloud metadata), CGNAT, multicast,
 * reserved: where a rebinding attack points a public name. */
static bool special_v4(const uint8_t *a)
{
	return a[0] == 0 || a[0] == 10 || a[0] == 127 ||
	       (a[0] == 100 && (a[1] & 0xc0) == 64) ||
	       (a[0] == 169 && a[1] == 254) ||
	       (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	       (a[0] == 192 && a[1] == 168) || a[0] >= 224;
}

static bool special_v6(const uint8_t *a)
{
	static const uint8_t zero[16];

	if (!memcmp(a, zero, 15) && (a[15] == 0 || a[15] == 1))
		return true; /* :: and ::1 */
	return (a[0] & 0xfe) == 0xfc ||		     /* fc00::/7 */
	       (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || /* fe80::/10 */
	       a[0] == 0xff;			     /* multicast */
}

/*
 * This host's addresses, read at most once a second rather than once per
 * answered address (getifaddrs is a netlink dump). Callers hold the daemon
 * lock, which also guards this cache.
 */
static struct {
	struct answer_host {
		int family;
		uint8_t addr[16];
	} *v;
	size_t n;
	uint64_t read_ns;
} own_addrs;

static void own_addrs_refresh(void)
{
	uint64_t now = tw_now_ns(CLOCK_MONOTONIC);
	struct ifaddrs *ifs, *i;
	size_t n = 0;

	if (own_addrs.read_ns && now - own_addrs.read_ns < 1000000000ull)
		return;
	if (getifaddrs(&ifs))
		return; /* keep the last list */
	for (i = ifs; i; i = i->ifa_next)
		n++;
	free(own_addrs.v);
	own_addrs.v = calloc(n + 1, sizeof(*own_addrs.v));
	own_addrs.n = 0;
	for (i = ifs; i && own_addrs.v; i = i->ifa_next) {
		struct answer_host *h = &own_addrs.v[own_addrs.n];

		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			h->family = 4;
			memcpy(h->addr,
			       &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			h->family = 6;
			memcpy(h->addr,
			       &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
			       16);
		} else {
			continue;
		}
		own_addrs.n++;
	}
	freeifaddrs(ifs);
	own_addrs.read_ns = now;
}

static bool host_owns(int family, const uint8_t *a)
{
	own_addrs_refresh();
	for (size_t i = 0; i < own_addrs.n; i++)
		if (own_addrs.v[i].family == family &&
		    !memcmp(own_addrs.v[i].addr, a, family == 4 ? 4 : 16))
			return true;
	return false;
}

static bool rebinding(const struct tw_context *x, int family,
		      const uint8_t *addr)
{
	uint8_t a[16] = {};
	int plen = family == 4 ? 32 : 128, fam = family;

	memcpy(a, addr, family == 4 ? 4 : 16);
	tw_fold_v4(&fam, a, &plen);
	if (literal_covers(x, fam, a))
		return false;
	if (fam == 4 ? special_v4(a) : special_v6(a))
		return true;
	return host_owns(family, addr);
}

/* ---- learned addresses ------------------------------------------------ */

static uint64_t mono_ns(void)
{
	return tw_now_ns(CLOCK_MONOTONIC);
}

static bool same_key(const struct tw_learned *l, const char *ctx,
		     const struct tw_learn_entry *e)
{
	return l->e.proto == e->proto && l->e.family == e->family &&
	       !memcmp(l->e.addr, e->addr, 16) && !strcmp(l->context, ctx);
}

/* Grant E (context CTX) until EXPIRES; merges with what is there. */
static int learn(struct tw_daemon *d, const char *ctx, const char *name,
		 const struct tw_learn_entry *e, uint64_t expires)
{
	struct tw_learned *l = NULL, *nl;
	struct tw_learn_entry before = {};
	int ret;

	for (size_t i = 0; i < d->nlearned && !l; i++)
		if (same_key(&d->learned[i], ctx, e))
			l = &d->learned[i];
	if (!l) {
		nl = realloc(d->learned, (d->nlearned + 1) * sizeof(*nl));
		if (!nl)
			return -ENOMEM;
		d->learned = nl;
		l = &d->learned[d->nlearned++];
		memset(l, 0, sizeof(*l));
		snprintf(l->context, sizeof(l->context), "%s", ctx);
		snprintf(l->name, sizeof(l->name), "%s", name);
		l->e = *e;
		d->dns.learned++;
	} else {
		struct tw_rule r = { .ports = (struct tw_port_range *)e->ports,
				     .nports = e->nports };

		before = l->e;
		add_ports(&l->e, &r);
	}
	if (expires > l->expires_ns)
		l->expires_ns = expires;
	/* A repeated answer only extends the expiry when the kernel's entry
	 * is already what it should be; a failed push is tried again. */
	if (l->in_kernel && !memcmp(&before, &l->e, sizeof(before)))
		return 0;
	ret = tw_maps_learn(&d->ld.maps, d->slot, &l->e);
	l->in_kernel = ret == 0;
	if (!ret && d->learned_hook)
		d->learned_hook(d, ctx, name, &l->e, true);
	return ret;
}

void tw_dns_expire(struct tw_daemon *d)
{
	uint64_t now = mono_ns();

	for (size_t i = 0; i < d->nlearned;) {
		struct tw_learned *l = &d->learned[i];

		if (l->expires_ns > now) {
			i++;
			continue;
		}
		tw_maps_unlearn(&d->ld.maps, d->slot, &l->e);
		if (d->learned_hook)
			d->learned_hook(d, l->context, l->name, &l->e, false);
		d->dns.expired++;
		*l = d->learned[--d->nlearned];
	}
}

struct tw_learn_entry *tw_dns_relearn(struct tw_daemon *d,
				      const struct tw_compiled *c, size_t *n,
				      bool apply)
{
	struct tw_learn_entry *out;
	size_t k = 0;

	*n = 0;
	out = calloc(d->nlearned + 1, sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < d->nlearned;) {
		struct tw_learned *l = &d->learned[i];
		int ci = tw_compiled_find(c, l->context);
		struct tw_learn_entry g[2];
		int ng = ci < 0 ? 0 :
				  name_grants(&c->ctx[ci], l->name, g,
					      (uint32_t)ci);
		bool kept = false;

		for (int j = 0; j < ng; j++) {
			if (g[j].proto != l->e.proto)
				continue;
			g[j].family = l->e.family;
			memcpy(g[j].addr, l->e.addr, 16);
			if (apply)
				l->e = g[j];
			out[k++] = g[j];
			kept = true;
		}
		if (!kept && apply) { /* the new policy no longer allows it */
			*l = d->learned[--d->nlearned];
			continue;
		}
		i++;
	}
	*n = k;
	return out;
}

/* ---- messages ----------------------------------------------------------- */

/* A reply that carries only the question: NXDOMAIN, REFUSED, SERVFAIL,
 * or a truncated answer (TC) that sends the client to TCP. */
static int reply_short(const ldns_pkt *q, int rcode, bool tc, uint8_t **out,
		       size_t *len)
{
	ldns_pkt *r = ldns_pkt_new();
	ldns_rr_list *ql = ldns_pkt_question(q);
	ldns_status st;

	if (!r)
		return -ENOMEM;
	ldns_pkt_set_id(r, ldns_pkt_id(q));
	ldns_pkt_set_qr(r, true);
	ldns_pkt_set_rd(r, ldns_pkt_rd(q));
	ldns_pkt_set_ra(r, true);
	ldns_pkt_set_opcode(r, ldns_pkt_get_opcode(q));
	ldns_pkt_set_rcode(r, (uint8_t)rcode);
	ldns_pkt_set_tc(r, tc);
	for (size_t i = 0; ql && i < ldns_rr_list_rr_count(ql); i++)
		ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION,
				 ldns_rr_clone(ldns_rr_list_rr(ql, i)));
	st = ldns_pkt2wire(out, r, len);
	ldns_pkt_free(r);
	return st == LDNS_STATUS_OK ? 0 : -EINVAL;
}

/* FORMERR from the raw header when the query does not even parse. */
static int reply_formerr(const uint8_t *q, size_t qlen, uint8_t **out,
			 size_t *len)
{
	uint8_t *r;

	if (qlen < 2)
		return -EINVAL;
	r = calloc(1, 12);
	if (!r)
		return -ENOMEM;
	r[0] = q[0];
	r[1] = q[1];
	r[2] = 0x80;		 /* QR */
	r[3] = LDNS_RCODE_FORMERR;
	*out = r;
	*len = 12;
	return 0;
}

static int wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r = poll(&p, 1, ms);

	return r > 0 ? 0 : (r == 0 ? -ETIMEDOUT : -errno);
}

/*
 * Write all of BUF within MS (partial writes, EAGAIN, EINTR); never
 * raises SIGPIPE on a peer that has gone.
 */
static int send_all(int fd, const uint8_t *buf, size_t len, int ms)
{
	uint64_t end = tw_now_ns(CLOCK_MONOTONIC) + (uint64_t)ms * 1000000ull;
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		uint64_t now;
		int err;

		if (n > 0) {
			off += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return n == 0 ? -EIO : -errno;
		now = tw_now_ns(CLOCK_MONOTONIC);
		if (now >= end)
			return -ETIMEDOUT;
		err = wait_fd(fd, POLLOUT, (int)((end - now) / 1000000ull) + 1);
		if (err)
			return err;
	}
	return 0;
}

static int read_full(int fd, uint8_t *buf, size_t len, int ms)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n;
		int err = wait_fd(fd, POLLIN, ms);

		if (err)
			return err;
		n = recv(fd, buf + off, len - off, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		off += n;
	}
	return 0;
}

/* One exchange with one upstream over UDP or TCP; ANS is malloc'd. */
static int exchange(const struct sockaddr_storage *ss, socklen_t sl,
		    const uint8_t *q, size_t qlen, bool tcp, uint8_t **ans,
		    size_t *alen)
{
	uint8_t *buf = malloc(MAX_MSG + 2);
	int fd, ret;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	fd = socket(ss->ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) |
					   SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0) {
		free(buf);
		return -errno;
	}
	ret = connect(fd, (const struct sockaddr *)ss, sl);
	if (ret && errno == EINPROGRESS)
		ret = wait_fd(fd, POLLOUT, TW_DNS_TIMEOUT_MS);
	else if (ret)
		ret = -errno;
	if (ret)
		goto out;
	if (tcp) {
		uint8_t hdr[2] = { qlen >> 8, qlen & 0xff };
		int soerr = 0;
		socklen_t el = sizeof(soerr);

		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el);
		if (soerr) {
			ret = -soerr;
			goto out;
		}
		ret = send_all(fd, hdr, 2, TW_DNS_TIMEOUT_MS);
		if (!ret)
			ret = send_all(fd, q, qlen, TW_DNS_TIMEOUT_MS);
		if (ret)
			goto out;
		ret = read_full(fd, hdr, 2, TW_DNS_TIMEOUT_MS);
		if (ret)
			goto out;
		*alen = (size_t)hdr[0] << 8 | hdr[1];
		ret = read_full(fd, buf, *alen, TW_DNS_TIMEOUT_MS);
	} else {
		if (send(fd, q, qlen, MSG_NOSIGNAL) != (ssize_t)qlen) {
			ret = -errno;
			goto out;
		}
		for (;;) {
			ret = wait_fd(fd, POLLIN, TW_DNS_TIMEOUT_MS);
			if (ret)
				goto out;
			n = recv(fd, buf, MAX_MSG, 0);
			if (n < 0) {
				ret = -errno;
				goto out;
			}
			/* Only the reply to our query id counts. */
			if (n >= 12 && buf[0] == q[0] && buf[1] == q[1])
				break;
		}
		*alen = n;
	}
out:
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	*ans = buf;
	return 0;
}

/* Forward to the upstreams in order; TCP when the UDP answer is truncated. */
static int forward(char **ups, size_t nups, const uint8_t *q, size_t qlen,
		   uint8_t **ans, size_t *alen)
{
	int ret = -EHOSTUNREACH;

	for (size_t i = 0; i < nups; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (tw_sockaddr_parse(ups[i], &ss, &sl, false))
			continue;
		ret = exchange(&ss, sl, q, qlen, false, ans, alen);
		if (!ret && *alen > 2 && ((*ans)[2] & 0x02)) { /* TC */
			uint8_t *t;
			size_t tl;

			if (!exchange(&ss, sl, q, qlen, true, &t, &tl)) {
				free(*ans);
				*ans = t;
				*alen = tl;
			}
		}
		if (!ret)
			return 0;
	}
	return ret;
}

static char *rdf_name(const ldns_rdf *r)
{
	char *s = ldns_rdf2str(r);
	size_t n;

	if (!s)
		return NULL;
	lower(s);
	n = strlen(s);
	if (n > 1 && s[n - 1] == '.')
		s[n - 1] = 0;
	return s;
}

struct answer_addr {
	int family;
	uint8_t addr[16];
	uint32_t ttl;
};

/*
 * The A/AAAA addresses that answer QNAME, following CNAMEs within this
 * answer only. Returns the count (at most MAX).
 */
static size_t answer_addrs(const ldns_pkt *p, const char *qname,
			   struct answer_addr *out, size_t max)
{
	ldns_rr_list *an = ldns_pkt_answer(p);
	char chain[8][256];
	size_t nchain = 1, n = 0, cnt = an ? ldns_rr_list_rr_count(an) : 0;
	bool grew = true;

	snprintf(chain[0], sizeof(chain[0]), "%s", qname);
	while (grew && nchain < 8) {
		grew = false;
		for (size_t i = 0; i < cnt && nchain < 8; i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);
			char *owner, *target;
			bool in = false, known = false;

			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME)
				continue;
			owner = rdf_name(ldns_rr_owner(rr));
			target = rdf_name(ldns_rr_rdf(rr, 0));
			for (size_t c = 0; owner && target && c < nchain; c++) {
				in |= !strcmp(chain[c], owner);
				known |= !strcmp(chain[c], target);
			}
			if (in && !known) {
				snprintf(chain[nchain++], sizeof(chain[0]), "%s",
					 target);
				grew = true;
			}
			free(owner);
			free(target);
		}
	}
	for (size_t i = 0; i < cnt && n < max; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rr_type t = ldns_rr_get_type(rr);
		ldns_rdf *rd;
		char *owner;
		bool in = false;

		if (t != LDNS_RR_TYPE_A && t != LDNS_RR_TYPE_AAAA)
			continue;
		owner = rdf_name(ldns_rr_owner(rr));
		for (size_t c = 0; owner && c < nchain; c++)
			in |= !strcmp(chain[c], owner);
		free(owner);
		rd = ldns_rr_rdf(rr, 0);
		if (!in || !rd)
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

/* ---- audit ----------------------------------------------------------------- */

/* Bundles anywhere in the policy whose name entries cover NAME, and the
 * contexts that hold them: the `hint` of a DNS denial. */
static void name_hint(const struct tw_compiled *c, const char *name,
		      char *buf, size_t len)
{
	int *list = calloc(c->pol->nbundles + 1, sizeof(*list));
	struct tw_explain ex = {.bundles = list};

	buf[0] = 0;
	if (!list)
		return;
	for (size_t b = 0; b < c->pol->nbundles; b++) {
		const struct tw_bundle *bu = &c->pol->bundles[b];
		bool hit = false;

		for (size_t i = 0; i < bu->nconnect && !hit; i++) {
			const struct tw_endpoint *ep = &bu->connect[i];
			struct tw_rule r = { .proto = ep->proto,
					     .kind = ep->kind,
					     .name = ep->name,
					     .ports = ep->ports,
					     .nports = ep->nports };

			hit = name_rule_matches(&r, name);
		}
		if (hit)
			list[ex.nbundles++] = (int)b;
	}
	tw_explain_hint(c, &ex, buf, len);
	free(list);
}

/*
 * A refused name's record, built under d->lock; dns_record_write() adds who
 * asked and writes it, without the lock held.
 */
static json_t *audit_dns(struct tw_daemon *d, const struct tw_compiled *c,
			 const struct tw_context *x, const char *name,
			 const char *qtype, const struct query_ctx *qc,
			 const char *reason, const char *answer)
{
	json_t *rec = tw_audit_record(&d->audit,
				      x->mode == TW_MODE_AUDIT ? "audit" : "deny",
				      0);
	char hint[1024];

	name_hint(c, name, hint, sizeof(hint));
	tw_record_where(rec, c->pol, x, NULL);
	json_object_set_new(rec, "action", json_string("dns"));
	json_object_set_new(rec, "proto", json_string(qc->tcp ? "tcp" : "udp"));
	json_object_set_new(rec, "domain", json_string(name));
	json_object_set_new(rec, "qtype", json_string(qtype));
	if (answer)
		json_object_set_new(rec, "answer", json_string(answer));
	json_object_set_new(rec, "reason", json_string(reason));
	json_object_set_new(rec, "policy_rev", json_string(c->revision));
	json_object_set_new(rec, "hint", json_string(hint));
	return rec;
}

/*
 * Who asked: the process of the context (cgroup CTX_CGROUP) that holds the
 * client socket; the query is in flight, so it is there to find. The /proc
 * scan runs without d->lock (it must not stall the event loop or the other
 * resolver threads); the lock is taken only to find the call and write.
 */
static void dns_record_write(struct tw_daemon *d, json_t *rec,
			     const char *ctx_cgroup, const struct query_ctx *qc)
{
	struct tw_call *call = NULL;
	char file[64], comm[64] = "", line[256];
	uint32_t pid = 0;
	uint64_t cgid;
	long uid = -1;
	FILE *f;

	if (qc->peerlen &&
	    tw_socket_owner(d, ctx_cgroup, (const struct sockaddr *)&qc->peer,
			    qc->tcp, &pid) == 0) {
		snprintf(file, sizeof(file), "/proc/%u/status", pid);
		f = fopen(file, "re");
		while (f && fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "Name:\t", 6))
				snprintf(comm, sizeof(comm), "%.*s",
					 (int)strcspn(line + 6, "\n"), line + 6);
			else if (!strncmp(line, "Uid:\t", 5))
				uid = strtol(line + 5, NULL, 10);
		}
		if (f)
			fclose(f);
	}
	json_object_set_new(rec, "pid", pid ? json_integer(pid) : json_null());
	json_object_set_new(rec, "uid", uid >= 0 ? json_integer(uid) : json_null());
	json_object_set_new(rec, "comm", *comm ? json_string(comm) : json_null());
	pthread_mutex_lock(&d->lock);
	if (pid && tw_sysaudit_pid_cgid(d, pid, &cgid) == 0)
		call = tw_call_find(d, cgid);
	tw_record_call(rec, call);
	tw_audit_write(&d->audit, rec);
	pthread_mutex_unlock(&d->lock);
}

/* ---- one query ----------------------------------------------------------- */


/*
 * Answer query Q that arrived on QC's socket. *OUT is malloc'd (caller
 * frees). Returns 0 or -errno (no reply at all).
 */
static int answer(struct tw_daemon *d, const struct query_ctx *qc,
		  const uint8_t *q, size_t qlen, uint8_t **out, size_t *olen)
{
	struct tw_learn_entry grants[2];
	struct answer_addr addrs[64];
	char **ups = NULL, *qname = NULL, qtype[16] = "?";
	ldns_pkt *pkt = NULL, *resp = NULL;
	const struct tw_revision *rev;
	const struct tw_context *x;
	size_t nups = 0, naddr, alen = 0, maxudp = 512;
	uint8_t *ans = NULL;
	int ci, ng, ret = 0;
	ldns_rr *rr;
	json_t *refused = NULL; /* a record to finish once the lock is free */
	char refused_cg[4096];

	if (ldns_wire2pkt(&pkt, q, qlen) != LDNS_STATUS_OK)
		return reply_formerr(q, qlen, out, olen);
	if (ldns_pkt_qr(pkt) || ldns_pkt_qdcount(pkt) != 1) {
		ret = reply_short(pkt, LDNS_RCODE_FORMERR, false, out, olen);
		goto done;
	}
	/* A standard query only: UPDATE, NOTIFY and the like never go
	 * upstream, whatever name they carry. */
	if (ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY) {
		ret = reply_short(pkt, LDNS_RCODE_NOTIMPL, false, out, olen);
		goto done;
	}
	rr = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) {
		ret = reply_short(pkt, LDNS_RCODE_REFUSED, false, out, olen);
		goto done;
	}
	qname = rdf_name(ldns_rr_owner(rr));
	if (!qname) {
		ret = -ENOMEM;
		goto done;
	}
	{
		char *t = ldns_rr_type2str(ldns_rr_get_type(rr));

		if (t) {
			snprintf(qtype, sizeof(qtype), "%s", t);
			free(t);
		}
	}
	if (ldns_pkt_edns(pkt) && ldns_pkt_edns_udp_size(pkt) > 512)
		maxudp = ldns_pkt_edns_udp_size(pkt);

	/* Is the name the context's to resolve? */
	pthread_mutex_lock(&d->lock);
	d->dns.queries++;
	d->dns.tcp += qc->tcp;
	rev = &d->rev[d->slot];
	ci = rev->valid ? tw_compiled_find(&rev->comp, qc->context) : -1;
	if (ci < 0) {
		d->dns.refused++;
		pthread_mutex_unlock(&d->lock);
		ret = reply_short(pkt, LDNS_RCODE_REFUSED, false, out, olen);
		goto done;
	}
	x = &rev->comp.ctx[ci];
	ng = name_grants(x, qname, grants, (uint32_t)ci);
	if (!ng) {
		char why[512];

		snprintf(why, sizeof(why),
			 "no bundle of %s allows the name %s; answered "
			 "NXDOMAIN, nothing was sent upstream",
			 x->name, qname);
		refused = audit_dns(d, &rev->comp, x, qname, qtype, qc, why,
				    NULL);
		snprintf(refused_cg, sizeof(refused_cg), "%s", x->cgroup);
		d->dns.nxdomain++;
		pthread_mutex_unlock(&d->lock);
		ret = reply_short(pkt, LDNS_RCODE_NXDOMAIN, false, out, olen);
		goto done;
	}
	{
		const struct tw_workspace *ws =
			&rev->pol.workspaces[x->workspace];

		ups = calloc(ws->ndns_upstream + 1, sizeof(*ups));
		for (size_t i = 0; ups && i < ws->ndns_upstream; i++)
			if ((ups[nups] = strdup(ws->dns_upstream[i])))
				nups++;
	}
	pthread_mutex_unlock(&d->lock);

	/* Only allowed names get this far. */
	if (forward(ups, nups, q, qlen, &ans, &alen) ||
	    ldns_wire2pkt(&resp, ans, alen) != LDNS_STATUS_OK) {
		pthread_mutex_lock(&d->lock);
		d->dns.servfail++;
		pthread_mutex_unlock(&d->lock);
		ret = reply_short(pkt, LDNS_RCODE_SERVFAIL, false, out, olen);
		goto done;
	}
	naddr = answer_addrs(resp, qname, addrs, 64);

	pthread_mutex_lock(&d->lock);
	rev = &d->rev[d->slot]; /* a reload may have happened meanwhile */
	ci = rev->valid ? tw_compiled_find(&rev->comp, qc->context) : -1;
	ng = ci < 0 ? 0 :
		      name_grants(&rev->comp.ctx[ci], qname, grants,
				  (uint32_t)ci);
	if (!ng) {
		d->dns.refused++;
		pthread_mutex_unlock(&d->lock);
		ret = reply_short(pkt, LDNS_RCODE_REFUSED, false, out, olen);
		goto done;
	}
	x = &rev->comp.ctx[ci];
	for (size_t i = 0; i < naddr; i++) {
		char a[INET6_ADDRSTRLEN], why[512];

		if (!rebinding(x, addrs[i].family, addrs[i].addr))
			continue;
		tw_addr_str(addrs[i].family, addrs[i].addr, a, sizeof(a));
		snprintf(why, sizeof(why),
			 "rebinding: %s resolved to %s (loopback, private, "
			 "link-local, CGNAT, multicast or this host) and no "
			 "bundle of %s lists it as an IP literal; refused",
			 qname, a, x->name);
		refused = audit_dns(d, &rev->comp, x, qname, qtype, qc, why, a);
		snprintf(refused_cg, sizeof(refused_cg), "%s", x->cgroup);
		d->dns.rebinding++;
		pthread_mutex_unlock(&d->lock);
		ret = reply_short(pkt, LDNS_RCODE_REFUSED, false, out, olen);
		goto done;
	}
	/* Grant before release: the client can connect as soon as it has the
	 * answer. */
	for (size_t i = 0; i < naddr; i++) {
		uint32_t ttl = addrs[i].ttl > 86400 ? 86400 : addrs[i].ttl;
		uint64_t exp = mono_ns() +
			       (uint64_t)(ttl + TW_DNS_GRACE_S) * 1000000000ull;

		for (int g = 0; g < ng; g++) {
			struct tw_learn_entry e = grants[g];

			e.family = (uint8_t)addrs[i].family;
			memcpy(e.addr, addrs[i].addr, 16);
			learn(d, x->name, qname, &e, exp);
		}
	}
	d->dns.answered++;
	pthread_mutex_unlock(&d->lock);

	if (!qc->tcp && alen > maxudp) {
		pthread_mutex_lock(&d->lock);
		d->dns.truncated++;
		pthread_mutex_unlock(&d->lock);
		ret = reply_short(pkt, LDNS_RCODE_NOERROR, true, out, olen);
		goto done;
	}
	*out = ans;
	*olen = alen;
	ans = NULL;
done:
	if (refused) /* before the answer is sent: the client still waits */
		dns_record_write(d, refused, refused_cg, qc);
	for (size_t i = 0; i < nups; i++)
		free(ups[i]);
	free(ups);
	free(ans);
	free(qname);
	ldns_pkt_free(pkt);
	ldns_pkt_free(resp);
	return ret;
}

/* ---- the resolver threads -------------------------------------------- */

static void stat_add(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static void serve_udp(struct tw_daemon *d, int fd, const struct query_ctx *qc)
{
	uint8_t buf[MAX_MSG];

	for (;;) {
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

static void conn_close(struct tw_daemon *d, struct dns_conn *c)
{
	pthread_mutex_lock(&tcp.lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		tcp.head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	tcp.n--;
	c->l->ntcp--;
	pthread_mutex_unlock(&tcp.lock);
	epoll_ctl(d->dns_epoll, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->buf);
	free(c);
}

/* Hand the connection back to the epoll set; the last thing a thread
 * does with it (another thread may own it right after). */
static void conn_arm(struct tw_daemon *d, struct dns_conn *c, uint32_t what)
{
	struct epoll_event ev = { .events = what | EPOLLONESHOT | EPOLLRDHUP,
				  .data.ptr = c };

	if (epoll_ctl(d->dns_epoll, EPOLL_CTL_MOD, c->fd, &ev))
		conn_close(d, c);
}

static void conn_deadline(struct dns_conn *c)
{
	c->deadline_ns = tw_now_ns(CLOCK_MONOTONIC) +
			 (uint64_t)TW_DNS_TCP_CLIENT_MS * 1000000ull;
}

/*
 * New DNS-over-TCP clients of listener socket S: each gets a slot under
 * the per-context and global limits, or is closed at once (counted).
 */
static void tcp_accept(struct tw_daemon *d, const struct dns_sock *s)
{
	struct tw_dns_listener *l = s->l;

	for (int i = 0; i < 64; i++) {
		struct dns_conn *c = calloc(1, sizeof(*c));
		struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT |
						    EPOLLRDHUP };
		bool full;
		int fd;

		if (!c)
			return;
		c->qc.peerlen = sizeof(c->qc.peer);
		fd = accept4(l->fd[s->kind], (struct sockaddr *)&c->qc.peer,
			     &c->qc.peerlen, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			free(c);
			return; /* EAGAIN: another thread took it, or none */
		}
		pthread_mutex_lock(&tcp.lock);
		full = l->ntcp >= TW_DNS_TCP_PER_CONTEXT ||
		       tcp.n >= TW_DNS_TCP_CLIENTS;
		if (!full) {
			c->next = tcp.head;
			if (tcp.head)
				tcp.head->prev = c;
			tcp.head = c;
			tcp.n++;
			l->ntcp++;
		}
		pthread_mutex_unlock(&tcp.lock);
		if (full) {
			/* A context that holds its share of connections open
			 * waits for them to time out; other contexts do not. */
			stat_add(&d->dns.tcp_refused);
			close(fd);
			free(c);
			continue;
		}
		c->type = EV_CONN;
		c->fd = fd;
		c->l = l;
		snprintf(c->qc.context, sizeof(c->qc.context), "%s",
			 l->context);
		c->qc.tcp = true;
		conn_deadline(c);
		ev.data.ptr = c;
		if (epoll_ctl(d->dns_epoll, EPOLL_CTL_ADD, fd, &ev))
			conn_close(d, c);
	}
}

/*
 * Read what there is of C's query. 1: complete, 0: more to come (C is
 * re-armed), -1: C is closed.
 */
static int conn_read(struct tw_daemon *d, struct dns_conn *c)
{
	for (;;) {
		uint8_t *dst = c->hdr_have < 2 ? c->hdr + c->hdr_have :
						 c->buf + c->have;
		size_t want = c->hdr_have < 2 ? 2 - c->hdr_have :
						c->need - c->have;
		ssize_t n = recv(c->fd, dst, want, MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_arm(d, c, EPOLLIN);
			return 0;
		}
		if (n <= 0) {
			/* Gone before its query was whole (or between
			 * queries): nothing to answer. */
			if (c->hdr_have || c->have)
				stat_add(&d->dns.tcp_dropped);
			conn_close(d, c);
			return -1;
		}
		if (c->hdr_have < 2) {
			c->hdr_have += n;
			if (c->hdr_have < 2)
				continue;
			c->need = (size_t)c->hdr[0] << 8 | c->hdr[1];
			c->have = 0;
			if (c->need < 12) { /* not even a DNS header */
				stat_add(&d->dns.tcp_dropped);
				conn_close(d, c);
				return -1;
			}
			free(c->buf);
			c->buf = malloc(c->need);
			if (!c->buf) {
				conn_close(d, c);
				return -1;
			}
			continue;
		}
		c->have += n;
		if (c->have == c->need)
			return 1;
	}
}

/* Send what is left of C's answer. 1: all sent, 0: C waits for room (it is
 * re-armed), -1: C is closed (the client went away: counted). */
static int conn_write(struct tw_daemon *d, struct dns_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->buf + c->out_off,
				 c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_arm(d, c, EPOLLOUT);
			return 0;
		}
		if (n <= 0) {
			stat_add(&d->dns.tcp_dropped);
			conn_close(d, c);
			return -1;
		}
		c->out_off += n;
	}
	return 1;
}

/* An event of DNS-over-TCP client C; this thread owns C until it re-arms
 * or closes it. */
static void tcp_event(struct tw_daemon *d, struct dns_conn *c, uint32_t ev)
{
	uint8_t *out = NULL;
	size_t olen = 0;
	int r;

	if (c->shut || tw_now_ns(CLOCK_MONOTONIC) >= c->deadline_ns) {
		stat_add(&d->dns.tcp_timeouts);
		conn_close(d, c);
		return;
	}
	if (ev & EPOLLERR) {
		conn_close(d, c);
		return;
	}
	for (;;) {
		if (!c->writing) {
			r = conn_read(d, c);
			if (r <= 0)
				return;
			/* The query is whole: it is judged (and recorded)
			 * whatever the client does next. */
			if (answer(d, &c->qc, c->buf, c->need, &out, &olen) ||
			    olen > MAX_MSG) {
				free(out);
				conn_close(d, c);
				return;
			}
			free(c->buf);
			c->buf = malloc(olen + 2);
			if (!c->buf) {
				free(out);
				conn_close(d, c);
				return;
			}
			c->buf[0] = olen >> 8;
			c->buf[1] = olen & 0xff;
			memcpy(c->buf + 2, out, olen);
			free(out);
			out = NULL;
			c->out_len = olen + 2;
			c->out_off = 0;
			c->writing = true;
			/* Taking the answer gets a time limit of its own. */
			conn_deadline(c);
		}
		r = conn_write(d, c);
		if (r <= 0)
			return;
		/* RFC 7766: the client may send another query. */
		free(c->buf);
		c->buf = NULL;
		c->writing = false;
		c->hdr_have = c->have = c->need = 0;
		conn_deadline(c);
	}
}

/* Shut down every client past its deadline; its owner (or the event the
 * shutdown raises) closes it. At most every TW_DNS_SWEEP_MS. */
static void tcp_sweep(void)
{
	uint64_t now = tw_now_ns(CLOCK_MONOTONIC);

	pthread_mutex_lock(&tcp.lock);
	if (now - tcp.swept_ns >= TW_DNS_SWEEP_MS * 1000000ull) {
		tcp.swept_ns = now;
		for (struct dns_conn *c = tcp.head; c; c = c->next) {
			if (c->shut || now < c->deadline_ns)
				continue;
			c->shut = true;
			shutdown(c->fd, SHUT_RDWR);
		}
	}
	pthread_mutex_unlock(&tcp.lock);
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

			if (*t == EV_WAKE)
				return NULL;
			if (*t == EV_CONN) {
				tcp_event(d, evs[i].data.ptr, evs[i].events);
				continue;
			}
			/* A listener: its context and fd never change. */
			s = evs[i].data.ptr;
			if (s->kind == L_TCP4 || s->kind == L_TCP6) {
				tcp_accept(d, s);
				continue;
			}
			snprintf(qc.context, sizeof(qc.context), "%s",
				 s->l->context);
			serve_udp(d, s->l->fd[s->kind], &qc);
		}
		tcp_sweep();
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
	while (tcp.head)
		conn_close(d, tcp.head);
	for (size_t i = 0; i < d->ndns_ctx; i++) {
		for (int k = 0; k < L_KINDS; k++)
			if (d->dns_ctx[i]->fd[k] >= 0)
				close(d->dns_ctx[i]->fd[k]);
		free(d->dns_ctx[i]);
	}
	free(d->dns_ctx);
	d->dns_ctx = NULL;
	d->ndns_ctx = 0;
	free(d->learned);
	d->learned = NULL;
	d->nlearned = 0;
	free(own_addrs.v);
	memset(&own_addrs, 0, sizeof(own_addrs));
}

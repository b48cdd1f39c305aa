// SPDX-License-Identifier: GPL-2.0-only
/*
 * brokerd.c - start, feed and watch the credential broker (see brokerd.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "brokerd.h"
#include "learned.h"
#include "fdpass.h"
#include "model.h"
#include "paths.h"
#include "service.h"
#include "util.h"

#define MSG_MAX (256 * 1024)
#define RESTART_NS 1000000000ull /* at most one start a second */

/* ---- messages ---------------------------------------------------------- */

/* MSG (consumed) with FDS[0..N) attached; they are closed here. */
static int send_msg_fds(struct tw_brokerd *b, json_t *msg, int *fds,
			size_t n)
{
	char *s = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	int ret = 0;

	if (!s)
		ret = -ENOMEM;
	else if (b->fd < 0)
		ret = -ENOTCONN;
	else
		ret = tw_fdpass_send(b->fd, s, strlen(s), fds, n);
	free(s);
	json_decref(msg);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	return ret;
}

static int send_msg(struct tw_brokerd *b, json_t *msg)
{
	return send_msg_fds(b, msg, NULL, 0);
}

/*
 * Open PATH for the broker and name it in X ("fd": its index in FDS, or
 * -1): the broker runs unprivileged and reads root's files through what
 * the daemon opened. The daemon itself never reads a credential store.
 */
static void pass_file(json_t *x, const char *path, int *fds, size_t *n)
{
	int fd = path && *n < TW_FDPASS_MAX ?
			 open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
					    O_NONBLOCK) :
			 -1;

	json_object_set_new(x, "fd", json_integer(fd < 0 ? -1 : (json_int_t)*n));
	if (fd >= 0)
		fds[(*n)++] = fd;
}

static void send_origins(struct tw_brokerd *b)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < b->norigins; i++)
		json_array_append_new(a, json_string(b->origins[i]));
	send_msg(b, json_pack("{s:s,s:o}", "op", "origins", "origins", a));
}

/* Every workspace's broker.upstream_ca (the system CAs always count). */
static void send_config(struct tw_daemon *d)
{
	const struct tw_revision *r = &d->rev[d->slot];
	json_t *cas = json_array();
	int fds[TW_FDPASS_MAX];
	size_t n = 0;

	for (size_t i = 0; r->valid && i < r->pol.nworkspaces; i++) {
		const char *p = r->pol.workspaces[i].broker_upstream_ca;
		json_t *x = p ? json_pack("{s:s}", "path", p) : NULL;

		if (!x)
			continue;
		pass_file(x, p, fds, &n);
		json_array_append_new(cas, x);
	}
	send_msg_fds(d->broker,
		     json_pack("{s:s,s:o}", "op", "config", "upstream_ca", cas),
		     fds, n);
}

/* A call's placeholders, its credentials' stores open at the message. */
static void send_call(struct tw_brokerd *b, const struct tw_call *c)
{
	json_t *creds = json_deep_copy(c->brokered), *x;
	int fds[TW_FDPASS_MAX];
	size_t i, n = 0;

	json_array_foreach(creds, i, x)
		pass_file(x, json_string_value(json_object_get(x, "source")),
			  fds, &n);
	send_msg_fds(b,
		     json_pack("{s:s,s:I,s:s,s:s,s:o}", "op", "call", "cgid",
			       (json_int_t)c->cgid, "context", c->context,
			       "call_id", c->call_id, "creds", creds),
		     fds, n);
}

/* Everything a fresh broker needs: upstream CAs, origins, live calls. */
static void send_state(struct tw_daemon *d)
{
	send_config(d);
	send_origins(d->broker);
	for (size_t i = 0; i < d->ncalls; i++)
		if (d->calls[i].brokered && !d->calls[i].ended)
			send_call(d->broker, &d->calls[i]);
}

void tw_brokerd_adopted(struct tw_daemon *d)
{
	for (size_t i = 0; d->broker && i < d->ncalls; i++)
		if (d->calls[i].brokered && !d->calls[i].ended)
			send_call(d->broker, &d->calls[i]);
}

/* ---- the process ------------------------------------------------------- */

static int listener(int family, uint16_t port, uint16_t *bound)
{
	struct sockaddr_storage ss = {};
	socklen_t len;
	int one = 1, fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1024) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	*bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* Both listeners on one port: the one chosen at the first start. */
static int listeners(struct tw_brokerd *b, int fds[2])
{
	for (int tries = 0; tries < 20; tries++) {
		uint16_t p4 = 0, p6 = 0;

		fds[0] = listener(AF_INET, b->port, &p4);
		if (fds[0] < 0)
			return fds[0];
		fds[1] = listener(AF_INET6, p4, &p6);
		if (fds[1] >= 0) {
			b->port = p4;
			return 0;
		}
		close(fds[0]);
		if (b->port)
			return fds[1]; /* ours was taken: try next tick */
	}
	return -EADDRINUSE;
}

static void child(int ctl, const int fds[2], int map_fd, const char *dir,
		  const char *pub)
{
	char *const argv[] = { "toolwall", "broker", "--daemon",
			       "--ca-dir", (char *)dir, "--public",
			       (char *)pub, NULL };
	sigset_t none;

	int src[4] = { ctl, fds[0], fds[1], map_fd };

	/* Fixed descriptors: 3 control, 4 and 5 the listeners, 6 the map;
	 * moved out of the way first, one of them may be 3 to 6 already. */
	for (int i = 0; i < 4; i++)
		if ((src[i] = fcntl(src[i], F_DUPFD, 1024)) < 0)
			_exit(127);
	for (int i = 0; i < 4; i++)
		if (dup2(src[i], 3 + i) < 0)
			_exit(127);
	for (int fd = 7; fd < 1028; fd++)
		close(fd);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	execv("/proc/self/exe", argv);
	_exit(127);
}

static int start(struct tw_daemon *d)
{
	struct tw_brokerd *b = d->broker;
	const char *pub = tw_roots.broker_pub;
	int sv[2], fds[2], ret;
	pid_t pid;

	b->last_start_ns = tw_now_ns(CLOCK_MONOTONIC);
	ret = listeners(b, fds);
	if (ret)
		return ret;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		ret = -errno;
		close(fds[0]);
		close(fds[1]);
		return ret;
	}
	pid = fork();
	if (pid == 0)
		child(sv[1], fds, d->ld.maps.bk_conn, b->dir, pub);
	ret = pid < 0 ? -errno : 0;
	/* No copy of the listeners stays here: they die with the broker. */
	close(fds[0]);
	close(fds[1]);
	close(sv[1]);
	if (ret) {
		close(sv[0]);
		return ret;
	}
	b->pid = pid;
	b->fd = sv[0];
	b->ready = false;
	b->starts++;
	fcntl(b->fd, F_SETFL, O_NONBLOCK);
	send_state(d);
	return 0;
}

int tw_brokerd_open(struct tw_daemon *d)
{
	const char *env = getenv("TOOLWALL_BROKER_DIR");
	int ret;

	d->broker = calloc(1, sizeof(*d->broker));
	if (!d->broker)
		return -ENOMEM;
	d->broker->fd = -1;
	snprintf(d->broker->dir, sizeof(d->broker->dir), "%s",
		 env && *env ? env : TW_BROKER_DIR);
	ret = start(d);
	if (ret)
		tw_warn("cannot start the credential broker: %s; brokered "
			"connections are refused until it starts",
			strerror(-ret));
	else
		tw_maps_reserve_port(&d->ld.maps, d->broker->port);
	return ret;
}

void tw_brokerd_close(struct tw_daemon *d)
{
	struct tw_brokerd *b = d->broker;

	if (!b)
		return;
	if (b->fd >= 0)
		close(b->fd); /* the broker sees EOF and exits */
	if (b->pid > 0) {
		kill(b->pid, SIGTERM);
		waitpid(b->pid, NULL, 0);
	}
	for (size_t i = 0; i < b->norigins; i++)
		free(b->origins[i]);
	free(b->origins);
	free(b);
	d->broker = NULL;
}

int tw_brokerd_fd(struct tw_daemon *d)
{
	return d->broker ? d->broker->fd : -1;
}

static void audit_broker(struct tw_daemon *d, const char *what, int status)
{
	json_t *rec = tw_audit_record(&d->audit, "daemon", 0);

	json_object_set_new(rec, "action", json_string(what));
	json_object_set_new(rec, "pid", json_integer(d->broker->pid));
	if (status >= 0)
		json_object_set_new(rec, "status", json_integer(status));
	tw_audit_write(&d->audit, rec);
}

void tw_brokerd_tick(struct tw_daemon *d)
{
	struct tw_brokerd *b = d->broker;
	int status;

	if (!b)
		return;
	if (b->pid > 0 && waitpid(b->pid, &status, WNOHANG) == b->pid) {
		audit_broker(d, "broker-exit",
			     WIFSIGNALED(status) ? 128 + WTERMSIG(status) :
						   WEXITSTATUS(status));
		b->deaths++;
		b->pid = 0;
		b->ready = false;
		close(b->fd);
		b->fd = -1;
	}
	if (b->pid <= 0 &&
	    tw_now_ns(CLOCK_MONOTONIC) - b->last_start_ns >= RESTART_NS) {
		int ret = start(d);

		if (ret)
			tw_warn("cannot restart the credential broker: %s",
				strerror(-ret));
		else
			audit_broker(d, "broker-start", -1);
	}
}

/* ---- records ----------------------------------------------------------- */

static void request_record(struct tw_daemon *d, json_t *m)
{
	uint64_t cgid = json_integer_value(json_object_get(m, "cgid"));
	struct tw_call *call = tw_call_find(d, cgid);
	const struct tw_revision *r = &d->rev[d->slot];
	const struct tw_context *x = NULL;
	const char *decision, *key;
	json_t *rec, *v;
	int ci;

	if (call && r->valid && (ci = tw_compiled_find(&r->comp, call->context)) >= 0)
		x = &r->comp.ctx[ci];
	rec = tw_audit_record(&d->audit, "request", 0);
	tw_record_where(rec, x ? &r->pol : NULL, x, call);
	json_object_set_new(rec, "pid", json_null());
	json_object_set_new(rec, "uid", json_null());
	json_object_set_new(rec, "comm", json_null());
	json_object_set_new(rec, "action", json_string("request"));
	json_object_set_new(rec, "proto", json_string("tcp"));
	json_object_foreach(m, key, v)
		if (strcmp(key, "op") && strcmp(key, "cgid") &&
		    strcmp(key, "ts") && strcmp(key, "context") &&
		    strcmp(key, "call_id"))
			json_object_set(rec, key, v);
	json_object_set_new(rec, "dst", json_incref(json_object_get(m, "host")));
	json_object_set_new(rec, "policy_rev",
			    x ? json_string(r->comp.revision) : json_null());
	decision = json_string_value(json_object_get(m, "decision"));
	d->broker->requests++;
	if (decision && !strcmp(decision, "deny")) {
		char what[384];
		const char *method = json_string_value(json_object_get(m, "method"));
		const char *host = json_string_value(json_object_get(m, "host"));
		const char *path = json_string_value(json_object_get(m, "path"));

		d->broker->refused++;
		snprintf(what, sizeof(what), "request %s %s:%lld%s",
			 method ? method : "?", host ? host : "?",
			 json_integer_value(json_object_get(m, "port")),
			 path ? path : "");
		if (call) {
			call->broker_refused++;
			tw_call_note(call, what, strlen(what), what,
				     json_string_value(json_object_get(m, "reason")),
				     json_string_value(json_object_get(m, "hint")));
		}
	} else if (json_integer_value(json_object_get(m, "status")) == 502) {
		d->broker->failed++;
	}
	tw_audit_write(&d->audit, rec);
}

void tw_brokerd_read(struct tw_daemon *d)
{
	struct tw_brokerd *b = d->broker;
	char *buf;

	if (!b || b->fd < 0)
		return;
	buf = malloc(MSG_MAX + 1);
	for (int i = 0; buf && i < 256; i++) {
		ssize_t n = recv(b->fd, buf, MSG_MAX, MSG_DONTWAIT);
		const char *op;
		json_t *m;

		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				/* gone: the tick reaps and restarts it */
				close(b->fd);
				b->fd = -1;
				b->ready = false;
			}
			break;
		}
		buf[n] = 0;
		m = json_loads(buf, 0, NULL);
		op = json_string_value(json_object_get(m, "op"));
		if (op && !strcmp(op, "request")) {
			request_record(d, m);
		} else if (op && !strcmp(op, "ready")) {
			const char *fp = json_string_value(
				json_object_get(m, "ca_sha256"));
			const char *bundle =
				json_string_value(json_object_get(m, "bundle"));

			b->ready = true;
			snprintf(b->ca_sha256, sizeof(b->ca_sha256), "%s",
				 fp ? fp : "");
			snprintf(b->bundle, sizeof(b->bundle), "%s",
				 bundle ? bundle : "");
		}
		json_decref(m);
	}
	free(buf);
}

/* ---- calls and placeholders -------------------------------------------- */

static int placeholder(char out[38])
{
	unsigned char rnd[16];

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EIO;
	memcpy(out, "twph_", 5);
	for (int i = 0; i < 16; i++)
		snprintf(out + 5 + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

int tw_brokerd_call_start(struct tw_daemon *d, struct tw_call *call,
			  json_t *creds)
{
	size_t i;
	json_t *x;

	json_array_foreach(creds, i, x) {
		json_t *svc = json_object_get(x, "services");
		char tok[38];

		if (!svc)
			continue;
		if (placeholder(tok))
			return -EIO;
		if (!call->brokered)
			call->brokered = json_array();
		json_object_set_new(x, "placeholder", json_string(tok));
		json_array_append_new(
			call->brokered,
			json_pack("{s:s,s:O,s:O,s:O,s:O,s:O}", "token", tok,
				  "name", json_object_get(x, "name"), "scope",
				  json_object_get(x, "scope"), "header",
				  json_object_get(x, "header"), "services", svc,
				  "source", json_object_get(x, "source")));
	}
	if (call->brokered && d->broker && d->broker->fd >= 0)
		send_call(d->broker, call);
	if (call->brokered) /* its placeholders outlive this daemon */
		d->calls_dirty = true; /* saved once the reply has gone */
	return 0;
}

void tw_brokerd_call_end(struct tw_daemon *d, struct tw_call *call)
{
	if (!call->brokered || !d->broker || d->broker->fd < 0)
		return;
	send_msg(d->broker, json_pack("{s:s,s:I}", "op", "end", "cgid",
				      (json_int_t)call->cgid));
}

/* ---- kernel entries ---------------------------------------------------- */

static uint32_t origin_id(struct tw_brokerd *b, const char *o, bool *grew)
{
	char **no;

	for (size_t i = 0; i < b->norigins; i++)
		if (!strcmp(b->origins[i], o))
			return (uint32_t)i;
	no = realloc(b->origins, (b->norigins + 1) * sizeof(*no));
	if (!no)
		return ~0u;
	b->origins = no;
	b->origins[b->norigins] = strdup(o);
	*grew = true;
	return (uint32_t)b->norigins++;
}

uint32_t tw_brokerd_origin(struct tw_daemon *d, const struct tw_service *sv)
{
	char str[300];
	bool grew = false;
	uint32_t o;

	if (!d->broker)
		return ~0u;
	tw_service_str(sv, str, sizeof(str));
	o = origin_id(d->broker, str, &grew);
	if (grew)
		send_origins(d->broker);
	return o;
}

struct entries {
	struct tw_bk_entry *v;
	size_t n, cap;
};

static void entry_add(struct entries *e, const struct tw_bk_entry *x)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct tw_bk_entry *nv = realloc(e->v, cap * sizeof(*nv));

		if (!nv)
			return;
		e->v = nv;
		e->cap = cap;
	}
	e->v[e->n++] = *x;
}

/* Brokered services of context X: each origin, with its address when
 * it is one. Calls FN for each. */
static void each_service(struct tw_brokerd *b, const struct tw_context *x,
			 void (*fn)(const struct tw_service *, uint32_t origin,
				    void *arg),
			 void *arg, bool *grew)
{
	for (size_t k = 0; k < x->ncreds; k++) {
		const struct tw_credential *cr = x->creds[k].cred;

		if (!tw_credential_brokered(cr))
			continue;
		for (size_t s = 0; s < cr->nservices; s++) {
			struct tw_service sv;
			char err[128], str[300];

			if (tw_service_parse(cr->services[s], &sv, err,
					     sizeof(err)))
				continue;
			tw_service_str(&sv, str, sizeof(str));
			fn(&sv, origin_id(b, str, grew), arg);
		}
	}
}

struct collect {
	struct tw_daemon *d;
	struct entries *e;
	uint32_t ctx;
	const char *ctx_name;
	const char *name; /* learned: the name; NULL: every literal */
	const struct tw_learn_entry *learned;
	bool literals; /* this pass: literal addresses (else names) */
};

static void collect_one(const struct tw_service *sv, uint32_t origin,
			void *arg)
{
	struct collect *c = arg;
	struct tw_bk_entry x = { .ctx = c->ctx, .port = sv->port,
				 .origin = origin,
				 .broker_port = c->d->broker->port };

	if (c->learned) {
		if (sv->family || strcmp(sv->host, c->name) ||
		    c->learned->proto != TW_PROTO_TCP)
			return;
		x.family = c->learned->family;
		memcpy(x.addr, c->learned->addr, 16);
	} else if (sv->family) {
		int fam, plen;

		if (!c->literals)
			return;
		fam = sv->family;
		plen = fam == 4 ? 32 : 128;
		memcpy(x.addr, sv->addr, 16);
		tw_fold_v4(&fam, x.addr, &plen);
		x.family = (uint8_t)fam;
	} else {
		for (size_t i = 0;
		     !c->literals && i < tw_learned_count(&c->d->learned); i++) {
			const struct tw_learned *l =
				tw_learned_at(&c->d->learned, i);
			struct collect sub = *c;

			if (strcmp(l->context, c->ctx_name) ||
			    strcmp(l->name, sv->host))
				continue;
			sub.name = l->name;
			sub.learned = &l->e;
			collect_one(sv, origin, &sub);
		}
		return;
	}
	entry_add(c->e, &x);
}

struct tw_bk_entry *tw_brokerd_entries(struct tw_daemon *d,
				       const struct tw_compiled *c, size_t *n)
{
	struct entries e = {};
	bool grew = false;

	*n = 0;
	if (!d->broker)
		return NULL;
	/* Names first, literal addresses last: pushed in order, a literal
	 * service's origin wins an address both stand for. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < c->nctx; i++) {
			struct collect col = { .d = d, .e = &e,
					       .ctx = (uint32_t)i,
					       .ctx_name = c->ctx[i].name,
					       .literals = pass == 1 };

			each_service(d->broker, &c->ctx[i], collect_one, &col,
				     &grew);
		}
	}
	if (grew)
		send_origins(d->broker);
	*n = e.n;
	return e.v;
}

struct learned_arg {
	struct tw_daemon *d;
	uint32_t ctx;
	const char *name;
	const struct tw_learn_entry *e;
	bool add;
	const struct tw_context *x;
};

struct wanted_arg {
	struct tw_daemon *d;
	const char *ctx_name;
	const char *except; /* the name whose address is going */
	const struct tw_bk_entry *want;
	bool found;
};

static void wanted_one(const struct tw_service *sv, uint32_t origin,
		       void *arg)
{
	struct wanted_arg *w = arg;

	(void)origin;
	if (w->found || sv->port != w->want->port)
		return;
	if (sv->family) {
		uint8_t a[16];
		int fam = sv->family, plen = fam == 4 ? 32 : 128;

		memcpy(a, sv->addr, 16);
		tw_fold_v4(&fam, a, &plen);
		w->found = fam == w->want->family &&
			   !memcmp(a, w->want->addr, fam == 4 ? 4 : 16);
		return;
	}
	for (size_t i = 0; i < tw_learned_count(&w->d->learned) && !w->found;
	     i++) {
		const struct tw_learned *l = tw_learned_at(&w->d->learned, i);

		w->found = !strcmp(l->context, w->ctx_name) &&
			   !strcmp(l->name, sv->host) &&
			   strcmp(l->name, w->except) &&
			   l->e.proto == TW_PROTO_TCP &&
			   l->e.family == w->want->family &&
			   !memcmp(l->e.addr, w->want->addr, 16);
	}
}

static void learned_one(const struct tw_service *sv, uint32_t origin,
			void *arg)
{
	struct learned_arg *a = arg;
	struct tw_bk_entry x = { .ctx = a->ctx, .port = sv->port,
				 .origin = origin, .family = a->e->family,
				 .broker_port = a->d->broker->port };

	if (sv->family || strcmp(sv->host, a->name) ||
	    a->e->proto != TW_PROTO_TCP)
		return;
	memcpy(x.addr, a->e->addr, 16);
	/*
	 * The same address may be a literal service, or another service
	 * name's: it stays redirected when this name's goes, and keeps the
	 * origin it has (one origin per address and port: a limit).
	 */
	struct wanted_arg w = { a->d, a->x->name, a->name, &x, false };
	bool grew = false;

	each_service(a->d->broker, a->x, wanted_one, &w, &grew);
	if (w.found)
		return;
	tw_maps_broker(&a->d->ld.maps, a->d->slot, &x, a->add);
}

void tw_brokerd_learned(struct tw_daemon *d, const char *ctx,
			const char *name, const struct tw_learn_entry *e,
			bool add)
{
	const struct tw_revision *r = &d->rev[d->slot];
	struct learned_arg a = { d, 0, name, e, add, NULL };
	bool grew = false;
	int ci;

	if (!d->broker || !r->valid ||
	    (ci = tw_compiled_find(&r->comp, ctx)) < 0)
		return;
	a.ctx = (uint32_t)ci;
	a.x = &r->comp.ctx[ci];
	each_service(d->broker, &r->comp.ctx[ci], learned_one, &a, &grew);
	if (grew)
		send_origins(d->broker);
}

void tw_brokerd_policy(struct tw_daemon *d)
{
	if (d->broker && d->broker->fd >= 0)
		send_config(d);
}

json_t *tw_brokerd_status(struct tw_daemon *d)
{
	struct tw_brokerd *b = d->broker;

	if (!b)
		return json_pack("{s:b}", "running", 0);
	return json_pack("{s:b,s:b,s:i,s:i,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I}",
			 "running", b->pid > 0, "ready", b->ready, "pid",
			 (int)b->pid, "port", (int)b->port, "ca_sha256",
			 b->ca_sha256, "ca_bundle", b->bundle, "starts",
			 (json_int_t)b->starts, "deaths", (json_int_t)b->deaths,
			 "requests", (json_int_t)b->requests, "refused",
			 (json_int_t)b->refused, "failed",
			 (json_int_t)b->failed, "origins",
			 (json_int_t)b->norigins);
}

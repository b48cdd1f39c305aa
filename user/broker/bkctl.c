// SPDX-License-Identifier: GPL-2.0-only
/*
 * bkctl.c - the broker run by the daemon (`toolwall broker --daemon`):
 * its listeners, the calls the daemon announces (placeholders, and the
 * values read here from their stores), the origins the kernel's redirect
 * names by index, and the records it sends back. See brokerd.h for the
 * messages.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "bkctl.h"
#include "fdpass.h"
#include "toolwall.h"
#include "util.h"

#define MSG_MAX (256 * 1024)
#define VALUE_MAX (64 * 1024) /* a credential store */
#define SYSTEM_CAS "/etc/ssl/certs/ca-certificates.crt"

void tw_broker_send(struct tw_broker *b, json_t *msg)
{
	char *s = msg ? json_dumps(msg, JSON_COMPACT) : NULL;

	if (s && b->ctl_fd >= 0)
		send(b->ctl_fd, s, strlen(s), MSG_NOSIGNAL);
	free(s);
	json_decref(msg);
}

/* Read a credential store from FD (named NAME in errors): a regular file
 * of at most 64 KiB, trailing newlines removed (as the env variable always
 * was). FD stays open. */
int tw_broker_read_fd(int fd, const char *name, unsigned char **out,
		      size_t *len, char *err, size_t elen)
{
	unsigned char *v;
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > VALUE_MAX) {
		snprintf(err, elen, "%s: not a regular file of at most 64 KiB",
			 name);
		return -EINVAL;
	}
	v = malloc(st.st_size + 1);
	n = v ? pread(fd, v, st.st_size, 0) : -1;
	if (n < 0) {
		free(v);
		snprintf(err, elen, "%s: cannot read", name);
		return -EIO;
	}
	while (n && (v[n - 1] == '\n' || v[n - 1] == '\r'))
		n--;
	if (memchr(v, '\n', n) || memchr(v, '\r', n) || memchr(v, 0, n)) {
		OPENSSL_cleanse(v, n);
		free(v);
		snprintf(err, elen,
			 "%s: a brokered value may not hold a line break or "
			 "NUL (it goes into an HTTP header)",
			 name);
		return -EINVAL;
	}
	*out = v;
	*len = n;
	return 0;
}

int tw_broker_read_value(const char *path, unsigned char **out, size_t *len,
			 char *err, size_t elen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	int ret;

	if (fd < 0) {
		snprintf(err, elen, "%s: %s", path, strerror(errno));
		return -EINVAL;
	}
	ret = tw_broker_read_fd(fd, path, out, len, err, elen);
	close(fd);
	return ret;
}

/* Add the certificates of the PEM file open at FD to STORE. */
static int load_ca_fd(X509_STORE *store, int fd)
{
	char buf[16384];
	BIO *mem = BIO_new(BIO_s_mem());
	X509 *x;
	ssize_t n;
	int added = 0;

	if (!mem)
		return -ENOMEM;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		BIO_write(mem, buf, n);
	while ((x = PEM_read_bio_X509(mem, NULL, NULL, NULL))) {
		if (X509_STORE_add_cert(store, x) == 1)
			added++;
		X509_free(x);
	}
	ERR_clear_error();
	BIO_free(mem);
	return n < 0 || !added ? -EINVAL : 0;
}

/*
 * The context for services: the system CAs plus CAS (broker.upstream_ca).
 * Replaces the one in use; connections hold a reference to theirs.
 */
int tw_broker_make_client(struct tw_broker *b, char *const *cas,
			  const int *fds, size_t n, char *err, size_t len)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());

	if (!c || !SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) ||
	    SSL_CTX_set_default_verify_paths(c) != 1) {
		snprintf(err, len, "cannot make TLS contexts");
		SSL_CTX_free(c);
		return -EIO;
	}
	for (size_t i = 0; i < n; i++) {
		if (fds ? fds[i] < 0 ||
				  load_ca_fd(SSL_CTX_get_cert_store(c), fds[i]) :
			  SSL_CTX_load_verify_locations(c, cas[i], NULL) != 1) {
			snprintf(err, len, "broker.upstream_ca %s: cannot load",
				 cas[i]);
			ERR_clear_error();
			SSL_CTX_free(c);
			return -EINVAL;
		}
	}
	SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE |
				    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_free(b->client);
	b->client = c;
	return 0;
}

/* ---- the public CA bundle ----------------------------------------------- */

static int append_file(FILE *out, const char *path)
{
	char buf[16384];
	FILE *in = fopen(path, "re");
	size_t n;

	if (!in)
		return -errno;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	return 0;
}

/* Do files A and B hold the same bytes? */
static bool same_file(const char *a, const char *b)
{
	FILE *fa = fopen(a, "re"), *fb = fopen(b, "re");
	char x[8192], y[8192];
	bool same = fa && fb;

	while (same) {
		size_t n = fread(x, 1, sizeof(x), fa), m = fread(y, 1, sizeof(y), fb);

		same = n == m && !memcmp(x, y, n);
		if (!n)
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

/*
 * System CAs plus ours, world-readable: what tool calls trust. A bundle
 * that is already right stays (its inode too: running calls may read it
 * through a Landlock rule on that file, across a restart of the broker
 * or of the daemon).
 */
static int write_bundle(const struct tw_broker *b, const char *dir,
			char *path, size_t plen, char *err, size_t len)
{
	char tmp[4200];
	bool ok;
	FILE *f;

	if (tw_mkdir_p(dir, 0755) && errno != EEXIST) {
		snprintf(err, len, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	chmod(dir, 0755);
	snprintf(path, plen, "%s/ca-bundle.pem", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		snprintf(err, len, "%s: %s", tmp, strerror(errno));
		return -errno;
	}
	append_file(f, SYSTEM_CAS); /* absent on a bare host: ours alone */
	fputc('\n', f);
	ok = !append_file(f, b->ca.cert_path);
	ok = !fclose(f) && ok;
	if (ok && same_file(tmp, path)) {
		unlink(tmp);
		return 0;
	}
	if (!ok || chmod(tmp, 0644) || rename(tmp, path)) {
		snprintf(err, len, "cannot write %s: %s", path,
			 strerror(errno));
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

int tw_broker_daemon_setup(struct tw_broker *b, const char *ca_dir,
			   const char *public_dir, char *err, size_t len)
{
	char bundle[4096];
	int ret;

	memset(b, 0, sizeof(*b));
	b->epfd = -1;
	b->ctl_fd = 3;
	b->conn_map = 6;
	b->nroutes = 2;
	b->routes = calloc(2, sizeof(*b->routes));
	if (!b->routes)
		return -ENOMEM;
	b->routes[0].fd = 4;
	b->routes[1].fd = 5;
	fcntl(4, F_SETFL, O_NONBLOCK);
	fcntl(5, F_SETFL, O_NONBLOCK);
	if (tw_mkdir_p(ca_dir, 0700) && errno != EEXIST) {
		snprintf(err, len, "%s: %s", ca_dir, strerror(errno));
		return -errno;
	}
	if ((ret = tw_ca_open(&b->ca, ca_dir, err, len)) ||
	    (ret = tw_broker_make_client(b, NULL, NULL, 0, err, len)) ||
	    (ret = write_bundle(b, public_dir, bundle, sizeof(bundle), err,
				len)))
		return ret;
	tw_broker_send(b, json_pack("{s:s,s:s,s:s,s:s}", "op", "ready",
				    "ca_sha256", b->ca.fingerprint, "ca_cert",
				    b->ca.cert_path, "bundle", bundle));
	return 0;
}

/* ---- connections --------------------------------------------------------- */

/*
 * What the kernel recorded for this connection (by its client
 * end) when it redirected it: the service, the original address, the
 * cgroup. A connection the kernel did not redirect here is closed.
 */
int tw_broker_conn_origin(struct tw_broker *b, int fd, struct tw_bk_route *r,
			  uint64_t *cgid, struct tw_bk_call **call)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct tw_bk_conn_key k = {};
	struct tw_bk_conn v;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl))
		return -errno;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		k.family = 4;
		k.port = ntohs(a->sin_port);
		memcpy(k.addr, &a->sin_addr, 4);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		k.family = 6;
		k.port = ntohs(a->sin6_port);
		memcpy(k.addr, &a->sin6_addr, 16);
	}
	if (bpf_map_lookup_elem(b->conn_map, &k, &v))
		return -ENOENT;
	bpf_map_delete_elem(b->conn_map, &k);
	if (v.origin >= b->norigins || !b->origins[v.origin].port)
		return -ENOENT;
	r->origin = b->origins[v.origin];
	memset(&r->upstream, 0, sizeof(r->upstream));
	if (v.family == 4) {
		struct sockaddr_in *u = (struct sockaddr_in *)&r->upstream;

		u->sin_family = AF_INET;
		u->sin_port = htons(v.port);
		memcpy(&u->sin_addr, v.addr, 4);
		r->upstream_len = sizeof(*u);
	} else {
		struct sockaddr_in6 *u = (struct sockaddr_in6 *)&r->upstream;

		u->sin6_family = AF_INET6;
		u->sin6_port = htons(v.port);
		memcpy(&u->sin6_addr, v.addr, 16);
		r->upstream_len = sizeof(*u);
	}
	r->fd = -1;
	*cgid = v.cgid;
	*call = tw_broker_call(b, v.cgid);
	if (*call)
		(*call)->refs++;
	snprintf(r->context, sizeof(r->context), "%s",
		 *call ? (*call)->context : "");
	return 0;
}

/* ---- calls -------------------------------------------------------------- */

struct tw_bk_call *tw_broker_call(struct tw_broker *b, uint64_t cgid)
{
	for (struct tw_bk_call *c = b->calls; c; c = c->next)
		if (c->cgid == cgid && !c->ended)
			return c;
	return NULL;
}

static void call_free(struct tw_bk_call *c)
{
	for (size_t i = 0; i < c->ncreds; i++) {
		if (c->values && c->values[i]) {
			OPENSSL_cleanse(c->values[i], c->creds[i].vlen);
			free(c->values[i]);
		}
	}
	free(c->values);
	free(c->creds);
	free(c->services);
	free(c->ph);
	free(c);
}

/* Drop the calls that ended and that no connection still uses. */
void tw_broker_call_put(struct tw_broker *b, struct tw_bk_call *gone)
{
	struct tw_bk_call **p = &b->calls;

	if (gone)
		gone->refs--;
	while (*p) {
		struct tw_bk_call *c = *p;

		if (c->ended && c->refs <= 0) {
			*p = c->next;
			call_free(c);
			continue;
		}
		p = &c->next;
	}
}

/* The descriptors that came with a message: a JSON "fd" is an index. */
struct msg_fds {
	int v[TW_FDPASS_MAX];
	size_t n;
};

static int msg_fd(const struct msg_fds *f, json_t *x)
{
	json_t *i = json_object_get(x, "fd");

	if (!json_is_integer(i) || json_integer_value(i) < 0 ||
	    (size_t)json_integer_value(i) >= f->n)
		return -1;
	return f->v[json_integer_value(i)];
}

/* One credential of a "call" message; skipped (it stays a placeholder)
 * when its store cannot be read. The daemon opened the store: this
 * process has no right to. */
static int call_cred(struct tw_bk_call *c, json_t *x, size_t *k,
		     const struct msg_fds *f)
{
	struct tw_bk_cred *cr = &c->creds[c->ncreds];
	struct tw_bk_placeholder *ph = &c->ph[c->nph];
	const char *tok = json_string_value(json_object_get(x, "token"));
	const char *name = json_string_value(json_object_get(x, "name"));
	const char *scope = json_string_value(json_object_get(x, "scope"));
	const char *hdr = json_string_value(json_object_get(x, "header"));
	const char *src = json_string_value(json_object_get(x, "source"));
	json_t *svcs = json_object_get(x, "services"), *s;
	char err[512];
	int fd = msg_fd(f, x);
	size_t j;

	if (!tok || strlen(tok) != TW_PH_LEN || !name || !scope || !src ||
	    strlen(name) >= sizeof(cr->name) ||
	    tw_bk_template_parse(hdr ? hdr : "Authorization: Bearer {}", cr))
		return -EINVAL;
	if (fd < 0)
		snprintf(err, sizeof(err), "%s: the daemon could not open it",
			 src);
	if (fd < 0 || tw_broker_read_fd(fd, src, &c->values[c->ncreds],
					&cr->vlen, err, sizeof(err))) {
		tw_warn("broker: credential %s of call %s: %s", name,
			c->call_id, err);
		memset(cr, 0, sizeof(*cr));
		return 0;
	}
	snprintf(cr->name, sizeof(cr->name), "%s", name);
	cr->scope = strcmp(scope, "write") ? TW_BK_READ : TW_BK_WRITE;
	cr->value = c->values[c->ncreds];
	cr->services = &c->services[*k];
	json_array_foreach(svcs, j, s) {
		const char *o = json_string_value(s);

		if (o && !tw_bk_origin_parse(o, &c->services[*k])) {
			(*k)++;
			cr->nservices++;
		}
	}
	memcpy(ph->token, tok, TW_PH_LEN + 1);
	ph->cred = c->ncreds;
	snprintf(ph->context, sizeof(ph->context), "%s", c->context);
	snprintf(ph->call_id, sizeof(ph->call_id), "%s", c->call_id);
	c->ncreds++;
	c->nph++;
	return 0;
}

static void call_start(struct tw_broker *b, json_t *m,
		       const struct msg_fds *f)
{
	json_t *creds = json_object_get(m, "creds"), *x;
	size_t n = json_array_size(creds), nsvc = 0, k = 0, i;
	struct tw_bk_call *c = calloc(1, sizeof(*c));
	const char *ctx = json_string_value(json_object_get(m, "context"));
	const char *id = json_string_value(json_object_get(m, "call_id"));

	json_array_foreach(creds, i, x)
		nsvc += json_array_size(json_object_get(x, "services"));
	if (!c)
		return;
	c->creds = calloc(n + 1, sizeof(*c->creds));
	c->values = calloc(n + 1, sizeof(*c->values));
	c->ph = calloc(n + 1, sizeof(*c->ph));
	c->services = calloc(nsvc + 1, sizeof(*c->services));
	if (!c->creds || !c->values || !c->ph || !c->services) {
		call_free(c);
		return;
	}
	c->cgid = json_integer_value(json_object_get(m, "cgid"));
	snprintf(c->context, sizeof(c->context), "%s", ctx ? ctx : "");
	snprintf(c->call_id, sizeof(c->call_id), "%s", id ? id : "");
	json_array_foreach(creds, i, x)
		if (call_cred(c, x, &k, f))
			tw_warn("broker: call %s: a malformed credential",
				c->call_id);
	/* A newer announcement of the same cgroup replaces the older. */
	for (struct tw_bk_call *o = b->calls; o; o = o->next)
		if (o->cgid == c->cgid)
			o->ended = true;
	c->next = b->calls;
	b->calls = c;
	tw_broker_call_put(b, NULL);
}

static void set_origins(struct tw_broker *b, json_t *a)
{
	struct tw_bk_origin *o = calloc(json_array_size(a) + 1, sizeof(*o));
	size_t i;
	json_t *x;

	if (!o)
		return;
	json_array_foreach(a, i, x)
		if (!json_string_value(x) ||
		    tw_bk_origin_parse(json_string_value(x), &o[i]))
			o[i].port = 0; /* unusable: its connections close */
	/* Connections keep a copy of their origin: the old table may go. */
	free(b->origins);
	b->origins = o;
	b->norigins = json_array_size(a);
}

/* {"op":"config","upstream_ca":[{"path":P,"fd":I}]}: the files open at
 * the descriptors (the daemon opened them). */
static void set_config(struct tw_broker *b, json_t *m,
		       const struct msg_fds *f)
{
	json_t *cas = json_object_get(m, "upstream_ca"), *x;
	char *paths[TW_FDPASS_MAX];
	int fds[TW_FDPASS_MAX];
	char err[512];
	size_t i, n = 0;

	json_array_foreach(cas, i, x) {
		const char *p = json_string_value(json_object_get(x, "path"));

		if (n < TW_FDPASS_MAX && p) {
			paths[n] = (char *)p;
			fds[n++] = msg_fd(f, x);
		}
	}
	if (tw_broker_make_client(b, paths, fds, n, err, sizeof(err)))
		tw_warn("broker: %s", err);
}

int tw_broker_control(struct tw_broker *b)
{
	char *buf = malloc(MSG_MAX + 1);
	int ret = 0;

	for (int i = 0; buf && i < 64; i++) {
		struct msg_fds f;
		ssize_t n = tw_fdpass_recv(b->ctl_fd, buf, MSG_MAX, f.v, &f.n);
		json_t *m;
		const char *op;

		if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR)) {
			ret = -1; /* the daemon is gone: so are we */
			break;
		}
		if (n == -EMSGSIZE)
			continue; /* said nothing we can read */
		if (n < 0)
			break;
		buf[n] = 0;
		m = json_loads(buf, 0, NULL);
		op = json_string_value(json_object_get(m, "op"));
		if (!op) {
		} else if (!strcmp(op, "call")) {
			call_start(b, m, &f);
		} else if (!strcmp(op, "end")) {
			uint64_t cgid =
				json_integer_value(json_object_get(m, "cgid"));

			for (struct tw_bk_call *c = b->calls; c; c = c->next)
				if (c->cgid == cgid)
					c->ended = true;
			tw_broker_call_put(b, NULL);
		} else if (!strcmp(op, "origins")) {
			set_origins(b, json_object_get(m, "origins"));
		} else if (!strcmp(op, "config")) {
			set_config(b, m, &f);
		}
		for (size_t k = 0; k < f.n; k++)
			close(f.v[k]);
		json_decref(m);
	}
	free(buf);
	return ret;
}

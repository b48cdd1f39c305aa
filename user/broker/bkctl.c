// SPDX-License-Identifier: GPL-2.0-only
/*
 * bkctl.c - the broker run by the daemon (`toolwall broker --daemon`):
 * its listeners, the calls the daemon announces (placeholders, and the
 * values read here from their stores), the origins the kernel's redirect
 * names by index, and the records it sends back. See brokerd.h for the
 * messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "bkctl.h"
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

/* Read a credential store: root-owned file, at most 64 KiB, trailing
 * newlines removed (as the env variable always was). */
int tw_broker_read_value(const char *path, unsigned char **out, size_t *len,
			 char *err, size_t elen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	unsigned char *v;
	struct stat st;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_size > VALUE_MAX) {
		snprintf(err, elen, "%s: %s", path,
			 fd < 0 ? strerror(errno) :
				  "not a regular file of at most 64 KiB");
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	v = malloc(st.st_size + 1);
	n = v ? read(fd, v, st.st_size) : -1;
	close(fd);
	if (n < 0) {
		free(v);
		snprintf(err, elen, "%s: cannot read", path);
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
			 path);
		return -EINVAL;
	}
	*out = v;
	*len = n;
	return 0;
}

/*
 * The context for services: the system CAs plus CAS (broker.upstream_ca).
 * Replaces the one in use; connections hold a reference to theirs.
 */
int tw_broker_make_client(struct tw_broker *b, char *const *cas, size_t n,
			  char *err, size_t len)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());

	if (!c || !SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) ||
	    SSL_CTX_set_default_verify_paths(c) != 1) {
		snprintf(err, len, "cannot make TLS contexts");
		SSL_CTX_free(c);
		return -EIO;
	}
	for (size_t i = 0; i < n; i++) {
		if (SSL_CTX_load_verify_locations(c, cas[i], NULL) != 1) {
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

/* System CAs plus ours, world-readable: what tool calls trust. */
static int write_bundle(const struct tw_broker *b, const char *dir,
			char *path, size_t plen, char *err, size_t len)
{
	char tmp[4200];
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
	if (append_file(f, b->ca.cert_path) || fclose(f) ||
	    chmod(tmp, 0644) || rename(tmp, path)) {
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
	    (ret = tw_broker_make_client(b, NULL, 0, err, len)) ||
	    (ret = write_bundle(b, public_dir, bundle, sizeof(bundle), err,
				len)))
		return ret;
	tw_broker_send(b, json_pack("{s:s,s:s,s:s,s:s}", "op", "ready",
				    "ca_sha256", b->ca.fingerprint, "ca_cert",
				    b->ca.cert_path, "bundle", bundle));
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

/* One credential of a "call" message; skipped (it stays a placeholder)
 * when its store cannot be read. */
static int call_cred(struct tw_bk_call *c, json_t *x, size_t *k)
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
	size_t j;

	if (!tok || strlen(tok) != TW_PH_LEN || !name || !scope || !src ||
	    strlen(name) >= sizeof(cr->name) ||
	    tw_bk_template_parse(hdr ? hdr : "Authorization: Bearer {}", cr))
		return -EINVAL;
	if (tw_broker_read_value(src, &c->values[c->ncreds], &cr->vlen, err,
				 sizeof(err))) {
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

static void call_start(struct tw_broker *b, json_t *m)
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
		if (call_cred(c, x, &k))
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

static void set_config(struct tw_broker *b, json_t *m)
{
	json_t *cas = json_object_get(m, "upstream_ca"), *x;
	char *paths[64];
	char err[512];
	size_t i, n = 0;

	json_array_foreach(cas, i, x)
		if (n < 64 && json_string_value(x))
			paths[n++] = (char *)json_string_value(x);
	if (tw_broker_make_client(b, paths, n, err, sizeof(err)))
		tw_warn("broker: %s", err);
}

int tw_broker_control(struct tw_broker *b)
{
	char *buf = malloc(MSG_MAX + 1);
	int ret = 0;

	for (int i = 0; buf && i < 64; i++) {
		ssize_t n = recv(b->ctl_fd, buf, MSG_MAX, MSG_DONTWAIT);
		json_t *m;
		const char *op;

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			ret = -1; /* the daemon is gone: so are we */
			break;
		}
		if (n < 0)
			break;
		buf[n] = 0;
		m = json_loads(buf, 0, NULL);
		op = json_string_value(json_object_get(m, "op"));
		if (!op) {
		} else if (!strcmp(op, "call")) {
			call_start(b, m);
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
			set_config(b, m);
		}
		json_decref(m);
	}
	free(buf);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * config.c - `toolwall broker`: the broker's configuration (credentials,
 * placeholders, routes), its listeners and its TLS contexts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>

#include "bkctl.h"
#include "broker.h"
#include "cmds.h"
#include "privsep.h"
#include "util.h"


static int load_creds(struct tw_broker *b, json_t *arr, char *err,
		      size_t len)
{
	size_t i, nsvc = 0, k = 0;
	json_t *c;

	json_array_foreach(arr, i, c)
		nsvc += json_array_size(json_object_get(c, "services"));
	b->ncreds = json_array_size(arr);
	b->creds = calloc(b->ncreds + 1, sizeof(*b->creds));
	b->values = calloc(b->ncreds + 1, sizeof(*b->values));
	b->services = calloc(nsvc + 1, sizeof(*b->services));
	if (!b->creds || !b->values || !b->services)
		return -ENOMEM;
	json_array_foreach(arr, i, c) {
		struct tw_bk_cred *cr = &b->creds[i];
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *scope =
			json_string_value(json_object_get(c, "scope"));
		const char *hdr = json_string_value(json_object_get(c, "header"));
		const char *file = json_string_value(json_object_get(c, "file"));
		json_t *svcs = json_object_get(c, "services"), *s;
		size_t j;
		int ret;

		if (!name || !file || !scope ||
		    (strcmp(scope, "read") && strcmp(scope, "write")) ||
		    strlen(name) >= sizeof(cr->name)) {
			snprintf(err, len,
				 "credentials[%zu]: needs name, scope (read or "
				 "write) and file",
				 i);
			return -EINVAL;
		}
		strcpy(cr->name, name);
		cr->scope = strcmp(scope, "read") ? TW_BK_WRITE : TW_BK_READ;
		if (tw_bk_template_parse(hdr ? hdr : "Authorization: Bearer {}",
					 cr)) {
			snprintf(err, len,
				 "credential %s: header must be \"Name: text "
				 "{} text\" with one {}",
				 name);
			return -EINVAL;
		}
		ret = tw_broker_read_value(file, &b->values[i], &cr->vlen, err,
					   len);
		if (ret)
			return ret;
		cr->value = b->values[i];
		cr->services = &b->services[k];
		json_array_foreach(svcs, j, s) {
			const char *o = json_string_value(s);

			if (!o || tw_bk_origin_parse(o, &b->services[k])) {
				snprintf(err, len,
					 "credential %s: service %s is not "
					 "https://HOST[:PORT] or "
					 "http://HOST[:PORT]",
					 name, o ? o : "(not a string)");
				return -EINVAL;
			}
			k++;
			cr->nservices++;
		}
	}
	return 0;
}

static int load_placeholders(struct tw_broker *b, json_t *arr, char *err,
			     size_t len)
{
	size_t i;
	json_t *p;

	b->nph = json_array_size(arr);
	b->ph = calloc(b->nph + 1, sizeof(*b->ph));
	if (!b->ph)
		return -ENOMEM;
	json_array_foreach(arr, i, p) {
		struct tw_bk_placeholder *ph = &b->ph[i];
		const char *tok = json_string_value(json_object_get(p, "token"));
		const char *cred =
			json_string_value(json_object_get(p, "credential"));
		const char *ctx =
			json_string_value(json_object_get(p, "context"));
		const char *call =
			json_string_value(json_object_get(p, "call_id"));
		size_t k;

		if (!tok || strlen(tok) != TW_PH_LEN ||
		    tw_bk_find_placeholder(tok, TW_PH_LEN) != 0 || !cred ||
		    !ctx || strlen(ctx) >= sizeof(ph->context)) {
			snprintf(err, len,
				 "placeholders[%zu]: needs token (twph_ + 32 "
				 "hex digits), credential and context",
				 i);
			return -EINVAL;
		}
		for (k = 0; k < b->ncreds && strcmp(b->creds[k].name, cred);
		     k++)
			;
		if (k == b->ncreds) {
			snprintf(err, len, "placeholders[%zu]: no credential %s",
				 i, cred);
			return -EINVAL;
		}
		memcpy(ph->token, tok, TW_PH_LEN + 1);
		ph->cred = k;
		snprintf(ph->context, sizeof(ph->context), "%s", ctx);
		snprintf(ph->call_id, sizeof(ph->call_id), "%s",
			 call ? call : "");
	}
	return 0;
}

static int listen_route(struct tw_bk_route *rt, char *err, size_t len)
{
	int one = 1;

	rt->fd = socket(rt->listen.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rt->fd < 0 ||
	    setsockopt(rt->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(rt->fd, (struct sockaddr *)&rt->listen, rt->listen_len) ||
	    listen(rt->fd, 512) ||
	    getsockname(rt->fd, (struct sockaddr *)&rt->listen,
			&rt->listen_len)) {
		snprintf(err, len, "cannot listen: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int load_routes(struct tw_broker *b, json_t *arr, char *err,
		       size_t len)
{
	size_t i;
	json_t *r;

	b->nroutes = json_array_size(arr);
	b->routes = calloc(b->nroutes + 1, sizeof(*b->routes));
	if (!b->routes)
		return -ENOMEM;
	for (i = 0; i < b->nroutes; i++)
		b->routes[i].fd = -1;
	json_array_foreach(arr, i, r) {
		struct tw_bk_route *rt = &b->routes[i];
		const char *l = json_string_value(json_object_get(r, "listen"));
		const char *o = json_string_value(json_object_get(r, "origin"));
		const char *c = json_string_value(json_object_get(r, "context"));
		const char *u =
			json_string_value(json_object_get(r, "upstream"));
		int ret;

		if (!l || !o || !c || !u ||
		    tw_sockaddr_parse(l, &rt->listen, &rt->listen_len, true) ||
		    tw_bk_origin_parse(o, &rt->origin) ||
		    tw_sockaddr_parse(u, &rt->upstream, &rt->upstream_len, false) ||
		    strlen(c) >= sizeof(rt->context)) {
			snprintf(err, len,
				 "routes[%zu]: needs listen and upstream "
				 "(ADDR:PORT), origin (https://HOST[:PORT]) "
				 "and context",
				 i);
			return -EINVAL;
		}
		strcpy(rt->context, c);
		ret = listen_route(rt, err, len);
		if (ret)
			return ret;
	}
	return 0;
}

static int make_tls(struct tw_broker *b, char *err, size_t len)
{
	char *ca = b->upstream_ca;
	int ret = tw_broker_make_client(b, &ca, NULL, b->upstream_ca[0] ? 1 : 0,
					err, len);

	if (ret)
		return ret;
	b->server = SSL_CTX_new(TLS_server_method());
	if (!b->server) {
		snprintf(err, len, "cannot make TLS contexts");
		return -EIO;
	}
	SSL_CTX_set_tlsext_servername_callback(b->server, tw_broker_sni_cb);
	return 0;
}

int tw_broker_load(struct tw_broker *b, const char *path, char *err,
		   size_t len)
{
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	const char *ca_dir, *uca, *rec;
	int ret;

	memset(b, 0, sizeof(*b));
	b->epfd = -1;
	b->ctl_fd = b->conn_map = -1;
	if (!root) {
		snprintf(err, len, "%s:%d:%d: %s", path, je.line, je.column,
			 je.text);
		return -EINVAL;
	}
	ca_dir = json_string_value(json_object_get(root, "ca_dir"));
	uca = json_string_value(json_object_get(root, "upstream_ca"));
	rec = json_string_value(json_object_get(root, "records"));
	if (!ca_dir) {
		snprintf(err, len, "%s: ca_dir is required", path);
		ret = -EINVAL;
		goto out;
	}
	snprintf(b->upstream_ca, sizeof(b->upstream_ca), "%s", uca ? uca : "");
	if ((ret = tw_ca_open(&b->ca, ca_dir, err, len)) ||
	    (ret = load_creds(b, json_object_get(root, "credentials"), err,
			      len)) ||
	    (ret = load_placeholders(b, json_object_get(root, "placeholders"),
				     err, len)) ||
	    (ret = make_tls(b, err, len)) ||
	    (ret = load_routes(b, json_object_get(root, "routes"), err, len)))
		goto out;
	b->records = rec ? fopen(rec, "ae") : stdout;
	if (!b->records) {
		snprintf(err, len, "%s: %s", rec, strerror(errno));
		ret = -errno;
	}
out:
	json_decref(root);
	return ret;
}

void tw_broker_free(struct tw_broker *b)
{
	for (size_t i = 0; i < b->ncreds; i++) {
		if (b->values && b->values[i]) {
			OPENSSL_cleanse(b->values[i], b->creds[i].vlen);
			free(b->values[i]);
		}
	}
	for (size_t i = 0; i < b->nroutes; i++)
		if (b->routes[i].fd >= 0)
			close(b->routes[i].fd);
	if (b->records && b->records != stdout)
		fclose(b->records);
	SSL_CTX_free(b->server);
	SSL_CTX_free(b->client);
	tw_ca_close(&b->ca);
	free(b->creds);
	free(b->values);
	free(b->services);
	free(b->ph);
	free(b->routes);
	for (struct tw_bk_call *c = b->calls; c; c = c->next)
		c->ended = true, c->refs = 0;
	tw_broker_call_put(b, NULL);
	free(b->origins);
	memset(b, 0, sizeof(*b));
}

static volatile int stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: toolwall broker --config FILE\n"
		"       toolwall broker --daemon --ca-dir DIR --public DIR\n\n"
		"The credential broker: terminates TLS for brokered services "
		"with a leaf\n"
		"certificate of its own CA, swaps a call's placeholders for "
		"credential\n"
		"values only at the credential's own services and scope, and "
		"forwards\n"
		"to the real service over verified TLS. The daemon starts it; "
		"it runs\n"
		"alone for testing. FILE (JSON):\n"
		"  ca_dir        the CA's directory (made at first start, key "
		"0600)\n"
		"  upstream_ca   extra CA for verifying services (optional)\n"
		"  records       where `request` records go (default stdout)\n"
		"  credentials   [{name, scope, header, file, services}]\n"
		"  placeholders  [{token, credential, context, call_id}]\n"
		"  routes        [{listen, origin, context, upstream}]\n"
		"Once listening it prints one JSON line on stdout: the routes' "
		"addresses\n"
		"and the CA's certificate and fingerprint.\n\n"
		"--daemon: started by `toolwall daemon` (never by hand): its "
		"control socket\n"
		"on fd 3, listeners on 4 and 5, the kernel's map of redirected\n"
		"connections on 6; CA in --ca-dir, the bundle calls trust in "
		"--public.\n"
		"Once it has read its CA key (and, alone, its credentials) it "
		"runs as\n"
		"toolwall-broker (else nobody): no capability, no_new_privs, "
		"no core dump.\n");
}

static void announce(const struct tw_broker *b, FILE *f)
{
	json_t *o = json_pack("{s:b, s:s, s:s, s:[]}", "ready", 1, "ca_cert",
			      b->ca.cert_path, "ca_sha256", b->ca.fingerprint,
			      "routes");
	json_t *routes = json_object_get(o, "routes");
	char *s;

	for (size_t i = 0; i < b->nroutes; i++) {
		const struct tw_bk_route *rt = &b->routes[i];
		char a[INET6_ADDRSTRLEN], l[80];
		const void *ip = rt->listen.ss_family == AF_INET ?
			(const void *)&((struct sockaddr_in *)&rt->listen)->sin_addr :
			(const void *)&((struct sockaddr_in6 *)&rt->listen)->sin6_addr;
		unsigned port = ntohs(((struct sockaddr_in *)&rt->listen)->sin_port);

		inet_ntop(rt->listen.ss_family, ip, a, sizeof(a));
		snprintf(l, sizeof(l), rt->listen.ss_family == AF_INET6 ?
			 "[%s]:%u" : "%s:%u", a, port);
		json_array_append_new(routes, json_pack("{s:s, s:s}", "listen",
							l, "origin",
							rt->origin.host));
	}
	s = json_dumps(o, JSON_COMPACT);
	if (s)
		fprintf(f, "%s\n", s);
	fflush(f);
	free(s);
	json_decref(o);
}

int cmd_broker(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "daemon", no_argument, NULL, 'D' },
		{ "ca-dir", required_argument, NULL, 'C' },
		{ "public", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *config = NULL, *ca_dir = NULL, *pub = NULL;
	bool daemon = false;
	struct tw_broker b;
	char err[512];
	int o, ret;

	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config = optarg;
			break;
		case 'D':
			daemon = true;
			break;
		case 'C':
			ca_dir = optarg;
			break;
		case 'P':
			pub = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if ((!config == !daemon) || (daemon && (!ca_dir || !pub)) ||
	    optind != argc) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (daemon) {
		ret = tw_broker_daemon_setup(&b, ca_dir, pub, err, sizeof(err));
		if (!ret && !(b.server = SSL_CTX_new(TLS_server_method())))
			ret = -EIO;
		if (!ret) {
			SSL_CTX_set_tlsext_servername_callback(b.server,
							       tw_broker_sni_cb);
			ret = tw_broker_drop(err, sizeof(err));
		}
		if (!ret)
			ret = tw_broker_run(&b, &stop);
		else
			tw_error("broker: %s", err);
		tw_broker_free(&b);
		return ret ? 1 : 0;
	}
	if (tw_broker_load(&b, config, err, sizeof(err))) {
		tw_error("broker: %s", err);
		tw_broker_free(&b);
		return 1;
	}
	if (tw_broker_drop(err, sizeof(err))) {
		tw_error("broker: %s", err);
		tw_broker_free(&b);
		return 1;
	}
	announce(&b, stdout);
	ret = tw_broker_run(&b, &stop);
	tw_broker_free(&b);
	return ret ? 1 : 0;
}

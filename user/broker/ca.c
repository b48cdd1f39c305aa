// SPDX-License-Identifier: GPL-2.0-only
/*
 * ca.c - the broker's certificate authority (OpenSSL): an ECDSA P-256 CA
 * made once and kept in the broker's state directory, and leaf
 * certificates minted per service name, valid for a few days.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ca.h"

#define CA_DAYS 3650
#define LEAF_DAYS 7

static void ssl_err(char *err, size_t len, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, len, "%s%s%s", what, e ? ": " : "", buf);
	ERR_clear_error();
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ext)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static int random_serial(X509 *cert)
{
	unsigned char b[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[0] &= 0x7f; /* positive */
	bn = BN_bin2bn(b, sizeof(b), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
	BN_free(bn);
	return ok ? 0 : -1;
}

/* An unsigned certificate for SUBJECT_CN with KEY, issued by ISSUER (by
 * itself when NULL), valid from an hour ago for DAYS. */
static X509 *make_cert(const char *subject_cn, EVP_PKEY *key, X509 *issuer,
		       int days)
{
	X509 *c = X509_new();
	X509_NAME *name;

	if (!c || !X509_set_version(c, 2) || random_serial(c) ||
	    !X509_gmtime_adj(X509_getm_notBefore(c), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(c), (long)days * 86400) ||
	    !X509_set_pubkey(c, key))
		goto fail;
	name = X509_get_subject_name(c);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
					(const unsigned char *)"toolwall", -1,
					-1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)subject_cn, -1,
					-1, 0))
		goto fail;
	if (!X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) :
					      name))
		goto fail;
	return c;
fail:
	X509_free(c);
	return NULL;
}

static int write_pem(const char *path, int mode, int (*fn)(FILE *, void *),
		     void *obj)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;
	int ok;

	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	ok = fn(f, obj);
	if (fclose(f) || !ok)
		return -EIO;
	return 0;
}

static int pem_key(FILE *f, void *k)
{
	return PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
}

static int pem_cert(FILE *f, void *c)
{
	return PEM_write_X509(f, c);
}

static int create_ca(struct tw_ca *ca, const char *kpath, const char *cpath,
		     char *err, size_t len)
{
	char cn[300], host[256] = "localhost";
	int ret;

	gethostname(host, sizeof(host) - 1);
	snprintf(cn, sizeof(cn), "toolwall broker CA (%s)", host);
	ca->key = EVP_EC_gen("P-256");
	if (!ca->key) {
		ssl_err(err, len, "cannot make the CA key");
		return -EIO;
	}
	ca->cert = make_cert(cn, ca->key, NULL, CA_DAYS);
	if (!ca->cert ||
	    add_ext(ca->cert, ca->cert, NID_basic_constraints,
		    "critical,CA:TRUE,pathlen:0") ||
	    add_ext(ca->cert, ca->cert, NID_key_usage,
		    "critical,keyCertSign,cRLSign") ||
	    add_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash") ||
	    !X509_sign(ca->cert, ca->key, EVP_sha256())) {
		ssl_err(err, len, "cannot make the CA certificate");
		return -EIO;
	}
	ret = write_pem(kpath, 0600, pem_key, ca->key);
	if (!ret)
		ret = write_pem(cpath, 0644, pem_cert, ca->cert);
	if (ret) {
		snprintf(err, len, "cannot write %s: %s", ret ? kpath : cpath,
			 strerror(-ret));
		unlink(kpath);
		return ret;
	}
	return 0;
}

static int load_ca(struct tw_ca *ca, const char *kpath, const char *cpath,
		   char *err, size_t len)
{
	struct stat st;
	FILE *f;

	if (stat(kpath, &st)) {
		snprintf(err, len, "%s: %s", kpath, strerror(errno));
		return -errno;
	}
	if (st.st_mode & 077) {
		snprintf(err, len,
			 "%s: the CA key is readable by others (mode %04o); "
			 "it must be 0600",
			 kpath, st.st_mode & 07777);
		return -EPERM;
	}
	f = fopen(kpath, "re");
	if (!f || !(ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL))) {
		if (f)
			fclose(f);
		ssl_err(err, len, "cannot read the CA key");
		return -EIO;
	}
	fclose(f);
	f = fopen(cpath, "re");
	if (!f || !(ca->cert = PEM_read_X509(f, NULL, NULL, NULL))) {
		if (f)
			fclose(f);
		ssl_err(err, len, "cannot read the CA certificate");
		return -EIO;
	}
	fclose(f);
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		snprintf(err, len, "%s does not match %s", kpath, cpath);
		return -EINVAL;
	}
	return 0;
}

int tw_ca_open(struct tw_ca *ca, const char *dir, char *err, size_t len)
{
	char kpath[4096];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ret;

	memset(ca, 0, sizeof(*ca));
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(err, len, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	snprintf(kpath, sizeof(kpath), "%s/ca.key", dir);
	snprintf(ca->cert_path, sizeof(ca->cert_path), "%s/ca.pem", dir);
	if (access(kpath, F_OK) && errno == ENOENT &&
	    access(ca->cert_path, F_OK) && errno == ENOENT)
		ret = create_ca(ca, kpath, ca->cert_path, err, len);
	else
		ret = load_ca(ca, kpath, ca->cert_path, err, len);
	if (ret)
		goto fail;
	ca->leaf_key = EVP_EC_gen("P-256");
	if (!ca->leaf_key ||
	    !X509_digest(ca->cert, EVP_sha256(), md, &mdlen)) {
		ssl_err(err, len, "cannot make the leaf key");
		ret = -EIO;
		goto fail;
	}
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		sprintf(ca->fingerprint + 2 * i, "%02x", md[i]);
	return 0;
fail:
	tw_ca_close(ca);
	return ret;
}

static int alpn_http11(SSL *ssl, const unsigned char **out,
		       unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "\x08http/1.1";

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, h11,
				  sizeof(h11) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK; /* no HTTP/2, ever */
	return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *leaf_ctx(struct tw_ca *ca, const char *name, char *err,
			 size_t len)
{
	unsigned char ip[16];
	char san[300];
	X509 *leaf;
	SSL_CTX *ctx;
	bool is_ip = inet_pton(AF_INET, name, ip) == 1 ||
		     inet_pton(AF_INET6, name, ip) == 1;

	snprintf(san, sizeof(san), "%s:%s", is_ip ? "IP" : "DNS", name);
	leaf = make_cert(name, ca->leaf_key, ca->cert, LEAF_DAYS);
	if (!leaf || add_ext(leaf, ca->cert, NID_subject_alt_name, san) ||
	    add_ext(leaf, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(leaf, ca->cert, NID_key_usage,
		    "critical,digitalSignature") ||
	    add_ext(leaf, ca->cert, NID_ext_key_usage, "serverAuth") ||
	    add_ext(leaf, ca->cert, NID_authority_key_identifier,
		    "keyid:always") ||
	    !X509_sign(leaf, ca->key, EVP_sha256())) {
		X509_free(leaf);
		ssl_err(err, len, "cannot mint a certificate");
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate(ctx, leaf) != 1 ||
	    SSL_CTX_add1_chain_cert(ctx, ca->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, ca->leaf_key) != 1) {
		ssl_err(err, len, "cannot make a TLS server context");
		SSL_CTX_free(ctx);
		X509_free(leaf);
		return NULL;
	}
	X509_free(leaf);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_http11, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

SSL_CTX *tw_ca_server_ctx(struct tw_ca *ca, const char *name, char *err,
			  size_t len)
{
	struct tw_ca_leaf *l;

	for (size_t i = 0; i < ca->nleaves; i++)
		if (!strcasecmp(ca->leaves[i].name, name))
			return ca->leaves[i].ctx;
	if (strlen(name) >= sizeof(l->name)) {
		snprintf(err, len, "name too long for a certificate");
		return NULL;
	}
	if (ca->nleaves == ca->cap) {
		size_t cap = ca->cap ? ca->cap * 2 : 16;

		l = realloc(ca->leaves, cap * sizeof(*l));
		if (!l) {
			snprintf(err, len, "out of memory");
			return NULL;
		}
		ca->leaves = l;
		ca->cap = cap;
	}
	l = &ca->leaves[ca->nleaves];
	l->ctx = leaf_ctx(ca, name, err, len);
	if (!l->ctx)
		return NULL;
	snprintf(l->name, sizeof(l->name), "%s", name);
	ca->nleaves++;
	return l->ctx;
}

void tw_ca_close(struct tw_ca *ca)
{
	for (size_t i = 0; i < ca->nleaves; i++)
		SSL_CTX_free(ca->leaves[i].ctx);
	free(ca->leaves);
	EVP_PKEY_free(ca->leaf_key);
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	memset(ca, 0, sizeof(*ca));
}

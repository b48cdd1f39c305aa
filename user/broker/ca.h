/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ca.h - the broker's own certificate authority. Created at first start
 * (key readable by root only), it signs one short-lived leaf certificate
 * per service name the broker terminates TLS for; tool calls trust it
 * through the CA bundle their environment points at.
 */
#ifndef TW_BROKER_CA_H
#define TW_BROKER_CA_H

#include <stddef.h>

#include <openssl/ssl.h>

struct tw_ca_leaf {
	char name[256];
	SSL_CTX *ctx;
};

struct tw_ca {
	EVP_PKEY *key;
	X509 *cert;
	EVP_PKEY *leaf_key; /* one key for every leaf, made at start */
	char fingerprint[65]; /* SHA-256 of the CA certificate, hex */
	char cert_path[4096];
	struct tw_ca_leaf *leaves;
	size_t nleaves, cap;
};

/*
 * Load the CA from DIR (ca.key, ca.pem), or create it there when neither
 * exists. A key file that anyone but its owner can read is refused.
 * Returns 0 or -errno with ERR set.
 */
int tw_ca_open(struct tw_ca *ca, const char *dir, char *err, size_t len);

/* A server context whose certificate names NAME (a DNS name or an IP
 * address), made and cached on first use. NULL with ERR set on failure. */
SSL_CTX *tw_ca_server_ctx(struct tw_ca *ca, const char *name, char *err,
			  size_t len);

void tw_ca_close(struct tw_ca *ca);

#endif

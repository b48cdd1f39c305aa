/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * syslog_conn.h - one stream connection to a syslog collector: TCP, or TLS
 * over it (OpenSSL) with the server's certificate verified against a CA
 * file and its name (or IP address) against the host asked for. Blocking
 * calls with deadlines, for the sender thread of audit_syslog.c only.
 * Errors are -errno with a sentence in WHY; nothing here logs.
 */
#ifndef TW_SYSLOG_CONN_H
#define TW_SYSLOG_CONN_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#define TW_SYSLOG_IO_MS 10000 /* connect, handshake, one write */

struct tw_sl_conn {
	int fd;
	SSL *ssl;
	int abort_fd; /* the owner's: readable = give up now (-ECANCELED) */
};

/* The TLS client context: TLS 1.2 or later, peer verification on, trust
 * from CA (a PEM file) or, when NULL, the system's store. NULL on error. */
SSL_CTX *tw_sl_tls_ctx(const char *ca, char *why, size_t len);

/*
 * Resolve HOST, connect to PORT (each address in turn) and, with CTX, do
 * the TLS handshake. *CERT_REFUSED says that it was the server's
 * certificate that failed (untrusted, expired, another name).
 */
int tw_sl_connect(struct tw_sl_conn *c, const char *host, const char *port,
		  SSL_CTX *ctx, bool *cert_refused, char *why, size_t len);

/* Every wait also ends, with -ECANCELED, once C->abort_fd is readable
 * (the sender stopping while a collector does not read). */

/* Write all of BUF: 0, or -errno (the connection is then broken). */
int tw_sl_write(struct tw_sl_conn *c, const char *buf, size_t n);

/* Has the collector closed (or broken) the connection? A collector never
 * sends data on it; what it sends (TLS tickets, an alert) is read here. */
bool tw_sl_closed(struct tw_sl_conn *c);

void tw_sl_close(struct tw_sl_conn *c);

#endif

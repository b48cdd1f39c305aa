/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * checkpoint.h - signed checkpoints: what anchors the hash chain outside
 * the log file.
 *
 * The chain alone proves only that the records agree with each other: a
 * log rewritten and re-hashed from its first record to its last verifies.
 * A checkpoint record carries the chain head (the hash of the record
 * before it), its own seq and ts, and an Ed25519 signature over them made
 * with a key only root can read; anyone with the public key can check that
 * every record up to the last checkpoint is the one the daemon wrote. The
 * signed message is one line of text:
 *
 *   toolwall-checkpoint v1 key=KEY_ID seq=SEQ ts=TS head=HEAD
 *     every=RECORDS/SECONDS
 *
 * (a single space between fields, no newline), where KEY_ID is the first
 * 16 hex digits of the SHA-256 of the raw 32-byte public key and EVERY is
 * how often the daemon signs, so a verifier can tell an unsigned tail that
 * is longer than the daemon would have left. OpenSSL does the signing.
 */
#ifndef TW_CHECKPOINT_H
#define TW_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TW_KEY_ID_HEX 16
#define TW_SIG_HEX 128

struct tw_ckpt_key {
	void *pkey; /* EVP_PKEY */
	bool private_;
	char id[TW_KEY_ID_HEX + 1];
	char path[4096];
};

/*
 * Write a new key pair: FILE (the private key, PKCS#8 PEM, mode 0600,
 * refused if FILE exists) and FILE.pub (the public key, PEM). 0 or
 * -errno with WHY.
 */
int tw_ckpt_keygen(const char *file, struct tw_ckpt_key *k, char *why,
		   size_t n);
/*
 * Load a private key for signing: a regular file owned by root, readable
 * by its owner only, holding an Ed25519 key. 0 or -errno with WHY.
 */
int tw_ckpt_load_private(const char *file, struct tw_ckpt_key *k, char *why,
			 size_t n);
/* Load a public key (or a private one: its public half) for verifying. */
int tw_ckpt_load_public(const char *file, struct tw_ckpt_key *k, char *why,
			size_t n);
void tw_ckpt_key_free(struct tw_ckpt_key *k);

/* The signed message (see above) into BUF. */
void tw_ckpt_message(const char *key_id, uint64_t seq, const char *ts,
		     const char *head, uint64_t every_records,
		     uint64_t every_seconds, char *buf, size_t len);
/* Sign MSG: hex signature into SIG. 0 or -errno. */
int tw_ckpt_sign(const struct tw_ckpt_key *k, const char *msg,
		 char sig[TW_SIG_HEX + 1]);
/* Does hex SIG sign MSG with K? */
bool tw_ckpt_verify(const struct tw_ckpt_key *k, const char *msg,
		    const char *sig);

#endif

// SPDX-License-Identifier: GPL-2.0-only
/*
 * checkpoint.c - Ed25519 keys and signatures of audit checkpoints
 * (OpenSSL EVP). See checkpoint.h for the signed message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "checkpoint.h"

static void key_id(struct tw_ckpt_key *k)
{
	unsigned char raw[32], md[EVP_MAX_MD_SIZE];
	size_t len = sizeof(raw);
	unsigned mdlen = 0;

	k->id[0] = 0;
	if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &len) != 1 ||
	    EVP_Digest(raw, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < TW_KEY_ID_HEX / 2)
		return;
	for (int i = 0; i < TW_KEY_ID_HEX / 2; i++)
		snprintf(k->id + 2 * i, 3, "%02x", md[i]);
}

static int is_ed25519(struct tw_ckpt_key *k, const char *file, char *why,
		      size_t n)
{
	if (!k->pkey || EVP_PKEY_get_id(k->pkey) != EVP_PKEY_ED25519) {
		snprintf(why, n, "%s: not an Ed25519 %s key in PEM form "
				 "(`toolwall audit keygen --out FILE` makes one)",
			 file, k->private_ ? "private" : "public");
		EVP_PKEY_free(k->pkey);
		k->pkey = NULL;
		return -EINVAL;
	}
	snprintf(k->path, sizeof(k->path), "%s", file);
	key_id(k);
	return 0;
}

int tw_ckpt_keygen(const char *file, struct tw_ckpt_key *k, char *why,
		   size_t n)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	char pub[4200];
	FILE *f = NULL;
	int fd, ret = -EIO;

	memset(k, 0, sizeof(*k));
	snprintf(pub, sizeof(pub), "%s.pub", file);
	if (!ctx || EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_keygen(ctx, (EVP_PKEY **)&k->pkey) != 1) {
		snprintf(why, n, "cannot make an Ed25519 key (OpenSSL)");
		goto out;
	}
	k->private_ = true;
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(why, n, "%s: %s%s", file, strerror(errno),
			 errno == EEXIST ? " (a key is never overwritten: "
					   "remove it first)" :
					   "");
		goto out;
	}
	f = fdopen(fd, "w");
	if (!f || PEM_write_PrivateKey(f, k->pkey, NULL, NULL, 0, NULL,
				       NULL) != 1 ||
	    fclose(f)) {
		f = NULL;
		snprintf(why, n, "%s: cannot write the private key", file);
		unlink(file);
		goto out;
	}
	f = NULL;
	unlink(pub);
	f = fopen(pub, "wx");
	if (!f || PEM_write_PUBKEY(f, k->pkey) != 1 || fclose(f)) {
		f = NULL;
		snprintf(why, n, "%s: cannot write the public key", pub);
		unlink(file);
		unlink(pub);
		goto out;
	}
	f = NULL;
	chmod(pub, 0644);
	ret = is_ed25519(k, file, why, n);
out:
	if (f)
		fclose(f);
	EVP_PKEY_CTX_free(ctx);
	if (ret)
		tw_ckpt_key_free(k);
	return ret;
}

int tw_ckpt_load_private(const char *file, struct tw_ckpt_key *k, char *why,
			 size_t n)
{
	struct stat st;
	FILE *f;
	int fd;

	memset(k, 0, sizeof(*k));
	k->private_ = true;
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st)) {
		snprintf(why, n, "audit key %s: %s", file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077)) {
		snprintf(why, n,
			 "audit key %s: must be a regular file owned by root "
			 "and readable by root only (mode 0600; it is %s, "
			 "owner %u, mode %04o)",
			 file, S_ISREG(st.st_mode) ? "a file" : "not a file",
			 st.st_uid, st.st_mode & 07777);
		close(fd);
		return -EPERM;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	k->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return is_ed25519(k, file, why, n);
}

int tw_ckpt_load_public(const char *file, struct tw_ckpt_key *k, char *why,
			size_t n)
{
	FILE *f = fopen(file, "re");

	memset(k, 0, sizeof(*k));
	if (!f) {
		snprintf(why, n, "public key %s: %s", file, strerror(errno));
		return -errno;
	}
	k->pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	if (!k->pkey) { /* a private key holds its public half */
		rewind(f);
		k->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	}
	fclose(f);
	return is_ed25519(k, file, why, n);
}

void tw_ckpt_key_free(struct tw_ckpt_key *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

void tw_ckpt_message(const char *key_id, uint64_t seq, const char *ts,
		     const char *head, uint64_t every_records,
		     uint64_t every_seconds, char *buf, size_t len)
{
	snprintf(buf, len,
		 "toolwall-checkpoint v1 key=%s seq=%llu ts=%s head=%s "
		 "every=%llu/%llu",
		 key_id, (unsigned long long)seq, ts, head,
		 (unsigned long long)every_records,
		 (unsigned long long)every_seconds);
}

int tw_ckpt_sign(const struct tw_ckpt_key *k, const char *msg,
		 char sig[TW_SIG_HEX + 1])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char raw[64];
	size_t len = sizeof(raw);
	int ret = -EIO;

	if (ctx && k->pkey && k->private_ &&
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestSign(ctx, raw, &len, (const unsigned char *)msg,
			   strlen(msg)) == 1 &&
	    len == sizeof(raw)) {
		for (size_t i = 0; i < len; i++)
			snprintf(sig + 2 * i, 3, "%02x", raw[i]);
		ret = 0;
	}
	EVP_MD_CTX_free(ctx);
	return ret;
}

bool tw_ckpt_verify(const struct tw_ckpt_key *k, const char *msg,
		    const char *sig)
{
	unsigned char raw[64];
	EVP_MD_CTX *ctx;
	bool ok = false;

	if (!sig || strlen(sig) != TW_SIG_HEX ||
	    strspn(sig, "0123456789abcdef") != TW_SIG_HEX || !k->pkey)
		return false;
	for (size_t i = 0; i < sizeof(raw); i++) {
		unsigned v;

		if (sscanf(sig + 2 * i, "%2x", &v) != 1)
			return false;
		raw[i] = (unsigned char)v;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1)
		ok = EVP_DigestVerify(ctx, raw, sizeof(raw),
				      (const unsigned char *)msg,
				      strlen(msg)) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

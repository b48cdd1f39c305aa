// SPDX-License-Identifier: GPL-2.0-only
/*
 * callfilter.c - the tool call's seccomp filter, compiled once (see
 * callfilter.h; what it refuses and why: sandbox.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <openssl/evp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "callfilter.h"

#define TW_MFD_EXEC 0x0010U /* memfd_create(): linux/memfd.h from 6.3 */

static int add_rules(scmp_filter_ctx ctx)
{
	static const int deny[] = {
	    SCMP_SYS(bpf),
	    SCMP_SYS(mount),
	    SCMP_SYS(umount2),
	    SCMP_SYS(pivot_root),
	    SCMP_SYS(chroot),
	    SCMP_SYS(move_mount),
	    SCMP_SYS(open_tree),
	    SCMP_SYS(fsopen),
	    SCMP_SYS(fsconfig),
	    SCMP_SYS(fsmount),
	    SCMP_SYS(fspick),
	    SCMP_SYS(mount_setattr),
	    SCMP_SYS(setns),
	    SCMP_SYS(keyctl),
	    SCMP_SYS(add_key),
	    SCMP_SYS(request_key),
	    SCMP_SYS(kexec_load),
	    SCMP_SYS(kexec_file_load),
	    SCMP_SYS(init_module),
	    SCMP_SYS(finit_module),
	    SCMP_SYS(delete_module),
	    SCMP_SYS(perf_event_open),
	    SCMP_SYS(io_uring_setup),
	    SCMP_SYS(io_uring_enter),
	    SCMP_SYS(io_uring_register),
	};
	/* unshare() and clone() flags that create a namespace. CLONE_NEWTIME
	 * (0x80) is an exit-signal bit for clone(), a flag for unshare(). */
	static const uint64_t nsflags[] = {
	    CLONE_NEWNS,   CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
	    CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,
	};
	static const int sock_calls[] = {SCMP_SYS(socket),
					 SCMP_SYS(socketpair)};
	size_t i;
	int err;

	err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			       SCMP_ACT_KILL_PROCESS);
	for (i = 0; !err && i < sizeof(deny) / sizeof(deny[0]); i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), deny[i], 0);
	for (i = 0; !err && i < sizeof(nsflags) / sizeof(nsflags[0]); i++) {
		err = seccomp_rule_add(
		    ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, nsflags[i], nsflags[i]));
		if (!err)
			err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
					       SCMP_SYS(clone), 1,
					       SCMP_A0(SCMP_CMP_MASKED_EQ,
						       nsflags[i], nsflags[i]));
	}
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
				       SCMP_SYS(unshare), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ,
					       0x80 /* CLONE_NEWTIME */, 0x80));
	/* clone3 passes its flags in memory, out of a filter's sight. */
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				       SCMP_SYS(clone3), 0);
	/* An executable memfd would run code no file grant covers. The
	 * call's vm.memfd_noexec = 2 refuses it too (callns.c); this rule
	 * makes the refusal a recorded EPERM on every kernel. */
	if (!err)
		err = seccomp_rule_add(
		    ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(memfd_create), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, TW_MFD_EXEC, TW_MFD_EXEC));
	/* The kernel reads ioctl's request as an unsigned int. */
	if (!err)
		err = seccomp_rule_add(
		    ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
	if (!err)
		err = seccomp_rule_add(
		    ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX));
	/*
	 * Families: only AF_UNIX (1), AF_INET (2), AF_INET6 (10) pass, compared
	 * on the whole register, so stray high bits are denied too.
	 */
	for (i = 0; !err && i < 2; i++) {
		err =
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), sock_calls[i],
				     1, SCMP_A0(SCMP_CMP_EQ, AF_UNSPEC));
		for (int fam = AF_INET + 1; !err && fam < AF_INET6; fam++)
			err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
					       sock_calls[i], 1,
					       SCMP_A0(SCMP_CMP_EQ, fam));
		if (!err)
			err = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
					       sock_calls[i], 1,
					       SCMP_A0(SCMP_CMP_GT, AF_INET6));
	}
	return err;
}

/* libseccomp writes the program to a descriptor: a pipe holds all of it
 * (TW_CALLFILTER_MAX is below a pipe's 64 KiB). */
static int export_bpf(scmp_filter_ctx ctx, struct tw_callfilter *f)
{
	int p[2], err;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	err = seccomp_export_bpf(ctx, p[1]);
	close(p[1]);
	f->insns = err ? NULL : malloc(TW_CALLFILTER_MAX + 1);
	if (!err && !f->insns)
		err = -ENOMEM;
	if (!err) {
		n = read(p[0], f->insns, TW_CALLFILTER_MAX + 1);
		if (n <= 0 || n > TW_CALLFILTER_MAX ||
		    n % sizeof(struct sock_filter))
			err = n < 0 ? -errno : -E2BIG;
		else
			f->len = (size_t)n;
	}
	close(p[0]);
	if (err)
		tw_callfilter_free(f);
	return err;
}

int tw_callfilter_build(struct tw_callfilter *f, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int ret;

	f->insns = NULL;
	f->len = 0;
	if (!ctx) {
		snprintf(err, errlen, "seccomp: cannot allocate a filter");
		return -ENOMEM;
	}
	ret = add_rules(ctx);
	if (ret)
		snprintf(err, errlen, "seccomp: cannot build the filter: %s",
			 strerror(-ret));
	else if ((ret = export_bpf(ctx, f)))
		snprintf(err, errlen, "seccomp: cannot export the filter: %s",
			 strerror(-ret));
	seccomp_release(ctx);
	return ret;
}

char *tw_callfilter_b64(const struct tw_callfilter *f)
{
	char *out = malloc(4 * ((f->len + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, f->insns, (int)f->len);
	return out;
}

int tw_callfilter_from_b64(struct tw_callfilter *f, const char *b64)
{
	size_t n = strlen(b64);
	int len;

	f->insns = NULL;
	f->len = 0;
	if (!n || n % 4 || n / 4 * 3 > TW_CALLFILTER_MAX + 2)
		return -EINVAL;
	f->insns = malloc(n / 4 * 3);
	if (!f->insns)
		return -ENOMEM;
	len = EVP_DecodeBlock(f->insns, (const unsigned char *)b64, (int)n);
	/* EVP_DecodeBlock counts the padding as zero bytes */
	if (len > 0 && b64[n - 1] == '=')
		len -= b64[n - 2] == '=' ? 2 : 1;
	if (len <= 0 || len > TW_CALLFILTER_MAX ||
	    len % sizeof(struct sock_filter)) {
		tw_callfilter_free(f);
		return -EINVAL;
	}
	f->len = (size_t)len;
	return 0;
}

int tw_callfilter_load(const struct tw_callfilter *f)
{
	struct sock_fprog prog = {
		.len = (unsigned short)(f->len / sizeof(struct sock_filter)),
		.filter = f->insns,
	};

	if (!f->insns || !prog.len)
		return -EINVAL;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		return -errno;
	return 0;
}

void tw_callfilter_free(struct tw_callfilter *f)
{
	free(f->insns);
	f->insns = NULL;
	f->len = 0;
}

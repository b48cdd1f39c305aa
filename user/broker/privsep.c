// SPDX-License-Identifier: GPL-2.0-only
/*
 * privsep.c - the broker's privilege drop (see privsep.h).
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privsep.h"

#define NOBODY 65534

/* Are all of this process's capability sets empty? */
static bool no_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return false;
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return false;
	return true;
}

int tw_broker_drop(char *err, size_t len)
{
	const struct passwd *pw = getpwnam(TW_BROKER_USER);
	uid_t uid = pw ? pw->pw_uid : NOBODY;
	gid_t gid = pw ? pw->pw_gid : NOBODY;
	struct rlimit none = { 0, 0 };
	const char *step = NULL;

	if (geteuid() != 0)
		return 0;
	if (!pw && (pw = getpwnam("nobody"))) {
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (!uid) {
		snprintf(err, len, "the broker's account %s is root",
			 TW_BROKER_USER);
		return -EPERM;
	}
	/* It holds credential values: never a core file, never ptrace by
	 * another process of its account. */
	if (setrlimit(RLIMIT_CORE, &none) || prctl(PR_SET_DUMPABLE, 0))
		step = "no core dumps";
	for (int cap = 0; !step && cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap) && errno != EINVAL)
			step = "empty the capability bounding set";
	if (!step && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) &&
	    errno != EINVAL)
		step = "clear ambient capabilities";
	if (!step && setgroups(0, NULL))
		step = "drop supplementary groups";
	if (!step && setresgid(gid, gid, gid))
		step = "set the group";
	if (!step && setresuid(uid, uid, uid))
		step = "set the user";
	if (!step && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		step = "set no_new_privs";
	/* setresuid dropped the dumpable flag already; say it again */
	if (!step && prctl(PR_SET_DUMPABLE, 0))
		step = "no core dumps";
	if (!step && chdir("/"))
		step = "leave the working directory";
	if (step) {
		int e = errno;

		snprintf(err, len, "cannot drop privileges to uid %u: %s: %s",
			 (unsigned)uid, step, strerror(e));
		return -e;
	}
	if (getuid() == 0 || geteuid() == 0 || !no_caps()) {
		snprintf(err, len, "still privileged after the drop");
		return -EPERM;
	}
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * demo.c - `toolwall demo`: the tour lives in scripts/demo.sh (it sets up
 * test hosts in a network namespace, which is shell work); this finds it
 * next to the binary or in the installed share directory and runs it.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "util.h"

int cmd_demo(int argc, char **argv)
{
	char exe[PATH_MAX], script[PATH_MAX + 32];
	ssize_t n;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("Usage: toolwall demo\n"
		       "A self-contained tour: starts the daemon on the example "
		       "policy with\nlocal test hosts, runs tool calls in "
		       "several contexts, prints the\ndecisions and the audit "
		       "trail, then tears everything down.\n");
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		tw_error("demo: cannot find myself: %s", strerror(errno));
		return 1;
	}
	exe[n] = 0;
	snprintf(script, sizeof(script), "%s/scripts/demo.sh", dirname(exe));
	if (access(script, R_OK))
		snprintf(script, sizeof(script), "/usr/share/toolwall/demo.sh");
	if (access(script, R_OK)) {
		tw_error("demo: scripts/demo.sh not found next to the binary "
			 "nor in /usr/share/toolwall");
		return 1;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n] = 0;
	execl("/bin/bash", "bash", script, exe, (char *)NULL);
	tw_error("demo: cannot run bash: %s", strerror(errno));
	return 1;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * paths.c - the roots of toolwall's host state, from the environment or
 * the defaults (see paths.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paths.h"

struct tw_roots tw_roots = {
	.pin = TW_DEFAULT_PIN_ROOT,
	.run = TW_DEFAULT_RUN_DIR,
	.control = TW_DEFAULT_RUN_DIR "/control.sock",
	.state = TW_DEFAULT_RUN_DIR "/state.json",
	.lock = TW_DEFAULT_RUN_DIR "/daemon.lock",
	.cgroup = TW_DEFAULT_CGROUP_ROOT,
	.calls_run = TW_DEFAULT_RUN_DIR "-calls",
	.launch_dir = TW_DEFAULT_RUN_DIR "-launch",
	.launch = TW_DEFAULT_RUN_DIR "-launch/launch.sock",
	.calls_scratch = "/var/tmp/toolwall-calls",
	.broker_pub = "/run/toolwall-broker",
};

/* A path made of plain components: no "", ".", ".." and no byte that a
 * shell, a mount table or a cgroup name would read another way. */
static const char *bad_path(const char *p, bool absolute)
{
	const char *c = p;

	if (!*p)
		return "is empty";
	if (absolute != (*p == '/'))
		return absolute ? "is not an absolute path" :
				  "must be relative to the cgroup mount";
	if (absolute)
		c++;
	while (*c) {
		size_t len = strcspn(c, "/");

		if (!len)
			return "has an empty component (\"//\" or a trailing '/')";
		if ((len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.'))
			return "has a \".\" or \"..\" component";
		for (size_t i = 0; i < len; i++)
			if (!((c[i] >= 'a' && c[i] <= 'z') ||
			      (c[i] >= 'A' && c[i] <= 'Z') ||
			      (c[i] >= '0' && c[i] <= '9') ||
			      strchr("._-@+", c[i])))
				return "has a byte other than letters, digits "
				       "and . _ - @ +";
		c += len;
		if (*c == '/' && !c[1])
			return "has a trailing '/'";
		if (*c)
			c++;
	}
	return NULL;
}

static int take(const char *var, bool absolute, char *dst, size_t dlen,
		char *why, size_t n)
{
	const char *v = getenv(var), *bad;

	if (!v)
		return 0;
	bad = bad_path(v, absolute);
	if (!bad && strlen(v) >= dlen - 20)
		bad = "is too long";
	if (bad) {
		snprintf(why, n, "%s=\"%.200s\" %s", var, v, bad);
		return -EINVAL;
	}
	snprintf(dst, dlen, "%s", v);
	return 0;
}

int tw_roots_init(char *why, size_t n)
{
	struct tw_roots *r = &tw_roots;
	const char *base;
	int ret;

	if ((ret = take("TOOLWALL_PIN_ROOT", true, r->pin, sizeof(r->pin), why,
			n)) ||
	    (ret = take("TOOLWALL_RUN_DIR", true, r->run, sizeof(r->run), why,
			n)) ||
	    (ret = take("TOOLWALL_CGROUP_ROOT", false, r->cgroup,
			sizeof(r->cgroup), why, n)))
		return ret;
	if (!strcmp(r->pin, "/") || !strcmp(r->run, "/")) {
		snprintf(why, n, "a toolwall root cannot be \"/\"");
		return -EINVAL;
	}
	snprintf(r->control, sizeof(r->control), "%s/control.sock", r->run);
	snprintf(r->state, sizeof(r->state), "%s/state.json", r->run);
	snprintf(r->lock, sizeof(r->lock), "%s/daemon.lock", r->run);
	snprintf(r->calls_run, sizeof(r->calls_run), "%s-calls", r->run);
	snprintf(r->launch_dir, sizeof(r->launch_dir), "%s-launch", r->run);
	snprintf(r->launch, sizeof(r->launch), "%s/launch.sock",
		 r->launch_dir);
	/* TOOLWALL_BROKER_DIR=D (tests) keeps the broker's CA in D and the
	 * bundle beside it in D-public */
	if ((ret = take("TOOLWALL_BROKER_DIR", true, r->broker_pub,
			sizeof(r->broker_pub) - 8, why, n)))
		return ret;
	if (getenv("TOOLWALL_BROKER_DIR"))
		strcat(r->broker_pub, "-public");
	base = strrchr(r->run, '/') + 1;
	snprintf(r->calls_scratch, sizeof(r->calls_scratch),
		 "/var/tmp/%s-calls", base);
	return 0;
}

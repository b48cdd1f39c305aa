// SPDX-License-Identifier: GPL-2.0-only
/*
 * down.c - `toolwall down`: remove enforcement, and never leave a tool
 * call's process running without it.
 *
 *   processes in the toolwall cgroups?  yes, no --kill: refuse, name them
 *   -> stop the daemon, hold its lock (no daemon starts meanwhile)
 *   -> processes again (a call started meanwhile)? --kill: end them
 *      (cgroup.kill, else SIGKILL each) and wait until none is left;
 *      none may be left, or enforcement stays
 *   -> unpin links (detached), programs and maps; remove the cgroups
 *
 * Processes are never moved out of the tree: outside it they would run
 * with nothing enforced.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgdelegate.h"
#include "cglimits.h"
#include "cgroups.h"
#include "cmds.h"
#include "util.h"

static const char down_usage[] =
	"Usage: toolwall down [--kill]\n"
	"Remove enforcement: stop the daemon, detach and unpin the programs,\n"
	"unpin the maps and remove the toolwall cgroups. Only this removes\n"
	"enforcement; a stopped or killed daemon leaves it in place.\n"
	"While tool calls (or anything they left behind) still run in the\n"
	"toolwall cgroups, down refuses and names them: they would run\n"
	"unconfined. --kill ends every one of them first (and waits until\n"
	"they are gone).\n";

/* A process in the toolwall tree, and the call it belongs to. */
struct proc {
	int pid;
	char comm[32];
	char cgroup[PATH_MAX]; /* absolute */
};

struct procs {
	struct proc *v;
	size_t n;
};

static void procs_add(struct procs *p, int pid, const char *cg)
{
	struct proc *nv = realloc(p->v, (p->n + 1) * sizeof(*nv));
	char file[64];
	FILE *f;

	if (!nv)
		return;
	p->v = nv;
	nv = &p->v[p->n++];
	memset(nv, 0, sizeof(*nv));
	nv->pid = pid;
	snprintf(nv->cgroup, sizeof(nv->cgroup), "%s", cg);
	snprintf(file, sizeof(file), "/proc/%d/comm", pid);
	f = fopen(file, "re");
	if (f && fgets(nv->comm, sizeof(nv->comm), f))
		nv->comm[strcspn(nv->comm, "\n")] = 0;
	if (f)
		fclose(f);
}

/* Every process of the subtree at PATH. */
static void procs_scan(struct procs *p, const char *path)
{
	char file[PATH_MAX], line[32];
	struct dirent *de;
	DIR *dh;
	FILE *f;

	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	f = fopen(file, "re");
	while (f && fgets(line, sizeof(line), f))
		procs_add(p, atoi(line), path);
	if (f)
		fclose(f);
	dh = opendir(path);
	while (dh && (de = readdir(dh))) {
		char sub[PATH_MAX];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
				     de->d_name) >= sizeof(sub))
			continue;
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			procs_scan(p, sub);
	}
	if (dh)
		closedir(dh);
}

/* The call a cgroup belongs to, from the daemon's state file. */
static void call_of(json_t *state, const char *cg, const char **id,
		    const char **ctx)
{
	size_t i;
	json_t *c;

	*id = *ctx = NULL;
	json_array_foreach(json_object_get(state, "calls"), i, c)
	{
		const char *p = json_string_value(json_object_get(c, "cgroup"));
		size_t n = p ? strlen(p) : 0;

		if (n && !strncmp(cg, p, n) && (cg[n] == 0 || cg[n] == '/')) {
			*id = json_string_value(json_object_get(c, "call_id"));
			*ctx = json_string_value(json_object_get(c, "context"));
			return;
		}
	}
}

/* "Error: 2 processes still run in the toolwall cgroups: ..." */
static void name_procs(const struct procs *p, const char *root)
{
	json_t *state = json_load_file(tw_roots.state, 0, NULL);
	size_t rl = strlen(root);

	tw_error("%zu process%s still run%s in the toolwall cgroups; removing "
		 "enforcement would leave %s unconfined:",
		 p->n, p->n == 1 ? "" : "es", p->n == 1 ? "s" : "",
		 p->n == 1 ? "it" : "them");
	for (size_t i = 0; i < p->n; i++) {
		const struct proc *x = &p->v[i];
		const char *id, *ctx;

		call_of(state, x->cgroup, &id, &ctx);
		if (id)
			fprintf(stderr, "  pid %d (%s): call %s in %s\n", x->pid,
				x->comm, id, ctx ? ctx : "?");
		else
			fprintf(stderr, "  pid %d (%s): in %s (no call)\n",
				x->pid, x->comm,
				x->cgroup[rl] ? x->cgroup + rl + 1 : "/");
	}
	fprintf(stderr, "End them, or run `toolwall down --kill` to end "
			"them all.\n");
	json_decref(state);
}

/*
 * End every process of the tree at ROOT: cgroup.kill (the kernel ends the
 * whole subtree, forks included), else SIGKILL each one, repeated until
 * the tree is empty. 0, or -ETIMEDOUT when something is still there.
 */
static int kill_tree(const char *root)
{
	char file[PATH_MAX];
	bool have_kill;
	int fd;

	snprintf(file, sizeof(file), "%s/cgroup.kill", root);
	fd = open(file, O_WRONLY | O_CLOEXEC);
	have_kill = fd >= 0 && write(fd, "1", 1) == 1;
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 100; i++) { /* 10 s */
		struct procs p = {};

		if (tw_cg_populated(root) == 0)
			return 0;
		if (!have_kill) {
			procs_scan(&p, root);
			for (size_t k = 0; k < p.n; k++)
				kill(p.v[k].pid, SIGKILL);
			free(p.v);
		}
		usleep(100000);
	}
	return -ETIMEDOUT;
}

/* Remove the files in DIR, then DIR; bpffs links are detached first. */
static void remove_dir(const char *dir, bool links)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dh = opendir(dir);

	while (dh && (de = readdir(dh))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (links) {
			int fd = bpf_obj_get(path);

			if (fd >= 0) {
				bpf_link_detach(fd);
				close(fd);
			}
		}
		unlink(path);
	}
	if (dh)
		closedir(dh);
	rmdir(dir);
}

/* Unpin everything in PIN_ROOT/SUB (whatever version pinned it), links
 * detached, and remove SUB. */
static void unpin_dir(const char *sub, bool links)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s/%s", tw_roots.pin, sub);
	remove_dir(dir, links);
}

/*
 * Stop the daemon and take its lock, so that none runs (or starts) while
 * enforcement is removed. The lock fd, or -1 (said why).
 */
static int stop_daemon(void)
{
	json_t *req = json_pack("{s:s}", "op", "stop"), *rep;
	char pid[32] = "";
	int fd, n;

	rep = tw_control_call(req);
	json_decref(req);
	json_decref(rep);
	mkdir(tw_roots.run, 0700);
	fd = open(tw_roots.lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		tw_error("cannot open %s: %s", tw_roots.lock, strerror(errno));
		return -1;
	}
	/* It writes its last records, then exits: the lock is free. */
	for (int i = 0; i < 100; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		usleep(100000);
	}
	n = pread(fd, pid, sizeof(pid) - 1, 0);
	pid[n > 0 ? n : 0] = 0;
	pid[strcspn(pid, "\n")] = 0;
	tw_error("the daemon (pid %s) did not stop within 10 s; enforcement "
		 "stays in place",
		 *pid ? pid : "unknown");
	close(fd);
	return -1;
}

/* Grants and quarantines are enforcement too: none outlives down (a
 * daemon started later would take them back from this file). */
static void forget_grants(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/grants.json", tw_roots.run);
	unlink(path);
}

int cmd_down(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kill", no_argument, 0, 'k' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	char root[PATH_MAX], mnt[PATH_MAX];
	bool do_kill = false, have_tree;
	struct procs p = {};
	int c, ret, lock_fd;

	optind = 1;
	while ((c = getopt_long(argc, argv, "kh", opts, NULL)) != -1) {
		switch (c) {
		case 'k': do_kill = true; break;
		case 'h': fputs(down_usage, stdout); return 0;
		default: fputs(down_usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fputs(down_usage, stderr);
		return 2;
	}
	if (geteuid() != 0) {
		tw_error("down must run as root");
		return 1;
	}
	/* A daemon a service manager started keeps its tree in the
	 * service's delegated cgroup, and recorded where. */
	ret = tw_cg_recorded_root();
	if (ret) {
		tw_error("cannot read the cgroup root a delegated daemon "
			 "recorded in %s: %s", tw_roots.run, strerror(-ret));
		return 1;
	}
	have_tree = tw_cg_mount(mnt, sizeof(mnt)) == 0 &&
		    tw_cg_root(root, sizeof(root)) == 0 &&
		    access(root, F_OK) == 0;

	/* Refuse before touching anything: the daemon keeps running. */
	if (have_tree && !do_kill) {
		procs_scan(&p, root);
		if (p.n) {
			name_procs(&p, root);
			free(p.v);
			return 1;
		}
	}
	lock_fd = stop_daemon();
	if (lock_fd < 0)
		return 1;
	if (have_tree) {
		/* A call may have started before the daemon stopped. */
		memset(&p, 0, sizeof(p));
		procs_scan(&p, root);
		if (p.n && !do_kill) {
			name_procs(&p, root);
			fprintf(stderr, "The daemon is stopped; enforcement "
					"stays in place.\n");
			free(p.v);
			close(lock_fd);
			return 1;
		}
		if (p.n && kill_tree(root)) {
			tw_error("processes are still in %s after 10 s; "
				 "enforcement stays in place",
				 root);
			free(p.v);
			close(lock_fd);
			return 1;
		}
		if (p.n)
			printf("ended %zu process%s in the toolwall cgroups\n",
			       p.n, p.n == 1 ? "" : "es");
		free(p.v);
	}
	unpin_dir("links", true);
	unpin_dir("progs", false);
	unpin_dir("maps", false);
	rmdir(tw_roots.pin);
	unlink(tw_roots.state);
	forget_grants();
	/* what the daemon leaves beside its run directory: the launch
	 * socket and the CA bundle calls trusted (no call is left) */
	remove_dir(tw_roots.launch_dir, false);
	remove_dir(tw_roots.broker_pub, false);
	if (have_tree) {
		/* No destination: nothing is ever moved out of the tree. */
		ret = tw_cg_remove_tree(root, NULL);
		if (ret) {
			tw_error("cannot remove %s: %s", root, strerror(-ret));
			close(lock_fd);
			return 1;
		}
	}
	close(lock_fd);
	{
		struct tw_limit_ctl lc;

		/* the v1 hierarchies' toolwall trees (limits of ended calls) */
		tw_limits_probe(&lc);
		ret = tw_limits_remove_all(&lc);
		if (ret)
			tw_warn("cannot remove the v1 limit cgroups of toolwall: "
				"%s",
				strerror(-ret));
	}
	printf("toolwall enforcement removed\n");
	return 0;
}

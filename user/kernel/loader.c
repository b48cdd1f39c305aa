// SPDX-License-Identifier: GPL-2.0-only
/*
 * loader.c - bring the socket programs up on the toolwall root cgroup and
 * keep them there. Programs, maps and links are pinned under the pin root
 * (0700: a pin's mode is its only access control). An unpinned link would
 * vanish with the daemon and enforcement would fail open; a pinned one
 * outlives it, and a restarted daemon swaps its fresh programs into the
 * same links.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroups.h"
#include "loader.h"
#include "proc.skel.h"
#include "sock.skel.h"
#include "syscalls.h"
#include "toolwall.h"
#include "util.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

/* Kernel 6.7+ attach types that Debian's libbpf 1.1 headers lack. */
#define TW_ATTACH_UNIX_CONNECT 49
#define TW_ATTACH_UNIX_SENDMSG 50

/* PIN_ROOT/DIR/NAME (NAME NULL: the directory) into BUF. */
static const char *pinned(char *buf, size_t len, const char *dir,
			  const char *name)
{
	snprintf(buf, len, "%s/%s%s%s", tw_roots.pin, dir, name ? "/" : "",
		 name ? name : "");
	return buf;
}

static void say(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

int tw_probe_features(char *why, size_t len)
{
	static const struct {
		enum bpf_prog_type type;
		const char *name;
	} progs[] = {
		{ BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "cgroup sock_addr programs" },
		{ BPF_PROG_TYPE_CGROUP_SOCK, "cgroup sock_create programs" },
		{ BPF_PROG_TYPE_CGROUP_SKB, "cgroup_skb programs" },
		{ BPF_PROG_TYPE_CGROUP_SOCKOPT,
		  "cgroup sockopt programs (multicast joins)" },
		{ BPF_PROG_TYPE_RAW_TRACEPOINT,
		  "raw tracepoint programs (syscall audit)" },
	};
	static const struct {
		enum bpf_map_type type;
		const char *name;
	} maps[] = {
		{ BPF_MAP_TYPE_RINGBUF, "ring buffer maps" },
		{ BPF_MAP_TYPE_LPM_TRIE, "LPM trie maps" },
		{ BPF_MAP_TYPE_SK_STORAGE, "socket storage maps" },
		{ BPF_MAP_TYPE_PERCPU_ARRAY, "per-CPU array maps" },
	};
	char root[PATH_MAX];

	if (geteuid() != 0) {
		say(why, len, "toolwall daemon must run as root");
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		say(why, len, "kernel BTF (/sys/kernel/btf/vmlinux) is missing; "
			      "toolwall needs CONFIG_DEBUG_INFO_BTF");
		return -ENOTSUP;
	}
	if (tw_cg_root(root, sizeof(root))) {
		say(why, len, "no cgroup v2 hierarchy in /proc/mounts; mount "
			      "one (mount -t cgroup2 none /sys/fs/cgroup/unified)");
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		if (libbpf_probe_bpf_prog_type(progs[i].type, NULL) != 1) {
			say(why, len, "kernel cannot load %s", progs[i].name);
			return -ENOTSUP;
		}
	}
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		if (libbpf_probe_bpf_map_type(maps[i].type, NULL) != 1) {
			say(why, len, "kernel has no %s", maps[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

int tw_pin_dirs(char *err, size_t len)
{
	char maps[300], links[300], progs[300];
	const char *const dirs[] = { tw_roots.pin,
				     pinned(maps, sizeof(maps), "maps", NULL),
				     pinned(links, sizeof(links), "links", NULL),
				     pinned(progs, sizeof(progs), "progs",
					    NULL) };
	struct statfs fs;

	if (statfs("/sys/fs/bpf", &fs) || fs.f_type != BPF_FS_MAGIC) {
		mkdir("/sys/fs/bpf", 0700);
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			say(err, len, "cannot mount bpffs at /sys/fs/bpf: %s",
			    strerror(errno));
			return -errno;
		}
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (mkdir(dirs[i], 0700) && errno != EEXIST) {
			say(err, len, "cannot create %s: %s", dirs[i],
			    strerror(errno));
			return -errno;
		}
		if (i == 0 &&
		    (statfs(dirs[0], &fs) || fs.f_type != BPF_FS_MAGIC)) {
			say(err, len,
			    "the pin root %s is not on a bpf filesystem (set "
			    "TOOLWALL_PIN_ROOT to a directory under /sys/fs/bpf)",
			    dirs[0]);
			return -ENOTDIR;
		}
		/* An existing directory may have been loosened: tighten. */
		if (chown(dirs[i], 0, 0) || chmod(dirs[i], 0700)) {
			say(err, len, "cannot secure %s: %s", dirs[i],
			    strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static int debug_print(enum libbpf_print_level lvl, const char *fmt,
		       va_list ap)
{
	(void)lvl;
	return vfprintf(stderr, fmt, ap);
}

static int quiet_print(enum libbpf_print_level lvl, const char *fmt,
		       va_list ap)
{
	if (lvl != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

struct attach {
	struct bpf_program *prog;
	enum bpf_attach_type type;
};

/*
 * A pinned cgroup link holds its cgroup. When that cgroup was removed (a
 * service manager removes a stopped service's tree, calls and all) the
 * link is severed: true, and it is replaced. When it holds a live cgroup
 * other than our root, adopting it would leave our root unenforced: true
 * with ERR set (the caller refuses).
 */
static bool pinned_cgroup_gone(struct tw_loader *l, int fd, const char *pin,
			       char *err, size_t len)
{
	struct bpf_link_info info = {};
	__u32 ilen = sizeof(info);
	uint64_t root_id = 0;

	*err = 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) ||
	    info.type != BPF_LINK_TYPE_CGROUP)
		return false;
	if (!info.cgroup.cgroup_id)
		return true;
	if (tw_cg_id(l->cg_root, &root_id) || info.cgroup.cgroup_id == root_id)
		return false;
	say(err, len,
	    "the link pinned at %s is attached to another cgroup (id %llu), "
	    "not to %s: another toolwall root is enforced with these pins. "
	    "Start this daemon with that instance's TOOLWALL_CGROUP_ROOT, or "
	    "stop its calls and run `toolwall down` first",
	    pin, (unsigned long long)info.cgroup.cgroup_id, l->cg_root);
	return true;
}

static int attach_one(struct tw_loader *l, const struct attach *a,
		      char *err, size_t len)
{
	const char *name = bpf_program__name(a->prog);
	int prog_fd = bpf_program__fd(a->prog);
	char link_pin[PATH_MAX], prog_pin[PATH_MAX];
	int fd;

	pinned(link_pin, sizeof(link_pin), "links", name);
	pinned(prog_pin, sizeof(prog_pin), "progs", name);

	fd = bpf_obj_get(link_pin);
	if (fd >= 0 && pinned_cgroup_gone(l, fd, link_pin, err, len)) {
		if (*err) {
			close(fd);
			return -EEXIST;
		}
		close(fd); /* its cgroup was removed: attach anew below */
		unlink(link_pin);
		fd = -1;
	}
	if (fd >= 0) {
		/* Re-adopt: the link stays attached, only the program changes. */
		if (bpf_link_update(fd, prog_fd, NULL)) {
			say(err, len, "cannot update pinned link %s: %s",
			    link_pin, strerror(errno));
			close(fd);
			return -errno;
		}
		l->adopted = true;
	} else {
		fd = bpf_link_create(prog_fd, l->cg_root_fd, a->type, NULL);
		if (fd < 0) {
			say(err, len, "cannot attach %s to %s: %s%s", name,
			    l->cg_root, strerror(errno),
			    a->type == (enum bpf_attach_type)
						TW_ATTACH_UNIX_CONNECT ?
				    " (unix socket hooks need Linux 6.7+)" :
				    "");
			return -errno;
		}
		if (bpf_obj_pin(fd, link_pin)) {
			say(err, len, "cannot pin link %s: %s", link_pin,
			    strerror(errno));
			bpf_link_detach(fd);
			close(fd);
			return -errno;
		}
	}
	close(fd);
	unlink(prog_pin);
	if (bpf_obj_pin(prog_fd, prog_pin)) {
		say(err, len, "cannot pin program %s: %s", prog_pin,
		    strerror(errno));
		return -errno;
	}
	return 0;
}

static int set_map_pins(struct bpf_object *obj, char *err, size_t len)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);
		char path[PATH_MAX];

		/* .rodata and friends are per load, not shared state. */
		if (name[0] == '.' || strchr(name, '.'))
			continue;
		pinned(path, sizeof(path), "maps", name);
		if (bpf_map__set_pin_path(map, path)) {
			say(err, len, "cannot set pin path %s", path);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * A tracepoint link cannot take a new program (bpf_link_update is for
 * cgroup links): the new link is attached and pinned first, then the old
 * one is let go, so a restart never leaves a moment unobserved (at worst an
 * event is recorded twice).
 */
static int attach_trace(struct bpf_program *prog, char *err, size_t len)
{
	const char *name = bpf_program__name(prog);
	char link_pin[PATH_MAX], tmp_pin[PATH_MAX + 8];
	struct bpf_link *link;
	int old, ret;

	pinned(link_pin, sizeof(link_pin), "links", name);
	snprintf(tmp_pin, sizeof(tmp_pin), "%s_new", link_pin); /* no dots in bpffs */
	link = bpf_program__attach(prog);
	if (!link) {
		say(err, len, "cannot attach %s: %s", name, strerror(errno));
		return -errno;
	}
	unlink(tmp_pin);
	if (bpf_link__pin(link, tmp_pin)) {
		say(err, len, "cannot pin link %s: %s", tmp_pin,
		    strerror(errno));
		bpf_link__destroy(link);
		return -errno;
	}
	old = bpf_obj_get(link_pin);
	if (rename(tmp_pin, link_pin)) {
		say(err, len, "cannot pin link %s: %s", link_pin,
		    strerror(errno));
		ret = -errno;
		if (old >= 0)
			close(old);
		unlink(tmp_pin);
		bpf_link__destroy(link);
		return ret;
	}
	if (old >= 0) {
		bpf_link_detach(old);
		close(old);
	}
	/* Closes our fd; the pin holds the link. (A disconnected link would
	 * keep its fd open, and the link alive after its pin is gone.) */
	bpf_link__destroy(link);
	return 0;
}

/* The syscall audit: its own object, sharing the context maps by pin. */
static int proc_up(struct tw_loader *l, char *err, size_t len)
{
	struct tw_proc *p = tw_proc__open();
	char pin[300];
	int ret;

	if (!p) {
		say(err, len, "cannot open the syscall audit BPF object: %s",
		    strerror(errno));
		return -errno;
	}
	l->proc = p;
	ret = set_map_pins(p->obj, err, len);
	if (ret)
		return ret;
	ret = tw_proc__load(p);
	if (ret) {
		say(err, len,
		    "cannot load the syscall audit programs: %s (run with -d "
		    "for the verifier log)",
		    strerror(-ret));
		return ret;
	}
	ret = tw_sysaudit_fill(bpf_map__fd(p->maps.tw_sys_watch));
	if (ret) {
		say(err, len, "cannot fill the syscall audit table: %s",
		    strerror(-ret));
		return ret;
	}
	ret = attach_trace(p->progs.tw_exec, err, len);
	/* A pinned sys_exit link means calls may be running: keep watching. */
	if (!ret && access(pinned(pin, sizeof(pin), "links", "tw_sys_exit"),
			   F_OK) == 0) {
		ret = attach_trace(p->progs.tw_sys_exit, err, len);
		l->watching = !ret;
	}
	return ret;
}

int tw_loader_watch_syscalls(struct tw_loader *l, bool on, char *err,
			     size_t len)
{
	char pin[300];
	int fd, ret = 0;

	pinned(pin, sizeof(pin), "links", "tw_sys_exit");

	if (on == l->watching)
		return 0;
	if (on) {
		ret = attach_trace(l->proc->progs.tw_sys_exit, err, len);
	} else {
		fd = bpf_obj_get(pin);
		unlink(pin);
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
	}
	if (!ret)
		l->watching = on;
	return ret;
}

/*
 * Pinned state is adopted only from a loader of the same ABI: libbpf reuses
 * a pinned map whose type and sizes match, whatever its fields mean now.
 * No pinned tw_state (a first start) is fine; any other answer refuses,
 * and the pinned programs keep enforcing as they are.
 */
static int check_pinned_abi(char *err, size_t len)
{
	char path[300];
	struct bpf_map_info info = {};
	__u32 ilen = sizeof(info), zero = 0;
	struct tw_state st = {};
	unsigned abi = 0;
	int fd, ret = 0;

	fd = bpf_obj_get(pinned(path, sizeof(path), "maps", "tw_state"));
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
		ret = -errno;
		say(err, len, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (info.value_size == sizeof(st) &&
	    !bpf_map_lookup_elem(fd, &zero, &st))
		abi = st.abi;
	/* abi 0: pinned, never flipped (a loader that died in its start) */
	if (info.value_size != sizeof(st) || (abi && abi != TW_ABI_VERSION)) {
		ret = -EPROTO;
		say(err, len,
		    "the state pinned in %s was made by another toolwall "
		    "(ABI %u, this one speaks ABI %u): not adopting it; its "
		    "programs keep enforcing. Stop its calls and run "
		    "`toolwall down`, then start this daemon",
		    tw_roots.pin, info.value_size == sizeof(st) ? abi : 0,
		    TW_ABI_VERSION);
	}
out:
	close(fd);
	return ret;
}

int tw_loader_up(struct tw_loader *l, bool debug, char *err, size_t len)
{
	struct tw_sock *skel;
	int ret;

	memset(l, 0, sizeof(*l));
	l->cg_root_fd = -1;
	tw_maps_close(&l->maps);
	libbpf_set_print(debug ? debug_print : quiet_print);

	ret = tw_pin_dirs(err, len);
	if (ret)
		return ret;
	ret = tw_cg_mount(l->cg_mount, sizeof(l->cg_mount));
	if (!ret)
		ret = tw_cg_root(l->cg_root, sizeof(l->cg_root));
	if (ret) {
		say(err, len, "no cgroup v2 mount found in /proc/mounts");
		return ret;
	}
	if (tw_mkdir_p(l->cg_root, 0755)) {
		say(err, len, "cannot create %s: %s", l->cg_root,
		    strerror(errno));
		return -errno;
	}
	l->cg_root_fd = open(l->cg_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->cg_root_fd < 0) {
		say(err, len, "cannot open %s: %s", l->cg_root,
		    strerror(errno));
		return -errno;
	}

	skel = tw_sock__open();
	if (!skel) {
		say(err, len, "cannot open the BPF object: %s",
		    strerror(errno));
		return -errno;
	}
	l->skel = skel;
	bpf_program__set_expected_attach_type(
		skel->progs.tw_unix_conn,
		(enum bpf_attach_type)TW_ATTACH_UNIX_CONNECT);
	bpf_program__set_expected_attach_type(
		skel->progs.tw_unix_send,
		(enum bpf_attach_type)TW_ATTACH_UNIX_SENDMSG);
	ret = check_pinned_abi(err, len);
	if (!ret)
		ret = set_map_pins(skel->obj, err, len);
	if (ret)
		return ret;
	ret = tw_sock__load(skel);
	if (ret) {
		say(err, len,
		    "cannot load the BPF programs: %s (run with -d for the "
		    "verifier log; pinned maps from another toolwall version "
		    "need `toolwall down` first)",
		    strerror(-ret));
		return ret;
	}

	const struct attach attach[] = {
		{ skel->progs.tw_sock_create, BPF_CGROUP_INET_SOCK_CREATE },
		{ skel->progs.tw_connect4, BPF_CGROUP_INET4_CONNECT },
		{ skel->progs.tw_connect6, BPF_CGROUP_INET6_CONNECT },
		{ skel->progs.tw_sendmsg4, BPF_CGROUP_UDP4_SENDMSG },
		{ skel->progs.tw_sendmsg6, BPF_CGROUP_UDP6_SENDMSG },
		{ skel->progs.tw_unix_conn,
		  (enum bpf_attach_type)TW_ATTACH_UNIX_CONNECT },
		{ skel->progs.tw_unix_send,
		  (enum bpf_attach_type)TW_ATTACH_UNIX_SENDMSG },
		{ skel->progs.tw_egress, BPF_CGROUP_INET_EGRESS },
		{ skel->progs.tw_ingress, BPF_CGROUP_INET_INGRESS },
		{ skel->progs.tw_bind4, BPF_CGROUP_INET4_BIND },
		{ skel->progs.tw_bind6, BPF_CGROUP_INET6_BIND },
		{ skel->progs.tw_setsockopt, BPF_CGROUP_SETSOCKOPT },
		{ skel->progs.tw_recvmsg4, BPF_CGROUP_UDP4_RECVMSG },
		{ skel->progs.tw_recvmsg6, BPF_CGROUP_UDP6_RECVMSG },
		{ skel->progs.tw_peername4, BPF_CGROUP_INET4_GETPEERNAME },
		{ skel->progs.tw_peername6, BPF_CGROUP_INET6_GETPEERNAME },
	};
	for (size_t i = 0; i < sizeof(attach) / sizeof(attach[0]); i++) {
		ret = attach_one(l, &attach[i], err, len);
		if (ret)
			return ret;
	}
	ret = proc_up(l, err, len);
	if (ret)
		return ret;
	snprintf(l->features, sizeof(l->features),
		 "cgroup connect4/6, sendmsg4/6, recvmsg4/6, getpeername4/6, "
		 "bind4/6, setsockopt, unix connect/sendmsg, sock_create, "
		 "cgroup_skb egress and ingress; LPM "
		 "trie allowlists with slot flip; DNS redirect to a "
		 "per-context resolver; ring buffer events; pinned bpf links; "
		 "syscall audit (raw tracepoints sched_process_exec, "
		 "sys_exit); per-context budgets of denial events; "
		 "time-limited grants with kernel deadlines (CLOCK_BOOTTIME) "
		 "and quarantine");
	ret = tw_maps_open(&l->maps);
	if (!ret && l->maps.budget >= 0)
		ret = tw_budget_map(&l->budget, l->maps.budget);
	if (ret)
		say(err, len, "cannot open the pinned maps: %s", strerror(-ret));
	return ret;
}

void tw_loader_close(struct tw_loader *l)
{
	tw_budget_unmap(&l->budget);
	tw_maps_close(&l->maps);
	if (l->skel)
		tw_sock__destroy(l->skel); /* links are pinned: they stay */
	l->skel = NULL;
	if (l->proc)
		tw_proc__destroy(l->proc);
	l->proc = NULL;
	if (l->cg_root_fd >= 0)
		close(l->cg_root_fd);
	l->cg_root_fd = -1;
}

int tw_maps_open(struct tw_maps *m)
{
	static const char *const names[] = {
		"tw_state",	   "tw_cgroups",    "tw_rules",
		"tw_unix",	   "tw_events",	    "tw_stats",
		"tw_dns",	   "tw_learned",    "tw_proc_events",
		"tw_proc_stats", "tw_proc_state", "tw_sys_watch",
		"tw_dns_ports",  "tw_budget",	  "tw_bk_dst",	  "tw_bk_conn",
		"tw_ctx_stats",	 "tw_grants",	 "tw_scopes",	  "tw_grant_on",
		"tw_bk_grant"};
	int *fds[] = {&m->state,       &m->cgroups,    &m->rules,
		      &m->unix_,       &m->events,     &m->stats,
		      &m->dns,	       &m->learned,    &m->proc_events,
		      &m->proc_stats,  &m->proc_state, &m->sys_watch,
		      &m->dns_ports,   &m->budget,     &m->bk_dst,     &m->bk_conn,
		      &m->ctx_stats,   &m->grants,      &m->scopes,     &m->grant_on,
		      &m->bk_grant};

	_Static_assert(sizeof(names) / sizeof(names[0]) ==
			       sizeof(fds) / sizeof(fds[0]),
		       "a name per map");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[PATH_MAX];

		pinned(path, sizeof(path), "maps", names[i]);
		*fds[i] = bpf_obj_get(path);
		if (*fds[i] < 0 && (fds[i] == &m->budget ||
				    fds[i] == &m->ctx_stats ||
				    fds[i] == &m->bk_grant))
			continue; /* pinned by an older toolwall: none */
		if (*fds[i] < 0) {
			int err = -errno;

			tw_maps_close(m);
			return err;
		}
	}
	return 0;
}

void tw_maps_close(struct tw_maps *m)
{
	int *fds[] = {&m->state,      &m->cgroups,     &m->rules,
		      &m->unix_,      &m->events,      &m->stats,
		      &m->dns,	      &m->learned,     &m->proc_events,
		      &m->proc_stats, &m->proc_state, &m->sys_watch,
		      &m->dns_ports,  &m->budget,      &m->bk_dst,      &m->bk_conn,
		      &m->ctx_stats,   &m->grants,      &m->scopes,     &m->grant_on,
		      &m->bk_grant};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] > 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_sock_alone.c - the socket programs on their own, as the kernel's
 * selftests test a program: sock.bpf.o is loaded from its skeleton with
 * no pins and no daemon, attached to a private cgroup, and its maps are
 * filled by the same code the daemon uses (policy -> compile -> maps);
 * then a child process in that cgroup makes real connections on
 * loopback, and the verdicts and the ring buffer events are checked.
 * Processes outside the cgroup are untouched, and once the links are
 * gone the same connection succeeds (the program was the cause).
 *
 * Usage: test_sock_alone SCRATCH_DIR. Prints TAP and "RESULT p f s".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroups.h"
#include "compile.h"
#include "diags.h"
#include "loader.h"
#include "maps.h"
#include "policy.h"
#include "sock.skel.h"
#include "toolwall.h"

static int passed, failed, skipped, n;

static void result(int good, const char *what, const char *why)
{
	n++;
	if (good) {
		passed++;
		printf("ok %d - %s\n", n, what);
	} else {
		failed++;
		printf("not ok %d - %s # %s\n", n, what, why ? why : "");
	}
	fflush(stdout);
}

static int finish(void)
{
	printf("# %d passed, %d failed, %d skipped\n1..%d\n", passed, failed,
	       skipped, n);
	printf("RESULT %d %d %d\n", passed, failed, skipped);
	return failed ? 1 : 0;
}

/* A listening TCP socket and a bound UDP socket on FAMILY loopback,
 * the same free port for both; returns the port. */
static int listen_lo(int family, int *tcp, int *udp)
{
	struct sockaddr_storage ss = {};
	socklen_t sl = sizeof(ss);
	int port = 0;

	for (int i = 0; i < 2; i++) {
		int fd = socket(family, i ? SOCK_DGRAM : SOCK_STREAM, 0);
		struct sockaddr_in *a4 = (void *)&ss;
		struct sockaddr_in6 *a6 = (void *)&ss;

		memset(&ss, 0, sizeof(ss));
		ss.ss_family = family;
		if (family == AF_INET) {
			a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			a4->sin_port = htons(port);
			sl = sizeof(*a4);
		} else {
			a6->sin6_addr = in6addr_loopback;
			a6->sin6_port = htons(port);
			sl = sizeof(*a6);
		}
		if (fd < 0 || bind(fd, (void *)&ss, sl) ||
		    (!i && listen(fd, 64)) || getsockname(fd, (void *)&ss, &sl))
			return -1;
		port = ntohs(family == AF_INET ? a4->sin_port : a6->sin6_port);
		*(i ? udp : tcp) = fd;
	}
	return port;
}

/* connect() (TCP) or sendto() (UDP) to ADDR:PORT: 0 or errno. */
static int reach(const char *addr, int port, int type)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(port) };
	struct sockaddr_in a4 = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	int v6 = strchr(addr, ':') != NULL, fd, ret = 0;
	void *sa = v6 ? (void *)&a6 : (void *)&a4;
	socklen_t sl = v6 ? sizeof(a6) : sizeof(a4);

	if (v6 ? inet_pton(AF_INET6, addr, &a6.sin6_addr) != 1 :
		 inet_pton(AF_INET, addr, &a4.sin_addr) != 1)
		return EINVAL;
	fd = socket(v6 ? AF_INET6 : AF_INET, type, 0);
	if (fd < 0)
		return errno;
	if (type == SOCK_STREAM ? connect(fd, sa, sl) :
				  sendto(fd, "x", 1, 0, sa, sl) < 0)
		ret = errno;
	close(fd);
	return ret;
}

/* Run reach() in a child that first joins cgroup CG (NULL: stays). */
static int reach_from(const char *cg, const char *addr, int port, int type,
		      pid_t *child)
{
	int st;
	pid_t p = fork();

	if (p == 0) {
		char procs[4096];
		FILE *f;

		if (cg) {
			snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
			f = fopen(procs, "w");
			if (!f || fprintf(f, "0\n") < 0 || fclose(f))
				_exit(200);
		}
		_exit(reach(addr, port, type));
	}
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st))
		return -1;
	if (child)
		*child = p;
	return WEXITSTATUS(st);
}

struct seen {
	struct tw_event ev[16];
	int n;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct seen *s = ctx;

	if (size >= sizeof(struct tw_event) && s->n < 16)
		memcpy(&s->ev[s->n++], data, sizeof(struct tw_event));
	return 0;
}

static const struct tw_event *find_event(const struct seen *s, pid_t pid,
					 int port)
{
	for (int i = 0; i < s->n; i++)
		if (s->ev[i].pid == (__u32)pid && s->ev[i].dport == port)
			return &s->ev[i];
	return NULL;
}

static int write_policy(const char *path, int port)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f,
		"{ \"workspace\": \"selftest\",\n"
		"  \"agent\": { \"name\": \"t\", \"user\": \"root\" },\n"
		"  \"baseline\": [\"lo\"] }\n"
		"{ \"bundle\": \"lo\", \"connect\": [\"127.0.0.1:%d\", "
		"\"udp://127.0.0.1:%d\"] }\n",
		port, port);
	return fclose(f);
}

/* Load the compiled policy at PATH into the skeleton's maps, with cgroup
 * CGID as the context's. */
static int push_policy(struct tw_sock *skel, const char *path, uint64_t cgid,
		       char *err, size_t len)
{
	struct tw_maps m = {
		.state = bpf_map__fd(skel->maps.tw_state),
		.cgroups = bpf_map__fd(skel->maps.tw_cgroups),
		.rules = bpf_map__fd(skel->maps.tw_rules),
		.unix_ = bpf_map__fd(skel->maps.tw_unix),
		.events = bpf_map__fd(skel->maps.tw_events),
		.stats = bpf_map__fd(skel->maps.tw_stats),
		.dns = bpf_map__fd(skel->maps.tw_dns),
		.learned = bpf_map__fd(skel->maps.tw_learned),
		.dns_ports = bpf_map__fd(skel->maps.tw_dns_ports),
		.proc_events = -1, .proc_stats = -1, .proc_state = -1,
		.sys_watch = -1,
	};
	struct tw_policy pol = {};
	struct tw_compiled comp = {};
	struct tw_diags dg = {};
	struct tw_cg_entry cg = { .cgid = cgid, .ctx = 0 };
	uint32_t slot;
	int ret;

	ret = tw_policy_load(path, &pol, &dg);
	if (!ret)
		ret = tw_compile(&pol, &comp, &dg);
	if (ret) {
		snprintf(err, len, "policy %s does not compile (%d)", path, ret);
		goto out;
	}
	ret = tw_compiled_find(&comp, "workspace:selftest");
	if (ret < 0) {
		snprintf(err, len, "no context workspace:selftest");
		goto out;
	}
	cg.ctx = (uint32_t)ret;
	ret = tw_maps_push(&m, &comp, &cg, 1, NULL, &slot, err, len);
out:
	tw_compiled_free(&comp);
	tw_policy_free(&pol);
	tw_diags_free(&dg);
	return ret;
}

/*
 * The work the verifier did for each program (instructions it walked):
 * every one well inside the kernel's complexity limit of 1 000 000, so
 * a change to a hook, or a kernel whose verifier walks more, does not
 * stop toolwall from loading; and the daemon's start stays short (the
 * walk is most of it). The port list and the grant slots are global
 * functions for that reason.
 */
#define TW_VERIFIER_BUDGET 200000
static void verifier_budget(struct tw_sock *skel)
{
	struct bpf_program *p;
	char why[200] = "", list[2048] = "";
	size_t off = 0;
	int good = 1;

	bpf_object__for_each_program(p, skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_program__fd(p) < 0)
			continue;
		if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len)) {
			good = 0;
			snprintf(why, sizeof(why), "%s: no prog info",
				 bpf_program__name(p));
			continue;
		}
		if (off < sizeof(list))
			off += snprintf(list + off, sizeof(list) - off, " %s %u",
					bpf_program__name(p),
					info.verified_insns);
		if (info.verified_insns > TW_VERIFIER_BUDGET) {
			good = 0;
			snprintf(why, sizeof(why), "%s: %u instructions verified",
				 bpf_program__name(p), info.verified_insns);
		}
	}
	printf("# verified instructions:%s\n", list);
	result(good, "every program verifies in under 200000 instructions "
		     "(a fifth of the kernel's limit)", why);
}

int main(int argc, char **argv)
{
	char cgm[4096], cg[4200], pol[4096], err[512] = "", why[600];
	int tcp4 = -1, udp4 = -1, port, other, t2, u2;
	struct bpf_link *links[4] = {};
	struct ring_buffer *rb = NULL;
	struct tw_sock *skel = NULL;
	struct seen seen = {};
	const struct tw_event *e;
	uint64_t cgid = 0;
	pid_t child = 0;
	int cgfd = -1, r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
		return 2;
	}
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	port = listen_lo(AF_INET, &tcp4, &udp4);
	other = listen_lo(AF_INET, &t2, &u2);
	cg[0] = 0;
	if (port < 0 || other < 0) {
		printf("# cannot listen on loopback\n");
		result(0, "loopback listeners", strerror(errno));
		return finish();
	}
	/* Without the program: both ports answer. */
	result(reach("127.0.0.1", port, SOCK_STREAM) == 0 &&
		       reach("127.0.0.1", other, SOCK_STREAM) == 0,
	       "without the program: both loopback ports accept", NULL);

	snprintf(pol, sizeof(pol), "%s/policy.json", argv[1]);
	if (tw_cg_mount(cgm, sizeof(cgm)) || write_policy(pol, port)) {
		result(0, "setup", "no cgroup v2 mount, or scratch dir");
		return finish();
	}
	snprintf(cg, sizeof(cg), "%s/tw-bpftest-%d", cgm, getpid());
	if (mkdir(cg, 0755) || tw_cg_id(cg, &cgid) ||
	    (cgfd = open(cg, O_RDONLY | O_DIRECTORY)) < 0) {
		result(0, "private cgroup", strerror(errno));
		rmdir(cg);
		return finish();
	}

	skel = tw_sock__open();
	if (skel) {
		/* the unix hooks need their attach types set by hand
		 * (libbpf 1.1 does not know them); they stay unattached */
		bpf_program__set_expected_attach_type(skel->progs.tw_unix_conn,
						      (enum bpf_attach_type)49);
		bpf_program__set_expected_attach_type(skel->progs.tw_unix_send,
						      (enum bpf_attach_type)50);
	}
	r = skel ? tw_sock__load(skel) : -errno;
	result(r == 0, "sock.bpf.o loads alone from its skeleton, no pins",
	       strerror(-r));
	if (r)
		goto out;
	verifier_budget(skel);
	r = push_policy(skel, pol, cgid, err, sizeof(err));
	result(r == 0, "the maps take a compiled policy (tw_maps_push)", err);
	if (r)
		goto out;
	links[0] = bpf_program__attach_cgroup(skel->progs.tw_connect4, cgfd);
	links[1] = bpf_program__attach_cgroup(skel->progs.tw_connect6, cgfd);
	links[2] = bpf_program__attach_cgroup(skel->progs.tw_sendmsg4, cgfd);
	links[3] = bpf_program__attach_cgroup(skel->progs.tw_sendmsg6, cgfd);
	result(links[0] && links[1] && links[2] && links[3],
	       "connect4/6 and sendmsg4/6 attach to the private cgroup",
	       strerror(errno));
	if (!links[0] || !links[1] || !links[2] || !links[3])
		goto out;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.tw_events), on_event,
			      &seen, NULL);

	r = reach_from(cg, "127.0.0.1", port, SOCK_STREAM, NULL);
	snprintf(why, sizeof(why), "errno %d", r);
	result(r == 0, "in the cgroup: the granted TCP port connects", why);
	r = reach_from(cg, "127.0.0.1", other, SOCK_STREAM, &child);
	snprintf(why, sizeof(why), "errno %d", r);
	result(r == EPERM, "in the cgroup: another TCP port is refused (EPERM)",
	       why);
	if (rb)
		ring_buffer__consume(rb);
	e = find_event(&seen, child, other);
	snprintf(why, sizeof(why), "%d events, none of pid %d port %d",
		 seen.n, child, other);
	result(e && e->action == TW_ACT_CONNECT &&
		       e->verdict == TW_VERDICT_DENY && e->cgid == cgid &&
		       e->family == 4 && e->proto == IPPROTO_TCP &&
		       TW_CTX_IDX(e->ctx) == 0,
	       "the refusal is one ring buffer event: pid, cgroup, port, "
	       "connect, deny",
	       why);
	r = reach_from(cg, "127.0.0.1", port, SOCK_DGRAM, NULL);
	snprintf(why, sizeof(why), "errno %d", r);
	result(r == 0, "in the cgroup: UDP to the granted port is sent", why);
	r = reach_from(cg, "127.0.0.1", other, SOCK_DGRAM, NULL);
	snprintf(why, sizeof(why), "errno %d", r);
	result(r == EPERM, "in the cgroup: UDP to another port is refused", why);
	r = reach_from(cg, "::ffff:127.0.0.1", port, SOCK_STREAM, NULL);
	snprintf(why, sizeof(why), "errno %d", r);
	result(r == 0, "IPv4-mapped ::ffff:127.0.0.1 is the granted IPv4 host",
	       why);
	r = reach_from(cg, "::ffff:127.0.0.1", other, SOCK_STREAM, NULL);
	snprintf(why, sizeof(why), "errno %d", r);
	result(r == EPERM, "IPv4-mapped to another port is refused", why);
	r = reach_from(NULL, "127.0.0.1", other, SOCK_STREAM, NULL);
	snprintf(why, sizeof(why), "errno %d", r);
	result(r == 0, "outside the cgroup: the same port still connects", why);

	for (int i = 0; i < 4; i++) {
		bpf_link__destroy(links[i]);
		links[i] = NULL;
	}
	r = reach_from(cg, "127.0.0.1", other, SOCK_STREAM, NULL);
	snprintf(why, sizeof(why), "errno %d", r);
	result(r == 0, "links gone: the cgroup's refused port connects again",
	       why);
out:
	for (int i = 0; i < 4; i++)
		bpf_link__destroy(links[i]);
	ring_buffer__free(rb);
	tw_sock__destroy(skel);
	if (cgfd >= 0)
		close(cgfd);
	if (cg[0] && rmdir(cg))
		printf("# cannot remove %s: %s\n", cg, strerror(errno));
	return finish();
}

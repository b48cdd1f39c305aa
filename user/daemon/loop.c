// SPDX-License-Identifier: GPL-2.0-only
/*
 * loop.c - the life of `toolwall daemon`: start (one daemon at a time,
 * load or re-adopt the programs, the first policy), the event loop, and
 * stop. daemon.c turns events into records and reloads the policy.
 *
 * One thread, one epoll loop: ring buffers (socket hooks, syscall audit),
 * control socket, the kernel audit log (Landlock's records), signals, a
 * 100 ms drain timer with 1 s housekeeping (loss accounting, call cleanup,
 * attaching the sys_exit tracepoint only while calls may run). The ring
 * buffers are drained in bounded batches, d->lock held for one batch at a
 * time: between two batches the loop serves control requests (a reload,
 * a call start), signals and timers, so a flood delays none of them by
 * more than a batch.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "cgdelegate.h"
#include "cgroups.h"
#include "brokerd.h"
#include "cmds.h"
#include "control.h"
#include "daemon.h"
#include "grants.h"
#include "dns.h"
#include "audit_opts.h"
#include "dnsrefuse.h"
#include "kaudit.h"
#include "launchsock.h"
#include "learned.h"
#include "maps.h"
#include "metrics.h"
#include "notify.h"
#include "state.h"
#include "sysaudit.h"
#include "toolwall.h"
#include "util.h"

static const char daemon_usage[] =
	"Usage: toolwall daemon [-p POLICY] [--audit-log FILE] [-d]\n"
	"Load and pin the eBPF programs on the toolwall cgroup tree, create a\n"
	"cgroup per context, push the policy, write the audit log and serve\n"
	"the control socket (/run/toolwall/control.sock; see ENVIRONMENT in\n"
	"toolwall(8) for moving the roots).\n"
	"The audit log also gets what tool calls ran (exec records, with argv)\n"
	"and every file or escape syscall they were refused (raw tracepoints;\n"
	"plus Landlock's own records when the kernel audit log is enabled).\n"
	"SIGHUP or `toolwall reload` reloads the policy atomically; a policy\n"
	"with errors is refused and the one in force stays. Stopping the\n"
	"daemon leaves enforcement in place: only `toolwall down` removes it.\n"
	"Under a service manager it reports readiness over $NOTIFY_SOCKET\n"
	"once enforcing, and keeps tool calls in its delegated cgroup (see\n"
	"SERVICE in toolwall(8)).\n"
	"  -p, --policy PATH   policy directory or file (default "
	TW_DEFAULT_POLICY ")\n"
	"  --audit-log FILE    audit log (default " TW_DEFAULT_AUDIT_LOG ")\n"
	"  --audit-max-size BYTES  rotate the audit log once it reaches BYTES\n"
	"                      (K, M, G suffixes; default 64M; 0: never)\n"
	"  --audit-max-age SECONDS rotate it once its first record is older\n"
	"                      (default 86400; 0: never)\n"
	"  --audit-keep N      rotated segments kept, gzip'd (default 10)\n"
	"  --audit-budget RATE[:BURST]  each context's budget of denial\n"
	"                      records, kept by the kernel: RATE a second,\n"
	"                      BURST at once (default 200:1000; BURST\n"
	"                      defaults to 5 x RATE; 0: no budget). Events over\n"
	"                      it are enforced, counted exactly and reported\n"
	"                      in `lost` records naming the context\n"
	"  --dns-budget QPS[:BURST[:INFLIGHT]]  each context's share of the\n"
	"                      resolver: QPS queries a second, BURST at once\n"
	"                      (default 200:400:3; BURST defaults to 2 x QPS;\n"
	"                      QPS 0: no query budget), INFLIGHT upstream\n"
	"                      lookups at once (1 to 8, the resolver's threads)\n"
	"  --syslog DEST       also send every record as RFC 5424 syslog to\n"
	"                      udp://HOST:PORT, unix:PATH (datagram),\n"
	"                      tcp://HOST:PORT (RFC 6587 octet counting) or\n"
	"                      tls://HOST:PORT (RFC 5425; the server's\n"
	"                      certificate must name HOST); a stream\n"
	"                      reconnects with backoff, its queue's drops are\n"
	"                      `lost` records (source syslog)\n"
	"  --syslog-ca FILE    trust these PEM CA certificates for tls://\n"
	"                      (default: the system's store)\n"
	"  --syslog-sd-id NAME@PEN  structured data [NAME@PEN seq=.. hash=..]\n"
	"                      with your IANA enterprise number (default:\n"
	"                      none, every field is in the JSON message)\n"
	"  --syslog-queue N    messages a stream keeps while the collector is\n"
	"                      away (default 4096)\n"
	"  --audit-key FILE    sign checkpoints of the log's hash chain with\n"
	"                      this Ed25519 key (root only, 0600; `toolwall\n"
	"                      audit keygen` makes one): at start, before\n"
	"                      each rotation, every RECORDS records or\n"
	"                      SECONDS seconds, and at stop\n"
	"  --audit-checkpoint RECORDS/SECONDS  how often (default 1000/60)\n"
	"  --audit-group GROUP responders in GROUP read the log without root\n"
	"                      (files 0640, directory 0750; default\n"
	"                      toolwall-audit when it exists; none: root only)\n"
	"  --metrics ADDR      serve Prometheus metrics at GET /metrics on\n"
	"                      IPv4:PORT (127.0.0.1:9464), [IPv6]:PORT or\n"
	"                      unix:PATH (0660 root:toolwall-audit when that\n"
	"                      group exists, else 0600); counters from 0 at\n"
	"                      each start (see METRICS in toolwall(8))\n"
	"  --launch-group GROUP  members of GROUP (and root) may launch tool\n"
	"                      calls with `toolwall exec` through the launch\n"
	"                      socket (default " TW_LAUNCH_GROUP "; when it does not\n"
	"                      exist, root only)\n"
	"  --launch-max N      tool calls launched through it that may run at\n"
	"                      once (default 64); beyond, a launcher is told to\n"
	"                      try again\n"
	"  -d, --debug         libbpf and verifier output\n";

/* ---- calls ------------------------------------------------------ */

/* The resolver learned or forgot an address of a name: the brokered
 * services' redirects follow, the context's own and its grants'. */
static void learned_changed(struct tw_daemon *d, const char *ctx,
			    const char *name, const struct tw_learn_entry *e,
			    bool add)
{
	tw_brokerd_learned(d, ctx, name, e, add);
	tw_grants_bk_learned(d, ctx, name, e, add);
}

static void calls_load(struct tw_daemon *d)
{
	json_t *st = json_load_file(tw_roots.state, 0, NULL), *c;
	size_t i;

	if (!st)
		return;
	d->next_call = json_integer_value(json_object_get(st, "next_call"));
	json_array_foreach(json_object_get(st, "calls"), i, c)
	{
		struct tw_call call = {};
		uint64_t id;
		const char *cg = json_string_value(json_object_get(c, "cgroup"));

		if (!cg || tw_cg_id(cg, &id))
			continue; /* the cgroup is gone: nothing to adopt */
		call.cgid = id;
		snprintf(call.cgroup, sizeof(call.cgroup), "%s", cg);
		snprintf(call.context, sizeof(call.context), "%s",
			 json_string_value(json_object_get(c, "context")) ?: "");
		snprintf(call.call_id, sizeof(call.call_id), "%s",
			 json_string_value(json_object_get(c, "call_id")) ?: "");
		snprintf(call.requester, sizeof(call.requester), "%s",
			 json_string_value(json_object_get(c, "requester")) ?: "");
		call.started_ns =
			json_integer_value(json_object_get(c, "started_ns"));
		call.launcher_uid =
			json_is_integer(json_object_get(c, "launcher_uid")) ?
				json_integer_value(
					json_object_get(c, "launcher_uid")) :
				-1;
		call.ended = json_is_true(json_object_get(c, "ended"));
		if (json_is_array(json_object_get(c, "brokered")))
			call.brokered = json_incref(json_object_get(c, "brokered"));
		struct tw_call *nc = realloc(d->calls,
					     (d->ncalls + 1) * sizeof(*nc));
		if (!nc)
			break;
		d->calls = nc;
		d->calls[d->ncalls++] = call;
	}
	json_decref(st);
}

/*
 * Keep the syscall-denial tracepoint attached only while tool calls may
 * run (it costs every syscall of the host): while a call is open or any
 * process is in the toolwall tree. call-start attaches it synchronously.
 */
static void syscall_watch_update(struct tw_daemon *d)
{
	bool open_call = false;
	char why[512];
	int pop;

	for (size_t i = 0; i < d->ncalls && !open_call; i++)
		open_call = !d->calls[i].ended;
	pop = tw_cg_populated(d->ld.cg_root);
	if (pop < 0)
		pop = 1; /* cannot tell: keep watching */
	if (tw_loader_watch_syscalls(&d->ld, open_call || pop, why,
				     sizeof(why)))
		tw_warn("syscall audit: %s", why);
}

/* ---- main ------------------------------------------------------- */

static void audit_daemon(struct tw_daemon *d, const char *what)
{
	json_t *rec = tw_audit_record(&d->audit, "daemon", 0);

	json_object_set_new(rec, "action", json_string(what));
	json_object_set_new(rec, "pid", json_integer(getpid()));
	json_object_set_new(rec, "adopted", json_boolean(d->ld.adopted));
	json_object_set_new(rec, "policy_rev",
			    d->rev[d->slot].valid ?
				    json_string(d->rev[d->slot].comp.revision) :
				    json_null());
	tw_audit_write(&d->audit, rec);
}

static void epoll_add(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)fd };

	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* The loop's own descriptors: signals and the drain timer. */
struct loop {
	int ep, sfd, tfd;
	int rbfd[2]; /* the ring buffers' epoll fds */
	int broker_fd; /* the broker's control socket (new at each restart) */
	unsigned int ticks;
	bool more; /* a ring buffer may hold events: drain, do not wait */
};

/* The broker's control socket changes when it is restarted (a closed one
 * left the epoll set by itself; adding one already there is EEXIST). */
static void broker_watch(struct tw_daemon *d, struct loop *l)
{
	l->broker_fd = tw_brokerd_fd(d);
	if (l->broker_fd >= 0)
		epoll_add(l->ep, l->broker_fd);
}

static int loop_open(struct tw_daemon *d, struct loop *l, int ep)
{
	/* Events come without wakeups (TW_WAKEUP_BYTES): drain them every
	 * TW_DRAIN_MS; the rest of the housekeeping runs once a second. */
	struct itimerspec its = {
		.it_interval = { 0, TW_DRAIN_MS * 1000000L },
		.it_value = { 0, TW_DRAIN_MS * 1000000L },
	};
	sigset_t mask;

	memset(l, 0, sizeof(*l));
	l->ep = ep;
	l->broker_fd = -1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	l->sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (l->sfd < 0 || l->tfd < 0)
		return -errno;
	timerfd_settime(l->tfd, 0, &its, NULL);
	l->rbfd[0] = ring_buffer__epoll_fd(d->rb);
	l->rbfd[1] = ring_buffer__epoll_fd(d->rb_ev);
	epoll_add(ep, l->sfd);
	epoll_add(ep, l->tfd);
	epoll_add(ep, l->rbfd[0]);
	epoll_add(ep, l->rbfd[1]);
	if (d->kaudit_fd >= 0)
		epoll_add(ep, d->kaudit_fd);
	broker_watch(d, l);
	l->more = true;
	return 0;
}

/* Every TW_DRAIN_MS: drain; once a second: the housekeeping. */
static void on_tick(struct tw_daemon *d, struct loop *l)
{
	uint64_t x;

	if (read(l->tfd, &x, sizeof(x)) < 0)
		return;
	l->more = true;
	if (++l->ticks % (1000 / TW_DRAIN_MS) == 0) {
		char news[400];

		/* the syslog copy's state changes, said once each */
		if (tw_syslog_news(d->audit.sl, news, sizeof(news)))
			tw_info("syslog %s", news);
		pthread_mutex_lock(&d->lock);
		tw_daemon_account_loss(d);
		tw_calls_settle(d);
		syscall_watch_update(d);
		tw_kaudit_tick(d);
		tw_learned_expire(&d->learned, tw_now_ns(CLOCK_MONOTONIC));
		tw_brokerd_tick(d);
		tw_grants_tick(d);
		broker_watch(d, l);
		pthread_mutex_unlock(&d->lock);
	}
	tw_control_tick(d);
}

/* SIGHUP reloads; SIGTERM and SIGINT stop. */
static void on_signal(struct tw_daemon *d, struct loop *l)
{
	struct signalfd_siginfo si = {};
	json_t *errs = NULL;

	if (read(l->sfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo != SIGHUP) {
		d->stop = true;
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (tw_daemon_reload_notify(d, &errs))
		tw_warn("reload refused; the policy in force stays");
	pthread_mutex_unlock(&d->lock);
	json_decref(errs);
}

/*
 * The event loop. d->lock is held for one batch of events, one control
 * request, one reload or one housekeeping round at a time, never while
 * waiting: control clients are read and answered by tw_control_event,
 * which takes the lock only to run a parsed request. While the ring
 * buffers hold events the loop does not sleep in epoll_wait, but looks at
 * what else is ready between two batches: under a flood, a reload or a
 * call start waits for one batch (TW_DRAIN_BATCH events) at most.
 */
static int run_loop(struct tw_daemon *d, int ep)
{
	struct epoll_event evs[16];
	struct loop l;
	int ret = loop_open(d, &l, ep);

	while (!ret && !d->stop) {
		int n = epoll_wait(ep, evs, 16, l.more ? 0 : 1000);

		for (int i = 0; i < n && !d->stop; i++) {
			uint64_t tag = evs[i].data.u64;
			int fd = (int)tag;

			if (tag & TW_CTL_TAG) {
				tw_control_event(d, tag, evs[i].events);
			} else if (tag & TW_LAUNCH_TAG) {
				tw_launch_event(d, tag);
			} else if (fd == l.rbfd[0] || fd == l.rbfd[1]) {
				l.more = true;
			} else if (fd == d->kaudit_fd) {
				pthread_mutex_lock(&d->lock);
				tw_kaudit_read(d);
				pthread_mutex_unlock(&d->lock);
			} else if (fd == l.broker_fd) {
				pthread_mutex_lock(&d->lock);
				tw_brokerd_read(d);
				pthread_mutex_unlock(&d->lock);
			} else if (fd == l.tfd) {
				on_tick(d, &l);
			} else if (fd == l.sfd) {
				on_signal(d, &l);
			}
		}
		if (l.more && !d->stop)
			l.more = tw_daemon_drain_batch(d);
	}
	pthread_mutex_lock(&d->lock);
	tw_daemon_drain(d);
	tw_daemon_account_loss(d);
	pthread_mutex_unlock(&d->lock);
	if (l.sfd >= 0)
		close(l.sfd);
	if (l.tfd >= 0)
		close(l.tfd);
	return ret;
}

/*
 * One daemon at a time: an flock on the run dir's daemon.lock, held for the daemon's
 * life (the kernel drops it when the process dies, however it dies, so a
 * killed daemon never blocks its successor). The file holds the pid of
 * the holder, for the message of a daemon that is refused.
 */
static int daemon_lock(void)
{
	char buf[32] = "";
	int fd, n;

	tw_mkdir_p(tw_roots.run, 0700);
	mkdir(tw_roots.run, 0700);
	fd = open(tw_roots.lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		tw_error("cannot open %s: %s", tw_roots.lock, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		if (err == EWOULDBLOCK)
			tw_error("another toolwall daemon (pid %s) is running: "
				 "it holds %s; stop it first (toolwall down, "
				 "or kill %s)",
				 *buf ? buf : "unknown", tw_roots.lock,
				 *buf ? buf : "it");
		else
			tw_error("cannot lock %s: %s", tw_roots.lock,
				 strerror(err));
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, n, 0) != n)
		tw_warn("cannot write the daemon's pid to %s", tw_roots.lock);
	return fd;
}

static void print_errors(json_t *errs)
{
	size_t i;
	json_t *e;

	json_array_foreach(errs, i, e)
	{
		const char *file = json_string_value(json_object_get(e, "file"));

		if (file)
			fprintf(stderr, "%s:%lld:%lld: error: %s\n", file,
				json_integer_value(json_object_get(e, "line")),
				json_integer_value(json_object_get(e, "col")),
				json_string_value(json_object_get(e, "message")));
		else
			fprintf(stderr, "Error: %s\n",
				json_string_value(json_object_get(e, "message")));
	}
}

/* --audit-budget RATE[:BURST]: BURST defaults to 5 seconds' worth. */
static int budget_opt(struct tw_daemon *d, const char *arg)
{
	unsigned long rate, burst;
	char *end;

	errno = 0;
	rate = strtoul(arg, &end, 10);
	burst = rate * 5;
	if (!errno && *end == ':')
		burst = strtoul(end + 1, &end, 10);
	if (errno || end == arg || *end || rate > TW_BUDGET_MAX_RATE ||
	    (rate && (!burst || burst > 1000 * rate))) {
		tw_error("--audit-budget %s: want RATE[:BURST], RATE 0 (no "
			 "budget) to %u events a second, BURST 1 to 1000 "
			 "times RATE",
			 arg, TW_BUDGET_MAX_RATE);
		return -1;
	}
	d->budget_rate = (uint32_t)rate;
	d->budget_burst = rate ? (uint32_t)burst : 0;
	return 0;
}

/* --metrics ADDR: its syntax now; it is bound before enforcement. */
static int metrics_opt(struct tw_daemon *d, const char *arg)
{
	char why[512];

	if (d->metrics)
		tw_metrics_close(d); /* the last one given counts */
	d->metrics = tw_metrics_new(arg, why, sizeof(why));
	if (!d->metrics)
		tw_error("%s", why);
	return d->metrics ? 0 : -1;
}

/* --launch-max N: 1 to TW_LAUNCH_MAX_LIMIT. */
static int launch_max_opt(struct tw_daemon *d, const char *arg)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || n < 1 || n > TW_LAUNCH_MAX_LIMIT) {
		tw_error("--launch-max %s: want 1 to %d tool calls", arg,
			 TW_LAUNCH_MAX_LIMIT);
		return -1;
	}
	d->launch_max = (unsigned int)n;
	return 0;
}

/* The daemon's options into D and AO. Returns -1 to go on, or an exit
 * status (0: --help; 2: a usage error). */
static int daemon_opts(int argc, char **argv, struct tw_daemon *d,
		       struct tw_audit_opts *ao)
{
	/* 'O': an option of the audit log or its syslog copy (audit_opts.h),
	 * named as there without "audit-" */
	static const struct option opts[] = {
		{ "policy", required_argument, 0, 'p' },
		{ "audit-log", required_argument, 0, 'a' },
		{ "audit-max-size", required_argument, 0, 'O' },
		{ "audit-max-age", required_argument, 0, 'O' },
		{ "audit-keep", required_argument, 0, 'O' },
		{ "audit-budget", required_argument, 0, 'B' },
		{ "syslog", required_argument, 0, 'O' },
		{ "syslog-ca", required_argument, 0, 'O' },
		{ "syslog-sd-id", required_argument, 0, 'O' },
		{ "syslog-queue", required_argument, 0, 'O' },
		{ "audit-key", required_argument, 0, 'O' },
		{ "audit-checkpoint", required_argument, 0, 'O' },
		{ "audit-group", required_argument, 0, 'O' },
		{ "metrics", required_argument, 0, 'M' },
		{ "launch-group", required_argument, 0, 'g' },
		{ "launch-max", required_argument, 0, 'X' },
		{ "dns-budget", required_argument, 0, 'D' },
		{ "debug", no_argument, 0, 'd' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	const char *name;
	int c, idx = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:dh", opts, &idx)) != -1) {
		switch (c) {
		case 'p': d->policy_path = optarg; break;
		case 'a': d->audit_path = optarg; break;
		case 'O':
			name = opts[idx].name;
			if (!strncmp(name, "audit-", 6))
				name += 6;
			if (tw_audit_daemon_opt(ao, name, optarg))
				return 2;
			break;
		case 'B':
			if (budget_opt(d, optarg))
				return 2;
			break;
		case 'M':
			if (metrics_opt(d, optarg))
				return 2;
			break;
		case 'g':
			d->launch_group = optarg;
			d->launch_group_set = true;
			break;
		case 'X':
			if (launch_max_opt(d, optarg))
				return 2;
			break;
		case 'D':
			if (tw_dns_budget_opt(d, optarg))
				return 2;
			break;
		case 'd': d->debug = true; break;
		case 'h': fputs(daemon_usage, stdout); return 0;
		default: fputs(daemon_usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fputs(daemon_usage, stderr);
		return 2;
	}
	return tw_audit_daemon_opts_done(ao) ? 2 : -1;
}

/*
 * Events queued while no daemon ran carry the previous daemon's slot
 * (PREV): when it held the revision now in force, they are named with it.
 */
static void adopt_alias(struct tw_daemon *d, const struct tw_state *prev)
{
	char hex[65];

	if (!d->rev[d->slot].valid)
		return;
	for (int k = 0; k < 32; k++)
		snprintf(hex + 2 * k, 3, "%02x", prev->revision[k]);
	if ((prev->slot & 1) != d->slot &&
	    !strcmp(hex, d->rev[d->slot].comp.revision))
		d->alias_slot = (int)(prev->slot & 1);
}

/* Load (or re-adopt) the programs, the first policy, and what the
 * previous daemon left. Returns 0 or -errno (said on stderr). */
static int daemon_up(struct tw_daemon *d)
{
	struct tw_state prev = {};
	bool had_prev;
	char why[512];
	json_t *errs = NULL;
	int ret;

	ret = tw_loader_up(&d->ld, d->debug, why, sizeof(why));
	if (ret) {
		tw_error("refusing to start: %s", why);
		return ret;
	}
	/* Before the first push: brokered services redirect to its port. */
	d->learned_hook = learned_changed;
	tw_brokerd_open(d);
	/* Rings a killed daemon left: their head may be an event it had
	 * recorded already. */
	if (d->ld.adopted)
		d->nrecorded = tw_audit_recent_kevents(
			&d->audit, d->recorded,
			sizeof(d->recorded) / sizeof(d->recorded[0]));
	d->started_ns = tw_now_ns(CLOCK_REALTIME);
	d->dns_epoll = epoll_create1(EPOLL_CLOEXEC);
	tw_mkdir_p(tw_roots.run, 0700);
	calls_load(d);
	tw_brokerd_adopted(d); /* their placeholders work on */
	ret = tw_grants_open(d);
	if (ret) {
		tw_error("cannot take over the grants: %s", strerror(-ret));
		return ret;
	}
	syscall_watch_update(d);
	ret = tw_daemon_rings_open(d);
	if (ret) {
		tw_error("cannot open the event ring buffers: %s",
			 strerror(-ret));
		return ret;
	}
	had_prev = d->ld.adopted && !tw_maps_state(&d->ld.maps, &prev);
	if (had_prev)
		d->slot = prev.slot & 1;
	ret = tw_daemon_reload(d, &errs);
	if (ret) {
		tw_error("policy %s not loaded:", d->policy_path);
		print_errors(errs);
		if (d->ld.adopted)
			tw_error("the enforcement already in force stays");
		json_decref(errs);
		return ret;
	}
	if (had_prev)
		adopt_alias(d, &prev);
	tw_calls_secrets_load(d); /* adopted calls' values out of records */
	tw_daemon_drain(d);
	return 0;
}

/* The daemon's sockets: Landlock's records, the control socket, DNS. */
static int daemon_serve(struct tw_daemon *d, int *ep)
{
	int ret;

	/* Landlock's own records: a second source, where the kernel has an
	 * audit log (its absence is reported in status, not fatal). */
	d->kaudit_fd = tw_kaudit_open(d->kaudit_why, sizeof(d->kaudit_why));
	d->kaudit_enabled = d->kaudit_fd >= 0 ? tw_kaudit_enabled() : -1;
	*ep = epoll_create1(EPOLL_CLOEXEC);
	ret = *ep < 0 ? -errno : tw_control_open(d, *ep);
	if (ret) {
		tw_error("cannot listen on %s: %s", tw_control_path(),
			 strerror(-ret));
		return ret;
	}
	ret = tw_launch_open(d, *ep);
	if (ret)
		return ret;
	ret = tw_dns_start(d);
	if (ret)
		tw_error("cannot start the resolver: %s", strerror(-ret));
	return ret;
}

static void daemon_close(struct tw_daemon *d, int ep)
{
	tw_metrics_close(d); /* its thread reads what follows */
	tw_launch_close(d);
	tw_control_close(d);
	if (ep >= 0)
		close(ep);
	tw_dns_stop(d);
	tw_brokerd_close(d);
	if (d->dns_epoll >= 0)
		close(d->dns_epoll);
	if (d->kaudit_fd >= 0)
		close(d->kaudit_fd);
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	tw_daemon_rings_close(d);
	tw_loader_close(&d->ld);
	for (int s = 0; s < 2; s++)
		tw_revision_free(&d->rev[s]);
	free(d->calls);
	free(d->call_filter);
	tw_grants_close(d);
	tw_audit_close(&d->audit);
}

/*
 * Under a service manager: the cgroup root is the service's delegated
 * subtree when it has one (the rule is in cgdelegate.h), and readiness is
 * reported to it. -1 when the daemon must not start (said why).
 */
static int service_setup(void)
{
	char why[768];
	int ret = tw_cg_delegate(why, sizeof(why));

	if (ret < 0) {
		tw_error("refusing to start: %s", why);
		return -1;
	}
	if (ret != TW_CG_DEFAULT || getenv("INVOCATION_ID"))
		tw_info("%s", why);
	if (tw_notify_init() < 0)
		tw_warn("NOTIFY_SOCKET is not a unix socket address (a path "
			"or @name); readiness is not reported");
	return 0;
}

int cmd_daemon(int argc, char **argv)
{
	struct tw_daemon d = { .listen_fd = -1, .dns_epoll = -1,
			       .kaudit_fd = -1, .alias_slot = -1,
			       .budget_rate = TW_BUDGET_RATE,
			       .budget_burst = TW_BUDGET_BURST,
			       .launch_group = TW_LAUNCH_GROUP,
			       .launch_max = TW_LAUNCH_MAX,
			       .dns_qps = TW_DNS_QPS,
			       .dns_burst = TW_DNS_QPS_BURST,
			       .dns_inflight = TW_DNS_INFLIGHT,
			       .drain = tw_daemon_drain,
			       .reload = tw_daemon_reload_notify };
	struct tw_audit_opts ao = { .max_size = TW_AUDIT_MAX_SIZE,
				    .max_age_s = TW_AUDIT_MAX_AGE,
				    .keep = TW_AUDIT_KEEP };
	char why[512];
	int ret, lock_fd, ep = -1;
	sigset_t mask;

	d.policy_path = tw_opts.policy;
	tw_daemon_learned_init(&d);
	d.audit_path = getenv("TOOLWALL_AUDIT_LOG");
	if (getenv("TOOLWALL_TEST_KILL_AFTER_EVENTS"))
		d.kill_after_events =
			strtoull(getenv("TOOLWALL_TEST_KILL_AFTER_EVENTS"), NULL, 10);
	if (!d.audit_path || !*d.audit_path)
		d.audit_path = TW_DEFAULT_AUDIT_LOG;
	d.debug = tw_opts.debug;
	ret = daemon_opts(argc, argv, &d, &ao);
	if (ret >= 0)
		return ret;

	/* A client that goes away before its answer must not kill us: every
	 * socket write also passes MSG_NOSIGNAL and is checked. */
	signal(SIGPIPE, SIG_IGN);
	lock_fd = daemon_lock();
	if (lock_fd < 0)
		return 1;
	if (service_setup()) {
		close(lock_fd);
		return 1;
	}
	/* A busy port or path refuses the start before enforcement changes. */
	if (d.metrics && tw_metrics_listen(d.metrics, why, sizeof(why))) {
		tw_error("refusing to start: %s", why);
		tw_metrics_close(&d);
		close(lock_fd);
		return 1;
	}
	/* Signals are read from a signalfd by the event loop; block them
	 * before any thread exists so none of them takes one. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	ret = tw_probe_features(why, sizeof(why));
	if (ret) {
		tw_error("refusing to start: %s", why);
		tw_metrics_close(&d);
		close(lock_fd);
		return 1;
	}
	/* A log that cannot be written does not stop enforcement: its
	 * records are counted and reported once it can be. */
	ret = tw_audit_open(&d.audit, d.audit_path, &ao);
	if (ret)
		tw_warn("cannot open audit log %s: %s; records are counted as "
			"lost until it can be written",
			d.audit_path, strerror(-ret));
	pthread_mutex_init(&d.lock, NULL);
	ret = daemon_up(&d);
	if (!ret)
		ret = daemon_serve(&d, &ep);
	if (!ret && (ret = tw_metrics_start(&d, why, sizeof(why))))
		tw_error("%s", why);
	if (!ret) {
		audit_daemon(&d, d.ld.adopted ? "adopt" : "start");
		tw_info("enforcing policy %.12s (%zu contexts) on %s%s; audit "
			"log %s",
			d.rev[d.slot].comp.revision, d.rev[d.slot].comp.nctx,
			d.ld.cg_root,
			d.ld.adopted ? " (re-adopted pinned state)" : "",
			d.audit_path);
		/* Enforcement is up: programs attached, policy pushed, control
		 * socket and resolver serving. */
		tw_notify("READY=1\nSTATUS=enforcing policy %.12s (%zu "
			  "contexts) on %s",
			  d.rev[d.slot].comp.revision, d.rev[d.slot].comp.nctx,
			  d.ld.cg_root);
		ret = run_loop(&d, ep);
		tw_notify("STOPPING=1\nSTATUS=stopping; enforcement stays in "
			  "place");
		audit_daemon(&d, "stop");
		unlink(tw_control_path());
	}
	daemon_close(&d, ep);
	close(lock_fd); /* the next daemon may start */
	return ret ? 1 : 0;
}

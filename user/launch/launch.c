// SPDX-License-Identifier: GPL-2.0-only
/*
 * launch.c - `toolwall exec`: run one tool call confined to a context.
 *
 * The daemon creates a cgroup for the call below its context's cgroup (so
 * every process of the call, double-forked daemons included, is attributed
 * to it); the child joins it before it drops to the agent's account and
 * execs, so nothing the command does happens outside the context. When the
 * call ends, the daemon returns what was denied and we print it on stderr
 * for the agent to read.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "calldir.h"
#include "callns.h"
#include "cglimits.h"
#include "cgroups.h"
#include "cmds.h"
#include "creds.h"
#include "execargs.h"
#include "execclient.h"
#include "launch.h"
#include "prepare.h"
#include "pty.h"
#include "sandbox.h"
#include "callsummary.h"
#include "util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define EXIT_TOOLWALL	 TW_EXIT_TOOLWALL /* the command never ran */
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND	 127

static const char exec_usage[] =
    "Usage: toolwall exec CONTEXT [--call-id ID] [--requester WHO] "
    "[--env NAME=VALUE]... [-q]\n"
    "                     [--summary-json FD] -- CMD [ARG...]\n"
    "Run one tool call confined to CONTEXT (workspace:WS, channel:WS/CH or\n"
    "dm:WS/PERSON) as the context's agent account, with no_new_privs,\n"
    "Landlock and seccomp, in PID, mount and IPC namespaces of its own\n"
    "(what it may write is mounted noexec; what it leaves behind is\n"
    "killed when CMD exits unless the context sets \"background\": true).\n"
    "The call gets a fresh environment: HOME and\n"
    "TMPDIR (a private scratch directory), PATH, its context's credentials\n"
    "and instructions (TOOLWALL_*), TERM, LANG, LC_*, TZ, and what --env\n"
    "adds. It starts in the current directory when a grant covers it,\n"
    "else in its HOME. stdin, stdout, stderr and signals pass through;\n"
    "other file descriptors do not. The call runs in a session of its\n"
    "own; those of stdin, stdout and stderr that are a terminal become a\n"
    "pty of its own, relayed (keys, output, window size) until it ends.\n"
    "It is limited in processes and memory by its context's \"limits\".\n"
    "What the call runs and every file or\n"
    "syscall it is refused are audit records tied to its call id.\n"
    "Root starts the call itself; anyone else asks the daemon over its\n"
    "launch socket, which starts it for members of the launcher group\n"
    "(daemon --launch-group, default toolwall) and refuses everyone else.\n"
    "The exit status is CMD's, 128+N when a signal N ended it (125:\n"
    "toolwall's own error: usage, refused, daemon unreachable, the call\n"
    "could not be set up; 126: CMD not executable, 127: not found). When\n"
    "the call ends, what was denied is summarised on stderr.\n"
    "  --call-id ID       the tool call's id, recorded in every audit record\n"
    "                     (default: generated)\n"
    "  --requester WHO    who asked for the call; recorded, never used for\n"
    "                     access\n"
    "  --env NAME=VALUE   set a variable in the call's environment\n"
    "  -q, --quiet        no summary on stderr\n"
    "  --summary-json FD  also write the summary as one JSON line to the\n"
    "                     open descriptor FD (toolwall-protocol(7))\n";


static void env_free(struct launch *l);

/* The command, forked by the call's init: confine it and run it. */
static void __attribute__((noreturn)) call_command(struct launch *l)
{
	int err;

	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	err = tw_pty_enter(&l->pty);
	if (err) {
		tw_error("exec: cannot give the call its own terminal: %s",
			 strerror(-err));
		_exit(EXIT_TOOLWALL);
	}
	if (l->cwd && chdir(l->cwd)) {
		tw_error("exec: cannot enter %s: %s", l->cwd, strerror(errno));
		_exit(EXIT_TOOLWALL);
	}
	if (tw_sandbox_enter(&l->sb)) {
		tw_error("exec: %s; the tool call was not started", l->sb.err);
		_exit(EXIT_TOOLWALL);
	}
	/* Only stdin, stdout and stderr reach the call. */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC))
		for (int fd = 3; fd < 1024; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* execvpe searches the PATH of the launcher's environment. */
	setenv("PATH", l->path, 1);
	execvpe(l->cmd[0], l->cmd, l->env);
	err = errno;
	if (err == EACCES)
		tw_error("cannot run %s: %s (in %s, programs run only from the "
			 "workspace's system paths and the context's skills)",
			 l->cmd[0], strerror(err), l->ctx);
	else
		tw_error("cannot run %s: %s", l->cmd[0], strerror(err));
	_exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* Become the agent's account for good, with no way back to privilege. */
static int drop_privileges(const struct tw_account *a)
{
	if (setgroups(a->ngroups, a->groups) || setgid(a->gid) ||
	    setuid(a->uid)) {
		tw_error("exec: cannot become %s: %s", a->name,
			 strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) { /* must be impossible now */
		tw_error("exec: still able to regain root; refusing to run");
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		tw_error("exec: cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * What init keeps of the launcher's argv once it is wiped from
 * /proc/1/cmdline: the context and the command.
 */
static int keep_argv(struct launch *l)
{
	size_t n = 0;
	char **cmd;

	while (l->cmd[n])
		n++;
	cmd = calloc(n + 1, sizeof(*cmd));
	if (!cmd || !(l->ctx = strdup(l->ctx)))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(cmd[i] = strdup(l->cmd[i])))
			return -ENOMEM;
	l->cmd = cmd;
	return 0;
}

/*
 * pid 1 of the call's PID namespace (see callns.h): join the call's
 * cgroup, set the namespaces up, drop to the agent's account, fork the
 * command and look after it. Nothing of the call runs as root.
 */
static void __attribute__((noreturn)) call_init(struct launch *l, int status_fd)
{
	sigset_t mask;
	int err;
	pid_t pid;

	/* Its limits before anything of the call runs: in the cgroup v2
	 * clone3 created it in, and in v1 limit cgroups (hybrid layouts),
	 * joined here. The v2 cgroup is joined here too when the kernel or
	 * the cgroup did not take clone3's way. */
	err = tw_limits_join(&l->lj, getpid());
	if (err) {
		tw_error("exec: cannot join the call's limit cgroups: %s",
			 strerror(-err));
		_exit(EXIT_TOOLWALL);
	}
	err = l->in_cgroup ? 0 : tw_cg_attach(l->cgroup, getpid());
	if (err) {
		tw_error("exec: cannot join %s: %s", l->cgroup, strerror(-err));
		_exit(EXIT_TOOLWALL);
	}
	if (tw_callns_setup(&l->ns)) {
		tw_error("exec: %s; the tool call was not started", l->ns.err);
		_exit(EXIT_TOOLWALL);
	}
	/* Landlock does not look through a mount at what it covers: the
	 * grant of the host's /proc does not reach the call's own. */
	if (tw_sandbox_grant(&l->sb, "/proc", TW_FS_READ)) {
		tw_error("exec: %s; the tool call was not started", l->sb.err);
		_exit(EXIT_TOOLWALL);
	}
	/* A working directory inherited from the host names the mount
	 * below a noexec bind: enter it again by path, through the binds. */
	if (!l->cwd)
		l->cwd = getcwd(NULL, 0);
	if (keep_argv(l)) {
		tw_error("exec: out of memory");
		_exit(EXIT_TOOLWALL);
	}
	tw_callns_scrub_args();
	if (drop_privileges(&l->acct))
		_exit(EXIT_TOOLWALL);
	/* Not ptrace-able, its /proc files root's: the call cannot reach into
	 * its init (Landlock keeps it out too). */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* A launcher killed mid-call ends the call, unless it runs on. */
	if (!l->background)
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	tw_callns_hold_signals(&mask);
	pid = fork();
	if (pid < 0) {
		tw_error("exec: fork: %s", strerror(errno));
		_exit(EXIT_TOOLWALL);
	}
	if (pid == 0) {
		close(status_fd);
		sigprocmask(SIG_SETMASK, &mask, NULL);
		call_command(l);
	}
	/* The values stay with the command; init holds none of them, nor
	 * the call's terminal (its hangup must reach what is left behind). */
	tw_pty_close(&l->pty);
	env_free(l);
	tw_sandbox_free(&l->sb);
	tw_callns_init(pid, status_fd, l->background, &mask);
}

/*
 * The command's wait status, reported by the call's init; then, unless
 * the call runs on in the background, wait for the init itself: when it is
 * gone, so is everything the call left behind. REAPED: init's wait status
 * when the terminal relay already collected it, else -1; TOLD: the
 * command's status the relay read from STATUS_FD, else -1.
 */
static int call_wait(pid_t init, int status_fd, bool background, int reaped,
		     int told)
{
	int status = told, istatus = 0;
	ssize_t n = told >= 0 ? (ssize_t)sizeof(status) : 0;

	/* not told yet: the first status that is no stop, or EOF */
	while (told < 0) {
		n = read(status_fd, &status, sizeof(status));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(status) || !WIFSTOPPED(status))
			break;
	}
	if (n == sizeof(status) && background)
		return status;
	if (reaped >= 0) /* the relay saw init end */
		istatus = reaped;
	else
		while (waitpid(init, &istatus, 0) < 0 && errno == EINTR)
			;
	/* no report: init failed before the command ran (125) */
	return n == sizeof(status) ? status : istatus;
}

static void env_free(struct launch *l)
{
	for (size_t i = 0; l->env && i < l->nenv; i++) {
		explicit_bzero(l->env[i], strlen(l->env[i]));
		free(l->env[i]);
	}
	free(l->env);
	l->env = NULL;
	l->nenv = 0;
}

static bool reserved_env(const char *name, json_t *creds)
{
	static const char *const fixed[] = {"HOME", "TMPDIR",  "PATH",
					    "USER", "LOGNAME", NULL};
	json_t *x;
	size_t i;

	if (!strncmp(name, "TOOLWALL_", 9))
		return true;
	for (i = 0; fixed[i]; i++)
		if (!strcmp(name, fixed[i]))
			return true;
	json_array_foreach (creds, i, x) {
		const char *e = json_string_value(json_object_get(x, "env"));

		if (e && !strcmp(e, name))
			return true;
	}
	return false;
}

/* The v1 cgroups the call's first process joins for its limits. */
static int launch_limits(struct launch *l, json_t *rep)
{
	json_t *a = json_object_get(json_object_get(rep, "limits"), "cgroups");
	json_t *x;
	size_t i;

	json_array_foreach (a, i, x) {
		const char *p = json_string_value(x);

		if (!p || l->lj.n >= TW_LIM_N || strlen(p) >= PATH_MAX) {
			tw_error("exec: the daemon sent a bad limit cgroup");
			return -EINVAL;
		}
		snprintf(l->lj.path[l->lj.n++], PATH_MAX, "%s", p);
	}
	return 0;
}

static int launch_pty(struct launch *l)
{
	int err = tw_pty_open(&l->pty);

	if (err)
		tw_error("exec: cannot open a terminal for the call: %s; the "
			 "tool call was not started",
			 strerror(-err));
	return err;
}

static const struct option exec_opts[] = {
	{"call-id", required_argument, 0, 'i'},
	{"requester", required_argument, 0, 'r'},
	{"env", required_argument, 0, 'e'},
	{"quiet", no_argument, 0, 'q'},
	{"summary-json", required_argument, 0, 's'},
	{"help", no_argument, 0, 'h'},
	{0},
};

/* --summary-json FD: an open descriptor, not one of stdin or stderr
 * (the summary is a line of its own). -1: refused (said). */
static int summary_fd(const char *arg)
{
	char *end;
	long fd;

	errno = 0;
	fd = strtol(arg, &end, 10);
	if (errno || end == arg || *end || fd < 1 || fd > 65535 || fd == 2 ||
	    fcntl((int)fd, F_GETFD) < 0) {
		tw_error("exec: --summary-json %s: want an open file "
			 "descriptor number other than 0 and 2",
			 arg);
		return -1;
	}
	return (int)fd;
}

/* Parse the command line into A. -1: go on; else the exit status (125 for
 * a usage error: exec's own errors never take a value CMD could give). */
static int exec_args(int argc, char **argv, struct exec_args *a)
{
	int c;

	/* CONTEXT comes first (SPEC order), options may precede it too. */
	if (argc > 1 && argv[1][0] != '-') {
		a->ctx = argv[1];
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	optind = 1;
	/* "+": stop at the first non-option, CMD's options are its own. */
	while ((c = getopt_long(argc, argv, "+qh", exec_opts, NULL)) != -1) {
		switch (c) {
		case 'i': a->call_id = optarg; break;
		case 'r': a->requester = optarg; break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				tw_error(
				    "exec: --env takes NAME=VALUE, not '%s'",
				    optarg);
				return EXIT_TOOLWALL;
			}
			a->envs[a->nenvs++] = optarg;
			break;
		case 'q': a->quiet = true; break;
		case 's':
			a->summary_fd = summary_fd(optarg);
			if (a->summary_fd < 0)
				return EXIT_TOOLWALL;
			break;
		case 'h': fputs(exec_usage, stdout); return 0;
		default: fputs(exec_usage, stderr); return EXIT_TOOLWALL;
		}
	}
	if (!a->ctx && optind < argc && strcmp(argv[optind], "--"))
		a->ctx = argv[optind++];
	if (!a->ctx) {
		fputs(exec_usage, stderr);
		return EXIT_TOOLWALL;
	}
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc) {
		tw_error("exec: no command given after the context");
		fputs(exec_usage, stderr);
		return EXIT_TOOLWALL;
	}
	a->cmd = argv + optind;
	return -1;
}

/* Root, Landlock, and a call-start the daemon granted (*REP). */
static int exec_start(const struct exec_args *a, json_t **rep)
{
	json_t *req;
	int abi;

	if (geteuid() != 0) {
		tw_error("exec: must run as root to place the call in its "
			 "context and drop to the agent account");
		return EXIT_TOOLWALL;
	}
	abi = tw_landlock_abi();
	if (abi < 0) {
		tw_error(
		    "exec: Landlock is not available on this kernel (%s); "
		    "toolwall runs no tool call without filesystem "
		    "confinement (CONFIG_SECURITY_LANDLOCK, lsm=...,landlock)",
		    strerror(-abi));
		return EXIT_TOOLWALL;
	}
	req = json_pack("{s:s,s:s,s:s,s:s}", "op", "call-start", "context",
			a->ctx, "call_id", a->call_id ? a->call_id : "",
			"requester", a->requester ? a->requester : "");
	if (req && a->launcher_uid >= 0)
		json_object_set_new(req, "launcher_uid",
				    json_integer(a->launcher_uid));
	*rep = tw_control_call(req);
	json_decref(req);
	if (!*rep) {
		tw_error("exec: toolwall daemon not reachable at %s (%s); the "
			 "tool call was not started",
			 tw_control_path(), strerror(errno));
		return EXIT_TOOLWALL;
	}
	if (!json_is_true(json_object_get(*rep, "ok"))) {
		tw_error("exec: %s",
			 json_string_value(json_object_get(*rep, "error")));
		return EXIT_TOOLWALL;
	}
	return -1;
}

/*
 * The account and what --env may set, checked before the child joins the
 * context (name service lookups from inside it, nscd or sssd sockets,
 * would be denials of our own making). 0 or EXIT_TOOLWALL.
 */
static int exec_account(struct launch *l, const struct exec_args *a,
			json_t *rep)
{
	const char *run_as = json_string_value(json_object_get(rep, "run_as"));
	int code = tw_account_get(run_as, &l->acct);

	if (code || l->acct.uid == 0) {
		tw_error("exec: the agent account '%s' of %s %s; create it "
			 "(useradd --system --no-create-home %s)",
			 run_as ? run_as : "", a->ctx,
			 code == -E2BIG ? "is in too many groups"
			 : code		? "does not exist"
					: "is root, which toolwall refuses",
			 run_as && *run_as ? run_as : "USER");
		return EXIT_TOOLWALL;
	}
	for (size_t i = 0; i < a->nenvs; i++) {
		char name[256];

		snprintf(name, sizeof(name), "%.*s",
			 (int)strcspn(a->envs[i], "="), a->envs[i]);
		if (reserved_env(name, json_object_get(rep, "credentials"))) {
			tw_error("exec: --env %s: toolwall sets this variable "
				 "itself",
				 name);
			return EXIT_TOOLWALL;
		}
	}
	return 0;
}

/* Fork the call's init and relay until the call ends: its exit status
 * (128 + signal when killed), or EXIT_TOOLWALL. */
static int exec_run(struct launch *l, int sfd[2],
		    const struct tw_exec_hooks *h)
{
	int status, told = -1;
	pid_t pid;

	/* until the relay forwards them to the call's process group */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	if (pipe2(sfd, O_CLOEXEC)) {
		tw_error("exec: pipe: %s", strerror(errno));
		return EXIT_TOOLWALL;
	}
	pid = tw_callns_fork_init(&l->ns, l->cgroup, &l->in_cgroup);
	if (pid < 0) {
		tw_error("exec: %s; the tool call was not started", l->ns.err);
		return EXIT_TOOLWALL;
	}
	if (pid == 0) {
		close(sfd[0]);
		call_init(l, sfd[1]);
	}
	close(sfd[1]);
	sfd[1] = -1;
	if (h && h->running)
		h->running(pid, l->background, h->arg);
	/* The child has its copy: the values leave our memory now. */
	env_free(l);
	tw_sandbox_free(&l->sb);
	/* the terminal relayed, and SIGTERM, SIGHUP, SIGUSR1/2 forwarded to
	 * init (which passes them on to the command), until init tells the
	 * command's end */
	status = tw_pty_relay(&l->pty, pid, sfd[0], &told);
	status = call_wait(pid, sfd[0], l->background, status, told);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * The call's init is created in its cgroup v2 (clone3, no migration), but
 * where the pids and memory controllers live in v1 hierarchies (hybrid
 * layouts) it joins its limit cgroups there by cgroup.procs. The first
 * cgroup migration after a quiet spell waits for an RCU grace period (the
 * kernel's migration lock leaves its fast path): 0.2-20 ms on this
 * project's busy 2-vCPU VM. A no-op migration of the launcher (into the
 * cgroup it is in) started in a thread at the launch's first step takes
 * that wait while the launcher talks to the daemon and prepares the call;
 * the init's joins then find the lock's slow path already open. Only a
 * head start: when it fails, the joins wait as they would have.
 */
static void *warm_migration(void *arg)
{
	(void)arg;
	tw_cg_rejoin_self();
	return NULL;
}

/* Where the daemon puts limits in v1 hierarchies (its own probe). */
static bool limits_in_v1(void)
{
	struct tw_limit_ctl lc;

	return !tw_limits_probe(&lc) && (lc.v1[TW_LIM_PIDS][0] ||
					 lc.v1[TW_LIM_MEMORY][0]);
}

/*
 * Run one call as root, from call-start to call-end: its exit status (or
 * EXIT_TOOLWALL), its denials in prose on stderr unless A->quiet, and the
 * daemon's call-end reply in *END (NULL when unreachable). *CALL_ID: the
 * call's id (the daemon's, or A's), valid while *END or A lives.
 */
int tw_exec_call(const struct exec_args *a, const struct tw_exec_hooks *h,
		 json_t **end, char *call_id, size_t idlen)
{
	struct launch l = {};
	struct tw_calldir cd = {};
	const char *real_id = NULL;
	json_t *req, *rep = NULL;
	int code, sfd[2] = {-1, -1};
	json_int_t cgid = 0;
	pthread_t warm;
	bool warming;

	*end = NULL;
	/* joined before any fork of the call: its init starts single-threaded */
	warming = limits_in_v1() &&
		  !pthread_create(&warm, NULL, warm_migration, NULL);
	snprintf(call_id, idlen, "%s", a->call_id ? a->call_id : "");
	l.sb.ruleset_fd = -1;
	l.pty.master = l.pty.slave = -1;
	code = exec_start(a, &rep);
	if (code >= 0) {
		if (warming)
			pthread_join(warm, NULL);
		json_decref(rep);
		return code;
	}
	l.ctx = a->ctx;
	l.cmd = a->cmd;
	l.cgroup = json_string_value(json_object_get(rep, "cgroup"));
	real_id = json_string_value(json_object_get(rep, "call_id"));
	snprintf(call_id, idlen, "%s", real_id ? real_id : "");
	cgid = json_integer_value(json_object_get(rep, "cgid"));
	l.background = json_is_true(json_object_get(rep, "background"));

	code = exec_account(&l, a, rep);
	if (!code) {
		tw_calldir_sweep();
		if (tw_launch_prepare(&l, rep, a->envs, a->nenvs, &cd,
				      real_id) ||
		    launch_limits(&l, rep) || launch_pty(&l))
			code = EXIT_TOOLWALL;
		else {
			if (warming)
				pthread_join(warm, NULL);
			warming = false;
			code = exec_run(&l, sfd, h);
		}
	}

	if (warming)
		pthread_join(warm, NULL);
	tw_pty_close(&l.pty);
	for (int i = 0; i < 2; i++)
		if (sfd[i] >= 0)
			close(sfd[i]);
	env_free(&l);
	free(l.noexec);
	tw_sandbox_free(&l.sb);
	free(l.path);
	free(l.cwd);
	if ((cd.run[0] || cd.scratch[0]) && tw_calldir_remove(&cd))
		tw_warn("exec: %s", cd.err);
	req = json_pack("{s:s,s:I}", "op", "call-end", "cgid", cgid);
	*end = tw_control_call(req);
	json_decref(req);
	if (!*end)
		tw_warn("exec: daemon unreachable at the end of the call; see "
			"the audit log for call %s",
			real_id);
	else if (!a->quiet)
		tw_call_summary_print(*end, a->ctx);
	json_decref(rep);
	return code;
}

int cmd_exec(int argc, char **argv)
{
	struct exec_args a = { .envs = calloc(argc + 1, sizeof(char *)),
			       .summary_fd = -1, .launcher_uid = -1 };
	char call_id[128];
	json_t *end = NULL, *sum;
	int code, err;

	if (!a.envs) {
		tw_error("exec: out of memory");
		return EXIT_TOOLWALL;
	}
	code = exec_args(argc, argv, &a);
	if (code < 0 && geteuid() != 0) /* the daemon launches it */
		code = tw_exec_client(&a);
	else if (code < 0) {
		code = tw_exec_call(&a, NULL, &end, call_id, sizeof(call_id));
		sum = a.summary_fd >= 0 ? tw_call_summary_json(end, a.ctx, call_id,
							  code) :
					  NULL;
		signal(SIGPIPE, SIG_IGN); /* a reader gone: said, not fatal */
		err = sum ? tw_send_json(a.summary_fd, sum) : 0;
		if (err)
			tw_warn("exec: cannot write the summary to descriptor "
				"%d: %s",
				a.summary_fd, strerror(-err));
		json_decref(sum);
		json_decref(end);
	}
	free(a.envs);
	return code;
}

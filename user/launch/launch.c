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
#include "pty.h"
#include "sandbox.h"
#include "util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define EXIT_TOOLWALL	 125 /* toolwall itself failed; the command never ran */
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND	 127

#define MAX_ENV 512

static const char exec_usage[] =
    "Usage: toolwall exec CONTEXT [--call-id ID] [--requester WHO] "
    "[--env NAME=VALUE]... [-q] -- CMD [ARG...]\n"
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
    "The exit status is CMD's (125: toolwall failed,\n"
    "126: CMD not executable, 127: not found). When the call ends, what\n"
    "was denied is summarised on stderr.\n"
    "  --call-id ID       the tool call's id, recorded in every audit record\n"
    "                     (default: generated)\n"
    "  --requester WHO    who asked for the call; recorded, never used for\n"
    "                     access\n"
    "  --env NAME=VALUE   set a variable in the call's environment\n"
    "  -q, --quiet        no summary on stderr\n";

/* Everything the child needs, prepared by the parent (as root). */
struct launch {
	const char *ctx;
	const char *cgroup;
	struct tw_account acct;
	struct tw_sandbox sb;
	char **env; /* NULL-terminated; holds credential values */
	size_t nenv;
	char *path; /* the call's PATH, for the command lookup */
	char **cmd;
	char *cwd; /* where the call starts: NULL keeps the launcher's */
	struct tw_callns ns;
	const char **noexec; /* what the call may write: mounted noexec */
	bool background;     /* leftovers run on when the command ends */
	struct tw_pty pty; /* its own terminal, if the user has one */
	struct tw_limit_join lj; /* v1 cgroups holding its limits */
};

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

	/* the limits first: nothing of the call runs unlimited */
	err = tw_limits_join(&l->lj, getpid());
	if (err) {
		tw_error("exec: cannot join the call's limit cgroups: %s",
			 strerror(-err));
		_exit(EXIT_TOOLWALL);
	}
	err = tw_cg_attach(l->cgroup, getpid());
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

static int env_add(struct launch *l, const char *name, const char *value)
{
	char *kv;

	for (size_t i = 0; i < l->nenv; i++) {
		size_t n = strcspn(l->env[i], "=");

		if (strlen(name) == n && !strncmp(l->env[i], name, n)) {
			explicit_bzero(l->env[i], strlen(l->env[i]));
			free(l->env[i]);
			l->env[i] = l->env[--l->nenv];
			l->env[l->nenv] = NULL;
			break;
		}
	}
	if (l->nenv + 1 >= MAX_ENV)
		return -E2BIG;
	if (asprintf(&kv, "%s=%s", name, value) < 0)
		return -ENOMEM;
	l->env[l->nenv++] = kv;
	l->env[l->nenv] = NULL;
	return 0;
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

/* What passes from the launcher's environment: presentation only. */
static bool env_passes(const char *kv)
{
	static const char *const keep[] = {
	    "TERM=",	 "LANG=",    "LANGUAGE=", "TZ=", "COLORTERM=",
	    "NO_COLOR=", "COLUMNS=", "LINES=",	  NULL};

	for (int i = 0; keep[i]; i++)
		if (!strncmp(kv, keep[i], strlen(keep[i])))
			return true;
	return !strncmp(kv, "LC_", 3);
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

static bool under_any(const char *dir, char *const *xs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (tw_path_under(dir, xs[i]))
			return true;
	return false;
}

/*
 * PATH: the usual program directories that the call may execute from,
 * then the skills' directories.
 */
static char *call_path(char *const *xs, size_t nxs, json_t *skills)
{
	static const char *const std[] = {
	    "/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin",
	    "/usr/sbin",      "/sbin",	  NULL};
	char *out = calloc(1, 1), *tmp;
	json_t *x;
	size_t i;

	for (i = 0; out && std[i]; i++) {
		if (!under_any(std[i], xs, nxs))
			continue;
		if (asprintf(&tmp, "%s%s%s", out, *out ? ":" : "", std[i]) < 0)
			tmp = NULL;
		free(out);
		out = tmp;
	}
	json_array_foreach (skills, i, x) {
		const char *p = json_string_value(json_object_get(x, "path"));
		char dir[PATH_MAX], *slash, *have, probe[PATH_MAX + 2];
		struct stat st;

		if (!out || !p || stat(p, &st))
			continue; /* a missing skill adds nothing */
		snprintf(dir, sizeof(dir), "%s", p);
		if (!S_ISDIR(st.st_mode) && (slash = strrchr(dir, '/')))
			*(slash == dir ? slash + 1 : slash) = '\0';
		snprintf(probe, sizeof(probe), ":%s:", dir);
		if (asprintf(&have, ":%s:", out) < 0)
			break;
		if (strstr(have, probe)) {
			free(have);
			continue;
		}
		free(have);
		if (asprintf(&tmp, "%s%s%s", out, *out ? ":" : "", dir) < 0)
			tmp = NULL;
		free(out);
		out = tmp;
	}
	return out;
}

static int launch_prepare(struct launch *l, json_t *rep, char **envs,
			  size_t nenvs, struct tw_calldir *cd,
			  const char *call_id)
{
	json_t *creds = json_object_get(rep, "credentials");
	json_t *repos = json_object_get(rep, "repositories");
	json_t *skills = json_object_get(rep, "skills");
	json_t *instr = json_object_get(rep, "instructions");
	json_t *sys = json_object_get(rep, "system_paths");
	json_t *prot = json_object_get(rep, "protected");
	const char *agent_user =
	    json_string_value(json_object_get(rep, "agent_user"));
	const char *const *dev = tw_fs_fixed_dev, *const *ro = tw_fs_fixed_read;
	char cwd[PATH_MAX];
	struct tw_cred *cv = NULL;
	struct tw_fs_grant *g = NULL;
	const char **pv = NULL, **srcs = NULL;
	struct tw_account agent;
	char *instr_text = NULL, **xs = NULL;
	size_t ncred = json_array_size(creds), ng = 0, nxs = 0, i;
	json_t *x;
	int err = -EINVAL;
	long bad;

	/* The stores: named, present, and out of the agent account's reach. */
	cv = calloc(ncred + 1, sizeof(*cv));
	srcs = calloc(ncred + 1, sizeof(*srcs));
	if (!cv || !srcs) {
		err = -ENOMEM;
		goto out;
	}
	json_array_foreach (creds, i, x) {
		cv[i].name = json_string_value(json_object_get(x, "name"));
		cv[i].env = json_string_value(json_object_get(x, "env"));
		cv[i].source = json_string_value(json_object_get(x, "source"));
		cv[i].placeholder =
			json_string_value(json_object_get(x, "placeholder"));
		/* A brokered store is read by the broker alone, but it too
		 * must be out of the agent account's reach. */
		srcs[i] = cv[i].source;
		if (!cv[i].source) {
			tw_error(
			    "exec: credential %s (bundle %s) of %s has no "
			    "store: set the credential's \"file\", the "
			    "workspace's or the DM's \"credentials_dir\"",
			    cv[i].name,
			    json_string_value(json_object_get(x, "bundle")),
			    l->ctx);
			goto out;
		}
	}
	if (ncred) {
		if (tw_account_get(agent_user, &agent)) {
			tw_error("exec: the agent account '%s' does not exist",
				 agent_user ? agent_user : "");
			goto out;
		}
		err = tw_readable_by(&agent, srcs, ncred, &bad);
		if (err) {
			tw_error(
			    "exec: cannot check that the credential stores "
			    "are out of %s's reach: %s",
			    agent.name, strerror(-err));
			goto out;
		}
		err = -EINVAL;
		if (bad >= 0) {
			tw_error("exec: credential store %s (credential %s) is "
				 "readable by the agent account %s; make it "
				 "readable by root only (chmod 0600, in a 0700 "
				 "directory)",
				 cv[bad].source, cv[bad].name, agent.name);
			goto out;
		}
	}
	for (i = 0; i < ncred; i++) {
		err = cv[i].placeholder ? tw_cred_placeholder(&cv[i]) :
					  tw_cred_read(&cv[i]);
		if (err) {
			tw_error(
			    "exec: cannot read credential %s from its store "
			    "%s: %s",
			    cv[i].name, cv[i].source,
			    err == -ELOOP    ? "it is a symlink"
			    : err == -EINVAL ? "not a regular file"
			    : err == -EFBIG  ? "larger than 64 KiB"
					     : strerror(-err));
			goto out;
		}
	}

	/* The call's directories and what goes in them. */
	err = tw_calldir_create(cd, l->acct.uid, l->acct.gid);
	if (err) {
		tw_error("exec: %s", cd->err);
		goto out;
	}
	for (i = 0; i < ncred; i++) {
		err = tw_calldir_put_cred(cd, cv[i].name, cv[i].value,
					  cv[i].len, l->acct.uid, l->acct.gid);
		if (err) {
			tw_error("exec: credential %s: %s", cv[i].name,
				 cd->err);
			goto out;
		}
	}
	err = tw_calldir_seal(cd, l->acct.uid, l->acct.gid);
	if (err) {
		tw_error("exec: %s", cd->err);
		goto out;
	}
	instr_text = calloc(1, 1);
	json_array_foreach (instr, i, x) {
		char *tmp;

		if (!instr_text ||
		    asprintf(&tmp, "%s%s: %s\n", instr_text,
			     json_string_value(json_object_get(x, "bundle")),
			     json_string_value(json_object_get(x, "text"))) <
			0) {
			err = -ENOMEM;
			goto out;
		}
		free(instr_text);
		instr_text = tmp;
	}
	if (!instr_text) {
		err = -ENOMEM;
		goto out;
	}
	err = tw_calldir_put_instructions(cd, instr_text);
	if (err) {
		tw_error("exec: %s", cd->err);
		goto out;
	}

	/* The environment, built from nothing. */
	l->env = calloc(MAX_ENV, sizeof(*l->env));
	if (!l->env) {
		err = -ENOMEM;
		goto out;
	}
	for (char **e = environ; *e; e++) {
		if (!env_passes(*e) || l->nenv + 1 >= MAX_ENV)
			continue;
		if (!(l->env[l->nenv] = strdup(*e))) {
			err = -ENOMEM;
			goto out;
		}
		l->nenv++;
	}
	for (i = 0; i < nenvs; i++) {
		char *eq = strchr(envs[i], '=');

		*eq = '\0';
		err = env_add(l, envs[i], eq + 1);
		*eq = '=';
		if (err)
			goto out;
	}

	/* Executable: system paths and skills. */
	xs = calloc(json_array_size(sys) + 1, sizeof(*xs));
	if (!xs) {
		err = -ENOMEM;
		goto out;
	}
	json_array_foreach (sys, i, x)
		xs[nxs++] = (char *)json_string_value(x);
	l->path = call_path(xs, nxs, skills);
	if (!l->path) {
		err = -ENOMEM;
		goto out;
	}
	/* the file has one line per bundle; the variable, no final newline */
	if (*instr_text)
		instr_text[strlen(instr_text) - 1] = '\0';
	if ((err = env_add(l, "HOME", cd->scratch)) ||
	    (err = env_add(l, "TMPDIR", cd->scratch)) ||
	    (err = env_add(l, "PATH", l->path)) ||
	    (err = env_add(l, "USER", l->acct.name)) ||
	    (err = env_add(l, "LOGNAME", l->acct.name)) ||
	    (err = env_add(l, "TOOLWALL_CONTEXT", l->ctx)) ||
	    (err = env_add(l, "TOOLWALL_CALL_ID", call_id)) ||
	    (err = env_add(l, "TOOLWALL_CREDENTIALS_DIR", cd->creds)) ||
	    (err = env_add(l, "TOOLWALL_INSTRUCTIONS", instr_text)) ||
	    (err = env_add(l, "TOOLWALL_INSTRUCTIONS_FILE", cd->instructions)))
		goto out;
	for (i = 0; i < ncred; i++) {
		char *v;

		if (!cv[i].env)
			continue;
		err = tw_cred_env_value(&cv[i], &v);
		if (err == -EINVAL) {
			tw_error("exec: credential %s holds a NUL byte and "
				 "cannot be passed in %s; read it from "
				 "$TOOLWALL_CREDENTIALS_DIR/%s",
				 cv[i].name, cv[i].env, cv[i].name);
			goto out;
		}
		if (!err)
			err = env_add(l, cv[i].env, v);
		if (v)
			explicit_bzero(v, strlen(v));
		free(v);
		if (err)
			goto out;
	}

	/* Brokered credentials: TLS to their services ends at the broker,
	 * whose CA the call trusts (with the system's) through the usual
	 * variables. */
	const char *bundle =
		json_string_value(json_object_get(rep, "ca_bundle"));
	static const char *const trust_vars[] = {
		"SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE",
		"NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO" };

	for (i = 0; bundle && i < sizeof(trust_vars) / sizeof(*trust_vars);
	     i++)
		if ((err = env_add(l, trust_vars[i], bundle)))
			goto out;

	/* Landlock grants. */
	size_t nfixed = 4; /* scratch, credentials, instructions, CA bundle */

	for (i = 0; ro[i]; i++)
		nfixed++;
	for (i = 0; dev[i]; i++)
		nfixed++;
	g = calloc(nxs + json_array_size(skills) + json_array_size(repos) +
			   nfixed,
		   sizeof(*g));
	pv = calloc(json_array_size(prot) + 1, sizeof(*pv));
	if (!g || !pv) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; ro[i]; i++)
		g[ng++] = (struct tw_fs_grant){ro[i], TW_FS_READ, false};
	for (i = 0; dev[i]; i++)
		g[ng++] = (struct tw_fs_grant){dev[i], TW_FS_DEV, false};
	for (i = 0; i < nxs; i++)
		g[ng++] = (struct tw_fs_grant){xs[i], TW_FS_EXEC, false};
	json_array_foreach (skills, i, x)
		g[ng++] = (struct tw_fs_grant){
		    json_string_value(json_object_get(x, "path")), TW_FS_EXEC,
		    false};
	json_array_foreach (repos, i, x) {
		const char *acc =
		    json_string_value(json_object_get(x, "access"));

		g[ng++] = (struct tw_fs_grant){
		    json_string_value(json_object_get(x, "path")),
		    acc && !strcmp(acc, "write") ? TW_FS_WRITE : TW_FS_READ,
		    false};
	}
	g[ng++] = (struct tw_fs_grant){cd->scratch, TW_FS_WRITE, true};
	g[ng++] = (struct tw_fs_grant){cd->creds, TW_FS_READ, true};
	g[ng++] = (struct tw_fs_grant){cd->instructions, TW_FS_READ, true};
	if (bundle)
		g[ng++] = (struct tw_fs_grant){bundle, TW_FS_READ, false};
	json_array_foreach (prot, i, x)
		pv[i] = json_string_value(x);
	/* The call starts where the launcher is when a grant covers it (a
	 * repository, say), else in its HOME: a working directory it could
	 * not read would only make programs stumble (and fill the audit log
	 * with their refused probes of it). */
	if (getcwd(cwd, sizeof(cwd))) {
		bool reach = false;

		for (i = 0; i < ng && !reach; i++)
			reach = g[i].access != TW_FS_DEV &&
				tw_path_under(cwd, g[i].path);
		for (i = 0; reach && i < json_array_size(prot); i++)
			reach = !tw_path_under(cwd, pv[i]);
		if (!reach && !(l->cwd = strdup(cd->scratch))) {
			err = -ENOMEM;
			goto out;
		}
	}
	/* What the call may write is never executable, not even through the
	 * dynamic loader's mmap(PROT_EXEC): mounted noexec for the call. */
	l->noexec = calloc(ng + 1, sizeof(*l->noexec));
	if (!l->noexec) {
		err = -ENOMEM;
		goto out;
	}
	l->noexec[l->ns.nnoexec++] = cd->run;
	for (i = 0; i < ng; i++)
		if (g[i].access == TW_FS_WRITE)
			l->noexec[l->ns.nnoexec++] = g[i].path;
	l->ns.noexec = l->noexec;
	err = tw_sandbox_prepare(&l->sb, g, ng, pv, json_array_size(prot));
	if (err) {
		tw_error("exec: %s; the tool call was not started", l->sb.err);
		goto out;
	}
	err = 0;
out:
	for (i = 0; cv && i < ncred; i++)
		tw_cred_wipe(&cv[i]);
	free(cv);
	free(srcs);
	free(g);
	free(pv);
	free(xs);
	free(instr_text);
	if (err == -ENOMEM || err == -E2BIG)
		tw_error("exec: %s while preparing the tool call",
			 err == -ENOMEM ? "out of memory"
					: "too many environment variables");
	return err;
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

static void summarise(json_t *rep, const char *ctx)
{
	json_t *den = json_object_get(rep, "denials"), *x;
	size_t i, n = json_array_size(den);
	int lingering = json_integer_value(json_object_get(rep, "lingering"));

	if (n)
		fprintf(stderr,
			"toolwall: %zu kind%s of operation denied in %s "
			"during this tool call:\n",
			n, n == 1 ? "" : "s", ctx);
	json_array_foreach (den, i, x) {
		const char *hint =
		    json_string_value(json_object_get(x, "hint"));
		long long count =
		    json_integer_value(json_object_get(x, "count"));

		fprintf(stderr, "  - %s",
			json_string_value(json_object_get(x, "what")));
		if (count > 1)
			fprintf(stderr, " (%lld times)", count);
		fprintf(stderr, ": %s.",
			json_string_value(json_object_get(x, "reason")));
		if (hint && *hint)
			fprintf(stderr, " Would be allowed by %s.", hint);
		else if (strncmp(json_string_value(json_object_get(x, "what")),
				 "socket(", 7))
			fprintf(stderr, " No bundle allows it.");
		fputc('\n', stderr);
	}
	json_array_foreach (json_object_get(rep, "limits_hit"), i, x)
		fprintf(stderr, "toolwall: %s.\n",
			json_string_value(json_object_get(x, "reason")));
	if (lingering > 0)
		fprintf(stderr,
			"toolwall: %d process%s of this call still run%s, "
			"confined to %s\n",
			lingering, lingering == 1 ? "" : "es",
			lingering == 1 ? "s" : "", ctx);
}

int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"call-id", required_argument, 0, 'i'},
	    {"requester", required_argument, 0, 'r'},
	    {"env", required_argument, 0, 'e'},
	    {"quiet", no_argument, 0, 'q'},
	    {"help", no_argument, 0, 'h'},
	    {0},
	};
	const char *call_id = NULL, *requester = NULL, *ctx;
	const char *run_as, *real_id;
	struct launch l = {};
	struct tw_calldir cd = {};
	char **envs = calloc(argc + 1, sizeof(*envs));
	size_t nenvs = 0;
	json_t *req, *rep = NULL, *end;
	bool quiet = false;
	int c, status = 0, code, abi, sfd[2] = {-1, -1}, told = -1;
	json_int_t cgid;
	pid_t pid;

	l.sb.ruleset_fd = -1;
	l.pty.master = l.pty.slave = -1;
	if (!envs) {
		tw_error("exec: out of memory");
		return EXIT_TOOLWALL;
	}
	/* CONTEXT comes first (SPEC order), options may precede it too. */
	if (argc > 1 && argv[1][0] != '-') {
		ctx = argv[1];
		argv[1] = argv[0];
		argv++;
		argc--;
	} else {
		ctx = NULL;
	}
	optind = 1;
	/* "+": stop at the first non-option, CMD's options are its own. */
	while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			call_id = optarg;
			break;
		case 'r':
			requester = optarg;
			break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				tw_error(
				    "exec: --env takes NAME=VALUE, not '%s'",
				    optarg);
				free(envs);
				return 2;
			}
			envs[nenvs++] = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(exec_usage, stdout);
			free(envs);
			return 0;
		default:
			fputs(exec_usage, stderr);
			free(envs);
			return 2;
		}
	}
	if (!ctx && optind < argc && strcmp(argv[optind], "--"))
		ctx = argv[optind++];
	if (!ctx) {
		fputs(exec_usage, stderr);
		free(envs);
		return 2;
	}
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc) {
		tw_error("exec: no command given after the context");
		fputs(exec_usage, stderr);
		free(envs);
		return 2;
	}
	if (geteuid() != 0) {
		tw_error("exec: must run as root to place the call in its "
			 "context and drop to the agent account");
		free(envs);
		return EXIT_TOOLWALL;
	}
	abi = tw_landlock_abi();
	if (abi < 0) {
		tw_error(
		    "exec: Landlock is not available on this kernel (%s); "
		    "toolwall runs no tool call without filesystem "
		    "confinement (CONFIG_SECURITY_LANDLOCK, lsm=...,landlock)",
		    strerror(-abi));
		free(envs);
		return EXIT_TOOLWALL;
	}
	l.ctx = ctx;
	l.cmd = argv + optind;

	req = json_pack("{s:s,s:s,s:s,s:s}", "op", "call-start", "context", ctx,
			"call_id", call_id ? call_id : "", "requester",
			requester ? requester : "");
	rep = tw_control_call(req);
	json_decref(req);
	if (!rep) {
		tw_error("exec: toolwall daemon not reachable at %s (%s); the "
			 "tool call was not started",
			 tw_control_path(), strerror(errno));
		free(envs);
		return EXIT_TOOLWALL;
	}
	if (!json_is_true(json_object_get(rep, "ok"))) {
		tw_error("exec: %s",
			 json_string_value(json_object_get(rep, "error")));
		json_decref(rep);
		free(envs);
		return EXIT_TOOLWALL;
	}
	l.cgroup = json_string_value(json_object_get(rep, "cgroup"));
	run_as = json_string_value(json_object_get(rep, "run_as"));
	real_id = json_string_value(json_object_get(rep, "call_id"));
	cgid = json_integer_value(json_object_get(rep, "cgid"));

	/*
	 * Resolve the account before the child joins the context: name
	 * service lookups (nscd, sssd sockets) from inside it would be
	 * denials of our own making.
	 */
	code = tw_account_get(run_as, &l.acct);
	if (code || l.acct.uid == 0) {
		tw_error("exec: the agent account '%s' of %s %s; create it "
			 "(useradd --system --no-create-home %s)",
			 run_as ? run_as : "", ctx,
			 code == -E2BIG ? "is in too many groups"
			 : code		? "does not exist"
					: "is root, which toolwall refuses",
			 run_as && *run_as ? run_as : "USER");
		code = EXIT_TOOLWALL;
		goto end;
	}
	for (size_t i = 0; i < nenvs; i++) {
		char name[256];

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(envs[i], "="),
			 envs[i]);
		if (reserved_env(name, json_object_get(rep, "credentials"))) {
			tw_error("exec: --env %s: toolwall sets this variable "
				 "itself",
				 name);
			code = EXIT_TOOLWALL;
			goto end;
		}
	}
	tw_calldir_sweep();
	if (launch_prepare(&l, rep, envs, nenvs, &cd, real_id)) {
		code = EXIT_TOOLWALL;
		goto end;
	}
	if (launch_limits(&l, rep) || launch_pty(&l)) {
		code = EXIT_TOOLWALL;
		goto end;
	}

	/* until the relay forwards them to the call's process group */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	l.background = json_is_true(json_object_get(rep, "background"));
	if (pipe2(sfd, O_CLOEXEC)) {
		tw_error("exec: pipe: %s", strerror(errno));
		code = EXIT_TOOLWALL;
		goto end;
	}
	if (tw_callns_unshare_pid(&l.ns)) {
		tw_error("exec: %s; the tool call was not started", l.ns.err);
		code = EXIT_TOOLWALL;
		goto end;
	}
	pid = fork();
	if (pid < 0) {
		tw_error("exec: fork: %s", strerror(errno));
		code = EXIT_TOOLWALL;
		goto end;
	}
	if (pid == 0) {
		close(sfd[0]);
		call_init(&l, sfd[1]);
	}
	close(sfd[1]);
	sfd[1] = -1;
	/* The child has its copy: the values leave our memory now. */
	env_free(&l);
	tw_sandbox_free(&l.sb);
	/* the terminal relayed, and SIGTERM, SIGHUP, SIGUSR1/2 forwarded to
	 * init (which passes them on to the command), until init tells the
	 * command's end */
	status = tw_pty_relay(&l.pty, pid, sfd[0], &told);
	status = call_wait(pid, sfd[0], l.background, status, told);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
end:
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
	end = tw_control_call(req);
	json_decref(req);
	if (!end)
		tw_warn("exec: daemon unreachable at the end of the call; see "
			"the audit log for call %s",
			real_id);
	else if (!quiet)
		summarise(end, ctx);
	json_decref(end);
	json_decref(rep);
	free(envs);
	return code;
}

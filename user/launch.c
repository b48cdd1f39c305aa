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
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups.h"
#include "cmds.h"
#include "util.h"

#define EXIT_TOOLWALL 125 /* toolwall itself failed; the command never ran */
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127

static const char exec_usage[] =
	"Usage: toolwall exec CONTEXT [--call-id ID] [--requester WHO] [-q] "
	"-- CMD [ARG...]\n"
	"Run one tool call confined to CONTEXT (workspace:WS, channel:WS/CH or\n"
	"dm:WS/PERSON) as the context's agent account, with no_new_privs.\n"
	"stdin, stdout, stderr and signals pass through; the exit status is\n"
	"CMD's (125: toolwall failed, 126: CMD not executable, 127: not\n"
	"found). When the call ends, what was denied is summarised on stderr.\n"
	"  --call-id ID       the tool call's id, recorded in every audit record\n"
	"                     (default: generated)\n"
	"  --requester WHO    who asked for the call; recorded, never used for\n"
	"                     access\n"
	"  -q, --quiet        no summary on stderr\n";

static volatile pid_t child_pid;

static void forward(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

/* The child: join the call's cgroup, become the agent, exec. */
struct identity {
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
	char name[64];
};

/*
 * Resolve the account before the child joins the context: name service
 * lookups (nscd, sssd sockets) from inside it would be denials of our own
 * making.
 */
static int identity_of(const struct passwd *pw, struct identity *id)
{
	id->uid = pw->pw_uid;
	id->gid = pw->pw_gid;
	id->ngroups = 64;
	snprintf(id->name, sizeof(id->name), "%s", pw->pw_name);
	if (getgrouplist(pw->pw_name, pw->pw_gid, id->groups, &id->ngroups) < 0)
		return -E2BIG;
	return 0;
}

static void __attribute__((noreturn))
child(const char *cgroup, const struct identity *pw, const char *ctx,
      const char *call_id, char **cmd)
{
	int err;

	err = tw_cg_attach(cgroup, getpid());
	if (err) {
		tw_error("cannot join %s: %s", cgroup, strerror(-err));
		_exit(EXIT_TOOLWALL);
	}
	if (setgroups(pw->ngroups, pw->groups) || setgid(pw->gid) ||
	    setuid(pw->uid)) {
		tw_error("cannot become %s: %s", pw->name, strerror(errno));
		_exit(EXIT_TOOLWALL);
	}
	if (setuid(0) == 0) { /* must be impossible now */
		tw_error("still able to regain root; refusing to run");
		_exit(EXIT_TOOLWALL);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		tw_error("cannot set no_new_privs: %s", strerror(errno));
		_exit(EXIT_TOOLWALL);
	}
	setenv("TOOLWALL_CONTEXT", ctx, 1);
	setenv("TOOLWALL_CALL_ID", call_id, 1);
	setenv("USER", pw->name, 1);
	setenv("LOGNAME", pw->name, 1);
	execvp(cmd[0], cmd);
	err = errno;
	tw_error("cannot run %s: %s", cmd[0], strerror(err));
	_exit(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
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
	json_array_foreach(den, i, x)
	{
		const char *hint = json_string_value(json_object_get(x, "hint"));
		long long count = json_integer_value(json_object_get(x, "count"));

		fprintf(stderr, "  - %s", json_string_value(json_object_get(x, "what")));
		if (count > 1)
			fprintf(stderr, " (%lld times)", count);
		fprintf(stderr, ": %s.", json_string_value(json_object_get(x, "reason")));
		if (hint && *hint)
			fprintf(stderr, " Would be allowed by %s.", hint);
		else if (strncmp(json_string_value(json_object_get(x, "what")),
				 "socket(", 7))
			fprintf(stderr, " No bundle allows it.");
		fputc('\n', stderr);
	}
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
		{ "call-id", required_argument, 0, 'i' },
		{ "requester", required_argument, 0, 'r' },
		{ "quiet", no_argument, 0, 'q' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	const char *call_id = NULL, *requester = NULL, *ctx;
	const char *cgroup, *run_as, *real_id;
	struct passwd *pw;
	struct identity ident;
	json_t *req, *rep, *end;
	bool quiet = false;
	int c, status = 0, code;
	json_int_t cgid;
	pid_t pid;

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
		case 'i': call_id = optarg; break;
		case 'r': requester = optarg; break;
		case 'q': quiet = true; break;
		case 'h': fputs(exec_usage, stdout); return 0;
		default: fputs(exec_usage, stderr); return 2;
		}
	}
	if (!ctx && optind < argc && strcmp(argv[optind], "--"))
		ctx = argv[optind++];
	if (!ctx) {
		fputs(exec_usage, stderr);
		return 2;
	}
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	if (optind >= argc) {
		tw_error("exec: no command given after the context");
		fputs(exec_usage, stderr);
		return 2;
	}
	if (geteuid() != 0) {
		tw_error("exec: must run as root to place the call in its "
			 "context and drop to the agent account");
		return EXIT_TOOLWALL;
	}

	req = json_pack("{s:s,s:s,s:s,s:s}", "op", "call-start", "context", ctx,
			"call_id", call_id ? call_id : "", "requester",
			requester ? requester : "");
	rep = tw_control_call(req);
	json_decref(req);
	if (!rep) {
		tw_error("exec: toolwall daemon not reachable at %s (%s); the "
			 "tool call was not started",
			 tw_control_path(), strerror(errno));
		return EXIT_TOOLWALL;
	}
	if (!json_is_true(json_object_get(rep, "ok"))) {
		tw_error("exec: %s",
			 json_string_value(json_object_get(rep, "error")));
		json_decref(rep);
		return EXIT_TOOLWALL;
	}
	cgroup = json_string_value(json_object_get(rep, "cgroup"));
	run_as = json_string_value(json_object_get(rep, "run_as"));
	real_id = json_string_value(json_object_get(rep, "call_id"));
	cgid = json_integer_value(json_object_get(rep, "cgid"));

	pw = run_as ? getpwnam(run_as) : NULL;
	if (!pw || pw->pw_uid == 0) {
		tw_error("exec: the agent account '%s' of %s %s; create it "
			 "(useradd --system --no-create-home %s)",
			 run_as ? run_as : "", ctx,
			 pw ? "is root, which toolwall refuses" :
			      "does not exist",
			 run_as ? run_as : "USER");
		code = EXIT_TOOLWALL;
		goto end;
	}

	if (identity_of(pw, &ident)) {
		tw_error("exec: %s is in too many groups", run_as);
		code = EXIT_TOOLWALL;
		goto end;
	}

	signal(SIGINT, SIG_IGN); /* the terminal signals the child itself */
	signal(SIGQUIT, SIG_IGN);
	pid = fork();
	if (pid < 0) {
		tw_error("exec: fork: %s", strerror(errno));
		code = EXIT_TOOLWALL;
		goto end;
	}
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		child(cgroup, &ident, ctx, real_id, argv + optind);
	}
	child_pid = pid;
	signal(SIGTERM, forward);
	signal(SIGHUP, forward);
	signal(SIGUSR1, forward);
	signal(SIGUSR2, forward);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	code = WIFEXITED(status) ? WEXITSTATUS(status) :
				   128 + WTERMSIG(status);
end:
	req = json_pack("{s:s,s:I}", "op", "call-end", "cgid", cgid);
	end = tw_control_call(req);
	json_decref(req);
	if (!end)
		tw_warn("exec: daemon unreachable at the end of the call; see "
			"the audit log for call %s", real_id);
	else if (!quiet)
		summarise(end, ctx);
	json_decref(end);
	json_decref(rep);
	return code;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * prepare.c - what a tool call gets, prepared by the launcher (as root)
 * before the call's init is forked: its credentials (values, or a
 * placeholder for a brokered one), its directories, an environment built
 * from nothing, and its sandbox (Landlock grants, noexec mounts).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsexplain.h"
#include "prepare.h"
#include "util.h"

extern char **environ;

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

bool tw_env_presentation(const char *kv)
{
	static const char *const keep[] = {
	    "TERM=",	 "LANG=",    "LANGUAGE=", "TZ=", "COLORTERM=",
	    "NO_COLOR=", "COLUMNS=", "LINES=",	  NULL};

	for (int i = 0; keep[i]; i++)
		if (!strncmp(kv, keep[i], strlen(keep[i])))
			return true;
	return !strncmp(kv, "LC_", 3);
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

/* What launch_prepare's stages hand on to each other. */
struct prep {
	json_t *rep; /* call-start's reply */
	struct tw_cred *cv;
	size_t ncred;
	char *instr_text; /* one line per bundle */
	char **xs;	  /* executable: the system paths */
	size_t nxs;
	const char *bundle; /* the CA bundle of brokered credentials, or NULL */
};

/* The stores: named, present, out of the agent account's reach, read (or
 * a placeholder made for a brokered one). */
static int prepare_creds(struct launch *l, struct prep *p)
{
	json_t *creds = json_object_get(p->rep, "credentials"), *x;
	const char *agent_user =
	    json_string_value(json_object_get(p->rep, "agent_user"));
	const char **srcs;
	struct tw_account agent;
	size_t i;
	int err = -EINVAL;
	long bad;

	p->ncred = json_array_size(creds);
	p->cv = calloc(p->ncred + 1, sizeof(*p->cv));
	srcs = calloc(p->ncred + 1, sizeof(*srcs));
	if (!p->cv || !srcs) {
		free(srcs);
		return -ENOMEM;
	}
	json_array_foreach (creds, i, x) {
		struct tw_cred *c = &p->cv[i];

		c->name = json_string_value(json_object_get(x, "name"));
		c->env = json_string_value(json_object_get(x, "env"));
		c->source = json_string_value(json_object_get(x, "source"));
		c->placeholder =
			json_string_value(json_object_get(x, "placeholder"));
		/* A brokered store is read by the broker alone, but it too
		 * must be out of the agent account's reach. */
		srcs[i] = c->source;
		if (!c->source) {
			tw_error(
			    "exec: credential %s (bundle %s) of %s has no "
			    "store: set the credential's \"file\", the "
			    "workspace's or the DM's \"credentials_dir\"",
			    c->name,
			    json_string_value(json_object_get(x, "bundle")),
			    l->ctx);
			goto out;
		}
	}
	if (p->ncred) {
		/* (most often the account the call runs as: looked up once) */
		if (agent_user && !strcmp(agent_user, l->acct.name))
			agent = l->acct;
		else if (tw_account_get(agent_user, &agent)) {
			tw_error("exec: the agent account '%s' does not exist",
				 agent_user ? agent_user : "");
			goto out;
		}
		err = tw_readable_by(&agent, srcs, p->ncred, &bad);
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
				 p->cv[bad].source, p->cv[bad].name,
				 agent.name);
			goto out;
		}
	}
	for (i = 0; i < p->ncred; i++) {
		struct tw_cred *c = &p->cv[i];

		err = c->placeholder ? tw_cred_placeholder(c) : tw_cred_read(c);
		if (err) {
			tw_error(
			    "exec: cannot read credential %s from its store "
			    "%s: %s",
			    c->name, c->source,
			    err == -ELOOP    ? "it is a symlink"
			    : err == -EINVAL ? "not a regular file"
			    : err == -EFBIG  ? "larger than 64 KiB"
					     : strerror(-err));
			goto out;
		}
	}
	err = 0;
out:
	free(srcs);
	return err;
}

/* The call's directories and what goes in them: credential files,
 * standing instructions (P->instr_text). */
static int prepare_dirs(struct launch *l, struct prep *p,
			struct tw_calldir *cd)
{
	json_t *instr = json_object_get(p->rep, "instructions"), *x;
	size_t i;
	int err;

	err = tw_calldir_create(cd, l->acct.uid, l->acct.gid);
	if (err) {
		tw_error("exec: %s", cd->err);
		return err;
	}
	for (i = 0; i < p->ncred; i++) {
		err = tw_calldir_put_cred(cd, p->cv[i].name, p->cv[i].value,
					  p->cv[i].len, l->acct.uid,
					  l->acct.gid);
		if (err) {
			tw_error("exec: credential %s: %s", p->cv[i].name,
				 cd->err);
			return err;
		}
	}
	err = tw_calldir_seal(cd, l->acct.uid, l->acct.gid);
	if (err) {
		tw_error("exec: %s", cd->err);
		return err;
	}
	p->instr_text = calloc(1, 1);
	json_array_foreach (instr, i, x) {
		char *tmp;

		if (!p->instr_text ||
		    asprintf(&tmp, "%s%s: %s\n", p->instr_text,
			     json_string_value(json_object_get(x, "bundle")),
			     json_string_value(json_object_get(x, "text"))) <
			0)
			return -ENOMEM;
		free(p->instr_text);
		p->instr_text = tmp;
	}
	if (!p->instr_text)
		return -ENOMEM;
	err = tw_calldir_put_instructions(cd, p->instr_text);
	if (err)
		tw_error("exec: %s", cd->err);
	return err;
}

/* Each credential's env variable: its value, or its placeholder. */
static int env_creds(struct launch *l, const struct prep *p)
{
	for (size_t i = 0; i < p->ncred; i++) {
		const struct tw_cred *c = &p->cv[i];
		char *v;
		int err;

		if (!c->env)
			continue;
		err = tw_cred_env_value(c, &v);
		if (err == -EINVAL) {
			tw_error("exec: credential %s holds a NUL byte and "
				 "cannot be passed in %s; read it from "
				 "$TOOLWALL_CREDENTIALS_DIR/%s",
				 c->name, c->env, c->name);
			return err;
		}
		if (!err)
			err = env_add(l, c->env, v);
		if (v)
			explicit_bzero(v, strlen(v));
		free(v);
		if (err)
			return err;
	}
	return 0;
}

/* The environment, built from nothing. */
static int prepare_env(struct launch *l, struct prep *p, char **envs,
		       size_t nenvs, const struct tw_calldir *cd,
		       const char *call_id)
{
	static const char *const trust_vars[] = {
		"SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE",
		"NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO" };
	json_t *sys = json_object_get(p->rep, "system_paths"), *x;
	size_t i;
	int err;

	l->env = calloc(MAX_ENV, sizeof(*l->env));
	if (!l->env)
		return -ENOMEM;
	for (char **e = environ; *e; e++) {
		if (!tw_env_presentation(*e) || l->nenv + 1 >= MAX_ENV)
			continue;
		if (!(l->env[l->nenv] = strdup(*e)))
			return -ENOMEM;
		l->nenv++;
	}
	for (i = 0; i < nenvs; i++) {
		char *eq = strchr(envs[i], '=');

		*eq = '\0';
		err = env_add(l, envs[i], eq + 1);
		*eq = '=';
		if (err)
			return err;
	}
	/* Executable: system paths and skills. */
	p->xs = calloc(json_array_size(sys) + 1, sizeof(*p->xs));
	if (!p->xs)
		return -ENOMEM;
	json_array_foreach (sys, i, x)
		p->xs[p->nxs++] = (char *)json_string_value(x);
	l->path = call_path(p->xs, p->nxs,
			    json_object_get(p->rep, "skills"));
	if (!l->path)
		return -ENOMEM;
	/* the file has one line per bundle; the variable, no final newline */
	if (*p->instr_text)
		p->instr_text[strlen(p->instr_text) - 1] = '\0';
	if ((err = env_add(l, "HOME", cd->scratch)) ||
	    (err = env_add(l, "TMPDIR", cd->scratch)) ||
	    (err = env_add(l, "PATH", l->path)) ||
	    (err = env_add(l, "USER", l->acct.name)) ||
	    (err = env_add(l, "LOGNAME", l->acct.name)) ||
	    (err = env_add(l, "TOOLWALL_CONTEXT", l->ctx)) ||
	    (err = env_add(l, "TOOLWALL_CALL_ID", call_id)) ||
	    (err = env_add(l, "TOOLWALL_CREDENTIALS_DIR", cd->creds)) ||
	    (err = env_add(l, "TOOLWALL_INSTRUCTIONS", p->instr_text)) ||
	    (err = env_add(l, "TOOLWALL_INSTRUCTIONS_FILE", cd->instructions)) ||
	    (err = env_creds(l, p)))
		return err;
	/* Brokered credentials: TLS to their services ends at the broker,
	 * whose CA the call trusts (with the system's) through the usual
	 * variables. */
	p->bundle = json_string_value(json_object_get(p->rep, "ca_bundle"));
	for (i = 0; p->bundle && i < sizeof(trust_vars) / sizeof(*trust_vars);
	     i++)
		if ((err = env_add(l, trust_vars[i], p->bundle)))
			return err;
	return 0;
}

/* The call starts where the launcher is when a grant covers it (a
 * repository, say), else in its HOME: a working directory it could not
 * read would only make programs stumble (and fill the audit log with
 * their refused probes of it). */
static int prepare_cwd(struct launch *l, const struct tw_fs_grant *g,
		       size_t ng, const char **pv, size_t np,
		       const struct tw_calldir *cd)
{
	char cwd[PATH_MAX];
	bool reach = false;

	if (!getcwd(cwd, sizeof(cwd)))
		return 0;
	for (size_t i = 0; i < ng && !reach; i++)
		reach = g[i].access != TW_FS_DEV &&
			tw_path_under(cwd, g[i].path);
	for (size_t i = 0; reach && i < np; i++)
		reach = !tw_path_under(cwd, pv[i]);
	if (!reach && !(l->cwd = strdup(cd->scratch)))
		return -ENOMEM;
	return 0;
}

/* Landlock grants, the working directory, noexec mounts, the sandbox. */
static int prepare_sandbox(struct launch *l, struct prep *p,
			   const struct tw_calldir *cd)
{
	json_t *repos = json_object_get(p->rep, "repositories");
	json_t *skills = json_object_get(p->rep, "skills");
	json_t *prot = json_object_get(p->rep, "protected"), *x;
	const char *const *dev = tw_fs_fixed_dev, *const *ro = tw_fs_fixed_read;
	size_t nfixed = 4, ng = 0, i; /* scratch, creds, instructions, CA */
	struct tw_fs_grant *g;
	const char **pv;
	int err = -ENOMEM;

	for (i = 0; ro[i]; i++)
		nfixed++;
	for (i = 0; dev[i]; i++)
		nfixed++;
	g = calloc(p->nxs + json_array_size(skills) + json_array_size(repos) +
			   nfixed,
		   sizeof(*g));
	pv = calloc(json_array_size(prot) + 1, sizeof(*pv));
	if (!g || !pv)
		goto out;
	for (i = 0; ro[i]; i++)
		g[ng++] = (struct tw_fs_grant){ro[i], TW_FS_READ, false};
	for (i = 0; dev[i]; i++)
		g[ng++] = (struct tw_fs_grant){dev[i], TW_FS_DEV, false};
	for (i = 0; i < p->nxs; i++)
		g[ng++] = (struct tw_fs_grant){p->xs[i], TW_FS_EXEC, false};
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
	if (p->bundle)
		g[ng++] = (struct tw_fs_grant){p->bundle, TW_FS_READ, false};
	json_array_foreach (prot, i, x)
		pv[i] = json_string_value(x);
	if (prepare_cwd(l, g, ng, pv, json_array_size(prot), cd))
		goto out;
	/* What the call may write is never executable, not even through the
	 * dynamic loader's mmap(PROT_EXEC): mounted noexec for the call. */
	l->noexec = calloc(ng + 1, sizeof(*l->noexec));
	if (!l->noexec)
		goto out;
	l->noexec[l->ns.nnoexec++] = cd->run;
	for (i = 0; i < ng; i++)
		if (g[i].access == TW_FS_WRITE)
			l->noexec[l->ns.nnoexec++] = g[i].path;
	l->ns.noexec = l->noexec;
	err = tw_sandbox_prepare(&l->sb, g, ng, pv, json_array_size(prot));
	if (!err)
		err = tw_sandbox_filter(
			&l->sb,
			json_string_value(json_object_get(p->rep, "seccomp")));
	if (err)
		tw_error("exec: %s; the tool call was not started", l->sb.err);
out:
	free(g);
	free(pv);
	return err;
}

int tw_launch_prepare(struct launch *l, json_t *rep, char **envs,
		      size_t nenvs, struct tw_calldir *cd, const char *call_id)
{
	struct prep p = { .rep = rep };
	int err;

	err = prepare_creds(l, &p);
	if (!err)
		err = prepare_dirs(l, &p, cd);
	if (!err)
		err = prepare_env(l, &p, envs, nenvs, cd, call_id);
	if (!err)
		err = prepare_sandbox(l, &p, cd);
	for (size_t i = 0; p.cv && i < p.ncred; i++)
		tw_cred_wipe(&p.cv[i]);
	free(p.cv);
	free(p.xs);
	free(p.instr_text);
	if (err == -ENOMEM || err == -E2BIG)
		tw_error("exec: %s while preparing the tool call",
			 err == -ENOMEM ? "out of memory"
					: "too many environment variables");
	return err;
}


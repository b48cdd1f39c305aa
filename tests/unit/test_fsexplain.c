/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test_fsexplain.c - why a tool call was refused a file: path containment,
 * lexical normalisation, and the verdicts of tw_fs_explain() over a small
 * policy that has every kind of grant (repositories read and write,
 * skills, system paths, credential stores of the agent and of a person).
 */
#include <stdlib.h>

#include "unit.h"

#include "compile.h"
#include "fsexplain.h"

/*
 * Workspace acme holds "base" (/srv/repo read, a skill, an agent
 * credential file) and keeps agent secrets in a credentials_dir; channel
 * ops steps up to "deploy" (/srv/repo write); alice's DM has a personal
 * credential in her own credentials_dir. Workspace lab holds nothing and
 * runs programs only from its own system_paths. "spare" is held nowhere.
 */
static const char policy_text[] =
    "[\n"
    "{\"workspace\":\"acme\",\n"
    " \"agent\":{\"name\":\"claude\",\"user\":\"toolwall-agent\"},\n"
    " \"baseline\":[\"base\"],\n"
    " \"credentials_dir\":\"/var/lib/toolwall-creds\"},\n"
    "{\"workspace\":\"lab\",\n"
    " \"agent\":{\"name\":\"claude\",\"user\":\"lab-agent\"},\n"
    " \"baseline\":[],\n"
    " \"system_paths\":[\"/opt/tools\"]},\n"
    "{\"bundle\":\"base\",\n"
    " \"repositories\":[{\"path\":\"/srv/repo\",\"access\":\"read\"}],\n"
    " \"skills\":[\"/opt/skills/tool\"],\n"
    " \"credentials\":[{\"name\":\"tracker\",\"scope\":\"write\",\n"
    "   \"env\":\"TRACKER_TOKEN\",\"file\":\"/srv/secrets/tracker\"}]},\n"
    "{\"bundle\":\"deploy\",\n"
    " \"repositories\":[{\"path\":\"/srv/repo\",\"access\":\"write\"}]},\n"
    "{\"bundle\":\"spare\",\n"
    " \"repositories\":[{\"path\":\"/srv/other\",\"access\":\"write\"}],\n"
    " \"skills\":[\"/opt/spare\"]},\n"
    "{\"bundle\":\"ats\",\n"
    " \"credentials\":[{\"name\":\"ats\",\"scope\":\"read\",\n"
    "   \"owner\":\"person\",\"env\":\"ATS_TOKEN\"}]},\n"
    "{\"channel\":\"ops\",\"workspace\":\"acme\",\"step_up\":[\"deploy\"]},\n"
    "{\"dm\":\"alice\",\"workspace\":\"acme\",\"personal\":[\"ats\"],\n"
    " \"credentials_dir\":\"/home/alice/.config/toolwall/credentials\"}\n"
    "]\n";

#define WS   "workspace:acme"
#define LAB  "workspace:lab"
#define OPS  "channel:acme/ops"
#define DM   "dm:acme/alice"
#define MISS "/srv/policy.json" /* the daemon's policy file */

static struct {
	struct tw_policy pol;
	struct tw_diags diags;
	struct tw_compiled c;
} fx;

static int setup(void **state)
{
	int err;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	err = unit_parse(policy_text, true, &fx.pol, &fx.diags);
	if (!err)
		err = tw_compile(&fx.pol, &fx.c, &fx.diags);
	if (err)
		unit_diags_dump(&fx.diags);
	return err ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	tw_compiled_free(&fx.c);
	tw_policy_free(&fx.pol);
	tw_diags_free(&fx.diags);
	return 0;
}

static int ctx_of(const char *name)
{
	int i = tw_compiled_find(&fx.c, name);

	if (i < 0)
		fail_msg("no context %s", name);
	return i;
}

/* Explain WANT on PATH in context NAME; the extra protected path is MISS. */
static void explain(const char *name, const char *path, enum tw_fs_want want,
		    struct tw_fs_verdict *v)
{
	tw_fs_explain(&fx.c, ctx_of(name), path, want, MISS, v);
}

#define assert_has(hay, needle)                                                \
	do {                                                                   \
		if (!strstr((hay), (needle)))                                  \
			fail_msg("%s: \"%s\" lacks \"%s\"", #hay, (hay),       \
				 (needle));                                    \
	} while (0)

/* Refused by the policy, not a store, not a call directory. */
static void assert_refused(const struct tw_fs_verdict *v)
{
	assert_false(v->granted);
	assert_false(v->protected_);
	assert_false(v->calldir);
}

/* ---- tw_path_under ------------------------------------------------------ */

static void test_under_equal_and_below(void **state)
{
	(void)state;
	assert_true(tw_path_under("/srv/repo", "/srv/repo"));
	assert_true(tw_path_under("/srv/repo/a", "/srv/repo"));
	assert_true(tw_path_under("/srv/repo/a/b/c", "/srv/repo"));
	assert_false(tw_path_under("/srv", "/srv/repo"));
	assert_false(tw_path_under("/other/repo", "/srv/repo"));
}

static void test_under_sibling_prefix(void **state)
{
	(void)state;
	assert_false(tw_path_under("/srv/repository", "/srv/repo"));
	assert_false(tw_path_under("/srv/repository/a", "/srv/repo"));
	assert_false(tw_path_under("/srv/repo-old", "/srv/repo"));
	assert_false(tw_path_under("/run/toolwall-calls/1", "/run/toolwall"));
}

static void test_under_root(void **state)
{
	(void)state;
	assert_true(tw_path_under("/", "/"));
	assert_true(tw_path_under("/a", "/"));
	assert_true(tw_path_under("/a/b/c", "/"));
	assert_false(tw_path_under("a/b", "/"));
}

static void test_under_trailing_slash(void **state)
{
	(void)state;
	assert_true(tw_path_under("/srv/repo", "/srv/repo/"));
	assert_true(tw_path_under("/srv/repo/a", "/srv/repo/"));
	assert_true(tw_path_under("/srv/repo/a", "/srv/repo//"));
	assert_false(tw_path_under("/srv/repository", "/srv/repo/"));
}

/* ---- tw_path_normalise -------------------------------------------------- */

static void norm(const char *path, const char *cwd, const char *want)
{
	char out[256];

	memset(out, 'Z', sizeof(out));
	tw_path_normalise(path, cwd, out, sizeof(out));
	if (strcmp(out, want))
		fail_msg("normalise(\"%s\", %s) = \"%s\", want \"%s\"", path,
			 cwd ? cwd : "NULL", out, want);
}

static void test_norm_absolute(void **state)
{
	(void)state;
	norm("//a/./b/../c", NULL, "/a/c");
	norm("/a/b/", NULL, "/a/b");
	norm("/", NULL, "/");
	norm("///", NULL, "/");
	norm("/a/b/..", NULL, "/a");
	norm("/srv/repo/x", "/home/u", "/srv/repo/x"); /* cwd unused */
}

static void test_norm_relative_with_cwd(void **state)
{
	(void)state;
	norm("x/../y", "/home/u", "/home/u/y");
	norm("./x", "/home/u", "/home/u/x");
	norm("../../../x", "/home/u", "/x");
	norm(".", "/home/u/", "/home/u");
}

static void test_norm_relative_without_cwd(void **state)
{
	(void)state;
	norm("a//./b", NULL, "a/b");
	norm("x/y/", NULL, "x/y");
	norm(".", NULL, ".");
	norm("", NULL, ".");
}

static void test_norm_above_root(void **state)
{
	(void)state;
	norm("/..", NULL, "/");
	norm("/../..", NULL, "/");
	norm("/../a", NULL, "/a");
	norm("/a/../../b", NULL, "/b");
}

/*
 * Every buffer size, each buffer exactly that size on the heap (ASan
 * catches a byte too many): the result is a whole-component prefix of the
 * full answer and always terminated.
 */
static void test_norm_truncation(void **state)
{
	static const char *const in[] = {"/alpha/beta/../gamma/delta",
					 "//alpha/./beta-long-name/x"};
	char full[128];

	(void)state;
	for (size_t k = 0; k < UNIT_ARRAY_SIZE(in); k++) {
		size_t flen;

		tw_path_normalise(in[k], NULL, full, sizeof(full));
		flen = strlen(full);
		assert_true(flen > 1 && full[0] == '/');
		for (size_t len = 1; len <= flen + 1; len++) {
			char *out = malloc(len);
			size_t n;

			assert_non_null(out);
			tw_path_normalise(in[k], NULL, out, len);
			n = strlen(out); /* ASan: terminated within LEN */
			assert_true(n < len);
			if (len == 1)
				assert_int_equal(n, 0);
			else
				assert_true(n >= 1);
			if (strncmp(out, full, n))
				fail_msg("len %zu: \"%s\" is not a prefix of "
					 "\"%s\"",
					 len, out, full);
			/* whole components: cut at a '/' or at the end */
			assert_true(!strcmp(out, "/") || full[n] == '/' ||
				    full[n] == '\0');
			if (len == flen + 1)
				assert_string_equal(out, full);
			free(out);
		}
	}
}

static void test_norm_zero_len(void **state)
{
	char out = 'Z';

	(void)state;
	tw_path_normalise("/a/b", NULL, &out, 0);
	assert_int_equal(out, 'Z');
}

/* ---- tw_fs_explain: out of every call's reach --------------------------- */

static void check_protected(const char *path, const char *extra)
{
	struct tw_fs_verdict v;

	tw_fs_explain(&fx.c, ctx_of(WS), path, TW_WANT_READ, extra, &v);
	if (!v.protected_)
		fail_msg("%s not protected: %s", path, v.reason);
	assert_false(v.granted);
	assert_false(v.calldir);
	assert_string_equal(v.grant, "");
	assert_string_equal(v.hint, "");
	assert_has(v.reason, path);
	assert_has(v.reason, "credential store");
}

static void test_protected_workspace_store(void **state)
{
	(void)state;
	check_protected("/var/lib/toolwall-creds", NULL);
	check_protected("/var/lib/toolwall-creds/tracker", NULL);
}

static void test_protected_credential_file(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	check_protected("/srv/secrets/tracker", NULL);
	/* its siblings are not stores */
	explain(WS, "/srv/secrets/tracker-old", TW_WANT_READ, &v);
	assert_refused(&v);
}

static void test_protected_dm_store(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	check_protected("/home/alice/.config/toolwall/credentials", NULL);
	check_protected("/home/alice/.config/toolwall/credentials/ats", NULL);
	/* a store whatever the context asking, its own DM included */
	tw_fs_explain(&fx.c, ctx_of(DM),
		      "/home/alice/.config/toolwall/credentials/ats",
		      TW_WANT_READ, NULL, &v);
	assert_true(v.protected_);
	assert_false(v.granted);
	/* the rest of her home is merely not granted */
	explain(DM, "/home/alice/notes", TW_WANT_READ, &v);
	assert_refused(&v);
}

static void test_protected_toolwall_state(void **state)
{
	(void)state;
	check_protected("/run/toolwall", NULL);
	check_protected("/run/toolwall/state.json", NULL);
	/* /etc is readable by every call; /etc/toolwall never */
	check_protected("/etc/toolwall", NULL);
	check_protected("/etc/toolwall/policy.d/acme.json", NULL);
}

static void test_protected_extra(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	check_protected(MISS, MISS);
	tw_fs_explain(&fx.c, ctx_of(WS), MISS, TW_WANT_READ, NULL, &v);
	assert_refused(&v);
	/* an empty extra path protects nothing */
	tw_fs_explain(&fx.c, ctx_of(WS), "/home/x", TW_WANT_READ, "", &v);
	assert_refused(&v);
	assert_has(v.reason, "no bundle of");
}

/* ---- tw_fs_explain: a call's private directories ------------------------ */

static void test_calldir_read(void **state)
{
	static const char *const paths[] = {
	    "/run/toolwall-calls",
	    "/run/toolwall-calls/123.abcdef/credentials/tracker",
	    "/var/tmp/toolwall-calls/123.abcdef/out.txt",
	};
	struct tw_fs_verdict v;

	(void)state;
	for (size_t i = 0; i < UNIT_ARRAY_SIZE(paths); i++) {
		explain(WS, paths[i], TW_WANT_READ, &v);
		assert_true(v.calldir);
		assert_false(v.protected_);
		assert_false(v.granted);
		assert_string_equal(v.grant, "");
		assert_string_equal(v.hint, "");
		assert_has(v.reason, paths[i]);
		assert_has(v.reason, "each call reaches only its own");
	}
}

static void test_calldir_exec(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	explain(OPS, "/var/tmp/toolwall-calls/9.x/a.out", TW_WANT_EXEC, &v);
	assert_true(v.calldir);
	assert_false(v.granted);
	assert_has(v.reason, "never executable");
	explain(WS, "/run/toolwall-calls/9.x/run.sh", TW_WANT_EXEC, &v);
	assert_true(v.calldir);
	assert_has(v.reason, "never executable");
	/* a sibling of the roots is no call directory */
	explain(WS, "/var/tmp/toolwall-callsx/a", TW_WANT_READ, &v);
	assert_refused(&v);
}

/* ---- tw_fs_explain: granted by the policy, refused by the file ---------- */

static void test_read_in_read_repo(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	explain(WS, "/srv/repo/README", TW_WANT_READ, &v);
	assert_true(v.granted);
	assert_false(v.protected_);
	assert_false(v.calldir);
	assert_string_equal(v.grant,
			    "repository /srv/repo (read) of bundle base");
	assert_has(v.reason, "workspace:acme may read /srv/repo/README");
	assert_has(v.reason, "the file's own permissions refused");
	assert_string_equal(v.hint, "");
}

/* The channel holds base (read) and deploy (write): write wins. */
static void test_write_in_stepped_up_channel(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	explain(OPS, "/srv/repo/src/main.c", TW_WANT_WRITE, &v);
	assert_true(v.granted);
	assert_string_equal(v.grant,
			    "repository /srv/repo (write) of bundle deploy");
	assert_has(v.reason, "channel:acme/ops may write");
}

static void test_device_write(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	explain(LAB, "/dev/null", TW_WANT_WRITE, &v);
	assert_true(v.granted);
	assert_string_equal(v.grant, "device /dev/null");
	explain(LAB, "/dev/pts/3", TW_WANT_WRITE, &v);
	assert_true(v.granted);
	assert_string_equal(v.grant, "device /dev/pts");
}

/*
 * A skill inside a writable repository: both grants cover its files, and
 * the verdict names the one that gives what was asked for.
 */
static void test_grant_names_what_gives_it(void **state)
{
	static const char text[] =
	    "[{\"workspace\":\"w\",\"agent\":{\"name\":\"a\","
	    "\"user\":\"u\"},\"baseline\":[\"ops\"]},\n"
	    "{\"bundle\":\"ops\",\"skills\":[\"/srv/ops/bin\"],\n"
	    " \"repositories\":[{\"path\":\"/srv/ops\","
	    "\"access\":\"write\"}]}]";
	struct tw_policy pol = {0};
	struct tw_diags d = {0};
	struct tw_compiled c = {0};
	struct tw_fs_verdict v;

	(void)state;
	assert_int_equal(unit_parse(text, true, &pol, &d), 0);
	assert_int_equal(tw_compile(&pol, &c, &d), 0);
	tw_fs_explain(&c, 0, "/srv/ops/bin/x", TW_WANT_WRITE, NULL, &v);
	assert_true(v.granted);
	assert_string_equal(v.grant,
			    "repository /srv/ops (write) of bundle ops");
	tw_fs_explain(&c, 0, "/srv/ops/bin/x", TW_WANT_EXEC, NULL, &v);
	assert_true(v.granted);
	assert_string_equal(v.grant, "skill /srv/ops/bin of bundle ops");
	tw_fs_explain(&c, 0, "/srv/ops/bin/x", TW_WANT_READ, NULL, &v);
	assert_true(v.granted);
	tw_fs_explain(&c, 0, "/srv/ops/x", TW_WANT_EXEC, NULL, &v);
	assert_false(v.granted);
	assert_string_equal(v.grant,
			    "repository /srv/ops (write) of bundle ops");
	tw_compiled_free(&c);
	tw_policy_free(&pol);
	tw_diags_free(&d);
}

/* ---- tw_fs_explain: the context grants less ----------------------------- */

static void test_write_in_read_repo(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	explain(WS, "/srv/repo/README", TW_WANT_WRITE, &v);
	assert_refused(&v);
	assert_string_equal(v.grant,
			    "repository /srv/repo (read) of bundle base");
	assert_string_equal(v.reason,
			    "workspace:acme grants less than write on "
			    "/srv/repo/README (repository /srv/repo (read) "
			    "of bundle base)");
	assert_string_equal(v.hint, "bundle deploy (held by channel:acme/ops)");
}

static void test_exec_in_repo(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	explain(WS, "/srv/repo/build.sh", TW_WANT_EXEC, &v);
	assert_refused(&v);
	assert_has(v.reason, "grants less than execute on /srv/repo/build.sh");
	assert_has(v.reason, "programs run only from system paths and skills");
	/* no bundle makes a repository executable */
	assert_string_equal(v.hint, "");
	/* not even a writable one */
	explain(OPS, "/srv/repo/build.sh", TW_WANT_EXEC, &v);
	assert_refused(&v);
	assert_has(v.reason, "grants less than execute");
}

static void test_exec_skill(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	explain(WS, "/opt/skills/tool", TW_WANT_EXEC, &v);
	assert_true(v.granted);
	assert_string_equal(v.grant, "skill /opt/skills/tool of bundle base");
	explain(DM, "/opt/skills/tool/bin/run", TW_WANT_EXEC, &v);
	assert_true(v.granted);
	assert_string_equal(v.grant, "skill /opt/skills/tool of bundle base");
	assert_has(v.reason, "dm:acme/alice may execute");
	/* a skill is not writable */
	explain(WS, "/opt/skills/tool", TW_WANT_WRITE, &v);
	assert_refused(&v);
	assert_has(v.reason, "grants less than write");
}

static void test_exec_default_system_path(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	explain(WS, "/usr/bin/x", TW_WANT_EXEC, &v);
	assert_true(v.granted);
	assert_string_equal(v.grant, "default system path /usr/bin");
	/* /usr/local is not a default system path */
	explain(WS, "/usr/local/bin/x", TW_WANT_EXEC, &v);
	assert_refused(&v);
	assert_string_equal(v.grant, "/usr, readable by every call");
}

/* Another process's /proc files: guarded by ptrace checks, not the policy. */
static void test_proc_of_a_process(void **state)
{
	static const char *const guarded[] = {
		"/proc/123/environ", "/proc/1", "/proc/self/mem",
		"/proc/thread-self/fd/3"};
	static const char *const plain[] = {"/proc/selfish", "/proc/12x/environ",
					    "/proc/cpuinfo", "/proc/sys/kernel"};
	struct tw_fs_verdict v;

	(void)state;
	for (size_t i = 0; i < UNIT_ARRAY_SIZE(guarded); i++) {
		explain(WS, guarded[i], TW_WANT_READ, &v);
		assert_true(v.granted);
		assert_non_null(strstr(v.reason, "process tree"));
	}
	for (size_t i = 0; i < UNIT_ARRAY_SIZE(plain); i++) {
		explain(WS, plain[i], TW_WANT_READ, &v);
		assert_true(v.granted);
		assert_null(strstr(v.reason, "process tree"));
		assert_non_null(strstr(v.reason, "own permissions"));
	}
}

/* A directory holding a protected path is granted entry by entry. */
static void test_split_directory(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	explain(WS, "/etc", TW_WANT_READ, &v);
	assert_true(v.granted);
	assert_non_null(strstr(v.reason, "cannot be listed"));
	/* an entry beside the protected path: the plain verdict */
	explain(WS, "/etc/hostname", TW_WANT_READ, &v);
	assert_true(v.granted);
	assert_null(strstr(v.reason, "cannot be listed"));
	assert_non_null(strstr(v.reason, "own permissions"));
}

static void test_exec_own_system_paths(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	explain(LAB, "/usr/bin/x", TW_WANT_EXEC, &v);
	assert_refused(&v);
	assert_string_equal(v.grant, "/usr, readable by every call");
	assert_string_equal(v.reason,
			    "workspace:lab grants less than execute on "
			    "/usr/bin/x (/usr, readable by every call); "
			    "programs run only from system paths and skills");
	/* still readable */
	explain(LAB, "/usr/bin/x", TW_WANT_READ, &v);
	assert_true(v.granted);
	explain(LAB, "/opt/tools/y", TW_WANT_EXEC, &v);
	assert_true(v.granted);
	assert_string_equal(v.grant, "system path /opt/tools of workspace lab");
}

/* ---- tw_fs_explain: nothing covers the path ----------------------------- */

static void test_no_grant(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	explain(WS, "/home/x", TW_WANT_READ, &v);
	assert_refused(&v);
	assert_string_equal(v.grant, "");
	assert_string_equal(
	    v.reason, "no bundle of workspace:acme grants read on /home/x");
	assert_string_equal(v.hint, "");
}

static void test_no_grant_hint_elsewhere(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	/* lab holds nothing; acme's bundles would grant it */
	explain(LAB, "/srv/repo/README", TW_WANT_READ, &v);
	assert_refused(&v);
	assert_string_equal(v.reason, "no bundle of workspace:lab grants read "
				      "on /srv/repo/README");
	assert_string_equal(v.hint, "bundle base (held by workspace:acme, "
				    "channel:acme/ops, dm:acme/alice); "
				    "bundle deploy (held by channel:acme/ops)");
	explain(LAB, "/srv/repo/README", TW_WANT_WRITE, &v);
	assert_string_equal(v.hint, "bundle deploy (held by channel:acme/ops)");
	explain(LAB, "/opt/skills/tool/run", TW_WANT_EXEC, &v);
	assert_refused(&v);
	assert_string_equal(v.hint, "bundle base (held by workspace:acme, "
				    "channel:acme/ops, dm:acme/alice)");
}

static void test_no_grant_hint_unheld(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	explain(WS, "/srv/other/f", TW_WANT_WRITE, &v);
	assert_refused(&v);
	assert_string_equal(v.reason,
			    "no bundle of workspace:acme grants write on "
			    "/srv/other/f");
	assert_string_equal(v.hint, "bundle spare (held by no context)");
	explain(WS, "/opt/spare/bin/x", TW_WANT_EXEC, &v);
	assert_string_equal(v.hint, "bundle spare (held by no context)");
	/* a skill is never a grant to write */
	explain(WS, "/opt/spare/bin/x", TW_WANT_WRITE, &v);
	assert_string_equal(v.hint, "");
}

/* ---- tw_fs_explain: what cannot be judged ------------------------------- */

static void test_unknown_context(void **state)
{
	struct tw_fs_verdict v;
	int bad[] = {-1, (int)fx.c.nctx};

	(void)state;
	for (size_t i = 0; i < UNIT_ARRAY_SIZE(bad); i++) {
		tw_fs_explain(&fx.c, bad[i], "/srv/repo/README", TW_WANT_WRITE,
			      NULL, &v);
		assert_refused(&v);
		assert_string_equal(v.grant, "");
		assert_has(v.reason, "write refused on /srv/repo/README");
		assert_has(v.reason, "cannot name");
		/* the bundles that would grant it are still named */
		assert_string_equal(v.hint,
				    "bundle deploy (held by channel:acme/ops)");
	}
	/* a store stays a store, whoever asks */
	tw_fs_explain(&fx.c, -1, "/srv/secrets/tracker", TW_WANT_READ, NULL,
		      &v);
	assert_true(v.protected_);
}

static void test_relative_path(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	explain(WS, "x/y", TW_WANT_READ, &v);
	assert_refused(&v);
	assert_string_equal(v.grant, "");
	assert_string_equal(v.hint, "");
	assert_has(v.reason, "read refused on relative path x/y");
	tw_fs_explain(&fx.c, -1, "build.sh", TW_WANT_EXEC, NULL, &v);
	assert_refused(&v);
	assert_has(v.reason, "execute refused on relative path build.sh");
}

/* A verdict is filled afresh: nothing of the previous one survives. */
static void test_verdict_reset(void **state)
{
	struct tw_fs_verdict v;

	(void)state;
	explain(WS, "/srv/repo/README", TW_WANT_WRITE, &v);
	assert_string_not_equal(v.hint, "");
	explain(WS, "/var/lib/toolwall-creds/x", TW_WANT_READ, &v);
	assert_true(v.protected_);
	assert_string_equal(v.hint, "");
	assert_string_equal(v.grant, "");
}

static void test_want_name(void **state)
{
	(void)state;
	assert_string_equal(tw_fs_want_name(TW_WANT_READ), "read");
	assert_string_equal(tw_fs_want_name(TW_WANT_WRITE), "write");
	assert_string_equal(tw_fs_want_name(TW_WANT_EXEC), "execute");
}

/* ---- runner ------------------------------------------------------------- */

int main(void)
{
	static const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_under_equal_and_below),
	    cmocka_unit_test(test_under_sibling_prefix),
	    cmocka_unit_test(test_under_root),
	    cmocka_unit_test(test_under_trailing_slash),
	    cmocka_unit_test(test_norm_absolute),
	    cmocka_unit_test(test_norm_relative_with_cwd),
	    cmocka_unit_test(test_norm_relative_without_cwd),
	    cmocka_unit_test(test_norm_above_root),
	    cmocka_unit_test(test_norm_truncation),
	    cmocka_unit_test(test_norm_zero_len),
	    cmocka_unit_test(test_protected_workspace_store),
	    cmocka_unit_test(test_protected_credential_file),
	    cmocka_unit_test(test_protected_dm_store),
	    cmocka_unit_test(test_protected_toolwall_state),
	    cmocka_unit_test(test_protected_extra),
	    cmocka_unit_test(test_calldir_read),
	    cmocka_unit_test(test_calldir_exec),
	    cmocka_unit_test(test_proc_of_a_process),
	    cmocka_unit_test(test_split_directory),
	    cmocka_unit_test(test_read_in_read_repo),
	    cmocka_unit_test(test_write_in_stepped_up_channel),
	    cmocka_unit_test(test_device_write),
	    cmocka_unit_test(test_grant_names_what_gives_it),
	    cmocka_unit_test(test_write_in_read_repo),
	    cmocka_unit_test(test_exec_in_repo),
	    cmocka_unit_test(test_exec_skill),
	    cmocka_unit_test(test_exec_default_system_path),
	    cmocka_unit_test(test_exec_own_system_paths),
	    cmocka_unit_test(test_no_grant),
	    cmocka_unit_test(test_no_grant_hint_elsewhere),
	    cmocka_unit_test(test_no_grant_hint_unheld),
	    cmocka_unit_test(test_unknown_context),
	    cmocka_unit_test(test_relative_path),
	    cmocka_unit_test(test_verdict_reset),
	    cmocka_unit_test(test_want_name),
	};

	return cmocka_run_group_tests_name("fsexplain", tests, setup, teardown);
}

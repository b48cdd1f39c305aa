/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuzz_control.c - libFuzzer harness for the daemon's control requests.
 *
 * The bytes are one or more connections to the control socket, one per
 * line. Each goes through the daemon's own reader (tw_recv_json() on a
 * socketpair) and, when it is JSON, through tw_handle_request() (the real
 * control.c) against a daemon holding the example policy. The kernel side
 * is stood in for below: cgroups, maps and the loader succeed and only
 * count, so a call-start .. call-end sequence runs to its end.
 *
 * Checked: every reply is an object with a boolean "ok" and serialises;
 * a refused request changes no state; a call cgroup lies below its
 * context's cgroup; the call ids the daemon keeps are printable.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cgroups.h"
#include "cglimits.h"
#include "control.h"
#include "state.h"
#include "sysaudit.h"
#include "fsexplain.h"
#include "brokerd.h"
#include "grantmaps.h"
#include "grants.h"
#include "loader.h"
#include "maps.h"
#include "util.h"

#ifndef TW_FUZZ_POLICY
#define TW_FUZZ_POLICY "policy/examples/acme"
#endif

static struct tw_daemon d;
static uint64_t next_cgid = 1000, cgroups_made, cgroups_live;

/* ---- the kernel side, stood in for -------------------------------------- */

int tw_maps_stats(const struct tw_maps *m, uint64_t out[TW_STAT_MAX])
{
	(void)m;
	memset(out, 0, TW_STAT_MAX * sizeof(*out));
	return 0;
}

int tw_maps_state(const struct tw_maps *m, struct tw_state *st)
{
	(void)m;
	memset(st, 0, sizeof(*st));
	return 0;
}

int tw_maps_percpu_sum(int map_fd, uint64_t *out, uint32_t n)
{
	(void)map_fd;
	memset(out, 0, n * sizeof(*out));
	return 0;
}

int tw_maps_add_cgroup(const struct tw_maps *m, uint32_t slot, uint64_t cgid,
		       uint32_t ctx, int mode)
{
	(void)m;
	(void)slot;
	(void)cgid;
	(void)mode;
	if (ctx >= d.rev[d.slot].comp.nctx)
		abort();
	return 0;
}

int tw_maps_del_cgroup(const struct tw_maps *m, uint64_t cgid)
{
	(void)m;
	(void)cgid;
	return 0;
}

int tw_mode_abi(enum tw_mode mode)
{
	return (int)mode;
}

int tw_loader_watch_syscalls(struct tw_loader *l, bool on, char *err,
			     size_t errlen)
{
	(void)l;
	(void)on;
	(void)err;
	(void)errlen;
	return 0;
}

int tw_cg_make(const char *root, const char *rel, uint64_t *id)
{
	(void)root;
	/* Only ever below a context's own cgroup, never up or out of it. */
	if (!rel[0] || rel[0] == '/' || strstr(rel, "..") ||
	    !strstr(rel, "/call-"))
		abort();
	*id = next_cgid++;
	cgroups_made++;
	cgroups_live++;
	return 0;
}

int tw_cg_nprocs(const char *path)
{
	(void)path;
	return 0;
}

int tw_cg_remove_tree(const char *path, const char *dest)
{
	(void)path;
	(void)dest;
	cgroups_live--;
	return 0;
}

static int daemon_reload(struct tw_daemon *dd, json_t **errors)
{
	(void)dd;
	*errors = NULL;
	return 0;
}

static void daemon_drain(struct tw_daemon *dd)
{
	(void)dd;
}

void tw_call_secrets_load(struct tw_daemon *dd, struct tw_call *c)
{
	(void)dd;
	c->secrets_loaded = true;
}

int tw_calls_save(struct tw_daemon *dd)
{
	(void)dd;
	return 0;
}

/* state.c's bookkeeping after a reply: ended calls go (no cgroups here) */
void tw_calls_settle(struct tw_daemon *dd)
{
	for (size_t i = 0; i < dd->ncalls;)
		if (dd->calls[i].ended)
			tw_call_forget(dd, &dd->calls[i]);
		else
			i++;
}

struct tw_call *tw_call_find(struct tw_daemon *dd, uint64_t cgid)
{
	for (size_t i = 0; i < dd->ncalls; i++)
		if (dd->calls[i].cgid == cgid)
			return &dd->calls[i];
	return NULL;
}

void tw_call_forget(struct tw_daemon *dd, struct tw_call *c)
{
	size_t i = c - dd->calls;

	free(c->denials);
	json_decref(c->brokered);
	memmove(&dd->calls[i], &dd->calls[i + 1],
		(dd->ncalls - i - 1) * sizeof(*c));
	dd->ncalls--;
}

/* The broker: no process here; a brokered credential still gets its
 * placeholder field, as the launcher would see it. */
int tw_brokerd_call_start(struct tw_daemon *dd, struct tw_call *c,
			  json_t *creds)
{
	size_t i;
	json_t *x;

	(void)dd;
	(void)c;
	json_array_foreach(creds, i, x)
		if (json_object_get(x, "services"))
			json_object_set_new(x, "placeholder",
					    json_string("twph_00000000000000000000000000000000"));
	return 0;
}

void tw_brokerd_call_end(struct tw_daemon *dd, struct tw_call *c)
{
	(void)dd;
	(void)c;
}

uint32_t tw_brokerd_origin(struct tw_daemon *dd, const struct tw_service *sv)
{
	(void)dd, (void)sv;
	return 0;
}

json_t *tw_brokerd_status(struct tw_daemon *dd)
{
	(void)dd;
	return json_pack("{s:b}", "running", 0);
}

/* No launch socket in the harness: status says none. */
json_t *tw_launch_status(struct tw_daemon *dd)
{
	(void)dd;
	return json_null();
}

/* Per-call limits: found everywhere, written nowhere. */
int tw_limits_probe(struct tw_limit_ctl *lc)
{
	memset(lc, 0, sizeof(*lc));
	lc->in_v2[TW_LIM_PIDS] = lc->in_v2[TW_LIM_MEMORY] = true;
	return 0;
}

const char *tw_limits_where(const struct tw_limit_ctl *lc,
			    enum tw_limit_res r, char *buf, size_t len)
{
	(void)lc;
	(void)r;
	snprintf(buf, len, "none");
	return buf;
}

const char *tw_limits_name(enum tw_limit_res r)
{
	return r == TW_LIM_PIDS ? "pids" : "memory";
}

int tw_limits_apply(const struct tw_limit_ctl *lc, const char *v2call,
		    const char *rel, uint64_t pids, uint64_t memory,
		    struct tw_limit_join *j, const char **what)
{
	(void)lc;
	(void)v2call;
	(void)rel;
	(void)pids;
	(void)memory;
	(void)what;
	memset(j, 0, sizeof(*j));
	return 0;
}

void tw_limits_hits(const struct tw_limit_ctl *lc, const char *v2call,
		    const char *rel, struct tw_limit_hits *h)
{
	(void)lc;
	(void)v2call;
	(void)rel;
	memset(h, 0, sizeof(*h));
}

int tw_limits_remove(const struct tw_limit_ctl *lc, const char *rel)
{
	(void)lc;
	(void)rel;
	return 0;
}

void tw_record_where(json_t *rec, const struct tw_policy *pol,
		     const struct tw_context *x, const struct tw_call *call)
{
	(void)rec;
	(void)pol;
	(void)x;
	(void)call;
}

/* Grants and quarantine (grants.c, grantops.c, linked as they are): the
 * maps they write and the cgroups they kill. */
int tw_gmaps_put(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		 uint8_t gslot, const struct tw_lpm_entry *e, size_t n,
		 uint64_t deadline, uint32_t grant)
{
	(void)m, (void)kind, (void)scope, (void)e, (void)deadline, (void)grant;
	if (gslot >= TW_GRANT_SLOTS || n > TW_MAX_GRANT_LPM)
		abort();
	return 0;
}

int tw_gmaps_del(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		 uint8_t gslot, const struct tw_lpm_entry *e)
{
	(void)m, (void)kind, (void)scope, (void)e;
	if (gslot >= TW_GRANT_SLOTS)
		abort();
	return 0;
}

int tw_gmaps_bk_put(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		    uint8_t gslot, const struct tw_bk_entry *e,
		    uint64_t deadline)
{
	(void)m, (void)kind, (void)scope, (void)e, (void)deadline;
	if (gslot >= TW_GRANT_SLOTS)
		abort();
	return 0;
}

int tw_gmaps_bk_del(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		    uint8_t gslot, const struct tw_bk_entry *e)
{
	(void)m, (void)kind, (void)scope, (void)e;
	if (gslot >= TW_GRANT_SLOTS)
		abort();
	return 0;
}

int tw_gmaps_drop(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		  int gslot)
{
	(void)m, (void)kind, (void)scope, (void)gslot;
	return 0;
}

int tw_gmaps_scope(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		   uint32_t gslots, uint64_t quarantined)
{
	(void)m, (void)scope, (void)quarantined;
	if ((kind != TW_SCOPE_CTX && kind != TW_SCOPE_CALL) ||
	    gslots >> TW_GRANT_SLOTS)
		abort();
	return 0;
}

int tw_gmaps_clear_slot(const struct tw_maps *m, uint32_t slot)
{
	(void)m, (void)slot;
	return 0;
}

size_t tw_gmaps_call_scopes(const struct tw_maps *m, uint64_t *out, size_t max)
{
	(void)m, (void)out, (void)max;
	return 0;
}

int tw_cg_kill(const char *path)
{
	(void)path;
	return 0;
}

/* ---- the harness ---------------------------------------------------------- */

static void run_dir_remove(void)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/grants.json", tw_roots.run);
	unlink(path);
	rmdir(tw_roots.run);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("TW_FUZZ_POLICY") ?: TW_FUZZ_POLICY;
	struct tw_revision *r = &d.rev[0];
	struct tw_diags dg = { 0 };

	(void)argc;
	(void)argv;
	if (tw_policy_load(path, &r->pol, &dg) || dg.n ||
	    tw_compile(&r->pol, &r->comp, &dg) || dg.n) {
		fprintf(stderr, "fuzz_control: cannot load policy %s\n", path);
		exit(1);
	}
	r->valid = true;
	d.drain = daemon_drain;
	d.reload = daemon_reload;
	r->ctx_cgid = calloc(r->comp.nctx + 1, sizeof(*r->ctx_cgid));
	d.policy_path = path;
	d.audit_path = "/dev/null";
	d.kaudit_fd = -1;
	snprintf(d.kaudit_why, sizeof(d.kaudit_why), "fuzzing");
	snprintf(d.ld.cg_root, sizeof(d.ld.cg_root), "/sys/fs/cgroup/toolwall");
	snprintf(d.ld.features, sizeof(d.ld.features), "fuzz");
	d.listen_fd = -1;
	/* grants.json goes to a directory of the harness's own */
	snprintf(tw_roots.run, sizeof(tw_roots.run), "/tmp/twfuzz-ctl.XXXXXX");
	if (!mkdtemp(tw_roots.run) || tw_grants_open(&d))
		exit(1);
	atexit(run_dir_remove);
	return 0;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static void check_reply(json_t *rep, size_t ncalls_before,
			uint64_t made_before)
{
	json_t *ok = json_object_get(rep, "ok");
	char *s;

	if (!json_is_object(rep) || !json_is_boolean(ok))
		abort();
	s = json_dumps(rep, JSON_COMPACT);
	if (!s)
		abort();
	free(s);
	if (json_is_false(ok) &&
	    (d.ncalls != ncalls_before || cgroups_made != made_before))
		abort(); /* a refused request must leave no trace */
	for (size_t i = 0; i < d.ncalls; i++)
		if (!d.calls[i].call_id[0] || !printable(d.calls[i].call_id) ||
		    !printable(d.calls[i].requester) ||
		    tw_compiled_find(&d.rev[0].comp, d.calls[i].context) < 0)
			abort();
}

/* One connection: BYTES as the client sends them, then its end. */
static void one_request(const uint8_t *bytes, size_t len)
{
	size_t ncalls = d.ncalls;
	uint64_t made = cgroups_made;
	json_t *req, *rep;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	if (len && write(sv[0], bytes, len) != (ssize_t)len)
		abort();
	shutdown(sv[0], SHUT_WR);
	req = tw_recv_json(sv[1], 0);
	close(sv[0]);
	close(sv[1]);
	if (!req)
		return;
	rep = tw_handle_request(&d, req);
	if (getenv("TW_FUZZ_DEBUG")) /* what a seed does, when run alone */
		json_dumpf(rep, stderr, JSON_COMPACT), fputc('\n', stderr);
	check_reply(rep, ncalls, made);
	json_decref(rep);
	json_decref(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', end - p);
		size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		one_request(p, n);
		p += n;
	}
	/* The next input starts from a daemon with no calls. */
	while (d.ncalls)
		tw_call_forget(&d, &d.calls[d.ncalls - 1]);
	free(d.calls);
	d.calls = NULL;
	d.stop = false;
	d.next_call = 0;
	d.grants->n = d.grants->nq = 0;
	next_cgid = 1000;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * state.c - the daemon's call registry and what every record of a call
 * carries (see state.h). Used by the event sources and the control socket;
 * uses nothing of them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cglimits.h"
#include "cgroups.h"
#include "maps.h"
#include "state.h"
#include "util.h"

uint64_t tw_boot_to_real_ns;

struct tw_call *tw_call_find(struct tw_daemon *d, uint64_t cgid)
{
	for (size_t i = 0; i < d->ncalls; i++)
		if (d->calls[i].cgid == cgid)
			return &d->calls[i];
	return NULL;
}

void tw_call_forget(struct tw_daemon *d, struct tw_call *c)
{
	size_t i = c - d->calls, rl = strlen(d->ld.cg_root);
	struct tw_limit_ctl lc;

	/* its v1 limit cgroups (empty too: their processes were its own) */
	if (!strncmp(c->cgroup, d->ld.cg_root, rl) && c->cgroup[rl] == '/') {
		tw_limits_probe(&lc);
		tw_limits_remove(&lc, c->cgroup + rl + 1);
	}

	tw_maps_del_cgroup(&d->ld.maps, c->cgid);
	free(c->denials);
	tw_audit_secret_drop(&d->audit, c->cgid);
	json_decref(c->brokered);
	memmove(&d->calls[i], &d->calls[i + 1],
		(d->ncalls - i - 1) * sizeof(*c));
	d->ncalls--;
	d->calls_dirty = true;
}

void tw_calls_settle(struct tw_daemon *d)
{
	for (size_t i = 0; i < d->ncalls;) {
		struct tw_call *c = &d->calls[i];

		if (c->ended && tw_cg_nprocs(c->cgroup) <= 0 &&
		    tw_cg_remove_tree(c->cgroup, NULL) == 0) {
			tw_call_forget(d, c);
			continue;
		}
		i++;
	}
	if (d->calls_dirty)
		tw_calls_save(d);
}

/* The running calls, for a restarted daemon to re-adopt; with their
 * placeholders (root's file: never a value), so that a call's brokered
 * requests keep working across a restart of the daemon. */
int tw_calls_save(struct tw_daemon *d)
{
	json_t *arr = json_array();
	char *s;
	int ret;

	for (size_t i = 0; i < d->ncalls; i++) {
		const struct tw_call *c = &d->calls[i];

		json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:b,s:O?}",
				      "cgid", (json_int_t)c->cgid, "cgroup",
				      c->cgroup, "context", c->context,
				      "call_id", c->call_id, "requester",
				      c->requester, "started_ns",
				      (json_int_t)c->started_ns, "ended",
				      c->ended, "brokered", c->brokered);

		if (o && c->launcher_uid >= 0)
			json_object_set_new(o, "launcher_uid",
					    json_integer(c->launcher_uid));
		json_array_append_new(arr, o);
	}
	json_t *st = json_pack("{s:o,s:I}", "calls", arr, "next_call",
			       (json_int_t)d->next_call);
	s = json_dumps(st, JSON_INDENT(1));
	json_decref(st);
	if (!s)
		return -ENOMEM;
	ret = tw_write_file_atomic(tw_roots.state, s, strlen(s), 0600);
	free(s);
	if (!ret)
		d->calls_dirty = false;
	return ret;
}

void tw_call_note(struct tw_call *c, const void *id, size_t idlen,
		  const char *what, const char *reason, const char *hint)
{
	uint64_t key = tw_agg_hash(id, idlen);
	struct tw_call_denial *nd;

	for (size_t i = 0; i < c->ndenials; i++) {
		if (c->denials[i].key == key) {
			c->denials[i].count++;
			return;
		}
	}
	if (!reason || c->ndenials >= 256)
		return; /* the audit log has them all; the summary stays short */
	nd = realloc(c->denials, (c->ndenials + 1) * sizeof(*nd));
	if (!nd)
		return;
	c->denials = nd;
	nd = &c->denials[c->ndenials++];
	memset(nd, 0, sizeof(*nd));
	nd->key = key;
	/* the call's summary is JSON too (call-end): valid UTF-8 only */
	tw_text_encode(what, strlen(what), nd->what, sizeof(nd->what));
	tw_text_encode(reason, strlen(reason), nd->reason, sizeof(nd->reason));
	tw_text_encode(hint ? hint : "", hint ? strlen(hint) : 0, nd->hint,
		       sizeof(nd->hint));
	nd->count = 1;
}

void tw_record_where(json_t *rec, const struct tw_policy *pol,
		     const struct tw_context *x, const struct tw_call *call)
{
	json_object_set_new(rec, "context",
			    x ? json_string(x->name) : json_null());
	json_object_set_new(
		rec, "workspace",
		x && pol ? json_string(pol->workspaces[x->workspace].name) :
			   json_null());
	tw_record_call(rec, call);
}

void tw_record_call(json_t *rec, const struct tw_call *call)
{
	json_object_set_new(rec, "call_id",
			    call ? json_string(call->call_id) : json_null());
	json_object_set_new(rec, "requester",
			    call && *call->requester ?
				    json_string(call->requester) :
				    json_null());
	/* who launched it through the launch socket (toolwall(8)) */
	if (call && call->launcher_uid >= 0)
		json_object_set_new(rec, "launcher_uid",
				    json_integer(call->launcher_uid));
}

void tw_record_who(json_t *rec, uint32_t pid, uint32_t tid, uint64_t kernel_ns,
		   uint32_t uid, const char *comm, size_t commlen)
{
	json_object_set_new(rec, "pid", json_integer(pid));
	json_object_set_new(rec, "tid", json_integer(tid));
	if (kernel_ns)
		json_object_set_new(rec, "kernel_ns",
				    json_integer((json_int_t)kernel_ns));
	json_object_set_new(rec, "uid", json_integer(uid));
	json_object_set_new(rec, "comm",
			    tw_json_bytes(comm, strnlen(comm, commlen)));
}

bool tw_daemon_recorded(struct tw_daemon *d, int ring, uint64_t kernel_ns,
			uint32_t tid)
{
	if (d->ring_checked[ring])
		return false;
	d->ring_checked[ring] = true;
	for (size_t i = 0; i < d->nrecorded; i++)
		if (d->recorded[i].kernel_ns == kernel_ns &&
		    d->recorded[i].tid == tid)
			return true;
	return false;
}

const struct tw_revision *tw_daemon_context(struct tw_daemon *d,
					    uint32_t ctx_key, int *idx)
{
	uint32_t slot = TW_CTX_SLOT(ctx_key), i = TW_CTX_IDX(ctx_key);

	*idx = -1;
	if (ctx_key == TW_CTX_NONE)
		return NULL;
	/* A slot a previous daemon filled with the revision now in force:
	 * the same policy compiles to the same context indices. */
	if (!d->rev[slot].valid && (int)slot == d->alias_slot)
		slot = d->slot;
	if (!d->rev[slot].valid || i >= d->rev[slot].comp.nctx)
		return NULL;
	*idx = (int)i;
	return &d->rev[slot];
}

void tw_daemon_lost(struct tw_daemon *d, uint64_t count, bool lower_bound,
		    const char *source, const char *reason)
{
	json_t *rec = tw_audit_record(&d->audit, "lost", 0);

	json_object_set_new(rec, "count", json_integer((json_int_t)count));
	if (lower_bound)
		json_object_set_new(rec, "count_is_lower_bound", json_true());
	json_object_set_new(rec, "reason", json_string(reason));
	json_object_set_new(rec, "source", json_string(source));
	json_object_set_new(rec, "policy_rev",
			    d->rev[d->slot].valid ?
				    json_string(d->rev[d->slot].comp.revision) :
				    json_null());
	/* Written, or counted in the log's own gap and reported with it. */
	tw_audit_write(&d->audit, rec);
}

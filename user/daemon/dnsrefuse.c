// SPDX-License-Identifier: GPL-2.0-only
/*
 * dnsrefuse.c - a refused query's record (see dnsrefuse.h): built under
 * the daemon lock, aggregated with its twins, finished without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dnsallow.h"
#include "dnsrefuse.h"
#include "state.h"
#include "sysaudit.h"
#include "util.h"

bool tw_dns_bucket_take(struct dns_bucket *b, pthread_mutex_t *lock,
			unsigned int rate, unsigned int burst)
{
	uint64_t now = tw_now_ns(CLOCK_MONOTONIC);
	bool ok;

	pthread_mutex_lock(lock);
	if (!b->last_ns) {
		b->tokens = burst;
	} else {
		b->tokens += (double)(now - b->last_ns) * rate / 1e9;
		if (b->tokens > burst)
			b->tokens = burst;
	}
	b->last_ns = now;
	ok = b->tokens >= 1;
	if (ok)
		b->tokens -= 1;
	pthread_mutex_unlock(lock);
	return ok;
}

int tw_dns_budget_opt(struct tw_daemon *d, const char *arg)
{
	unsigned long qps, burst, inflight = TW_DNS_INFLIGHT;
	char *end;

	errno = 0;
	qps = strtoul(arg, &end, 10);
	burst = qps * 2;
	if (!errno && end != arg && *end == ':')
		burst = strtoul(end + 1, &end, 10);
	if (!errno && end != arg && *end == ':')
		inflight = strtoul(end + 1, &end, 10);
	if (errno || end == arg || *end || *arg == '-' ||
	    qps > TW_DNS_QPS_MAX || (qps && (!burst || burst > 1000 * qps)) ||
	    !inflight || inflight > TW_DNS_THREADS) {
		tw_error("--dns-budget %s: want QPS[:BURST[:INFLIGHT]], QPS 0 "
			 "(no query budget) to %u queries a second, BURST 1 "
			 "to 1000 times QPS, INFLIGHT 1 to %d",
			 arg, TW_DNS_QPS_MAX, TW_DNS_THREADS);
		return -1;
	}
	d->dns_qps = (uint32_t)qps;
	d->dns_burst = qps ? (uint32_t)burst : 0;
	d->dns_inflight = (uint32_t)inflight;
	return 0;
}

static json_t *audit_dns(struct tw_daemon *d, const struct tw_compiled *c,
			 const struct tw_context *x, const struct query *y,
			 const char *reason, const char *answer)
{
	json_t *rec = tw_audit_record(&d->audit,
				      x->mode == TW_MODE_AUDIT ? "audit" : "deny",
				      0);
	char hint[1024] = "";

	if (y->q.name.nlabels)
		tw_dns_name_hint(c, &y->q.name, hint, sizeof(hint));
	tw_record_where(rec, c->pol, x, NULL);
	json_object_set_new(rec, "action", json_string("dns"));
	json_object_set_new(rec, "proto",
			    json_string(y->qc->tcp ? "tcp" : "udp"));
	/* DNS presentation form (RFC 1035: other bytes as \DDD): ASCII */
	json_object_set_new(rec, "domain", tw_json_text(y->name));
	json_object_set_new(rec, "qtype", json_string(y->qtype));
	if (answer)
		json_object_set_new(rec, "answer", json_string(answer));
	json_object_set_new(rec, "reason", tw_json_text(reason));
	json_object_set_new(rec, "policy_rev", json_string(c->revision));
	json_object_set_new(rec, "hint", tw_json_text(hint));
	return rec;
}

static void key_fill(struct dns_key *k, const struct query *y,
		     const struct tw_compiled *c, enum dns_cause cause,
		     const uint8_t *addr)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->tag, "dns", 4);
	k->cause = (uint8_t)cause;
	k->tcp = y->qc->tcp;
	snprintf(k->context, sizeof(k->context), "%s", y->qc->context);
	snprintf(k->rev, sizeof(k->rev), "%s", c->revision);
	if (cause == C_BUDGET || cause == C_BUSY || cause == C_RECORDS)
		return; /* a flood of names: one record names the first */
	k->qtype = y->q.qtype;
	k->namelen = y->q.name.len;
	memcpy(k->name, y->q.name.wire, y->q.name.len);
	for (size_t i = 0; i < k->namelen; i++)
		if (k->name[i] >= 'A' && k->name[i] <= 'Z')
			k->name[i] += 'a' - 'A'; /* (length octets are < 64) */
	if (addr)
		memcpy(k->addr, addr, 16);
}

void tw_dns_refuse(struct tw_daemon *d, struct query *y,
		   const struct tw_revision *rev, const struct tw_context *x,
		   enum dns_cause cause, const char *why, const char *answer,
		   const uint8_t *addr)
{
	uint64_t now = tw_now_ns(CLOCK_REALTIME);
	struct tw_dns_listener *l = y->qc->l;
	char over[512];

	/* The record is written after lookups made without the lock, by
	 * one of several threads: the key is claimed now, so the twins that
	 * come meanwhile are counted into it, not written each on its own. */
	key_fill(&y->key, y, &rev->comp, cause, addr);
	if (tw_audit_aggregate(&d->audit, &y->key, sizeof(y->key), now))
		return;
	if (l && cause != C_BUDGET && cause != C_BUSY &&
	    !tw_dns_bucket_take(&l->records, &l->lock, TW_DNS_RECORDS_PER_S,
			 TW_DNS_RECORDS_BURST)) {
		key_fill(&y->key, y, &rev->comp, C_RECORDS, NULL);
		if (tw_audit_claim(&d->audit, &y->key, sizeof(y->key), now))
			return;
		snprintf(over, sizeof(over),
			 "%s; more than %d refused queries a second in %s: "
			 "counted in this record, which names the first",
			 why, TW_DNS_RECORDS_PER_S, x->name);
		why = over;
	} else if (tw_audit_claim(&d->audit, &y->key, sizeof(y->key), now)) {
		return;
	}
	y->rec = audit_dns(d, &rev->comp, x, y, why, answer);
	snprintf(y->cgroup, sizeof(y->cgroup), "%s", x->cgroup);
}

void tw_dns_query_record(struct tw_daemon *d, struct query *y)
{
	const struct query_ctx *qc = y->qc;
	struct tw_call *call = NULL;
	char file[64], comm[64] = "", line[256];
	uint32_t pid = 0;
	uint64_t cgid;
	long uid = -1;
	ssize_t cl = 0;
	FILE *f;
	int fd;

	if (!y->rec)
		return;
	if (qc->peerlen &&
	    tw_socket_owner(d, y->cgroup, (const struct sockaddr *)&qc->peer,
			    qc->tcp, &pid) == 0) {
		snprintf(file, sizeof(file), "/proc/%u/status", pid);
		f = fopen(file, "re");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "Uid:\t", 5))
				uid = strtol(line + 5, NULL, 10);
		if (f)
			fclose(f);
		/* the name's own bytes (status escapes some, not all) */
		snprintf(file, sizeof(file), "/proc/%u/comm", pid);
		fd = open(file, O_RDONLY | O_CLOEXEC);
		cl = fd >= 0 ? read(fd, comm, sizeof(comm)) : 0;
		if (fd >= 0)
			close(fd);
		cl = cl > 0 && comm[cl - 1] == '\n' ? cl - 1 : cl > 0 ? cl : 0;
	}
	json_object_set_new(y->rec, "pid", pid ? json_integer(pid) : json_null());
	json_object_set_new(y->rec, "uid",
			    uid >= 0 ? json_integer(uid) : json_null());
	json_object_set_new(y->rec, "comm",
			    cl ? tw_json_bytes(comm, (size_t)cl) : json_null());
	pthread_mutex_lock(&d->lock);
	if (pid && tw_sysaudit_pid_cgid(d, pid, &cgid) == 0)
		call = tw_call_find(d, cgid);
	tw_record_call(y->rec, call);
	tw_audit_write_first(&d->audit, y->rec, &y->key, sizeof(y->key), pid);
	pthread_mutex_unlock(&d->lock);
	y->rec = NULL;
}

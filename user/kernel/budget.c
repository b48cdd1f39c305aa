// SPDX-License-Identifier: GPL-2.0-only
/*
 * budget.c - each context's budget of denial events, user space's side
 * (see budget.h). The array is mmapped: the kernel adds to a context's
 * count of suppressed events with an atomic add and we take it with an
 * atomic exchange, so the count is exact without a lock on either side.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "compile.h"

_Static_assert(TW_BUDGET_CTX >= TW_MAX_CONTEXTS,
	       "tw_budget has room for fewer contexts than a policy may have");

int tw_budget_map(struct tw_budgets *b, int fd)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = sizeof(struct tw_budget) * TW_BUDGET_ENTRIES;
	void *p;

	len = (len + page - 1) / page * page;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	b->v = p;
	b->len = len;
	return 0;
}

void tw_budget_unmap(struct tw_budgets *b)
{
	if (b->len)
		munmap(b->v, b->len);
	memset(b, 0, sizeof(*b));
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns() */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void arm_one(struct tw_budget *e, uint32_t rate, uint32_t burst,
		    uint64_t now)
{
	/* The fields the kernel reads, each written whole; the count of
	 * suppressed events is the kernel's until taken. */
	__atomic_store_n(&e->tokens, (uint64_t)burst, __ATOMIC_RELAXED);
	__atomic_store_n(&e->last_ns, now, __ATOMIC_RELAXED);
	__atomic_store_n(&e->burst, burst, __ATOMIC_RELAXED);
	__atomic_store_n(&e->rate, rate, __ATOMIC_RELEASE);
}

void tw_budget_arm(struct tw_budgets *b, uint32_t slot, size_t n,
		   uint32_t rate, uint32_t burst)
{
	struct tw_budget *none;
	uint64_t now = mono_ns();

	if (!b->len)
		return;
	for (size_t i = 0; i < n && i < TW_BUDGET_CTX; i++)
		arm_one(&b->v[TW_BUDGET_IDX(TW_CTX_KEY(slot & 1, i))], rate,
			burst, now);
	none = &b->v[TW_BUDGET_NONE];
	if (__atomic_load_n(&none->rate, __ATOMIC_RELAXED) != rate ||
	    __atomic_load_n(&none->burst, __ATOMIC_RELAXED) != burst)
		arm_one(none, rate, burst, now);
}

/* Take *P, leaving 0. A plain read first: most entries have nothing to
 * take, and an exchange would dirty their cache lines for nothing. */
static uint64_t take(__u64 *p)
{
	if (!__atomic_load_n(p, __ATOMIC_RELAXED))
		return 0;
	return __atomic_exchange_n(p, 0, __ATOMIC_ACQ_REL);
}

uint64_t tw_budget_take(struct tw_budgets *b, uint32_t idx,
			struct tw_budget_counts *c)
{
	struct tw_budget *e;

	memset(c, 0, sizeof(*c));
	if (!b->len || idx >= TW_BUDGET_ENTRIES)
		return 0;
	e = &b->v[idx];
	c->deny = take(&e->suppressed);
	c->audit = take(&e->suppressed_audit);
	c->sys = take(&e->suppressed_sys);
	return c->deny + c->audit + c->sys;
}

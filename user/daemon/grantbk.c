// SPDX-License-Identifier: GPL-2.0-only
/*
 * grantbk.c - the redirects of granted brokered credentials (see
 * grantbk.h; the kernel's semantics in bpf/toolwall.h, tw_bk_grant).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "brokerd.h"
#include "grantbk.h"
#include "grantmaps.h"
#include "grantrule.h"
#include "learned.h"
#include "model.h"
#include "service.h"
#include "util.h"

/* Where one grant's redirects go. */
struct bk_put {
	struct tw_daemon *d;
	const struct tw_gaddrs *ga;
	const struct tw_grant_bk *g;
	int ret;
};

/* Redirect (FAMILY, ADDR) at SV's port to the broker, for ORIGIN, until
 * the earlier of DEADLINE and the grant's. */
static void put_one(struct bk_put *p, const struct tw_service *sv,
		    uint32_t origin, uint8_t family, const uint8_t addr[16],
		    uint64_t deadline)
{
	struct tw_bk_entry x = { .family = family, .port = sv->port,
				 .origin = origin,
				 .broker_port = p->d->broker->port };
	int ret;

	memcpy(x.addr, addr, 16);
	if (deadline > p->g->deadline)
		deadline = p->g->deadline;
	ret = tw_gmaps_bk_put(&p->d->ld.maps, p->g->kind, p->g->scope,
			      p->g->gslot, &x, deadline);
	if (ret && !p->ret)
		p->ret = ret;
}

/* Service SV of the grant: its address, or the addresses of its name. */
static void put_service(struct bk_put *p, const struct tw_service *sv)
{
	const struct tw_gaddrs *ga = p->ga;
	uint32_t origin = tw_brokerd_origin(p->d, sv);

	if (origin == ~0u) {
		p->ret = p->ret ? p->ret : -ENOMEM;
		return;
	}
	if (sv->family) {
		int fam = sv->family, plen = fam == 4 ? 32 : 128;
		uint8_t a[16];

		memcpy(a, sv->addr, 16);
		tw_fold_v4(&fam, a, &plen);
		put_one(p, sv, origin, (uint8_t)fam, a, p->g->deadline);
		return;
	}
	for (size_t i = 0; ga && i < ga->n; i++) {
		const struct tw_grant_addr *a = &ga->v[i];

		if (a->num == p->g->num && a->e.proto == TW_PROTO_TCP &&
		    !strcasecmp(a->name, sv->host))
			put_one(p, sv, origin, a->e.family, a->e.addr,
				a->deadline);
	}
	for (size_t i = 0; i < tw_learned_count(&p->d->learned); i++) {
		const struct tw_learned *l = tw_learned_at(&p->d->learned, i);

		if (l->e.proto == TW_PROTO_TCP &&
		    !strcmp(l->context, p->g->context) &&
		    !strcasecmp(l->name, sv->host))
			put_one(p, sv, origin, l->e.family, l->e.addr,
				p->g->deadline);
	}
}

/* Call FN for each service of each brokered credential of G's bundle. */
static void each_granted_service(const struct tw_compiled *comp,
				 const struct tw_grant_bk *g,
				 void (*fn)(void *arg,
					    const struct tw_service *sv),
				 void *arg)
{
	int b = g->bundle && g->bundle[0] ? tw_grant_bundle(comp->pol, g->bundle) :
					    -1;
	const struct tw_bundle *bu;

	if (b < 0)
		return;
	bu = &comp->pol->bundles[b];
	for (size_t k = 0; k < bu->ncreds; k++) {
		const struct tw_credential *cr = &bu->creds[k];

		if (!tw_credential_brokered(cr))
			continue;
		for (size_t s = 0; s < cr->nservices; s++) {
			struct tw_service sv;
			char err[128];

			if (!tw_service_parse(cr->services[s], &sv, err,
					      sizeof(err)))
				fn(arg, &sv);
		}
	}
}

static void put_cb(void *arg, const struct tw_service *sv)
{
	put_service(arg, sv);
}

int tw_grant_bk_put(struct tw_daemon *d, const struct tw_compiled *comp,
		    const struct tw_gaddrs *ga, const struct tw_grant_bk *g)
{
	struct bk_put p = { d, ga, g, 0 };

	if (!d->broker)
		return 0;
	each_granted_service(comp, g, put_cb, &p);
	return p.ret;
}

/* One learned address of a name, for a grant of its context. */
struct bk_learned {
	struct bk_put put;
	const char *name;
	const struct tw_learn_entry *e;
	bool add;
};

/* Until when the grant's own answer for SV's name holds address E: 0 if
 * it does not. */
static uint64_t answered_until(const struct bk_put *p,
			       const struct tw_service *sv,
			       const struct tw_learn_entry *e)
{
	for (size_t i = 0; p->ga && i < p->ga->n; i++) {
		const struct tw_grant_addr *a = &p->ga->v[i];

		if (a->num == p->g->num && a->e.proto == TW_PROTO_TCP &&
		    a->e.family == e->family && !memcmp(a->e.addr, e->addr, 16) &&
		    !strcasecmp(a->name, sv->host))
			return a->deadline;
	}
	return 0;
}

static void learned_cb(void *arg, const struct tw_service *sv)
{
	struct bk_learned *a = arg;
	struct tw_bk_entry x = { .family = a->e->family, .port = sv->port };
	uint64_t until;
	uint32_t origin;

	if (sv->family || strcasecmp(sv->host, a->name))
		return;
	/* forgotten: the redirect stays while the grant's own answer for
	 * the name holds the address (rewritten with that answer's end) */
	until = a->add ? a->put.g->deadline : answered_until(&a->put, sv, a->e);
	if (until) {
		origin = tw_brokerd_origin(a->put.d, sv);
		if (origin != ~0u)
			put_one(&a->put, sv, origin, a->e->family, a->e->addr,
				until);
		return;
	}
	memcpy(x.addr, a->e->addr, 16);
	tw_gmaps_bk_del(&a->put.d->ld.maps, a->put.g->kind, a->put.g->scope,
			a->put.g->gslot, &x);
}

void tw_grant_bk_learned(struct tw_daemon *d, const struct tw_compiled *comp,
			 const struct tw_gaddrs *ga,
			 const struct tw_grant_bk *g, const char *name,
			 const struct tw_learn_entry *e, bool add)
{
	struct bk_learned a = { { d, ga, g, 0 }, name, e, add };

	if (d->broker && e->proto == TW_PROTO_TCP)
		each_granted_service(comp, g, learned_cb, &a);
}

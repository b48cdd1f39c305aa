/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * grantmaps.h - grants and quarantine in the kernel maps (tw_grants,
 * tw_bk_grant, tw_scopes, tw_grant_on; the semantics are in bpf/toolwall.h). The
 * daemon's grants.c decides; this only writes. Library code: -errno, no
 * logging.
 */
#ifndef TW_GRANTMAPS_H
#define TW_GRANTMAPS_H

#include <stddef.h>
#include <stdint.h>

#include "loader.h"
#include "lower.h"
#include "maps.h"
#include "toolwall.h"

/* Write the entries E (N) of grant GRANT into slot GSLOT of scope (KIND,
 * SCOPE), each with DEADLINE (CLOCK_BOOTTIME ns). */
int tw_gmaps_put(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		 uint8_t gslot, const struct tw_lpm_entry *e, size_t n,
		 uint64_t deadline, uint32_t grant);
/* Redirect the brokered service E (its family, address, port, origin and
 * broker port; E->ctx unused) of grant slot GSLOT of the scope to the
 * broker until DEADLINE (tw_bk_grant). */
int tw_gmaps_bk_put(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		    uint8_t gslot, const struct tw_bk_entry *e,
		    uint64_t deadline);
/* Remove that redirect (E's family, address and port). */
int tw_gmaps_bk_del(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		    uint8_t gslot, const struct tw_bk_entry *e);
/* Remove the one entry E (its prefix) of grant slot GSLOT of the scope. */
int tw_gmaps_del(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		 uint8_t gslot, const struct tw_lpm_entry *e);
/* Remove the entries of grant slot GSLOT of the scope (every slot: -1),
 * brokered services included. */
int tw_gmaps_drop(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		  int gslot);
/*
 * Set the scope's grant slots in use and its quarantine (CLOCK_BOOTTIME ns
 * when it began; 0: none). Both 0 removes the scope. tw_grant_on is raised
 * before a scope appears and lowered after the last one goes.
 */
int tw_gmaps_scope(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		   uint32_t gslots, uint64_t quarantined);
/* The scope as the kernel holds it; -ENOENT when it holds none. */
int tw_gmaps_scope_get(const struct tw_maps *m, uint8_t kind, uint64_t scope,
		       struct tw_scope_val *v);
/* The cgroup ids of the call scopes the kernel holds (at most MAX). */
size_t tw_gmaps_call_scopes(const struct tw_maps *m, uint64_t *out,
			    size_t max);
/* Remove every context scope of policy slot SLOT and its entries (before
 * the slot is filled again). */
int tw_gmaps_clear_slot(const struct tw_maps *m, uint32_t slot);

#endif

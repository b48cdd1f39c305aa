/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dnsrebind.h - is an answered address one a rebinding attack points a
 * public name at: loopback, private, link-local (cloud metadata), CGNAT,
 * multicast, reserved, or one of this host's own addresses, and no
 * IP-literal rule of the context lists it?
 */
#ifndef TW_DNSREBIND_H
#define TW_DNSREBIND_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* FAMILY 4 or 6. Callers hold the daemon lock (it guards the cache of
 * this host's addresses, read at most once a second). */
bool tw_dns_rebinding(const struct tw_context *x, int family,
		      const uint8_t *addr);
/* Forget the cached addresses (the resolver stops). */
void tw_dns_rebinding_free(void);

#endif

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * compile.h - policy model -> the effective rules of every context, each
 * rule naming the bundle(s) that grant it.
 *
 * Pure: no BPF, no files, no logging. maps.c turns the result into kernel
 * map entries; explain.c answers questions over it.
 */
#ifndef TW_COMPILE_H
#define TW_COMPILE_H

#include <jansson.h>

#include "lower.h"
#include "model.h"
#include "policy.h"
#include "revision.h"

/* Limits checked by the compiler (errors name the context). */
#define TW_MAX_CONTEXTS 4096
#define TW_MAX_RULES_PER_CTX 200000

/*
 * Compile POL (already linked). Returns 0, -EINVAL with diagnostics when a
 * limit is exceeded, or -ENOMEM.
 */
int tw_compile(const struct tw_policy *pol, struct tw_compiled *out,
	       struct tw_diags *diags);
void tw_compiled_free(struct tw_compiled *c);
int tw_compiled_find(const struct tw_compiled *c, const char *context);

/*
 * What a tool call of context X receives besides its network rules, as
 * compile -j and the launcher (call-start) see it: {"credentials" (name,
 * scope, owner, env, bundle, source: never a value), "repositories",
 * "skills", "instructions"}.
 */
json_t *tw_context_access_json(const struct tw_compiled *c,
			       const struct tw_context *x);
/*
 * Context X of C as it is for a tool call that starts while grants of the
 * bundles BUNDLES (N indices, dangling ones skipped) last: X's own
 * bundles and these, as TW_GRANT_GRANTED. Returns 0 with *OUT filled
 * (free it with tw_context_free) or -errno.
 */
int tw_context_with(const struct tw_compiled *c, const struct tw_context *x,
		    const int *bundles, size_t n, struct tw_context *out);
void tw_context_free(struct tw_context *x);

/* [{"bundle", "text"}] of every bundle X holds that has instructions. */
json_t *tw_context_instructions_json(const struct tw_compiled *c,
				     const struct tw_context *x);

#endif

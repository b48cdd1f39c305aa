// SPDX-License-Identifier: GPL-2.0-only
/*
 * ctxstats.c - each context's decisions in the kernel (ctxstats.h).
 */
#include <errno.h>
#include <stdlib.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ctxstats.h"

/* A zeroed per-CPU value of the map, or NULL (*NCPU: the CPUs). */
static struct tw_ctx_stat *percpu_buf(int *ncpu)
{
	*ncpu = libbpf_num_possible_cpus();
	if (*ncpu <= 0)
		return NULL;
	return calloc((size_t)*ncpu, sizeof(struct tw_ctx_stat));
}

int tw_ctxstats_read(int fd, uint32_t key, struct tw_ctx_stat *out,
		     bool take)
{
	uint32_t idx = TW_BUDGET_IDX(key);
	struct tw_ctx_stat *v;
	int ncpu, ret = 0;

	*out = (struct tw_ctx_stat){};
	if (fd < 0 || idx >= TW_BUDGET_ENTRIES)
		return -ENOENT;
	v = percpu_buf(&ncpu);
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &idx, v)) {
		ret = -errno;
		goto out;
	}
	for (int c = 0; c < ncpu; c++) {
		out->allowed += v[c].allowed;
		out->denied += v[c].denied;
		out->audited += v[c].audited;
	}
	if (take) {
		for (int c = 0; c < ncpu; c++)
			v[c] = (struct tw_ctx_stat){};
		if (bpf_map_update_elem(fd, &idx, v, BPF_EXIST))
			ret = -errno;
	}
out:
	free(v);
	return ret;
}

int tw_ctxstats_clear(int fd)
{
	struct tw_ctx_stat *v;
	int ncpu, ret = 0;

	if (fd < 0)
		return -ENOENT;
	v = percpu_buf(&ncpu);
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < TW_BUDGET_ENTRIES && !ret; i++)
		if (bpf_map_update_elem(fd, &i, v, BPF_EXIST))
			ret = -errno;
	free(v);
	return ret;
}

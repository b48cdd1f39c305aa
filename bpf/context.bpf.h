/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * context.bpf.h - the maps that say which context a process is in, shared
 * by the socket hooks (sock.bpf.c) and the syscall audit (proc.bpf.c).
 * Both objects declare them identically; the loader pins them once and the
 * second object reuses the pins, so both read one table.
 */
#ifndef TW_CONTEXT_BPF_H
#define TW_CONTEXT_BPF_H

/* Active slot, flipped by user space for an atomic policy swap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_state);
} tw_state SEC(".maps");

/* (cgroup id, slot) -> context: which context a process is in. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TW_MAX_CGROUPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tw_cg_key);
	__type(value, struct tw_cg_val);
} tw_cgroups SEC(".maps");

#endif

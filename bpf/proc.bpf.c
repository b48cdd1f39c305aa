// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * proc.bpf.c - syscall audit: what a tool call ran and what it was refused.
 * Tracepoints observe, they never decide (Landlock and seccomp decide; see
 * user/launch/sandbox.h). Both programs act only for processes whose cgroup maps
 * to a context (tw_cgroups, shared with sock.bpf.c), so the rest of the
 * host pays one map lookup at most, and only on a failed syscall or an
 * exec.
 *
 * Raw tracepoints, so no tracefs is needed:
 *
 *   tw_exec      sched_process_exec: the program that started, its
 *                argv (from the new mm, so what the program really got)
 *   tw_sys_exit  sys_exit: a watched syscall (tw_sys_watch)
 *                that returned EACCES or EPERM, with its path argument,
 *                read at exit (at entry the page may not be faulted in yet)
 *
 * Records go to their own ring buffer so that a storm of file denials
 * cannot push network denials out, and the reverse.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "toolwall.h"

#define EPERM 1
#define EACCES 13
#define AF_INET 2
#define AF_INET6 10


/* Syscall number -> how to audit it; filled by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TW_SYS_WATCH_MAX);
	__type(key, __u32);
	__type(value, struct tw_sys_watch);
} tw_sys_watch SEC(".maps");

#include "context.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, TW_PROC_RINGBUF_SIZE);
} tw_proc_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TW_PSTAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tw_proc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_proc_state);
} tw_proc_state SEC(".maps");

#define pcount(stat) tw_count(&tw_proc_stats, (stat))

/* The context key of the current task's cgroup, or TW_CTX_NONE. */
static __always_inline __u32 current_ctx(__u64 cgid)
{
	struct tw_cg_val *val = tw_context_of(cgid);

	return val ? val->ctx : TW_CTX_NONE;
}

/* Reserve an event and fill who and when; NULL when the buffer is full. */
static __always_inline struct tw_proc_event *start(__u8 kind, __u32 ctx,
						   __u64 cgid)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct tw_proc_event *e;
	__u64 id;

	/* A refusal carries no argv: a quarter of the size, four times as
	 * many fit in the buffer during a flood. */
	if (kind == TW_PROC_EXEC)
		e = bpf_ringbuf_reserve(&tw_proc_events, sizeof(*e), 0);
	else
		e = bpf_ringbuf_reserve(&tw_proc_events, TW_PROC_DENIED_SIZE,
					0);
	if (!e) {
		pcount(TW_PSTAT_LOST);
		return 0;
	}
	id = bpf_get_current_pid_tgid();
	e->ts_ns = bpf_ktime_get_boot_ns();
	e->cgid = cgid;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->ctx = ctx;
	e->sysnr = 0;
	e->err = 0;
	e->argv_len = 0;
	e->kind = kind;
	e->truncated = 0;
	__builtin_memset(e->args, 0, sizeof(e->args));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->path[0] = 0;
	return e;
}

/* sched_process_exec(struct task_struct *p, pid_t old_pid, linux_binprm *) */
SEC("raw_tp/sched_process_exec")
int tw_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 cx = current_ctx(cgid);
	struct task_struct *task;
	struct tw_proc_event *e;
	unsigned long lo, hi, len;
	long n;

	if (cx == TW_CTX_NONE)
		return 0;
	e = start(TW_PROC_EXEC, cx, cgid);
	if (!e)
		return 0;
	e->argv[0] = 0;
	pcount(TW_PSTAT_EXEC);
	n = bpf_probe_read_kernel_str(e->path, sizeof(e->path),
				      BPF_CORE_READ(bprm, filename));
	if (n == sizeof(e->path))
		e->truncated |= 1;

	task = bpf_get_current_task_btf();
	lo = BPF_CORE_READ(task, mm, arg_start);
	hi = BPF_CORE_READ(task, mm, arg_end);
	len = hi > lo ? hi - lo : 0;
	if (len > TW_PROC_ARGV_LEN - 1) {
		len = TW_PROC_ARGV_LEN - 1;
		e->truncated |= 2;
	}
	len &= TW_PROC_ARGV_LEN - 1;
	if (len && !bpf_probe_read_user(e->argv, len, (void *)lo))
		e->argv_len = len;
	tw_submit(&tw_proc_events, e);
	return 0;
}

#if defined(__TARGET_ARCH_x86)
#define SYS_NR(r) BPF_CORE_READ(r, orig_ax)
#define SYS_ARG0(r) BPF_CORE_READ(r, di)
#define SYS_ARG1(r) BPF_CORE_READ(r, si)
#define SYS_ARG2(r) BPF_CORE_READ(r, dx)
#define SYS_ARG3(r) BPF_CORE_READ(r, r10)
#define SYS_ARG4(r) BPF_CORE_READ(r, r8)
#define SYS_ARG5(r) BPF_CORE_READ(r, r9)
#elif defined(__TARGET_ARCH_arm64)
#define SYS_NR(r) BPF_CORE_READ(r, syscallno)
#define SYS_ARG0(r) BPF_CORE_READ(r, orig_x0)
#define SYS_ARG1(r) BPF_CORE_READ(r, regs[1])
#define SYS_ARG2(r) BPF_CORE_READ(r, regs[2])
#define SYS_ARG3(r) BPF_CORE_READ(r, regs[3])
#define SYS_ARG4(r) BPF_CORE_READ(r, regs[4])
#define SYS_ARG5(r) BPF_CORE_READ(r, regs[5])
#else
#error "syscall audit: add this architecture's syscall registers"
#endif

SEC("raw_tp/sys_exit")
int tw_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	long ret = (long)ctx->args[1];
	struct pt_regs *regs;
	struct tw_sys_watch *w;
	struct tw_proc_event *e;
	__u64 cgid;
	__u32 cx, nr;
	int pa;
	long n;

	/* Nearly every syscall of the host leaves here. */
	if (ret != -EACCES && ret != -EPERM)
		return 0;
	regs = (struct pt_regs *)ctx->args[0];
	nr = (__u32)SYS_NR(regs);
	w = bpf_map_lookup_elem(&tw_sys_watch, &nr);
	if (!w || !w->action)
		return 0;
	cgid = bpf_get_current_cgroup_id();
	cx = current_ctx(cgid);
	if (cx == TW_CTX_NONE)
		return 0;
	if (w->flags & TW_SYSW_SKIP_INET) {
		__u64 fam = SYS_ARG0(regs);

		if (fam == AF_INET || fam == AF_INET6)
			return 0; /* sock_create recorded it */
	}
	/* A storm of refusals costs its own context its records, counted,
	 * not the others' exec records and refusals (tw_budget). Still a
	 * refusal seen: records + lost records add up to DENIED + LOST. */
	if (!tw_budget_take(cx, TW_BUDGET_SYS)) {
		pcount(TW_PSTAT_DENIED);
		return 0;
	}
	e = start(TW_PROC_DENIED, cx, cgid);
	if (!e)
		return 0;
	pcount(TW_PSTAT_DENIED);
	e->sysnr = nr;
	e->err = (__s32)-ret;
	e->args[0] = SYS_ARG0(regs);
	e->args[1] = SYS_ARG1(regs);
	e->args[2] = SYS_ARG2(regs);
	e->args[3] = SYS_ARG3(regs);
	e->args[4] = SYS_ARG4(regs);
	e->args[5] = SYS_ARG5(regs);
	pa = w->path_arg;
	if (pa >= 0 && pa < 6) {
		n = bpf_probe_read_user_str(e->path, sizeof(e->path),
					    (void *)e->args[pa]);
		if (n < 0)
			e->path[0] = 0;
		else if (n == sizeof(e->path))
			e->truncated |= 1;
	}
	tw_submit(&tw_proc_events, e);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

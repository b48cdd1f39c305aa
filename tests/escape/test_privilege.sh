#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Escape suite, privilege class: a call (workspace:acme) tries to gain what
# the agent account lacks or leave its confinement: setuid programs, user
# namespaces (and the capabilities they hand out), mounts and the mount API,
# chroot, setns, bpf() and toolwall's own pins, perf events, the account's
# shared keyring, AF_ALG, TIOCSTI, module loading, moving to another cgroup,
# the i386 syscall entry. A data-team victim call runs beside it.
#
# Mount-type primitives need capabilities: the bare agent proves them in a
# user namespace of its own (ESC_BARE_WRAP="unshare -Urm"), which is exactly
# what a call must not get.
#
# No pending fix is needed here: seccomp, Landlock and NoNewPrivs hold today,
# and every attempt must pass.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

P="$ESC_PY $ESC_ATTACKS/priv.py"
ESC_NO_HOSTS=1 # (reaches no test host)
esc_setup
esc_victim_start || { tap_summary; exit 1; }
WS=$ESC_WS
seccomp() { echo "action=$1;syscall=$1;errno=EPERM;reason~seccomp denies $1()"; }

esc "a setuid-root program (su) runs with uid 0" $WS - -- $P setuid /usr/bin/su
esc "a setuid-root program (passwd)" $WS - -- $P setuid /usr/bin/passwd
esc "unshare(CLONE_NEWUSER)" $WS "$(seccomp unshare)" -- $P unshare-user
esc "clone(CLONE_NEWUSER)" $WS "$(seccomp clone)" -- $P clone-user
esc "unshare -Ur (root in a user namespace)" $WS "$(seccomp unshare);comm=unshare" -- $P unshare-cmd
ESC_BARE_WRAP="unshare -Urm" esc "mount a tmpfs" $WS "$(seccomp mount)" -- $P mount
ESC_BARE_WRAP="unshare -Urm" esc "fsopen (the new mount API)" $WS "$(seccomp fsopen)" -- $P fsopen
ESC_BARE_WRAP="unshare -Urm" esc "open_tree clone of /" $WS "$(seccomp open_tree)" -- $P open-tree
ESC_BARE_WRAP="unshare -Urm" esc "chroot" $WS "$(seccomp chroot)" -- $P chroot
ESC_BARE_WRAP="unshare -Urn" esc "setns into a network namespace" $WS "$(seccomp setns)" -- $P setns
esc "bpf() reaches the kernel" $WS "$(seccomp bpf)" -- $P bpf
pin=$(find /sys/fs/bpf/toolwall -maxdepth 2 -type f 2>/dev/null | head -1)
ESC_NOBARE="the pins are root's (0700): no account outside toolwall opens them" \
	esc "BPF_OBJ_GET of toolwall's pin ${pin##*/}" $WS "$(seccomp bpf)" -- $P bpf-obj-get "${pin:-/sys/fs/bpf/toolwall/none}"
ESC_NOBARE="the pins are root's (0700)" \
	esc "list toolwall's bpffs pins" $WS "action=open;errno=EACCES;path=/sys/fs/bpf/toolwall" -- $P bpf-pins /sys/fs/bpf/toolwall
esc "perf_event_open on itself" $WS "$(seccomp perf_event_open)" -- $P perf
esc "the account's user keyring (shared by every call)" $WS "$(seccomp keyctl)" -- $P keyring
esc "AF_ALG socket (kernel crypto)" $WS "action=socket;syscall=socket;errno=EPERM" -- $P af-alg
esc "TIOCSTI into a terminal" $WS "action=ioctl;syscall=ioctl;errno=EPERM" -- $P tiocsti
ESC_NOBARE="module loading needs CAP_SYS_MODULE" \
	esc "init_module" $WS "$(seccomp init_module)" -- $P init-module

# ---- leaving the call's cgroup ---------------------------------------------------------
cgmnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
vcg=$cgmnt$(sed -n 's/^0:://p' /proc/$ESC_VICTIM_PID/cgroup)
ESC_NOBARE="the root cgroup is root's" \
	esc "move itself to the root cgroup" $WS "action=open;errno=EACCES;path=$cgmnt/cgroup.procs" -- $P cgroup-move "$cgmnt/cgroup.procs"
ESC_NOBARE="a call's cgroup is not the agent's to write" \
	esc "move itself into the data-team victim's cgroup" $WS "action=open;errno=EACCES;path=$vcg/cgroup.procs" -- $P cgroup-move "$vcg/cgroup.procs"
ESC_NOBARE="a call's cgroup is not the agent's to write" \
	esc "a sub-cgroup of its own call's" $WS "action=mkdir;errno=EACCES" -- $P cgroup-sub
for v1 in pids memory; do
	[[ -w $cgmnt/../$v1/cgroup.procs || -e /sys/fs/cgroup/$v1/cgroup.procs ]] || continue
	ESC_NOBARE="the v1 $v1 root is root's" \
		esc "move itself to the v1 $v1 root (out of its limits)" $WS \
		"action=open;errno=EACCES;path=/sys/fs/cgroup/$v1/cgroup.procs" -- $P cgroup-move "/sys/fs/cgroup/$v1/cgroup.procs"
done

# ---- the i386 entry: only if the bare agent can make an i386 syscall at all ---------------
SB=$TW_ROOT/build/probes/sbprobe
if [[ $(uname -m) == x86_64 && -x $SB ]]; then
	got=$(setpriv --reuid "$TW_AGENT" --regid "$TW_AGENT" --clear-groups "$SB" int80 2>/dev/null | head -1)
	if [[ $got == OK ]]; then
		ESC_N=$((ESC_N + 1))
		ESC_ID=esc-$$-$ESC_N
		twx $WS "$ESC_ID" "$SB" int80 >/dev/null 2>&1
		rc=$?
		[[ $rc == 159 ]] && ok "int 0x80 kills the call (SIGSYS)" || not_ok "int 0x80" "exit $rc"
	else
		skip "int 0x80 is refused" "the bare agent cannot make an i386 syscall on this machine (got '${got:-a signal}'), nothing to refuse"
	fi
fi

esc_victim_alive && ok "the victim call ran through every attempt" || not_ok "victim alive"
tap_summary

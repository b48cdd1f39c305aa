#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Escape suite, filesystem class. A call of channel:acme/general tries to
# run code it wrote (memfd + execveat, the dynamic loader on a HOME file,
# mmap(PROT_EXEC), LD_PRELOAD, exec from every writable place), to read or
# write the data-team victim call's private directories (its credentials,
# its HOME), the credential stores, the audit log and the policy, directly
# and through symlinks and hardlinks.
#
# Fixes pending on other branches (attempts tagged [needs: ...]):
#   noexec   the call's writable places mounted noexec (its own mount
#            namespace): the loader and mmap(PROT_EXEC) fail on them
#   memfd    memfd_create + execveat refused (seccomp or vm.memfd_noexec in
#            the call's PID namespace)
# Landlock holds the rest today and those attempts must pass.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"

F="$ESC_PY $ESC_ATTACKS/fs.py"
ESC_NO_HOSTS=1 # (reaches no test host)
esc_setup
esc_victim_start || { tap_summary; exit 1; }
G=$ESC_GEN
# The victim's private directories, as root sees them.
venv=$(tr '\0' '\n' </proc/$ESC_VICTIM_PID/environ)
VHOME=$(sed -n 's/^HOME=//p' <<<"$venv")
VCRED=$(sed -n 's/^TOOLWALL_CREDENTIALS_DIR=//p' <<<"$venv")
[[ -d $VHOME && -d $VCRED ]] && ok "the victim's HOME and credentials directory exist" ||
	not_ok "victim directories" "HOME '$VHOME' creds '$VCRED'"
CALLS=$(dirname "$VHOME")

# ---- running what the call wrote ----------------------------------------------------
ESC_FIX=memfd esc "memfd_create + execveat" $G "action=exec;syscall=execveat;errno=EACCES" -- $F memfd fd
ESC_FIX=memfd esc "memfd exec by its /proc/self/fd path" $G "action~" -- $F memfd proc
ESC_FIX=noexec esc "ld.so runs a copy of echo from HOME" $G - -- $F ldso
ESC_FIX=noexec esc "mmap(PROT_EXEC) of code written to HOME" $G - -- $F mmap-exec
ESC_FIX=noexec esc "LD_PRELOAD of a library written to HOME" $G - -- $F preload
esc "exec a program written to HOME" $G "action=exec;errno=EACCES" -- $F exec-in '$HOME'
for d in /tmp /var/tmp /dev/shm "$TW_WORK/shared"; do
	esc "exec a program written to $d" $G "path~$d/tw-esc-" -- $F exec-in "$d"
done

# ---- other calls' directories -----------------------------------------------------------
esc "read the victim's credential file" $G \
	"action=open;errno=EACCES;path=$VCRED/warehouse-reader;reason~private directory" -- $F read "$VCRED/warehouse-reader"
esc "list the victim's credentials directory" $G \
	"action=open;errno=EACCES;path=$VCRED" -- $F list "$VCRED"
esc "list the victim's HOME" $G "action=open;errno=EACCES;path=$VHOME" -- $F list "$VHOME"
esc "plant a file in the victim's HOME" $G "action=open;errno=EACCES;access=write" -- $F plant "$VHOME"
esc "list every call's private directories" $G "action=open;errno=EACCES;path=$CALLS" -- $F list "$CALLS"
# The victim is outside the call's PID namespace: /proc/PID names no such
# process (ENOENT); nothing is refused, so nothing is recorded.
esc "the victim's credential file through /proc/PID/root" $G - -- \
	$F read "/proc/$ESC_VICTIM_PID/root$VCRED/warehouse-reader"
esc "list the victim's working directory through /proc/PID/cwd" $G - -- \
	$F list "/proc/$ESC_VICTIM_PID/cwd"
esc "a symlink in HOME to the victim's credential file" $G "action=open;errno=EACCES" -- \
	$F symlink "$VCRED/warehouse-reader"
# (refused today; the syscall audit writes no record of it: a finding)
# Refused by the kernel itself (another filesystem, protected_hardlinks)
# before any rule of toolwall's: no record is written for it.
esc "a hardlink in HOME to the victim's credential file" $G - -- \
	$F hardlink "$VCRED/warehouse-reader"

# ---- stores, the audit log, the policy ------------------------------------------------
ESC_NOBARE="the stores are root's (0700)" \
	esc "read the warehouse credential's store" $G \
	"action=open;errno=EACCES;path=$TW_STORES/agent/warehouse-reader;reason~credential store" -- $F read "$TW_STORES/agent/warehouse-reader"
ESC_NOBARE="the stores are root's (0700)" \
	esc "a symlink in HOME to the store" $G "action=open;errno=EACCES" -- \
	$F symlink "$TW_STORES/agent/warehouse-reader"
chmod 0644 "$TW_LOG" 2>/dev/null # as careless operators leave it
esc "read the audit log (every context's activity)" $G "action=open;errno=EACCES;path=$TW_LOG" -- $F read "$TW_LOG"
esc "read the policy (stores and contexts)" $G \
	"action=open;errno=EACCES;path=$TW_POLICY/bundles/warehouse-read.json" -- $F read "$TW_POLICY/bundles/warehouse-read.json"
ESC_NOBARE="toolwall's state is root's" \
	esc "list toolwall's run directory" $G "action=open;errno=EACCES;path=/run/toolwall" -- $F list /run/toolwall

esc_victim_alive && ok "the victim call ran through every attempt" || not_ok "victim alive"
tap_summary

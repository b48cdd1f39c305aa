#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Identity, credentials, repositories, skills, instructions and escape
# syscalls of tool calls (Landlock + seccomp in `toolwall exec`), on the
# reference policy plus a few test bundles. Every row is a real program run
# through `toolwall exec` with an exact expected outcome; the escape
# syscalls are also run as the bare agent account, outside toolwall, to
# show that it is toolwall that refuses them.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/tap.sh"
source "$HERE/../lib/netns.sh"
source "$HERE/../lib/toolwall.sh"

PY=/usr/bin/python3 # pyenv (root's PATH) is under /root, out of a call's reach
SB=$TW_ROOT/build/probes/sbprobe
WS=workspace:acme
GEN=channel:acme/general
DATA=channel:acme/data-team
DM=dm:acme/alice
BOB=dm:acme/bob
VAULT=channel:acme/vault
OVERLAP=channel:acme/overlap
CTXS=($WS $GEN $DATA $DM $BOB)
BOB_USER=toolwall-test-bob

if [[ ! -x $SB ]]; then
	not_ok "build/probes/sbprobe is built"
	tap_summary
	exit 1
fi
if ! abi=$("$PY" -c 'import ctypes; print(ctypes.CDLL(None).syscall(444, None, 0, 1))') ||
	((abi < 1)); then
	skip "sandbox tests" "this kernel has no Landlock"
	tap_summary
	exit 0
fi
tw_setup_host || { not_ok "host setup"; tap_summary; exit 1; }

# ---- host fixtures: each removed at exit, and only if this test made it ------
made=()
cleanup_fixtures()
{
	local i
	for ((i = ${#made[@]} - 1; i >= 0; i--)); do
		case ${made[i]} in
		user:*) userdel "${made[i]#user:}" 2>/dev/null ;;
		*) rm -rf "${made[i]}" ;;
		esac
	done
}
tw_at_exit cleanup_fixtures
mkpath() # DIR: mkdir -p, remembering the top-most directory created
{
	local top=$1
	while [[ ! -e $(dirname "$top") ]]; do top=$(dirname "$top"); done
	[[ -e $top ]] || made+=("$top")
	mkdir -p "$1"
}

if ! id "$BOB_USER" >/dev/null 2>&1; then
	useradd --system --no-create-home --shell /usr/sbin/nologin "$BOB_USER" &&
		made+=("user:$BOB_USER")
fi

# The reference policy's repository and skill.
REPO=/srv/git/ops
HAVE_REPO=""
if [[ ! -e $REPO ]]; then
	mkpath "$(dirname "$REPO")"
	git init -q --bare "$REPO" && made+=("$REPO")
	w=$(mktemp -d)
	git -C "$w" init -q && echo "ops readme" >"$w/README" &&
		git -C "$w" add README &&
		git -C "$w" -c user.email=t@example -c user.name=t commit -qm init &&
		git -C "$w" push -q "$REPO" HEAD:refs/heads/main &&
		git -C "$REPO" symbolic-ref HEAD refs/heads/main && HAVE_REPO=1
	rm -rf "$w"
	# Writable by every account as far as modes go: only Landlock's "read"
	# keeps tool calls from writing it.
	chmod -R a+rwX "$REPO"
fi
TRACKER_CLI=/opt/skills/tracker-cli
HAVE_CLI=""
if [[ ! -e $TRACKER_CLI ]]; then
	mkpath "$(dirname "$TRACKER_CLI")"
	made+=("$TRACKER_CLI")
	cat >"$TRACKER_CLI" <<'EOF' && chmod 0755 "$TRACKER_CLI" && HAVE_CLI=1
#!/usr/bin/python3
import os
print("tracker-cli token=%s" % ("yes" if os.environ.get("TRACKER_TOKEN") else "no"))
EOF
fi

# Test-only objects: a data-team skill and writable repository, a DM with
# its own account, a channel whose store is (wrongly) world-readable under
# /etc, a channel whose writable repository holds its skill.
S=$TW_WORK/sbx
mkdir -p -m 0755 "$S" "$S/skills" "$S/bin" "$S/tools"
mkdir -m 0777 "$S/warehouse-out" "$S/elsewhere"
echo "exports" >"$S/warehouse-out/README"
chmod 0666 "$S/warehouse-out/README"
cat >"$S/skills/wh-report" <<'EOF'
#!/usr/bin/python3
import os, sys
print("wh-report token=%s" % ("yes" if os.environ.get("WAREHOUSE_TOKEN") else "no"))
EOF
chmod 0755 "$S/skills/wh-report"
cp /usr/bin/id "$S/bin/notaskill"
cp /usr/bin/id "$S/tools/tool"
chmod 0777 "$S/tools"
VAULT_DIR=/etc/toolwall-test-vault
mkpath "$VAULT_DIR"
TW_SECRET_VAULT=vlt-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$TW_SECRET_VAULT" >"$VAULT_DIR/key"
chmod 0644 "$VAULT_DIR/key" # readable by modes on purpose
mkdir -m 0700 "$TW_STORES/bob"
TW_SECRET_NOTES=nts-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077 && echo "$TW_SECRET_NOTES" >"$TW_STORES/bob/notes-token")
SECRETS=("$TW_SECRET_TRACKER" "$TW_SECRET_WAREHOUSE" "$TW_SECRET_ATS"
	"$TW_SECRET_NOTES" "$TW_SECRET_VAULT")

sed -i 's/"step_up": \["warehouse-read"\]/"step_up": ["warehouse-read", "warehouse-tools"]/' \
	"$TW_POLICY/channels.json"
cat >"$TW_POLICY/sandbox-test.json" <<EOF
[
  { "bundle": "warehouse-tools", "skills": ["$S/skills/wh-report"],
    "repositories": [ { "path": "$S/warehouse-out", "access": "write" } ],
    "instructions": "Write exports only to warehouse-out." },
  { "bundle": "vault", "credentials": [ { "name": "vault-key", "scope": "read",
      "env": "VAULT_KEY", "file": "$VAULT_DIR/key" } ] },
  { "bundle": "bob-notes", "credentials": [ { "name": "notes-token", "scope": "write",
      "owner": "person", "env": "NOTES_TOKEN" } ] },
  { "bundle": "self-made", "skills": ["$S/tools/tool"],
    "repositories": [ { "path": "$S/tools", "access": "write" } ] },
  { "channel": "vault", "workspace": "acme", "step_up": ["vault"] },
  { "channel": "overlap", "workspace": "acme", "step_up": ["self-made"] },
  { "dm": "bob", "workspace": "acme", "personal": ["bob-notes"],
    "credentials_dir": "$TW_STORES/bob", "run_as": "$BOB_USER" }
]
EOF
if ! "$TW_BIN" check -p "$TW_POLICY" >"$TW_WORK/check.out" 2>&1; then
	not_ok "test policy" "$(head -5 "$TW_WORK/check.out" | tr '\n' ' ')"
	tap_summary
	exit 1
fi
tw_daemon_start || { not_ok "daemon starts"; tap_summary; exit 1; }
ok "daemon starts on the reference policy plus the sandbox test bundles"

AC="python3 $HERE/../lib/audit_check.py"
n=0
# cell CONTEXT WANT_RC WANT_OUT CMD...: run CMD as a tool call of CONTEXT;
# WANT_OUT is a bash pattern for its whole stdout ("*" for anything).
# With AUD="KEY=VALUE;KEY~SUB;..." set (";" between terms, so a reason can
# be matched whole), the call must also have exactly one audit record with
# those fields and with its context, call id, requester and policy revision
# (the syscall audit's record of the exec or the refusal).
cell()
{
	local ctx=$1 want_rc=$2 want_out=$3
	shift 3
	local out rc id="s$((++n))"
	local name="$ctx: ${*:1:6} -> exit $want_rc"
	name=${name//$'\n'/ }
	out=$(twx "$ctx" "$id" "$@" 2>"$TW_WORK/err.$n")
	rc=$?
	# shellcheck disable=SC2053 # a pattern on purpose
	if [[ $rc == "$want_rc" && $out == $want_out ]]; then
		ok "$name"
	else
		not_ok "$name" \
			"got exit $rc, out '$(head -c 200 <<<"$out" | tr '\n' ' ')'; err: $(head -c 300 "$TW_WORK/err.$n" | tr '\n' ' ')"
	fi
	if [[ -n ${AUD-} ]]; then
		local terms
		IFS=';' read -ra terms <<<"context=$ctx;requester=tester;policy_rev!=null;$AUD"
		if tw_eventually $AC "$TW_LOG" "$id" "${terms[@]}" >"$TW_WORK/ac.$n" 2>&1; then
			ok "$name: recorded ($AUD)"
		else
			not_ok "$name: recorded ($AUD)" "$(tail -c 600 "$TW_WORK/ac.$n" | tr '\n' ' ')"
		fi
	fi
}

# ---- identity ------------------------------------------------------------------
agent_uid=$(id -u "$TW_AGENT")
bob_uid=$(id -u "$BOB_USER")
for c in "${CTXS[@]}"; do
	want=$agent_uid
	[[ $c == "$BOB" ]] && want=$bob_uid
	cell "$c" 0 "$want" id -u
	# Same call, another requester: nothing changes.
	out=$("$TW_BIN" exec "$c" --requester root -- id -u 2>/dev/null)
	[[ $out == "$want" ]] && ok "$c: --requester root changes nothing (uid $out)" ||
		not_ok "$c: --requester root" "uid $out"
done
cell $WS 0 "NoNewPrivs:*1*Seccomp:*2*" sh -c 'grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status | tr "\n" " "'
cell $WS 1 "*EPERM*" $PY -c 'import os
try:
    os.setuid(0)
except PermissionError:
    print("EPERM")
    raise SystemExit(1)'

# ---- credentials: exactly the context's, as env and file ------------------------
# env: which of the five variables are set, and do they hold the store values?
envprobe='for v in TRACKER_TOKEN WAREHOUSE_TOKEN ATS_TOKEN NOTES_TOKEN VAULT_KEY; do eval "x=\${$v-}"; [ -n "$x" ] && printf "%s=%s " "$v" "$x"; done; echo; ls "$TOOLWALL_CREDENTIALS_DIR" | tr "\n" " "'
# tracker-agent is brokered (it has "services"): the call holds a placeholder
T="TRACKER_TOKEN=twph_$(printf '?%.0s' {1..32})"
cell $WS 0 "$T "$'\n'"tracker-agent " sh -c "$envprobe"
cell $GEN 0 "$T "$'\n'"tracker-agent " sh -c "$envprobe"
cell $DATA 0 "$T WAREHOUSE_TOKEN=$TW_SECRET_WAREHOUSE "$'\n'"tracker-agent warehouse-reader " sh -c "$envprobe"
cell $DM 0 "$T ATS_TOKEN=$TW_SECRET_ATS "$'\n'"ats-token tracker-agent " sh -c "$envprobe"
cell $BOB 0 "$T NOTES_TOKEN=$TW_SECRET_NOTES "$'\n'"notes-token tracker-agent " sh -c "$envprobe"
# the files hold the same values, readable by the call's account only
cell $DATA 0 "$TW_SECRET_WAREHOUSE 400 $TW_AGENT" sh -c \
	'f=$TOOLWALL_CREDENTIALS_DIR/warehouse-reader; printf "%s %s %s" "$(cat $f)" "$(stat -c %a $f)" "$(stat -c %U $f)"'
cell $BOB 0 "$TW_SECRET_NOTES 400 $BOB_USER" sh -c \
	'f=$TOOLWALL_CREDENTIALS_DIR/notes-token; printf "%s %s %s" "$(cat $f)" "$(stat -c %a $f)" "$(stat -c %U $f)"'
# the stores themselves: out of reach of every context (modes and Landlock)
for c in "${CTXS[@]}"; do
	for f in agent/tracker-agent agent/warehouse-reader alice/ats-token bob/notes-token; do
		AUD="event=deny;action=open;syscall=openat;errno=EACCES;access=read;path=$TW_STORES/$f;reason=$TW_STORES/$f is a credential store or toolwall's own state: no tool call may reach it, whatever its bundles;hint=" \
			cell "$c" 1 "ERR EACCES" "$SB" read "$TW_STORES/$f"
	done
	# world-readable by modes, under /etc: Landlock cuts it out of /etc
	AUD="event=deny;action=open;syscall=openat;errno=EACCES;access=read;path=$VAULT_DIR/key;reason~is a credential store" \
		cell "$c" 1 "ERR EACCES" "$SB" read "$VAULT_DIR/key"
	cell "$c" 0 "OK" "$SB" read /etc/hostname
done
# the launcher refuses a store the agent account can read, without the value
twx $VAULT s-vault true >"$TW_WORK/vault.out" 2>&1
rc=$?
if [[ $rc == 125 ]] && grep -q "credential store $VAULT_DIR/key (credential vault-key) is readable by the agent account $TW_AGENT" "$TW_WORK/vault.out"; then
	ok "a store readable by the agent account is refused (125), naming the store"
else
	not_ok "readable store refused" "exit $rc: $(head -c 300 "$TW_WORK/vault.out")"
fi
mv "$TW_STORES/agent/warehouse-reader" "$TW_STORES/agent/wr.away"
twx $DATA s-missing true >"$TW_WORK/missing.out" 2>&1
rc=$?
mv "$TW_STORES/agent/wr.away" "$TW_STORES/agent/warehouse-reader"
if [[ $rc == 125 ]] && grep -q "cannot read credential warehouse-reader from its store $TW_STORES/agent/warehouse-reader: No such file or directory" "$TW_WORK/missing.out"; then
	ok "a missing store is refused (125), naming it"
else
	not_ok "missing store refused" "exit $rc: $(head -c 300 "$TW_WORK/missing.out")"
fi
ln -s /etc/hostname "$TW_STORES/alice/ats-link"
mv "$TW_STORES/alice/ats-token" "$TW_STORES/alice/ats.away"
ln -s "$TW_STORES/alice/ats.away" "$TW_STORES/alice/ats-token"
twx $DM s-link true >"$TW_WORK/link.out" 2>&1
rc=$?
rm -f "$TW_STORES/alice/ats-token" "$TW_STORES/alice/ats-link"
mv "$TW_STORES/alice/ats.away" "$TW_STORES/alice/ats-token"
[[ $rc == 125 ]] && grep -q "it is a symlink" "$TW_WORK/link.out" &&
	ok "a store that is a symlink is refused (125)" ||
	not_ok "symlinked store" "exit $rc: $(head -c 300 "$TW_WORK/link.out")"

# ---- repositories --------------------------------------------------------------
# (git refuses a repository another account owns unless the user's own
# config says otherwise: the call's HOME is its scratch directory)
clone='cd "$HOME" && git config --global --add safe.directory /srv/git/ops &&
	git clone -q /srv/git/ops ops && cat ops/README'
for c in "${CTXS[@]}"; do
	if [[ -n $HAVE_REPO ]]; then
		cell "$c" 0 "ops readme" sh -c "$clone"
	else
		skip "$c: git clone /srv/git/ops" "$REPO existed before the test"
	fi
	# read-only: writable by modes, refused by Landlock
	AUD="event=deny;action=open;syscall=openat;errno=EACCES;access=write;path=/srv/git/ops/tw-probe;flags=O_WRONLY|O_CREAT|O_TRUNC;reason=$c grants less than write on /srv/git/ops/tw-probe (repository /srv/git/ops (read) of bundle issue-tracker)" \
		cell "$c" 1 "ERR" sh -c 'echo x > /srv/git/ops/tw-probe 2>/dev/null && echo WROTE || { echo ERR; exit 1; }'
done
[[ ! -e $REPO/tw-probe ]] && ok "nothing was written into the read-only repository" ||
	not_ok "read-only repository written"
cell $DATA 0 "exports" cat "$S/warehouse-out/README"
cell $DATA 0 "" sh -c "echo new > $S/warehouse-out/new && rm $S/warehouse-out/README"
for c in $WS $GEN $DM $BOB; do
	AUD="event=deny;action=open;syscall=openat;errno=EACCES;access=read;path=$S/warehouse-out/new;reason=no bundle of $c grants read on $S/warehouse-out/new;hint=bundle warehouse-tools (held by channel:acme/data-team)" \
		cell "$c" 1 "" cat "$S/warehouse-out/new"
	AUD="event=deny;action=open;syscall=openat;errno=EACCES;access=write;path=$S/warehouse-out/other;flags~O_CREAT;reason=no bundle of $c grants write on $S/warehouse-out/other;hint=bundle warehouse-tools (held by channel:acme/data-team)" \
		cell "$c" 2 "" sh -c "echo x > $S/warehouse-out/other"
done
# other repositories, home directories, other places
for c in "${CTXS[@]}"; do
	AUD="event=deny;action=open;syscall=openat;errno=EACCES;path=$S/elsewhere;reason=no bundle of $c grants read on $S/elsewhere;hint=" \
		cell "$c" 1 "ERR EACCES" "$SB" read "$S/elsewhere"
	# /etc holds protected paths: granted entry by entry, not listable
	AUD="event=deny;action=open;syscall=openat;errno=EACCES;access=read;path=/etc;comm=ls;reason~its entries are granted one by one" \
		cell "$c" 2 "" ls /etc
	for d in /root /home /tmp; do
		AUD="event=deny;action=open;syscall=openat;errno=EACCES;access=read;path=$d;comm=ls;reason=no bundle of $c grants read on $d;hint=" \
			cell "$c" 2 "" ls "$d"
	done
done

# ---- skills and system paths -----------------------------------------------------
for c in "${CTXS[@]}"; do
	if [[ -n $HAVE_CLI ]]; then
		AUD="event=exec;action=exec;path=$TRACKER_CLI" \
			cell "$c" 0 "tracker-cli token=yes" tracker-cli
	else
		skip "$c: tracker-cli" "$TRACKER_CLI existed before the test"
	fi
	cell "$c" 0 "git version *" git --version
	cell "$c" 0 "hi" $PY -c 'print("hi")'
	cell "$c" 0 "hi" sh -c 'echo hi'
	# not a skill: a copy of a system program elsewhere
	AUD="event=deny;action=exec;syscall=execve;errno=EACCES;access=execute;path=$S/bin/notaskill;reason=no bundle of $c grants execute on $S/bin/notaskill;hint=" \
		cell "$c" 126 "" "$S/bin/notaskill"
	# what the call writes is never executable
	AUD="event=deny;action=exec;syscall=execve;errno=EACCES;access=execute;path~/var/tmp/toolwall-calls/;reason~is in a tool call's private directory: writable, so never executable" \
		cell "$c" 126 "" sh -c 'cp /usr/bin/id "$HOME/id" && chmod +x "$HOME/id" && exec "$HOME/id"'
done
AUD="event=exec;path=$S/skills/wh-report" \
	cell $DATA 0 "wh-report token=yes" wh-report
AUD="event=exec;path=$S/skills/wh-report" \
	cell $DATA 0 "wh-report token=yes" "$S/skills/wh-report"
for c in $WS $GEN $DM $BOB; do
	AUD="event=deny;action=exec;syscall=execve;errno=EACCES;access=execute;path=$S/skills/wh-report;reason=no bundle of $c grants execute on $S/skills/wh-report;hint=bundle warehouse-tools (held by channel:acme/data-team)" \
		cell "$c" 126 "" "$S/skills/wh-report"
done
AUD="event=deny;action=exec;syscall=execve;errno=EACCES;access=execute;path=$S/warehouse-out/id;reason~$DATA grants less than execute on $S/warehouse-out/id (repository $S/warehouse-out (write) of bundle warehouse-tools)" \
	cell $DATA 126 "" sh -c "cp /usr/bin/id $S/warehouse-out/id && chmod +x $S/warehouse-out/id && exec $S/warehouse-out/id"
twx $OVERLAP s-overlap true >"$TW_WORK/overlap.out" 2>&1
rc=$?
[[ $rc == 125 ]] && grep -q "writable $S/tools and executable $S/tools/tool overlap" "$TW_WORK/overlap.out" &&
	ok "a skill inside a writable repository is refused (125)" ||
	not_ok "overlap refused" "exit $rc: $(head -c 300 "$TW_WORK/overlap.out")"

# ---- scratch: HOME and TMPDIR, private, removed --------------------------------
out=$(twx $WS s-home sh -c 'echo "$HOME $TMPDIR"; touch "$HOME/f" "$TMPDIR/g" && stat -c "%a %U" "$HOME"' 2>/dev/null)
read -r home tmp <<<"$(head -1 <<<"$out")"
if [[ -n $home && $home == "$tmp" && $(tail -1 <<<"$out") == "700 $TW_AGENT" && ! -e $home ]]; then
	ok "HOME = TMPDIR: a private 0700 scratch directory of the agent, removed after the call"
else
	not_ok "scratch" "$out; exists after: $([[ -e $home ]] && echo yes)"
fi
out=$(twx $DATA s-creddir sh -c 'echo "$TOOLWALL_CREDENTIALS_DIR"; stat -c "%a %U" "$TOOLWALL_CREDENTIALS_DIR"' 2>/dev/null)
cd_path=$(head -1 <<<"$out")
if [[ $(tail -1 <<<"$out") == "500 $TW_AGENT" && -n $cd_path && ! -e $cd_path ]]; then
	ok "the credentials directory is the call's own (0500) and removed after the call"
else
	not_ok "credentials directory" "$out"
fi

# ---- sibling calls ----------------------------------------------------------------
info=$TW_WORK/shared/a.info
stop=$TW_WORK/shared/victim.stop
rm -f "$info" "$stop"
# The victim runs until told to stop: every check below meets it alive.
twx $DATA s-victim sh -c "echo \$\$ \$TOOLWALL_CREDENTIALS_DIR \$HOME > $info; while [ ! -e $stop ]; do sleep 0.1; done" >/dev/null 2>&1 &
vpid_launcher=$!
tw_eventually test -s "$info"
read -r vnspid vcred vhome <"$info"
# The victim's pid on the host: the shell in a PID namespace of its own
# (test_isolation.sh proves the namespaces; here, what is left to try).
vpid=$(pgrep -f "while \[ ! -e $stop \]" | while read -r p; do
	[[ $(awk '/^NSpid:/ { print NF }' "/proc/$p/status" 2>/dev/null) == 3 ]] && echo "$p"
done | head -1)
if [[ -n ${vpid:-} && -n ${vnspid:-} ]]; then
	for c in $GEN $DATA $DM; do
		# Another call's processes are not there at all (PID namespace).
		cell "$c" 1 "ERR ENOENT" "$SB" read "/proc/$vpid/environ"
		AUD="event=deny;action=open;syscall=openat;errno=EACCES;path=$vcred/warehouse-reader;reason~is in a tool call's private directory: each call reaches only its own" \
			cell "$c" 1 "ERR EACCES" "$SB" read "$vcred/warehouse-reader"
		AUD="event=deny;action=open;syscall=openat;errno=EACCES;path=$vhome;reason~is in a tool call's private directory: each call reaches only its own" \
			cell "$c" 1 "ERR EACCES" "$SB" read "$vhome"
		cell "$c" 1 "ERR ESRCH" "$SB" ptrace "$vpid"
		cell "$c" 1 "ERR ESRCH" "$SB" kill0 "$vpid"
	done
	# Its init, though, is there: Landlock keeps the call out of it.
	AUD="event=deny;action=ptrace;syscall=ptrace;errno=EPERM;target_pid=1" \
		cell $GEN 1 "ERR EPERM" "$SB" ptrace 1
	# Its own child, though: ptrace works within one call.
	cell $GEN 0 "OK" "$SB" ptrace-child
	kill -0 "$vpid" 2>/dev/null && ok "the victim call was alive through every sibling check" ||
		not_ok "victim alive"
else
	not_ok "victim call started" "no info"
fi
touch "$stop"
wait "$vpid_launcher" 2>/dev/null

# ---- escape syscalls: in every context, and as the bare agent -----------------------
# MODE | in a call | as the bare agent (without toolwall) | the syscall
# audit's record of the refusal in a call (action; "-" for none)
while IFS='|' read -r mode want bare rec; do
	mode=${mode// /} want=$(xargs <<<"$want") bare=$(xargs <<<"$bare") rec=$(xargs <<<"$rec")
	[[ -z $mode || $mode == \#* ]] && continue
	got=$(setpriv --reuid "$TW_AGENT" --regid "$TW_AGENT" --clear-groups "$SB" "$mode" 2>/dev/null | head -1)
	if [[ $got == "$bare" ]]; then
		ok "bare agent: $mode -> $bare"
	else
		not_ok "bare agent: $mode -> $bare" "got '$got'"
	fi
	for c in "${CTXS[@]}"; do
		rc=1
		[[ $want == OK ]] && rc=0
		aud=""
		[[ $rec != - ]] && aud="event=deny;action=$rec;syscall=$rec;errno=EPERM;reason~seccomp denies $rec()"
		AUD=$aud cell "$c" "$rc" "$want" "$SB" "$mode"
	done
done <<'EOF'
bpf                  | ERR EPERM  | ERR E2BIG  | bpf
mount                | ERR EPERM  | ERR ENOENT | mount
umount               | ERR EPERM  | ERR ENOENT | umount2
open_tree            | ERR EPERM  | ERR ENOENT | open_tree
chroot               | ERR EPERM  | ERR ENOENT | chroot
pivot_root           | ERR EPERM  | ERR EPERM  | pivot_root
unshare-user         | ERR EPERM  | OK         | unshare
unshare-usernet      | ERR EPERM  | OK         | unshare
unshare-files        | OK         | OK         | -
clone-user           | ERR EPERM  | OK         | clone
clone-plain          | OK         | OK         | -
clone3               | ERR ENOSYS | ERR EINVAL | -
setns                | ERR EPERM  | ERR EBADF  | setns
keyctl               | ERR EPERM  | OK         | keyctl
add_key              | ERR EPERM  | OK         | add_key
request_key          | ERR EPERM  | ERR ENOKEY | request_key
perf_event_open      | ERR EPERM  | OK         | perf_event_open
io_uring_setup       | ERR EPERM  | OK         | io_uring_setup
socket-vsock         | ERR EPERM  | OK         | socket
socket-netlink       | ERR EPERM  | OK         | socket
socket-packet        | ERR EPERM  | ERR EINVAL  | socket
socket-inet          | OK         | OK         | -
socket-inet6         | OK         | OK         | -
socket-unix          | OK         | OK         | -
socket-inet-highbits | ERR EPERM  | OK         | socket
socketpair-unix      | OK         | OK         | -
socketpair-netlink   | ERR EPERM  | ERR EOPNOTSUPP | socketpair
tiocsti              | ERR EPERM  | OK         | ioctl
tiocsti-highbits     | ERR EPERM  | OK         | ioctl
ptrace-child         | OK         | OK         | -
EOF
# Module and kexec calls: EPERM in a call whatever the kernel offers.
for mode in kexec_load init_module finit_module delete_module; do
	AUD="event=deny;action=$mode;syscall=$mode;errno=EPERM;reason~seccomp denies $mode()" \
		cell $WS 1 "ERR EPERM" "$SB" "$mode"
done
# Another syscall ABI (i386 int 0x80) kills the call (SIGSYS).
# Proved on the bare agent first: a kernel without ia32 emulation (or a VM that
# traps int 0x80) answers SIGSEGV there, and then there is nothing to refuse.
if [[ $(uname -m) == x86_64 ]]; then
	got=$(setpriv --reuid "$TW_AGENT" --regid "$TW_AGENT" --clear-groups "$SB" int80 2>/dev/null | head -1)
	if [[ $got == OK ]]; then
		ok "bare agent: int80 -> OK"
		cell $WS 159 "" "$SB" int80
	else
		skip "int 0x80 is refused" "the bare agent cannot make an i386 syscall on this kernel (got ${got:-a signal}), nothing to refuse"
	fi
fi

# ---- instructions --------------------------------------------------------------------
want_ws=$'docs-search: Cite the documentation page you used.\nissue-tracker: File tickets only in project OPS.'
cell $WS 0 "$want_ws" sh -c 'printf "%s" "$TOOLWALL_INSTRUCTIONS"'
cell $WS 0 "$want_ws" sh -c 'cat "$TOOLWALL_INSTRUCTIONS_FILE"'
cell $DM 0 "*recruiting: Candidate data stays in this conversation.*" sh -c 'printf "%s" "$TOOLWALL_INSTRUCTIONS"'
cell $GEN 0 "$want_ws" sh -c 'printf "%s" "$TOOLWALL_INSTRUCTIONS"'
cell $DATA 0 "*warehouse-read: Never export more than 1000 rows.*warehouse-tools: Write exports only to warehouse-out.*" \
	sh -c 'printf "%s" "$TOOLWALL_INSTRUCTIONS"'
comp=$("$TW_BIN" compile -p "$TW_POLICY" 2>&1)
grep -q "warehouse-tools: Write exports only to warehouse-out." <<<"$comp" &&
	ok "compile shows each context's instructions" || not_ok "compile instructions"

# ---- the environment is built from nothing ---------------------------------------------
out=$(LEAKY=1 LD_PRELOAD=/nonexistent.so "$TW_BIN" exec $WS --env EXTRA=yes -- sh -c 'echo "${LEAKY-unset} ${LD_PRELOAD-unset} $EXTRA $PATH"' 2>/dev/null)
# The system directories come first, in their fixed order; the skills'
# directories follow in the compiled (sorted) order, which depends on where
# the checkout lives.
skill_dirs=("$TW_ROOT/build/probes")
# (the skill may have been there before the test: it is on the PATH all the same)
[[ -e $TRACKER_CLI ]] && skill_dirs+=(/opt/skills)
want_path=/usr/bin:/bin:/usr/sbin:/sbin:$(printf '%s\n' "${skill_dirs[@]}" | LC_ALL=C sort | paste -sd:)
[[ $out == "unset unset yes $want_path" ]] &&
	ok "the launcher's environment does not reach the call; --env does" ||
	not_ok "environment" "$out"
"$TW_BIN" exec $WS --env TRACKER_TOKEN=forged -- true 2>"$TW_WORK/forge.err"
rc=$?
[[ $rc == 125 ]] && grep -q "toolwall sets this variable itself" "$TW_WORK/forge.err" &&
	ok "--env cannot override a credential variable" || not_ok "--env override" "exit $rc"

# ---- a launcher killed mid-call leaves nothing behind for long ------------------------------
rm -f "$info"
"$TW_BIN" exec $WS --call-id s-killed -- sh -c "echo \$HOME \$TOOLWALL_CREDENTIALS_DIR > $info; exec sleep 30" >/dev/null 2>&1 &
lpid=$!
for _ in $(seq 50); do [[ -s $info ]] && break; sleep 0.1; done
read -r khome kcred <"$info"
kill -9 "$lpid"
wait "$lpid" 2>/dev/null
pkill -9 -P "$lpid" 2>/dev/null # (none: the call was the launcher's child)
twx $WS s-after true >/dev/null 2>&1
if [[ -n ${khome:-} && ! -e $khome && ! -e $(dirname "$kcred") ]]; then
	ok "the next launch removes the directories of a killed launcher"
else
	not_ok "sweep after a killed launcher" "home=$khome still there: $([[ -e $khome ]] && echo yes)"
fi
# the orphaned call itself: stop it (its cgroup is ours)
for p in $(cat "$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)"/toolwall/acme/workspace/call-*/cgroup.procs 2>/dev/null); do
	[[ $(cat /proc/$p/comm 2>/dev/null) == sleep ]] && kill -9 "$p"
done

# ---- no secret anywhere it must not be -----------------------------------------------------
sleep 1.2 # aggregated records are flushed after 1 s
"$TW_BIN" status -j >"$TW_WORK/status.json" 2>&1
"$TW_BIN" compile -p "$TW_POLICY" >"$TW_WORK/compile.txt" 2>&1
"$TW_BIN" compile -p "$TW_POLICY" -j >"$TW_WORK/compile.json" 2>&1
"$TW_BIN" explain -p "$TW_POLICY" $DATA 10.30.1.10:5439 >"$TW_WORK/explain.txt" 2>&1
leaks=""
for f in "$TW_LOG" "$TW_WORK/status.json" "$TW_WORK/compile.txt" "$TW_WORK/compile.json" \
	"$TW_WORK/explain.txt" "$TW_WORK/daemon.out" "$TW_WORK"/err.* "$TW_WORK"/*.out "$TW_WORK"/*.err; do
	[[ -e $f ]] || continue
	for s in "${SECRETS[@]}"; do
		grep -qF "$s" "$f" && leaks+=" $(basename "$f")"
	done
done
if [[ -z $leaks && -s $TW_LOG && -s $TW_WORK/compile.json ]]; then
	ok "no credential value in the audit log, status, compile, explain, daemon output or any error"
else
	not_ok "secret leak" "found in:$leaks"
fi
# The control socket, both ways, for one DM call (the launcher's side).
strace -f -e trace=sendto,recvfrom -s 100000 -o "$TW_WORK/ctl.trace" \
	"$TW_BIN" exec $DM --call-id s-trace -- true >/dev/null 2>&1
grep -e call-start -e policy_rev "$TW_WORK/ctl.trace" >"$TW_WORK/ctl.msgs"
if grep -q '"protected' "$TW_WORK/ctl.msgs" && grep -q ats-token "$TW_WORK/ctl.msgs"; then
	bad=""
	for s in "${SECRETS[@]}"; do
		grep -qF "$s" "$TW_WORK/ctl.msgs" && bad+=" $s"
	done
	[[ -z $bad ]] && ok "the control socket carries credential names and stores, never a value" ||
		not_ok "control socket leak"
else
	not_ok "control socket trace" "no call-start/reply seen"
fi

tap_summary

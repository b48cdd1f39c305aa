# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Bring toolwall up and down for kernel tests and the demo. Source it after
# netns.sh (it uses tw_at_exit). Then:
#
#   tw_lock                 wait for exclusive use of toolwall's host state
#   tw_setup_host           (takes the lock) agent account, a copy of the reference policy in
#                           $TW_POLICY, unix servers, an audit log $TW_LOG. The copy's
#                           credential stores are test stores under $TW_STORES
#                           (root-only, random values in TW_SECRET_TRACKER,
#                           TW_SECRET_WAREHOUSE, TW_SECRET_ATS: shell variables, not
#                           exported), and a baseline bundle "test-harness" lets tool
#                           calls run the probes in build/probes, read tests/lib and
#                           tests/escape, and write
#                           $TW_WORK/shared (Landlock confines everything else)
#   tw_daemon_start [ARGS]  start `toolwall daemon` ($TW_DAEMON_PID); waits
#                           for the control socket
#   tw_daemon_kill9         SIGKILL the daemon we started
#   tw_down                 `toolwall down --kill` (also registered at exit)
#   twx CTX ID CMD...       toolwall exec CTX --call-id ID -- CMD...
#   tw_eventually CMD...    retry CMD for up to 5 s
#   tw_poll_until WANT S CMD...  run CMD until it prints WANT (S s at most);
#                           prints its last output
#   tw_launchers TAG        a launcher group TW_LG with a member TW_MEMBER and
#                           a user outside it TW_OTHER (system accounts named
#                           after TAG and our pid; removed at exit)
#
# Variables: TW_BIN (./toolwall), TW_PROBE (build/probes/twprobe), TW_WORK.

[[ -n ${_TW_TOOLWALL_SH:-} ]] && return 0
_TW_TOOLWALL_SH=1

TW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TW_BIN=${TW_BIN:-$TW_ROOT/toolwall}
TW_PROBE=${TW_PROBE:-$TW_ROOT/build/probes/twprobe}
TW_AGENT=toolwall-agent
TW_DAEMON_PID=""
TW_WORK=""
TW_POLICY=""
TW_LOG=""
TW_STORES=""
TW_DEMO_RUN=/run/toolwall-demo

# Only one user of toolwall's host-wide state (pins, cgroup tree, control
# socket) at a time: kernel tests, the demo and benchmarks queue up here.
tw_lock()
{
	[[ -n ${TW_LOCK_FD:-} ]] && return 0
	exec {TW_LOCK_FD}>/run/lock/toolwall-host.lock || return 1
	if ! flock -w "${TW_LOCK_WAIT:-900}" "$TW_LOCK_FD"; then
		echo "toolwall host state is busy (another test, demo or bench run)" >&2
		return 1
	fi
}

tw_setup_host()
{
	tw_lock || return 1
	if [[ -e /sys/fs/bpf/toolwall ]]; then
		if [[ ${CI:-} == true || -n ${TW_TEST_TAKEOVER:-} ]]; then
			"$TW_BIN" down --kill >/dev/null 2>&1
		else
			echo "toolwall enforcement is already in place on this host;" \
				"run 'toolwall down' first (or set TW_TEST_TAKEOVER=1)" >&2
			return 1
		fi
	fi
	id "$TW_AGENT" >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /usr/sbin/nologin "$TW_AGENT" ||
		return 1
	TW_WORK=$(mktemp -d /tmp/twk.XXXXXX) || return 1
	chmod 0755 "$TW_WORK"
	mkdir -m 0777 "$TW_WORK/shared"
	TW_POLICY=$TW_WORK/policy
	cp -r "$TW_ROOT/policy/examples/acme" "$TW_POLICY"
	_tw_test_policy || { rm -rf "$TW_WORK"; TW_WORK=""; return 1; }
	TW_LOG=$TW_WORK/audit.jsonl
	export TOOLWALL_AUDIT_LOG=$TW_LOG
	mkdir -p -m 0755 "$TW_DEMO_RUN"
	tw_unix_server "$TW_DEMO_RUN/tracker.sock" || return 1
	chmod 0666 "$TW_DEMO_RUN/tracker.sock"
	tw_unix_server "$TW_DEMO_RUN/other.sock" || return 1
	chmod 0666 "$TW_DEMO_RUN/other.sock"
	tw_at_exit _tw_host_cleanup
}

# The reference policy names host-wide stores (/etc/toolwall/credentials,
# Alice's home): point the test copy at stores of its own, and grant what
# the tests themselves run.
_tw_test_policy()
{
	# Never edit through a link into the source tree.
	if [[ -L $TW_POLICY ]] || [[ ! -d $TW_POLICY ]]; then
		echo "toolwall.sh: $TW_POLICY must be a private copy" >&2
		return 1
	fi
	TW_STORES=$TW_WORK/stores
	mkdir -m 0700 "$TW_STORES" "$TW_STORES/agent" "$TW_STORES/alice" || return 1
	TW_SECRET_TRACKER=trk-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	TW_SECRET_WAREHOUSE=whs-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	TW_SECRET_ATS=ats-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	(
		umask 077
		echo "$TW_SECRET_TRACKER" >"$TW_STORES/agent/tracker-agent"
		echo "$TW_SECRET_WAREHOUSE" >"$TW_STORES/agent/warehouse-reader"
		echo "$TW_SECRET_ATS" >"$TW_STORES/alice/ats-token"
	) || return 1
	python3 - "$TW_POLICY" "$TW_STORES" "$TW_PROBE" "$TW_ROOT/tests/lib" \
		"$TW_WORK/shared" <<'PY'
import glob, json, os, re, sys
pol, stores, probe, lib, shared = sys.argv[1:]
# Edit the text, not a re-dump: tests sed these files as they are written.
for f in glob.glob(os.path.join(pol, "**", "*.json"), recursive=True):
    text = open(f).read()
    out = re.sub(r'("file"\s*:\s*)"[^"]*/([^"/]+)"',
                 lambda m: '%s"%s"' % (m.group(1), os.path.join(stores, "agent", m.group(2))), text)
    out = re.sub(r'("dm"\s*:\s*"([^"]+)"[^}]*?"credentials_dir"\s*:\s*)"[^"]*"',
                 lambda m: '%s"%s"' % (m.group(1), os.path.join(stores, m.group(2))), out, flags=re.S)
    out = re.sub(r'("baseline"\s*:\s*\[)', r'\1"test-harness", ', out)
    if out != text:
        open(f, "w").write(out)
json.dump({"bundle": "test-harness",
           "description": "what toolwall's own tests run and write",
           "skills": [os.path.dirname(probe)],
           "repositories": [{"path": lib, "access": "read"},
                            {"path": os.path.join(os.path.dirname(lib), "escape"),
                             "access": "read"},
                            {"path": shared, "access": "write"}]},
          open(os.path.join(pol, "bundles", "test-harness.json"), "w"), indent=2)
PY
	"$TW_BIN" check -p "$TW_POLICY" >/dev/null
}

_tw_host_cleanup()
{
	tw_down
	[[ -n $TW_WORK && -d $TW_WORK ]] && rm -rf "$TW_WORK"
	rmdir "$TW_DEMO_RUN" 2>/dev/null
	TW_WORK=""
}

tw_daemon_start()
{
	local i
	tw_lock || return 1
	# The daemon must not hold our lock should it outlive us.
	"$TW_BIN" daemon -p "$TW_POLICY" --audit-log "$TW_LOG" "$@" \
		>>"$TW_WORK/daemon.out" 2>&1 {TW_LOCK_FD}>&- &
	TW_DAEMON_PID=$!
	for ((i = 0; i < 100; i++)); do
		[[ -S /run/toolwall/control.sock ]] && "$TW_BIN" status >/dev/null 2>&1 && return 0
		kill -0 "$TW_DAEMON_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "toolwall daemon did not come up:" >&2
	cat "$TW_WORK/daemon.out" >&2
	return 1
}

tw_daemon_kill9()
{
	[[ -n $TW_DAEMON_PID ]] || return 0
	kill -9 "$TW_DAEMON_PID" 2>/dev/null
	wait "$TW_DAEMON_PID" 2>/dev/null
	TW_DAEMON_PID=""
}

tw_down()
{
	# --kill: whatever a test left running in a context ends with it.
	"$TW_BIN" down --kill >/dev/null 2>&1
	if [[ -n $TW_DAEMON_PID ]]; then
		kill "$TW_DAEMON_PID" 2>/dev/null
		wait "$TW_DAEMON_PID" 2>/dev/null
		TW_DAEMON_PID=""
	fi
}

# tw_poll_until WANT DEADLINE_S CMD...: run CMD until it prints WANT or
# DEADLINE_S seconds have passed; prints CMD's last output.
tw_poll_until()
{
	local want=$1 deadline=$(($(date +%s) + $2)) out
	shift 2
	while :; do
		out=$("$@")
		[[ $out == "$want" ]] && break
		(($(date +%s) > deadline)) && break
		sleep 0.2
	done
	echo "$out"
}

# tw_eventually CMD...: CMD succeeds within 5 s (records are written by the
# daemon asynchronously; no fixed sleeps).
tw_eventually()
{
	local i
	for ((i = 0; i < 50; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

tw_launchers()
{
	TW_LG=$1-grp-$$ TW_MEMBER=$1-mem-$$ TW_OTHER=$1-oth-$$
	tw_at_exit _tw_launchers_cleanup
	groupadd --system "$TW_LG" &&
		useradd --system --no-create-home --shell /usr/sbin/nologin -G "$TW_LG" "$TW_MEMBER" &&
		useradd --system --no-create-home --shell /usr/sbin/nologin "$TW_OTHER"
}

_tw_launchers_cleanup()
{
	userdel "$TW_MEMBER" 2>/dev/null
	userdel "$TW_OTHER" 2>/dev/null
	groupdel "$TW_LG" 2>/dev/null
}

twx()
{
	local ctx=$1 id=$2
	shift 2
	"$TW_BIN" exec "$ctx" --call-id "$id" --requester tester -- "$@"
}

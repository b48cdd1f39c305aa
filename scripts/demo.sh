#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `toolwall demo`: a tour of the example policy on this machine. Starts the
# daemon on policy/examples/acme, brings up local test hosts in a private
# network namespace, runs tool calls in several contexts, prints what the
# kernel decided and the audit trail, then removes everything it made.
# Usage: scripts/demo.sh [PATH-TO-toolwall]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export TW_BIN=${1:-$ROOT/toolwall}

if [[ $(id -u) -ne 0 ]]; then
	echo "toolwall demo: run as root (it loads eBPF programs and creates cgroups)" >&2
	exit 1
fi
source "$ROOT/tests/lib/netns.sh"
source "$ROOT/tests/lib/toolwall.sh"

bold=$(tput bold 2>/dev/null || true) norm=$(tput sgr0 2>/dev/null || true)
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$norm"; }
say() { printf '   %s\n' "$*"; }
run() { printf '   %s$ %s%s\n' "$bold" "$*" "$norm"; "$@" 2>&1 | sed 's/^/     /'; }

# call CONTEXT DESCRIPTION CMD...: one tool call, its verdict and summary.
call()
{
	local ctx=$1 what=$2 rc
	shift 2
	printf '   %s%-24s%s %s\n' "$bold" "$ctx" "$norm" "$what"
	"$TW_BIN" exec "$ctx" --call-id "demo-$((++ncall))" --requester alice@acme \
		-- "$@" >/dev/null 2>"$TW_WORK/call.err"
	rc=$?
	if ((rc == 0)); then
		say "  -> allowed"
	else
		say "  -> refused (exit $rc); toolwall told the agent:"
		sed 's/^/          /' "$TW_WORK/call.err"
	fi
}
ncall=0

step "The policy: workspace acme, channels data-team and general, a DM with alice"
TW_TEST_TAKEOVER=${TW_TEST_TAKEOVER:-}
# check wants the example's agent account to exist (tw_setup makes it too)
id "$TW_AGENT" >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin "$TW_AGENT"
run "$TW_BIN" check -p "$ROOT/policy/examples/acme"

step "Test hosts in a private network namespace (nothing leaves this machine)"
tw_hosts_up || exit 1
say "10.10.1.10 docs, 10.20.1.10 tracker, 10.30.1.10 warehouse, 10.40.2.2 recruiting ATS,"
say "10.50.1.10 a host no bundle allows; IPv6 fd00:30::5 warehouse"
if ! tw_setup_host; then
	echo "toolwall demo: cannot prepare the host (see above)" >&2
	exit 1
fi

# The brokered services of the tour: one HTTPS echo in the test namespace
# ([::]:8443) with a test CA the broker is told to trust.
demo_broker_setup()
{
	local d=$TW_WORK
	{
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$d/testca.key" -out "$d/testca.pem" -days 2 -subj /CN=demo-ca &&
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout "$d/svc.key" -out "$d/svc.csr" -subj /CN=tracker &&
			printf 'subjectAltName=IP:10.20.1.10,IP:10.30.1.10\n' >"$d/ext" &&
			openssl x509 -req -in "$d/svc.csr" -CA "$d/testca.pem" -CAkey "$d/testca.key" \
				-CAcreateserial -out "$d/svc.pem" -days 2 -extfile "$d/ext"
	} >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; return 1; }
	python3 - "$TW_POLICY" "$d/testca.pem" <<'PY'
import os, re, sys
pol, ca = sys.argv[1:]
def edit(name, fn):
    f = os.path.join(pol, name)
    text = fn(open(f).read())
    open(f, "w").write(text)
edit("bundles/issue-tracker.json", lambda t: re.sub(r'"services": \[[^]]*\]',
     '"services": ["https://api.tracker.example", "https://10.20.1.10:8443"]', t))
edit("bundles/warehouse-read.json", lambda t: t.replace('"10.30.0.0/16:5439",',
     '"10.30.0.0/16:5439", "10.30.1.10:8443",').replace('"file": ',
     '"services": ["https://10.30.1.10:8443"], "header": "X-Api-Key: {}", "file": '))
edit("workspace.json", lambda t: t.replace('"mode": "enforce",',
     '"mode": "enforce", "broker": {"upstream_ca": "%s"},' % ca))
PY
}
demo_broker()
{
	nsenter --net="$TW_NETNS_PATH" -- python3 "$ROOT/tests/lib/https_echo.py" --addr :: \
		--port 8443 --port-file "$TW_WORK/svc.port" --log "$TW_WORK/svc.log" \
		--cert "$TW_WORK/svc.pem" --key "$TW_WORK/svc.key" 2>"$TW_WORK/svc.err" &
	DEMO_SVC=$!
	tw_at_exit demo_broker_stop
	tw_eventually test -s "$TW_WORK/svc.port"
}
demo_broker_stop() { kill "$DEMO_SVC" 2>/dev/null; wait "$DEMO_SVC" 2>/dev/null; }
demo_svc_header()
{
	python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().splitlines()[-1]); print("; ".join(k+": "+v for k,v in r["headers"] if k.lower()==sys.argv[2]))' \
		"$TW_WORK/svc.log" "$1"
}

step "Start the daemon: eBPF programs pinned on the toolwall cgroup tree"
demo_broker_setup || exit 1
export TOOLWALL_BROKER_DIR=$TW_WORK/broker
tw_daemon_start || exit 1
run "$TW_BIN" status

step "Tool calls in the workspace (baseline: docs-search, issue-tracker)"
call workspace:acme "curl http://10.10.1.10/ (docs)" curl -s -m 3 http://10.10.1.10:80/
call workspace:acme "nc 10.20.1.10 5432 (tracker database)" nc -z -w 2 10.20.1.10 5432
call workspace:acme "nc 10.20.1.10 9000 (tracker, outside 8000-8999)" nc -z -w 2 10.20.1.10 9000
call workspace:acme "nc 10.30.1.10 5439 (the warehouse)" nc -z -w 2 10.30.1.10 5439
call workspace:acme "python: connect to [::ffff:10.30.1.10]:5439" \
	python3 -c 'import socket; socket.create_connection(("::ffff:10.30.1.10", 5439), timeout=3)'

step "The data-team channel steps up with warehouse-read"
call channel:acme/data-team "nc 10.30.1.10 5439 (the warehouse)" nc -z -w 2 10.30.1.10 5439
call channel:acme/data-team "nc fd00:30::5 5439 (the warehouse over IPv6)" nc -z -w 2 fd00:30::5 5439
call channel:acme/general "nc 10.30.1.10 5439 from #general" nc -z -w 2 10.30.1.10 5439

step "A DM with alice adds her personal recruiting bundle, and nothing else sees it"
call dm:acme/alice "nc 10.40.2.2 443 (her ATS)" nc -z -w 2 10.40.2.2 443
call channel:acme/data-team "the same from #data-team" nc -z -w 2 10.40.2.2 443

step "Approve once: a person grants #general the warehouse for a few seconds"
say "(the denial above named the command; each granted rule carries its deadline"
say " in the kernel's map, so the grant ends on time even with the daemon dead)"
call channel:acme/general "nc 10.30.1.10 5439 from #general" nc -z -w 2 10.30.1.10 5439
run "$TW_BIN" grant channel:acme/general warehouse-read --for 4s --approved-by alice \
	--reason "quarterly numbers"
run "$TW_BIN" grants
call channel:acme/general "nc 10.30.1.10 5439 from #general, during the grant" nc -z -w 2 10.30.1.10 5439
call workspace:acme "the same from the workspace: the grant is #general's only" nc -z -w 2 10.30.1.10 5439
say "waiting for the expiry..."
for ((i = 0; i < 60; i++)); do
	"$TW_BIN" exec channel:acme/general --call-id demo-wait -- nc -z -w 2 10.30.1.10 5439 \
		>/dev/null 2>&1 || break
	sleep 0.25
done
call channel:acme/general "nc 10.30.1.10 5439 from #general, after the expiry" nc -z -w 2 10.30.1.10 5439

step "The kill switch: quarantine #general while a call loops on connects"
"$TW_BIN" exec channel:acme/general --call-id demo-loop -- \
	timeout 20 sh -c 'while :; do nc -z -w 1 10.20.1.10 5432; sleep 0.05; done' >/dev/null 2>&1 &
loop=$!
sleep 0.5
run "$TW_BIN" quarantine channel:acme/general --reason "runaway agent"
wait "$loop"
say "the looping call ended with exit $? (killed with its whole cgroup)"
call channel:acme/general "a new call in #general" nc -z -w 2 10.20.1.10 5432
run "$TW_BIN" release channel:acme/general
call channel:acme/general "after release" nc -z -w 2 10.20.1.10 5432
printf '   %s$ %s%s\n' "$bold" "toolwall audit --log $TW_LOG --grants" "$norm"
"$TW_BIN" audit --log "$TW_LOG" --grants | sed 's/^/     /'

step "Brokered credentials: the call holds a placeholder, the service gets the value"
say "tracker-agent (scope write) and warehouse-reader (scope read) are brokered for"
say "https://10.20.1.10:8443 and https://10.30.1.10:8443: an HTTPS test service with"
say "its own CA, which records every header it receives"
demo_broker || exit 1
run "$TW_BIN" exec workspace:acme -- sh -c 'echo "TRACKER_TOKEN=$TRACKER_TOKEN"'
call workspace:acme "curl -H 'Authorization: Bearer \$TRACKER_TOKEN' https://10.20.1.10:8443/issues" \
	sh -c 'curl -sSf -m 5 -H "Authorization: Bearer $TRACKER_TOKEN" https://10.20.1.10:8443/issues'
say "the service received: $(demo_svc_header authorization | sed "s/$TW_SECRET_TRACKER/<the real value from the store>/")"
call channel:acme/data-team "curl -X POST with the read-scoped \$WAREHOUSE_TOKEN" \
	sh -c 'curl -sSf -m 5 -X POST -d x=1 -H "X-Api-Key: $WAREHOUSE_TOKEN" https://10.30.1.10:8443/rows'
say "(refused by the broker with a 403; the service never saw it)"
run "$TW_BIN" explain -p "$TW_POLICY" workspace:acme 10.20.1.10:8443

step "What no tool call may do anywhere"
# Let every group open ping sockets for the tour, so that it is toolwall and
# not the ping_group_range sysctl that refuses them; restored at exit.
old_ping=$(cat /proc/sys/net/ipv4/ping_group_range)
restore_ping() { echo "$old_ping" >/proc/sys/net/ipv4/ping_group_range; }
tw_at_exit restore_ping
echo "0 2147483647" >/proc/sys/net/ipv4/ping_group_range
call workspace:acme "ping 10.20.1.10 (ICMP socket)" \
	python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)'
call workspace:acme "connect to a unix socket no bundle lists" \
	python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); s.connect("/run/toolwall-demo/other.sock")'

step "What a tool call ran, and what it was refused on the filesystem"
say "(Landlock and seccomp decide; tracepoints record every exec and every refusal)"
call workspace:acme "read /root, write /etc/hostname, run a binary it copied" \
	sh -c 'ls /root; echo x >>/etc/hostname; cp /bin/true "$HOME/t" && "$HOME/t"'
printf '   %s$ %s%s\n' "$bold" "toolwall audit --log $TW_LOG --call-id demo-$ncall" "$norm"
"$TW_BIN" audit --log "$TW_LOG" --call-id "demo-$ncall" | sed 's/^/     /'

step "The audit trail (toolwall audit --log $TW_LOG)"
say "(glibc also probes the nscd socket, which does not exist here: those"
say " denials are recorded with \"path_exists\": false; hidden below)"
printf '   %s$ %s%s\n' "$bold" "toolwall audit --log $TW_LOG --event deny | grep -v nscd" "$norm"
"$TW_BIN" audit --log "$TW_LOG" --event deny | grep -v nscd | sed 's/^/     /'
say ""
say "One record in full:"
grep '"event":"deny"' "$TW_LOG" | grep '"dst":"10.30.1.10"' | head -1 |
	python3 -m json.tool | sed 's/^/     /'

step "Tear down: toolwall down removes every program, pin and cgroup"
tw_down
say "enforcement removed; test hosts removed"
tw_cleanup
exit 0

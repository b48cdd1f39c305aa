#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Self-test of the kernel-test infrastructure, without toolwall: the test hosts
# (tests/lib/netns.sh), the echo server, twprobe and tap.sh. If this fails,
# no kernel test result means anything. Exit 0 if all passed, 77 if skipped.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lib/tap.sh
source "$ROOT/tests/lib/tap.sh"
# shellcheck source=tests/lib/netns.sh
source "$ROOT/tests/lib/netns.sh"

TWPROBE=${TWPROBE:-$ROOT/build/probes/twprobe}

if [[ $(id -u) != 0 ]]; then
	skip "kernel test infrastructure" "needs root"
	tap_summary
	exit 77
fi
if [[ ! -x $TWPROBE ]]; then
	make -s -C "$ROOT" build/probes/twprobe >&2
fi
if [[ ! -x $TWPROBE ]]; then
	not_ok "build twprobe" "$TWPROBE missing and make could not build it"
	tap_summary
	exit 1
fi

# Rows: "TWPROBE ARGS = EXPECTED" (EXPECTED is a pattern); # comments.
run_table()
{
	local line args expected

	while read -r line; do
		[[ -z $line || $line == \#* ]] && continue
		args=${line%% = *}
		expected=${line#* = }
		# shellcheck disable=SC2086 # args are words on purpose
		expect_probe "twprobe $args -> $expected" "$expected" -- "$TWPROBE" $args
	done
}

if ! tw_hosts_up; then
	not_ok "tw_hosts_up"
	tap_summary
	exit 1
fi
ok "tw_hosts_up: $TW_NETNS via $TW_VETH, echo server PID $TW_ECHO_PID"

# ---- every socket path works to each address form ---------------------------
for dst in 10.20.1.10 fd00:30::5 ::ffff:10.20.1.10; do
	run_table <<EOF
tcp $dst 5432 = OK
fork-tcp $dst 5432 = OK
tcp-fastopen $dst 5432 = OK
tcp-fastopen-connect $dst 5432 = OK
uring-connect $dst 5432 = OK
udp $dst 9999 = OK
udp-connect $dst 9999 = OK
udp-sendmsg $dst 9999 = OK
udp-sendmmsg $dst 9999 = OK
uring-sendmsg $dst 9999 = OK
EOF
done

# ---- every host address and every port of the echo server --------------------
run_table < <(
	for dst in "${TW_NS_ADDRS[@]}"; do echo "tcp $dst 80 = OK"; done
	for dst in 10.40.2.2 fd00:10:10:1::10; do
		for port in "${TW_TCP_PORTS[@]:1}"; do echo "tcp $dst $port = OK"; done
		for port in "${TW_UDP_PORTS[@]}"; do echo "udp-connect $dst $port = OK"; done
	done
)

# ---- failures are reported precisely, and bounded ----------------------------
run_table <<EOF
tcp 10.50.1.10 1 = ERR ECONNREFUSED
tcp [fd00:50::10] 1 = ERR ECONNREFUSED
uring-connect 10.50.1.10 1 = ERR ECONNREFUSED
udp-connect 10.50.1.10 1 = ERR ECONNREFUSED
udp 10.50.1.10 1 = ERR ETIMEDOUT
# a second address in one subnet: the reply must come from it (connected UDP)
udp-connect 10.30.0.53 8125 = OK
EOF
# A silent host: replies to 10.40.0.1 vanish inside the namespace.
tw_ns_exec ip route add blackhole 10.40.0.1/32
run_table <<EOF
tcp 10.40.2.2 80 = ERR ETIMEDOUT
uring-connect 10.40.2.2 80 = ERR ETIMEDOUT
EOF
tw_ns_exec ip route del blackhole 10.40.0.1/32
out=$("$TWPROBE" tcp not-an-address 80 2>/dev/null)
rc=$?
if [[ $rc == 2 && -z $out ]]; then
	ok "twprobe usage error: exit 2, no stdout"
else
	not_ok "twprobe usage error: exit 2, no stdout" "exit $rc, stdout '$out'"
fi

# ---- socket families (root may create them all) ------------------------------
if [[ $(sysctl -n net.ipv4.ping_group_range) == "1	0" ]]; then
	icmp="ERR EACCES" # ping sockets disabled for every group
else
	icmp="@(OK|ERR EACCES)"
fi
run_table <<EOF
raw4 = OK
raw6 = OK
raw4 10.10.1.10 = OK
raw6 fd00:10:10:1::10 = OK
packet = OK
netlink = OK
udplite4 = OK
icmp4 = $icmp
sctp4 = @(OK|ERR EPROTONOSUPPORT)
EOF
# Ping sockets end to end, inside the test namespace (its own sysctl).
tw_ns_exec sysctl -qw net.ipv4.ping_group_range="0 0"
expect_probe "twprobe icmp4 10.10.1.10 (in $TW_NETNS)" OK -- \
	tw_ns_exec "$TWPROBE" icmp4 10.10.1.10
expect_probe "twprobe icmp6 fd00:30::5 (in $TW_NETNS)" OK -- \
	tw_ns_exec "$TWPROBE" icmp6 fd00:30::5
if [[ $(sysctl -n net.mptcp.enabled 2>/dev/null) == 1 ]]; then
	run_table <<<"mptcp4 10.20.1.10 5432 = OK"
else
	skip "twprobe mptcp4" "net.mptcp.enabled is not 1"
fi
if [[ -e /dev/vsock ]]; then
	run_table <<<"vsock = OK"
else
	skip "twprobe vsock" "no /dev/vsock"
fi

# ---- unix sockets ---------------------------------------------------------------
abstract=twtest-$$
if tw_unix_server "$TW_TMPDIR/echo.sock" && tw_unix_server "@$abstract" &&
	tw_unix_server "$TW_TMPDIR/dgram.sock" dgram; then
	ok "tw_unix_server (stream, abstract, dgram)"
	run_table <<EOF
unix $TW_TMPDIR/echo.sock = OK
unix-abstract $abstract = OK
unix-dgram $TW_TMPDIR/dgram.sock = OK
unix $TW_TMPDIR/nonexistent.sock = ERR ENOENT
unix-dgram $TW_TMPDIR/echo.sock = ERR EPROTOTYPE
EOF
	expect_probe "curl over a unix socket" "twtest unix:*" -- \
		curl -s --max-time 3 --unix-socket "$TW_TMPDIR/echo.sock" http://localhost/
else
	not_ok "tw_unix_server (stream, abstract, dgram)"
fi

# ---- process shapes -----------------------------------------------------------
out=$TW_TMPDIR/daemon.out
expect_probe "twprobe daemon-tcp returns at once" OK -- \
	"$TWPROBE" daemon-tcp 10.20.1.10 5432 "$out"
for ((i = 0; i < 50; i++)); do
	[[ -s $out ]] && break
	sleep 0.1
done
expect_probe "daemon-tcp grandchild reports OK" OK -- cat "$out"
expect_probe "twprobe tcp-loop 1 s" "OK [1-9]* 0 0" -- "$TWPROBE" tcp-loop 10.20.1.10 5432 1

# ---- real clients -----------------------------------------------------------------
expect_probe "curl http://10.10.1.10/" "twtest 10.10.1.10:80" -- \
	curl -s --max-time 3 http://10.10.1.10:80/
expect_probe "curl http://[fd00:10:10:1::10]:8000/" "twtest [[]fd00:10:10:1::10]:8000" -- \
	curl -s -g --max-time 3 "http://[fd00:10:10:1::10]:8000/"
expect_probe "curl -I http://[::ffff:10.20.1.10]/" "HTTP/1.0 200 OK*" -- \
	curl -s -g -I --max-time 3 "http://[::ffff:10.20.1.10]/"
expect_success "nc -z 10.20.1.10 5432" -- nc -z -w 2 10.20.1.10 5432
expect_success "nc -z fd00:30::5 443" -- nc -z -w 2 fd00:30::5 443
expect_probe "nc -u 10.30.1.10 123 echoes" "hello" -- \
	bash -c 'echo hello | nc -u -w 1 10.30.1.10 123'
expect_probe "python3 socket tcp fd00:30::5 5439" "b'hi\\\\n'" -- python3 -c '
import socket
with socket.create_connection(("fd00:30::5", 5439), timeout=3) as s:
    s.sendall(b"hi\n"); print(s.recv(64))'
expect_probe "python3 socket udp 10.40.2.2 8125" "b'hi'" -- python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(b"hi", ("10.40.2.2", 8125)); print(s.recvfrom(64)[0])'

# ---- teardown leaves nothing behind ---------------------------------------------
netns=$TW_NETNS
veth=$TW_VETH
echo_pid=$TW_ECHO_PID
pids=("${TW_PIDS[@]}")
tmp=$TW_TMPDIR
tw_hosts_down
expect_success "namespace $netns removed" -- bash -c "! ip netns list | grep -qw $netns"
expect_success "veth $veth removed" -- bash -c "! ip link show $veth >/dev/null 2>&1"
expect_success "no test subnet left on the host" -- \
	bash -c "! ip -o addr | grep -E ' inet6? (10\.[1-5]0\.|fd00:(10|30|50):)'"
expect_success "echo server $echo_pid stopped" -- bash -c "! kill -0 $echo_pid 2>/dev/null"
tw_cleanup && tw_cleanup
alive=""
for pid in "${pids[@]}"; do
	kill -0 "$pid" 2>/dev/null && alive+=" $pid"
done
if [[ -n $alive || -e $tmp || -e $tmp/echo.sock ]]; then
	not_ok "tw_cleanup (twice) stops servers, removes $tmp" "alive:${alive:- none}"
else
	ok "tw_cleanup (twice) stops servers, removes $tmp"
fi

tap_summary

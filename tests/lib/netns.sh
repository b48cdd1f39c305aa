# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# Test hosts for toolwall's kernel tests. Source it, then:
#
#   tw_hosts_up           one network namespace ($TW_NETNS, twtest-<PID>) joined to
#                         the host by a veth pair ($TW_VETH), holding the test
#                         addresses below and an echo server ($TW_ECHO_PID) on
#                         TCP 80 443 5432 5439 8000 8500 8999 9000 and
#                         UDP 123 8125 9999, IPv4 and IPv6 (TW_TCP_PORTS,
#                         TW_UDP_PORTS); returns once all of it answers
#   tw_hosts_down         stop that echo server, delete the veth and the namespace
#   tw_unix_server P [dgram]  unix echo server on path P (or @NAME, abstract) in the
#                         host namespace; sets $TW_UNIX_PID
#   tw_ns_exec CMD...     run CMD inside the test namespace
#   tw_at_exit CMD...     run CMD at exit (LIFO, also on INT/TERM/HUP); use it
#                         instead of `trap ... EXIT`, which would replace ours
#   tw_cleanup            undo everything above; safe to call twice; registered
#                         with tw_at_exit by tw_hosts_up and tw_unix_server
#
# Namespace side (the "test hosts"), every address usable as soon as
# tw_hosts_up returns (IPv6 without DAD):
#   10.10.1.10/24  10.20.1.10/16  10.30.1.10/16  10.30.0.53/16  10.40.2.2/16
#   10.50.1.10/16 (no policy allows it)
#   fd00:10:10:1::10/64  fd00:30::5/32  fd00:50::10/64
#   198.51.100.53/24 (the DNS upstream of the reference policy)
#   203.0.113.10/24 203.0.113.11/24 2001:db8:1::10/64 (hosts only DNS names
#   reach: documentation ranges, public-looking to the rebinding guard)
# Host side: an on-link address in each subnet (10.10.1.1, 10.20.0.1, 10.30.0.1,
# 10.40.0.1, 10.50.0.1, fd00:10:10:1::1, fd00:30::1, fd00:50::1). The namespace
# has no default route: nothing in it can reach beyond the host's veth end.
#
# The addresses are fixed, so two runs cannot hold them at once: tw_hosts_up
# waits (up to $TW_HOSTS_WAIT seconds, default 300) while another live run
# holds its namespace, and removes the namespace of a run whose PID is gone.
# Only processes this library started (recorded in TW_PIDS) are ever killed.

[[ -n ${_TW_NETNS_SH:-} ]] && return 0
_TW_NETNS_SH=1

TW_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TW_NETNS=twtest-$$
TW_NETNS_PATH=/run/netns/$TW_NETNS
TW_VETH=twv$$ # host side; "twv" + PID fits in IFNAMSIZ (15)
TW_NS_VETH=tw0
TW_TMPDIR=""
TW_ECHO_PID=""
TW_UNIX_PID=""
TW_PIDS=()
TW_TCP_PORTS=(80 443 5432 5439 8000 8500 8999 9000)
TW_UDP_PORTS=(123 8125 9999)
# shellcheck disable=SC2034 # for the caller
TW_NS_ADDRS=(10.10.1.10 10.20.1.10 10.30.1.10 10.30.0.53 10.40.2.2 10.50.1.10
	fd00:10:10:1::10 fd00:30::5 fd00:50::10 198.51.100.53 203.0.113.10
	203.0.113.11 2001:db8:1::10)

# "namespace-side-address host-side-address" ("-": the subnet is already there)
_TW_ADDR_PAIRS=(
	"10.10.1.10/24 10.10.1.1/24"
	"10.20.1.10/16 10.20.0.1/16"
	"10.30.1.10/16 10.30.0.1/16"
	"10.30.0.53/16 -"
	"10.40.2.2/16 10.40.0.1/16"
	"10.50.1.10/16 10.50.0.1/16"
	"fd00:10:10:1::10/64 fd00:10:10:1::1/64"
	"fd00:30::5/32 fd00:30::1/32"
	"fd00:50::10/64 fd00:50::1/64"
	"198.51.100.53/24 198.51.100.1/24"
	"203.0.113.10/24 203.0.113.1/24"
	"203.0.113.11/24 -"
	"2001:db8:1::10/64 2001:db8:1::1/64"
)
_TW_LOCK=${TW_LOCK:-/run/lock/twtest-hosts.lock}
_TW_HOSTS=""      # set while our namespace exists
_TW_LAST_PID=""
_TW_UNIX_PATHS=() # socket files our unix servers own
_TW_EXIT_CMDS=()
_TW_TRAP_SET=""
_TW_PREV_EXIT=""

_tw_err() { echo "netns.sh: $*" >&2; }

# ---- exit handling -----------------------------------------------------------

tw_at_exit()
{
	_TW_EXIT_CMDS+=("$*")
	[[ -n $_TW_TRAP_SET ]] && return 0
	_TW_TRAP_SET=1
	_TW_PREV_EXIT=$(trap -p EXIT)
	trap _tw_run_exit EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

_tw_return() { return "$1"; }

_tw_run_exit()
{
	local rc=$? i
	local -a prev

	for ((i = ${#_TW_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
		eval "${_TW_EXIT_CMDS[i]}" || true
	done
	_TW_EXIT_CMDS=()
	if [[ -n $_TW_PREV_EXIT ]]; then # "trap -- 'CMD' EXIT"
		eval "prev=($_TW_PREV_EXIT)"
		_tw_return "$rc" # the caller's trap sees the exit status in $?
		eval "${prev[2]}" || true
	fi
	exit "$rc"
}

_tw_cleanup_registered=""
_tw_register_cleanup()
{
	[[ -n $_tw_cleanup_registered ]] && return 0
	_tw_cleanup_registered=1
	tw_at_exit tw_cleanup
}

_tw_tmpdir()
{
	[[ -n $TW_TMPDIR && -d $TW_TMPDIR ]] && return 0
	TW_TMPDIR=$(mktemp -d "/tmp/twtest-$$.XXXXXX") || return 1
	chmod 0755 "$TW_TMPDIR" # the agent user must reach unix sockets in it
}

# ---- processes ---------------------------------------------------------------

# Stop one process we started: only if it is still our echo server (PIDs are
# reused), TERM, then KILL after 2 s.
_tw_stop_pid()
{
	local pid=$1 i

	[[ $pid =~ ^[0-9]+$ ]] || return 0
	if kill -0 "$pid" 2>/dev/null &&
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q echo_server.py; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 20; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# Start the echo server in the background ($1: namespace path or "", $2: a name
# for its files, then its arguments); wait until it listens. Sets _TW_LAST_PID
# (not printed: a $(...) subshell would lose the child).
_tw_start_echo()
{
	local ns=$1 name=$2 pid i parent=$BASHPID # (in `cmd &`, $BASHPID is the child)
	local ready=$TW_TMPDIR/$name.ready log=$TW_TMPDIR/$name.log
	shift 2

	rm -f "$ready"
	if [[ -n $ns ]]; then
		nsenter --net="$ns" -- python3 "$TW_LIB_DIR/echo_server.py" \
			--parent-pid "$parent" --ready "$ready" "$@" </dev/null >"$log" 2>&1 &
	else
		python3 "$TW_LIB_DIR/echo_server.py" --parent-pid "$parent" \
			--ready "$ready" "$@" </dev/null >"$log" 2>&1 &
	fi
	pid=$!
	TW_PIDS+=("$pid")
	for ((i = 0; i < 100; i++)); do
		[[ -e $ready ]] && {
			_TW_LAST_PID=$pid
			return 0
		}
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	_tw_err "echo server ($name) did not start:"
	sed 's/^/  /' "$log" >&2
	_tw_stop_pid "$pid"
	return 1
}

# ---- the test namespace ------------------------------------------------------

# Under the lock: remove namespaces of runs that are gone, then claim ours if
# nothing else holds the test subnets. Returns 2 (message in _TW_BUSY) while
# another live run, or anything else, does.
_TW_BUSY=""
_tw_claim_netns()
{
	local ns pid pair host held

	_TW_BUSY=""
	for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^twtest-[0-9]+$/ {print $1}'); do
		pid=${ns#twtest-}
		if [[ $pid == "$$" ]]; then # ours, left over: start afresh
			ip link del "$TW_VETH" 2>/dev/null
			ip netns del "$ns"
		elif kill -0 "$pid" 2>/dev/null; then
			_TW_BUSY="$ns (a live test run) holds the test addresses"
		else
			_tw_err "removing stale namespace $ns (PID $pid is gone)"
			ip link del "twv$pid" 2>/dev/null
			ip netns del "$ns" 2>/dev/null
			rm -rf "/tmp/twtest-$pid".??????
		fi
	done
	[[ -n $_TW_BUSY ]] && return 2
	for pair in "${_TW_ADDR_PAIRS[@]}"; do
		read -r _ host <<<"$pair"
		[[ $host == - ]] && continue
		held=$(ip -o addr show to "$host" | awk '{print $2; exit}')
		if [[ -n $held ]]; then
			_TW_BUSY="interface $held already has an address in $host"
			return 2
		fi
	done
	ip netns add "$TW_NETNS"
}

_tw_wait_until() # TRIES CMD...: poll every 0.1 s
{
	local tries=$1 i
	shift
	for ((i = 0; i < tries; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

_tw_links_ready()
{
	[[ $(cat "/sys/class/net/$TW_VETH/operstate" 2>/dev/null) == up ]] &&
		ip -n "$TW_NETNS" -o link show "$TW_NS_VETH" | grep -q 'state UP' &&
		[[ -z $(ip -6 addr show dev "$TW_VETH" tentative) ]] &&
		[[ -z $(ip -n "$TW_NETNS" -6 addr show dev "$TW_NS_VETH" tentative) ]]
}

_tw_reachable() # ADDR PORT: a TCP handshake from the host succeeds
{
	timeout 2 bash -c ": <>/dev/tcp/$1/$2" 2>/dev/null
}

_tw_setup_links()
{
	local pair ns host sys=/proc/sys/net/ipv6/conf nodad

	ip link add "$TW_VETH" type veth peer name "$TW_NS_VETH" netns "$TW_NETNS" || return 1
	# No DAD anywhere (link-local too): addresses are usable at once.
	echo 0 >"$sys/$TW_VETH/accept_dad" || return 1
	nsenter --net="$TW_NETNS_PATH" -- sh -c \
		"echo 0 >$sys/$TW_NS_VETH/accept_dad" || return 1
	for pair in "${_TW_ADDR_PAIRS[@]}"; do
		read -r ns host <<<"$pair"
		nodad=""
		if [[ $ns == *:* ]]; then nodad=nodad; fi
		ip -n "$TW_NETNS" addr add "$ns" dev "$TW_NS_VETH" $nodad || return 1
		[[ $host == - ]] || ip addr add "$host" dev "$TW_VETH" $nodad || return 1
	done
	ip -n "$TW_NETNS" link set lo up &&
		ip -n "$TW_NETNS" link set "$TW_NS_VETH" up &&
		ip link set "$TW_VETH" up || return 1
	_tw_wait_until 50 _tw_links_ready || {
		_tw_err "veth $TW_VETH did not come up"
		return 1
	}
}

tw_hosts_up()
{
	local lockfd deadline=$((SECONDS + ${TW_HOSTS_WAIT:-300})) claimed said="" ports_tcp ports_udp

	if [[ -n $_TW_HOSTS ]]; then
		_tw_err "tw_hosts_up: $TW_NETNS is already up"
		return 1
	fi
	[[ $(id -u) == 0 ]] || {
		_tw_err "tw_hosts_up needs root"
		return 1
	}
	_tw_register_cleanup
	_tw_tmpdir || return 1
	while :; do
		exec {lockfd}>"$_TW_LOCK" || return 1
		flock -w 30 "$lockfd" && _tw_claim_netns
		claimed=$?
		exec {lockfd}>&-
		((claimed == 0)) && break
		if ((claimed != 2 || SECONDS >= deadline)); then
			_tw_err "cannot claim the test addresses${_TW_BUSY:+: $_TW_BUSY}"
			return 1
		fi
		[[ $said == "$_TW_BUSY" ]] || _tw_err "waiting: $_TW_BUSY"
		said=$_TW_BUSY
		sleep 1
	done
	_TW_HOSTS=1

	if ! _tw_setup_links; then
		_tw_err "could not set up $TW_NETNS"
		tw_hosts_down
		return 1
	fi
	ports_tcp=$(
		IFS=,
		echo "${TW_TCP_PORTS[*]}"
	)
	ports_udp=$(
		IFS=,
		echo "${TW_UDP_PORTS[*]}"
	)
	_tw_start_echo "$TW_NETNS_PATH" echo --tcp "$ports_tcp" --udp "$ports_udp" || {
		tw_hosts_down
		return 1
	}
	TW_ECHO_PID=$_TW_LAST_PID
	# The whole path works: neighbour discovery, routes, listening sockets.
	if ! _tw_wait_until 20 _tw_reachable 10.10.1.10 80 ||
		! _tw_wait_until 20 _tw_reachable fd00:30::5 80; then
		_tw_err "test hosts in $TW_NETNS are not reachable from the host"
		tw_hosts_down
		return 1
	fi
	export TW_NETNS TW_NETNS_PATH TW_VETH TW_ECHO_PID TW_TMPDIR
	return 0
}

tw_hosts_down()
{
	[[ -n $TW_ECHO_PID ]] && _tw_stop_pid "$TW_ECHO_PID"
	TW_ECHO_PID=""
	[[ -n $_TW_HOSTS ]] || return 0
	# Deleting the veth first takes both ends down now; the namespace itself is
	# freed asynchronously.
	ip link del "$TW_VETH" 2>/dev/null
	ip netns del "$TW_NETNS" 2>/dev/null
	_TW_HOSTS=""
	return 0
}

tw_ns_exec()
{
	nsenter --net="$TW_NETNS_PATH" -- "$@"
}

# tw_unix_server PATH [stream|dgram]: PATH may be @NAME (abstract, host netns).
tw_unix_server()
{
	local path=${1:?tw_unix_server PATH [stream|dgram]} kind=${2:-stream} opt

	case $kind in
	stream) opt=--unix ;;
	dgram) opt=--unix-dgram ;;
	*)
		_tw_err "tw_unix_server: unknown kind '$kind'"
		return 1
		;;
	esac
	_tw_register_cleanup
	_tw_tmpdir || return 1
	_tw_start_echo "" "unix-${#TW_PIDS[@]}" "$opt" "$path" || return 1
	[[ $path == @* ]] || _TW_UNIX_PATHS+=("$path")
	TW_UNIX_PID=$_TW_LAST_PID
}

tw_cleanup()
{
	local pid path

	tw_hosts_down
	for pid in "${TW_PIDS[@]}"; do
		_tw_stop_pid "$pid"
	done
	TW_PIDS=()
	# shellcheck disable=SC2034 # for the caller
	TW_UNIX_PID=""
	for path in "${_TW_UNIX_PATHS[@]}"; do
		[[ -S $path ]] && rm -f "$path"
	done
	_TW_UNIX_PATHS=()
	if [[ $TW_TMPDIR == /tmp/twtest-$$.* && -d $TW_TMPDIR ]]; then
		rm -rf "$TW_TMPDIR"
	fi
	TW_TMPDIR=""
	return 0
}

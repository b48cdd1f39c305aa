#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Install everything toolwall needs to build, test and demo on Debian 12.
# Idempotent: skips apt when every package is already installed.
set -euo pipefail

PKGS=(
	# build
	make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
	libjansson-dev libssl-dev libseccomp-dev liburing-dev libldns-dev
	libcmocka-dev libclang-rt-14-dev linux-libc-dev libhttp-parser-dev
	# test and demo clients
	iproute2 procps curl netcat-openbsd python3 dnsutils util-linux passwd
	# sandbox tests: real programs in tool calls, the control socket traced
	git strace
	# audit tests: a real RFC 5424 syslog collector
	rsyslog
	dnsmasq-base
	# make bench: peers, plots, launch timing; bubblewrap, socat and ripgrep
	# are what @anthropic-ai/sandbox-runtime (from npm) needs on Linux
	nftables iptables gnuplot-nox hyperfine bubblewrap socat ripgrep
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "toolwall deps: missing packages: ${missing[*]} (run as root to install)" >&2
		exit 1
	fi
	echo "toolwall deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

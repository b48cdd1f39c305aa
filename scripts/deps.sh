#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Install what toolwall needs on Debian 12, in layers:
#
#   scripts/deps.sh [LAYER...]      (default: test)
#
#   runtime  what the binary links and runs (libraries, iproute2, useradd)
#            and the clients `toolwall demo` drives (curl, nc, python3)
#   build    runtime + compilers, bpftool, headers, dpkg-dev (`make deb`)
#   test     build + what the tests run: cmocka, libFuzzer's runtime, real
#            clients and servers (dig, dnsmasq, rsyslog, git, strace),
#            python3-jsonschema, systemd-analyze, man, promtool (prometheus)
#   bench    build + the peers it is measured against (nftables, iptables,
#            bubblewrap, socat, ripgrep), hyperfine, gnuplot, dig, dnsmasq
#
# `make demo` asks for build (runtime included), `make test` for test,
# `make bench` for bench. Idempotent: skips apt when every package of the
# layers asked for is installed. --list prints the packages and exits.
set -euo pipefail

RUNTIME=(
	libbpf1 libelf1 zlib1g libjansson4 libssl3 libseccomp2 liburing2
	libldns3 libhttp-parser2.9 libmicrohttpd12 libsmartcols1
	iproute2 procps util-linux passwd
	curl netcat-openbsd python3
)
BUILD=(
	make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
	libjansson-dev libssl-dev libseccomp-dev liburing-dev libldns-dev
	libhttp-parser-dev libmicrohttpd-dev libsmartcols-dev linux-libc-dev
	# make deb: dpkg-shlibdeps computes the package's Depends
	dpkg-dev
)
TEST=(
	# unit tests and fuzzers
	libcmocka-dev libclang-rt-14-dev
	# real clients and servers in the kernel and escape tests
	dnsutils dnsmasq-base git strace
	# audit tests: a real RFC 5424 syslog collector, over TLS too (GnuTLS)
	rsyslog rsyslog-gnutls openssl
	# audit --time local is checked in a named zone
	tzdata
	# the policy's JSON Schema, the service unit, the installed man pages
	python3-jsonschema systemd man-db
	# the metrics endpoint's scrape is checked with promtool
	prometheus
)
BENCH=(
	# the peers: nftables, iptables, and what @anthropic-ai/sandbox-runtime
	# (from npm) needs on Linux: bubblewrap, socat, ripgrep
	nftables iptables bubblewrap socat ripgrep
	# timing, plots, the DNS benchmark's upstream and client
	hyperfine gnuplot-nox dnsmasq-base dnsutils
)

layers=("$@")
list=0
if ((${#layers[@]})) && [[ ${layers[0]} == --list ]]; then
	list=1 layers=("${layers[@]:1}")
fi
((${#layers[@]})) || layers=(test)

PKGS=()
for l in "${layers[@]}"; do
	case $l in
	runtime) PKGS+=("${RUNTIME[@]}") ;;
	build) PKGS+=("${RUNTIME[@]}" "${BUILD[@]}") ;;
	test) PKGS+=("${RUNTIME[@]}" "${BUILD[@]}" "${TEST[@]}") ;;
	bench) PKGS+=("${RUNTIME[@]}" "${BUILD[@]}" "${BENCH[@]}") ;;
	*)
		echo "toolwall deps: unknown layer '$l' (runtime, build, test, bench)" >&2
		exit 2
		;;
	esac
done
mapfile -t PKGS < <(printf '%s\n' "${PKGS[@]}" | sort -u)
if ((list)); then
	printf '%s\n' "${PKGS[@]}"
	exit 0
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "toolwall deps: missing packages: ${missing[*]} (run as root to install)" >&2
		exit 1
	fi
	echo "toolwall deps (${layers[*]}): installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# sock.bpf.o on its own in a private cgroup (see test_sock_alone.c). Needs
# no daemon, no pins and no test hosts: it runs beside any other test.
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=build/bpftest/test_sock_alone
if [[ ! -x $bin ]]; then
	echo "not ok 1 - $bin is not built (make ktest)"
	echo "RESULT 0 1 0"
	exit 1
fi
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$bin" "$scratch"

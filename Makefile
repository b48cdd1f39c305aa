# SPDX-License-Identifier: GPL-2.0-only
#
# Data flows one way through the tree, one folder per stage:
#   policy/*.json -> user/policy/ (parse, compile, explain: pure)
#   -> user/kernel/ (loader, maps, cgroups) -> bpf/*.bpf.c (kernel verdict)
#   -> ring buffer -> user/daemon/ (event sources, resolver, control)
#   -> user/audit/ (record, chain, segments, export, query: pure)
#   user/launch/ confines a tool call; user/cli/ is the command table;
#   user/lib/ is the leaf every stage may use.
#
# make            build ./toolwall
# make test       install deps (test layer), build, run every test
# make demo       install deps (build layer), build, run `toolwall demo`
# make bench      install deps (bench layer), benchmarks (root)
# make install    binary, man pages, service unit, completion, example policy
#                 under $(DESTDIR)$(PREFIX) (default /usr/local); make uninstall
# make deb        build/toolwall_VERSION_ARCH.deb (PREFIX /usr)

# The version, in this one place: --version, `toolwall version`, the man
# pages' headers (as installed) and the Debian package take it from here.
TW_VERSION := 0.1.0

CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
OUT      := build
Q        := $(if $(V),,@)

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers -Wno-format-truncation \
	    -D_GNU_SOURCE $(USER_INC) -Ibpf -I$(OUT) -DTW_VERSION='"$(TW_VERSION)"'
# The libraries are linked shared, so that the distribution's security
# updates (OpenSSL's, ldns's, http-parser's: they read what tool calls and
# upstreams send) reach toolwall without a rebuild. Every toolwall process
# pays for mapping them at start-up (~3 ms here, OpenSSL's relocations the
# most), and a tool call's launch is one to three processes: STATIC=1 links
# them in instead (their -dev packages ship the archives), for a build that
# is rebuilt whenever they are updated. libmicrohttpd (and the GnuTLS it
# brings) is opened by `daemon --metrics` alone (metrics.c), either way.
LINKED_LIBS := -lbpf -lelf -lz -ljansson -lseccomp -luring -lldns -lhttp_parser -lssl -lcrypto
ifeq ($(STATIC),1)
LDLIBS   := -Wl,-Bstatic $(LINKED_LIBS) -Wl,-Bdynamic
else
LDLIBS   := $(LINKED_LIBS)
endif
LDLIBS   += -lsmartcols -lpthread -ldl
# What the pure stages link (unit tests and fuzzers link only them).
PURE_LIBS := -ljansson -lssl -lcrypto -lz -lsmartcols -lpthread

# One folder per stage of the data flow; every folder's headers are public.
USER_DIRS := $(patsubst %/,%,$(sort $(dir $(wildcard user/*/*.[ch]))))
USER_INC  := $(addprefix -I,$(USER_DIRS))
USER_HDRS := $(wildcard user/*/*.h)

# Pure stages: no BPF, no kernel, no files; unit-tested and fuzzed on their own
# (and the broker's judge of one request).
PURE_DIRS := user/policy user/audit
PURE_SRCS := $(wildcard $(addsuffix /*.c,$(PURE_DIRS))) user/broker/request.c
# The daemon's pure parts: no kernel, no files; unit-tested with them.
PURE_DAEMON := user/daemon/learned.c user/daemon/promtext.c
# Every other folder talks to the kernel or the outside world.
SYS_SRCS  := $(filter-out $(PURE_SRCS),$(wildcard user/*/*.c))

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(OUT)/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(OUT)/%.skel.h,$(BPF_SRCS))

PURE_OBJS := $(patsubst user/%.c,$(OUT)/%.o,$(PURE_SRCS))
SYS_OBJS  := $(patsubst user/%.c,$(OUT)/%.o,$(SYS_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/unit/%,$(UNIT_SRCS))
ASAN_BINS := $(patsubst tests/unit/%.c,$(OUT)/asan/%,$(UNIT_SRCS))
PROBE_SRCS := $(wildcard tests/kernel/*.c)
PROBE_BINS := $(patsubst tests/kernel/%.c,$(OUT)/probes/%,$(PROBE_SRCS))
# BPF programs tested on their own (no daemon, no pins), as the kernel's
# selftests do: the skeleton, the maps code and the pure stages.
BPFT_SRCS := $(wildcard tests/bpf/test_*.c)
BPFT_BINS := $(patsubst tests/bpf/%.c,$(OUT)/bpftest/%,$(BPFT_SRCS))
BPFT_OBJS := $(PURE_OBJS) $(OUT)/kernel/maps.o $(OUT)/kernel/budget.o $(OUT)/kernel/cgroups.o $(OUT)/lib/util.o

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

# Skeletons are inputs of the user objects, not throwaway intermediates.
.SECONDARY: $(BPF_OBJS) $(BPF_SKELS)

.PHONY: all deps test unit asan fuzz ktest demo bench clean format install \
	uninstall deb

all: toolwall

# scripts/deps.sh installs in layers: runtime, build, test, bench.
deps:
	$(Q)bash scripts/deps.sh test

toolwall: $(PURE_OBJS) $(SYS_OBJS)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# main.c prints the version the Makefile sets.
$(OUT)/cli/main.o: Makefile

$(OUT)/%.o: user/%.c $(USER_HDRS) bpf/toolwall.h $(BPF_SKELS) | $(OUT)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

# vmlinux.h comes from the running kernel's BTF (CO-RE keeps the object
# portable across kernels that have BTF).
$(OUT)/vmlinux.h: | $(OUT)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(OUT)/%.bpf.o: bpf/%.bpf.c bpf/toolwall.h $(wildcard bpf/*.bpf.h) $(OUT)/vmlinux.h | $(OUT)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-I$(OUT) -Ibpf -c $< -o $@

$(OUT)/%.skel.h: $(OUT)/%.bpf.o
	$(Q)$(BPFTOOL) gen skeleton $< name tw_$* > $@.tmp && mv $@.tmp $@


$(OUT)/bpftest/%: tests/bpf/%.c $(BPFT_OBJS) $(BPF_SKELS) | $(OUT)/bpftest
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(BPFT_OBJS) $(LDLIBS)

$(OUT) $(OUT)/unit $(OUT)/asan $(OUT)/probes $(OUT)/fuzz $(OUT)/bpftest:
	$(Q)mkdir -p $@

# Unit tests link only the pure modules.
$(OUT)/unit/%: tests/unit/%.c $(PURE_SRCS) $(PURE_DAEMON) $(USER_HDRS) tests/unit/unit.h | $(OUT)/unit
	$(Q)$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(PURE_SRCS) $(PURE_DAEMON) $(PURE_LIBS) -lcmocka

$(OUT)/asan/%: tests/unit/%.c $(PURE_SRCS) $(PURE_DAEMON) $(USER_HDRS) tests/unit/unit.h | $(OUT)/asan
	$(Q)$(CC) $(CFLAGS) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=all -Itests/unit -o $@ $< $(PURE_SRCS) $(PURE_DAEMON) \
		$(PURE_LIBS) -lcmocka

# libFuzzer targets, one per parser of untrusted bytes; each has its seed
# corpus in tests/fuzz/corpus/<target>/ (tests/run.sh runs each briefly).
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CC   := $(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE $(USER_INC) -Ibpf \
	     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(OUT)/fuzz/fuzz_policy: tests/fuzz/fuzz_policy.c $(PURE_SRCS) $(USER_HDRS) | $(OUT)/fuzz
	$(Q)$(FUZZ_CC) -o $@ $< $(PURE_SRCS) $(PURE_LIBS)

$(OUT)/fuzz/fuzz_audit: tests/fuzz/fuzz_audit.c $(PURE_SRCS) $(USER_HDRS) | $(OUT)/fuzz
	$(Q)$(FUZZ_CC) -o $@ $< $(PURE_SRCS) $(PURE_LIBS)

# The daemon's own control.c and reader (util.c) on the example policy; the
# harness stands in for the maps and cgroups (a parser needs no kernel, and a
# fuzzer must not create cgroups), counting what a request would change.
FUZZ_CTL_SRCS := user/daemon/control.c user/daemon/statusjson.c user/daemon/learned.c user/daemon/grants.c \
		 user/daemon/grantops.c user/daemon/grantaddr.c user/daemon/grantbk.c \
		 user/launch/callfilter.c user/lib/util.c
$(OUT)/fuzz/fuzz_control: tests/fuzz/fuzz_control.c $(FUZZ_CTL_SRCS) $(PURE_SRCS) $(USER_HDRS) \
		bpf/toolwall.h | $(OUT)/fuzz
	$(Q)$(FUZZ_CC) -DTW_FUZZ_POLICY='"$(CURDIR)/policy/examples/acme"' -o $@ $< \
		$(FUZZ_CTL_SRCS) $(PURE_SRCS) $(PURE_LIBS) -lseccomp

# dns.c and dnsup.c are compiled into the harness (their upstream sockets
# redirected there); the resolver's other files are linked as they are.
DNS_LINKED := user/daemon/dnstcp.c user/daemon/dnsrebind.c user/daemon/dnsallow.c \
	      user/daemon/dnsrefuse.c user/daemon/learned.c user/lib/util.c
$(OUT)/fuzz/fuzz_dns: tests/fuzz/fuzz_dns.c user/daemon/dns.c user/daemon/dnsup.c \
		$(DNS_LINKED) $(PURE_SRCS) $(USER_HDRS) bpf/toolwall.h | $(OUT)/fuzz
	$(Q)$(FUZZ_CC) -DTW_FUZZ_POLICY='"$(CURDIR)/policy/examples/acme"' -o $@ $< \
		$(DNS_LINKED) $(PURE_SRCS) $(PURE_LIBS) -lldns

fuzz: $(FUZZ_BINS)

$(OUT)/probes/%: tests/kernel/%.c | $(OUT)/probes
	$(Q)$(CC) $(CFLAGS) -o $@ $< -luring

unit: $(UNIT_BINS) $(ASAN_BINS) $(FUZZ_BINS)
ktest: toolwall $(PROBE_BINS) $(BPFT_BINS)

# The README's test command: installs what it needs, builds, runs all.
test:
	$(Q)bash scripts/deps.sh test
	$(Q)$(MAKE) --no-print-directory toolwall unit ktest
	$(Q)bash tests/run.sh

demo:
	$(Q)bash scripts/deps.sh build
	$(Q)$(MAKE) --no-print-directory toolwall
	$(Q)./toolwall demo

# Benchmarks side by side (root); QUICK=1 for a reduced run. See bench/README.md.
bench:
	$(Q)bash scripts/deps.sh bench
	$(Q)$(MAKE) --no-print-directory toolwall
	$(Q)QUICK=$(QUICK) bash bench/run.sh
	$(Q)QUICK=$(QUICK) bash bench/launch_bench.sh
	$(Q)QUICK=$(QUICK) bash bench/dns_bench.sh
	$(Q)QUICK=$(QUICK) bash bench/broker_bench.sh
	$(Q)bash bench/audit_bench.sh $(if $(QUICK),2,5)
	$(Q)bash bench/flood_bench.sh $(if $(QUICK),3,10)
	$(Q)bash bench/ckpt_bench.sh $(if $(QUICK),5000 3,20000 5)

# The audit writer alone, without and with signed checkpoints.
$(OUT)/ckpt_bench: bench/ckpt_bench.c $(PURE_SRCS) $(USER_HDRS) | $(OUT)
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(PURE_SRCS) $(PURE_LIBS)

# ---- install -----------------------------------------------------
# The binary goes to sbin: the daemon, down and reload are the system
# administrator's (toolwall(8)), and a launcher calls it by its absolute
# path rather than trusting PATH. The unit goes where systemd looks for
# packaged units under PREFIX (/usr/lib/systemd/system, or /usr/local/...).
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share/toolwall
UNITDIR    ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions

# Every file install puts down, relative to DESTDIR (uninstall removes
# exactly these; tests/pkg/test_install.sh checks the tree against it).
INSTALL_FILES = $(SBINDIR)/toolwall $(MANDIR)/man8/toolwall.8 \
	$(MANDIR)/man5/toolwall-policy.5 $(MANDIR)/man7/toolwall-protocol.7 \
	$(UNITDIR)/toolwall.service \
	$(BASHCOMPDIR)/toolwall \
	$(patsubst policy/examples/%,$(DATADIR)/examples/%,$(EXAMPLES)) \
	$(DATADIR)/schema/toolwall-policy.schema.json
EXAMPLES := $(shell find policy/examples -type f -name '*.json' | sort)

install: toolwall
	$(Q)install -D -m 0755 toolwall $(DESTDIR)$(SBINDIR)/toolwall
	$(Q)for m in man8/toolwall.8 man5/toolwall-policy.5 man7/toolwall-protocol.7; do \
		install -d $(DESTDIR)$(MANDIR)/$$(dirname $$m) && \
		sed '1,5s/"toolwall [0-9][^"]*"/"toolwall $(TW_VERSION)"/' \
			man/$$(basename $$m) > $(DESTDIR)$(MANDIR)/$$m && \
		chmod 0644 $(DESTDIR)$(MANDIR)/$$m || exit 1; \
	done
	$(Q)install -d $(DESTDIR)$(UNITDIR)
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' dist/toolwall.service.in \
		> $(DESTDIR)$(UNITDIR)/toolwall.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/toolwall.service
	$(Q)install -D -m 0644 dist/toolwall.bash-completion \
		$(DESTDIR)$(BASHCOMPDIR)/toolwall
	$(Q)for f in $(EXAMPLES); do \
		install -D -m 0644 $$f $(DESTDIR)$(DATADIR)/examples/$${f#policy/examples/} || exit 1; \
	done
	$(Q)install -D -m 0644 policy/schema/toolwall-policy.schema.json \
		$(DESTDIR)$(DATADIR)/schema/toolwall-policy.schema.json

# Removes the files install put down. Directories: into a DESTDIR (a
# staging tree) every one left empty, up to DESTDIR; on the host only
# toolwall's own ($(DATADIR)), never a shared one such as man/man5.
uninstall:
	$(Q)rm -f $(addprefix $(DESTDIR),$(INSTALL_FILES))
	$(Q)if [ -n "$(DESTDIR)" ]; then \
		for d in $(sort $(dir $(addprefix $(DESTDIR),$(INSTALL_FILES)))); do \
			while [ "$$d" != "$(DESTDIR)/" ] && [ "$$d" != "/" ] && \
			      rmdir "$$d" 2>/dev/null; do d=$$(dirname "$$d")/; done; \
		done; \
	elif [ -d "$(DATADIR)" ]; then \
		find "$(DATADIR)" -depth -type d -empty -delete; \
	fi

# A Debian package with dpkg-deb: PREFIX /usr, the unit where Debian 12
# keeps packaged units, Depends computed by dpkg-shlibdeps.
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
DEB      := $(OUT)/toolwall_$(TW_VERSION)_$(DEB_ARCH).deb
deb: toolwall
	$(Q)TW_VERSION=$(TW_VERSION) bash dist/debian/build.sh $(DEB)
	@echo "built $(DEB)"

format:
	clang-format -i user/*/*.c user/*/*.h bpf/*.c bpf/*.h tests/unit/*.c tests/kernel/*.c

clean:
	rm -rf $(OUT) toolwall

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
# make test       install deps, build, run every test (unit, ASan, fuzz, kernel)
# make demo       install deps, build, run `toolwall demo` on the example policy
# make bench      benchmarks (root)

CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
OUT      := build
Q        := $(if $(V),,@)

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers -Wno-format-truncation \
	    -D_GNU_SOURCE $(USER_INC) -Ibpf -I$(OUT)
LDLIBS   := -lbpf -lelf -lz -ljansson -lcrypto -lseccomp -luring -lldns -lhttp_parser -lssl -lpthread

# One folder per stage of the data flow; every folder's headers are public.
USER_DIRS := $(patsubst %/,%,$(sort $(dir $(wildcard user/*/*.[ch]))))
USER_INC  := $(addprefix -I,$(USER_DIRS))
USER_HDRS := $(wildcard user/*/*.h)

# Pure stages: no BPF, no kernel, no files; unit-tested and fuzzed on their own
# (and the broker's judge of one request).
PURE_DIRS := user/policy user/audit
PURE_SRCS := $(wildcard $(addsuffix /*.c,$(PURE_DIRS))) user/broker/request.c
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

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

# Skeletons are inputs of the user objects, not throwaway intermediates.
.SECONDARY: $(BPF_OBJS) $(BPF_SKELS)

.PHONY: all deps test unit asan fuzz ktest demo bench clean format install

all: toolwall

deps:
	$(Q)bash scripts/deps.sh

toolwall: $(PURE_OBJS) $(SYS_OBJS)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

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

$(OUT) $(OUT)/unit $(OUT)/asan $(OUT)/probes $(OUT)/fuzz:
	$(Q)mkdir -p $@

# Unit tests link only the pure modules.
$(OUT)/unit/%: tests/unit/%.c $(PURE_SRCS) $(USER_HDRS) tests/unit/unit.h | $(OUT)/unit
	$(Q)$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(PURE_SRCS) -ljansson -lcrypto -lz -lcmocka

$(OUT)/asan/%: tests/unit/%.c $(PURE_SRCS) $(USER_HDRS) tests/unit/unit.h | $(OUT)/asan
	$(Q)$(CC) $(CFLAGS) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=all -Itests/unit -o $@ $< $(PURE_SRCS) \
		-ljansson -lcrypto -lz -lcmocka

# libFuzzer targets, one per parser of untrusted bytes; each has its seed
# corpus in tests/fuzz/corpus/<target>/ (tests/run.sh runs each briefly).
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CC   := $(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE $(USER_INC) -Ibpf \
	     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(OUT)/fuzz/fuzz_policy: tests/fuzz/fuzz_policy.c $(PURE_SRCS) $(USER_HDRS) | $(OUT)/fuzz
	$(Q)$(FUZZ_CC) -o $@ $< $(PURE_SRCS) -ljansson -lcrypto -lz

$(OUT)/fuzz/fuzz_audit: tests/fuzz/fuzz_audit.c $(PURE_SRCS) $(USER_HDRS) | $(OUT)/fuzz
	$(Q)$(FUZZ_CC) -o $@ $< $(PURE_SRCS) -ljansson -lcrypto -lz

# The daemon's own control.c and reader (util.c) on the example policy; the
# harness stands in for the maps and cgroups (a parser needs no kernel, and a
# fuzzer must not create cgroups), counting what a request would change.
$(OUT)/fuzz/fuzz_control: tests/fuzz/fuzz_control.c user/daemon/control.c user/lib/util.c \
		$(PURE_SRCS) $(USER_HDRS) bpf/toolwall.h | $(OUT)/fuzz
	$(Q)$(FUZZ_CC) -DTW_FUZZ_POLICY='"$(CURDIR)/policy/examples/acme"' -o $@ $< \
		user/daemon/control.c user/lib/util.c $(PURE_SRCS) -ljansson -lcrypto -lz

# dns.c is compiled into the harness (its upstream sockets redirected there).
$(OUT)/fuzz/fuzz_dns: tests/fuzz/fuzz_dns.c user/daemon/dns.c user/lib/util.c \
		$(PURE_SRCS) $(USER_HDRS) bpf/toolwall.h | $(OUT)/fuzz
	$(Q)$(FUZZ_CC) -DTW_FUZZ_POLICY='"$(CURDIR)/policy/examples/acme"' -o $@ $< \
		user/lib/util.c $(PURE_SRCS) -ljansson -lcrypto -lz -lldns -lpthread

fuzz: $(FUZZ_BINS)

$(OUT)/probes/%: tests/kernel/%.c | $(OUT)/probes
	$(Q)$(CC) $(CFLAGS) -o $@ $< -luring

unit: $(UNIT_BINS) $(ASAN_BINS) $(FUZZ_BINS)
ktest: toolwall $(PROBE_BINS)

# The README's test command: installs what it needs, builds, runs all.
test: deps
	$(Q)$(MAKE) --no-print-directory toolwall unit ktest
	$(Q)bash tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory toolwall
	$(Q)./toolwall demo

# Benchmarks side by side (root); QUICK=1 for a reduced run. See bench/README.md.
bench: deps
	$(Q)$(MAKE) --no-print-directory toolwall
	$(Q)QUICK=$(QUICK) bash bench/run.sh
	$(Q)QUICK=$(QUICK) bash bench/dns_bench.sh
	$(Q)bash bench/audit_bench.sh $(if $(QUICK),2,5)
	$(Q)bash bench/flood_bench.sh $(if $(QUICK),3,10)

format:
	clang-format -i user/*/*.c user/*/*.h bpf/*.c bpf/*.h tests/unit/*.c tests/kernel/*.c

clean:
	rm -rf $(OUT) toolwall

# Benchmarks (bench/). Included by the top-level Makefile, which defines
# OUTPUT, CLANG, BPFTOOL, CC, CFLAGS, BPF_CFLAGS, LIBS, Q and msg.
#
#   make bench        install what is missing, build, run every benchmark
#                     (as root; about 7 minutes on 2 cores)
#   make bench-build  build the benchmark tools only
#   make bench-cost   per-packet cost only (BPF_PROG_TEST_RUN, ~5 minutes)
#   make bench-e2e    the end-to-end flood benchmark only

BENCH_OUT := $(OUTPUT)/bench
# Debian 12 packages the benchmarks need on top of $(DEPS).
BENCH_DEPS := gnuplot-nox iperf3 nftables jq hping3 iproute2 ethtool util-linux procps
BENCH_BPF := wrap flood xdpbench
BENCH_TOOLS := prog_cost flood xdpctl tcpping
BENCH_BINS := $(patsubst %,$(BENCH_OUT)/%,$(BENCH_TOOLS))
BENCH_CFLAGS := $(CFLAGS) -I$(BENCH_OUT) -Itests/lib -Ibench/bpf

# Bench-only builds of bpf/synguard.bpf.c, each with one check compiled out
# (the SG_BENCH_* switches there), so prog_cost can show what each check
# costs against the product object in the same run. They live only in
# $(BENCH_OUT) under their own names, and only prog_cost loads them (by
# path): the product (build/synguard.bpf.o and the skeleton inside the CLI
# and the tests) never sees these switches.
SG_VARIANTS := no-unicast no-csum owner-listener owner-none no-first-flight \
	no-syn-checks
SG_VARIANT_FLAGS_no-unicast := -DSG_BENCH_NO_UNICAST
SG_VARIANT_FLAGS_no-csum := -DSG_BENCH_NO_CSUM
SG_VARIANT_FLAGS_owner-listener := -DSG_BENCH_OWNER=SG_OWNER_LISTENER
SG_VARIANT_FLAGS_owner-none := -DSG_BENCH_OWNER=SG_OWNER_NONE
SG_VARIANT_FLAGS_no-first-flight := -DSG_BENCH_NO_FIRST_FLIGHT
SG_VARIANT_FLAGS_no-syn-checks := -DSG_BENCH_NO_UNICAST -DSG_BENCH_NO_CSUM \
	-DSG_BENCH_OWNER=SG_OWNER_LISTENER
# A check compiled out leaves its helpers and locals unused.
SG_VARIANT_CFLAGS := -Wno-unused-function -Wno-unused-variable \
	-Wno-unused-but-set-variable
SG_VARIANT_OBJS := $(patsubst %,$(BENCH_OUT)/synguard-%.bpf.o,$(SG_VARIANTS))

.PHONY: bench bench-deps bench-build bench-cost bench-e2e
# Keep the objects: bpftool and the skeletons are built from them.
.PRECIOUS: $(BENCH_OUT)/%.bpf.o

$(BENCH_OUT):
	$(Q)mkdir -p $@

$(BENCH_OUT)/%.bpf.o: bench/bpf/%.bpf.c bench/bpf/bench.h $(OUTPUT)/vmlinux.h | $(BENCH_OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Ibench/bpf -c $< -o $@

$(BENCH_OUT)/synguard-%.bpf.o: bpf/synguard.bpf.c $(BPF_HDRS) $(OUTPUT)/vmlinux.h | $(BENCH_OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(SG_VARIANT_CFLAGS) $(SG_VARIANT_FLAGS_$*) -c $< -o $@

$(BENCH_OUT)/%.skel.h: $(BENCH_OUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

PROG_COST_SRCS := bench/prog_cost.c tests/lib/pkt.c tests/lib/ref.c tests/lib/loopback.c tests/lib/engine.c
$(BENCH_OUT)/prog_cost: $(PROG_COST_SRCS) $(TEST_HDRS) $(OUTPUT)/synguard.skel.h $(BENCH_OUT)/wrap.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) $(PROG_COST_SRCS) -o $@ $(LIBS)

$(BENCH_OUT)/flood: bench/flood.c bench/bpf/bench.h tests/lib/pkt.c tests/lib/ref.c \
		$(TEST_HDRS) $(BENCH_OUT)/flood.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) -pthread bench/flood.c tests/lib/pkt.c tests/lib/ref.c -o $@ $(LIBS)

$(BENCH_OUT)/xdpctl: bench/xdpctl.c bench/bpf/bench.h $(BENCH_OUT)/xdpbench.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) bench/xdpctl.c -o $@ $(LIBS)

$(BENCH_OUT)/tcpping: bench/tcpping.c | $(BENCH_OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BENCH_CFLAGS) bench/tcpping.c -o $@ -lm

# Installs what the benchmarks need beyond `make deps` (as root).
bench-deps: deps
	$(call install_missing,$(BENCH_DEPS),bench)

bench-build: $(OUTPUT)/synguard $(BENCH_BINS) $(SG_VARIANT_OBJS)

bench-cost: bench-build
	$(Q)$(BENCH_OUT)/prog_cost --json $(OUTPUT)/bench-cost.json
	$(Q)OUT=$(OUTPUT) bench/report.sh >/dev/null

bench-e2e: bench-build
	$(Q)OUT=$(OUTPUT) bench/e2e.sh
	$(Q)OUT=$(OUTPUT) bench/report.sh

# deps first: on a fresh machine `make bench` alone installs, builds, runs.
bench: bench-deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)OUT=$(OUTPUT) bench/run.sh

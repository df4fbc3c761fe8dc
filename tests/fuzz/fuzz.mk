# The data-path fuzzer (tests/fuzz/fuzz_xdp.c), included by the top
# Makefile: libFuzzer from Debian's clang 14 (libfuzzer-14-dev), with
# AddressSanitizer on the harness and the test library it reuses.
#
#   make fuzz                   fuzz for FUZZ_SECONDS (corpus in build/)
#   make fuzz FUZZ_SECONDS=600
# Reproducers of violated invariants land in build/fuzz-crashes/; replay
# one with `build/fuzz_xdp build/fuzz-crashes/crash-...` (as root).

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 300
FUZZ_CFLAGS := -std=gnu11 -O1 -g -fsanitize=fuzzer,address \
	-fno-omit-frame-pointer -Wall -Wextra -Werror -Iinclude -I$(OUTPUT) \
	-Itests/lib
FUZZ_SRCS := tests/fuzz/fuzz_xdp.c tests/lib/harness.c tests/lib/loopback.c \
	tests/lib/ref.c tests/lib/pkt.c tests/lib/engine.c
# The largest input: two configuration bytes and a 1600-byte frame.
FUZZ_FLAGS := -max_len=1602 -artifact_prefix=$(OUTPUT)/fuzz-crashes/ \
	-print_final_stats=1

all: $(OUTPUT)/fuzz_xdp

$(OUTPUT)/fuzz_xdp: $(FUZZ_SRCS) $(TEST_HDRS) $(OUTPUT)/synguard.skel.h
	$(call msg,FUZZ-CC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SRCS) -o $@ $(LIBS)

.PHONY: fuzz
fuzz: $(OUTPUT)/fuzz_xdp
	$(Q)mkdir -p $(OUTPUT)/fuzz-corpus $(OUTPUT)/fuzz-crashes
	$(Q)$(OUTPUT)/fuzz_xdp -max_total_time=$(FUZZ_SECONDS) $(FUZZ_FLAGS) \
		$(OUTPUT)/fuzz-corpus

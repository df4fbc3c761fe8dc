# Integration-test helpers, included by the top Makefile (`-include
# tests/tests.mk`): the client-side XDP_PASS program and the echo server and
# client that tests/integration/ runs in network namespaces.

TOOLS_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror
TOOLS_COMMON := tests/tools/netutil.c
TOOLS_HDRS := tests/tools/netutil.h
TEST_TOOLS := $(OUTPUT)/xdp_pass.bpf.o $(OUTPUT)/tcp_echo $(OUTPUT)/tcp_client

all: $(TEST_TOOLS)

.PHONY: test-tools
test-tools: $(TEST_TOOLS)

$(OUTPUT)/xdp_pass.bpf.o: tests/bpf/xdp_pass.bpf.c $(OUTPUT)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/tcp_echo: tests/tools/tcp_echo.c $(TOOLS_COMMON) $(TOOLS_HDRS) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(TOOLS_CFLAGS) -pthread tests/tools/tcp_echo.c $(TOOLS_COMMON) -o $@

$(OUTPUT)/tcp_client: tests/tools/tcp_client.c $(TOOLS_COMMON) $(TOOLS_HDRS) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(TOOLS_CFLAGS) tests/tools/tcp_client.c $(TOOLS_COMMON) -o $@

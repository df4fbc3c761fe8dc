# synguard build. `make` builds everything into build/, `make test` also
# installs what is missing (as root) and runs every test.
# Quiet by default; V=1 shows the full commands.

OUTPUT := build
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= gcc
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

# Debian 12 packages the build needs (also debian/control's Build-Depends,
# which tests/deploy/test_deb.sh checks against this list) and those the
# tests need on top (make deps installs both).
BUILD_DEPS := clang llvm libbpf-dev libxdp-dev libelf-dev zlib1g-dev libjansson-dev libmicrohttpd-dev libpcap-dev bpftool \
	linux-libc-dev pkg-config
DEPS := $(BUILD_DEPS) nftables conntrack iproute2 ethtool hping3 xdp-tools \
	python3 python3-yaml python3-scapy systemd tcpdump libfuzzer-14-dev curl \
	qemu-system-x86 busybox-static kmod xz-utils jq clang-16 clang-19
# What `make deb` needs on top of the build's packages.
DEB_DEPS := debhelper dpkg-dev build-essential

# The one definition of the version: `synguard --version` prints it, and
# debian/changelog must carry the same (make deb refuses otherwise).
VERSION := $(shell cat VERSION)

CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Iinclude -I$(OUTPUT)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Wextra -Werror \
	-Wno-unused-parameter -Iinclude -Ibpf -I$(OUTPUT)
LIBS := -lxdp -lbpf -lelf -lz
# The CLI reads nft's JSON with jansson, which nftables itself links, and
# serves `run --metrics` with libmicrohttpd;
# capture writes pcap files with libpcap.
CLI_LIBS := $(LIBS) -ljansson -lmicrohttpd -lpcap -lpthread
# More flags for the CLI from outside: debian/rules passes Debian's
# hardening flags (dpkg-buildflags) here.
EXTRA_CFLAGS ?=
EXTRA_LDFLAGS ?=

BPF_HDRS := include/synguard.h $(wildcard bpf/*.h)
TEST_SRCS := $(wildcard tests/unit/test_*.c) tests/lib/harness.c tests/lib/loopback.c tests/lib/ref.c tests/lib/pkt.c \
	tests/lib/engine.c
TEST_HDRS := tests/lib/harness.h tests/lib/loopback.h tests/lib/ref.h tests/lib/pkt.h tests/lib/engine.h \
	include/synguard.h

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all clean deps deb-deps deb test unit test-forgery check-tools install demo matrix

PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
DOCDIR ?= $(PREFIX)/share/doc/synguard
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions

all: $(OUTPUT)/synguard $(OUTPUT)/test_xdp $(OUTPUT)/selftest_ref

# Fail early, naming the package, instead of deep inside the build.
check-tools:
	$(Q)command -v $(CLANG) >/dev/null || { echo "clang not found: run 'make deps' (apt-get install clang)"; exit 1; }
	$(Q)command -v $(BPFTOOL) >/dev/null || { echo "bpftool not found: run 'make deps' (apt-get install bpftool)"; exit 1; }
	$(Q)test -r /usr/include/xdp/libxdp.h || { echo "libxdp headers not found: run 'make deps' (apt-get install libxdp-dev)"; exit 1; }
	$(Q)test -r /usr/include/bpf/libbpf.h || { echo "libbpf headers not found: run 'make deps' (apt-get install libbpf-dev)"; exit 1; }
	$(Q)test -r $(VMLINUX_BTF) || { echo "$(VMLINUX_BTF) missing: the kernel needs CONFIG_DEBUG_INFO_BTF=y"; exit 1; }

# install_missing PACKAGES, TARGET: apt-get install those of the Debian
# PACKAGES not installed yet; as non-root, say to run `make TARGET` as root.
define install_missing
	@missing=$$(for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "missing packages: $$missing; run 'make $(2)' as root"; exit 1; fi; \
		echo "installing: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi
endef

deps:
	$(call install_missing,$(DEPS),deps)

$(OUTPUT):
	$(Q)mkdir -p $@

$(OUTPUT)/vmlinux.h: | $(OUTPUT) check-tools
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(OUTPUT)/synguard.bpf.o: bpf/synguard.bpf.c $(BPF_HDRS) $(OUTPUT)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/synguard.skel.h: $(OUTPUT)/synguard.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name synguard > $@

# The unit tests' way into the TC checksum step (tests/bpf/tc_proxycsum.bpf.c).
$(OUTPUT)/tc_proxycsum.bpf.o: tests/bpf/tc_proxycsum.bpf.c $(BPF_HDRS) $(OUTPUT)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/tc_proxycsum.skel.h: $(OUTPUT)/tc_proxycsum.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tc_proxycsum > $@

USER_SRCS := $(wildcard user/*.c)
USER_HDRS := $(wildcard user/*.h) include/synguard.h

$(OUTPUT)/synguard: $(USER_SRCS) $(USER_HDRS) $(OUTPUT)/synguard.skel.h VERSION
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(EXTRA_CFLAGS) -DSG_VERSION='"$(VERSION)"' -Iuser $(USER_SRCS) -o $@ \
		$(EXTRA_LDFLAGS) $(CLI_LIBS)

$(OUTPUT)/test_xdp: $(TEST_SRCS) $(TEST_HDRS) $(OUTPUT)/synguard.skel.h $(OUTPUT)/tc_proxycsum.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib $(TEST_SRCS) -o $@ $(LIBS)

$(OUTPUT)/selftest_ref: tests/unit/selftest_ref.c tests/lib/ref.c tests/lib/pkt.c $(TEST_HDRS) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib tests/unit/selftest_ref.c tests/lib/ref.c tests/lib/pkt.c -o $@

unit: $(OUTPUT)/test_xdp
	$(Q)$(OUTPUT)/test_xdp

# The cookie forgery test with 10^7 random ACKs (36 to 79 s here); the
# unit tests run it with 10^6 (tests/unit/test_forgery.c).
test-forgery: $(OUTPUT)/test_xdp
	$(Q)SG_FORGERY_N=10000000 $(OUTPUT)/test_xdp forgery

# deps first: on a fresh machine `make test` alone installs, builds and runs.
# `make test T=NAME` runs only the unit groups and suites named like NAME.
test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh $(if $(T),-t $(T))

# The kernel matrix alone: Debian's 6.1 and 6.12 kernels in qemu.
matrix: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/kernels/matrix.sh

# A SYN flood against a protected server in throwaway namespaces (root).
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)demo/demo.sh

# The BPF object travels inside the binary (libbpf skeleton): nothing else
# has to be found at run time.
install: $(OUTPUT)/synguard
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -D -m 0755 $(OUTPUT)/synguard $(DESTDIR)$(SBINDIR)/synguard
	$(Q)install -D -m 0644 doc/synguard.8 $(DESTDIR)$(MANDIR)/man8/synguard.8
	$(Q)install -d $(DESTDIR)$(UNITDIR)
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' deploy/systemd/synguard@.service \
		> $(DESTDIR)$(UNITDIR)/synguard@.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/synguard@.service
	$(Q)install -D -m 0644 deploy/systemd/example.conf \
		$(DESTDIR)$(DOCDIR)/example.conf
	$(Q)install -D -m 0644 deploy/kubernetes/synguard.yaml \
		$(DESTDIR)$(DOCDIR)/kubernetes/synguard.yaml
	$(Q)install -D -m 0644 deploy/bash-completion/synguard \
		$(DESTDIR)$(COMPLETIONDIR)/synguard
	$(Q)install -D -m 0644 deploy/prometheus/alerts.yml \
		$(DESTDIR)$(DOCDIR)/prometheus/alerts.yml
	$(Q)install -D -m 0644 deploy/grafana/synguard.json \
		$(DESTDIR)$(DOCDIR)/grafana/synguard.json

deb-deps:
	$(call install_missing,$(BUILD_DEPS) $(DEB_DEPS),deb-deps)

# build/synguard_VERSION_ARCH.deb, built by dpkg-buildpackage from a copy of
# the tree in build/deb/: it writes its results next to the tree it builds,
# and nothing it makes lands in the repository outside build/.
DEB_TREE := $(OUTPUT)/deb/synguard-$(VERSION)
deb: deb-deps
	$(Q)test "$$(dpkg-parsechangelog -S Version -l debian/changelog)" = "$(VERSION)" || \
		{ echo "debian/changelog is at $$(dpkg-parsechangelog -S Version -l debian/changelog), VERSION at $(VERSION): add a changelog entry (dch -v $(VERSION))"; exit 1; }
	$(call msg,DEB,$(OUTPUT)/synguard_$(VERSION)_*.deb)
	$(Q)rm -rf $(OUTPUT)/deb $(OUTPUT)/synguard_*.deb
	$(Q)mkdir -p $(DEB_TREE)
	$(Q)tar -c --exclude=./$(OUTPUT) --exclude=./.git . | tar -x -C $(DEB_TREE)
	$(Q)cd $(DEB_TREE) && dpkg-buildpackage -us -uc -b > ../build.log 2>&1 || \
		{ tail -n 30 ../build.log; echo "dpkg-buildpackage failed: see $(OUTPUT)/deb/build.log"; exit 1; }
	$(Q)cp $(OUTPUT)/deb/synguard_$(VERSION)_*.deb $(OUTPUT)/

# Parts owned by their folders: extra targets for tests/ and bench/.
-include tests/tests.mk
-include tests/fuzz/fuzz.mk
-include bench/bench.mk

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)

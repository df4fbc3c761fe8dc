#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The kernel matrix: boots Debian's own kernels in qemu and runs
# tests/kernels/guest.sh in each, on this very tree (the host's root is
# shared read-only over 9p, under a tmpfs overlay), so the programs are
# tried on the kernels servers run, not only on this machine's.
#
#   tests/kernels/matrix.sh [SERIES...]     default: 6.1 6.12
#
# Each kernel is the newest Debian 12 package of its series, downloaded
# with `apt-get download` and unpacked under build/kernels/ (nothing is
# installed into /boot). qemu runs with software emulation (TCG): the
# /dev/kvm of the machines this was written on cannot boot a stock kernel.
# Prints each guest's suites and ends with "N passed, M failed" over all.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
CACHE=$ROOT/build/kernels
SERIES=("$@")
[ ${#SERIES[@]} -gt 0 ] || SERIES=(6.1 6.12)
TIMEOUT=${MATRIX_TIMEOUT:-900} # seconds per guest, boot to poweroff

# shellcheck source=tests/lib/suite.sh
. tests/lib/suite.sh
die() {
	fail matrix "$*"
	summary
	exit 1
}

for t in qemu-system-x86_64 busybox apt-get dpkg-deb depmod xz; do
	command -v "$t" >/dev/null || die "$t is missing: run 'make matrix-deps'"
done
if [ ! -x build/test_xdp ] || [ ! -x build/synguard ]; then
	die "build first: make all"
fi

# The package name of the newest Debian kernel of a series.
package_of() {
	local re
	case $1 in
	6.1) re='^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
	6.12) re='^linux-image-6\.12\.[0-9]+\+deb12-amd64$' ;;
	*) return 1 ;;
	esac
	apt-cache search --names-only "$re" | awk '{print $1}' | sort -V | tail -n 1
}

# fetch SERIES: unpacks the kernel into $CACHE/SERIES, depmod'ed. Prints
# the directory.
fetch() {
	local s=$1 pkg dir deb kv
	pkg=$(package_of "$s") || return 1
	[ -n "$pkg" ] || { echo "no Debian package for kernel series $s (apt-get update?)" >&2; return 1; }
	dir=$CACHE/$pkg
	if [ ! -e "$dir/.done" ]; then
		rm -rf "$dir"
		mkdir -p "$dir/deb"
		(cd "$dir/deb" && apt-get -o APT::Sandbox::User=root download "$pkg" >/dev/null) ||
			{ echo "apt-get download $pkg failed" >&2; return 1; }
		deb=$(ls "$dir"/deb/*.deb)
		dpkg-deb -x "$deb" "$dir/root" || return 1
		rm -rf "$dir/deb"
		kv=$(ls "$dir/root/lib/modules")
		depmod -b "$dir/root" "$kv" || return 1
		touch "$dir/.done"
	fi
	echo "$dir"
}

# initramfs DIR: busybox, the modules that mounting the host root needs
# (decompressed, in dependency order), and tests/kernels/init.
initramfs() {
	local dir=$1 kv mdir ird m dep
	kv=$(ls "$dir/root/lib/modules")
	mdir=$dir/root/lib/modules/$kv
	ird=$dir/initramfs
	rm -rf "$ird"
	mkdir -p "$ird"/{bin,mods,proc,sys,dev}
	cp /bin/busybox "$ird/bin/"
	for a in $(busybox --list); do
		[ "$a" = busybox ] || ln -sf busybox "$ird/bin/$a"
	done
	: >"$ird/modules.load"
	for m in virtio_pci 9pnet_virtio 9p overlay; do
		# modules.dep: "path: deps...", deps first when loading.
		dep=$(grep -E "/$m\.ko(\.xz)?:" "$mdir/modules.dep") || continue
		for f in $(echo "${dep#*:}" | tr ' ' '\n' | tac) "${dep%%:*}"; do
			b=$(basename "$f" .xz)
			grep -qx "$b" "$ird/modules.load" && continue
			case $f in
			*.xz) xz -dc "$mdir/$f" >"$ird/mods/$b" ;;
			*) cp "$mdir/$f" "$ird/mods/$b" ;;
			esac
			echo "$b" >>"$ird/modules.load"
		done
	done
	cp tests/kernels/init "$ird/init"
	chmod +x "$ird/init"
	(cd "$ird" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$dir/initrd.gz"
}

for s in "${SERIES[@]}"; do
	echo "== kernel $s"
	if ! dir=$(fetch "$s"); then
		fail "kernel $s" "cannot fetch it"
		continue
	fi
	if ! initramfs "$dir"; then
		fail "kernel $s" "cannot build the initramfs"
		continue
	fi
	kv=$(ls "$dir/root/lib/modules")
	log=$dir/console.log
	# A guest whose kernel dies while booting, before guest.sh starts (seen
	# once with 6.12 under TCG: an int3 in early boot), is booted once more,
	# saying so; a failure after guest.sh started is never retried.
	for boot in 1 2; do
		timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -cpu max \
			-smp 2 -m 2048 -nographic -no-reboot -nic none \
			-kernel "$dir/root/boot/vmlinuz-$kv" -initrd "$dir/initrd.gz" \
			-append "console=ttyS0 panic=-1 quiet sg_mods=$dir/root/lib/modules/$kv sg_cmd=$ROOT/tests/kernels/guest.sh sg_verbose=${MATRIX_VERBOSE:-0}" \
			-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
			</dev/null >"$log" 2>&1
		rc=$?
		tr -d '\r' <"$log" | grep -q '^# guest kernel' && break
		[ $boot = 1 ] && echo "[$s] # the guest died before guest.sh started (qemu exit $rc): booting it again"
	done
	tr -d '\r' <"$log" | grep -E '^(ok|FAIL|skip|#|==|matrix)' | sed "s/^/[$s] /"
	grep -qE '^[0-9]+ passed, [0-9]+ failed' "$log" ||
		{ echo "[$s] console, last lines (qemu exit $rc; all of it in $log):"; tail -n 20 "$log"; }
	add_summary "kernel $s ($kv)" "$(cat "$log")"
	echo "kernel $s ($kv): $(tr -d '\r' <"$log" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)"
done
summary

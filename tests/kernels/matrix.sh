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
# installed into /boot). Prints each guest's suites and ends with
# "N passed, M failed" over all.
#
# The accelerator, per guest: KVM (-accel kvm -cpu host) when /dev/kvm is
# usable and a probe boot of that kernel reaches the guest's init within
# MATRIX_KVM_PROBE seconds (default 30; a KVM boot takes a few); software
# emulation (TCG) otherwise. Not every /dev/kvm boots a stock kernel: on
# machines whose KVM is the paravirtual kvm_pvm (no vmx or svm in
# /proc/cpuinfo) qemu aborts on `-cpu host` (it cannot set
# MSR_IA32_ARCH_CAPABILITIES), and with that feature off the kernel crawls
# (a minute and a half to its first line) and then dies of an emulation
# failure (doc/design.md, "The kernel matrix"). Each guest prints one line
# saying which one it got and why: "# 6.1: kvm", "# 6.1: tcg (...)", and
# at its end how long it took.
# MATRIX_ACCEL=tcg skips the probe; MATRIX_ACCEL=kvm fails a kernel whose
# probe fails instead of falling back. Under KVM the guest runs its suites
# at full size, under TCG at smaller counts unless MATRIX_FULL=1
# (tests/kernels/guest.sh).
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
CACHE=$ROOT/build/kernels
SERIES=("$@")
[ ${#SERIES[@]} -gt 0 ] || SERIES=(6.1 6.12)
# Seconds per guest, boot to poweroff: 6.12's suites take about 950 s
# under TCG on a 2-core machine.
TIMEOUT=${MATRIX_TIMEOUT:-1800}
# Seconds from qemu's start to guest.sh's first line: TCG boots take under
# a minute on a loaded 2-core machine; one that hangs is booted again.
UP=${MATRIX_BOOT_TIMEOUT:-300}
PROBE=${MATRIX_KVM_PROBE:-30}  # seconds for the KVM probe boot
ACCEL=${MATRIX_ACCEL:-auto}
case $ACCEL in auto | kvm | tcg) ;; *) ACCEL=bad ;; esac

# shellcheck source=tests/lib/suite.sh
. tests/lib/suite.sh
die() {
	fail matrix "$*"
	summary
	exit 1
}

[ "$ACCEL" != bad ] || die "MATRIX_ACCEL=${MATRIX_ACCEL-} is none of auto, kvm, tcg"
for t in qemu-system-x86_64 busybox apt-get dpkg-deb depmod xz; do
	command -v "$t" >/dev/null || die "$t is missing: run 'make deps'"
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

# qemu DIR ACCEL SECONDS LOG MARKER UP APPEND...: boots the kernel of DIR
# under ACCEL (kvm or tcg) for at most SECONDS, the console in LOG, and
# stops it early unless MARKER is on the console within UP seconds: a
# kernel that hangs in early boot costs UP, not SECONDS. (Not only at a
# line's start: with "quiet" the firmware's escape sequences can be the
# start of the line. Matching at the start took guests that had run
# guest.sh for guests that died before it, and booted them again.)
# Returns qemu's exit status (124: SECONDS passed; 125: no MARKER in UP).
qemu() {
	local dir=$1 accel=$2 secs=$3 log=$4 marker=$5 up=$6 kv pid t=0
	shift 6
	kv=$(ls "$dir/root/lib/modules")
	local a=(-accel "tcg,thread=multi" -cpu max)
	[ "$accel" = kvm ] && a=(-accel kvm -cpu host)
	# In a subshell whose stderr is dropped: bash's "Aborted" line when
	# qemu dies of a signal (the exit status says it). "|| exit" keeps bash
	# from exec'ing timeout in place of the subshell.
	(timeout "$secs" qemu-system-x86_64 "${a[@]}" \
		-smp 2 -m 2048 -nographic -no-reboot -nic none \
		-kernel "$dir/root/boot/vmlinuz-$kv" -initrd "$dir/initrd.gz" \
		-append "console=ttyS0 panic=-1 quiet sg_mods=$dir/root/lib/modules/$kv $*" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		</dev/null >"$log" 2>&1 || exit) 2>/dev/null &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		if grep -qF -- "$marker" "$log" 2>/dev/null; then
			wait $pid
			return
		fi
		if [ $t -ge "$up" ]; then
			kill $pid # timeout passes it on to qemu
			wait $pid
			return 125
		fi
		sleep 1
		t=$((t + 1))
	done
	wait $pid
}

# kvm_ok DIR: whether this kernel boots under KVM here: /dev/kvm usable,
# and a probe boot reaching the guest's init (tests/kernels/init stops
# there) within $PROBE seconds, so that a KVM that hangs or crawls costs
# that much and no more. Otherwise sets $why to the reason.
kvm_ok() {
	local dir=$1 rc err
	if [ ! -e /dev/kvm ]; then
		why="no /dev/kvm"
		return 1
	fi
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		why="/dev/kvm: no read and write access for $(id -un)"
		return 1
	fi
	qemu "$dir" kvm "$PROBE" "$dir/probe.log" "matrix-init: probe ok" "$PROBE" sg_probe=1
	rc=$?
	grep -qF 'matrix-init: probe ok' "$dir/probe.log" && return 0
	case $rc in
	124 | 125) why="the KVM probe boot did not reach init in ${PROBE}s" ;;
	*)
		err=$(grep -m 1 '^qemu-system-x86_64: ' "$dir/probe.log")
		why="the KVM probe boot failed, qemu exit $rc${err:+: ${err#qemu-system-x86_64: }}"
		;;
	esac
	why="$why; console in $dir/probe.log"
	return 1
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
	case $ACCEL in
	tcg) accel=tcg why="MATRIX_ACCEL=tcg" ;;
	*)
		accel=tcg
		kvm_ok "$dir" && accel=kvm why=
		;;
	esac
	if [ "$ACCEL" = kvm ] && [ "$accel" != kvm ]; then
		fail "kernel $s under KVM (MATRIX_ACCEL=kvm)" "$why"
		continue
	fi
	echo "# $s: $accel${why:+ ($why)}"
	start=$SECONDS
	# A guest whose kernel dies or hangs while booting, before guest.sh
	# starts (seen with 6.1 and 6.12 under TCG: an int3 in early boot, and
	# a boot that sat until the timeout), is booted once more, saying so
	# (under TCG if the first boot was KVM's); a failure after guest.sh
	# started is never retried.
	for boot in 1 2; do
		full=${MATRIX_FULL:-0}
		[ "$accel" = kvm ] && full=1
		qemu "$dir" "$accel" "$TIMEOUT" "$log" "# guest kernel" "$UP" \
			"sg_cmd=$ROOT/tests/kernels/guest.sh sg_full=$full sg_accel=$accel sg_verbose=${MATRIX_VERBOSE:-0}"
		rc=$?
		grep -qF '# guest kernel' "$log" && break
		[ $boot = 2 ] && break
		cp "$log" "$log.1"
		how="died before guest.sh started (qemu exit $rc"
		[ $rc = 125 ] && how="had not started guest.sh in ${UP}s (stopped"
		if [ "$accel" = kvm ] && [ "$ACCEL" != kvm ]; then
			accel=tcg
			echo "# $s: tcg (the KVM guest $how; console in $log.1)"
		else
			echo "[$s] # the guest $how; console in $log.1): booting it again"
		fi
	done
	con=$(tr -d '\r' <"$log")
	grep -E '^(ok|FAIL|skip|#|==|matrix)' <<<"$con" | sed "s/^/[$s] /"
	# Counted only from a guest that finished (the init's last line): the
	# log of one stopped midway holds the summary lines of the unit tests
	# and suites it got through, which would pass for the guest's own.
	# guest.sh's exit status goes with its summary: a guest.sh that died
	# midway (its own summary never printed) must not pass on the last
	# summary line a suite left on the console.
	if grep -q 'matrix-guest: exit' <<<"$con"; then
		grc=$(sed -nE 's/.*matrix-guest: exit ([0-9]+).*/\1/p' <<<"$con" | tail -n 1)
		add_summary "kernel $s ($kv)" "$con" "${grc:-1}"
		echo "kernel $s ($kv): $(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$con" | tail -n 1)"
	else
		echo "[$s] console, last lines (qemu exit $rc; all of it in $log):"
		tail -n 20 "$log"
		fail "kernel $s ($kv)" "the guest did not finish guest.sh: stopped at the ${TIMEOUT} s limit (MATRIX_TIMEOUT) or crashed, qemu exit $rc"
	fi
	echo "# $s: $((SECONDS - start)) s, the last boot under $accel"
done
summary

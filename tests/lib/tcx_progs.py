#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""tcx_progs.py IFACE: the ids of the programs at TCX ingress of IFACE in
this network namespace, one a line, as the kernel's BPF_PROG_QUERY says.

The tests' own view of what synguard attached: Debian 12's bpftool (7.1)
predates TCX and shows neither the programs of an interface's TCX hook nor
the interface of a TCX link. Prints nothing on a kernel without TCX (before
Linux 6.6: the query is EINVAL). Exit 1 with a message on any other error.
"""
import ctypes
import errno
import os
import socket
import struct
import sys

SYS_BPF = {"x86_64": 321, "aarch64": 280}[os.uname().machine]
BPF_PROG_QUERY = 16
BPF_TCX_INGRESS = 46
MAX = 64


def main():
    try:
        ifindex = socket.if_nametoindex(sys.argv[1])
    except OSError as e:
        print(f"tcx_progs.py: {sys.argv[1]}: {e}", file=sys.stderr)
        return 1
    ids = (ctypes.c_uint32 * MAX)()
    # union bpf_attr's query: target_ifindex, attach_type, query_flags,
    # attach_flags, prog_ids (u64), prog_cnt, then what the kernel writes
    # back (prog_attach_flags, link_ids, link_attach_flags, revision).
    attr = ctypes.create_string_buffer(
        struct.pack("=IIIIQI", ifindex, BPF_TCX_INGRESS, 0, 0,
                    ctypes.addressof(ids), MAX), 128)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    rc = libc.syscall(ctypes.c_long(SYS_BPF), ctypes.c_long(BPF_PROG_QUERY),
                      attr, ctypes.c_uint(128))
    if rc < 0:
        err = ctypes.get_errno()
        if err == errno.EINVAL:
            return 0
        print(f"tcx_progs.py: BPF_PROG_QUERY on {sys.argv[1]}: "
              f"{os.strerror(err)}", file=sys.stderr)
        return 1
    cnt = struct.unpack_from("=I", attr, 24)[0]
    for i in range(min(cnt, MAX)):
        print(ids[i])
    return 0


if __name__ == "__main__":
    sys.exit(main())

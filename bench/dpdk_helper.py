#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Small helpers for bench/run.sh that bash cannot do by itself.

  dpdk_helper.py stats FILE_PREFIX PORT
      Ask a running DPDK process (dpdk-testpmd started with --file-prefix
      FILE_PREFIX) for the counters of ethdev PORT over its telemetry socket
      (/var/run/dpdk/FILE_PREFIX/dpdk_telemetry.v2, SOCK_SEQPACKET; on by
      default in DPDK >= 20.05) and print one line:
          ipackets ibytes opackets obytes oerrors
      Exit 1 if the socket is not there or the answer is not understood.

  dpdk_helper.py pcap FILE FRAME_LEN
      Write a pcap file holding one IPv4/TCP frame of FRAME_LEN bytes
      (Ethernet header included, no FCS): 02:00:00:00:66:01 -> :02,
      10.66.0.1:40000 -> 10.66.0.2:5001, PSH|ACK, zero payload, IP checksum
      set, TCP checksum left to the checksum offload.  The frontend replays
      it (net_pcap infinite_rx) as the guest's TSO frame.

python3 is a dependency of Debian's dpdk package, so it is present wherever
dpdk-testpmd is.
"""
import json
import os
import socket
import struct
import sys


def stats(prefix, port):
    path = os.path.join("/var/run/dpdk", prefix, "dpdk_telemetry.v2")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    try:
        s.connect(path)
        hello = json.loads(s.recv(65536).decode())
        bufsize = int(hello.get("max_output_len", 65536))
        s.send(("/ethdev/stats,%d" % port).encode())
        reply = json.loads(s.recv(bufsize).decode())
    finally:
        s.close()
    st = reply["/ethdev/stats"]
    if not isinstance(st, dict):
        raise ValueError("no stats for port %d: %r" % (port, st))
    print(st["ipackets"], st["ibytes"], st["opackets"], st["obytes"], st["oerrors"])


def csum16(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def pcap(path, flen):
    if not 54 <= flen <= 65535 - 128:
        raise ValueError("FRAME_LEN must be 54..65407")
    eth = bytes.fromhex("020000006602" "020000006601" "0800")
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, flen - 14, 1, 0x4000, 64, 6, 0,
                               bytes([10, 66, 0, 1]), bytes([10, 66, 0, 2])))
    ip[10:12] = struct.pack("!H", csum16(bytes(ip)))
    tcp = struct.pack("!HHIIBBHHH", 40000, 5001, 1, 1, 5 << 4, 0x18, 65535, 0, 0)
    pkt = eth + bytes(ip) + tcp + bytes(flen - 54)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        f.write(struct.pack("<IIII", 0, 0, len(pkt), len(pkt)))
        f.write(pkt)


def main(argv):
    try:
        if len(argv) == 4 and argv[1] == "stats":
            stats(argv[2], int(argv[3]))
        elif len(argv) == 4 and argv[1] == "pcap":
            pcap(argv[2], int(argv[3]))
        else:
            sys.stderr.write(__doc__)
            return 2
    except (OSError, ValueError, KeyError) as e:
        sys.stderr.write("dpdk_helper: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

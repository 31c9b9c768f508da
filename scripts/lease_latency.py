#!/usr/bin/env python3
"""Lease-break wakeup latency, end to end on loopback (issue "Cross-protocol").

Usage: lease_latency.py SMB_PORT NFS_PORT [RUNS] [EXPORT] [--load 'SHELL COMMAND']

Each run: an SMB client opens bench-latency.bin with an RWH lease (v2,
SMB 3.1.1, guest); an NFS client sends WRITE to the same file, which the
server parks and answers with a lease break to the SMB client; the SMB client
acknowledges to NONE. Latency = from just before the ack is handed to the
socket to the NFS WRITE reply being read, both taken in this process with
one monotonic clock, so it is the server's ack-to-reply time plus two
loopback hops and this client's own wakeups. Prints one line per run and a
final "LATENCY runs=N median_us=.. p99_us=.. min_us=.. max_us=.." line.

With --load, RUNS more runs follow while the command runs in a loop in the
background (for instance `smbclient ... -c 'get big.bin /dev/null'`: another
client streaming reads from the same server), ending with a
"LATENCY-LOAD runs=N median_us=.. p99_us=.. min_us=.. max_us=.. load_loops=.."
line.
"""
import argparse
import os
import socket
import struct
import sys
import time
import uuid
from collections import OrderedDict

from smbprotocol.connection import Connection, Dialects, Request
from smbprotocol.create_contexts import CreateContextName, SMB2CreateContextRequest, SMB2CreateRequestLeaseV2
from smbprotocol.header import Commands, SMB2HeaderRequest
from smbprotocol.open import (
    CreateDisposition, CreateOptions, FileAttributes, FilePipePrinterAccessMask, ImpersonationLevel, Open,
    RequestedOplockLevel, ShareAccess,
)
from smbprotocol.session import Session
from smbprotocol.structure import BytesField, IntField, Structure
from smbprotocol.tree import TreeConnect

BREAK_ID = 0xFFFFFFFFFFFFFFFF
NAME = "bench-latency.bin"


class LeaseBreakAck(Structure):
    """MS-SMB2 2.2.24.2, 36 bytes."""

    COMMAND = Commands.SMB2_OPLOCK_BREAK

    def __init__(self):
        self.fields = OrderedDict([
            ("structure_size", IntField(size=2, default=36)),
            ("reserved", IntField(size=2)),
            ("flags", IntField(size=4)),
            ("lease_key", BytesField(size=16)),
            ("lease_state", IntField(size=4)),
            ("lease_duration", IntField(size=8)),
        ])
        super().__init__()


# --- a minimal NFSv3 client (RFC 5531 record marking, RFC 1813) ---------------

def xdr_u32(v):
    return struct.pack(">I", v)


def xdr_u64(v):
    return struct.pack(">Q", v)


def xdr_opaque(b):
    return xdr_u32(len(b)) + b + b"\0" * (-len(b) % 4)


class Nfs:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.xid = 0

    def send_call(self, prog, vers, proc, args):
        self.xid += 1
        cred = xdr_u32(0) + xdr_opaque(b"bench") + xdr_u32(0) + xdr_u32(0) + xdr_u32(0)
        msg = (xdr_u32(self.xid) + xdr_u32(0) + xdr_u32(2) + xdr_u32(prog) + xdr_u32(vers) + xdr_u32(proc)
               + xdr_u32(1) + xdr_opaque(cred) + xdr_u32(0) + xdr_u32(0) + args)
        self.s.sendall(xdr_u32(0x80000000 | len(msg)) + msg)

    def _exact(self, n):
        b = b""
        while len(b) < n:
            chunk = self.s.recv(n - len(b))
            if not chunk:
                raise EOFError("NFS connection closed")
            b += chunk
        return b

    def recv_reply(self):
        rec = b""
        while True:
            (mark,) = struct.unpack(">I", self._exact(4))
            rec += self._exact(mark & 0x7FFFFFFF)
            if mark & 0x80000000:
                break
        # xid, REPLY, MSG_ACCEPTED, verf (flavor, len, body), accept_stat
        _xid, _mtype, stat, _flavor, vlen = struct.unpack(">IIIII", rec[:20])
        off = 20 + vlen + (-vlen % 4)
        (accept,) = struct.unpack(">I", rec[off:off + 4])
        if stat != 0 or accept != 0:
            raise RuntimeError("RPC rejected: %d/%d" % (stat, accept))
        return rec[off + 4:]

    def call(self, prog, vers, proc, args):
        self.send_call(prog, vers, proc, args)
        return self.recv_reply()


def opaque_at(body, off):
    (n,) = struct.unpack(">I", body[off:off + 4])
    return body[off + 4:off + 4 + n]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("smb_port", type=int)
    ap.add_argument("nfs_port", type=int)
    ap.add_argument("runs", type=int, nargs="?", default=200)
    ap.add_argument("export", nargs="?", default="/share")
    ap.add_argument("--load", help="shell command run in a loop during a second set of runs")
    a = ap.parse_args()
    smb_port, nfs_port, runs, export = a.smb_port, a.nfs_port, a.runs, a.export

    conn = Connection(uuid.uuid4(), "127.0.0.1", smb_port, require_signing=False)
    conn.connect(dialect=Dialects.SMB_3_1_1)

    def arm():
        hdr = SMB2HeaderRequest()
        hdr["message_id"] = BREAK_ID
        req = Request(hdr, LeaseBreakAck, conn)
        conn.outstanding_requests[BREAK_ID] = req
        return req

    pending = arm()
    session = Session(conn, "guest", "", require_encryption=False)
    session.connect()
    tree = TreeConnect(session, r"\\127.0.0.1\share")
    tree.connect(require_secure_negotiate=False)

    def open_leased():
        key = uuid.uuid4().bytes
        lease = SMB2CreateRequestLeaseV2()
        lease["parent_lease_key"] = b"\x00" * 16
        lease["epoch"] = b"\x00\x00"
        lease["lease_key"] = key
        lease["lease_state"] = 7  # RWH
        ctx = SMB2CreateContextRequest()
        ctx["buffer_name"] = CreateContextName.SMB2_CREATE_REQUEST_LEASE
        ctx["buffer_data"] = lease
        f = Open(tree, NAME)
        resp = f.create(
            ImpersonationLevel.Impersonation,
            FilePipePrinterAccessMask.GENERIC_READ | FilePipePrinterAccessMask.GENERIC_WRITE,
            FileAttributes.FILE_ATTRIBUTE_NORMAL,
            ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE,
            CreateDisposition.FILE_OPEN_IF,
            CreateOptions.FILE_NON_DIRECTORY_FILE,
            oplock_level=RequestedOplockLevel.SMB2_OPLOCK_LEVEL_LEASE,
            create_contexts=[ctx],
        )
        # smbprotocol hands back each response context's data, parsed.
        state = 0
        for c in resp or []:
            if isinstance(getattr(c, "fields", None), dict) and "lease_state" in c.fields:
                state = int(c["lease_state"].get_value())
        return f, key, state

    nfs = Nfs(nfs_port)
    f, key, state = open_leased()
    f.close()
    body = nfs.call(100005, 3, 1, xdr_opaque(export.encode()))  # MOUNT3 MNT
    if struct.unpack(">I", body[:4])[0] != 0:
        raise SystemExit("MOUNT failed")
    root = opaque_at(body, 4)
    body = nfs.call(100003, 3, 3, xdr_opaque(root) + xdr_opaque(NAME.encode()))  # LOOKUP
    if struct.unpack(">I", body[:4])[0] != 0:
        raise SystemExit("LOOKUP failed")
    fh = opaque_at(body, 4)
    data = b"x" * 4096
    write_args = xdr_opaque(fh) + xdr_u64(0) + xdr_u32(len(data)) + xdr_u32(0) + xdr_opaque(data)

    def measure(tag):
        nonlocal pending
        samples = []
        for run in range(runs):
            f, key, state = open_leased()
            if state & 4 == 0:
                raise SystemExit("run %d: lease granted %d, not RWH" % (run, state))
            nfs.send_call(100003, 3, 7, write_args)  # WRITE: parked behind the break
            if not pending.response_event.wait(10):
                raise SystemExit("run %d: no lease break within 10 s" % run)
            pending = arm()
            ack = LeaseBreakAck()
            ack["lease_key"] = key
            ack["lease_state"] = 0
            t0 = time.perf_counter_ns()
            req = conn.send(ack, sid=session.session_id, tid=tree.tree_connect_id)
            reply = nfs.recv_reply()
            t1 = time.perf_counter_ns()
            if struct.unpack(">I", reply[:4])[0] != 0:
                raise SystemExit("run %d: WRITE status %d" % (run, struct.unpack(">I", reply[:4])[0]))
            conn.receive(req)
            f.close()
            samples.append((t1 - t0) / 1000.0)
            print("%srun %d: %.1f us" % (tag, run, samples[-1]), flush=True)
        s = sorted(samples)
        p99 = s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))]
        med = s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2
        return "runs=%d median_us=%.1f p99_us=%.1f min_us=%.1f max_us=%.1f" % (len(s), med, p99, s[0], s[-1])

    print("LATENCY " + measure(""), flush=True)
    if a.load:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import benchlib

        load = benchlib.LoadLoop(a.load)
        load.start()
        try:
            line = measure("load ")
        finally:
            load.stop()
        print("LATENCY-LOAD %s load_loops=%d load_failures=%d" % (line, load.loops, load.failures), flush=True)
    try:
        conn.disconnect()
    except Exception:
        pass


if __name__ == "__main__":
    main()

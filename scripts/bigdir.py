#!/usr/bin/env python3
"""Fill one directory with many empty files, over SMB, over NFS, or straight
on the local file system, as fast as a Python client can: several connections
in parallel (one process each), each keeping a window of requests in flight.

Usage:
  bigdir.py smb   --port P --dir NAME --count N [--conns 4] [--window 32]
                  [--user U --password PW] [--share share]
  bigdir.py nfs   --port NFS_PORT [--mount-port P] --export /share --dir NAME
                  --count N [--conns 4] [--window 64]
  bigdir.py local --path /dev/shm/.../share/NAME --count N

Files are named f0000000, f0000001, ... (8 characters), zero bytes. The
directory is created first (it may exist). SMB: each file is one compound
CREATE(FILE_CREATE) + CLOSE, related; NFS: one CREATE3 (GUARDED, no
attributes set) per file, AUTH_UNIX uid 0. Prints
  CREATED proto=smb n=N secs=S files_per_sec=R
or exits non-zero naming the first failure.
"""
import argparse
import ctypes
import multiprocessing
import os
import signal
import struct
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
import benchlib  # noqa: E402


def name_of(i):
    return "f%07d" % i


# --- SMB ------------------------------------------------------------------------

def smb_connect(a):
    from smbprotocol.connection import Connection
    from smbprotocol.session import Session
    from smbprotocol.tree import TreeConnect

    signed = a.user is not None
    conn = Connection(uuid.uuid4(), "127.0.0.1", a.port, require_signing=signed)
    conn.connect()
    session = Session(conn, a.user or "guest", a.password if signed else "", require_encryption=False)
    session.connect()
    tree = TreeConnect(session, r"\\127.0.0.1\%s" % a.share)
    tree.connect(require_secure_negotiate=signed)
    return conn, session, tree


def smb_mkdir(a):
    from smbprotocol.open import (
        CreateDisposition, CreateOptions, DirectoryAccessMask, FileAttributes, ImpersonationLevel, Open,
        ShareAccess,
    )

    conn, session, tree = smb_connect(a)
    d = Open(tree, a.dir)
    d.create(ImpersonationLevel.Impersonation, DirectoryAccessMask.GENERIC_READ | DirectoryAccessMask.GENERIC_WRITE,
             FileAttributes.FILE_ATTRIBUTE_DIRECTORY, ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE,
             CreateDisposition.FILE_OPEN_IF, CreateOptions.FILE_DIRECTORY_FILE)
    d.close()
    conn.disconnect()


def smb_worker(job):
    a, indices = job
    from smbprotocol.open import (
        CreateDisposition, CreateOptions, FileAttributes, FilePipePrinterAccessMask, ImpersonationLevel,
        ShareAccess, SMB2CloseRequest, SMB2CreateRequest,
    )

    conn, session, tree = smb_connect(a)
    sid, tid = session.session_id, tree.tree_connect_id
    try:
        conn.echo(sid=sid, credit_request=4 * a.window)  # ask for room to pipeline
    except Exception:
        pass

    def compound(i):
        c = SMB2CreateRequest()
        c["impersonation_level"] = ImpersonationLevel.Impersonation
        c["desired_access"] = FilePipePrinterAccessMask.FILE_READ_ATTRIBUTES | FilePipePrinterAccessMask.FILE_WRITE_DATA
        c["file_attributes"] = FileAttributes.FILE_ATTRIBUTE_NORMAL
        c["share_access"] = ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE
        c["create_disposition"] = CreateDisposition.FILE_CREATE
        c["create_options"] = CreateOptions.FILE_NON_DIRECTORY_FILE
        c["buffer_path"] = ("%s\\%s" % (a.dir, name_of(i))).encode("utf-16-le")
        cl = SMB2CloseRequest()
        cl["file_id"] = b"\xff" * 16  # the handle the related CREATE opened
        return [c, cl]

    def credits():
        w = conn.sequence_window
        return w["high"] - w["low"]

    inflight = []
    pos = 0
    while pos < len(indices) or inflight:
        while pos < len(indices) and len(inflight) < a.window and credits() >= 2:
            inflight.append((indices[pos], conn.send_compound(compound(indices[pos]), sid, tid, related=True)))
            pos += 1
        i, reqs = inflight.pop(0)
        for r in reqs:
            try:
                conn.receive(r)
            except Exception as e:
                return "file %s: %s" % (name_of(i), e)
    conn.disconnect()
    return None


# --- NFS ------------------------------------------------------------------------

def nfs_lookup_or_mkdir(a, rpc, root):
    args = benchlib.opaque(root) + benchlib.opaque(a.dir.encode())
    body = rpc.call(benchlib.NFS_PROG, 3, 3, args)  # LOOKUP
    if struct.unpack(">I", body[:4])[0] == 0:
        return benchlib.opaque_at(body, 4)[0]
    # MKDIR: dirop, sattr3 with mode 0777 set.
    sattr = benchlib.u32(1) + benchlib.u32(0o777) + benchlib.u32(0) * 5
    body = rpc.call(benchlib.NFS_PROG, 3, 9, args + sattr)
    st = struct.unpack(">I", body[:4])[0]
    if st != 0 and st != 17:  # 17: EXIST, a parallel creator won
        raise SystemExit("MKDIR %s: status %d" % (a.dir, st))
    body = rpc.call(benchlib.NFS_PROG, 3, 3, args)
    if struct.unpack(">I", body[:4])[0] != 0:
        raise SystemExit("LOOKUP %s after MKDIR failed" % a.dir)
    return benchlib.opaque_at(body, 4)[0]


def nfs_worker(job):
    a, dirfh, indices = job
    rpc = benchlib.Rpc(a.port)
    # createhow3 GUARDED (1) + sattr3 with nothing set (mode, uid, gid, size:
    # set_it FALSE; atime, mtime: DONT_CHANGE).
    how = benchlib.u32(1) + benchlib.u32(0) * 6
    pre = benchlib.opaque(dirfh)
    inflight = {}
    pos = 0
    try:
        while pos < len(indices) or inflight:
            while pos < len(indices) and len(inflight) < a.window:
                i = indices[pos]
                xid = rpc.send(benchlib.NFS_PROG, 3, 8, pre + benchlib.opaque(name_of(i).encode()) + how)
                inflight[xid] = i
                pos += 1
            xid, body = rpc.recv()
            i = inflight.pop(xid)
            st = struct.unpack(">I", body[:4])[0]
            if st != 0:
                return "CREATE %s: NFS status %d" % (name_of(i), st)
    except Exception as e:
        return "NFS worker: %r" % e
    finally:
        rpc.close()
    return None


def _worker_init():
    """Workers die with the parent (a timeout kills only the parent)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if os.getppid() == 1:
        os._exit(1)


def _on_term(signum, frame):
    raise SystemExit("bigdir: terminated by signal %d" % signum)


def main():
    signal.signal(signal.SIGTERM, _on_term)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("proto", choices=["smb", "nfs", "local"])
    ap.add_argument("--port", type=int)
    ap.add_argument("--mount-port", type=int)
    ap.add_argument("--export", default="/share")
    ap.add_argument("--share", default="share")
    ap.add_argument("--dir")
    ap.add_argument("--path")
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--conns", type=int, default=4)
    ap.add_argument("--window", type=int, default=0, help="requests in flight per connection")
    ap.add_argument("--user")
    ap.add_argument("--password", default="")
    a = ap.parse_args()
    shards = [list(range(k, a.count, a.conns)) for k in range(a.conns)]

    t0 = time.perf_counter()
    if a.proto == "local":
        os.makedirs(a.path, exist_ok=True)
        for i in range(a.count):
            # not O_EXCL: after a timed-out protocol run, the server may
            # still be finishing creates that were in flight
            os.close(os.open(os.path.join(a.path, name_of(i)), os.O_CREAT | os.O_WRONLY, 0o644))
        errors = []
    elif a.proto == "smb":
        a.window = a.window or 32
        smb_mkdir(a)
        t0 = time.perf_counter()
        with multiprocessing.Pool(a.conns, initializer=_worker_init) as pool:
            errors = [e for e in pool.map(smb_worker, [(a, s) for s in shards]) if e]
    else:
        a.window = a.window or 64
        root = benchlib.mount(a.mount_port or a.port, a.export)
        rpc = benchlib.Rpc(a.port)
        dirfh = nfs_lookup_or_mkdir(a, rpc, root)
        rpc.close()
        t0 = time.perf_counter()
        with multiprocessing.Pool(a.conns, initializer=_worker_init) as pool:
            errors = [e for e in pool.map(nfs_worker, [(a, dirfh, s) for s in shards]) if e]
    secs = time.perf_counter() - t0
    if errors:
        raise SystemExit("bigdir %s: %s" % (a.proto, "; ".join(errors[:3])))
    print("CREATED proto=%s n=%d secs=%.3f files_per_sec=%.0f" % (a.proto, a.count, secs, a.count / secs), flush=True)


if __name__ == "__main__":
    main()

"""Blocking byte-range locks with two smbprotocol clients (guest).

Usage: blocking_lock.py PORT
A locks bytes 0..10 exclusively; B's blocking lock of the same range (no
SMB2_LOCKFLAG_FAIL_IMMEDIATELY) goes async and is still pending after
0.5 s; A unlocks and B's lock completes with STATUS_SUCCESS. Then, with A
holding the range again, B's next blocking lock is cancelled (SMB2 CANCEL
by AsyncId) and completes with STATUS_CANCELLED. Prints "BLOCKING LOCK OK".
"""
import sys
import threading
import time
import uuid

from smbprotocol.connection import Connection
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.header import NtStatus
from smbprotocol.open import (
    CreateDisposition, CreateOptions, FileAttributes, FilePipePrinterAccessMask, ImpersonationLevel, LockFlags, Open,
    ShareAccess, SMB2LockElement,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

port = int(sys.argv[1])


def client():
    conn = Connection(uuid.uuid4(), "127.0.0.1", port, require_signing=False)
    conn.connect()
    session = Session(conn, "guest", "", require_encryption=False)
    session.connect()
    tree = TreeConnect(session, r"\\127.0.0.1\share")
    tree.connect(require_secure_negotiate=False)
    f = Open(tree, "locked.txt")
    f.create(
        ImpersonationLevel.Impersonation,
        FilePipePrinterAccessMask.GENERIC_READ | FilePipePrinterAccessMask.GENERIC_WRITE,
        FileAttributes.FILE_ATTRIBUTE_NORMAL,
        ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE,
        CreateDisposition.FILE_OPEN_IF,
        CreateOptions.FILE_NON_DIRECTORY_FILE,
    )
    return conn, session, tree, f


def element(flags):
    e = SMB2LockElement()
    e["offset"] = 0
    e["length"] = 10
    e["flags"] = flags
    return e


def send_lock(f, flags):
    """Sends a LOCK of bytes 0..10 and returns the Request, not waiting."""
    msg, _ = f.lock([element(flags)], send=False)
    return f.connection.send(msg, f.tree_connect.session.session_id, f.tree_connect.tree_connect_id)


def wait_async_id(req, limit=10.0):
    """The interim response carries the AsyncId (MS-SMB2 3.3.4.2)."""
    end = time.time() + limit
    while req.async_id is None:
        assert time.time() < end, "no interim response"
        time.sleep(0.01)
    return req.async_id


a_conn, _, _, a = client()
b_conn, _, _, b = client()

a.lock([element(LockFlags.SMB2_LOCKFLAG_EXCLUSIVE_LOCK | LockFlags.SMB2_LOCKFLAG_FAIL_IMMEDIATELY)])

# B blocks behind A.
result = {}


def blocked():
    req = send_lock(b, LockFlags.SMB2_LOCKFLAG_EXCLUSIVE_LOCK)
    result["req"] = req
    try:
        resp = b_conn.receive(req)
        result["status"] = resp["status"].get_value()
    except SMBResponseException as e:
        result["status"] = e.status


t = threading.Thread(target=blocked)
t.start()
time.sleep(0.5)
assert t.is_alive() and "status" not in result, f"B's lock completed while A holds the range: {result}"
assert result["req"].async_id is not None, "B's lock got no interim STATUS_PENDING response"
a.lock([element(LockFlags.SMB2_LOCKFLAG_UNLOCK)])
t.join(10)
assert not t.is_alive(), "B's lock did not complete after A unlocked"
assert result["status"] == NtStatus.STATUS_SUCCESS, f"B's lock: {result['status']:#x}"
print("GRANTED AFTER UNLOCK", flush=True)

# B holds the range now: A cannot have it at once.
try:
    a.lock([element(LockFlags.SMB2_LOCKFLAG_EXCLUSIVE_LOCK | LockFlags.SMB2_LOCKFLAG_FAIL_IMMEDIATELY)])
    raise AssertionError("A locked a range B holds")
except SMBResponseException as e:
    assert e.status == 0xC0000055, f"{e.status:#x}"
b.lock([element(LockFlags.SMB2_LOCKFLAG_UNLOCK)])

# A holds again; B's blocking lock is cancelled.
a.lock([element(LockFlags.SMB2_LOCKFLAG_EXCLUSIVE_LOCK | LockFlags.SMB2_LOCKFLAG_FAIL_IMMEDIATELY)])
req = send_lock(b, LockFlags.SMB2_LOCKFLAG_EXCLUSIVE_LOCK)
wait_async_id(req)
time.sleep(0.2)
assert not req.response_event.is_set() or req.response["status"].get_value() == NtStatus.STATUS_PENDING
req.cancel()
try:
    resp = b_conn.receive(req, timeout=10)
    status = resp["status"].get_value()
except SMBResponseException as e:
    status = e.status
assert status == NtStatus.STATUS_CANCELLED, f"cancelled lock: {status:#x}"
print("CANCELLED", flush=True)

# The cancelled lock was not granted: A's unlock leaves the range free.
a.lock([element(LockFlags.SMB2_LOCKFLAG_UNLOCK)])
b.lock([element(LockFlags.SMB2_LOCKFLAG_EXCLUSIVE_LOCK | LockFlags.SMB2_LOCKFLAG_FAIL_IMMEDIATELY)])
b.lock([element(LockFlags.SMB2_LOCKFLAG_UNLOCK)])
a.close()
b.close()
a_conn.disconnect()
b_conn.disconnect()
print("BLOCKING LOCK OK", flush=True)

"""An SMB client that holds a lease and acknowledges its breaks on command.

Usage: lease_holder.py PORT PATH STATE VERSION DIALECT USER PASSWORD [dir] [share=NAME] [sharemode=RWD]
  STATE: some of R, H, W (e.g. RWH); VERSION: v1 or v2; DIALECT: 2.1 or 3.1.1;
  USER "-" means guest; "dir" opens PATH as a directory (a directory lease);
  NAME is the share (default "share"); sharemode: the ShareAccess of the
  open, some of R, W, D (default RWD; "-" shares nothing).
Prints "GRANTED <state> <epoch> <flags>" once the file is open, then
"BREAK <current> <new> <flags> <epoch>" for each lease break notification.
Commands on stdin, one per line:
  ack <state>   acknowledge the last break with this state; prints "ACKED <status>"
  write <text>  write text at offset 0; prints "WROTE <n>"
  append <text> write text after what this client wrote; prints "WROTE <n>"
  read          prints "DATA <text>"
  (write, append and read print "ERROR <NTSTATUS>" when the server refuses)
  close         close the file; prints "CLOSED"
  wait <secs>   wait for the next break; prints "BREAK ..." or "NOBREAK"
  exit
"""
import sys
import threading
import uuid
from collections import OrderedDict

from smbprotocol.connection import Capabilities, Connection, Dialects, Request
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.create_contexts import (
    CreateContextName, SMB2CreateContextRequest, SMB2CreateRequestLease, SMB2CreateRequestLeaseV2,
    SMB2CreateResponseLease, SMB2CreateResponseLeaseV2,
)
from smbprotocol.header import Commands, SMB2HeaderRequest
from smbprotocol.open import (
    CreateDisposition, CreateOptions, FileAttributes, FilePipePrinterAccessMask, ImpersonationLevel, Open,
    RequestedOplockLevel, ShareAccess,
)
from smbprotocol.session import Session
from smbprotocol.structure import BytesField, IntField, Structure
from smbprotocol.tree import TreeConnect

BREAK_ID = 0xFFFFFFFFFFFFFFFF


class LeaseBreakAck(Structure):
    """MS-SMB2 2.2.24.2: 36 bytes."""

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


def state_bits(s):
    return (1 if "R" in s else 0) | (2 if "H" in s else 0) | (4 if "W" in s else 0)


def say(*parts):
    print(*parts, flush=True)


port, path, state, version, dialect, user, password = sys.argv[1:8]
is_dir = "dir" in sys.argv[8:]
share = next((a[6:] for a in sys.argv[8:] if a.startswith("share=")), "share")
sharemode = next((a[10:] for a in sys.argv[8:] if a.startswith("sharemode=")), "RWD")
dialect_id = {"2.1": Dialects.SMB_2_1_0, "3.1.1": Dialects.SMB_3_1_1, "3.0.2": Dialects.SMB_3_0_2}[dialect]
guest = user == "-"
conn = Connection(uuid.uuid4(), "127.0.0.1", int(port), require_signing=not guest)
if is_dir:
    # A directory lease is offered only to a client that asks for it
    # (MS-SMB2 3.3.5.4); smbprotocol does not by default.
    conn.client_capabilities |= Capabilities.SMB2_GLOBAL_CAP_DIRECTORY_LEASING
conn.connect(dialect=dialect_id)


def arm():
    """Registers a placeholder request so the receive thread accepts a break."""
    hdr = SMB2HeaderRequest()
    hdr["message_id"] = BREAK_ID
    req = Request(hdr, LeaseBreakAck, conn)
    conn.outstanding_requests[BREAK_ID] = req
    return req


pending = arm()
session = Session(conn, "guest" if guest else user, "" if guest else password, require_encryption=False)
session.connect()
tree = TreeConnect(session, "\\\\127.0.0.1\\" + share)
tree.connect(require_secure_negotiate=not guest)

lease_key = uuid.uuid4().bytes
if version == "v2":
    lease = SMB2CreateRequestLeaseV2()
    lease["parent_lease_key"] = b"\x00" * 16
    lease["epoch"] = b"\x00\x00"
else:
    lease = SMB2CreateRequestLease()
lease["lease_key"] = lease_key
lease["lease_state"] = state_bits(state)
ctx = SMB2CreateContextRequest()
ctx["buffer_name"] = CreateContextName.SMB2_CREATE_REQUEST_LEASE
ctx["buffer_data"] = lease

f = Open(tree, path)
resp = f.create(
    ImpersonationLevel.Impersonation,
    FilePipePrinterAccessMask.GENERIC_READ | (0 if is_dir else FilePipePrinterAccessMask.GENERIC_WRITE),
    FileAttributes.FILE_ATTRIBUTE_DIRECTORY if is_dir else FileAttributes.FILE_ATTRIBUTE_NORMAL,
    (ShareAccess.FILE_SHARE_READ if "R" in sharemode else 0)
    | (ShareAccess.FILE_SHARE_WRITE if "W" in sharemode else 0)
    | (ShareAccess.FILE_SHARE_DELETE if "D" in sharemode else 0),
    CreateDisposition.FILE_OPEN_IF,
    CreateOptions.FILE_DIRECTORY_FILE if is_dir else CreateOptions.FILE_NON_DIRECTORY_FILE,
    oplock_level=RequestedOplockLevel.SMB2_OPLOCK_LEVEL_LEASE,
    create_contexts=[ctx],
)
granted = None
for c in resp or []:
    # Open.create returns the response contexts already parsed by name.
    if isinstance(c, (SMB2CreateResponseLease, SMB2CreateResponseLeaseV2)):
        raw = c.pack()
        st = int.from_bytes(raw[16:20], "little")
        fl = int.from_bytes(raw[20:24], "little")
        ep = int.from_bytes(raw[48:50], "little") if len(raw) >= 52 else 0
        granted = (st, ep, fl)
if granted is None:
    say("GRANTED none 0 0")
else:
    say("GRANTED", granted[0], granted[1], granted[2])


def wait_break(timeout):
    global pending
    if not pending.response_event.wait(timeout):
        return None
    body = pending.response["data"].get_value()
    pending = arm()
    new_epoch = int.from_bytes(body[2:4], "little")
    flags = int.from_bytes(body[4:8], "little")
    cur = int.from_bytes(body[24:28], "little")
    new = int.from_bytes(body[28:32], "little")
    return cur, new, flags, new_epoch


end = 0
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "wait":
        b = wait_break(float(arg or "30"))
        say("NOBREAK" if b is None else "BREAK %d %d %d %d" % b)
    elif cmd == "ack":
        ack = LeaseBreakAck()
        ack["lease_key"] = lease_key
        ack["lease_state"] = state_bits(arg)
        req = conn.send(ack, sid=session.session_id, tid=tree.tree_connect_id)
        try:
            r = conn.receive(req)
            say("ACKED", r["status"].get_value())
        except Exception as e:  # the status is what the test checks
            status = getattr(e, "status", None)
            say("ACKED", status if status is not None else repr(e))
    elif cmd in ("write", "append", "read"):
        try:
            if cmd == "read":
                say("DATA", f.read(0, 1 << 20).decode(errors="replace"))
            else:
                at = end if cmd == "append" else 0
                n = f.write(arg.encode(), at)
                end = max(end, at + n)
                say("WROTE", n)
        except SMBResponseException as e:
            say("ERROR", e.status)
    elif cmd == "close":
        f.close()
        say("CLOSED")
    elif cmd == "exit":
        break
try:
    conn.disconnect()
except Exception:
    pass

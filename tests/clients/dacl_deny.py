"""A DACL with a deny ACE, with smbprotocol. Prints one line per step:
`NAME 0xSTATUS` for what the server answered, `SD HEX` for the descriptor
a query returns (owner, group, DACL).
Usage: dacl_deny.py PORT USER PASSWORD FILE UID set|check
`set` sets a DACL denying UID FILE_WRITE_DATA and FILE_APPEND_DATA and
allowing Everyone all, then tries; `check` only tries."""
import struct
import sys
import uuid

from smbprotocol.connection import Connection
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.file_info import InfoType
from smbprotocol.open import (
    CreateDisposition, CreateOptions, FileAttributes, ImpersonationLevel, Open, ShareAccess,
    SMB2QueryInfoRequest, SMB2QueryInfoResponse, SMB2SetInfoRequest, SMB2SetInfoResponse,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

port, user, password, name, uid, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]
READ_CONTROL, WRITE_DAC, FILE_READ_DATA, FILE_WRITE_DATA = 0x00020000, 0x00040000, 0x1, 0x2
OWNER, GROUP, DACL = 1, 2, 4


def sid(authority, *subs):
    return struct.pack("<BB", 1, len(subs)) + authority.to_bytes(6, "big") + b"".join(struct.pack("<I", s) for s in subs)


def acl(aces):
    body = b"".join(struct.pack("<BBHI", t, flags, 8 + len(s), mask) + s for t, flags, mask, s in aces)
    return struct.pack("<BBHHH", 2, 0, 8 + len(body), len(aces), 0) + body


conn = Connection(uuid.uuid4(), "127.0.0.1", port, require_signing=False)
conn.connect()
session = Session(conn, user, password, require_encryption=False)
session.connect()
tree = TreeConnect(session, r"\\127.0.0.1\share")
tree.connect()


def open_for(what, access):
    f = Open(tree, name)
    try:
        f.create(ImpersonationLevel.Impersonation, access, FileAttributes.FILE_ATTRIBUTE_NORMAL,
                 ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE, CreateDisposition.FILE_OPEN,
                 CreateOptions.FILE_NON_DIRECTORY_FILE)
    except SMBResponseException as e:
        print(f"{what} 0x{e.status:08x}", flush=True)
        return None
    print(f"{what} 0x00000000", flush=True)
    return f


def call(req, resp):
    return resp.unpack(conn.receive(conn.send(req, sid=session.session_id, tid=tree.tree_connect_id))["data"].get_value())


f = open_for("CONTROL_OPEN", READ_CONTROL | WRITE_DAC)
if mode == "set":
    dacl = acl([(1, 0, 0x2 | 0x4, sid(22, 1, uid)), (0, 0, 0x001F01FF, sid(1, 0))])
    sd = struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + dacl
    req = SMB2SetInfoRequest()
    req["info_type"] = InfoType.SMB2_0_INFO_SECURITY
    req["additional_information"] = DACL
    req["file_id"] = f.file_id
    req["buffer"] = sd
    try:
        call(req, SMB2SetInfoResponse())
        print("SET 0x00000000", flush=True)
    except SMBResponseException as e:
        print(f"SET 0x{e.status:08x}", flush=True)
req = SMB2QueryInfoRequest()
req["info_type"] = InfoType.SMB2_0_INFO_SECURITY
req["output_buffer_length"] = 4096
req["additional_information"] = OWNER | GROUP | DACL
req["file_id"] = f.file_id
resp = SMB2QueryInfoResponse()
call(req, resp)
print("SD " + resp["buffer"].get_value().hex(), flush=True)
f.close()
w = open_for("WRITE_OPEN", FILE_WRITE_DATA)
r = open_for("READ_OPEN", FILE_READ_DATA)
for h in (w, r):
    if h is not None:
        h.close()
tree.disconnect()
session.disconnect()
conn.disconnect()
print("DACL DONE")

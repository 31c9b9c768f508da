"""SET_INFO of security descriptors with smbprotocol: prints one line
`NAME 0xSTATUS` per descriptor tried on FILE.
Usage: set_security.py PORT USER PASSWORD FILE UID GID"""
import struct
import sys
import uuid

from smbprotocol.connection import Connection
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.file_info import InfoType
from smbprotocol.open import (
    CreateDisposition, CreateOptions, FileAttributes, ImpersonationLevel, Open, ShareAccess,
    SMB2SetInfoRequest, SMB2SetInfoResponse,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

port, user, password, name = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
uid, gid = int(sys.argv[5]), int(sys.argv[6])


def sid(authority, *subs):
    return struct.pack("<BB", 1, len(subs)) + authority.to_bytes(6, "big") + b"".join(struct.pack("<I", s) for s in subs)


def acl(aces):
    body = b"".join(struct.pack("<BBHI", t, flags, 8 + len(s), mask) + s for t, flags, mask, s in aces)
    return struct.pack("<BBHHH", 2, 0, 8 + len(body), len(aces), 0) + body


def sd(owner=None, group=None, dacl=None):
    """A self-relative SECURITY_DESCRIPTOR (MS-DTYP 2.4.6)."""
    control = 0x8000 | (0x0004 if dacl is not None else 0)
    parts, offsets, at = b"", [], 20
    for p in (owner, group, dacl):
        offsets.append(at if p is not None else 0)
        if p is not None:
            parts += p
            at += len(p)
    return struct.pack("<BBHIIII", 1, 0, control, offsets[0], offsets[1], 0, offsets[2]) + parts


FULL, READ = 0x001F01FF, 0x00120089
OWNER, GROUP, DACL = 1, 2, 4
me, my_group, everyone = sid(22, 1, uid), sid(22, 2, gid), sid(1, 0)

conn = Connection(uuid.uuid4(), "127.0.0.1", port, require_signing=False)
conn.connect()
session = Session(conn, user, password, require_encryption=False)
session.connect()
tree = TreeConnect(session, r"\\127.0.0.1\share")
tree.connect()
f = Open(tree, name)
f.create(
    ImpersonationLevel.Impersonation,
    0x00020000 | 0x00040000 | 0x00080000 | 0x80,  # READ_CONTROL, WRITE_DAC, WRITE_OWNER, READ_ATTRIBUTES
    FileAttributes.FILE_ATTRIBUTE_NORMAL,
    ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE,
    CreateDisposition.FILE_OPEN,
    CreateOptions.FILE_NON_DIRECTORY_FILE,
)


def set_sd(what, info, buf):
    req = SMB2SetInfoRequest()
    req["info_type"] = InfoType.SMB2_0_INFO_SECURITY
    req["additional_information"] = info
    req["file_id"] = f.file_id
    req["buffer"] = buf
    try:
        SMB2SetInfoResponse().unpack(conn.receive(conn.send(req, sid=session.session_id, tid=tree.tree_connect_id))["data"].get_value())
        status = 0
    except SMBResponseException as e:
        status = e.status
    print(f"{what} 0x{status:08x}", flush=True)


# Owner rwx, group r, others nothing: mode 0740.
set_sd("dacl_0740", DACL, sd(dacl=acl([(0, 0, FULL, me), (0, 0, READ, my_group)])))
# A deny ACE, another SID (BUILTIN\Administrators), an inheritable ACE: refused.
set_sd("deny_ace", DACL, sd(dacl=acl([(0, 0, FULL, me), (1, 0, FULL, everyone)])))
set_sd("other_sid", DACL, sd(dacl=acl([(0, 0, FULL, sid(5, 32, 544))])))
set_sd("inheritable", DACL, sd(dacl=acl([(0, 3, FULL, me)])))
set_sd("sacl", 8, sd())
# Giving the file away is chown: root's alone.
set_sd("chown_2000", OWNER, sd(owner=sid(22, 1, 2000)))
f.close()
tree.disconnect()
session.disconnect()
conn.disconnect()
print("SET_SECURITY DONE")

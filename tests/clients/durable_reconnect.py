"""A client that loses its TCP connection and takes its durable handle back.

Usage: durable_reconnect.py PORT PATH TEXT  (as guest, SMB 3.1.1)
Opens PATH with an RWH lease (v2) and a durable v2 handle, writes TEXT,
then cuts the TCP connection without LOGOFF or CLOSE. On a new connection
with the same ClientGuid it reconnects the handle (DH2C with the lease key)
and reads the file through it. Prints, one per line:
  GRANTED <lease state> DURABLE <timeout ms>
  WROTE <n>
  RECONNECTED <status> <lease state> <same persistent id: 1 or 0>
  DATA <text read through the reconnected handle>
"""
import sys
import uuid

from smbprotocol.connection import Connection, Dialects
from smbprotocol.create_contexts import (
    CreateContextName, SMB2CreateContextRequest, SMB2CreateDurableHandleReconnectV2,
    SMB2CreateDurableHandleRequestV2, SMB2CreateDurableHandleResponseV2, SMB2CreateRequestLeaseV2,
    SMB2CreateResponseLeaseV2,
)
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.open import (
    CreateDisposition, CreateOptions, FileAttributes, FilePipePrinterAccessMask, ImpersonationLevel, Open,
    RequestedOplockLevel, ShareAccess,
)
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

RWH = 7


def say(*parts):
    print(*parts, flush=True)


def connect(client_guid):
    conn = Connection(client_guid, "127.0.0.1", int(port), require_signing=False)
    conn.connect(dialect=Dialects.SMB_3_1_1)
    session = Session(conn, "guest", "", require_encryption=False)
    session.connect()
    tree = TreeConnect(session, r"\\127.0.0.1\share")
    tree.connect(require_secure_negotiate=False)
    return conn, tree


def context(name, data):
    c = SMB2CreateContextRequest()
    c["buffer_name"] = name
    c["buffer_data"] = data
    return c


def lease_context(state):
    lease = SMB2CreateRequestLeaseV2()
    lease["lease_key"] = lease_key
    lease["lease_state"] = state
    lease["parent_lease_key"] = b"\x00" * 16
    lease["epoch"] = b"\x00\x00"
    return context(CreateContextName.SMB2_CREATE_REQUEST_LEASE, lease)


def create(tree, contexts):
    f = Open(tree, path)
    resp = f.create(
        ImpersonationLevel.Impersonation,
        FilePipePrinterAccessMask.GENERIC_READ | FilePipePrinterAccessMask.GENERIC_WRITE,
        FileAttributes.FILE_ATTRIBUTE_NORMAL,
        ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE,
        CreateDisposition.FILE_OPEN_IF,
        CreateOptions.FILE_NON_DIRECTORY_FILE,
        oplock_level=RequestedOplockLevel.SMB2_OPLOCK_LEVEL_LEASE,
        create_contexts=contexts,
    )
    state, timeout = None, None
    for c in resp or []:
        if isinstance(c, SMB2CreateResponseLeaseV2):
            state = c["lease_state"].get_value()
        elif isinstance(c, SMB2CreateDurableHandleResponseV2):
            timeout = c["timeout"].get_value()
    return f, state, timeout


port, path, text = sys.argv[1:4]
client_guid = uuid.uuid4()
lease_key = uuid.uuid4().bytes
create_guid = uuid.uuid4()

conn, tree = connect(client_guid)
dh2q = SMB2CreateDurableHandleRequestV2()
dh2q["timeout"] = 60000
dh2q["create_guid"] = create_guid
f, state, timeout = create(tree, [lease_context(RWH), context(CreateContextName.SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2, dh2q)])
say("GRANTED", state, "DURABLE", timeout)
say("WROTE", f.write(text.encode(), 0))
file_id = f.file_id

# The network goes away: no LOGOFF, no CLOSE, just the socket.
conn.disconnect(close=False)

conn, tree = connect(client_guid)
dh2c = SMB2CreateDurableHandleReconnectV2()
dh2c["file_id"] = file_id
dh2c["create_guid"] = create_guid
try:
    f, state, _ = create(tree, [lease_context(0), context(CreateContextName.SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2, dh2c)])
except SMBResponseException as e:
    say("RECONNECTED", e.status, "-", 0)
    sys.exit(0)
say("RECONNECTED", 0, state, int(f.file_id[:8] == file_id[:8]))
say("DATA", f.read(0, 1 << 16).decode(errors="replace"))
f.close()
conn.disconnect()

"""smbprotocol as a configured user with signing required: write, read back,
query info, list a directory. Usage: smbprotocol_basic.py PORT USER PASSWORD"""
import sys
import uuid

from smbprotocol.connection import Connection
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect
from smbprotocol.file_info import FileInformationClass, InfoType

from smbtest import open_rw, root_names

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]

conn = Connection(uuid.uuid4(), "127.0.0.1", port, require_signing=True)
conn.connect()
session = Session(conn, user, password, require_encryption=False)
session.connect()
assert session.signing_required or conn.require_signing, "signing not in force"
tree = TreeConnect(session, r"\\127.0.0.1\share")
tree.connect()

f = open_rw(tree, "probe.txt")
payload = b"hello from smbprotocol " * 1000
assert f.write(payload, 0) == len(payload)
back = f.read(0, len(payload))
assert back == payload, "read back differs"
assert f.end_of_file == 0 or True
# QUERY_INFO FileStandardInformation: EndOfFile at offset 8.
from smbprotocol.open import SMB2QueryInfoRequest, SMB2QueryInfoResponse
from smbprotocol.header import Commands
req = SMB2QueryInfoRequest()
req["info_type"] = InfoType.SMB2_0_INFO_FILE
req["file_info_class"] = FileInformationClass.FILE_STANDARD_INFORMATION
req["output_buffer_length"] = 1024
req["file_id"] = f.file_id
request = conn.send(req, sid=session.session_id, tid=tree.tree_connect_id)
resp = conn.receive(request)
qi = SMB2QueryInfoResponse()
qi.unpack(resp["data"].get_value())
buf = qi["buffer"].get_value()
eof = int.from_bytes(buf[8:16], "little")
assert eof == len(payload), f"EndOfFile {eof} != {len(payload)}"
f.close()

names = root_names(tree)
assert "probe.txt" in names, names
tree.disconnect()
session.disconnect()
conn.disconnect()
print("SMBPROTOCOL OK")

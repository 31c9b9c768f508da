"""smbprotocol and SMB 3 encryption. Usage:
smbprotocol_encrypted.py PORT USER PASSWORD encrypted
    require_encryption=True: write, read back and list; prints ENCRYPTED OK.
smbprotocol_encrypted.py PORT USER PASSWORD clear
    a client that does not encrypt (SMB 2.1, which cannot): prints the
    NTSTATUS of the first refusal as REFUSED 0x........ (or CONNECTED)."""
import sys
import uuid

from smbprotocol.connection import Connection, Dialects
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from smbtest import open_rw, root_names

port, user, password, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

if mode == "clear":
    conn = Connection(uuid.uuid4(), "127.0.0.1", port, require_signing=False)
    conn.connect(dialect=Dialects.SMB_2_1_0)
    try:
        session = Session(conn, user, password, require_encryption=False)
        session.connect()
        tree = TreeConnect(session, r"\\127.0.0.1\share")
        tree.connect()
        print("CONNECTED")
    except SMBResponseException as e:
        print("REFUSED 0x%08x" % e.status)
    sys.exit(0)

conn = Connection(uuid.uuid4(), "127.0.0.1", port)
conn.connect()
session = Session(conn, user, password, require_encryption=True)
session.connect()
assert session.encrypt_data, "the session does not encrypt"
tree = TreeConnect(session, r"\\127.0.0.1\share")
tree.connect()

f = open_rw(tree, "sealed.bin")
payload = bytes(range(256)) * 4096  # 1 MiB
written = 0
while written < len(payload):
    written += f.write(payload[written:written + 65536], written)
back = b""
while len(back) < len(payload):
    back += f.read(len(back), 65536)
assert back == payload, "read back differs"
f.close()

names = root_names(tree)
assert "sealed.bin" in names, names
tree.disconnect()
session.disconnect()
conn.disconnect()
print("ENCRYPTED OK")

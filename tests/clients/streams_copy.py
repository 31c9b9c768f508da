"""smbprotocol's smbclient API on a share: an alternate data stream
(`:Zone.Identifier`, as a browser leaves on a download) written, read,
listed (FileStreamInformation) and found again after the file is renamed;
then a server-side copy (smbclient.copyfile: FSCTL_SRV_REQUEST_RESUME_KEY
and FSCTL_SRV_COPYCHUNK_WRITE) of a MIB MiB file, compared byte for byte.
Usage: streams_copy.py PORT USER PASSWORD MIB"""
import hashlib
import sys

import smbclient
import smbtest

port, user, password, mib = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
smbclient.register_session("127.0.0.1", username=user, password=password, port=port)
share = r"\\127.0.0.1\share"


def streams_of(path):
    return smbtest.streams_of(path, port)


zone = b"[ZoneTransfer]\r\nZoneId=3\r\n"
with smbclient.open_file(share + r"\download.exe", mode="wb", port=port) as f:
    f.write(b"MZ" + b"\0" * 1000)
with smbclient.open_file(share + r"\download.exe:Zone.Identifier", mode="wb", port=port) as f:
    f.write(zone)
with smbclient.open_file(share + r"\download.exe:Zone.Identifier", mode="rb", port=port) as f:
    assert f.read() == zone, "stream read back differs"
got = streams_of(share + r"\download.exe")
assert got == [("::$DATA", 1002), (":Zone.Identifier:$DATA", len(zone))], got

smbclient.rename(share + r"\download.exe", share + r"\renamed.exe", port=port)
with smbclient.open_file(share + r"\renamed.exe:Zone.Identifier", mode="rb", port=port) as f:
    assert f.read() == zone, "the stream did not follow the rename"
assert streams_of(share + r"\renamed.exe")[1] == (":Zone.Identifier:$DATA", len(zone))
print("STREAMS OK")

block = bytes(range(256)) * 4096  # 1 MiB, not all one byte
digest = hashlib.sha256()
with smbclient.open_file(share + r"\big.bin", mode="wb", port=port) as f:
    for i in range(mib):
        chunk = bytes([i % 251]) + block[1:]
        digest.update(chunk)
        f.write(chunk)
smbclient.copyfile(share + r"\big.bin", share + r"\copy.bin", port=port)
copied = hashlib.sha256()
with smbclient.open_file(share + r"\copy.bin", mode="rb", port=port) as f:
    while True:
        b = f.read(4 << 20)
        if not b:
            break
        copied.update(b)
assert copied.hexdigest() == digest.hexdigest(), "the server-side copy differs"
print("COPY OK")

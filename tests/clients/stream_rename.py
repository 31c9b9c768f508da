"""smbprotocol renames an alternate data stream within its file: `doc.txt:one`
opened with DELETE access gets FileRenameInformation `:two` (MS-FSA
2.1.5.15.12.1), the data reads back under the new name, the old name is
gone, the file's own data and stream list say the same; renaming onto a
stream that holds data is refused (STATUS_INVALID_PARAMETER); a stream
renamed to `::$DATA` of an empty file becomes the file's data, and back
(the unnamed stream renamed to a named one), a file larger than an
attribute holds (LocalFs: 64 KiB) too, its data then in the sidecar;
overwriting the file drops its named streams.
Usage: stream_rename.py PORT USER PASSWORD"""
import sys

import smbclient
import smbtest
from smbclient._io import SMBFileTransaction, SMBRawIO, set_info
from smbprotocol.exceptions import SMBOSError
from smbprotocol.file_info import FileRenameInformation
from smbprotocol.header import NtStatus
from smbprotocol.open import FilePipePrinterAccessMask

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
smbclient.register_session("127.0.0.1", username=user, password=password, port=port)
share = r"\\127.0.0.1\share"


def write(path, data):
    with smbclient.open_file(path, mode="wb", port=port) as f:
        f.write(data)


def read(path):
    with smbclient.open_file(path, mode="rb", port=port) as f:
        return f.read()


def streams_of(path):
    return [name for name, _ in smbtest.streams_of(path, port)]


def rename_stream(path, target, replace=False):
    """FileRenameInformation `target` through an open of `path` with DELETE."""
    access = FilePipePrinterAccessMask.DELETE | FilePipePrinterAccessMask.FILE_READ_DATA
    with SMBRawIO(path, mode="r", share_access="rwd", desired_access=access, port=port) as raw:
        with SMBFileTransaction(raw) as t:
            info = FileRenameInformation()
            info["replace_if_exists"] = replace
            info["file_name"] = target
            set_info(t, info)


write(share + r"\doc.txt", b"main data")
write(share + r"\doc.txt:one", b"stream one")
write(share + r"\doc.txt:full", b"x")
rename_stream(share + r"\doc.txt:one", ":two")
assert read(share + r"\doc.txt:two") == b"stream one", "the data under the new name"
try:
    read(share + r"\doc.txt:one")
    raise AssertionError("the old stream name still opens")
except SMBOSError as e:
    assert e.ntstatus == NtStatus.STATUS_OBJECT_NAME_NOT_FOUND, e
assert read(share + r"\doc.txt") == b"main data", "the file's own data"
got = streams_of(share + r"\doc.txt")
assert got == ["::$DATA", ":full:$DATA", ":two:$DATA"], got
try:
    rename_stream(share + r"\doc.txt:two", ":full:$DATA", replace=True)
    raise AssertionError("a stream holding data was replaced")
except SMBOSError as e:
    assert e.ntstatus == NtStatus.STATUS_INVALID_PARAMETER, e
assert read(share + r"\doc.txt:full") == b"x"
# Onto the unnamed stream of an empty file: the stream becomes its data.
write(share + r"\empty.txt", b"")
write(share + r"\empty.txt:payload", b"moved in")
rename_stream(share + r"\empty.txt:payload", "::$DATA", replace=True)
assert read(share + r"\empty.txt") == b"moved in", "the file's data"
assert streams_of(share + r"\empty.txt") == ["::$DATA"]
# And the unnamed stream to a named one: the file is left empty.
rename_stream(share + r"\empty.txt", ":kept")
assert read(share + r"\empty.txt") == b""
assert read(share + r"\empty.txt:kept") == b"moved in"
# A file larger than an extended attribute holds (LocalFs: 64 KiB)
# becomes a stream kept in the sidecar.
big = bytes(range(256)) * 300
write(share + r"\big.bin", big)
rename_stream(share + r"\big.bin", ":large")
assert read(share + r"\big.bin") == b"" and read(share + r"\big.bin:large") == big
assert streams_of(share + r"\big.bin") == ["::$DATA", ":large:$DATA"], streams_of(share + r"\big.bin")
# Overwriting the file (mode "wb": FILE_OVERWRITE_IF) drops its named
# streams, as NTFS and smbd do.
write(share + r"\over.txt", b"old main")
write(share + r"\over.txt:side", b"side")
write(share + r"\over.txt", b"new main")
assert streams_of(share + r"\over.txt") == ["::$DATA"], streams_of(share + r"\over.txt")
print("STREAM RENAME OK")

"""smbprotocol on a share: a file made sparse (FSCTL_SET_SPARSE), a range
zeroed (FSCTL_SET_ZERO_DATA), its allocated ranges queried
(FSCTL_QUERY_ALLOCATED_RANGES) and read back as zeros.
Usage: sparse.py PORT USER PASSWORD NAME"""
import struct
import sys

import smbclient
from smbclient._io import SMBFileTransaction, ioctl_request
from smbprotocol.ioctl import CtlCode, IOCTLFlags

port, user, password, name = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
smbclient.register_session("127.0.0.1", username=user, password=password, port=port)
path = r"\\127.0.0.1\share" + "\\" + name
K64 = 64 * 1024
SPARSE = 0x200


def fsctl(f, code, data=b"", out=0):
    with SMBFileTransaction(f) as t:
        ioctl_request(t, code, output_size=out, flags=IOCTLFlags.SMB2_0_IOCTL_IS_FSCTL, input_buffer=data)
    return t.results[0]


with smbclient.open_file(path, mode="wb", port=port) as f:
    f.write(b"\x5a" * (4 * K64))
assert smbclient.stat(path, port=port).st_file_attributes & SPARSE == 0, "sparse before SET_SPARSE"

with smbclient.open_file(path, mode="r+b", buffering=0, port=port) as f:
    fsctl(f, CtlCode.FSCTL_SET_SPARSE, b"\x01")
    fsctl(f, CtlCode.FSCTL_SET_ZERO_DATA, struct.pack("<qq", K64, 3 * K64))
    out = fsctl(f, CtlCode.FSCTL_QUERY_ALLOCATED_RANGES, struct.pack("<qq", 0, 4 * K64), out=1024)
ranges = [struct.unpack_from("<qq", out, i) for i in range(0, len(out), 16)]
assert ranges == [(0, K64), (3 * K64, K64)], ranges
assert smbclient.stat(path, port=port).st_file_attributes & SPARSE, "no SPARSE_FILE attribute"

with smbclient.open_file(path, mode="rb", port=port) as f:
    data = f.read()
assert len(data) == 4 * K64, len(data)
assert data[K64:3 * K64] == b"\0" * (2 * K64), "the zeroed range is not zeros"
assert data[:K64] == data[3 * K64:] == b"\x5a" * K64, "data outside the range changed"
print("SPARSE OK")

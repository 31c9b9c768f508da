"""smbprotocol keeps a 1 MiB alternate data stream (as a macOS resource
fork or a Windows metadata stream can be), past the 64 KiB an extended
attribute holds. Phase `write`: the stream is written in pieces, read back
byte-equal, listed (FileStreamInformation) with its size, and found again
after the file is renamed; the share's listing shows only the files; a
second file's large stream goes when that file is overwritten. Phase
`delete`: the file is deleted.
Usage: big_stream.py PORT USER PASSWORD write|delete"""
import sys

import smbclient
import smbtest

port, user, password, phase = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
smbclient.register_session("127.0.0.1", username=user, password=password, port=port)
share = r"\\127.0.0.1\share"


def streams_of(path):
    return smbtest.streams_of(path, port)


fork = bytes((i * 7 + i // 251) % 256 for i in range(1 << 20))
if phase == "write":
    with smbclient.open_file(share + r"\photo.jpg", mode="wb", port=port) as f:
        f.write(b"JPEG")
    with smbclient.open_file(share + r"\photo.jpg:AFP_Resource", mode="wb", buffering=0, port=port) as f:
        for at in range(0, len(fork), 48 << 10):
            f.write(fork[at : at + (48 << 10)])
    with smbclient.open_file(share + r"\photo.jpg:AFP_Resource", mode="rb", port=port) as f:
        assert f.read() == fork, "the stream read back differs"
    got = streams_of(share + r"\photo.jpg")
    assert got == [("::$DATA", 4), (":AFP_Resource:$DATA", 1 << 20)], got
    smbclient.rename(share + r"\photo.jpg", share + r"\renamed.jpg", port=port)
    with smbclient.open_file(share + r"\renamed.jpg:AFP_Resource", mode="rb", port=port) as f:
        assert f.read() == fork, "the stream did not follow the rename"
    assert streams_of(share + r"\renamed.jpg")[1] == (":AFP_Resource:$DATA", 1 << 20)
    with smbclient.open_file(share + r"\over.bin", mode="wb", port=port) as f:
        f.write(b"old")
    with smbclient.open_file(share + r"\over.bin:meta", mode="wb", port=port) as f:
        f.write(fork[: 100 << 10])
    assert streams_of(share + r"\over.bin")[1] == (":meta:$DATA", 100 << 10)
    with smbclient.open_file(share + r"\over.bin", mode="wb", port=port) as f:
        f.write(b"new")
    assert streams_of(share + r"\over.bin") == [("::$DATA", 3)], streams_of(share + r"\over.bin")
    assert sorted(smbclient.listdir(share, port=port)) == ["over.bin", "renamed.jpg"], smbclient.listdir(share)
    print("BIG STREAM OK")
elif phase == "delete":
    smbclient.remove(share + r"\renamed.jpg", port=port)
    print("DELETED")

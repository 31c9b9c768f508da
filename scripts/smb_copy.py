"""Copies a file within an SMB share, for scripts/bench.sh's copy part.
Usage: smb_copy.py PORT USER PASSWORD SRC DST server|client
  server: smbprotocol's smbclient.copyfile (FSCTL_SRV_COPYCHUNK_WRITE, the
          data stays on the server);
  client: read SRC and write DST through the client in 4 MiB pieces.
Prints `copy_seconds: S`, the time of the copy alone: Python's start-up
(about half a second here, importing smbprotocol) and the login are not
the server's copy and would flatten the ratios of a one-second copy."""
import sys
import time

import smbclient

port, user, password, src, dst, how = int(sys.argv[1]), *sys.argv[2:6], sys.argv[6]
smbclient.register_session("127.0.0.1", username=user, password=password, port=port)
share = r"\\127.0.0.1\share"
s, d = share + "\\" + src, share + "\\" + dst
# Log in before the clock starts (register_session connects and
# authenticates).
t0 = time.perf_counter()
if how == "server":
    smbclient.copyfile(s, d, port=port)
else:
    with smbclient.open_file(s, mode="rb", port=port) as fi, smbclient.open_file(d, mode="wb", port=port) as fo:
        while True:
            b = fi.read(4 << 20)
            if not b:
                break
            fo.write(b)
print(f"copy_seconds: {time.perf_counter() - t0:.6f}")

"""smbprotocol's extended attribute calls (FileFullEaInformation through
SET_INFO and QUERY_INFO) on a share, as guest.
Usage: eas.py PORT NAME set EA=VALUE...   (makes NAME if missing; an empty
                                           VALUE removes the EA)
       eas.py PORT NAME dump              (prints EA=VALUE lines, sorted)"""
import sys

import smbclient

port, name, verb, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
smbclient.ClientConfig(require_secure_negotiate=False)
smbclient.register_session("127.0.0.1", username="guest", password="", port=port, require_signing=False)
path = r"\\127.0.0.1\share" + "\\" + name

if verb == "set":
    try:
        smbclient.stat(path, port=port)
    except OSError:
        with smbclient.open_file(path, mode="wb", port=port) as f:
            f.write(b"data")
    for a in args:
        ea, value = a.split("=", 1)
        if value:
            smbclient.setxattr(path, ea, value.encode(), port=port)
        else:
            smbclient.removexattr(path, ea, port=port)
    print("SET OK")
elif verb == "dump":
    for ea in sorted(smbclient.listxattr(path, port=port)):
        print(f"{ea.decode()}={smbclient.getxattr(path, ea, port=port).decode()}")
else:
    sys.exit(f"unknown verb {verb}")

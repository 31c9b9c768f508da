#!/usr/bin/env python3
"""Head-of-line latency: how long a tiny request waits while another client
streams a large file from the same server.

Usage:
  echo_under_load.py --probe smb-echo --port SMB_PORT [--user U --password P]
                     [--dialect 3.1.1|2.1] [--secs N] [--interval-ms 2]
                     [--load 'SHELL COMMAND'] [--label TEXT]
  echo_under_load.py --probe nfs-null --port NFS_PORT [...same...]

The probe client sends one request every --interval-ms (default 2 ms) for
--secs seconds and records each round-trip time, first with the server idle,
then (when --load is given) while the load command runs in a loop in the
background (for instance `smbclient ... -c 'get big.bin /dev/null'` or
`nfs-cat nfs://... `; its output goes to /dev/null).

  smb-echo: SMB2 ECHO on an smbprotocol session. Without --user the session
            is a guest session (unsigned); with --user the connection
            requires signing, so every ECHO and its reply carry a signature.
  nfs-null: ONC RPC NULL (procedure 0) of NFS v3, AUTH_NONE, raw over TCP.

The probe is closed-loop: one request in flight; when a reply comes later
than the next slot, the next request goes out at once and the missed slots
are counted as "late" (they are not back-filled, so a long stall shows as
one large max, not as many samples). Output, one line per phase:

  PROBE kind=smb-echo auth=signed phase=idle n=.. median_us=.. p99_us=.. max_us=.. late=..
  PROBE kind=smb-echo auth=signed phase=load n=.. median_us=.. p99_us=.. max_us=.. late=.. load_loops=.. load_failures=..
"""
import argparse
import sys
import time
import uuid

sys.path.insert(0, __import__("os").path.dirname(__file__))
import benchlib  # noqa: E402


def smb_prober(args):
    from smbprotocol.connection import Connection, Dialects
    from smbprotocol.connection import SMB2Echo
    from smbprotocol.session import Session

    dialect = {"2.1": Dialects.SMB_2_1_0, "3.0.2": Dialects.SMB_3_0_2, "3.1.1": Dialects.SMB_3_1_1}[args.dialect]
    signed = args.user is not None
    conn = Connection(uuid.uuid4(), "127.0.0.1", args.port, require_signing=signed)
    conn.connect(dialect=dialect)
    if signed:
        session = Session(conn, args.user, args.password, require_encryption=False)
    else:
        session = Session(conn, "guest", "", require_encryption=False)
    session.connect()
    if signed and not (session.signing_required or conn.require_signing):
        raise SystemExit("signing was requested but is not in force")
    sid = session.session_id

    def probe():
        req = conn.send(SMB2Echo(), sid=sid)
        conn.receive(req, timeout=120)

    def close():
        try:
            conn.disconnect()
        except Exception:
            pass

    return probe, close


def nfs_prober(args):
    rpc = benchlib.Rpc(args.port, auth="none")

    def probe():
        rpc.call(benchlib.NFS_PROG, benchlib.NFS_VERS, 0, b"")

    return probe, rpc.close


def run_phase(probe, secs, interval_ns):
    samples = []
    late = 0
    end = time.perf_counter_ns() + int(secs * 1e9)
    nxt = time.perf_counter_ns()
    while True:
        now = time.perf_counter_ns()
        if now >= end:
            break
        if nxt > now:
            time.sleep((nxt - now) / 1e9)
        t0 = time.perf_counter_ns()
        probe()
        t1 = time.perf_counter_ns()
        samples.append((t1 - t0) / 1000.0)
        nxt += interval_ns
        if t1 > nxt:
            late += (t1 - nxt) // interval_ns + 1
            nxt = t1
    return samples, late


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--probe", choices=["smb-echo", "nfs-null"], required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user")
    ap.add_argument("--password", default="")
    ap.add_argument("--dialect", default="3.1.1", choices=["2.1", "3.0.2", "3.1.1"])
    ap.add_argument("--secs", type=float, default=10.0, help="seconds per phase")
    ap.add_argument("--interval-ms", type=float, default=2.0)
    ap.add_argument("--load", help="shell command run in a loop during the loaded phase")
    ap.add_argument("--no-idle", action="store_true", help="skip the idle phase")
    ap.add_argument("--label", default="")
    args = ap.parse_args()

    if args.probe == "smb-echo":
        probe, close = smb_prober(args)
        auth = "signed" if args.user else "guest"
    else:
        probe, close = nfs_prober(args)
        auth = "none"
    interval = int(args.interval_ms * 1e6)
    head = "PROBE kind=%s auth=%s%s" % (args.probe, auth, (" label=" + args.label) if args.label else "")
    try:
        for _ in range(20):  # warm up the connection and the interpreter
            probe()
        if not args.no_idle:
            samples, late = run_phase(probe, args.secs, interval)
            print("%s phase=idle %s late=%d" % (head, benchlib.fmt_summary(benchlib.summary(samples)), late),
                  flush=True)
        if args.load:
            load = benchlib.LoadLoop(args.load)
            load.start()
            try:
                samples, late = run_phase(probe, args.secs, interval)
            finally:
                load.stop()
            print("%s phase=load %s late=%d load_loops=%d load_failures=%d"
                  % (head, benchlib.fmt_summary(benchlib.summary(samples)), late, load.loops, load.failures),
                  flush=True)
    finally:
        close()


if __name__ == "__main__":
    main()

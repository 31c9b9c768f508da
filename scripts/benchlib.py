"""Shared helpers for the benchmark scripts in this directory (standard
library only): a minimal ONC RPC client over TCP (RFC 5531 record marking,
pipelined calls), NFSv3 MOUNT, percentiles, a background load loop, and the
memory prewarm."""
import mmap
import os
import signal
import socket
import struct
import subprocess
import threading
import time

NFS_PROG, NFS_VERS = 100003, 3
MOUNT_PROG, MOUNT_VERS = 100005, 3


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def opaque(b):
    return u32(len(b)) + b + b"\0" * (-len(b) % 4)


def opaque_at(body, off):
    """The variable-length opaque at OFF and the offset after it."""
    (n,) = struct.unpack(">I", body[off:off + 4])
    return body[off + 4:off + 4 + n], off + 4 + n + (-n % 4)


class RpcError(Exception):
    pass


class Rpc:
    """One TCP connection speaking ONC RPC. call() is one round trip;
    send()/recv() let a caller keep several calls in flight (replies are
    matched by xid)."""

    def __init__(self, port, host="127.0.0.1", auth="unix"):
        self.s = socket.create_connection((host, port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.xid = int.from_bytes(os.urandom(3), "big") << 4
        if auth == "unix":
            # AUTH_UNIX: stamp, machine name, uid 0, gid 0, no extra gids.
            body = u32(0) + opaque(b"bench") + u32(0) + u32(0) + u32(0)
            self.cred = u32(1) + opaque(body)
        else:
            self.cred = u32(0) + opaque(b"")
        self.buf = bytearray()

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def encode(self, prog, vers, proc, args):
        self.xid = (self.xid + 1) & 0xFFFFFFFF
        msg = (u32(self.xid) + u32(0) + u32(2) + u32(prog) + u32(vers) + u32(proc)
               + self.cred + u32(0) + u32(0) + args)
        return self.xid, u32(0x80000000 | len(msg)) + msg

    def send(self, prog, vers, proc, args):
        xid, wire = self.encode(prog, vers, proc, args)
        self.s.sendall(wire)
        return xid

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(max(65536, n - len(self.buf)))
            if not chunk:
                raise EOFError("RPC connection closed")
            self.buf += chunk

    def recv(self):
        """The next reply: (xid, results body). Raises RpcError if the call
        was not accepted."""
        rec = bytearray()
        while True:
            self._fill(4)
            (mark,) = struct.unpack(">I", self.buf[:4])
            n = mark & 0x7FFFFFFF
            self._fill(4 + n)
            rec += self.buf[4:4 + n]
            del self.buf[:4 + n]
            if mark & 0x80000000:
                break
        xid, mtype, stat = struct.unpack(">III", rec[:12])
        if mtype != 1 or stat != 0:
            raise RpcError("xid %d: reply type %d, reply_stat %d" % (xid, mtype, stat))
        _flavor, vlen = struct.unpack(">II", rec[12:20])
        off = 20 + vlen + (-vlen % 4)
        (accept,) = struct.unpack(">I", rec[off:off + 4])
        if accept != 0:
            raise RpcError("xid %d: accept_stat %d" % (xid, accept))
        return xid, bytes(rec[off + 4:])

    def call(self, prog, vers, proc, args):
        xid = self.send(prog, vers, proc, args)
        rxid, body = self.recv()
        if rxid != xid:
            raise RpcError("reply xid %d for call %d" % (rxid, xid))
        return body


def mount(port, export):
    """MOUNT3 MNT over TCP on PORT; the export's root file handle."""
    r = Rpc(port)
    try:
        body = r.call(MOUNT_PROG, MOUNT_VERS, 1, opaque(export.encode()))
    finally:
        r.close()
    (status,) = struct.unpack(">I", body[:4])
    if status != 0:
        raise RpcError("MOUNT %s: status %d" % (export, status))
    fh, _ = opaque_at(body, 4)
    return fh


def summary(samples_us):
    """n, median, p99, max of a list of microsecond samples."""
    s = sorted(samples_us)
    if not s:
        return {"n": 0, "median": float("nan"), "p99": float("nan"), "max": float("nan")}
    med = s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2
    p99 = s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))]
    return {"n": len(s), "median": med, "p99": p99, "max": s[-1]}


def fmt_summary(s):
    return "n=%d median_us=%.1f p99_us=%.1f max_us=%.1f" % (s["n"], s["median"], s["p99"], s["max"])


def prewarm(mib):
    """Touch MIB MiB of anonymous memory page by page, then free it, so the
    hypervisor has backed it before a timed run needs fresh pages."""
    if mib <= 0:
        return
    n = mib << 20
    m = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    chunk = b"\1" * (16 << 20)
    for off in range(0, n, len(chunk)):
        m[off:off + len(chunk)] = chunk[:n - off]
    m.close()


class LoadLoop:
    """Runs a shell command over and over in the background (stdout and
    stderr to /dev/null) until stop(). Each run gets its own process group,
    which stop() signals, so nothing outlives the measurement."""

    def __init__(self, cmd):
        self.cmd = cmd
        self.loops = 0
        self.failures = 0
        self.proc = None
        self.stopping = threading.Event()
        self.started = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stopping.is_set():
            with self.lock:
                if self.stopping.is_set():
                    break
                self.proc = subprocess.Popen(self.cmd, shell=True, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL, start_new_session=True)
            self.started.set()
            rc = self.proc.wait()
            if self.stopping.is_set():
                break
            self.loops += 1
            if rc != 0:
                self.failures += 1
                time.sleep(0.2)  # a failing load must not spin

    def start(self, settle=0.5):
        self.thread.start()
        self.started.wait(10)
        time.sleep(settle)  # let the transfer get going before measuring

    def stop(self):
        with self.lock:
            self.stopping.set()
            p = self.proc
        if p is not None and p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        self.thread.join(10)


# --- CPU accounting of server processes ------------------------------------------

def _stat_fields(pid):
    """Fields 3.. of /proc/PID/stat (after the parenthesised comm), or None."""
    try:
        with open("/proc/%s/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    return s[s.rindex(")") + 2:].split()


def cpu_ticks(specs):
    """Clock ticks of CPU used by the processes named in SPECS, and how many
    processes that was. A spec is "pid:N" (that process: utime + stime of
    all its threads, plus cutime + cstime of its reaped children) or
    "session:N" (the same summed over every process whose session id is N:
    smbd's forked per-connection children are in their parent's session, and
    once a child has exited and been reaped, its time is in the parent's
    cutime + cstime, so the sum neither loses nor double-counts it)."""
    total = nprocs = 0
    sessions = set()
    for spec in specs:
        kind, _, pid = spec.partition(":")
        if kind == "pid":
            f = _stat_fields(pid)
            if f:
                total += sum(int(x) for x in f[11:15])
                nprocs += 1
        elif kind == "session":
            sessions.add(pid)
        else:
            raise ValueError(spec)
    if sessions:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            f = _stat_fields(pid)
            # f[3] is field 6, the session id
            if f and f[3] in sessions:
                total += sum(int(x) for x in f[11:15])
                nprocs += 1
    return total, nprocs


def _main(argv):
    """Command line for the shell scripts:
      benchlib.py prewarm MIB
      benchlib.py cpu [--max-procs N] SPEC...   prints "TICKS NPROCS TICKS_PER_SEC"
    --max-procs waits (up to 5 s) until at most N processes match, so that a
    per-connection child that is exiting has been reaped into its parent's
    cutime before the figure is read."""
    if argv[:1] == ["prewarm"]:
        prewarm(int(argv[1]))
    elif argv[:1] == ["cpu"]:
        args = argv[1:]
        limit = None
        if args[:1] == ["--max-procs"]:
            limit = int(args[1])
            args = args[2:]
        deadline = time.monotonic() + 5
        while True:
            ticks, n = cpu_ticks(args)
            if limit is None or n <= limit or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        print(ticks, n, os.sysconf("SC_CLK_TCK"))
    else:
        raise SystemExit(_main.__doc__)


if __name__ == "__main__":
    import sys
    _main(sys.argv[1:])

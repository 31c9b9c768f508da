#!/usr/bin/env python3
"""The kernel's own copy rate on a directory's file system: what no server's
server-side copy can beat there, since a copy inside one file system is a
copy_file_range (smbd 4.17 and polyshare both hand COPYCHUNK to it).

Usage: copy_ceiling.py DIR SIZE_MIB [RUNS]

Writes a SIZE_MIB file of random bytes in DIR, then copies it RUNS times
(default 3) with copy_file_range in 16 MiB calls, as a server answering
COPYCHUNK_WRITE requests of 16 MiB does, from one thread and from two
threads copying halves into the same file. Prints one line per thread
count:

  CEILING threads=1 median_mb_s=.. runs=.. cpu_s_per_gib=..

MB/s is 10^6 bytes per second; CPU is this process's user + system seconds
per GiB copied. The files are removed at the end.
"""
import os
import statistics
import sys
import threading
import time

CALL = 16 << 20


def copy(fi, fo, off, length):
    done = 0
    while done < length:
        n = os.copy_file_range(fi, fo, min(length - done, CALL), off + done, off + done)
        if n == 0:
            raise OSError("copy_file_range copied nothing")
        done += n


def one_run(src, dst, size, threads):
    if os.path.exists(dst):
        os.unlink(dst)
    fi = os.open(src, os.O_RDONLY)
    fo = os.open(dst, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        part = size // threads
        spans = [(i * part, part if i < threads - 1 else size - i * part) for i in range(threads)]
        t0, c0 = time.perf_counter(), os.times()
        workers = [threading.Thread(target=copy, args=(fi, fo, off, n)) for off, n in spans]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        secs, c1 = time.perf_counter() - t0, os.times()
    finally:
        os.close(fi)
        os.close(fo)
    if os.path.getsize(dst) != size:
        raise OSError(f"copy is {os.path.getsize(dst)} bytes, not {size}")
    cpu = (c1.user - c0.user) + (c1.system - c0.system)
    return size / secs / 1e6, cpu / (size / (1 << 30))


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    d, size = sys.argv[1], int(sys.argv[2]) << 20
    runs = int(sys.argv[3]) if len(sys.argv) == 4 else 3
    src, dst = os.path.join(d, "ceiling-src.bin"), os.path.join(d, "ceiling-dst.bin")
    with open(src, "wb") as f:
        left = size
        while left:
            n = min(left, 16 << 20)
            f.write(os.urandom(n))
            left -= n
    try:
        for threads in (1, 2):
            got = [one_run(src, dst, size, threads) for _ in range(runs)]
            mb = statistics.median(g[0] for g in got)
            cpu = statistics.median(g[1] for g in got)
            print(f"CEILING threads={threads} median_mb_s={mb:.1f} runs={runs} cpu_s_per_gib={cpu:.2f}")
    finally:
        for p in (src, dst):
            if os.path.exists(p):
                os.unlink(p)


if __name__ == "__main__":
    main()

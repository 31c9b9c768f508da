#!/usr/bin/env bash
# Large-directory benchmark: scripts/bench.sh with only its "bigdir" part.
#
# For each server (smbd, ganesha, polyshare; BENCH_SERVERS as in bench.sh)
# and each count in BENCH_BIGDIR_COUNTS (default "10000 100000"), fills one
# directory with that many empty files (scripts/bigdir.py: over SMB for the
# SMB servers, over NFS for the NFS servers, BENCH_BIGDIR_CONNS parallel
# connections with pipelined requests), then lists it BENCH_RUNS times with
# `smbclient -c 'ls DIR/*'` and `nfs-ls`, each step under a timeout of
# BENCH_BIGDIR_TIMEOUT seconds (default 600; a step that runs out is
# reported as "timeout"). If creation over the protocol runs out of time,
# the files are created directly in the served directory instead, so the
# listing is still measured (the table says so). BENCH_BIGDIR_PRECREATE=1
# always creates them directly. The table gives list(N) / list(smallest N);
# polyshare's target is list(100k) / list(10k) <= 12.
#
# Example smoke run: BENCH_BIGDIR_COUNTS="1000 3000" BENCH_RUNS=1 scripts/bench_bigdir.sh
set -euo pipefail
export BENCH_PARTS=bigdir
exec "$(dirname "$0")/bench.sh" "$@"

#!/usr/bin/env bash
# End-to-end benchmark on loopback: polyshare's tokio example server beside
# reference servers, with the same clients, on the same tmpfs.
#
#   SMB reference: Samba's smbd, a share on a temp dir (guest ok, plus one
#                  user in a private tdbsam passdb for the signed runs).
#   NFS reference: nfs-ganesha (FSAL VFS) on a temp dir, registered with a
#                  private rpcbind (ganesha will not start without one).
#   polyshare:     `cargo build --release --example tokio_server`, once with
#                  --root on a temp dir (LocalFs), optionally in memory
#                  (MemoryFs), with --user BENCH_USER:BENCH_PASS.
#
# Parts (BENCH_PARTS, all by default; see BENCHMARKS.md for each):
#   transfers  smbclient put / get (to tmpfs) / get (to /dev/null) for every
#              SMB variant (3.1.1 and 2.1, guest and signed user), nfs-cp in
#              and out, nfs-cat to /dev/null; MB/s and the server's CPU
#              seconds per GiB moved; BENCH_RUNS runs each, median.
#   echo       smbtorture smb2.bench.echo (4 connections, queue depth 1).
#   hol        head-of-line latency (scripts/echo_under_load.py): SMB2 ECHO
#              (guest and signed) idle and while smbclient streams a file to
#              /dev/null in a loop; NFS NULL idle and while nfs-cat streams.
#   lease      polyshare only: scripts/lease_latency.py idle and while
#              smbclient streams a file (the load of the hol part).
#   many       BENCH_MANY_CLIENTS smbclient gets and as many nfs-cp outs at
#              once, different files: aggregate MiB/s and CPU s per GiB. The
#              references run together for the mixed case (smbd + ganesha).
#   copy       a BENCH_SIZE_MIB file copied within the share by smbprotocol
#              (scripts/smb_copy.py, signed user): server-side
#              (smbclient.copyfile: FSCTL_SRV_COPYCHUNK_WRITE) and through
#              the client (read + write); MB/s and server CPU s/GiB; then
#              the kernel's own copy_file_range rate on the scratch file
#              system, without a server: the ceiling (copy_ceiling.py).
#   bigdir     scripts/bigdir.py fills one directory with 10,000 and 100,000
#              files over SMB and over NFS, then `smbclient -c ls` and
#              `nfs-ls` list it; listing time and the 100k/10k ratio.
#
# Before every timed transfer the script touches and frees BENCH_PREWARM_MIB
# of anonymous memory (this VM backs fresh RAM lazily; without it write
# figures measure host page faults).
#
# Knobs (environment), defaults in brackets:
#   BENCH_SIZE_MIB [1024] BENCH_RUNS [3] BENCH_ECHO_SECS [10]
#   BENCH_LATENCY_RUNS [200; 0 skips the lease part]
#   BENCH_TMP [/dev/shm] BENCH_SERVERS ["smbd ganesha polyshare-local"; add
#   polyshare-memory for the MemoryFs column] BENCH_NO_BUILD=1
#   BENCH_PARTS ["transfers echo hol lease many bigdir copy"]
#   BENCH_PREWARM_MIB [2048; 0 = off]
#   BENCH_POLYSHARE_ARGS [none; more tokio_server flags, e.g. "--io-workers 2"]
#   BENCH_SMB_VARIANTS ["smb3-guest smb3-signed smb2-guest smb2-signed
#   smb3-aes128gcm smb3-aes256gcm"]
#   BENCH_USER [bench] BENCH_PASS [Bench-pass-1]
#   BENCH_HOL_SECS [10 per phase] BENCH_HOL_INTERVAL_MS [2]
#   BENCH_MANY_CLIENTS [4 per protocol] BENCH_MANY_MIB [256: 8 clients keep
#   2 GiB stored and 2 GiB fetched on tmpfs at once]
#   BENCH_BIGDIR_COUNTS ["10000 100000"] BENCH_BIGDIR_TIMEOUT [600 s per step]
#   BENCH_BIGDIR_CONNS [4] BENCH_BIGDIR_PRECREATE [0; 1 = create the files
#   directly in the share directory, not over the protocol]
#   BENCH_INTERLEAVE [1: transfers run with every server up, each run of a
#   transfer on every server in turn, and so do the hol and lease parts,
#   BENCH_LATENCY_ROUNDS times; 0: server by server, once]
#   BENCH_LATENCY_ROUNDS [3: rounds of the hol and lease parts when
#   interleaved; each figure is the median over the rounds]
#   BENCH_HOL_RATE_MIB [unset: the hol and lease loads stream as fast as
#   they can; N: through pv at N MiB/s, the same load for every server]
#   BENCH_OUT [target/bench-results.md]
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
SCRIPTS=$REPO/scripts

SIZE_MIB=${BENCH_SIZE_MIB:-1024}
RUNS=${BENCH_RUNS:-3}
ECHO_SECS=${BENCH_ECHO_SECS:-10}
LATENCY_RUNS=${BENCH_LATENCY_RUNS:-200}
TMPBASE=${BENCH_TMP:-/dev/shm}
SERVERS=${BENCH_SERVERS:-"smbd ganesha polyshare-local"}
PARTS=${BENCH_PARTS:-"transfers echo hol lease many bigdir copy"}
PREWARM_MIB=${BENCH_PREWARM_MIB:-2048}
SMB_VARIANTS=${BENCH_SMB_VARIANTS:-"smb3-guest smb3-signed smb2-guest smb2-signed smb3-aes128gcm smb3-aes256gcm"}
BUSER=${BENCH_USER:-bench}
BPASS=${BENCH_PASS:-Bench-pass-1}
HOL_SECS=${BENCH_HOL_SECS:-10}
HOL_INTERVAL_MS=${BENCH_HOL_INTERVAL_MS:-2}
LATENCY_ROUNDS=${BENCH_LATENCY_ROUNDS:-3}
HOL_RATE_MIB=${BENCH_HOL_RATE_MIB:-}
MANY_CLIENTS=${BENCH_MANY_CLIENTS:-4}
MANY_MIB=${BENCH_MANY_MIB:-256}
BIGDIR_COUNTS=${BENCH_BIGDIR_COUNTS:-"10000 100000"}
BIGDIR_TIMEOUT=${BENCH_BIGDIR_TIMEOUT:-600}
BIGDIR_CONNS=${BENCH_BIGDIR_CONNS:-4}
BIGDIR_PRECREATE=${BENCH_BIGDIR_PRECREATE:-0}
OUT=${BENCH_OUT:-$REPO/target/bench-results.md}
BIN=$REPO/target/release/examples/tokio_server

has_part() { [[ " $PARTS " == *" $1 "* ]]; }
has_server() { [[ " $SERVERS " == *" $1 "* ]]; }

# --- tools -------------------------------------------------------------------
missing=()
command -v smbclient >/dev/null || missing+=(smbclient)
command -v smbd >/dev/null || missing+=(samba)
command -v pdbedit >/dev/null || missing+=(samba-common-bin)
command -v smbtorture >/dev/null || missing+=(samba-testsuite)
command -v nfs-cp >/dev/null || missing+=(libnfs-utils)
command -v pv >/dev/null || missing+=(pv)
command -v ganesha.nfsd >/dev/null || missing+=(nfs-ganesha nfs-ganesha-vfs)
command -v rpcbind >/dev/null || missing+=(rpcbind)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python3 -c 'import smbprotocol' 2>/dev/null || python3 -m pip install --quiet smbprotocol

# --- scratch space and cleanup -------------------------------------------------
W=$(mktemp -d "$TMPBASE/polyshare-bench.XXXXXX")
chmod 755 "$W" # smbd's guest (nobody) must traverse it
PIDS=()
CREATED_USER=""
cleanup() {
    local p
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$W"
    [ -z "$CREATED_USER" ] || userdel "$CREATED_USER" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop() { # PID: stop one server we started and forget it
    local p=$1 q rest=()
    kill "$p" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    for q in "${PIDS[@]+"${PIDS[@]}"}"; do [ "$q" = "$p" ] || rest+=("$q"); done
    PIDS=("${rest[@]+"${rest[@]}"}")
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # PORT [SECS]
    local i
    for i in $(seq $((${2:-20} * 10))); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

now() { date +%s.%N; }
load1() { cut -d' ' -f1 /proc/loadavg; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "n/a"; else if (NR%2) print a[(NR+1)/2]; else printf "%.6g\n", (a[NR/2]+a[NR/2+1])/2}'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.1f", b/1e6/s}'; }
mibps() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.1f", b/1048576/s}'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b-a}'; }
prewarm() { [ "$PREWARM_MIB" -le 0 ] || python3 "$SCRIPTS/benchlib.py" prewarm "$PREWARM_MIB"; }

SIZE_BYTES=$((SIZE_MIB * 1024 * 1024))
SRC=$W/source.bin
DST=$W/fetched.bin
echo "making a ${SIZE_MIB} MiB source file"
head -c "$SIZE_BYTES" /dev/urandom >"$SRC"
chmod 644 "$SRC"

LOG=$W/runs.txt
: >"$LOG"
declare -A RESULT # "server/metric" -> value
declare -A RUNV   # "server/metric" -> space-separated values of every run

note() { echo "$*" | tee -a "$LOG"; }
record() { RUNV[$1]="${RUNV[$1]:-} $2"; } # KEY VALUE
finish() { # KEY: median of the recorded runs into RESULT
    [ -n "${RUNV[$1]:-}" ] || return 0
    RESULT[$1]=$(tr ' ' '\n' <<<"${RUNV[$1]}" | grep . | median)
}

# --- server state ------------------------------------------------------------------
# SRV[name/key]: pid, smb, nfs, mnt (MOUNT port), export (NFS path), dir (the
# directory the server serves, empty for MemoryFs), cpu (specs for
# benchlib.py cpu).
declare -A SRV

# cpu_snap SPEC...: prints "TICKS NPROCS HZ"
cpu_snap() { python3 "$SCRIPTS/benchlib.py" cpu "$@"; }
# cpu_after NPROCS-BEFORE SPEC...: the same once per-connection children are reaped
cpu_after() { local n=$1; shift; python3 "$SCRIPTS/benchlib.py" cpu --max-procs "$n" "$@"; }
# cpu_per_gib BEFORE AFTER BYTES: server CPU seconds per GiB moved
cpu_per_gib() {
    awk -v a="${1%% *}" -v b="${2%% *}" -v hz="${2##* }" -v n="$3" \
        'BEGIN {printf "%.3f", (b-a)/hz / (n/1073741824)}'
}

# client_cpu TIMES-BEFORE TIMES-AFTER: user+system seconds of the children
# this shell reaped between two outputs of the `times` builtin (the client
# and whatever it ran; the builtin itself forks nothing, so nothing else is
# counted).
client_cpu() {
    local a b
    a=$(sed -n 2p "$1")
    b=$(sed -n 2p "$2")
    awk -v a="$a" -v b="$b" 'function secs(t, m, s) {
            m = t; sub(/m.*/, "", m); s = t; sub(/^[0-9]+m/, "", s); sub(/s$/, "", s); return m * 60 + s
        }
        BEGIN {split(a, x, " "); split(b, y, " "); printf "%.3f", secs(y[1]) + secs(y[2]) - secs(x[1]) - secs(x[2])}'
}

# timed NAME METRIC BYTES CPUSPECS -- COMMAND...: prewarm, run COMMAND once,
# record MB/s and CPU s/GiB under NAME/METRIC. Output of COMMAND in $TOUT.
TOUT=""
timed() {
    local name=$1 metric=$2 bytes=$3 specs=() l t0 t1 c0 c1 secs rc=0 cpg ccpu busy
    shift 3
    while [ "$1" != -- ]; do specs+=("$1"); shift; done
    shift
    prewarm
    l=$(load1)
    c0=$(cpu_snap "${specs[@]}")
    t0=$(now)
    times >"$W/times.0"
    TOUT=$("$@" 2>&1) || rc=$?
    times >"$W/times.1"
    t1=$(now)
    c1=$(cpu_after "$(cut -d' ' -f2 <<<"$c0")" "${specs[@]}")
    if [ $rc -ne 0 ] || grep -q NT_STATUS <<<"$TOUT"; then
        note "$name $metric failed (rc $rc): $(tail -3 <<<"$TOUT" | tr '\n' ' ')"
        return 1
    fi
    secs=$(elapsed "$t0" "$t1")
    # A client that times its own transfer (scripts/smb_copy.py) says so;
    # its start-up is then not counted.
    if grep -q '^copy_seconds: ' <<<"$TOUT"; then
        secs=$(sed -n 's/^copy_seconds: //p' <<<"$TOUT" | tail -1)
    fi
    cpg=$(cpu_per_gib "$c0" "$c1" "$bytes")
    ccpu=$(client_cpu "$W/times.0" "$W/times.1")
    busy=$(awk -v c="$ccpu" -v s="$(elapsed "$t0" "$t1")" 'BEGIN {printf "%.2f", c/s}')
    record "$name/$metric" "$(mbps "$bytes" "$secs")"
    record "$name/$metric/cpu" "$cpg"
    record "$name/$metric/client" "$busy"
    note "$name $metric: ${secs}s $(mbps "$bytes" "$secs") MB/s, server CPU $cpg s/GiB, client CPU ${ccpu}s = $busy cores (load $l)"
}

# smb_auth VARIANT: the smbclient arguments for a variant
smb_auth() {
    local a=()
    case $1 in smb2-*) a+=(-m SMB2_10) ;; esac
    case $1 in
    *-signed) a+=(-U "$BUSER%$BPASS" --client-protection=sign) ;;
    # Encrypted: the client requires it and picks the cipher (both servers
    # offer all four); the same for smbd and polyshare.
    *-aes128gcm) a+=(-U "$BUSER%$BPASS" --client-protection=encrypt "--option=client smb3 encryption algorithms=aes-128-gcm") ;;
    *-aes256gcm) a+=(-U "$BUSER%$BPASS" --client-protection=encrypt "--option=client smb3 encryption algorithms=aes-256-gcm") ;;
    *) a+=(-U guest%) ;;
    esac
    printf '%s\n' "${a[@]}"
}

smbc() { # NAME VARIANT COMMAND: smbclient against server NAME
    local args
    mapfile -t args < <(smb_auth "$2")
    smbclient "//127.0.0.1/share" -p "${SRV[$1/smb]}" "${args[@]}" -c "$3"
}

nfs_url() { # NAME PATH
    echo "nfs://127.0.0.1${SRV[$1/export]}/$2?nfsport=${SRV[$1/nfs]}&mountport=${SRV[$1/mnt]}"
}

# --- part: copy -----------------------------------------------------------------------
smb_copy() {
    local name=$1 r specs how here=${SRV[$1/dir]}
    read -ra specs <<<"${SRV[$name/cpu]}"
    smbc "$name" smb3-signed "put $SRC copy-src.bin" >/dev/null || { note "$name copy: put failed"; return 1; }
    for r in $(seq "$RUNS"); do
        for how in server client; do
            smbc "$name" smb3-signed "del copy-dst.bin" >/dev/null 2>&1 || true
            timed "$name" "copy/$how" "$SIZE_BYTES" "${specs[@]}" -- \
                python3 "$SCRIPTS/smb_copy.py" "${SRV[$name/smb]}" "$BUSER" "$BPASS" copy-src.bin copy-dst.bin "$how" || return 1
            if [ -n "$here" ] && ! cmp -s "$SRC" "$here/copy-dst.bin"; then note "$name copy/$how run $r: data differs"; return 1; fi
        done
    done
    smbc "$name" smb3-signed "del copy-src.bin; del copy-dst.bin" >/dev/null 2>&1 || true
}

# --- part: transfers ------------------------------------------------------------------
# smb_transfer_run NAME VARIANT RUN: one put, get (compared) and get-null
smb_transfer_run() {
    local name=$1 v=$2 r=$3 f=bench-$2.bin specs
    read -ra specs <<<"${SRV[$name/cpu]}"
    timed "$name" "$v/put" "$SIZE_BYTES" "${specs[@]}" -- smbc "$name" "$v" "put $SRC $f" || return 1
    rm -f "$DST"
    timed "$name" "$v/get" "$SIZE_BYTES" "${specs[@]}" -- smbc "$name" "$v" "get $f $DST" || return 1
    if ! cmp -s "$SRC" "$DST"; then note "$name $v/get run $r: data differs"; return 1; fi
    rm -f "$DST"
    timed "$name" "$v/get-null" "$SIZE_BYTES" "${specs[@]}" -- smbc "$name" "$v" "get $f /dev/null" || return 1
}

smb_transfers() {
    local name=$1 r v
    for r in $(seq "$RUNS"); do
        for v in $SMB_VARIANTS; do
            smb_transfer_run "$name" "$v" "$r" || return 1
        done
    done
    for v in $SMB_VARIANTS; do smbc "$name" "$v" "del bench-$v.bin" >/dev/null 2>&1 || true; done
}

# nfs_transfer_run NAME RUN: one nfs-cp in, nfs-cp out (compared), nfs-cat
nfs_transfer_run() {
    local name=$1 r=$2 f specs here=${SRV[$1/dir]}
    read -ra specs <<<"${SRV[$name/cpu]}"
    # nfs-cp creates exclusively, so each run writes a new name.
    f=bench-nfs-$r.bin
    timed "$name" nfs/write "$SIZE_BYTES" "${specs[@]}" -- nfs-cp "$SRC" "$(nfs_url "$name" "$f")" || return 1
    rm -f "$DST"
    timed "$name" nfs/read "$SIZE_BYTES" "${specs[@]}" -- nfs-cp "$(nfs_url "$name" "$f")" "$DST" || return 1
    if ! cmp -s "$SRC" "$DST"; then note "$name nfs/read run $r: data differs"; return 1; fi
    rm -f "$DST"
    timed "$name" nfs/cat-null "$SIZE_BYTES" "${specs[@]}" -- \
        sh -c 'nfs-cat "$1" >/dev/null' nfs-cat "$(nfs_url "$name" "$f")" || return 1
    [ -z "$here" ] || rm -f "$here/$f"
}

nfs_transfers() {
    local name=$1 r
    for r in $(seq "$RUNS"); do
        nfs_transfer_run "$name" "$r" || return 1
    done
}

# Interleaved (BENCH_INTERLEAVE=1, the default): every server is up at once
# and each run of each transfer goes to every server in turn before the next
# run, so a host whose speed drifts during the benchmark (this VM's has
# changed by a third within minutes; scripts/copy_ceiling.py shows it) slows
# every column alike instead of whichever server ran last.
interleaved_transfers() {
    local up=() s v r
    for s in $SERVERS; do start_server "$s" && up+=("$s"); done
    for v in $SMB_VARIANTS; do
        for r in $(seq "$RUNS"); do
            for s in "${up[@]}"; do
                [ -z "${SRV[$s/smb]:-}" ] || smb_transfer_run "$s" "$v" "$r" || true
            done
        done
        for s in "${up[@]}"; do
            [ -z "${SRV[$s/smb]:-}" ] || smbc "$s" "$v" "del bench-$v.bin" >/dev/null 2>&1 || true
        done
    done
    for r in $(seq "$RUNS"); do
        for s in "${up[@]}"; do
            [ -z "${SRV[$s/nfs]:-}" ] || nfs_transfer_run "$s" "$r" || true
        done
    done
    for s in "${up[@]}"; do stop_server "$s"; done
}

# The hol and lease parts with every server up, LATENCY_ROUNDS rounds, each
# round on every server in turn: a drifting host slows all servers alike,
# and each figure is the median over the rounds (parse_probe).
interleaved_latency() {
    local up=() s r
    for s in $SERVERS; do start_server "$s" && up+=("$s"); done
    for r in $(seq "$LATENCY_ROUNDS"); do
        note "latency round $r of $LATENCY_ROUNDS"
        for s in "${up[@]}"; do
            if has_part hol; then hol "$s" || true; fi
            if has_part lease && [[ $s == polyshare-* ]]; then lease_latency "$s" || true; fi
        done
    done
    for s in "${up[@]}"; do stop_server "$s"; done
}

# --- part: echo -------------------------------------------------------------------------
smb_echo() {
    local name=$1 out rate l
    l=$(load1)
    out=$(timeout $((ECHO_SECS + 60)) smbtorture "//127.0.0.1/share" -p "${SRV[$name/smb]}" -U guest% \
        --option=torture:timelimit="$ECHO_SECS" smb2.bench.echo 2>&1) || true
    rate=$(grep -o 'num/s=[0-9]*' <<<"$out" | cut -d= -f2 | tail -n +2 | median)
    if [ "$rate" = "n/a" ] || ! grep -q '^success: echo' <<<"$out"; then
        note "$name smb-echo failed: $(tail -5 <<<"$out" | tr '\n' ' ')"
        return 1
    fi
    RESULT[$name/smb-echo]=$rate
    note "$name smb-echo: $rate req/s over ${ECHO_SECS}s, 4 connections qdepth 1 (load $l)"
}

# --- load files for hol / lease ---------------------------------------------------------
ensure_load_files() { # NAME: load.bin over SMB, load-nfs.bin over NFS (untimed)
    local name=$1
    if [ -n "${SRV[$name/smb]:-}" ] && [ -z "${SRV[$name/loadsmb]:-}" ]; then
        smbc "$name" smb3-guest "put $SRC load.bin" >/dev/null 2>&1 && SRV[$name/loadsmb]=1
    fi
    if [ -n "${SRV[$name/nfs]:-}" ] && [ -z "${SRV[$name/loadnfs]:-}" ]; then
        nfs-cp "$SRC" "$(nfs_url "$name" load-nfs.bin)" >/dev/null 2>&1 && SRV[$name/loadnfs]=1
    fi
    return 0
}

# With BENCH_HOL_RATE_MIB the load streams through pv at that rate, so
# that every server carries the same load (unlimited, a faster server
# streams more bytes, and the probe shares the cores with a busier client).
smb_load_cmd() { # NAME: a shell command streaming load.bin to /dev/null once
    if [ -n "$HOL_RATE_MIB" ]; then
        printf "smbclient //127.0.0.1/share -p %s -U guest%% -c 'get load.bin -' | pv -q -L %sm >/dev/null" \
            "${SRV[$1/smb]}" "$HOL_RATE_MIB"
    else
        printf "smbclient //127.0.0.1/share -p %s -U guest%% -c 'get load.bin /dev/null'" "${SRV[$1/smb]}"
    fi
}
nfs_load_cmd() { # NAME: the same over NFS
    if [ -n "$HOL_RATE_MIB" ]; then
        printf "nfs-cat '%s' | pv -q -L %sm >/dev/null" "$(nfs_url "$1" load-nfs.bin)" "$HOL_RATE_MIB"
    else
        printf "nfs-cat '%s'" "$(nfs_url "$1" load-nfs.bin)"
    fi
}

# parse_probe NAME KEY LINE: records LINE's median, p99 and max (us) as
# one round of NAME/KEY and sets RESULT[NAME/KEY] to "median / p99 / max",
# each the median over the rounds so far (one round: that round's figures).
parse_probe() {
    local f v
    for f in median p99 max; do
        v=$(grep -o "${f}_us=[0-9.]*" <<<"$3" | cut -d= -f2)
        [ -z "$v" ] || record "$1/$2/$f" "$v"
    done
    RESULT[$1/$2]="$(rounds "$1/$2/median") / $(rounds "$1/$2/p99") / $(rounds "$1/$2/max")"
}
rounds() { tr ' ' '\n' <<<"${RUNV[$1]:-}" | grep . | median; }

# --- part: hol ------------------------------------------------------------------------------
# probe NAME LABEL ARGS...: runs echo_under_load.py with ARGS (idle, then
# under its --load), notes its PROBE lines and records them as LABEL/idle and
# LABEL/load.
probe() {
    local name=$1 label=$2 out l line
    shift 2
    prewarm
    l=$(load1)
    out=$(timeout $((HOL_SECS * 2 + 120)) python3 "$SCRIPTS/echo_under_load.py" "$@" --secs "$HOL_SECS" \
        --interval-ms "$HOL_INTERVAL_MS" 2>&1) || true
    if ! grep -q 'phase=load' <<<"$out"; then
        note "$name $label failed: $(tail -3 <<<"$out" | tr '\n' ' ')"
        return
    fi
    while read -r line; do
        note "$name $line (load $l)"
        case $line in
        *phase=idle*) parse_probe "$name" "$label/idle" "$line" ;;
        *phase=load*) parse_probe "$name" "$label/load" "$line" ;;
        esac
    done < <(grep '^PROBE' <<<"$out")
}

hol() {
    local name=$1 auth args
    ensure_load_files "$name"
    if [ -n "${SRV[$name/smb]:-}" ]; then
        for auth in guest signed; do
            args=()
            [ "$auth" = guest ] || args=(--user "$BUSER" --password "$BPASS")
            probe "$name" "hol/smb-echo-$auth" --probe smb-echo --port "${SRV[$name/smb]}" "${args[@]}" \
                --load "$(smb_load_cmd "$name")"
        done
    fi
    if [ -n "${SRV[$name/nfs]:-}" ]; then
        probe "$name" "hol/nfs-null" --probe nfs-null --port "${SRV[$name/nfs]}" \
            --load "$(nfs_load_cmd "$name")"
    fi
}

# --- part: lease ------------------------------------------------------------------------------
lease_latency() {
    local name=$1 out l line
    [ "$LATENCY_RUNS" -gt 0 ] || return 0
    ensure_load_files "$name"
    prewarm
    l=$(load1)
    out=$(timeout 600 python3 "$SCRIPTS/lease_latency.py" "${SRV[$name/smb]}" "${SRV[$name/nfs]}" "$LATENCY_RUNS" \
        --load "$(smb_load_cmd "$name")" 2>&1) || true
    if ! grep -q '^LATENCY ' <<<"$out"; then
        note "$name lease-break latency failed: $(tail -3 <<<"$out" | tr '\n' ' ')"
        return 1
    fi
    line=$(grep '^LATENCY ' <<<"$out")
    parse_probe "$name" lease/idle "$line"
    note "$name $line (load $l)"
    line=$(grep '^LATENCY-LOAD ' <<<"$out" || true)
    if [ -n "$line" ]; then
        parse_probe "$name" lease/load "$line"
        note "$name $line (load $l)"
    else
        note "$name lease-break latency under load failed: $(tail -3 <<<"$out" | tr '\n' ' ')"
    fi
}

# --- part: many ---------------------------------------------------------------------------------
MANY_SRC=""
many_source() {
    [ -z "$MANY_SRC" ] || return 0
    if [ "$MANY_MIB" = "$SIZE_MIB" ]; then
        MANY_SRC=$SRC
    else
        MANY_SRC=$W/many-source.bin
        head -c $((MANY_MIB * 1024 * 1024)) /dev/urandom >"$MANY_SRC"
        chmod 644 "$MANY_SRC"
    fi
}

# many_files NAME: many-K.bin (SMB) / many-nfs-K.bin (NFS) on the server,
# copied into its directory when it has one, uploaded otherwise (untimed).
many_files() {
    local name=$1 k d=${SRV[$1/dir]}
    many_source
    for k in $(seq "$MANY_CLIENTS"); do
        if [ -n "${SRV[$name/smb]:-}" ]; then
            if [ -n "$d" ]; then cp "$MANY_SRC" "$d/many-$k.bin"; chmod 644 "$d/many-$k.bin"
            else smbc "$name" smb3-guest "put $MANY_SRC many-$k.bin" >/dev/null 2>&1 || note "$name: upload of many-$k.bin failed"; fi
        fi
        if [ -n "${SRV[$name/nfs]:-}" ]; then
            if [ -n "$d" ]; then cp "$MANY_SRC" "$d/many-nfs-$k.bin"; chmod 644 "$d/many-nfs-$k.bin"
            else nfs-cp "$MANY_SRC" "$(nfs_url "$name" "many-nfs-$k.bin")" >/dev/null 2>&1 || note "$name: upload of many-nfs-$k.bin failed"; fi
        fi
    done
}

# many_clients SMB-SERVER NFS-SERVER: start the clients ("-" for none), wait
# for all; the exit status is the number of failures.
many_clients() {
    local s=$1 n=$2 k pids=() fails=0 p
    for k in $(seq "$MANY_CLIENTS"); do
        if [ "$s" != - ]; then
            smbc "$s" smb3-guest "get many-$k.bin $W/many-got-$k.bin" >"$W/many-smb-$k.log" 2>&1 &
            pids+=($!)
        fi
        if [ "$n" != - ]; then
            nfs-cp "$(nfs_url "$n" "many-nfs-$k.bin")" "$W/many-nfs-got-$k.bin" >"$W/many-nfs-$k.log" 2>&1 &
            pids+=($!)
        fi
    done
    for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
    if grep -l NT_STATUS "$W"/many-*.log >/dev/null 2>&1; then fails=$((fails + 1)); fi
    rm -f "$W"/many-got-*.bin "$W"/many-nfs-got-*.bin "$W"/many-*.log
    return $fails
}

# many_run NAME METRIC SMB-SERVER NFS-SERVER CPUSPEC...
many_run() {
    local name=$1 metric=$2 s=$3 n=$4 r l t0 t1 c0 c1 secs bytes clients=0 cpg
    shift 4
    [ "$s" = - ] || clients=$((clients + MANY_CLIENTS))
    [ "$n" = - ] || clients=$((clients + MANY_CLIENTS))
    bytes=$((clients * MANY_MIB * 1024 * 1024))
    for r in $(seq "$RUNS"); do
        prewarm
        l=$(load1)
        c0=$(cpu_snap "$@")
        t0=$(now)
        if ! many_clients "$s" "$n"; then note "$name $metric run $r: a client failed"; return 1; fi
        t1=$(now)
        c1=$(cpu_after "$(cut -d' ' -f2 <<<"$c0")" "$@")
        secs=$(elapsed "$t0" "$t1")
        cpg=$(cpu_per_gib "$c0" "$c1" "$bytes")
        record "$name/$metric" "$(mibps "$bytes" "$secs")"
        record "$name/$metric/cpu" "$cpg"
        note "$name $metric run $r: $clients clients x ${MANY_MIB} MiB in ${secs}s, $(mibps "$bytes" "$secs") MiB/s aggregate, server CPU $cpg s/GiB (load $l)"
    done
}

many_polyshare() {
    local name=$1 specs
    read -ra specs <<<"${SRV[$name/cpu]}"
    many_files "$name"
    many_run "$name" many/smb "$name" - "${specs[@]}" || true
    many_run "$name" many/nfs - "$name" "${specs[@]}" || true
    many_run "$name" many/mixed "$name" "$name" "${specs[@]}" || true
}

# --- part: bigdir ---------------------------------------------------------------------------------
# bigdir_one NAME PROTO COUNT: create dir big-PROTO-COUNT, then list it RUNS times.
# If creation over the protocol times out or fails and the server serves a
# directory, the files are created there directly instead (noted as
# "pre-created locally"), so the listing is still measured.
bigdir_one() {
    local name=$1 proto=$2 count=$3 dir=big-$2-$3 out rc l t0 t1 secs n r d=${SRV[$1/dir]} how=protocol
    l=$(load1)
    rc=0
    if [ "$BIGDIR_PRECREATE" = 1 ] && [ -n "$d" ]; then
        how=local
    elif [ "$proto" = smb ]; then
        out=$(timeout -k 10 "$BIGDIR_TIMEOUT" python3 "$SCRIPTS/bigdir.py" smb --port "${SRV[$name/smb]}" --dir "$dir" \
            --count "$count" --conns "$BIGDIR_CONNS" 2>&1) || rc=$?
    else
        out=$(timeout -k 10 "$BIGDIR_TIMEOUT" python3 "$SCRIPTS/bigdir.py" nfs --port "${SRV[$name/nfs]}" \
            --mount-port "${SRV[$name/mnt]}" --export "${SRV[$name/export]}" --dir "$dir" \
            --count "$count" --conns "$BIGDIR_CONNS" 2>&1) || rc=$?
    fi
    if [ "$how" = protocol ]; then
        if [ $rc -eq 0 ] && grep -q '^CREATED' <<<"$out"; then
            RESULT[$name/bigdir/$proto-create-$count]=$(grep -o 'files_per_sec=[0-9]*' <<<"$out" | cut -d= -f2)
            note "$name bigdir $(grep '^CREATED' <<<"$out") (load $l)"
        else
            if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
                RESULT[$name/bigdir/$proto-create-$count]=timeout
                note "$name bigdir $proto create $count: timeout after ${BIGDIR_TIMEOUT}s (load $l)"
            else
                RESULT[$name/bigdir/$proto-create-$count]=failed
                note "$name bigdir $proto create $count failed (rc $rc): $(tail -3 <<<"$out" | tr '\n' ' ')"
            fi
            [ -n "$d" ] || return 1
            how=local
            sleep 1 # let the server finish what the killed client had in flight
            rm -rf "${d:?}/$dir"
        fi
    fi
    if [ "$how" = local ]; then
        out=$(python3 "$SCRIPTS/bigdir.py" local --path "$d/$dir" --count "$count" 2>&1) || {
            note "$name bigdir local create $count failed: $out"
            return 1
        }
        chmod 777 "$d/$dir"
        [ -n "${RESULT[$name/bigdir/$proto-create-$count]:-}" ] || RESULT[$name/bigdir/$proto-create-$count]="(local)"
        RESULT[$name/bigdir/$proto-how-$count]=local
        note "$name bigdir $proto $count: files pre-created locally in $d/$dir"
    fi
    for r in $(seq "$RUNS"); do
        l=$(load1)
        rc=0
        t0=$(now)
        if [ "$proto" = smb ]; then
            out=$(timeout -k 5 "$BIGDIR_TIMEOUT" smbclient //127.0.0.1/share -p "${SRV[$name/smb]}" -U guest% \
                -c "ls $dir/*" 2>&1) || rc=$?
        else
            out=$(timeout -k 5 "$BIGDIR_TIMEOUT" nfs-ls "$(nfs_url "$name" "$dir")" 2>&1) || rc=$?
        fi
        t1=$(now)
        if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
            RESULT[$name/bigdir/$proto-list-$count]=timeout
            note "$name bigdir $proto list $count run $r: timeout after ${BIGDIR_TIMEOUT}s (load $l)"
            return 1
        fi
        n=$(grep -cE '(^|[ /])f[0-9]{7}( |$)' <<<"$out" || true)
        secs=$(elapsed "$t0" "$t1")
        if [ $rc -ne 0 ] || [ "$n" -ne "$count" ]; then
            note "$name bigdir $proto list $count run $r: rc $rc, $n entries (want $count): $(tail -2 <<<"$out" | tr '\n' ' ')"
            return 1
        fi
        record "$name/bigdir/$proto-list-$count" "$secs"
        note "$name bigdir $proto list $count run $r: ${secs}s, $n entries (load $l)"
    done
    finish "$name/bigdir/$proto-list-$count"
}

bigdir() {
    local name=$1 c proto
    for proto in smb nfs; do
        [ -n "${SRV[$name/$proto]:-}" ] || continue
        for c in $BIGDIR_COUNTS; do
            bigdir_one "$name" "$proto" "$c" || true
        done
        [ -z "${SRV[$name/dir]}" ] || rm -rf "${SRV[$name/dir]}"/big-"$proto"-*
    done
}

# --- servers -----------------------------------------------------------------------
ensure_unix_user() {
    if ! id "$BUSER" >/dev/null 2>&1; then
        useradd -M -N -s /usr/sbin/nologin "$BUSER"
        CREATED_USER=$BUSER
    fi
}

start_smbd() {
    local d=$W/smbd port pid
    mkdir -p "$d"/{share,run,lock,state,cache,private}
    chmod 755 "$d"
    chmod 777 "$d/share"
    port=$(free_port)
    cat >"$d/smb.conf" <<EOF
[global]
  server role = standalone server
  map to guest = Bad User
  passdb backend = tdbsam:$d/private/passdb.tdb
  smb ports = $port
  bind interfaces only = yes
  interfaces = lo
  pid directory = $d/run
  lock directory = $d/lock
  state directory = $d/state
  cache directory = $d/cache
  private dir = $d/private
  ncalrpc dir = $d/run/ncalrpc
  log file = $d/log.smbd
  log level = 0
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
[share]
  path = $d/share
  guest ok = yes
  read only = no
  create mask = 0666
EOF
    # The signed runs need a user: a Unix account (created if missing,
    # removed at exit) with its SMB password in this run's private passdb.
    ensure_unix_user
    printf '%s\n%s\n' "$BPASS" "$BPASS" | pdbedit -s "$d/smb.conf" -a -u "$BUSER" -t >/dev/null
    # Its own session: smbd signals its whole process group when it stops,
    # and the CPU figures sum every process of this session.
    setsid smbd -F --no-process-group -s "$d/smb.conf" >"$d/stdout" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if ! wait_port "$port"; then note "smbd did not start: $(tail -5 "$d/stdout")"; stop "$pid"; return 1; fi
    SRV[smbd/pid]=$pid SRV[smbd/smb]=$port SRV[smbd/dir]=$d/share SRV[smbd/cpu]="session:$pid"
    note "smbd $(smbd -V) on port $port, share on $d/share"
}

stop_smbd() { stop "${SRV[smbd/pid]}"; rm -rf "$W/smbd/share"; }

RPCB=""
start_ganesha() {
    local d=$W/ganesha nfs mnt pid
    mkdir -p "$d"/{export,recovery}
    chmod 777 "$d/export"
    if ! (exec 3<>/dev/tcp/127.0.0.1/111) 2>/dev/null; then
        rpcbind -f -w >"$d/rpcbind.log" 2>&1 &
        RPCB=$!
        PIDS+=("$RPCB")
        wait_port 111 10 || { note "rpcbind did not start"; stop "$RPCB"; RPCB=""; return 1; }
    fi
    nfs=$(free_port)
    mnt=$(free_port)
    cat >"$d/ganesha.conf" <<EOF
NFS_CORE_PARAM {
  NFS_Port = $nfs; MNT_Port = $mnt; NLM_Port = $(free_port); Rquota_Port = $(free_port);
  Bind_addr = 127.0.0.1;
  Protocols = 3;
  Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false;
}
NFSV4 { Graceless = true; RecoveryBackend = fs; RecoveryRoot = $d/recovery; }
EXPORT {
  Export_Id = 1; Path = $d/export; Pseudo = /export; Access_Type = RW;
  Squash = No_Root_Squash; Protocols = 3; Transports = TCP; SecType = sys;
  FSAL { Name = VFS; }
}
LOG { Default_Log_Level = WARN; }
EOF
    ganesha.nfsd -F -f "$d/ganesha.conf" -L "$d/ganesha.log" -p "$d/ganesha.pid" >/dev/null 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if ! wait_port "$nfs" 30; then
        note "ganesha did not start: $(grep -v DBUS "$d/ganesha.log" | tail -3 | tr '\n' ' ')"
        stop "$pid"
        return 1
    fi
    SRV[ganesha/pid]=$pid SRV[ganesha/nfs]=$nfs SRV[ganesha/mnt]=$mnt SRV[ganesha/export]=$d/export
    SRV[ganesha/dir]=$d/export SRV[ganesha/cpu]="pid:$pid"
    note "$(ganesha.nfsd -v 2>&1 | head -1 | tr -s ' ') (FSAL VFS) on port $nfs, mount $mnt, export $d/export"
}

stop_ganesha() {
    stop "${SRV[ganesha/pid]}"
    if [ -n "$RPCB" ]; then stop "$RPCB"; RPCB=""; fi
    rm -rf "$W/ganesha/export"
}

# start_polyshare NAME [--root DIR]
start_polyshare() {
    local name=$1 d=$W/$1 pid smb nfs i root=""
    shift
    [ "${1:-}" != --root ] || root=$2
    mkdir -p "$d"
    if [ ! -x "$BIN" ]; then note "$name: $BIN missing (build failed?)"; return 1; fi
    # shellcheck disable=SC2086 # BENCH_POLYSHARE_ARGS is a list of words
    "$BIN" --smb-port 0 --nfs-port 0 --log warn --user "$BUSER:$BPASS" ${BENCH_POLYSHARE_ARGS:-} "$@" >"$d/stdout" 2>"$d/stderr" &
    pid=$!
    PIDS+=("$pid")
    for i in $(seq 300); do grep -q '^LISTENING' "$d/stdout" && break; sleep 0.1; done
    if ! grep -q '^LISTENING' "$d/stdout"; then
        note "$name did not start: $(tail -3 "$d/stderr" | tr '\n' ' ')"
        stop "$pid"
        return 1
    fi
    smb=$(grep -o 'smb=[0-9]*' "$d/stdout" | head -1 | cut -d= -f2)
    nfs=$(grep -o 'nfs=[0-9]*' "$d/stdout" | head -1 | cut -d= -f2)
    SRV[$name/pid]=$pid SRV[$name/smb]=$smb SRV[$name/nfs]=$nfs SRV[$name/mnt]=$nfs SRV[$name/export]=/share
    SRV[$name/dir]=$root SRV[$name/cpu]="pid:$pid"
    note "$name (tokio_server ${*:-in memory}) smb port $smb, nfs port $nfs"
}

stop_polyshare() {
    local name=$1 pid=${SRV[$1/pid]}
    if ! kill -0 "$pid" 2>/dev/null; then note "$name exited during the run: $(tail -3 "$W/$name/stderr" | tr '\n' ' ')"; fi
    stop "$pid"
}

start_server() { # NAME: any server of BENCH_SERVERS
    case $1 in
    smbd) start_smbd ;;
    ganesha) start_ganesha ;;
    polyshare-local)
        mkdir -p "$W/local-root"
        chmod 777 "$W/local-root" # as the reference shares: NFS callers may be squashed
        start_polyshare "$1" --root "$W/local-root"
        ;;
    polyshare-memory) start_polyshare "$1" ;;
    *)
        echo "unknown server $1" >&2
        return 1
        ;;
    esac
}

stop_server() { # NAME
    case $1 in
    smbd) stop_smbd ;;
    ganesha) stop_ganesha ;;
    polyshare-*) stop_polyshare "$1" ;;
    esac
    [ "$1" != polyshare-local ] || rm -rf "$W/local-root"
}

# --- run -------------------------------------------------------------------------------
note "bench: ${SIZE_MIB} MiB file, ${RUNS} runs each (median), parts: $PARTS; servers: $SERVERS; $(nproc) cores; scratch on $TMPBASE; prewarm ${PREWARM_MIB} MiB"
note "start: $(date -u +%FT%TZ), $(uptime | sed 's/.*load/load/')"

if [[ " $SERVERS " == *" polyshare-"* ]] && [ -z "${BENCH_NO_BUILD:-}" ]; then
    echo "building polyshare (release)"
    cargo build --release --example tokio_server || echo "polyshare build failed; its column stays empty"
fi

# Transfers first, interleaved across the servers (or, with
# BENCH_INTERLEAVE=0, server by server in the loop below).
SEQ_TRANSFERS=
if has_part transfers; then
    if [ "${BENCH_INTERLEAVE:-1}" = 1 ]; then interleaved_transfers; else SEQ_TRANSFERS=1; fi
fi

# Then hol and lease, interleaved the same way.
SEQ_LATENCY=
if has_part hol || has_part lease; then
    if [ "${BENCH_INTERLEAVE:-1}" = 1 ]; then interleaved_latency; else SEQ_LATENCY=1; fi
fi

# The other parts, server by server (none left: no server to start).
[ -n "$SEQ_TRANSFERS" ] || [ -n "$SEQ_LATENCY" ] || [ -n "$(tr ' ' '\n' <<<"$PARTS" | grep -vx transfers | grep -vx hol | grep -vx lease | grep . || true)" ] || SERVERS_LEFT=
for s in ${SERVERS_LEFT-$SERVERS}; do
    case $s in
    smbd)
        start_smbd || continue
        if [ -n "$SEQ_TRANSFERS" ]; then smb_transfers smbd || true; fi
        if has_part echo; then smb_echo smbd || true; fi
        if [ -n "$SEQ_LATENCY" ] && has_part hol; then hol smbd || true; fi
        if has_part bigdir; then bigdir smbd || true; fi
        if has_part copy; then smb_copy smbd || true; fi
        stop_smbd
        ;;
    ganesha)
        start_ganesha || continue
        if [ -n "$SEQ_TRANSFERS" ]; then nfs_transfers ganesha || true; fi
        if [ -n "$SEQ_LATENCY" ] && has_part hol; then hol ganesha || true; fi
        if has_part bigdir; then bigdir ganesha || true; fi
        stop_ganesha
        ;;
    polyshare-local | polyshare-memory)
        start_server "$s" || continue
        if [ -n "$SEQ_TRANSFERS" ]; then smb_transfers "$s" || true; nfs_transfers "$s" || true; fi
        if has_part echo; then smb_echo "$s" || true; fi
        if [ -n "$SEQ_LATENCY" ] && has_part hol; then hol "$s" || true; fi
        if [ -n "$SEQ_LATENCY" ] && has_part lease; then lease_latency "$s" || true; fi
        if has_part many; then many_polyshare "$s" || true; fi
        if has_part bigdir; then bigdir "$s" || true; fi
        if has_part copy; then smb_copy "$s" || true; fi
        stop_server "$s"
        ;;
    *) echo "unknown server $s" >&2 ;;
    esac
done

# The kernel's own copy rate on the scratch file system: a ceiling for every
# server's server-side copy there (scripts/copy_ceiling.py).
if has_part copy; then
    prewarm
    while read -r line; do
        note "$line (load $(load1))"
        t=$(grep -o 'threads=[0-9]*' <<<"$line" | cut -d= -f2)
        RESULT[ceiling/$t]="$(grep -o 'median_mb_s=[0-9.]*' <<<"$line" | cut -d= -f2), $(grep -o 'cpu_s_per_gib=[0-9.]*' <<<"$line" | cut -d= -f2)"
    done < <(python3 "$SCRIPTS/copy_ceiling.py" "$W" "$SIZE_MIB" "$RUNS" 2>&1 | grep '^CEILING' || true)
fi

# The references for "many": smbd and ganesha at the same time, so the mixed
# case has both protocols served at once, as polyshare serves them.
if has_part many && { has_server smbd || has_server ganesha; }; then
    sm=- gn=- specs=()
    if has_server smbd && start_smbd; then sm=smbd; read -ra x <<<"${SRV[smbd/cpu]}"; specs+=("${x[@]}"); many_files smbd; fi
    if has_server ganesha && start_ganesha; then gn=ganesha; read -ra x <<<"${SRV[ganesha/cpu]}"; specs+=("${x[@]}"); many_files ganesha; fi
    if [ "$sm" != - ]; then read -ra x <<<"${SRV[smbd/cpu]}"; many_run smbd many/smb smbd - "${x[@]}" || true; fi
    if [ "$gn" != - ]; then read -ra x <<<"${SRV[ganesha/cpu]}"; many_run ganesha many/nfs - ganesha "${x[@]}" || true; fi
    if [ "$sm" != - ] && [ "$gn" != - ]; then many_run smbd+ganesha many/mixed smbd ganesha "${specs[@]}" || true; fi
    [ "$sm" = - ] || stop_smbd
    [ "$gn" = - ] || stop_ganesha
fi
note "end: $(date -u +%FT%TZ), $(uptime | sed 's/.*load/load/')"

for k in "${!RUNV[@]}"; do finish "$k"; done

# --- tables -------------------------------------------------------------------------------
get() { echo "${RESULT[$1]:-n/a}"; }
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {if (a == "n/a" || b == "n/a" || b == 0 || a == "timeout" || b == "timeout") print "n/a"; else printf "%.2f", a/b}'
}
POLY=()
for s in polyshare-local polyshare-memory; do has_server "$s" && POLY+=("$s"); done
colname() { case $1 in polyshare-local) echo "polyshare LocalFs" ;; *) echo "polyshare MemoryFs" ;; esac; }
polyhead() { # extra header cells for each polyshare column: LABEL...
    local s l
    for s in "${POLY[@]+"${POLY[@]}"}"; do for l in "$@"; do printf ' %s %s |' "$(colname "$s")" "$l"; done; done
}
polysep() { local s l; for s in "${POLY[@]+"${POLY[@]}"}"; do for l in "$@"; do printf ' ---: |'; done; done; }
ref_of() { case $1 in nfs/* | hol/nfs-* | many/nfs) echo ganesha ;; many/mixed) echo smbd+ganesha ;; *) echo smbd ;; esac; }

{
    echo "## polyshare vs reference servers, loopback, $(nproc) cores, $(date -u +%F)"
    echo
    echo "File ${SIZE_MIB} MiB on $TMPBASE; ${PREWARM_MIB} MiB memory prewarm before each timed transfer;" \
        "median of ${RUNS} runs; ratio = polyshare / reference (throughput: higher is better for polyshare;" \
        "CPU: lower is better). MB/s = 10^6 bytes/s. CPU = server user+system seconds per GiB moved."
    if has_part transfers; then
        echo
        echo "### Single transfers"
        echo
        echo "| transfer | ref | ref MB/s | ref CPU s/GiB |$(polyhead MB/s ratio "CPU s/GiB" "CPU ratio")"
        echo "| --- | --- | ---: | ---: |$(polysep a b c d)"
        for m in $(for v in $SMB_VARIANTS; do echo "$v/put $v/get $v/get-null"; done) nfs/write nfs/read nfs/cat-null; do
            ref=$(ref_of "$m")
            row="| $m | $ref | $(get "$ref/$m") | $(get "$ref/$m/cpu") |"
            for s in "${POLY[@]+"${POLY[@]}"}"; do
                row+=" $(get "$s/$m") | $(ratio "$(get "$s/$m")" "$(get "$ref/$m")") | $(get "$s/$m/cpu") | $(ratio "$(get "$s/$m/cpu")" "$(get "$ref/$m/cpu")") |"
            done
            echo "$row"
        done
        echo
        echo
        echo "Client CPU during each transfer (user+system seconds of the client process over wall seconds:" \
            "1.00 = one core busy for the whole transfer; smbclient and nfs-cp/nfs-cat are single-threaded):"
        echo
        echo "| transfer | ref | ref client cores |$(polyhead "client cores")"
        echo "| --- | --- | ---: |$(polysep a)"
        for m in $(for v in $SMB_VARIANTS; do echo "$v/put $v/get $v/get-null"; done) nfs/write nfs/read nfs/cat-null; do
            ref=$(ref_of "$m")
            row="| $m | $ref | $(get "$ref/$m/client") |"
            for s in "${POLY[@]+"${POLY[@]}"}"; do row+=" $(get "$s/$m/client") |"; done
            echo "$row"
        done
        echo
        echo "smbX-guest: \`-U guest%\` (unsigned); smbX-signed: \`-U $BUSER%... --client-protection=sign\`;" \
            "smb3-aes128gcm, smb3-aes256gcm: \`-U $BUSER%... --client-protection=encrypt\` with that cipher;" \
            "smb3: default dialect (3.1.1); smb2: \`-m SMB2_10\`. get = to a file on $TMPBASE; get-null = to /dev/null;" \
            "nfs/write, nfs/read = nfs-cp in, out; nfs/cat-null = nfs-cat to /dev/null."
    fi
    if has_part copy; then
        echo
        echo "### Copy within the share (smbprotocol, signed user, ${SIZE_MIB} MiB)"
        echo
        echo "| copy | ref | ref MB/s | ref CPU s/GiB |$(polyhead MB/s ratio "CPU s/GiB" "CPU ratio")"
        echo "| --- | --- | ---: | ---: |$(polysep a b c d)"
        for m in copy/server copy/client; do
            row="| $m | smbd | $(get "smbd/$m") | $(get "smbd/$m/cpu") |"
            for s in "${POLY[@]+"${POLY[@]}"}"; do
                row+=" $(get "$s/$m") | $(ratio "$(get "$s/$m")" "$(get "smbd/$m")") | $(get "$s/$m/cpu") | $(ratio "$(get "$s/$m/cpu")" "$(get "smbd/$m/cpu")") |"
            done
            echo "$row"
        done
        echo
        echo "copy/server: smbclient.copyfile (FSCTL_SRV_COPYCHUNK_WRITE, 16 MiB per request); copy/client: read and write through the client."
        echo "Kernel ceiling on $TMPBASE (copy_file_range of the same size in 16 MiB calls, no server; MB/s, CPU s/GiB):" \
            "one thread $(get ceiling/1), two threads into one file $(get ceiling/2)."
    fi
    if has_part echo; then
        echo
        echo "### smbtorture smb2.bench.echo (req/s, 4 connections, queue depth 1)"
        echo
        echo "| ref | smbd |$(polyhead req/s ratio)"
        echo "| --- | ---: |$(polysep a b)"
        row="| smb-echo | $(get smbd/smb-echo) |"
        for s in "${POLY[@]+"${POLY[@]}"}"; do row+=" $(get "$s/smb-echo") | $(ratio "$(get "$s/smb-echo")" "$(get smbd/smb-echo)") |"; done
        echo "$row"
    fi
    if has_part hol || has_part lease; then
        echo
        echo "### Head-of-line latency (median / p99 / max, microseconds)"
        echo
        echo "Probe every ${HOL_INTERVAL_MS} ms for ${HOL_SECS} s idle, then ${HOL_SECS} s while another client streams a ${SIZE_MIB} MiB file in a loop" \
            "(SMB: smbclient get to /dev/null, guest; NFS: nfs-cat to /dev/null${HOL_RATE_MIB:+; both through pv -L, at most ${HOL_RATE_MIB} MiB/s}). Lease: ${LATENCY_RUNS} runs each, load = the SMB stream."
        if [ -z "$SEQ_LATENCY" ]; then
            echo "Every server up at once, ${LATENCY_ROUNDS} rounds, each round on every server in turn;" \
                "each figure is the median of that figure over the rounds (every round is in the log)."
        fi
        echo
        echo "| probe | phase | ref | ref med / p99 / max |$(polyhead "med / p99 / max")"
        echo "| --- | --- | --- | ---: |$(polysep a)"
        for m in hol/smb-echo-guest hol/smb-echo-signed hol/nfs-null lease; do
            for ph in idle load; do
                ref=$(ref_of "$m")
                [ "$m" != lease ] || ref=smbd
                rv=$(get "$ref/$m/$ph")
                [ "$m" != lease ] || rv="(echo-guest) $(get "smbd/hol/smb-echo-guest/$ph")"
                row="| $m | $ph | $ref | $rv |"
                for s in "${POLY[@]+"${POLY[@]}"}"; do row+=" $(get "$s/$m/$ph") |"; done
                echo "$row"
            done
        done
        echo
        echo "The lease row's reference is smbd's guest ECHO under the same kind of load (smbd has no NFS side to break a lease for)."
    fi
    if has_part many; then
        echo
        echo "### Many clients at once (aggregate MiB/s, MiB = 2^20 bytes; CPU s/GiB)"
        echo
        echo "$MANY_CLIENTS smbclient gets (guest, SMB 3.1.1, to $TMPBASE) and/or $MANY_CLIENTS nfs-cp outs, ${MANY_MIB} MiB each, different files, all started at once." \
            "many/mixed: both sets together; the reference is smbd and ganesha running side by side, CPU summed."
        echo
        echo "| clients | ref | ref MiB/s | ref CPU s/GiB |$(polyhead MiB/s ratio "CPU s/GiB" "CPU ratio")"
        echo "| --- | --- | ---: | ---: |$(polysep a b c d)"
        for m in many/smb many/nfs many/mixed; do
            ref=$(ref_of "$m")
            row="| $m | $ref | $(get "$ref/$m") | $(get "$ref/$m/cpu") |"
            for s in "${POLY[@]+"${POLY[@]}"}"; do
                row+=" $(get "$s/$m") | $(ratio "$(get "$s/$m")" "$(get "$ref/$m")") | $(get "$s/$m/cpu") | $(ratio "$(get "$s/$m/cpu")" "$(get "$ref/$m/cpu")") |"
            done
            echo "$row"
        done
    fi
    if has_part bigdir; then
        echo
        echo "### Large directory (listing seconds, median of ${RUNS}; creation files/s)"
        echo
        echo "Creation: scripts/bigdir.py, $BIGDIR_CONNS connections in parallel$([ "$BIGDIR_PRECREATE" = 1 ] && echo ", files pre-created locally where the server has a directory (BENCH_BIGDIR_PRECREATE=1)")." \
            "Listing: \`smbclient -c 'ls DIR/*'\` (SMB) and \`nfs-ls\` (NFS), timeout ${BIGDIR_TIMEOUT} s. Target for polyshare: list(100k) / list(10k) <= 12."
        echo
        echo "| server | proto | files | create files/s | list s | list ratio vs smallest count |"
        echo "| --- | --- | ---: | ---: | ---: | ---: |"
        first=${BIGDIR_COUNTS%% *}
        for s in smbd ganesha "${POLY[@]+"${POLY[@]}"}"; do
            has_server "$s" || continue
            for p in smb nfs; do
                for c in $BIGDIR_COUNTS; do
                    [ -n "${RESULT[$s/bigdir/$p-create-$c]:-}" ] || continue
                    echo "| $s | $p | $c | $(get "$s/bigdir/$p-create-$c")$([ -z "${RESULT[$s/bigdir/$p-how-$c]:-}" ] || echo ", listed after local pre-creation") | $(get "$s/bigdir/$p-list-$c") | $(ratio "$(get "$s/bigdir/$p-list-$c")" "$(get "$s/bigdir/$p-list-$first")") |"
                done
            done
        done
    fi
    echo
    echo "Runs:"
    echo
    echo '```'
    cat "$LOG"
    echo '```'
} >"$W/results.md"
mkdir -p "$(dirname "$OUT")"
cp "$W/results.md" "$OUT"
cat "$OUT"
echo "written to $OUT"

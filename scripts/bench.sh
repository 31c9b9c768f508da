#!/usr/bin/env bash
# End-to-end benchmark on loopback: polyshare's tokio example server beside
# reference servers, with the same clients.
#
#   SMB reference: Samba's smbd, a guest share on a temp dir.
#   NFS reference: nfs-ganesha (FSAL VFS) on a temp dir, registered with a
#                  private rpcbind (ganesha will not start without one).
#   polyshare:     `cargo build --release --example tokio_server`, once with
#                  --root on a temp dir (LocalFs), once in memory (MemoryFs).
#
# Measures: SMB write/read of one file (smbclient put/get, guest, default
# dialect), SMB small-request rate (smbtorture smb2.bench.echo), NFSv3
# write/read of one file (libnfs nfs-cp), and for polyshare the lease-break
# wakeup latency (scripts/lease_latency.py: SMB ack -> NFS WRITE reply). Each transfer runs BENCH_RUNS times;
# the median counts. Prints a markdown table and writes it to
# target/bench-results.md, with every run and the load average beside it.
#
# Knobs (environment): BENCH_SIZE_MIB (1024), BENCH_RUNS (3),
# BENCH_ECHO_SECS (10), BENCH_LATENCY_RUNS (200; 0 skips), BENCH_TMP (/dev/shm: a tmpfs, so the disk is out of
# the picture), BENCH_SERVERS ("smbd ganesha polyshare-local polyshare-memory"),
# BENCH_NO_BUILD=1 (use the polyshare binary already built).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

SIZE_MIB=${BENCH_SIZE_MIB:-1024}
RUNS=${BENCH_RUNS:-3}
ECHO_SECS=${BENCH_ECHO_SECS:-10}
LATENCY_RUNS=${BENCH_LATENCY_RUNS:-200}
TMPBASE=${BENCH_TMP:-/dev/shm}
SERVERS=${BENCH_SERVERS:-"smbd ganesha polyshare-local polyshare-memory"}
OUT=$REPO/target/bench-results.md
BIN=$REPO/target/release/examples/tokio_server

# --- tools -------------------------------------------------------------------
missing=()
command -v smbclient >/dev/null || missing+=(smbclient)
command -v smbd >/dev/null || missing+=(samba)
command -v smbtorture >/dev/null || missing+=(samba-testsuite)
command -v nfs-cp >/dev/null || missing+=(libnfs-utils)
command -v ganesha.nfsd >/dev/null || missing+=(nfs-ganesha nfs-ganesha-vfs)
command -v rpcbind >/dev/null || missing+=(rpcbind)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- scratch space and cleanup -------------------------------------------------
W=$(mktemp -d "$TMPBASE/polyshare-bench.XXXXXX")
chmod 755 "$W" # smbd's guest (nobody) must traverse it
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop() { # PID: stop one server we started and forget it
    local p=$1 q rest=()
    kill "$p" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    for q in "${PIDS[@]}"; do [ "$q" = "$p" ] || rest+=("$q"); done
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

BYTES=$((SIZE_MIB * 1024 * 1024))
SRC=$W/source.bin
DST=$W/fetched.bin
echo "making a ${SIZE_MIB} MiB source file"
head -c "$BYTES" /dev/urandom >"$SRC"

LOG=$W/runs.txt
: >"$LOG"
declare -A RESULT # "server/metric" -> value

note() { echo "$*" | tee -a "$LOG"; }

# --- transfers -------------------------------------------------------------------
# smb_transfers NAME PORT: put/get RUNS times, median MB/s into RESULT.
smb_transfers() {
    local name=$1 port=$2 r t0 t1 secs out puts=() gets=()
    for r in $(seq "$RUNS"); do
        local l; l=$(load1)
        t0=$(now)
        out=$(smbclient "//127.0.0.1/share" -p "$port" -U guest% -c "put $SRC bench.bin" 2>&1) || true
        t1=$(now)
        if grep -q NT_STATUS <<<"$out"; then note "$name smb-write run $r failed: $out"; return 1; fi
        secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b-a}')
        puts+=("$(mbps "$BYTES" "$secs")")
        note "$name smb-write run $r: ${secs}s $(mbps "$BYTES" "$secs") MB/s (load $l)"
        rm -f "$DST"
        l=$(load1)
        t0=$(now)
        out=$(smbclient "//127.0.0.1/share" -p "$port" -U guest% -c "get bench.bin $DST" 2>&1) || true
        t1=$(now)
        if grep -q NT_STATUS <<<"$out" || ! cmp -s "$SRC" "$DST"; then
            note "$name smb-read run $r failed or data differs: $out"
            return 1
        fi
        secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b-a}')
        gets+=("$(mbps "$BYTES" "$secs")")
        note "$name smb-read run $r: ${secs}s $(mbps "$BYTES" "$secs") MB/s (load $l)"
    done
    RESULT[$name/smb-write]=$(printf '%s\n' "${puts[@]}" | median)
    RESULT[$name/smb-read]=$(printf '%s\n' "${gets[@]}" | median)
    rm -f "$DST"
}

# smb_echo NAME PORT: smbtorture smb2.bench.echo, the median of its per-second
# rates after the first second.
smb_echo() {
    local name=$1 port=$2 out rate l
    l=$(load1)
    out=$(timeout $((ECHO_SECS + 60)) smbtorture "//127.0.0.1/share" -p "$port" -U guest% \
        --option=torture:timelimit="$ECHO_SECS" smb2.bench.echo 2>&1) || true
    rate=$(grep -o 'num/s=[0-9]*' <<<"$out" | cut -d= -f2 | tail -n +2 | median)
    if [ "$rate" = "n/a" ] || ! grep -q '^success: echo' <<<"$out"; then
        note "$name smb-echo failed: $(tail -5 <<<"$out" | tr '\n' ' ')"
        return 1
    fi
    RESULT[$name/smb-echo]=$rate
    note "$name smb-echo: $rate req/s over ${ECHO_SECS}s, 4 connections qdepth 1 (load $l)"
}

# nfs_transfers NAME URL-DIR QUERY [LOCAL-DIR]: nfs-cp write/read RUNS times.
# nfs-cp creates exclusively, so each run writes a new name; LOCAL-DIR, where
# the server keeps its files, lets the script remove them between runs.
nfs_transfers() {
    local name=$1 dir=$2 query=$3 here=${4:-} r t0 t1 secs out writes=() reads=() l url
    for r in $(seq "$RUNS"); do
        url="nfs://127.0.0.1$dir/bench-nfs-$r.bin?$query"
        l=$(load1)
        t0=$(now)
        out=$(nfs-cp "$SRC" "$url" 2>&1) || { note "$name nfs-write run $r failed: $out"; return 1; }
        t1=$(now)
        secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b-a}')
        writes+=("$(mbps "$BYTES" "$secs")")
        note "$name nfs-write run $r: ${secs}s $(mbps "$BYTES" "$secs") MB/s (load $l)"
        rm -f "$DST"
        l=$(load1)
        t0=$(now)
        out=$(nfs-cp "$url" "$DST" 2>&1) || { note "$name nfs-read run $r failed: $out"; return 1; }
        t1=$(now)
        if ! cmp -s "$SRC" "$DST"; then note "$name nfs-read run $r: data differs"; return 1; fi
        secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b-a}')
        reads+=("$(mbps "$BYTES" "$secs")")
        note "$name nfs-read run $r: ${secs}s $(mbps "$BYTES" "$secs") MB/s (load $l)"
        [ -z "$here" ] || rm -f "$here/bench-nfs-$r.bin"
    done
    RESULT[$name/nfs-write]=$(printf '%s\n' "${writes[@]}" | median)
    RESULT[$name/nfs-read]=$(printf '%s\n' "${reads[@]}" | median)
    rm -f "$DST"
}

# lease_latency NAME SMB-PORT NFS-PORT: scripts/lease_latency.py, the time
# from an SMB lease-break ack to the reply of the NFS WRITE it unblocks.
lease_latency() {
    local name=$1 out l
    [ "$LATENCY_RUNS" -gt 0 ] || return 0
    python3 -c 'import smbprotocol' 2>/dev/null || python3 -m pip install --quiet smbprotocol
    l=$(load1)
    out=$(timeout 300 python3 "$REPO/scripts/lease_latency.py" "$2" "$3" "$LATENCY_RUNS" 2>&1) || true
    if ! grep -q '^LATENCY ' <<<"$out"; then
        note "$name lease-break latency failed: $(tail -3 <<<"$out" | tr '\n' ' ')"
        return 1
    fi
    RESULT[$name/latency-median]=$(grep '^LATENCY ' <<<"$out" | grep -o 'median_us=[0-9.]*' | cut -d= -f2)
    RESULT[$name/latency-p99]=$(grep '^LATENCY ' <<<"$out" | grep -o 'p99_us=[0-9.]*' | cut -d= -f2)
    note "$name $(grep '^LATENCY ' <<<"$out") (load $l)"
}

# --- servers ---------------------------------------------------------------------
run_smbd() {
    local d=$W/smbd port pid
    mkdir -p "$d"/{share,run,lock,state,cache,private}
    chmod 755 "$d"
    chmod 777 "$d/share"
    port=$(free_port)
    cat >"$d/smb.conf" <<EOF
[global]
  server role = standalone server
  map to guest = Bad User
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
EOF
    # Its own session: smbd signals its whole process group when it stops.
    setsid smbd -F --no-process-group -s "$d/smb.conf" >"$d/stdout" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    if ! wait_port "$port"; then note "smbd did not start: $(tail -5 "$d/stdout")"; stop "$pid"; return 0; fi
    note "smbd $(smbd -V) on port $port, share on $d/share"
    smb_transfers smbd "$port" || true
    smb_echo smbd "$port" || true
    stop "$pid"
    rm -rf "$d/share"
}

run_ganesha() {
    local d=$W/ganesha nfs mnt pid rpcb=""
    mkdir -p "$d"/{export,recovery}
    chmod 777 "$d/export"
    if ! (exec 3<>/dev/tcp/127.0.0.1/111) 2>/dev/null; then
        rpcbind -f -w >"$d/rpcbind.log" 2>&1 &
        rpcb=$!
        PIDS+=("$rpcb")
        wait_port 111 10 || { note "rpcbind did not start"; stop "$rpcb"; return 0; }
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
    else
        note "$(ganesha.nfsd -v 2>&1 | head -1 | tr -s ' ') (FSAL VFS) on port $nfs, mount $mnt, export $d/export"
        nfs_transfers ganesha "$d/export" "nfsport=$nfs&mountport=$mnt" "$d/export" || true
    fi
    stop "$pid"
    [ -z "$rpcb" ] || stop "$rpcb"
    rm -rf "$d/export"
}

# run_polyshare NAME [--root DIR]
run_polyshare() {
    local name=$1 d=$W/$1 pid smb nfs i root=""
    shift
    [ "${1:-}" != --root ] || root=$2
    mkdir -p "$d"
    if [ ! -x "$BIN" ]; then note "$name: $BIN missing (build failed?)"; return 0; fi
    "$BIN" --smb-port 0 --nfs-port 0 --log warn "$@" >"$d/stdout" 2>"$d/stderr" &
    pid=$!
    PIDS+=("$pid")
    for i in $(seq 300); do grep -q '^LISTENING' "$d/stdout" && break; sleep 0.1; done
    if ! grep -q '^LISTENING' "$d/stdout"; then
        note "$name did not start: $(tail -3 "$d/stderr" | tr '\n' ' ')"
        stop "$pid"
        return 0
    fi
    smb=$(grep -o 'smb=[0-9]*' "$d/stdout" | head -1 | cut -d= -f2)
    nfs=$(grep -o 'nfs=[0-9]*' "$d/stdout" | head -1 | cut -d= -f2)
    note "$name (tokio_server ${*:-in memory}) smb port $smb, nfs port $nfs"
    smb_transfers "$name" "$smb" || true
    smb_echo "$name" "$smb" || true
    nfs_transfers "$name" /share "nfsport=$nfs&mountport=$nfs" "$root" || true
    lease_latency "$name" "$smb" "$nfs" || true
    if ! kill -0 "$pid" 2>/dev/null; then note "$name exited during the run: $(tail -3 "$d/stderr" | tr '\n' ' ')"; fi
    stop "$pid"
}

# --- run ---------------------------------------------------------------------------
note "bench: ${SIZE_MIB} MiB file, ${RUNS} runs each (median), echo ${ECHO_SECS}s; $(nproc) cores; scratch on $TMPBASE"
note "start: $(date -u +%FT%TZ), $(uptime | sed 's/.*load/load/')"

if [[ " $SERVERS " == *" polyshare-"* ]] && [ -z "${BENCH_NO_BUILD:-}" ]; then
    echo "building polyshare (release)"
    cargo build --release --example tokio_server || echo "polyshare build failed; its column stays empty"
fi

for s in $SERVERS; do
    case $s in
    smbd) run_smbd ;;
    ganesha) run_ganesha ;;
    polyshare-local)
        mkdir -p "$W/local-root"
        chmod 777 "$W/local-root" # as the reference shares: NFS callers may be squashed
        run_polyshare polyshare-local --root "$W/local-root"
        rm -rf "$W/local-root"
        ;;
    polyshare-memory) run_polyshare polyshare-memory ;;
    *) echo "unknown server $s" >&2 ;;
    esac
done
note "end: $(date -u +%FT%TZ), $(uptime | sed 's/.*load/load/')"

# --- table -------------------------------------------------------------------------
get() { echo "${RESULT[$1]:-n/a}"; }
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f", a/b}'
}
{
    echo "## polyshare vs reference servers, loopback, $(nproc) cores, $(date -u +%F)"
    echo
    echo "File size ${SIZE_MIB} MiB on $TMPBASE; MB/s = 10^6 bytes/s; median of ${RUNS} runs; echo: median per-second rate."
    echo
    echo "| metric | reference | reference value | polyshare LocalFs | ratio | polyshare MemoryFs | ratio |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
    for m in smb-write smb-read smb-echo nfs-write nfs-read; do
        case $m in
        smb-*) ref=smbd ;;
        nfs-*) ref=ganesha ;;
        esac
        unit="MB/s"
        [ "$m" = smb-echo ] && unit="req/s"
        rv=$(get "$ref/$m")
        refname=$ref
        if [ "$ref" = ganesha ] && [ "$rv" = "n/a" ]; then
            # No NFS reference: compare with polyshare's own SMB figure.
            refname="polyshare's own SMB (no NFS reference)"
        fi
        lv=$(get "polyshare-local/$m")
        mv=$(get "polyshare-memory/$m")
        if [ "$ref" = ganesha ] && [ "$rv" = "n/a" ]; then
            own=${m/nfs/smb}
            echo "| $m ($unit) | $refname | n/a | $lv | $(ratio "$lv" "$(get "polyshare-local/$own")") | $mv | $(ratio "$mv" "$(get "polyshare-memory/$own")") |"
        else
            echo "| $m ($unit) | $refname | $rv | $lv | $(ratio "$lv" "$rv") | $mv | $(ratio "$mv" "$rv") |"
        fi
    done
    for n in polyshare-local polyshare-memory; do
        if [ -n "${RESULT[$n/latency-median]:-}" ]; then
            echo
            echo "$n lease-break wakeup latency (SMB ack sent -> NFS WRITE reply read, client side," \
                "${LATENCY_RUNS} runs): median ${RESULT[$n/latency-median]} us, p99 ${RESULT[$n/latency-p99]} us"
        fi
    done
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

#!/usr/bin/env bash
# Soak test (not run in CI: it takes minutes). For each runtime example server
# that exists, builds it with --release, starts it on ephemeral loopback
# ports, samples its VmRSS/VmHWM from /proc every second, runs the load
# generator (examples/loadgen) against it and reports ops, errors,
# mismatches and memory.
#
# Memory is "flat" when RSS at the end of the load <= 1.5 x RSS at 10 s
# + 16 MiB: the working set (200 files of <= 256 KiB) is reached within the
# first seconds, so later growth means a leak.
#
# Environment: SOAK_SECONDS (60), SOAK_CONNECTIONS (200), SOAK_SMB_FRACTION
# (0.5), SOAK_SEED (1), SOAK_RUNTIMES ("tokio_server mio_server
# async_std_server"), SOAK_SERVER_ARGS (extra server arguments, e.g.
# "--root /tmp/dir" to serve a directory; NFS clients send AUTH_SYS uid 0,
# so the directory must be writable by the user root is mapped to),
# SOAK_LOADGEN_ARGS (extra loadgen arguments), SOAK_OUT (target/soak). Exit status: non-zero if any
# runtime had errors, mismatches, a non-flat memory profile, or did not start.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${SOAK_SECONDS:-60}
connections=${SOAK_CONNECTIONS:-200}
fraction=${SOAK_SMB_FRACTION:-0.5}
seed=${SOAK_SEED:-1}
runtimes=${SOAK_RUNTIMES:-"tokio_server mio_server async_std_server"}
out=${SOAK_OUT:-target/soak}
read -r -a server_args <<<"${SOAK_SERVER_ARGS:-}"
read -r -a loadgen_args <<<"${SOAK_LOADGEN_ARGS:-}"
mkdir -p "$out"

feature_of() {
    case "$1" in
        tokio_server) echo tokio ;;
        mio_server) echo mio ;;
        async_std_server) echo async-std ;;
        *) echo "" ;;
    esac
}

server_pid=""
sampler_pid=""
cleanup() {
    [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    sampler_pid=""
    server_pid=""
}
trap cleanup EXIT INT TERM

cargo build --release --example loadgen || exit 1
loadgen=target/release/examples/loadgen

kib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# RSS (KiB) in the sample file at second $2 (the last sample at or before it).
rss_at() { awk -v t="$2" '$1 <= t { r = $2 } END { print r + 0 }' "$1"; }

status=0
summary="$out/summary.txt"
printf '%-18s %10s %8s %7s %10s %9s %9s %9s %9s %9s %s\n' runtime ops ops/s errors mismatches \
    'rss0 MiB' 'rss10' 'rss_end' 'peak(HWM)' 'after' memory >"$summary"
for rt in $runtimes; do
    if [ ! -f "examples/$rt.rs" ] && [ ! -f "examples/$rt/main.rs" ]; then
        echo "soak: $rt: no such example, skipped"
        continue
    fi
    feature=$(feature_of "$rt")
    echo "soak: building $rt (--features $feature)"
    if ! cargo build --release --example "$rt" ${feature:+--features "$feature"}; then
        printf '%-18s build failed\n' "$rt" >>"$summary"
        status=1
        continue
    fi
    log="$out/$rt.server.log"
    samples="$out/$rt.rss"
    : >"$samples"
    "target/release/examples/$rt" --listen 127.0.0.1 --smb-port 0 --nfs-port 0 "${server_args[@]}" >"$log" 2>&1 &
    server_pid=$!
    line=""
    for _ in $(seq 1 300); do
        line=$(grep -m1 '^LISTENING' "$log" || true)
        [ -n "$line" ] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$line" ]; then
        echo "soak: $rt did not print LISTENING; log:"
        tail -20 "$log"
        printf '%-18s did not start\n' "$rt" >>"$summary"
        cleanup
        status=1
        continue
    fi
    smb_port=$(sed -n 's/.*smb=\([0-9]*\).*/\1/p' <<<"$line")
    nfs_port=$(sed -n 's/.*nfs=\([0-9]*\).*/\1/p' <<<"$line")
    echo "soak: $rt pid $server_pid smb=$smb_port nfs=$nfs_port"

    # One sample per second: seconds-since-load-start VmRSS VmHWM (KiB).
    (
        t=0
        while [ -r "/proc/$server_pid/status" ]; do
            awk -v t="$t" '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { print t, r, h }' \
                "/proc/$server_pid/status" >>"$samples" 2>/dev/null
            sleep 1
            t=$((t + 1))
        done
    ) &
    sampler_pid=$!

    "$loadgen" --smb-port "$smb_port" --nfs-port "$nfs_port" --connections "$connections" \
        --seconds "$seconds" --smb-fraction "$fraction" --seed "$seed" "${loadgen_args[@]}" \
        >"$out/$rt.loadgen.out" 2>"$out/$rt.loadgen.err"
    rc=$?
    end_t=$(awk 'END { print $1 }' "$samples")
    sleep 3 # memory after the load (files deleted, connections closed)
    after_line=$(tail -1 "$samples")
    kill -0 "$server_pid" 2>/dev/null || echo "soak: $rt died during the run"
    cleanup
    wait 2>/dev/null

    cat "$out/$rt.loadgen.out"
    grep -E '^(ERROR|MISMATCH)' "$out/$rt.loadgen.err" | head -10
    summ=$(grep '^LOADGEN ops=' "$out/$rt.loadgen.out" || echo "LOADGEN ops=0 errors=1 mismatches=0 bytes=0")
    ops=$(sed -n 's/.*ops=\([0-9]*\).*/\1/p' <<<"$summ")
    errors=$(sed -n 's/.*errors=\([0-9]*\).*/\1/p' <<<"$summ")
    mismatches=$(sed -n 's/.*mismatches=\([0-9]*\).*/\1/p' <<<"$summ")
    rate=$(sed -n 's/.*ops_per_sec=\([0-9]*\).*/\1/p' "$out/$rt.loadgen.out")
    rss0=$(rss_at "$samples" 0)
    rss10=$(rss_at "$samples" $((end_t < 10 ? end_t : 10)))
    rss_end=$(rss_at "$samples" "$end_t")
    hwm=$(awk '{ if ($3 > h) h = $3 } END { print h + 0 }' "$samples")
    after=$(awk '{ print $2 }' <<<"$after_line")
    flat=$(awk -v e="$rss_end" -v t="$rss10" 'BEGIN { print (e <= 1.5 * t + 16384) ? "flat" : "GROWING" }')
    printf '%-18s %10s %8s %7s %10s %9s %9s %9s %9s %9s %s\n' "$rt" "$ops" "${rate:-?}" "$errors" "$mismatches" \
        "$(kib "$rss0")" "$(kib "$rss10")" "$(kib "$rss_end")" "$(kib "$hwm")" "$(kib "${after:-0}")" "$flat" >>"$summary"
    if [ "$rc" -ne 0 ] || [ "$errors" != 0 ] || [ "$mismatches" != 0 ] || [ "$flat" != flat ]; then
        status=1
    fi
done
echo
echo "soak: $connections connections, ${seconds} s, smb fraction $fraction; memory flat iff rss_end <= 1.5 x rss10 + 16 MiB"
cat "$summary"
exit $status

#!/usr/bin/env bash
# Runs whole smbtorture suites against Samba's smbd, the reference that
# tests/smbtorture/<suite>.allowed is compared with (docs/CONFORMANCE.md).
#
#   scripts/smbd_conformance.sh SUITE...     e.g. create getinfo dosmode
#   PORT=P scripts/smbd_conformance.sh SUITE...
#
# With PORT set it starts no smbd and runs the suites against the server
# already listening on 127.0.0.1:PORT (share `share`), to see polyshare's
# outcomes the same way when writing a list.
# smbd serves a fresh share on tmpfs as guest (`map to guest = Bad User`,
# `guest ok`), with `vfs objects = acl_xattr streams_xattr` and `kernel
# oplocks = no`, the configuration the attribute suites are compared in;
# smbtorture runs as `-U guest%`. Per suite it prints the counts and
# writes smbtorture's output to $OUT/<suite>.txt ($OUT defaults to a new
# directory under /tmp), and one line per test: `smb2.SUITE NAME OUTCOME`.
# TORTURE_ARGS adds smbtorture arguments (smb2.ea needs
# --option=torture:acl_xattr_name=NAME). The smbd it starts is stopped by
# its PID at exit. Never run in CI.
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 SUITE..." >&2; exit 2; }
[ -n "${PORT:-}" ] || command -v smbd >/dev/null || { echo "smbd is not installed (apt-get install samba)" >&2; exit 1; }
command -v smbtorture >/dev/null || { echo "smbtorture is not installed (apt-get install samba-testsuite)" >&2; exit 1; }

OUT=${OUT:-$(mktemp -d /tmp/polyshare-smbd-out.XXXXXX)}
mkdir -p "$OUT"
PID=""
W=""
cleanup() {
    if [ -n "$PID" ]; then
        kill "$PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$PID" 2>/dev/null || true
    fi
    [ -z "$W" ] || rm -rf "$W"
}
trap cleanup EXIT

if [ -z "${PORT:-}" ]; then
W=$(mktemp -d /dev/shm/polyshare-smbd.XXXXXX)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$W"/{share,run,lock,state,cache,private}
chmod 755 "$W"
chmod 777 "$W/share"
cat >"$W/smb.conf" <<EOF
[global]
  server role = standalone server
  map to guest = Bad User
  passdb backend = tdbsam:$W/private/passdb.tdb
  smb ports = $port
  bind interfaces only = yes
  interfaces = lo
  pid directory = $W/run
  lock directory = $W/lock
  state directory = $W/state
  cache directory = $W/cache
  private dir = $W/private
  ncalrpc dir = $W/run/ncalrpc
  log file = $W/log.smbd
  log level = 0
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  kernel oplocks = no
  smb2 leases = yes
[share]
  path = $W/share
  guest ok = yes
  read only = no
  vfs objects = acl_xattr streams_xattr
EOF
# Its own session: smbd signals its whole process group when it stops.
setsid smbd -F --no-process-group -s "$W/smb.conf" >"$W/stdout" 2>&1 &
PID=$!
for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
done
echo "smbd $(smbd -V) on port $port, share on $W/share; output in $OUT" >&2
else
port=$PORT
fi

for suite in "$@"; do
    start=$(date +%s%N)
    timeout 900 smbtorture "//127.0.0.1/share" -p "$port" -U guest% ${TORTURE_ARGS:-} "smb2.$suite" >"$OUT/$suite.txt" 2>&1 || true
    took_ms=$((($(date +%s%N) - start) / 1000000))
    # The outcome lines of smbtorture's subunit-like output.
    awk -v s="$suite" '
        /^(success|xfail): / { sub(/^[a-z]+: /, ""); sub(/ \[$/, ""); o[$0] = "pass"; next }
        /^(failure|error|uxsuccess): / { sub(/^[a-z]+: /, ""); sub(/ \[$/, ""); o[$0] = "fail"; next }
        /^skip: / { sub(/^skip: /, ""); sub(/ \[$/, ""); o[$0] = "skip"; next }
        /^test: / { sub(/^test: /, ""); if (!($0 in o)) o[$0] = "fail" }
        END {
            for (n in o) { c[o[n]]++; print "smb2." s " " n " " o[n] }
            printf "smb2.%s: %d tests, %d pass / %d fail / %d skip\n", s, c["pass"] + c["fail"] + c["skip"], c["pass"], c["fail"], c["skip"] > "/dev/stderr"
        }' "$OUT/$suite.txt" | sort
    printf 'smb2.%s took %d.%d s\n' "$suite" $((took_ms / 1000)) $((took_ms % 1000 / 100)) >&2
    # A fresh share per suite, as polyshare gets.
    [ -z "$W" ] || find "$W/share" -mindepth 1 -delete 2>/dev/null || true
done

#!/usr/bin/env bash
# Runs whole smbtorture suites against Samba's smbd in the configuration the
# conformance lists compare with (docs/CONFORMANCE.md): guest (`map to guest
# = Bad User`, `guest ok`), `vfs objects = acl_xattr streams_xattr`,
# `kernel oplocks = no`, the share on tmpfs. Prints, per suite, the
# pass/fail/skip counts and every test that did not pass. Never run by CI.
#
# Usage: scripts/smbd_torture.sh SUITE...   (e.g. streams ioctl)
#   SMBD_TMP [/dev/shm]: where the share and smbd's state live.
#   KEEP=1: keep the raw smbtorture output (printed path).
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 SUITE..." >&2; exit 2; }
command -v smbd >/dev/null && command -v smbtorture >/dev/null || { echo "needs smbd and smbtorture" >&2; exit 2; }

W=$(mktemp -d "${SMBD_TMP:-/dev/shm}/smbd-torture.XXXXXX")
chmod 755 "$W"
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    [ "${KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$W"/{share,run,lock,state,cache,private}
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
  smb2 leases = yes
  kernel oplocks = no
[share]
  path = $W/share
  guest ok = yes
  read only = no
  vfs objects = acl_xattr streams_xattr
EOF
# Its own session: smbd signals its whole process group when it stops.
setsid smbd -F --no-process-group -s "$W/smb.conf" >"$W/stdout" 2>&1 &
pid=$!
for _ in $(seq 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; then break; fi
    sleep 0.1
done
echo "smbd $(smbd -V) on port $port, share $W/share"

for suite in "$@"; do
    out=$W/$suite.out
    start=$(date +%s.%N)
    smbtorture //127.0.0.1/share -p "$port" -U guest% "smb2.$suite" >"$out" 2>&1 || true
    took=$(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')")
    # The same parse as tests/smbtorture_suites.rs: last outcome per test.
    python3 - "$out" "$suite" "$took" <<'PY'
import sys
path, suite, took = sys.argv[1:]
seen, detail = {}, False
for line in open(path, errors="replace"):
    line = line.rstrip("\n")
    if detail:
        detail = line != "]"
        continue
    tag, sep, rest = line.partition(": ")
    if not sep:
        continue
    name = rest.rstrip().rstrip("[").rstrip()
    if tag == "test":
        seen.setdefault(name, "fail")
        continue
    o = {"success": "pass", "xfail": "pass", "failure": "fail", "error": "fail", "uxsuccess": "fail", "skip": "skip"}.get(tag)
    if o is None:
        continue
    detail = rest.rstrip().endswith("[")
    seen[name] = o
c = {k: sum(1 for v in seen.values() if v == k) for k in ("pass", "fail", "skip")}
print(f"smb2.{suite}: {len(seen)} tests, {c['pass']}/{c['fail']}/{c['skip']} pass/fail/skip in {took} s")
for n, o in sorted(seen.items()):
    if o != "pass":
        print(f"  {n} {o}")
PY
    [ "${KEEP:-0}" != 1 ] || echo "  output: $out"
done

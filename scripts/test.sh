#!/usr/bin/env bash
# The test command: installs what the tests need when it is missing (Debian
# packages with apt-get, which needs root; Python packages in a virtual
# environment under target/), builds the example servers, runs every test
# (the polyshare binary's tests build it).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v smbclient >/dev/null || missing+=(smbclient)
command -v smbd >/dev/null || missing+=(samba samba-vfs-modules)
command -v smbtorture >/dev/null || missing+=(samba-testsuite)
command -v nfs-cp >/dev/null || missing+=(libnfs-utils)
command -v tshark >/dev/null || missing+=(tshark)
command -v systemd-analyze >/dev/null || missing+=(systemd)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "test.sh: these Debian packages are missing: ${missing[*]}" >&2
        echo "test.sh: installing them with apt-get needs root: run 'sudo $0', or install them yourself" >&2
        exit 1
    fi
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Python test dependencies live in a virtual environment under target/
# (Debian and Ubuntu refuse a system-wide pip install, PEP 668); the tests
# run it through $POLYSHARE_PYTHON (tests/common: python3()).
venv=target/test-venv
if ! "$venv/bin/python3" -c 'import smbprotocol' 2>/dev/null; then
    echo "creating $venv with smbprotocol"
    python3 -m venv "$venv"
    "$venv/bin/python3" -m pip install --quiet smbprotocol
fi
export POLYSHARE_PYTHON="$PWD/$venv/bin/python3"

# The real-client tests start the example servers as child processes.
cargo build --examples
cargo test --workspace --all-targets "$@"
# --all-targets leaves out doctests: the core's crate documentation runs a
# server through a NEGOTIATE.
cargo test --doc -p polyshare-core "$@"

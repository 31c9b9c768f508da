#!/usr/bin/env bash
# The test command: installs what the tests need when it is missing (Debian
# packages, Python packages), builds the example servers, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v smbclient >/dev/null || missing+=(smbclient)
command -v smbd >/dev/null || missing+=(samba samba-vfs-modules)
command -v smbtorture >/dev/null || missing+=(samba-testsuite)
command -v nfs-cp >/dev/null || missing+=(libnfs-utils)
command -v tshark >/dev/null || missing+=(tshark)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! python3 -c 'import smbprotocol' 2>/dev/null; then
    python3 -m pip install --quiet smbprotocol
fi

# The real-client tests start the example servers as child processes.
cargo build --examples
cargo test --workspace --all-targets "$@"
# --all-targets leaves out doctests: the core's crate documentation runs a
# server through a NEGOTIATE.
cargo test --doc -p polyshare-core "$@"

#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time, seeded from the
# corpus kept in the repo, and fails if any target finds a crash, a timeout or
# an out-of-memory input (libFuzzer leaves it in fuzz/artifacts/<target>/).
#
#   scripts/fuzz.sh                  all targets, FUZZ_SECONDS (default 30) each
#   scripts/fuzz.sh server framing   only these targets
#
# Environment:
#   FUZZ_SECONDS    time per target (default 30)
#   FUZZ_SANITIZER  address | none (default none: the core is safe Rust with
#                   `unsafe_code = "forbid"`, so panics and overflow checks are
#                   what finds bugs, and `none` runs ~2x more inputs)
#   FUZZ_SEED       libFuzzer's -seed (default: a fresh one each run). CI
#                   fixes it so that two runs of one commit try the same
#                   inputs first, and a failure there reproduces here.
#   FUZZ_KEEP=1     write new interesting inputs into fuzz/corpus/<target>/
#                   (default: into a temporary directory, so CI leaves the
#                   repo corpus as it is)
#
# The machine's toolchain is stable; RUSTC_BOOTSTRAP=1 lets it take the -Z
# flags cargo-fuzz passes. cargo-fuzz is installed when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-30}"
sanitizer="${FUZZ_SANITIZER:-none}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi

# One build for all targets, then one run per target, one at a time.
cargo fuzz build --fuzz-dir fuzz --sanitizer "$sanitizer"

seed_args=()
if [ -n "${FUZZ_SEED:-}" ]; then
    seed_args=(-seed="$FUZZ_SEED")
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for t in "${targets[@]}"; do
    corpus="fuzz/corpus/$t"
    mkdir -p "$corpus"
    if [ "${FUZZ_KEEP:-0}" = 1 ]; then
        dirs=("$corpus")
    else
        # libFuzzer writes new inputs into the first directory only.
        mkdir -p "$scratch/$t"
        dirs=("$scratch/$t" "$corpus")
    fi
    echo "=== fuzz $t for ${seconds}s"
    if ! cargo fuzz run --fuzz-dir fuzz --sanitizer "$sanitizer" "$t" "${dirs[@]}" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "${seed_args[@]}"; then
        failed+=("$t")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: failures in: ${failed[*]} (inputs in fuzz/artifacts/<target>/; see fuzz/README.md)" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets clean"

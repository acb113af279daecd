#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, one after another, and exits
# non-zero when any of them finds a crash, a panic, a timeout or runs out of memory.
#
#   fuzz/run-all.sh                 # every target, 600 s each
#   fuzz/run-all.sh 60              # every target, 60 s each
#   fuzz/run-all.sh 600 spec units  # two targets
#
# Environment:
#   FUZZ_TOOLCHAIN  rustup toolchain for cargo-fuzz: `nightly` (default when installed);
#                   `stable` builds with RUSTC_BOOTSTRAP=1 (see fuzz/README.md)
#   FUZZ_SANITIZER  none (default: the parsers are safe Rust) or address
#   FUZZ_TIMEOUT    seconds one input may take before it counts as a hang (default 5)
#   FUZZ_RSS_MB     memory limit in MiB (default 2048)
#   FUZZ_JOBS       run this many targets at once (default 1)
#
# New inputs go to fuzz/corpus/TARGET (ignored by git), crashes to fuzz/artifacts/TARGET,
# logs to fuzz/logs/TARGET.log; the committed seeds are fuzz/seeds/TARGET.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(spec assertion units template data baseline metrics_text response)
fi

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
fi
toolchain=${FUZZ_TOOLCHAIN:-}
if [ -z "$toolchain" ]; then
    if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
        toolchain=nightly
    else
        toolchain=stable
    fi
fi
if [ "$toolchain" != nightly ]; then
    # cargo-fuzz passes -Z flags (sanitizer coverage); a stable rustc accepts them only so.
    export RUSTC_BOOTSTRAP=1
fi
sanitizer=${FUZZ_SANITIZER:-none}
timeout=${FUZZ_TIMEOUT:-5}
rss=${FUZZ_RSS_MB:-2048}
jobs=${FUZZ_JOBS:-1}

echo "== building the fuzz targets (cargo +$toolchain fuzz build -s $sanitizer)"
if ! cargo "+$toolchain" fuzz build -s "$sanitizer" >fuzz/build.log 2>&1; then
    tail -30 fuzz/build.log >&2
    exit 2
fi

mkdir -p fuzz/logs
run_one() {
    local t=$1
    local dict=()
    [ -f "fuzz/dicts/$t.dict" ] && dict=("-dict=fuzz/dicts/$t.dict")
    mkdir -p "fuzz/corpus/$t"
    echo "== $t: ${secs}s (log: fuzz/logs/$t.log)"
    cargo "+$toolchain" fuzz run -s "$sanitizer" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$secs" -timeout="$timeout" -rss_limit_mb="$rss" \
        -print_final_stats=1 "${dict[@]}" >"fuzz/logs/$t.log" 2>&1
    echo $? >"fuzz/logs/$t.rc"
}

summary() {
    local t=$1 rc=$2
    local log="fuzz/logs/$t.log"
    local last execs
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    local corpus
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    if [ "$rc" -eq 0 ]; then
        printf '%-10s ok     execs=%s corpus=%s  last: %s\n' "$t" "${execs:-?}" "$corpus" "$last"
    else
        printf '%-10s FAILED (exit %s): see %s and fuzz/artifacts/%s/\n' "$t" "$rc" "$log" "$t"
        grep -E 'panicked at|ERROR: libFuzzer|Test unit written|SUMMARY|error in line|^Error' "$log" | head -6 | sed 's/^/    /'
    fi
}

for t in "${targets[@]}"; do
    rm -f "fuzz/logs/$t.rc"
done
if [ "$jobs" -le 1 ]; then
    for t in "${targets[@]}"; do
        run_one "$t"
    done
else
    running=0
    for t in "${targets[@]}"; do
        run_one "$t" &
        running=$((running + 1))
        if [ "$running" -ge "$jobs" ]; then
            wait -n
            running=$((running - 1))
        fi
    done
    wait
fi

echo "== summary"
failed=0
for t in "${targets[@]}"; do
    rc=$(cat "fuzz/logs/$t.rc" 2>/dev/null || echo 1)
    summary "$t" "$rc"
    [ "$rc" -ne 0 ] && failed=1
done
exit "$failed"

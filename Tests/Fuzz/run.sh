#!/usr/bin/env bash
# Builds the libFuzzer + AddressSanitizer targets and runs each for SECONDS (default 60):
#   FuzzSWZ    the .swz reader (seeds: corpus/swz)
#   FuzzModel  the engine: load and run decoded models, 1 and 2 threads (seeds: corpus/swz)
#   FuzzImage  the Netpbm decoder and preprocessing (seeds: corpus/image)
#   FuzzONNX   the ONNX importer, Winograd encoding and .swz round trip (seeds: corpus/onnx)
# Exits non-zero if a fuzzer finds a crash, leak, oversized allocation or timeout; the
# reproducer is left in .build/fuzz-artifacts/TARGET/.
# Usage: Tests/Fuzz/run.sh [SECONDS] [TARGET...]   (default: all four targets)
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_TO_RUN="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(FuzzSWZ FuzzModel FuzzImage FuzzONNX)
FLAGS=(-c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
swift build "${FLAGS[@]}"
BIN="$(swift build "${FLAGS[@]}" --show-bin-path)"
for t in "${TARGETS[@]}"; do
    case "$t" in
        FuzzSWZ|FuzzModel) seeds=corpus/swz ;;
        FuzzImage) seeds=corpus/image ;;
        FuzzONNX) seeds=corpus/onnx ;;
        *) echo "run.sh: unknown target $t" >&2; exit 64 ;;
    esac
    # The committed seeds stay read-only; new inputs go to a scratch corpus per target.
    mkdir -p ".build/fuzz-corpus/$t" ".build/fuzz-artifacts/$t"
    echo "== $t: ${SECONDS_TO_RUN}s"
    "$BIN/$t" ".build/fuzz-corpus/$t" "$seeds" \
        -max_total_time="$SECONDS_TO_RUN" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix=".build/fuzz-artifacts/$t/" -print_final_stats=1
    echo "$t: fuzzing for ${SECONDS_TO_RUN}s found nothing"
done

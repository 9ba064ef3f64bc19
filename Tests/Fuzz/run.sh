#!/usr/bin/env bash
# Builds the .swz reader fuzzer (libFuzzer + AddressSanitizer) and runs it for
# SECONDS (default 60). Exits non-zero if the fuzzer finds a crash, leak,
# oversized allocation or timeout; the reproducer is left in .build/fuzz-artifacts/.
# Usage: Tests/Fuzz/run.sh [SECONDS] [extra libFuzzer flags...]
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_TO_RUN="${1:-60}"
shift || true
swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
BIN="$(swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library --show-bin-path)/FuzzSWZ"
# The committed seeds stay read-only; new inputs go to a scratch corpus.
mkdir -p .build/fuzz-corpus .build/fuzz-artifacts

"$BIN" .build/fuzz-corpus corpus \
    -max_total_time="$SECONDS_TO_RUN" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix=.build/fuzz-artifacts/ -print_final_stats=1 "$@"
echo "fuzzing for ${SECONDS_TO_RUN}s found nothing"

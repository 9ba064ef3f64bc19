#!/usr/bin/env bash
# Kernel check and thread scaling on a larger (AVX-512) machine, with a statically linked
# wino-bench built here: swift build -c release --static-swift-stdlib --scratch-path .build-device
# --product wino-bench; strip it and gzip it to .build-device/wino-bench.gz. Results go to $OUT.
set -u
B=.build-device/wino-bench
[ -x "$B" ] || { gunzip -c "$B.gz" > "$B" && chmod +x "$B"; }
OUT=${OUT:-/tmp/device-out}; mkdir -p "$OUT"
{ uname -a; nproc; lscpu | grep -E "Model name|^CPU\(s\)|Thread|Socket|L1d|L2|L3"; grep -o -w 'avx512f\|avx512bw\|avx2\|fma' /proc/cpuinfo | sort | uniq -c; ldd "$B"; } > "$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt"
# 1. Every kernel on every instruction set the CPU has, 1..16 threads, vs the Double reference.
timeout 60 "$B" check --threads 1,2,4,8,16 > "$OUT/check.md" 2>&1; echo "check rc=$?"; tail -3 "$OUT/check.md"
# 2. Thread scaling, AVX2 then AVX-512, density 0.1 and 1.0.
for isa in avx2 avx512; do
  [ $isa = avx2 ] && export WINO_AVX512=0
  timeout 120 "$B" layers --densities 0.1,1.0 --threads 1,2,4,8,16 --batches 1,8 --no-onnxruntime --reps 5 \
      --format csv > "$OUT/layers-$isa.csv" 2> "$OUT/layers-$isa.log"; echo "layers $isa rc=$?"
  unset WINO_AVX512
done
# 3. Whole AlexNet-topology model (90% sparse), batch 1.
for t in 1 2 4 8 16; do
  for isa in avx2 avx512; do
    [ $isa = avx2 ] && export WINO_AVX512=0
    timeout 30 "$B" model .cache/bench/alexnet90.swz --threads $t --reps 20 > "/tmp/model-$isa-t$t.txt" 2>&1
    unset WINO_AVX512
  done
done
(cd /tmp && grep -H "wino:" model-*.txt) | tee "$OUT/models.txt"
# 4. The product kernel's ceiling (alone, data in the L1), AVX2 then AVX-512, one thread.
for isa in avx2 avx512; do
  [ $isa = avx2 ] && export WINO_AVX512=0
  timeout 30 "$B" ceiling --format csv > "$OUT/ceiling-$isa.csv" 2>&1; echo "ceiling $isa rc=$?"
  unset WINO_AVX512
done
cat "$OUT/check.md"

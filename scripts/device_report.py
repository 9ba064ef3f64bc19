#!/usr/bin/env python3
"""Markdown tables from scripts/device_check.sh output: thread scaling per layer for AVX2 and AVX-512.
Usage: python3 scripts/device_report.py DIR   (the folder the device run wrote)"""
import csv, glob, os, re, sys
from collections import defaultdict

d = sys.argv[1]
print("| layer | batch | density | ISA | " + " | ".join(f"{t} thr" for t in (1, 2, 4, 8, 16)) + " | 16 vs 1 |")
print("|---|---|---|---|" + "---|" * 6)
tab = defaultdict(dict)
for isa in ("avx2", "avx512"):
    for r in csv.DictReader(open(os.path.join(d, f"layers-{isa}.csv"))):
        tab[(r["layer"], int(r["batch"]), float(r["density"]), isa)][int(r["threads"])] = float(r["effective_gflops"])
for (layer, b, dens, isa), v in sorted(tab.items(), key=lambda kv: (kv[0][0], kv[0][1], -kv[0][2], kv[0][3])):
    cells = " | ".join(f"{v[t]:.0f}" if t in v else "-" for t in (1, 2, 4, 8, 16))
    print(f"| {layer} | {b} | {dens} | {'AVX-512' if isa == 'avx512' else 'AVX2'} | {cells} | {v[16] / v[1]:.1f}x |")
print()
print("| whole AlexNet-topology model (90% sparse), batch 1 | " + " | ".join(f"{t} thr" for t in (1, 2, 4, 8, 16)) + " |")
print("|---|" + "---|" * 5)
models = open(os.path.join(d, "models.txt")).read() if os.path.exists(os.path.join(d, "models.txt")) else ""
for isa in ("avx2", "avx512"):
    vals = []
    for t in (1, 2, 4, 8, 16):
        m = re.search(rf"^model-{isa}-t{t}\.txt:.*?([\d.]+) images/s", models, re.M)
        vals.append(f"{float(m.group(1)):.0f}" if m else "-")
    print(f"| {'AVX-512' if isa == 'avx512' else 'AVX2'} images/s | " + " | ".join(vals) + " |")
print()
print("| product ceiling (one thread, data in the L1) | tiles per block | entries per row | GFLOP/s | of FMA peak |")
print("|---|---|---|---|---|")
for isa in ("avx2", "avx512"):
    path = os.path.join(d, f"ceiling-{isa}.csv")
    if not os.path.exists(path):
        continue
    name = "AVX-512" if isa == "avx512" else "AVX2"
    try:
        rows = [(r["tiles"], r["row_length"], float(r["gflops"]), float(r["of_peak"])) for r in csv.DictReader(open(path))]
    except (KeyError, ValueError):
        rows = []
    if not rows:   # a failed run leaves its error text instead of CSV
        print(f"| {name} | (failed: see ceiling-{isa}.csv) | | | |")
    for tiles, length, gflops, of_peak in rows:
        print(f"| {name} | {tiles} | {length} | {gflops:.1f} | {of_peak * 100:.0f}% |")

#!/usr/bin/env python3
"""Runs wino-bench and writes Docs/BENCHMARKS.md and Docs/bench.svg (`make bench`).

usage: bench_report.py BIN_DIR [--quick] [--report-only] [--plain DIR] [--deepsparse PYTHON] [--onednn PYTHON]
--report-only rewrites the report from the last run's results in .cache/bench/.
BIN_DIR holds wino-bench and wino-convert (a release build). Needs python3 with numpy,
onnx and onnxruntime (the Makefile installs them). --deepsparse: an interpreter with
deepsparse 1.8 (and onnxruntime) installed, for the DeepSparse baselines (the Makefile makes
one in .cache/venv-deepsparse; without it, or where it cannot import deepsparse, the report
says DeepSparse was not measured). --onednn: an interpreter with pip's onednn-cpu-gomp (and
onnx, onnxruntime) installed, for the oneDNN baseline (the same virtual environment).
"""
import json
import math
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, ".cache", "bench")


def run(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def machine():
    model, flags = "unknown CPU", set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    isa = "AVX-512" if "avx512f" in flags else ("AVX2+FMA" if "avx2" in flags else "SSE")
    return f"{model}, {os.cpu_count()} cores visible, {isa}, Linux {platform.release()}"


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else 0


def svg_plot(rows, path, threads, batches):
    """Effective GFLOP/s vs density (geometric mean over layers), one panel per batch."""
    dens = sorted({r["density"] for r in rows}, reverse=True)
    W, H, pad = 360, 260, 50
    panels = []
    for pi, b in enumerate(batches):
        sel = [r for r in rows if r["threads"] == threads and r["batch"] == b]
        series = {
            "wino sparse Winograd": [geomean([r["effective_gflops"] for r in sel if r["density"] == d]) for d in dens],
            "wino dense Winograd": [geomean([r["effective_gflops"] * (r["median_ms"] / r["dense_winograd_ms"])
                                             for r in sel if r["density"] == d and r.get("dense_winograd_ms")]) for d in dens],
            "onnxruntime (dense)": [geomean([r["effective_gflops"] * (r["median_ms"] / r["onnxruntime_ms"])
                                             for r in sel if r["density"] == d and r.get("onnxruntime_ms")]) for d in dens],
            # (its time does not depend on our density: a flat line)
            "DeepSparse, 90% pruned": [geomean([r["effective_gflops"] * (r["median_ms"] / r["deepsparse_ms"])
                                                for r in sel if r["density"] == d and r.get("deepsparse_ms")]) for d in dens],
            "oneDNN (dense)": [geomean([r["effective_gflops"] * (r["median_ms"] / r["onednn_ms"])
                                        for r in sel if r["density"] == d and r.get("onednn_ms")]) for d in dens],
        }
        series = {k: v for k, v in series.items() if any(v)}
        ymax = max(max(v) for v in series.values()) * 1.15 or 1
        x0 = pi * (W + 20)
        def px(i):
            return x0 + pad + i * (W - pad - 10) / max(1, len(dens) - 1)
        def py(v):
            return H - pad + 10 - v / ymax * (H - pad - 20)
        g = [f'<text x="{x0 + W / 2}" y="16" text-anchor="middle" font-size="13">batch {b}, {threads} threads: '
             f'geometric mean over layers</text>',
             f'<line x1="{x0 + pad}" y1="{py(0)}" x2="{x0 + W - 10}" y2="{py(0)}" stroke="black"/>',
             f'<line x1="{x0 + pad}" y1="{py(0)}" x2="{x0 + pad}" y2="{py(ymax)}" stroke="black"/>']
        for i, d in enumerate(dens):
            g.append(f'<text x="{px(i)}" y="{py(0) + 16}" text-anchor="middle" font-size="11">{d:g}</text>')
        g.append(f'<text x="{x0 + W / 2}" y="{H - 4}" text-anchor="middle" font-size="11">Winograd-domain density</text>')
        step = 10 ** math.floor(math.log10(ymax / 4)) if ymax > 0 else 1
        tick = step * math.ceil(ymax / 4 / step)
        v = 0
        while v <= ymax:
            g.append(f'<text x="{x0 + pad - 4}" y="{py(v) + 4}" text-anchor="end" font-size="10">{v:g}</text>')
            g.append(f'<line x1="{x0 + pad}" y1="{py(v)}" x2="{x0 + W - 10}" y2="{py(v)}" stroke="#ddd"/>')
            v += tick
        colors = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"]
        for (name, ys), col in zip(series.items(), colors):
            pts = " ".join(f"{px(i):.1f},{py(y):.1f}" for i, y in enumerate(ys) if y > 0)
            g.append(f'<polyline points="{pts}" fill="none" stroke="{col}" stroke-width="2"/>')
            for i, y in enumerate(ys):
                if y > 0:
                    g.append(f'<circle cx="{px(i):.1f}" cy="{py(y):.1f}" r="3" fill="{col}"/>')
        for k, (name, col) in enumerate(zip(series, colors)):
            g.append(f'<rect x="{x0 + pad + 10}" y="{30 + 14 * k}" width="10" height="3" fill="{col}"/>'
                     f'<text x="{x0 + pad + 24}" y="{35 + 14 * k}" font-size="11">{name}</text>')
        g.append(f'<text x="{x0 + 12}" y="{H / 2}" font-size="11" transform="rotate(-90 {x0 + 12} {H / 2})" '
                 f'text-anchor="middle">effective GFLOP/s</text>')
        panels.append("\n".join(g))
    total_w = len(batches) * (W + 20)
    with open(path, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{H}" '
                f'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>\n')
        f.write("\n".join(panels))
        f.write("\n</svg>\n")


def fmt(x, d=2):
    return "-" if x is None else f"{x:.{d}f}"


PROBES = {
    "--deepsparse": "import deepsparse, onnxruntime; print(deepsparse.__version__)",
    # (the library the baseline server loads: sys.prefix/lib, where pip puts the wheel's)
    "--onednn": "import ctypes, os, sys, onnx, onnxruntime; lib = ctypes.CDLL(os.path.join(sys.prefix, 'lib', "
                "'libdnnl.so.3')); lib.dnnl_version.restype = ctypes.POINTER(ctypes.c_int * 3); "
                "print('.'.join(map(str, lib.dnnl_version().contents)))",
}


def peer_python(flag):
    """(interpreter, engine version) for a peer flag (--deepsparse, --onednn) whose interpreter
    can load the engine; (None, None) otherwise, with a message."""
    if flag not in sys.argv:
        return None, None
    py = sys.argv[sys.argv.index(flag) + 1]
    try:
        out = subprocess.run([py, "-c", PROBES[flag]], check=True, capture_output=True, text=True, timeout=120)
        return py, out.stdout.strip().splitlines()[-1]
    except Exception as e:  # report, run without it
        print(f"{flag[2:]} baseline unavailable ({py}: {e})", file=sys.stderr)
        return None, None


def ds_best_ratio(r):
    """How many times faster than DeepSparse's best on the layer (its 90%-pruned or its dense run,
    whichever was faster: the lower of the two ratios); None where not measured."""
    xs = [r.get("deepsparse_ratio"), r.get("deepsparse_dense_ratio")]
    xs = [x for x in xs if x]
    return min(xs) if xs else None


def main():
    bindir = sys.argv[1]
    quick = "--quick" in sys.argv
    os.makedirs(CACHE, exist_ok=True)
    bench = os.path.join(bindir, "wino-bench")
    threads = "1,2" if os.cpu_count() <= 2 else f"1,2,{os.cpu_count()}"
    args = [bench, "layers", "--format", "json", "--threads", threads, "--batches", "1,8",
            "--densities", "1.0,0.3,0.1,0.05", "--reps", "5" if quick else "10"]
    ds_py, ds_version = (None, None) if "--report-only" in sys.argv else peer_python("--deepsparse")
    dnn_py, dnn_version = (None, None) if "--report-only" in sys.argv else peer_python("--onednn")
    ds_args = ["--deepsparse-python", ds_py] if ds_py else []
    dnn_args = ["--onednn-python", dnn_py] if dnn_py else []
    shown_args = (["--deepsparse-python", "PYTHON"] if ds_py else []) + (["--onednn-python", "PYTHON"] if dnn_py else [])
    plain_text = "(not run: pass --plain DIR with a `swift build -c release` (no flags) build)"
    if "--plain" in sys.argv:
        plain = os.path.join(sys.argv[sys.argv.index("--plain") + 1], "wino-bench")
        layers = ["alexnet.conv3", "vgg16.conv3_1", "vgg16.conv4_1"]
        times = {"plain": {l: [] for l in layers}, "tuned": {l: [] for l in layers}}
        for rep in range(7):  # alternate the two builds to share the machine's drift
            for name, exe in (("plain", plain), ("tuned", bench)):
                out = json.loads(run([exe, "layers", "--format", "json", "--layers", ",".join(layers),
                                      "--densities", "0.1", "--threads", "1", "--batches", "1", "--reps", "10",
                                      "--no-onnxruntime", "--no-dense"]))
                for r in out:
                    times[name][r["layer"]].append(r["median_ms"])
        med = lambda v: sorted(v)[len(v) // 2]
        lines = ["| layer | plain `swift build -c release` ms | Makefile (target-CPU flags) ms | plain / tuned speed, medians | fastest runs |",
                 "|---|---|---|---|---|"]
        for l in layers:
            p_ms, t_ms = med(times["plain"][l]), med(times["tuned"][l])
            p_min, t_min = min(times["plain"][l]), min(times["tuned"][l])
            lines.append(f"| {l} | {p_ms:.3f} ({', '.join(f'{x:.3f}' for x in times['plain'][l])}) | "
                         f"{t_ms:.3f} ({', '.join(f'{x:.3f}' for x in times['tuned'][l])}) | {t_ms / p_ms * 100:.0f}% | "
                         f"{t_min / p_min * 100:.0f}% |")
        plain_text = "\n".join(lines)
        with open(os.path.join(CACHE, "plain.txt"), "w") as f:
            f.write(plain_text)
    elif os.path.exists(os.path.join(CACHE, "plain.txt")):
        with open(os.path.join(CACHE, "plain.txt")) as f:
            plain_text = f.read()
    if "--report-only" in sys.argv:
        with open(os.path.join(CACHE, "layers.json")) as f:
            saved = json.load(f)
        rows, layer_seconds = saved["rows"], saved["seconds"]
        with open(os.path.join(CACHE, "model.txt")) as f:
            model_text = f.read()
        return report(rows, layer_seconds, model_text, args + saved.get("peer_args", []), threads, plain_text,
                      saved.get("deepsparse"), saved.get("onednn"))

    started = time.time()
    rows = json.loads(run(args + ds_args + dnn_args))
    layer_seconds = time.time() - started
    with open(os.path.join(CACHE, "layers.json"), "w") as f:
        json.dump({"rows": rows, "seconds": layer_seconds, "deepsparse": ds_version, "onednn": dnn_version,
                   "peer_args": shown_args}, f, indent=1)

    # Whole AlexNet-topology model at 90% sparsity in conv2-5 and the FC layers.
    model_text = "(not run)"
    try:
        fixture = os.path.join(ROOT, ".cache", "fixtures", "alexnet", "alexnet.onnx")
        if not os.path.exists(fixture):
            run([sys.executable, os.path.join(ROOT, "scripts", "fixtures", "alexnet.py")])
        swz = os.path.join(CACHE, "alexnet90.swz")
        run([os.path.join(bindir, "wino-convert"), "onnx", fixture, "-o", swz, "--sparsity", "0.9", "--fc-sparsity", "0.9"])
        parts = []
        for t in threads.split(",")[1:2] or ["1"]:
            for b in ["1", "8"]:
                parts.append(run([bench, "model", swz, "--onnx", fixture, "--threads", t, "--batch", b, "--reps", "10"] + ds_args))
        model_text = "\n".join(parts)
    except Exception as e:  # report, do not hide
        model_text = f"model benchmark failed: {e}"

    with open(os.path.join(CACHE, "model.txt"), "w") as f:
        f.write(model_text)

    # Single-thread sparse-product efficiency against the measured FMA peak: EFFICIENCY_RUNS
    # separate runs (processes), each row's figures the median over them (see median_rows).
    runs = [json.loads(run([bench, "efficiency", "--format", "json", "--density", "0.1", "--batches", "1,8",
                            "--reps", "5" if quick else "10"])) for _ in range(1 if quick else EFFICIENCY_RUNS)]
    with open(os.path.join(CACHE, "efficiency.json"), "w") as f:
        json.dump(median_rows(runs), f, indent=1)
    # The product kernel alone on data in the L1: what its structure leaves of the FMA peak.
    ceiling = json.loads(run([bench, "ceiling", "--format", "json"]))
    with open(os.path.join(CACHE, "ceiling.json"), "w") as f:
        json.dump(ceiling, f, indent=1)
    report(rows, layer_seconds, model_text, args + shown_args, threads, plain_text, ds_version, dnn_version)


# One efficiency run's rows moved by up to 18 points of the FMA peak between runs minutes apart
# (this machine's fast and slow phases), so a row's figure is the median over several runs.
EFFICIENCY_RUNS = 5


def median_rows(runs):
    """Rows whose numbers are each the median over `runs` (lists of the same rows, in the same
    order) of that number; `product_efficiency_runs` keeps every run's efficiency."""
    out = []
    for rows in zip(*runs):
        row = dict(rows[0])
        for key, value in rows[0].items():
            if isinstance(value, float):
                row[key] = sorted(r[key] for r in rows)[len(rows) // 2]
        row["product_efficiency_runs"] = [r["product_efficiency"] for r in rows]
        out.append(row)
    return out


def cached_rows(name):
    """The rows a run stored in CACHE/name, or the text to print instead (not run, no rows)."""
    path = os.path.join(CACHE, name)
    if not os.path.exists(path):
        return None, "(not run)"
    with open(path) as f:
        rows = json.load(f)
    return (rows, None) if rows else (None, "(no rows)")


def efficiency_text():
    eff, missing = cached_rows("efficiency.json")
    if missing:
        return missing
    peak = eff[0]["peak_gflops"]
    effs = sorted(r["product_efficiency"] for r in eff)
    nruns = len(eff[0].get("product_efficiency_runs", [0]))
    lines = [f"Measured single-thread FMA peak of the kernels' instruction set: **{peak:.1f} GFLOP/s** "
             f"(`wk_fma_burn`: 12 independent FMA chains). Product efficiency at density 0.1"
             f"{f', the median of {nruns} runs (processes) per row' if nruns > 1 else ''}: "
             f"{effs[0] * 100:.0f}% to {effs[-1] * 100:.0f}% (median {effs[len(effs) // 2] * 100:.0f}%); "
             f">= 45% on {sum(1 for e in effs if e >= 0.45)} of {len(effs)} rows.",
             "",
             "| layer | batch | nonzeros | layer ms | without product ms | product share | product GFLOP/s (nonzeros) | of FMA peak | each run |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in eff:
        each = ", ".join(f"{x * 100:.0f}" for x in r.get("product_efficiency_runs", [r["product_efficiency"]]))
        lines.append(f"| {r['layer']} | {r['batch']} | {r['nnz']} | {r['layer_ms']:.3f} | {r['no_product_ms']:.3f} | "
                     f"{r['product_share'] * 100:.0f}% | {r['product_gflops']:.1f} | {r['product_efficiency'] * 100:.1f}% | {each} |")
    return "\n".join(lines)


def ceiling_text():
    rows, missing = cached_rows("ceiling.json")
    if missing:
        return missing
    best16 = max((r["of_peak"] for r in rows if r["tiles"] == 16), default=None)
    lines = [f"FMA peak in this run: {rows[0]['peak_gflops']:.1f} GFLOP/s (the fastest of its short bursts)."
             + (f" With blocks of 16 tiles the kernel alone reaches at most {best16 * 100:.0f}% of it." if best16 else ""),
             "",
             "| tiles per block | channels | entries per row | GFLOP/s | of FMA peak |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['tiles']} | {r['channels']} | {r['row_length']} | {r['gflops']:.1f} | {r['of_peak'] * 100:.0f}% |")
    return "\n".join(lines)


def report(rows, layer_seconds, model_text, args, threads, plain_text, ds_version=None, dnn_version=None):
    svg_plot(rows, os.path.join(ROOT, "Docs", "bench.svg"), 2, [1, 8])

    def table(sel):
        out = ["| layer | batch | threads | density | median ms (min-max) | effective GFLOP/s | vs own dense Winograd | vs onnxruntime | onnxruntime median / ours | vs DeepSparse 90% pruned | vs DeepSparse dense | vs oneDNN |",
               "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in sel:
            out.append(f"| {r['layer']} | {r['batch']} | {r['threads']} | {r['density']:g} | {r['median_ms']:.3f} "
                       f"({r['min_ms']:.3f}-{r['max_ms']:.3f}) | {r['effective_gflops']:.0f} | "
                       f"{fmt(r.get('dense_winograd_ratio'))}x | {fmt(r.get('onnxruntime_ratio'))}x | "
                       f"{fmt(r.get('onnxruntime_ratio_of_medians'))}x | {fmt(r.get('deepsparse_ratio'))}x | "
                       f"{fmt(r.get('deepsparse_dense_ratio'))}x | {fmt(r.get('onednn_ratio'))}x |")
        return "\n".join(out)

    headline = [r for r in rows if r["density"] == 0.1 and r["threads"] == 2]
    ratios = sorted(r["onnxruntime_ratio"] for r in headline if r.get("onnxruntime_ratio"))
    dense_rows = [r for r in rows if r["density"] == 1.0 and r["threads"] == 2 and r.get("onnxruntime_ratio")]
    summary = "(no onnxruntime results)"
    targets = [r for r in headline if r.get("onnxruntime_ratio") and r["layer"] != "vgg16.conv1_2"]
    missed = [f"{r['layer']} batch {r['batch']}" for r in targets if r["onnxruntime_ratio"] < 6]
    if ratios:
        summary = (f"At density 0.1 with 2 threads the sparse Winograd path is {ratios[0]:.1f}x to {ratios[-1]:.1f}x "
                   f"onnxruntime's dense convolution (median {ratios[len(ratios) // 2]:.1f}x); the >= 6x target is met on "
                   f"{sum(1 for r in targets if r['onnxruntime_ratio'] >= 6)} of the {len(targets)} target rows "
                   f"(AlexNet conv2-conv5 and VGG16 conv2_1-conv5_1; VGG16 conv1_2 is measured but not a target"
                   f"{': ' + ', '.join(sorted(set(missed))) + ' below 6x' if missed else ''}; by the ratio of the overall "
                   f"medians, {sum(1 for r in targets if (r.get('onnxruntime_ratio_of_medians') or 0) >= 6)} of {len(targets)}). "
                   f"Effective GFLOP/s there: "
                   f"{min(r['effective_gflops'] for r in headline):.0f} to {max(r['effective_gflops'] for r in headline):.0f} "
                   f"(target ~3,000-3,800 was set for an AVX-512 machine with twice this FMA width). Our dense Winograd "
                   f"path at density 1.0 is {min(r['onnxruntime_ratio'] for r in dense_rows):.2f}x to "
                   f"{max(r['onnxruntime_ratio'] for r in dense_rows):.2f}x onnxruntime.")
    ds_targets = [r for r in targets if ds_best_ratio(r)]
    if ds_targets:
        ds = sorted(ds_best_ratio(r) for r in ds_targets)
        ds_missed = [f"{r['layer']} batch {r['batch']} ({ds_best_ratio(r):.2f}x)" for r in ds_targets if ds_best_ratio(r) < 2]
        summary += (f" Against DeepSparse {ds_version or ''} on this machine (its best on each layer: the faster of its "
                    f"90%-pruned and dense runs), the sparse path at density 0.1 with 2 threads is {ds[0]:.2f}x to "
                    f"{ds[-1]:.2f}x (median {ds[len(ds) // 2]:.2f}x); the >= 2x target is met on "
                    f"{sum(1 for x in ds if x >= 2)} of the {len(ds_targets)} target rows"
                    f"{' (below 2x: ' + ', '.join(ds_missed) + ')' if ds_missed else ''}.")
        # How strong a peer DeepSparse is here: its speed over onnxruntime's on the ungrouped 3x3
        # layers (RESEARCH.md section 5: 2.9x-4.2x at batch 1 on the 2-core AVX-512 machine the
        # targets were set on).
        peer = sorted(r["onnxruntime_ms"] / min(r["deepsparse_ms"], r.get("deepsparse_dense_ms") or 1e30)
                      for r in ds_targets if r["batch"] == 1 and r.get("onnxruntime_ms") and r.get("deepsparse_ms")
                      and r["layer"] not in ("alexnet.conv2", "alexnet.conv4", "alexnet.conv5"))
        if peer:
            summary += (f" DeepSparse is a weaker peer on this machine than where the target was set: at batch 1 on the "
                        f"ungrouped 3x3 layers it runs {peer[0]:.1f}x to {peer[-1]:.1f}x onnxruntime's speed here, against "
                        f"2.9x to 4.2x on the 2-core AVX-512 machine of the issue's figures (its sparse kernels gain less "
                        f"with AVX2), so this ratio says less than the same ratio there would.")
    else:
        summary += " DeepSparse was not measured in this run (no `--deepsparse` interpreter)."
    # The dense target: our dense Winograd path against oneDNN on the ungrouped 3x3 layers.
    dnn_rows = [r for r in dense_rows if r.get("onednn_ratio") and r["layer"] not in ("alexnet.conv2", "alexnet.conv4", "alexnet.conv5")]
    if dnn_rows:
        impls = sorted({r.get("onednn_impl") or "?" for r in dnn_rows})
        wino = all(i.startswith("winograd") for i in impls)
        dr = sorted(r["onednn_ratio"] for r in dnn_rows)
        summary += (f" Our dense Winograd path at density 1.0 (2 threads, the ungrouped 3x3 layers) is {dr[0]:.2f}x to "
                    f"{dr[-1]:.2f}x oneDNN {dnn_version or ''} ({', '.join(impls)}): "
                    + ("oneDNN's dense Winograd, the target's peer." if wino else
                       "oneDNN has no Winograd convolution for this CPU (its Winograd primitive is `unimplemented` here: "
                       "it exists for AVX-512 only), so this is its best dense convolution here, not the target's peer, "
                       "oneDNN's dense Winograd."))
    with open(os.path.join(ROOT, "Docs", "BENCHMARKS.md"), "w") as f:
        f.write(f"""# Benchmarks

Generated by `make bench` ({time.strftime('%Y-%m-%d')}; the layer runs took {layer_seconds / 60:.1f} min).

- **Machine:** {machine()}.
- **Command:** `{' '.join(os.path.basename(a) if i == 0 else a for i, a in enumerate(args))}`.
- **Effective GFLOP/s** = dense direct-convolution FLOPs (2 N K C/G OH OW R S) / time, as in the paper.
- **Baselines measured in the same run:** our own dense Winograd path (the same blocks and
  transforms, dense weights through a register-blocked dense product) and onnxruntime {run([sys.executable, '-c', 'import onnxruntime; print(onnxruntime.__version__)']).strip()}
  (pip) on a one-Conv(+ReLU) ONNX model of the same shape with the same thread count.
  {f"oneDNN {dnn_version} (pip `onednn-cpu-gomp`, its C API through ctypes; the issue's dense peer is its Winograd convolution, tried first; where it has none, its `auto` choice, named in the JSON rows) on the same convolution + ReLU, with its preferred blocked formats and the input and weights reordered once (only the convolution timed: its best case); its output is checked against onnxruntime's." if dnn_version else "oneDNN: not measured in this run."}
  {f"DeepSparse {ds_version} (pip, Neural Magic's sparse CPU engine, the issue's sparse peer, in a virtual environment of its own) on the same model twice: with 90% of the spatial weights pruned by magnitude (its sparse kernels: the issue's peer setting) and dense; each run's first output is checked against onnxruntime's (relative L2 <= 1e-4). DeepSparse runs unstructured spatial sparsity, we run Winograd-domain sparsity at density 0.1: each engine keeps 10% of its weights, in its own domain." if ds_version else "DeepSparse: not measured in this run."}
- **Weights:** random He-scaled spatial filters, transformed to the Winograd domain in Double and
  magnitude-pruned there to the given density (F(4x4,3x3) for 3x3 layers, F(4x4,5x5) for AlexNet conv2).
- **Timed in alternating rounds:** for each layer, batch and thread count, our runs, our dense
  baseline, onnxruntime, DeepSparse and oneDNN (server processes, stopped between their rounds so that
  their spinning threads never take a core from ours) alternate in rounds of about 50 ms, each round after one
  untimed run, for at least 9 rounds and until every side has at least 10 runs and 0.2 s. Times
  are medians over all rounds. This machine's speed drifts by tens of percent over seconds to
  minutes, so both sides of a ratio must see the same drift: each ratio ("vs ...") is the median
  over rounds of the ratio of the two sides' medians in that round (adjacent rounds see the same
  phase). The ratio of the overall medians, which a phase falling unevenly on the two sides moves,
  is the last column. Compare columns of one row, not rows of different runs.

![effective GFLOP/s vs density](bench.svg)

**Summary.** {summary}

## Density 0.1, 2 threads

{table(headline)}

## Density 1.0, 2 threads: the dense path

Our dense Winograd path against the dense engines (the target: faster than oneDNN's dense Winograd
on the ungrouped 3x3 layers; oneDNN's implementation per row is in the JSON rows, `onednn_impl`).

{table([r for r in rows if r["density"] == 1.0 and r["threads"] == 2])}

## Whole model: AlexNet topology, 90% sparse conv2-5 and FC layers, batch 1 and 8

The >= 4x target is at batch 1. DeepSparse (where measured) gets the same ONNX file twice: with
the weights of conv2-5 and the FC layers magnitude-pruned to 90% zeros in the spatial domain, as
ours are in the Winograd domain, and dense. For batch 8, onnxruntime gets the same ONNX file with its batch
dimension freed (`scripts/ort_bench.py`: the input, the output and the Reshape before the fully
connected layers were fixed at one image).

```
{model_text.strip()}
```

## Sparse-product efficiency (one thread)

`wino-bench efficiency`: the product's time is the layer's time minus the time of the same layer
keeping only one weight per position and group that has any (same blocks, the same positions
transformed: the engine skips positions no row uses; the output transform; almost no product);
its FLOPs are 2 x the nonzeros the baseline lacks x tiles (real tiles, not padded lanes). The
two layers run alternately, call by call (at least 10 pairs and 0.5 s per row), and the product's
time is the median over adjacent pairs of their difference, so that both calls of a pair see the
same machine speed (the difference of the two medians mixed this machine's fast and slow phases
and once gave 98% of peak).

{efficiency_text()}

### Ceiling: the product kernel alone

`wino-bench ceiling`: the same product kernel (this instruction set's, 8-bit channel indices) on
one Winograd position whose V (16 KiB), weights and M (20-38 KiB together) stay in or next to
the L1, 32 rows per call: no transforms, no misses beyond the L2, no threads. What it leaves of
the FMA peak is the kernel's own cost per entry (the column index, the weight's broadcast, one FMA per vector of 8 tiles) and per row
(partial sums, their reduction, the store). Blocks of 16 tiles give 2 FMAs per entry with AVX2,
and 5 of the 18 rows above run them: AlexNet conv3, conv4 and conv5 (batch 1) and VGG16 conv5_1
(batch 1 and 8). Their planes have 16 tiles per image, or wider blocks would make V
(alpha^2 x C x tiles floats) exceed its limit of 2.5 times the L2 (VGG16 conv5_1 at batch 8).
VGG16 conv4_1 runs blocks of 32 tiles (at batch 1: 32 and 17 of its 49), AlexNet conv3 at batch 8
too. VGG16 conv3_1 (tile rows of 14) ran blocks of 16 until stop 18; it now stacks up to 4 tile
rows per block of 64 lanes, and conv2_1 (rows of 28) 2 rows (`wino-infer --explain` names each
layer's blocks).

{ceiling_text()}

## Fast by default: a plain `swift build -c release` against the Makefile's tuned build

The innermost kernels are C with function-level target attributes, chosen at run time, so a service
that builds the package with no flags gets the same kernels. Density 0.1, batch 1, 1 thread (a
service's setting); seven runs of each build, alternated; the median of the runs' medians (each run's
median in parentheses). This machine's speed is bimodal from one process to the next (the same binary
measured 0.42 and 0.65 ms on AlexNet conv3 in consecutive runs), so the last column compares the
fastest run of each build:

{plain_text}

## All measurements

{table(rows)}
""")
    print("wrote Docs/BENCHMARKS.md and Docs/bench.svg", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The native-pruning study of Docs/PRUNING.md (`make pruning-study`): a dense Fashion-MNIST CNN, then at
Winograd-domain densities 30/20/10/5%: (a) spatial magnitude pruning then transform, (b) Winograd-domain
magnitude pruning without retraining, (c) native pruning with fine-tuning. Writes Docs/PRUNING.md and
Docs/pruning.svg; intermediate models and logs go to .cache/pruning/ (reused when present).

Usage: python3 scripts/pruning_study.py BIN_DIR [--dense-epochs N] [--native-epochs N] [--densities 0.3,0.2,0.1,0.05]"""
import argparse, os, re, subprocess, sys, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CACHE = os.path.join(ROOT, ".cache", "pruning")
ARCH = "conv32,pool,conv64,pool,conv64,pool,fc128,fc10"


def run(cmd, log):
    print("+ " + " ".join(cmd), file=sys.stderr)
    t0 = time.time()
    with open(log, "w") as f:
        subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT)
    out = open(log).read()
    return out, time.time() - t0


def accuracy(bin_dir, model, log):
    out, _ = run([os.path.join(bin_dir, "wino-train"), "eval", model], log)
    return float(re.search(r"accuracy ([\d.]+)%", out).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--dense-epochs", type=int, default=4)
    ap.add_argument("--native-epochs", type=int, default=2)
    ap.add_argument("--native-lr", type=float, default=0.005)
    ap.add_argument("--tile", default="f2")
    ap.add_argument("--densities", default="0.3,0.2,0.1,0.05")
    ap.add_argument("--no-docs", action="store_true", help="only the models, not Docs/pruning.svg")
    a = ap.parse_args()
    os.makedirs(CACHE, exist_ok=True)
    wt = os.path.join(a.bin, "wino-train")
    dense = os.path.join(CACHE, "dense.swz")
    times = {}
    if not os.path.exists(dense):
        out, times["dense"] = run([wt, "fit", "--arch", ARCH, "--epochs", str(a.dense_epochs), "--seed", "1", "-o", dense],
                                  os.path.join(CACHE, "dense.log"))
    dense_acc = accuracy(a.bin, dense, os.path.join(CACHE, "dense-eval.log"))
    # The fair reference for (c): the dense model trained for the same extra epochs at the same rate,
    # with its convolutions in the Winograd domain too, but nothing pruned.
    ft = os.path.join(CACHE, "dense-finetuned.swz")
    if not a.no_docs and not os.path.exists(ft):
        run([wt, "fit", "--init", dense, "--winograd", "auto", "--tile", a.tile, "--epochs", str(a.native_epochs),
             "--lr", str(a.native_lr), "--seed", "1", "-o", ft], os.path.join(CACHE, "dense-finetuned.log"))
    ft_acc = accuracy(a.bin, ft, os.path.join(CACHE, "dense-finetuned-eval.log")) if not a.no_docs else None
    rows = []
    for d in [float(x) for x in a.densities.split(",")]:
        tag = f"{int(round(d * 100))}"
        res = {"density": d}
        for method in ("spatial", "winograd"):
            m = os.path.join(CACHE, f"{method}-{tag}.swz")
            run([wt, "prune", "--init", dense, "--winograd", "auto", "--tile", a.tile, "--method", method,
                 "--density", str(d), "-o", m], os.path.join(CACHE, f"{method}-{tag}.log"))
            res[method] = accuracy(a.bin, m, os.path.join(CACHE, f"{method}-{tag}-eval.log"))
        m = os.path.join(CACHE, f"native-{tag}.swz")
        if not os.path.exists(m):
            out, times[f"native-{tag}"] = run([wt, "fit", "--init", dense, "--winograd", "auto", "--tile", a.tile,
                                               "--target-sparsity", str(1 - d), "--epochs", str(a.native_epochs),
                                               "--lr", str(a.native_lr), "--seed", "1", "-o", m, "--name", "fmnist-native-winograd-cnn",
                                               "--property", f"description=Fashion-MNIST CNN (28x28 gray, white object on black): conv1 direct 3x3, conv2 and conv3 natively pruned Winograd-domain layers ({(1 - d) * 100:.0f}% of their weights zero), 2x2 max pools, FC 576-128-10.",
                                               "--property", "licence=Weights: CC0. Training data: Fashion-MNIST, MIT licence (Zalando Research)."],
                                              os.path.join(CACHE, f"native-{tag}.log"))
        res["native"] = accuracy(a.bin, m, os.path.join(CACHE, f"native-{tag}-eval.log"))
        log = open(os.path.join(CACHE, f"native-{tag}.log")).read()
        res["sparsity"] = [float(x) for x in re.findall(r"Winograd-domain sparsity ([\d.]+)%", log)]
        per_epoch = re.findall(r"\| (\d+) s$", log, re.M)
        res["seconds"] = float(per_epoch[-1]) if per_epoch else None
        rows.append(res)
        print(res, file=sys.stderr)
    if not a.no_docs:
        write(rows, dense_acc, ft_acc, a)


def write(rows, dense_acc, ft_acc, a):
    W, H, L, B, T, R = 640, 360, 60, 50, 30, 170
    xs = [r["density"] for r in rows]
    lo = min(min(r["spatial"], r["winograd"], r["native"]) for r in rows)
    ymin = max(0, (int(lo) // 10) * 10)
    def px(d): return L + (max(xs) - d) / (max(xs) - min(xs)) * (W - L - R) if len(xs) > 1 else L
    def py(v): return T + (100 - v) / (100 - ymin) * (H - T - B)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{L}" y="18" font-size="14">Fashion-MNIST test accuracy vs Winograd-domain density</text>']
    for v in range(ymin, 101, 10):
        svg.append(f'<line x1="{L}" x2="{W - R}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#ddd"/><text x="{L - 8}" y="{py(v) + 4:.1f}" text-anchor="end">{v}%</text>')
    for d in xs:
        svg.append(f'<text x="{px(d):.1f}" y="{H - B + 18}" text-anchor="middle">{d * 100:.0f}%</text>')
    svg.append(f'<text x="{(L + W - R) / 2}" y="{H - 10}" text-anchor="middle">Winograd-domain density (nonzero weights)</text>')
    svg.append(f'<line x1="{L}" x2="{W - R}" y1="{py(dense_acc):.1f}" y2="{py(dense_acc):.1f}" stroke="#000" stroke-dasharray="4 3"/>')
    svg.append(f'<line x1="{L}" x2="{W - R}" y1="{py(ft_acc):.1f}" y2="{py(ft_acc):.1f}" stroke="#888" stroke-dasharray="2 2"/>')
    series = [("native", "#1b7837", "(c) native pruning + fine-tuning"), ("winograd", "#2166ac", "(b) Winograd magnitude, no retraining"),
              ("spatial", "#b2182b", "(a) spatial magnitude, then transform")]
    for i, (k, col, label) in enumerate(series):
        pts = " ".join(f"{px(r['density']):.1f},{py(r[k]):.1f}" for r in rows)
        svg.append(f'<polyline points="{pts}" fill="none" stroke="{col}" stroke-width="2"/>')
        for r in rows:
            svg.append(f'<circle cx="{px(r["density"]):.1f}" cy="{py(r[k]):.1f}" r="3" fill="{col}"/>')
        svg.append(f'<line x1="{W - R + 10}" x2="{W - R + 30}" y1="{T + 20 + 20 * i}" y2="{T + 20 + 20 * i}" stroke="{col}" stroke-width="2"/>'
                   f'<text x="{W - R + 34}" y="{T + 24 + 20 * i}" font-size="10">{label}</text>')
    svg.append(f'<line x1="{W - R + 10}" x2="{W - R + 30}" y1="{T + 80}" y2="{T + 80}" stroke="#000" stroke-dasharray="4 3"/>'
               f'<text x="{W - R + 34}" y="{T + 84}" font-size="10">dense model {dense_acc:.2f}%</text>')
    svg.append(f'<line x1="{W - R + 10}" x2="{W - R + 30}" y1="{T + 100}" y2="{T + 100}" stroke="#888" stroke-dasharray="2 2"/>'
               f'<text x="{W - R + 34}" y="{T + 104}" font-size="10">dense, {a.native_epochs} more epochs {ft_acc:.2f}%</text>')
    svg.append("</svg>")
    open(os.path.join(ROOT, "Docs", "pruning.svg"), "w").write("\n".join(svg) + "\n")
    lines = [
        "| Winograd-domain density | (a) spatial magnitude, then transform | (b) Winograd magnitude, no retraining | (c) native pruning + fine-tuning | (c) per-layer sparsity | (c) loss vs dense |",
        "|---|---|---|---|---|---|"]
    for r in rows:
        sp = ", ".join(f"{s:.2f}%" for s in r["sparsity"])
        lines.append(f"| {r['density'] * 100:.0f}% | {r['spatial']:.2f}% | {r['winograd']:.2f}% | {r['native']:.2f}% | {sp} | {dense_acc - r['native']:+.2f} pp |".replace("+-", "-"))
    open(os.path.join(CACHE, "table.md"), "w").write(f"dense {dense_acc:.2f}%\ndense fine-tuned {ft_acc:.2f}%\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

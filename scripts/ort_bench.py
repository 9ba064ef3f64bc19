#!/usr/bin/env python3
"""Baselines for wino-bench (same shapes, same thread count, same run): onnxruntime, or
with `--engine deepsparse` Neural Magic's DeepSparse (pip `deepsparse==1.8.0`, the sparse
CPU engine of the project's targets; `make bench` installs it in a virtual environment of
its own, since it pins older onnx and numpy).

A small server: wino-bench starts it once and sends one JSON request per line on stdin;
each gets one JSON reply line on stdout. wino-bench alternates short rounds of its own
runs with rounds of these, so that both sides see the same machine load (this machine's
speed drifts by tens of percent over minutes).
  {"op": "conv", "id", "c", "k", "h", "w", "r", "pad", "groups", "batch", "threads", "sparsity"}
      builds a one-Conv (+ Relu) model of that shape and its input, runs it 3 times;
      `sparsity` (default 0): that fraction of the spatial weights, the smallest in
      magnitude, are zero (DeepSparse runs unstructured sparse weights with sparse kernels)
  {"op": "model", "id", "path", "shape": [N, C, H, W], "threads", "sparsity"}
      loads an ONNX model (batch dimension freed when N > 1) and makes an input, runs it 3
      times; `sparsity` prunes every Conv weight but the first Conv's and every Gemm/MatMul
      weight to that fraction of zeros (as wino-bench's headline model is pruned)
  {"op": "time", "id", "reps", "warmup"}  -> {"id", "times_ms": [...]}
      `warmup` untimed runs, then one sample per timed run
  {"op": "drop", "id"}          forgets the session
Replies to conv/model/drop: {"id", "ok": true}; any failure: {"id", "error": "..."}.
"""
import json
import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ENGINE = sys.argv[sys.argv.index("--engine") + 1] if "--engine" in sys.argv else "onnxruntime"


def session(model_bytes, threads):
    if ENGINE == "deepsparse":
        return DeepSparseSession(model_bytes, threads)
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # onnxruntime's default: idle intra-op threads spin (faster for onnxruntime; measured: they
    # keep a core busy for as long as the process idles). wino-bench stops this process
    # (SIGSTOP) while it runs its own rounds, so the spinning never competes with them.
    if os.environ.get("WINO_ORT_SPIN", "1") == "0":
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


class DeepSparseSession:
    """A DeepSparse engine behind onnxruntime's `run(None, feed)` (one input). Its first run is
    checked against onnxruntime on the same model and input where onnxruntime is installed
    beside it (relative L2 <= 1e-4), so that a baseline that computed something else could not
    pass for a fast one."""

    def __init__(self, model_bytes, threads):
        import tempfile
        from deepsparse import compile_model
        self.model_bytes = model_bytes
        self.checked = False
        self.threads = threads
        with tempfile.NamedTemporaryFile(suffix=".onnx") as f:
            f.write(model_bytes)
            f.flush()
            shape = onnx.load_from_string(model_bytes).graph.input[0].type.tensor_type.shape.dim
            self.engine = compile_model(f.name, batch_size=shape[0].dim_value or 1, num_cores=threads)

    def run(self, _outputs, feed):
        (x,) = feed.values()
        out = self.engine.run([x])
        if not self.checked:
            self.checked = True
            try:
                import onnxruntime as ort
            except ImportError:
                return out
            so = ort.SessionOptions()
            so.intra_op_num_threads = self.threads
            ref = ort.InferenceSession(self.model_bytes, so, providers=["CPUExecutionProvider"])
            want = ref.run(None, {ref.get_inputs()[0].name: x})[0].astype(np.float64)
            err = np.linalg.norm(out[0].astype(np.float64) - want) / max(np.linalg.norm(want), 1e-30)
            if not err <= 1e-4:
                raise RuntimeError(f"DeepSparse output differs from onnxruntime's (relative L2 {err:.2e})")
        return out


def prune(w, sparsity):
    """w with its `sparsity` fraction of smallest-magnitude entries set to zero."""
    if sparsity <= 0:
        return w
    w = w.copy()
    flat = np.abs(w).ravel()
    n = int(round(sparsity * flat.size))
    if n > 0:
        w.ravel()[np.argsort(flat, kind="stable")[:n]] = 0
    return w


def warm(sess, feed):
    for _ in range(3):
        sess.run(None, feed)


def timed(sess, feed, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def conv_model(c, k, r, pad, groups, shape, sparsity=0.0):
    """A one-Conv (+ Relu) model; its input has the static `shape` (DeepSparse compiles for one)."""
    rng = np.random.default_rng(0)
    w = prune((rng.standard_normal((k, c // groups, r, r)) * 0.05).astype(np.float32), sparsity)
    b = np.full((k,), 0.01, np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[pad] * 4, group=groups, kernel_shape=[r, r])
    relu = helper.make_node("Relu", ["c"], ["y"])
    g = helper.make_graph([node, relu], "conv",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.flatten()),
                           helper.make_tensor("b", TensorProto.FLOAT, b.shape, b)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m.SerializeToString()


def pruned_model(model_bytes, sparsity):
    """The model with every Conv weight but the first Conv's, and every Gemm/MatMul weight,
    magnitude-pruned to `sparsity` (as wino-bench's headline model prunes conv2-5 and FC)."""
    if sparsity <= 0:
        return model_bytes
    m = onnx.load_from_string(model_bytes)
    inits = {t.name: t for t in m.graph.initializer}
    first_conv = True
    for node in m.graph.node:
        if node.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        if node.op_type == "Conv" and first_conv:
            first_conv = False
            continue
        for name in node.input[1:2]:
            if name in inits:
                t = inits[name]
                t.CopyFrom(numpy_helper.from_array(prune(numpy_helper.to_array(t), sparsity), t.name))
    return m.SerializeToString()


def batched(model_bytes, n, static=False):
    """The model with a free batch dimension when n > 1. Models exported for one image (such
    as ONNX's bvlc_alexnet) fix the batch at 1 in their input and output shapes and in the
    target shape of their Reshape before the fully connected layers: those become -1 (the
    Reshape infers the batch) and the value_info shapes are dropped (onnxruntime infers them)."""
    if n == 1:
        return model_bytes
    m = onnx.load_from_string(model_bytes)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    for v in list(g.input[:1]) + list(g.output):
        dims = v.type.tensor_type.shape.dim
        if len(dims) > 0:
            # (DeepSparse compiles for a static batch: the input says n.)
            if static and v is g.input[0]:
                dims[0].dim_value = n
            else:
                dims[0].dim_param = "N"
    for node in g.node:
        if node.op_type == "Reshape" and len(node.input) > 1 and node.input[1] in inits:
            t = inits[node.input[1]]
            shape = numpy_helper.to_array(t).copy()
            if len(shape) > 1 and shape[0] == 1:
                shape[0] = -1
                t.CopyFrom(numpy_helper.from_array(shape.astype(np.int64), t.name))
    # Initializers listed as graph inputs (old IR versions) would stay overridable: drop them.
    keep = [v for v in g.input if v.name not in inits]
    del g.input[:]
    g.input.extend(keep)
    del g.value_info[:]
    return m.SerializeToString()


def main():
    sessions = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        rid = req.get("id")
        try:
            if req["op"] == "conv":
                shape = (req["batch"], req["c"], req["h"], req["w"])
                sess = session(conv_model(req["c"], req["k"], req["r"], req["pad"], req["groups"], shape,
                                          req.get("sparsity", 0.0)), req["threads"])
                x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
                sessions[rid] = (sess, {"x": x})
                warm(*sessions[rid])
                reply = {"id": rid, "ok": True}
            elif req["op"] == "model":
                model = pruned_model(open(req["path"], "rb").read(), req.get("sparsity", 0.0))
                sess = session(batched(model, req["shape"][0], static=ENGINE == "deepsparse"), req["threads"])
                x = np.random.default_rng(1).standard_normal(req["shape"]).astype(np.float32)
                sessions[rid] = (sess, {onnx.load_from_string(model).graph.input[0].name: x})
                warm(*sessions[rid])
                reply = {"id": rid, "ok": True}
            elif req["op"] == "time":
                sess, feed = sessions[rid]
                for _ in range(req.get("warmup", 0)):
                    sess.run(None, feed)
                reply = {"id": rid, "times_ms": timed(sess, feed, req["reps"])}
            elif req["op"] == "drop":
                sessions.pop(rid, None)
                reply = {"id": rid, "ok": True}
            else:
                reply = {"id": rid, "error": f"unknown op {req['op']!r}"}
        except Exception as e:  # report to the caller, keep serving
            reply = {"id": rid, "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()

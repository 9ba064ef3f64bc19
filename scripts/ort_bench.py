#!/usr/bin/env python3
"""onnxruntime baseline for wino-bench (same shapes, same thread count, same run).

A small server: wino-bench starts it once and sends one JSON request per line on stdin;
each gets one JSON reply line on stdout. wino-bench alternates short rounds of its own
runs with rounds of these, so that both sides see the same machine load (this machine's
speed drifts by tens of percent over minutes).
  {"op": "conv", "id", "c", "k", "h", "w", "r", "pad", "groups", "batch", "threads"}
      builds a one-Conv (+ Relu) model of that shape and its input, runs it 3 times
  {"op": "model", "id", "path", "shape": [N, C, H, W], "threads"}
      loads an ONNX model (batch dimension freed when N > 1) and makes an input, runs it 3 times
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
import onnxruntime as ort
from onnx import TensorProto, helper


def session(model_bytes, threads):
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


def conv_model(c, k, r, pad, groups):
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((k, c // groups, r, r)) * 0.05).astype(np.float32)
    b = np.full((k,), 0.01, np.float32)
    node = helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[pad] * 4, group=groups, kernel_shape=[r, r])
    relu = helper.make_node("Relu", ["c"], ["y"])
    g = helper.make_graph([node, relu], "conv",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", c, "H", "W"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.flatten()),
                           helper.make_tensor("b", TensorProto.FLOAT, b.shape, b)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m.SerializeToString()


def batched(model_bytes, n):
    """The model with a free batch dimension when n > 1. Models exported for one image (such
    as ONNX's bvlc_alexnet) fix the batch at 1 in their input and output shapes and in the
    target shape of their Reshape before the fully connected layers: those become -1 (the
    Reshape infers the batch) and the value_info shapes are dropped (onnxruntime infers them)."""
    if n == 1:
        return model_bytes
    from onnx import numpy_helper
    m = onnx.load_from_string(model_bytes)
    g = m.graph
    inits = {t.name: t for t in g.initializer}
    for v in list(g.input[:1]) + list(g.output):
        dims = v.type.tensor_type.shape.dim
        if len(dims) > 0:
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
                sess = session(conv_model(req["c"], req["k"], req["r"], req["pad"], req["groups"]), req["threads"])
                x = np.random.default_rng(1).standard_normal((req["batch"], req["c"], req["h"], req["w"])).astype(np.float32)
                sessions[rid] = (sess, {"x": x})
                warm(*sessions[rid])
                reply = {"id": rid, "ok": True}
            elif req["op"] == "model":
                sess = session(batched(open(req["path"], "rb").read(), req["shape"][0]), req["threads"])
                x = np.random.default_rng(1).standard_normal(req["shape"]).astype(np.float32)
                sessions[rid] = (sess, {sess.get_inputs()[0].name: x})
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

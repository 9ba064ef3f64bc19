#!/usr/bin/env python3
"""onnxruntime baseline for wino-bench (same shapes, same thread count, same run).

Reads one JSON request from stdin and prints one JSON result per line:
  {"mode": "conv", "cases": [{"id", "c", "k", "h", "w", "r", "pad", "groups", "batch", "threads", "reps"}]}
  {"mode": "model", "path": "x.onnx", "shape": [N, C, H, W], "threads": T, "reps": R, "id": ...}
Each result: {"id": ..., "median_ms": ..., "min_ms": ..., "max_ms": ...}.
"""
import json
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
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def timed(sess, feed, reps):
    for _ in range(3):
        sess.run(None, feed)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"median_ms": times[len(times) // 2], "min_ms": times[0], "max_ms": times[-1]}


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


def main():
    req = json.load(sys.stdin)
    if req["mode"] == "conv":
        for case in req["cases"]:
            sess = session(conv_model(case["c"], case["k"], case["r"], case["pad"], case["groups"]), case["threads"])
            x = np.random.default_rng(1).standard_normal((case["batch"], case["c"], case["h"], case["w"])).astype(np.float32)
            res = timed(sess, {"x": x}, case["reps"])
            res["id"] = case["id"]
            print(json.dumps(res), flush=True)
    else:
        sess = session(open(req["path"], "rb").read(), req["threads"])
        name = sess.get_inputs()[0].name
        x = np.random.default_rng(1).standard_normal(req["shape"]).astype(np.float32)
        res = timed(sess, {name: x}, req["reps"])
        res["id"] = req.get("id", "model")
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()

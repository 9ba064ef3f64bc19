#!/usr/bin/env python3
"""Baselines for wino-bench (same shapes, same thread count, same run): onnxruntime; with
`--engine deepsparse` Neural Magic's DeepSparse (pip `deepsparse==1.8.0`, the sparse CPU
engine of the project's targets); with `--engine onednn` Intel's oneDNN (pip
`onednn-cpu-gomp`, its C API through ctypes; "conv" requests only, with "algorithm"
"winograd" or "auto"). `make bench` installs DeepSparse and oneDNN in a virtual environment
of their own (DeepSparse pins older onnx and numpy).

A small server: wino-bench starts it once and sends one JSON request per line on stdin;
each gets one JSON reply line on stdout. wino-bench alternates short rounds of its own
runs with rounds of these, so that both sides see the same machine load (this machine's
speed drifts by tens of percent over minutes).
  {"op": "conv", "id", "c", "k", "h", "w", "r", "pad", "groups", "batch", "threads", "sparsity"}
      builds a one-Conv (+ Relu) model of that shape and its input, runs it 3 times;
      `sparsity` (default 0): that fraction of the spatial weights, the smallest in
      magnitude, are zero (DeepSparse runs unstructured sparse weights with sparse kernels);
      oneDNN: "algorithm" "winograd" (fails where oneDNN has no Winograd for the shape and
      CPU: it has none for AVX2) or "auto"; the reply's "implementation" names what runs
  {"op": "model", "id", "path", "shape": [N, C, H, W], "threads", "sparsity"}
      loads an ONNX model (batch dimension freed when N > 1) and makes an input, runs it 3
      times; `sparsity` prunes every Conv weight but the first Conv's and every Gemm/MatMul
      weight to that fraction of zeros (as wino-bench's headline model is pruned)
  {"op": "time", "id", "reps", "warmup"}  -> {"id", "times_ms": [...]}
      `warmup` untimed runs, then one sample per timed run
  {"op": "drop", "id"}          forgets the session
Replies to conv/model/drop: {"id", "ok": true}; any failure: {"id", "error": "..."}.
"""
import ctypes
import json
import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ENGINE = sys.argv[sys.argv.index("--engine") + 1] if "--engine" in sys.argv else "onnxruntime"


def session(model_bytes, threads):
    if ENGINE == "onednn":
        raise RuntimeError("the oneDNN baseline runs one-Conv requests only")
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


def check_against_onnxruntime(name, model_bytes, x, got, threads):
    """Raises where `got` (the engine's output for input x) differs from onnxruntime's on the
    same model by more than 1e-4 relative L2; does nothing where onnxruntime is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    ref = ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])
    want = ref.run(None, {ref.get_inputs()[0].name: x})[0].astype(np.float64)
    err = np.linalg.norm(got.astype(np.float64).reshape(want.shape) - want) / max(np.linalg.norm(want), 1e-30)
    if not err <= 1e-4:
        raise RuntimeError(f"{name} output differs from onnxruntime's (relative L2 {err:.2e})")


class OneDNN:
    """The few calls of oneDNN's v3 C API (include/oneapi/dnnl/dnnl.h) the baseline needs, through
    ctypes, with the constants of its dnnl_types.h (stable within major version 3)."""
    FORWARD_INFERENCE, CONV_DIRECT, CONV_WINOGRAD, CONV_AUTO = 96, 1, 2, 3
    F32, TAG_ANY, TAG_A, TAG_ABCD, TAG_ABCDE = 3, 1, 2, 5, 6
    QUERY_IMPL_INFO_STR, QUERY_SRC_MD, QUERY_WEIGHTS_MD, QUERY_DST_MD = 8, 129, 131, 133
    CPU, SUCCESS, UNIMPLEMENTED, ELTWISE_RELU = 1, 0, 3, 32
    ARG_SRC, ARG_DST, ARG_WEIGHTS, ARG_BIAS, ARG_FROM, ARG_TO = 1, 17, 33, 41, 1, 17
    ALLOCATE = ctypes.c_void_p(-1 & 0xFFFFFFFFFFFFFFFF)
    Dims = ctypes.c_int64 * 12
    KINDS = ("memory", "memory_desc", "primitive", "primitive_desc", "primitive_attr", "post_ops")

    class ExecArg(ctypes.Structure):
        _fields_ = [("arg", ctypes.c_int), ("memory", ctypes.c_void_p)]

    def __init__(self):
        path = os.path.join(sys.prefix, "lib", "libdnnl.so.3")
        self.lib = lib = ctypes.CDLL(path)
        self.omp = ctypes.CDLL("libgomp.so.1")
        P = ctypes.c_void_p
        for name, args, res in [
                ("dnnl_engine_create", [ctypes.POINTER(P), ctypes.c_int, ctypes.c_size_t], ctypes.c_int),
                ("dnnl_stream_create", [ctypes.POINTER(P), P, ctypes.c_uint], ctypes.c_int),
                ("dnnl_stream_wait", [P], ctypes.c_int),
                ("dnnl_memory_desc_create_with_tag", [ctypes.POINTER(P), ctypes.c_int, self.Dims, ctypes.c_int, ctypes.c_int], ctypes.c_int),
                ("dnnl_memory_desc_get_size", [P], ctypes.c_size_t),
                ("dnnl_memory_create", [ctypes.POINTER(P), P, P, P], ctypes.c_int),
                ("dnnl_memory_get_data_handle", [P, ctypes.POINTER(P)], ctypes.c_int),
                ("dnnl_primitive_attr_create", [ctypes.POINTER(P)], ctypes.c_int),
                ("dnnl_post_ops_create", [ctypes.POINTER(P)], ctypes.c_int),
                ("dnnl_post_ops_append_eltwise", [P, ctypes.c_int, ctypes.c_float, ctypes.c_float], ctypes.c_int),
                ("dnnl_primitive_attr_set_post_ops", [P, P], ctypes.c_int),
                ("dnnl_convolution_forward_primitive_desc_create",
                 [ctypes.POINTER(P), P, ctypes.c_int, ctypes.c_int, P, P, P, P, self.Dims, self.Dims, self.Dims, self.Dims, P],
                 ctypes.c_int),
                ("dnnl_reorder_primitive_desc_create", [ctypes.POINTER(P), P, P, P, P, P], ctypes.c_int),
                ("dnnl_primitive_desc_query", [P, ctypes.c_int, ctypes.c_int, P], ctypes.c_int),
                ("dnnl_primitive_desc_query_md", [P, ctypes.c_int, ctypes.c_int], P),
                ("dnnl_primitive_create", [ctypes.POINTER(P), P], ctypes.c_int),
                ("dnnl_primitive_execute", [P, P, ctypes.c_int, P], ctypes.c_int)] + [
                (f"dnnl_{kind}_destroy", [P], ctypes.c_int) for kind in self.KINDS]:
            f = getattr(lib, name)
            f.argtypes, f.restype = args, res

        class Version(ctypes.Structure):
            _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int)]
        lib.dnnl_version.restype = ctypes.POINTER(Version)
        v = lib.dnnl_version().contents
        self.version = f"{v.major}.{v.minor}.{v.patch}"
        if v.major != 3:
            raise RuntimeError(f"oneDNN {self.version}: the baseline speaks the v3 C API")
        self.engine, self.stream = P(), P()
        self.ok(lib.dnnl_engine_create(ctypes.byref(self.engine), self.CPU, 0), "engine")
        self.ok(lib.dnnl_stream_create(ctypes.byref(self.stream), self.engine, 1), "stream")

    def free(self, owned):
        """Destroys the (kind, handle) pairs of `owned` (last first) and empties it."""
        while owned:
            kind, handle = owned.pop()
            getattr(self.lib, f"dnnl_{kind}_destroy")(handle)

    def ok(self, status, what):
        if status != self.SUCCESS:
            raise RuntimeError(f"oneDNN {what}: status {status}" + (" (unimplemented)" if status == self.UNIMPLEMENTED else ""))

    # The constructors below append what they create to `owned` (a list of (kind, handle)
    # that `free` destroys).
    def md(self, dims, tag, owned):
        m = ctypes.c_void_p()
        self.ok(self.lib.dnnl_memory_desc_create_with_tag(ctypes.byref(m), len(dims), self.Dims(*dims), self.F32, tag),
                "memory descriptor")
        owned.append(("memory_desc", m))
        return m

    def memory(self, md, owned):
        m = ctypes.c_void_p()
        self.ok(self.lib.dnnl_memory_create(ctypes.byref(m), md, self.engine, self.ALLOCATE), "memory")
        owned.append(("memory", m))
        return m

    def array(self, mem, md):
        """A numpy view of a memory's buffer (float32, the descriptor's size)."""
        h = ctypes.c_void_p()
        self.ok(self.lib.dnnl_memory_get_data_handle(mem, ctypes.byref(h)), "data handle")
        n = self.lib.dnnl_memory_desc_get_size(md) // 4
        return np.ctypeslib.as_array(ctypes.cast(h, ctypes.POINTER(ctypes.c_float)), shape=(n,))

    def execute(self, prim, args):
        arr = (self.ExecArg * len(args))(*[self.ExecArg(a, m) for a, m in args])
        self.ok(self.lib.dnnl_primitive_execute(prim, self.stream, len(args), arr), "execute")
        self.ok(self.lib.dnnl_stream_wait(self.stream), "wait")

    def reorder(self, src_md, src_mem, dst_md, dst_mem):
        pd, prim, owned = ctypes.c_void_p(), ctypes.c_void_p(), []
        try:
            self.ok(self.lib.dnnl_reorder_primitive_desc_create(ctypes.byref(pd), src_md, self.engine, dst_md, self.engine,
                                                                None), "reorder")
            owned.append(("primitive_desc", pd))
            self.ok(self.lib.dnnl_primitive_create(ctypes.byref(prim), pd), "reorder primitive")
            owned.append(("primitive", prim))
            self.execute(prim, [(self.ARG_FROM, src_mem), (self.ARG_TO, dst_mem)])
        finally:
            self.free(owned)


ONEDNN = None


class OneDNNConvSession:
    """One Conv + ReLU (post-op) as a oneDNN primitive, with the memory formats oneDNN prefers
    (format `any`: blocked activations and weights), the input and weights reordered into them
    once: only the convolution is timed, as in a network kept in oneDNN's own layout (its best
    case). algorithm: "winograd" (oneDNN's dense Winograd: the issue's dense peer; where oneDNN
    has none for the shape and CPU, loading fails with "unimplemented") or "auto"."""

    def __init__(self, c, k, r, pad, groups, shape, threads, algorithm, model_bytes, x):
        global ONEDNN
        if ONEDNN is None:
            ONEDNN = OneDNN()
        d = self.d = ONEDNN
        self.threads = threads
        self.owned = []   # freed when the session is dropped
        try:
            self.build(c, k, r, pad, groups, shape, algorithm, model_bytes, x)
        except BaseException:
            d.free(self.owned)
            raise

    def __del__(self):
        if getattr(self, "owned", None):
            self.d.free(self.owned)

    def build(self, c, k, r, pad, groups, shape, algorithm, model_bytes, x):
        d, own, tmp = self.d, self.owned, []
        d.omp.omp_set_num_threads(self.threads)
        n, _, h, w = shape
        oh, ow = h + 2 * pad - r + 1, w + 2 * pad - r + 1
        model = onnx.load_from_string(model_bytes)
        inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        wt, bias = inits["w"], inits["b"]
        wdims = [groups, k // groups, c // groups, r, r] if groups > 1 else [k, c, r, r]
        wtag = d.TAG_ABCDE if groups > 1 else d.TAG_ABCD
        any_src, any_w, any_dst = d.md([n, c, h, w], d.TAG_ANY, own), d.md(wdims, d.TAG_ANY, own), d.md([n, k, oh, ow], d.TAG_ANY, own)
        bias_md = d.md([k], d.TAG_A, own)
        attr, post = ctypes.c_void_p(), ctypes.c_void_p()
        d.ok(d.lib.dnnl_primitive_attr_create(ctypes.byref(attr)), "attributes")
        own.append(("primitive_attr", attr))
        d.ok(d.lib.dnnl_post_ops_create(ctypes.byref(post)), "post-ops")
        own.append(("post_ops", post))
        d.ok(d.lib.dnnl_post_ops_append_eltwise(post, d.ELTWISE_RELU, 0.0, 0.0), "ReLU post-op")
        d.ok(d.lib.dnnl_primitive_attr_set_post_ops(attr, post), "post-ops")
        alg = {"winograd": d.CONV_WINOGRAD, "auto": d.CONV_AUTO, "direct": d.CONV_DIRECT}[algorithm]
        pd = self.pd = ctypes.c_void_p()
        d.ok(d.lib.dnnl_convolution_forward_primitive_desc_create(
            ctypes.byref(pd), d.engine, d.FORWARD_INFERENCE, alg, any_src, any_w, bias_md, any_dst,
            d.Dims(1, 1), d.Dims(0, 0), d.Dims(pad, pad), d.Dims(pad, pad), attr), f"{algorithm} convolution")
        own.append(("primitive_desc", pd))
        info = ctypes.c_char_p()
        d.ok(d.lib.dnnl_primitive_desc_query(pd, d.QUERY_IMPL_INFO_STR, 0, ctypes.byref(info)), "implementation")
        self.impl = info.value.decode()
        self.prim = ctypes.c_void_p()
        d.ok(d.lib.dnnl_primitive_create(ctypes.byref(self.prim), pd), "primitive")
        own.append(("primitive", self.prim))
        # (descriptors owned by the primitive descriptor)
        mds = [d.lib.dnnl_primitive_desc_query_md(pd, q, 0) for q in (d.QUERY_SRC_MD, d.QUERY_WEIGHTS_MD, d.QUERY_DST_MD)]
        self.src, self.wm, self.dst = [d.memory(m, own) for m in mds]
        self.bias = d.memory(bias_md, own)
        d.array(self.bias, bias_md)[:] = bias
        try:
            # Plain (NCHW / OIHW / GOIHW) data reordered into oneDNN's formats.
            for dims, tag, data, mem, md in (([n, c, h, w], d.TAG_ABCD, x, self.src, mds[0]), (wdims, wtag, wt, self.wm, mds[1])):
                pmd = d.md(dims, tag, tmp)
                pmem = d.memory(pmd, tmp)
                d.array(pmem, pmd)[:] = data.ravel()
                d.reorder(pmd, pmem, md, mem)
            self.args = [(d.ARG_SRC, self.src), (d.ARG_WEIGHTS, self.wm), (d.ARG_BIAS, self.bias), (d.ARG_DST, self.dst)]
            self.run(None, None)
            # The output, back in NCHW, against onnxruntime's.
            plain_md = d.md([n, k, oh, ow], d.TAG_ABCD, tmp)
            plain = d.memory(plain_md, tmp)
            d.reorder(mds[2], self.dst, plain_md, plain)
            check_against_onnxruntime(f"oneDNN ({self.impl})", model_bytes, x, d.array(plain, plain_md).copy(), self.threads)
        finally:
            d.free(tmp)

    def run(self, _outputs, _feed):
        self.d.omp.omp_set_num_threads(self.threads)
        self.d.execute(self.prim, self.args)


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
            check_against_onnxruntime("DeepSparse", self.model_bytes, x, out[0], self.threads)
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
                model = conv_model(req["c"], req["k"], req["r"], req["pad"], req["groups"], shape, req.get("sparsity", 0.0))
                x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
                reply = {"id": rid, "ok": True}
                if ENGINE == "onednn":
                    sess = OneDNNConvSession(req["c"], req["k"], req["r"], req["pad"], req["groups"], shape, req["threads"],
                                             req.get("algorithm", "auto"), model, x)
                    reply["implementation"] = sess.impl
                else:
                    sess = session(model, req["threads"])
                sessions[rid] = (sess, {"x": x})
                warm(*sessions[rid])
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

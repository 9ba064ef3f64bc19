#!/usr/bin/env python3
"""Regenerates the fuzzers' ONNX and .swz seeds in Tests/Fuzz/corpus (needs numpy and onnx).

Usage: python3 Tests/Fuzz/make_seeds.py PATH/TO/wino-convert
Three small models cover the importer's and the engine's main paths: a Winograd 3x3
convolution with LRN, max pooling, Gemm and Softmax; a grouped 5x5 Winograd convolution with
Dropout, a 1x1 convolution, Add, Concat and average pooling; a strided 3x3 convolution with
global average pooling; two 16-channel 3x3 convolutions. The .swz seeds are their conversions:
pruned (conv and FC), 50% pruned F(4x4,5x5), f16 weights, and 60% pruned F(2x2,3x3). The image seeds (P6, P5 16-bit, P3, P2) are written by hand.
"""
import os, subprocess, sys
import numpy as np, onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh
rng = np.random.default_rng(7)
here = os.path.dirname(os.path.abspath(__file__))
out = f"{here}/corpus/onnx"
def w(name, *shape): return nh.from_array((rng.standard_normal(shape) * 0.3).astype(np.float32), name)
def save(nodes, inits, inp, out, path):
    g = h.make_graph(nodes, "seed", [h.make_tensor_value_info("x", T.FLOAT, inp)],
                     [h.make_tensor_value_info(out, T.FLOAT, None)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)], producer_name="seed")
    onnx.save(m, path)
# 1: conv3x3 (winograd) + relu + maxpool + lrn + gemm + softmax
save([h.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1,1,1,1], kernel_shape=[3,3]),
      h.make_node("Relu", ["c1"], ["r1"]),
      h.make_node("LRN", ["r1"], ["l1"], size=3, alpha=1e-4, beta=0.75, bias=1.0),
      h.make_node("MaxPool", ["l1"], ["p1"], kernel_shape=[2,2], strides=[2,2]),
      h.make_node("Flatten", ["p1"], ["f1"]),
      h.make_node("Gemm", ["f1", "w2", "b2"], ["g1"], transB=1),
      h.make_node("Softmax", ["g1"], ["y"], axis=1)],
     [w("w1", 8, 1, 3, 3), w("b1", 8), w("w2", 4, 8 * 4 * 4), w("b2", 4)], [1, 1, 8, 8], "y", f"{out}/conv3-lrn-gemm.onnx")
# 2: grouped 5x5 conv + avgpool + dropout + conv 1x1 + concat + add
save([h.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[2,2,2,2], kernel_shape=[5,5], group=2),
      h.make_node("Relu", ["c1"], ["r1"]),
      h.make_node("Dropout", ["r1"], ["d1"]),
      h.make_node("Conv", ["d1", "w2"], ["c2"], kernel_shape=[1,1]),
      h.make_node("Add", ["c2", "d1"], ["a1"]),
      h.make_node("Concat", ["a1", "c2"], ["k1"], axis=1),
      h.make_node("AveragePool", ["k1"], ["y"], kernel_shape=[3,3], strides=[2,2])],
     [w("w1", 8, 4, 5, 5), w("b1", 8), w("w2", 8, 8, 1, 1)], [1, 8, 9, 9], "y", f"{out}/conv5-grouped-concat.onnx")
# 3: strided conv 3x3 + global average + gemm
save([h.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1,1,1,1], strides=[2,2], kernel_shape=[3,3]),
      h.make_node("Relu", ["c1"], ["r1"]),
      h.make_node("GlobalAveragePool", ["r1"], ["p1"]),
      h.make_node("Flatten", ["p1"], ["f1"]),
      h.make_node("Gemm", ["f1", "w2", "b2"], ["y"], transB=1)],
     [w("w1", 8, 3, 3, 3), w("b1", 8), w("w2", 5, 8), w("b2", 5)], [1, 3, 12, 12], "y", f"{out}/strided-gap.onnx")
# 4: two 16-channel 3x3 convolutions on a 10x14 plane (row blocks, several vectors of tiles)
save([h.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1,1,1,1], kernel_shape=[3,3]),
      h.make_node("Relu", ["c1"], ["r1"]),
      h.make_node("Conv", ["r1", "w2", "b2"], ["y"], pads=[1,1,1,1], kernel_shape=[3,3])],
     [w("w1", 16, 3, 3, 3), w("b1", 16), w("w2", 16, 16, 3, 3), w("b2", 16)], [1, 3, 10, 14], "y", f"{out}/conv16-pair.onnx")

convert = sys.argv[1]
for onnx_name, swz_name, flags in [("conv3-lrn-gemm", "conv3-pruned", ["--sparsity", "0.7", "--fc-sparsity", "0.7"]),
                                   ("conv5-grouped-concat", "conv5-grouped", ["--sparsity", "0.5"]),
                                   ("strided-gap", "strided-f16", ["--f16"]),
                                   ("conv16-pair", "conv16-f2-sparse", ["--tile", "F2", "--sparsity", "0.6"])]:
    subprocess.run([convert, "onnx", f"{out}/{onnx_name}.onnx", "-o", f"{here}/corpus/swz/{swz_name}.swz"] + flags, check=True)

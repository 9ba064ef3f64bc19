// The ONNX node tests of Debian's libonnx-testdata (files nobody here wrote):
// each supported case converts (extra graph inputs bound as constants) and
// reproduces its expected output; unsupported cases fail with a clean error.
import Foundation
import WinoConvert
import WinoEngine
import WinoFormat
import XCTest

final class NodeTests: XCTestCase {
    /// Cases that must convert and match. Each op of the importer appears here.
    static let mustPass = [
        "test_basic_conv_with_padding", "test_basic_conv_without_padding", "test_conv_with_strides_padding",
        "test_conv_with_strides_no_padding", "test_conv_with_strides_and_asymmetric_padding", "test_conv_with_autopad_same",
        "test_relu", "test_lrn", "test_lrn_default",
        "test_maxpool_2d_default", "test_maxpool_2d_ceil", "test_maxpool_2d_pads", "test_maxpool_2d_strides",
        "test_maxpool_2d_precomputed_pads", "test_maxpool_2d_precomputed_strides", "test_maxpool_2d_same_upper",
        "test_maxpool_2d_same_lower", "test_maxpool_2d_precomputed_same_upper",
        "test_averagepool_2d_default", "test_averagepool_2d_ceil", "test_averagepool_2d_pads", "test_averagepool_2d_strides",
        "test_averagepool_2d_pads_count_include_pad", "test_averagepool_2d_precomputed_pads",
        "test_averagepool_2d_precomputed_pads_count_include_pad", "test_averagepool_2d_precomputed_strides",
        "test_averagepool_2d_same_upper", "test_averagepool_2d_same_lower", "test_averagepool_2d_precomputed_same_upper",
        "test_globalaveragepool", "test_globalaveragepool_precomputed", "test_globalmaxpool",
        "test_gemm_alpha", "test_gemm_beta", "test_gemm_default_no_bias", "test_gemm_default_scalar_bias",
        "test_gemm_default_single_elem_vector_bias", "test_gemm_default_vector_bias", "test_gemm_default_zero_bias",
        "test_gemm_transposeB", "test_matmul_2d",
        "test_softmax_axis_1", "test_softmax_example", "test_softmax_large_number", "test_flatten_axis1", "test_flatten_default_axis", "test_flatten_negative_axis3",
        "test_reshape_reduced_dims",
        "test_dropout_default", "test_dropout_default_ratio", "test_identity",
        "test_batchnorm_example", "test_batchnorm_epsilon",
        "test_clip", "test_clip_default_min", "test_clip_default_max", "test_prelu_broadcast",
    ]
    /// Prefixes of the node tests tried: everything of a supported op.
    static let prefixes = ["test_basic_conv", "test_conv_", "test_relu", "test_lrn", "test_maxpool", "test_averagepool",
                           "test_globalaveragepool", "test_globalmaxpool", "test_gemm", "test_matmul", "test_softmax",
                           "test_flatten", "test_reshape", "test_dropout", "test_identity", "test_batchnorm", "test_clip",
                           "test_prelu", "test_add", "test_concat"]

    func testNodeTestsOfSupportedOps() throws {
        let root = "/usr/share/libonnx-testdata/data/node"
        if !FileManager.default.fileExists(atPath: "\(root)/test_relu/model.onnx") {
            _ = try? fixture("libonnx-testdata.stamp", script: "onnx_testdata.sh")
        }
        guard FileManager.default.fileExists(atPath: "\(root)/test_relu/model.onnx") else {
            throw FixtureError(message: "Debian libonnx-testdata is not installed and scripts/fixtures/onnx_testdata.sh could not install it")
        }
        let all = try FileManager.default.contentsOfDirectory(atPath: root).sorted()
            .filter { name in Self.prefixes.contains { name.hasPrefix($0) } }
        var passed = [String](), refused = [String]()
        for name in all {
            do {
                if try runCase("\(root)/\(name)") { passed.append(name) } else { XCTFail("\(name): output differs") }
            } catch let e as ConvertError {
                XCTAssertFalse(e.message.isEmpty)
                refused.append("\(name): \(e.message)")
            }
        }
        for name in Self.mustPass where !passed.contains(name) {
            XCTFail("\(name) did not convert and match: \(refused.first { $0.hasPrefix(name + ":") } ?? "missing")")
        }
        print("node tests: \(passed.count) converted and matched, \(refused.count) refused with an error")
        for r in refused { print("  refused \(r)") }
    }

    /// Converts one node test and compares with its expected output; false when it differs.
    func runCase(_ dir: String) throws -> Bool {
        let data = "\(dir)/test_data_set_0"
        var inputs = [ONNXTensor]()
        for i in 0... {
            guard let d = FileManager.default.contents(atPath: "\(data)/input_\(i).pb") else { break }
            inputs.append(try ONNXTensor(serialized: [UInt8](d)))
        }
        guard let x = inputs.first, let od = FileManager.default.contents(atPath: "\(data)/output_0.pb") else { return false }
        let want = try ONNXTensor(serialized: [UInt8](od))
        var opts = ImportOptions()
        for t in inputs.dropFirst() { opts.constants[t.name] = t }
        let imported = try ONNXImporter.importModel(path: "\(dir)/model.onnx", options: opts)
        var enc = EncodeOptions()
        enc.tile3x3 = dir.hasSuffix("padding") ? .f2x2_3x3 : .f4x4_3x3   // both tiles on real data
        let (g, _) = try WinogradEncoder.encode(imported.graph, options: enc)
        guard x.isFloat, want.isFloat, let batch = x.dims.first, batch >= 1 else { throw ConvertError("non-float test data") }
        let model: Model
        do { model = try Model(graph: g) } catch { throw ConvertError("engine refused: \(error)") }
        let got = try model.predict(x.floats, batch: batch)
        guard got.count == want.floats.count else { return false }
        return relativeError(got, want.floats) <= 1e-5
    }
}

// Runs an ONNX model with onnxruntime through a small Python helper (written
// to a temporary directory; inputs and outputs travel as raw float32 files).
import Foundation

enum ONNXRuntimeRunner {
    /// Exit status of the helper when onnxruntime cannot be imported.
    static let missingStatus: Int32 = 3

    static let script = """
    import sys
    import numpy as np
    try:
        import onnxruntime as ort
    except ImportError as e:
        print(f"onnxruntime is not available ({e}); install it with: pip install onnxruntime", file=sys.stderr)
        sys.exit(3)
    model, inp, per_sample, batch, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    i = sess.get_inputs()[0]
    dims = [int(s) for s in per_sample.split(",")]
    rank = len(i.shape)
    x = np.fromfile(inp, dtype="<f4").reshape([batch] + dims[: rank - 1])
    y = sess.run([sess.get_outputs()[0].name], {i.name: x})[0]
    np.ascontiguousarray(y, dtype="<f4").tofile(out)
    """

    enum Failure: Error { case missing(String), failed(String) }

    /// The first output of `onnx` for `input` ([batch] + perSample values).
    static func run(onnx: String, input: [Float], perSample: [Int], batch: Int, python: String) throws -> [Float] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wino-verify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let scriptURL = dir.appendingPathComponent("onnx_run.py"), inURL = dir.appendingPathComponent("in.f32")
        let outURL = dir.appendingPathComponent("out.f32")
        try script.write(to: scriptURL, atomically: true, encoding: .utf8)
        try input.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: inURL)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, scriptURL.path, onnx, inURL.path, perSample.map(String.init).joined(separator: ","), "\(batch)", outURL.path]
        let err = Pipe()
        p.standardError = err
        do { try p.run() } catch { throw Failure.missing("cannot start \(python): \(error)") }
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if p.terminationStatus == missingStatus || p.terminationStatus == 127 { throw Failure.missing(errText.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard p.terminationStatus == 0, let data = FileManager.default.contents(atPath: outURL.path) else {
            throw Failure.failed("onnxruntime failed (status \(p.terminationStatus)): \(errText.suffix(2000))")
        }
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}

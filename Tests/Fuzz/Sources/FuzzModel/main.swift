// libFuzzer entry point for the engine behind the .swz reader. Each input is decoded with
// CRC checks off (so that mutations reach the engine), loaded as a Model with a 64 MiB
// workspace limit and, when its input holds at most 2^18 values, run once with 1 thread and
// once with 2. Every input must be rejected with a FormatError or an EngineError, or run;
// both runs must give the same bits. Any trap, sanitizer report, oversized allocation,
// timeout, other error type or differing output is a bug in WinoEngine.
import WinoEngine
import WinoFormat

private func load(_ graph: ModelGraph, threads: Int) -> Model? {
    do {
        return try Model(graph: graph, options: Model.Options(threads: threads, maxWorkspaceBytes: 64 << 20))
    } catch is EngineError {
    } catch is FormatError {
    } catch {
        fatalError("Model.init threw \(type(of: error)): \(error)")
    }
    return nil
}

private func predict(_ model: Model, _ input: [Float]) -> [Float]? {
    do {
        let y = try model.predict(input)
        precondition(y.count == model.outputShape.reduce(1, *), "output count \(y.count) for shape \(model.outputShape)")
        return y
    } catch is EngineError {
    } catch {
        fatalError("predict threw \(type(of: error)): \(error)")
    }
    return nil
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    var lax = SWZLimits()
    lax.verifyChecksums = false
    let graph: ModelGraph
    do {
        graph = try SWZReader.decode(bytes, limits: lax)
    } catch is FormatError {
        return 0
    } catch {
        fatalError("non-FormatError thrown: \(error)")
    }
    guard let one = load(graph, threads: 1) else { return 0 }
    let n = one.inputShape.reduce(1, *)
    guard n <= 1 << 18 else { return 0 }
    // A fixed input with both signs and some exact zeros.
    let x = (0..<n).map { Float(($0 &* 7919) % 13 - 6) / 6 }
    let y1 = predict(one, x)
    // (A second thread's scratch can take the workspace over the limit: not a bug.)
    guard let two = load(graph, threads: 2) else { return 0 }
    let y2 = predict(two, x)
    if let y1 = y1, let y2 = y2 {
        precondition(y1.map(\.bitPattern) == y2.map(\.bitPattern), "1 and 2 threads give different outputs")
    } else {
        precondition((y1 == nil) == (y2 == nil), "runs with 1 thread and with 2 disagree on failing")
    }
    return 0
}

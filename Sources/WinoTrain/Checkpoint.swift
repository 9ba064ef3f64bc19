// Checkpoints: DIR/model.swz (the network so far, a normal model file) and DIR/state.json
// (epochs done, momentum buffers, frozen masks, pruning schedule), written at each epoch's end.
import Foundation
import WinoFormat

struct CheckpointState: Codable {
    struct ParamState: Codable {
        var name: String
        /// Little-endian Float32 velocity, base64.
        var velocity: String
        /// Frozen-zero mask as a base64 bitmap, if frozen.
        var frozen: String?
    }
    struct PrunerState: Codable { var target: [Double]; var rampSteps: Int; var start: [Double]; var th0: [Double]; var step: Int }
    var version = 1
    var epochsDone: Int
    var pruner: PrunerState?
    var params: [ParamState]
}

extension Trainer {
    /// Writes the checkpoint into `dir` (created if needed), replacing an older one.
    public func saveCheckpoint(_ dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try SWZWriter.write(export(), to: (dir as NSString).appendingPathComponent("model.swz"))
        let params = net.params.map { p -> CheckpointState.ParamState in
            let v = p.velocity.withUnsafeBytes { Data($0) }.base64EncodedString()
            var bits: String?
            if let m = p.frozenZero {
                var b = [UInt8](repeating: 0, count: (m.count + 7) / 8)
                for i in m.indices where m[i] { b[i / 8] |= 1 << (i % 8) }
                bits = Data(b).base64EncodedString()
            }
            return .init(name: p.name, velocity: v, frozen: bits)
        }
        let pr = prunerState.map { CheckpointState.PrunerState(target: $0.target, rampSteps: $0.rampSteps, start: $0.start, th0: $0.th0, step: pruneStepCount) }
        let state = CheckpointState(epochsDone: epochsDone, pruner: pr, params: params)
        let tmp = (dir as NSString).appendingPathComponent("state.json.tmp")
        try JSONEncoder().encode(state).write(to: URL(fileURLWithPath: tmp))
        let dst = (dir as NSString).appendingPathComponent("state.json")
        _ = try? FileManager.default.removeItem(atPath: dst)
        try FileManager.default.moveItem(atPath: tmp, toPath: dst)
    }

    /// A trainer continuing from the checkpoint in `dir`.
    public static func resume(_ dir: String, threads: Int) throws -> Trainer {
        let graph = try SWZReader.read(path: (dir as NSString).appendingPathComponent("model.swz"))
        let t = try Trainer(model: graph, winograd: nil, threads: threads)
        let path = (dir as NSString).appendingPathComponent("state.json")
        let data: Data
        do {
            // The state holds base64 copies of the parameters: a few times the model's size.
            data = Data(try InputFile.read(path, maxBytes: 1 << 32, what: "a checkpoint state", holding: 2))
        } catch let e as InputFileError {
            throw TrainError("cannot read the checkpoint state: \(e.message)")
        }
        let state: CheckpointState
        do { state = try JSONDecoder().decode(CheckpointState.self, from: data) } catch {
            throw TrainError("\(path): not a wino-train checkpoint state (\(error))")
        }
        guard state.version == 1 else { throw TrainError("\(path): checkpoint version \(state.version), this wino-train reads 1") }
        guard (0...1_000_000).contains(state.epochsDone) else {
            throw TrainError("\(path): epochsDone \(state.epochsDone) is outside 0...1000000")
        }
        if let p = state.pruner {
            // The pruner's state, one entry per Winograd-domain layer, within the ranges it keeps.
            let n = t.net.params.filter { $0.winograd != nil }.count
            guard p.target.count == n, p.start.count == n, p.th0.count == n else {
                throw TrainError("\(path): the pruner state has \(p.target.count) targets, \(p.start.count) starts and \(p.th0.count) thresholds; the model has \(n) Winograd-domain layers")
            }
            guard p.target.allSatisfy({ $0.isFinite && (0..<1).contains($0) }),
                  p.start.allSatisfy({ $0.isFinite && (0...1).contains($0) }), p.th0.allSatisfy({ $0.isFinite }) else {
                throw TrainError("\(path): the pruner state holds a target outside [0, 1), a start outside [0, 1] or a non-finite threshold")
            }
            guard (1...(1 << 40)).contains(p.rampSteps), (0...(1 << 40)).contains(p.step) else {
                throw TrainError("\(path): the pruner state's rampSteps \(p.rampSteps) or step \(p.step) is out of range")
            }
        }
        let byName = Dictionary(t.net.params.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard state.params.count == byName.count else { throw TrainError("\(path): \(state.params.count) parameters, the model has \(byName.count)") }
        for ps in state.params {
            guard let p = byName[ps.name] else { throw TrainError("\(path): parameter '\(FormatError.printable(String(ps.name.prefix(200))))' is not in the model") }
            guard let v = Data(base64Encoded: ps.velocity), v.count == p.value.count * 4 else {
                throw TrainError("\(path): velocity of '\(p.name)' has the wrong size")
            }
            p.velocity = v.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            if let f = ps.frozen {
                guard let b = Data(base64Encoded: f), b.count == (p.value.count + 7) / 8 else { throw TrainError("\(path): mask of '\(p.name)' has the wrong size") }
                p.frozenZero = (0..<p.value.count).map { b[$0 / 8] & (1 << ($0 % 8)) != 0 }
            }
        }
        t.restore(epochsDone: state.epochsDone, pruner: state.pruner.map {
            var n = NativePruner(params: [Param<Float>](), target: $0.target, rampSteps: $0.rampSteps)
            n.start = $0.start; n.th0 = $0.th0
            return (n, $0.step)
        })
        return t
    }
}

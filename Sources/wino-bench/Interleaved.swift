// Interleaved timing: our runs and the baselines' runs alternate in short rounds, so that
// every side sees the same machine load. This machine's speed drifts by tens of percent
// over seconds to minutes; timing one side after the other turned equal code into ratios
// anywhere from 2.9x to 3.8x.
import ArgumentParser
import Foundation

/// Runs `n` timed repetitions of one side of a comparison and returns their times (ms).
typealias Runner = (Int) throws -> [Double]

/// Runs `body` once untimed (the other side's rounds have taken the caches), then times it
/// once per repetition (ms).
func timedRuns(_ n: Int, _ body: () throws -> Void) rethrows -> [Double] {
    try body()
    var out = [Double]()
    out.reserveCapacity(n)
    for _ in 0..<n {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        out.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    }
    return out
}

/// The timings of runners run in alternating rounds.
struct InterleavedResult {
    /// Each runner's statistics over all its samples (nil for a nil runner).
    var stats: [Stats?]
    /// Each runner's median time in each round (empty for a nil runner).
    var roundMedians: [[Double]]

    /// How many times faster runner `ours` is than runner `baseline`: the median over rounds of
    /// the ratio of their round medians (nil where either runner was nil). Adjacent rounds see
    /// the same phase of this machine's drifting speed, so each round's ratio is free of it;
    /// the ratio of the two overall medians is not, when the phases fall unevenly on the sides.
    func ratio(_ baseline: Int, over ours: Int) -> Double? {
        let b = roundMedians[baseline], o = roundMedians[ours]
        guard !b.isEmpty, b.count == o.count else { return nil }
        return Stats(zip(b, o).map { $0 / $1 }).median
    }
}

/// Alternates rounds of every runner (nil entries are skipped and give nil) until each has at
/// least `reps` samples and `minSeconds` of runs, and at least `minRounds` rounds were run.
/// Each round runs a runner for about `chunkMs` (at least one repetition, after one untimed
/// run); a short pause between runners lets the previous side's spinning threads go to sleep.
func interleaved(reps: Int, minSeconds: Double = 0.2, minRounds: Int = 9, chunkMs: Double = 50,
                 _ runners: [Runner?]) throws -> InterleavedResult {
    var samples = runners.map { _ in [Double]() }
    var roundMedians = runners.map { _ in [Double]() }
    var chunk = runners.map { _ in 1 }
    var round = 0
    while true {
        for (i, runner) in runners.enumerated() {
            guard let runner = runner else { continue }
            let times = try runner(chunk[i])
            samples[i] += times
            roundMedians[i].append(Stats(times).median)
            usleep(10_000)
        }
        round += 1
        for i in runners.indices where runners[i] != nil {
            let s = samples[i].sorted()
            chunk[i] = max(1, min(200, Int(chunkMs / max(s[s.count / 2], 1e-3))))
        }
        let live = runners.indices.filter { runners[$0] != nil }
        let enough = live.allSatisfy { samples[$0].count >= reps && samples[$0].reduce(0, +) >= minSeconds * 1000 }
        if (round >= minRounds && enough) || round >= 400 { break }
    }
    return InterleavedResult(stats: runners.indices.map { runners[$0] == nil ? nil : Stats(samples[$0]) },
                             roundMedians: roundMedians)
}

/// A baseline engine as a server (scripts/ort_bench.py): onnxruntime, DeepSparse
/// (`--engine deepsparse`) or oneDNN (`--engine onednn`). One process for the whole run, sessions built once per shape, timed
/// in rounds on request, stopped in between.
final class BaselineServer {
    /// The engine's name in messages ("onnxruntime", "DeepSparse").
    let name: String
    /// What to install when the server fails (in its messages).
    private let hint: String
    private let process = Process()
    private let toServer: FileHandle
    private let fromServer: FileHandle
    private var buffer = Data()
    /// Whether the server's exit was reported (once, not at every later request).
    private var exitReported = false

    /// onnxruntime through `python3` on the PATH.
    static func onnxruntime() -> BaselineServer? { BaselineServer(name: "onnxruntime", python: "python3", arguments: [],
                                                                   hint: "pip install onnx onnxruntime?") }

    /// DeepSparse through `python` (an interpreter with `deepsparse` installed: `make bench`
    /// makes a virtual environment of its own for it).
    static func deepsparse(python: String) -> BaselineServer? {
        BaselineServer(name: "DeepSparse", python: python, arguments: ["--engine", "deepsparse"],
                       hint: "pip install deepsparse==1.8.0 onnxruntime?")
    }

    /// oneDNN through `python` (an interpreter with pip's `onednn-cpu-gomp` installed; one-Conv
    /// requests only, with "algorithm" "winograd" or "auto").
    static func onednn(python: String) -> BaselineServer? {
        BaselineServer(name: "oneDNN", python: python, arguments: ["--engine", "onednn"], hint: "pip install onednn-cpu-gomp onnx?")
    }

    /// Starts the server; nil (with a message on stderr) when the interpreter cannot start. A
    /// missing engine shows at the first request (`load` returns false).
    private init?(name: String, python: String, arguments: [String], hint: String) {
        self.name = name
        self.hint = hint
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/ort_bench.py").path
        let input = Pipe(), output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, script] + arguments
        process.standardInput = input
        process.standardOutput = output
        toServer = input.fileHandleForWriting
        fromServer = output.fileHandleForReading
        // A server that exited (no python3 or onnxruntime) must fail our writes with EPIPE,
        // not kill this process with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        do { try process.run() } catch {
            FileHandle.standardError.write(Data("\(name) baseline unavailable: \(error)\n".utf8))
            return nil
        }
    }

    deinit {
        try? toServer.close()
        guard process.processIdentifier > 0 else { return }   // never started
        kill(process.processIdentifier, SIGCONT)
        process.waitUntilExit()
    }

    /// Sends one request and waits for its reply; nil (message on stderr) on any failure.
    /// Between requests the server is stopped (SIGSTOP): the engines' idle threads spin and
    /// would otherwise take a core from our rounds.
    private func call(_ request: [String: Any], quiet: Bool = false) -> [String: Any]? {
        guard process.isRunning else {
            if !exitReported {
                exitReported = true
                FileHandle.standardError.write(Data("\(name) baseline exited with status \(process.terminationStatus) (\(hint))\n".utf8))
            }
            return nil
        }
        guard var line = try? JSONSerialization.data(withJSONObject: request) else { return nil }
        kill(process.processIdentifier, SIGCONT)
        defer { kill(process.processIdentifier, SIGSTOP) }
        line.append(0x0A)
        do { try toServer.write(contentsOf: line) } catch {
            FileHandle.standardError.write(Data("\(name) baseline failed (\(hint))\n".utf8))
            return nil
        }
        while !buffer.contains(0x0A) {
            let more = fromServer.availableData
            if more.isEmpty {
                FileHandle.standardError.write(Data("\(name) baseline exited (\(hint))\n".utf8))
                return nil
            }
            buffer.append(more)
        }
        let end = buffer.firstIndex(of: 0x0A)!
        let reply = buffer[buffer.startIndex..<end]
        buffer.removeSubrange(buffer.startIndex...end)
        guard let obj = (try? JSONSerialization.jsonObject(with: Data(reply))) as? [String: Any] else { return nil }
        if let error = obj["error"] as? String {
            if quiet { return nil }
            FileHandle.standardError.write(Data("\(name) baseline: \(error)\n".utf8))
            return nil
        }
        return obj
    }

    /// Builds a session (request `op` "conv" or "model", see the script) under `id`.
    func load(_ request: [String: Any]) -> Bool { call(request) != nil }

    /// Builds a session like `load` and returns the server's reply (nil on failure, which
    /// `quiet` keeps off stderr).
    func loadReply(_ request: [String: Any], quiet: Bool) -> [String: Any]? { call(request, quiet: quiet) }

    /// A runner timing session `id`.
    func runner(_ id: String) -> Runner {
        return { [self] n in
            guard let times = self.call(["op": "time", "id": id, "reps": n, "warmup": 1])?["times_ms"] as? [Double] else {
                throw ValidationError("\(self.name) timing of \(id) failed")
            }
            return times
        }
    }

    /// Forgets session `id`.
    func drop(_ id: String) { _ = call(["op": "drop", "id": id]) }
}

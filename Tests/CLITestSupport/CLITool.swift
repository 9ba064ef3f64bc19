// Test support shared by the CLI test suites: finds a built command-line tool next to the
// test bundle and runs it in the package root, capturing status, stdout and stderr.
import Foundation

/// A built executable of this package, as its CLI tests run it.
public struct CLITool {
    /// Executable name (e.g. "wino-infer").
    public let name: String
    /// The package root, the working directory of every run.
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A tool by name.
    public init(_ name: String) { self.name = name }

    /// Where the build put the executable: beside the test bundle or a few folders up.
    public var url: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 where !FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent(name)
    }

    /// Why a tool could not be run.
    public struct NotBuilt: Error, CustomStringConvertible {
        /// The message.
        public let description: String
    }

    /// Runs the tool with `args` and returns its exit status and output. Output goes through
    /// temporary files, so that a tool writing a lot cannot block on a full pipe.
    public func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let exe = url
        guard FileManager.default.fileExists(atPath: exe.path) else {
            throw NotBuilt(description: "\(name) not built at \(exe.path): run `swift build --build-tests` first")
        }
        let p = Process()
        p.executableURL = exe
        p.arguments = args
        p.currentDirectoryURL = Self.packageRoot
        let dir = FileManager.default.temporaryDirectory
        let tag = "\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let outURL = dir.appendingPathComponent(tag + ".out"), errURL = dir.appendingPathComponent(tag + ".err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, try String(contentsOf: outURL, encoding: .utf8), try String(contentsOf: errURL, encoding: .utf8))
    }
}

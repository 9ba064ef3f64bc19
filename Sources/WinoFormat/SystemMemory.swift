// How much memory this process may still allocate, so that a hostile file or an oversized
// request gets an error before an allocation fails (a failed Swift allocation aborts).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the system says about the memory this process can still allocate.
public enum SystemMemory {
    /// The bytes this process can still allocate: the least of the system's available memory
    /// (`MemAvailable` plus `SwapFree`), what its cgroup's `memory.max` leaves, and what its
    /// address-space limit (`RLIMIT_AS`, e.g. `ulimit -v`) leaves; nil where none is known.
    public static func availableBytes() -> Int? {
        var best: Int?
        func consider(_ v: Int?) { if let v = v { best = min(best ?? v, max(v, 0)) } }
        if let meminfo = readSmallFile("/proc/meminfo") {
            // Available memory plus free swap (a model may page), in KiB.
            var kib: Int?
            for line in meminfo.split(separator: "\n") where line.hasPrefix("MemAvailable:") || line.hasPrefix("SwapFree:") {
                if let v = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) { kib = (kib ?? 0) + v }
            }
            consider(kib.map { $0 * 1024 })
        }
        if let limit = readSmallFile("/sys/fs/cgroup/memory.max").flatMap(integer),
           let used = readSmallFile("/sys/fs/cgroup/memory.current").flatMap(integer) {
            consider(limit - used)
        }
        var rl = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &rl) == 0, rl.rlim_cur != rlim_t.max,
           let limit = Int(exactly: rl.rlim_cur),
           let pages = readSmallFile("/proc/self/statm")?.split(separator: " ").first.flatMap({ Int($0) }) {
            consider(limit - pages * Int(sysconf(Int32(_SC_PAGESIZE))))
        }
        return best
    }

    /// Throws unless `bytes` more can be allocated (as far as `availableBytes` knows).
    /// - Parameter what: what needs the memory, for the message ("the model's tensors").
    public static func require(_ bytes: Int, for what: String) throws {
        if let free = availableBytes(), bytes > free {
            throw MemoryError("not enough memory for \(what): \(mib(bytes)) MiB needed, \(mib(free)) MiB available to this process")
        }
    }

    static func mib(_ bytes: Int) -> Int { (bytes + (1 << 20) - 1) >> 20 }

    /// The text of a small system file (at most 64 KiB), or nil.
    static func readSmallFile(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
    }
}

/// Not enough memory for what was asked: the message names what and how much.
public struct MemoryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// The integer a system file holds ("max" and other words: nil).
private func integer(_ text: String) -> Int? {
    Int(text.split(whereSeparator: { $0 == "\n" || $0 == " " }).first ?? "")
}

// Runs code with little memory left to allocate, to test the errors that replace aborting
// allocations (SystemMemory.require).
#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` with the address-space limit (RLIMIT_AS) set to what the process uses now plus
/// `headroom` bytes, then restores the limit. Returns false, without running `body`, where the
/// limit cannot be set (no /proc/self/statm, or a hard limit below it).
public func withAddressSpaceHeadroom(_ headroom: Int, _ body: () throws -> Void) rethrows -> Bool {
    var old = rlimit()
    guard getrlimit(Int32(RLIMIT_AS.rawValue), &old) == 0, let f = fopen("/proc/self/statm", "r") else { return false }
    var line = [CChar](repeating: 0, count: 256)
    let got = fgets(&line, Int32(line.count), f) != nil
    fclose(f)
    guard got, let pages = String(cString: line).split(separator: " ").first.flatMap({ Int($0) }) else { return false }
    var limited = old
    limited.rlim_cur = rlim_t(pages * Int(sysconf(Int32(_SC_PAGESIZE))) + headroom)
    if old.rlim_max != rlim_t.max && limited.rlim_cur > old.rlim_max { return false }
    guard setrlimit(Int32(RLIMIT_AS.rawValue), &limited) == 0 else { return false }
    defer { _ = setrlimit(Int32(RLIMIT_AS.rawValue), &old) }
    try body()
    return true
}

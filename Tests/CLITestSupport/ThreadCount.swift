// Counts this process's threads, to test that pools and models release theirs.
#if canImport(Glibc)
import Glibc
#endif

/// Threads of this process (entries of /proc/self/task), or nil where it cannot be read.
public func processThreadCount() -> Int? {
    guard let dir = opendir("/proc/self/task") else { return nil }
    defer { closedir(dir) }
    var n = 0
    while let e = readdir(dir) {
        let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { n += 1 }
    }
    return n
}

/// The thread count once it equals `expected`, or after 2 s: a joined thread's task can
/// linger for a moment after pthread_join returns (its exit wakes the joiner before the
/// kernel releases it).
public func processThreadCount(settlingAt expected: Int) -> Int? {
    var now = processThreadCount()
    for _ in 0..<2000 where now != expected {
        usleep(1000)
        now = processThreadCount()
    }
    return now
}

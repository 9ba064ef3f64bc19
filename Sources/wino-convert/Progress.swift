// A one-line per-layer progress bar on stderr, drawn only when stderr is a terminal.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Draws `[#####.....] 3/8 conv3` on stderr, overwriting the line.
final class ProgressBar {
    let enabled: Bool

    init(enabled: Bool = isatty(2) == 1) { self.enabled = enabled }

    func update(_ done: Int, _ total: Int, _ label: String) {
        guard enabled, total > 0 else { return }
        let width = 30, filled = width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let text = done == total ? "" : label
        FileHandle.standardError.write(Data("\r\u{1B}[K[\(bar)] \(done)/\(total) \(text)".utf8))
        if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

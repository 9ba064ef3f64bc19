// Whole input files read safely: only regular files, within a size limit and the memory the
// process can still allocate, read once. (FileManager.contents(atPath:) reads /dev/zero until
// memory runs out and gives no reason when it fails.)
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads whole input files (ONNX models, datasets, labels, checkpoint state) with clear errors.
public enum InputFile {
    /// The bytes of the regular file at `path`.
    ///
    /// - Parameters:
    ///   - maxBytes: the largest file accepted.
    ///   - what: what the file should be, for messages ("an ONNX file").
    ///   - holding: how many times the file's size in memory the caller needs, its bytes
    ///     included (2 where it decodes them into a structure as large), checked before reading.
    /// - Throws: `InputFileError` naming the path and the reason: missing or unreadable (the
    ///   system's reason), a directory, a device, pipe or socket, empty, larger than `maxBytes`,
    ///   more than the memory the process can still allocate, or changed while being read.
    public static func read(_ path: String, maxBytes: Int, what: String, holding: Int = 1) throws -> [UInt8] {
        typealias E = InputFileError
        func fail(_ reason: E.Reason, _ why: String) -> E { E(reason, "'\(path)' \(why)") }
        func system() -> String { String(cString: strerror(errno)) }
        var st = stat()
        guard stat(path, &st) == 0 else { throw E(.unreadable, "cannot read '\(path)': \(system())") }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw fail(.notRegular, "is a directory, not \(what)")
        default: throw fail(.notRegular, "is not a regular file (a device, pipe or socket), not \(what)")
        }
        let size = Int(st.st_size)
        guard size <= maxBytes else { throw fail(.tooLarge, "is \(size) bytes, larger than the limit of \(maxBytes) for \(what)") }
        guard size > 0 else { throw fail(.empty, "is empty, not \(what)") }
        do {
            try SystemMemory.require(holding * size, for: "reading the \(size)-byte file '\(path)'")
        } catch let e as MemoryError {
            throw E(.tooLarge, e.message)
        }
        guard let f = fopen(path, "rb") else { throw E(.unreadable, "cannot read '\(path)': \(system())") }
        defer { fclose(f) }
        var bytes = [UInt8](repeating: 0, count: size)
        let got = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, size, f) }
        guard got == size, fgetc(f) == EOF else {
            throw ferror(f) != 0 ? E(.unreadable, "cannot read '\(path)': \(system())")
                : E(.changed, "'\(path)' changed size while being read (\(got) of \(size) bytes, or more)")
        }
        return bytes
    }
}

/// An input file that could not be read: the message names the path and the reason.
public struct InputFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Why a file could not be read.
    public enum Reason: Sendable {
        /// Missing, not permitted, or a read failed (the system's reason is in the message).
        case unreadable
        /// A directory, device, pipe or socket.
        case notRegular
        /// Larger than the limit, or than the memory the process can still allocate.
        case tooLarge
        /// No bytes.
        case empty
        /// Its size changed while it was read.
        case changed
    }
    /// Why.
    public var reason: Reason
    /// What is wrong.
    public var message: String
    /// Creates an error.
    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }
    /// The message.
    public var description: String { message }
}

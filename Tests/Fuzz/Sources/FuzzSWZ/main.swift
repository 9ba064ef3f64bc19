// libFuzzer entry point. Each input is decoded twice: as is, and with CRC
// checks off so that mutations reach the checks behind the checksums. Every
// input must be rejected with a FormatError or decode to a graph that passes
// validation; any trap, sanitizer report, oversized allocation or timeout is
// a bug in WinoFormat.
import WinoFormat

private func check(_ bytes: [UInt8], _ limits: SWZLimits) {
    do {
        let g = try SWZReader.decode(bytes, limits: limits)
        do { try GraphValidator.validate(g) } catch { fatalError("decoded graph fails validation: \(error)") }
    } catch is FormatError {
    } catch {
        fatalError("non-FormatError thrown: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    check(bytes, SWZLimits())
    var lax = SWZLimits()
    lax.verifyChecksums = false
    check(bytes, lax)
    return 0
}

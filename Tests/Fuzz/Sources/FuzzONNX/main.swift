// libFuzzer entry point for the ONNX importer and the conversion behind it. Every input must
// be rejected with a ConvertError or import to a graph that passes validation; an imported
// graph is then Winograd-encoded (pruned to 50%), written as .swz and read back, and the
// result must equal what was written. Any trap, sanitizer report, oversized allocation,
// timeout or other error type is a bug in WinoConvert or WinoFormat.
import WinoConvert
import WinoFormat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    let imported: ImportedModel
    do {
        imported = try ONNXImporter.importModel(bytes: bytes, name: "fuzz")
    } catch is ConvertError {
        return 0
    } catch {
        fatalError("importModel threw \(type(of: error)): \(error)")
    }
    do { try GraphValidator.validate(imported.graph) } catch { fatalError("imported graph fails validation: \(error)") }
    var options = EncodeOptions()
    options.sparsity = 0.5
    do {
        let (encoded, _) = try WinogradEncoder.encode(imported.graph, options: options)
        try GraphValidator.validate(encoded)
        let file = try SWZWriter.encode(encoded)
        let back = try SWZReader.decode(file)
        precondition(back == encoded, "the .swz file does not read back as written")
    } catch is ConvertError {
    } catch let error as FormatError {
        fatalError("encoded graph rejected: \(error)")
    } catch {
        fatalError("conversion threw \(type(of: error)): \(error)")
    }
    return 0
}

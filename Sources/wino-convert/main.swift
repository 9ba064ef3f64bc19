// wino-convert: ONNX in, pruned sparse-Winograd .swz out; inspect and verify.
import ArgumentParser

struct WinoConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wino-convert",
        abstract: "Convert ONNX models to sparse Winograd .swz files, inspect them, verify them against onnxruntime.",
        subcommands: [OnnxCommand.self, InspectCommand.self, VerifyCommand.self])
}

WinoConvertCommand.main()

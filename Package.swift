// swift-tools-version:6.0
// wino: a CPU inference engine for sparse Winograd convolutional networks.
// No unsafeFlags here: CPU-specific flags live in the Makefile so that the
// library stays usable as an ordinary versioned dependency.
import PackageDescription

let package = Package(
    name: "wino",
    products: [
        .library(name: "Wino", targets: ["WinoEngine"]),
        // The .swz format alone, and ONNX conversion: for tools (and the fuzzers in Tests/Fuzz);
        // a service needs only Wino.
        .library(name: "WinoFormat", targets: ["WinoFormat"]),
        .library(name: "WinoConvert", targets: ["WinoConvert"]),
        .executable(name: "wino-infer", targets: ["wino-infer"]),
        .executable(name: "wino-bench", targets: ["wino-bench"]),
        .executable(name: "wino-convert", targets: ["wino-convert"]),
        .executable(name: "wino-train", targets: ["wino-train"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Only WinoConvert (ONNX import) uses protobuf; the Wino library never links it.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .target(name: "WinoFormat", dependencies: ["CZlib"]),
        // Innermost micro-kernels: AVX-512 via function-level target attributes,
        // chosen at run time, with a portable fallback. No flags needed.
        .target(name: "CWinoKernels"),
        .target(name: "WinoKernels", dependencies: ["CWinoKernels"]),
        .target(name: "WinoEngine", dependencies: ["WinoFormat", "WinoKernels", "CWinoKernels"]),
        .target(name: "WinoReference", dependencies: ["WinoFormat", "WinoKernels"]),
        .target(name: "WinoConvert", dependencies: [
            "WinoFormat", "WinoKernels",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], exclude: ["Generated/README.md"]),
        .executableTarget(name: "wino-convert", dependencies: [
            "WinoConvert", "WinoEngine", "WinoFormat", "WinoReference",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "wino-infer", dependencies: [
            "WinoEngine",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "wino-bench", dependencies: [
            "WinoEngine", "WinoFormat", "WinoKernels", "WinoReference", "CWinoKernels",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Training and native pruning of Winograd-domain weights.
        .target(name: "WinoTrain", dependencies: ["WinoEngine", "WinoFormat", "WinoKernels", "CWinoKernels", "CZlib"]),
        .executableTarget(name: "wino-train", dependencies: [
            "WinoTrain", "WinoEngine", "WinoFormat",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "WinoFormatTests", dependencies: ["WinoFormat", "CLITestSupport"]),
        .testTarget(name: "WinoKernelsTests", dependencies: ["WinoKernels", "WinoReference", "CWinoKernels", "CLITestSupport"]),
        .testTarget(name: "WinoTrainTests", dependencies: ["WinoTrain", "WinoEngine", "WinoFormat", "WinoKernels", "WinoReference", "CLITestSupport"]),
        .testTarget(name: "WinoConvertTests", dependencies: ["WinoConvert", "WinoEngine", "WinoFormat", "WinoReference", "WinoTrain", "CLITestSupport"]),
        // Test support: counts the process's heap allocations (malloc interposer).
        .target(name: "MallocCounter", path: "Tests/MallocCounter"),
        // Test support: runs the built command-line tools for the CLI tests.
        .target(name: "CLITestSupport", path: "Tests/CLITestSupport"),
        .testTarget(name: "WinoEngineTests", dependencies: ["WinoEngine", "WinoReference", "WinoFormat", "CWinoKernels", "MallocCounter", "CLITestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)

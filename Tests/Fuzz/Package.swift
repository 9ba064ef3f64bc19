// swift-tools-version:5.3
// libFuzzer targets: the .swz reader (FuzzSWZ), the engine loading and running decoded models
// (FuzzModel), the Netpbm decoder and preprocessing (FuzzImage) and the ONNX importer and
// conversion (FuzzONNX). Build and run with ./run.sh SECONDS.
// Tools version 5.3 and plain targets holding main.swift: with newer tools SwiftPM renames
// the entry point of executable targets, which breaks -parse-as-library + libFuzzer's own main.
import PackageDescription

let package = Package(
    name: "WinoFuzz",
    dependencies: [.package(name: "wino", path: "../..")],
    targets: [
        .target(name: "FuzzSWZ", dependencies: [.product(name: "WinoFormat", package: "wino")]),
        .target(name: "FuzzModel", dependencies: [.product(name: "Wino", package: "wino"),
                                                  .product(name: "WinoFormat", package: "wino")]),
        .target(name: "FuzzImage", dependencies: [.product(name: "Wino", package: "wino"),
                                                  .product(name: "WinoFormat", package: "wino")]),
        .target(name: "FuzzONNX", dependencies: [.product(name: "WinoConvert", package: "wino"),
                                                 .product(name: "WinoFormat", package: "wino")]),
    ]
)

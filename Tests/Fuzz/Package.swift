// swift-tools-version:5.3
// libFuzzer target for the .swz reader. Build and run with ./run.sh SECONDS.
// Tools version 5.3 and a plain target holding main.swift: with newer tools
// SwiftPM renames the entry point of executable targets, which breaks
// -parse-as-library + libFuzzer's own main.
import PackageDescription

let package = Package(
    name: "WinoFuzz",
    dependencies: [.package(name: "wino", path: "../..")],
    targets: [
        .target(name: "FuzzSWZ", dependencies: [.product(name: "WinoFormat", package: "wino")]),
    ]
)

// swift-tools-version: 6.1
// libFuzzer targets for every untrusted-input decoder, kept out of the product graph.
// Build and run: `make fuzz` (swift build -c release -Xswiftc -sanitize=fuzzer,address).
import PackageDescription

let package = Package(
    name: "SyphonFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "syphon-executor", path: "../..")],
    targets: [
        .executableTarget(
            name: "DecoderFuzzer",
            dependencies: [.product(name: "FHECore", package: "syphon-executor")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)

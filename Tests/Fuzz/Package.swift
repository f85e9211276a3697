// swift-tools-version: 6.1
// libFuzzer targets for every decoder of untrusted input, kept out of the product graph.
// Build and run: `make fuzz` (swift build -c release -Xswiftc -sanitize=fuzzer,address).
//
// The package compiles the shipped sources themselves, through symbolic links: Sources/CFHEShim and
// Sources/FHECore link to the repository's targets, and Sources/DecoderFuzzer links each executor
// decoder file (the JSON field scanner, the Hermes wire parsers, the chain decoders) next to the
// fuzzer's entry point, so the fuzzer reads exactly what ships. The two library targets repeat the
// root manifest's build settings for them.
import PackageDescription

let package = Package(
    name: "SyphonFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(url: "https://github.com/attaswift/BigInt", from: "6.0.1")],
    targets: [
        .target(
            name: "CFHEShim",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-ffp-contract=off"])],
            linkerSettings: [.linkedLibrary("crypto"), .linkedLibrary("m"), .linkedLibrary("nettle"), .linkedLibrary("secp256k1")]
        ),
        .target(name: "FHECore", dependencies: ["CFHEShim"]),
        .executableTarget(
            name: "DecoderFuzzer",
            dependencies: ["FHECore", "CFHEShim", .product(name: "BigInt", package: "BigInt")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)

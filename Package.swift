// swift-tools-version: 6.1
// Syphon Executor: the trade executor of a private-trading protocol, with an in-process TFHE core.

import PackageDescription

/// Every module is compiled with optimisation even in debug builds: the cryptographic tests
/// bootstrap thousands of ciphertexts and must run at real speed (see docs/toolchain notes).
let optimisedC: [CSetting] = [
    .unsafeFlags(["-O3", "-fno-math-errno", "-ffp-contract=off"]),
    .define("NDEBUG", .when(configuration: .release)),
]
let optimisedSwift: [SwiftSetting] = [
    .unsafeFlags(["-O"], .when(configuration: .debug)),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "syphon-executor",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "FHECore", targets: ["FHECore"]),
        .executable(name: "syphon-executor", targets: ["Executor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // MARK: - Public API
        .target(
            name: "FHECore",
            dependencies: ["CFHEShim"],
            swiftSettings: optimisedSwift
        ),
        .executableTarget(
            name: "Executor",
            dependencies: [
                "FHECore",
                "CFHEShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "BigInt", package: "BigInt"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: optimisedSwift
        ),

        // MARK: - Implementation details
        /// Flat C kernels (FFT, polynomial, decomposition, keyswitch) with scalar, AVX2+FMA and
        /// AVX-512 variants chosen at run time, plus thin wrappers over Debian's C crypto: the
        /// OpenSSL keystream, nettle's Keccak permutation and libsecp256k1 signing.
        .target(
            name: "CFHEShim",
            cSettings: optimisedC,
            linkerSettings: [.linkedLibrary("crypto"), .linkedLibrary("m"), .linkedLibrary("nettle"), .linkedLibrary("secp256k1")]
        ),

        // MARK: - Unit test bundles
        .testTarget(name: "CFHEShimTests", dependencies: ["CFHEShim"], swiftSettings: optimisedSwift),
        .testTarget(name: "FHECoreTests", dependencies: ["FHECore", "CFHEShim"], swiftSettings: optimisedSwift),
        .testTarget(
            name: "ExecutorTests",
            dependencies: ["Executor", "FHECore", .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "BigInt", package: "BigInt"),
                           .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: optimisedSwift
        ),
    ]
)

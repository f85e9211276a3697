// swift-tools-version: 6.1
// The package-benchmark suite, kept out of the product graph: `cd Benchmarks && swift package benchmark`.
// It links FFTW (Debian libfftw3-dev) for the same-run reference every ratio is taken against.

import PackageDescription

let package = Package(
    name: "SyphonBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // `name:` pins the identity: without it the identity is the checkout's folder name.
        .package(name: "syphon-executor", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .systemLibrary(name: "CFFTW3", path: "Sources/CFFTW3", pkgConfig: "fftw3", providers: [.apt(["libfftw3-dev"])]),
        .executableTarget(
            name: "FHECoreBenchmarks",
            dependencies: [
                .product(name: "FHECore", package: "syphon-executor"),
                .product(name: "Benchmark", package: "benchmark"),
                "CFFTW3",
            ],
            path: "Benchmarks/FHECoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)

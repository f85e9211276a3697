import Benchmark
import CFFTW3
import FHECore

/// Keys per shipped set, generated once when a benchmark first needs them (outside measurement).
nonisolated(unsafe) private var keyCache: [String: (ClientKey, ServerKey)] = [:]
private func keys(_ p: ParameterSet) -> (ClientKey, ServerKey) {
    if let k = keyCache[p.name] { return k }
    let randomness = try! KeyGenerationRandomness()
    let client = ClientKey.generate(parameters: p, using: randomness.secret)
    let k = (client, ServerKey.generate(for: client, using: randomness.encryption))
    keyCache[p.name] = k
    return k
}

/// Runs `make()`'s operation for every scaled iteration, building it before measurement starts.
private func measure(_ benchmark: Benchmark, _ make: () -> () -> Void) {
    let op = make()
    op()
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations { op() }
    benchmark.stopMeasurement()
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .mallocCountTotal], warmupIterations: 3,
                                           maxDuration: .seconds(3), maxIterations: 100_000)

    // The same-run anchor of every ratio: FFTW's 1024-point complex FFT (FFTW_MEASURE, out of place).
    Benchmark("reference-fftw-1024") { benchmark in
        let input = fftw_alloc_complex(1024)!, output = fftw_alloc_complex(1024)!
        defer { fftw_free(input); fftw_free(output) }
        let plan = fftw_plan_dft_1d(1024, input, output, FFTW_FORWARD, FFTW_MEASURE)
        defer { fftw_destroy_plan(plan) }
        for i in 0..<1024 { input[i].0 = Double(i % 13) - 6; input[i].1 = 0 }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { fftw_execute(plan) }
        benchmark.stopMeasurement()
    }
    Benchmark("cfhe-fft-forward-2048") { measure($0) { CoreOperations.forwardFFT(size: PolynomialSize(2048)) } }
    Benchmark("cfhe-fft-backward-2048") { measure($0) { CoreOperations.backwardFFT(size: PolynomialSize(2048)) } }
    Benchmark("cfhe-decompose-cmux-difference-2048") { measure($0) { CoreOperations.decomposeCMuxDifference(size: PolynomialSize(2048)) } }
    // The Fourier multiply-accumulate of one CMux (k = 1, one level): both columns, and the one
    // column a thread of a paired bootstrap computes.
    Benchmark("cfhe-fourier-mac-2048-both-columns") { measure($0) { CoreOperations.fourierMultiplyAccumulate(size: PolynomialSize(2048), columns: 2) } }
    Benchmark("cfhe-fourier-mac-2048-one-column") { measure($0) { CoreOperations.fourierMultiplyAccumulate(size: PolynomialSize(2048), columns: 1) } }

    for p in ParameterSet.shipped {
        Benchmark("fhecore-external-product-\(p.name)") { b in measure(b) { CoreOperations.externalProduct(keys(p).1) } }
        Benchmark("fhecore-keyswitch-\(p.name)") { b in
            measure(b) { CoreOperations.keyswitch(keys(p).1, client: keys(p).0) }
        }
        Benchmark("fhecore-pbs-\(p.name)") { b in measure(b) { CoreOperations.bootstrap(keys(p).1, client: keys(p).0) } }
        Benchmark("fhecore-ks-pbs-\(p.name)") { b in
            measure(b) { CoreOperations.keyswitchBootstrap(keys(p).1, client: keys(p).0) }
        }
        // A lone lookup on two threads (one GLWE column each): the latency the comparison's last
        // node gets.
        Benchmark("fhecore-ks-pbs-paired-\(p.name)-t2") { b in
            measure(b) { CoreOperations.keyswitchBootstrapPaired(keys(p).1, client: keys(p).0) }
        }
        // A round of a comparison circuit: two lookups on two threads, keyswitched cooperatively.
        Benchmark("fhecore-ks-pbs-round-of-2-\(p.name)-t2") { b in
            measure(b) { CoreOperations.keyswitchBootstrapBatch(keys(p).1, client: keys(p).0, count: 2, threads: 2) }
        }
        for threads in [1, 2] {
            Benchmark("fhecore-ks-pbs-batch64-\(p.name)-t\(threads)",
                      configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(5))) { b in
                measure(b) { CoreOperations.keyswitchBootstrapBatch(keys(p).1, client: keys(p).0, count: 64, threads: threads) }
            }
        }
    }
    registerComparisonBenchmarks()
}

/// Encrypted-bound comparisons: registered from `benchmarks` below through this helper.
func registerComparisonBenchmarks() {
    for p in ParameterSet.shipped {
        Benchmark("fhecore-compare-u32-ge-390000-\(p.name)",
                  configuration: .init(metrics: [.wallClock], maxDuration: .seconds(5))) { b in
            measure(b) {
                let (client, server) = keys(p)
                let rng = try! CSPRNG()
                let bound = client.encrypt(380_000, using: rng)
                let engine = ComparisonEngine()
                return { _ = try! engine.compare(bound, .greaterOrEqual, 390_000, serverKey: server) }
            }
        }
        Benchmark("fhecore-bracket-390000-\(p.name)",
                  configuration: .init(metrics: [.wallClock], maxDuration: .seconds(5))) { b in
            measure(b) {
                let (client, server) = keys(p)
                let rng = try! CSPRNG()
                let request = EvaluationRequest(serverKey: server, strategy: .bracketOrderLong,
                                                upper: client.encrypt(400_000, using: rng),
                                                lower: client.encrypt(380_000, using: rng))
                let engine = ComparisonEngine()
                return { _ = try! engine.evaluate(request, priceCents: 390_000) }
            }
        }
    }
}

import ArgumentParser
import FHECore
import Foundation

/// `bench core`: the TFHE core, each row with its median and its ratio to a 1024-point FFTW FFT
/// measured in the same run (FFTW is loaded at run time only for this reference).
struct BenchCoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "core", abstract: "FFT, decomposition, external product, keyswitch, PBS, KS+PBS (alone, paired, a round of two) and batched KS+PBS.")

    @OptionGroup var options: BenchOptions
    @Option(help: "Ciphertexts per batched KS+PBS run.") var batch = 64
    @Option(help: "Repetitions per latency row.") var repetitions = 15

    func run() async throws {
        var rows: [BenchRow] = []
        let json = options.json, log = options.log, steps = try options.threadSteps()
        let fftwMicros = BenchSetup.fftwReferenceMicros()
        log("kernels: \(Kernel.summary); FFTW reference: "
            + (fftwMicros.map { String(format: "%.3f µs", $0) } ?? "libfftw3 not found"))
        let size = PolynomialSize(2048)
        // Each latency row against FFTW-1024 interleaved with it, each side's minimum (the ratio a
        // shared host moves least); without libfftw3, medians against nothing.
        let reference = FFTWReference.load()
        func row(_ name: String, _ params: String, threads: Int = 1, rounds: Int, inner: Int, _ body: () -> Void) -> BenchRow {
            guard let reference else {
                return BenchRow(name: name, params: params, threads: threads, seconds: Timing.median(repetitions: rounds, inner: inner, body))
            }
            // About as long on the reference side as on the operation's, so both see the same load.
            let probe = Timing.median(repetitions: 3, inner: inner, body), fftw = max((fftwMicros ?? 2) * 1e-6, 1e-7)
            let referenceInner = max(1, min(100_000, Int(probe * Double(inner) / fftw)))
            let (micros, seconds) = Timing.interleavedMinimum(rounds: rounds, reference: { reference.execute() },
                                                              referenceInner: referenceInner, inner: inner, body)
            return BenchRow(name: name, params: params, threads: threads, seconds: seconds, referenceMicros: micros)
        }
        rows.append(row("fft_2048", "-", rounds: 201, inner: 20, CoreOperations.forwardFFT(size: size)))
        rows.append(row("ifft_2048", "-", rounds: 201, inner: 20, CoreOperations.backwardFFT(size: size)))
        rows.append(row("decompose_cmux_difference_2048", "-", rounds: 201, inner: 20, CoreOperations.decomposeCMuxDifference(size: size)))
        try await BenchSetup.forEachParameterSet(options.params, progress: !json, log: log) { keys in
            let (name, client, server) = (keys.name, keys.client, keys.server)
            rows.append(BenchRow(name: "keygen", params: name, threads: Parallelism.availableCores, seconds: keys.seconds))
            rows.append(row("external_product", name, rounds: 101, inner: 2, CoreOperations.externalProduct(server)))
            for cached in [false, true] {
                rows.append(row(cached ? "blind_rotation_cached_key" : "blind_rotation", name, rounds: repetitions, inner: 1,
                                CoreOperations.blindRotation(server, keyInCache: cached)))
            }
            rows.append(row("keyswitch", name, rounds: repetitions, inner: 1, CoreOperations.keyswitch(server, client: client)))
            rows.append(row("pbs", name, rounds: repetitions, inner: 1, CoreOperations.bootstrap(server, client: client)))
            rows.append(row("ks_pbs", name, rounds: repetitions, inner: 1, CoreOperations.keyswitchBootstrap(server, client: client)))
            if Parallelism.availableCores >= 2 {
                // The latency of a lone lookup: one KS+PBS split over two threads.
                rows.append(row("ks_pbs_paired", name, threads: 2, rounds: repetitions, inner: 1,
                                CoreOperations.keyswitchBootstrapPaired(server, client: client)))
                // A round of a circuit: two lookups on two threads, one each, keyswitched cooperatively.
                rows.append(row("ks_pbs_round_of_2", name, threads: 2, rounds: repetitions, inner: 1,
                                CoreOperations.keyswitchBootstrapBatch(server, client: client, count: 2, threads: 2)))
            }
            var oneThread = 0.0
            for threads in steps {
                let op = CoreOperations.keyswitchBootstrapBatch(server, client: client, count: batch, threads: threads)
                let perOperation = Timing.median(repetitions: 3, inner: 1, op) / Double(batch)
                if threads == 1 { oneThread = perOperation }
                rows.append(.scaled("ks_pbs_batch", params: name, threads: threads, seconds: perOperation, oneThread: oneThread))
            }
        }
        let report = BenchReport(fftwMicros: fftwMicros, instructionSet: CoreOperations.instructionSet, rows: rows)
        print(json ? report.json : report.table)
    }
}

import ArgumentParser
import FHECore
import Foundation

/// `bench core`: the TFHE core, each row with its median and its ratio to a 1024-point FFTW FFT
/// measured in the same run (FFTW is loaded at run time only for this reference).
struct BenchCoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "core", abstract: "FFT, external product, keyswitch, PBS, KS+PBS and batched KS+PBS.")

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
        rows.append(BenchRow(name: "fft_2048", params: "-", threads: 1,
                             seconds: Timing.median(repetitions: 2001, inner: 1, CoreOperations.forwardFFT(size: size))))
        rows.append(BenchRow(name: "ifft_2048", params: "-", threads: 1,
                             seconds: Timing.median(repetitions: 2001, inner: 1, CoreOperations.backwardFFT(size: size))))
        try await BenchSetup.forEachParameterSet(options.params, progress: !json, log: log) { keys in
            let (name, client, server) = (keys.name, keys.client, keys.server)
            rows.append(BenchRow(name: "keygen", params: name, threads: Parallelism.availableCores, seconds: keys.seconds))
            rows.append(BenchRow(name: "external_product", params: name, threads: 1,
                                 seconds: Timing.median(repetitions: 201, inner: 1, CoreOperations.externalProduct(server))))
            for cached in [false, true] {
                rows.append(BenchRow(name: cached ? "blind_rotation_cached_key" : "blind_rotation", params: name, threads: 1,
                                     seconds: Timing.median(repetitions: repetitions, inner: 1,
                                                            CoreOperations.blindRotation(server, keyInCache: cached))))
            }
            rows.append(BenchRow(name: "keyswitch", params: name, threads: 1,
                                 seconds: Timing.median(repetitions: repetitions, inner: 1,
                                                        CoreOperations.keyswitch(server, client: client))))
            rows.append(BenchRow(name: "pbs", params: name, threads: 1,
                                 seconds: Timing.median(repetitions: repetitions, inner: 1,
                                                        CoreOperations.bootstrap(server, client: client))))
            rows.append(BenchRow(name: "ks_pbs", params: name, threads: 1,
                                 seconds: Timing.median(repetitions: repetitions, inner: 1,
                                                        CoreOperations.keyswitchBootstrap(server, client: client))))
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

import ArgumentParser
import FHECore
import Foundation

/// `bench core`: the TFHE core, each row with its median and its ratio to a 1024-point FFTW FFT
/// measured in the same run (FFTW is loaded at run time only for this reference).
struct BenchCoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "core", abstract: "FFT, external product, keyswitch, PBS, KS+PBS and batched KS+PBS.")

    @Flag(help: "Print one JSON object instead of the table.") var json = false
    @Option(help: "Parameter sets to measure (comma-separated).") var params = "tfhe-rs-0.5,default"
    @Option(help: "Ciphertexts per batched KS+PBS run.") var batch = 64
    @Option(help: "Repetitions per latency row.") var repetitions = 15

    func run() async throws {
        var rows: [BenchRow] = []
        let log: (String) -> Void = { if !json { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } }
        let fftw = FFTWReference.load()
        let fftwMicros = fftw.map { ref in Timing.median(repetitions: 2001, inner: 1) { ref.execute() } * 1e6 }
        log("kernels: \(Kernel.summary); FFTW reference: "
            + (fftwMicros.map { String(format: "%.3f µs", $0) } ?? "libfftw3 not found"))
        let size = PolynomialSize(2048)
        rows.append(BenchRow(name: "fft_2048", params: "-", threads: 1,
                             seconds: Timing.median(repetitions: 2001, inner: 1, CoreOperations.forwardFFT(size: size))))
        rows.append(BenchRow(name: "ifft_2048", params: "-", threads: 1,
                             seconds: Timing.median(repetitions: 2001, inner: 1, CoreOperations.backwardFFT(size: size))))
        for name in params.split(separator: ",").map(String.init) {
            guard let parameters = ParameterSet.named(name) else {
                throw ValidationError("unknown parameter set '\(name)'; known: \(ParameterSet.shipped.map(\.name))")
            }
            log("generating keys for \(name)…")
            let start = Date()
            let randomness = try KeyGenerationRandomness()
            let client = ClientKey.generate(parameters: parameters, using: randomness.secret)
            let server = ServerKey.generate(for: client, using: randomness.encryption, progress: ProgressBar.handler(enabled: !json))
            rows.append(BenchRow(name: "keygen", params: name, threads: 2, seconds: Date().timeIntervalSince(start)))
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
            for threads in [1, 2] {
                let op = CoreOperations.keyswitchBootstrapBatch(server, client: client, count: batch, threads: threads)
                let perBatch = Timing.median(repetitions: 3, inner: 1, op)
                rows.append(BenchRow(name: "ks_pbs_batch", params: name, threads: threads, seconds: perBatch / Double(batch)))
            }
        }
        if json {
            print(BenchReport(fftwMicros: fftwMicros, instructionSet: CoreOperations.instructionSet, rows: rows).json)
        } else {
            print(BenchReport(fftwMicros: fftwMicros, instructionSet: CoreOperations.instructionSet, rows: rows).table)
        }
    }
}

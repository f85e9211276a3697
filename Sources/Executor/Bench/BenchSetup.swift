import ArgumentParser
import FHECore
import Foundation

/// The options every `bench` table takes.
struct BenchOptions: ParsableArguments {
    @Flag(help: "Print one JSON object instead of the table.") var json = false
    @Option(help: "Parameter sets to measure (comma-separated).") var params = "tfhe-rs-0.5,default"

    /// Thread counts of the scaling rows: 1, 2, 4, … up to FHE_THREADS (default: the cores this
    /// process may use), so the table grows with the machine.
    func threadSteps() throws -> [Int] { Parallelism.scalingSteps(upTo: try ConfigurationValues().fheThreads()) }

    /// Progress lines on standard error, for the table only (JSON output stays one object).
    func log(_ line: String) { if !json { FileHandle.standardError.write(Data((line + "\n").utf8)) } }
}

extension BenchRow {
    /// `row` at `threads` threads with its parallel efficiency against the one-thread time of the
    /// same work: t₁ / (threads · tₙ), in percent.
    static func scaled(_ name: String, params: String, threads: Int, seconds: Double, oneThread: Double,
                       extra: [String: Int] = [:]) -> BenchRow {
        var extra = extra
        extra["efficiency_pct"] = Int((100 * oneThread / (Double(threads) * seconds)).rounded())
        return BenchRow(name: name, params: params, threads: threads, seconds: seconds, extra: extra)
    }
}

/// What every `bench` table starts with: the same-run FFTW reference and fresh keys for each
/// parameter set named on the command line.
enum BenchSetup {
    /// The FFTW 1024-point FFT in µs (median of 2001), or nil when libfftw3 is not installed.
    static func fftwReferenceMicros() -> Double? {
        FFTWReference.load().map { ref in Timing.median(repetitions: 2001, inner: 1) { ref.execute() } * 1e6 }
    }

    /// Keys of one parameter set, generated for a benchmark.
    struct Keys {
        let name: String
        let parameters: ParameterSet
        let client: ClientKey
        let server: ServerKey
        let randomness: KeyGenerationRandomness
        let seconds: Double
    }

    /// Generates keys for each set in `names` (comma-separated), one set at a time, so that only one
    /// set's keys are alive while its rows run.
    static func forEachParameterSet(_ names: String, progress: Bool, log: (String) -> Void, _ body: (Keys) async throws -> Void) async throws {
        for name in names.split(separator: ",").map(String.init) {
            guard let parameters = ParameterSet.named(name) else {
                throw ValidationError("unknown parameter set '\(name)'; known: \(ParameterSet.shipped.map(\.name))")
            }
            log("generating keys for \(name)…")
            let start = ContinuousClock.now
            let randomness = try KeyGenerationRandomness()
            let client = ClientKey.generate(parameters: parameters, using: randomness.secret)
            let server = ServerKey.generate(for: client, using: randomness.encryption, progress: ProgressBar.handler(enabled: progress))
            try await body(Keys(name: name, parameters: parameters, client: client, server: server, randomness: randomness,
                                seconds: (ContinuousClock.now - start).seconds))
        }
    }
}

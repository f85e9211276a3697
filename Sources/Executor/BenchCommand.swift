import ArgumentParser
import FHECore
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks with same-run reference anchors.",
        subcommands: [BenchCoreCommand.self, BenchCompareCommand.self, BenchCompatCommand.self])
}

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

/// `bench compare`: encrypted u32 bounds against a plaintext price — one comparison, one bracket
/// strategy, and steady-state bracket throughput with 1, 16 and 256 strategies pending.
struct BenchCompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare", abstract: "u32 comparison latency, bracket latency and bracket throughput.")

    @Flag(help: "Print one JSON object instead of the table.") var json = false
    @Option(help: "Parameter sets to measure (comma-separated).") var params = "tfhe-rs-0.5,default"
    @Option(help: "Repetitions per latency row.") var repetitions = 7
    @Option(help: "Pending-strategy counts for the throughput rows (comma-separated).") var pending = "1,16,256"

    func run() async throws {
        let log: (String) -> Void = { if !json { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } }
        let fftw = FFTWReference.load()
        let fftwMicros = fftw.map { ref in Timing.median(repetitions: 2001, inner: 1) { ref.execute() } * 1e6 }
        var rows: [BenchRow] = []
        let price: UInt64 = 390_000, upperValue: UInt64 = 400_000, lowerValue: UInt64 = 380_000
        for name in params.split(separator: ",").map(String.init) {
            guard let parameters = ParameterSet.named(name) else {
                throw ValidationError("unknown parameter set '\(name)'; known: \(ParameterSet.shipped.map(\.name))")
            }
            log("generating keys for \(name)…")
            let randomness = try KeyGenerationRandomness()
            let client = ClientKey.generate(parameters: parameters, using: randomness.secret)
            let server = ServerKey.generate(for: client, using: randomness.encryption, progress: ProgressBar.handler(enabled: !json))
            let rng = randomness.encryption
            let upper = client.encrypt(UInt32(upperValue), using: rng), lower = client.encrypt(UInt32(lowerValue), using: rng)
            for threads in [1, 2] {
                let engine = ComparisonEngine(serverKey: server, threads: threads)
                let cost = engine.bootstrapCount(lower, .greaterOrEqual, price)
                rows.append(BenchRow(name: "compare_u32", params: name, threads: threads,
                                     seconds: Timing.median(repetitions: repetitions, inner: 1) {
                                         _ = try! engine.compare(lower, .greaterOrEqual, price)
                                     }, extra: ["bootstraps": cost]))
                let request = EvaluationRequest(serverKey: server, strategy: .bracketOrderLong, upper: upper, lower: lower)
                rows.append(BenchRow(name: "bracket", params: name, threads: threads,
                                     seconds: Timing.median(repetitions: repetitions, inner: 1) {
                                         _ = try! ComparisonEngine.evaluateBatch([request], priceCents: price, threads: threads)
                                     }, extra: ["bootstraps": ComparisonEngine.cost(request, priceCents: price).bootstraps]))
            }
            for count in pending.split(separator: ",").compactMap({ Int($0) }) {
                let requests = (0..<count).map { i in
                    EvaluationRequest(serverKey: server, strategy: .bracketOrderLong,
                                      upper: client.encrypt(UInt32(upperValue) + UInt32(i), using: rng),
                                      lower: client.encrypt(UInt32(lowerValue) - UInt32(i), using: rng))
                }
                let reps = count >= 64 ? 1 : 3
                let perBatch = Timing.median(repetitions: reps, inner: 1) {
                    _ = try! ComparisonEngine.evaluateBatch(requests, priceCents: price, threads: 2)
                }
                rows.append(BenchRow(name: "bracket_throughput_cold", params: name, threads: 2, seconds: perBatch / Double(count),
                                     extra: ["strategies": count]))
                // Steady state: scheduler ticks with the price walking ±0.02 % (±80 cents) per tick and a
                // memo kept across ticks, as `serve` evaluates them.
                let memo = EvaluationMemo()
                var walk = price
                _ = try ComparisonEngine.evaluateBatch(requests, priceCents: walk, threads: 2, memo: memo)
                var ticks: [Double] = []
                var generator = SystemRandomNumberGenerator()
                for _ in 0..<(count >= 64 ? 3 : 8) {
                    walk = UInt64(Int64(walk) + Int64.random(in: -80...80, using: &generator))
                    let start = ContinuousClock.now
                    _ = try ComparisonEngine.evaluateBatch(requests, priceCents: walk, threads: 2, memo: memo)
                    ticks.append((ContinuousClock.now - start).seconds / Double(count))
                }
                rows.append(BenchRow(name: "bracket_throughput", params: name, threads: 2, seconds: ticks.sorted()[ticks.count / 2],
                                     extra: ["strategies": count]))
            }
        }
        let report = BenchReport(fftwMicros: fftwMicros, instructionSet: CoreOperations.instructionSet, rows: rows)
        print(json ? report.json : report.table)
    }
}

/// Draws key-generation progress on standard error.
enum ProgressBar {
    static func handler(enabled: Bool) -> KeyGenerationProgressHandler? {
        guard enabled else { return nil }
        return { progress in
            let width = 30
            let filled = progress.total == 0 ? width : width * progress.completed / progress.total
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let end = progress.completed == progress.total ? "\n" : ""
            // A carriage return redraws the line on a terminal; without one, only the final state.
            guard isatty(STDERR_FILENO) == 1 || progress.completed == progress.total else { return }
            FileHandle.standardError.write(Data("\r\(progress.stage.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)) \(bar) \(progress.completed)/\(progress.total)\(end)".utf8))
        }
    }
}

/// One benchmark result: a median time per operation.
struct BenchRow {
    let name: String
    let params: String
    let threads: Int
    let seconds: Double
    var extra: [String: Int] = [:]
}

struct BenchReport {
    let fftwMicros: Double?
    let instructionSet: String
    let rows: [BenchRow]

    func ratio(_ row: BenchRow) -> Double? { fftwMicros.map { row.seconds * 1e6 / $0 } }

    var table: String {
        func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
            let space = String(repeating: " ", count: max(0, width - s.count))
            return left ? space + s : s + space
        }
        var lines = [pad("operation", 46) + pad("params", 13) + pad("threads", 8, left: true)
                     + pad("median", 14, left: true) + pad("per second", 14, left: true) + pad("× FFTW-1024", 13, left: true)]
        for row in rows {
            let median = row.seconds >= 1e-3 ? String(format: "%.3f ms", row.seconds * 1e3)
                                             : String(format: "%.3f µs", row.seconds * 1e6)
            let name = row.name + row.extra.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined() + " "
            lines.append(pad(name, 46) + pad(row.params, 13) + pad("\(row.threads)", 8, left: true)
                         + pad(median, 14, left: true) + pad(String(format: "%.1f", 1 / row.seconds), 14, left: true)
                         + pad(ratio(row).map { String(format: "%.1f", $0) } ?? "-", 13, left: true))
        }
        if let fftwMicros {
            lines.append("reference: FFTW 1024-point complex FFT, same run: " + String(format: "%.3f µs", fftwMicros)
                         + "; kernels: \(instructionSet)")
        } else {
            lines.append("kernels: \(instructionSet)")
        }
        return lines.joined(separator: "\n")
    }

    var json: String {
        func number(_ x: Double) -> String { String(format: "%.6g", x) }
        let rowsJSON = rows.map { row -> String in
            var fields = ["\"name\":\"\(row.name)\"", "\"params\":\"\(row.params)\"", "\"threads\":\(row.threads)",
                          "\"median_ms\":\(number(row.seconds * 1e3))", "\"per_second\":\(number(1 / row.seconds))"]
            if let r = ratio(row) { fields.append("\"fftw_ratio\":\(number(r))") }
            for (k, v) in row.extra.sorted(by: { $0.key < $1.key }) { fields.append("\"\(k)\":\(v)") }
            return "{" + fields.joined(separator: ",") + "}"
        }
        let reference = "{\"fftw_1024_us\":\(fftwMicros.map(number) ?? "null"),\"isa\":\"\(instructionSet)\"}"
        return "{\"reference\":\(reference),\"rows\":[" + rowsJSON.joined(separator: ",") + "]}"
    }
}

enum Timing {
    /// Median wall time in seconds of `repetitions` runs of `inner` calls each (per call).
    static func median(repetitions: Int, inner: Int, _ body: () -> Void) -> Double {
        body() // warm-up: caches, lazily built tables
        var samples: [Double] = []
        samples.reserveCapacity(repetitions)
        let clock = ContinuousClock()
        for _ in 0..<repetitions {
            let elapsed = clock.measure { for _ in 0..<inner { body() } }
            samples.append(Double(elapsed.components.attoseconds) * 1e-18 + Double(elapsed.components.seconds))
        }
        samples.sort()
        return samples[samples.count / 2] / Double(inner)
    }
}

/// FFTW's 1024-point complex double FFT (FFTW_MEASURE, out of place), loaded with dlopen so the
/// product never links FFTW; only the benchmark uses it as the yardstick of peer-benchmarks.md.
final class FFTWReference {
    private typealias PlanFn = @convention(c) (Int32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int32, UInt32) -> OpaquePointer?
    private typealias ExecuteFn = @convention(c) (OpaquePointer?) -> Void
    private let plan: OpaquePointer
    private let executeFn: ExecuteFn
    private let input: UnsafeMutablePointer<Double>
    private let output: UnsafeMutablePointer<Double>

    private init(plan: OpaquePointer, execute: ExecuteFn, input: UnsafeMutablePointer<Double>,
                 output: UnsafeMutablePointer<Double>) {
        self.plan = plan
        executeFn = execute
        self.input = input
        self.output = output
    }

    static func load() -> FFTWReference? {
        guard let lib = dlopen("libfftw3.so.3", RTLD_NOW) ?? dlopen("libfftw3.so", RTLD_NOW),
              let planSym = dlsym(lib, "fftw_plan_dft_1d"), let execSym = dlsym(lib, "fftw_execute") else { return nil }
        let planFn = unsafeBitCast(planSym, to: PlanFn.self)
        let input = UnsafeMutablePointer<Double>.allocate(capacity: 2048)
        let output = UnsafeMutablePointer<Double>.allocate(capacity: 2048)
        guard let plan = planFn(1024, input, output, -1 /* FFTW_FORWARD */, 0 /* FFTW_MEASURE */) else { return nil }
        for i in 0..<2048 { input[i] = Double(i % 13) - 6 }
        return FFTWReference(plan: plan, execute: unsafeBitCast(execSym, to: ExecuteFn.self), input: input, output: output)
    }

    func execute() { executeFn(plan) }
}

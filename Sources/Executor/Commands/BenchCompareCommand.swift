import ArgumentParser
import FHECore
import Foundation

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

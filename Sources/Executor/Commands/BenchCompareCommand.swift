import ArgumentParser
import FHECore
import Foundation

/// `bench compare`: encrypted u32 bounds against a plaintext price — one comparison, one bracket
/// strategy, and steady-state bracket throughput with 1, 16 and 256 strategies pending.
struct BenchCompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare", abstract: "u32 comparison latency, bracket latency and bracket throughput.")

    @OptionGroup var options: BenchOptions
    @Option(help: "Repetitions per latency row.") var repetitions = 7
    @Option(help: "Pending-strategy counts for the throughput rows (comma-separated).") var pending = "1,16,256"

    func run() async throws {
        let json = options.json, log = options.log, steps = try options.threadSteps()
        let fftwMicros = BenchSetup.fftwReferenceMicros()
        var rows: [BenchRow] = []
        let price: UInt64 = 390_000, upperValue: UInt64 = 400_000, lowerValue: UInt64 = 380_000
        try await BenchSetup.forEachParameterSet(options.params, progress: !json, log: log) { keys in
            let (name, parameters, client, server) = (keys.name, keys.parameters, keys.client, keys.server)
            let rng = keys.randomness.encryption
            let upper = client.encrypt(UInt32(upperValue), using: rng), lower = client.encrypt(UInt32(lowerValue), using: rng)
            let ksPbs = CoreOperations.keyswitchBootstrap(server, client: client)
            for threads in steps {
                let engine = ComparisonEngine(threads: threads)
                let cost = ComparisonEngine.bootstrapCount(lower, .greaterOrEqual, price, parameters: parameters)
                let compare = { _ = try! engine.compare(lower, .greaterOrEqual, price, serverKey: server) }
                // The comparison in units of one single-threaded KS+PBS of the same key: both sides
                // interleaved, each side's minimum (a shared host moves the ratio least that way).
                let (ksPbsMicros, compareMinimum) = Timing.interleavedMinimum(rounds: repetitions, reference: ksPbs, referenceInner: 1,
                                                                              inner: 1, compare)
                rows.append(BenchRow(name: "compare_u32", params: name, threads: threads,
                                     seconds: Timing.median(repetitions: repetitions, inner: 1, compare),
                                     extra: ["bootstraps": cost, "ks_pbs_latencies_x100": Int((compareMinimum * 1e8 / ksPbsMicros).rounded())]))
                rows.append(BenchRow(name: "ks_pbs_interleaved_min", params: name, threads: 1, seconds: ksPbsMicros * 1e-6))
                let request = EvaluationRequest(serverKey: server, strategy: .bracketOrderLong, upper: upper, lower: lower)
                rows.append(BenchRow(name: "bracket", params: name, threads: threads,
                                     seconds: Timing.median(repetitions: repetitions, inner: 1) {
                                         _ = try! engine.evaluate(request, priceCents: price)
                                     }, extra: ["bootstraps": ComparisonEngine.cost(request, priceCents: price).bootstraps]))
            }
            for count in pending.split(separator: ",").compactMap({ Int($0) }) {
                let requests = (0..<count).map { i in
                    EvaluationRequest(serverKey: server, strategy: .bracketOrderLong,
                                      upper: client.encrypt(UInt32(upperValue) + UInt32(i), using: rng),
                                      lower: client.encrypt(UInt32(lowerValue) - UInt32(i), using: rng))
                }
                let reps = count >= 64 ? 1 : 3
                var coldOneThread = 0.0, steadyOneThread = 0.0
                for threads in steps {
                    let cold = ComparisonEngine(threads: threads)
                    let perStrategy = Timing.median(repetitions: reps, inner: 1) {
                        _ = try! cold.evaluate(requests, priceCents: price)
                    } / Double(count)
                    if threads == 1 { coldOneThread = perStrategy }
                    rows.append(.scaled("bracket_throughput_cold", params: name, threads: threads, seconds: perStrategy,
                                        oneThread: coldOneThread, extra: ["strategies": count]))
                    // Steady state: scheduler ticks with the price walking ±0.02 % (±80 cents) per tick and a
                    // memo kept across ticks, as `serve` evaluates them.
                    let steady = ComparisonEngine(threads: threads, memo: EvaluationMemo())
                    var walk = price
                    _ = try steady.evaluate(requests, priceCents: walk)
                    var ticks: [Double] = []
                    var generator = SystemRandomNumberGenerator()
                    for _ in 0..<(count >= 64 ? 3 : 8) {
                        walk = UInt64(Int64(walk) + Int64.random(in: -80...80, using: &generator))
                        let start = ContinuousClock.now
                        _ = try steady.evaluate(requests, priceCents: walk)
                        ticks.append((ContinuousClock.now - start).seconds / Double(count))
                    }
                    let tick = ticks.sorted()[ticks.count / 2]
                    if threads == 1 { steadyOneThread = tick }
                    rows.append(.scaled("bracket_throughput", params: name, threads: threads, seconds: tick, oneThread: steadyOneThread,
                                        extra: ["strategies": count]))
                }
            }
        }
        let report = BenchReport(fftwMicros: fftwMicros, instructionSet: CoreOperations.instructionSet, rows: rows)
        print(json ? report.json : report.table)
    }
}

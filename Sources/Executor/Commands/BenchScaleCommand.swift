import ArgumentParser
import FHECore
import Foundation

/// `bench scale`: a `serve` process (this binary, a child on loopback) with a temporary order book,
/// filled with N native strategies through the API, then ticked against the local Hermes. Reports
/// how fast strategies are created, how long a tick takes, what one strategy costs in it and the
/// executor's peak resident memory (VmHWM: what the kernel saw, not an estimate).
struct BenchScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale", abstract: "N strategies through the API into a fresh executor: creation rate, tick time, cost per strategy, peak RSS.",
        discussion: "The executor runs as a child process with its defaults (override them through the environment: MEMO_MAX_MIB, BOUND_CACHE_MIB, EVALUATION_CHUNK, FHE_THREADS). Bounds are random brackets 3–20 % away from each feed's price, so nothing triggers and every tick evaluates the whole book.")

    @Flag(help: "Print one JSON object instead of the table.") var json = false
    @Option(help: "Strategies to create.") var strategies = 1000
    @Option(help: "Price feeds the strategies are spread over (ETH, BTC, SOL, in that order).") var feeds = 3
    @Option(help: "Evaluating ticks to time (the first is cold: no memo, bounds not yet expanded).") var ticks = 2
    @Option(help: "createStrategy requests in flight at once.") var concurrency = 8
    @Option(help: "Keep the executor's log here (default: discarded with the temporary directory).") var log: String?

    static let feedPrices: [(asset: String, dollars: Int64)] = [("ETH", 3_900), ("BTC", 97_000), ("SOL", 180)]

    /// Progress on standard error, with --json too: a run of 10 000 strategies lasts half an hour.
    func say(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

    func validate() throws {
        guard strategies > 0, ticks > 0, concurrency > 0 else { throw ValidationError("--strategies, --ticks and --concurrency must be positive") }
        guard (1...Self.feedPrices.count).contains(feeds) else { throw ValidationError("--feeds is 1 to \(Self.feedPrices.count)") }
    }

    func run() async throws {
        let fftwMicros = BenchSetup.fftwReferenceMicros()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("syphon-bench-scale-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let assets = Array(Self.feedPrices.prefix(feeds))

        // Prices walk up to ±0.02 % a step, as a feed does between two ticks (never standing still:
        // a tick at an unchanged price would be all memo hits); stale until the book is full.
        var generator = SystemRandomNumberGenerator()
        var paths: [String: [HermesStandIn.Step]] = [:]
        for (asset, dollars) in assets {
            var price = dollars * 100_000_000
            paths[FeedMap.defaults[asset]!] = (0...ticks).map { _ in
                defer {
                    let step = max(1_000_000, Int64(Double(price / 5_000) * Double.random(in: 0.1...1, using: &generator)))
                    price += Bool.random(using: &generator) ? step : -step
                }
                return .init(price: price, conf: UInt64(price / 10_000))
            }
        }
        /// The price (cents) of every feed at step `step` of the walk.
        func cents(atStep step: Int) -> [String: Int] { paths.mapValues { Int($0[step].price / 1_000_000) } }
        let hermes = HermesStandIn(paths: paths, slotInterval: .seconds(3600))
        hermes.faults.staleBySeconds = 600
        let hermesPort = LockedValue(0)
        let hermesTask = Task { try await hermes.run(logLevel: .critical) { hermesPort.set($0) } }
        defer { hermesTask.cancel() }
        while hermesPort.get() == 0 { try await Task.sleep(for: .milliseconds(20)) }

        let logFile = log.map { URL(fileURLWithPath: $0) } ?? directory.appendingPathComponent("serve.log")
        let executor = try LocalService.start({ ["serve", "--bind", "127.0.0.1:\($0)"] }, environment: [
            "DATABASE_URI": directory.appendingPathComponent("strategies.db").path,
            "PYTH_HERMES_URL": "http://127.0.0.1:\(hermesPort.get())", "PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting,
            "CHECK_INTERVAL_SECONDS": "0.5", "RATE_LIMIT_PER_MINUTE": "100000000",
        ], log: logFile)
        defer { executor.stop() }
        try await executor.waitUntilReady(seconds: 120)
        say("executor \(executor.url) (pid \(executor.process.processIdentifier)), log \(logFile.path)")

        say("keys: generating and registering one default-set key…")
        let keys = try KeyDirectory.generate(into: directory.appendingPathComponent("keys"), parameters: .default)
        let (keyStatus, keyAnswer) = try await DemoCommand.post(executor.url + "/keys", [UInt8](try KeyDirectory.registration(
            directory.appendingPathComponent("keys").path, custody: true)), json: false)
        guard keyStatus < 300, let keyID = keyAnswer["key_id"] as? String else { throw ValidationError("POST /keys failed: \(keyAnswer)") }

        say("payloads: encrypting \(strategies) strategies' bounds…")
        let rng = try CSPRNG()
        let bodies: [[UInt8]] = try (0..<strategies).map { i in
            let (asset, dollars) = assets[i % assets.count]
            let type = StrategyType.allCases[Int.random(in: 0..<StrategyType.allCases.count, using: &generator)]
            let cents = Double(dollars * 100)
            let fields: [String: Any] = [
                "user_id": "scale", "asset_in": "USDC", "asset_out": asset, "amount": "1.00", "payload_id": "scale-\(i)",
                "zkp_data": ["proof": "0x" + String(repeating: "ab", count: 64),
                             "publicInputs": ["asset": "USDC", "amount": "1000000", "nullifier": "\(i)", "newCommitment": "\(1_000_000 + i)"]],
            ]
            let body = NativePayload.body(client: keys.client, keyID: keyID, type: type,
                                          upperCents: UInt32(cents * Double.random(in: 1.03...1.20, using: &generator)),
                                          lowerCents: UInt32(cents * Double.random(in: 0.80...0.97, using: &generator)), fields: fields, rng: rng)
            return [UInt8](try JSONSerialization.data(withJSONObject: body))
        }

        say("creating \(strategies) strategies through POST /createStrategy, \(concurrency) at a time…")
        let createStart = ContinuousClock.now
        let url = executor.url + "/createStrategy", concurrency = self.concurrency
        let refused = try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0, refused = 0
            func submit() {
                let body = bodies[next]
                group.addTask { try await DemoCommand.post(url, body, json: true).0 == 201 ? 0 : 1 }
                next += 1
            }
            while next < min(concurrency, bodies.count) { submit() }
            while let outcome = try await group.next() {
                refused += outcome
                if next < bodies.count { submit() }
            }
            return refused
        }
        let createSeconds = (ContinuousClock.now - createStart).seconds
        guard refused == 0 else { throw ValidationError("\(refused) of \(strategies) createStrategy requests were refused (log: \(logFile.path))") }
        let afterCreate = executor.residentBytes
        say(String(format: "created in %.1f s (%.0f per second); executor RSS %.0f MiB", createSeconds, Double(strategies) / createSeconds,
                   Double(afterCreate?.now ?? 0) / 1_048_576))

        // Prices fresh from now on: each completed tick that evaluated the book is recorded, and the
        // price takes a step for the next.
        hermes.faults.staleBySeconds = 0
        var recorded: [(seconds: Double, evaluated: Int)] = []
        var lastProgress = ContinuousClock.now
        for step in 1...ticks {
            // The first tick that evaluates this step's prices after the step was taken (/health keeps
            // the last ticks: a tick at the previous prices, begun before the step, is all memo hits).
            let before = try await Self.scheduler(executor)["ticks"] as? Int ?? 0
            hermes.advance()
            while true {
                try await Task.sleep(for: .milliseconds(250))
                guard executor.process.isRunning else { throw ValidationError("the executor exited (log: \(logFile.path))") }
                let recent = try await Self.scheduler(executor)["recent_ticks"] as? [[String: Any]] ?? []
                if let tick = recent.first(where: { ($0["number"] as? Int ?? 0) > before && ($0["evaluated"] as? Int ?? 0) > 0
                                                    && ($0["price_cents"] as? [String: Int] ?? [:]) == cents(atStep: step) }) {
                    let evaluated = tick["evaluated"] as? Int ?? 0, seconds = tick["seconds"] as? Double ?? 0
                    recorded.append((seconds, evaluated))
                    lastProgress = .now
                    say(String(format: "tick %d: %d strategies in %.1f s (%.1f ms each); executor RSS %.0f MiB, peak %.0f MiB", step, evaluated,
                               seconds, seconds * 1e3 / Double(evaluated), Double(executor.residentBytes?.now ?? 0) / 1_048_576,
                               Double(executor.residentBytes?.peak ?? 0) / 1_048_576))
                    break
                }
                if (ContinuousClock.now - lastProgress).seconds > max(600, Double(strategies)) {
                    throw ValidationError("no tick evaluated step \(step) for \(Int((ContinuousClock.now - lastProgress).seconds)) s (log: \(logFile.path))")
                }
            }
        }
        let health = try await Self.health(executor)
        let peak = executor.residentBytes?.peak ?? 0
        executor.stop()

        let last = recorded[recorded.count - 1]
        let perStrategy = last.seconds / Double(last.evaluated)
        let scheduler = health["scheduler"] as? [String: Any] ?? [:]
        let kernel = CoreOperations.instructionSet, threads = health["fhe_threads"] as? Int ?? 0
        let report: [String: Any] = [
            "strategies": strategies, "feeds": feeds, "threads": threads, "isa": kernel,
            "create_seconds": createSeconds, "create_per_second": Double(strategies) / createSeconds,
            "tick_seconds": last.seconds, "per_strategy_ms": perStrategy * 1e3,
            "ticks": recorded.map { ["seconds": $0.seconds, "evaluated": $0.evaluated, "per_strategy_ms": $0.seconds * 1e3 / Double($0.evaluated)] },
            "peak_rss_mib": Double(peak) / 1_048_576, "rss_after_create_mib": Double(afterCreate?.now ?? 0) / 1_048_576,
            "fftw_1024_us": fftwMicros.map { $0 as Any } ?? NSNull(),
            "per_strategy_fftw_ratio": fftwMicros.map { perStrategy * 1e6 / $0 as Any } ?? NSNull(),
            "memo": scheduler["memo"] ?? NSNull(), "bound_cache": scheduler["bound_cache"] ?? NSNull(), "chunk": scheduler["chunk"] ?? NSNull(),
        ]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        print(String(format: "strategies %d on %d feeds, executor on %d FHE threads, kernels %@", strategies, feeds, threads, kernel))
        print(String(format: "create     %.0f per second (%.1f s, %d in flight)", Double(strategies) / createSeconds, createSeconds, concurrency))
        for (i, tick) in recorded.enumerated() {
            print(String(format: "tick %d     %.1f s, %d evaluated, %.1f ms per strategy%@", i + 1, tick.seconds, tick.evaluated,
                         tick.seconds * 1e3 / Double(tick.evaluated), i == 0 ? " (cold)" : ""))
        }
        print(String(format: "peak RSS   %.0f MiB (VmHWM of the executor; %.0f MiB after creation)", Double(peak) / 1_048_576,
                     Double(afterCreate?.now ?? 0) / 1_048_576))
        if let fftwMicros {
            print(String(format: "reference  FFTW 1024-point complex FFT, same run: %.3f µs; last tick's strategy = %.0f × FFTW-1024",
                         fftwMicros, perStrategy * 1e6 / fftwMicros))
        }
    }

    static func health(_ executor: LocalService) async throws -> [String: Any] {
        let (_, body) = try await ExecutorAPIClient.get(executor.url + "/health", timeout: .seconds(30))
        return (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }

    static func scheduler(_ executor: LocalService) async throws -> [String: Any] {
        try await health(executor)["scheduler"] as? [String: Any] ?? [:]
    }
}

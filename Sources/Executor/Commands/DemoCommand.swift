import ArgumentParser
import FHECore
import Foundation
import Logging

/// `syphon-executor demo`: the whole pipeline in one process on loopback. The executor (REST API,
/// order book on a temporary SQLite file, scheduler, finalizer), a local Hermes replaying ETH/USD
/// and BTC/USD price paths, and — when the repository's Python devnode is installed — an EVM
/// devnode with the mock Entrypoint. It generates keys, registers them, creates one strategy of
/// each type through the API, and prints the order book as it changes until every strategy is final.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Run the whole pipeline on loopback with a replayed price path.",
        discussion: "Needs nothing but this binary; with `.venv-evm` and Tests/Fixtures/chain (make test or make devnode installs them) in --repository, swaps are mined on a local EVM; otherwise it runs dry.")

    @Option(help: "Repository root holding .venv-evm and Tests/Fixtures/chain (default: the working directory).")
    var repository = "."
    @Flag(help: "Do not start the EVM devnode even when it is installed (dry run).") var noDevnode = false
    @Option(help: "Seconds a price step lasts at least (the next comes once the scheduler has evaluated it).") var stepSeconds = 1.5
    @Option(help: "Give up when the scheduler completes no tick for this many seconds.") var stallSeconds = 120.0
    @Option(help: "Threshold custody with this many custodian processes (2-of-n; 0: the executor holds the client key).")
    var custodians = 0

    /// One strategy of the demo: its type, feed and bounds in dollars.
    struct Plan {
        let type: StrategyType, asset: String, upper: String?, lower: String?
    }

    static let plans = [
        Plan(type: .limitBuyDip, asset: "ETH", upper: nil, lower: "3800.00"),
        Plan(type: .limitSellRally, asset: "ETH", upper: "4000.00", lower: nil),
        Plan(type: .bracketOrderLong, asset: "BTC", upper: "100000.00", lower: "90000.00"),
        Plan(type: .bracketOrderShort, asset: "BTC", upper: "105000.00", lower: "95000.00"),
        Plan(type: .limitOrder, asset: "ETH", upper: "4050.00", lower: "3500.00"),
    ]
    static let ethPath: [Int64] = [3900, 3870, 3840, 3810, 3790, 3830, 3900, 3960, 4010, 4060]
    static let btcPath: [Int64] = [97000, 97600, 98400, 99300, 100200, 99800, 98500, 96900, 95800, 94900]
    /// Token addresses of a dry run (no chain); on the devnode, mock tokens with these decimals.
    static let tokens = ["ETH": "0x000000000000000000000000000000000000E7E0", "BTC": "0x000000000000000000000000000000000000B7C0",
                         "USDC": "0x000000000000000000000000000000000000C050"]
    static let tokenDecimals: [String: UInt8] = ["ETH": 18, "BTC": 8, "USDC": 6]

    func run() async throws {
        var logger = Logger(label: "syphon.demo")
        logger.logLevel = .critical
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("syphon-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        // The price service, stepped by this command's clock (prices with exponent -8).
        func steps(_ dollars: [Int64]) -> [HermesStandIn.Step] { dollars.map { .init(price: $0 * 100_000_000, conf: 50_000_000) } }
        let hermes = HermesStandIn(paths: [Self.eth: steps(Self.ethPath), Self.btc: steps(Self.btcPath)], slotInterval: .seconds(3600))
        let hermesPort = LockedValue(0)
        let hermesTask = Task { try await hermes.run(logLevel: .critical) { hermesPort.set($0) } }
        defer { hermesTask.cancel() }
        while hermesPort.get() == 0 { try await Task.sleep(for: .milliseconds(20)) }

        var environment = [
            "DATABASE_URI": directory.appendingPathComponent("strategies.db").path, "BIND": "127.0.0.1:0",
            "PYTH_HERMES_URL": "http://127.0.0.1:\(hermesPort.get())", "CHECK_INTERVAL_SECONDS": "0.5",
            // Prices are verified as in production, against the stand-in's test guardians.
            "PYTH_GUARDIAN_SETS": HermesStandIn.testGuardianSetting,
        ]
        let (devnode, tokens) = try startChain(into: &environment)
        defer { devnode?.stop() }
        var local: LocalCustodians?
        if custodians > 0 {
            let started = try await LocalCustodians.start(count: custodians, directory: directory, threads: 1)
            local = started
            environment.merge(["CUSTODY": "threshold", "CUSTODIANS": started.urls.joined(separator: ","),
                               "CUSTODY_THRESHOLD": "\(min(2, custodians))"]) { $1 }
            print("custody  \(min(2, custodians))-of-\(custodians) custodian processes at \(started.urls.joined(separator: ", ")): the executor holds no client key")
        } else {
            print("custody  executor: the client key is sealed beside the order book (whoever runs the executor can decrypt; --custodians 3 removes that)")
        }
        defer { local?.stop() }
        print("oracle   local Hermes at 127.0.0.1:\(hermesPort.get()) replaying ETH/USD and BTC/USD, a step every \(stepSeconds) s or once evaluated")

        let configuration = try ExecutorConfiguration.load(flags: [:], environment: environment, dotEnvPath: "/nonexistent")
        let services = try await ExecutorServices(configuration: configuration, logger: logger)
        let port = LockedValue(0)
        let app = try services.application(logger: logger) { port.set($0) }
        let serverTask = Task { try await app.runService(gracefulShutdownSignals: []) }
        defer { serverTask.cancel() }
        while port.get() == 0 { try await Task.sleep(for: .milliseconds(20)) }
        let base = "http://127.0.0.1:\(port.get())"
        print("executor \(base), order book \(directory.appendingPathComponent("strategies.db").path)\n")

        let names = try await createStrategies(base, keys: directory.appendingPathComponent("keys"), tokens: tokens, custodians: local?.urls)
        let live = configuration.chain.map { !$0.isDryRun } ?? false
        try await replay(services, hermes: hermes, names: names, live: live)

        let summary = services.metrics.evaluationSummary
        print(String(format: "\nevaluation: %d strategy evaluations in %d batches, %.1f ms per batch, %.1f ms per strategy (%@)",
                     summary.strategies, summary.batches, summary.seconds * 1000 / Double(max(summary.batches, 1)),
                     summary.seconds * 1000 / Double(max(summary.strategies, 1)),
                     custodians > 0 ? "decided by \(custodians) custodians, 2 per decision, one thread each" : "in-process FHE, " + ParameterSet.default.name))
        print(live ? "all strategies final: swaps mined on the devnode" : "all strategies final (dry run: nothing was sent)")
    }

    static let eth = FeedMap.defaults["ETH"]!, btc = FeedMap.defaults["BTC"]!

    /// Starts the EVM devnode when it is installed and adds the chain settings to `environment`;
    /// returns it (nil for a dry run) and the token addresses swaps use.
    func startChain(into environment: inout [String: String]) throws -> (LocalDevnode?, [String: String]) {
        var tokens = Self.tokens
        let paths = LocalDevnode.Paths(repository: URL(fileURLWithPath: repository))
        var devnode: LocalDevnode?
        if !noDevnode && paths.exist {
            // Tokens with real decimals() (the minimum output is sized from them) and a block a
            // second, so that swaps reach their confirmations.
            let node = try LocalDevnode(paths, tokens: Self.tokenDecimals, blockTime: 1)
            devnode = node
            tokens = node.tokens
            environment.merge(["SEPOLIA_RPC_URL": node.url, "SYPHON_VAULT_CONTRACT_ADDRESS": node.contract,
                               "EXECUTOR_PRIVATE_KEY": LocalDevnode.executorKey, "CHAIN_ID": "\(LocalDevnode.chainID)"]) { $1 }
            print("chain    EVM devnode (py-evm) at \(node.url), mock Entrypoint \(node.contract): swaps are signed, sent and mined, "
                  + "EXECUTED after \(ChainConfiguration.Finality.confirmations(2))")
        } else {
            print("chain    DRY RUN: \(noDevnode ? "--no-devnode given" : "no devnode in \(paths.python.deletingLastPathComponent().deletingLastPathComponent().path) (make test or make devnode installs it)"); triggered swaps are recorded, not sent")
        }
        environment["TOKEN_ADDRESSES"] = tokens.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        return (devnode, tokens)
    }

    /// The user's side: keys once (as `keygen` makes them), registered with custody as `register-key
    /// --custody` does, then one strategy of each plan with encrypted bounds. Returns each
    /// strategy's description by id.
    func createStrategies(_ base: String, keys: URL, tokens: [String: String], custodians: [String]?) async throws -> [Int64: String] {
        let keygenStart = ContinuousClock.now
        let generated: KeyDirectory.Generated
        let registration: Data
        if let custodians {
            // As `keygen --custodians` does: the custodians' public keys pinned, each one's shares sealed to it.
            var identities: [PublicCustodian] = []
            for url in custodians { identities.append(try await PublicCustodian.fetch(from: url)) }
            generated = try KeyDirectory.generateThreshold(into: keys, parameters: .default,
                                                           plan: .init(urls: custodians, identities: identities, threshold: min(2, custodians.count)),
                                                           threads: Parallelism.availableCores)
            registration = try KeyDirectory.thresholdBundle(keys.path)!.frames.encoded()
        } else {
            generated = try KeyDirectory.generate(into: keys, parameters: .default)
            registration = try KeyDirectory.registration(keys.path, custody: true)
        }
        let owner = try KeyDirectory.owner(keys.path)
        let keygenSeconds = (ContinuousClock.now - keygenStart).seconds
        let (keyStatus, keyAnswer) = try await Self.post(base + "/keys", [UInt8](registration), json: false)
        guard keyStatus < 300, let keyID = keyAnswer["key_id"] as? String else { throw ValidationError("POST /keys failed: \(keyAnswer)") }
        print(String(format: "keys     generated in %.2f s (parameters %@); evaluation key %.1f MB registered once as %@…",
                     keygenSeconds, generated.client.parameters.name, Double(generated.evaluationKeyBytes) / 1e6, String(keyID.prefix(12))))

        let rng = try CSPRNG()
        var names: [Int64: String] = [:]
        for (i, plan) in Self.plans.enumerated() {
            let fields: [String: Any] = [
                "user_id": "demo", "asset_in": "USDC", "asset_out": plan.asset, "amount": "250.00", "payload_id": "demo-\(i)",
                "recipient_address": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
                "zkp_data": ["proof": "0x" + String(repeating: "ab", count: 64),
                             "publicInputs": ["asset": tokens["USDC"]!, "amount": "250000000", "nullifier": "\(1000 + i)",
                                              "newCommitment": "\(7_000_000 + i)"]],
            ]
            let body = try NativePayload.body(client: generated.client, keyID: keyID, type: plan.type, upperCents: try plan.upper.map(parseCents),
                                              lowerCents: try plan.lower.map(parseCents), fields: fields, rng: rng,
                                              owner: owner.map { ($0, plan.asset == "ETH" ? Self.eth : Self.btc) }).body
            let bytes = try JSONSerialization.data(withJSONObject: body)
            let (status, answer) = try await Self.post(base + "/createStrategy", [UInt8](bytes), json: true)
            guard status == 201, let id = answer["strategy_id"] as? Int else { throw ValidationError("createStrategy failed: \(answer)") }
            let bounds = [plan.lower.map { "≤ \($0)" }, plan.upper.map { "≥ \($0)" }].compactMap { $0 }.joined(separator: " or ")
            names[Int64(id)] = "\(plan.asset)/USD \(bounds)"
            print("strategy \(id) \(plan.type.rawValue): \(names[Int64(id)]!) (\(bytes.count) B request)")
        }
        print("")
        return names
    }

    /// Replays the price paths and prints the book whenever it changes, until every strategy is
    /// final. The next price comes once this one has been evaluated on every feed that still has
    /// pending strategies and nothing is being settled: a busy machine sees every step.
    func replay(_ services: ExecutorServices, hermes: HermesStandIn, names: [Int64: String], live: Bool) async throws {
        func isFinal(_ s: StrategyRecord) -> Bool {
            [.executed, .failed, .cancelled, .expired].contains(s.status) || (!live && s.status == .triggered)
        }
        let started = ContinuousClock.now
        var lastStep = ContinuousClock.now, step = 0, lastTable = ""
        var lastTicks = 0, lastProgress = ContinuousClock.now
        while true {
            let eth = Self.ethPath[min(step, Self.ethPath.count - 1)], btc = Self.btcPath[min(step, Self.btcPath.count - 1)]
            let book = try await services.database.strategies(userId: "demo", status: nil)
            let table = Self.table(book, names: names)
            if table != lastTable {
                print(String(format: "t=%5.1f s  ETH/USD %@  BTC/USD %@", (ContinuousClock.now - started).seconds, Self.dollars(eth), Self.dollars(btc)))
                print(table)
                lastTable = table
            }
            if book.allSatisfy(isFinal) { return }
            let progress = services.scheduler.progress.get()
            if progress.ticks != lastTicks { lastTicks = progress.ticks; lastProgress = .now }
            if (ContinuousClock.now - lastProgress).seconds > stallSeconds {
                print("no scheduler progress for \(Int(stallSeconds)) s; giving up")
                throw ExitCode.failure
            }
            let current = [Self.eth: eth * 100, Self.btc: btc * 100]
            let evaluated = book.filter { $0.status == .pending }.allSatisfy { progress.evaluatedPrices[$0.priceFeedId].map(Int64.init) == current[$0.priceFeedId] }
            let settling = book.contains { $0.status == .submitted || ($0.status == .triggered && live) }
            if evaluated && !settling && (ContinuousClock.now - lastStep).seconds >= stepSeconds && step < Self.ethPath.count - 1 {
                hermes.advance()
                step += 1
                lastStep = .now
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func dollars(_ d: Int64) -> String { String(format: "%9.2f", Double(d)) }

    static func table(_ book: [StrategyRecord], names: [Int64: String]) -> String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        var lines = ["  " + pad("id", 4) + pad("type", 21) + pad("condition", 36) + pad("status", 11) + pad("trigger", 12) + "tx hash / note"]
        for s in book {
            let trigger = s.triggerPriceCents.map { String(format: "%.2f", Double($0) / 100) } ?? "-"
            let note = s.txHash.map { String($0.prefix(18)) + "…" } ?? s.failureReason ?? s.simulation ?? s.lastError ?? ""
            lines.append("  " + pad("\(s.id!)", 4) + pad(s.strategyType, 21) + pad(names[s.id!] ?? "", 36) + pad(s.status.rawValue, 11)
                         + pad(trigger, 12) + note)
        }
        return lines.joined(separator: "\n")
    }

    /// POSTs bytes and returns (status, JSON object).
    static func post(_ url: String, _ body: [UInt8], json: Bool) async throws -> (Int, [String: Any]) {
        let (status, answer) = try await ExecutorAPIClient.post(url, body, contentType: json ? "application/json" : "application/octet-stream")
        return (status, (try? JSONSerialization.jsonObject(with: Data(buffer: answer))) as? [String: Any] ?? [:])
    }
}

import ArgumentParser
import Crypto
import FHECore
import Foundation
import Logging

/// `bench custody`: decisions per second through three `custodian` processes (2-of-3, each on one
/// thread, on loopback, with the local Hermes signing real updates) against in-process decisions,
/// and the network bytes each decision costs.
struct BenchCustodyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "custody", abstract: "Threshold decisions per second (3 custodians, 2-of-3) against in-process decisions; bytes per decision.")

    @Flag(help: "Print one JSON object instead of the table.") var json = false
    @Option(help: "Bracket strategies decided per round.") var strategies = 16
    @Option(help: "Timed rounds (after one warm-up round).") var rounds = 3

    func log(_ line: String) { if !json { FileHandle.standardError.write(Data((line + "\n").utf8)) } }

    func run() async throws {
        let fftwMicros = BenchSetup.fftwReferenceMicros()
        let threads = try ConfigurationValues().fheThreads()
        let parameters = ParameterSet.default
        log("keys: client, evaluation and decision keys (default set)…")
        let randomness = try KeyGenerationRandomness()
        let client = ClientKey.generate(parameters: parameters, using: randomness.secret)
        let (server, seededEvaluation) = SeededEvaluationKey.generate(for: client, randomness: randomness, threads: threads)
        let (secret, seededDecision) = SeededDecisionKey.generate(for: client, randomness: randomness, threads: threads)
        let decisionKey = try seededDecision.expand(evaluationKey: server)
        let sharing = try ReplicatedSharing(custodians: 3, threshold: 2)
        let shares = DecisionKeyShare.split(secret, custody: seededDecision.custody, sharing: sharing, using: randomness.secret)
        let owner = Curve25519.Signing.PrivateKey()
        let feed = FeedMap.defaults["ETH"]!
        let price: UInt32 = 390_000
        let rng = randomness.encryption
        // Half the brackets contain the price, half are crossed by it.
        let bounds: [(upper: UInt32, lower: UInt32)] = (0..<strategies).map { i in
            let step = UInt32(1_000 * i)
            return (upper: 385_000 + step, lower: 380_000 - step)
        }

        let hermes = HermesStandIn(paths: [feed: [.init(price: Int64(price) * 1_000_000, conf: 1_000_000)]], slotInterval: .seconds(3600))
        let hermesPort = LockedValue(0)
        let hermesTask = Task { try await hermes.run { hermesPort.set($0) } }
        defer { hermesTask.cancel() }
        while hermesPort.get() == 0 { try await Task.sleep(for: .milliseconds(20)) }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("syphon-bench-custody-\(UUID().uuidString)")
        let custodians = try await LocalCustodians.start(count: 3, directory: dir, threads: 1)
        defer {
            custodians.stop()
            try? FileManager.default.removeItem(at: dir)
        }
        let urls = custodians.urls
        var logger = Logger(label: "bench.custody")
        logger.logLevel = .error
        let coordinator = try CustodyCoordinator(settings: .init(urls: urls, threshold: 2, token: nil), logger: logger)

        log("registering with the custodians (keys relayed: \(String(format: "%.0f", Double(NativeFormat.encode(seededDecision).count + NativeFormat.encode(seededEvaluation).count) / 1e6)) MB each)…")
        let evaluationBytes = Data(NativeFormat.encode(seededEvaluation)), keyID = contentHash(evaluationBytes)
        var sealed: [Data] = [], signingKeys: [[UInt8]] = []
        for i in 0..<3 {
            let identity = try await coordinator.identity(i)
            sealed.append(try SealedShare.seal(shares[i], to: identity, keyID: keyID).bytes)
            signingKeys.append(identity.signingKey)
        }
        try await coordinator.register(ThresholdKeyBundle(evaluationKey: evaluationBytes, decisionKey: Data(NativeFormat.encode(seededDecision)),
                                                          ownerKey: owner.publicKey.rawRepresentation, threshold: 2, signingKeys: signingKeys,
                                                          sealedShares: sealed))
        var ids: [String] = [], requests: [EvaluationRequest] = [], expected: [String: Bool] = [:]
        for b in bounds {
            let upper = WireFormat.native.encryptPriceBound(b.upper, with: client, using: rng)
            let lower = WireFormat.native.encryptPriceBound(b.lower, with: client, using: rng)
            var nonce = [UInt8](repeating: 0, count: 16)
            rng.fillBytes(&nonce)
            let statement = StrategyStatement(keyID: keyID, type: .bracketOrderLong, feedID: feed, upperDigest: contentHash(upper),
                                              lowerDigest: contentHash(lower), nonce: nonce)
            try await coordinator.pin(CustodyPin(statement: statement, signature: try statement.sign(with: owner), upper: Data(upper), lower: Data(lower)).json)
            ids.append(statement.id)
            expected[statement.id] = StrategyType.bracketOrderLong.isTriggered(priceCents: UInt64(price), upper: UInt64(b.upper), lower: UInt64(b.lower))
            func decoded(_ bytes: [UInt8]) throws -> RadixCiphertext {
                try bytes.withUnsafeBytes { try UntrustedInput().priceBound($0, parameters: parameters, field: "bound").ciphertext }
            }
            requests.append(EvaluationRequest(serverKey: server, strategy: .bracketOrderLong, upper: try decoded(upper), lower: try decoded(lower)))
        }

        var rows: [BenchRow] = []
        let count = Double(strategies)
        // In process, as `--custody executor` decides: evaluate, then decrypt with the client key.
        let engine = ComparisonEngine(threads: threads)
        rows.append(BenchRow(name: "decision_in_process_client_key", params: parameters.name, threads: threads,
                             seconds: Timing.median(repetitions: rounds, inner: 1) {
                                 let results = try! engine.evaluate(requests, priceCents: UInt64(price))
                                 for r in results { _ = try! client.decrypt(r) }
                             } / count, extra: ["strategies": strategies]))
        // In process with the decision key and two custodians' partials, no network: the threshold
        // computation's own cost, on one thread (what each custodian runs) and on all of them.
        let decisionKeys = Array(repeating: decisionKey, count: requests.count)
        let assignment = sharing.assignment(participants: [0, 1])!
        for t in Set([1, threads]).sorted() {
            let perThread = ComparisonEngine(threads: t)
            rows.append(BenchRow(name: "decision_in_process_threshold_math", params: parameters.name, threads: t,
                                 seconds: Timing.median(repetitions: rounds, inner: 1) {
                                     let cts = try! perThread.decide(requests, decisionKeys: decisionKeys, priceCents: UInt64(price))
                                     for ct in cts {
                                         let partials = [0, 1].map { try! shares[$0].partialDecryption(of: ct, shares: assignment[$0]!, using: rng) }
                                         _ = ThresholdDecryption.combine(body: ct.words.last!, partials: partials)
                                     }
                                 } / count, extra: ["strategies": strategies]))
        }
        // Through the custodians: one round per fresh publish time; the first warms their caches.
        var publishTime = Int64(Date().timeIntervalSince1970) - 1
        var samples: [Double] = []
        var bytes = 0
        for round in 0...rounds {
            var faults = HermesStandIn.Faults()
            publishTime = max(publishTime + 1, Int64(Date().timeIntervalSince1970)) // fresh and later each round
            faults.publishTimeOverride = publishTime
            hermes.faults = faults
            let body = hermes.v2Body(ids: [feed], parsed: false, base64: false)
            guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                  let hex = ((object["binary"] as? [String: Any])?["data"] as? [String])?.first else { throw ValidationError("no update") }
            let before = coordinator.traffic.get()
            let start = ContinuousClock.now
            let outcomes = await coordinator.decide(ids, update: try Hex.decode(hex))
            let elapsed = (ContinuousClock.now - start).seconds
            let after = coordinator.traffic.get()
            for id in ids {
                guard case .decided(let bit, _)? = outcomes[id], bit == expected[id] else {
                    throw ValidationError("round \(round): strategy \(id.prefix(12)) was not decided correctly: \(String(describing: outcomes[id]))")
                }
            }
            if round > 0 {
                samples.append(elapsed / count)
                bytes = (after.sent - before.sent + after.received - before.received) / strategies
            }
            log("round \(round): \(String(format: "%.1f", elapsed * 1e3)) ms for \(strategies) decisions")
        }
        rows.append(BenchRow(name: "decision_3_custodians_2_of_3", params: parameters.name, threads: 2,
                             seconds: samples.sorted()[samples.count / 2], extra: ["strategies": strategies, "bytes_per_decision": bytes]))
        let report = BenchReport(fftwMicros: fftwMicros, instructionSet: CoreOperations.instructionSet, rows: rows)
        print(json ? report.json : report.table)
        if !json {
            print("custodians: 2 of 3 asked per round, each on 1 thread (FHE_THREADS=1), on loopback; in-process rows on \(threads) threads; "
                  + "bytes_per_decision: request and answer bodies, both custodians, per strategy")
        }
    }
}

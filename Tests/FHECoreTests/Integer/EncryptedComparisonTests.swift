@testable import FHECore
import Foundation
import Testing

@Suite("Encrypted comparisons and strategies", .serialized)
struct EncryptedComparisonTests {
    /// The (value, price) pairs of the genuine tfhe-rs 0.5.3 small vector set, plus edge cases:
    /// 0, equal values, neighbours, scalars ≥ 2^32.
    static func pairs() throws -> [(UInt64, UInt64)] {
        let manifest = try VectorFiles.manifest(VectorFiles.smallSet)
        var pairs = manifest.comparisons.map { ($0.plaintext, $0.price) }
        pairs += [(0, 0), (5, 5), (5, 4), (5, 6), (1 << 31, 1 << 32), ((1 << 32) - 1, 1 << 32), (7, UInt64.max),
                  (123_456, 123_456), (123_456, 123_455), (123_456, 123_457), (3, 0), (0, 3)]
        return pairs
    }

    @Test("All five operators on every pair, decrypted, on both shipped sets",
          arguments: [ParameterSet.tfheRs05, .default])
    func comparisons(parameters: ParameterSet) throws {
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let rng = CSPRNG(seed: [UInt8](repeating: 51, count: 32))
        let pairs = try Self.pairs()
        let values = Set(pairs.map(\.0))
        let encrypted = Dictionary(uniqueKeysWithValues: values.map { v in (v, client.encryptRadix(v, blockCount: 16, using: rng)) })
        var jobs: [CircuitJob] = [], expected: [Bool] = [], labels: [String] = []
        for (v, c) in pairs {
            for op in ComparisonOperator.allCases {
                jobs.append(CircuitJob(circuit: .comparison(encrypted[v]!, op, c, parameters: parameters),
                                       operands: [encrypted[v]!], serverKey: server))
                expected.append(op.holds(sign: v < c ? -1 : (v == c ? 0 : 1)))
                labels.append("\(v) \(op.rawValue) \(c)")
            }
        }
        let results = CircuitEvaluator.run(jobs, threads: 2)
        var wrong: [String] = []
        for (i, result) in results.enumerated() where (try? client.decrypt(result)) != expected[i] { wrong.append(labels[i]) }
        #expect(wrong.isEmpty, "\(parameters.name): wrong \(wrong.prefix(10))")
        // Boolean blocks decrypt to exactly 0 or 1 (tfhe-rs BooleanBlock), degree 1.
        #expect(results.allSatisfy { [0, 1].contains(client.decryptBlock($0.block.ciphertext)) && $0.block.degree <= 1 })
        // The genuine manifest answers agree with ours.
        for c in try VectorFiles.manifest(VectorFiles.smallSet).comparisons {
            #expect(c.scalar_le == (c.plaintext <= c.price) && c.scalar_ge == (c.plaintext >= c.price))
        }
    }

    @Test("Every strategy type, one encrypted boolean, through the engine façade",
          arguments: [ParameterSet.tfheRs05, .default])
    func strategies(parameters: ParameterSet) throws {
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let rng = CSPRNG(seed: [UInt8](repeating: 52, count: 32))
        let upperValue: UInt64 = 400_000, lowerValue: UInt64 = 380_000
        let upper = client.encryptRadix(upperValue, blockCount: 16, using: rng)
        let lower = client.encryptRadix(lowerValue, blockCount: 16, using: rng)
        let prices: [UInt64] = [0, 379_999, 380_000, 380_001, 390_000, 399_999, 400_000, 400_001, (1 << 32) - 1]
        var requests: [EvaluationRequest] = [], expected: [Bool] = []
        for type in StrategyType.allCases {
            requests.append(EvaluationRequest(serverKey: server, strategy: type, upper: upper, lower: lower))
        }
        for price in prices {
            let results = try ComparisonEngine().evaluate(requests, priceCents: price)
            expected = StrategyType.allCases.map { $0.isTriggered(priceCents: price, upper: upperValue, lower: lowerValue) }
            #expect(try results.map(client.decrypt) == expected, "\(parameters.name) price \(price)")
        }
        // A missing bound is an error, not a trap.
        #expect(throws: FHECoreError.self) {
            try ComparisonEngine().evaluate(EvaluationRequest(serverKey: server, strategy: .bracketOrderLong, upper: upper, lower: nil), priceCents: 1)
        }
    }

    @Test("Batch across two keys at one price")
    func batchAcrossKeys() throws {
        let p = TestParameters.insecureSmall
        let a = TestKeyCache.shared.keys(for: p)
        let randomness = KeyGenerationRandomness(testSeed: 99)
        let otherClient = ClientKey.generate(parameters: p, using: randomness.secret)
        let otherServer = ServerKey.generate(for: otherClient, using: randomness.encryption)
        let rng = CSPRNG(seed: [UInt8](repeating: 53, count: 32))
        var requests: [EvaluationRequest] = [], clients: [ClientKey] = [], expected: [Bool] = []
        for i in 0..<12 {
            let (client, server) = i % 2 == 0 ? (a.client, a.server) : (otherClient, otherServer)
            let lower = UInt64(1000 + 10 * i), upper = UInt64(2000 + 10 * i)
            let type = StrategyType.allCases[i % 5]
            requests.append(EvaluationRequest(serverKey: server, strategy: type,
                                              upper: client.encryptRadix(upper, blockCount: 16, using: rng),
                                              lower: client.encryptRadix(lower, blockCount: 16, using: rng)))
            clients.append(client)
            expected.append(type.isTriggered(priceCents: 1050, upper: upper, lower: lower))
        }
        let results = try ComparisonEngine().evaluate(requests, priceCents: 1050)
        #expect(try zip(results, clients).map { try $1.decrypt($0) } == expected)
    }
}

@Suite("Evaluation memo across ticks")
struct EvaluationMemoTests {
    @Test("A price walk with a memo: same answers as without, most bootstraps reused")
    func priceWalk() throws {
        let p = TestParameters.insecureSmall
        let (client, server) = TestKeyCache.shared.keys(for: p)
        let rng = CSPRNG(seed: [UInt8](repeating: 61, count: 32))
        let bounds: [(UInt64, UInt64)] = [(400_000, 380_000), (390_100, 389_900), (1 << 31, 12_345)]
        let requests = bounds.flatMap { upper, lower in
            StrategyType.allCases.map { type in
                EvaluationRequest(serverKey: server, strategy: type,
                                  upper: client.encryptRadix(upper, blockCount: 16, using: rng),
                                  lower: client.encryptRadix(lower, blockCount: 16, using: rng))
            }
        }
        let memo = EvaluationMemo()
        var price: UInt64 = 389_950
        var firstMisses = 0
        for tick in 0..<12 {
            let before = (memo.hits, memo.misses)
            let results = try ComparisonEngine(memo: memo).evaluate(requests, priceCents: price)
            for (i, r) in requests.enumerated() {
                let (upper, lower) = bounds[i / StrategyType.allCases.count]
                #expect(try client.decrypt(results[i]) == r.strategy.isTriggered(priceCents: price, upper: upper, lower: lower),
                        "tick \(tick) price \(price) \(r.strategy)")
            }
            if tick == 0 { firstMisses = memo.misses - before.1 }
            price = price &+ UInt64(Int64.random(in: -40...40) + 40) &- 40 // a small walk around the bounds
        }
        #expect(memo.hits > 2 * firstMisses, "hits \(memo.hits), first-tick misses \(firstMisses)")
    }

    @Test("A memo bounded by bytes stays within them; a book larger than it keeps a stable part remembered, every decision right")
    func boundedMemo() throws {
        let (client, server) = TestKeyCache.shared.keys(for: TestParameters.insecureSmall)
        let rng = CSPRNG(seed: [UInt8](repeating: 62, count: 32))
        let requests = (0..<6).map { i in
            EvaluationRequest(serverKey: server, strategy: .bracketOrderLong, upper: client.encryptRadix(400_000 + UInt64(i), blockCount: 16, using: rng),
                              lower: client.encryptRadix(380_000 - UInt64(i), blockCount: 16, using: rng))
        }
        // An entry: its output (k·N + 1 words).
        let output = (server.parameters.bigLweDimension.value + 1) * 8
        let memo = EvaluationMemo(retainedRounds: 4, maxBytes: 40 * output) // far fewer entries than one tick makes
        let engine = ComparisonEngine(memo: memo)
        var price: UInt64 = 379_990
        for tick in 0..<6 {
            // A tick evaluated in chunks of two strategies, as the scheduler does: one round.
            memo.beginRound()
            let hitsBefore = memo.hits
            for start in stride(from: 0, to: requests.count, by: 2) {
                let results = try engine.evaluate(Array(requests[start..<start + 2]), priceCents: price, newRound: false)
                for (j, r) in results.enumerated() {
                    let i = start + j
                    #expect(try client.decrypt(r) == (price >= 400_000 + UInt64(i) || price <= 380_000 - UInt64(i)), "tick \(tick)")
                }
            }
            #expect(memo.bytes <= memo.maxBytes && memo.count * output == memo.bytes)
            // Least-recently-used eviction would cycle through the book and never hit; the part
            // kept from the previous tick is hit in every later one.
            if tick > 0 { #expect(memo.hits > hitsBefore, "tick \(tick): no hit") }
            price += 7
        }
        #expect(memo.refused > 0, "refused \(memo.refused)")
    }
}

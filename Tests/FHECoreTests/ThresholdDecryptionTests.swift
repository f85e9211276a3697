@testable import FHECore
import Foundation
import Testing

/// Threshold custody in FHECore: decision keys, replicated sharing, flooded partial decryptions.
@Suite("Threshold decryption", .serialized)
struct ThresholdDecryptionTests {
    /// Client key, evaluation key, decision key, the decision secret (tests only) and 2-of-3 shares.
    struct Custody {
        let client: ClientKey
        let server: ServerKey
        let decision: DecisionKey
        let secret: GlweSecretKey
        let seeded: SeededDecisionKey
        let shares: [DecisionKeyShare]
    }

    static func custody(_ p: ParameterSet, seed: UInt8 = 7) throws -> Custody {
        let (client, server) = TestKeyCache.shared.keys(for: p)
        let randomness = KeyGenerationRandomness(testSeed: seed)
        let (secret, seeded) = SeededDecisionKey.generate(for: client, randomness: randomness)
        let sharing = try ReplicatedSharing(custodians: 3, threshold: 2)
        let shares = DecisionKeyShare.split(secret, custody: seeded.custody, sharing: sharing, using: randomness.secret)
        return Custody(client: client, server: server, decision: try seeded.expand(evaluationKey: server), secret: secret,
                       seeded: seeded, shares: shares)
    }

    static let small: Custody = try! custody(.insecureTfheRs05Small)

    @Test("2-of-3 replicated sharing: any two custodians cover every share exactly once; one never does")
    func sharing() throws {
        let s = try ReplicatedSharing(custodians: 3, threshold: 2)
        #expect(s.shareCount == 3 && s.shares(heldBy: 0) == [1, 2])
        for pair in [[0, 1], [0, 2], [1, 2], [2, 0], [1, 0]] {
            let a = try #require(s.assignment(participants: pair))
            #expect(a.values.flatMap { $0 }.sorted() == [0, 1, 2])
            for (c, ks) in a { #expect(Set(ks).isSubset(of: s.shares(heldBy: c))) }
        }
        #expect(s.assignment(participants: [1]) == nil && s.assignment(participants: [1, 1]) == nil)
        let s35 = try ReplicatedSharing(custodians: 5, threshold: 3)
        #expect(s35.shareCount == 10 && s35.assignment(participants: [4, 0, 2])?.values.flatMap { $0 }.count == 10)
        #expect(throws: FHECoreError.self) { try ReplicatedSharing(custodians: 3, threshold: 4) }
    }

    @Test("Strategies decided through the decision key: every pair of custodians reads the plaintext condition")
    func decisions() throws {
        let c = Self.small
        let rng = CSPRNG(seed: [UInt8](repeating: 3, count: 32))
        let upper: UInt32 = 400_000, lower: UInt32 = 380_000
        let engine = ComparisonEngine(threads: 2)
        var requests: [EvaluationRequest] = [], expected: [Bool] = []
        let prices: [UInt64] = [0, 379_999, 380_000, 390_000, 400_000, 400_001, 5_000_000_000]
        for type in StrategyType.allCases {
            for price in prices {
                requests.append(EvaluationRequest(serverKey: c.server, strategy: type, upper: c.client.encrypt(upper, using: rng),
                                                  lower: c.client.encrypt(lower, using: rng)))
                expected.append(type.isTriggered(priceCents: price, upper: UInt64(upper), lower: UInt64(lower)))
            }
        }
        var decided: [Bool] = []
        for (i, request) in requests.enumerated() {
            let price = prices[i % prices.count]
            let ct = try engine.decide([request], decisionKeys: [c.decision], priceCents: price)[0]
            #expect(ct.dimension == c.decision.custody.decisionDimension)
            let body = ct.words.last!
            var outcomes: Set<Bool> = []
            for pair in [[0, 1], [0, 2], [1, 2], [2, 1]] {
                let assignment = try #require(c.shares[0].sharing.assignment(participants: pair))
                let partials = try pair.map { try c.shares[$0].partialDecryption(of: ct, shares: assignment[$0]!, using: rng) }
                outcomes.insert(ThresholdDecryption.combine(body: body, partials: partials))
            }
            #expect(outcomes.count == 1)
            decided.append(outcomes.first!)
            // Recomputation gives the same words (what lets custodians compare digests).
            #expect(try engine.decide([request], decisionKeys: [c.decision], priceCents: price)[0] == ct)
        }
        #expect(decided == expected)
    }

    @Test("One custodian alone reads nothing: its shares without the missing one decide at chance")
    func oneCustodianAlone() throws {
        let c = Self.small
        let rng = CSPRNG(seed: [UInt8](repeating: 4, count: 32))
        let engine = ComparisonEngine(threads: 2)
        var agree = 0
        let trials = 64
        for i in 0..<trials {
            let bound = c.client.encrypt(UInt32(1000 + i), using: rng)
            let truth = i % 2 == 0
            let request = EvaluationRequest(serverKey: c.server, strategy: .limitSellRally, upper: bound, lower: nil)
            let ct = try engine.decide([request], decisionKeys: [c.decision], priceCents: truth ? 5000 : 10)[0]
            let lone = c.shares[i % 3]
            let partial = try lone.partialDecryption(of: ct, shares: lone.indices, using: rng)
            if ThresholdDecryption.combine(body: ct.words.last!, partials: [partial]) == truth { agree += 1 }
        }
        // Chance is 32 of 64; 12 … 52 is more than 5 standard deviations wide.
        #expect((12...52).contains(agree), "agreement \(agree) of \(trials)")
        #expect(throws: FHECoreError.self) {
            try c.shares[0].partialDecryption(of: LweCiphertext(dimension: c.decision.custody.decisionDimension), shares: [0], using: rng)
        }
    }

    @Test("Flooding noise: standard deviation σ_flood (±5 %), low byte uniform (χ² over 256 cells)")
    func flooding() {
        let rng = CSPRNG(seed: [UInt8](repeating: 5, count: 32))
        let sigma = CustodyParameters.defaultFloodingDeviation
        let n = 65_536
        var sum = 0.0, squares = 0.0, cells = [Int](repeating: 0, count: 256)
        for _ in 0..<n {
            let x = ThresholdDecryption.floodingNoise(deviation: sigma, using: rng)
            let v = Double(Int64(bitPattern: x))
            sum += v
            squares += v * v
            cells[Int(x & 0xFF)] += 1
        }
        let sd = (squares / Double(n) - (sum / Double(n)) * (sum / Double(n))).squareRoot()
        #expect(abs(sd / sigma - 1) < 0.05, "σ ratio \(sd / sigma)")
        let expected = Double(n) / 256
        let chi2 = cells.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        // 255 degrees of freedom: mean 255, sd 22.6; 400 is beyond 6 standard deviations.
        #expect(chi2 < 400, "χ² \(chi2)")
    }

    @Test("Decision output noise of the default set matches the formula (±20 %) and leaves the budget documented")
    func decisionNoise() throws {
        let c = try Self.custody(.default, seed: 9)
        let rng = CSPRNG(seed: [UInt8](repeating: 6, count: 32))
        let custody = c.decision.custody
        let booleans = (0..<256).map { i in EncryptedBoolean(block: BlockCiphertext(ciphertext: c.client.encryptBlock(i % 2, using: rng), degree: 1, noiseLevel: 1)) }
        let outputs = c.decision.decisions(booleans, threads: 2)
        let key = c.secret.asLweSecretKey
        var squares = 0.0
        for (i, ct) in outputs.enumerated() {
            let target = i % 2 == 1 ? CustodyParameters.decisionMagnitude : 0 &- CustodyParameters.decisionMagnitude
            let e = Double(Int64(bitPattern: key.phase(of: ct) &- target))
            squares += e * e
        }
        let ratio = squares / Double(outputs.count) / custody.decisionOutputVariance
        #expect(ratio > 0.8 && ratio < 1.2, "measured/formula variance \(ratio)")
        #expect(custody.decryptionBudget > 1 << 28)
        #expect(custody.log2DecisionFailure(partials: 4) < -128)
        for line in custody.report { print(line) }
        #expect(custody.log2AttackSuccess(after: custody.decryptionBudget)! < -125)
    }

    @Test("Decision keys and shares round-trip through the native format; malformed shares are refused")
    func serialization() throws {
        let c = Self.small
        let keyBytes = NativeFormat.encode(c.seeded)
        let decoded = try keyBytes.withUnsafeBytes { try NativeFormat.decodeDecisionKey($0, allowInsecureTestParameters: true) }
        #expect(decoded.bootstrapBodies == c.seeded.bootstrapBodies && decoded.maskSeed == c.seeded.maskSeed)
        for share in c.shares {
            let bytes = NativeFormat.encode(share)
            let back = try bytes.withUnsafeBytes { try NativeFormat.decodeDecisionKeyShare($0, allowInsecureTestParameters: true) }
            #expect(back.custodian == share.custodian && back.indices == share.indices)
            #expect(Array(back.storage.buffer) == Array(share.storage.buffer))
            // Shorter payload, wrong index: refused with a typed error, before any use.
            var truncated = Array(bytes)
            truncated.removeLast(40)
            #expect(throws: FHECoreError.self) { try truncated.withUnsafeBytes { try NativeFormat.decodeDecisionKeyShare($0, allowInsecureTestParameters: true) } }
        }
        #expect(throws: FHECoreError.self) { try keyBytes.withUnsafeBytes { try NativeFormat.decodeDecisionKeyShare($0, allowInsecureTestParameters: true) } }
    }
}

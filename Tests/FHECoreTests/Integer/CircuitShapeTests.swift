@testable import FHECore
import Foundation
import Testing

/// The comparison compiler for every radix shape it accepts (1 … 32 blocks: every width a u64
/// scalar can be compared against), checked in the clear against the plain comparison. The
/// untrusted-input boundary admits 16 blocks only; this is what makes the compiler safe anyway.
@Suite("Comparison circuits for every accepted shape")
struct CircuitShapeTests {
    static let p = ParameterSet.tfheRs05

    /// Scalars of every bit width 0 … 64 (one random one per width, plus the width's extremes).
    static func scalars(using rng: inout some RandomNumberGenerator) -> [UInt64] {
        var out: [UInt64] = [0]
        for width in 1...64 {
            let top = UInt64(1) << UInt64(width - 1)
            let random = top | (UInt64.random(in: 0...UInt64.max, using: &rng) & (top &- 1))
            out += [top, random, top == 1 << 63 ? UInt64.max : (top << 1) - 1]
        }
        return out
    }

    /// Values a radix of `blocks` blocks can hold that exercise the comparison: the scalar's
    /// neighbours, the extremes, and random ones.
    static func values(blocks: Int, scalar c: UInt64, using rng: inout some RandomNumberGenerator) -> [UInt64] {
        let max = blocks >= 32 ? UInt64.max : (UInt64(1) << UInt64(2 * blocks)) - 1
        var v: [UInt64] = [0, 1, max, max &- 1, UInt64.random(in: 0...max, using: &rng), UInt64.random(in: 0...max, using: &rng) >> 7]
        v += [c &- 1, c, c &+ 1].filter { $0 <= max && !(c == 0 && $0 == UInt64.max) }
        return v
    }

    @Test("Every block count 1 … 32, every scalar width 0 … 64, every operator and strategy: right in the clear")
    func everyShape() {
        var rng = SystemRandomNumberGenerator()
        var wrong: [String] = [], total = 0
        for blocks in ComparisonEngine.supportedBlockCounts {
            let x = RadixCiphertext.trivial(0, blockCount: blocks, parameters: Self.p).withFreshDegrees(Self.p)
            for c in Self.scalars(using: &rng) {
                let values = Self.values(blocks: blocks, scalar: c, using: &rng)
                for op in ComparisonOperator.allCases {
                    let circuit = LookupCircuit.comparison(x, op, c, parameters: Self.p)
                    for v in values {
                        total += 1
                        let expected = op.holds(sign: v < c ? -1 : (v == c ? 0 : 1))
                        if evaluateInTheClear(circuit, operands: [v], blockCount: blocks, parameters: Self.p) != expected {
                            wrong.append("\(blocks) blocks: \(v) \(op.rawValue) \(c)")
                        }
                    }
                }
                for type in StrategyType.allCases {
                    let circuit = LookupCircuit.strategy(type, upper: x, lower: x, priceCents: c, parameters: Self.p)
                    for (upper, lower) in zip(values, values.reversed()) {
                        total += 1
                        let operands = [type.needsUpperBound ? upper : nil, type.needsLowerBound ? lower : nil].compactMap { $0 }
                        if evaluateInTheClear(circuit, operands: operands, blockCount: blocks, parameters: Self.p)
                            != type.isTriggered(priceCents: c, upper: upper, lower: lower) {
                            wrong.append("\(blocks) blocks: \(type.rawValue) u=\(upper) l=\(lower) at \(c)")
                        }
                    }
                }
            }
        }
        print("compiler checked on \(total) (shape, scalar, value) cases: \(wrong.count) wrong")
        #expect(wrong.isEmpty, "\(wrong.prefix(10))")
        #expect(total > 100_000)
    }

    @Test("Shapes outside the accepted range are refused with a typed error, not a trap")
    func refusedShapes() throws {
        let (_, server) = TestKeyCache.shared.keys(for: TestParameters.insecureSmall)
        let engine = ComparisonEngine()
        let tooWide = RadixCiphertext.trivial(0, blockCount: 33, parameters: server.parameters).withFreshDegrees(server.parameters)
        #expect(throws: FHECoreError.self) { _ = try engine.compare(tooWide, .greaterOrEqual, 20_000_000, serverKey: server) }
        #expect(throws: FHECoreError.self) {
            _ = try engine.evaluate(EvaluationRequest(serverKey: server, strategy: .bracketOrderLong, upper: tooWide, lower: tooWide), priceCents: 390_000)
        }
    }
}

/// A decision is a boolean block: only 0 and 1 are answers. Anything else (a wrong key, a corrupted
/// ciphertext, a failed bootstrap) must not count as "true".
@Suite("Decrypting a decision")
struct DecisionDecryptionTests {
    @Test("Only 0 and 1 decode; every other block value is an error, never a trigger")
    func onlyZeroAndOne() throws {
        let (client, _) = TestKeyCache.shared.keys(for: TestParameters.insecureSmall)
        let p = client.parameters
        for value in 0..<(2 * p.blockModulus) {
            let block = EncryptedBoolean(block: BlockCiphertext(ciphertext: .trivial(p.encode(value), dimension: p.bigLweDimension),
                                                                degree: 1, noiseLevel: 1))
            switch value {
            case 0: #expect(try client.decrypt(block) == false)
            case 1: #expect(try client.decrypt(block) == true)
            default: #expect(throws: FHECoreError.self, "block value \(value)") { _ = try client.decrypt(block) }
            }
        }
    }

    @Test("A client key belongs to an evaluation key only if it decrypts its keyswitch rows")
    func keyPairs() {
        let (a, serverA) = TestKeyCache.shared.keys(for: TestParameters.insecureSmall)
        let randomness = KeyGenerationRandomness(testSeed: 99)
        let b = ClientKey.generate(parameters: TestParameters.insecureSmall, using: randomness.secret)
        #expect(a.belongs(to: serverA))
        #expect(!b.belongs(to: serverA))
    }
}

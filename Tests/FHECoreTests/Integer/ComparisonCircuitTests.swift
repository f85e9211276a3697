@testable import FHECore
import Foundation
import Testing

/// Compiler correctness in the clear (exhaustive over many cases), bootstrap counts, and the
/// encrypted runs on both shipped sets.
@Suite("Scalar comparison circuits")
struct ComparisonCircuitTests {
    static let p = ParameterSet.tfheRs05
    static let u32Blocks = 16

    /// Edge values: 0, 1, powers of four and their neighbours, the u32 extremes.
    static let edgeValues: [UInt64] = {
        var v: Set<UInt64> = [0, 1, 2, 3, 379_999, 380_000, 380_001, 399_999, 400_000, 1 << 31, (1 << 32) - 1, (1 << 32) - 2]
        for k in stride(from: 2, through: 32, by: 2) {
            let x = UInt64(1) << UInt64(k)
            v.formUnion([x - 1, x, x + 1])
        }
        return v.filter { $0 < 1 << 32 }.sorted()
    }()
    static let edgeScalars: [UInt64] = edgeValues + [1 << 32, (1 << 32) + 1, 1 << 40, .max]

    func fakeRadix(_ blocks: Int) -> RadixCiphertext {
        RadixCiphertext.trivial(0, blockCount: blocks, parameters: Self.p) // shape and degrees only
    }

    /// Edge scalars against edge values, then 2 000 random scalars each against 24 values (random,
    /// and c − 1, c, c + 1): 5 operators each, about 300 000 answers.
    @Test("Every operator is right in the clear on edge values and random scalars")
    func clearCorrectness() {
        let x = fakeRadix(Self.u32Blocks).withFreshDegrees(Self.p)
        var rng = SystemRandomNumberGenerator()
        var scalars: [(UInt64, [UInt64])] = Self.edgeScalars.map { ($0, Self.edgeValues) }
        for _ in 0..<2_000 {
            let c = UInt64.random(in: 0..<(1 << 32), using: &rng) >> UInt64.random(in: 0...31, using: &rng)
            var values = (0..<21).map { _ in UInt64.random(in: 0..<(1 << 32), using: &rng) >> UInt64.random(in: 0...31, using: &rng) }
            values += [c &- 1, c, c + 1].filter { $0 < 1 << 32 }
            scalars.append((c, values))
        }
        var failures = 0, total = 0
        for (c, values) in scalars {
            for op in ComparisonOperator.allCases {
                let circuit = LookupCircuit.comparison(x, op, c, parameters: Self.p)
                for v in values {
                    total += 1
                    let expected = op.holds(sign: v < c ? -1 : (v == c ? 0 : 1))
                    if evaluateInTheClear(circuit, operands: [v], blockCount: Self.u32Blocks, parameters: Self.p) != expected {
                        failures += 1
                    }
                }
            }
        }
        #expect(failures == 0, "\(failures) wrong answers in \(total)")
        #expect(total > 250_000)
    }

    @Test("Strategies (OR folded into the last bootstrap) are right in the clear")
    func clearStrategies() {
        let x = fakeRadix(Self.u32Blocks).withFreshDegrees(Self.p)
        let bounds: [UInt64] = [0, 1, 379_999, 380_000, 399_999, 400_000, 1 << 31, (1 << 32) - 1]
        let prices = Self.edgeValues
        var failures = 0, total = 0
        for type in StrategyType.allCases {
            for upper in bounds {
                for lower in bounds {
                    for price in prices {
                        let circuit = LookupCircuit.strategy(type, upper: x, lower: x, priceCents: price, parameters: Self.p)
                        let operands = [type.needsUpperBound ? upper : nil, type.needsLowerBound ? lower : nil].compactMap { $0 }
                        let got = evaluateInTheClear(circuit, operands: operands, blockCount: Self.u32Blocks, parameters: Self.p)
                        total += 1
                        if got != type.isTriggered(priceCents: price, upper: upper, lower: lower) { failures += 1 }
                    }
                }
            }
        }
        #expect(failures == 0, "\(failures) wrong answers in \(total)")
    }

    /// tfhe-rs 0.5.1–0.5.4 bootstraps for scalar_ge/scalar_le on 16 blocks, by scalar digit count K
    /// (spec §7.9.5); index K, K = 0 … 16.
    static let tfheRsCounts = [6, 7, 7, 8, 8, 10, 9, 11, 11, 13, 13, 13, 13, 15, 15, 17, 15]

    @Test("Fewer bootstraps than tfhe-rs 0.5 for every scalar width; counts reported")
    func bootstrapCounts() {
        let x = fakeRadix(Self.u32Blocks).withFreshDegrees(Self.p)
        var lines = ["K  scalar        ge  le  gt  lt  eq  depth  tfhe-rs"]
        for k in 0...16 {
            let c: UInt64 = k == 0 ? 0 : (UInt64(1) << UInt64(2 * k - 1)) + 1 // K digits, not all extreme
            let counts = ComparisonOperator.allCases.map { LookupCircuit.comparison(x, $0, c, parameters: Self.p) }
            let ge = counts[0].bootstrapCount, le = counts[1].bootstrapCount
            #expect(ge < Self.tfheRsCounts[k] || (k == 0 && ge == 0), "K=\(k): ge \(ge) vs tfhe-rs \(Self.tfheRsCounts[k])")
            #expect(le < Self.tfheRsCounts[k], "K=\(k): le \(le) vs tfhe-rs \(Self.tfheRsCounts[k])")
            lines.append(String(format: "%-2d %-12llu ", k, c) + counts.map { String(format: "%3d ", $0.bootstrapCount) }.joined()
                         + String(format: "%5d  %7d", counts.map(\.depth).max()!, Self.tfheRsCounts[k]))
        }
        let c = LookupCircuit.comparison(x, .greaterOrEqual, 1 << 32, parameters: Self.p)
        #expect(c.bootstrapCount == 0)
        print(lines.joined(separator: "\n"))
    }
}

extension RadixCiphertext {
    /// The shape of a fresh client encryption (degree p − 1), for compiling circuits in tests.
    func withFreshDegrees(_ p: ParameterSet) -> RadixCiphertext {
        var copy = self
        for i in copy.blocks.indices { copy.blocks[i].degree = p.messageModulus.value - 1; copy.blocks[i].noiseLevel = 1 }
        return copy
    }
}

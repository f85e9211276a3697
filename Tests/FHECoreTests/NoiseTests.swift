@testable import FHECore
import Foundation
import Testing

/// Measured noise against the formulas of NoiseFormulas and against the genuine tfhe-rs 0.5.3
/// figures of parameters.md, on the legacy set. Sample sizes: 16 384 fresh encryptions, 4 096
/// keyswitches, 4 096 bootstraps; the standard error of a variance estimate is sqrt(2/N), i.e.
/// 1.1 % / 2.2 % / 2.2 %, so a ±10 % band is more than 4 standard errors wide.
@Suite("Noise of encryption, keyswitch and bootstrap (tfhe-rs 0.5 set)", .serialized)
struct NoiseTests {
    static let parameters = ParameterSet.tfheRs05

    func ratio(_ measured: Double, _ expected: Double) -> Double { measured / expected }

    @Test("Fresh encryption variance = σ_glwe² (±10 %), tfhe-rs measured std 2^12.5")
    func fresh() {
        let p = Self.parameters
        let (client, _) = TestKeyCache.shared.keys(for: p)
        let rng = CSPRNG(seed: [UInt8](repeating: 31, count: 32))
        let errors = (0..<16384).map { i in p.decodingError(client.phase(of: client.encryptBlock(i % 16, using: rng))) }
        expectNoise("fresh", errors, over: "encryptions", formula: NoiseFormulas.freshVariance(p), tfheRs: 12.4...12.6)
    }

    @Test("Keyswitch output variance = formula (±10 %), tfhe-rs measured std 2^54.7")
    func keyswitch() {
        let p = Self.parameters
        let (client, server) = TestKeyCache.shared.keys(for: p)
        let rng = CSPRNG(seed: [UInt8](repeating: 32, count: 32))
        let errors = (0..<4096).map { i in
            p.decodingError(client.phase(of: server.keyswitch(client.encryptBlock(i % 16, using: rng))))
        }
        // parameters.md: tfhe-rs std 2^54.74 over 112 genuine blocks (that figure's own uncertainty is ±7 %).
        expectNoise("keyswitch", errors, over: "keyswitches", formula: NoiseFormulas.keyswitchVariance(p, inputVariance: NoiseFormulas.freshVariance(p)),
                    tfheRs: 54.64...54.84)
    }

    @Test("Bootstrap output variance = formula (±10 %), tfhe-rs measured std 2^48.6–2^48.9")
    func bootstrap() {
        let p = Self.parameters
        let (client, server) = TestKeyCache.shared.keys(for: p)
        let rng = CSPRNG(seed: [UInt8](repeating: 33, count: 32))
        let identity = LookupTable(parameters: p) { $0 }
        let inputs = (0..<4096).map { i in client.encryptBlock(i % 16, using: rng) }
        let outputs = server.applyLookupTables(inputs, [LookupTable](repeating: identity, count: inputs.count))
        let errors = outputs.enumerated().map { i, ct -> Int64 in
            #expect(client.decryptBlock(ct) == i % 16)
            return p.decodingError(client.phase(of: ct))
        }
        let step = Self.externalProductNoise(client: client, server: server)
        let lweOnes = client.lweSecretKey.withCoefficients { Int($0.reduce(0, +)) }
        let glweOnes = client.bigLweSecretKey.withCoefficients { Int($0.reduce(0, +)) }
        let formula = NoiseFormulas.bootstrapVariance(p, stepVariance: step, lweKeyWeight: lweOnes, glweKeyWeight: glweOnes)
        // tfhe-rs measured 2^48.6–2^48.9.
        expectNoise("PBS", errors, over: "bootstraps", formula: formula, tfheRs: 48.5...49.0,
                    detail: " (step 2^\(log2(step) / 2), of which key noise 2^\(log2(NoiseFormulas.externalProductKeyVariance(p)) / 2))")
    }

    /// Reports the measured noise and expects its variance within ±10 % of the formula and its log2
    /// std strictly inside the range around tfhe-rs's published measurement.
    func expectNoise(_ name: String, _ errors: [Int64], over what: String, formula: Double, tfheRs: ClosedRange<Double>,
                     detail: String = "") {
        let stats = ErrorStatistics(errors)
        print("\(name) noise over \(errors.count) \(what): measured std 2^\(stats.log2Std), formula 2^\(log2(formula) / 2)" + detail)
        #expect(abs(ratio(stats.variance, formula) - 1) < 0.10, "\(name): std 2^\(stats.log2Std) vs formula 2^\(log2(formula) / 2)")
        #expect(stats.log2Std > tfheRs.lowerBound && stats.log2Std < tfheRs.upperBound,
                "tfhe-rs measured about 2^\((tfheRs.lowerBound + tfheRs.upperBound) / 2), we measure 2^\(stats.log2Std)")
    }

    /// Per-step noise of an external product with a GGSW of 0, measured with the real keys: a fresh
    /// GLWE accumulator goes through one CMux step for 48 key bits that are zero; the phase must not
    /// change, and what it gains is that step's noise (key noise plus f64 rounding).
    static func externalProductNoise(client: ClientKey, server: ServerKey) -> Double {
        let p = client.parameters, n = p.polynomialSize.value
        let rng = CSPRNG(seed: [UInt8](repeating: 34, count: 32))
        let scratch = BlindRotationScratch(bootstrapKey: server.bootstrapKey)
        let zeroBits = client.lweSecretKey.withCoefficients { bits in bits.indices.filter { bits[$0] == 0 } }.prefix(48)
        var sum = 0.0
        for (step, i) in zeroBits.enumerated() {
            let message = Polynomial((0..<n).map { _ in rng.nextUInt64() })
            var acc = client.glweSecretKey.encrypt(message, noise: p.glweNoise, using: rng)
            let before = client.glweSecretKey.phase(of: acc)
            acc.words.withUnsafeMutableBufferPointer { w in
                server.bootstrapKey.cmux(accumulator: w.baseAddress!, ggsw: i, rotation: 1 + step * 83, fft: server.fft,
                                         scratch: scratch, prefetch: nil)
            }
            for e in (client.glweSecretKey.phase(of: acc) - before).coefficients {
                let x = Double(Int64(bitPattern: e))
                sum += x * x
            }
        }
        return sum / Double(zeroBits.count * n)
    }
}

@testable import FHECore
import Foundation
import Testing

/// Measured noise against the formulas of NoiseFormulas and against the genuine tfhe-rs 0.5.3
/// figures of parameters.md, on the legacy set. Sample sizes: 16 384 fresh encryptions, 4 096
/// keyswitches, 4 096 bootstraps; the standard error of a variance estimate is sqrt(2/N), i.e.
/// 1.1 % / 2.2 % / 2.2 %, so a ±10 % band is more than 4 standard errors wide.
@Suite("Noise of encryption, keyswitch and bootstrap (legacy set)", .serialized)
struct NoiseTests {
    static let parameters = ParameterSet.tfheRs05

    func ratio(_ measured: Double, _ expected: Double) -> Double { measured / expected }

    @Test("Fresh encryption variance = σ_glwe² (±10 %), tfhe-rs measured std 2^12.5")
    func fresh() {
        let p = Self.parameters
        let (client, _) = TestKeyCache.shared.keys(for: p)
        let rng = CSPRNG(seed: [UInt8](repeating: 31, count: 32))
        let errors = (0..<16384).map { i in p.decodingError(client.phase(of: client.encryptBlock(i % 16, using: rng))) }
        let stats = ErrorStatistics(errors)
        let formula = NoiseFormulas.freshVariance(p)
        print("fresh noise over \(errors.count) encryptions: measured std 2^\(stats.log2Std), formula 2^\(log2(formula) / 2)")
        #expect(abs(ratio(stats.variance, formula) - 1) < 0.10, "fresh: std 2^\(stats.log2Std) vs formula 2^\(log2(formula) / 2)")
        #expect(abs(stats.log2Std - 12.5) < 0.1, "tfhe-rs measured 2^12.5, we measure 2^\(stats.log2Std)")
    }

    @Test("Keyswitch output variance = formula (±10 %), tfhe-rs measured std 2^54.7")
    func keyswitch() {
        let p = Self.parameters
        let (client, server) = TestKeyCache.shared.keys(for: p)
        let rng = CSPRNG(seed: [UInt8](repeating: 32, count: 32))
        let errors = (0..<4096).map { i in
            p.decodingError(client.phase(of: server.keyswitch(client.encryptBlock(i % 16, using: rng))))
        }
        let stats = ErrorStatistics(errors)
        let formula = NoiseFormulas.keyswitchVariance(p, inputVariance: NoiseFormulas.freshVariance(p))
        print("keyswitch noise over \(errors.count) keyswitches: measured std 2^\(stats.log2Std), formula 2^\(log2(formula) / 2)")
        #expect(abs(ratio(stats.variance, formula) - 1) < 0.10, "keyswitch: std 2^\(stats.log2Std) vs formula 2^\(log2(formula) / 2)")
        // parameters.md: std 2^54.7 over 112 genuine blocks (that figure's own uncertainty is ±7 %).
        #expect(abs(stats.log2Std - 54.74) < 0.1, "tfhe-rs measured 2^54.74, we measure 2^\(stats.log2Std)")
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
        let stats = ErrorStatistics(errors)
        let step = Self.externalProductNoise(client: client, server: server)
        let lweOnes = client.lweSecretKey.withCoefficients { Int($0.reduce(0, +)) }
        let glweOnes = client.bigLweSecretKey.withCoefficients { Int($0.reduce(0, +)) }
        let formula = NoiseFormulas.bootstrapVariance(p, stepVariance: step, lweKeyWeight: lweOnes, glweKeyWeight: glweOnes)
        print("PBS noise over \(errors.count) bootstraps: measured std 2^\(stats.log2Std), formula 2^\(log2(formula) / 2) "
              + "(step 2^\(log2(step) / 2), of which key noise 2^\(log2(NoiseFormulas.externalProductKeyVariance(p)) / 2))")
        #expect(abs(ratio(stats.variance, formula) - 1) < 0.10, "PBS: std 2^\(stats.log2Std) vs formula 2^\(log2(formula) / 2)")
        #expect(stats.log2Std > 48.5 && stats.log2Std < 49.0, "tfhe-rs measured 2^48.6–2^48.9, we measure 2^\(stats.log2Std)")
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

import CFHEShim
@testable import FHECore
import Foundation
import Testing

/// The modulus switch to 2N, plain and centred, measured against ``NoiseFormulas``: the failure
/// probability `syphon-executor params` prints rests on these variances, so each is a measurement.
/// 10^5 ciphertexts per switch: the standard error of a variance estimate is sqrt(2/10^5) = 0.45 %,
/// so a ±10 % band is more than 20 standard errors wide and a wrong formula (the plain switch's
/// variance is about twice the centred one's) cannot pass.
@Suite("Modulus-switch noise, plain and centred (default set)", .serialized)
struct ModulusSwitchNoiseTests {
    static let parameters = ParameterSet.default
    static let samples = 100_000

    /// Signed distance on the 2N circle.
    static func centred(_ x: Int, modulo twoN: Int) -> Int {
        let r = ((x % twoN) + twoN) % twoN
        return r >= twoN / 2 ? r - twoN : r
    }

    /// Switches `count` 32-bit small-key ciphertexts (mask then body, `size` words each) with `kind`
    /// and returns each one's phase in 2N units.
    static func switchedPhases(_ ciphertexts: UnsafeMutableBufferPointer<UInt32>, size: Int, count: Int, kind: ModulusSwitch,
                               key: [UInt32], log2TwoN: Int) -> [Int] {
        var switched = [UInt32](repeating: 0, count: size * count)
        switched.withUnsafeMutableBufferPointer { out in
            kind.apply(UnsafePointer(ciphertexts.baseAddress!), size: size, count: count, log2TwoN: log2TwoN, into: out.baseAddress!)
        }
        let twoN = 1 << log2TwoN
        return (0..<count).map { c in
            var phase = Int(switched[c * size + size - 1])
            for i in 0..<(size - 1) where key[i] != 0 { phase -= Int(switched[c * size + i]) }
            return ((phase % twoN) + twoN) % twoN
        }
    }

    /// The switch alone: ciphertexts with an exact phase (no noise, a multiple of the 2N step), so
    /// everything measured after the switch is the switch's own rounding error.
    @Test("Switch alone: variance = formula (±10 %) over 10^5 ciphertexts", arguments: ModulusSwitch.allCases)
    func switchAlone(kind: ModulusSwitch) throws {
        let p = Self.parameters, n = p.lweDimension.value, size = n + 1
        let log2TwoN = p.polynomialSize.log2 + 1, twoN = 1 << log2TwoN, step = 32 - log2TwoN
        let rng = CSPRNG(seed: [UInt8](repeating: 41, count: 32))
        let key = LweSecretKey.generate(dimension: p.lweDimension, using: rng).withCoefficients { $0.map { UInt32($0) } }
        let weight = key.reduce(0) { $0 + Int($1) }
        var errors: [Double] = []
        errors.reserveCapacity(Self.samples)
        let chunk = 1000
        var words = [UInt32](repeating: 0, count: size * chunk)
        for start in stride(from: 0, to: Self.samples, by: chunk) {
            var expected = [Int](repeating: 0, count: chunk)
            words.withUnsafeMutableBufferPointer { w in
                for c in 0..<chunk {
                    let ct = UnsafeMutableBufferPointer(rebasing: w[(c * size)..<((c + 1) * size)])
                    var dot: UInt32 = 0
                    for i in 0..<n {
                        ct[i] = UInt32(truncatingIfNeeded: rng.nextUInt64())
                        dot &+= ct[i] &* key[i]
                    }
                    // Phase: a block value times Δ (2^27 at the 32-bit scale), exactly representable at 2N.
                    let phase = UInt32((start + c) % 32) << 27
                    ct[n] = dot &+ phase
                    expected[c] = Int(phase >> step)
                }
                let phases = Self.switchedPhases(w, size: size, count: chunk, kind: kind, key: key, log2TwoN: log2TwoN)
                for c in 0..<chunk { errors.append(Double(Self.centred(phases[c] - expected[c], modulo: twoN))) }
            }
        }
        let mean = errors.reduce(0, +) / Double(errors.count)
        let variance = errors.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(errors.count - 1)
        let formula = NoiseFormulas.modulusSwitchVariance(p, kind, keyWeight: weight)
        print("modulus switch \(kind) alone over \(errors.count) ciphertexts (n = \(n), key weight \(weight)): "
              + "variance \(String(format: "%.3f", variance)) units² (2N = \(twoN)), formula \(String(format: "%.3f", formula)), "
              + "ratio \(String(format: "%.4f", variance / formula)), mean \(String(format: "%+.4f", mean))")
        #expect(abs(variance / formula - 1) < 0.10)
        // Centred on the box: the mean error is far below one unit (std error of the mean ≈ 0.02).
        #expect(abs(mean) < 0.1)
    }

    /// The constant shift one keyswitching key gives every output, in 2N units. The most significant
    /// digit of a balanced decomposition averages about +0.45 (its carry leaves the torus), so the
    /// key's level-l row errors e_{j,l} move every output by −Σ_j E[d_l]·e_{j,l}: across keys that is
    /// part of the variance the formula counts (E[d²] includes E[d]²); for one key it is a fixed
    /// offset of ~0.2 units, which the measured mean must equal.
    static func keyswitchOffset(client: ClientKey, server: ServerKey, log2TwoN: Int) -> Double {
        let p = client.parameters, n = p.lweDimension.value, levels = p.ksLevels.value, baseLog = p.ksBaseLog.value
        let rng = CSPRNG(seed: [UInt8](repeating: 43, count: 32))
        let draws = 100_000
        var digitMeans = [Double](repeating: 0, count: levels), digits = [Int64](repeating: 0, count: levels)
        for _ in 0..<draws {
            cfhe_decompose([rng.nextUInt64()], 1, UInt32(baseLog), UInt32(levels), &digits)
            for l in 0..<levels { digitMeans[l] += Double(digits[l]) / Double(draws) }
        }
        let small = client.lweSecretKey.withCoefficients { Array($0) }, big = client.bigLweSecretKey.withCoefficients { Array($0) }
        var offset = 0.0
        for j in 0..<p.bigLweDimension.value {
            for level in 1...levels {
                let row = server.keyswitchKey.row(input: j, level: level)
                var phase = row[n]
                for t in 0..<n where small[t] != 0 { phase &-= row[t] }
                let message = UInt32(truncatingIfNeeded: (big[j] &* (UInt64(1) << UInt64(64 - baseLog * level))) >> 32)
                offset -= digitMeans[level - 1] * Double(Int32(bitPattern: phase &- message))
            }
        }
        return offset / Double(1 << (32 - log2TwoN))
    }

    /// What the blind rotation reads: fresh encryptions under the big key, keyswitched with the real
    /// key (32-bit output), then switched — keyswitch noise plus the switch, against the formula of
    /// both, for the plain and the centred switch on the same keyswitched ciphertexts.
    @Test("Keyswitch + switch: variance = formula (±10 %) over 10^5 ciphertexts, plain and centred")
    func keyswitchThenSwitch() throws {
        let p = Self.parameters, n = p.lweDimension.value, size = n + 1, bigSize = p.bigLweDimension.size.value
        let log2TwoN = p.polynomialSize.log2 + 1, twoN = 1 << log2TwoN
        let (client, server) = TestKeyCache.shared.keys(for: p)
        let key = client.lweSecretKey.withCoefficients { $0.map { UInt32($0) } }
        let weight = key.reduce(0) { $0 + Int($1) }
        // Two workers, each with its own generator and half the samples (the keyswitches dominate).
        let chunk = 512, workers = 2
        let perWorker = LockedBox<[Int: [ModulusSwitch: [Double]]]>([:])
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let rng = CSPRNG(seed: [UInt8](repeating: 42 + UInt8(worker), count: 32))
            var errors: [ModulusSwitch: [Double]] = [.plain: [], .centered: []]
            let input = AlignedBuffer<UInt64>(count: chunk * bigSize)
            var small = [UInt32](repeating: 0, count: chunk * size)
            let share = Self.samples / workers
            for start in stride(from: 0, to: share, by: chunk) {
                let count = min(chunk, share - start)
                for c in 0..<count {
                    let ct = client.encryptBlock((start + c) % 16, using: rng)
                    ct.words.withUnsafeBufferPointer { input.pointer.advanced(by: c * bigSize).update(from: $0.baseAddress!, count: bigSize) }
                }
                small.withUnsafeMutableBufferPointer { out in
                    server.keyswitchKey.keyswitchBatch(input.pointer, count: count, into: out.baseAddress!)
                    for kind in ModulusSwitch.allCases {
                        let phases = Self.switchedPhases(out, size: size, count: count, kind: kind, key: key, log2TwoN: log2TwoN)
                        for c in 0..<count {
                            let expected = ((start + c) % 16) * (twoN / 32)
                            errors[kind]!.append(Double(Self.centred(phases[c] - expected, modulo: twoN)))
                        }
                    }
                }
            }
            perWorker.update { $0[worker] = errors }
        }
        let errors = perWorker.value.values.reduce(into: [ModulusSwitch: [Double]]()) { all, part in
            for (kind, e) in part { all[kind, default: []] += e }
        }
        let unit = Double(sign: .plus, exponent: 64 - log2TwoN, significand: 1)
        let keyswitched = NoiseFormulas.keyswitchVariance(p, inputVariance: NoiseFormulas.freshVariance(p)) / (unit * unit)
        let offset = Self.keyswitchOffset(client: client, server: server, log2TwoN: log2TwoN)
        for kind in ModulusSwitch.allCases {
            let e = errors[kind]!
            let mean = e.reduce(0, +) / Double(e.count)
            // Around the key's own offset: what varies from ciphertext to ciphertext.
            let variance = e.reduce(0) { $0 + ($1 - offset) * ($1 - offset) } / Double(e.count)
            let formula = keyswitched + NoiseFormulas.modulusSwitchVariance(p, kind, keyWeight: weight) - offset * offset
            print("keyswitch + \(kind) switch over \(e.count) ciphertexts: variance \(String(format: "%.3f", variance)) units², "
                  + "formula \(String(format: "%.3f", formula)) (keyswitch \(String(format: "%.3f", keyswitched))), "
                  + "ratio \(String(format: "%.4f", variance / formula)), mean \(String(format: "%+.4f", mean)) "
                  + "(the key's keyswitch offset \(String(format: "%+.4f", offset))), max |e| \(Int(e.map(abs).max()!))")
            #expect(abs(variance / formula - 1) < 0.10, "\(kind)")
            // The standard error of the mean is about 0.015 units.
            #expect(abs(mean - offset) < 0.08, "\(kind): mean \(mean), key offset \(offset)")
        }
    }
}

/// A value several threads update under a lock.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.lock(); defer { lock.unlock() }; return stored }
    func update(_ body: (inout Value) -> Void) { lock.lock(); defer { lock.unlock() }; body(&stored) }
}

import CFHEShim
@testable import FHECore
import Foundation
import Testing

/// Every kernel level this CPU has (scalar, AVX2+FMA, AVX-512) must compute the same bytes: honest
/// machines of different CPUs agree on every evaluation (threshold custody combines their partial
/// decryptions of one ciphertext). Each test runs its operation once per level — process-wide,
/// because batches run on worker threads — and compares the bytes; on a CPU without AVX-512 the
/// comparison covers scalar and AVX2.
@Suite("Kernels: the same bytes on every instruction set", .serialized)
struct KernelEquivalenceTests {
    /// `body` once per available level, the level in force restored afterwards.
    static func onEveryKernel<T>(_ body: () throws -> T) rethrows -> [(kernel: Kernel, value: T)] {
        let previous = Kernel.active
        defer { Kernel.limitProcess(to: previous) }
        return try Kernel.available.map { kernel in
            #expect(Kernel.limitProcess(to: kernel) == kernel)
            return (kernel, try body())
        }
    }

    /// Expects every level's bytes to equal the scalar reference's; returns the reference.
    @discardableResult
    static func expectIdentical(_ what: String, _ runs: [(kernel: Kernel, value: [UInt64])]) -> [UInt64] {
        let reference = runs[0].value
        for run in runs.dropFirst() {
            let differing = zip(run.value, reference).filter { $0 != $1 }.count
            #expect(run.value == reference, "\(what): \(run.kernel) differs from scalar in \(differing) of \(reference.count) words")
        }
        print("\(what): \(runs.map(\.kernel.description).joined(separator: ", ")) — \(reference.count) words identical")
        return reference
    }

    static let sets: [ParameterSet] = [.default, TestParameters.insecureSmall]

    /// round(y * 2^64) mod 2^64, ties to even, from Swift's own rounding: the fraction y - round(y) is
    /// exact, and its scaled value lies in [-2^63, 2^63], where only +2^63 leaves Int64 (same residue).
    static func torusReference(_ y: Double) -> UInt64 {
        let scaled = (y - y.rounded(.toNearestOrEven)) * 0x1p64
        return scaled == 0x1p63 ? 1 << 63 : UInt64(bitPattern: Int64(scaled.rounded(.toNearestOrEven)))
    }

    @Test("The backward transform's torus conversion: halves, ties and huge values")
    func torusConversion() {
        // Ties at every scale (odd multiples of 2^-65 are x.5 after scaling), the half-torus, values
        // past 2^52 and 2^64 torus units, zeros and subnormals, then random values of every magnitude.
        var values: [Double] = [0, -0.0, 0.5, -0.5, 0.25, -0.25, 1e30, -1e30, 0x1p52, 0x1p52 + 1, 12345.5,
                                -98765.25, .leastNonzeroMagnitude, -.leastNormalMagnitude, 0x1p-66, 3 * 0x1p-66]
        for odd in [1.0, 3, 5, 7, 0x1p20 + 1, 0x1p40 + 3, 0x1p52 - 1, 0x1p53 - 1] {
            values += [odd * 0x1p-65, -odd * 0x1p-65, 0.5 + odd * 0x1p-65 - 0x1p-65, 7 + odd * 0x1p-65]
        }
        let rng = CSPRNG(seed: [UInt8](repeating: 50, count: 32))
        for exponent in -80...60 {
            for _ in 0..<8 {
                let unit = Double(Int64(bitPattern: rng.nextUInt64()) >> 11) * 0x1p-52 // [-1, 1)
                values.append(unit * Double(sign: .plus, exponent: exponent, significand: 1))
            }
        }
        let base = (0..<values.count).map { UInt64($0) &* 0x9E37_79B9_7F4A_7C15 }
        let runs = Self.onEveryKernel {
            var out = base
            cfhe_f64_to_torus_add(values, values.count, &out)
            return out
        }
        let words = Self.expectIdentical("torus conversion", runs)
        for (index, y) in values.enumerated() {
            #expect(words[index] &- base[index] == Self.torusReference(y), "y = \(y)")
        }
    }

    @Test("Forward and backward transforms of every size from 8 to 4096")
    func transformsOfEverySize() {
        // Sizes with an even and an odd number of radix-2 stages, and the smallest ones, which
        // have no radix-4 pass to carry the twist or the torus conversion.
        let rng = CSPRNG(seed: [UInt8](repeating: 53, count: 32))
        for log in 3...12 {
            let n = 1 << log
            var table = [Double](repeating: 0, count: cfhe_fft_table_len(n))
            cfhe_fft_table_init(&table, n)
            let digits = (0..<n).map { _ in Int64(bitPattern: rng.nextUInt64()) >> 42 } // |c| < 2^21
            let torus = (0..<n).map { _ in rng.nextUInt64() }
            let runs = Self.onEveryKernel {
                var spectrum = [Double](repeating: 0, count: n)
                spectrum.withUnsafeMutableBufferPointer { s in
                    cfhe_fft_forward_int(table, n, digits, s.baseAddress!, s.baseAddress! + n / 2, nil)
                }
                var product = spectrum.map { $0 * 0x1p-30 } // an integer × torus spectrum's size
                var out = torus
                product.withUnsafeMutableBufferPointer { s in
                    cfhe_fft_backward_torus_add(table, n, s.baseAddress!, s.baseAddress! + n / 2, &out, nil)
                }
                return spectrum.map(\.bitPattern) + out
            }
            Self.expectIdentical("FFT n=\(n)", runs)
        }
    }

    @Test("One keyswitch + bootstrap", arguments: sets)
    func oneBootstrap(parameters: ParameterSet) {
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let input = client.encryptBlock(6, using: CSPRNG(seed: [UInt8](repeating: 51, count: 32)))
        let lut = LookupTable(parameters: parameters) { ($0 * 3 + 1) % 16 }
        let runs = Self.onEveryKernel { server.applyLookupTable(input, lut).words }
        let words = Self.expectIdentical("KS+PBS \(parameters.name)", runs)
        #expect(client.decryptBlock(LweCiphertext(words: words)) == 3)
    }

    @Test("A batch of 64 bootstraps on two threads", arguments: sets)
    func batch(parameters: ParameterSet) {
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let rng = CSPRNG(seed: [UInt8](repeating: 52, count: 32))
        let inputs = (0..<64).map { client.encryptBlock($0 % 16, using: rng) }
        let luts = (0..<64).map { i in LookupTable(parameters: parameters) { ($0 + i) % 16 } }
        let runs = Self.onEveryKernel { server.applyLookupTables(inputs, luts, threads: 2).flatMap(\.words) }
        let words = Self.expectIdentical("64 KS+PBS \(parameters.name)", runs)
        let size = parameters.bigLweDimension.size.value
        for i in 0..<64 {
            #expect(client.decryptBlock(LweCiphertext(words: Array(words[(i * size)..<((i + 1) * size)]))) == (i % 16 + i) % 16)
        }
    }

    @Test("A bracket strategy, end to end", arguments: sets)
    func bracket(parameters: ParameterSet) throws {
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let rng = CSPRNG(seed: [UInt8](repeating: 53, count: 32))
        let upper = client.encryptRadix(400_000, blockCount: 16, using: rng), lower = client.encryptRadix(380_000, blockCount: 16, using: rng)
        let engine = ComparisonEngine()
        for (price, expected) in [(390_000 as UInt64, false), (400_001, true)] {
            let runs = try Self.onEveryKernel {
                try engine.evaluate(EvaluationRequest(serverKey: server, strategy: .bracketOrderLong, upper: upper, lower: lower), priceCents: price).block.ciphertext.words
            }
            let words = Self.expectIdentical("BRACKET_ORDER_LONG at \(price) \(parameters.name)", runs)
            let decision = EncryptedBoolean(block: BlockCiphertext(ciphertext: LweCiphertext(words: words), degree: 1, noiseLevel: 1))
            #expect(try client.decrypt(decision) == expected)
        }
    }

    @Test("Native evaluation-key expansion (the Fourier bootstrap key)")
    func keyExpansion() throws {
        let data = try Data(contentsOf: VectorFiles.repositoryRoot.appendingPathComponent("vectors/native/evaluation.key"))
        let seeded = try data.withUnsafeBytes { try NativeFormat.decodeEvaluationKey($0, allowInsecureTestParameters: true) }
        let runs = Self.onEveryKernel { () -> [UInt64] in
            let key = seeded.expand()
            let fourier = UnsafeBufferPointer(key.bootstrapKey.storage.buffer).map(\.bitPattern)
            let keyswitch = UnsafeBufferPointer(key.keyswitchKey.storage.buffer).map(UInt64.init)
            return fourier + keyswitch
        }
        Self.expectIdentical("native key expansion (\(seeded.parameters.name))", runs)
    }
}

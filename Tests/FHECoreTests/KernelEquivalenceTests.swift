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

@testable import FHECore
import Foundation
import Testing

/// The genuine tfhe-rs 0.5.3 vectors through our decoders, evaluator and encoders.
@Suite("tfhe-rs 0.5 wire format (genuine vectors)", .serialized)
struct TfheRs05FormatTests {
    static func read(_ folder: URL, _ name: String) throws -> Data { try Data(contentsOf: folder.appendingPathComponent(name)) }

    struct GenuineSet {
        let parameters: ParameterSet
        let server: ServerKey
        let client: ClientKey
        let ciphertexts: [UInt64: RadixCiphertext]
        let manifest: VectorFiles.Manifest
    }

    static func load(_ folder: URL, insecure: Bool) throws -> GenuineSet {
        let serverBytes = try read(folder, "server_key.bin")
        let parameters = try serverBytes.withUnsafeBytes {
            try TfheRs05.detectServerKeyParameters($0, allowInsecureTestParameters: insecure)
        }
        let server = try serverBytes.withUnsafeBytes { try TfheRs05.decodeServerKey($0, parameters: parameters) }
        let (client, blocks) = try read(folder, "client_key.bin").withUnsafeBytes {
            try TfheRs05.decodeRadixClientKey($0, parameters: parameters)
        }
        #expect(blocks == 16)
        let manifest = try VectorFiles.manifest(folder)
        var cts: [UInt64: RadixCiphertext] = [:]
        for c in manifest.comparisons where cts[c.plaintext] == nil {
            cts[c.plaintext] = try read(folder, c.ciphertext_file).withUnsafeBytes {
                try TfheRs05.decodeRadixCiphertext($0, parameters: parameters)
            }
        }
        return GenuineSet(parameters: parameters, server: server, client: client, ciphertexts: cts, manifest: manifest)
    }

    static let small = Result { try load(VectorFiles.smallSet, insecure: true) }

    /// scalar_le and scalar_ge for every manifest pair, with the manifest's answers.
    static func manifestComparisons(_ set: GenuineSet) -> (jobs: [CircuitJob], expected: [Bool]) {
        var jobs: [CircuitJob] = [], expected: [Bool] = []
        for c in set.manifest.comparisons {
            let ct = set.ciphertexts[c.plaintext]!
            for (op, answer) in [(ComparisonOperator.lessOrEqual, c.scalar_le), (.greaterOrEqual, c.scalar_ge)] {
                jobs.append(CircuitJob(circuit: .comparison(ct, op, c.price, parameters: set.parameters), operands: [ct],
                                       serverKey: set.server))
                expected.append(answer)
            }
        }
        return (jobs, expected)
    }

    @Test("Genuine ciphertexts and result blocks decrypt to the manifest with the genuine client key")
    func decryptGenuine() throws {
        let set = try Self.small.get()
        #expect(set.parameters == .insecureTfheRs05Small)
        for (value, ct) in set.ciphertexts {
            #expect(ct.blocks.count == 16 && ct.blocks.allSatisfy { $0.degree == 3 && $0.noiseLevel == 1 })
            #expect(set.client.decryptRadix(ct) == value)
        }
        for c in set.manifest.comparisons {
            for (file, expected) in [(c.le_result_file!, c.scalar_le), (c.ge_result_file!, c.scalar_ge)] {
                let result = try Self.read(VectorFiles.smallSet, file).withUnsafeBytes {
                    try TfheRs05.decodeBooleanBlock($0, parameters: set.parameters)
                }
                #expect(try set.client.decrypt(result) == expected, "\(file)")
                #expect(result.block.degree == 1 && result.block.noiseLevel == 1)
            }
        }
    }

    @Test("Every manifest pair: our scalar_le / scalar_ge with the genuine server key decrypt correctly")
    func evaluateGenuine() throws {
        let set = try Self.small.get()
        let (jobs, expected) = Self.manifestComparisons(set)
        let results = CircuitEvaluator.run(jobs, threads: 2)
        #expect(try results.map(set.client.decrypt) == expected)
        // Our result blocks, written in the tfhe-rs layout, decode and decrypt the same way.
        for (result, answer) in zip(results, expected) {
            let bytes = TfheRs05.encodeBooleanBlock(result, parameters: set.parameters)
            #expect(bytes.count == 8 + 8 * set.parameters.bigLweDimension.size.value + 24 + 36)
            let back = try bytes.withUnsafeBytes { try TfheRs05.decodeBooleanBlock($0, parameters: set.parameters) }
            #expect(try set.client.decrypt(back) == answer)
        }
    }

    @Test("Encoders reproduce genuine ciphertext and client-key bytes exactly; server keys round-trip")
    func byteExactEncoders() throws {
        let set = try Self.small.get()
        for c in set.manifest.comparisons.prefix(7) {
            let original = try Self.read(VectorFiles.smallSet, c.ciphertext_file)
            let ct = set.ciphertexts[c.plaintext]!
            #expect(Data(TfheRs05.encodeRadixCiphertext(ct, parameters: set.parameters)) == original)
            // Hex input decodes to the same value.
            let hex = Hex.encode(original)
            let fromHex = try hex.utf8CString.withUnsafeBytes { raw in
                try TfheRs05.decodeRadixCiphertext(UnsafeRawBufferPointer(rebasing: raw.dropLast()), parameters: set.parameters)
            }
            #expect(fromHex == ct)
        }
        let clientBytes = try Self.read(VectorFiles.smallSet, "client_key.bin")
        #expect(Data(TfheRs05.encodeRadixClientKey(set.client, blockCount: 16)) == clientBytes)
        // Server key: re-encode, decode again, and it still evaluates correctly.
        let encoded = TfheRs05.encodeServerKey(set.server)
        #expect(encoded.count == (try Self.read(VectorFiles.smallSet, "server_key.bin")).count)
        let again = try encoded.withUnsafeBytes { try TfheRs05.decodeServerKey($0, parameters: set.parameters) }
        let ct = set.ciphertexts[380_000]!
        let result = try ComparisonEngine().compare(ct, .greaterOrEqual, 379_999, serverKey: again)
        #expect(try set.client.decrypt(result))
    }

    @Test("Corrupted and truncated inputs throw typed errors naming field and offset, never trap")
    func corruptedInputs() throws {
        let set = try Self.small.get()
        let ct = try Self.read(VectorFiles.smallSet, "ct_u32_12345.bin")
        let client = try Self.read(VectorFiles.smallSet, "client_key.bin")
        let server = try Self.read(VectorFiles.smallSet, "server_key.bin")
        func rejects(_ bytes: [UInt8], _ decode: (UnsafeRawBufferPointer) throws -> Void) -> Bool {
            do { try bytes.withUnsafeBytes(decode); return false } catch is FHECoreError { return true } catch { return false }
        }
        let p = set.parameters
        // Truncations at many offsets, one extra byte, wrong first byte.
        for cut in stride(from: 0, to: ct.count, by: 997) + [ct.count - 1] {
            #expect(rejects(Array(ct.prefix(cut))) { _ = try TfheRs05.decodeRadixCiphertext($0, parameters: p) })
        }
        #expect(rejects(Array(ct) + [0]) { _ = try TfheRs05.decodeRadixCiphertext($0, parameters: p) })
        for cut in stride(from: 0, to: client.count, by: 331) {
            #expect(rejects(Array(client.prefix(cut))) { _ = try TfheRs05.decodeRadixClientKey($0, parameters: p) })
        }
        for cut in [0, 7, 8, 1000, 2_641_928, server.count - 1] {
            #expect(rejects(Array(server.prefix(cut))) { _ = try TfheRs05.decodeServerKey($0, parameters: p) })
        }
        // Field mutations of block 0: block count, LWE length, modulus, scalar bits, degree, noise
        // level, message modulus, carry modulus, pbs order (the block's fields follow its 513 words).
        let fields = 16 + 8 * 513
        for (offset, value) in [(0, 0x50), (8, 0x02), (fields, 0x01), (fields + 16, 0x20), (fields + 24, 0x40),
                                (fields + 32, 0x09), (fields + 40, 0x08), (fields + 48, 0x02), (fields + 56, 0x01)] {
            var bytes = Array(ct)
            bytes[offset] = UInt8(value)
            #expect(rejects(bytes) { _ = try TfheRs05.decodeRadixCiphertext($0, parameters: p) }, "offset \(offset)")
        }
        // A client key with a non-binary coefficient, or with the legacy parameters' noise.
        var badKey = Array(client)
        badKey[8] = 2
        #expect(rejects(badKey) { _ = try TfheRs05.decodeRadixClientKey($0, parameters: p) })
        #expect(rejects(Array(client)) { _ = try TfheRs05.decodeRadixClientKey($0, parameters: .tfheRs05) })
        // Without the opt-in the insecure set is not detected.
        #expect(throws: FHECoreError.self) {
            try server.withUnsafeBytes { _ = try TfheRs05.detectServerKeyParameters($0, allowInsecureTestParameters: false) }
        }
        // A NaN in the Fourier key.
        var nanKey = Array(server)
        let firstCoefficient = 8 + 8 * 330_240 + 48 + 4 + 24 + 8
        withUnsafeBytes(of: Double.nan.bitPattern.littleEndian) { nanKey.replaceSubrange(firstCoefficient..<(firstCoefficient + 8), with: $0) }
        #expect(rejects(nanKey) { _ = try TfheRs05.decodeServerKey($0, parameters: p) })
        // Bad hex.
        #expect(throws: FHECoreError.self) { _ = try Hex.decode("0g") }
    }

    @Test("Real production-parameter vectors (when ../shared/vectors/tfhe-rs-0.5/real exists)",
          .enabled(if: FileManager.default.fileExists(atPath: VectorFiles.realSet.path)))
    func realSet() throws {
        let set = try Self.load(VectorFiles.realSet, insecure: false)
        #expect(set.parameters == .tfheRs05)
        for (value, ct) in set.ciphertexts { #expect(set.client.decryptRadix(ct) == value) }
        let (jobs, expected) = Self.manifestComparisons(set)
        let results = CircuitEvaluator.run(jobs, threads: 2)
        #expect(try results.map(set.client.decrypt) == expected)
    }
}

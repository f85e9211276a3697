@testable import FHECore
import Foundation
import Testing

/// Pins the native format: vectors/native/ holds a client key, an evaluation key and a ciphertext
/// made from fixed seeds (insecure test parameters). Decoding them must give the recorded values,
/// and regenerating them from the same seeds must give the same bytes.
@Suite("Native format known answers")
struct NativeKnownAnswerTests {
    static let folder = VectorFiles.repositoryRoot.appendingPathComponent("vectors/native")
    static let p = ParameterSet.insecureTfheRs05Small

    static func generate() -> (client: [UInt8], evaluation: [UInt8], ciphertext: [UInt8]) {
        let randomness = KeyGenerationRandomness(testSeed: 0x5A)
        let client = ClientKey.generate(parameters: p, using: randomness.secret)
        let (_, seeded) = SeededEvaluationKey.generate(for: client, randomness: randomness, threads: 1)
        let ct = client.encryptSeeded(380_000, using: randomness.encryption)
        return (NativeFormat.encode(client), NativeFormat.encode(seeded), NativeFormat.encode(ct, parameters: p))
    }

    @Test("Known-answer files decode to their values and regenerate byte for byte")
    func knownAnswers() throws {
        let fresh = Self.generate()
        let names = ["client.key": fresh.client, "evaluation.key": fresh.evaluation, "ct_u32_380000.bin": fresh.ciphertext]
        if ProcessInfo.processInfo.environment["SYPHON_WRITE_VECTORS"] == "1" {
            try FileManager.default.createDirectory(at: Self.folder, withIntermediateDirectories: true)
            for (name, bytes) in names { try Data(bytes).write(to: Self.folder.appendingPathComponent(name)) }
        }
        for (name, bytes) in names {
            #expect(try Data(contentsOf: Self.folder.appendingPathComponent(name)) == Data(bytes), "\(name) changed")
        }
        let client = try Data(contentsOf: Self.folder.appendingPathComponent("client.key")).withUnsafeBytes {
            try NativeFormat.decodeClientKey($0, allowInsecureTestParameters: true)
        }
        let (ct, _) = try Data(contentsOf: Self.folder.appendingPathComponent("ct_u32_380000.bin")).withUnsafeBytes {
            try NativeFormat.decodeRadixCiphertext($0, allowInsecureTestParameters: true)
        }
        #expect(client.decryptRadix(ct.expand(parameters: Self.p)) == 380_000)
        let server = try Data(contentsOf: Self.folder.appendingPathComponent("evaluation.key")).withUnsafeBytes {
            try NativeFormat.decodeEvaluationKey($0, allowInsecureTestParameters: true)
        }.expand()
        #expect(try client.decrypt(try ComparisonEngine().compare(ct.expand(parameters: Self.p), .greaterOrEqual, 379_999, serverKey: server)))
    }
}

@testable import FHECore
import Foundation
import Testing

@Suite("Native format: seeded keys and ciphertexts")
struct NativeFormatTests {
    @Test("Seeded evaluation key expands to working keys; every container round-trips; corruption is caught",
          arguments: [ParameterSet.insecureTfheRs05Small, ParameterSet.default])
    func roundTrips(parameters p: ParameterSet) throws {
        let randomness = KeyGenerationRandomness(testSeed: 71)
        let client = ClientKey.generate(parameters: p, using: randomness.secret)
        let (server, seeded) = SeededEvaluationKey.generate(for: client, randomness: randomness)
        let insecure = p.isInsecure
        // Evaluation key: encode, decode, expand; the expansion equals the generated keys exactly.
        let keyBytes = NativeFormat.encode(seeded)
        let decoded = try keyBytes.withUnsafeBytes { try NativeFormat.decodeEvaluationKey($0, allowInsecureTestParameters: insecure) }
        let expanded = decoded.expand()
        #expect(Array(UnsafeBufferPointer(expanded.keyswitchKey.storage.buffer)) == Array(UnsafeBufferPointer(server.keyswitchKey.storage.buffer)))
        #expect(Array(UnsafeBufferPointer(expanded.bootstrapKey.storage.buffer)) == Array(UnsafeBufferPointer(server.bootstrapKey.storage.buffer)))
        if !insecure { #expect(keyBytes.count < 30_000_000, "evaluation key upload \(keyBytes.count) bytes") }
        // Client key.
        let clientBytes = NativeFormat.encode(client)
        let clientBack = try clientBytes.withUnsafeBytes { try NativeFormat.decodeClientKey($0, allowInsecureTestParameters: insecure) }
        #expect(NativeFormat.encode(clientBack) == clientBytes)
        // Seeded ciphertext: ~200 bytes for a u32; expands and evaluates with the expanded keys.
        let rng = CSPRNG(seed: [UInt8](repeating: 72, count: 32))
        let seededBound = client.encryptSeeded(380_000, using: rng)
        let ctBytes = NativeFormat.encode(seededBound, parameters: p)
        #expect(ctBytes.count < 4096)
        let (ctBack, ctParameters) = try ctBytes.withUnsafeBytes { try NativeFormat.decodeRadixCiphertext($0, allowInsecureTestParameters: insecure) }
        #expect(ctBack == seededBound && ctParameters == p)
        let bound = ctBack.expand(parameters: p)
        #expect(client.decryptRadix(bound) == 380_000)
        let engine = ComparisonEngine()
        #expect(try client.decrypt(try engine.compare(bound, .lessOrEqual, 380_001, serverKey: expanded)))
        #expect(try !client.decrypt(try engine.compare(bound, .greaterOrEqual, 380_001, serverKey: expanded)))
        // One flipped bit anywhere: rejected by the checksum (or the header checks).
        for position in [0, 9, ctBytes.count / 2, ctBytes.count - 1] {
            var bad = ctBytes
            bad[position] ^= 0x10
            #expect(throws: FHECoreError.self) {
                try bad.withUnsafeBytes { _ = try NativeFormat.decodeRadixCiphertext($0, allowInsecureTestParameters: insecure) }
            }
        }
        #expect(throws: FHECoreError.self) {
            try clientBytes.withUnsafeBytes { _ = try NativeFormat.decodeEvaluationKey($0, allowInsecureTestParameters: insecure) }
        }
        print("native sizes (\(p.name)): evaluation key \(keyBytes.count) B, client key \(clientBytes.count) B, u32 ciphertext \(ctBytes.count) B")
    }
}

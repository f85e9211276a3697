import FHECore
import Testing

@Suite("LWE / GLWE encryption and block encoding")
struct EncryptionTests {
    @Test("decrypt(encrypt(m)) for every block value", arguments: TestParameters.all)
    func blockRoundTrip(parameters: ParameterSet) throws {
        let randomness = KeyGenerationRandomness(testSeed: 3)
        let client = ClientKey.generate(parameters: parameters, using: randomness.secret)
        for m in 0..<(2 * parameters.blockModulus) {
            for _ in 0..<20 {
                let ct = client.encryptBlock(m, using: randomness.encryption)
                #expect(client.decryptBlock(ct) == m, "\(parameters.name) m=\(m)")
            }
        }
        // Small-key LWE with the LWE noise, as keyswitch outputs are.
        for m in 0..<parameters.blockModulus {
            let ct = client.lweSecretKey.encrypt(parameters.encode(m), noise: parameters.lweNoise,
                                                 using: randomness.encryption)
            #expect(parameters.decode(client.lweSecretKey.phase(of: ct)) == m)
        }
    }

    @Test("GLWE phase recovers the message polynomial", arguments: TestParameters.all)
    func glweRoundTrip(parameters: ParameterSet) {
        let randomness = KeyGenerationRandomness(testSeed: 4)
        let key = GlweSecretKey.generate(glweDimension: parameters.glweDimension,
                                         polynomialSize: parameters.polynomialSize, using: randomness.secret)
        let values = (0..<parameters.polynomialSize.value).map { $0 % parameters.blockModulus }
        let message = Polynomial(values.map { parameters.encode($0) })
        let ct = key.encrypt(message, noise: parameters.glweNoise, using: randomness.encryption)
        let phase = key.phase(of: ct)
        #expect(phase.coefficients.map { parameters.decode($0) } == values)
        // The constant coefficient survives sample extraction under the same key read as LWE.
        let lwe = ct.extractConstantCoefficient()
        #expect(parameters.decode(key.asLweSecretKey.phase(of: lwe)) == values[0])
    }

    @Test("Linear operations act on the plaintexts")
    func linearOperations() {
        let parameters = ParameterSet.tfheRs05
        let randomness = KeyGenerationRandomness(testSeed: 5)
        let client = ClientKey.generate(parameters: parameters, using: randomness.secret)
        let a = client.encryptBlock(2, using: randomness.encryption)
        let b = client.encryptBlock(3, using: randomness.encryption)
        #expect(client.decryptBlock(a + b) == 5)
        #expect(client.decryptBlock(b - a) == 1)
        #expect(client.decryptBlock(a - b) == 31) // −1: the padding bit is set
        #expect(client.decryptBlock(b.scaled(by: 4)) == 12)
        #expect(client.decryptBlock(a.addingPlaintext(parameters.encode(7))) == 9)
        #expect(client.decryptBlock(LweCiphertext.trivial(parameters.encode(6), dimension: parameters.bigLweDimension)) == 6)
    }

    @Test("Seeded generators are reproducible; OS-seeded ones differ")
    func generators() throws {
        let a = CSPRNG(seed: [UInt8](repeating: 9, count: 32)), b = CSPRNG(seed: [UInt8](repeating: 9, count: 32))
        #expect((0..<100).map { _ in a.nextUInt64() } == (0..<100).map { _ in b.nextUInt64() })
        let c = try CSPRNG(), d = try CSPRNG()
        #expect(c.nextUInt64() != d.nextUInt64())
    }

    @Test("Secret keys never print their coefficients")
    func redaction() {
        let client = ClientKey.generate(parameters: TestParameters.insecureSmall, using: CSPRNG(seed: [UInt8](repeating: 1, count: 32)))
        #expect("\(client)".contains("redacted"))
        #expect("\(client.lweSecretKey)".contains("redacted"))
        #expect("\(client.glweSecretKey)".contains("redacted"))
    }
}

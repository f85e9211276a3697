import FHECore
import Testing

/// Lookup tables exercised on every set: identity, sign-like, ×3 mod 16, boolean.
func testLookupTables(_ p: ParameterSet) -> [(String, (Int) -> Int)] {
    let modulus = p.blockModulus
    return [
        ("identity", { $0 }),
        ("sign", { $0 == 0 ? 0 : 1 }),
        ("times3", { ($0 * 3) % modulus }),
        ("boolean", { $0 >= modulus / 2 ? 1 : 0 }),
    ]
}

@Suite("Keyswitch and programmable bootstrapping")
struct BootstrapTests {
    @Test("Keyswitch preserves every block value", arguments: TestParameters.all)
    func keyswitch(parameters: ParameterSet) {
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let rng = CSPRNG(seed: [UInt8](repeating: 21, count: 32))
        for m in 0..<parameters.blockModulus {
            let small = server.keyswitch(client.encryptBlock(m, using: rng))
            #expect(small.dimension == parameters.lweDimension)
            #expect(client.decryptBlock(small) == m)
        }
    }

    @Test("A single KS+PBS evaluates each lookup table on every input", arguments: TestParameters.all)
    func singleBootstrap(parameters: ParameterSet) {
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let rng = CSPRNG(seed: [UInt8](repeating: 22, count: 32))
        for (name, f) in testLookupTables(parameters) {
            let lut = LookupTable(parameters: parameters, function: f)
            for m in 0..<parameters.blockModulus {
                let out = server.applyLookupTable(client.encryptBlock(m, using: rng), lut)
                #expect(client.decryptBlock(out) == f(m), "\(parameters.name) \(name)(\(m))")
            }
        }
    }

    @Test("Padding bit set: the table reads −f(m − p·q)")
    func negacyclicHalf() {
        let parameters = TestParameters.insecureSmall
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let rng = CSPRNG(seed: [UInt8](repeating: 23, count: 32))
        let lut = LookupTable(parameters: parameters) { $0 == 0 ? 0 : 1 }
        // 9 − 10 = −1: negative inputs give −1 (31 with the padding bit), equal gives 0, greater +1.
        for (value, scalar, expected) in [(9, 8, 1), (9, 9, 0), (9, 10, 31), (9, 15, 31)] {
            let ct = client.encryptBlock(value, using: rng).subtractingPlaintext(parameters.encode(scalar))
            #expect(client.decryptBlock(server.applyLookupTable(ct, lut)) == expected)
        }
    }

    /// Thousands of bootstraps per shipped set through the batched API, every input and table:
    /// zero failures expected (p-fail 2^-40 and 2^-128).
    @Test("Small batches (the rounds of a circuit) keyswitch cooperatively and match the single path byte for byte",
          arguments: [ParameterSet.default, TestParameters.insecureToyK2])
    func smallBatches(parameters: ParameterSet) {
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let rng = CSPRNG(seed: [UInt8](repeating: 54, count: 32))
        let tables = testLookupTables(parameters).map { LookupTable(parameters: parameters, function: $0.1) }
        // 2 and 4 on two threads: every ciphertext in the cooperative keyswitch; 3: two of them, the
        // third paired; 65 on two threads: more than a group per thread, each thread's own keyswitch.
        for count in [2, 3, 4, 65] {
            let inputs = (0..<count).map { client.encryptBlock($0 % parameters.blockModulus, using: rng) }
            let luts = (0..<count).map { tables[$0 % tables.count] }
            let batch = server.applyLookupTables(inputs, luts, threads: 2)
            for c in [0, count / 2, count - 1] {
                #expect(batch[c] == server.applyLookupTable(inputs[c], luts[c]), "\(parameters.name): ciphertext \(c) of \(count)")
            }
        }
    }

    @Test("Batched KS+PBS: thousands of trials, zero failures", arguments: [ParameterSet.tfheRs05, .default, TestParameters.insecureToyK2])
    func batchedBootstrapMany(parameters: ParameterSet) {
        let (client, server) = TestKeyCache.shared.keys(for: parameters)
        let rng = CSPRNG(seed: [UInt8](repeating: 24, count: 32))
        let tables = testLookupTables(parameters).map { ($0.0, $0.1, LookupTable(parameters: parameters, function: $0.1)) }
        var inputs: [LweCiphertext] = [], luts: [LookupTable] = [], expected: [Int] = []
        let rounds = parameters.isInsecure ? 8 : 32 // 32 × 16 inputs × 4 tables = 2048 bootstraps
        for _ in 0..<rounds {
            for m in 0..<parameters.blockModulus {
                for (_, f, lut) in tables {
                    inputs.append(client.encryptBlock(m, using: rng))
                    luts.append(lut)
                    expected.append(f(m))
                }
            }
        }
        let outputs = server.applyLookupTables(inputs, luts, threads: 2)
        let failures = zip(outputs, expected).filter { client.decryptBlock($0) != $1 }.count
        #expect(failures == 0, "\(parameters.name): \(failures) failures in \(inputs.count) bootstraps")
        // The batch path computes exactly what the single path computes (same keys, same FFT).
        let single = server.applyLookupTable(inputs[5], luts[5])
        #expect(single == outputs[5])
    }
}

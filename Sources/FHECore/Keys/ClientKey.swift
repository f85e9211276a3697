/// The secret side of a parameter set: the GLWE key (whose coefficients are the "big" LWE key that
/// ciphertexts at rest use) and the small LWE key that bootstrapping runs under.
/// Never leaves the client in the native flow; the original tfhe-rs 0.5 flow ships it with every request.
public final class ClientKey: @unchecked Sendable, CustomStringConvertible {
    public let parameters: ParameterSet
    public let glweSecretKey: GlweSecretKey
    public let lweSecretKey: LweSecretKey

    public init(parameters: ParameterSet, glweSecretKey: GlweSecretKey, lweSecretKey: LweSecretKey) throws {
        guard glweSecretKey.glweDimension == parameters.glweDimension,
              glweSecretKey.polynomialSize == parameters.polynomialSize else {
            throw FHECoreError.parameterMismatch(field: "GLWE secret key", expected: parameters.name,
                                                 found: "k=\(glweSecretKey.glweDimension) N=\(glweSecretKey.polynomialSize)")
        }
        guard lweSecretKey.dimension == parameters.lweDimension else {
            throw FHECoreError.parameterMismatch(field: "LWE secret key", expected: "\(parameters.lweDimension)",
                                                 found: "\(lweSecretKey.dimension)")
        }
        self.parameters = parameters
        self.glweSecretKey = glweSecretKey
        self.lweSecretKey = lweSecretKey
    }

    /// Fresh uniform binary keys from the secret-key generator.
    public static func generate(parameters: ParameterSet, using rng: CSPRNG) -> ClientKey {
        let glwe = GlweSecretKey.generate(glweDimension: parameters.glweDimension,
                                          polynomialSize: parameters.polynomialSize, using: rng)
        let lwe = LweSecretKey.generate(dimension: parameters.lweDimension, using: rng)
        return try! ClientKey(parameters: parameters, glweSecretKey: glwe, lweSecretKey: lwe)
    }

    /// The big LWE key (GLWE coefficients, dimension k·N) under which blocks are encrypted.
    public var bigLweSecretKey: LweSecretKey { glweSecretKey.asLweSecretKey }

    /// Encrypts a block value m ∈ [0, 2·p·q) as m·Δ under the big key with the GLWE noise
    /// (tfhe-rs KS_PBS client encryption).
    public func encryptBlock(_ m: Int, using rng: CSPRNG) -> LweCiphertext {
        bigLweSecretKey.encrypt(parameters.encode(m), noise: parameters.glweNoise, using: rng)
    }

    /// Phase of a ciphertext under the key its dimension names (big k·N or small n).
    public func phase(of ct: LweCiphertext) -> UInt64 {
        if ct.dimension == parameters.lweDimension { return lweSecretKey.phase(of: ct) }
        return bigLweSecretKey.phase(of: ct)
    }

    /// The block value of a ciphertext in [0, 2·p·q) (carries and padding bit included).
    public func decryptBlock(_ ct: LweCiphertext) -> Int { parameters.decode(phase(of: ct)) }

    /// Whether `serverKey` was generated from this key. Every level-1 keyswitch row encrypts, under
    /// the small key, a big-key coefficient times the first gadget value (2^(32−β) in the 32-bit
    /// rows), with noise far below half of it; a stranger's key decodes each row to its coefficient
    /// with probability 2^−β, so all k·N rows agree only for the right key. Constant time in the
    /// key bits (no early exit, no branch on them).
    public func belongs(to serverKey: ServerKey) -> Bool {
        guard serverKey.parameters == parameters else { return false }
        let ksk = serverKey.keyswitchKey
        let n = ksk.outputDimension.value, shift = UInt32(32 - ksk.baseLog.value)
        var mismatches: UInt64 = 0
        lweSecretKey.withCoefficients { small in
            bigLweSecretKey.withCoefficients { big in
                for i in 0..<ksk.inputDimension.value {
                    let row = ksk.row(input: i, level: 1)
                    var phase = row[n]
                    for j in 0..<n { phase &-= row[j] &* UInt32(truncatingIfNeeded: small[j]) }
                    let digit = (phase &+ (1 << (shift - 1))) >> shift
                    mismatches |= UInt64(digit) ^ big[i]
                }
            }
        }
        return mismatches == 0
    }

    public var description: String { "ClientKey(\(parameters.name), <redacted>)" }
}

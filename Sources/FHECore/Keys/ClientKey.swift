/// The secret side of a parameter set: the GLWE key (whose coefficients are the "big" LWE key that
/// ciphertexts at rest use) and the small LWE key that bootstrapping runs under.
/// Never leaves the client in the native flow; the legacy flow ships it encrypted at rest.
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

    public var description: String { "ClientKey(\(parameters.name), <redacted>)" }
}

extension ParameterSet {
    /// NOT SECURE. The custom parameters of the genuine tfhe-rs 0.5.3 small vector set
    /// (`vectors/tfhe-rs-0.5-small`: n = 128, N = 512, σ_lwe = 2^−25, σ_glwe = 2^−45, PBS 23/1,
    /// KS 3/5), the same shape as the tfhe-rs 0.5 set at a size that makes end-to-end tests of the real
    /// binary fast. Never in ``shipped``; decoders and the CLI accept it only when the caller opts
    /// in explicitly (`--allow-insecure-test-parameters`), which only tests do.
    public static let insecureTfheRs05Small = ParameterSet(
        name: "insecure-tfhe-rs-0.5-small-test-vectors",
        lweDimension: LweDimension(128), glweDimension: GlweDimension(1), polynomialSize: PolynomialSize(512),
        lweNoise: NoiseStandardDeviation(2.9802322387695312e-08), glweNoise: NoiseStandardDeviation(2.842170943040401e-14),
        pbsBaseLog: DecompositionBaseLog(23), pbsLevels: DecompositionLevelCount(1),
        ksBaseLog: DecompositionBaseLog(3), ksLevels: DecompositionLevelCount(5),
        messageModulus: MessageModulus(4), carryModulus: CarryModulus(4),
        securityBits: nil)

    /// The sets a caller may name: the shipped ones, plus the insecure test-vector set on opt-in.
    public static func available(allowInsecureTestParameters: Bool) -> [ParameterSet] {
        allowInsecureTestParameters ? shipped + [.insecureTfheRs05Small] : shipped
    }

    /// The sets new keys may use: ``forNewKeys``, plus the insecure test-vector set on opt-in.
    public static func forNewKeys(allowInsecureTestParameters: Bool) -> [ParameterSet] {
        allowInsecureTestParameters ? forNewKeys + [.insecureTfheRs05Small] : forNewKeys
    }

    /// The set named `name` for a new key, or a typed error naming the ones allowed (the tfhe-rs 0.5 set is
    /// known but refused: it is only for reading the original's payloads).
    public static func forNewKey(named name: String, allowInsecureTestParameters: Bool) throws -> ParameterSet {
        let allowed = forNewKeys(allowInsecureTestParameters: allowInsecureTestParameters)
        if let set = allowed.first(where: { $0.name == name }) { return set }
        if let known = available(allowInsecureTestParameters: allowInsecureTestParameters).first(where: { $0.name == name }) {
            throw FHECoreError.notForNewKeys(set: known.name, log2FailureProbability: known.log2FailureProbability,
                                             allowed: allowed.map(\.name))
        }
        throw FHECoreError.unsupportedFormat("unknown parameter set '\(name)'; known: \(allowed.map(\.name).joined(separator: ", "))")
    }

    /// Throws unless a key under this set may be created or registered now.
    public func requireForNewKeys(allowInsecureTestParameters: Bool) throws {
        _ = try Self.forNewKey(named: name, allowInsecureTestParameters: allowInsecureTestParameters)
    }
}

extension ParameterSet {
    /// NOT SECURE. The custom parameters of the genuine tfhe-rs 0.5.3 small vector set
    /// (`vectors/tfhe-rs-0.5-small`: n = 128, N = 512, σ_lwe = 2^−25, σ_glwe = 2^−45, PBS 23/1,
    /// KS 3/5), the same shape as the legacy set at a size that makes end-to-end tests of the real
    /// binary fast. Never in ``shipped``; decoders and the CLI accept it only when the caller opts
    /// in explicitly (`--allow-insecure-test-parameters`), which only tests do.
    public static let insecureTfheRs05Small = ParameterSet(
        name: "insecure-tfhe-rs-0.5-small-test-vectors",
        lweDimension: LweDimension(128), glweDimension: GlweDimension(1), polynomialSize: PolynomialSize(512),
        lweNoise: NoiseStandardDeviation(2.9802322387695312e-08), glweNoise: NoiseStandardDeviation(2.842170943040401e-14),
        pbsBaseLog: DecompositionBaseLog(23), pbsLevels: DecompositionLevelCount(1),
        ksBaseLog: DecompositionBaseLog(3), ksLevels: DecompositionLevelCount(5),
        messageModulus: MessageModulus(4), carryModulus: CarryModulus(4),
        securityBits: nil, log2FailureProbability: -37)

    /// The sets a caller may name: the shipped ones, plus the insecure test-vector set on opt-in.
    public static func available(allowInsecureTestParameters: Bool) -> [ParameterSet] {
        allowInsecureTestParameters ? shipped + [.insecureTfheRs05Small] : shipped
    }
}

/// A complete TFHE parameter set for 2-bit message / 2-bit carry blocks in KS_PBS order:
/// ciphertexts live under the big key (dimension k·N); a lookup is keyswitch (k·N → n) then
/// programmable bootstrap (n → k·N). The torus is Z/2^64 (native UInt64 arithmetic).
///
/// Shipped sets are constants in this file and are never edited once shipped: a change is a new set
/// with a new name. Insecure sets for tests are built with ``ParameterSet/init(name:...)`` in test code
/// and must carry "insecure" in their name.
public struct ParameterSet: Hashable, Sendable, CustomStringConvertible {
    /// Stable identifier written into every native key and ciphertext.
    public let name: String
    public let lweDimension: LweDimension
    public let glweDimension: GlweDimension
    public let polynomialSize: PolynomialSize
    public let lweNoise: NoiseStandardDeviation
    public let glweNoise: NoiseStandardDeviation
    public let pbsBaseLog: DecompositionBaseLog
    public let pbsLevels: DecompositionLevelCount
    public let ksBaseLog: DecompositionBaseLog
    public let ksLevels: DecompositionLevelCount
    public let messageModulus: MessageModulus
    public let carryModulus: CarryModulus
    /// Estimated security in bits against the lattice estimator; nil for insecure test sets.
    public let securityBits: Int?
    /// Where ``securityBits`` comes from.
    public let securitySource: String?
    /// How a keyswitched ciphertext is switched to 2N before blind rotation (an evaluation
    /// technique: no key or ciphertext format depends on it).
    public let modulusSwitch: ModulusSwitch

    public init(
        name: String, lweDimension: LweDimension, glweDimension: GlweDimension, polynomialSize: PolynomialSize,
        lweNoise: NoiseStandardDeviation, glweNoise: NoiseStandardDeviation,
        pbsBaseLog: DecompositionBaseLog, pbsLevels: DecompositionLevelCount,
        ksBaseLog: DecompositionBaseLog, ksLevels: DecompositionLevelCount,
        messageModulus: MessageModulus, carryModulus: CarryModulus,
        securityBits: Int?, securitySource: String? = nil, modulusSwitch: ModulusSwitch = .centered
    ) {
        precondition(securityBits != nil || name.contains("insecure"),
                     "a parameter set without a security estimate must say 'insecure' in its name")
        precondition(pbsBaseLog.value * pbsLevels.value < 64 && ksBaseLog.value * ksLevels.value < 64)
        self.name = name
        self.lweDimension = lweDimension
        self.glweDimension = glweDimension
        self.polynomialSize = polynomialSize
        self.lweNoise = lweNoise
        self.glweNoise = glweNoise
        self.pbsBaseLog = pbsBaseLog
        self.pbsLevels = pbsLevels
        self.ksBaseLog = ksBaseLog
        self.ksLevels = ksLevels
        self.messageModulus = messageModulus
        self.carryModulus = carryModulus
        self.securityBits = securityBits
        self.securitySource = securitySource
        self.modulusSwitch = modulusSwitch
    }

    public var isInsecure: Bool { securityBits == nil }
    /// log2 of the probability that one programmable bootstrap decodes wrongly, computed from the
    /// noise formulas of the operations as this code implements them (``NoiseFormulas``).
    public var log2FailureProbability: Double { NoiseFormulas.log2FailureProbability(self) }
    /// Dimension of the big LWE key: the GLWE key read as an LWE key (k·N).
    public var bigLweDimension: LweDimension { LweDimension(glweDimension.value * polynomialSize.value) }
    /// Values a block can hold including carries (message · carry).
    public var blockModulus: Int { messageModulus.value * carryModulus.value }
    /// Scaling of a block value on the torus, keeping the top bit as padding: 2^63 / (message·carry).
    public var delta: UInt64 { (UInt64(1) << 63) / UInt64(blockModulus) }
    /// Coefficients of the accumulator per block value: N / (message·carry).
    public var lookupBoxSize: Int { polynomialSize.value / blockModulus }
    /// Largest number of fresh ciphertexts that may be summed before a bootstrap: (p·q − 1)/(q − 1).
    public var maxNoiseLevel: Int { (blockModulus - 1) / (messageModulus.value - 1) }

    public var description: String {
        "\(name) (n=\(lweDimension), k=\(glweDimension), N=\(polynomialSize), PBS \(pbsBaseLog)/\(pbsLevels), "
            + "KS \(ksBaseLog)/\(ksLevels))"
    }
}

extension ParameterSet {
    /// tfhe-rs 0.5 `PARAM_MESSAGE_2_CARRY_2_KS_PBS`, kept only to read and answer the original
    /// engine's payloads; never for new keys. About 128-bit security; its failure probability is
    /// below today's standard even with the centred modulus switch (`syphon-executor params`).
    public static let tfheRs05 = ParameterSet(
        name: "tfhe-rs-0.5",
        lweDimension: LweDimension(742), glweDimension: GlweDimension(1), polynomialSize: PolynomialSize(2048),
        lweNoise: NoiseStandardDeviation(7.069849454709433e-06),
        glweNoise: NoiseStandardDeviation(2.9403601535432533e-16),
        pbsBaseLog: DecompositionBaseLog(23), pbsLevels: DecompositionLevelCount(1),
        ksBaseLog: DecompositionBaseLog(3), ksLevels: DecompositionLevelCount(5),
        messageModulus: MessageModulus(4), carryModulus: CarryModulus(4),
        securityBits: 128, securitySource: "tfhe-rs 0.5 documentation for PARAM_MESSAGE_2_CARRY_2_KS_PBS (lattice estimator, 2023)")

    /// The native set every new key uses: the shape of tfhe-rs 1.0
    /// `V1_0_PARAM_MESSAGE_2_CARRY_2_KS_PBS_GAUSSIAN_2M128` (n = 866, Gaussian noise), 128-bit security.
    /// Its failure probability per bootstrap is at most 2^-128 only with the centred modulus switch
    /// (the plain switch gives about 2^-75); `syphon-executor params` prints the computed figure.
    public static let `default` = ParameterSet(
        name: "default",
        lweDimension: LweDimension(866), glweDimension: GlweDimension(1), polynomialSize: PolynomialSize(2048),
        lweNoise: NoiseStandardDeviation(2.046151696979124e-06),
        glweNoise: NoiseStandardDeviation(2.845267479601915e-15),
        pbsBaseLog: DecompositionBaseLog(23), pbsLevels: DecompositionLevelCount(1),
        ksBaseLog: DecompositionBaseLog(3), ksLevels: DecompositionLevelCount(5),
        messageModulus: MessageModulus(4), carryModulus: CarryModulus(4),
        securityBits: 128,
        securitySource: "tfhe-rs 1.0 parameter file for V1_0_PARAM_MESSAGE_2_CARRY_2_KS_PBS_GAUSSIAN_2M128 (lattice estimator)")

    /// The sets this build ships, by name.
    public static let shipped: [ParameterSet] = [.default, .tfheRs05]

    /// The sets new native keys may use: failure probability at most 2^-128 per bootstrap.
    /// (Computed once: the figure comes from the noise formulas.)
    public static let forNewKeys: [ParameterSet] = shipped.filter { $0.log2FailureProbability <= -128 }

    public static func named(_ name: String) -> ParameterSet? { shipped.first { $0.name == name } }
}

/// How a keyswitched LWE ciphertext is switched from the 2^32 torus (our keyswitch output) to 2N
/// for blind rotation.
public enum ModulusSwitch: String, Sendable, Hashable, CaseIterable {
    /// Round every word: the rounding error Σ r_i·s_i has variance (w + 1)/12 in units of 2^64/2N
    /// for a key of Hamming weight w (n/2 expected).
    case plain
    /// Round every word, and first add half the mask's rounding errors to the body (public data, no
    /// key material; tfhe-rs's "centered mean noise reduction"): what remains, Σ r_i·(s_i − 1/2),
    /// has variance (n/4 + 1)/12 — half the plain switch's. Chosen over the "drift" technique
    /// (ePrint 2024/1718), which needs ~1 446 public encryptions of zero per key in the evaluation
    /// key and a search per bootstrap, for nearly the same failure probability here.
    case centered
}

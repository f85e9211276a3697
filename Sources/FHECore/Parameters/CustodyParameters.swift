import Foundation

/// Parameters of threshold custody (docs/custody.md): how a strategy's encrypted decision is turned
/// into a ciphertext that custodians can decrypt together without any of them holding a key that
/// reads a bound.
///
/// The comparison ends, as before, in a block under the user's own key. One more bootstrap — through
/// a *decision key*, a GGSW encryption of the user's small key under a separate GLWE key `s_d` —
/// writes the bit as ±q/4 under `s_d`. Only `s_d` is shared among the custodians; the user's key
/// never leaves the client. That last bootstrap uses a fine decomposition (base 2^9, 4 levels) so its
/// output noise is about 2^36 instead of the evaluation set's 2^49: the room above it, up to the ±2^62
/// decoding margin, is where each custodian's flooding noise (σ = 2^57.25) hides what a partial
/// decryption would otherwise say about `s_d`. The Rényi argument and its numbers are computed here.
public struct CustodyParameters: Sendable, Hashable {
    /// The set the strategy is evaluated under (the user's keys).
    public let evaluation: ParameterSet
    /// The decision bootstrap: the evaluation set's shape with the decision key's decomposition; its
    /// GLWE key is `s_d`, its LWE input key the user's small key.
    public let decision: ParameterSet
    /// Standard deviation of the flooding noise each custodian adds to a partial decryption (torus
    /// units of 2^64).
    public let floodingDeviation: Double
    /// Rényi order of the security argument (docs/custody.md §4).
    public static let renyiOrder = 128.0
    /// Tail of the decision output noise the argument bounds: |e| ≤ 13.5 σ except with probability
    /// below 2^-131 per decision (counted in the budget's failure term).
    public static let tailFactor = 13.5

    /// Decision-key decomposition: base 2^9, 4 levels (see the table in docs/custody.md).
    public static let decisionBaseLog = DecompositionBaseLog(9)
    public static let decisionLevels = DecompositionLevelCount(4)
    /// σ_flood = 2^57.25: up to four partials (a threshold up to 4) keep the decision failure below
    /// 2^-128 against the q/4 margin.
    public static let defaultFloodingDeviation = 0x1p57 * pow(2.0, 0.25)

    /// Custody for the shipped `default` set: 128-bit decision key (the same GLWE shape and noise as
    /// the evaluation key, which the lattice estimator puts at 128 bits).
    public static let `default` = CustodyParameters(evaluation: .default)

    /// Custody for `evaluation`: its decision set keeps the GLWE shape and noise (so the decision key
    /// is exactly as hard as the evaluation key) and changes only the decomposition. Insecure sets
    /// give insecure decision sets (named so).
    public init(evaluation: ParameterSet, floodingDeviation: Double = CustodyParameters.defaultFloodingDeviation,
                decisionBaseLog: DecompositionBaseLog = CustodyParameters.decisionBaseLog,
                decisionLevels: DecompositionLevelCount = CustodyParameters.decisionLevels) {
        self.evaluation = evaluation
        self.floodingDeviation = floodingDeviation
        decision = ParameterSet(
            name: evaluation.name + "-decision", lweDimension: evaluation.lweDimension, glweDimension: evaluation.glweDimension,
            polynomialSize: evaluation.polynomialSize, lweNoise: evaluation.lweNoise, glweNoise: evaluation.glweNoise,
            pbsBaseLog: decisionBaseLog, pbsLevels: decisionLevels, ksBaseLog: evaluation.ksBaseLog, ksLevels: evaluation.ksLevels,
            messageModulus: evaluation.messageModulus, carryModulus: evaluation.carryModulus,
            securityBits: evaluation.securityBits,
            securitySource: evaluation.securityBits == nil ? nil : "the GLWE key of \(evaluation.name) (same k, N and noise)",
            modulusSwitch: evaluation.modulusSwitch)
    }

    /// Dimension of a decision ciphertext (the decision GLWE key read as an LWE key).
    public var decisionDimension: LweDimension { decision.bigLweDimension }

    /// The bit is written as +q/4 (trigger) or −q/4 (no trigger): a combined phase in [0, q/2) is a
    /// trigger, so either side tolerates an error up to q/4 = 2^62.
    public static let decisionMagnitude: UInt64 = 1 << 62

    /// Variance of a decision ciphertext's noise: one bootstrap through the decision key (its
    /// modelled key, rounding and f64 terms, ``NoiseFormulas/bootstrapVariance(_:stepVariance:lweKeyWeight:glweKeyWeight:)``).
    public var decisionOutputVariance: Double {
        NoiseFormulas.bootstrapVariance(decision, stepVariance: NoiseFormulas.externalProductStepVariance(decision))
    }

    /// log2 of the probability that `partials` flooded partial decryptions and the decision noise
    /// together reach q/4: the decision reads wrongly.
    public func log2DecisionFailure(partials: Int) -> Double {
        let variance = Double(partials) * floodingDeviation * floodingDeviation + decisionOutputVariance
        return NoiseFormulas.log2Erfc(Double(Self.decisionMagnitude) / (2 * variance).squareRoot())
    }

    /// The bound B on |decision noise| the argument uses: 13.5 σ.
    public var decisionNoiseBound: Double { Self.tailFactor * decisionOutputVariance.squareRoot() }

    /// Decryptions one decision key may take part in: the largest Q with
    /// Q · B² / σ_flood² ≤ 1/(a/2) for Rényi order a = 128, so that the Rényi divergence of order a
    /// between what the combiner sees and an ideal view (fresh Gaussian noise, independent of the
    /// key) stays at most e (docs/custody.md §4). Counted per partial a custodian issues.
    public var decryptionBudget: UInt64 {
        let ratio = decisionNoiseBound * decisionNoiseBound / (floodingDeviation * floodingDeviation)
        let q = (2 / Self.renyiOrder) / ratio
        return q >= 0x1p62 ? 1 << 62 : UInt64(q)
    }

    /// ln of the Rényi divergence (order a) after `decryptions`: a·Q·B²/(2σ²).
    public func logRenyiDivergence(after decryptions: UInt64) -> Double {
        Self.renyiOrder * Double(decryptions) * decisionNoiseBound * decisionNoiseBound / (2 * floodingDeviation * floodingDeviation)
    }

    /// log2 of an attacker's best success probability against the key after `decryptions`, from the
    /// ideal game's 2^-securityBits by probability preservation:
    /// ε_real ≤ (RD_a · ε_ideal)^((a−1)/a).
    public func log2AttackSuccess(after decryptions: UInt64) -> Double? {
        guard let bits = decision.securityBits else { return nil }
        let a = Self.renyiOrder
        return (logRenyiDivergence(after: decryptions) / log(2) - Double(bits)) * (a - 1) / a
    }

    /// Lines for `syphon-executor params --custody` and docs/custody.md: every number computed here.
    public var report: [String] {
        let sd = log2(decisionOutputVariance.squareRoot())
        let budget = decryptionBudget
        var lines = [
            "custody for \(evaluation.name): decision key \(decision.description)",
            String(format: "  decision output noise σ = 2^%.2f (bound B = %.1f σ = 2^%.2f); flooding σ = 2^%.2f per partial",
                   sd, Self.tailFactor, log2(decisionNoiseBound), log2(floodingDeviation)),
            String(format: "  decision failure: 2^%.1f with 2 partials, 2^%.1f with 3, 2^%.1f with 4 (margin q/4 = 2^62)",
                   log2DecisionFailure(partials: 2), log2DecisionFailure(partials: 3), log2DecisionFailure(partials: 4)),
            String(format: "  decryption budget per key: %llu partials (2^%.1f) at Rényi order %.0f, ln RD ≤ %.3f",
                   budget, log2(Double(budget)), Self.renyiOrder, logRenyiDivergence(after: budget)),
        ]
        if let success = log2AttackSuccess(after: budget) {
            lines.append(String(format: "  key recovery after the whole budget: ≤ 2^%.1f (ideal game 2^-%d)", success, decision.securityBits!))
        } else {
            lines.append("  INSECURE test parameters: no security claim")
        }
        let g = decision.glweDimension.size.value, n = decision.lweDimension.value, l = decision.pbsLevels.value
        let seeded = Double(n * l * g * decision.polynomialSize.value * 8) / 1e6
        let fourier = Double(n * l * g * g * decision.polynomialSize.value * 8) / 1e6
        lines.append(String(format: "  decision key: %.1f MB seeded (upload), %.1f MB in the Fourier domain (each custodian)", seeded, fourier))
        lines.append("  the decision key's decomposition against the budget it allows (same flooding):")
        for (b, l) in [(23, 1), (15, 2), (12, 3), (10, 4), (9, 4), (8, 5)] {
            let c = CustodyParameters(evaluation: evaluation, floodingDeviation: floodingDeviation,
                                      decisionBaseLog: DecompositionBaseLog(b), decisionLevels: DecompositionLevelCount(l))
            let mb = Double(n * l * g * decision.polynomialSize.value * 8) / 1e6
            lines.append(String(format: "    base 2^%-2d × %d levels: noise 2^%.2f, budget 2^%.1f partials, %.0f MB seeded%@", b, l,
                                log2(c.decisionOutputVariance.squareRoot()), log2(max(1, Double(c.decryptionBudget))), mb,
                                b == decision.pbsBaseLog.value && l == decision.pbsLevels.value ? "  ← chosen" : ""))
        }
        return lines
    }
}

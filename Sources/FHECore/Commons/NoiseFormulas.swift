import Foundation

/// Variance formulas (in squared 2^64-torus units) for the noise of each step of KS_PBS, used to
/// check measured noise and to document failure probabilities. Derivations in docs/noise.md.
public enum NoiseFormulas {
    /// E[d²] of a balanced base-2^β digit of a uniform value: (B² + 2)/12 (the ±B/2 digits are
    /// half as likely as the others).
    public static func digitVariance(baseLog: DecompositionBaseLog) -> Double {
        let b = Double(sign: .plus, exponent: baseLog.value, significand: 1)
        return (b * b + 2) / 12
    }

    /// Variance of the error dropped by rounding to the top β·L bits: uniform of width 2^(64−β·L).
    public static func roundingVariance(baseLog: DecompositionBaseLog, levels: DecompositionLevelCount) -> Double {
        let width = Double(sign: .plus, exponent: 64 - baseLog.value * levels.value, significand: 1)
        return width * width / 12
    }

    /// A fresh block encryption under the big key (KS_PBS client encryption uses the GLWE noise).
    public static func freshVariance(_ p: ParameterSet) -> Double { p.glweNoise.inTorusUnits * p.glweNoise.inTorusUnits }

    /// Rounding a torus word to its top 32 bits (our keyswitch key and output): uniform, 2^64/12.
    static let top32RoundingVariance = Double(sign: .plus, exponent: 64, significand: 1) / 12

    /// After keyswitching (big key, dimension k·N, to small key), as implemented:
    ///   Var_in + (k·N/2)·Var_round + k·N·L·E[d²]·σ_lwe²
    ///   + k·N·L·E[d²]·(1 + n/2)·2^64/12 + 2^64/12
    /// (the rounding term counts the half of the binary key coefficients that are one; the last two
    /// are the 32-bit rounding of every key word — body and n/2 mask words under the small key — and
    /// of the input body).
    public static func keyswitchVariance(_ p: ParameterSet, inputVariance: Double) -> Double {
        let kn = Double(p.bigLweDimension.value), levels = Double(p.ksLevels.value), n = Double(p.lweDimension.value)
        let sigma = p.lweNoise.inTorusUnits, digits = kn * levels * digitVariance(baseLog: p.ksBaseLog)
        return inputVariance + kn / 2 * roundingVariance(baseLog: p.ksBaseLog, levels: p.ksLevels)
            + digits * sigma * sigma + digits * (1 + n / 2) * top32RoundingVariance + top32RoundingVariance
    }

    /// Noise one external product adds with a GGSW of 0: the key noise of (k+1)·L·N
    /// digit×noise products, n·(k+1)·L·N·E[d²]·σ_glwe² over a whole rotation (analytic part); the
    /// f64 rounding of the Fourier-domain arithmetic comes on top (measured: it is the larger part
    /// for N = 2048, because in the mask columns it is multiplied by the binary GLWE key).
    public static func externalProductKeyVariance(_ p: ParameterSet) -> Double {
        let g = Double(p.glweDimension.size.value), levels = Double(p.pbsLevels.value)
        let sigma = p.glweNoise.inTorusUnits
        return g * levels * Double(p.polynomialSize.value) * digitVariance(baseLog: p.pbsBaseLog) * sigma * sigma
    }

    /// After a programmable bootstrap (output of sample extraction):
    ///   n·V_step + w_s·(w_S + 1)·Var_round
    /// where V_step is what one external product adds with a GGSW of 0 (key noise plus f64
    /// rounding, ``externalProductKeyVariance(_:)`` plus the measured Fourier part), and the w_s
    /// steps whose key bit is one also add the decomposition rounding of the k+1 polynomials times
    /// the GLWE key (w_S ones). w_s and w_S default to their expectations n/2 and k·N/2.
    public static func bootstrapVariance(_ p: ParameterSet, stepVariance: Double, lweKeyWeight: Int? = nil,
                                         glweKeyWeight: Int? = nil) -> Double {
        let ones = Double(lweKeyWeight ?? p.lweDimension.value / 2)
        let glweOnes = Double(glweKeyWeight ?? p.bigLweDimension.value / 2)
        return Double(p.lweDimension.value) * stepVariance
            + ones * (glweOnes + 1) * roundingVariance(baseLog: p.pbsBaseLog, levels: p.pbsLevels)
    }

    /// The f64 rounding one external product adds (GGSW of 0), modelled: each output coefficient of
    /// a digit × key product is a sum of N terms of variance E[d²]/12 (torus fractions), carried in
    /// doubles through the forward and inverse transforms (rounding error ≈ 2^−53 of its magnitude
    /// per stage, ~log2(N) stages); the mask columns are then multiplied by the binary GLWE key
    /// (k·N/2 ones) and added to the body's. The constant 2.4 fits the measured per-step noise of
    /// `NoiseTests` (2^43.3 in std for N = 2048, β = 23). The term weighs a few thousandths of the
    /// variance a bootstrap reads (the keyswitch and the modulus switch dominate), so the failure
    /// probability hardly depends on the fit.
    public static func fourierRoundingVariance(_ p: ParameterSet) -> Double {
        let n = Double(p.polynomialSize.value), k = Double(p.glweDimension.value), levels = Double(p.pbsLevels.value)
        let magnitude = n * levels * digitVariance(baseLog: p.pbsBaseLog) / 12
        return 2.4 * log2(n) * (k * n / 2 + 1) * magnitude * Double(sign: .plus, exponent: 128 - 106, significand: 1)
    }

    /// What one blind-rotation step adds with a GGSW of 0: key noise plus f64 rounding.
    public static func externalProductStepVariance(_ p: ParameterSet) -> Double {
        externalProductKeyVariance(p) + fourierRoundingVariance(p)
    }

    /// Modulus-switch rounding seen at the blind-rotation input, in units of 2^64/2N (our keyswitch
    /// output has 32 bits: each rounding error is uniform over 2^(32 − log2 2N) steps, variance
    /// 1/12 of a unit):
    /// - plain: (w + 1)/12 — each mask word's error times its key bit (w ones, n/2 expected) and
    ///   the body's;
    /// - centred: (n/4 + 1)/12 — the errors times s_i − 1/2 = ±1/2, and the body's.
    public static func modulusSwitchVariance(_ p: ParameterSet, _ kind: ModulusSwitch? = nil, keyWeight: Int? = nil) -> Double {
        let n = Double(p.lweDimension.value)
        switch kind ?? p.modulusSwitch {
        case .plain: return (Double(keyWeight ?? p.lweDimension.value / 2) + 1) / 12
        case .centered: return (n / 4 + 1) / 12
        }
    }

    /// The noisiest input a bootstrap of the comparison circuits reads: a sum of up to
    /// `maxNoiseLevel` bootstrap outputs, or a packed pair of fresh blocks (p·x₁ + x₀, squared norm
    /// p² + 1), whichever is larger.
    public static func circuitInputVariance(_ p: ParameterSet) -> Double {
        let pbs = bootstrapVariance(p, stepVariance: externalProductStepVariance(p))
        let m = Double(p.messageModulus.value)
        return max(Double(p.maxNoiseLevel) * pbs, (m * m + 1) * freshVariance(p))
    }

    /// Variance of the phase error the blind rotation reads, in units of 2^64/2N: the keyswitch
    /// output (from the noisiest circuit input) scaled down, plus the modulus switch.
    public static func blindRotationInputVariance(_ p: ParameterSet, _ kind: ModulusSwitch? = nil) -> Double {
        let unit = Double(sign: .plus, exponent: 64 - (p.polynomialSize.log2 + 1), significand: 1)
        return keyswitchVariance(p, inputVariance: circuitInputVariance(p)) / (unit * unit) + modulusSwitchVariance(p, kind)
    }

    /// Half of one value's box in the lookup table, in units of 2^64/2N: a box holds N/(p·q)
    /// coefficients, and the table is rotated by half a box so either side of the value tolerates
    /// N/(2·p·q) of error (64 for N = 2048, p·q = 16).
    public static func halfBox(_ p: ParameterSet) -> Double {
        Double(p.polynomialSize.value) / Double(2 * p.blockModulus)
    }

    /// log2 of the probability that one bootstrap reads the wrong box: the error, Gaussian with the
    /// variance above, reaches half a box on either side.
    public static func log2FailureProbability(_ p: ParameterSet, _ kind: ModulusSwitch? = nil) -> Double {
        let x = halfBox(p) / (2 * blindRotationInputVariance(p, kind)).squareRoot()
        return log2Erfc(x)
    }

    /// log2(erfc(x)) for x ≥ 0, also where erfc underflows (the asymptotic series then).
    static func log2Erfc(_ x: Double) -> Double {
        let value = erfc(x)
        if value > 1e-300 { return log2(value) }
        let series = 1 - 1 / (2 * x * x) + 3 / (4 * x * x * x * x)
        return (-x * x - log(x * Double.pi.squareRoot()) + log(series)) / log(2)
    }
}

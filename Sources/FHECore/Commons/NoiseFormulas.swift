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

    /// After keyswitching (big key, dimension k·N, to small key):
    ///   Var_in + (k·N/2)·Var_round + k·N·L·E[d²]·σ_lwe²
    /// (the rounding term counts the half of the binary key coefficients that are one).
    public static func keyswitchVariance(_ p: ParameterSet, inputVariance: Double) -> Double {
        let kn = Double(p.bigLweDimension.value), levels = Double(p.ksLevels.value)
        let sigma = p.lweNoise.inTorusUnits
        return inputVariance + kn / 2 * roundingVariance(baseLog: p.ksBaseLog, levels: p.ksLevels)
            + kn * levels * digitVariance(baseLog: p.ksBaseLog) * sigma * sigma
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

    /// Modulus-switch rounding seen at the blind-rotation input, in units of 2^64/2N:
    /// (n/2 + 1)·(1/12) from rounding each mask word and the body.
    public static func modulusSwitchVariance(_ p: ParameterSet) -> Double { (Double(p.lweDimension.value) / 2 + 1) / 12 }
}

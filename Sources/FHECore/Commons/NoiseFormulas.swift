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

    /// After a programmable bootstrap (output of sample extraction):
    ///   n·(k+1)·L·N·E[d²]·σ_glwe² + (n/2)·(k·N/2 + 1)·Var_round + n·(k+1)·L·(k·N/2 + 1)·Var_product
    /// Every external product adds the key noise of (k+1)·L·N digit×noise products; the n/2 steps
    /// whose key bit is one also add the decomposition rounding times the GLWE key; and each of the
    /// (k+1)·L Fourier-domain products of every step adds its f64 error Var_product
    /// (FourierRounding.measuredProductVariance) to every output polynomial — in the mask columns
    /// that error is multiplied by the binary GLWE key in the phase, hence the (k·N/2 + 1). For the
    /// legacy set the f64 term is as large as the rounding term (2^96.5 vs 2^96.95).
    public static func bootstrapVariance(_ p: ParameterSet, fourierProductVariance: Double) -> Double {
        let n = Double(p.lweDimension.value), g = Double(p.glweDimension.size.value)
        let levels = Double(p.pbsLevels.value), size = Double(p.polynomialSize.value)
        let k = Double(p.glweDimension.value)
        let sigma = p.glweNoise.inTorusUnits
        let keyTerm = n * g * levels * size * digitVariance(baseLog: p.pbsBaseLog) * sigma * sigma
        let roundTerm = n / 2 * (k * size / 2 + 1) * roundingVariance(baseLog: p.pbsBaseLog, levels: p.pbsLevels)
        let fourierTerm = n * g * levels * (k * size / 2 + 1) * fourierProductVariance
        return keyTerm + roundTerm + fourierTerm
    }

    /// Modulus-switch rounding seen at the blind-rotation input, in units of 2^64/2N:
    /// (n/2 + 1)·(1/12) from rounding each mask word and the body.
    public static func modulusSwitchVariance(_ p: ParameterSet) -> Double { (Double(p.lweDimension.value) / 2 + 1) / 12 }
}

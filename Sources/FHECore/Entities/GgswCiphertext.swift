/// A GGSW ciphertext of a small integer μ: for each decomposition level ℓ (1 … L) a matrix of k+1
/// GLWE rows, row r < k encrypting −μ·S_r·q/B^ℓ and row k encrypting μ·q/B^ℓ. The external
/// product with a GLWE encrypting M gives a GLWE encrypting μ·M (the CMux of blind rotation).
/// Stored as L × (k+1) rows × (k+1) polynomials × N words, level 1 first.
public struct GgswCiphertext: Hashable, Sendable {
    public let glweSize: GlweSize
    public let polynomialSize: PolynomialSize
    public let levels: DecompositionLevelCount
    public var words: [UInt64]

    public init(glweSize: GlweSize, polynomialSize: PolynomialSize, levels: DecompositionLevelCount) {
        self.glweSize = glweSize
        self.polynomialSize = polynomialSize
        self.levels = levels
        words = [UInt64](repeating: 0, count: levels.value * glweSize.value * glweSize.value * polynomialSize.value)
    }

    /// Words of one row (a GLWE ciphertext).
    var rowLength: Int { glweSize.value * polynomialSize.value }

    /// Index of the first word of row r of level matrix ℓ (0-based: ℓ = 0 is level 1).
    func rowOffset(level: Int, row: Int) -> Int { (level * glweSize.value + row) * rowLength }
}

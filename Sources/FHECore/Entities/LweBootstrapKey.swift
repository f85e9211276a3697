/// Bootstrapping key in the standard (coefficient) domain: GGSW_i = GGSW(s_i) under the GLWE key
/// for every coefficient s_i of the small LWE key. Generated here, then converted once to the
/// Fourier domain (``FourierBootstrapKey``), which is what blind rotation uses.
/// Layout: n GGSW ciphertexts back to back, each L × (k+1) × (k+1) × N words.
public final class LweBootstrapKey: @unchecked Sendable {
    public let inputLweDimension: LweDimension
    public let glweSize: GlweSize
    public let polynomialSize: PolynomialSize
    public let baseLog: DecompositionBaseLog
    public let levels: DecompositionLevelCount
    let storage: AlignedBuffer<UInt64>

    init(inputLweDimension: LweDimension, glweSize: GlweSize, polynomialSize: PolynomialSize,
         baseLog: DecompositionBaseLog, levels: DecompositionLevelCount) {
        self.inputLweDimension = inputLweDimension
        self.glweSize = glweSize
        self.polynomialSize = polynomialSize
        self.baseLog = baseLog
        self.levels = levels
        storage = AlignedBuffer(count: inputLweDimension.value * Self.ggswWords(glweSize, polynomialSize, levels))
    }

    static func ggswWords(_ g: GlweSize, _ n: PolynomialSize, _ l: DecompositionLevelCount) -> Int {
        l.value * g.value * g.value * n.value
    }

    var ggswWords: Int { Self.ggswWords(glweSize, polynomialSize, levels) }

    /// First word of GGSW i.
    func ggsw(_ i: Int) -> UnsafeMutablePointer<UInt64> { storage.pointer + i * ggswWords }
}

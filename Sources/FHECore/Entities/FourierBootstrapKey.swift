/// The bootstrapping key as blind rotation consumes it: every polynomial of every GGSW replaced by
/// its negacyclic spectrum (N doubles: N/2 real parts then N/2 imaginary parts, bit-reversed order),
/// as the torus fraction (coefficient · 2^−64). For n = 742, N = 2048 this is 48.6 MB.
/// Layout: GGSW i, level ℓ, row r, column c → spectrum at (((i·L + ℓ)·(k+1) + r)·(k+1) + c)·N.
public final class FourierBootstrapKey: @unchecked Sendable {
    public let inputLweDimension: LweDimension
    public let glweSize: GlweSize
    public let polynomialSize: PolynomialSize
    public let baseLog: DecompositionBaseLog
    public let levels: DecompositionLevelCount
    let storage: AlignedBuffer<Double>

    init(inputLweDimension: LweDimension, glweSize: GlweSize, polynomialSize: PolynomialSize,
         baseLog: DecompositionBaseLog, levels: DecompositionLevelCount) {
        self.inputLweDimension = inputLweDimension
        self.glweSize = glweSize
        self.polynomialSize = polynomialSize
        self.baseLog = baseLog
        self.levels = levels
        storage = AlignedBuffer(count: inputLweDimension.value * levels.value * glweSize.value * glweSize.value
                                    * polynomialSize.value)
    }

    /// Spectra per GGSW.
    var polynomialsPerGgsw: Int { levels.value * glweSize.value * glweSize.value }
    var ggswLength: Int { polynomialsPerGgsw * polynomialSize.value }

    /// First double of level matrix ℓ (0-based) of GGSW i.
    func levelMatrix(ggsw i: Int, level: Int) -> UnsafePointer<Double> {
        UnsafePointer(storage.pointer + i * ggswLength + level * glweSize.value * glweSize.value * polynomialSize.value)
    }

    /// Spectrum `index` (chunk order of the wire format: ((i·L + ℓ)·(k+1) + r)·(k+1) + c).
    func spectrum(_ index: Int) -> UnsafeMutablePointer<Double> { storage.pointer + index * polynomialSize.value }

    /// Size in bytes.
    public var byteCount: Int { storage.count * MemoryLayout<Double>.stride }
}

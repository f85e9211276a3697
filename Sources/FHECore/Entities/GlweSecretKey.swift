/// A uniform binary GLWE secret key: k polynomials S_0 … S_{k−1} of size N with 0/1 coefficients.
/// Read as a vector of k·N coefficients it is the "big" LWE key of KS_PBS ciphertexts.
public final class GlweSecretKey: @unchecked Sendable, CustomStringConvertible {
    public let glweDimension: GlweDimension
    public let polynomialSize: PolynomialSize
    let storage: AlignedBuffer<UInt64>

    init(glweDimension: GlweDimension, polynomialSize: PolynomialSize, storage: AlignedBuffer<UInt64>) {
        precondition(storage.count == glweDimension.value * polynomialSize.value)
        self.glweDimension = glweDimension
        self.polynomialSize = polynomialSize
        self.storage = storage
    }

    public static func generate(glweDimension: GlweDimension, polynomialSize: PolynomialSize,
                                using rng: CSPRNG) -> GlweSecretKey {
        let storage = AlignedBuffer<UInt64>(count: glweDimension.value * polynomialSize.value, sensitive: true)
        rng.fillBinary(storage.buffer)
        return GlweSecretKey(glweDimension: glweDimension, polynomialSize: polynomialSize, storage: storage)
    }

    public static func fromCoefficients(_ coefficients: some Collection<UInt64>, glweDimension: GlweDimension,
                                        polynomialSize: PolynomialSize) throws -> GlweSecretKey {
        let key = try LweSecretKey.fromCoefficients(coefficients)
        guard key.dimension.value == glweDimension.value * polynomialSize.value else {
            throw FHECoreError.parameterMismatch(field: "GLWE secret key length",
                                                 expected: "\(glweDimension.value * polynomialSize.value)",
                                                 found: "\(key.dimension.value)")
        }
        return GlweSecretKey(glweDimension: glweDimension, polynomialSize: polynomialSize, storage: key.storage)
    }

    /// The same coefficients as an LWE key of dimension k·N (shares storage).
    public var asLweSecretKey: LweSecretKey {
        LweSecretKey(dimension: LweDimension(storage.count), storage: storage)
    }

    /// Polynomial j of the key.
    func polynomial(_ j: Int) -> UnsafePointer<UInt64> { UnsafePointer(storage.pointer + j * polynomialSize.value) }

    public var description: String {
        "GlweSecretKey(k: \(glweDimension), N: \(polynomialSize), coefficients: <redacted>)"
    }
}

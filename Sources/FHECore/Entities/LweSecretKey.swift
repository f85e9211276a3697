/// A uniform binary LWE secret key s ∈ {0,1}^n.
///
/// Key material: not Codable, never printed (its description is redacted), and its memory is wiped
/// when the last reference goes away.
public final class LweSecretKey: @unchecked Sendable, CustomStringConvertible {
    public let dimension: LweDimension
    let storage: AlignedBuffer<UInt64>

    init(dimension: LweDimension, storage: AlignedBuffer<UInt64>) {
        precondition(storage.count == dimension.value)
        self.dimension = dimension
        self.storage = storage
    }

    /// A fresh key from the secret-key generator.
    public static func generate(dimension: LweDimension, using rng: CSPRNG) -> LweSecretKey {
        let storage = AlignedBuffer<UInt64>(count: dimension.value, sensitive: true)
        rng.fillBinary(storage.buffer)
        return LweSecretKey(dimension: dimension, storage: storage)
    }

    /// A key from decoded coefficients, which must all be 0 or 1.
    public static func fromCoefficients(_ coefficients: some Collection<UInt64>) throws -> LweSecretKey {
        let storage = AlignedBuffer<UInt64>(count: coefficients.count, sensitive: true)
        for (i, c) in coefficients.enumerated() {
            guard c <= 1 else {
                throw FHECoreError.malformed(field: "LWE secret key coefficient", offset: i * 8, reason: "not binary")
            }
            storage[i] = c
        }
        return LweSecretKey(dimension: LweDimension(coefficients.count), storage: storage)
    }

    /// Calls body with the coefficients; do not let the pointer escape.
    public func withCoefficients<R>(_ body: (UnsafeBufferPointer<UInt64>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(storage.buffer))
    }

    public var description: String { "LweSecretKey(dimension: \(dimension), coefficients: <redacted>)" }
}

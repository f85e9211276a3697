/// A GLWE ciphertext (A_0 … A_{k−1}, B) of polynomials in Z_{2^64}[X]/(X^N + 1) with phase
/// B − Σ A_c·S_c. Stored as (k+1)·N words, mask polynomials first, body last.
public struct GlweCiphertext: Hashable, Sendable {
    public let glweSize: GlweSize
    public let polynomialSize: PolynomialSize
    public var words: [UInt64]

    public init(glweSize: GlweSize, polynomialSize: PolynomialSize) {
        self.glweSize = glweSize
        self.polynomialSize = polynomialSize
        words = [UInt64](repeating: 0, count: glweSize.value * polynomialSize.value)
    }

    /// A noiseless encryption of `body` (all masks zero): how an accumulator starts.
    public init(trivialBody body: Polynomial, glweSize: GlweSize) {
        self.init(glweSize: glweSize, polynomialSize: PolynomialSize(body.coefficients.count))
        words.replaceSubrange((glweSize.value - 1) * polynomialSize.value..<words.count, with: body.coefficients)
    }

    /// Polynomial c (c < k is a mask, c = k the body).
    public func polynomial(_ c: Int) -> Polynomial {
        Polynomial(Array(words[(c * polynomialSize.value)..<((c + 1) * polynomialSize.value)]))
    }
}

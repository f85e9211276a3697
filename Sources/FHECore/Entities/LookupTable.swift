/// The accumulator of a programmable bootstrap for a function f on block values [0, p·q).
///
/// Each value v owns a box of N/(p·q) coefficients holding f(v)·Δ; the table is then rotated by
/// half a box (the first half box negated, as X^{-N/2p·q} does) so that noise on either side of v·Δ
/// lands in v's box. An input with the padding bit set reads the negacyclic image −f(v − p·q)·Δ,
/// which the comparison algorithms use on purpose. Identical to tfhe-rs's `fill_accumulator`.
public struct LookupTable: Hashable, Sendable {
    /// The body polynomial of the trivial GLWE accumulator (masks are zero).
    public let body: Polynomial
    /// The largest value f takes (tfhe-rs's "degree" of the result).
    public private(set) var degree: Int

    /// f is evaluated on every v in [0, message·carry); its values are taken modulo 2·message·carry
    /// (the padding bit included).
    public init(parameters: ParameterSet, function f: (Int) -> Int) {
        var maxValue = 0
        self.init(parameters: parameters, degree: 0) { value in
            let fv = f(value)
            maxValue = max(maxValue, fv)
            return UInt64(truncatingIfNeeded: fv) &* parameters.delta
        }
        degree = maxValue
    }

    /// A table from raw torus outputs: box v ∈ [0, p·q) holds `torusOutput(v)`. Outputs need not be
    /// multiples of Δ (the comparison circuits use ±Δ/2 and weighted signs).
    public init(parameters: ParameterSet, degree: Int, torusOutput: (Int) -> UInt64) {
        let n = parameters.polynomialSize.value, box = parameters.lookupBoxSize
        let p = parameters.blockModulus
        var v = [UInt64](repeating: 0, count: n)
        for value in 0..<p {
            let encoded = torusOutput(value)
            for j in (value * box)..<((value + 1) * box) { v[j] = encoded }
        }
        let half = box / 2
        for j in 0..<half { v[j] = 0 &- v[j] }
        body = Polynomial(Array(v[half...] + v[..<half]))
        self.degree = degree
    }

    /// The value f(v)·Δ the table yields for a noiseless input of modulus-switched phase ψ ∈ [0, 2N).
    func output(forSwitchedPhase psi: Int) -> UInt64 {
        let n = body.coefficients.count
        return psi < n ? body.coefficients[psi] : 0 &- body.coefficients[psi - n]
    }
}

internal import CFHEShim

/// A polynomial of Z_{2^64}[X]/(X^N + 1) (torus coefficients, wrapping arithmetic).
public struct Polynomial: Hashable, Sendable {
    public var coefficients: [UInt64]

    public init(_ coefficients: [UInt64]) { self.coefficients = coefficients }
    public init(size: PolynomialSize) { coefficients = [UInt64](repeating: 0, count: size.value) }

    public var size: PolynomialSize { PolynomialSize(coefficients.count) }

    /// self · X^k for any integer k (negacyclic: X^N = −1).
    public func multipliedByMonomial(_ k: Int) -> Polynomial {
        let n = coefficients.count
        let e = ((k % (2 * n)) + 2 * n) % (2 * n)
        var out = [UInt64](repeating: 0, count: n)
        cfhe_poly_mul_monomial(&out, coefficients, n, e)
        return Polynomial(out)
    }

    public static func + (a: Polynomial, b: Polynomial) -> Polynomial {
        var out = a.coefficients
        cfhe_poly_add_assign(&out, b.coefficients, out.count)
        return Polynomial(out)
    }

    public static func - (a: Polynomial, b: Polynomial) -> Polynomial {
        var out = a.coefficients
        cfhe_poly_sub_assign(&out, b.coefficients, out.count)
        return Polynomial(out)
    }
}

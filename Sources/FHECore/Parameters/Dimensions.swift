/// One type per dimension, so an LWE size can never be passed where a dimension is expected
/// (the classic off-by-one of LWE code: a ciphertext of dimension n has n + 1 words).

/// Number of mask coefficients of an LWE ciphertext (and coefficients of its secret key).
public struct LweDimension: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let value: Int
    public init(_ value: Int) {
        precondition(value > 0, "LWE dimension must be positive, got \(value)")
        self.value = value
    }
    /// Words of a ciphertext: mask plus body.
    public var size: LweSize { LweSize(value + 1) }
    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }
    public var description: String { "\(value)" }
}

/// Words of an LWE ciphertext: dimension + 1.
public struct LweSize: Hashable, Sendable, CustomStringConvertible {
    public let value: Int
    public init(_ value: Int) {
        precondition(value > 1, "LWE size must exceed 1, got \(value)")
        self.value = value
    }
    public var dimension: LweDimension { LweDimension(value - 1) }
    public var description: String { "\(value)" }
}

/// Number of mask polynomials of a GLWE ciphertext (k).
public struct GlweDimension: Hashable, Sendable, CustomStringConvertible {
    public let value: Int
    public init(_ value: Int) {
        precondition(value > 0, "GLWE dimension must be positive, got \(value)")
        self.value = value
    }
    /// Polynomials of a ciphertext: k masks plus the body.
    public var size: GlweSize { GlweSize(value + 1) }
    public var description: String { "\(value)" }
}

/// Polynomials of a GLWE ciphertext: dimension + 1.
public struct GlweSize: Hashable, Sendable, CustomStringConvertible {
    public let value: Int
    public init(_ value: Int) { self.value = value }
    public var dimension: GlweDimension { GlweDimension(value - 1) }
    public var description: String { "\(value)" }
}

/// Coefficients of a polynomial of Z[X]/(X^N + 1); a power of two.
public struct PolynomialSize: Hashable, Sendable, CustomStringConvertible {
    public let value: Int
    public init(_ value: Int) {
        precondition(value >= 32 && value <= 65536 && value & (value - 1) == 0,
                     "polynomial size must be a power of two in 32...65536, got \(value)")
        self.value = value
    }
    public var log2: Int { value.trailingZeroBitCount }
    /// Complex values of the folded spectrum (N/2).
    public var fourierSize: Int { value / 2 }
    public var description: String { "\(value)" }
}

/// log2 of the gadget decomposition base B.
public struct DecompositionBaseLog: Hashable, Sendable, CustomStringConvertible {
    public let value: Int
    public init(_ value: Int) {
        precondition(value > 0 && value < 64, "decomposition base log must be in 1...63, got \(value)")
        self.value = value
    }
    public var description: String { "\(value)" }
}

/// Number of levels L of a gadget decomposition.
public struct DecompositionLevelCount: Hashable, Sendable, CustomStringConvertible {
    public let value: Int
    public init(_ value: Int) {
        precondition(value > 0 && value < 64, "decomposition level count must be in 1...63, got \(value)")
        self.value = value
    }
    public var description: String { "\(value)" }
}

/// Values a block's message part can take (2^message bits).
public struct MessageModulus: Hashable, Sendable, CustomStringConvertible {
    public let value: Int
    public init(_ value: Int) {
        precondition(value >= 2 && value & (value - 1) == 0, "message modulus must be a power of two >= 2")
        self.value = value
    }
    public var description: String { "\(value)" }
}

/// Values a block's carry part can take.
public struct CarryModulus: Hashable, Sendable, CustomStringConvertible {
    public let value: Int
    public init(_ value: Int) {
        precondition(value >= 1 && value & (value - 1) == 0, "carry modulus must be a power of two >= 1")
        self.value = value
    }
    public var description: String { "\(value)" }
}

/// Standard deviation of Gaussian noise as a fraction of the torus [0, 1).
public struct NoiseStandardDeviation: Hashable, Sendable, CustomStringConvertible {
    public let fractionOfTorus: Double
    public init(_ fractionOfTorus: Double) {
        precondition(fractionOfTorus > 0 && fractionOfTorus < 0.5, "noise std dev must be in (0, 0.5)")
        self.fractionOfTorus = fractionOfTorus
    }
    /// The same deviation in units of the 2^64 integer torus.
    public var inTorusUnits: Double { fractionOfTorus * 0x1p64 }
    public var log2InTorusUnits: Double { Foundation.log2(inTorusUnits) }
    public var description: String { "\(fractionOfTorus)" }
}

import Foundation

/// An LWE ciphertext (a_0 … a_{n−1}, b) over Z/2^64 with phase b − Σ a_i·s_i.
/// Stored as n + 1 words, body last (the tfhe-rs layout, so wire conversion is a copy).
public struct LweCiphertext: Hashable, Sendable {
    public var words: [UInt64]

    public init(words: [UInt64]) {
        precondition(words.count >= 2, "an LWE ciphertext has at least one mask word and a body")
        self.words = words
    }

    /// The all-zero ciphertext of the given dimension.
    public init(dimension: LweDimension) { words = [UInt64](repeating: 0, count: dimension.size.value) }

    /// A noiseless encryption of `plaintext` (mask zero): decrypts under any key.
    public static func trivial(_ plaintext: UInt64, dimension: LweDimension) -> LweCiphertext {
        var ct = LweCiphertext(dimension: dimension)
        ct.body = plaintext
        return ct
    }

    public var dimension: LweDimension { LweDimension(words.count - 1) }

    public var body: UInt64 {
        get { words[words.count - 1] }
        set { words[words.count - 1] = newValue }
    }

    /// True when every mask word is zero (the ciphertext carries its plaintext in the clear).
    public var isTrivial: Bool { words.dropLast().allSatisfy { $0 == 0 } }
}

/// Block encoding with a padding bit (tfhe-rs shortint): a value m ∈ [0, p·q) becomes m·Δ with
/// Δ = 2^63/(p·q); the top bit stays free so that lookups can read "negative" values.
extension ParameterSet {
    /// The torus plaintext of block value m (taken modulo 2·p·q, i.e. the padding bit included).
    public func encode(_ m: Int) -> UInt64 { UInt64(truncatingIfNeeded: m) &* delta }

    /// The block value of a phase: rounded to the nearest multiple of Δ (ties up), in [0, 2·p·q)
    /// (values ≥ p·q have the padding bit set).
    public func decode(_ phase: UInt64) -> Int {
        let rounded = phase &+ delta / 2
        return Int(rounded / delta) % (2 * blockModulus)
    }

    /// Signed distance of a phase from the nearest multiple of Δ (the noise of a correct decryption).
    public func decodingError(_ phase: UInt64) -> Int64 {
        let value = UInt64(decode(phase))
        return Int64(bitPattern: phase &- value &* delta)
    }
}

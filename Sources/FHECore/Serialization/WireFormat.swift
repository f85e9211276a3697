/// The two forms keys and ciphertexts travel in. Reading is ``UntrustedInput``'s job (it detects
/// the form); writing a price bound goes through here, so that every client tool encrypts a bound
/// the one way the executor will read it back.
public enum WireFormat: String, Sendable, CaseIterable {
    /// The project's container (docs/native-format.md): seeded, checksummed, ~240 B per bound.
    case native
    /// The original engine's tfhe-rs 0.5 bincode (a bound is 16 full LWE ciphertexts, ~260 KB).
    case tfheRs05 = "tfhe-rs-0.5"

    /// A fresh encryption of a price bound — a u32 in cents, as many blocks as the parameter set's
    /// message modulus needs (16 at 2 bits) — serialized in this form.
    public func encryptPriceBound(_ cents: UInt32, with client: ClientKey, using rng: CSPRNG) -> [UInt8] {
        let p = client.parameters
        let blocks = UntrustedInput.priceBoundBlockCount(p)
        switch self {
        case .native: return NativeFormat.encode(client.encryptSeeded(UInt64(cents), blockCount: blocks, using: rng), parameters: p)
        case .tfheRs05: return TfheRs05.encodeRadixCiphertext(client.encryptRadix(UInt64(cents), blockCount: blocks, using: rng), parameters: p)
        }
    }
}

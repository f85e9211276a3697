import CFHEShim
import FHECore

/// Keccak-256, Ethereum's hash (not FIPS SHA3-256: the padding differs).
enum Keccak {
    static func hash256(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        let input = Array(bytes)
        input.withUnsafeBufferPointer { cfhe_keccak256($0.baseAddress, $0.count, &out) }
        return out
    }

    /// The 4-byte function selector of a canonical signature such as `verify(address,uint256)`.
    static func selector(_ signature: String) -> [UInt8] { Array(hash256(Array(signature.utf8)).prefix(4)) }
}

/// Chain data's hex: FHECore's `Hex` with Ethereum's optional `0x` prefix.
enum HexString {
    static func encode(_ bytes: some Collection<UInt8>, prefix: Bool = true) -> String { (prefix ? "0x" : "") + Hex.encode(bytes) }

    /// Bytes of `0x…` (or bare) hex; nil for odd length or a non-hex digit.
    static func decode(_ text: String) -> [UInt8]? {
        try? Hex.decode(text.hasPrefix("0x") || text.hasPrefix("0X") ? String(text.dropFirst(2)) : text)
    }
}

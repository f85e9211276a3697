import CFHEShim

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

/// Lowercase hex with and without the 0x prefix, and its strict parser (chain data is always hex).
enum HexString {
    static func encode(_ bytes: some Sequence<UInt8>, prefix: Bool = true) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        if prefix { out += [UInt8(ascii: "0"), UInt8(ascii: "x")] }
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Bytes of `0x…` (or bare) hex; nil for odd length or a non-hex digit.
    static func decode(_ text: String) -> [UInt8]? {
        var utf8 = Substring(text).utf8[...]
        if utf8.starts(with: "0x".utf8) || utf8.starts(with: "0X".utf8) { utf8 = utf8.dropFirst(2) }
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var high: UInt8?
        for c in utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }
}

/// Lowercase/uppercase hex text ⇄ bytes, for the original system's wire form (the lowercase hex of
/// bincode bytes). Table-driven; a 219 MB server key decodes in a fraction of a second.
public enum Hex {
    /// 0…15 for a hex digit, 0xFF otherwise.
    static let digitValue: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "0123456789abcdef".utf8.enumerated() { table[Int(c)] = UInt8(i) }
        for (i, c) in "ABCDEF".utf8.enumerated() { table[Int(c)] = UInt8(10 + i) }
        return table
    }()

    /// Byte value of two hex characters read as one little-endian UInt16, or 0xFFFF: one lookup
    /// per output byte on the hot path (a 219 MB server key).
    static let pairValue: [UInt16] = {
        var table = [UInt16](repeating: 0xFFFF, count: 65536)
        for hi in 0..<256 where digitValue[hi] != 0xFF {
            for lo in 0..<256 where digitValue[lo] != 0xFF {
                table[hi | lo << 8] = UInt16(digitValue[hi]) << 4 | UInt16(digitValue[lo])
            }
        }
        return table
    }()

    /// Decodes `count` bytes of hex text at `text` into `out`; returns the index of the first bad
    /// pair, or nil.
    @inline(__always)
    static func decodePairs(_ text: UnsafeRawPointer, count: Int, into out: UnsafeMutableRawPointer) -> Int? {
        pairValue.withUnsafeBufferPointer { table in
            var bad: UInt16 = 0
            for i in 0..<count {
                let v = table[Int(text.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian)]
                bad |= v
                out.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: i, as: UInt8.self)
            }
            guard bad & 0xFF00 != 0 else { return nil }
            return (0..<count).first { table[Int(text.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self).littleEndian)] == 0xFFFF }
        }
    }

    /// Decodes hex text. Throws a typed error naming the offset of the first bad character.
    public static func decode(_ text: UnsafeRawBufferPointer, field: String = "hex") throws -> [UInt8] {
        guard text.count % 2 == 0 else {
            throw FHECoreError.malformed(field: field, offset: text.count, reason: "odd number of hex digits")
        }
        var out = [UInt8](repeating: 0, count: text.count / 2)
        let bad = out.withUnsafeMutableBytes { o in decodePairs(text.baseAddress!, count: o.count, into: o.baseAddress!) }
        if let bad { throw FHECoreError.malformed(field: field, offset: 2 * bad, reason: "not a hex digit") }
        return out
    }

    public static func decode(_ text: String, field: String = "hex") throws -> [UInt8] {
        var text = text
        return try text.withUTF8 { try decode(UnsafeRawBufferPointer($0), field: field) }
    }

    /// Lowercase hex, as the Rust `hex` crate writes.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// True when `data` looks like hex text rather than raw bincode: every byte a hex digit (after
    /// trailing whitespace is ignored). Genuine bincode blobs start with a length whose bytes are
    /// not all hex digits (0x10 0x00…, 0x00 0x18…), so the test is unambiguous for them.
    public static func looksLikeHex(_ data: UnsafeRawBufferPointer) -> Bool {
        var end = data.count
        while end > 0, [0x0A, 0x0D, 0x20, 0x09].contains(data[end - 1]) { end -= 1 }
        guard end > 0, end % 2 == 0 else { return false }
        let table = digitValue
        for i in 0..<min(end, 4096) where table[Int(data[i])] == 0xFF { return false }
        return true
    }
}

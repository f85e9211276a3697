/// A bounds-checked reader of bincode 1.3 fixint little-endian data: every read names the field
/// it decodes and throws ``FHECoreError/malformed(field:offset:reason:)`` instead of trapping.
struct BincodeReader {
    /// The input: raw bincode bytes, or their hex text (two characters per byte) decoded on the fly
    /// so a 219 MB hex server key never needs a second 110 MB copy.
    let bytes: UnsafeRawBufferPointer
    let isHex: Bool
    /// Offset in decoded bytes (error messages use it; for hex input the text offset is twice it).
    private(set) var offset = 0
    let count: Int

    init(_ bytes: UnsafeRawBufferPointer, hex: Bool = false) {
        self.bytes = bytes
        isHex = hex
        count = hex ? bytes.count / 2 : bytes.count
    }

    var remaining: Int { count - offset }

    mutating func require(_ n: Int, _ field: String) throws {
        guard n >= 0, remaining >= n else {
            throw FHECoreError.malformed(field: field, offset: offset,
                                         reason: "needs \(n) bytes, \(remaining) left (truncated input)")
        }
    }

    /// Reads `width` bytes little-endian (width ≤ 8); the caller checked the bounds.
    @inline(__always)
    private func load(_ at: Int, width: Int) throws -> UInt64 {
        var v: UInt64 = 0
        try withUnsafeMutableBytes(of: &v) { try copy(at, count: width, into: $0.baseAddress!) }
        return UInt64(littleEndian: v)
    }

    /// Copies `count` decoded bytes starting at `at` into `out`; the caller checked the bounds.
    @inline(__always)
    private func copy(_ at: Int, count: Int, into out: UnsafeMutableRawPointer) throws {
        if !isHex {
            out.copyMemory(from: bytes.baseAddress! + at, byteCount: count)
            return
        }
        if let bad = Hex.decodePairs(bytes.baseAddress! + 2 * at, count: count, into: out) {
            throw FHECoreError.malformed(field: "hex text", offset: 2 * (at + bad), reason: "not a hex digit")
        }
    }

    mutating func u64(_ field: String) throws -> UInt64 {
        try require(8, field)
        let v = try load(offset, width: 8)
        offset += 8
        return v
    }

    mutating func u32(_ field: String) throws -> UInt32 {
        try require(4, field)
        let v = try load(offset, width: 4)
        offset += 4
        return UInt32(v)
    }

    mutating func f64(_ field: String) throws -> Double {
        Double(bitPattern: try u64(field))
    }

    /// A u64 that must equal `expected`.
    mutating func expect(_ expected: UInt64, _ field: String) throws {
        let at = offset
        let v = try u64(field)
        guard v == expected else {
            throw FHECoreError.malformed(field: field, offset: at, reason: "expected \(expected), found \(v)")
        }
    }

    mutating func expectU32(_ expected: UInt32, _ field: String) throws {
        let at = offset
        let v = try u32(field)
        guard v == expected else {
            throw FHECoreError.malformed(field: field, offset: at, reason: "expected tag \(expected), found \(v)")
        }
    }

    /// A u64 element count bounded by `limit` (so a hostile length cannot request huge memory).
    mutating func length(_ field: String, limit: Int) throws -> Int {
        let at = offset
        let v = try u64(field)
        guard v <= UInt64(limit) else {
            throw FHECoreError.malformed(field: field, offset: at, reason: "length \(v) exceeds \(limit)")
        }
        return Int(v)
    }

    /// `CiphertextModulus<u64>`: u128 modulus (0 = native, or 2^64) then u64 scalar bits = 64.
    mutating func nativeModulus(_ field: String) throws {
        let at = offset
        let low = try u64(field + " modulus"), high = try u64(field + " modulus")
        let bits = try u64(field + " scalar bits")
        let native = (low == 0 && high == 0) || (low == 0 && high == 1)
        guard native, bits == 64 else {
            throw FHECoreError.malformed(field: field + " ciphertext modulus", offset: at,
                                         reason: "only the native 2^64 modulus is supported")
        }
    }

    /// Reads `n` u64 words into `out` (one bounds check for the run).
    mutating func words(_ n: Int, into out: UnsafeMutablePointer<UInt64>, _ field: String) throws {
        try require(n * 8, field)
        try copy(offset, count: n * 8, into: UnsafeMutableRawPointer(out))
        #if _endian(big)
        for i in 0..<n { out[i] = UInt64(littleEndian: out[i]) }
        #endif
        offset += n * 8
    }

    /// The input must be consumed exactly (bincode::deserialize allows trailing bytes, but a
    /// well-formed payload from the original system has none, and extra bytes mean another format).
    func expectEnd(_ what: String) throws {
        guard remaining == 0 else {
            throw FHECoreError.malformed(field: what, offset: offset, reason: "\(remaining) unexpected trailing bytes")
        }
    }
}

/// The mirror image: appends bincode fixint little-endian values.
struct BincodeWriter {
    var bytes: [UInt8] = []

    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func f64(_ v: Double) { u64(v.bitPattern) }
    mutating func nativeModulus() { u64(0); u64(0); u64(64) }
    mutating func words(_ w: UnsafeBufferPointer<UInt64>) {
        for v in w { u64(v) }
    }
}

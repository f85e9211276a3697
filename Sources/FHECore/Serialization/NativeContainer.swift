internal import CFHEShim

/// The project's native binary format (docs/native-format.md): a versioned, checksummed container
///
///     "SYPHFHE1" | kind u8 | name length u8 | parameter-set name | payload length u64 LE | payload | SHA-256
///
/// where the SHA-256 covers every byte before it. Kinds: 1 client key, 2 seeded evaluation key,
/// 3 seeded radix ciphertext, 4 seeded decision key, 5 decision-key share (custody; the parameter
/// set named is the evaluation set). Decoding validates magic, version, kind, parameter set, lengths and
/// checksum before anything is used, and throws FHECoreError naming the field and offset.
public enum NativeFormat {
    public static let magic = Array("SYPHFHE1".utf8)

    public enum Kind: UInt8, Sendable {
        case clientKey = 1, evaluationKey = 2, radixCiphertext = 3, decisionKey = 4, decisionKeyShare = 5
    }

    public static func sha256(_ bytes: some Collection<UInt8>) -> [UInt8] {
        if let digest = bytes.withContiguousStorageIfAvailable({ sha256(UnsafeRawBufferPointer($0)) }) { return digest }
        return Array(bytes).withUnsafeBytes { sha256($0) }
    }

    /// The SHA-256 of bytes in place (no copy: a container may hold a client key or a share).
    static func sha256(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        precondition(cfhe_sha256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, &out) == 1)
        return out
    }

    /// Built in one buffer sized up front: a key's payload (client key, share) is copied once, into
    /// the container, and no intermediate array is left behind unwiped.
    static func seal(_ kind: Kind, _ parameters: ParameterSet, _ payload: BincodeWriter) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(magic.count + 2 + parameters.name.utf8.count + 8 + payload.bytes.count + 32)
        out += magic
        out += [kind.rawValue, UInt8(parameters.name.utf8.count)]
        out += Array(parameters.name.utf8)
        withUnsafeBytes(of: UInt64(payload.bytes.count).littleEndian) { out.append(contentsOf: $0) }
        out += payload.bytes
        out.append(contentsOf: sha256(out))
        return out
    }

    /// Kind and parameter set of a container, after checking magic, lengths and checksum.
    public static func open(_ data: UnsafeRawBufferPointer, allowInsecureTestParameters: Bool = false) throws
        -> (kind: Kind, parameters: ParameterSet, payload: UnsafeRawBufferPointer) {
        // Read in place: a copy of a client key or a share would be freed unwiped, and a decision
        // key's copy would double its 113 MB.
        let bytes = data
        guard bytes.count >= magic.count + 2 + 8 + 32, bytes.prefix(magic.count).elementsEqual(magic) else {
            throw FHECoreError.unsupportedFormat("not a native container (magic SYPHFHE1 missing or truncated)")
        }
        guard let kind = Kind(rawValue: bytes[8]) else {
            throw FHECoreError.malformed(field: "container kind", offset: 8, reason: "unknown kind \(bytes[8])")
        }
        let nameLength = Int(bytes[9])
        guard bytes.count >= 10 + nameLength + 8 + 32 else {
            throw FHECoreError.malformed(field: "parameter set name", offset: 10, reason: "truncated")
        }
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[10..<(10 + nameLength)]), as: UTF8.self)
        let candidates = ParameterSet.available(allowInsecureTestParameters: allowInsecureTestParameters)
        guard let parameters = candidates.first(where: { $0.name == name }) else {
            throw FHECoreError.parameterMismatch(field: "parameter set", expected: candidates.map(\.name).joined(separator: " or "),
                                                 found: String(name.prefix(64)))
        }
        let lengthAt = 10 + nameLength
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[lengthAt + i]) << UInt64(8 * i) }
        guard length == UInt64(bytes.count - lengthAt - 8 - 32) else {
            throw FHECoreError.malformed(field: "payload length", offset: lengthAt,
                                         reason: "declares \(length) bytes, container holds \(bytes.count - lengthAt - 8 - 32)")
        }
        guard sha256(UnsafeRawBufferPointer(rebasing: bytes.dropLast(32))).elementsEqual(bytes.suffix(32)) else {
            throw FHECoreError.malformed(field: "checksum", offset: bytes.count - 32, reason: "SHA-256 mismatch (corrupted)")
        }
        let start = lengthAt + 8
        return (kind, parameters, UnsafeRawBufferPointer(rebasing: data[start..<(start + Int(length))]))
    }

    static func expect(_ kind: Kind, _ found: Kind) throws {
        guard kind == found else {
            throw FHECoreError.parameterMismatch(field: "container kind", expected: "\(kind)", found: "\(found)")
        }
    }

    // MARK: - Client key

    public static func encode(_ key: ClientKey) -> [UInt8] {
        var w = BincodeWriter()
        for buffer in [key.glweSecretKey.storage, key.lweSecretKey.storage] {
            var packed = [UInt8](repeating: 0, count: (buffer.count + 7) / 8)
            for i in 0..<buffer.count { packed[i / 8] |= UInt8(buffer[i] & 1) << UInt8(i % 8) }
            w.bytes += packed
            wipeMemory(&packed, packed.count)
        }
        return seal(.clientKey, key.parameters, w)
    }

    public static func decodeClientKey(_ data: UnsafeRawBufferPointer, allowInsecureTestParameters: Bool = false) throws -> ClientKey {
        let (kind, p, payload) = try open(data, allowInsecureTestParameters: allowInsecureTestParameters)
        try expect(.clientKey, kind)
        let big = p.bigLweDimension.value, n = p.lweDimension.value
        guard payload.count == (big + 7) / 8 + (n + 7) / 8 else {
            throw FHECoreError.malformed(field: "client key payload", offset: 0, reason: "wrong length for \(p.name)")
        }
        func bits(_ from: Int, _ count: Int) -> [UInt64] { (0..<count).map { UInt64(payload[from + $0 / 8] >> UInt8($0 % 8)) & 1 } }
        var glweBits = bits(0, big), lweBits = bits((big + 7) / 8, n)
        defer { wipeMemory(&glweBits, glweBits.count * 8); wipeMemory(&lweBits, lweBits.count * 8) }
        return try ClientKey(parameters: p,
                             glweSecretKey: try GlweSecretKey.fromCoefficients(glweBits, glweDimension: p.glweDimension,
                                                                               polynomialSize: p.polynomialSize),
                             lweSecretKey: try LweSecretKey.fromCoefficients(lweBits))
    }

    // MARK: - Evaluation key

    public static func encode(_ key: SeededEvaluationKey) -> [UInt8] {
        var w = BincodeWriter()
        w.bytes += key.maskSeed
        w.u64(UInt64(key.keyswitchBodies.count))
        key.keyswitchBodies.withUnsafeBufferPointer { w.words($0) }
        w.u64(UInt64(key.bootstrapBodies.count))
        key.bootstrapBodies.withUnsafeBufferPointer { w.words($0) }
        return seal(.evaluationKey, key.parameters, w)
    }

    public static func decodeEvaluationKey(_ data: UnsafeRawBufferPointer, allowInsecureTestParameters: Bool = false) throws
        -> SeededEvaluationKey {
        let (kind, p, payload) = try open(data, allowInsecureTestParameters: allowInsecureTestParameters)
        try expect(.evaluationKey, kind)
        guard payload.count >= 32 else { throw FHECoreError.malformed(field: "mask seed", offset: 0, reason: "truncated") }
        let seed = Array(UnsafeRawBufferPointer(rebasing: payload[0..<32]))
        var reader = BincodeReader(UnsafeRawBufferPointer(rebasing: payload[32...]))
        let ks = p.bigLweDimension.value * p.ksLevels.value
        try reader.expect(UInt64(ks), "keyswitch body count")
        var ksBodies = [UInt64](repeating: 0, count: ks)
        try ksBodies.withUnsafeMutableBufferPointer { try reader.words(ks, into: $0.baseAddress!, "keyswitch bodies") }
        let bs = p.lweDimension.value * p.pbsLevels.value * p.glweDimension.size.value * p.polynomialSize.value
        try reader.expect(UInt64(bs), "bootstrap body count")
        var bsBodies = [UInt64](repeating: 0, count: bs)
        try bsBodies.withUnsafeMutableBufferPointer { try reader.words(bs, into: $0.baseAddress!, "bootstrap bodies") }
        try reader.expectEnd("evaluation key")
        return SeededEvaluationKey(parameters: p, maskSeed: seed, keyswitchBodies: ksBodies, bootstrapBodies: bsBodies)
    }

    // MARK: - Decision key and its shares (custody)

    public static func encode(_ key: SeededDecisionKey) -> [UInt8] {
        var w = BincodeWriter()
        w.bytes += key.maskSeed
        w.u64(UInt64(key.bootstrapBodies.count))
        key.bootstrapBodies.withUnsafeBufferPointer { w.words($0) }
        return seal(.decisionKey, key.custody.evaluation, w)
    }

    public static func decodeDecisionKey(_ data: UnsafeRawBufferPointer, allowInsecureTestParameters: Bool = false) throws
        -> SeededDecisionKey {
        let (kind, p, payload) = try open(data, allowInsecureTestParameters: allowInsecureTestParameters)
        try expect(.decisionKey, kind)
        let custody = CustodyParameters(evaluation: p), d = custody.decision
        guard payload.count >= 32 else { throw FHECoreError.malformed(field: "mask seed", offset: 0, reason: "truncated") }
        var reader = BincodeReader(UnsafeRawBufferPointer(rebasing: payload[32...]))
        let count = d.lweDimension.value * d.pbsLevels.value * d.glweDimension.size.value * d.polynomialSize.value
        try reader.expect(UInt64(count), "decision key body count")
        var bodies = [UInt64](repeating: 0, count: count)
        try bodies.withUnsafeMutableBufferPointer { try reader.words(count, into: $0.baseAddress!, "decision key bodies") }
        try reader.expectEnd("decision key")
        return SeededDecisionKey(custody: custody, maskSeed: Array(UnsafeRawBufferPointer(rebasing: payload[0..<32])), bootstrapBodies: bodies)
    }

    public static func encode(_ share: DecisionKeyShare) -> [UInt8] {
        var w = BincodeWriter()
        w.bytes += [UInt8(share.sharing.custodians), UInt8(share.sharing.threshold), UInt8(share.custodian)]
        w.words(UnsafeBufferPointer(share.storage.buffer))
        let sealed = seal(.decisionKeyShare, share.custody.evaluation, w)
        wipeMemory(&w.bytes, w.bytes.count)
        return sealed
    }

    /// A custodian's shares: n, t and its index must make sense, and the payload must hold exactly
    /// the shares that index holds.
    public static func decodeDecisionKeyShare(_ data: UnsafeRawBufferPointer, allowInsecureTestParameters: Bool = false) throws
        -> DecisionKeyShare {
        let (kind, p, payload) = try open(data, allowInsecureTestParameters: allowInsecureTestParameters)
        try expect(.decisionKeyShare, kind)
        guard payload.count >= 3 else { throw FHECoreError.malformed(field: "share header", offset: 0, reason: "truncated") }
        let sharing = try ReplicatedSharing(custodians: Int(payload[0]), threshold: Int(payload[1]))
        let custodian = Int(payload[2])
        guard custodian < sharing.custodians else {
            throw FHECoreError.malformed(field: "custodian index", offset: 2, reason: "\(custodian) of \(sharing.custodians)")
        }
        let custody = CustodyParameters(evaluation: p), d = custody.decisionDimension.value
        let held = sharing.shares(heldBy: custodian)
        guard payload.count == 3 + held.count * d * 8 else {
            throw FHECoreError.malformed(field: "share words", offset: 3, reason: "expected \(held.count) shares of \(d) words")
        }
        let storage = AlignedBuffer<UInt64>(count: held.count * d, sensitive: true)
        var reader = BincodeReader(UnsafeRawBufferPointer(rebasing: payload[3...]))
        try reader.words(held.count * d, into: storage.pointer, "share words")
        return DecisionKeyShare(custody: custody, sharing: sharing, custodian: custodian, indices: held, storage: storage)
    }

    // MARK: - Radix ciphertext

    public static func encode(_ ct: SeededRadixCiphertext, parameters: ParameterSet) -> [UInt8] {
        var w = BincodeWriter()
        w.bytes += ct.seed
        w.bytes.append(UInt8(ct.bodies.count))
        w.bytes += ct.degrees
        ct.bodies.withUnsafeBufferPointer { w.words($0) }
        return seal(.radixCiphertext, parameters, w)
    }

    public static func decodeRadixCiphertext(_ data: UnsafeRawBufferPointer, allowInsecureTestParameters: Bool = false) throws
        -> (SeededRadixCiphertext, ParameterSet) {
        let (kind, p, payload) = try open(data, allowInsecureTestParameters: allowInsecureTestParameters)
        try expect(.radixCiphertext, kind)
        guard payload.count >= 33 else { throw FHECoreError.malformed(field: "ciphertext payload", offset: 0, reason: "truncated") }
        let count = Int(payload[32])
        guard (1...64).contains(count), payload.count == 33 + count + 8 * count else {
            throw FHECoreError.malformed(field: "ciphertext block count", offset: 32, reason: "\(count) blocks, \(payload.count) bytes")
        }
        let degrees = Array(payload[33..<(33 + count)])
        guard degrees.allSatisfy({ Int($0) < p.messageModulus.value }) else {
            throw FHECoreError.malformed(field: "ciphertext degrees", offset: 33, reason: "not a fresh encryption")
        }
        var reader = BincodeReader(UnsafeRawBufferPointer(rebasing: payload[(33 + count)...]))
        var bodies = [UInt64](repeating: 0, count: count)
        try bodies.withUnsafeMutableBufferPointer { try reader.words(count, into: $0.baseAddress!, "ciphertext bodies") }
        return (SeededRadixCiphertext(seed: Array(payload[0..<32]), bodies: bodies, degrees: degrees), p)
    }

    /// Total bytes of the container starting at `data` (header, payload and checksum) as its header
    /// declares them, or nil when the header itself is incomplete or not a container's. Lets a
    /// reader split containers sent back to back; `open` still verifies each one.
    public static func containerLength(_ data: UnsafeRawBufferPointer) -> Int? {
        guard kind(of: data) != nil, data.count >= 10 + Int(data[9]) + 8 else { return nil }
        let lengthAt = 10 + Int(data[9])
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(data[lengthAt + i]) << UInt64(8 * i) }
        guard length <= UInt64(Int.max / 2) else { return nil }
        return lengthAt + 8 + Int(length) + 32
    }

    /// The kind of a native container, or nil if `data` is not one (e.g. tfhe-rs bincode).
    public static func kind(of data: UnsafeRawBufferPointer) -> Kind? {
        guard data.count > 9, Array(data.prefix(8)) == magic else { return nil }
        return Kind(rawValue: data[8])
    }
}

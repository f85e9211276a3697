import Foundation

/// A Pyth accumulator update ("PNAU") as Hermes serves it in `binary.data` (and the legacy `vaa`
/// field): a Wormhole VAA whose signers vouch for a Merkle root, and price messages each with a
/// Keccak-160 proof against that root. ``verify(_:trust:)`` checks all of it — envelope, VAA
/// signatures and quorum against the configured signer sets, the emitter, the root payload, every
/// proof — and returns only messages that passed. Every byte is untrusted: a short or malformed
/// blob is a typed ``Rejection``, never a trap. Layout: research note pyth-hermes.md §7.
struct AccumulatorUpdate: Sendable, Equatable {
    /// The signer set that signed (its index as the VAA states it) and how many valid signatures it carried.
    let guardianSetIndex: UInt32
    let validSignatures: Int
    let emitterChain: UInt16
    let emitterAddress: [UInt8]
    /// VAA body timestamp (seconds) and sequence.
    let timestamp: UInt32
    let sequence: UInt64
    /// Pythnet slot of the Merkle root.
    let slot: UInt64
    let root: [UInt8]
    let messages: [PriceMessage]

    /// One price message (type 0, PriceFeed), after its proof verified.
    struct PriceMessage: Sendable, Equatable {
        let feedID: [UInt8]
        let price: Int64
        let conf: UInt64
        let exponent: Int32
        let publishTime: Int64
        let previousPublishTime: Int64
        let emaPrice: Int64
        let emaConf: UInt64

        var feedHex: String { HexString.encode(feedID, prefix: false) }
    }

    /// Why an update was not accepted; `reason` is the short label counted in /metrics.
    enum Rejection: Error, Equatable, CustomStringConvertible {
        case truncated(String)
        case malformed(String)
        case unsupported(String)
        case unknownEmitter(chain: UInt16, address: String)
        case unknownGuardianSet(UInt32)
        case badSignature(guardian: Int)
        case signersOutOfOrder
        case trailingBytes(Int)
        case noQuorum(valid: Int, needed: Int)
        case proofMismatch(feed: String)
        case feedMissing(String)
        case parsedMismatch(String)

        var reason: String {
            switch self {
            case .truncated: "truncated"
            case .malformed: "malformed"
            case .unsupported: "unsupported"
            case .unknownEmitter: "unknown_emitter"
            case .unknownGuardianSet: "unknown_guardian_set"
            case .badSignature: "bad_signature"
            case .signersOutOfOrder: "signers_out_of_order"
            case .trailingBytes: "trailing_bytes"
            case .noQuorum: "no_quorum"
            case .proofMismatch: "proof_mismatch"
            case .feedMissing: "feed_missing"
            case .parsedMismatch: "parsed_mismatch"
            }
        }

        var description: String {
            switch self {
            case .truncated(let field): "update truncated in \(field)"
            case .malformed(let what): "malformed update: \(what)"
            case .unsupported(let what): "unsupported update: \(what)"
            case .unknownEmitter(let chain, let address): "emitter \(chain):\(address.prefix(16))… is not a configured price source (PYTH_EMITTERS)"
            case .unknownGuardianSet(let index): "guardian set \(index) is not configured (PYTH_GUARDIAN_SETS)"
            case .badSignature(let guardian): "signature of guardian \(guardian) does not recover to that guardian"
            case .signersOutOfOrder: "guardian indices are not strictly increasing (a signer repeated or out of order)"
            case .trailingBytes(let count): "\(count) bytes after the last update"
            case .noQuorum(let valid, let needed): "\(valid) valid signatures, \(needed) needed"
            case .proofMismatch(let feed): "Merkle proof of feed \(feed.prefix(16))… does not reach the signed root"
            case .feedMissing(let feed): "the update carries no message for feed \(feed.prefix(16))…"
            case .parsedMismatch(let what): "the parsed JSON differs from the signed message: \(what)"
            }
        }
    }

    // The Merkle tree over a slot's messages (Keccak-160, children sorted so proofs need no sides).
    static func leafHash(_ message: [UInt8]) -> [UInt8] { Array(Keccak.hash256([0] + message).prefix(20)) }
    static func nodeHash(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        let (low, high) = b.lexicographicallyPrecedes(a) ? (b, a) : (a, b)
        return Array(Keccak.hash256([1] + low + high).prefix(20))
    }
    /// The padding leaf of a tree whose leaf count is not a power of two.
    static let nullLeaf = Array(Keccak.hash256([2]).prefix(20))

    static let magic: [UInt8] = Array("PNAU".utf8)
    static let rootMagic: [UInt8] = Array("AUWV".utf8)

    /// Parses and verifies `bytes` against `trust`. Throws ``Rejection``.
    static func verify(_ bytes: [UInt8], trust: PythTrustRoots) throws -> AccumulatorUpdate {
        var r = ByteReader(bytes)
        guard try r.bytes(4, "magic") == magic else { throw Rejection.malformed("not an accumulator update (magic PNAU missing)") }
        guard try r.u8("major version") == 1 else { throw Rejection.unsupported("major version is not 1") }
        _ = try r.u8("minor version")
        _ = try r.bytes(Int(try r.u8("trailing header length")), "trailing header")
        guard try r.u8("update type") == 0 else { throw Rejection.unsupported("update type is not WormholeMerkle (0)") }
        let vaa = try r.bytes(Int(try r.u16("VAA length")), "VAA")
        let signed = try verifyVAA(vaa, trust: trust)

        var messages: [PriceMessage] = []
        for u in 0..<Int(try r.u8("update count")) {
            let message = try r.bytes(Int(try r.u16("message \(u) length")), "message \(u)")
            var node = leafHash(message)
            for p in 0..<Int(try r.u8("proof \(u) length")) {
                node = nodeHash(node, try r.bytes(20, "proof \(u) node \(p)"))
            }
            let decoded = try PriceMessage(message)
            guard node == signed.root else { throw Rejection.proofMismatch(feed: decoded.feedHex) }
            messages.append(decoded)
        }
        guard r.isAtEnd else { throw Rejection.trailingBytes(r.remaining) }
        return AccumulatorUpdate(guardianSetIndex: signed.setIndex, validSignatures: signed.valid, emitterChain: signed.emitterChain,
                                 emitterAddress: signed.emitterAddress, timestamp: signed.timestamp, sequence: signed.sequence,
                                 slot: signed.slot, root: signed.root, messages: messages)
    }

    /// A Wormhole VAA v1: signatures over keccak256(keccak256(body)) by distinct guardians in
    /// ascending order, at least the set's quorum of them valid; an emitter we trust; an AUWV root.
    private static func verifyVAA(_ vaa: [UInt8], trust: PythTrustRoots) throws
        -> (setIndex: UInt32, valid: Int, emitterChain: UInt16, emitterAddress: [UInt8], timestamp: UInt32, sequence: UInt64,
            slot: UInt64, root: [UInt8]) {
        var r = ByteReader(vaa)
        guard try r.u8("VAA version") == 1 else { throw Rejection.unsupported("VAA version is not 1") }
        let setIndex = try r.u32("guardian set index")
        var signatures: [(guardian: Int, rs: [UInt8], v: UInt8)] = []
        for s in 0..<Int(try r.u8("signature count")) {
            signatures.append((Int(try r.u8("signature \(s) guardian")), try r.bytes(64, "signature \(s)"), try r.u8("signature \(s) recovery id")))
        }
        let body = Array(vaa[r.offset...])
        let timestamp = try r.u32("timestamp")
        _ = try r.u32("nonce")
        let emitterChain = try r.u16("emitter chain")
        let emitterAddress = try r.bytes(32, "emitter address")
        let sequence = try r.u64("sequence")
        _ = try r.u8("consistency level")
        guard let source = trust.source(chain: emitterChain, address: emitterAddress) else {
            throw Rejection.unknownEmitter(chain: emitterChain, address: HexString.encode(emitterAddress, prefix: false))
        }
        guard let set = trust.guardianSet(setIndex, for: source) else { throw Rejection.unknownGuardianSet(setIndex) }
        // Each signature costs an ECDSA recovery: more than the set has members cannot all be distinct
        // signers, so a padded VAA is refused before any of that work.
        guard signatures.count <= set.addresses.count else { throw Rejection.signersOutOfOrder }

        let digest = Keccak.hash256(Keccak.hash256(body))
        var previous = -1, valid = 0
        for s in signatures {
            guard s.guardian > previous else { throw Rejection.signersOutOfOrder }
            previous = s.guardian
            guard s.guardian < set.addresses.count, s.v <= 3,
                  SigningKey.recoverSigner(digest: digest, signature: s.rs, recoveryID: Int(s.v)) == set.addresses[s.guardian] else {
                throw Rejection.badSignature(guardian: s.guardian)
            }
            valid += 1
        }
        guard valid >= set.quorum else { throw Rejection.noQuorum(valid: valid, needed: set.quorum) }

        guard try r.bytes(4, "root magic") == rootMagic else { throw Rejection.malformed("VAA payload is not a Merkle root (AUWV)") }
        guard try r.u8("root payload type") == 0 else { throw Rejection.unsupported("root payload type is not Merkle (0)") }
        let slot = try r.u64("slot")
        _ = try r.u32("ring size")
        let root = try r.bytes(20, "root")
        // Later payload versions may append fields: the signature covers them, nothing reads them.
        return (setIndex, valid, emitterChain, emitterAddress, timestamp, sequence, slot, root)
    }
}

extension AccumulatorUpdate.PriceMessage {
    /// Decodes a type-0 message (85 bytes today; appended fields are hashed but not read).
    init(_ m: [UInt8]) throws {
        var r = ByteReader(m)
        guard try r.u8("message type") == 0 else { throw AccumulatorUpdate.Rejection.unsupported("message type is not PriceFeed (0)") }
        feedID = try r.bytes(32, "feed id")
        price = Int64(bitPattern: try r.u64("price"))
        conf = try r.u64("conf")
        exponent = Int32(bitPattern: try r.u32("exponent"))
        publishTime = Int64(bitPattern: try r.u64("publish time"))
        previousPublishTime = Int64(bitPattern: try r.u64("previous publish time"))
        emaPrice = Int64(bitPattern: try r.u64("EMA price"))
        emaConf = try r.u64("EMA conf")
    }
}

/// Big-endian reads that throw ``AccumulatorUpdate/Rejection/truncated(_:)`` instead of trapping.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }
    var remaining: Int { bytes.count - offset }

    mutating func bytes(_ count: Int, _ field: String) throws -> [UInt8] {
        guard count >= 0, count <= remaining else { throw AccumulatorUpdate.Rejection.truncated(field) }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func u8(_ field: String) throws -> UInt8 { try bytes(1, field)[0] }
    mutating func u16(_ field: String) throws -> UInt16 { UInt16(try unsigned(2, field)) }
    mutating func u32(_ field: String) throws -> UInt32 { UInt32(try unsigned(4, field)) }
    mutating func u64(_ field: String) throws -> UInt64 { try unsigned(8, field) }

    private mutating func unsigned(_ width: Int, _ field: String) throws -> UInt64 {
        try bytes(width, field).reduce(0) { $0 << 8 | UInt64($1) }
    }
}

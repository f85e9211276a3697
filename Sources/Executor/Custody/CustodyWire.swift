import Crypto
import FHECore
import Foundation

/// What a user authorizes for one strategy and every custodian pins: its key, type, feed and the
/// digests of its bounds, with a nonce. Its SHA-256 is the strategy's id at the custodians; the
/// owner signs that id with the Ed25519 key made by `keygen --custodians`. A strategy the owner did
/// not sign — say, the executor's own assembly of someone's bound blocks — is never pinned, so never
/// decided.
struct StrategyStatement: Equatable, Sendable {
    let keyID: String
    let type: StrategyType
    let feedID: String
    let upperDigest: String?
    let lowerDigest: String?
    let nonce: [UInt8]

    static let domain = Array("syphon-custody-strategy-v1\0".utf8)

    /// The 32 bytes the owner signs.
    var digest: [UInt8] {
        var bytes = Self.domain
        bytes += HexString.decodeFixed(keyID, count: 32)
        bytes.append(UInt8(type.rawValue.utf8.count))
        bytes += Array(type.rawValue.utf8)
        bytes += HexString.decodeFixed(feedID, count: 32)
        bytes += upperDigest.map { HexString.decodeFixed($0, count: 32) } ?? [UInt8](repeating: 0, count: 32)
        bytes += lowerDigest.map { HexString.decodeFixed($0, count: 32) } ?? [UInt8](repeating: 0, count: 32)
        bytes += nonce
        return Array(SHA256.hash(data: bytes))
    }

    var id: String { Hex.encode(digest) }

    func sign(with owner: Curve25519.Signing.PrivateKey) throws -> [UInt8] { Array(try owner.signature(for: Data(digest))) }

    func isSigned(_ signature: [UInt8], by owner: Curve25519.Signing.PublicKey) -> Bool {
        owner.isValidSignature(Data(signature), for: Data(digest))
    }
}

/// One custodian's signed contribution to one decision, bound to the strategy (and so to its
/// bounds), the price update it verified, the result it computed and the shares it applied.
struct SignedPartial: Equatable, Sendable {
    let strategyID: String
    let updateDigest: String
    let resultDigest: String
    let publishTime: Int64
    let priceCents: UInt32
    /// The decision ciphertext's body (its mask is behind `resultDigest`).
    let body: UInt64
    let shares: [Int]
    let partial: UInt64
    /// The custodian's Ed25519 public key (hex) and its signature over ``signedDigest``.
    let custodian: String
    private(set) var signature: [UInt8]

    static let domain = Array("syphon-custody-partial-v1\0".utf8)

    var signedDigest: [UInt8] {
        var bytes = Self.domain
        bytes += HexString.decodeFixed(strategyID, count: 32) + HexString.decodeFixed(updateDigest, count: 32)
            + HexString.decodeFixed(resultDigest, count: 32)
        withUnsafeBytes(of: publishTime.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: priceCents.littleEndian) { bytes += $0 }
        withUnsafeBytes(of: body.littleEndian) { bytes += $0 }
        bytes.append(UInt8(shares.count))
        bytes += shares.map { UInt8(truncatingIfNeeded: $0) }
        withUnsafeBytes(of: partial.littleEndian) { bytes += $0 }
        return Array(SHA256.hash(data: bytes))
    }

    /// This statement signed by `key` (whose public half it already names in `custodian`).
    func signed(by key: Curve25519.Signing.PrivateKey) throws -> SignedPartial {
        var copy = self
        copy.signature = Array(try key.signature(for: Data(signedDigest)))
        return copy
    }

    func verifies() -> Bool {
        guard let key = try? Curve25519.Signing.PublicKey(rawRepresentation: HexString.decodeFixed(custodian, count: 32)) else { return false }
        return key.isValidSignature(Data(signature), for: Data(signedDigest))
    }

    var json: [String: Any] {
        ["id": strategyID, "update_digest": updateDigest, "result_digest": resultDigest, "publish_time": publishTime,
         "price_cents": Int(priceCents), "body": "\(body)", "shares": shares, "partial": "\(partial)", "custodian": custodian,
         "signature": Hex.encode(signature)]
    }

    init(strategyID: String, updateDigest: String, resultDigest: String, publishTime: Int64, priceCents: UInt32, body: UInt64,
         shares: [Int], partial: UInt64, custodian: String, signature: [UInt8]) {
        self.strategyID = strategyID
        self.updateDigest = updateDigest
        self.resultDigest = resultDigest
        self.publishTime = publishTime
        self.priceCents = priceCents
        self.body = body
        self.shares = shares
        self.partial = partial
        self.custodian = custodian
        self.signature = signature
    }

    /// From a custodian's JSON answer; nil when any field is missing or malformed.
    init?(json o: [String: Any]) {
        func hex32(_ key: String) -> String? {
            guard let s = o[key] as? String, s.count == 64, s.allSatisfy(\.isHexDigit) else { return nil }
            return s.lowercased()
        }
        guard let id = hex32("id"), let update = hex32("update_digest"), let result = hex32("result_digest"), let custodian = hex32("custodian"),
              let publishTime = (o["publish_time"] as? NSNumber)?.int64Value, let cents = (o["price_cents"] as? NSNumber)?.uint32Value,
              let body = (o["body"] as? String).flatMap({ UInt64($0) }), let partial = (o["partial"] as? String).flatMap({ UInt64($0) }),
              let shares = o["shares"] as? [Int], shares.count <= 255, shares.allSatisfy({ (0..<256).contains($0) }),
              let signatureHex = o["signature"] as? String, signatureHex.count == 128,
              let signature = try? Hex.decode(signatureHex) else { return nil }
        self.init(strategyID: id, updateDigest: update, resultDigest: result, publishTime: publishTime, priceCents: cents, body: body,
                  shares: shares, partial: partial, custodian: custodian, signature: signature)
    }
}

extension HexString {
    /// `count` bytes from a hex string already validated by the caller; zeros for anything else
    /// (a malformed value then simply fails the signature or digest check that follows).
    static func decodeFixed(_ text: String, count: Int) -> [UInt8] {
        guard let bytes = try? Hex.decode(text), bytes.count == count else { return [UInt8](repeating: 0, count: count) }
        return bytes
    }
}

/// SHA-256 of a decision ciphertext's words (little-endian): what custodians compare.
func resultDigest(_ ct: LweCiphertext) -> String {
    var hasher = SHA256()
    ct.words.withUnsafeBytes { hasher.update(bufferPointer: $0) }
    return Hex.encode(Array(hasher.finalize()))
}

/// A strategy as every custodian pins it (`POST /strategies` at each).
struct CustodyPin: Sendable {
    let statement: StrategyStatement
    let signature: [UInt8]
    let upper: Data?
    let lower: Data?

    var json: [String: Any] {
        var o: [String: Any] = ["key_id": statement.keyID, "strategy_type": statement.type.rawValue, "price_feed_id": statement.feedID,
                                "nonce": Hex.encode(statement.nonce), "signature": Hex.encode(signature)]
        if let upper { o["encrypted_upper_bound"] = Hex.encode(upper) }
        if let lower { o["encrypted_lower_bound"] = Hex.encode(lower) }
        return o
    }
}

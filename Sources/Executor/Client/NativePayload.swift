import ArgumentParser
import BigInt
import Crypto
import FHECore
import Foundation

/// "3800.00" or "3800" → 380000 cents, exactly; more than two decimals or a u32 overflow is an error.
func parseCents(_ text: String) throws -> UInt32 {
    guard let cents = DecimalText.units(text, scale: 2) else {
        throw ValidationError("'\(text)' is not a price like 3800.00 (at most two decimals)")
    }
    guard cents <= BigUInt(UInt32.max) else { throw ValidationError("'\(text)' does not fit u32 cents") }
    return UInt32(cents)
}

/// A native `/createStrategy` body: `key_id` plus seeded bounds (used by `payload` and `payload-server`).
enum NativePayload {
    static func body(client: ClientKey, keyID: String, type: StrategyType, upperCents: UInt32?, lowerCents: UInt32?,
                     fields: [String: Any], rng: CSPRNG) -> [String: Any] {
        // Without an owner nothing is signed, so nothing can throw.
        try! body(client: client, keyID: keyID, type: type, upperCents: upperCents, lowerCents: lowerCents, fields: fields, rng: rng,
                  owner: nil).body
    }

    /// With `owner` (a key shared among custodians): also `price_feed_id` and
    /// `custody_authorization`, the owner's signature over the strategy's statement, which every
    /// custodian checks before it pins the strategy.
    static func body(client: ClientKey, keyID: String, type: StrategyType, upperCents: UInt32?, lowerCents: UInt32?,
                     fields: [String: Any], rng: CSPRNG, owner: (key: Curve25519.Signing.PrivateKey, feedID: String)?) throws
        -> (body: [String: Any], statement: StrategyStatement?) {
        var body = fields
        body["strategy_type"] = type.rawValue
        body["key_id"] = keyID
        var digests: [String: String] = [:]
        func bound(_ field: String, _ cents: UInt32?) -> String? {
            guard let cents else { return nil }
            let bytes = WireFormat.native.encryptPriceBound(cents, with: client, using: rng)
            digests[field] = contentHash(bytes)
            return Hex.encode(bytes)
        }
        if type.needsUpperBound { body["encrypted_upper_bound"] = bound("encrypted_upper_bound", upperCents) }
        if type.needsLowerBound { body["encrypted_lower_bound"] = bound("encrypted_lower_bound", lowerCents) }
        guard let owner else { return (body, nil) }
        var nonce = [UInt8](repeating: 0, count: 16)
        rng.fillBytes(&nonce)
        let statement = StrategyStatement(keyID: keyID, type: type, feedID: owner.feedID, upperDigest: digests["encrypted_upper_bound"],
                                          lowerDigest: digests["encrypted_lower_bound"], nonce: nonce)
        body["price_feed_id"] = owner.feedID
        body["custody_authorization"] = ["nonce": Hex.encode(nonce), "signature": Hex.encode(try statement.sign(with: owner.key))]
        return (body, statement)
    }
}

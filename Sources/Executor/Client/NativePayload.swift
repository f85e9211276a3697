import ArgumentParser
import BigInt
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
        var body = fields
        body["strategy_type"] = type.rawValue
        body["key_id"] = keyID
        func bound(_ cents: UInt32?) -> String? {
            cents.map { Hex.encode(WireFormat.native.encryptPriceBound($0, with: client, using: rng)) }
        }
        if type.needsUpperBound { body["encrypted_upper_bound"] = bound(upperCents) }
        if type.needsLowerBound { body["encrypted_lower_bound"] = bound(lowerCents) }
        return body
    }
}

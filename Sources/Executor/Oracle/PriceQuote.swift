import Foundation

/// One Pyth price as Hermes reports it: integers with a decimal exponent (price = price × 10^expo).
struct PriceQuote: Equatable, Sendable {
    /// 64 lowercase hex characters, no 0x.
    let feedID: String
    let price: Int64
    let conf: UInt64
    let expo: Int32
    /// Unix seconds.
    let publishTime: Int64
    /// The accumulator update this price was verified in (signatures, quorum and Merkle proof
    /// checked); nil only when verification is off (PYTH_VERIFY=0).
    var update: [UInt8]? = nil

    /// The price in integer cents, exactly: price × 10^(expo + 2), truncated toward zero (the
    /// original service multiplied by 10^expo, then by 100, and truncated with int(); this does
    /// the same without its floating-point error). Throws when the price is not positive or does
    /// not fit a u32 — the width of an encrypted bound.
    func cents() throws -> UInt32 {
        guard price > 0 else { throw PriceRejection.nonPositive(feedID: feedID, price: price) }
        let shift = Int(expo) + 2
        let magnitude = UInt64(price)
        var value: UInt64
        if shift >= 0 {
            guard shift <= 19 else { throw PriceRejection.outOfRange(feedID: feedID) }
            let (product, overflow) = magnitude.multipliedReportingOverflow(by: Self.powerOfTen(shift))
            guard !overflow else { throw PriceRejection.outOfRange(feedID: feedID) }
            value = product
        } else {
            value = -shift > 19 ? 0 : magnitude / Self.powerOfTen(-shift)
        }
        guard value <= UInt64(UInt32.max) else { throw PriceRejection.outOfRange(feedID: feedID) }
        return UInt32(value)
    }

    /// Seconds from the publish time to `now`, saturated: any Int64 Hermes (or whoever answers in
    /// its place) sends is a stale or future price, never an overflow.
    func age(now: Int64) -> Int64 {
        let (age, overflow) = now.subtractingReportingOverflow(publishTime)
        guard overflow else { return age }
        return publishTime < 0 ? .max : .min
    }

    /// conf / price (the exponents cancel).
    var relativeConfidence: Double { price > 0 ? Double(conf) / Double(price) : .infinity }

    static func powerOfTen(_ k: Int) -> UInt64 { (0..<k).reduce(1) { acc, _ in acc * 10 } }
}

/// Why a price is not used this tick. Each one is logged and counted; nothing is evaluated on it.
enum PriceRejection: Error, Equatable, CustomStringConvertible {
    case stale(feedID: String, ageSeconds: Int64)
    case fromTheFuture(feedID: String, aheadSeconds: Int64)
    case lowConfidence(feedID: String, ratio: Double)
    case nonPositive(feedID: String, price: Int64)
    case outOfRange(feedID: String)
    case wentBackwards(feedID: String)
    case missing(feedID: String)
    /// The price is not backed by a valid signed update; `reason` is the update's rejection label.
    case unverified(feedID: String, reason: String, detail: String)

    var description: String {
        switch self {
        case .stale(let id, let age): "price of \(id.prefix(8))… is \(age) s old"
        case .fromTheFuture(let id, let ahead): "price of \(id.prefix(8))… is \(ahead) s in the future"
        case .lowConfidence(let id, let ratio): "price of \(id.prefix(8))… has conf/price \(ratio)"
        case .nonPositive(let id, let price): "price of \(id.prefix(8))… is not positive (\(price))"
        case .outOfRange(let id): "price of \(id.prefix(8))… does not fit u32 cents"
        case .wentBackwards(let id): "price of \(id.prefix(8))… is older than the last accepted one"
        case .missing(let id): "no price for \(id.prefix(8))… in the response"
        case .unverified(let id, _, let detail): "price of \(id.prefix(8))… is not verified: \(detail)"
        }
    }

    var reason: String {
        switch self {
        case .stale: "stale"
        case .fromTheFuture: "future"
        case .lowConfidence: "confidence"
        case .nonPositive, .outOfRange: "range"
        case .wentBackwards: "backwards"
        case .missing: "missing"
        case .unverified(_, let reason, _): "unverified_" + reason
        }
    }
}

/// The freshness and confidence rules applied before a price may trigger anything.
struct PriceGuard: Sendable {
    /// Oldest acceptable publish time, in seconds before now (MAX_PRICE_AGE_SECONDS, default 60).
    var maxAgeSeconds: Int64 = 60
    /// Largest acceptable conf/price (MAX_CONFIDENCE_RATIO, default 1 %).
    var maxConfidenceRatio: Double = 0.01
    /// Clock skew tolerated for publish times ahead of ours.
    var futureToleranceSeconds: Int64 = 2

    func accept(_ quote: PriceQuote, now: Int64) throws -> UInt32 {
        let age = quote.age(now: now)
        if age > maxAgeSeconds { throw PriceRejection.stale(feedID: quote.feedID, ageSeconds: age) }
        if age < -futureToleranceSeconds { throw PriceRejection.fromTheFuture(feedID: quote.feedID, aheadSeconds: age == .min ? .max : -age) }
        if quote.relativeConfidence > maxConfidenceRatio {
            throw PriceRejection.lowConfidence(feedID: quote.feedID, ratio: quote.relativeConfidence)
        }
        return try quote.cents()
    }
}

/// Asset symbol → Pyth feed id. Defaults are Pyth Core's stable ids; note that e62df6… is
/// BTC/USD, not ETH/USD (several official examples mislabel it).
struct FeedMap: Sendable {
    static let defaults: [String: String] = [
        "ETH": "ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace",
        "WETH": "ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace",
        "BTC": "e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43",
        "WBTC": "e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43",
        "SOL": "ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d",
        "USDC": "eaa020c61cc479712813461ce153894a96a6c00b21ed0cfc2798d1f9a9e9c94a",
        "USDT": "2b89b9dc8fdf9f34709a5b106b472f0f39bb6ca9ce04b0fd7f2e971688e2e53b",
    ]
    static let stablecoins: Set<String> = ["USDC", "USDT", "DAI", "USD"]

    var ids: [String: String] = Self.defaults

    /// `ETH=ff61…,BTC=e62d…` entries override or extend the defaults.
    init(overrides: String? = nil) throws {
        for entry in (overrides ?? "").split(separator: ",") where !entry.isEmpty {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let id = FeedMap.normalize(parts[1]) else {
                throw OracleConfigurationError("feed map entry '\(entry)' is not SYMBOL=<64 hex>")
            }
            ids[parts[0].uppercased()] = id
        }
    }

    /// Lowercase 64-hex id without 0x, or nil.
    static func normalize(_ id: String) -> String? {
        var s = id.lowercased()
        if s.hasPrefix("0x") { s.removeFirst(2) }
        guard s.count == 64, s.allSatisfy(\.isHexDigit) else { return nil }
        return s
    }

    /// A strategy's feed: its explicit price_feed_id, else the feed of the pair's non-stable asset.
    /// Only configured feeds are accepted: a well-formed id Hermes does not know would be a price
    /// that never comes (and, before per-feed handling, one that hid every other feed's).
    func feed(explicit: String?, assetIn: String, assetOut: String) throws -> String {
        if let explicit {
            guard let id = Self.normalize(explicit) else { throw OracleConfigurationError("price_feed_id '\(explicit.prefix(80))' is not 64 hex digits") }
            guard Set(ids.values).contains(id) else {
                throw OracleConfigurationError("price_feed_id \(id) is not a feed this executor is configured for; known: \(known)")
            }
            return id
        }
        let a = assetIn.uppercased(), b = assetOut.uppercased()
        let volatile = Self.stablecoins.contains(a) ? b : a
        guard let id = ids[volatile] else {
            throw OracleConfigurationError("no price feed known for asset '\(volatile.prefix(40))'; known: \(known)")
        }
        return id
    }

    /// The configured feeds, `SYMBOL=id`, for error messages.
    var known: String { ids.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") }
}

struct OracleConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

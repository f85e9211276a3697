import Foundation

// What Hermes sends, parsed without trusting any of it: the REST answers' JSON (v2 and legacy)
// into integer quotes, and the stream's Server-Sent Events framing. Networking lives in
// `HermesClient` and `HermesStream`; everything here is pure, so it is fuzzed on its own
// (Tests/Fuzz, target `hermes`).

/// Which Hermes REST endpoint to poll.
enum HermesEndpoint: String, Sendable, CaseIterable {
    /// `GET /v2/updates/price/latest?ids[]=…&parsed=true` (current).
    case v2
    /// `GET /api/latest_price_feeds?ids[]=…` (deprecated, still served).
    case legacy
}

/// What went wrong talking to Hermes.
enum HermesError: Error, Equatable, CustomStringConvertible {
    /// 4xx/5xx with Hermes's plain-text body (404 "Price ids not found: …", 400 "Failed to deserialize…").
    case http(status: Int, body: String)
    /// 429, or a request refused locally because the back-off after a 429 has not elapsed.
    case rateLimited(retryAfterSeconds: Int)
    /// The body is not the JSON Hermes sends (including truncated JSON).
    case malformed(String)
    /// No answer within the timeout.
    case timeout
    /// No base URL could be reached.
    case unreachable(String)

    var description: String {
        switch self {
        case .http(let status, let body): "Hermes answered \(status): \(body.prefix(200))"
        case .rateLimited(let s): "Hermes rate limit: backing off for \(s) s"
        case .malformed(let why): "Hermes response is malformed: \(why)"
        case .timeout: "Hermes did not answer in time"
        case .unreachable(let why): "Hermes unreachable: \(why)"
        }
    }
}

/// Hermes's JSON answers. Prices are decimal strings parsed as integers, never through a float.
enum HermesWire {
    struct WirePrice: Decodable {
        let price: String
        let conf: String
        let expo: Int32
        let publish_time: Int64
    }
    struct WireFeed: Decodable {
        let id: String
        let price: WirePrice
        /// Legacy endpoint with `binary=true`: the feed's accumulator update, base64.
        let vaa: String?
    }
    struct WireBinary: Decodable {
        let encoding: String
        let data: [String]
    }
    struct WireV2: Decodable {
        let parsed: [WireFeed]?
        let binary: WireBinary?
    }

    /// A Hermes answer: each parsed feed with the accumulator updates that should back it (the v2
    /// answer's `binary.data` for all feeds, the legacy feed's own `vaa`), still unverified.
    struct Answer {
        var feeds: [(quote: PriceQuote, updates: [[UInt8]])]
        /// Updates that could not even be decoded (bad hex or base64): why.
        var undecodable: String?
    }

    static func parse(_ body: Data, endpoint: HermesEndpoint) throws -> [PriceQuote] {
        try answer(body, endpoint: endpoint).feeds.map(\.quote)
    }

    static func answer(_ body: Data, endpoint: HermesEndpoint) throws -> Answer {
        do {
            switch endpoint {
            case .v2:
                let wire = try JSONDecoder().decode(WireV2.self, from: body)
                guard let parsed = wire.parsed else { throw HermesError.malformed("no 'parsed' array") }
                var undecodable: String?
                let updates = (wire.binary?.data ?? []).compactMap { text -> [UInt8]? in
                    guard let bytes = decodeBinary(text, encoding: wire.binary?.encoding ?? "hex") else {
                        undecodable = "binary.data is not \(wire.binary?.encoding ?? "hex")"
                        return nil
                    }
                    return bytes
                }
                return Answer(feeds: try parsed.map { (try quote($0), updates) }, undecodable: undecodable)
            case .legacy:
                var undecodable: String?
                let feeds = try JSONDecoder().decode([WireFeed].self, from: body).map { feed -> (PriceQuote, [[UInt8]]) in
                    let update = feed.vaa.flatMap { decodeBinary($0, encoding: "base64") }
                    if feed.vaa != nil && update == nil { undecodable = "vaa is not base64" }
                    return (try quote(feed), update.map { [$0] } ?? [])
                }
                return Answer(feeds: feeds, undecodable: undecodable)
            }
        } catch let error as HermesError {
            throw error
        } catch {
            throw HermesError.malformed("\(error)".prefix(200).description)
        }
    }

    /// Bytes of a `binary.data` string in Hermes's `hex` (no 0x) or `base64` encoding, or nil.
    static func decodeBinary(_ text: String, encoding: String) -> [UInt8]? {
        switch encoding {
        case "hex": HexString.decode(text)
        case "base64": Data(base64Encoded: text).map { [UInt8]($0) }
        default: nil
        }
    }

    static func quote(_ feed: WireFeed) throws -> PriceQuote {
        guard let id = FeedMap.normalize(feed.id) else { throw HermesError.malformed("feed id '\(feed.id.prefix(80))'") }
        guard let price = Int64(feed.price.price), let conf = UInt64(feed.price.conf) else {
            throw HermesError.malformed("price/conf of \(id.prefix(8))… are not integer strings")
        }
        return PriceQuote(feedID: id, price: price, conf: conf, expo: feed.price.expo, publishTime: feed.price.publish_time)
    }
}

/// Incremental Server-Sent Events framing: lines `field:value` (one optional space after the colon),
/// events end at a blank line, `:` lines are comments. Handles frames split across chunks. An event
/// or line larger than a REST answer may be (8 MiB) is dropped and reported as an in-band error:
/// a hostile stream cannot grow memory without bound.
struct ServerSentEventParser {
    static let maxEventBytes = 8 << 20

    enum Event: Equatable {
        case message(String)
        case named(String, String)
    }

    private var pending = ""
    private var eventName: String?
    private var data: [String] = []

    mutating func feed(_ text: String) -> [Event] {
        pending += text
        var events: [Event] = []
        if pending.utf8.count + data.reduce(0, { $0 + $1.utf8.count }) > Self.maxEventBytes {
            pending = ""
            data = []
            eventName = nil
            return [.named("error", "stream event larger than \(Self.maxEventBytes) bytes; dropped")]
        }
        while let newline = pending.firstIndex(where: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let line = String(pending[..<newline])
            pending = String(pending[pending.index(after: newline)...])
            if line.isEmpty {
                if !data.isEmpty || eventName != nil {
                    let payload = data.joined(separator: "\n")
                    events.append(eventName.map { .named($0, payload) } ?? .message(payload))
                }
                eventName = nil
                data = []
                continue
            }
            if line.hasPrefix(":") { continue }
            let (field, value): (Substring, Substring)
            if let colon = line.firstIndex(of: ":") {
                field = line[..<colon]
                var v = line[line.index(after: colon)...]
                if v.hasPrefix(" ") { v = v.dropFirst() }
                value = v
            } else {
                (field, value) = (Substring(line), "")
            }
            switch field {
            case "data": data.append(String(value))
            case "event": eventName = String(value)
            default: break
            }
        }
        return events
    }
}

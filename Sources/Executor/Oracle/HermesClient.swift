import AsyncHTTPClient
import FHECore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

struct HermesConfiguration: Sendable {
    /// PYTH_HERMES_URL first, then fallbacks (tried in order on connection failures and 5xx).
    var baseURLs: [String] = ["https://hermes.pyth.network"]
    /// PYTH_API_KEY, sent as `Authorization: Bearer`.
    var apiKey: String?
    var endpoint: HermesEndpoint = .v2
    var timeout: TimeAmount = .seconds(5)
    /// Minimum back-off after a 429 (Hermes holds 429s for 60 s).
    var rateLimitBackoffSeconds: Int = 60
    /// Who may vouch for a price (PYTH_GUARDIAN_SETS, PYTH_EMITTERS); nil when PYTH_VERIFY=0, and
    /// then the parsed JSON is trusted as it comes.
    var verification: PythTrustRoots? = .builtIn
}

/// The Hermes REST client: one request per poll for all feeds, never faster than the rate limit
/// allows, prices parsed as integers from their decimal strings.
final class HermesClient: Sendable {
    let configuration: HermesConfiguration
    private let http: HTTPClient
    private let backoffUntil = LockedValue<Date?>(nil)
    private let logger: Logger

    init(configuration: HermesConfiguration, http: HTTPClient = .shared, logger: Logger = Logger(label: "syphon.oracle")) {
        self.configuration = configuration
        self.http = http
        self.logger = logger
    }

    /// Query string `ids[]=a&ids[]=b` (bracket syntax is required by Hermes).
    static func idsQuery(_ ids: [String]) -> String { ids.map { "ids%5B%5D=\($0)" }.joined(separator: "&") }

    /// v2 drops ids it does not know instead of failing the whole request (one feed Hermes lacks
    /// must never hide the others' prices); the legacy endpoint has no such flag (see `latest`).
    /// With verification on, the signed updates come with the prices (v2: `binary.data` in hex;
    /// legacy: each feed's `vaa`).
    func path(for ids: [String]) -> String {
        let verify = configuration.verification != nil
        return switch configuration.endpoint {
        case .v2: "/v2/updates/price/latest?\(Self.idsQuery(ids))&parsed=true&ignore_invalid_price_ids=true" + (verify ? "&encoding=hex" : "")
        case .legacy: "/api/latest_price_feeds?\(Self.idsQuery(ids))" + (verify ? "&binary=true" : "")
        }
    }

    /// The ids a 404 "Price ids not found: 0x…, 0x…" names.
    static func unknownIDs(inNotFound body: String) -> Set<String> {
        guard let list = body.split(separator: ":", maxSplits: 1).last, body.hasPrefix("Price ids not found") else { return [] }
        return Set(list.split(separator: ",").compactMap { FeedMap.normalize($0.trimmingCharacters(in: .whitespaces)) })
    }

    /// The latest quotes for `ids`, in the order Hermes returns them. When Hermes answers 404 for ids
    /// it does not know (the legacy endpoint always; v2 if the flag is ignored), it is asked once more
    /// for the others: those feeds then simply have no quote.
    func latest(ids: [String]) async throws -> PriceAnswer {
        do {
            return try await latestOnce(ids: ids)
        } catch HermesError.http(status: 404, let body) {
            let unknown = Self.unknownIDs(inNotFound: body)
            let known = ids.filter { !unknown.contains($0) }
            guard !unknown.isEmpty, known.count < ids.count else { throw HermesError.http(status: 404, body: body) }
            logger.warning("Hermes does not know some configured feeds; polling the others", metadata: ["unknown": "\(unknown.sorted())"])
            return known.isEmpty ? PriceAnswer(quotes: []) : try await latestOnce(ids: known)
        }
    }

    private func latestOnce(ids: [String]) async throws -> PriceAnswer {
        if let until = backoffUntil.get(), until > Date() {
            throw HermesError.rateLimited(retryAfterSeconds: Int(until.timeIntervalSinceNow.rounded(.up)))
        }
        var lastFailure: HermesError = .unreachable("no base URL configured")
        for base in configuration.baseURLs {
            do {
                let (status, body, retryAfter) = try await get(base + path(for: ids))
                switch status {
                case 200:
                    return PriceVerification.check(try HermesWire.answer(body, endpoint: configuration.endpoint),
                                                   trust: configuration.verification)
                case 429:
                    let wait = max(configuration.rateLimitBackoffSeconds, retryAfter ?? 0)
                    backoffUntil.set(Date().addingTimeInterval(TimeInterval(wait)))
                    logger.warning("Hermes rate limit hit", metadata: ["backoff_s": "\(wait)", "base": "\(SecretURL(base).redacted)"])
                    throw HermesError.rateLimited(retryAfterSeconds: wait)
                case 500...599:
                    lastFailure = .http(status: status, body: String(decoding: body, as: UTF8.self))
                    continue // try the next base URL
                default:
                    throw HermesError.http(status: status, body: String(decoding: body, as: UTF8.self))
                }
            } catch let error as HermesError {
                if case .unreachable = error { lastFailure = error; continue }
                if case .timeout = error { lastFailure = error; continue }
                throw error
            }
        }
        throw lastFailure
    }

    /// One GET: (status, body, Retry-After seconds).
    func get(_ url: String) async throws -> (Int, Data, Int?) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        if let key = configuration.apiKey, !key.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        do {
            let response = try await http.execute(request, timeout: configuration.timeout)
            let body = try await response.body.collect(upTo: 8 << 20)
            return (Int(response.status.code), Data(buffer: body), response.headers.first(name: "Retry-After").flatMap(Int.init))
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw HermesError.timeout
        } catch let error as HermesError {
            throw error
        } catch {
            // Some providers put their token in the URL; /health shows this message to anyone.
            throw HermesError.unreachable(SecretURL(url).scrub("\(error)"))
        }
    }
}

extension HermesConfiguration {
    /// PYTH_HERMES_URL (default the public endpoint), PYTH_HERMES_FALLBACK_URLS (comma-separated),
    /// PYTH_API_KEY, PYTH_HERMES_ENDPOINT (v2 | legacy), PYTH_TIMEOUT_SECONDS.
    init(_ values: ConfigurationValues) throws {
        self.init()
        let primary = values["PYTH_HERMES_URL"] ?? "https://hermes.pyth.network"
        baseURLs = ([primary] + values.list("PYTH_HERMES_FALLBACK_URLS")).map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        apiKey = values["PYTH_API_KEY"]
        endpoint = try values.choice("PYTH_HERMES_ENDPOINT") ?? endpoint
        if let seconds = try values.positiveInteger("PYTH_TIMEOUT_SECONDS") { timeout = .seconds(Int64(seconds)) }
        verification = try values.flag("PYTH_VERIFY") == false ? nil : try PythTrustRoots(values)
    }
}

extension PriceGuard {
    /// MAX_PRICE_AGE_SECONDS (default 60) and MAX_CONFIDENCE_RATIO (default 0.01).
    init(_ values: ConfigurationValues) throws {
        self.init()
        maxAgeSeconds = try values.positiveInteger("MAX_PRICE_AGE_SECONDS").map(Int64.init) ?? maxAgeSeconds
        if let v = values["MAX_CONFIDENCE_RATIO"] {
            guard let ratio = Double(v), ratio > 0 else { throw ConfigurationError("MAX_CONFIDENCE_RATIO must be a positive number") }
            maxConfidenceRatio = ratio
        }
    }
}

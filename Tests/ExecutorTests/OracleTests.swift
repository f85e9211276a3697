@testable import Executor
import FHECore
import Foundation
import Testing

/// The Hermes client, stream, guard and oracle against the local stand-in over loopback.
@Suite("Pyth Hermes oracle", .serialized)
struct OracleTests {
    static let eth = FeedMap.defaults["ETH"]!, btc = FeedMap.defaults["BTC"]!, sol = FeedMap.defaults["SOL"]!

    /// A stand-in with three feeds walking their paths, running for the duration of `body`.
    static func withStandIn<R>(slot: Duration = .milliseconds(100),
                               _ body: (HermesStandIn, String) async throws -> R) async throws -> R {
        let standIn = HermesStandIn(paths: [
            eth: [.init(price: 184_136_023_127, conf: 177_166_324), .init(price: 184_200_000_000, conf: 170_000_000),
                  .init(price: 184_300_000_000, conf: 170_000_000)],
            btc: [.init(price: 2_931_999_000_000, conf: 705_950_551)],
            sol: [.init(price: 14_512_345, conf: 10_000, expo: -5)],
        ], slotInterval: slot, keepAliveInterval: .milliseconds(300))
        let port = LockedValue(0)
        let server = Task { try await standIn.run { port.set($0) } }
        defer { server.cancel() }
        while port.get() == 0 { try await Task.sleep(for: .milliseconds(20)) }
        return try await body(standIn, "http://127.0.0.1:\(port.get())")
    }

    static func client(_ base: String, endpoint: HermesEndpoint = .v2, timeout: Int64 = 2) -> HermesClient {
        HermesClient(configuration: HermesConfiguration(baseURLs: [base], apiKey: "test-key", endpoint: endpoint,
                                                        timeout: .seconds(timeout), verification: .standIn))
    }

    @Test("Exact cents: price × 10^(expo+2) truncated, u32 range enforced")
    func cents() throws {
        func q(_ price: Int64, _ expo: Int32) -> PriceQuote { PriceQuote(feedID: Self.eth, price: price, conf: 0, expo: expo, publishTime: 0) }
        #expect(try q(184_136_023_127, -8).cents() == 184_136)        // 1841.36023127 USD
        #expect(try q(184_136_999_999, -8).cents() == 184_136)        // truncated, not rounded
        #expect(try q(2_931_999_000_000, -8).cents() == 2_931_999)
        #expect(try q(14_512_345, -5).cents() == 14_512)
        #expect(try q(12, 0).cents() == 1_200)
        #expect(try q(7, 3).cents() == 700_000)
        #expect(try q(1, -2).cents() == 1 && (try q(99, -4).cents()) == 0)
        #expect(try q(42_949_672_95, -2).cents() == UInt32.max)
        #expect(throws: PriceRejection.self) { try q(42_949_672_96, -2).cents() }
        #expect(throws: PriceRejection.self) { try q(0, -8).cents() }
        #expect(throws: PriceRejection.self) { try q(-5, -8).cents() }
        #expect(throws: PriceRejection.self) { try q(.max, 10).cents() }
        #expect(try q(.max, -30).cents() == 0)
    }

    @Test("Both endpoints give the right prices for several feeds in one request")
    func latest() async throws {
        try await Self.withStandIn { standIn, base in
            for endpoint in HermesEndpoint.allCases {
                let quotes = try await Self.client(base, endpoint: endpoint).latest(ids: [Self.btc, "0x" + Self.eth.uppercased(), Self.sol]).quotes
                #expect(quotes.map(\.feedID) == [Self.btc, Self.eth, Self.sol], "\(endpoint)")
                #expect(try quotes.map { try $0.cents() } == [2_931_999, 184_136, 14_512], "\(endpoint)")
            }
            #expect(standIn.requestCount == 2)
        }
    }

    @Test("An unknown id hides no other feed (v2 ignores it, legacy asks again without it); 400 malformed surfaced")
    func errors() async throws {
        try await Self.withStandIn { _, base in
            let client = Self.client(base)
            let unknown = String(repeating: "ab", count: 32)
            for endpoint in HermesEndpoint.allCases {
                let quotes = try await Self.client(base, endpoint: endpoint).latest(ids: [Self.eth, unknown]).quotes
                #expect(quotes.map(\.feedID) == [Self.eth], "\(endpoint)")
                #expect(try await Self.client(base, endpoint: endpoint).latest(ids: [unknown]).quotes.isEmpty, "\(endpoint)")
            }
            #expect(HermesClient.unknownIDs(inNotFound: "Price ids not found: 0x\(unknown), 0x\(Self.eth)") == [unknown, Self.eth])
            await #expect(throws: HermesError.http(status: 400, body: "Failed to deserialize query string. Error: Invalid string length")) {
                try await client.latest(ids: ["abcd"])
            }
            await #expect(throws: HermesError.http(status: 400, body: "Failed to deserialize query string. Error: Invalid character 'g' at position 0")) {
                try await client.latest(ids: ["g" + String(repeating: "0", count: 63)])
            }
            // Hermes refuses the plain `ids=` form.
            let (status, body, _) = try await client.get(base + "/v2/updates/price/latest?ids=\(Self.eth)")
            #expect(status == 400 && String(decoding: body, as: UTF8.self).hasPrefix("Failed to deserialize query string."))
        }
    }

    @Test("429: back off at least 60 s without sending more requests")
    func rateLimit() async throws {
        try await Self.withStandIn { standIn, base in
            let client = Self.client(base)
            standIn.faults.rateLimited = true
            await #expect(throws: HermesError.rateLimited(retryAfterSeconds: 60)) { try await client.latest(ids: [Self.eth]) }
            standIn.faults.rateLimited = false
            let before = standIn.requestCount
            for _ in 0..<5 {
                await #expect(throws: HermesError.self) { try await client.latest(ids: [Self.eth]) }
            }
            #expect(standIn.requestCount == before, "requests were sent during the back-off")
        }
    }

    @Test("Timeout, truncated JSON, and a dead primary with a live fallback")
    func failures() async throws {
        try await Self.withStandIn { standIn, base in
            standIn.faults.delay = .milliseconds(2500)
            await #expect(throws: HermesError.timeout) { try await Self.client(base, timeout: 1).latest(ids: [Self.eth]) }
            standIn.faults.delay = .zero
            standIn.faults.truncateJSON = true
            await #expect(throws: HermesError.self) {
                do { _ = try await Self.client(base).latest(ids: [Self.eth]) } catch let e as HermesError {
                    if case .malformed = e { throw e }
                    Issue.record("expected malformed, got \(e)")
                }
            }
            standIn.faults.truncateJSON = false
            let fallback = HermesClient(configuration: HermesConfiguration(baseURLs: ["http://127.0.0.1:9", base], timeout: .seconds(2), verification: .standIn))
            let viaFallback = try await fallback.latest(ids: [Self.eth])
            #expect(try viaFallback.quotes.first?.cents() == 184_136)
        }
    }

    @Test("Verified prices: a lying or forged Hermes is refused on both endpoints; PYTH_VERIFY=0 takes the JSON as it comes")
    func verification() async throws {
        try await Self.withStandIn { standIn, base in
            for endpoint in HermesEndpoint.allCases {
                let honest = try await Self.client(base, endpoint: endpoint).latest(ids: [Self.eth, Self.btc])
                #expect(honest.quotes.count == 2 && honest.rejected.isEmpty && honest.quotes.allSatisfy { $0.update != nil }, "\(endpoint)")
                let faults: [(HermesStandIn.Faults, String)] = [
                    (.init(parsedPriceOverride: 100_000_000), "unverified_parsed_mismatch"),
                    (.init(signWithStrangers: true), "unverified_bad_signature"), (.init(omitUpdates: true), "unverified_feed_missing"),
                ]
                for (fault, reason) in faults {
                    standIn.faults = fault
                    let answer = try await Self.client(base, endpoint: endpoint).latest(ids: [Self.eth, Self.btc])
                    #expect(answer.quotes.isEmpty && answer.rejected.map(\.reason) == [reason, reason], "\(endpoint) \(answer.rejected)")
                    standIn.faults = .init()
                }
            }
            // Without the stand-in's test guardians in the trust roots its updates are unknown.
            let strict = HermesClient(configuration: HermesConfiguration(baseURLs: [base], timeout: .seconds(2)))
            #expect(try await strict.latest(ids: [Self.eth]).rejected.map(\.reason) == ["unverified_unknown_guardian_set"])
            standIn.faults.parsedPriceOverride = 200_000_000_000
            let off = try HermesConfiguration(ConfigurationValues(environment: ["PYTH_HERMES_URL": base, "PYTH_VERIFY": "0"],
                                                                  dotEnvPath: "/nonexistent"))
            #expect(off.verification == nil)
            let trusting = try await HermesClient(configuration: off).latest(ids: [Self.eth])
            #expect(trusting.quotes.count == 1 && trusting.quotes[0].update == nil)
            #expect(try trusting.quotes[0].cents() == 200_000)
        }
    }

    @Test("Guard: stale and low-confidence prices are rejected, counted, and never evaluated")
    func guardAndOracle() async throws {
        try await Self.withStandIn { standIn, base in
            let oracle = PriceOracle(client: Self.client(base), priceGuard: PriceGuard(maxAgeSeconds: 60, maxConfidenceRatio: 0.001),
                                     feeds: [Self.eth, Self.btc])
            let accepted = await oracle.poll()
            #expect(accepted.mapValues(\.cents) == [Self.eth: 184_136, Self.btc: 2_931_999])
            #expect(accepted.values.allSatisfy { $0.quote.update != nil }) // each price carries its verified update
            standIn.faults.staleBySeconds = 120
            #expect(await oracle.poll().isEmpty) // older than what was accepted: refused as going backwards
            #expect(await oracle.rejections["backwards"] == 2)
            let fresh = PriceOracle(client: Self.client(base), priceGuard: PriceGuard(maxAgeSeconds: 60), feeds: [Self.eth, Self.btc])
            #expect(await fresh.poll().isEmpty)
            #expect(await fresh.rejections["stale"] == 2)
            // The last good price also expires when read later.
            #expect(await oracle.freshPrice(feed: Self.eth, now: Int64(Date().timeIntervalSince1970) + 100) == nil)
            #expect(await oracle.freshPrice(feed: Self.eth)?.cents == 184_136)
            // conf/price above the limit (SOL: 10 000 / 14 512 345 = 0.07 % passes 0.1 %; tighten to reject).
            let strict = PriceOracle(client: Self.client(base), priceGuard: PriceGuard(maxAgeSeconds: 600, maxConfidenceRatio: 0.0001),
                                     feeds: [Self.eth])
            standIn.faults.staleBySeconds = 0
            #expect(await strict.poll().isEmpty)
            #expect(await strict.rejections["confidence"] == 1)
            // Going backwards in publish time is refused.
            let old = PriceQuote(feedID: Self.eth, price: 1_000_000_000, conf: 0, expo: -8, publishTime: 1)
            #expect(await oracle.ingest(PriceAnswer(quotes: [old]), now: 2).isEmpty)
        }
    }

    @Test("SSE: prices stream in; keep-alives and in-band errors are handled; a dropped stream reconnects and backfills")
    func stream() async throws {
        try await Self.withStandIn(slot: .milliseconds(60)) { standIn, base in
            standIn.faults.dropStreamAfterEvents = 3
            standIn.faults.inBandErrors = true
            let events = LockedValue<[HermesStream.Event]>([])
            let stream = HermesStream(client: Self.client(base), ids: [Self.eth, Self.sol], watchdog: .seconds(3),
                                      initialBackoff: .milliseconds(50), maxBackoff: .milliseconds(200),
                                      logger: .init(label: "test"))
            let task = Task { await stream.run { e in events.update { $0.append(e) } } }
            func counts() -> (live: Int, backfill: Int, errors: Int, reconnects: Int) {
                events.get().reduce(into: (0, 0, 0, 0)) { acc, e in
                    switch e {
                    case .quotes(_, let backfill): if backfill { acc.1 += 1 } else { acc.0 += 1 }
                    case .serverError: acc.2 += 1
                    case .reconnecting: acc.3 += 1
                    }
                }
            }
            try await waitWhileProgressing(until: { counts().reconnects >= 2 && counts().live >= 6 }, progress: { events.get().count },
                                           stall: 30)
            task.cancel()
            let c = counts()
            #expect(c.live >= 6 && c.reconnects >= 2 && c.backfill >= 2 && c.errors >= 3, "\(c)")
            for case .quotes(let answer, _) in events.get() {
                let quotes = answer.quotes
                #expect(quotes.map(\.feedID) == [Self.eth, Self.sol])
                #expect(quotes.allSatisfy { (try? $0.cents()) != nil })
            }
        }
    }

    @Test("SSE framing: split frames, comments, named events, CRLF-free multi-line data")
    func sseParser() {
        var parser = ServerSentEventParser()
        #expect(parser.feed("da").isEmpty)
        #expect(parser.feed("ta:{\"a\":1}\n") .isEmpty)
        #expect(parser.feed("\n:\n\nevent:error\ndata:Slow consumer: disconnected\n\ndata: x\ndata:y\n\n")
                == [.message("{\"a\":1}"), .named("error", "Slow consumer: disconnected"), .message("x\ny")])
    }

    @Test("Feed map: defaults, overrides, stablecoin pairs, explicit ids")
    func feedMap() throws {
        let map = try FeedMap(overrides: "DOGE=0x" + String(repeating: "1", count: 64))
        #expect(try map.feed(explicit: nil, assetIn: "USDC", assetOut: "ETH") == Self.eth)
        #expect(try map.feed(explicit: nil, assetIn: "WBTC", assetOut: "USDT") == Self.btc)
        #expect(try map.feed(explicit: nil, assetIn: "DOGE", assetOut: "USDC") == String(repeating: "1", count: 64))
        #expect(try map.feed(explicit: "0x" + Self.sol.uppercased(), assetIn: "X", assetOut: "Y") == Self.sol)
        #expect(throws: OracleConfigurationError.self) { try map.feed(explicit: nil, assetIn: "PEPE", assetOut: "USDC") }
        #expect(throws: OracleConfigurationError.self) { try FeedMap(overrides: "ETH=0x12") }
        #expect(Self.btc.hasPrefix("e62df6")) // BTC/USD, not ETH/USD
    }
}

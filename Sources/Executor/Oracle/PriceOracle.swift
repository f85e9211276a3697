import Foundation
import Logging

/// The latest accepted price per feed, fed by polling (one request per tick for every feed) or by
/// the stream. A price is accepted only through the PriceGuard, never goes backwards in publish
/// time, and is re-checked for age when read: the scheduler evaluates nothing on a rejected or
/// stale price, and every rejection is logged and counted.
actor PriceOracle {
    struct Accepted: Sendable {
        let quote: PriceQuote
        let cents: UInt32
    }

    let client: HermesClient
    let priceGuard: PriceGuard
    private(set) var feeds: [String]
    private var accepted: [String: Accepted] = [:]
    /// Feeds whose most recent quote was rejected: no evaluation on them until a good one arrives,
    /// even if an older accepted price is still within its age limit.
    private var lastRejected: Set<String> = []
    private(set) var rejections: [String: Int] = [:]
    private(set) var lastError: String?
    private let logger: Logger

    init(client: HermesClient, priceGuard: PriceGuard, feeds: [String], logger: Logger = Logger(label: "syphon.oracle")) {
        self.client = client
        self.priceGuard = priceGuard
        self.feeds = feeds
        self.logger = logger
    }

    func setFeeds(_ ids: [String]) { feeds = Array(Set(ids)).sorted() }

    /// One request for all feeds; returns the feeds whose price was accepted.
    @discardableResult
    func poll(now: Int64 = Int64(Date().timeIntervalSince1970)) async -> [String: Accepted] {
        guard !feeds.isEmpty else { return [:] }
        do {
            let answer = try await client.latest(ids: feeds)
            lastError = nil
            return ingest(answer, now: now)
        } catch {
            lastError = "\(error)"
            count(error is HermesError ? "hermes" : "error")
            logger.warning("price poll failed; nothing is evaluated this tick", metadata: ["error": "\(error)"])
            return [:]
        }
    }

    /// Accepts verified quotes through the guard; returns the accepted ones. A feed whose price was
    /// refused (not backed by a valid signed update) evaluates nothing until a good one arrives.
    @discardableResult
    func ingest(_ answer: PriceAnswer, now: Int64 = Int64(Date().timeIntervalSince1970)) -> [String: Accepted] {
        let quotes = answer.quotes
        var fresh: [String: Accepted] = [:]
        let refused = Set(answer.rejected.compactMap { r -> String? in
            if case .unverified(let feed, _, _) = r { return feed }
            return nil
        })
        lastRejected.formUnion(refused)
        answer.rejected.forEach(reject)
        for feed in feeds where !quotes.contains(where: { $0.feedID == feed }) && !refused.contains(feed) {
            reject(.missing(feedID: feed))
        }
        for quote in quotes {
            do {
                if let previous = accepted[quote.feedID], quote.publishTime < previous.quote.publishTime {
                    throw PriceRejection.wentBackwards(feedID: quote.feedID)
                }
                let cents = try priceGuard.accept(quote, now: now)
                accepted[quote.feedID] = Accepted(quote: quote, cents: cents)
                lastRejected.remove(quote.feedID)
                fresh[quote.feedID] = Accepted(quote: quote, cents: cents)
            } catch let rejection as PriceRejection {
                if case .wentBackwards = rejection {} else { lastRejected.insert(quote.feedID) }
                reject(rejection)
            } catch {
                count("error")
            }
        }
        return fresh
    }

    /// The price to evaluate on now, or nil when the last accepted one has gone stale since.
    func freshPrice(feed: String, now: Int64 = Int64(Date().timeIntervalSince1970)) -> Accepted? {
        guard let a = accepted[feed], !lastRejected.contains(feed) else { return nil }
        guard (try? priceGuard.accept(a.quote, now: now)) != nil else { return nil }
        return a
    }

    /// Whether prices must come with a verified signed update (off only with PYTH_VERIFY=0).
    nonisolated var verifiesPrices: Bool { client.configuration.verification != nil }

    /// Seconds since the publish time of the last accepted price of a feed.
    func age(feed: String, now: Int64 = Int64(Date().timeIntervalSince1970)) -> Int64? {
        accepted[feed].map { $0.quote.age(now: now) }
    }

    private func reject(_ rejection: PriceRejection) {
        count(rejection.reason)
        logger.notice("price rejected; not evaluated", metadata: ["reason": "\(rejection)"])
    }

    private func count(_ reason: String) { rejections[reason, default: 0] += 1 }

    /// Streaming mode: keeps one SSE subscription for the current feeds, feeding `ingest`; the
    /// subscription is replaced when the feed set changes.
    private var streamTask: Task<Void, Never>?
    private var streamedFeeds: [String] = []

    func stream(feeds ids: [String]) {
        let sorted = Array(Set(ids)).sorted()
        guard sorted != streamedFeeds else { return }
        streamTask?.cancel()
        streamedFeeds = sorted
        feeds = sorted
        guard !sorted.isEmpty else { return }
        let stream = HermesStream(client: client, ids: sorted, logger: logger)
        // The task holds the oracle strongly; stopStreaming() (or a feed change) cancels it.
        streamTask = Task { [self] in
            await stream.run { event in
                switch event {
                case .quotes(let answer, _): await self.ingest(answer)
                case .serverError(let message): await self.noteStreamError(message)
                case .reconnecting(_, let reason): await self.noteStreamError(reason)
                }
            }
        }
    }

    private func noteStreamError(_ message: String) {
        lastError = message
        count("stream")
    }

    func stopStreaming() {
        streamTask?.cancel()
        streamTask = nil
        streamedFeeds = []
    }
}

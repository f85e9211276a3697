import AsyncHTTPClient
import FHECore
import Foundation
import Logging
import NIOCore

/// The SSE subscription to `/v2/updates/price/stream`: parses `data:` events, ignores `:` keep-alive
/// comments, reports in-band `event:error` frames, reconnects with exponential back-off and jitter
/// (0.5 s doubling to 30 s) when the stream ends, errs or goes quiet for the watchdog period, and
/// backfills with `/latest` after every (re)connection — Hermes sends no snapshot on connect and
/// has no resume, so what was missed in the gap is otherwise lost.
struct HermesStream: Sendable {
    let client: HermesClient
    let ids: [String]
    var watchdog: Duration = .seconds(20)
    var initialBackoff: Duration = .milliseconds(500)
    var maxBackoff: Duration = .seconds(30)
    let logger: Logger

    /// Events the subscriber sees.
    enum Event: Sendable {
        /// Verified prices and refused ones, as a poll yields them (``PriceVerification``).
        case quotes(PriceAnswer, backfill: Bool)
        /// An in-band `event:error` frame (the stream may continue or close after it).
        case serverError(String)
        /// The connection ended; reconnecting after the given delay.
        case reconnecting(after: Duration, reason: String)
    }

    /// Runs until cancelled, delivering events in order.
    func run(_ deliver: @escaping @Sendable (Event) async -> Void) async {
        var backoff = initialBackoff
        while !Task.isCancelled {
            let reason: String
            do {
                if let quotes = try? await client.latest(ids: ids) { await deliver(.quotes(quotes, backfill: true)) }
                let received = try await connectOnce(deliver)
                if received { backoff = initialBackoff }
                reason = "stream ended"
            } catch is CancellationError {
                return
            } catch {
                reason = client.configuration.baseURLs.reduce("\(error)") { SecretURL($1).scrub($0) } // /health shows it
            }
            if Task.isCancelled { return }
            let jitter = Duration.milliseconds(Int.random(in: 0...Int(backoff.components.seconds * 250 + 50)))
            await deliver(.reconnecting(after: backoff + jitter, reason: reason))
            try? await Task.sleep(for: backoff + jitter)
            backoff = min(backoff * 2, maxBackoff)
        }
    }

    struct WatchdogExpired: Error, CustomStringConvertible {
        let description = "no price event within the watchdog period"
    }

    /// One connection; returns whether any price event arrived.
    func connectOnce(_ deliver: @escaping @Sendable (Event) async -> Void) async throws -> Bool {
        guard let base = client.configuration.baseURLs.first else { throw HermesError.unreachable("no base URL") }
        let verification = client.configuration.verification
        var request = HTTPClientRequest(url: base + "/v2/updates/price/stream?" + HermesClient.idsQuery(ids)
                                        + "&parsed=true&ignore_invalid_price_ids=true" + (verification != nil ? "&encoding=hex" : ""))
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let key = client.configuration.apiKey, !key.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .hours(25))
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 1 << 16)
            throw HermesError.http(status: Int(response.status.code), body: String(buffer: body))
        }
        let lastEvent = LockedValue(ContinuousClock.now)
        let gotAny = LockedValue(false)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var parser = ServerSentEventParser()
                for try await chunk in response.body {
                    for event in parser.feed(chunk) {
                        switch event {
                        case .message(let data):
                            let answer = PriceVerification.check(try HermesWire.answer(Data(data.utf8), endpoint: .v2), trust: verification)
                            lastEvent.set(.now)
                            gotAny.set(true)
                            await deliver(.quotes(answer, backfill: false))
                        case .named("error", let data):
                            await deliver(.serverError(data))
                        case .named:
                            break
                        }
                    }
                }
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: .milliseconds(250))
                    if ContinuousClock.now - lastEvent.get() > watchdog { throw WatchdogExpired() }
                }
            }
            // The first child to finish decides: the stream ending, or the watchdog firing.
            try await group.next()
            group.cancelAll()
        }
        return gotAny.get()
    }
}

extension ServerSentEventParser {
    mutating func feed(_ buffer: ByteBuffer) -> [Event] { feed(String(buffer: buffer)) }
}

import FHECore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// A local Pyth Hermes for tests and the demo, speaking the wire protocol of
/// `../shared/research/pyth-hermes.md`: `/v2/updates/price/latest`, `/api/latest_price_feeds`,
/// `/v2/updates/price/stream` (SSE: `data:` frames without a space, `:` keep-alives, `event:error`),
/// `/live`; bracket-syntax `ids[]`; plain-text 400 and 404 bodies; compact JSON in Hermes's key order.
/// Each feed replays a price path, one step per "slot" tick. Failure modes can be switched on at
/// run time to exercise the client: 429s, slow answers, truncated JSON, stale prices, dropped streams.
final class HermesStandIn: Sendable {
    struct Step: Sendable {
        var price: Int64
        var conf: UInt64
        var expo: Int32 = -8
    }

    /// What the stand-in does wrong on purpose.
    struct Faults: Sendable {
        /// Answer every REST request with 429 (and a Retry-After header).
        var rateLimited = false
        /// Sleep this long before answering REST requests.
        var delay: Duration = .zero
        /// Cut JSON bodies in half.
        var truncateJSON = false
        /// Report publish times this many seconds in the past.
        var staleBySeconds: Int64 = 0
        /// Close streams after this many events (nil: never).
        var dropStreamAfterEvents: Int?
        /// Send `event:error\ndata:Error receiving update: …` before each data event.
        var inBandErrors = false
        /// Report this publish time instead of the clock's (any Int64 a hostile Hermes could send).
        var publishTimeOverride: Int64?
        /// Report this price in the parsed JSON while the signed update carries the true one (a lying Hermes).
        var parsedPriceOverride: Int64?
        /// Sign updates with keys nobody trusts (a forged update).
        var signWithStrangers = false
        /// Send the parsed JSON without any signed update.
        var omitUpdates = false
    }

    private struct State {
        var paths: [String: [Step]]
        var slot: UInt64 = 100_000_000
        var faults = Faults()
        var requests = 0
        var events = 0
    }

    private let state: LockedValue<State>
    let slotInterval: Duration
    let keepAliveInterval: Duration

    /// `paths`: feed id (64 hex, no 0x) → the steps to replay (the last one repeats).
    init(paths: [String: [Step]], slotInterval: Duration = .milliseconds(400), keepAliveInterval: Duration = .seconds(15)) {
        state = LockedValue(State(paths: paths))
        self.slotInterval = slotInterval
        self.keepAliveInterval = keepAliveInterval
    }

    var faults: Faults {
        get { state.get().faults }
        set { state.update { $0.faults = newValue } }
    }

    var requestCount: Int { state.get().requests }
    /// Requests answered plus stream events sent: what a test waiting on the stand-in watches move.
    var eventCount: Int { state.get().requests + state.get().events }

    /// Replaces a feed's path (the next answers use it from its first step).
    func setPath(_ id: String, _ steps: [Step]) {
        state.update { s in
            s.paths[id] = [Step](repeating: steps[0], count: Int(s.slot - 100_000_000)) + steps
        }
    }

    /// Moves every path one step forward (the clock of a "slot").
    func advance() { state.update { $0.slot += 1 } }

    /// The current step of a feed and the slot.
    private func current(_ id: String) -> (Step, UInt64)? {
        state.get().paths[id].map { path in
            let slot = state.get().slot
            return (path[min(Int(slot - 100_000_000), path.count - 1)], slot)
        }
    }

    // MARK: - Query parsing (serde_qs non-strict: ids[] / ids%5B%5D / ids[0]; plain ids= refused)

    enum QueryError: Error {
        case badRequest(String)
        case notFound([String])
    }

    static func parseQuery(_ raw: String?, known: Set<String>, ignoreUnknownAllowed: Bool) throws -> (ids: [String], flags: [String: String]) {
        var ids: [String] = [], flags: [String: String] = [:], plainIds = false
        for pair in (raw ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
            if key == "ids[]" || (key.hasPrefix("ids[") && key.hasSuffix("]") && Int(key.dropFirst(4).dropLast()) != nil) {
                ids.append(value)
            } else if key == "ids" {
                plainIds = true
            } else {
                flags[key] = value
            }
        }
        let prefix = "Failed to deserialize query string. Error: "
        if plainIds { throw QueryError.badRequest(prefix + "invalid type: string, expected a sequence") }
        if ids.isEmpty { throw QueryError.badRequest(prefix + "missing field `ids`") }
        for (name, value) in flags where ["parsed", "verbose", "binary", "ignore_invalid_price_ids"].contains(name) {
            guard value == "true" || value == "false" else {
                throw QueryError.badRequest(prefix + "provided string was not `true` or `false`")
            }
        }
        if let encoding = flags["encoding"], encoding != "hex" && encoding != "base64" {
            throw QueryError.badRequest(prefix + "unknown variant `\(encoding)`, expected `hex` or `base64`")
        }
        var normalized: [String] = []
        for id in ids {
            var hex = id
            if hex.hasPrefix("0x") || hex.hasPrefix("0X") { hex.removeFirst(2) }
            if hex.count % 2 == 1 { throw QueryError.badRequest(prefix + "Odd number of digits") }
            if let bad = hex.firstIndex(where: { !$0.isHexDigit }) {
                throw QueryError.badRequest(prefix + "Invalid character '\(hex[bad])' at position \(hex.distance(from: hex.startIndex, to: bad))")
            }
            if hex.count != 64 { throw QueryError.badRequest(prefix + "Invalid string length") }
            normalized.append(hex.lowercased())
        }
        let ignore = ignoreUnknownAllowed && flags["ignore_invalid_price_ids"] == "true"
        let missing = normalized.filter { !known.contains($0) }
        if !missing.isEmpty && !ignore { throw QueryError.notFound(missing) }
        return (normalized.filter(known.contains), flags)
    }

    // MARK: - JSON in Hermes's field order

    private func priceJSON(_ step: Step, publishTime: Int64) -> String {
        "{\"price\":\"\(step.price)\",\"conf\":\"\(step.conf)\",\"expo\":\(step.expo),\"publish_time\":\(publishTime)}"
    }

    /// A signed accumulator update over `feeds`' messages, in the exact layout of the research
    /// note §7: PNAU envelope, a VAA from the Pythnet emitter signed by the stand-in's test
    /// guardians over an AUWV Merkle root, and each message with its proof.
    private func accumulatorBlob(_ feeds: [(id: String, step: Step)], slot: UInt64, publishTime: Int64, signers: [SigningKey]) -> [UInt8] {
        func be<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
        let messages = feeds.map { feed in
            [UInt8(0)] + HexString.decode(feed.id)! + be(feed.step.price) + be(feed.step.conf) + be(feed.step.expo) + be(publishTime)
                + be(publishTime &- 1) + be(feed.step.price) + be(feed.step.conf)
        }
        let (root, proofs) = Self.merkleTree(messages.map(AccumulatorUpdate.leafHash))
        let payload = AccumulatorUpdate.rootMagic + [0] + be(slot) + be(UInt32(10_000)) + root
        let body = be(UInt32(truncatingIfNeeded: publishTime)) + be(UInt32(0)) + be(PythTrustRoots.wormholeEmitter.chain)
            + PythTrustRoots.wormholeEmitter.address + be(slot) + [1] + payload
        let digest = Keccak.hash256(Keccak.hash256(body))
        var vaa = [UInt8(1)] + be(Self.testGuardianSetIndex) + [UInt8(signers.count)]
        for (index, key) in signers.enumerated() {
            let (signature, recovery) = key.sign(digest: digest)
            vaa += [UInt8(index)] + signature + [UInt8(recovery)]
        }
        vaa += body
        var blob = AccumulatorUpdate.magic + [1, 0, 0, 0] + be(UInt16(vaa.count)) + vaa + [UInt8(messages.count)]
        for (message, proof) in zip(messages, proofs) {
            blob += be(UInt16(message.count)) + message + [UInt8(proof.count)] + proof.flatMap { $0 }
        }
        return blob
    }

    /// Root and per-leaf proofs of the tree over `leaves`, padded to a power of two with null leaves.
    static func merkleTree(_ leaves: [[UInt8]]) -> (root: [UInt8], proofs: [[[UInt8]]]) {
        var level = leaves, positions = Array(leaves.indices), proofs = [[[UInt8]]](repeating: [], count: leaves.count)
        var width = 1
        while width < max(level.count, 1) { width *= 2 }
        level += [[UInt8]](repeating: AccumulatorUpdate.nullLeaf, count: width - level.count)
        while level.count > 1 {
            for leaf in proofs.indices { proofs[leaf].append(level[positions[leaf] ^ 1]) }
            level = stride(from: 0, to: level.count, by: 2).map { AccumulatorUpdate.nodeHash(level[$0], level[$0 + 1]) }
            positions = positions.map { $0 / 2 }
        }
        return (level[0], proofs)
    }

    // MARK: - Test guardians

    /// The stand-in's signer set: four secp256k1 keys fixed for the tests and the demo (NOT a real
    /// guardian set; they protect nothing). A process that verifies the stand-in's prices trusts
    /// them through ``testGuardianSetting`` in PYTH_GUARDIAN_SETS, never by default.
    static let testGuardians: [SigningKey] = (1...4).map { i in
        try! SigningKey(hex: HexString.encode(Keccak.hash256(Array("syphon stand-in test guardian \(i)".utf8))))
    }
    /// Keys no configuration trusts, for the forged-signature fault.
    static let strangers: [SigningKey] = (1...4).map { i in
        try! SigningKey(hex: HexString.encode(Keccak.hash256(Array("syphon stand-in stranger \(i)".utf8))))
    }
    static let testGuardianSetIndex: UInt32 = 4_242
    /// `PYTH_GUARDIAN_SETS` value that trusts the stand-in (quorum 3 of 4).
    static var testGuardianSetting: String { "\(testGuardianSetIndex)=" + testGuardians.map { "\($0.address)" }.joined(separator: ",") }

    private func blobString(_ bytes: [UInt8], base64: Bool) -> String {
        base64 ? Data(bytes).base64EncodedString() : bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// The publish time every answer reports now.
    private var publishTime: Int64 { faults.publishTimeOverride ?? Int64(Date().timeIntervalSince1970) - faults.staleBySeconds }

    /// The steps of `ids` at the current slot, the update that signs them, and the parsed price
    /// (inflated when the fault says so).
    private func snapshot(_ ids: [String]) -> (feeds: [(id: String, step: Step, slot: UInt64)], update: [UInt8]?, now: Int64) {
        let now = publishTime, f = faults
        let feeds = ids.compactMap { id in current(id).map { (id: id, step: $0.0, slot: $0.1) } }
        guard let slot = feeds.first?.slot, !f.omitUpdates else { return (feeds, nil, now) }
        let update = accumulatorBlob(feeds.map { ($0.id, $0.step) }, slot: slot, publishTime: now,
                                     signers: f.signWithStrangers ? Self.strangers : Self.testGuardians)
        return (feeds, update, now)
    }

    private func parsedStep(_ step: Step) -> Step {
        guard let price = faults.parsedPriceOverride else { return step }
        var s = step
        s.price = price
        return s
    }

    func v2Body(ids: [String], parsed: Bool, base64: Bool) -> String {
        let (current, update, now) = snapshot(ids)
        let feeds = current.map { feed in
            "{\"id\":\"\(feed.id)\",\"price\":\(priceJSON(parsedStep(feed.step), publishTime: now)),\"ema_price\":\(priceJSON(feed.step, publishTime: now)),"
                + "\"metadata\":{\"slot\":\(feed.slot),\"proof_available_time\":\(now &+ 1),\"prev_publish_time\":\(now &- 1)}}"
        }
        // Hermes answers one update for all the requested feeds.
        let blobs = update.map { ["\"" + blobString($0, base64: base64) + "\""] } ?? []
        var body = "{\"binary\":{\"encoding\":\"\(base64 ? "base64" : "hex")\",\"data\":[\(blobs.joined(separator: ","))]}"
        if parsed { body += ",\"parsed\":[\(feeds.joined(separator: ","))]" }
        return body + "}"
    }

    func legacyBody(ids: [String], verbose: Bool, binary: Bool) -> String {
        let feeds = ids.compactMap { id -> String? in
            // The legacy endpoint sends each feed with its own update.
            let (current, update, now) = snapshot([id])
            guard let (_, step, slot) = current.first else { return nil }
            var feed = "{\"id\":\"\(id)\",\"price\":\(priceJSON(parsedStep(step), publishTime: now)),\"ema_price\":\(priceJSON(step, publishTime: now))"
            if verbose {
                feed += ",\"metadata\":{\"slot\":\(slot),\"emitter_chain\":26,\"price_service_receive_time\":\(now &+ 1),\"prev_publish_time\":\(now &- 1)}"
            }
            if binary, let update { feed += ",\"vaa\":\"\(blobString(update, base64: true))\"" }
            return feed + "}"
        }
        return "[" + feeds.joined(separator: ",") + "]"
    }

    // MARK: - Routes

    static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func json(_ body: String) -> Response {
        let cut = faults.truncateJSON ? String(body.prefix(body.count / 2)) : body
        return JSONResponse.raw(.ok, cut)
    }

    func restPreamble() async throws -> Response? {
        state.update { $0.requests += 1 }
        let f = faults
        if f.delay > .zero { try await Task.sleep(for: f.delay) }
        if f.rateLimited {
            var r = Self.text(.tooManyRequests, "Too Many Requests")
            r.headers[HTTPField.Name("Retry-After")!] = "60"
            return r
        }
        return nil
    }

    func answer(_ body: () throws -> Response) -> Response {
        do { return try body() } catch QueryError.badRequest(let message) {
            return Self.text(.badRequest, message)
        } catch QueryError.notFound(let ids) {
            return Self.text(.notFound, "Price ids not found: " + ids.map { "0x" + $0 }.joined(separator: ", "))
        } catch {
            return Self.text(.internalServerError, "\(error)")
        }
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: CORSMiddleware(allowOrigin: .all))
        router.get("/live") { _, _ in Self.text(.ok, "OK") }
        router.get("/v2/updates/price/latest") { request, _ in
            if let early = try await self.restPreamble() { return early }
            return self.answer {
                let q = try Self.parseQuery(request.uri.query, known: Set(self.state.get().paths.keys), ignoreUnknownAllowed: true)
                return self.json(self.v2Body(ids: q.ids, parsed: q.flags["parsed"] != "false", base64: q.flags["encoding"] == "base64"))
            }
        }
        router.get("/api/latest_price_feeds") { request, _ in
            if let early = try await self.restPreamble() { return early }
            return self.answer {
                let q = try Self.parseQuery(request.uri.query, known: Set(self.state.get().paths.keys), ignoreUnknownAllowed: false)
                return self.json(self.legacyBody(ids: q.ids, verbose: q.flags["verbose"] == "true", binary: q.flags["binary"] == "true"))
            }
        }
        router.get("/v2/updates/price/stream") { request, _ in
            self.state.update { $0.requests += 1 }
            let parsedQuery: (ids: [String], flags: [String: String])
            do {
                parsedQuery = try Self.parseQuery(request.uri.query, known: Set(self.state.get().paths.keys), ignoreUnknownAllowed: true)
            } catch {
                return self.answer { throw error }
            }
            let ids = parsedQuery.ids, base64 = parsedQuery.flags["encoding"] == "base64"
            let parsed = parsedQuery.flags["parsed"] != "false"
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                            body: ResponseBody { writer in
                var sent = 0, idle = Duration.zero
                while !Task.isCancelled {
                    try await Task.sleep(for: self.slotInterval)
                    if ids.isEmpty {
                        idle += self.slotInterval
                        if idle >= self.keepAliveInterval { try await writer.write(ByteBuffer(string: ":\n\n")); idle = .zero }
                        continue
                    }
                    let f = self.faults
                    if let limit = f.dropStreamAfterEvents, sent >= limit { break }
                    if f.inBandErrors { try await writer.write(ByteBuffer(string: "event:error\ndata:Error receiving update: injected\n\n")) }
                    try await writer.write(ByteBuffer(string: "data:" + self.v2Body(ids: ids, parsed: parsed, base64: base64) + "\n\n"))
                    sent += 1
                    self.state.update { $0.events += 1 }
                }
                try await writer.finish(nil)
            })
        }
        return router
    }

    /// Serves on 127.0.0.1:`port` (0 picks a free one) until cancelled; reports the bound port.
    /// `logLevel`: the demo silences even the shutdown chatter of a cancelled server.
    func run(port: Int = 0, logLevel: Logger.Level = .warning, onStarted: @escaping @Sendable (Int) async -> Void) async throws {
        var logger = Logger(label: "syphon.hermes-standin")
        logger.logLevel = logLevel
        let app = Application(router: router(), configuration: .init(address: .hostname("127.0.0.1", port: port)),
                              onServerRunning: { channel in await onStarted(channel.localAddress?.port ?? port) }, logger: logger)
        try await app.runService(gracefulShutdownSignals: [])
    }
}

import AsyncHTTPClient
import FHECore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// `serve --custody threshold`: the executor's side of threshold custody (docs/custody.md). It
/// holds no key that decrypts; it relays registrations and strategies to every custodian, and each
/// tick asks `t` of them for their partial decryptions of the pending strategies at the verified
/// price update, checks their signatures and that they computed the same result, and combines
/// them into the bit.
final class CustodyCoordinator: Sendable {
    struct Settings: Sendable, Equatable {
        var urls: [String]
        var threshold: Int
        /// CUSTODIAN_TOKEN: sent to every custodian.
        var token: String?
    }

    let settings: Settings
    let sharing: ReplicatedSharing
    let logger: Logger
    /// A decision round may compute for a while; connecting may not: a custodian that is down
    /// must fail its request at once (not after AsyncHTTPClient's retries until the deadline), so
    /// the round goes on with the others.
    var timeout: TimeAmount { .seconds(300) }

    /// One client for the process (never deinitialized, so never needs a shutdown).
    static let http: HTTPClient = {
        var pool = HTTPClient.Configuration.ConnectionPool()
        pool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton,
                          configuration: .init(timeout: .init(connect: .seconds(3)), connectionPool: pool))
    }()

    struct Member: Sendable {
        var identity: PublicCustodian?
        var up = true
        var lastError: String?
    }
    let members: LockedValue<[Member]>
    /// Bytes of request and answer bodies exchanged with the custodians (bench custody, /health).
    let traffic = LockedValue((sent: 0, received: 0))

    init(settings: Settings, logger: Logger) throws {
        guard settings.urls.count >= 1 else { throw ConfigurationError("--custody threshold needs --custodians URL,URL,…") }
        for url in settings.urls where !SecretURL(url).isSafeForSecrets {
            throw ConfigurationError("custodian URL \(SecretURL(url).redacted) must be https:// or http:// on loopback")
        }
        do { sharing = try ReplicatedSharing(custodians: settings.urls.count, threshold: settings.threshold) } catch {
            throw ConfigurationError("--threshold \(settings.threshold) with \(settings.urls.count) custodians: \(error)")
        }
        self.settings = settings
        self.logger = logger
        members = LockedValue(Array(repeating: Member(), count: settings.urls.count))
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    // MARK: - HTTP

    private func send(_ index: Int, _ method: HTTPMethod, _ path: String, body: Data? = nil, json: Bool = true,
                      timeout: TimeAmount? = nil) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: settings.urls[index] + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: json ? "application/json" : "application/octet-stream")
            request.body = .bytes(ByteBuffer(data: body))
        }
        if let token = settings.token { request.headers.add(name: "X-API-TOKEN", value: token) }
        do {
            let response = try await Self.http.execute(request, timeout: timeout ?? self.timeout)
            let answer = Data(buffer: try await response.body.collect(upTo: 64 << 20))
            mark(index, up: true, error: nil)
            traffic.update { $0.sent += body?.count ?? 0; $0.received += answer.count }
            return (Int(response.status.code), answer)
        } catch {
            mark(index, up: false, error: "\(error)")
            throw Failure(description: "custodian \(index) (\(SecretURL(settings.urls[index]).redacted)) unreachable: \(error)")
        }
    }

    private func mark(_ index: Int, up: Bool, error: String?) {
        members.update { $0[index].up = up; $0[index].lastError = error }
    }

    /// Each custodian's public keys, fetched once (GET /identity).
    func identity(_ index: Int) async throws -> PublicCustodian {
        if let known = members.get()[index].identity { return known }
        let (status, data) = try await send(index, .GET, "/identity")
        guard status == 200, let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let identity = PublicCustodian(json: object) else {
            throw Failure(description: "custodian \(index) answered /identity with \(status)")
        }
        members.update { $0[index].identity = identity }
        return identity
    }

    /// Probes the custodians marked down (GET /health), so that a custodian back up is used again.
    func probe() async {
        for (i, member) in members.get().enumerated() where !member.up {
            _ = try? await send(i, .GET, "/health", timeout: .seconds(3))
        }
    }

    /// Custodians believed up, in index order.
    var available: [Int] { members.get().enumerated().filter(\.element.up).map(\.offset) }
    var hasQuorum: Bool { available.count >= settings.threshold }

    var healthJSON: [String: Any] {
        let list = members.get()
        return ["mode": "threshold", "threshold": settings.threshold, "status": hasQuorum ? "ok" : "insufficient_custodians",
                "custodians": list.enumerated().map { i, m in
                    ["url": SecretURL(settings.urls[i]).redacted, "up": m.up, "last_error": m.lastError.map { $0 as Any } ?? NSNull()] as [String: Any]
                }]
    }

    // MARK: - Relaying registrations and strategies

    /// Relays a threshold key bundle to every custodian, each getting only its own sealed share.
    /// Every custodian must take it: a key missing at one custodian would quietly lower the
    /// fault tolerance of every strategy under it.
    func register(_ bundle: ThresholdKeyBundle) async throws {
        guard bundle.signingKeys.count == settings.urls.count, bundle.threshold == settings.threshold else {
            throw Rejection("the key was shared \(bundle.threshold)-of-\(bundle.signingKeys.count); this executor runs "
                            + "\(settings.threshold)-of-\(settings.urls.count) custodians")
        }
        for i in settings.urls.indices {
            let identity = try await identityOrUnavailable(i)
            guard identity.signingKey == bundle.signingKeys[i] else {
                throw Rejection("custodian \(i) of this executor is not the custodian the key's shares were sealed to "
                                + "(its signing key differs); run keygen --custodians against this executor's custodians", status: .conflict)
            }
        }
        try await forEachCustodian { i in
            let body = CustodyFrames(magic: CustodyFrames.custodianRegistration, frames: [
                bundle.evaluationKey, bundle.decisionKey, bundle.ownerKey, bundle.sealedShares[i],
            ]).encoded()
            let (status, answer) = try await self.send(i, .POST, "/keys", body: body, json: false)
            guard (200..<300).contains(status) else { throw Self.refusal(i, status, answer) }
        }
    }

    /// Pins a strategy at every custodian (same rule as keys).
    func pin(_ statement: [String: Any]) async throws {
        let body = try JSONSerialization.data(withJSONObject: statement, options: [.sortedKeys])
        try await forEachCustodian { i in
            let (status, answer) = try await self.send(i, .POST, "/strategies", body: body)
            guard (200..<300).contains(status) else { throw Self.refusal(i, status, answer) }
        }
    }

    /// Tells every custodian reachable that these strategies are final: no decision after this.
    func close(_ statementIDs: [String]) async {
        for id in statementIDs {
            for i in settings.urls.indices { _ = try? await send(i, .POST, "/strategies/\(id)/close", timeout: .seconds(10)) }
        }
    }

    private func identityOrUnavailable(_ i: Int) async throws -> PublicCustodian {
        do { return try await identity(i) } catch { throw DependencyUnavailable(description: "\(error); retry when every custodian is up") }
    }

    private func forEachCustodian(_ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in settings.urls.indices { group.addTask { try await body(i) } }
            do { try await group.waitForAll() } catch let failure as Failure {
                throw DependencyUnavailable(description: "\(failure); retry when every custodian is up")
            }
        }
    }

    private static func refusal(_ i: Int, _ status: Int, _ answer: Data) -> any Error {
        let message = (try? JSONSerialization.jsonObject(with: answer) as? [String: Any])?["message"] as? String ?? "status \(status)"
        return Rejection("custodian \(i) refused: \(message)", status: status == 403 ? .forbidden : status == 404 ? .notFound : .badRequest)
    }

    // MARK: - Decisions

    enum Outcome: Sendable, Equatable {
        /// Decided, with the signed partials it rests on (JSON, stored with a trigger).
        case decided(Bool, evidence: String)
        /// No decision at this price (a custodian failed or refused, or they disagreed); the
        /// custodians were asked, so this publish time is spent.
        case undecided(String)
        /// Fewer than t custodians up: nobody was asked.
        case unavailable(String)
    }

    /// Decisions of `strategies` (statement ids) at `update`. Asks the first `t` custodians believed
    /// up; one that fails is marked down and the strategies wait for the next update (a custodian
    /// answers each publish time once, so this one is not retried).
    func decide(_ statementIDs: [String], update: [UInt8]) async -> [String: Outcome] {
        await probe()
        let participants = Array(available.prefix(settings.threshold))
        guard participants.count == settings.threshold, let assignment = sharing.assignment(participants: participants) else {
            let why = "\(available.count) of \(settings.urls.count) custodians up, \(settings.threshold) needed"
            return Dictionary(uniqueKeysWithValues: statementIDs.map { ($0, Outcome.unavailable(why)) })
        }
        let updateHex = Hex.encode(update), updateDigest = contentHash(update)
        var answers: [Int: [String: [String: Any]]] = [:], identities: [Int: PublicCustodian] = [:]
        var failure: String?
        await withTaskGroup(of: (Int, Result<(Data, PublicCustodian), any Error>).self) { group in
            for p in participants {
                group.addTask {
                    do {
                        let identity = try await self.identity(p)
                        let body = try JSONSerialization.data(withJSONObject: [
                            "update": updateHex, "strategies": statementIDs.map { ["id": $0, "shares": assignment[p] ?? []] },
                        ] as [String: Any])
                        let (status, data) = try await self.send(p, .POST, "/decisions", body: body)
                        guard status == 200 else { throw Self.refusal(p, status, data) }
                        return (p, .success((data, identity)))
                    } catch { return (p, .failure(error)) }
                }
            }
            for await (p, result) in group {
                switch result {
                case .success(let (data, identity)):
                    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                          let decisions = object["decisions"] as? [String: [String: Any]] else {
                        failure = "custodian \(p) answered /decisions with something else than decisions"
                        continue
                    }
                    answers[p] = decisions
                    identities[p] = identity
                case .failure(let error): failure = "\(error)"
                }
            }
        }
        if let failure {
            logger.warning("custodian request failed; strategies wait for the next price", metadata: ["error": "\(failure)"])
            return Dictionary(uniqueKeysWithValues: statementIDs.map { ($0, Outcome.undecided(failure)) })
        }
        var outcomes: [String: Outcome] = [:]
        for id in statementIDs {
            outcomes[id] = combine(id, participants: participants, assignment: assignment, answers: answers, identities: identities,
                                   updateDigest: updateDigest)
        }
        return outcomes
    }

    /// Checks t signed partials of one strategy against each other and the request, then combines.
    func combine(_ id: String, participants: [Int], assignment: [Int: [Int]], answers: [Int: [String: [String: Any]]],
                 identities: [Int: PublicCustodian], updateDigest: String) -> Outcome {
        var partials: [SignedPartial] = []
        for p in participants {
            guard let answer = answers[p]?[id] else { return .undecided("custodian \(p) gave no answer for the strategy") }
            if let refused = answer["refused"] as? String { return .undecided("custodian \(p) refused: \(refused) (\(answer["detail"] ?? ""))") }
            guard let partial = SignedPartial(json: answer) else { return .undecided("custodian \(p) sent a malformed partial") }
            guard partial.custodian == Hex.encode(identities[p]!.signingKey), partial.verifies() else {
                return .undecided("custodian \(p)'s partial is not signed by its pinned key")
            }
            guard partial.strategyID == id, partial.updateDigest == updateDigest, partial.shares == assignment[p] else {
                return .undecided("custodian \(p)'s partial is for another strategy, update or share set")
            }
            partials.append(partial)
        }
        let first = partials[0]
        guard partials.allSatisfy({ $0.resultDigest == first.resultDigest && $0.body == first.body && $0.publishTime == first.publishTime
                && $0.priceCents == first.priceCents }) else {
            logger.error("custodians disagree on a decision ciphertext", metadata: ["strategy": "\(id.prefix(16))"])
            return .undecided("custodians computed different results")
        }
        let triggered = ThresholdDecryption.combine(body: first.body, partials: partials.map(\.partial))
        let evidence = (try? JSONSerialization.data(withJSONObject: partials.map(\.json), options: [.sortedKeys])).map {
            String(decoding: $0, as: UTF8.self)
        } ?? "[]"
        return .decided(triggered, evidence: evidence)
    }
}

/// What `keygen --custodians` makes for `POST /keys`: the public keys, the owner's signing key and
/// one sealed share per custodian (see ``CustodyFrames/thresholdBundle``).
struct ThresholdKeyBundle: Sendable {
    let evaluationKey: Data
    let decisionKey: Data
    let ownerKey: Data
    let threshold: Int
    let signingKeys: [[UInt8]]
    let sealedShares: [Data]

    var frames: CustodyFrames {
        CustodyFrames(magic: CustodyFrames.thresholdBundle, frames: [
            evaluationKey, decisionKey, ownerKey, Data([UInt8(threshold), UInt8(signingKeys.count)]), Data(signingKeys.flatMap { $0 }),
        ] + sealedShares)
    }

    init(evaluationKey: Data, decisionKey: Data, ownerKey: Data, threshold: Int, signingKeys: [[UInt8]], sealedShares: [Data]) {
        self.evaluationKey = evaluationKey
        self.decisionKey = decisionKey
        self.ownerKey = ownerKey
        self.threshold = threshold
        self.signingKeys = signingKeys
        self.sealedShares = sealedShares
    }

    /// The shape checked; the keys themselves are checked by the intake and by each custodian.
    init(_ f: CustodyFrames) throws {
        guard f.frames.count >= 6, f.frames[3].count == 2 else { throw Rejection("a threshold key bundle has at least 6 frames") }
        let t = Int(f.frames[3][f.frames[3].startIndex]), n = Int(f.frames[3][f.frames[3].startIndex + 1])
        guard n >= 1, n <= ReplicatedSharing.maximumCustodians, (1...n).contains(t), f.frames[4].count == 32 * n, f.frames.count == 5 + n,
              f.frames[2].count == 32 else {
            throw Rejection("malformed threshold key bundle (threshold, custodian keys or shares)")
        }
        let keys = Array(f.frames[4])
        self.init(evaluationKey: f.frames[0], decisionKey: f.frames[1], ownerKey: f.frames[2], threshold: t,
                  signingKeys: (0..<n).map { Array(keys[($0 * 32)..<($0 * 32 + 32)]) }, sealedShares: Array(f.frames[5...]))
    }
}

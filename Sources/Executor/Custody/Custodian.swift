import Crypto
import FHECore
import Foundation
import Logging

/// Why a custodian refuses: every refusal of docs/custody.md §3 has its code.
struct CustodianRefusal: Error, CustomStringConvertible, Equatable {
    enum Code: String, Sendable {
        case malformed, unknownKey = "unknown_key", unknownStrategy = "unknown_strategy", badAuthorization = "bad_authorization"
        case unverifiedPrice = "unverified_price", feedMissing = "feed_missing", stalePrice = "stale_price", futurePrice = "future_price"
        case notLater = "not_later", closed, budgetSpent = "budget_spent", badShares = "bad_shares", priceOutOfRange = "price_out_of_range"
    }
    let code: Code
    let detail: String
    init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }
    var description: String { "\(code.rawValue): \(detail)" }
}

/// The custodian's work (docs/custody.md): it keeps, for each registered key, the evaluation key,
/// the decision key and its own shares of the decision secret; pins the strategies their owners
/// signed; and decrypts — partially, with flooding — only the decision it computes itself from a
/// pinned strategy and a price update it verified, once per strategy and publish time, forward in
/// time only, within the key's budget.
final class Custodian: Sendable {
    let store: CustodianStore
    let identity: CustodianIdentity
    let input: UntrustedInput
    let trust: PythTrustRoots
    /// A price older than this (by the custodian's clock) is refused.
    let maxPriceAgeSeconds: Int64
    let engine: ComparisonEngine
    let evaluationKeys: ServerKeyCache
    let decisionKeys: DecodedCache<DecisionKey>
    let logger: Logger

    init(store: CustodianStore, identity: CustodianIdentity, input: UntrustedInput, trust: PythTrustRoots, maxPriceAgeSeconds: Int64,
         threads: Int, cacheBytes: Int, logger: Logger) throws {
        self.store = store
        self.identity = identity
        self.input = input
        self.trust = trust
        self.maxPriceAgeSeconds = maxPriceAgeSeconds
        engine = ComparisonEngine(threads: threads)
        evaluationKeys = ServerKeyCache(byteLimit: cacheBytes / 4)
        decisionKeys = DecodedCache<DecisionKey>(byteLimit: cacheBytes)
        self.logger = logger
    }

    var signingKeyHex: String { Hex.encode(identity.signing.publicKey.rawRepresentation) }

    // MARK: - Registration

    /// A key from the executor's relay: evaluation key, decision key, the owner's signing key and
    /// this custodian's share, sealed to it. Everything is decoded and checked before it is stored;
    /// the share stays sealed at rest and is opened only to compute a partial.
    func register(_ body: UnsafeRawBufferPointer) throws -> String {
        let frames: CustodyFrames
        do {
            guard let f = try CustodyFrames.decode(body, magic: CustodyFrames.custodianRegistration), f.frames.count == 4 else {
                throw CustodianRefusal(.malformed, "a registration is 4 frames: evaluation key, decision key, owner key, sealed share")
            }
            frames = f
        } catch let e as CustodyFrames.Malformed { throw CustodianRefusal(.malformed, e.description) }
        let keyID = contentHash(frames.frames[0])
        let evaluation: ServerKey
        do {
            let decoded = try frames.frames[0].withUnsafeBytes { try input.serverKey($0) }
            guard decoded.format == .native else { throw CustodianRefusal(.malformed, "the evaluation key must be a native key") }
            try decoded.key.parameters.requireForNewKeys(allowInsecureTestParameters: input.allowInsecureTestParameters)
            evaluation = decoded.key
        } catch let e as CustodianRefusal { throw e } catch { throw CustodianRefusal(.malformed, "evaluation key: \(error)") }
        let decision: SeededDecisionKey
        do {
            decision = try frames.frames[1].withUnsafeBytes {
                try NativeFormat.decodeDecisionKey($0, allowInsecureTestParameters: input.allowInsecureTestParameters)
            }
        } catch { throw CustodianRefusal(.malformed, "decision key: \(error)") }
        guard decision.custody.evaluation == evaluation.parameters else {
            throw CustodianRefusal(.malformed, "the decision key is for \(decision.custody.evaluation.name), the evaluation key \(evaluation.parameters.name)")
        }
        guard frames.frames[2].count == 32, (try? Curve25519.Signing.PublicKey(rawRepresentation: frames.frames[2])) != nil else {
            throw CustodianRefusal(.malformed, "the owner key must be a 32-byte Ed25519 public key")
        }
        guard let sealed = SealedShare(bytes: frames.frames[3]) else { throw CustodianRefusal(.malformed, "sealed share too short") }
        let share = try openShare(sealed, keyID: keyID)
        guard share.custody.evaluation == evaluation.parameters else {
            throw CustodianRefusal(.malformed, "the share is for \(share.custody.evaluation.name), the key \(evaluation.parameters.name)")
        }
        try store.register(.init(key: .init(id: keyID, parameterSet: evaluation.parameters.name, ownerKey: frames.frames[2],
                                            sealedShare: frames.frames[3], decryptions: 0),
                                 evaluationKey: frames.frames[0], decisionKey: frames.frames[1]))
        evaluationKeys.put(keyID, evaluation)
        logger.info("key registered", metadata: ["key_id": "\(keyID.prefix(16))", "share": "\(share)"])
        return keyID
    }

    private func openShare(_ sealed: SealedShare, keyID: String) throws -> DecisionKeyShare {
        var plaintext: Data
        do { plaintext = try identity.open(sealed, keyID: keyID) } catch {
            throw CustodianRefusal(.malformed, "the share does not open with this custodian's key for key \(keyID.prefix(16))…")
        }
        defer { plaintext.resetBytes(in: 0..<plaintext.count) }
        do {
            return try plaintext.withUnsafeBytes {
                try NativeFormat.decodeDecisionKeyShare($0, allowInsecureTestParameters: input.allowInsecureTestParameters)
            }
        } catch { throw CustodianRefusal(.malformed, "share: \(error)") }
    }

    // MARK: - Pinning

    /// Pins a strategy whose owner signed its statement; returns its id. The bounds must be native
    /// bounds of the key's set; the same statement again is a no-op.
    func pin(_ object: [String: Any]) throws -> String {
        func string(_ k: String) throws -> String {
            guard let v = object[k] as? String, !v.isEmpty else { throw CustodianRefusal(.malformed, "missing field \(k)") }
            return v
        }
        let keyID = try string("key_id")
        guard let key = try store.key(id: keyID) else { throw CustodianRefusal(.unknownKey, "key \(keyID.prefix(16))… is not registered here") }
        guard let type = StrategyType(rawValue: try string("strategy_type")) else { throw CustodianRefusal(.malformed, "unknown strategy_type") }
        let feed = try string("price_feed_id").lowercased()
        guard feed.count == 64, feed.allSatisfy(\.isHexDigit) else { throw CustodianRefusal(.malformed, "price_feed_id must be 64 hex digits") }
        guard let nonce = try? Hex.decode(try string("nonce")), nonce.count == 16 else { throw CustodianRefusal(.malformed, "nonce must be 16 bytes of hex") }
        guard let signature = try? Hex.decode(try string("signature")), signature.count == 64 else {
            throw CustodianRefusal(.malformed, "signature must be 64 bytes of hex")
        }
        let evaluation = try evaluationKey(key)
        var bounds: [String: Data] = [:]
        for (field, needed) in [("encrypted_upper_bound", type.needsUpperBound), ("encrypted_lower_bound", type.needsLowerBound)] {
            guard needed else {
                if object[field] != nil && !(object[field] is NSNull) { throw CustodianRefusal(.malformed, "\(type.rawValue) takes no \(field)") }
                continue
            }
            guard let bytes = try? Hex.decode(try string(field)) else { throw CustodianRefusal(.malformed, "\(field) must be hex") }
            do {
                let bound = try bytes.withUnsafeBytes { try input.priceBound($0, parameters: evaluation.parameters, field: field) }
                guard bound.format == .native else { throw CustodianRefusal(.malformed, "\(field) must be a native bound") }
            } catch let e as CustodianRefusal { throw e } catch { throw CustodianRefusal(.malformed, "\(field): \(error)") }
            bounds[field] = Data(bytes)
        }
        let statement = StrategyStatement(keyID: keyID, type: type, feedID: feed, upperDigest: bounds["encrypted_upper_bound"].map(contentHash),
                                          lowerDigest: bounds["encrypted_lower_bound"].map(contentHash), nonce: nonce)
        guard let owner = try? Curve25519.Signing.PublicKey(rawRepresentation: key.ownerKey), statement.isSigned(signature, by: owner) else {
            throw CustodianRefusal(.badAuthorization, "the owner of key \(keyID.prefix(16))… did not sign this strategy")
        }
        try store.pin(id: statement.id, keyID: keyID, type: type.rawValue, feedID: feed, upper: bounds["encrypted_upper_bound"],
                      lower: bounds["encrypted_lower_bound"], nonce: nonce, signature: signature)
        return statement.id
    }

    func close(_ id: String) throws -> Bool { try store.close(id: id) }

    // MARK: - Decisions

    private func material(_ key: CustodianStore.Key) throws -> (evaluationKey: Data, decisionKey: Data) {
        guard let material = try store.material(id: key.id) else { throw CustodianRefusal(.unknownKey, "key material missing") }
        return material
    }

    private func evaluationKey(_ key: CustodianStore.Key) throws -> ServerKey {
        try evaluationKeys.key(key.id) { try material(key).evaluationKey.withUnsafeBytes { try input.serverKey($0).key } }
    }

    private func decisionKey(_ key: CustodianStore.Key, evaluation: ServerKey) throws -> DecisionKey {
        try decisionKeys.key(key.id) {
            try material(key).decisionKey.withUnsafeBytes {
                try NativeFormat.decodeDecisionKey($0, allowInsecureTestParameters: input.allowInsecureTestParameters)
            }.expand(evaluationKey: evaluation)
        }
    }

    struct Request: Sendable {
        let strategyID: String
        let shares: [Int]
    }

    /// One answer per request: a signed partial, or a refusal with its code.
    enum Answer: Sendable {
        case partial(SignedPartial)
        case refused(CustodianRefusal)

        var json: [String: Any] {
            switch self {
            case .partial(let p): return p.json
            case .refused(let r): return ["refused": r.code.rawValue, "detail": r.detail]
            }
        }
    }

    /// Verifies `update`, then for every request it may answer: recomputes the strategy's decision at
    /// the update's price for its feed, adds this custodian's flooded partial, and records it before
    /// answering.
    func decide(update: [UInt8], requests: [Request], now: Int64) throws -> [String: Answer] {
        let verified: AccumulatorUpdate
        do { verified = try AccumulatorUpdate.verify(update, trust: trust) } catch {
            throw CustodianRefusal(.unverifiedPrice, "\(error)")
        }
        let updateDigest = contentHash(update)
        let randomness = try CSPRNG() // flooding noise: a fresh generator per call, seeded by the system
        var answers: [String: Answer] = [:]
        struct Work { let pinned: CustodianStore.Pinned; let key: CustodianStore.Key; let shares: [Int]; let message: AccumulatorUpdate.PriceMessage; let cents: UInt32 }
        var work: [Work] = []
        var keys: [String: CustodianStore.Key] = [:], seen: Set<String> = []
        // One answer per strategy per request: a repeated id is answered once.
        for r in requests where seen.insert(r.strategyID).inserted {
            do {
                guard let pinned = try store.pinned(id: r.strategyID) else { throw CustodianRefusal(.unknownStrategy, "not pinned here") }
                if pinned.closed { throw CustodianRefusal(.closed, "the strategy is final or cancelled") }
                guard let message = verified.messages.first(where: { $0.feedHex == pinned.feedID }) else {
                    throw CustodianRefusal(.feedMissing, "the update has no price for the strategy's feed")
                }
                if now - message.publishTime > maxPriceAgeSeconds {
                    throw CustodianRefusal(.stalePrice, "published \(now - message.publishTime) s ago, limit \(maxPriceAgeSeconds) s")
                }
                if message.publishTime > now + 10 { throw CustodianRefusal(.futurePrice, "published \(message.publishTime - now) s in the future") }
                if let last = pinned.lastPublishTime, message.publishTime <= last {
                    throw CustodianRefusal(.notLater, "already decided at publish time \(last); only later prices")
                }
                let quote = PriceQuote(feedID: pinned.feedID, price: message.price, conf: message.conf, expo: message.exponent,
                                       publishTime: message.publishTime)
                guard let cents = try? quote.cents() else { throw CustodianRefusal(.priceOutOfRange, "price not a positive u32 of cents") }
                if keys[pinned.keyID] == nil { keys[pinned.keyID] = try store.key(id: pinned.keyID) }
                guard let key = keys[pinned.keyID] else { throw CustodianRefusal(.unknownKey, "key missing") }
                work.append(Work(pinned: pinned, key: key, shares: r.shares, message: message, cents: cents))
            } catch let refusal as CustodianRefusal {
                answers[r.strategyID] = .refused(refusal)
            }
        }
        // One batch per price (a v2 update may carry several feeds); within it, per key.
        for (cents, group) in Dictionary(grouping: work, by: \.cents) {
            var requests: [EvaluationRequest] = [], decisionKeys: [DecisionKey] = [], owners: [Work] = []
            for w in group {
                do {
                    let evaluation = try evaluationKey(w.key)
                    guard let type = StrategyType(rawValue: w.pinned.type) else { throw CustodianRefusal(.malformed, "stored type") }
                    func bound(_ data: Data?, _ field: String) throws -> RadixCiphertext? {
                        try data.map { d in try d.withUnsafeBytes { try input.priceBound($0, parameters: evaluation.parameters, field: field).ciphertext } }
                    }
                    requests.append(EvaluationRequest(serverKey: evaluation, strategy: type, upper: try bound(w.pinned.upperBound, "upper bound"),
                                                      lower: try bound(w.pinned.lowerBound, "lower bound")))
                    decisionKeys.append(try decisionKey(w.key, evaluation: evaluation))
                    owners.append(w)
                } catch {
                    answers[w.pinned.id] = .refused(error as? CustodianRefusal ?? CustodianRefusal(.malformed, "stored material: \(error)"))
                }
            }
            guard !requests.isEmpty else { continue }
            let results = try engine.decide(requests, decisionKeys: decisionKeys, priceCents: UInt64(cents))
            // Each key's share is opened once for the call and let go with it.
            var opened: [String: DecisionKeyShare] = [:]
            for (w, (ct, decisionKey)) in zip(owners, zip(results, decisionKeys)) {
                let share: DecisionKeyShare
                do {
                    if let known = opened[w.key.id] { share = known } else {
                        guard let sealed = SealedShare(bytes: w.key.sealedShare) else { throw CustodianRefusal(.malformed, "stored share") }
                        share = try openShare(sealed, keyID: w.key.id)
                        opened[w.key.id] = share
                    }
                } catch {
                    answers[w.pinned.id] = .refused(error as? CustodianRefusal ?? CustodianRefusal(.malformed, "\(error)"))
                    continue
                }
                answers[w.pinned.id] = issue(w.pinned, key: w.key, share: share, ct: ct, budget: decisionKey.custody.decryptionBudget,
                                             shares: w.shares, publishTime: w.message.publishTime, cents: cents, updateDigest: updateDigest,
                                             rng: randomness)
            }
        }
        return answers
    }

    private func issue(_ pinned: CustodianStore.Pinned, key: CustodianStore.Key, share: DecisionKeyShare, ct: LweCiphertext, budget: UInt64, shares: [Int],
                       publishTime: Int64, cents: UInt32, updateDigest: String, rng randomness: CSPRNG) -> Answer {
        do {
            let partial: UInt64
            do { partial = try share.partialDecryption(of: ct, shares: shares, using: randomness) } catch {
                throw CustodianRefusal(.badShares, "\(error); this custodian holds shares \(share.indices)")
            }
            let signed = try SignedPartial(strategyID: pinned.id, updateDigest: updateDigest, resultDigest: resultDigest(ct),
                                           publishTime: publishTime, priceCents: cents, body: ct.words.last!, shares: shares, partial: partial,
                                           custodian: signingKeyHex, signature: []).signed(by: identity.signing)
            let text = String(decoding: try JSONSerialization.data(withJSONObject: signed.json, options: [.sortedKeys]), as: UTF8.self)
            do {
                try store.issue(strategyID: pinned.id, keyID: key.id, publishTime: publishTime, answer: text, budget: budget)
            } catch let claim as CustodianStore.ClaimRefusal {
                switch claim {
                case .closed: throw CustodianRefusal(.closed, "the strategy is final or cancelled")
                case .notLater(let last): throw CustodianRefusal(.notLater, "already decided at publish time \(last); only later prices")
                case .budgetSpent: throw CustodianRefusal(.budgetSpent, "the key has used its \(budget) decryptions; the owner must rotate it")
                }
            }
            return .partial(signed)
        } catch let refusal as CustodianRefusal {
            return .refused(refusal)
        } catch {
            return .refused(CustodianRefusal(.malformed, "\(error)"))
        }
    }
}

import Crypto
import FHECore
import Foundation
import HTTPTypes

/// Validates `/createStrategy` payloads — native (`key_id` + seeded bounds) and the original form
/// (tfhe-rs 0.5 keys and bounds inline) — and `POST /keys` bodies completely before anything is
/// stored. Every key and bound goes through FHECore's ``UntrustedInput``; a native key is usable
/// only by the identity that registered it.
struct StrategyIntake: Sendable {
    let keys: KeyRepository
    let feedMap: FeedMap
    /// `serve --custody threshold`: no client key may reach this executor (neither the original
    /// form's inline key nor `register-key --custody`); keys come as threshold bundles.
    var thresholdCustody = false

    var input: UntrustedInput { keys.input }

    /// A native createStrategy body is a key id and two bounds of ~0.5 KB: nothing bigger is one.
    static let nativeBodyLimit = 64 << 10

    /// An amount as exact decimal text: digits with an optional fraction, or a JSON number with an
    /// exponent (the original generator sends an f64), expanded without float loss.
    static func decimalAmount(_ fields: JSONFields) throws -> String {
        let text: String
        switch fields["amount"] {
        case .number(let r)?: text = String(decoding: fields.slice(r), as: UTF8.self)
        case .string(let r)?: text = String(decoding: fields.slice(r), as: UTF8.self).trimmingCharacters(in: .whitespaces)
        default: throw Rejection("amount must be a decimal string or number")
        }
        guard let decimal = DecimalText(text) else {
            throw Rejection("amount must be a non-negative decimal like \"1.5\" of at most 80 digits (got \(text.prefix(40)))")
        }
        guard decimal.isPositive else { throw Rejection("amount must be positive") }
        return decimal.text
    }

    func required(_ fields: JSONFields, _ key: String) throws -> String {
        guard let v = try? fields.string(key), !v.isEmpty else { throw Rejection("missing or empty field '\(key)'") }
        return v
    }

    /// Hex decoded (and hashed) per step: a tfhe-rs 0.5 server key is 219 MB of hex, about half a second
    /// of work that a tick must never wait for in one piece.
    static let hexStep = 4 << 20

    /// Hex field → bytes and their content id (SHA-256), in one pass, with a checkpoint between
    /// steps; errors name the field.
    func hexBytes(_ fields: JSONFields, _ key: String, checkpoint: IntakeCheckpoint) throws -> (bytes: Data, id: String) {
        guard let raw = try? fields.rawString(key) else { throw Rejection("field '\(key)' must be a hex string") }
        guard raw.count % 2 == 0 else { throw Rejection("invalid \(key): odd number of hex digits") }
        var bytes = Data(capacity: raw.count / 2), hash = SHA256(), start = 0
        while start < raw.count {
            let end = min(raw.count, start + Self.hexStep)
            let step: [UInt8]
            do { step = try Hex.decode(UnsafeRawBufferPointer(rebasing: raw[start..<end]), field: key) } catch FHECoreError.malformed(let field, let offset, let reason) {
                throw Rejection("invalid \(key): \(FHECoreError.malformed(field: field, offset: start + offset, reason: reason))")
            }
            bytes.append(contentsOf: step)
            hash.update(data: step)
            start = end
            checkpoint()
        }
        return (bytes, Hex.encode(Array(hash.finalize())))
    }

    /// `zkp_data`: a JSON object, or — as the original generator sends it — a string holding one.
    /// Its swap fields are checked where the original checked them: at creation when a chain is
    /// configured and `verify()` runs, otherwise at settlement.
    static func zkpData(_ fields: JSONFields) throws -> String {
        let text: String
        switch fields["zkp_data"] {
        case .composite(let r)? where fields.body[r.lowerBound] == UInt8(ascii: "{"):
            return String(decoding: fields.slice(r), as: UTF8.self)
        case .string?, .escapedString?:
            text = (try? fields.string("zkp_data")) ?? ""
        default:
            throw Rejection("zkp_data must be a JSON object (or a string holding one)")
        }
        // The inner document is scanned like a body (depth-limited) before anything parses it.
        let isObject = Data(text.utf8).withUnsafeBytes { (try? JSONFields($0)) != nil }
        guard isObject else { throw Rejection("zkp_data must be a JSON object (or a string holding one)") }
        return text
    }

    /// The fields every strategy has, validated; the key material differs between the two forms.
    struct Common {
        var payloadId, userId, assetIn, assetOut, amount, zkp, feed: String
        var recipient: String?
        var type: StrategyType
        var expiresAt: Date?
        var owner: Identity

        func record(serverKeyId: String, clientKeyId: String, boundIds: [String: String], now: Date) -> StrategyRecord {
            StrategyRecord(
                id: nil, payloadId: payloadId, userId: userId, strategyType: type.rawValue, assetIn: assetIn, assetOut: assetOut,
                amount: amount, recipientAddress: recipient, zkpData: zkp, upperBoundId: boundIds["encrypted_upper_bound"],
                lowerBoundId: boundIds["encrypted_lower_bound"], serverKeyId: serverKeyId, clientKeyId: clientKeyId, priceFeedId: feed,
                expiresAt: expiresAt, status: .pending, triggerPriceCents: nil, triggeredAt: nil, txHash: nil, signedTransaction: nil,
                failureReason: nil, createdAt: now, updatedAt: now, owner: owner.name)
        }
    }

    /// The bounds the strategy type needs, each decoded through ``UntrustedInput`` (16 fresh blocks
    /// under `parameters`, in the form's own format) and stored under its content hash.
    func bounds(_ fields: JSONFields, _ type: StrategyType, parameters: ParameterSet, format: WireFormat,
                checkpoint: IntakeCheckpoint) throws -> (blobs: [(id: String, data: Data)], ids: [String: String], seeds: [[UInt8]]) {
        var blobs: [(id: String, data: Data)] = [], ids: [String: String] = [:], seeds: [[UInt8]] = []
        for (field, needed) in [("encrypted_upper_bound", type.needsUpperBound), ("encrypted_lower_bound", type.needsLowerBound)] where needed {
            let (bytes, id) = try hexBytes(fields, field, checkpoint: checkpoint)
            let bound: UntrustedInput.PriceBound
            do { bound = try bytes.withUnsafeBytes { try input.priceBound($0, parameters: parameters, field: field) } } catch {
                throw Rejection("invalid \(field): \(error)")
            }
            guard bound.format == format else {
                throw Rejection("invalid \(field): a \(format.rawValue) strategy takes \(format.rawValue) bounds, not \(bound.format.rawValue)")
            }
            if let seed = bound.seed {
                guard !seeds.contains(seed) else {
                    throw Rejection("the two bounds share one seed: that reveals the difference of their prices; encrypt each bound afresh")
                }
                seeds.append(seed)
            }
            blobs.append((id, bytes))
            ids[field] = id
        }
        return (blobs, ids, seeds)
    }

    /// The native form: `key_id` of an evaluation key this identity registered (with a client key
    /// in custody) and seeded native bounds.
    func validateNative(_ fields: JSONFields, _ common: Common, now: Date, checkpoint: IntakeCheckpoint) throws
        -> OrderBookDatabase.NewStrategy {
        guard fields.body.count <= Self.nativeBodyLimit else {
            throw Rejection("a native createStrategy body is at most \(Self.nativeBodyLimit) bytes", status: .contentTooLarge)
        }
        let keyID = try required(fields, "key_id")
        guard let registered = try keys.database.waitOnLane({ try await $0.registeredKey(id: keyID) }) else {
            throw Rejection("unknown key_id \(keyID.prefix(16))…: register the evaluation key first (POST /keys)")
        }
        guard registered.owner == common.owner.name || (registered.owner == nil && common.owner.isAdmin) else {
            throw Rejection("key_id \(keyID.prefix(16))… belongs to another identity", status: .forbidden)
        }
        guard let clientKeyId = registered.clientKeyId else {
            throw Rejection("key_id \(keyID.prefix(16))… has no client key in custody (register it with --custody), "
                            + "nor custodians (keygen --custodians)")
        }
        let serverKey = try keys.serverKey(id: keyID)
        let (blobs, ids, seeds) = try bounds(fields, common.type, parameters: serverKey.parameters, format: .native, checkpoint: checkpoint)
        var record = common.record(serverKeyId: keyID, clientKeyId: clientKeyId, boundIds: ids, now: now)
        var pin: CustodyPin?
        if clientKeyId.hasPrefix(OrderBookDatabase.custodiansPrefix) {
            pin = try custodyPin(fields, keyID: keyID, type: common.type, feed: common.feed, blobs: blobs, ids: ids)
            record.custodyStatement = pin!.statement.id
        } else if thresholdCustody {
            throw Rejection("this executor runs threshold custody and holds no client key: register the key with keygen --custodians")
        }
        return .init(record: record, serverKey: (keyID, registered.parameterSet, nil), clientKey: (clientKeyId, nil), bounds: blobs,
                     seeds: seeds, custodyPin: pin)
    }

    /// `custody_authorization: {"nonce", "signature"}`: the owner's Ed25519 signature over the
    /// strategy's statement (key, type, feed, bound digests, nonce). Checked again by every custodian.
    func custodyPin(_ fields: JSONFields, keyID: String, type: StrategyType, feed: String, blobs: [(id: String, data: Data)],
                    ids: [String: String]) throws -> CustodyPin {
        // The scanner reads the bytes in place: the inner object is scanned inside the closure.
        let authorization: (nonce: [UInt8], signature: [UInt8])? = {
            guard case .composite(let range)? = fields["custody_authorization"] else { return nil }
            return try? Data(fields.slice(range)).withUnsafeBytes { raw -> (nonce: [UInt8], signature: [UInt8])? in
                let inner = try JSONFields(raw)
                guard let nonce = (try? inner.string("nonce")).flatMap({ try? Hex.decode($0) }),
                      let signature = (try? inner.string("signature")).flatMap({ try? Hex.decode($0) }) else { return nil }
                return (nonce, signature)
            }
        }()
        guard let (nonce, signature) = authorization, nonce.count == 16, signature.count == 64 else {
            throw Rejection("key_id \(keyID.prefix(16))… is held by custodians: the strategy needs custody_authorization "
                            + "{\"nonce\": 16 bytes hex, \"signature\": 64 bytes hex} (the payload command writes it)")
        }
        let bytes = Dictionary(uniqueKeysWithValues: blobs.map { ($0.id, $0.data) })
        let statement = StrategyStatement(keyID: keyID, type: type, feedID: feed, upperDigest: ids["encrypted_upper_bound"],
                                          lowerDigest: ids["encrypted_lower_bound"], nonce: nonce)
        return CustodyPin(statement: statement, signature: signature, upper: ids["encrypted_upper_bound"].flatMap { bytes[$0] },
                          lower: ids["encrypted_lower_bound"].flatMap { bytes[$0] })
    }

    /// A checked `POST /keys` body, ready to store.
    struct Registration: Sendable {
        let keyID: String
        let parameterSet: String
        let data: Data
        /// The custody client key (checked to belong to the key), sealed to its id.
        let clientKey: (id: String, sealed: Data)?
        /// Threshold custody: the bundle to relay to the custodians before storing.
        var threshold: ThresholdKeyBundle? = nil
    }

    /// POST /keys: one native evaluation-key container, optionally followed by its client-key
    /// container, which must have generated it.
    func register(_ body: UnsafeRawBufferPointer) throws -> Registration {
        let frames: CustodyFrames?
        do { frames = try CustodyFrames.decode(body, magic: CustodyFrames.thresholdBundle) } catch { throw Rejection("threshold key bundle: \(error)") }
        if let frames { return try registerThreshold(try ThresholdKeyBundle(frames)) }
        guard let (evaluationBytes, clientBytes) = UntrustedInput.splitKeyBundle(body) else {
            throw Rejection("body must be a native evaluation key container (keygen output), optionally followed by its client key")
        }
        let serverKey: ServerKey
        do { serverKey = try input.serverKey(evaluationBytes).key } catch { throw Rejection("invalid evaluation key: \(error)") }
        // The tfhe-rs 0.5 set is read for the original's payloads only: a new key must meet 2^-128.
        do { try serverKey.parameters.requireForNewKeys(allowInsecureTestParameters: input.allowInsecureTestParameters) } catch {
            throw Rejection("\(error)")
        }
        let keyID = contentHash(evaluationBytes)
        if keys.serverKeys.get(keyID) == nil { keys.serverKeys.put(keyID, serverKey) }
        var custody: (id: String, sealed: Data)?
        if clientBytes != nil && thresholdCustody {
            throw Rejection("this executor runs threshold custody and takes no client key: register the key with keygen --custodians")
        }
        if let clientBytes {
            do {
                _ = try input.clientKey(clientBytes, belongingTo: serverKey)
            } catch let mismatch as FHECoreError {
                if case .keyPairMismatch = mismatch, try keys.database.waitOnLane({ try await $0.registeredKey(id: keyID) })?.clientKeyId != nil {
                    throw Rejection(OrderBookConflict.differentCustodyKey.description, status: .conflict)
                }
                throw Rejection("invalid client key: \(mismatch)")
            }
            let id = contentHash(clientBytes)
            custody = (id, try keys.keystore.seal(clientBytes, keyID: id))
        }
        return Registration(keyID: keyID, parameterSet: serverKey.parameters.name, data: Data(evaluationBytes), clientKey: custody)
    }

    /// A threshold bundle: the evaluation key checked as any, the decision key checked against it;
    /// the shares stay sealed (only their custodians open them).
    func registerThreshold(_ bundle: ThresholdKeyBundle) throws -> Registration {
        guard thresholdCustody else {
            throw Rejection("this executor runs --custody executor; a key shared among custodians needs serve --custody threshold")
        }
        let serverKey: ServerKey
        do { serverKey = try bundle.evaluationKey.withUnsafeBytes { try input.serverKey($0).key } } catch {
            throw Rejection("invalid evaluation key: \(error)")
        }
        do { try serverKey.parameters.requireForNewKeys(allowInsecureTestParameters: input.allowInsecureTestParameters) } catch {
            throw Rejection("\(error)")
        }
        do {
            let decision = try bundle.decisionKey.withUnsafeBytes {
                try NativeFormat.decodeDecisionKey($0, allowInsecureTestParameters: input.allowInsecureTestParameters)
            }
            guard decision.custody.evaluation == serverKey.parameters else { throw Rejection("the decision key is for another parameter set") }
        } catch let r as Rejection { throw r } catch { throw Rejection("invalid decision key: \(error)") }
        let keyID = contentHash(bundle.evaluationKey)
        if keys.serverKeys.get(keyID) == nil { keys.serverKeys.put(keyID, serverKey) }
        return Registration(keyID: keyID, parameterSet: serverKey.parameters.name, data: bundle.evaluationKey,
                            clientKey: (OrderBookDatabase.custodiansPrefix + keyID, Data()), threshold: bundle)
    }

    func validate(_ body: UnsafeRawBufferPointer, owner: Identity, now: Date, checkpoint: IntakeCheckpoint = .none) throws
        -> OrderBookDatabase.NewStrategy {
        let fields: JSONFields
        do { fields = try JSONFields(body) } catch { throw Rejection("\(error)") }
        let payloadId = try required(fields, "payload_id")
        let userId = try required(fields, "user_id")
        let typeName = try required(fields, "strategy_type")
        let type = try StrategyType.named(typeName)
        let assetIn = try required(fields, "asset_in"), assetOut = try required(fields, "asset_out")
        let amount = try Self.decimalAmount(fields)
        var recipient: String?
        if fields.isPresent("recipient_address") {
            let text = try required(fields, "recipient_address")
            do { _ = try EthereumAddress(text) } catch { throw Rejection("recipient_address: \(error)") }
            recipient = text
        }
        let zkp = try Self.zkpData(fields)
        let feed: String
        do { feed = try feedMap.feed(explicit: try? fields.string("price_feed_id"), assetIn: assetIn, assetOut: assetOut) } catch {
            throw Rejection("\(error)")
        }
        var expiresAt: Date?
        if fields.isPresent("expires_at") {
            guard let seconds = try? fields.unsignedInteger("expires_at"), seconds > UInt64(now.timeIntervalSince1970),
                  seconds < 1 << 40 else {
                throw Rejection("expires_at must be a future Unix time in seconds")
            }
            expiresAt = Date(timeIntervalSince1970: TimeInterval(seconds))
        }
        let common = Common(payloadId: payloadId, userId: userId, assetIn: assetIn, assetOut: assetOut, amount: amount, zkp: zkp,
                            feed: feed, recipient: recipient, type: type, expiresAt: expiresAt, owner: owner)
        if fields.isPresent("key_id") { return try validateNative(fields, common, now: now, checkpoint: checkpoint) }

        if thresholdCustody {
            throw Rejection("this executor runs threshold custody and takes no client key: the original form (inline keys) is "
                            + "refused; use native keys made with keygen --custodians")
        }
        // The original form: its server key decoded in full (every field validated), kept decoded
        // for the scheduler; its client key checked to belong to it, then sealed.
        let (serverKeyBytes, serverKeyId) = try hexBytes(fields, "server_key", checkpoint: checkpoint)
        let serverKey: ServerKey
        if let known = keys.serverKeys.get(serverKeyId) {
            serverKey = known // the same bytes were validated before
        } else {
            let decoded: (key: ServerKey, format: WireFormat)
            do { decoded = try serverKeyBytes.withUnsafeBytes { try input.serverKey($0) } } catch {
                throw Rejection("invalid server_key: \(error)")
            }
            guard decoded.format == .tfheRs05 else {
                throw Rejection("invalid server_key: expected a tfhe-rs 0.5 ServerKey (register native keys with POST /keys)")
            }
            serverKey = decoded.key
            checkpoint()
        }
        let (blobs, ids, _) = try bounds(fields, type, parameters: serverKey.parameters, format: .tfheRs05, checkpoint: checkpoint)
        var (clientKeyBytes, clientKeyId) = try hexBytes(fields, "encrypted_client_key", checkpoint: checkpoint)
        defer { clientKeyBytes.resetBytes(in: 0..<clientKeyBytes.count) }
        do { _ = try clientKeyBytes.withUnsafeBytes { try input.clientKey($0, belongingTo: serverKey) } } catch {
            throw Rejection("invalid encrypted_client_key: \(error)")
        }
        let sealed = try keys.keystore.seal(clientKeyBytes, keyID: clientKeyId)
        keys.serverKeys.put(serverKeyId, serverKey)

        return .init(record: common.record(serverKeyId: serverKeyId, clientKeyId: clientKeyId, boundIds: ids, now: now),
                     serverKey: (serverKeyId, serverKey.parameters.name, serverKeyBytes), clientKey: (clientKeyId, sealed), bounds: blobs)
    }
}

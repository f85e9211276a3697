import FHECore
import Foundation

/// Validates an original-format `/createStrategy` payload completely before anything is stored:
/// every field, the tfhe-rs 0.5 server key (decoded in full), the bounds the strategy type needs
/// (decoded against that key's parameters) and the client key (decoded, then sealed).
struct StrategyIntake: Sendable {
    let keys: KeyRepository
    let feedMap: FeedMap
    let allowInsecureTestParameters: Bool

    struct Rejection: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// A decimal amount without float loss: digits with an optional fraction.
    static func decimalAmount(_ fields: JSONFields) throws -> String {
        let text: String
        switch fields["amount"] {
        case .number(let r)?: text = String(decoding: fields.slice(r), as: UTF8.self)
        case .string(let r)?: text = String(decoding: fields.slice(r), as: UTF8.self).trimmingCharacters(in: .whitespaces)
        default: throw Rejection("amount must be a decimal string or number")
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              text.count <= 80 else {
            throw Rejection("amount must be a non-negative decimal like \"1.5\" (got \(text.prefix(40)))")
        }
        guard text.contains(where: { $0 != "0" && $0 != "." }) else { throw Rejection("amount must be positive") }
        return text
    }

    func required(_ fields: JSONFields, _ key: String) throws -> String {
        guard let v = try? fields.string(key), !v.isEmpty else { throw Rejection("missing or empty field '\(key)'") }
        return v
    }

    /// Hex field → bytes, naming the field in errors.
    func hexBytes(_ fields: JSONFields, _ key: String) throws -> Data {
        guard let raw = try? fields.rawString(key) else { throw Rejection("field '\(key)' must be a hex string") }
        do { return Data(try Hex.decode(raw, field: key)) } catch let e as FHECoreError { throw Rejection("invalid \(key): \(e)") }
    }

    /// The fields every strategy has, validated; the key material differs between the two forms.
    struct Common {
        var payloadId, userId, assetIn, assetOut, amount, recipient, zkp, feed: String
        var type: StrategyType
        var expiresAt: Date?

        func record(serverKeyId: String, clientKeyId: String, boundIds: [String: String], now: Date) -> StrategyRecord {
            StrategyRecord(
                id: nil, payloadId: payloadId, userId: userId, strategyType: type.rawValue, assetIn: assetIn, assetOut: assetOut,
                amount: amount, recipientAddress: recipient, zkpData: zkp, upperBoundId: boundIds["encrypted_upper_bound"],
                lowerBoundId: boundIds["encrypted_lower_bound"], serverKeyId: serverKeyId, clientKeyId: clientKeyId, priceFeedId: feed,
                expiresAt: expiresAt, status: .pending, triggerPriceCents: nil, triggeredAt: nil, txHash: nil, signedTransaction: nil,
                failureReason: nil, createdAt: now, updatedAt: now)
        }
    }

    /// The bounds the strategy type needs, each decoded to a radix ciphertext by `decode` (which
    /// must also check it against the key) and stored under its content hash.
    func bounds(_ fields: JSONFields, _ type: StrategyType, serverKey: ServerKey,
                decode: (Data, String) throws -> RadixCiphertext) throws -> (blobs: [(id: String, data: Data)], ids: [String: String]) {
        var blobs: [(id: String, data: Data)] = [], ids: [String: String] = [:]
        for (field, needed) in [("encrypted_upper_bound", type.needsUpperBound), ("encrypted_lower_bound", type.needsLowerBound)] where needed {
            let bytes = try hexBytes(fields, field)
            do { try ComparisonEngine(serverKey: serverKey).validate(try decode(bytes, field), field: field) } catch {
                throw Rejection("invalid \(field): \(error)")
            }
            let id = contentHash(bytes)
            blobs.append((id, bytes))
            ids[field] = id
        }
        return (blobs, ids)
    }

    /// The native form: `key_id` of a registered evaluation key (with a client key in custody) and
    /// seeded native bounds.
    func validateNative(_ fields: JSONFields, _ common: Common, now: Date) throws -> OrderBookDatabase.NewStrategy {
        let keyID = try required(fields, "key_id")
        guard let registered = try keys.database.registeredKey(id: keyID) else {
            throw Rejection("unknown key_id \(keyID.prefix(16))…: register the evaluation key first (POST /keys)")
        }
        guard let clientKeyId = registered.clientKeyId else {
            throw Rejection("key_id \(keyID.prefix(16))… has no client key in custody (register it with --custody); "
                            + "threshold decryption is not configured on this server")
        }
        let serverKey = try keys.serverKey(id: keyID)
        let (blobs, ids) = try bounds(fields, common.type, serverKey: serverKey) { bytes, field in
            let (seeded, p) = try bytes.withUnsafeBytes {
                try NativeFormat.decodeRadixCiphertext($0, allowInsecureTestParameters: allowInsecureTestParameters)
            }
            guard p == serverKey.parameters else {
                throw FHECoreError.parameterMismatch(field: field, expected: serverKey.parameters.name, found: p.name)
            }
            return seeded.expand(parameters: p)
        }
        return .init(record: common.record(serverKeyId: keyID, clientKeyId: clientKeyId, boundIds: ids, now: now),
                     serverKey: (keyID, registered.parameterSet, nil), clientKey: (clientKeyId, nil), bounds: blobs)
    }

    /// POST /keys: one evaluation-key container, optionally followed by its client-key container.
    func register(_ body: UnsafeRawBufferPointer) throws -> (keyID: String, parameterSet: String, data: Data,
                                                            clientKey: (id: String, sealed: Data)?) {
        guard NativeFormat.kind(of: body) != nil else { throw Rejection("body must be native key containers (keygen output)") }
        guard let first = NativeFormat.containerLength(body), first <= body.count else {
            throw Rejection("truncated evaluation key container")
        }
        let evaluationBytes = UnsafeRawBufferPointer(rebasing: body[0..<first])
        let seeded: SeededEvaluationKey
        do { seeded = try NativeFormat.decodeEvaluationKey(evaluationBytes, allowInsecureTestParameters: allowInsecureTestParameters) } catch {
            throw Rejection("invalid evaluation key: \(error)")
        }
        let keyID = contentHash(evaluationBytes)
        if keys.cachedServerKey(id: keyID) == nil { keys.remember(keyID, seeded.expand()) }
        var custody: (id: String, sealed: Data)?
        if first < body.count {
            let clientBytes = UnsafeRawBufferPointer(rebasing: body[first...])
            do {
                let client = try NativeFormat.decodeClientKey(clientBytes, allowInsecureTestParameters: allowInsecureTestParameters)
                guard client.parameters == seeded.parameters else { throw Rejection("client key parameters differ from the evaluation key's") }
            } catch let r as Rejection { throw r } catch { throw Rejection("invalid client key: \(error)") }
            custody = (contentHash(clientBytes), try keys.keystore.seal(Data(clientBytes)))
        }
        return (keyID, seeded.parameters.name, Data(evaluationBytes), custody)
    }

    func validate(_ body: UnsafeRawBufferPointer, now: Date) throws -> OrderBookDatabase.NewStrategy {
        let fields: JSONFields
        do { fields = try JSONFields(body) } catch { throw Rejection("\(error)") }
        let payloadId = try required(fields, "payload_id")
        let userId = try required(fields, "user_id")
        let typeName = try required(fields, "strategy_type")
        guard let type = StrategyType(rawValue: typeName) else { throw Rejection(LegacyRequestError.unknownStrategy(typeName).description) }
        let assetIn = try required(fields, "asset_in"), assetOut = try required(fields, "asset_out")
        let amount = try Self.decimalAmount(fields)
        let recipient = try required(fields, "recipient_address")
        do { _ = try EthereumAddress(recipient) } catch { throw Rejection("recipient_address: \(error)") }
        guard case .composite(let zkpRange)? = fields["zkp_data"], fields.body[zkpRange.lowerBound] == UInt8(ascii: "{") else {
            throw Rejection("zkp_data must be an object")
        }
        let zkp = String(decoding: fields.slice(zkpRange), as: UTF8.self)
        let feed: String
        do { feed = try feedMap.feed(explicit: try? fields.string("price_feed_id"), assetIn: assetIn, assetOut: assetOut) } catch {
            throw Rejection("\(error)")
        }
        var expiresAt: Date?
        if fields.isPresent("expires_at") {
            guard let seconds = try? fields.unsignedInteger("expires_at"), seconds > UInt64(now.timeIntervalSince1970) else {
                throw Rejection("expires_at must be a future Unix time in seconds")
            }
            expiresAt = Date(timeIntervalSince1970: TimeInterval(seconds))
        }
        let common = Common(payloadId: payloadId, userId: userId, assetIn: assetIn, assetOut: assetOut, amount: amount,
                            recipient: recipient, zkp: zkp, feed: feed, type: type, expiresAt: expiresAt)
        if fields.isPresent("key_id") { return try validateNative(fields, common, now: now) }

        // The server key: decoded in full (every field validated), kept decoded for the scheduler.
        let serverKeyBytes = try hexBytes(fields, "server_key")
        let serverKeyId = contentHash(serverKeyBytes)
        let serverKey: ServerKey
        if let known = keys.cachedServerKey(id: serverKeyId) {
            serverKey = known // the same bytes were validated before
        } else {
            do {
                serverKey = try serverKeyBytes.withUnsafeBytes { bytes in
                    let p = try TfheRs05.detectServerKeyParameters(bytes, allowInsecureTestParameters: allowInsecureTestParameters)
                    return try TfheRs05.decodeServerKey(bytes, parameters: p)
                }
            } catch { throw Rejection("invalid server_key: \(error)") }
        }
        let p = serverKey.parameters

        let (blobs, ids) = try bounds(fields, type, serverKey: serverKey) { bytes, _ in
            try bytes.withUnsafeBytes { try TfheRs05.decodeRadixCiphertext($0, parameters: p) }
        }
        var clientKeyBytes = try hexBytes(fields, "encrypted_client_key")
        defer { clientKeyBytes.resetBytes(in: 0..<clientKeyBytes.count) }
        do { _ = try clientKeyBytes.withUnsafeBytes { try TfheRs05.decodeRadixClientKey($0, parameters: p) } } catch {
            throw Rejection("invalid encrypted_client_key: \(error)")
        }
        let clientKeyId = contentHash(clientKeyBytes)
        let sealed = try keys.keystore.seal(clientKeyBytes)
        keys.remember(serverKeyId, serverKey)

        return .init(record: common.record(serverKeyId: serverKeyId, clientKeyId: clientKeyId, boundIds: ids, now: now),
                     serverKey: (serverKeyId, p.name, serverKeyBytes), clientKey: (clientKeyId, sealed), bounds: blobs)
    }
}

import CFHEShim
import FHECore
import Foundation
import Hummingbird

/// The order-book API: create (native or original payload), register keys, read, list, cancel.
/// Strategies and keys belong to the identity that created them; only the admin sees others'.
struct StrategyController: Sendable {
    let database: OrderBookDatabase
    let intake: StrategyIntake
    let worker: FHEWorker
    /// Original-format createStrategy bodies (inline keys) may be this large.
    let maxBodyBytes: Int
    let uploads: UploadSlots
    /// Set when a chain is configured: the swap must be buildable and its proof verified on chain.
    var proofs: ProofVerifier?
    /// `--custody threshold`: keys and strategies are relayed to every custodian before they are stored.
    var custody: CustodyCoordinator?

    /// Evaluation key plus client key: 28.5 MB for the default set; a threshold bundle adds the
    /// 114 MB decision key and the sealed shares. Nothing legitimate is near 192 MiB.
    static let keysBodyLimit = 192 << 20

    func addRoutes(to router: Router<ExecutorRequestContext>) {
        let custody = self.custody
        router.post("/createStrategy") { request, context in try await create(request, context) }
        router.post("/keys") { request, context in try await registerKey(request, context) }
        router.get("/strategies/:id") { _, context in
            guard let id = context.parameters.get("id", as: Int64.self) else { return JSONResponse.error(.badRequest, "id must be an integer") }
            guard let s = try await database.strategy(id: id), Self.visible(s, to: context) else {
                return JSONResponse.error(.notFound, "no strategy \(id)")
            }
            var body = Self.describe(s)
            // The one-strategy view adds its history: stale triggers, replacements, reorgs, finality.
            body["events"] = try await database.events(strategyID: id).map {
                ["at": Int($0.at.timeIntervalSince1970), "kind": $0.kind, "detail": $0.detail] as [String: Any]
            }
            return JSONResponse.make(.ok, body)
        }
        // The signed Pyth update a trigger rests on (public market data): `verify-price --update` takes its hex.
        router.get("/price-updates/:id") { _, context in
            guard let id = context.parameters.get("id"), id.count == 64, id.allSatisfy(\.isHexDigit) else {
                return JSONResponse.error(.badRequest, "id must be 64 hex digits (the update's SHA-256)")
            }
            guard let data = try await database.priceUpdate(id: id.lowercased()) else { return JSONResponse.error(.notFound, "no price update \(id)") }
            return JSONResponse.make(.ok, ["update_sha256": id.lowercased(), "update": Hex.encode([UInt8](data))])
        }
        router.get("/strategies") { request, context in
            let q = request.uri.queryParameters
            var status: StrategyStatus?
            if let raw = q["status"] {
                guard let s = StrategyStatus(rawValue: String(raw).uppercased()) else {
                    return JSONResponse.error(.badRequest, "unknown status '\(raw.prefix(40))'")
                }
                status = s
            }
            let owner = (context.identity?.isAdmin ?? false) ? nil : context.identity?.name ?? "-"
            let list = try await database.strategies(userId: q["user_id"].map(String.init), status: status, owner: owner)
            return JSONResponse.make(.ok, ["strategies": list.map(Self.describe)])
        }
        router.delete("/strategies/:id") { _, context in
            guard let id = context.parameters.get("id", as: Int64.self) else { return JSONResponse.error(.badRequest, "id must be an integer") }
            guard let s = try await database.strategy(id: id), Self.visible(s, to: context) else {
                return JSONResponse.error(.notFound, "no strategy \(id)")
            }
            guard try await database.cancel(id: id) else {
                return JSONResponse.error(.conflict, "strategy \(id) is \(s.status.rawValue) and can no longer be cancelled")
            }
            if let statement = s.custodyStatement { await custody?.close([statement]) }
            return JSONResponse.make(.ok, ["status": "success", "strategy_id": id, "state": StrategyStatus.cancelled.rawValue])
        }
    }

    /// The owner and the admin see a strategy; for anyone else it does not exist.
    static func visible(_ s: StrategyRecord, to context: ExecutorRequestContext) -> Bool {
        guard let identity = context.identity else { return false }
        return identity.isAdmin || s.owner == identity.name
    }

    /// Reads the body under `policy`, validates it on the intake lane of the FHE worker (never in
    /// the scheduler's way), then `store`s it. Every refusal carries its own status (Refusal.swift):
    /// 400 the intake's rejection, 403 another identity's key, 409 a conflict with the book,
    /// 413/415/503 the body, 503 a chain that could not be asked.
    func answer<Validated: Sendable>(_ request: Request, _ context: ExecutorRequestContext, policy: BodyPolicy,
                                     validate: @escaping @Sendable (UnsafeRawBufferPointer, Identity, IntakeCheckpoint) throws -> Validated,
                                     store: @Sendable (Validated, Identity) async throws -> Response) async throws -> Response {
        let identity = context.identity ?? .local
        return try await context.withBody(request, policy: policy, slots: uploads) { body in
            let validated = try await worker.intake { checkpoint in
                try body.withUnsafeReadableBytes { try validate($0, identity, checkpoint) }
            }
            return try await store(validated, identity)
        }
    }

    func create(_ request: Request, _ context: ExecutorRequestContext) async throws -> Response {
        let intake = self.intake, database = self.database, proofs = self.proofs, custody = self.custody
        return try await answer(request, context, policy: .json(limit: maxBodyBytes, largeAbove: StrategyIntake.nativeBodyLimit),
                                validate: { try intake.validate($0, owner: $1, now: Date(), checkpoint: $2) }) { new, _ in
            if let existing = try await database.strategyID(payloadId: new.record.payloadId) {
                return JSONResponse.make(.ok, ["status": "success", "strategy_id": existing])
            }
            try await proofs?.check(new.record)
            if let pin = new.custodyPin {
                guard let custody else { throw Rejection("this key is held by custodians; this executor runs --custody executor") }
                try await custody.pin(pin.json)
            }
            let (id, created) = try await database.createStrategy(new)
            return JSONResponse.make(created ? .created : .ok, ["status": "success", "strategy_id": id])
        }
    }

    func registerKey(_ request: Request, _ context: ExecutorRequestContext) async throws -> Response {
        let intake = self.intake, database = self.database, custody = self.custody
        let policy = BodyPolicy(contentType: "application/octet-stream", limit: Self.keysBodyLimit, largeAbove: StrategyIntake.nativeBodyLimit)
        // A registration reads, checks and expands up to hundreds of MB that are garbage once it is
        // stored: given back at once, not kept in the allocator's arenas for the process's life.
        defer { cfhe_release_free_memory() }
        return try await answer(request, context, policy: policy, validate: { body, _, _ in try intake.register(body) }) { key, identity in
            if let bundle = key.threshold { try await custody!.register(bundle) }
            let outcome = try await database.registerKey(id: key.keyID, parameterSet: key.parameterSet, data: key.data, owner: identity,
                                                   clientKey: key.clientKey)
            let held = try await database.registeredKey(id: key.keyID)?.clientKeyId != nil
            return JSONResponse.make(outcome == .created ? .created : .ok, [
                "status": "success", "key_id": key.keyID,
                "custody": key.threshold != nil ? "custodians" : outcome == .custodyAttached ? "attached" : held ? "held" : "none",
            ])
        }
    }

    static func describe(_ s: StrategyRecord) -> [String: Any] {
        var d: [String: Any] = [
            "id": s.id ?? 0, "payload_id": s.payloadId, "user_id": s.userId, "strategy_type": s.strategyType,
            "asset_in": s.assetIn, "asset_out": s.assetOut, "amount": s.amount,
            "price_feed_id": s.priceFeedId, "status": s.status.rawValue, "created_at": Int(s.createdAt.timeIntervalSince1970),
        ]
        if let r = s.recipientAddress { d["recipient_address"] = r }
        if let p = s.triggerPriceCents { d["trigger_price_cents"] = p }
        if let publishTime = s.triggerPublishTime, let price = s.triggerPrice, let expo = s.triggerExpo {
            // The price the decision was taken on, as Pyth signed it; `update_sha256` names the
            // stored update that `verify-price` re-checks offline (GET /price-updates/{sha256}).
            d["trigger_price"] = ["price": "\(price)", "conf": s.triggerConf ?? "", "expo": expo, "publish_time": publishTime,
                                  "update_sha256": s.triggerUpdateId.map { $0 as Any } ?? NSNull()] as [String: Any]
        }
        if let t = s.triggeredAt { d["triggered_at"] = Int(t.timeIntervalSince1970) }
        if let h = s.txHash { d["tx_hash"] = h }
        if let r = s.failureReason { d["failure_reason"] = r }
        if let n = s.nonce { d["nonce"] = n }
        if let g = s.gasUsed { d["gas_used"] = g }
        if let b = s.blockNumber { d["block_number"] = b }
        if let v = s.simulation { d["simulation"] = v }
        if let e = s.lastError { d["last_error"] = e }
        if let e = s.expiresAt { d["expires_at"] = Int(e.timeIntervalSince1970) }
        if let m = s.minAmountOut { d["min_amount_out"] = m }
        if s.feeBumps > 0 { d["fee_bumps"] = s.feeBumps }
        // Threshold custody: the strategy's id at the custodians and the signed partials its trigger
        // was decided on (anyone can check the signatures and recompute the result digest).
        if let c = s.custodyStatement { d["custody_statement"] = c }
        if let e = s.triggerEvidence, let partials = try? JSONSerialization.jsonObject(with: Data(e.utf8)) { d["custody_evidence"] = partials }
        return d
    }
}

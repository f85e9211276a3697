import FHECore
import Foundation
import Hummingbird

/// The order-book API: create (original payload), read, list, cancel.
struct StrategyController: Sendable {
    let database: OrderBookDatabase
    let intake: StrategyIntake
    let worker: FHEWorker
    let maxBodyBytes: Int
    /// Set when a chain is configured: the swap must be buildable and its proof verified on chain.
    var proofs: ProofVerifier?

    func addRoutes(to router: Router<ExecutorRequestContext>) {
        router.post("/createStrategy") { request, _ in try await create(request) }
        router.post("/keys") { request, _ in try await registerKey(request) }
        router.get("/strategies/:id") { _, context in
            guard let id = context.parameters.get("id", as: Int64.self) else { return JSONResponse.error(.badRequest, "id must be an integer") }
            guard let s = try database.strategy(id: id) else { return JSONResponse.error(.notFound, "no strategy \(id)") }
            return JSONResponse.make(.ok, Self.describe(s))
        }
        router.get("/strategies") { request, _ in
            let q = request.uri.queryParameters
            var status: StrategyStatus?
            if let raw = q["status"] {
                guard let s = StrategyStatus(rawValue: String(raw).uppercased()) else {
                    return JSONResponse.error(.badRequest, "unknown status '\(raw)'")
                }
                status = s
            }
            let list = try database.strategies(userId: q["user_id"].map(String.init), status: status)
            return JSONResponse.make(.ok, ["strategies": list.map(Self.describe)])
        }
        router.delete("/strategies/:id") { _, context in
            guard let id = context.parameters.get("id", as: Int64.self) else { return JSONResponse.error(.badRequest, "id must be an integer") }
            guard let s = try database.strategy(id: id) else { return JSONResponse.error(.notFound, "no strategy \(id)") }
            guard try database.cancel(id: id) else {
                return JSONResponse.error(.conflict, "strategy \(id) is \(s.status.rawValue) and can no longer be cancelled")
            }
            return JSONResponse.make(.ok, ["status": "success", "strategy_id": id, "state": StrategyStatus.cancelled.rawValue])
        }
    }

    /// Collects the body (413 beyond the limit), validates it on the FHE worker with `validate`,
    /// then `store`s it; answers 201 (or 200 when nothing new was stored) with `field`, 400 with
    /// the intake's rejection, 503 when the chain could not be asked.
    func answer<Validated: Sendable>(_ request: Request, field: String,
                                     validate: @escaping @Sendable (UnsafeRawBufferPointer) throws -> Validated,
                                     store: @Sendable (Validated) async throws -> (value: any Sendable, created: Bool)) async throws -> Response {
        var request = request
        let body: ByteBuffer
        do { body = try await request.collectBody(upTo: maxBodyBytes) } catch {
            return JSONResponse.error(.contentTooLarge, "request body exceeds \(maxBodyBytes) bytes")
        }
        do {
            let validated = try await worker.run { try body.withUnsafeReadableBytes(validate) }
            let result = try await store(validated)
            return JSONResponse.make(result.created ? .created : .ok, ["status": "success", field: result.value])
        } catch let rejection as StrategyIntake.Rejection {
            return JSONResponse.error(.badRequest, rejection.description)
        } catch let unavailable as ProofVerifier.Unavailable {
            return JSONResponse.error(.serviceUnavailable, unavailable.description)
        }
    }

    func create(_ request: Request) async throws -> Response {
        let intake = self.intake, database = self.database, proofs = self.proofs
        return try await answer(request, field: "strategy_id", validate: { try intake.validate($0, now: Date()) }) { new in
            if let existing = try database.strategyID(payloadId: new.record.payloadId) { return (existing, false) }
            try await proofs?.check(new.record)
            let (id, created) = try database.createStrategy(new)
            return (id, created)
        }
    }

    func registerKey(_ request: Request) async throws -> Response {
        let intake = self.intake, database = self.database
        return try await answer(request, field: "key_id", validate: { try intake.register($0) }) { key in
            let known = try database.registeredKey(id: key.keyID) != nil
            try database.registerKey(id: key.keyID, parameterSet: key.parameterSet, data: key.data, clientKey: key.clientKey)
            return (key.keyID, !known)
        }
    }

    static func describe(_ s: StrategyRecord) -> [String: Any] {
        var d: [String: Any] = [
            "id": s.id ?? 0, "payload_id": s.payloadId, "user_id": s.userId, "strategy_type": s.strategyType,
            "asset_in": s.assetIn, "asset_out": s.assetOut, "amount": s.amount, "recipient_address": s.recipientAddress,
            "price_feed_id": s.priceFeedId, "status": s.status.rawValue, "created_at": Int(s.createdAt.timeIntervalSince1970),
        ]
        if let p = s.triggerPriceCents { d["trigger_price_cents"] = p }
        if let t = s.triggeredAt { d["triggered_at"] = Int(t.timeIntervalSince1970) }
        if let h = s.txHash { d["tx_hash"] = h }
        if let r = s.failureReason { d["failure_reason"] = r }
        if let n = s.nonce { d["nonce"] = n }
        if let g = s.gasUsed { d["gas_used"] = g }
        if let b = s.blockNumber { d["block_number"] = b }
        if let v = s.simulation { d["simulation"] = v }
        if let e = s.lastError { d["last_error"] = e }
        if let e = s.expiresAt { d["expires_at"] = Int(e.timeIntervalSince1970) }
        return d
    }
}

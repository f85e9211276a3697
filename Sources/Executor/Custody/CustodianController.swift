import FHECore
import Foundation
import Hummingbird

/// The custodian's routes. `/identity` and `/health` are open; the rest need its token (the
/// executor's). There is no route that takes a ciphertext: a custodian decrypts only what it
/// computes itself.
///
/// - `GET /identity` — its public sealing and signing keys.
/// - `POST /keys` — a registration relayed by the executor (binary frames, see ``CustodyFrames``).
/// - `POST /strategies` — pin a strategy its owner signed (JSON).
/// - `POST /decisions` — `{"update": hex, "strategies": [{"id", "shares"}]}`: signed partials or
///   refusals, one per strategy.
/// - `POST /strategies/:id/close` — no decision after this.
struct CustodianController: Sendable {
    let custodian: Custodian
    let worker: FHEWorker
    let uploads: UploadSlots

    /// A registration carries a 28.5 MB evaluation key and a 114 MB decision key (default set).
    static let keysBodyLimit = 256 << 20
    static let decisionsBodyLimit = 4 << 20

    func addRoutes(to router: Router<ExecutorRequestContext>) {
        let custodian = self.custodian, worker = self.worker, uploads = self.uploads
        router.get("/identity") { _, _ in
            var body = custodian.identity.publicIdentity.json
            body["custody"] = CustodyParameters.default.report
            return JSONResponse.make(.ok, body)
        }
        router.get("/health") { _, _ in
            let counts = try custodian.store.counts()
            return JSONResponse.make(.ok, ["status": "ok", "role": "custodian", "signing_key": custodian.signingKeyHex, "keys": counts.keys,
                                           "strategies": counts.strategies, "partials": try custodian.store.partialCount(),
                                           "kernels": Kernel.summary, "fhe_threads": custodian.engine.threads])
        }
        router.post("/keys") { request, context in
            let policy = BodyPolicy(contentType: "application/octet-stream", limit: Self.keysBodyLimit, largeAbove: 1 << 20)
            return try await context.withBody(request, policy: policy, slots: uploads) { body in
                let keyID = try await worker.intake { _ in try body.withUnsafeReadableBytes { try custodian.register($0) } }
                return JSONResponse.make(.created, ["status": "success", "key_id": keyID])
            }
        }
        router.post("/strategies") { request, context in
            try await context.withBody(request, policy: .json(limit: 64 << 10), slots: uploads) { body in
                let id = try await worker.intake { _ in try custodian.pin(try Self.object(body)) }
                return JSONResponse.make(.created, ["status": "success", "id": id])
            }
        }
        router.post("/strategies/:id/close") { _, context in
            guard let id = context.parameters.get("id"), id.count == 64, id.allSatisfy(\.isHexDigit) else {
                throw CustodianRefusal(.malformed, "id must be 64 hex digits")
            }
            return JSONResponse.make(.ok, ["status": "success", "closed": try custodian.close(id.lowercased())])
        }
        router.post("/decisions") { request, context in
            try await context.withBody(request, policy: .json(limit: Self.decisionsBodyLimit), slots: uploads) { body in
                let object = try Self.object(body)
                // Only an update and strategy ids: a caller cannot hand over a ciphertext to decrypt.
                guard Set(object.keys).isSubset(of: ["update", "strategies"]) else {
                    throw CustodianRefusal(.malformed, "a decision request takes only update and strategies (a custodian decrypts only what it computes)")
                }
                guard let updateHex = object["update"] as? String, let update = try? Hex.decode(updateHex), !update.isEmpty else {
                    throw CustodianRefusal(.malformed, "update must be the hex of a Pyth accumulator update")
                }
                guard let list = object["strategies"] as? [[String: Any]], !list.isEmpty, list.count <= 10_000 else {
                    throw CustodianRefusal(.malformed, "strategies must be a list of 1 to 10 000 {id, shares}")
                }
                let requests = try list.map { item -> Custodian.Request in
                    guard let id = item["id"] as? String, id.count == 64, id.allSatisfy(\.isHexDigit),
                          let shares = item["shares"] as? [Int], (1...255).contains(shares.count) else {
                        throw CustodianRefusal(.malformed, "each strategy is {\"id\": 64 hex digits, \"shares\": [share indices]}")
                    }
                    return Custodian.Request(strategyID: id.lowercased(), shares: shares)
                }
                let now = Int64(Date().timeIntervalSince1970)
                let answers = try await worker.evaluate { try custodian.decide(update: update, requests: requests, now: now) }
                return JSONResponse.make(.ok, ["custodian": custodian.signingKeyHex,
                                               "decisions": answers.mapValues { $0.json }])
            }
        }
    }

    static func object(_ body: ByteBuffer) throws -> [String: Any] {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] else {
            throw CustodianRefusal(.malformed, "the body must be a JSON object")
        }
        return object
    }
}

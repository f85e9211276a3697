import AsyncHTTPClient
import FHECore
import Foundation
import NIOCore

/// `--engine remote`: evaluation through an original-compatible engine at FHE_ENGINE_URL
/// (`POST /evaluateStrategy`, the original JSON with hex tfhe-rs 0.5 objects), one request per
/// strategy, as the original Python executor did. The client key is unsealed only to build the
/// request and travels only to that engine.
struct RemoteEngine: Sendable {
    let url: String
    let apiToken: String?
    var timeout: TimeAmount = .seconds(120)

    struct Failure: Error, CustomStringConvertible { let description: String }

    func isTriggered(_ s: StrategyRecord, priceCents: UInt32, keys: KeyRepository) async throws -> Bool {
        guard let (_, serverKey) = try await keys.database.serverKeyData(id: s.serverKeyId) else {
            throw StoredMaterialError("server key missing")
        }
        guard let (sealed, sealing) = try await keys.database.sealedClientKey(id: s.clientKeyId) else { throw StoredMaterialError("client key missing") }
        var clientKey = try keys.keystore.open(sealed, keyID: s.clientKeyId, sealing: sealing)
        defer { clientKey.resetBytes(in: 0..<clientKey.count) }
        var upper: Data?, lower: Data?
        if let id = s.upperBoundId { upper = try await keys.database.ciphertext(id: id) }
        if let id = s.lowerBoundId { lower = try await keys.database.ciphertext(id: id) }
        func hexField(_ name: String, _ data: Data?) -> String { "\"\(name)\": " + (data.map { "\"\(Hex.encode($0))\"" } ?? "null") }
        let body = "{\"strategy_type\": \"\(s.strategyType)\", "
            + hexField("encrypted_upper_bound", upper) + ", "
            + hexField("encrypted_lower_bound", lower) + ", "
            + hexField("server_key", serverKey) + ", \"current_price_cents\": \(priceCents), "
            + hexField("encrypted_client_key", clientKey) + "}"
        var request = HTTPClientRequest(url: url.hasSuffix("/evaluateStrategy") ? url : url + "/evaluateStrategy")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let apiToken { request.headers.add(name: "X-API-TOKEN", value: apiToken) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let answer = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok,
              let object = try? JSONSerialization.jsonObject(with: Data(buffer: answer)) as? [String: Any],
              let triggered = object["is_triggered"] as? Bool else {
            throw Failure(description: "remote engine answered \(response.status.code): \(String(buffer: answer).prefix(200))")
        }
        return triggered
    }
}

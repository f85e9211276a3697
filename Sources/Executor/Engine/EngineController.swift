import FHECore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// `POST /evaluateStrategy` and `GET /health`, answering exactly like the original Rust engine:
/// 200 `{"is_triggered":bool}`; a bad request is 400 `{"is_triggered":false,"error":…}` (413, 415
/// and 503 for bodies that are too large, of the wrong type, or beyond the upload cap).
struct EngineController: Sendable {
    let evaluator: TfheRs05Evaluator
    let worker: FHEWorker
    let maxBodyBytes: Int
    let uploads: UploadSlots
    let logger: Logger

    /// Requests above this are large uploads (every genuine one is: the server key alone is 219 MB of hex).
    static let largeAbove = 64 << 10

    func addRoutes(to router: Router<ExecutorRequestContext>) {
        router.post("/evaluateStrategy") { request, context in try await evaluate(request, context) }
        router.get("/health") { _, _ in
            let insecure = evaluator.input.allowInsecureTestParameters
            let accepted = TfheRs05.candidateParameters(allowInsecureTestParameters: insecure).map(\.name)
            return JSONResponse.make(.ok, ["status": "ok", "mode": "engine", "cached_server_keys": evaluator.cache.count,
                                           "cached_server_key_mib": evaluator.cache.bytes >> 20,
                                           "insecure_parameters": insecure, "kernels": Kernel.summary,
                                           "parameter_sets": ["accepted": accepted, "in_use": evaluator.cache.parameterSets]])
        }
    }

    static func failure(_ status: HTTPResponse.Status, _ message: String) -> Response {
        let escaped = message.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return JSONResponse.raw(status, "{\"is_triggered\":false,\"error\":\"\(escaped)\"}")
    }

    func evaluate(_ request: Request, _ context: ExecutorRequestContext) async throws -> Response {
        let start = ContinuousClock.now
        let evaluator = self.evaluator, worker = self.worker
        let outcome: Result<Bool, any Error> = await Result {
            try await context.withBody(request, policy: .json(limit: maxBodyBytes, largeAbove: Self.largeAbove), slots: uploads) { body in
                try await worker.evaluate {
                    try body.withUnsafeReadableBytes { bytes in try Self.decide(bytes, evaluator: evaluator) }
                }
            }
        }
        switch outcome {
        case .success(let triggered):
            logger.info("evaluateStrategy answered", metadata: ["is_triggered": "\(triggered)",
                                                               "elapsed": "\(ContinuousClock.now - start)"])
            return JSONResponse.raw(.ok, "{\"is_triggered\":\(triggered)}")
        case .failure(let refusal as any Refusal):
            logger.notice("evaluateStrategy refused", metadata: ["status": "\(refusal.status.code)", "reason": "\(refusal)"])
            var response = Self.failure(refusal.status, refusal.description)
            response.headers.append(contentsOf: refusal.headers)
            return response
        case .failure(let error):
            logger.error("evaluateStrategy failed", metadata: ["error": "\(error)"])
            return Self.failure(.internalServerError, "internal error")
        }
    }

    /// The whole request on the worker: parse, decode what the strategy needs, evaluate, decrypt.
    static func decide(_ bytes: UnsafeRawBufferPointer, evaluator: TfheRs05Evaluator) throws -> Bool {
        let fields = try JSONFields(bytes)
        guard let typeName = try fields.string("strategy_type") else { throw EngineRequestError.missingField("strategy_type") }
        let strategy = try StrategyType.named(typeName)
        for mpc in ["fhe_key_id", "mpc_public_key_set", "mpc_share_indices"] where fields.isPresent(mpc) {
            throw EngineRequestError.unsupported(
                "threshold (MPC) decryption was requested ('\(mpc)') but no decryption service is configured on this engine")
        }
        guard let price = try fields.unsignedInteger("current_price_cents") else {
            throw EngineRequestError.missingField("current_price_cents")
        }
        guard let serverKeyBytes = try fields.rawString("server_key") else { throw EngineRequestError.missingField("server_key") }
        guard let clientKeyBytes = try fields.rawString("encrypted_client_key") else {
            throw EngineRequestError.missingField("encrypted_client_key")
        }
        let serverKey: ServerKey
        do { serverKey = try evaluator.serverKey(serverKeyBytes) } catch let e as FHECoreError {
            throw EngineRequestError.invalidField("server_key", e.description)
        }
        let result = try evaluator.evaluate(strategy, upper: try fields.rawString("encrypted_upper_bound"),
                                            lower: try fields.rawString("encrypted_lower_bound"),
                                            serverKey: serverKey, priceCents: price)
        return try evaluator.decrypt(result, clientKey: clientKeyBytes, serverKey: serverKey)
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}

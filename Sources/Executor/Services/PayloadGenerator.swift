import FHECore
import Foundation
import Hummingbird
import Logging
import NIOCore

struct PayloadGenerator: Sendable {
    let keystore: URL
    let orchestrator: String
    let apiToken: String?
    let parameters: ParameterSet
    let insecure: Bool
    let access: AccessControl
    let rateLimitPerMinute: Int
    let maxUsers: Int
    /// FHE_THREADS: key generation for a new user.
    let fheThreads: Int
    let logger: Logger
    let worker = FHEWorker()
    let uploads = UploadSlots(capacity: 2)
    private let registration = LockedValue<Set<String>>([])

    init(keystore: URL, orchestrator: String, apiToken: String?, parameters: ParameterSet, insecure: Bool,
         access: AccessControl = try! AccessControl(adminToken: nil, tokensFile: nil), rateLimitPerMinute: Int = 600, maxUsers: Int = 100,
         fheThreads: Int = Parallelism.availableCores, logger: Logger) {
        self.fheThreads = fheThreads
        self.keystore = keystore
        self.orchestrator = orchestrator.hasSuffix("/") ? String(orchestrator.dropLast()) : orchestrator
        self.apiToken = apiToken
        self.parameters = parameters
        self.insecure = insecure
        self.access = access
        self.rateLimitPerMinute = rateLimitPerMinute
        self.maxUsers = maxUsers
        self.logger = logger
    }

    func router() -> Router<ExecutorRequestContext> {
        let router = Router(context: ExecutorRequestContext.self)
        router.addPolicyMiddleware(corsOrigins: [], rateLimitPerMinute: rateLimitPerMinute, access: access) {
            JSONResponse.error(.unauthorized, "missing or invalid token")
        }
        router.get("/health") { _, _ in
            JSONResponse.make(.ok, ["status": "ok", "orchestrator": SecretURL(orchestrator).redacted,
                                    "parameter_set": parameters.name, "insecure_parameters": insecure])
        }
        router.post("/generatePayload") { request, context in
            try await context.withBody(request, policy: .json(limit: 1 << 20), slots: uploads) { try await generate($0) }
        }
        return router
    }

    /// The user's key directory (created with keys on first use).
    func userKeys(_ userId: String) throws -> (ClientKey, String, URL) {
        let safe = userId.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_" ? String($0) : "_" }.joined()
        let dir = keystore.appendingPathComponent(safe.isEmpty ? "_" : String(safe.prefix(64)))
        if !FileManager.default.fileExists(atPath: dir.appendingPathComponent(KeyDirectory.evaluationKey).path) {
            let users = (try? FileManager.default.contentsOfDirectory(atPath: keystore.path).count) ?? 0
            guard users < maxUsers else {
                throw Rejection("this payload server already holds keys for \(maxUsers) users (--max-users)", status: .forbidden)
            }
            _ = try KeyDirectory.generate(into: dir, parameters: parameters, threads: fheThreads)
            logger.info("generated keys for a new user", metadata: ["user": "\(safe.prefix(16))"])
        }
        return (try KeyDirectory.clientKey(dir.path, input: UntrustedInput(allowInsecureTestParameters: insecure)), try KeyDirectory.keyID(dir.path), dir)
    }

    /// The executor is a dependency: when it cannot be reached the answer is 503, never a 500.
    static let executorUnavailable = DependencyUnavailable(description: "the executor (ORCHESTRATOR_URL) cannot be reached; retry later")

    func post(_ path: String, _ body: Data, contentType: String) async throws -> (Int, ByteBuffer) {
        do { return try await ExecutorAPIClient.post(orchestrator + path, body, contentType: contentType, token: apiToken) } catch {
            logger.warning("executor unreachable", metadata: ["url": "\(SecretURL(orchestrator).redacted)"])
            throw Self.executorUnavailable
        }
    }

    func generate(_ buffer: ByteBuffer) async throws -> Response {
        let input = try buffer.withUnsafeReadableBytes { raw -> (String, StrategyType, UInt32?, UInt32?, [String: Any]) in
            let fields: JSONFields
            do { fields = try JSONFields(raw) } catch { throw Rejection("\(error)") }
            func text(_ key: String) throws -> String {
                switch fields[key] {
                case .string(let r)?, .number(let r)?: return String(decoding: fields.slice(r), as: UTF8.self)
                default: throw Rejection("missing field '\(key)'")
                }
            }
            let userId = try text("user_id"), typeName = try text("strategy_type")
            let type = try StrategyType.named(typeName)
            func bound(_ key: String, _ needed: Bool) throws -> UInt32? {
                guard needed else { return nil }
                do { return try parseCents(try text(key)) } catch { throw Rejection("\(key): \(error)") }
            }
            var passthrough: [String: Any] = ["user_id": userId, "asset_in": try text("asset_in"), "asset_out": try text("asset_out"),
                                              "amount": try text("amount"), "payload_id": UUID().uuidString]
            passthrough["recipient_address"] = (try? fields.string("recipient_address")) ?? nil
            if case .composite(let r)? = fields["zkp_data"] {
                passthrough["zkp_data"] = try? JSONSerialization.jsonObject(with: Data(fields.slice(r)))
            }
            return (userId, type, try bound("upper_bound", type.needsUpperBound), try bound("lower_bound", type.needsLowerBound), passthrough)
        }
        let (userId, type, upper, lower, fields) = input
        let (client, keyID, dir) = try await worker.intake { _ in try userKeys(userId) }
        if !registration.get().contains(keyID) {
            let keys = try Data(contentsOf: dir.appendingPathComponent(KeyDirectory.evaluationKey))
                + (try Data(contentsOf: dir.appendingPathComponent(KeyDirectory.clientKey)))
            let (status, answer) = try await post("/keys", keys, contentType: "application/octet-stream")
            guard status < 300 else {
                return JSONResponse.error(status >= 500 ? .serviceUnavailable : .init(code: status),
                                          "key registration failed: \(String(buffer: answer).prefix(300))")
            }
            _ = registration.update { $0.insert(keyID) }
        }
        let rng = try CSPRNG()
        let payload = NativePayload.body(client: client, keyID: keyID, type: type, upperCents: upper, lowerCents: lower, fields: fields, rng: rng)
        let (status, answer) = try await post("/createStrategy", try JSONSerialization.data(withJSONObject: payload), contentType: "application/json")
        return Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: answer))
    }
}
